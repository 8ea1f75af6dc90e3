//! Load and latency of a 4-validator localnet on this machine: signed bank sends at a steady
//! rate through JSON-RPC, spread over the four nodes and four sender accounts, with
//! committed tx/s, p50/p99 latency from broadcast to commit (seen in node 0's blocks), the
//! block interval, every node's peak RSS, and — in the same run — this machine's secp256k1
//! signature verifications per second on one core, the ceiling a node's CheckTx and
//! FinalizeBlock share.
//!
//! ```text
//! cargo build --release -p keystone
//! KEYSTONE_LOAD_RATE=400 KEYSTONE_LOAD_SECS=20 cargo bench -p keystone-localnet --bench load
//! ```
//!
//! With `KEYSTONE_LOAD_APP=kvstore-py` the four nodes replicate the Python example app
//! (`examples/kvstore-py`, one process beside each node, `keystone start --proxy-app`) and the
//! load is its `key=value` transactions instead of signed sends.

use base64::Engine as _;
use keystone::client::Client;
use keystone_localnet::{keystone_bin, Localnet, FAST_TIMEOUTS};
use std::collections::BTreeMap;
use std::sync::mpsc;
use std::time::{Duration, Instant};

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// secp256k1 (k256) verifications per second on one core, over one second.
fn verifications_per_second() -> f64 {
    use k256::ecdsa::signature::{Signer, Verifier};
    use k256::ecdsa::{Signature, SigningKey};
    let key = SigningKey::from_slice(&[7; 32]).expect("a valid secp256k1 key");
    let msg = [42u8; 200];
    let sig: Signature = key.sign(&msg);
    let vk = key.verifying_key();
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < Duration::from_secs(1) {
        for _ in 0..100 {
            assert!(vk.verify(&msg, &sig).is_ok());
        }
        n += 100;
    }
    n as f64 / start.elapsed().as_secs_f64()
}

fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// One kvstore-py process per node (killed when the returned children drop), and a genesis
/// naming the nodes' keys as validators with an empty app state; returns each app's address.
fn start_kvstore(net: &Localnet, dir: &std::path::Path) -> Vec<(KillOnDrop, String)> {
    use std::io::BufRead;
    net.genesis_validators_from_keys(10).expect("genesis");
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/kvstore-py/kvstore.py");
    (0..net.nodes.len())
        .map(|i| {
            let mut child = std::process::Command::new("python3")
                .arg(&script)
                .args(["--address", "tcp://127.0.0.1:0", "--home"])
                .arg(dir.join(format!("app{i}")))
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::null())
                .spawn()
                .expect("python3 runs the example app");
            let out = child.stdout.take().expect("piped");
            let mut line = String::new();
            std::io::BufReader::new(out)
                .read_line(&mut line)
                .expect("the app reports its address");
            let addr = line
                .split_once(" listening on ")
                .map(|(_, a)| a.trim().to_string())
                .expect("listening line");
            (KillOnDrop(child), addr)
        })
        .collect()
}

