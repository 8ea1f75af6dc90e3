//! Slashing and rewards end to end, on 4-validator localnets started from gentxs with short
//! slashing params, driven through the `keystone` command line and JSON-RPC:
//! - blocks mint and the last commit's validators share the provisions: a validator's
//!   delegation rewards and commission grow and withdraw into its balance, the community
//!   pool takes its tax;
//! - a stopped validator is jailed for downtime (1 % of its stake burned), leaves the
//!   engine's set, cannot unjail before its jail time, and after `unjail` is back in the set
//!   and signs again;
//! - a validator that double-signs (the test-only `--byzantine-double-sign`) is slashed 5 %
//!   at the infraction height, tombstoned, removed from the set for good, and its delegators'
//!   stake shows the slash.
//!
//! Every process is killed when its `Localnet` is dropped, also when a test fails.

mod common;

use common::{balance, committed, paid, powers, query, tx_result, valoper};
use keystone_localnet::{free_base, keystone_bin, Localnet, FAST_TIMEOUTS};
use keystone_modules::{Address, Timestamp};
use serde_json::{json, Value};

/// A localnet of four validators with short slashing params: a window of `window` blocks of
/// which half must be signed, and an 8-second downtime jail.
fn network(dir: &std::path::Path, chain: &str, window: u64) -> Localnet {
    let bin = keystone_bin().expect("the keystone binary is built next to the tests");
    let net = Localnet::init(
        &bin,
        dir,
        4,
        chain,
        free_base(50).expect("a free port range on 127.0.0.1"),
        &FAST_TIMEOUTS,
    )
    .expect("testnet init-files");
    net.edit_genesis(|g| {
        let p = &mut g["app_state"]["slashing"]["params"];
        p["signed_blocks_window"] = json!(window.to_string());
        p["min_signed_per_window"] = json!("0.500000000000000000");
        p["downtime_jail_duration"] = json!("8s");
    })
    .expect("short slashing params");
    net
}

/// Node `i`'s consensus address as bech32 (`cosmosvalcons1…`).
fn valcons(net: &Localnet, i: usize) -> String {
    let hex = net.validator_address(i).expect("key");
    let bytes: [u8; 20] = hex::decode(&hex)
        .expect("hex")
        .try_into()
        .expect("20 bytes");
    Address(bytes).to_valcons()
}

/// The amount of `stake` in a coin list JSON (`[{"denom","amount"}]`), decimals truncated.
fn stake_in(coins: &Value) -> u128 {
    coins
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["denom"] == "stake")
        .and_then(|c| c["amount"].as_str()?.split('.').next()?.parse().ok())
        .unwrap_or(0)
}

/// The validator `val` as node 0's staking route answers it.
fn validator(net: &Localnet, val: &str) -> Value {
    query(net, &["staking", "validator", val])["validator"].clone()
}

/// Does node 0's commit of any height in `heights` carry a precommit from `cons` (hex)?
fn signs_in(net: &Localnet, cons: &str, heights: std::ops::RangeInclusive<u64>) -> bool {
    heights.into_iter().any(|k| {
        net.rpc(0, "commit", json!({"height": k.to_string()}))
            .is_some_and(|c| {
                c["signed_header"]["commit"]["signatures"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|s| s["validator_address"] == cons && s["block_id_flag"] == 2)
            })
    })
}

