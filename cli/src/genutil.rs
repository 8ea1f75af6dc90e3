//! `genesis gentx` and `genesis collect-gentxs`: the gaiad way to start a chain whose first
//! validators are whoever bonded stake at genesis.
//!
//! A gentx is a `MsgCreateValidator` signed by the operator's account key with account number
//! 0 (the SDK's rule for transactions delivered at genesis, before accounts are numbered by
//! use) and its genesis sequence, no fee, and the node's `id@host:port` as memo. Collecting
//! them puts them into `app_state.genutil.gen_txs` (checked: one message each, the bond funded)
//! and sets `persistent_peers` from the memos, as gaiad does.

use crate::home::{self, Home, PeerAddr};
use anyhow::{bail, Context, Result};
use keystone_modules::{Address, Coin};
use std::path::{Path, PathBuf};

/// The commission and self-delegation terms of a new validator (gaiad's defaults: 10 %, at
/// most 20 %, changing by at most 1 % a day; minimum self-delegation 1).
#[derive(Clone, Debug)]
pub struct ValidatorTerms {
    /// Moniker.
    pub moniker: String,
    /// Commission rate, e.g. `0.1`.
    pub commission_rate: String,
    /// Highest commission rate ever.
    pub commission_max_rate: String,
    /// Largest daily change.
    pub commission_max_change_rate: String,
    /// Minimum self-delegation (tokens).
    pub min_self_delegation: String,
    /// Optional description fields.
    pub identity: String,
    /// Website.
    pub website: String,
    /// Security contact.
    pub security_contact: String,
    /// Details.
    pub details: String,
}

impl ValidatorTerms {
    /// gaiad's defaults for `moniker`.
    pub fn defaults(moniker: &str) -> ValidatorTerms {
        ValidatorTerms {
            moniker: moniker.into(),
            commission_rate: "0.1".into(),
            commission_max_rate: "0.2".into(),
            commission_max_change_rate: "0.01".into(),
            min_self_delegation: "1".into(),
            identity: String::new(),
            website: String::new(),
            security_contact: String::new(),
            details: String::new(),
        }
    }
}

/// Gas a gentx asks for (gaiad's default gas limit).
const GENTX_GAS: u64 = 200_000;

/// `genesis gentx`: sign a `MsgCreateValidator` bonding `amount` from the key with `secret`
/// (whose account is `operator`) for this home's consensus key, check it against the home's
/// genesis, and write it to `output` (default `config/gentx/gentx-<node id>.json`). Returns
/// the path written.
pub fn gentx(
    home: &Home,
    secret: &[u8; 32],
    operator: &Address,
    amount: &str,
    chain_id: &str,
    terms: &ValidatorTerms,
    output: Option<&Path>,
) -> Result<PathBuf> {
    let doc = home::read_genesis(home)?;
    if doc.chain_id != chain_id {
        bail!(
            "--chain-id {chain_id} is not the genesis chain id {}",
            doc.chain_id
        );
    }
    let value: Coin = amount
        .parse()
        .with_context(|| format!("invalid amount {amount:?}"))?;
    let node_id =
        keystone_consensus_driver::node_key::NodeKey::load(&home.config("node_key.json"))?.id();
    let p2p = home::read_p2p_config(&home.config("config.toml"), &home.0)?
        .map(|p| p.laddr.to_string())
        .unwrap_or_else(|| "127.0.0.1:26656".into());
    let consensus_key =
        keystone_consensus_driver::privval::read_key_file(&home.config("priv_validator_key.json"))?
            .public_key();
    let msg = crate::tx::msg_create_validator(operator, &consensus_key.0, &value, terms)?;
    // Account number 0 at genesis: the SDK's ante handler signs genesis transactions so.
    let raw = crate::tx::sign(
        secret,
        msg,
        &format!("{node_id}@{p2p}"),
        &keystone_modules::Coins::new(),
        GENTX_GAS,
        chain_id,
        0,
        genesis_sequence(&doc, operator),
    )?;
    let json = keystone_proto::tx_json::tx_to_json(&raw)?;
    keystone_genesis::genutil::check_gentx(&doc, json.clone())?;
    let path = match output {
        Some(p) => p.to_path_buf(),
        None => {
            let dir = home.config("gentx");
            std::fs::create_dir_all(&dir)?;
            dir.join(format!("gentx-{node_id}.json"))
        }
    };
    std::fs::write(&path, serde_json::to_string(&json)?)
        .with_context(|| path.display().to_string())?;
    Ok(path)
}

/// The sequence `operator`'s account has in the genesis (0 unless the genesis says otherwise).
fn genesis_sequence(doc: &keystone_genesis::GenesisDoc, operator: &Address) -> u64 {
    let who = operator.to_string();
    doc.app_state
        .as_ref()
        .and_then(|s| s.pointer("/auth/accounts"))
        .and_then(|a| a.as_array())
        .and_then(|list| list.iter().find(|a| a["address"] == who.as_str()))
        .and_then(|a| match &a["sequence"] {
            serde_json::Value::String(s) => s.parse().ok(),
            v => v.as_u64(),
        })
        .unwrap_or(0)
}

/// `genesis collect-gentxs`: put the gentxs of `dir` (default `config/gentx`) into the home's
/// genesis and its `persistent_peers` (every memo but this node's own). Returns how many.
pub fn collect_gentxs(home: &Home, dir: Option<&Path>) -> Result<usize> {
    let dir = dir.map_or_else(|| home.config("gentx"), Path::to_path_buf);
    let mut doc = home::read_genesis(home)?;
    let txs = keystone_genesis::genutil::collect_gentxs(&mut doc, &dir)?;
    let me =
        keystone_consensus_driver::node_key::NodeKey::load(&home.config("node_key.json"))?.id();
    let mut peers = Vec::new();
    for tx in &txs {
        match tx.memo.parse::<PeerAddr>() {
            Ok(p) if p.id != me => peers.push(p.to_string()),
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(memo = %tx.memo, error = %e, "a gentx memo is not a peer address")
            }
        }
    }
    home::write_genesis(home, &doc)?;
    home::set_config(
        &home.config("config.toml"),
        &[("p2p", "persistent_peers", &peers.join(","))],
    )?;
    Ok(txs.len())
}
