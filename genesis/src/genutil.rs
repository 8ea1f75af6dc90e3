//! Genesis transactions, as gaiad's `genutil` handles them: each would-be validator signs a
//! `MsgCreateValidator` (a *gentx*, written to `config/gentx/gentx-<node id>.json` in the SDK's
//! JSON form), one home collects them into `app_state.genutil.gen_txs`, and InitChain
//! delivers them, so the first validator set is whatever they bonded.
//!
//! What lives here: reading and checking gentx files against the genesis they join (one
//! `MsgCreateValidator`, its operator funded at genesis with what it bonds) and putting them
//! into the document. Signing lives with the keys (the CLI); delivering them with the
//! application.

use crate::{invalid, GenesisDoc, GenesisError, Result};
use keystone_modules::bank::genesis::Genesis as BankGenesis;
use keystone_modules::Address;
use serde_json::Value;
use std::path::Path;

/// The type URL of the one message a gentx carries.
pub const CREATE_VALIDATOR: &str = "/cosmos.staking.v1beta1.MsgCreateValidator";

/// What a checked gentx says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GenTx {
    /// The transaction in the SDK's JSON form, as it goes into the genesis.
    pub json: Value,
    /// The validator's operator account.
    pub operator: Address,
    /// What it bonds: amount and denom.
    pub amount: u128,
    /// The bond denom.
    pub denom: String,
    /// The memo: the node's `id@host:port`, by gaiad's convention.
    pub memo: String,
}

/// The gentxs already in `doc` (`app_state.genutil.gen_txs`), in order.
pub fn gen_txs(doc: &GenesisDoc) -> Vec<Value> {
    doc.app_state
        .as_ref()
        .and_then(|s| s.pointer("/genutil/gen_txs"))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

/// Check one gentx against `doc`: it decodes to a signed transaction, carries exactly one
/// `MsgCreateValidator`, and its operator holds at least what it bonds in the genesis
/// balances.
pub fn check_gentx(doc: &GenesisDoc, json: Value) -> Result<GenTx> {
    let bad = |reason: String| invalid("app_state.genutil.gen_txs", reason);
    keystone_proto::tx_json::tx_from_json(&json).map_err(|e| bad(e.to_string()))?;
    let msgs = json
        .pointer("/body/messages")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let [msg] = msgs.as_slice() else {
        return Err(bad(format!(
            "a gentx must carry exactly one message, this one has {}",
            msgs.len()
        )));
    };
    if msg["@type"] != CREATE_VALIDATOR {
        return Err(bad(format!(
            "a gentx must carry a {CREATE_VALIDATOR}, not {}",
            msg["@type"]
        )));
    }
    let valoper = msg["validator_address"].as_str().unwrap_or_default();
    let operator = Address::from_bech32(valoper, "cosmosvaloper")
        .map_err(|e| bad(format!("validator_address: {e}")))?;
    let denom = msg["value"]["denom"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let amount: u128 = msg["value"]["amount"]
        .as_str()
        .and_then(|a| a.parse().ok())
        .ok_or_else(|| bad(format!("{valoper}: the bonded value is not an amount")))?;
    let held = balance(doc, &operator, &denom)?;
    if held < amount {
        return Err(bad(format!(
            "account {operator} has {held}{denom} in genesis, not the {amount}{denom} it bonds"
        )));
    }
    let memo = json
        .pointer("/body/memo")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    Ok(GenTx {
        json,
        operator,
        amount,
        denom,
        memo,
    })
}

/// What `address` holds of `denom` in the genesis balances.
fn balance(doc: &GenesisDoc, address: &Address, denom: &str) -> Result<u128> {
    let bank: BankGenesis = match doc.app_state.as_ref().and_then(|s| s.get("bank")) {
        Some(b) => serde_json::from_value(b.clone())
            .map_err(|e| invalid("app_state.bank", e.to_string()))?,
        None => BankGenesis::default(),
    };
    let who = address.to_string();
    Ok(bank
        .balances
        .iter()
        .filter(|b| b.address == who)
        .flat_map(|b| &b.coins)
        .filter(|c| c.denom == denom)
        .filter_map(|c| c.amount.parse::<u128>().ok())
        .sum())
}

/// `collect-gentxs`: every `*.json` in `dir` (in file-name order), checked, becomes
/// `app_state.genutil.gen_txs`; the document's `validators` are emptied, because InitChain
/// returns the set the gentxs bond (as on a gaiad chain). Returns the gentxs, whose memos
/// are the nodes' addresses for `persistent_peers`.
pub fn collect_gentxs(doc: &mut GenesisDoc, dir: &Path) -> Result<Vec<GenTx>> {
    let io = |source: std::io::Error| GenesisError::Io {
        path: dir.display().to_string(),
        source,
    };
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .map_err(io)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(invalid(
            "app_state.genutil.gen_txs",
            format!("no gentx files in {}", dir.display()),
        ));
    }
    let mut txs = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for path in files {
        let bytes = std::fs::read(&path).map_err(|source| GenesisError::Io {
            path: path.display().to_string(),
            source,
        })?;
        let json: Value = serde_json::from_slice(&bytes)
            .map_err(|e| GenesisError::Json(format!("{}: {e}", path.display())))?;
        let tx = check_gentx(doc, json).map_err(|e| match e {
            GenesisError::Invalid { field, reason } => GenesisError::Invalid {
                field,
                reason: format!("{}: {reason}", path.display()),
            },
            other => other,
        })?;
        if !seen.insert(tx.operator) {
            return Err(invalid(
                "app_state.genutil.gen_txs",
                format!("two gentxs for operator {}", tx.operator),
            ));
        }
        txs.push(tx);
    }
    let state = doc
        .app_state
        .get_or_insert_with(|| Value::Object(Default::default()));
    let Value::Object(sections) = state else {
        return Err(invalid("app_state", "must be a JSON object"));
    };
    sections.insert(
        "genutil".into(),
        serde_json::json!({"gen_txs": txs.iter().map(|t| t.json.clone()).collect::<Vec<_>>()}),
    );
    doc.validators.clear();
    doc.validate()?;
    Ok(txs)
}
