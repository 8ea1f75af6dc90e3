//! The real `keystone` binary as an operator runs it: init, fund an account, start, and
//! kill -9 while blocks are being produced; after a restart the chain goes on from the next
//! height, with every earlier block unchanged, every header linked to the last and carrying
//! the app hash the block before produced.

use keystone_consensus_driver::block_store::BlockStore;
use keystone_consensus_types::{BlockId, Header};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::Stdio;
use std::sync::mpsc;
use std::time::{Duration, Instant};

mod common;
use common::{funded_home, keystone, ok, Proc};

/// Start the node; the receiver gets each committed height from its log.
fn start(home: &Path, extra: &[&str]) -> (Proc, mpsc::Receiver<u64>) {
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
        }
    });
    (Proc(child), rx)
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
    let pv: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(home.join("data").join("priv_validator_state.json"))
            .expect("privval state"),
    )
    .expect("json");
    let signed: u64 = pv["height"]
        .as_str()
        .expect("height")
        .parse()
        .expect("number");
    assert!(signed >= target, "privval at {signed}");
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
    let config = home.join("config").join("config.toml");
    let text = std::fs::read_to_string(&config).expect("config.toml");
    assert!(
        text.contains("log_format = \"plain\""),
        "init writes the key"
    );
    std::fs::write(
        &config,
        text.replace("log_format = \"plain\"", "log_format = \"json\""),
    )
    .expect("write config.toml");
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
