//! A validator killed just after each of its durable writes comes back by itself: a
//! 4-validator localnet runs, and node 3 is restarted with a test-only crash point armed
//! (`KEYSTONE_FAILPOINT=<name>:<n>`, see `keystone_consensus_driver::failpoint`: the process
//! aborts right after the n-th such write, leaving on disk exactly what a power cut would),
//! then started again from its files with nothing deleted. For every crash point — after a
//! WAL append, a privval state write, a proposed block kept, a decided block stored, its
//! results stored, the state committed, the WAL's end-of-height marker, and (coming back
//! behind) the blocks it synced made durable, block store then state — the node must go on
//! to new heights and sign commits again, reach the same block and app hashes as its peers,
//! and never sign two different things for one step: no peer sees an equivocation, no
//! evidence is committed, and no two precommits of one validator differ.
//!
//! Needs the `keystone` binary of `cargo test --workspace`, whose engine has the
//! `failpoints` feature (enabled by this crate's dev-dependency; a release build has none).

use keystone_consensus_driver::failpoint;
use keystone_localnet::{free_base, keystone_bin, Localnet, FAST_TIMEOUTS};
use serde_json::json;
use std::time::{Duration, Instant};

/// The crash points, which occurrence of each to stop at, counted from the start of the
/// process, and how many heights the others make while node 3 is down before it is started
/// with the crash point armed. Two for the privval, so that one falls after a precommit is
/// signed (the replay of the height then meets a signer already past its prevote). The
/// durability of synced blocks: node 3 comes back behind, block-syncs, and crashes when its
/// synced blocks are first made durable (the block store's, then the state's).
const CRASHES: [(&str, u32, u64); 10] = [
    ("wal-append", 40, 0),
    ("privval-state", 2, 0),
    ("privval-state", 3, 0),
    ("block-store-built", 1, 0),
    ("block-store-block", 3, 0),
    ("block-store-results", 3, 0),
    ("state-commit", 3, 0),
    ("wal-end-height", 3, 0),
    ("block-store-durable", 1, 6),
    ("state-durable", 1, 6),
];

fn log_of(net: &Localnet, i: usize) -> String {
    std::fs::read_to_string(net.dir().join(format!("node{i}.log"))).unwrap_or_default()
}

fn tail(text: &str) -> &str {
    &text[text.len().saturating_sub(3000)..]
}

/// Node `i`'s consensus address (uppercase hex), from its key file.
fn validator_address(net: &Localnet, i: usize) -> String {
    let path = net.nodes[i].home.join("config/priv_validator_key.json");
    let key: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("key file")).expect("JSON");
    key["address"].as_str().expect("address").to_uppercase()
}

#[test]
fn a_validator_crashed_after_any_durable_write_comes_back_without_help() {
    // Every crash point this test arms is one the engine has.
    for (name, _, _) in CRASHES {
        assert!(failpoint::NAMES.contains(&name), "{name}");
    }
    for name in failpoint::NAMES {
        assert!(
            CRASHES.iter().any(|(n, _, _)| *n == name),
            "{name} is not exercised"
        );
    }
    let dir = tempfile::tempdir().expect("tmp");
    let bin = keystone_bin().expect("the keystone binary is built next to the tests");
    let mut net = Localnet::init(
        &bin,
        dir.path(),
        4,
        "e2e-crash",
        free_base(50).expect("a free port range on 127.0.0.1"),
        &FAST_TIMEOUTS,
    )
    .expect("testnet init-files");
    net.start_all().expect("start");
    net.wait_height(&[0, 1, 2, 3], 2, 90)
        .expect("four validators make blocks");
    let me = validator_address(&net, 3);

    for (name, hit, behind) in CRASHES {
        net.kill(3);
        if behind > 0 {
            let top = (0..3).filter_map(|i| net.height(i)).max().expect("heights");
            net.wait_height(&[0, 1, 2], top + behind, 60)
                .expect("three validators go on without node 3");
        }
        let armed = format!("{name}:{hit}");
        net.start_env(3, &[], &[(failpoint::ENV, armed.as_str())])
            .expect("start armed");
        let deadline = Instant::now() + Duration::from_secs(60);
        while net.is_running(3) {
            assert!(
                Instant::now() < deadline,
                "node 3 never reached crash point {armed}:\n{}",
                tail(&log_of(&net, 3))
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        let log = log_of(&net, 3);
        assert!(
            log.contains(&format!("failpoint {name} (hit {hit}): aborting")),
            "node 3 stopped, but not at {armed}:\n{}",
            tail(&log)
        );

        // Started again from exactly what is on disk: it goes on with the others.
        net.start(3).expect("restart");
        let top = (0..3).filter_map(|i| net.height(i)).max().expect("heights");
        net.wait_height(&[3], top + 2, 60)
            .unwrap_or_else(|e| panic!("after a crash at {armed}: {e}"));
        assert!(
            net.is_running(3),
            "node 3 stopped after the crash at {armed}:\n{}",
            tail(&log_of(&net, 3))
        );
    }

    // It signs again: its precommit is in commits after the last restart.
    let from = net.height(3).expect("height");
    net.wait_height(&[0, 1, 2, 3], from + 4, 60)
        .expect("all four go on");
    let signed = (from + 1..=from + 4).any(|h| {
        net.rpc(0, "commit", json!({"height": h.to_string()}))
            .is_some_and(|c| {
                c["signed_header"]["commit"]["signatures"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|s| s["validator_address"] == me.as_str() && s["block_id_flag"] == 2)
            })
    });
    assert!(
        signed,
        "node 3's precommits are in the commits after its last restart"
    );

    // One chain: the same block and app hash at every height on every node.
    let upto = (0..4).filter_map(|i| net.height(i)).min().expect("heights");
    for h in 1..=upto {
        let want = (net.block_hash(0, h), net.app_hash(0, h));
        assert!(want.0.is_some(), "node 0 has block {h}");
        for i in 1..4 {
            assert_eq!(
                (net.block_hash(i, h), net.app_hash(i, h)),
                want,
                "node {i} at height {h}"
            );
        }
    }

    // Nothing signed twice: no peer saw node 3 equivocate, no evidence was committed, and
    // every precommit of a validator for one (height, round) in any node's commits agrees.
    for i in 0..4 {
        assert!(
            !log_of(&net, i).contains("equivocation seen"),
            "node {i} saw an equivocation"
        );
    }
    for h in 1..=upto {
        let b = net
            .rpc(0, "block", json!({"height": h.to_string()}))
            .expect("block");
        assert_eq!(
            b["block"]["evidence"]["evidence"]
                .as_array()
                .map_or(0, Vec::len),
            0,
            "evidence committed at height {h}"
        );
    }
    let (read, conflicts) = net.double_signs(&[0, 1, 2, 3], upto, &[]);
    assert!(conflicts.is_empty(), "{conflicts:?}");
    assert!(read > 0, "commits were read");
}
