//! The real `keystone` binary as an operator runs it: init, fund an account, start, and
//! kill -9 while blocks are being produced; after a restart the chain goes on from the next
//! height, with every earlier block unchanged, every header linked to the last and carrying
//! the app hash the block before produced.

use keystone_consensus_driver::block_store::BlockStore;
use keystone_consensus_types::{BlockId, Header};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::Stdio;
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

mod common;
use common::{alice_send, broadcast_tx_sync, edit_config, funded_home, keystone, ok, Proc};

/// Start the node; the receiver gets each committed height from its log.
fn start(home: &Path, extra: &[&str]) -> (Proc, mpsc::Receiver<u64>) {
    let (node, rx, _) = start_logged(home, extra);
    (node, rx)
}

/// What a node has written to stderr so far.
type Log = Arc<Mutex<Vec<String>>>;

/// [`start`], keeping every log line.
fn start_logged(home: &Path, extra: &[&str]) -> (Proc, mpsc::Receiver<u64>, Log) {
    let log = Log::default();
    let kept = log.clone();
    let mut child = keystone(home)
        .arg("start")
        .args(extra)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn start");
    let stderr = child.stderr.take().expect("stderr");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(rest) = line.split("committed block height=").nth(1) {
                if let Some(h) = rest.split_whitespace().next().and_then(|h| h.parse().ok()) {
                    let _ = tx.send(h);
                }
            }
            kept.lock().expect("no panics while held").push(line);
        }
    });
    (Proc(child), rx, log)
}

fn wait_for_height(rx: &mpsc::Receiver<u64>, height: u64) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(h) if h >= height => return,
            Ok(_) => {}
            Err(_) => panic!("height {height} not reached in time"),
        }
    }
}

fn ids(home: &Path, upto: u64) -> Vec<BlockId> {
    let s = BlockStore::open(&home.join("data").join("blockstore.redb")).expect("block store");
    (1..=upto)
        .map(|h| s.block_id(h).expect("read").expect("stored"))
        .collect()
}

#[test]
fn kill_9_during_block_production_then_restart() {
    let dir = tempfile::tempdir().expect("tmp");
    let home = dir.path();
    funded_home(home, "keystone-e2e", "20ms");
    ok(home, &["genesis", "validate"]);

    let (mut node, rx) = start(home, &[]);
    wait_for_height(&rx, 8);
    // kill -9: no chance to flush or clean up.
    node.0.kill().expect("kill");
    node.0.wait().expect("reaped");
    drop(node);

    let store = BlockStore::open(&home.join("data").join("blockstore.redb")).expect("block store");
    let killed_at = store.height().expect("height");
    drop(store);
    assert!(killed_at >= 8);
    let before = ids(home, killed_at);

    // A torn WAL record, as a crash mid-write leaves: the node cuts it and starts.
    {
        use std::io::Write as _;
        let wal = home.join("data").join("cs.wal").join("wal");
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&wal)
            .expect("wal");
        f.write_all(&[0xde, 0xad, 0xbe, 0xef, 0, 0, 1, 0, 7])
            .expect("garbage");
    }

    // Restart and run to a later height; the process exits by itself there.
    let target = killed_at + 10;
    let halt = target.to_string();
    let (mut node, _rx) = start(home, &["--halt-height", &halt]);
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(s) = node.0.try_wait().expect("wait") {
            break s;
        }
        assert!(
            Instant::now() < deadline,
            "restarted node did not reach {target}"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success());
    drop(node);

    let after = ids(home, killed_at);
    assert_eq!(before, after, "nothing committed before the kill changed");
    chain_goes_on_to(home, target);
}

/// Blocks 1..=`target` are stored, each linked to the one before and carrying its app hash,
/// and the signer's last state is at or past `target`.
fn chain_goes_on_to(home: &Path, target: u64) {
    let store = BlockStore::open(&home.join("data").join("blockstore.redb")).expect("block store");
    assert!(store.height().expect("height") >= target);
    let mut last = None;
    for h in 1..=target {
        let raw = store.block_proto(h).expect("read").expect("block");
        let header = Header::from_proto(raw.header.as_ref().expect("header")).expect("header");
        assert_eq!(header.height, h);
        assert_eq!(
            header.last_block_id, last,
            "height {h} links to the block before"
        );
        if h > 1 {
            let prev = store.results(h - 1).expect("read").expect("results");
            assert_eq!(
                header.app_hash,
                prev.app_hash.to_vec(),
                "height {h} carries the app hash of {}",
                h - 1
            );
        }
        last = Some(store.block_id(h).expect("read").expect("id"));
    }
    // The signer's last state is the last height it signed; it never went backwards.
    let signed = signed_height(home);
    assert!(signed >= target, "privval at {signed}");
}

