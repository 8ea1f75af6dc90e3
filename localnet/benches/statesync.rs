//! State sync against block sync, on this machine: a 4-validator localnet whose genesis funds
//! `KEYSTONE_SYNC_ACCOUNTS` accounts (100,000 by default) runs past `KEYSTONE_SYNC_HEIGHT`
//! heights (2,000) with some staking activity (delegations and an unbonding from every
//! validator's operator), taking a snapshot every 500 heights. Then, one after the other, a
//! fresh full node state-syncs (trusting header 2) and another block-syncs from genesis; each
//! is timed from its start until it has committed the height node 0 was at when it started.
//! Prints both times and their ratio, the snapshot's size, and checks that the state-synced
//! node has the validators' app hash.
//!
//! ```text
//! cargo build --release -p keystone
//! cargo bench -p keystone-localnet --bench statesync
//! ```

use keystone_localnet::{keystone_bin, Localnet};
use serde_json::json;
use std::time::{Duration, Instant};

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

const TIMEOUTS: [(&str, &str); 7] = [
    ("timeout_propose", "1s"),
    ("timeout_propose_delta", "200ms"),
    ("timeout_prevote", "300ms"),
    ("timeout_prevote_delta", "100ms"),
    ("timeout_precommit", "300ms"),
    ("timeout_precommit_delta", "100ms"),
    ("timeout_commit", "10ms"),
];

fn fund_accounts(net: &Localnet, n: u64) {
    net.edit_genesis(|g| {
        let app = &mut g["app_state"];
        let first = app["auth"]["accounts"].as_array().map_or(0, Vec::len) as u64;
        let mut accounts = Vec::new();
        let mut balances = Vec::new();
        for i in 0..n {
            let mut bytes = [0x5au8; 20];
            bytes[..8].copy_from_slice(&i.to_be_bytes());
            let address = keystone_modules::Address(bytes).to_string();
            accounts.push(json!({"account_number": (first + i).to_string(),
                                 "address": address, "pub_key": null, "sequence": "0"}));
            balances
                .push(json!({"address": address, "coins": [{"amount": "1000", "denom": "stake"}]}));
        }
        if let Some(a) = app["auth"]["accounts"].as_array_mut() {
            a.extend(accounts);
        }
        if let Some(b) = app["bank"]["balances"].as_array_mut() {
            b.extend(balances);
        }
    })
    .expect("genesis");
}

fn set_app_toml(net: &Localnet, i: usize, from: &str, to: &str) {
    let path = net.nodes[i].home.join("config/app.toml");
    let text = std::fs::read_to_string(&path).expect("app.toml");
    std::fs::write(&path, text.replace(from, to)).expect("app.toml");
}

/// A staking transaction from node `i`'s operator, waited for in a block.
fn staking_tx(net: &Localnet, i: usize, args: &[&str]) {
    let home = net.nodes[i].home.display().to_string();
    let node = format!("tcp://127.0.0.1:{}", net.nodes[i].rpc);
    let mut a: Vec<&str> = vec!["tx", "staking"];
    a.extend_from_slice(args);
    a.extend_from_slice(&[
        "--from",
        &net.nodes[i].name,
        "--home",
        &home,
        "--keyring-backend",
        "test",
        "--chain-id",
        "sync-bench",
        "--node",
        &node,
        "--fees",
        "500stake",
        "-y",
        "-o",
        "json",
    ]);
    let out = net.keystone(&a).expect("staking tx");
    assert!(
        out.contains("\"code\":0") || out.contains("\"code\": 0"),
        "{out}"
    );
    // In a block before the account's next transaction (the CLI reads committed sequences).
    let h = net.height(i).expect("height");
    net.wait_height(&[i], h + 2, 60).expect("committed");
}

/// Start node `i` and time it until it has committed `target`.
fn timed(net: &mut Localnet, i: usize, target: u64) -> Duration {
    let t = Instant::now();
    net.start(i).expect("start");
    net.wait_height(&[i], target, 1800).expect("caught up");
    t.elapsed()
}

