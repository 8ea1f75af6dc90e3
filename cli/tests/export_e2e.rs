//! `keystone export` round trip with the real binary: a chain with sends, a delegation and an
//! unbonding runs and stops; its state at the last height is exported; a node started from
//! that genesis (the same validator key) carries the chain on past it; and exporting the new
//! chain at the same height gives every module's state back unchanged.

use std::path::Path;

mod common;
use common::{edit_config, free_port, json, ok, rpc, run, start_quiet, until, Proc};

const CHAIN: &str = "export-1";
const T: [&str; 2] = ["--keyring-backend", "test"];

fn height(port: u16) -> Option<u64> {
    rpc(port, "status", serde_json::json!({}))["result"]["sync_info"]["latest_block_height"]
        .as_str()?
        .parse()
        .ok()
}

/// SIGTERM, and the exit status 0 within 30 s.
fn stop(mut node: Proc) {
    common::sigterm(&node);
    assert_eq!(common::wait_exit(&mut node, 30).code(), Some(0));
}

/// Run a tx command as the operator `node0` and require it admitted; wait until it is committed.
fn tx(home: &Path, rpc_port: u16, args: &[&str]) {
    let node = format!("tcp://127.0.0.1:{rpc_port}");
    let mut a = args.to_vec();
    // A bank send names its sender first; the other commands take --from.
    if a[1] == "bank" {
        a.insert(3, "node0");
    } else {
        a.extend(["--from", "node0"]);
    }
    a.extend(["--chain-id", CHAIN, "--node", &node, T[0], T[1]]);
    let res = json(&ok(home, &a));
    assert_eq!(res["code"], 0, "{res}");
    let hash = res["txhash"].as_str().expect("hash").to_string();
    until("the tx committed", 60, || {
        let v = json(&ok(
            home,
            &[
                "query",
                "txs",
                "--query",
                &format!("tx.hash='{hash}'"),
                "--node",
                &node,
            ],
        ));
        (v["total_count"] == "1").then(|| assert_eq!(v["txs"][0]["code"], 0, "{v}"))
    });
}