/// The height in the signer's last-sign state (`priv_validator_state.json`).
fn signed_height(home: &Path) -> u64 {
    let pv: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(home.join("data").join("priv_validator_state.json"))
            .expect("privval state"),
    )
    .expect("json");
    pv["height"]
        .as_str()
        .expect("height")
        .parse()
        .expect("number")
}

/// `keystone start` on `home`, which must fail: what it printed on stderr.
fn start_error(home: &Path) -> String {
    let out = keystone(home)
        .arg("start")
        .stdin(Stdio::null())
        .output()
        .expect("run");
    assert!(!out.status.success(), "start must fail");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn a_corrupt_config_is_a_clear_error() {
    let dir = tempfile::tempdir().expect("tmp");
    let home = dir.path();
    ok(home, &["init", "node0", "--chain-id", "keystone-bad"]);
    let cfg = home.join("config").join("config.toml");
    std::fs::write(&cfg, "[consensus]\ntimeout_commit = \"soon\"\n").expect("write");
    let err = start_error(home);
    assert!(
        err.contains("config.toml"),
        "the error names the file: {err}"
    );
    let genesis = home.join("config").join("genesis.json");
    std::fs::write(&cfg, keystone::home::DEFAULT_CONFIG_TOML).expect("restore config");
    std::fs::write(&genesis, "{\"chain_id\": \"\"}").expect("break genesis");
    let err = start_error(home);
    assert!(err.contains("genesis"), "{err}");
}

/// A damaged store stops the node with the file and the command that repairs it; for the
/// state store, that command (moving it aside) works: the node rebuilds the state from its
/// block store and goes on from where it was.
#[test]
fn a_damaged_store_names_its_file_and_the_repair_that_works() {
    let dir = tempfile::tempdir().expect("tmp");
    let home = dir.path();
    ok(home, &["init", "node0", "--chain-id", "keystone-damaged"]);
    let (node, rx) = start(home, &[]);
    wait_for_height(&rx, 3);
    drop(node);
    let stored = ids(home, 3);

    let state = home.join("data/application.redb");
    std::fs::write(&state, b"not a redb file at all").expect("damage the state");
    let err = start_error(home);
    let repair = format!("mv {p} {p}.damaged", p = state.display());
    assert!(
        err.contains(&state.display().to_string()) && err.contains(&repair),
        "the error names the file and the repair: {err}"
    );
    std::fs::rename(&state, home.join("data/application.redb.damaged")).expect("repair as told");
    let (node, rx) = start(home, &[]);
    wait_for_height(&rx, 5);
    drop(node);
    assert_eq!(
        ids(home, 3),
        stored,
        "the same chain, rebuilt and continued"
    );

    let blocks = home.join("data/blockstore.redb");
    std::fs::write(&blocks, b"garbage").expect("damage the block store");
    let err = start_error(home);
    assert!(
        err.contains(&blocks.display().to_string())
            && err.contains("never priv_validator_state.json"),
        "{err}"
    );
}

/// `log_format = "json"` in config.toml: every line the node writes is a JSON object with its
/// time, level, target and message, fields alongside; `--log_level` in CometBFT's
/// `module:level,*:level` form lets one module's debug lines through and nobody else's.
#[test]
fn json_logs_parse_line_by_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let home = dir.path();
    funded_home(home, "keystone-logs", "20ms");
    edit_config(
        home,
        "config.toml",
        "log_format = \"plain\"",
        "log_format = \"json\"",
    );
    let (ok, _, stderr) = common::run(
        home,
        &[
            "start",
            "--halt-height",
            "3",
            "--log_level",
            "keystone_consensus_driver:debug,*:info",
        ],
        "",
    );
    assert!(ok, "the node stops at height 3: {stderr}");
    let lines: Vec<serde_json::Value> = stderr
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    assert!(lines.len() > 3, "{stderr}");
    for l in &lines {
        for key in ["timestamp", "level", "target", "message"] {
            assert!(l[key].is_string(), "no {key}: {l}");
        }
        let target = l["target"].as_str().unwrap_or_default();
        if l["level"] == "DEBUG" {
            assert!(target.starts_with("keystone_consensus_driver"), "{l}");
        }
    }
    assert!(
        lines.iter().any(|l| l["level"] == "DEBUG"),
        "the module's debug lines are let through"
    );
    assert!(
        lines
            .iter()
            .any(|l| l["message"] == "committed block" && l["height"] == 3),
        "events carry their fields: {stderr}"
    );
}

