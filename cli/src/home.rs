//! A node's home directory, in CometBFT's and the SDK's layout:
//!
//! ```text
//! <home>/config/genesis.json              the genesis document
//! <home>/config/config.toml               consensus timeouts ([consensus] timeout_*), laddrs
//! <home>/config/app.toml                  minimum-gas-prices, pruning-keep-recent
//! <home>/config/node_key.json             the node's p2p key
//! <home>/config/priv_validator_key.json   the consensus key
//! <home>/data/priv_validator_state.json   last signed height/round/step
//! <home>/data/blockstore.redb             blocks, commits, results
//! <home>/data/application.redb            the state (JMT)
//! <home>/data/cs.wal/wal                  the consensus WAL
//! ```

use anyhow::{bail, Context, Result};
use base64::Engine as _;
use keystone_consensus_driver::privval::write_key_file;
use keystone_consensus_types::PrivateKey;
use keystone_genesis::{ConsensusParams, GenesisDoc, GenesisValidator, JsonPubKey};
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Paths under a home directory.
pub struct Home(pub PathBuf);

impl Home {
    /// `config/…`.
    pub fn config(&self, f: &str) -> PathBuf {
        self.0.join("config").join(f)
    }

    /// `data/…`.
    pub fn data(&self, f: &str) -> PathBuf {
        self.0.join("data").join(f)
    }

    /// `config/genesis.json`.
    pub fn genesis(&self) -> PathBuf {
        self.config("genesis.json")
    }
}

fn random_key() -> PrivateKey {
    PrivateKey::generate(&mut rand_core::OsRng)
}

/// The default `config.toml`: CometBFT's keys and defaults for what Keystone reads.
pub const DEFAULT_CONFIG_TOML: &str = r#"# Keystone node configuration (CometBFT's config.toml keys).

moniker = "MONIKER"

[rpc]
laddr = "tcp://127.0.0.1:26657"

[p2p]
laddr = "tcp://127.0.0.1:26656"
persistent_peers = ""

[consensus]
timeout_propose = "3s"
timeout_propose_delta = "500ms"
timeout_prevote = "1s"
timeout_prevote_delta = "500ms"
timeout_precommit = "1s"
timeout_precommit_delta = "500ms"
timeout_commit = "1s"
"#;

/// The default `app.toml`.
pub const DEFAULT_APP_TOML: &str = r#"# Keystone application configuration (the SDK's app.toml keys).

minimum-gas-prices = ""

# Versions of the state kept (0: keep everything).
pruning-keep-recent = "0"

[api]
address = "tcp://127.0.0.1:1317"
"#;

/// `keystone init <moniker> --chain-id <id>`: keys, config and a genesis with this node as
/// its only validator (as CometBFT's init does). Refuses to overwrite an existing genesis.
pub fn init(home: &Home, moniker: &str, chain_id: &str, genesis_time: &str) -> Result<GenesisDoc> {
    if home.genesis().exists() {
        bail!(
            "{} already exists; remove it or use another --home",
            home.genesis().display()
        );
    }
    std::fs::create_dir_all(home.0.join("config"))?;
    std::fs::create_dir_all(home.0.join("data"))?;
    let pv = random_key();
    write_key_file(&home.config("priv_validator_key.json"), &pv)?;
    std::fs::write(
        home.data("priv_validator_state.json"),
        "{\n  \"height\": \"0\",\n  \"round\": 0,\n  \"step\": 0\n}\n",
    )?;
    keystone_consensus_driver::node_key::NodeKey(random_key())
        .save(&home.config("node_key.json"))?;
    std::fs::write(
        home.config("config.toml"),
        DEFAULT_CONFIG_TOML.replace("MONIKER", moniker),
    )?;
    std::fs::write(home.config("app.toml"), DEFAULT_APP_TOML)?;
    let pk = pv.public_key();
    let doc = GenesisDoc {
        genesis_time: genesis_time.into(),
        chain_id: chain_id.into(),
        initial_height: 1,
        consensus_params: ConsensusParams::default(),
        validators: vec![GenesisValidator {
            address: pk.address().to_string(),
            pub_key: JsonPubKey {
                kind: "tendermint/PubKeyEd25519".into(),
                value: base64::engine::general_purpose::STANDARD.encode(pk.0),
            },
            power: 10,
            name: moniker.into(),
        }],
        app_hash: String::new(),
        app_state: Some(serde_json::to_value(keystone_app::AppGenesis::default())?),
    };
    doc.validate()?;
    write_genesis(home, &doc)?;
    Ok(doc)
}