fn main() {
    let Some(bin) = keystone_bin() else {
        eprintln!(
            "no keystone binary next to this bench: run `cargo build --release -p keystone` first"
        );
        return;
    };
    let accounts = env_num("KEYSTONE_SYNC_ACCOUNTS", 100_000);
    let height = env_num("KEYSTONE_SYNC_HEIGHT", 2_000);
    let dir = tempfile::tempdir().expect("tmp");
    let base = keystone_localnet::free_base(70).expect("free ports");
    let mut net = Localnet::init(&bin, dir.path(), 4, "sync-bench", base, &TIMEOUTS).expect("init");
    fund_accounts(&net, accounts);
    for i in 0..4 {
        set_app_toml(&net, i, "snapshot-interval = 0", "snapshot-interval = 500");
        set_app_toml(
            &net,
            i,
            "snapshot-keep-recent = 2",
            "snapshot-keep-recent = 4",
        );
    }
    let t = Instant::now();
    net.start_all().expect("start");
    net.wait_height(&[0, 1, 2, 3], 2, 600)
        .expect("first blocks");
    println!(
        "genesis with {accounts} funded accounts: first block after {:.1} s",
        t.elapsed().as_secs_f64()
    );
    // Staking activity: every operator delegates more to the next validator, and unbonds some.
    let valopers: Vec<String> = net
        .keystone(&[
            "query",
            "staking",
            "validators",
            "--node",
            &format!("tcp://127.0.0.1:{}", net.nodes[0].rpc),
            "-o",
            "json",
        ])
        .ok()
        .and_then(|o| serde_json::from_str::<serde_json::Value>(&o).ok())
        .and_then(|v| {
            v["validators"].as_array().map(|vs| {
                vs.iter()
                    .filter_map(|v| v["operator_address"].as_str().map(str::to_string))
                    .collect()
            })
        })
        .unwrap_or_default();
    for i in 0..4 {
        if let Some(v) = valopers.get((i + 1) % valopers.len().max(1)) {
            staking_tx(&net, i, &["delegate", v, "1000000stake"]);
        }
        if let Some(v) = valopers.get(i % valopers.len().max(1)) {
            staking_tx(&net, i, &["unbond", v, "1000stake"]);
        }
    }
    let t = Instant::now();
    net.wait_height(&[0], height + 10, 3600)
        .expect("the chain grows");
    println!(
        "height {} after {:.1} s more",
        height + 10,
        t.elapsed().as_secs_f64()
    );
    let trust_hash = net
        .rpc(0, "block", json!({"height": "2"}))
        .expect("block 2")["block_id"]["hash"]
        .as_str()
        .expect("hash")
        .to_string();
    let servers = format!(
        "127.0.0.1:{},127.0.0.1:{}",
        net.nodes[0].rpc, net.nodes[1].rpc
    );

    let synced = net.add_full_node(base + 40, &TIMEOUTS).expect("node");
    net.set_config(
        synced,
        "statesync",
        &[
            ("enable", "true"),
            ("rpc_servers", &servers),
            ("trust_height", "2"),
            ("trust_hash", &trust_hash),
            ("discovery_time", "3s"),
        ],
    )
    .expect("config");
    let target = net.height(0).expect("height");
    let state_sync = timed(&mut net, synced, target);
    let earliest = net.earliest_height(synced).unwrap_or(0);
    let snap = dir
        .path()
        .join(format!("node0/data/snapshots/{earliest}-1/snapshot.json"));
    let chunks = std::fs::read_to_string(&snap)
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .and_then(|v| v["chunks"].as_u64())
        .unwrap_or(0);
    assert_eq!(
        net.app_hash(synced, target),
        net.app_hash(0, target),
        "the state-synced node has the chain's state"
    );
    net.kill(synced);
    // Where the state sync's time went, from the node's log.
    let log = std::fs::read_to_string(dir.path().join(format!("{}.log", net.nodes[synced].name)))
        .unwrap_or_default();
    let at = |what: &str| -> Option<f64> {
        let line = log.lines().find(|l| l.contains(what))?;
        let t = line.split_whitespace().next()?;
        // 2026-12-08T03:07:01.228626Z: seconds of the day are enough for deltas.
        let hms = t.split('T').nth(1)?.trim_end_matches('Z');
        let mut parts = hms.split(':');
        let h: f64 = parts.next()?.parse().ok()?;
        let m: f64 = parts.next()?.parse().ok()?;
        let s: f64 = parts.next()?.parse().ok()?;
        Some(h * 3600.0 + m * 60.0 + s)
    };
    if let (Some(a), Some(b), Some(c), Some(d)) = (
        at("state sync: discovering snapshots"),
        at("offering a snapshot"),
        at("snapshot restored"),
        at("state sync done"),
    ) {
        println!(
            "state sync, from the node's log: trust root and discovery {:.1} s, light blocks and chunks and restore {:.1} s, block {earliest} and bootstrap {:.1} s",
            b - a,
            c - b,
            d - c
        );
    }

    let replayed = net.add_full_node(base + 50, &TIMEOUTS).expect("node");
    let target = net.height(0).expect("height");
    let block_sync = timed(&mut net, replayed, target);
    assert_eq!(net.app_hash(replayed, target), net.app_hash(0, target));

    println!(
        "state sync: restored the snapshot of height {earliest} ({chunks} chunks of about 1 MiB) and reached height {target} in {:.1} s",
        state_sync.as_secs_f64()
    );
    println!(
        "block sync from genesis to height {target}: {:.1} s",
        block_sync.as_secs_f64()
    );
    println!(
        "block sync / state sync = {:.2}",
        block_sync.as_secs_f64() / state_sync.as_secs_f64()
    );
}
