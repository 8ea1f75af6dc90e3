//! The user's walk-through with the real binary: start a node, `tx bank send` from a key,
//! `query bank balances`, and `query state … --prove`, which checks the proof against the next
//! block's app hash before printing.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Run `keystone …` to completion (at most 60 s, killed otherwise): (success, stdout, stderr).
fn ks(home: &Path, args: &[&str]) -> (bool, String, String) {
    use std::io::Read;
    let mut child = Proc(
        Command::new(env!("CARGO_BIN_EXE_keystone"))
            .arg("--home")
            .arg(home)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn"),
    );
    let drain = |mut r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut s = String::new();
            let _ = r.read_to_string(&mut s);
            s
        })
    };
    let out = drain(Box::new(child.0.stdout.take().expect("stdout")));
    let err = drain(Box::new(child.0.stderr.take().expect("stderr")));
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.0.try_wait().expect("wait") {
            break s;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "keystone {args:?} timed out"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    (
        status.success(),
        out.join().expect("stdout"),
        err.join().expect("stderr"),
    )
}

fn ok(home: &Path, args: &[&str]) -> String {
    let (good, out, err) = ks(home, args);
    assert!(good, "keystone {args:?}: {err}");
    out
}

#[test]
fn send_then_query_with_proof() {
    let dir = tempfile::tempdir().expect("tmp");
    let home = dir.path();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let node = format!("tcp://127.0.0.1:{port}");
    let t = ["--keyring-backend", "test"];
    ok(home, &["init", "node0", "--chain-id", "walk-1"]);
    ok(home, &["keys", "add", "alice", t[0], t[1]]);
    ok(home, &["keys", "add", "bob", t[0], t[1]]);
    let bob = ok(home, &["keys", "show", "bob", "-a", t[0], t[1]])
        .trim()
        .to_string();
    ok(
        home,
        &[
            "genesis",
            "add-genesis-account",
            "alice",
            "1000000stake",
            t[0],
            t[1],
        ],
    );
    let cfg = home.join("config").join("config.toml");
    let text = std::fs::read_to_string(&cfg).expect("config");
    std::fs::write(
        &cfg,
        text.replace("timeout_commit = \"1s\"", "timeout_commit = \"50ms\"")
            .replace("tcp://127.0.0.1:26657", &node),
    )
    .expect("config");
    let _node = Proc(
        Command::new(env!("CARGO_BIN_EXE_keystone"))
            .arg("--home")
            .arg(home)
            .arg("start")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start"),
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    while !ks(home, &["query", "bank", "balances", &bob, "--node", &node]).0 {
        assert!(Instant::now() < deadline, "node did not come up");
        std::thread::sleep(Duration::from_millis(100));
    }

    let out = ok(
        home,
        &[
            "tx",
            "bank",
            "send",
            "alice",
            &bob,
            "100stake",
            "--chain-id",
            "walk-1",
            "--node",
            &node,
            "--fees",
            "500stake",
            "-y",
            t[0],
            t[1],
        ],
    );
    let res: serde_json::Value = serde_json::from_str(out.trim()).expect("json");
    assert_eq!(res["code"], 0, "{res}");
    assert_eq!(res["txhash"].as_str().expect("hash").len(), 64);

    let balances = loop {
        let out = ok(home, &["query", "bank", "balances", &bob, "--node", &node]);
        let v: serde_json::Value = serde_json::from_str(out.trim()).expect("json");
        if v["balances"].as_array().is_some_and(|b| !b.is_empty()) {
            break v;
        }
        assert!(Instant::now() < deadline, "the send was not committed");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(
        balances["balances"][0],
        serde_json::json!({"denom": "stake", "amount": "100"})
    );
    assert_eq!(balances["pagination"]["total"], "1");

    let key = format!("bank/balances/{bob}/stake");
    let out = ok(home, &["query", "state", &key, "--prove", "--node", &node]);
    let v: serde_json::Value = serde_json::from_str(out.trim()).expect("json");
    assert_eq!(v["verified"], "present");
    assert_eq!(v["value"], "MTAw", "base64 of \"100\"");
    let absent = ok(
        home,
        &[
            "query",
            "state",
            &format!("bank/balances/{bob}/uatom"),
            "--prove",
            "--node",
            &node,
        ],
    );
    let v: serde_json::Value = serde_json::from_str(absent.trim()).expect("json");
    assert_eq!(v["verified"], "absent");

    // Refusals are errors with the SDK's words, and change nothing.
    let (good, out, err) = ks(
        home,
        &[
            "tx",
            "bank",
            "send",
            "alice",
            &bob,
            "99999999stake",
            "--chain-id",
            "walk-1",
            "--node",
            &node,
            "--fees",
            "500stake",
            "-y",
            t[0],
            t[1],
        ],
    );
    assert!(!good);
    assert!(
        out.contains("\"code\":5") || err.contains("insufficient funds"),
        "{out} {err}"
    );
    let (good, _, err) = ks(
        home,
        &[
            "tx",
            "bank",
            "send",
            "alice",
            "cosmos1bad",
            "1stake",
            "--chain-id",
            "walk-1",
            "--node",
            &node,
            t[0],
            t[1],
        ],
    );
    assert!(!good);
    assert!(err.contains("invalid recipient"), "{err}");
    let (good, _, err) = ks(
        home,
        &[
            "tx",
            "bank",
            "send",
            "alice",
            &bob,
            "1stake",
            "--chain-id",
            "other-chain",
            "--node",
            &node,
            "--fees",
            "500stake",
            t[0],
            t[1],
        ],
    );
    assert!(!good);
    assert!(err.contains("signature verification failed"), "{err}");
    let (good, _, err) = ks(
        home,
        &[
            "query",
            "bank",
            "balances",
            &bob,
            "--node",
            "tcp://127.0.0.1:1",
        ],
    );
    assert!(!good);
    assert!(err.contains("cannot reach the node"), "{err}");
}
