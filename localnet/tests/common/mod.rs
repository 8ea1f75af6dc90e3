//! What the proof-of-stake end-to-end tests share: running `keystone tx …` and `keystone
//! query …` against a node of a [`Localnet`] as an operator would, and reading the engine's
//! validator set and balances.

#![allow(dead_code)] // each test file uses its own subset

pub(crate) mod apps;
pub(crate) mod peer;
pub(crate) mod requests;

use keystone_localnet::Localnet;
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// The network's chain id (from node 0's genesis).
pub(crate) fn chain_id(net: &Localnet) -> String {
    let path = net.nodes[0].home.join("config/genesis.json");
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&path).expect("genesis"))
        .expect("genesis JSON");
    doc["chain_id"].as_str().expect("chain_id").to_string()
}

/// Node `i`'s operator address (`cosmosvaloper…`), from its keyring.
pub(crate) fn valoper(net: &Localnet, i: usize, key: &str) -> String {
    let home = net.nodes[i].home.display().to_string();
    net.keystone(&[
        "keys",
        "show",
        key,
        "-a",
        "--bech",
        "val",
        "--keyring-backend",
        "test",
        "--home",
        &home,
    ])
    .expect("keys show")
    .trim()
    .to_string()
}

/// Voting power by consensus address in the engine's set of height `h`, as node 0 reports it.
pub(crate) fn powers(net: &Localnet, h: u64) -> BTreeMap<String, i64> {
    let v = net
        .rpc(0, "validators", json!({"height": h.to_string()}))
        .unwrap_or_else(|| panic!("validators at {h}"));
    v["validators"]
        .as_array()
        .expect("list")
        .iter()
        .map(|v| {
            (
                v["address"].as_str().expect("address").to_string(),
                v["voting_power"]
                    .as_str()
                    .and_then(|p| p.parse().ok())
                    .expect("power"),
            )
        })
        .collect()
}

/// Run a `keystone tx …` command (its signer among `args`) with node `i`'s home and sent to
/// node `i`; wait for it to be committed and return its height (it must succeed).
pub(crate) fn tx(net: &Localnet, i: usize, args: &[&str]) -> u64 {
    let (height, code, log) = tx_result(net, i, args);
    assert_eq!(code, 0, "{}: {log}", args.join(" "));
    height
}

/// Like [`tx`], for a transaction that is admitted and then fails in its block: (height,
/// code, log).
pub(crate) fn tx_result(net: &Localnet, i: usize, args: &[&str]) -> (u64, u64, String) {
    let r = committed(net, i, args);
    (
        r["height"]
            .as_str()
            .and_then(|h| h.parse().ok())
            .expect("height"),
        r["tx_result"]["code"].as_u64().unwrap_or(u64::MAX),
        r["tx_result"]["log"].as_str().unwrap_or("").to_string(),
    )
}

/// Run a `keystone tx …` command as [`tx_result`] does and return RPC `tx`'s answer for it.
pub(crate) fn committed(net: &Localnet, i: usize, args: &[&str]) -> Value {
    let home = net.nodes[i].home.display().to_string();
    let node = format!("tcp://127.0.0.1:{}", net.nodes[i].rpc);
    let chain = chain_id(net);
    let mut all: Vec<&str> = args.to_vec();
    all.extend([
        "--chain-id",
        &chain,
        "--node",
        &node,
        "--keyring-backend",
        "test",
        "--home",
        &home,
        "-y",
    ]);
    let out = net
        .keystone(&all)
        .unwrap_or_else(|e| panic!("keystone {}: {e}", args.join(" ")));
    let sent: Value = serde_json::from_str(out.trim()).expect("tx response JSON");
    let hash = sent["txhash"].as_str().expect("txhash").to_string();
    let bytes = hex::decode(&hash).expect("hex");
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD.encode(bytes);
    let mut found = None;
    net.wait(&format!("tx {hash} committed"), 30, |n| {
        found = n.rpc(i, "tx", json!({"hash": b64}));
        found.is_some()
    })
    .expect("committed");
    found.expect("found")
}

/// The stake a committed transaction paid out as rewards (its `withdraw_rewards` events:
/// distribution settles a delegation's rewards whenever its stake changes).
pub(crate) fn rewards_paid(r: &Value) -> u128 {
    paid(r, "withdraw_rewards")
}

/// Sum of the `amount` attributes (in stake) of a committed tx's events of `kind`.
pub(crate) fn paid(r: &Value, kind: &str) -> u128 {
    r["tx_result"]["events"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["type"] == kind)
        .flat_map(|e| e["attributes"].as_array().into_iter().flatten())
        .filter(|a| a["key"] == "amount")
        .filter_map(|a| {
            a["value"]
                .as_str()?
                .strip_suffix("stake")?
                .parse::<u128>()
                .ok()
        })
        .sum()
}

/// `keystone query <module> …` against node 0, parsed (`args` starts with the module).
pub(crate) fn query(net: &Localnet, args: &[&str]) -> Value {
    let node = format!("tcp://127.0.0.1:{}", net.nodes[0].rpc);
    let mut all = vec!["query"];
    all.extend_from_slice(args);
    all.extend(["--node", &node]);
    let out = net
        .keystone(&all)
        .unwrap_or_else(|e| panic!("query {}: {e}", args.join(" ")));
    serde_json::from_str(out.trim()).expect("query JSON")
}

pub(crate) fn balance(net: &Localnet, address: &str) -> u128 {
    let node = format!("tcp://127.0.0.1:{}", net.nodes[0].rpc);
    let out = net
        .keystone(&["query", "bank", "balances", address, "--node", &node])
        .expect("balances");
    let v: Value = serde_json::from_str(out.trim()).expect("json");
    v["balances"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["denom"] == "stake")
        .and_then(|c| c["amount"].as_str()?.parse().ok())
        .unwrap_or(0)
}

/// Wait until node 0 has committed `h`.
pub(crate) fn reach(net: &Localnet, h: u64) {
    net.wait_height(&[0], h, 60)
        .unwrap_or_else(|e| panic!("height {h}: {e}"));
}
