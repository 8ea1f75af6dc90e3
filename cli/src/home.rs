//! A node's home directory, in CometBFT's and the SDK's layout:
//!
//! ```text
//! <home>/config/genesis.json              the genesis document
//! <home>/config/config.toml               consensus timeouts ([consensus] timeout_*), laddrs,
//!                                         the RPC's CORS and limits ([rpc])
//! <home>/config/app.toml                  minimum-gas-prices, pruning-keep-recent, the REST
//!                                         server's address, CORS and limits ([api])
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

/// The sign state of a validator that has signed nothing (CometBFT's genesis state).
const GENESIS_SIGN_STATE: &[u8] = b"{\n  \"height\": \"0\",\n  \"round\": 0,\n  \"step\": 0\n}\n";

/// Refuse to touch a home whose node runs: redb locks its files while they are open.
fn not_running(home: &Home) -> Result<()> {
    let blocks = home.data("blockstore.redb");
    if blocks.exists() {
        keystone_consensus_driver::block_store::BlockStore::open(&blocks).with_context(|| {
            format!(
                "{} cannot be opened (is a node running on this home? stop it first)",
                blocks.display()
            )
        })?;
    }
    Ok(())
}

fn remove(path: &Path, removed: &mut Vec<PathBuf>) -> Result<()> {
    let result = if path.is_dir() {
        std::fs::remove_dir_all(path)
    } else {
        std::fs::remove_file(path)
    };
    match result {
        Ok(()) => removed.push(path.to_path_buf()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("removing {}", path.display())),
    }
    Ok(())
}

/// `comet reset-state`, as CometBFT's: the node's own data — blocks, their results and
/// indexes, the consensus WAL — goes; the application's state and the signer's last-sign
/// state stay (so the validator still cannot sign twice). What was removed.
pub fn reset_state(home: &Home) -> Result<Vec<PathBuf>> {
    not_running(home)?;
    let mut removed = Vec::new();
    for f in ["blockstore.redb", "cs.wal"] {
        remove(&home.data(f), &mut removed)?;
    }
    Ok(removed)
}

/// `comet unsafe-reset-all`, as CometBFT's: everything under `data/` goes and the signer
/// forgets what it signed (its key stays) — safe only on a chain that starts again from
/// genesis, since the validator may now sign heights it signed before. What was removed.
pub fn unsafe_reset_all(home: &Home) -> Result<Vec<PathBuf>> {
    not_running(home)?;
    let data = home.0.join("data");
    let mut removed = Vec::new();
    if data.exists() {
        for entry in std::fs::read_dir(&data).with_context(|| data.display().to_string())? {
            let path = entry?.path();
            if path.file_name() != Some(std::ffi::OsStr::new("priv_validator_state.json")) {
                remove(&path, &mut removed)?;
            }
        }
    }
    std::fs::create_dir_all(&data).with_context(|| data.display().to_string())?;
    keystone_consensus_driver::privval::write_atomic(
        &home.data("priv_validator_state.json"),
        GENESIS_SIGN_STATE,
    )?;
    Ok(removed)
}

/// The default `config.toml`: CometBFT's keys and defaults for what Keystone reads.
pub const DEFAULT_CONFIG_TOML: &str = r#"# Keystone node configuration (CometBFT's config.toml keys).

moniker = "MONIKER"

# Log verbosity: a level (trace, debug, info, warn, error), or "module:level,*:level" where a
# module is a target prefix such as keystone_consensus_driver. --log_level overrides it, and
# so does RUST_LOG.
log_level = "info"
# "plain", or "json": one object per line. --log_format overrides it.
log_format = "plain"

[rpc]
laddr = "tcp://127.0.0.1:26657"
# Origins a browser may call the RPC from (CometBFT's keys): [] turns CORS off, ["*"] allows
# any origin; with the methods and request headers such calls may use.
cors_allowed_origins = []
cors_allowed_methods = ["HEAD", "GET", "POST"]
cors_allowed_headers = ["Origin", "Accept", "Content-Type", "X-Requested-With", "X-Server-Time"]
# Largest request body, in bytes.
max_body_bytes = 1000000
# Keystone's misuse protection: requests per second per client IP (a token bucket holding
# rate_limit_burst; 0 turns it off; loopback clients only with rate_limit_loopback) and the
# longest a request may take (never less than broadcast_tx_commit's wait + 1s).
rate_limit_per_second = 100
rate_limit_burst = 200
rate_limit_loopback = false
request_timeout = "10s"

[p2p]
laddr = "tcp://127.0.0.1:26656"
persistent_peers = ""
# Seed nodes (id@host:port, comma-separated), asked for addresses when the address book has
# none to dial.
seeds = ""
# Peer exchange: learn addresses from peers and dial them (channel 0x00, CometBFT's PEX).
pex = true
# A seed crawls the network, hands each node that dials it addresses, and hangs up.
seed_mode = false
# The address peers are told to dial (host:port) when it is not laddr, e.g. behind NAT.
external_address = ""
# Most peers that dial this node, and most it dials from its address book (CometBFT's keys;
# persistent peers are always dialled and do not count).
max_num_inbound_peers = 40
max_num_outbound_peers = 10
# Peers never handed out to others nor kept in the book (e.g. a validator behind sentries).
private_peer_ids = ""
# Peers that connect whatever the limits above, and are never banned.
unconditional_peer_ids = ""
# Keep and hand out only routable addresses; a network on one machine or a LAN sets false.
addr_book_strict = true
# What this node has learned of its peers, kept across restarts.
addr_book_file = "config/addrbook.json"

[mempool]
# Most transactions held, and their bytes; the largest one; hashes remembered as seen.
size = 5000
max_txs_bytes = 1073741824
max_tx_bytes = 1048576
cache_size = 10000
# Check what is held again after each commit (dropping what the block made invalid).
recheck = true

[consensus]
timeout_propose = "3s"
timeout_propose_delta = "500ms"
timeout_prevote = "1s"
timeout_prevote_delta = "500ms"
timeout_precommit = "1s"
timeout_precommit_delta = "500ms"
timeout_commit = "1s"

[statesync]
# Join a running chain from a snapshot instead of replaying every block: a node with no
# state asks its peers for snapshots, verifies the snapshot's app hash with a light client
# from the trusted header below, cross-checked against every RPC server, restores it, and
# block-syncs from there.
enable = false
# At least two RPC servers (comma-separated host:port or http://host:port): the first is the
# light client's primary, the others its witnesses.
rpc_servers = ""
# A header of the chain you trust (from a block explorer or a friend's node), and how long
# such a header stays a basis for trust (below the unbonding period).
trust_height = 0
trust_hash = ""
trust_period = "168h0m0s"
# How long to gather snapshots before choosing one; how long a chunk request may take before
# it goes to another peer; chunk requests in flight at once.
discovery_time = "15s"
chunk_request_timeout = "10s"
chunk_fetchers = "4"

