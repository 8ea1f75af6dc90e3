//! External applications replicated by a 4-validator localnet (`keystone start --proxy-app`):
//! each example app of `localnet/examples/` runs as four processes, one beside each node.
//! Transactions sent to one node change the app state on all four; app hashes agree at every
//! height; a validator-update transaction changes the engine's validator set; a node killed
//! together with its app, restarted, catches up and agrees again.

mod common;

use base64::Engine as _;
use common::apps::{count_tx, val_tx, AppProcess, Example};
use keystone_localnet::{free_base, keystone_bin, Localnet, FAST_TIMEOUTS};
use serde_json::{json, Value};

/// Start node `i` replicating `app`.
fn start(net: &mut Localnet, i: usize, app: &AppProcess) {
    net.start_with(i, &["--proxy-app", &app.address])
        .expect("start");
}

/// `abci_query` of `key` on node `i`: the value, if any.
fn value(net: &Localnet, i: usize, key: &[u8]) -> Option<Vec<u8>> {
    let r = net.rpc(
        i,
        "abci_query",
        json!({"path": "/store", "data": hex::encode(key)}),
    )?;
    let v = r["response"]["value"].as_str()?;
    base64::engine::general_purpose::STANDARD.decode(v).ok()
}

fn broadcast(net: &Localnet, i: usize, tx: &[u8]) -> Value {
    let tx = base64::engine::general_purpose::STANDARD.encode(tx);
    net.rpc(i, "broadcast_tx_commit", json!({"tx": tx}))
        .expect("broadcast_tx_commit answers")
}

