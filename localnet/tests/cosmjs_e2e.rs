//! The published cosmjs clients (`@cosmjs/stargate`, `@cosmjs/proto-signing`) against a
//! 4-validator localnet, unchanged, in two versions: the one pinned in
//! `tests/cosmjs/package-lock.json` and the newest published one when
//! `tests/cosmjs-latest/package-lock.json` was last moved. Node.js runs `tests/cosmjs/e2e.mjs`
//! once per version (loading the clients from that version's folder), from two accounts: it
//! connects `StargateClient` and `SigningStargateClient` to node 0's RPC, reads chain id,
//! height, blocks, accounts and balances, sends, delegates and undelegates with `fee: "auto"`
//! (simulate, sign SIGN_MODE_DIRECT, `broadcast_tx_sync`, poll `tx_search` for the hash) and
//! checks each result through the clients' own queries; then it sends five each of send,
//! delegate, undelegate, redelegate and withdraw-rewards with `fee: "auto"` and a gas price
//! (every one must commit) and prints gas used / gas wanted per type.
//!
//! Needs `node` (>= 18) on the PATH; `.ci/run` installs it and runs `npm ci` in both folders,
//! and this test runs `npm ci` itself where `node_modules` is missing.
//! The node processes and the script are killed when the test ends, also when it fails.

mod common;

use common::{chain_id, valoper};
use keystone_localnet::{free_base, keystone_bin, Localnet, FAST_TIMEOUTS};
use serde_json::Value;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

const CHAIN: &str = "e2e-cosmjs";
/// How long `npm ci` and the script may take before they are killed.
const NPM_TIMEOUT: Duration = Duration::from_secs(300);
const SCRIPT_TIMEOUT: Duration = Duration::from_secs(360);

/// A child process killed (and reaped) when dropped.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Read a pipe to the end on a thread.
fn drain(pipe: Option<impl Read + Send + 'static>) -> Option<JoinHandle<String>> {
    pipe.map(|mut p| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = p.read_to_end(&mut bytes);
            String::from_utf8_lossy(&bytes).into_owned()
        })
    })
}

/// Run `cmd` to completion within `limit`: (exited successfully, stdout + stderr); `None` on
/// timeout (the process is killed).
fn run_with_timeout(mut cmd: Command, limit: Duration) -> (Option<bool>, String) {
    let what = format!("{cmd:?}");
    let child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {what}: {e}"));
    let mut child = Killed(child);
    let out = drain(child.0.stdout.take());
    let err = drain(child.0.stderr.take());
    let deadline = Instant::now() + limit;
    let status = loop {
        match child.0.try_wait() {
            Ok(Some(s)) => break Some(s.success()),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(50)),
            Ok(None) => break None,
            Err(e) => panic!("waiting for {what}: {e}"),
        }
    };
    drop(child); // kills it on timeout, so the pipes close
    let text = |h: Option<JoinHandle<String>>| h.and_then(|h| h.join().ok()).unwrap_or_default();
    let (stdout, stderr) = (text(out), text(err));
    (status, format!("{stdout}{stderr}"))
}

/// `node` on the PATH, at least version 18, or a panic saying how to get it.
fn require_node() {
    let out = Command::new("node").arg("--version").output();
    let version = match out {
        Ok(o) if o.status.success() => String::from_utf8_lossy(&o.stdout).trim().to_string(),
        _ => panic!(
            "this test runs the cosmjs clients under Node.js, and `node` is not on the PATH: \
             install Node.js >= 18 (Debian: `apt-get install nodejs npm`; .ci/run does it)"
        ),
    };
    let major: u32 = version
        .trim_start_matches('v')
        .split('.')
        .next()
        .and_then(|m| m.parse().ok())
        .unwrap_or(0);
    assert!(
        major >= 18,
        "Node.js {version} is too old for the pinned cosmjs: need >= 18"
    );
}

