//! State snapshots with the real binary: a validator with app.toml `[state-sync]
//! snapshot-interval = 5` takes snapshots in the background while it makes blocks and keeps
//! the two newest; `keystone snapshots export` takes one on the stopped node; `keystone
//! snapshots restore` rebuilds the state of one into another home's empty store, and
//! `keystone export` of both homes at that height is the same document.

mod common;
use common::{edit_config, json, ok, rpc, run, start_quiet, until};

const CHAIN: &str = "snapshots-1";

fn height(port: u16) -> Option<u64> {
    rpc(port, "status", serde_json::json!({}))["result"]["sync_info"]["latest_block_height"]
        .as_str()?
        .parse()
        .ok()
}

/// `snapshots list`: the heights, newest first.
fn listed(home: &std::path::Path) -> Vec<u64> {
    ok(home, &["snapshots", "list"])
        .lines()
        .filter_map(|l| l.strip_prefix("height: ")?.split(' ').next()?.parse().ok())
        .collect()
}

#[test]
fn snapshots_are_taken_while_blocks_go_on_exported_listed_and_restored() {
    let dir = tempfile::tempdir().expect("tmp");
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
    edit_config(
        &a,
        "app.toml",
        "snapshot-interval = 0",
        "snapshot-interval = 5",
    );
    let rpc_a = base + 1;
    let mut node = start_quiet(&a);
    until("height 17", 90, || height(rpc_a).filter(|h| *h >= 17));
    // Taken in the background: 5, 10 and 15 were due, the two newest kept.
    until("snapshots of 10 and 15", 30, || {
        let l = listed(&a);
        (l.len() == 2 && l[0] >= 15 && l[1] == l[0] - 5).then_some(())
    });
    common::sigterm(&node);
    assert_eq!(common::wait_exit(&mut node, 30).code(), Some(0));

    let latest: u64 = json(&ok(&a, &["export"]))["initial_height"]
        .as_str()
        .expect("height")
        .parse::<u64>()
        .expect("number")
        - 1;
    let out = ok(&a, &["snapshots", "export"]);
    assert!(out.contains(&format!("height {latest}")), "{out}");
    let kept = listed(&a);
    assert_eq!(kept.len(), 2, "{kept:?}");
    assert_eq!(kept[0], latest);

    // Another home with an empty state store and the snapshots' files.
    let b = dir.path().join("b");
    ok(&b, &["init", "node0", "--chain-id", CHAIN]);
    std::fs::copy(a.join("config/genesis.json"), b.join("config/genesis.json")).expect("genesis");
    let (from, to) = (a.join("data/snapshots"), b.join("data/snapshots"));
    let snap = format!("{}-1", kept[1]);
    std::fs::create_dir_all(to.join(&snap)).expect("dir");
    for f in std::fs::read_dir(from.join(&snap)).expect("snapshot") {
        let f = f.expect("entry");
        std::fs::copy(f.path(), to.join(&snap).join(f.file_name())).expect("copy");
    }
    // A damaged chunk is found out, and nothing is left usable.
    let chunk0 = to.join(&snap).join("0");
    let good = std::fs::read(&chunk0).expect("chunk");
    let mut bad = good.clone();
    let last = bad.len() - 1;
    bad[last] ^= 1;
    std::fs::write(&chunk0, &bad).expect("damage");
    let (ok_bad, _, err) = run(&b, &["snapshots", "restore", &kept[1].to_string()], "");
    assert!(!ok_bad && err.contains("damaged"), "{err}");
    std::fs::write(&chunk0, &good).expect("repair");
    let out = ok(&b, &["snapshots", "restore", &kept[1].to_string()]);
    assert!(out.contains(&format!("height {}", kept[1])), "{out}");
    let h = kept[1].to_string();
    assert_eq!(
        json(&ok(&b, &["export", "--height", &h])),
        json(&ok(&a, &["export", "--height", &h])),
        "the restored state is the state of that height"
    );
    // A store with state takes no restore.
    let (again, _, err) = run(&b, &["snapshots", "restore", &h], "");
    assert!(!again && err.contains("already holds state"), "{err}");
}