#[test]
fn export_then_start_from_it_and_export_the_same_state() {
    let dir = tempfile::tempdir().expect("tmp");
    // One validator bonded by its gentx (staking owns the set), its operator key `node0`.
    let base = keystone_localnet::free_base(10).expect("free ports");
    let net = dir.path().join("net");
    ok(
        dir.path(),
        &[
            "testnet",
            "init-files",
            "--v",
            "1",
            "--output-dir",
            net.to_str().expect("utf-8"),
            "--chain-id",
            CHAIN,
            "--base-port",
            &base.to_string(),
            "--timeout-commit",
            "50ms",
        ],
    );
    let a = net.join("node0");
    let rpc_a = base + 1;
    ok(&a, &["keys", "add", "bob", T[0], T[1]]);
    let bob = ok(&a, &["keys", "show", "bob", "-a", T[0], T[1]])
        .trim()
        .to_string();
    let node = start_quiet(&a);
    until("node a", 60, || height(rpc_a).filter(|h| *h >= 2));
    let valoper = json(&ok(
        &a,
        &[
            "query",
            "staking",
            "validators",
            "--node",
            &format!("tcp://127.0.0.1:{}", rpc_a),
        ],
    ))["validators"][0]["operator_address"]
        .as_str()
        .expect("a validator")
        .to_string();
    tx(
        &a,
        rpc_a,
        &[
            "tx",
            "bank",
            "send",
            &bob,
            "1000stake",
            "--fees",
            "500stake",
        ],
    );
    tx(
        &a,
        rpc_a,
        &["tx", "staking", "delegate", &valoper, "5000stake"],
    );
    tx(
        &a,
        rpc_a,
        &["tx", "staking", "unbond", &valoper, "1000stake"],
    );
    tx(
        &a,
        rpc_a,
        &["tx", "distribution", "set-withdraw-addr", &bob],
    );
    let h0 = height(rpc_a).expect("height");
    until("a few more blocks", 60, || {
        height(rpc_a).filter(|h| *h >= h0 + 3)
    });
    stop(node);

    // Export: the document names the next height, the validator and every module.
    let (good, _, err) = run(&a, &["export", "--height", "100000000"], "");
    assert!(!good && err.contains("is not stored"), "{err}");
    let exported = json(&ok(&a, &["export"]));
    let initial: u64 = exported["initial_height"]
        .as_str()
        .expect("height")
        .parse()
        .expect("n");
    let last = initial - 1;
    assert!(last >= h0 + 3, "exported {last}, chain was past {h0}");
    assert_eq!(exported["chain_id"], CHAIN);
    assert_eq!(exported["validators"].as_array().map(Vec::len), Some(1));
    let app = &exported["app_state"];
    assert_eq!(app["staking"]["exported"], true);
    assert_eq!(
        app["staking"]["unbonding_delegations"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );
    assert!(app["bank"]["balances"]
        .as_array()
        .expect("balances")
        .iter()
        .any(|b| b["address"] == bob && b["coins"][0]["amount"] == "1000"));
    assert_eq!(
        app["distribution"]["delegator_withdraw_infos"][0]["withdraw_address"],
        bob
    );
    // An earlier height is another state.
    let earlier = json(&ok(&a, &["export", "--height", &(h0 - 1).to_string()]));
    assert_eq!(earlier["initial_height"], h0.to_string());
    assert_ne!(earlier["app_state"], *app);

    // A new home: the same validator key and sign state, the exported genesis.
    let b = dir.path().join("b");
    ok(&b, &["init", "node0", "--chain-id", CHAIN]);
    for f in [
        "config/priv_validator_key.json",
        "config/node_key.json",
        "data/priv_validator_state.json",
    ] {
        std::fs::copy(a.join(f), b.join(f)).unwrap_or_else(|e| panic!("{f}: {e}"));
    }
    std::fs::create_dir_all(b.join("keyring-test")).expect("keyring");
    for f in std::fs::read_dir(a.join("keyring-test")).expect("keyring") {
        let f = f.expect("entry");
        std::fs::copy(f.path(), b.join("keyring-test").join(f.file_name())).expect("copy key");
    }
    std::fs::write(b.join("config/genesis.json"), exported.to_string()).expect("genesis");
    let rpc_b = free_port();
    edit_config(
        &b,
        "config.toml",
        "timeout_commit = \"1s\"",
        "timeout_commit = \"50ms\"",
    );
    edit_config(
        &b,
        "config.toml",
        "tcp://127.0.0.1:26657",
        &format!("tcp://127.0.0.1:{rpc_b}"),
    );
    edit_config(
        &b,
        "config.toml",
        "tcp://127.0.0.1:26656",
        &format!("tcp://127.0.0.1:{}", free_port()),
    );
    edit_config(
        &b,
        "app.toml",
        "tcp://127.0.0.1:1317",
        &format!("tcp://127.0.0.1:{}", free_port()),
    );
    edit_config(
        &b,
        "app.toml",
        "127.0.0.1:9090",
        &format!("127.0.0.1:{}", free_port()),
    );
    let node = start_quiet(&b);
    until("the new chain past the export", 60, || {
        height(rpc_b).filter(|h| *h >= initial + 3)
    });
    let first = rpc(
        rpc_b,
        "block",
        serde_json::json!({"height": initial.to_string()}),
    );
    assert_eq!(
        first["result"]["block"]["header"]["height"],
        initial.to_string()
    );
    // A send from the operator (whose sequence carried over) commits.
    tx(
        &b,
        rpc_b,
        &["tx", "bank", "send", &bob, "1stake", "--fees", "500stake"],
    );
    stop(node);

    let again = json(&ok(&b, &["export", "--height", &last.to_string()]));
    assert_eq!(again["initial_height"], exported["initial_height"]);
    assert_eq!(again["validators"], exported["validators"]);
    for module in [
        "auth",
        "bank",
        "staking",
        "distribution",
        "slashing",
        "mint",
        "genutil",
    ] {
        assert_eq!(
            again["app_state"][module], exported["app_state"][module],
            "{module}"
        );
    }
    assert_eq!(again["app_state"], exported["app_state"]);
}
