//! What the end-to-end tests share: the real `keystone` binary run with a timeout and killed if
//! a test leaves early, free loopback ports, a funded one-validator home, and one HTTP request.

// Each test binary uses its own subset of these helpers.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A child process killed (and reaped) when dropped.
pub(crate) struct Proc(pub(crate) Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `keystone --home <home>`.
pub(crate) fn keystone(home: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_keystone"));
    c.arg("--home").arg(home);
    c
}

/// Run `keystone args…` with `stdin`, at most 60 s (killed otherwise): (success, stdout, stderr).
pub(crate) fn run(home: &Path, args: &[&str], stdin: &str) -> (bool, String, String) {
    let mut child = Proc(
        keystone(home)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn keystone"),
    );
    child
        .0
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("write stdin");
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

/// Run `keystone args…` and require success; its stdout.
pub(crate) fn ok(home: &Path, args: &[&str]) -> String {
    let (good, out, err) = run(home, args, "");
    assert!(good, "keystone {args:?}: {err}");
    out
}

/// A loopback port nothing listens on right now.
pub(crate) fn free_port() -> u16 {
    // Not port 0: the kernel would pick an ephemeral port, which any outbound connection can
    // take before (or while restarting) the node binds it.
    keystone_localnet::free_base(1).expect("a free port on 127.0.0.1")
}

/// The node's listen ports.
pub(crate) struct Ports {
    /// JSON-RPC.
    pub(crate) rpc: u16,
    /// REST.
    pub(crate) rest: u16,
    /// gRPC.
    pub(crate) grpc: u16,
}

/// `init` a one-validator home for `chain_id`, add key `alice` to the test keyring, fund her
/// with 1000000stake at genesis, and set `timeout_commit` and free RPC, REST and gRPC ports.
pub(crate) fn funded_home(home: &Path, chain_id: &str, timeout_commit: &str) -> Ports {
    ok(home, &["init", "node0", "--chain-id", chain_id]);
    ok(home, &["keys", "add", "alice", "--keyring-backend", "test"]);
    ok(
        home,
        &[
            "genesis",
            "add-genesis-account",
            "alice",
            "1000000stake",
            "--keyring-backend",
            "test",
        ],
    );
    let ports = Ports {
        rpc: free_port(),
        rest: free_port(),
        grpc: free_port(),
    };
    let edit = |file: &str, from: &str, to: &str| edit_config(home, file, from, to);
    edit(
        "config.toml",
        "timeout_commit = \"1s\"",
        &format!("timeout_commit = \"{timeout_commit}\""),
    );
    edit(
        "config.toml",
        "tcp://127.0.0.1:26657",
        &format!("tcp://127.0.0.1:{}", ports.rpc),
    );
    // The p2p listener too: tests run side by side, and nothing may take the default port.
    edit(
        "config.toml",
        "tcp://127.0.0.1:26656",
        &format!("tcp://127.0.0.1:{}", free_port()),
    );
    edit(
        "app.toml",
        "tcp://127.0.0.1:1317",
        &format!("tcp://127.0.0.1:{}", ports.rest),
    );
    edit(
        "app.toml",
        "127.0.0.1:9090",
        &format!("127.0.0.1:{}", ports.grpc),
    );
    ports
}

/// Replace `from` (which must be there) with `to` in `config/<file>` of `home`.
pub(crate) fn edit_config(home: &Path, file: &str, from: &str, to: &str) {
    let path = home.join("config").join(file);
    let text = std::fs::read_to_string(&path).expect("config file");
    assert!(text.contains(from), "{file} has no {from:?}");
    std::fs::write(&path, text.replace(from, to)).expect("write config");
}

/// `keystone start` with no output kept.
pub(crate) fn start_quiet(home: &Path) -> Proc {
    start_quiet_with(home, &[])
}

/// `keystone start args…` with no output kept.
pub(crate) fn start_quiet_with(home: &Path, args: &[&str]) -> Proc {
    Proc(
        keystone(home)
            .arg("start")
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start"),
    )
}

/// Send `node` SIGTERM (a graceful stop).
pub(crate) fn sigterm(node: &Proc) {
    let term = Command::new("kill")
        .args(["-TERM", &node.0.id().to_string()])
        .status()
        .expect("kill");
    assert!(term.success());
}

/// `node`'s exit status, waiting at most `secs` seconds for it.
pub(crate) fn wait_exit(node: &mut Proc, secs: u64) -> std::process::ExitStatus {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(s) = node.0.try_wait().expect("wait") {
            return s;
        }
        assert!(
            Instant::now() < deadline,
            "the node did not stop within {secs} s"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `text` (a command's output) as JSON.
pub(crate) fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text.trim()).unwrap_or_else(|e| panic!("{e}: {text}"))
}

/// One HTTP/1.1 request on loopback: (status, JSON body or null); `None` if nothing answers.
pub(crate) fn http(
    port: u16,
    method: &str,
    path: &str,
    body: &str,
) -> Option<(u16, serde_json::Value)> {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).ok()?;
    let mut resp = String::new();
    s.read_to_string(&mut resp).ok()?;
    let (head, body) = resp.split_once("\r\n\r\n")?;
    let status = head.split_whitespace().nth(1)?.parse().ok()?;
    Some((
        status,
        serde_json::from_str(body).unwrap_or(serde_json::Value::Null),
    ))
}

/// alice's secp256k1 key, from the test keyring of a [`funded_home`].
pub(crate) fn alice_key(home: &Path) -> cosmrs::crypto::secp256k1::SigningKey {
    let stored: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(home.join("keyring-test").join("alice.json")).expect("key file"),
    )
    .expect("json");
    let secret = hex::decode(stored["secret_hex"].as_str().expect("hex")).expect("hex");
    cosmrs::crypto::secp256k1::SigningKey::from_slice(&secret).expect("key")
}

/// alice (genesis account 0 of a [`funded_home`]) sends `amount` stake to `to` on `chain`,
/// signed with `cosmrs` (fee 500stake, gas 200000).
pub(crate) fn alice_send(
    home: &Path,
    chain: &str,
    to: &cosmrs::AccountId,
    amount: u128,
    sequence: u64,
) -> Vec<u8> {
    use cosmrs::tx::{self, Fee, Msg, SignDoc, SignerInfo};
    let key = alice_key(home);
    let alice = key.public_key().account_id("cosmos").expect("id");
    let coin = |amount| cosmrs::Coin {
        denom: "stake".parse().expect("denom"),
        amount,
    };
    let msg = cosmrs::bank::MsgSend {
        from_address: alice,
        to_address: to.clone(),
        amount: vec![coin(amount)],
    };
    let body = tx::Body::new(vec![msg.to_any().expect("any")], "", 0u32);
    let auth = SignerInfo::single_direct(Some(key.public_key()), sequence)
        .auth_info(Fee::from_amount_and_gas(coin(500), 200_000u64));
    SignDoc::new(&body, &auth, &chain.parse().expect("chain"), 0)
        .expect("doc")
        .sign(&key)
        .expect("sign")
        .to_bytes()
        .expect("bytes")
}

/// A JSON-RPC call to the node on `port`: the whole response, `null` when nothing answers.
pub(crate) fn rpc(port: u16, method: &str, params: serde_json::Value) -> serde_json::Value {
    let body = serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
    http(port, "POST", "/", &body.to_string())
        .map(|(_, v)| v)
        .unwrap_or(serde_json::Value::Null)
}

/// `broadcast_tx_sync` of `tx` to the node on `port`: the whole response.
pub(crate) fn broadcast_tx_sync(port: u16, tx: &[u8]) -> serde_json::Value {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD.encode(tx);
    rpc(port, "broadcast_tx_sync", serde_json::json!({ "tx": b64 }))
}

/// Poll `f` every 50 ms until it yields, for at most `secs` seconds.
pub(crate) fn until<T>(what: &str, secs: u64, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}