/// `tests/cosmjs/node_modules`, installed from the lock file with `npm ci` if missing.
fn require_node_modules(js: &Path) {
    if js
        .join("node_modules/@cosmjs/stargate/package.json")
        .is_file()
    {
        return;
    }
    let npm_ok = Command::new("npm")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        npm_ok,
        "{}/node_modules is missing and `npm` is not on the PATH: install npm (Debian: \
         `apt-get install npm`) or run `npm ci` in that folder (.ci/run does)",
        js.display()
    );
    let mut cmd = Command::new("npm");
    cmd.args(["ci", "--no-audit", "--no-fund"]).current_dir(js);
    match run_with_timeout(cmd, NPM_TIMEOUT) {
        (Some(true), _) => {}
        (Some(false), out) => panic!("npm ci in {} failed:\n{out}", js.display()),
        (None, out) => panic!(
            "npm ci in {} did not finish in {} s:\n{out}",
            js.display(),
            NPM_TIMEOUT.as_secs()
        ),
    }
}

/// The secp256k1 secret (hex) of `key` in node `i`'s `test` keyring
/// (`<home>/keyring-test/<key>.json`, `secret_hex`).
fn secret_hex(net: &Localnet, i: usize, key: &str) -> String {
    let path = net.nodes[i].home.join(format!("keyring-test/{key}.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let doc: Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    doc["secret_hex"]
        .as_str()
        .unwrap_or_else(|| panic!("{}: no secret_hex", path.display()))
        .to_string()
}

#[test]
fn cosmjs_stargate_clients_send_delegate_and_undelegate() {
    let started = Instant::now();
    let tests = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let script: PathBuf = tests.join("cosmjs");
    // (folder of the clients, node whose operator key signs, validator, other validator)
    let runs = [
        (tests.join("cosmjs"), 0, 1, 2),
        (tests.join("cosmjs-latest"), 1, 2, 3),
    ];
    require_node();
    for (js, ..) in &runs {
        require_node_modules(js);
    }

    let dir = tempfile::tempdir().expect("tmp");
    let bin = keystone_bin().expect("the keystone binary is built next to the tests");
    let mut net = Localnet::init(
        &bin,
        dir.path(),
        4,
        CHAIN,
        free_base(50).expect("a free port range on 127.0.0.1"),
        &FAST_TIMEOUTS,
    )
    .expect("testnet init-files");
    net.start_all().expect("start");
    net.wait_height(&[0, 1, 2, 3], 2, 90)
        .expect("four validators from gentxs make blocks");

    for (js, from, to, other) in runs {
        let key = format!("node{from}");
        let mut cmd = Command::new("node");
        cmd.arg("e2e.mjs")
            .current_dir(&script)
            .env("KEYSTONE_COSMJS_DIR", &js)
            .env(
                "KEYSTONE_RPC",
                format!("http://127.0.0.1:{}", net.nodes[0].rpc),
            )
            .env("KEYSTONE_CHAIN_ID", chain_id(&net))
            .env("KEYSTONE_KEY_HEX", secret_hex(&net, from, &key))
            .env("KEYSTONE_ADDRESS", &net.nodes[from].address)
            .env("KEYSTONE_VALOPER", valoper(&net, to, &format!("node{to}")))
            .env(
                "KEYSTONE_OTHER_VALOPER",
                valoper(&net, other, &format!("node{other}")),
            )
            .env("KEYSTONE_DENOM", "stake");
        let (status, output) = run_with_timeout(cmd, SCRIPT_TIMEOUT);
        eprintln!(
            "--- node e2e.mjs with {} ({:.1} s since the test began) ---\n{output}--- end ---",
            js.display(),
            started.elapsed().as_secs_f64()
        );
        match status {
            Some(true) => {}
            Some(false) => panic!(
                "the cosmjs end-to-end script failed with {} (its output is above)",
                js.display()
            ),
            None => panic!(
                "the cosmjs end-to-end script did not finish in {} s and was killed",
                SCRIPT_TIMEOUT.as_secs()
            ),
        }
    }
}