[tx_index]
# "kv" indexes transactions and blocks by hash and by event (tx, tx_search, block_search);
# "null" indexes nothing, and those lookups answer "transaction indexing is disabled".
indexer = "kv"

[instrumentation]
# Serve Prometheus metrics (CometBFT's names) at GET /metrics on prometheus_listen_addr
# (":26660" means 127.0.0.1:26660 here: the port is not opened beyond this machine unless
# an address says so).
prometheus = false
prometheus_listen_addr = ":26660"
namespace = "cometbft"
"#;

/// The default `app.toml`.
pub const DEFAULT_APP_TOML: &str = r#"# Keystone application configuration (the SDK's app.toml keys).

minimum-gas-prices = ""

# Which versions of the state are kept, as the SDK names the strategies: "default" (the
# last 362880, pruned every 10 heights), "nothing" (all), "everything" (the last 2), or
# "custom" (pruning-keep-recent versions, pruned every pruning-interval heights).
pruning = "default"
pruning-keep-recent = "0"
pruning-interval = "0"

# Stop after committing this height, and exit 0 (0: never), as the SDK's halt-height;
# `start --halt-height` overrides it.
halt-height = 0
# Stop after committing the first block at or past this Unix time in seconds (0: never),
# as the SDK's halt-time.
halt-time = 0

# Keep only the last this many blocks (0: all), and never fewer than evidence may still
# refer to (the consensus params' evidence.max_age_num_blocks), as the SDK's.
min-retain-blocks = 0

[api]
address = "tcp://127.0.0.1:1317"
# Allow any origin to call the REST server from a browser (the SDK's key).
enabled-unsafe-cors = false
# Largest request body, in bytes.
rpc-max-body-bytes = 1000000
# Keystone's misuse protection: requests per second per client IP (a token bucket holding
# rate-limit-burst; 0 turns it off; loopback clients only with rate-limit-loopback) and the
# longest a request may take.
rate-limit-per-second = 100
rate-limit-burst = 200
rate-limit-loopback = false
request-timeout = "10s"

[grpc]
# The gRPC server (the SDK's query and tx services, CometBFT's via the tendermint service).
enable = true
address = "127.0.0.1:9090"
# Keystone's misuse protection, as [api]'s: calls per second per client IP (a token bucket
# holding rate-limit-burst; 0 turns it off; loopback clients only with rate-limit-loopback).
rate-limit-per-second = 100
rate-limit-burst = 200
rate-limit-loopback = false

[grpc-web]
# grpc-web (HTTP/1.1, for browsers) on the gRPC server's port.
enable = true

[state-sync]
# Take a snapshot of the state every this many heights (0: never), in the background, into
# data/snapshots, for nodes that state-sync from this one and for `keystone snapshots`.
snapshot-interval = 0
# How many snapshots to keep (0: all).
snapshot-keep-recent = 2
"#;

/// What `init` may do beyond a fresh home.
#[derive(Clone, Debug, Default)]
pub struct InitOptions {
    /// Write genesis.json again over an existing one (`--overwrite`); the keys, the sign state
    /// and the config files already there are kept, as the SDK's init keeps them.
    pub overwrite: bool,
    /// The denomination staking bonds and mint mints in the new genesis (`--default-denom`;
    /// `stake` when none).
    pub default_denom: Option<String>,
}

/// `keystone init <moniker> --chain-id <id>`: keys, config and a genesis with this node as
/// its only validator (as CometBFT's init does). Refuses to overwrite an existing genesis.
pub fn init(home: &Home, moniker: &str, chain_id: &str, genesis_time: &str) -> Result<GenesisDoc> {
    init_with(
        home,
        moniker,
        chain_id,
        genesis_time,
        &InitOptions::default(),
    )
}