/// A child process killed when dropped.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn main() {
    let rate = env_num("KEYSTONE_LOAD_RATE", 300).max(1);
    let secs = env_num("KEYSTONE_LOAD_SECS", 20).max(1);
    let Some(bin) = keystone_bin() else {
        eprintln!(
            "no keystone binary next to this bench: run `cargo build --release -p keystone` first"
        );
        return;
    };
    let ceiling = verifications_per_second();
    let dir = tempfile::tempdir().expect("tmp");
    let base = keystone_localnet::free_base(40).expect("a free port range on 127.0.0.1");
    let mut net = Localnet::init(&bin, dir.path(), 4, "load-1", base, &FAST_TIMEOUTS)
        .expect("testnet init-files");
    let kvstore = std::env::var("KEYSTONE_LOAD_APP").is_ok_and(|a| a == "kvstore-py");
    let apps = if kvstore {
        start_kvstore(&net, dir.path())
    } else {
        Vec::new()
    };
    if kvstore {
        for (i, (_, addr)) in apps.iter().enumerate() {
            net.start_with(i, &["--proxy-app", addr]).expect("start");
        }
    } else {
        net.start_all().expect("start");
    }
    net.wait_height(&[0, 1, 2, 3], 2, 60)
        .expect("the localnet runs");

    // Blocks from here on are watched (taken before any tx is sent).
    let mut next = net.height(0).unwrap_or(1) + 1;
    // One sender per node: its operator account, broadcasting to its own node.
    let total = rate * secs;
    let per_sender = total / 4;
    let interval = Duration::from_secs_f64(4.0 / rate as f64);
    let fees: keystone_modules::Coins = "500stake".parse().expect("fees");
    let coins: keystone_modules::Coins = "1stake".parse().expect("coins");
    let (sent_tx, sent_rx) = mpsc::channel::<([u8; 32], Instant)>();
    let mut senders = Vec::new();
    let start = Instant::now() + Duration::from_millis(500);
    for i in 0..4 {
        let node = &net.nodes[i];
        let ring = keystone::keys::Keyring::new(&node.home, keystone::keys::Backend::Test);
        let secret = ring.secret(&node.name).expect("operator key");
        let from: keystone_modules::Address = node.address.parse().expect("address");
        let to = keystone_modules::Address([0xb0 + i as u8; 20]);
        let client = Client::new(&format!("tcp://127.0.0.1:{}", node.rpc)).expect("client");
        // The kvstore's txs are not signed: no account to look up.
        let (number, sequence) = if kvstore {
            (0, 0)
        } else {
            keystone::tx::account_numbers(&client, &from).expect("account")
        };
        let txs: Vec<Vec<u8>> = (0..per_sender)
            .map(|k| {
                if kvstore {
                    return format!("s{i}k{k}=value{k}").into_bytes();
                }
                keystone::tx::sign(
                    &secret,
                    keystone::tx::msg_send(&from, &to, &coins),
                    "",
                    &fees,
                    200_000,
                    "load-1",
                    number,
                    sequence + k,
                )
                .expect("sign")
            })
            .collect();
        let sent_tx = sent_tx.clone();
        senders.push(std::thread::spawn(move || {
            let mut refused = 0u64;
            let mut first_refusal: Option<String> = None;
            for (k, tx) in txs.iter().enumerate() {
                let at = start + interval * k as u32;
                if let Some(wait) = at.checked_duration_since(Instant::now()) {
                    std::thread::sleep(wait);
                }
                let hash = keystone_consensus_types::sha256(tx).0;
                let sent = Instant::now();
                let r = client.call(
                    "broadcast_tx_sync",
                    serde_json::json!({"tx": base64::engine::general_purpose::STANDARD.encode(tx)}),
                );
                match r {
                    Ok(v) if v["code"] == 0 => {
                        let _ = sent_tx.send((hash, sent));
                    }
                    other => {
                        refused += 1;
                        first_refusal.get_or_insert_with(|| {
                            format!(
                                "tx {k}: {}",
                                match other {
                                    Ok(v) => v.to_string(),
                                    Err(e) => e.to_string(),
                                }
                            )
                        });
                    }
                }
            }
            if let Some(r) = first_refusal {
                eprintln!(
                    "sender {i}: {refused} refused; first: {}",
                    &r[..r.len().min(300)]
                );
            }
            refused
        }));
    }
    drop(sent_tx);

    // Watch node 0's blocks: when each tx was committed, and how often blocks with txs come.
    // A tx can be in a block before its sender's broadcast call has returned, so commits of
    // txs not yet known as sent are kept until they are.
    let watcher = Client::new(&format!("tcp://127.0.0.1:{}", net.nodes[0].rpc)).expect("client");
    let mut sent: BTreeMap<[u8; 32], Instant> = BTreeMap::new();
    let mut committed_early: BTreeMap<[u8; 32], Instant> = BTreeMap::new();
    let mut latencies = Vec::new();
    let mut block_times: Vec<i128> = Vec::new();
    let mut observed_blocks: Vec<Instant> = Vec::new();
    let mut first_commit: Option<Instant> = None;
    let mut last_commit = Instant::now();
    let deadline = start + Duration::from_secs(secs + 60);
    let mut senders_done = false;
    let drain = |sent: &mut BTreeMap<[u8; 32], Instant>,
                 early: &mut BTreeMap<[u8; 32], Instant>,
                 latencies: &mut Vec<Duration>| {
        while let Ok((h, t)) = sent_rx.try_recv() {
            match early.remove(&h) {
                Some(at) => latencies.push(at.saturating_duration_since(t)),
                None => {
                    sent.insert(h, t);
                }
            }
        }
    };
    loop {
        drain(&mut sent, &mut committed_early, &mut latencies);
        if !senders_done && senders.iter().all(|s| s.is_finished()) {
            senders_done = true;
            drain(&mut sent, &mut committed_early, &mut latencies);
        }
        if senders_done && sent.is_empty() || Instant::now() > deadline {
            break;
        }
        let Ok(b) = watcher.call("block", serde_json::json!({"height": next.to_string()})) else {
            std::thread::sleep(Duration::from_millis(10));
            continue;
        };
        let now = Instant::now();
        next += 1;
        let txs = b["block"]["data"]["txs"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        if txs.is_empty() {
            continue;
        }
        observed_blocks.push(now);
        if let Some(Ok(t)) = b["block"]["header"]["time"].as_str().map(time_ns) {
            block_times.push(t);
        }
        first_commit.get_or_insert(now);
        last_commit = now;
        drain(&mut sent, &mut committed_early, &mut latencies);
        for tx in txs {
            let Some(bytes) = tx
                .as_str()
                .and_then(|s| base64::engine::general_purpose::STANDARD.decode(s).ok())
            else {
                continue;
            };
            let h = keystone_consensus_types::sha256(&bytes).0;
            match sent.remove(&h) {
                Some(t) => latencies.push(now.saturating_duration_since(t)),
                None => {
                    committed_early.insert(h, now);
                }
            }
        }
    }
    let refused: u64 = senders.into_iter().map(|s| s.join().unwrap_or(0)).sum();
    // Anything the watcher did not see: is it in a block after all (a watcher miss), or not?
    let late_heights: Vec<u64> = sent
        .keys()
        .filter_map(|h| {
            watcher
                .call(
                    "tx",
                    serde_json::json!({"hash": base64::engine::general_purpose::STANDARD.encode(h)}),
                )
                .ok()
                .and_then(|t| t["height"].as_str().and_then(|x| x.parse().ok()))
        })
        .collect();
    let found_late = late_heights.len();
    if let (Some(lo), Some(hi)) = (late_heights.iter().min(), late_heights.iter().max()) {
        eprintln!("txs the watcher missed are in heights {lo}..={hi}");
    }
    // Each sender's account sequence at node 0: how many of its txs the chain executed.
    let sequences: Vec<String> = (0..4)
        .map(|i| {
            let from: keystone_modules::Address = net.nodes[i].address.parse().expect("address");
            keystone::tx::account_numbers(&watcher, &from)
                .map_or("?".into(), |(_, seq)| seq.to_string())
        })
        .collect();
    let rss: Vec<String> = (0..4)
        .map(|i| {
            net.pid(i)
                .and_then(peak_rss_kib)
                .map_or("?".into(), |k| format!("{:.1} MB", k as f64 / 1024.0))
        })
        .collect();
    latencies.sort();
    let committed = latencies.len();
    let span = first_commit
        .map(|f| last_commit.saturating_duration_since(f))
        .unwrap_or_default()
        .as_secs_f64()
        .max(0.001);
    let intervals: Vec<i128> = block_times.windows(2).map(|w| w[1] - w[0]).collect();
    let mean_interval_ms = if intervals.is_empty() {
        0.0
    } else {
        intervals.iter().sum::<i128>() as f64 / intervals.len() as f64 / 1e6
    };
    let what = if kvstore {
        "kvstore-py key=value txs over the ABCI socket"
    } else {
        "MsgSends from 4 accounts"
    };
    println!(
        "load: 4 validators, target {rate} tx/s for {secs} s ({total} {what}, one sender per node)"
    );
    println!(
        "  committed {committed} (refused at broadcast {refused}; not seen committed {}, of which {found_late} found by hash later) => {:.0} committed tx/s over {:.1} s",
        sent.len(),
        committed as f64 / span,
        span
    );
    println!(
        "  latency broadcast→commit: p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms",
        percentile(&latencies, 0.5).as_secs_f64() * 1e3,
        percentile(&latencies, 0.99).as_secs_f64() * 1e3,
        latencies.last().copied().unwrap_or_default().as_secs_f64() * 1e3
    );
    let observed_ms = match (observed_blocks.first(), observed_blocks.last()) {
        (Some(a), Some(b)) if observed_blocks.len() > 1 => {
            b.saturating_duration_since(*a).as_secs_f64() * 1e3 / (observed_blocks.len() - 1) as f64
        }
        _ => 0.0,
    };
    println!(
        "  block interval (blocks with txs): {observed_ms:.0} ms as observed at node 0, {mean_interval_ms:.0} ms in BFT time, over {} blocks",
        intervals.len()
    );
    println!("  peak RSS per node: {}", rss.join(", "));
    println!(
        "  sender sequences at the end: {} (each sent {per_sender})",
        sequences.join(", ")
    );
    println!("  secp256k1 verifications/s on one core (k256): {ceiling:.0}");
    if !sent.is_empty() && std::env::var_os("KEYSTONE_LOAD_KEEP").is_some() {
        let kept = dir.path().join("..").join("keystone-load-kept");
        let _ = std::fs::remove_dir_all(&kept);
        let _ = std::process::Command::new("cp")
            .arg("-r")
            .arg(dir.path())
            .arg(&kept)
            .status();
        eprintln!("kept the localnet's homes and logs in {}", kept.display());
    }
    if !sent.is_empty() && std::env::var_os("KEYSTONE_LOAD_HOLD").is_some() {
        let pids: Vec<String> = (0..4)
            .filter_map(|i| net.pid(i))
            .map(|p| p.to_string())
            .collect();
        eprintln!("holding the nodes for inspection: pids {}", pids.join(" "));
        std::thread::sleep(Duration::from_secs(300));
    }
    if !sent.is_empty() {
        // Something was not committed: show what each node said last.
        for i in 0..4 {
            let log = std::fs::read_to_string(dir.path().join(format!("node{i}.log")))
                .unwrap_or_default();
            let tail: Vec<&str> = log
                .lines()
                .filter(|l| !l.contains("committed block"))
                .collect();
            eprintln!(
                "--- node{i} (running: {}, height {:?}) ---",
                net.is_running(i),
                net.height(i)
            );
            if let Some(l) = log.lines().rev().find(|l| l.contains("committed block")) {
                eprintln!("{l}");
            }
            for l in &tail[tail.len().saturating_sub(8)..] {
                eprintln!("{l}");
            }
        }
    }
}

/// Nanoseconds since the epoch of an RFC 3339 UTC time (`2026-11-24T20:59:46.65649751Z`).
fn time_ns(s: &str) -> Result<i128, ()> {
    let (date, rest) = s.split_once('T').ok_or(())?;
    let rest = rest.strip_suffix('Z').ok_or(())?;
    let (hms, frac) = rest.split_once('.').unwrap_or((rest, "0"));
    let d: Vec<i64> = date
        .split('-')
        .map(|x| x.parse().map_err(|_| ()))
        .collect::<Result<_, _>>()?;
    let t: Vec<i64> = hms
        .split(':')
        .map(|x| x.parse().map_err(|_| ()))
        .collect::<Result<_, _>>()?;
    if d.len() != 3 || t.len() != 3 {
        return Err(());
    }
    // Days from civil (Howard Hinnant's algorithm).
    let (y, m, day) = (d[0] - i64::from(d[1] <= 2), d[1], d[2]);
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let frac_ns: i128 = format!("{frac:0<9}")[..9].parse().map_err(|_| ())?;
    Ok((days * 86_400 + t[0] * 3600 + t[1] * 60 + t[2]) as i128 * 1_000_000_000 + frac_ns)
}