/// Give `address` an account with `coins` in the genesis `app_state` (refusing an address
/// that has one), as gaiad's `genesis add-genesis-account` does; the supply is recomputed.
pub fn add_genesis_account(
    doc: &mut GenesisDoc,
    address: &keystone_modules::Address,
    coins: &keystone_modules::Coins,
) -> Result<()> {
    let mut state = doc
        .app_state
        .clone()
        .unwrap_or_else(|| serde_json::json!({}));
    let mut app: keystone_app::AppGenesis = serde_json::from_value(state.clone())?;
    if app
        .auth
        .accounts
        .iter()
        .any(|a| a.address == address.to_string())
        || app
            .bank
            .balances
            .iter()
            .any(|b| b.address == address.to_string())
    {
        bail!("cannot add account at existing address {address}");
    }
    let number = app
        .auth
        .accounts
        .iter()
        .map(|a| a.account_number + 1)
        .max()
        .unwrap_or(0);
    app.auth.accounts.push(keystone_modules::auth::Account {
        address: address.to_string(),
        pub_key: None,
        account_number: number,
        sequence: 0,
        module_name: None,
    });
    app.bank
        .balances
        .push(keystone_modules::bank::genesis::Balance {
            address: address.to_string(),
            coins: coins
                .iter()
                .map(|c| keystone_modules::bank::genesis::JsonCoin {
                    denom: c.denom,
                    amount: c.amount.to_string(),
                })
                .collect(),
        });
    app.bank.supply.clear();
    app.auth.validate()?;
    app.bank.validate()?;
    // Only the two sections this touches are rewritten: the others (staking params edited
    // with jq, gentxs) stay exactly as they are.
    let obj = state
        .as_object_mut()
        .context("genesis app_state must be a JSON object")?;
    obj.insert("auth".into(), serde_json::to_value(&app.auth)?);
    obj.insert("bank".into(), serde_json::to_value(&app.bank)?);
    doc.app_state = Some(state);
    doc.validate()?;
    Ok(())
}

/// Write `config/genesis.json`.
pub fn write_genesis(home: &Home, doc: &GenesisDoc) -> Result<()> {
    std::fs::write(home.genesis(), doc.to_json()?)
        .with_context(|| home.genesis().display().to_string())
}

/// Read and validate `config/genesis.json`.
pub fn read_genesis(home: &Home) -> Result<GenesisDoc> {
    Ok(GenesisDoc::load(&home.genesis())?)
}

/// Parse a Go-style duration: `"1s"`, `"500ms"`, `"1.5s"`, `"0s"`.
pub fn parse_duration(s: &str) -> Result<Duration> {
    let s = s.trim();
    let (num, unit) = s.split_at(
        s.find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(s.len()),
    );
    let v: f64 = num.parse().with_context(|| format!("bad duration {s:?}"))?;
    let ms = match unit {
        "ms" => v,
        "s" => v * 1000.0,
        "m" => v * 60_000.0,
        _ => bail!("bad duration {s:?}: use ms, s or m"),
    };
    if !(0.0..=3_600_000.0).contains(&ms) {
        bail!("duration {s:?} out of range");
    }
    Ok(Duration::from_millis(ms as u64))
}

#[derive(Deserialize)]
struct ConsensusToml {
    timeout_propose: String,
    timeout_propose_delta: String,
    timeout_prevote: String,
    timeout_prevote_delta: String,
    timeout_precommit: String,
    timeout_precommit_delta: String,
    timeout_commit: String,
}

#[derive(Deserialize)]
struct RpcToml {
    laddr: String,
}

#[derive(Deserialize)]
struct P2pToml {
    laddr: String,
    #[serde(default)]
    persistent_peers: String,
}

#[derive(Deserialize)]
struct ConfigToml {
    #[serde(default)]
    moniker: String,
    rpc: RpcToml,
    p2p: Option<P2pToml>,
    consensus: ConsensusToml,
}

/// Read and parse a TOML file; errors name the file and what it is.
fn read_toml<T: serde::de::DeserializeOwned>(path: &Path, what: &str) -> Result<T> {
    let text = std::fs::read_to_string(path).with_context(|| path.display().to_string())?;
    toml::from_str(&text).with_context(|| format!("{}: invalid {what}", path.display()))
}

/// A peer from `p2p.persistent_peers`: its node id and address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerAddr {
    /// The node id (40 lowercase hex digits).
    pub id: String,
    /// Where it listens (`host:port`, resolved when dialled).
    pub addr: String,
}

impl std::str::FromStr for PeerAddr {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> Result<PeerAddr> {
        let s = s.trim();
        let (id, addr) = s
            .split_once('@')
            .with_context(|| format!("peer {s:?} is not id@host:port"))?;
        let id = id.to_ascii_lowercase();
        if id.len() != 40 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
            bail!("peer {s:?}: the node id must be 40 hex digits");
        }
        let addr = addr.strip_prefix("tcp://").unwrap_or(addr);
        let (host, port) = addr
            .rsplit_once(':')
            .with_context(|| format!("peer {s:?} has no port"))?;
        if host.is_empty() || port.parse::<u16>().is_err() {
            bail!("peer {s:?} is not id@host:port");
        }
        Ok(PeerAddr {
            id,
            addr: addr.to_string(),
        })
    }
}

impl std::fmt::Display for PeerAddr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}@{}", self.id, self.addr)
    }
}