/// `init` with `--overwrite` / `--default-denom` ([`InitOptions`]).
pub fn init_with(
    home: &Home,
    moniker: &str,
    chain_id: &str,
    genesis_time: &str,
    opts: &InitOptions,
) -> Result<GenesisDoc> {
    if home.genesis().exists() && !opts.overwrite {
        bail!(
            "{} already exists; remove it, use another --home, or pass --overwrite",
            home.genesis().display()
        );
    }
    if let Some(d) = &opts.default_denom {
        if !keystone_modules::coin::valid_denom(d) {
            bail!("--default-denom {d:?} is not a valid denomination");
        }
    }
    std::fs::create_dir_all(home.0.join("config"))?;
    std::fs::create_dir_all(home.0.join("data"))?;
    let key_path = home.config("priv_validator_key.json");
    let pv = if key_path.exists() {
        keystone_consensus_driver::privval::read_key_file(&key_path)?
    } else {
        let pv = random_key();
        write_key_file(&key_path, &pv)?;
        pv
    };
    if !home.data("priv_validator_state.json").exists() {
        keystone_consensus_driver::privval::write_atomic(
            &home.data("priv_validator_state.json"),
            GENESIS_SIGN_STATE,
        )?;
    }
    if !home.config("node_key.json").exists() {
        keystone_consensus_driver::node_key::NodeKey(random_key())
            .save(&home.config("node_key.json"))?;
    }
    if !home.config("config.toml").exists() {
        std::fs::write(
            home.config("config.toml"),
            DEFAULT_CONFIG_TOML.replace("MONIKER", moniker),
        )?;
    }
    if !home.config("app.toml").exists() {
        std::fs::write(home.config("app.toml"), DEFAULT_APP_TOML)?;
    }
    let mut app_state = keystone_app::AppGenesis::default();
    if let Some(d) = &opts.default_denom {
        app_state.staking.params.bond_denom = d.clone();
        app_state.mint.params.mint_denom = d.clone();
    }
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
        app_state: Some(serde_json::to_value(app_state)?),
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

/// A number in a config file: TOML integer, or a string of digits (`set_config` writes
/// strings).
#[derive(Deserialize, Clone)]
#[serde(untagged)]
enum TomlNum {
    Int(i64),
    Text(String),
}

impl TomlNum {
    fn get(&self, what: &str) -> Result<u64> {
        match self {
            TomlNum::Int(n) => {
                u64::try_from(*n).with_context(|| format!("{what} must not be negative"))
            }
            TomlNum::Text(t) => t
                .trim()
                .parse()
                .with_context(|| format!("{what}: {t:?} is not a number")),
        }
    }
}

/// A boolean in a config file: TOML boolean, or `"true"`/`"false"`.
#[derive(Deserialize, Clone)]
#[serde(untagged)]
enum TomlBool {
    Bool(bool),
    Text(String),
}

impl TomlBool {
    fn get(&self, what: &str) -> Result<bool> {
        match self {
            TomlBool::Bool(b) => Ok(*b),
            TomlBool::Text(t) => match t.trim() {
                "true" => Ok(true),
                "false" => Ok(false),
                other => bail!("{what}: {other:?} is not true or false"),
            },
        }
    }
}

#[derive(Deserialize)]
struct RpcToml {
    laddr: String,
    #[serde(default)]
    cors_allowed_origins: Vec<String>,
    cors_allowed_methods: Option<Vec<String>>,
    cors_allowed_headers: Option<Vec<String>>,
    max_body_bytes: Option<TomlNum>,
    rate_limit_per_second: Option<TomlNum>,
    rate_limit_burst: Option<TomlNum>,
    rate_limit_loopback: Option<TomlBool>,
    request_timeout: Option<String>,
}

#[derive(Deserialize)]
struct P2pToml {
    laddr: String,
    #[serde(default)]
    persistent_peers: String,
    max_num_inbound_peers: Option<TomlNum>,
    max_num_outbound_peers: Option<TomlNum>,
    #[serde(default)]
    seeds: String,
    seed_mode: Option<TomlBool>,
    pex: Option<TomlBool>,
    #[serde(default)]
    external_address: String,
    #[serde(default)]
    private_peer_ids: String,
    #[serde(default)]
    unconditional_peer_ids: String,
    addr_book_strict: Option<TomlBool>,
    addr_book_file: Option<String>,
}

/// `[statesync]`, CometBFT's keys.
#[derive(Deserialize)]
struct StateSyncConfigToml {
    enable: Option<TomlBool>,
    #[serde(default)]
    rpc_servers: String,
    trust_height: Option<TomlNum>,
    #[serde(default)]
    trust_hash: String,
    trust_period: Option<String>,
    discovery_time: Option<String>,
    /// Read so that it counts as known; Keystone keeps chunks in its state store.
    #[serde(rename = "temp_dir")]
    _temp_dir: Option<String>,
    chunk_request_timeout: Option<String>,
    chunk_fetchers: Option<TomlNum>,
}

/// config.toml's `[statesync]`, when enabled.
#[derive(Clone, Debug)]
pub struct StateSyncConfig {
    /// `rpc_servers`: the light client's primary, then its witnesses (at least one).
    pub rpc_servers: Vec<String>,
    /// `trust_height`.
    pub trust_height: u64,
    /// `trust_hash` (hex).
    pub trust_hash: String,
    /// `trust_period`.
    pub trust_period: Duration,
    /// `discovery_time`, `chunk_request_timeout`, `chunk_fetchers`.
    pub timing: keystone_consensus_driver::statesync::syncer::SyncConfig,
}

/// A Go duration as CometBFT writes them: `168h0m0s`, `15s`, `500ms`.
pub fn parse_go_duration(s: &str) -> Result<Duration> {
    let t = s.trim();
    let mut rest = t;
    let mut total = Duration::ZERO;
    if rest.is_empty() {
        bail!("empty duration");
    }
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .with_context(|| format!("duration {t:?} has a number without a unit"))?;
        let n: u64 = rest[..digits]
            .parse()
            .with_context(|| format!("bad duration {t:?}"))?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let unit = Duration::from_millis(match &rest[..unit_len] {
            "h" => 3_600_000,
            "m" => 60_000,
            "s" => 1_000,
            "ms" => 1,
            u => bail!("bad duration {t:?}: unit {u:?} (h, m, s or ms)"),
        });
        total = total
            .checked_add(
                unit.checked_mul(u32::try_from(n)?)
                    .context("duration overflow")?,
            )
            .context("duration overflow")?;
        rest = &rest[unit_len..];
    }
    Ok(total)
}

/// config.toml's `[statesync]` (`None`: absent or not enabled), checked as CometBFT checks
/// it: two RPC servers or more, a trust height and a 32-byte trust hash.
pub fn read_statesync_config(path: &Path) -> Result<Option<StateSyncConfig>> {
    let c: ConfigToml = read_toml(path, "config")?;
    let Some(ss) = c.statesync else {
        return Ok(None);
    };
    let at = |key: &str| format!("{}: statesync.{key}", path.display());
    if !ss
        .enable
        .as_ref()
        .map_or(Ok(false), |b| b.get(&at("enable")))?
    {
        return Ok(None);
    }
    let rpc_servers: Vec<String> = ss
        .rpc_servers
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    if rpc_servers.len() < 2 {
        bail!(
            "{}: at least two rpc_servers are needed (a light client's primary and a witness)",
            at("rpc_servers")
        );
    }
    let trust_height = match &ss.trust_height {
        Some(n) => n.get(&at("trust_height"))?,
        None => 0,
    };
    if trust_height == 0 {
        bail!("{}: a trusted height is needed", at("trust_height"));
    }
    let trust_hash = ss.trust_hash.trim().to_ascii_uppercase();
    if trust_hash.len() != 64 || hex::decode(&trust_hash).is_err() {
        bail!(
            "{} {:?} is not a 32-byte hash in hex",
            at("trust_hash"),
            ss.trust_hash
        );
    }
    let dur = |v: &Option<String>, key: &str, default: &str| -> Result<Duration> {
        parse_go_duration(v.as_deref().unwrap_or(default)).with_context(|| at(key))
    };
    let fetchers = match &ss.chunk_fetchers {
        Some(n) => n.get(&at("chunk_fetchers"))?,
        None => 4,
    };
    Ok(Some(StateSyncConfig {
        rpc_servers,
        trust_height,
        trust_hash,
        trust_period: dur(&ss.trust_period, "trust_period", "168h0m0s")?,
        timing: keystone_consensus_driver::statesync::syncer::SyncConfig {
            discovery_time: dur(&ss.discovery_time, "discovery_time", "15s")?,
            chunk_request_timeout: dur(&ss.chunk_request_timeout, "chunk_request_timeout", "10s")?,
            chunk_fetchers: usize::try_from(fetchers.clamp(1, 64)).unwrap_or(4),
        },
    }))
}

/// `[tx_index]`, CometBFT's key.
#[derive(Deserialize)]
struct TxIndexToml {
    indexer: Option<String>,
}

/// `[tx_index] indexer` from `config.toml`: whether transactions and blocks are indexed
/// (`kv`, the default) or not (`null`), as CometBFT names them.
pub fn read_tx_indexing(path: &Path) -> Result<bool> {
    let c: ConfigToml = read_toml(path, "config")?;
    match c.tx_index.and_then(|t| t.indexer).as_deref() {
        None | Some("kv") => Ok(true),
        Some("null") => Ok(false),
        Some(other) => bail!(
            "{}: tx_index.indexer {other:?}: \"kv\" or \"null\" (Keystone has no psql indexer)",
            path.display()
        ),
    }
}