/// SIGTERM while a client sends: the node stops at a step boundary, says so and exits 0; a
/// restart goes on from the next height with every block linked to the last, and the client's
/// next transaction (by the sequence the chain reports) is admitted and committed.
#[test]
fn sigterm_during_load_stops_cleanly_and_the_chain_goes_on() {
    let dir = tempfile::tempdir().expect("tmp");
    let home = dir.path();
    let ports = funded_home(home, "keystone-sigterm", "20ms");
    let (mut node, rx, log) = start_logged(home, &[]);
    wait_for_height(&rx, 3);
    let bob: cosmrs::AccountId = "cosmos1qypqxpq9qcrsszg2pvxq6rs0zqg3yyc5lzv7xu"
        .parse()
        .expect("address");
    let admitted = |tx: Vec<u8>| broadcast_tx_sync(ports.rpc, &tx)["result"]["code"] == 0;
    // A client sending as fast as its answers come, for two seconds, and no more than
    // alice can pay for (each send costs 501stake of her 1000000stake, and one more comes
    // after the restart).
    let mut sent = 0u64;
    let load_until = Instant::now() + Duration::from_secs(2);
    while Instant::now() < load_until
        && sent < 1_500
        && admitted(alice_send(home, "keystone-sigterm", &bob, 1, sent))
    {
        sent += 1;
    }
    assert!(sent > 0, "the node admitted the client's transactions");
    common::sigterm(&node);
    let status = common::wait_exit(&mut node, 30);
    // The log thread sees the pipe close right after the exit.
    std::thread::sleep(Duration::from_millis(200));
    let lines = log.lock().expect("no panics while held").join("\n");
    assert_eq!(status.code(), Some(0), "exit status; log:\n{lines}");
    assert!(lines.contains("shutting down"), "{lines}");
    assert!(lines.contains("stopped"), "{lines}");
    drop(node);

    let store = BlockStore::open(&home.join("data").join("blockstore.redb")).expect("block store");
    let stopped_at = store.height().expect("height");
    drop(store);
    let (node, rx) = start(home, &[]);
    wait_for_height(&rx, stopped_at + 2);
    let account = until_account(home, ports.rest);
    let next: u64 = account["sequence"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("sequence");
    assert!(next >= 1 && next <= sent, "{next} of {sent} sent");
    let answer = broadcast_tx_sync(
        ports.rpc,
        &alice_send(home, "keystone-sigterm", &bob, 1, next),
    );
    assert_eq!(answer["result"]["code"], 0, "{answer}");
    let committed_by = stopped_at + 8;
    wait_for_height(&rx, committed_by);
    assert_eq!(
        until_account(home, ports.rest)["sequence"],
        (next + 1).to_string(),
        "the client's next transaction was committed after the restart"
    );
    drop(node);
    chain_goes_on_to(home, committed_by);
}

/// alice's account as the REST server answers it, once it answers.
fn until_account(home: &Path, rest_port: u16) -> serde_json::Value {
    let alice = common::alice_key(home)
        .public_key()
        .account_id("cosmos")
        .expect("address");
    let path = format!("/cosmos/auth/v1beta1/accounts/{alice}");
    common::until("alice's account", 30, || {
        let (code, body) = common::http(rest_port, "GET", &path, "")?;
        (code == 200).then(|| body["account"].clone())
    })
}

/// `comet reset-state` and `comet unsafe-reset-all`, as CometBFT's: both refused while the
/// node runs; reset-state drops the blocks and the WAL but keeps the application's state and
/// the signer's last-sign state; unsafe-reset-all leaves only a genesis sign state, and the
/// chain starts again from height 1.
#[test]
fn reset_state_and_unsafe_reset_all() {
    let dir = tempfile::tempdir().expect("tmp");
    let home = dir.path();
    funded_home(home, "keystone-reset", "20ms");
    let data = home.join("data");
    let (node, rx) = start(home, &[]);
    wait_for_height(&rx, 3);
    for cmd in ["reset-state", "unsafe-reset-all"] {
        let (done, _, err) = common::run(home, &["comet", cmd], "");
        assert!(!done && err.contains("is a node running"), "{cmd}: {err}");
    }
    assert!(data.join("blockstore.redb").exists());
    drop(node);

    let out = ok(home, &["comet", "reset-state"]);
    assert!(
        out.contains("blockstore.redb") && out.contains("cs.wal"),
        "{out}"
    );
    assert!(!data.join("blockstore.redb").exists() && !data.join("cs.wal").exists());
    assert!(
        data.join("application.redb").exists(),
        "the app's state stays"
    );
    assert!(signed_height(home) >= 3, "the sign state stays");

    ok(home, &["comet", "unsafe-reset-all"]);
    let left: Vec<String> = std::fs::read_dir(&data)
        .expect("data")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(left, vec!["priv_validator_state.json".to_string()]);
    assert_eq!(signed_height(home), 0);
    let (done, _, err) = common::run(home, &["start", "--halt-height", "3"], "");
    assert!(done, "the chain starts again from genesis: {err}");
    chain_goes_on_to(home, 3);
}

/// config.toml's `[mempool]` is honoured: with `size = 2` a third transaction waiting for the
/// next block is refused as CometBFT refuses it, and one over `max_tx_bytes` is too large.
#[test]
fn the_mempool_section_of_config_toml_is_honoured() {
    let dir = tempfile::tempdir().expect("tmp");
    let home = dir.path();
    let ports = funded_home(home, "keystone-mempool", "30s");
    edit_config(home, "config.toml", "size = 5000", "size = 2");
    edit_config(
        home,
        "config.toml",
        "max_tx_bytes = 1048576",
        "max_tx_bytes = 1000",
    );
    let (_node, rx) = start(home, &[]);
    // Height 1 is committed at once; the next waits 30 s, and the mempool with it.
    wait_for_height(&rx, 1);
    let bob: cosmrs::AccountId = "cosmos1qypqxpq9qcrsszg2pvxq6rs0zqg3yyc5lzv7xu"
        .parse()
        .expect("address");
    let broadcast = |tx: Vec<u8>| broadcast_tx_sync(ports.rpc, &tx);
    for seq in 0..2 {
        let r = broadcast(alice_send(home, "keystone-mempool", &bob, 1, seq));
        assert_eq!(r["result"]["code"], 0, "{r}");
    }
    let full = broadcast(alice_send(home, "keystone-mempool", &bob, 1, 2));
    assert!(
        full["error"].to_string().contains("mempool is full"),
        "{full}"
    );
    let large = broadcast(vec![7u8; 1001]);
    assert!(
        large["error"].to_string().contains("tx too large"),
        "{large}"
    );
}

/// `init --overwrite --default-denom`, as gaiad's: a second init is refused without
/// `--overwrite`; with it the genesis is written again for the new chain id, in the new
/// denomination, over the same validator key, node key and config; and that chain runs.
#[test]
fn init_overwrite_with_a_default_denom() {
    let dir = tempfile::tempdir().expect("tmp");
    let home = dir.path();
    funded_home(home, "keystone-first", "20ms");
    let key_before =
        std::fs::read(home.join("config").join("priv_validator_key.json")).expect("key");
    let config_before =
        std::fs::read_to_string(home.join("config").join("config.toml")).expect("config");
    let (done, _, err) = common::run(home, &["init", "n", "--chain-id", "keystone-second"], "");
    assert!(!done && err.contains("--overwrite"), "{err}");
    ok(
        home,
        &[
            "init",
            "n",
            "--chain-id",
            "keystone-second",
            "--overwrite",
            "--default-denom",
            "uatom",
        ],
    );
    assert_eq!(
        std::fs::read(home.join("config").join("priv_validator_key.json")).expect("key"),
        key_before
    );
    assert_eq!(
        std::fs::read_to_string(home.join("config").join("config.toml")).expect("config"),
        config_before,
        "the operator's config (ports) stays"
    );
    let genesis: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(home.join("config").join("genesis.json")).expect("genesis"),
    )
    .expect("json");
    assert_eq!(genesis["chain_id"], "keystone-second");
    assert_eq!(
        genesis["app_state"]["staking"]["params"]["bond_denom"],
        "uatom"
    );
    assert_eq!(
        genesis["app_state"]["mint"]["params"]["mint_denom"],
        "uatom"
    );
    ok(
        home,
        &[
            "genesis",
            "add-genesis-account",
            "alice",
            "1000uatom",
            "--keyring-backend",
            "test",
        ],
    );
    let (done, _, err) = common::run(home, &["start", "--halt-height", "2"], "");
    assert!(done, "{err}");
}