/// `p2p.laddr` and `p2p.persistent_peers` from `config.toml` (no `[p2p]`: no network).
pub fn read_p2p_config(path: &Path) -> Result<Option<(std::net::SocketAddr, Vec<PeerAddr>)>> {
    let c: ConfigToml = read_toml(path, "config")?;
    let Some(p2p) = c.p2p else {
        return Ok(None);
    };
    let laddr = p2p
        .laddr
        .strip_prefix("tcp://")
        .unwrap_or(&p2p.laddr)
        .parse()
        .with_context(|| {
            format!(
                "{}: p2p.laddr {:?} is not host:port",
                path.display(),
                p2p.laddr
            )
        })?;
    let peers = p2p
        .persistent_peers
        .split(',')
        .filter(|p| !p.trim().is_empty())
        .map(|p| p.parse().with_context(|| path.display().to_string()))
        .collect::<Result<Vec<PeerAddr>>>()?;
    Ok(Some((laddr, peers)))
}

/// Change keys of a TOML config file in place (`[section] key = value`, as strings).
pub fn set_config(path: &Path, values: &[(&str, &str, &str)]) -> Result<()> {
    let mut doc: toml::Table = read_toml(path, "config")?;
    for (section, key, value) in values {
        let table = if section.is_empty() {
            &mut doc
        } else {
            doc.entry(section.to_string())
                .or_insert_with(|| toml::Value::Table(toml::Table::new()))
                .as_table_mut()
                .with_context(|| format!("{}: [{section}] is not a table", path.display()))?
        };
        table.insert(key.to_string(), toml::Value::String(value.to_string()));
    }
    std::fs::write(path, toml::to_string(&doc)?).with_context(|| path.display().to_string())
}

/// `moniker` and the RPC listen address (`rpc.laddr`, `tcp://host:port`) from `config.toml`.
pub fn read_node_config(path: &Path) -> Result<(String, std::net::SocketAddr)> {
    let c: ConfigToml = read_toml(path, "config")?;
    let addr = c
        .rpc
        .laddr
        .strip_prefix("tcp://")
        .unwrap_or(&c.rpc.laddr)
        .parse()
        .with_context(|| {
            format!(
                "{}: rpc.laddr {:?} is not host:port",
                path.display(),
                c.rpc.laddr
            )
        })?;
    Ok((c.moniker, addr))
}

/// The consensus timeouts from `config/config.toml`.
pub fn read_timeouts(path: &Path) -> Result<keystone_consensus_core::TimeoutConfig> {
    let c: ConfigToml = read_toml(path, "config")?;
    let d = |s: &str| parse_duration(s).with_context(|| path.display().to_string());
    Ok(keystone_consensus_core::TimeoutConfig {
        propose: d(&c.consensus.timeout_propose)?,
        propose_delta: d(&c.consensus.timeout_propose_delta)?,
        prevote: d(&c.consensus.timeout_prevote)?,
        prevote_delta: d(&c.consensus.timeout_prevote_delta)?,
        precommit: d(&c.consensus.timeout_precommit)?,
        precommit_delta: d(&c.consensus.timeout_precommit_delta)?,
        commit: d(&c.consensus.timeout_commit)?,
    })
}

#[derive(Deserialize)]
struct ApiToml {
    address: String,
}

#[derive(Deserialize)]
struct AppToml {
    #[serde(rename = "minimum-gas-prices", default)]
    minimum_gas_prices: String,
    api: Option<ApiToml>,
    #[serde(rename = "pruning-keep-recent", default)]
    pruning_keep_recent: Option<String>,
}

/// The REST listen address (`[api] address`) from `config/app.toml`, if set.
pub fn read_api_address(path: &Path) -> Result<Option<std::net::SocketAddr>> {
    let a: AppToml = read_toml(path, "app config")?;
    a.api
        .map(|api| {
            api.address
                .strip_prefix("tcp://")
                .unwrap_or(&api.address)
                .parse()
                .with_context(|| {
                    format!(
                        "{}: api.address {:?} is not host:port",
                        path.display(),
                        api.address
                    )
                })
        })
        .transpose()
}

/// `minimum-gas-prices` and `pruning-keep-recent` from `config/app.toml`.
pub fn read_app_toml(path: &Path) -> Result<(Vec<keystone_app::tx::GasPrice>, u64)> {
    let a: AppToml = read_toml(path, "app config")?;
    let prices = a
        .minimum_gas_prices
        .split(',')
        .filter(|p| !p.trim().is_empty())
        .map(|p| {
            p.parse()
                .map_err(|e: String| anyhow::anyhow!("{}: minimum-gas-prices: {e}", path.display()))
        })
        .collect::<Result<Vec<_>>>()?;
    let keep = a
        .pruning_keep_recent
        .as_deref()
        .unwrap_or("0")
        .parse()
        .with_context(|| format!("{}: pruning-keep-recent", path.display()))?;
    Ok((prices, keep))
}