fn replicate(example: Example) {
    example.require_interpreter();
    let dir = tempfile::tempdir().expect("tmp");
    let bin = keystone_bin().expect("the keystone binary is built next to the tests");
    let mut net = Localnet::init(
        &bin,
        &dir.path().join("net"),
        4,
        &format!("e2e-{}", example.name()),
        free_base(50).expect("a free port range on 127.0.0.1"),
        &FAST_TIMEOUTS,
    )
    .expect("testnet init-files");
    // The apps keep no stake: the first validators are the ones genesis.json names, each
    // node's consensus key with power 10, and the app starts empty.
    net.genesis_validators_from_keys(10).expect("genesis");
    let mut apps: Vec<AppProcess> = (0..4)
        .map(|i| {
            AppProcess::start(
                example,
                &dir.path().join(format!("app{i}")),
                "tcp://127.0.0.1:0",
            )
        })
        .collect();
    for (i, app) in apps.iter().enumerate() {
        start(&mut net, i, app);
    }
    net.wait_height(&[0, 1, 2, 3], 2, 90)
        .expect("four nodes replicate the app");

    // Transactions to node 0 change the state on all four.
    let (txs, key): (Vec<Vec<u8>>, &[u8]) = match example {
        Example::KvstorePy => (
            vec![b"colour=blue".to_vec(), b"shape=round".to_vec()],
            b"shape",
        ),
        Example::CounterJs => (vec![count_tx(0), count_tx(1)], b"count"),
    };
    let mut last = 0;
    for tx in &txs {
        let r = broadcast(&net, 0, tx);
        assert_eq!(r["tx_result"]["code"], 0, "{r}");
        last = r["height"]
            .as_str()
            .and_then(|h| h.parse().ok())
            .expect("height");
    }
    net.wait_height(&[0, 1, 2, 3], last + 1, 60)
        .expect("all nodes past the txs");
    let expected = value(&net, 0, key).expect("the value on node 0");
    match example {
        Example::KvstorePy => assert_eq!(expected, b"round"),
        Example::CounterJs => assert_eq!(expected, b"2", "the count, in decimal"),
    }
    for i in 1..4 {
        assert_eq!(value(&net, i, key), Some(expected.clone()), "node {i}");
    }

    // A validator update: node 3's power from 10 to 25, in the engine's set two heights on.
    let key3: Value = serde_json::from_str(
        &std::fs::read_to_string(net.nodes[3].home.join("config/priv_validator_key.json"))
            .expect("key file"),
    )
    .expect("key JSON");
    let pubkey: [u8; 32] = base64::engine::general_purpose::STANDARD
        .decode(key3["pub_key"]["value"].as_str().expect("key"))
        .expect("b64")
        .try_into()
        .expect("32 bytes");
    let r = broadcast(&net, 1, &val_tx(pubkey, 25));
    assert_eq!(r["tx_result"]["code"], 0, "{r}");
    let h: u64 = r["height"]
        .as_str()
        .and_then(|h| h.parse().ok())
        .expect("height");
    net.wait_height(&[0], h + 2, 60).expect("two more heights");
    let power = |height: u64| -> i64 {
        let v = net
            .rpc(0, "validators", json!({"height": height.to_string()}))
            .expect("validators");
        v["validators"]
            .as_array()
            .expect("list")
            .iter()
            .find(|v| v["address"] == key3["address"])
            .and_then(|v| v["voting_power"].as_str()?.parse().ok())
            .expect("node 3 in the set")
    };
    assert_eq!(power(h + 1), 10, "unchanged at H+1");
    assert_eq!(power(h + 2), 25, "raised from H+2");

    // Node 2 and its app die together; restarted, both catch up.
    net.kill(2);
    drop(apps.remove(2));
    let down_at = net.height(0).expect("height");
    let more = match example {
        Example::KvstorePy => b"while=away".to_vec(),
        Example::CounterJs => count_tx(2),
    };
    assert_eq!(broadcast(&net, 0, &more)["tx_result"]["code"], 0);
    net.wait_height(&[0, 1, 3], down_at + 3, 60)
        .expect("three validators go on");
    let app2 = AppProcess::start(example, &dir.path().join("app2"), "tcp://127.0.0.1:0");
    start(&mut net, 2, &app2);
    apps.insert(2, app2);
    let top = net.height(0).expect("height");
    net.wait_height(&[2], top + 1, 90)
        .expect("node 2 catches up");

    // App hashes agree at every height, on every node.
    let upto = net
        .height(2)
        .expect("height")
        .min(net.height(0).expect("h"));
    for height in 1..=upto {
        let want = net.app_hash(0, height).expect("app hash");
        for i in 1..4 {
            assert_eq!(
                net.app_hash(i, height),
                Some(want.clone()),
                "node {i} at height {height}"
            );
        }
    }
    let key2: &[u8] = match example {
        Example::KvstorePy => b"while",
        Example::CounterJs => b"count",
    };
    let want = value(&net, 0, key2).expect("value");
    assert_eq!(value(&net, 2, key2), Some(want), "the restarted app has it");

    // Node 1's app dies under it: the node stops with a clear error instead of going on
    // without its state machine; both restarted, it catches up.
    drop(apps.remove(1));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while net.is_running(1) {
        assert!(
            std::time::Instant::now() < deadline,
            "the node stops when its app dies"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let log = std::fs::read_to_string(net.dir().join("node1.log")).expect("log");
    assert!(
        log.contains("Error: ")
            && (log.contains("(did the application crash?)") || log.contains("(did it crash?)")),
        "the node says its application connection failed: {}",
        &log[log.len().saturating_sub(2000)..]
    );
    let app1 = AppProcess::start(example, &dir.path().join("app1"), "tcp://127.0.0.1:0");
    start(&mut net, 1, &app1);
    apps.insert(1, app1);
    let top = net.height(0).expect("height");
    net.wait_height(&[1], top + 1, 90)
        .expect("node 1 catches up");
    assert_eq!(net.app_hash(1, top), net.app_hash(0, top));
}

#[test]
fn a_localnet_replicates_the_python_kvstore() {
    replicate(Example::KvstorePy);
}

#[test]
fn a_localnet_replicates_the_javascript_counter() {
    replicate(Example::CounterJs);
}

/// kvstore-py replicated by four validators, each app taking snapshots every 5 heights; a
/// fifth node with a fresh kvstore-py state-syncs through `--proxy-app`: the engine fetches
/// the Python app's snapshot from its peers, the fresh Python app restores it, and the node
/// follows the chain with the validators' app hashes and the app's values.
#[test]
fn the_python_kvstore_state_syncs_through_the_proxy_app() {
    let example = Example::KvstorePy;
    example.require_interpreter();
    let dir = tempfile::tempdir().expect("tmp");
    let bin = keystone_bin().expect("the keystone binary is built next to the tests");
    let base = free_base(60).expect("a free port range on 127.0.0.1");
    let mut net = Localnet::init(
        &bin,
        &dir.path().join("net"),
        4,
        "e2e-kvstore-statesync",
        base,
        &FAST_TIMEOUTS,
    )
    .expect("testnet init-files");
    net.genesis_validators_from_keys(10).expect("genesis");
    let apps: Vec<AppProcess> = (0..4)
        .map(|i| {
            AppProcess::start_with(
                example,
                &dir.path().join(format!("app{i}")),
                "tcp://127.0.0.1:0",
                &["--snapshot-interval", "5", "--snapshot-keep", "30"],
            )
        })
        .collect();
    for (i, app) in apps.iter().enumerate() {
        start(&mut net, i, app);
    }
    net.wait_height(&[0, 1, 2, 3], 2, 90)
        .expect("four nodes replicate the app");
    for tx in [&b"colour=blue"[..], b"shape=round"] {
        assert_eq!(broadcast(&net, 0, tx)["tx_result"]["code"], 0);
    }
    net.wait_height(&[0, 1, 2, 3], 12, 60)
        .expect("snapshots taken");
    let trust_hash = net
        .rpc(0, "block", json!({"height": "3"}))
        .expect("block 3")["block_id"]["hash"]
        .as_str()
        .expect("hash")
        .to_string();

    let fresh = net
        .add_full_node(base + 40, &FAST_TIMEOUTS)
        .expect("full node");
    let servers = format!(
        "127.0.0.1:{},127.0.0.1:{}",
        net.nodes[0].rpc, net.nodes[1].rpc
    );
    net.set_config(
        fresh,
        "statesync",
        &[
            ("enable", "true"),
            ("rpc_servers", &servers),
            ("trust_height", "3"),
            ("trust_hash", &trust_hash),
            ("discovery_time", "2s"),
        ],
    )
    .expect("config");
    let app = AppProcess::start(example, &dir.path().join("app-fresh"), "tcp://127.0.0.1:0");
    start(&mut net, fresh, &app);
    net.wait("the node to answer after its state sync", 90, |n| {
        n.earliest_height(fresh).is_some()
    })
    .expect("state-synced");
    let earliest = net.earliest_height(fresh).expect("earliest");
    assert!(
        earliest >= 5 && earliest.is_multiple_of(5),
        "started at a snapshot: {earliest}"
    );
    let top = net.height(0).expect("height") + 3;
    net.wait_height(&[fresh], top, 90)
        .expect("the node follows the chain");
    for h in earliest..=top {
        assert_eq!(
            net.app_hash(fresh, h),
            net.app_hash(0, h),
            "app hash at {h}"
        );
    }
    assert_eq!(value(&net, fresh, b"shape"), Some(b"round".to_vec()));
    let log = std::fs::read_to_string(app.log_path()).expect("app log");
    assert!(log.contains("restored height"), "{log}");
}