/// app.toml's `halt-height`, as the SDK's: the node commits that height, stops and exits 0;
/// `--halt-height` overrides it.
#[test]
fn halt_height_from_app_toml() {
    let dir = tempfile::tempdir().expect("tmp");
    let home = dir.path();
    funded_home(home, "keystone-halt", "20ms");
    edit_config(home, "app.toml", "halt-height = 0", "halt-height = 3");
    let (done, _, err) = common::run(home, &["start"], "");
    assert!(done, "{err}");
    let height = |home: &Path| {
        BlockStore::open(&home.join("data").join("blockstore.redb"))
            .expect("block store")
            .height()
            .expect("height")
    };
    assert_eq!(height(home), 3);
    let (done, _, err) = common::run(home, &["start", "--halt-height", "5"], "");
    assert!(done, "{err}");
    assert_eq!(height(home), 5);
}

/// `status` and `query block-results`, as gaiad prints them: the node's status, and the
/// results of the block that committed a transaction. A key of config.toml that Keystone
/// does not read is named at start with its file and line.
#[test]
fn status_and_block_results_from_the_cli() {
    let dir = tempfile::tempdir().expect("tmp");
    let home = dir.path();
    let chain = "keystone-status";
    let ports = funded_home(home, chain, "100ms");
    edit_config(home, "config.toml", "size = 5000", "sise = 5000");
    let (node, rx, log) = start_logged(home, &[]);
    wait_for_height(&rx, 2);
    let text = std::fs::read_to_string(home.join("config").join("config.toml")).expect("read");
    let line = text
        .lines()
        .position(|l| l.starts_with("sise"))
        .expect("the typo")
        + 1;
    let warned = log.lock().expect("no panics while held").iter().any(|l| {
        l.contains("unknown configuration key")
            && l.contains("key=mempool.sise")
            && l.contains(&format!("line={line}"))
            && l.contains("config.toml")
    });
    assert!(warned, "{:?}", log.lock().expect("log"));
    let at = format!("tcp://127.0.0.1:{}", ports.rpc);
    let status: serde_json::Value =
        serde_json::from_str(&ok(home, &["status", "--node", &at])).expect("status JSON");
    assert_eq!(status["node_info"]["network"], chain, "{status}");
    let latest: u64 = status["sync_info"]["latest_block_height"]
        .as_str()
        .and_then(|h| h.parse().ok())
        .expect("a height");
    assert!(latest >= 2, "{status}");
    assert!(
        status["validator_info"]["voting_power"]
            .as_str()
            .and_then(|p| p.parse::<u64>().ok())
            .is_some_and(|p| p > 0),
        "{status}"
    );

    let bob: cosmrs::AccountId = "cosmos1qypqxpq9qcrsszg2pvxq6rs0zqg3yyc5lzv7xu"
        .parse()
        .expect("address");
    let sent = broadcast_tx_sync(ports.rpc, &alice_send(home, chain, &bob, 7, 0));
    assert_eq!(sent["result"]["code"], 0, "{sent}");
    let hash = sent["result"]["hash"].as_str().expect("hash").to_string();
    let tx: serde_json::Value = common::until("the tx committed", 30, || {
        let (done, out, _) = common::run(home, &["query", "tx", &hash, "--node", &at], "");
        done.then(|| serde_json::from_str(&out).ok()).flatten()
    });
    let height = tx["height"].as_str().expect("height").to_string();
    let results: serde_json::Value = serde_json::from_str(&ok(
        home,
        &["query", "block-results", &height, "--node", &at],
    ))
    .expect("block results JSON");
    assert_eq!(results["height"], height.as_str(), "{results}");
    let txs = results["txs_results"].as_array().expect("txs_results");
    assert_eq!(txs.len(), 1, "{results}");
    assert_eq!(txs[0]["code"], 0, "{results}");
    assert!(
        txs[0]["events"]
            .as_array()
            .is_some_and(|e| e.iter().any(|e| e["type"] == "transfer")),
        "{results}"
    );
    let (failed, _, err) = common::run(
        home,
        &["query", "block-results", "999999", "--node", &at],
        "",
    );
    assert!(!failed, "a height not yet made is refused");
    assert!(!err.is_empty());
    drop(node);
}