#[test]
fn rewards_withdraw_and_a_stopped_validator_is_jailed_then_unjails_and_signs() {
    let dir = tempfile::tempdir().expect("tmp");
    // 20 blocks (about 3 s): short to wait for, long enough that a node starved of CPU for
    // a moment on a loaded machine is not jailed too.
    let mut net = network(dir.path(), "e2e-downtime", 20);
    net.start_all().expect("start");
    net.wait_height(&[0, 1, 2, 3], 4, 90).expect("blocks");

    // Rewards: the provisions of each block are shared by the last commit's validators.
    let op0 = net.nodes[0].address.clone();
    let val0 = valoper(&net, 0, "node0");
    let rewards = query(&net, &["distribution", "rewards", &op0, &val0]);
    assert!(stake_in(&rewards["rewards"]) > 0, "{rewards}");
    let commission = query(&net, &["distribution", "commission", &val0]);
    assert!(
        stake_in(&commission["commission"]["commission"]) > 0,
        "{commission}"
    );
    let pool = query(&net, &["distribution", "community-pool"]);
    assert!(stake_in(&pool["pool"]) > 0, "the community tax: {pool}");
    let before = balance(&net, &op0);
    let r = committed(
        &net,
        0,
        &[
            "tx",
            "distribution",
            "withdraw-rewards",
            &val0,
            "--commission",
            "--from",
            "node0",
        ],
    );
    assert_eq!(r["tx_result"]["code"], 0, "{r}");
    let got = paid(&r, "withdraw_rewards") + paid(&r, "withdraw_commission");
    assert!(
        paid(&r, "withdraw_rewards") > 0 && paid(&r, "withdraw_commission") > 0,
        "{r}"
    );
    assert_eq!(balance(&net, &op0), before + got, "paid into the balance");

    // Downtime: node 3 stops; within a window it is jailed, 1 % of its stake burned.
    let val3 = valoper(&net, 3, "node3");
    let cons3 = net.validator_address(3).expect("key");
    net.kill(3);
    net.wait("node 3 jailed for downtime", 60, |n| {
        validator(n, &val3)["jailed"] == true
    })
    .expect("jailed");
    let v = validator(&net, &val3);
    assert_eq!(v["status"], "BOND_STATUS_UNBONDING", "{v}");
    assert_eq!(v["tokens"], "99000000", "1 % of 100000000 burned: {v}");
    let info = query(&net, &["slashing", "signing-info", &valcons(&net, 3)]);
    let jailed_until: Timestamp = info["val_signing_info"]["jailed_until"]
        .as_str()
        .and_then(|t| t.parse().ok())
        .unwrap_or_else(|| panic!("jailed_until: {info}"));
    assert_eq!(info["val_signing_info"]["tombstoned"], false, "{info}");
    let top = net.height(0).unwrap_or(0);
    net.wait_height(&[0], top + 2, 30).expect("blocks");
    assert!(
        !powers(&net, top + 2).contains_key(&cons3),
        "a jailed validator is out of the engine's set"
    );

    // Back up, it asks too early: refused, nothing changes.
    net.start(3).expect("restart node 3");
    let top = net.height(0).unwrap_or(0);
    net.wait_height(&[3], top, 60).expect("node 3 catches up");
    let (_, code, log) = tx_result(&net, 3, &["tx", "slashing", "unjail", "--from", "node3"]);
    assert_ne!(code, 0, "unjail before the jail time");
    assert!(log.contains("validator still jailed"), "{log}");
    assert_eq!(validator(&net, &val3)["jailed"], true);

    // After the jail time it returns: in the set two heights later, with its slashed power,
    // and signing.
    net.wait("the jail time over", 30, |n| {
        n.rpc(0, "status", json!({}))
            .and_then(|s| {
                s["sync_info"]["latest_block_time"]
                    .as_str()?
                    .parse::<Timestamp>()
                    .ok()
            })
            .is_some_and(|t| t > jailed_until)
    })
    .expect("block time passes jailed_until");
    let (h, code, log) = tx_result(&net, 3, &["tx", "slashing", "unjail", "--from", "node3"]);
    assert_eq!(code, 0, "unjail: {log}");
    net.wait_height(&[0], h + 2, 30).expect("blocks");
    assert_eq!(validator(&net, &val3)["jailed"], false);
    assert_eq!(powers(&net, h + 1).get(&cons3), None, "not yet at H+1");
    assert_eq!(powers(&net, h + 2).get(&cons3), Some(&99), "back from H+2");
    net.wait_height(&[0], h + 12, 60).expect("blocks");
    assert!(
        signs_in(&net, &cons3, h + 3..=h + 11),
        "node 3 signs again after unjail"
    );
}

#[test]
fn a_double_signer_is_slashed_five_percent_tombstoned_and_removed() {
    let dir = tempfile::tempdir().expect("tmp");
    // The double signer is down while it restarts: a wide window keeps that from jailing it
    // for downtime first, which would burn 1 % before the double sign is judged.
    let mut net = network(dir.path(), "e2e-dsign", 10_000);
    net.start_all().expect("start");
    net.wait_height(&[0, 1, 2, 3], 2, 90).expect("blocks");

    // Node 0's operator delegates 50 to node 3 first: a delegator with stake at risk.
    let op0 = net.nodes[0].address.clone();
    let val3 = valoper(&net, 3, "node3");
    let cons3 = net.validator_address(3).expect("key");
    let (h, code, log) = tx_result(
        &net,
        0,
        &[
            "tx",
            "staking",
            "delegate",
            &val3,
            "50000000stake",
            "--from",
            "node0",
        ],
    );
    assert_eq!(code, 0, "{log}");
    net.wait_height(&[0], h + 2, 30).expect("blocks");
    assert_eq!(powers(&net, h + 2).get(&cons3), Some(&150));

    // Node 3 comes back double-signing every vote.
    net.kill(3);
    net.start_with(3, &["--byzantine-double-sign"])
        .expect("start the double signer");
    net.wait("node 3 punished for double signing", 90, |n| {
        validator(n, &val3)["jailed"] == true
    })
    .expect("jailed");
    let v = validator(&net, &val3);
    assert_eq!(
        v["tokens"], "142500000",
        "5 % of its 150000000 at the infraction height burned: {v}"
    );
    let info = query(&net, &["slashing", "signing-info", &valcons(&net, 3)]);
    assert_eq!(info["val_signing_info"]["tombstoned"], true, "{info}");
    assert_eq!(
        info["val_signing_info"]["jailed_until"], "9999-12-31T23:59:59Z",
        "{info}"
    );
    // The delegator's 50000000 now buys 47500000: same shares, fewer tokens behind them.
    let d = query(&net, &["staking", "delegation", &op0, &val3]);
    assert_eq!(d["delegation_response"]["balance"]["amount"], "47500000");
    assert_eq!(
        d["delegation_response"]["delegation"]["shares"],
        "50000000.000000000000000000"
    );
    let top = net.height(0).unwrap_or(0);
    net.wait_height(&[0], top + 2, 30).expect("blocks");
    let set = powers(&net, top + 2);
    assert!(!set.contains_key(&cons3), "removed from the set: {set:?}");
    assert_eq!(set.len(), 3);

    // A tombstoned validator never returns.
    let (_, code, log) = tx_result(&net, 3, &["tx", "slashing", "unjail", "--from", "node3"]);
    assert_ne!(code, 0, "unjail of a tombstoned validator");
    assert!(log.contains("validator still jailed"), "{log}");
    assert_eq!(validator(&net, &val3)["jailed"], true);
}
