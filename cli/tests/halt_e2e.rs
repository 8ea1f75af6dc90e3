//! Configuration honoured by a real node: app.toml's `halt-time` stops it after the first
//! block at or past that time (exit 0); `pruning = "custom"` keeps only `pruning-keep-recent`
//! versions of the state, pruned every `pruning-interval` heights; config.toml's
//! `[tx_index] indexer = "null"` indexes nothing and says so.

use keystone_consensus_driver::block_store::BlockStore;
use keystone_store::Store;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

mod common;
use common::{alice_send, broadcast_tx_sync, edit_config, funded_home, rpc, start_quiet, until};

/// `start` (with `args`) run to its exit, at most `secs`: its exit code.
fn run_to_exit(home: &Path, args: &[&str], secs: u64) -> Option<i32> {
    common::wait_exit(&mut common::start_quiet_with(home, args), secs).code()
}

fn block_seconds(blocks: &BlockStore, h: u64) -> i64 {
    blocks
        .header(h)
        .expect("read")
        .expect("header")
        .time
        .expect("time")
        .seconds
}

#[test]
fn halt_time_stops_the_node_after_the_first_block_at_that_time() {
    let dir = tempfile::tempdir().expect("tmp");
    let home = dir.path();
    funded_home(home, "halt-1", "100ms");
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    let halt = now + 3;
    edit_config(
        home,
        "app.toml",
        "halt-time = 0",
        &format!("halt-time = {halt}"),
    );
    assert_eq!(run_to_exit(home, &[], 60), Some(0));
    let blocks = BlockStore::open(&home.join("data/blockstore.redb")).expect("blocks");
    let last = blocks.height().expect("height");
    assert!(last > 1, "it made blocks first");
    assert!(block_seconds(&blocks, last) >= halt as i64);
    assert!(
        block_seconds(&blocks, last - 1) < halt as i64,
        "it stopped at the first block past the time"
    );
}

#[test]
fn custom_pruning_keeps_the_recent_versions() {
    let dir = tempfile::tempdir().expect("tmp");
    let home = dir.path();
    funded_home(home, "prune-1", "20ms");
    edit_config(
        home,
        "app.toml",
        "pruning = \"default\"",
        "pruning = \"custom\"",
    );
    edit_config(
        home,
        "app.toml",
        "pruning-keep-recent = \"0\"",
        "pruning-keep-recent = \"4\"",
    );
    edit_config(
        home,
        "app.toml",
        "pruning-interval = \"0\"",
        "pruning-interval = \"5\"",
    );
    assert_eq!(run_to_exit(home, &["--halt-height", "30"], 60), Some(0));
    let store = Store::open(home.join("data/application.redb")).expect("state");
    assert_eq!(store.latest_version().expect("latest"), Some(30));
    // Pruned at 30 down to 27..=30.
    assert_eq!(store.earliest_version().expect("earliest"), Some(27));
    assert!(store.root_hash(26).is_err());
}

#[test]
fn a_null_tx_index_indexes_nothing_and_says_so() {
    let dir = tempfile::tempdir().expect("tmp");
    let home = dir.path();
    let ports = funded_home(home, "noindex-1", "50ms");
    edit_config(
        home,
        "config.toml",
        "indexer = \"kv\"",
        "indexer = \"null\"",
    );
    let _node = start_quiet(home);
    let height = || -> Option<u64> {
        rpc(ports.rpc, "status", serde_json::json!({}))["result"]["sync_info"]
            ["latest_block_height"]
            .as_str()?
            .parse()
            .ok()
    };
    until("the node", 60, || height().filter(|h| *h >= 1));
    let bob = cosmrs::crypto::secp256k1::SigningKey::from_slice(&[5; 32])
        .expect("key")
        .public_key()
        .account_id("cosmos")
        .expect("id");
    let sent = broadcast_tx_sync(ports.rpc, &alice_send(home, "noindex-1", &bob, 3, 0));
    assert_eq!(sent["result"]["code"], 0, "{sent}");
    let after = height().expect("height");
    until("two more blocks", 60, || {
        height().filter(|h| *h >= after + 2)
    });
    let status = rpc(ports.rpc, "status", serde_json::json!({}));
    assert_eq!(status["result"]["node_info"]["other"]["tx_index"], "off");
    use base64::Engine as _;
    let hash = base64::engine::general_purpose::STANDARD
        .encode(hex::decode(sent["result"]["hash"].as_str().expect("hash")).expect("hex"));
    let by_hash = rpc(ports.rpc, "tx", serde_json::json!({ "hash": hash }));
    assert!(
        by_hash["error"]["data"]
            .as_str()
            .is_some_and(|d| d.contains("transaction indexing is disabled")),
        "{by_hash}"
    );
    let search = rpc(
        ports.rpc,
        "tx_search",
        serde_json::json!({"query": "tx.height>0"}),
    );
    assert!(
        search["error"]["data"]
            .as_str()
            .is_some_and(|d| d.contains("transaction indexing is disabled")),
        "{search}"
    );
    let blocks = rpc(
        ports.rpc,
        "block_search",
        serde_json::json!({"query": "block.height>0"}),
    );
    assert!(
        blocks["error"]["data"]
            .as_str()
            .is_some_and(|d| d.contains("block indexing is disabled")),
        "{blocks}"
    );
}

#[test]
fn min_retain_blocks_prunes_the_block_store_but_keeps_the_evidence_window() {
    let dir = tempfile::tempdir().expect("tmp");
    let home = dir.path();
    funded_home(home, "retain-1", "20ms");
    let genesis = home.join("config/genesis.json");
    let mut g: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&genesis).expect("genesis")).expect("json");
    g["consensus_params"]["evidence"]["max_age_num_blocks"] = serde_json::json!("6");
    std::fs::write(&genesis, g.to_string()).expect("write genesis");
    edit_config(
        home,
        "app.toml",
        "min-retain-blocks = 0",
        "min-retain-blocks = 3",
    );
    assert_eq!(run_to_exit(home, &["--halt-height", "30"], 60), Some(0));
    {
        let blocks = BlockStore::open(&home.join("data/blockstore.redb")).expect("blocks");
        assert_eq!(blocks.height().expect("height"), 30);
        // min-retain-blocks 3, but evidence may refer 6 blocks back: 30 − 6.
        assert_eq!(blocks.base().expect("base"), 24);
        assert!(blocks.block_proto(23).expect("read").is_none());
        assert!(blocks.block_proto(24).expect("read").is_some());
    }
    // The pruned node starts again and goes on.
    assert_eq!(run_to_exit(home, &["--halt-height", "33"], 60), Some(0));
    let blocks = BlockStore::open(&home.join("data/blockstore.redb")).expect("blocks");
    assert_eq!(blocks.base().expect("base"), 27);
}
