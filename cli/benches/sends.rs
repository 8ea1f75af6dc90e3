//! Bank sends per second committed by a single-validator node, measured end to end: a real
//! `keystone start` process on loopback, N signed MsgSends from one account broadcast over
//! JSON-RPC (`broadcast_tx_sync`, so each passes CheckTx), timed until the last one is in a
//! committed block.
//!
//! `cargo bench -p keystone --bench sends` (release build). `KEYSTONE_BENCH_TXS` sets N
//! (default 2000).

use keystone::client::Client;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn ks(home: &std::path::Path, args: &[&str]) {
    let out = Command::new(env!("CARGO_BIN_EXE_keystone"))
        .arg("--home")
        .arg(home)
        .args(args)
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn main() {
    let n: u64 = std::env::var("KEYSTONE_BENCH_TXS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000);
    let dir = tempfile::tempdir().expect("tmp");
    let home = dir.path();
    let free = || {
        std::net::TcpListener::bind("127.0.0.1:0")
            .expect("bind")
            .local_addr()
            .expect("addr")
            .port()
    };
    let (port, p2p_port) = (free(), free());
    ks(home, &["init", "bench", "--chain-id", "bench-1"]);
    ks(home, &["keys", "add", "alice", "--keyring-backend", "test"]);
    ks(
        home,
        &[
            "genesis",
            "add-genesis-account",
            "alice",
            "100000000000stake",
            "--keyring-backend",
            "test",
        ],
    );
    let cfg = home.join("config").join("config.toml");
    let text = std::fs::read_to_string(&cfg).expect("config");
    std::fs::write(
        &cfg,
        text.replace("timeout_commit = \"1s\"", "timeout_commit = \"200ms\"")
            .replace("26657", &port.to_string())
            .replace("26656", &p2p_port.to_string()),
    )
    .expect("config");
    let app_toml = home.join("config").join("app.toml");
    let text = std::fs::read_to_string(&app_toml).expect("app.toml");
    std::fs::write(
        &app_toml,
        text.replace("[api]\naddress = \"tcp://127.0.0.1:1317\"\n", ""),
    )
    .expect("app.toml");
    let mut node = Command::new(env!("CARGO_BIN_EXE_keystone"))
        .arg("--home")
        .arg(home)
        .arg("start")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start");
    let client = Client::new(&format!("tcp://127.0.0.1:{port}")).expect("client");
    let t0 = Instant::now();
    while client.call("health", serde_json::json!({})).is_err() {
        assert!(t0.elapsed() < Duration::from_secs(30), "node did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    let ring = keystone::keys::Keyring::new(home, keystone::keys::Backend::Test);
    let secret = ring.secret("alice").expect("key");
    let alice: keystone_modules::Address = ring
        .show("alice")
        .expect("key")
        .address
        .parse()
        .expect("addr");
    let bob = keystone_modules::Address([0xb0; 20]);
    let coins: keystone_modules::Coins = "1stake".parse().expect("coins");
    let fees: keystone_modules::Coins = "500stake".parse().expect("fees");
    let txs: Vec<Vec<u8>> = (0..n)
        .map(|seq| {
            keystone::tx::sign(
                &secret,
                keystone::tx::msg_send(&alice, &bob, &coins),
                "",
                &fees,
                200_000,
                "bench-1",
                0,
                seq,
            )
            .expect("sign")
        })
        .collect();
    use base64::Engine as _;
    let start = Instant::now();
    for tx in &txs {
        let r = client
            .call(
                "broadcast_tx_sync",
                serde_json::json!({"tx": base64::engine::general_purpose::STANDARD.encode(tx)}),
            )
            .expect("broadcast");
        assert_eq!(r["code"], 0, "{r}");
    }
    let broadcast = start.elapsed();
    let last = keystone_consensus_types::sha256(txs.last().expect("txs")).0;
    let last_block;
    loop {
        if let Ok(r) = client.call(
            "tx",
            serde_json::json!({"hash": base64::engine::general_purpose::STANDARD.encode(last)}),
        ) {
            last_block = r["height"].as_str().unwrap_or("0").to_string();
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(600), "not committed");
        std::thread::sleep(Duration::from_millis(20));
    }
    let total = start.elapsed();
    let _ = node.kill();
    let _ = node.wait();
    println!(
        "sends: {n} MsgSends from one account over JSON-RPC; broadcast (CheckTx) {:.2} s, all committed after {:.2} s (last in block {last_block}) => {:.0} committed tx/s",
        broadcast.as_secs_f64(),
        total.as_secs_f64(),
        n as f64 / total.as_secs_f64()
    );
}