/// `[mempool]`, CometBFT's keys.
#[derive(Deserialize, Default)]
struct MempoolToml {
    size: Option<TomlNum>,
    max_txs_bytes: Option<TomlNum>,
    max_tx_bytes: Option<TomlNum>,
    cache_size: Option<TomlNum>,
    recheck: Option<TomlBool>,
}

#[derive(Deserialize)]
struct ConfigToml {
    #[serde(default)]
    moniker: String,
    rpc: RpcToml,
    p2p: Option<P2pToml>,
    consensus: ConsensusToml,
    #[serde(default)]
    mempool: MempoolToml,
    instrumentation: Option<InstrumentationToml>,
    tx_index: Option<TxIndexToml>,
    statesync: Option<StateSyncConfigToml>,
    /// Read by `crate::logs` before anything else; named here so that they count as known.
    #[serde(rename = "log_level")]
    _log_level: Option<toml::Value>,
    #[serde(rename = "log_format")]
    _log_format: Option<toml::Value>,
}

/// The keys of the TOML file at `path` that no part of Keystone reads (as `T`, the file's
/// whole shape, takes them), each with the line it is on (0 if it cannot be placed).
fn unknown_keys<T: serde::de::DeserializeOwned>(
    path: &Path,
    what: &str,
) -> Result<Vec<(String, usize)>> {
    let text = std::fs::read_to_string(path).with_context(|| path.display().to_string())?;
    let mut ignored = Vec::new();
    let _: T = serde_ignored::deserialize(toml::Deserializer::new(&text), |key| {
        // An optional section shows as `?` in the path: `p2p.?.seeds`.
        ignored.push(key.to_string().replace("?.", ""))
    })
    .with_context(|| format!("{}: invalid {what}", path.display()))?;
    Ok(ignored
        .into_iter()
        .map(|key| {
            let line = line_of(&text, &key);
            (key, line)
        })
        .collect())
}

/// The line (from 1) where the dotted `key` (`section.key`, or a top-level `key`) is set.
fn line_of(text: &str, key: &str) -> usize {
    let (section, name) = key.rsplit_once('.').unwrap_or(("", key));
    let mut current = String::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if let Some(header) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            current = header.trim().to_string();
        } else if current == section {
            let set = line
                .strip_prefix(name)
                .or_else(|| line.strip_prefix(&format!("\"{name}\"")))
                .is_some_and(|rest| rest.trim_start().starts_with('='));
            if set {
                return i + 1;
            }
        }
    }
    0
}

/// Keys of config.toml and app.toml that Keystone does not read — a typo, or a CometBFT or
/// SDK setting it does not have — each with its file and line, so that none is silently
/// ignored. `start` logs each as a warning.
pub fn unknown_config_keys(home: &Home) -> Result<Vec<(PathBuf, String, usize)>> {
    let mut out = Vec::new();
    let config = home.config("config.toml");
    for (key, line) in unknown_keys::<ConfigToml>(&config, "config")? {
        out.push((config.clone(), key, line));
    }
    let app = home.config("app.toml");
    if app.exists() {
        for (key, line) in unknown_keys::<AppToml>(&app, "app config")? {
            out.push((app.clone(), key, line));
        }
    }
    Ok(out)
}

#[derive(Deserialize)]
struct InstrumentationToml {
    prometheus: Option<TomlBool>,
    prometheus_listen_addr: Option<String>,
    namespace: Option<String>,
}

/// The metrics server from `config/config.toml` `[instrumentation]`, CometBFT's keys: `None`
/// unless `prometheus = true`; the address (default `:26660`, a bare `:port` meaning
/// 127.0.0.1) and the metrics' namespace (default `cometbft`).
pub fn read_instrumentation(path: &Path) -> Result<Option<(std::net::SocketAddr, String)>> {
    let c: ConfigToml = read_toml(path, "config")?;
    let Some(i) = c.instrumentation else {
        return Ok(None);
    };
    let on = i
        .prometheus
        .map(|b| b.get(&format!("{}: instrumentation.prometheus", path.display())))
        .transpose()?
        .unwrap_or(false);
    if !on {
        return Ok(None);
    }
    let text = i.prometheus_listen_addr.as_deref().unwrap_or(":26660");
    let text = text.strip_prefix("tcp://").unwrap_or(text);
    let text = match text.strip_prefix(':') {
        Some(port) => format!("127.0.0.1:{port}"),
        None => text.to_string(),
    };
    let addr = text.parse().with_context(|| {
        format!(
            "{}: instrumentation.prometheus_listen_addr {text:?} is not host:port",
            path.display()
        )
    })?;
    Ok(Some((
        addr,
        i.namespace.unwrap_or_else(|| "cometbft".into()),
    )))
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
        if !keystone_consensus_driver::pex::book::valid_id(&id) {
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

/// config.toml's `[p2p]`, CometBFT's keys and defaults.
#[derive(Clone, Debug)]
pub struct P2pConfig {
    /// `laddr`: where to listen.
    pub laddr: std::net::SocketAddr,
    /// `persistent_peers`: dialled and kept.
    pub persistent_peers: Vec<PeerAddr>,
    /// `seeds`: dialled for addresses when the book has none to offer.
    pub seeds: Vec<PeerAddr>,
    /// `seed_mode`: crawl, hand out addresses, hang up.
    pub seed_mode: bool,
    /// `pex`: peer exchange on (the default).
    pub pex: bool,
    /// `external_address`: the address told to peers instead of `laddr`.
    pub external_address: Option<String>,
    /// `max_num_inbound_peers` (40).
    pub max_inbound: usize,
    /// `max_num_outbound_peers` (10): peers dialled from the address book.
    pub max_outbound: usize,
    /// `private_peer_ids`: never handed out nor kept in the book.
    pub private_peer_ids: Vec<String>,
    /// `unconditional_peer_ids`: connect whatever the limits, never banned.
    pub unconditional_peer_ids: Vec<String>,
    /// `addr_book_strict` (true): only routable addresses are kept and handed out.
    pub addr_book_strict: bool,
    /// `addr_book_file`, under the home (`config/addrbook.json`).
    pub addr_book_file: std::path::PathBuf,
}

/// config.toml's `[p2p]` (`None`: no `[p2p]`, no network). Paths are relative to `home`.
pub fn read_p2p_config(path: &Path, home: &Path) -> Result<Option<P2pConfig>> {
    let c: ConfigToml = read_toml(path, "config")?;
    let Some(p2p) = c.p2p else {
        return Ok(None);
    };
    let at = |key: &str| format!("{}: p2p.{key}", path.display());
    let laddr = p2p
        .laddr
        .strip_prefix("tcp://")
        .unwrap_or(&p2p.laddr)
        .parse()
        .with_context(|| format!("{} {:?} is not host:port", at("laddr"), p2p.laddr))?;
    let peers = |list: &str, key: &str| -> Result<Vec<PeerAddr>> {
        list.split(',')
            .filter(|p| !p.trim().is_empty())
            .map(|p| p.parse().with_context(|| at(key)))
            .collect()
    };
    let ids = |list: &str, key: &str| -> Result<Vec<String>> {
        list.split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(|p| {
                let id = p.to_ascii_lowercase();
                if keystone_consensus_driver::pex::book::valid_id(&id) {
                    Ok(id)
                } else {
                    bail!("{}: {p:?} is not a node id (40 hex digits)", at(key))
                }
            })
            .collect()
    };
    let num = |v: Option<&TomlNum>, key: &str, default: u64| -> Result<usize> {
        let n = match v {
            None => default,
            Some(n) => n.get(&at(key))?,
        };
        usize::try_from(n).with_context(|| format!("{} is too large", at(key)))
    };
    let flag = |v: Option<&TomlBool>, key: &str, default: bool| -> Result<bool> {
        v.map_or(Ok(default), |b| b.get(&at(key)))
    };
    let external = p2p.external_address.trim();
    if !external.is_empty() {
        let bare = external.strip_prefix("tcp://").unwrap_or(external);
        if bare
            .rsplit_once(':')
            .is_none_or(|(h, port)| h.is_empty() || port.parse::<u16>().is_err())
        {
            bail!("{} {external:?} is not host:port", at("external_address"));
        }
    }
    Ok(Some(P2pConfig {
        laddr,
        persistent_peers: peers(&p2p.persistent_peers, "persistent_peers")?,
        seeds: peers(&p2p.seeds, "seeds")?,
        seed_mode: flag(p2p.seed_mode.as_ref(), "seed_mode", false)?,
        pex: flag(p2p.pex.as_ref(), "pex", true)?,
        external_address: (!external.is_empty()).then(|| external.to_string()),
        max_inbound: num(
            p2p.max_num_inbound_peers.as_ref(),
            "max_num_inbound_peers",
            40,
        )?,
        max_outbound: num(
            p2p.max_num_outbound_peers.as_ref(),
            "max_num_outbound_peers",
            10,
        )?,
        private_peer_ids: ids(&p2p.private_peer_ids, "private_peer_ids")?,
        unconditional_peer_ids: ids(&p2p.unconditional_peer_ids, "unconditional_peer_ids")?,
        addr_book_strict: flag(p2p.addr_book_strict.as_ref(), "addr_book_strict", true)?,
        addr_book_file: home.join(
            p2p.addr_book_file
                .as_deref()
                .unwrap_or("config/addrbook.json"),
        ),
    }))
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

/// The mempool's bounds from `config/config.toml` `[mempool]` (CometBFT's keys and
/// defaults: `size` 5000, `max_txs_bytes` 1 GiB, `max_tx_bytes` 1 MiB, `cache_size` 10000,
/// `recheck` true).
pub fn read_mempool_config(
    path: &Path,
) -> Result<keystone_consensus_driver::mempool::MempoolConfig> {
    let c: ConfigToml = read_toml(path, "config")?;
    let m = c.mempool;
    let mut out = keystone_consensus_driver::mempool::MempoolConfig::default();
    let at = |key: &str| format!("{}: mempool.{key}", path.display());
    let num = |v: &Option<TomlNum>, key: &str, default: usize| -> Result<usize> {
        match v {
            None => Ok(default),
            Some(n) => usize::try_from(n.get(&at(key))?).with_context(|| at(key)),
        }
    };
    out.max_txs = num(&m.size, "size", out.max_txs)?;
    out.max_bytes = num(&m.max_txs_bytes, "max_txs_bytes", out.max_bytes)?;
    out.max_tx_bytes = num(&m.max_tx_bytes, "max_tx_bytes", out.max_tx_bytes)?;
    out.cache_size = num(&m.cache_size, "cache_size", out.cache_size)?;
    if let Some(b) = &m.recheck {
        out.recheck = b.get(&at("recheck"))?;
    }
    if out.max_txs == 0 || out.max_tx_bytes == 0 || out.max_bytes < out.max_tx_bytes {
        bail!(
            "{}: [mempool] must admit something: size > 0, max_tx_bytes > 0, max_txs_bytes >= max_tx_bytes",
            path.display()
        );
    }
    Ok(out)
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
    #[serde(rename = "enabled-unsafe-cors")]
    enabled_unsafe_cors: Option<TomlBool>,
    #[serde(rename = "rpc-max-body-bytes")]
    max_body_bytes: Option<TomlNum>,
    #[serde(rename = "rate-limit-per-second")]
    rate_limit_per_second: Option<TomlNum>,
    #[serde(rename = "rate-limit-burst")]
    rate_limit_burst: Option<TomlNum>,
    #[serde(rename = "rate-limit-loopback")]
    rate_limit_loopback: Option<TomlBool>,
    #[serde(rename = "request-timeout")]
    request_timeout: Option<String>,
}

/// The limit keys of one server's section, as read.
struct LimitsToml<'a> {
    /// The keys' names, for errors: body, rate, burst, loopback, timeout.
    names: [&'static str; 5],
    body: Option<&'a TomlNum>,
    rate: Option<&'a TomlNum>,
    burst: Option<&'a TomlNum>,
    loopback: Option<&'a TomlBool>,
    timeout: Option<&'a str>,
}

/// The limits shared by both servers, from their keys (absent keys: the defaults).
fn http_limits(
    path: &Path,
    t: LimitsToml<'_>,
    cors: crate::guard::Cors,
) -> Result<crate::guard::HttpLimits> {
    use crate::guard::HttpLimits;
    let d = HttpLimits::default();
    let at = |key: &str| format!("{}: {key}", path.display());
    let num = |v: Option<&TomlNum>, key: &str, default: u64| -> Result<u64> {
        v.map(|n| n.get(&at(key)))
            .transpose()
            .map(|n| n.unwrap_or(default))
    };
    let [body, rate, burst, loopback, timeout] = t.names;
    let too_large = |key: &str| format!("{} is too large", at(key));
    let rate_per_second = u32::try_from(num(t.rate, rate, d.rate_per_second.into())?)
        .with_context(|| too_large(rate))?;
    let rate_burst = u32::try_from(num(t.burst, burst, d.rate_burst.into())?)
        .with_context(|| too_large(burst))?;
    if rate_per_second > 0 && rate_burst == 0 {
        bail!("{} must be at least 1 when {rate} is set", at(burst));
    }
    Ok(HttpLimits {
        max_body_bytes: usize::try_from(num(t.body, body, d.max_body_bytes as u64)?)
            .with_context(|| too_large(body))?,
        rate_per_second,
        rate_burst,
        rate_limit_loopback: t
            .loopback
            .map(|b| b.get(&at(loopback)))
            .transpose()?
            .unwrap_or(d.rate_limit_loopback),
        request_timeout: t
            .timeout
            .map(parse_duration)
            .transpose()
            .with_context(|| at(timeout))?
            .unwrap_or(d.request_timeout),
        cors,
    })
}

/// The RPC server's limits from `config/config.toml` `[rpc]`: CometBFT's
/// `cors_allowed_origins|methods|headers` and `max_body_bytes`, and Keystone's
/// `rate_limit_per_second`, `rate_limit_burst`, `rate_limit_loopback` and `request_timeout`.
pub fn read_rpc_limits(path: &Path) -> Result<crate::guard::HttpLimits> {
    use crate::guard::Cors;
    let c: ConfigToml = read_toml(path, "config")?;
    let r = c.rpc;
    let cors = Cors {
        allowed_origins: r.cors_allowed_origins,
        allowed_methods: r
            .cors_allowed_methods
            .unwrap_or_else(Cors::cometbft_methods),
        allowed_headers: r
            .cors_allowed_headers
            .unwrap_or_else(Cors::cometbft_headers),
    };
    http_limits(
        path,
        LimitsToml {
            names: [
                "rpc.max_body_bytes",
                "rpc.rate_limit_per_second",
                "rpc.rate_limit_burst",
                "rpc.rate_limit_loopback",
                "rpc.request_timeout",
            ],
            body: r.max_body_bytes.as_ref(),
            rate: r.rate_limit_per_second.as_ref(),
            burst: r.rate_limit_burst.as_ref(),
            loopback: r.rate_limit_loopback.as_ref(),
            timeout: r.request_timeout.as_deref(),
        },
        cors,
    )
}

/// The REST server's limits from `config/app.toml` `[api]`: the SDK's `enabled-unsafe-cors`
/// and `rpc-max-body-bytes`, and Keystone's `rate-limit-per-second`, `rate-limit-burst`,
/// `rate-limit-loopback` and `request-timeout`.
pub fn read_api_limits(path: &Path) -> Result<crate::guard::HttpLimits> {
    use crate::guard::{Cors, HttpLimits};
    let a: AppToml = read_toml(path, "app config")?;
    let Some(api) = a.api else {
        return Ok(HttpLimits::default());
    };
    let unsafe_cors = api
        .enabled_unsafe_cors
        .map(|b| b.get(&format!("{}: api.enabled-unsafe-cors", path.display())))
        .transpose()?
        .unwrap_or(false);
    http_limits(
        path,
        LimitsToml {
            names: [
                "api.rpc-max-body-bytes",
                "api.rate-limit-per-second",
                "api.rate-limit-burst",
                "api.rate-limit-loopback",
                "api.request-timeout",
            ],
            body: api.max_body_bytes.as_ref(),
            rate: api.rate_limit_per_second.as_ref(),
            burst: api.rate_limit_burst.as_ref(),
            loopback: api.rate_limit_loopback.as_ref(),
            timeout: api.request_timeout.as_deref(),
        },
        if unsafe_cors {
            Cors::sdk_unsafe()
        } else {
            Cors::default()
        },
    )
}

#[derive(Deserialize)]
struct AppToml {
    #[serde(rename = "minimum-gas-prices", default)]
    minimum_gas_prices: String,
    api: Option<ApiToml>,
    #[serde(default)]
    pruning: Option<String>,
    #[serde(rename = "pruning-keep-recent", default)]
    pruning_keep_recent: Option<String>,
    #[serde(rename = "pruning-interval", default)]
    pruning_interval: Option<String>,
    #[serde(rename = "halt-height", default)]
    halt_height: Option<TomlNum>,
    #[serde(rename = "halt-time", default)]
    halt_time: Option<TomlNum>,
    #[serde(rename = "min-retain-blocks", default)]
    min_retain_blocks: Option<TomlNum>,
    grpc: Option<GrpcToml>,
    #[serde(rename = "grpc-web")]
    grpc_web: Option<EnableToml>,
    #[serde(rename = "state-sync")]
    state_sync: Option<StateSyncToml>,
}

/// app.toml's `[state-sync]`, the SDK's keys.
#[derive(Deserialize)]
struct StateSyncToml {
    #[serde(rename = "snapshot-interval")]
    snapshot_interval: Option<TomlNum>,
    #[serde(rename = "snapshot-keep-recent")]
    snapshot_keep_recent: Option<TomlNum>,
}

#[derive(Deserialize)]
struct GrpcToml {
    enable: Option<TomlBool>,
    address: Option<String>,
    #[serde(rename = "rate-limit-per-second")]
    rate_per_second: Option<TomlNum>,
    #[serde(rename = "rate-limit-burst")]
    rate_burst: Option<TomlNum>,
    #[serde(rename = "rate-limit-loopback")]
    rate_limit_loopback: Option<TomlBool>,
}

#[derive(Deserialize)]
struct EnableToml {
    enable: Option<TomlBool>,
}

/// The gRPC server from `config/app.toml`: `[grpc] enable` (default true) and `address`
/// (default `127.0.0.1:9090`; `tcp://` optional), `[grpc-web] enable` (default true). `None`:
/// off — also for a home written before Keystone had a gRPC server (no `[grpc]` section), so
/// an upgrade does not open a port nobody configured.
pub fn read_grpc_config(path: &Path) -> Result<Option<crate::grpc::GrpcConfig>> {
    let a: AppToml = read_toml(path, "app config")?;
    let Some(g) = a.grpc else {
        return Ok(None);
    };
    let flag = |b: Option<&TomlBool>, key: &str| -> Result<bool> {
        b.map(|b| b.get(&format!("{}: {key}", path.display())))
            .transpose()
            .map(|b| b.unwrap_or(true))
    };
    if !flag(g.enable.as_ref(), "grpc.enable")? {
        return Ok(None);
    }
    let text = g.address.as_deref().unwrap_or("127.0.0.1:9090");
    let text = text.strip_prefix("tcp://").unwrap_or(text);
    // The SDK's template writes `localhost:9090`.
    let text = match text.strip_prefix("localhost:") {
        Some(port) => format!("127.0.0.1:{port}"),
        None => text.to_string(),
    };
    let address = text
        .parse()
        .with_context(|| format!("{}: grpc.address {text:?} is not host:port", path.display()))?;
    let web = flag(
        a.grpc_web.as_ref().and_then(|w| w.enable.as_ref()),
        "grpc-web.enable",
    )?;
    let number = |v: Option<&TomlNum>, key: &str, default: u32| -> Result<u32> {
        match v {
            None => Ok(default),
            Some(n) => {
                let n = n.get(&format!("{}: grpc.{key}", path.display()))?;
                u32::try_from(n)
                    .with_context(|| format!("{}: grpc.{key} is too large", path.display()))
            }
        }
    };
    let rate_per_second = number(
        g.rate_per_second.as_ref(),
        "rate-limit-per-second",
        crate::guard::DEFAULT_RATE_PER_SECOND,
    )?;
    let rate_burst = number(
        g.rate_burst.as_ref(),
        "rate-limit-burst",
        crate::guard::DEFAULT_RATE_BURST,
    )?;
    let rate_limit_loopback = g
        .rate_limit_loopback
        .as_ref()
        .map(|b| b.get(&format!("{}: grpc.rate-limit-loopback", path.display())))
        .transpose()?
        .unwrap_or(false);
    Ok(Some(crate::grpc::GrpcConfig {
        address,
        web,
        rate_per_second,
        rate_burst,
        rate_limit_loopback,
    }))
}

/// What `cosmos.base.node.v1beta1.Service/Config` reports from `config/app.toml`.
pub fn read_node_service_config(path: &Path) -> Result<crate::grpc::NodeConfig> {
    let a: AppToml = read_toml(path, "app config")?;
    Ok(crate::grpc::NodeConfig {
        minimum_gas_price: a.minimum_gas_prices.clone(),
        pruning_keep_recent: a.pruning_keep_recent.clone().unwrap_or_else(|| "0".into()),
        pruning_interval: a.pruning_interval.clone().unwrap_or_else(|| "0".into()),
        halt_height: read_halt_height(path)?.unwrap_or(0),
    })
}

/// `halt-height` from `config/app.toml`: the height to stop after, if any (0: none).
pub fn read_halt_height(path: &Path) -> Result<Option<u64>> {
    let a: AppToml = read_toml(path, "app config")?;
    let h = match &a.halt_height {
        None => 0,
        Some(n) => n.get(&format!("{}: halt-height", path.display()))?,
    };
    Ok((h > 0).then_some(h))
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

/// Which versions of the state the node keeps: app.toml's `pruning` strategy, as the SDK
/// names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pruning {
    /// Versions kept (0: every one).
    pub keep_recent: u64,
    /// Prune at every height divisible by this (1: every height).
    pub interval: u64,
}

impl Pruning {
    /// The SDK's `pruning` strategies: `default` keeps 362880 versions and prunes every 10
    /// heights, `nothing` keeps every version, `everything` keeps 2 (every 10 heights),
    /// `custom` takes `pruning-keep-recent` and `pruning-interval`. A home without the
    /// `pruning` key keeps what it did before the key was read: `pruning-keep-recent`
    /// versions (0: all), pruned at every height.
    fn from_app_toml(a: &AppToml, path: &Path) -> Result<Pruning> {
        let number = |v: &Option<String>, key: &str, default: u64| -> Result<u64> {
            v.as_deref()
                .map(|t| {
                    t.trim()
                        .parse::<u64>()
                        .with_context(|| format!("{}: {key} {t:?} is not a number", path.display()))
                })
                .transpose()
                .map(|n| n.unwrap_or(default))
        };
        let keep = number(&a.pruning_keep_recent, "pruning-keep-recent", 0)?;
        let interval = number(&a.pruning_interval, "pruning-interval", 10)?;
        Ok(match a.pruning.as_deref() {
            None => Pruning {
                keep_recent: keep,
                interval: 1,
            },
            Some("default") => Pruning {
                keep_recent: 362_880,
                interval: 10,
            },
            Some("nothing") => Pruning {
                keep_recent: 0,
                interval: 1,
            },
            Some("everything") => Pruning {
                keep_recent: 2,
                interval: 10,
            },
            Some("custom") => {
                if keep == 0 || interval == 0 {
                    bail!(
                        "{}: pruning = \"custom\" needs pruning-keep-recent and pruning-interval above 0",
                        path.display()
                    );
                }
                Pruning {
                    keep_recent: keep,
                    interval,
                }
            }
            Some(other) => bail!(
                "{}: pruning {other:?}: one of default, nothing, everything, custom",
                path.display()
            ),
        })
    }
}

/// `minimum-gas-prices` and the pruning of the state from `config/app.toml`.
pub fn read_app_toml(path: &Path) -> Result<(Vec<keystone_app::tx::GasPrice>, Pruning)> {
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
    Ok((prices, Pruning::from_app_toml(&a, path)?))
}

/// `[state-sync] snapshot-interval` and `snapshot-keep-recent` from `config/app.toml` (the
/// SDK's defaults, 0 and 2, when absent).
pub fn read_snapshot_config(path: &Path) -> Result<keystone_app::snapshots::SnapshotConfig> {
    let a: AppToml = read_toml(path, "app config")?;
    let s = a.state_sync.as_ref();
    let num = |v: Option<&TomlNum>, key: &str, default: u64| -> Result<u64> {
        v.map_or(Ok(default), |n| {
            n.get(&format!("{}: state-sync.{key}", path.display()))
        })
    };
    Ok(keystone_app::snapshots::SnapshotConfig {
        interval: num(
            s.and_then(|s| s.snapshot_interval.as_ref()),
            "snapshot-interval",
            0,
        )?,
        keep_recent: u32::try_from(num(
            s.and_then(|s| s.snapshot_keep_recent.as_ref()),
            "snapshot-keep-recent",
            2,
        )?)
        .with_context(|| {
            format!(
                "{}: state-sync.snapshot-keep-recent is too large",
                path.display()
            )
        })?,
    })
}

/// `min-retain-blocks` from `config/app.toml` (0: keep every block).
pub fn read_min_retain_blocks(path: &Path) -> Result<u64> {
    let a: AppToml = read_toml(path, "app config")?;
    match &a.min_retain_blocks {
        None => Ok(0),
        Some(n) => n.get(&format!("{}: min-retain-blocks", path.display())),
    }
}

/// `halt-time` from `config/app.toml`: stop after committing the first block whose time is at
/// or past this many seconds since the Unix epoch, if set (0: never), as the SDK's halt-time.
pub fn read_halt_time(path: &Path) -> Result<Option<i64>> {
    let a: AppToml = read_toml(path, "app config")?;
    let t = match &a.halt_time {
        None => 0,
        Some(n) => n.get(&format!("{}: halt-time", path.display()))?,
    };
    Ok((t > 0).then(|| i64::try_from(t).unwrap_or(i64::MAX)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::guard::{Cors, HttpLimits};

    #[test]
    fn pruning_strategies_as_the_sdk_names_them() {
        let path = Path::new("app.toml");
        let pruning = |text: &str| -> Result<Pruning> {
            let a: AppToml = toml::from_str(text).expect("toml");
            Pruning::from_app_toml(&a, path)
        };
        let p = |keep_recent, interval| Pruning {
            keep_recent,
            interval,
        };
        assert_eq!(pruning(DEFAULT_APP_TOML).expect("template"), p(362_880, 10));
        assert_eq!(pruning("pruning = \"nothing\"").expect("nothing"), p(0, 1));
        assert_eq!(
            pruning("pruning = \"everything\"").expect("everything"),
            p(2, 10)
        );
        assert_eq!(
            pruning(
                "pruning = \"custom\"\npruning-keep-recent = \"100\"\npruning-interval = \"7\""
            )
            .expect("custom"),
            p(100, 7)
        );
        // A home from before the key: pruning-keep-recent alone, at every height.
        assert_eq!(
            pruning("pruning-keep-recent = \"5\"").expect("old"),
            p(5, 1)
        );
        assert_eq!(pruning("").expect("nothing said"), p(0, 1));
        for bad in [
            "pruning = \"sometimes\"",
            "pruning = \"custom\"",
            "pruning = \"custom\"\npruning-keep-recent = \"x\"",
        ] {
            assert!(pruning(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn unknown_config_keys_are_named_with_their_file_and_line() {
        let dir = tempfile::tempdir().expect("tmp");
        let home = Home(dir.path().to_path_buf());
        std::fs::create_dir_all(home.config("")).expect("dir");
        // The templates `init` writes: every key they hold is read.
        std::fs::write(home.config("config.toml"), DEFAULT_CONFIG_TOML).expect("write");
        std::fs::write(home.config("app.toml"), DEFAULT_APP_TOML).expect("write");
        assert_eq!(unknown_config_keys(&home).expect("read"), vec![]);
        // A typo in a section, a CometBFT key Keystone lacks, a misspelt top-level key.
        let config = DEFAULT_CONFIG_TOML
            .replace("size = 5000", "sise = 5000")
            .replace("[p2p]\n", "[p2p]\nflush_throttle_timeout = \"100ms\"\n")
            .replace("log_level = ", "loglevel = ");
        std::fs::write(home.config("config.toml"), &config).expect("write");
        let app = DEFAULT_APP_TOML.replace("halt-height = 0", "halt_height = 0");
        std::fs::write(home.config("app.toml"), &app).expect("write");
        let line = |text: &str, needle: &str| {
            text.lines()
                .position(|l| l.starts_with(needle))
                .expect("in the file")
                + 1
        };
        let found = unknown_config_keys(&home).expect("read");
        let want = vec![
            (
                home.config("config.toml"),
                "loglevel".to_string(),
                line(&config, "loglevel"),
            ),
            (
                home.config("config.toml"),
                "p2p.flush_throttle_timeout".to_string(),
                line(&config, "flush_throttle_timeout"),
            ),
            (
                home.config("config.toml"),
                "mempool.sise".to_string(),
                line(&config, "sise"),
            ),
            (
                home.config("app.toml"),
                "halt_height".to_string(),
                line(&app, "halt_height"),
            ),
        ];
        let mut found_sorted = found.clone();
        found_sorted.sort();
        let mut want_sorted = want.clone();
        want_sorted.sort();
        assert_eq!(found_sorted, want_sorted);
        assert!(want.iter().all(|(_, _, l)| *l > 0));
    }

    #[test]
    fn http_limits_come_from_the_config_files_with_defaults() {
        let dir = tempfile::tempdir().expect("tmp");
        let config = dir.path().join("config.toml");
        let app = dir.path().join("app.toml");
        // The templates `init` writes: the defaults, CORS off.
        std::fs::write(&config, DEFAULT_CONFIG_TOML).expect("write");
        std::fs::write(&app, DEFAULT_APP_TOML).expect("write");
        let rpc = read_rpc_limits(&config).expect("rpc limits");
        assert_eq!(
            rpc,
            HttpLimits {
                cors: Cors {
                    allowed_origins: vec![],
                    allowed_methods: Cors::cometbft_methods(),
                    allowed_headers: Cors::cometbft_headers(),
                },
                ..HttpLimits::default()
            }
        );
        assert_eq!(
            read_api_limits(&app).expect("api limits"),
            HttpLimits::default()
        );
        // Homes written before these keys existed read as the defaults too.
        std::fs::write(
            &config,
            "[rpc]\nladdr = \"tcp://127.0.0.1:1\"\n[consensus]\ntimeout_propose = \"1s\"\ntimeout_propose_delta = \"1s\"\ntimeout_prevote = \"1s\"\ntimeout_prevote_delta = \"1s\"\ntimeout_precommit = \"1s\"\ntimeout_precommit_delta = \"1s\"\ntimeout_commit = \"1s\"\n",
        )
        .expect("write");
        assert_eq!(read_rpc_limits(&config).expect("old").rate_burst, 200);
        std::fs::write(&app, "[api]\naddress = \"tcp://127.0.0.1:2\"\n").expect("write");
        assert_eq!(read_api_limits(&app).expect("old"), HttpLimits::default());
        // Set, also as the strings `set_config` writes.
        set_config(
            &app,
            &[
                ("api", "enabled-unsafe-cors", "true"),
                ("api", "rate-limit-per-second", "0"),
                ("api", "request-timeout", "250ms"),
                ("api", "rpc-max-body-bytes", "2048"),
                ("api", "rate-limit-loopback", "true"),
            ],
        )
        .expect("set");
        let api = read_api_limits(&app).expect("api limits");
        assert_eq!(api.cors, Cors::sdk_unsafe());
        assert_eq!(api.rate_per_second, 0);
        assert_eq!(api.request_timeout, Duration::from_millis(250));
        assert_eq!(api.max_body_bytes, 2048);
        assert!(api.rate_limit_loopback);
        // A burst of 0 with a rate is refused rather than refusing every request.
        set_config(
            &app,
            &[
                ("api", "rate-limit-per-second", "5"),
                ("api", "rate-limit-burst", "0"),
            ],
        )
        .expect("set");
        assert!(read_api_limits(&app).is_err());
        set_config(&app, &[("api", "enabled-unsafe-cors", "sometimes")]).expect("set");
        assert!(read_api_limits(&app).is_err());
    }
}
