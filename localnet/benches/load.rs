//! Load and latency of a 4-validator localnet on this machine.
//!
//! Signed bank sends, all signed before the run starts, are broadcast at a steady offered rate
//! with `broadcast_tx_sync` over several keep-alive connections to each of the four nodes (one
//! sender account per connection). It prints committed tx/s, p50/p99 latency from broadcast to
//! commit (seen in node 0's blocks), the block interval, every node's peak RSS, how many
//! broadcasts the nodes shed with "mempool is full" (the sender backs off 20 ms and retries,
//! as a client would), whether every account's sequence reached its last tx (every accepted tx
//! accounted for), and the p50/p99 of RPC `status` and of `abci_query` for a balance with its
//! proof, asked of node 1 every 10 ms while the load runs. In the same run, before the nodes
//! start, it measures the two ceilings the figures are read against: this machine's secp256k1
//! verifications per second on one core and on every core, and the generator's own rate against
//! a server that only accepts (so the generator is known not to be the bottleneck).
//!
//! ```text
//! cargo build --release -p keystone
//! KEYSTONE_LOAD_RATE=4000 KEYSTONE_LOAD_SECS=20 cargo bench -p keystone-localnet --bench load
//! ```
//!
//! `KEYSTONE_LOAD_CONNS` sets the connections (and accounts) per node, 4 by default.
//! With `KEYSTONE_LOAD_APP=kvstore-py` the four nodes replicate the Python example app
//! (`examples/kvstore-py`, one process beside each node, `keystone start --proxy-app`) and the
//! load is its `key=value` transactions instead of signed sends.

use base64::Engine as _;
use keystone::client::Client;
use keystone_localnet::{keystone_bin, Localnet, FAST_TIMEOUTS};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

/// Each generated account's genesis balance: enough for every fee and send of a long run.
const ACCOUNT_STAKE: u64 = 1_000_000_000_000;

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// secp256k1 (k256) verifications per second, over one second, on `threads` threads at once;
/// with `decompress`, each from the key's compressed bytes, as a node meets it in a tx.
fn verifications_per_second(threads: usize, decompress: bool) -> f64 {
    use k256::ecdsa::signature::{Signer, Verifier};
    use k256::ecdsa::{Signature, SigningKey};
    let key = SigningKey::from_slice(&[7; 32]).expect("a valid secp256k1 key");
    let msg = [42u8; 200];
    let sig: Signature = key.sign(&msg);
    let parsed = *key.verifying_key();
    let public = parsed.to_encoded_point(true);
    let start = Instant::now();
    let n: u64 = std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    let mut n = 0u64;
                    while start.elapsed() < Duration::from_secs(1) {
                        for _ in 0..100 {
                            let vk = if decompress {
                                k256::ecdsa::VerifyingKey::from_sec1_bytes(public.as_bytes())
                                    .expect("a valid key")
                            } else {
                                parsed
                            };
                            assert!(vk.verify(&msg, &sig).is_ok());
                        }
                        n += 100;
                    }
                    n
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().expect("verifier"))
            .sum()
    });
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

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// A transaction ready to go: its hash (as blocks name it) and its whole JSON-RPC request.
struct Prepared {
    hash: [u8; 32],
    body: String,
}

impl Prepared {
    fn new(tx: &[u8]) -> Prepared {
        Prepared {
            hash: keystone_consensus_types::sha256(tx).0,
            body: serde_json::json!({
                "jsonrpc": "2.0",
                "id": 1,
                "method": "broadcast_tx_sync",
                "params": {"tx": base64::engine::general_purpose::STANDARD.encode(tx)},
            })
            .to_string(),
        }
    }
}

/// The head of an HTTP/1.1 message: its Content-Length (0 if none).
fn read_head(r: &mut BufReader<TcpStream>) -> std::io::Result<usize> {
    let eof = || std::io::Error::from(std::io::ErrorKind::UnexpectedEof);
    let mut line = String::new();
    if r.read_line(&mut line)? == 0 {
        return Err(eof());
    }
    let mut len = 0;
    loop {
        line.clear();
        if r.read_line(&mut line)? == 0 {
            return Err(eof());
        }
        let l = line.trim_end();
        if l.is_empty() {
            return Ok(len);
        }
        if let Some((k, v)) = l.split_once(':') {
            if k.eq_ignore_ascii_case("content-length") {
                len = v.trim().parse().map_err(|_| {
                    std::io::Error::new(std::io::ErrorKind::InvalidData, "content-length")
                })?;
            }
        }
    }
}

/// A keep-alive HTTP/1.1 connection that posts JSON-RPC requests one after another.
struct Conn {
    addr: String,
    stream: Option<BufReader<TcpStream>>,
}

impl Conn {
    fn new(addr: String) -> Conn {
        Conn { addr, stream: None }
    }

    /// The answer's body; after a failure the next post opens a new connection.
    fn post(&mut self, body: &str) -> std::io::Result<Vec<u8>> {
        let r = self.exchange(body);
        if r.is_err() {
            self.stream = None;
        }
        r
    }

    fn exchange(&mut self, body: &str) -> std::io::Result<Vec<u8>> {
        if self.stream.is_none() {
            let s = TcpStream::connect(&self.addr)?;
            s.set_nodelay(true)?;
            s.set_read_timeout(Some(Duration::from_secs(30)))?;
            self.stream = Some(BufReader::new(s));
        }
        let r = self.stream.as_mut().expect("connected just above");
        let msg = format!(
            "POST / HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            self.addr,
            body.len()
        );
        r.get_mut().write_all(msg.as_bytes())?;
        let len = read_head(r)?;
        let mut answer = vec![0; len];
        r.read_exact(&mut answer)?;
        Ok(answer)
    }
}

/// A JSON-RPC server on 127.0.0.1 that answers every request with an accepting
/// `broadcast_tx_sync` result without looking at it: what the generator alone can send.
fn accept_only_server() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind on loopback");
    let addr = listener.local_addr().expect("bound").to_string();
    std::thread::spawn(move || {
        for s in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let reply = r#"{"jsonrpc":"2.0","id":1,"result":{"code":0,"data":"","log":"","codespace":"","hash":""}}"#;
                let msg = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{reply}",
                    reply.len()
                );
                let _ = s.set_nodelay(true);
                let Ok(mut w) = s.try_clone() else { return };
                let mut r = BufReader::new(s);
                while let Ok(len) = read_head(&mut r) {
                    let mut body = vec![0; len];
                    if r.read_exact(&mut body).is_err() || w.write_all(msg.as_bytes()).is_err() {
                        return;
                    }
                }
            });
        }
    });
    addr
}

/// What one sender's broadcasts came to.
#[derive(Default)]
struct Sent {
    accepted: u64,
    /// "mempool is full" answers (each retried after a pause).
    full: u64,
    /// Other refusals and transport errors.
    refused: u64,
    first_refusal: Option<String>,
}

enum Verdict {
    Accepted,
    Full,
    Refused(String),
}

fn verdict(answer: &[u8]) -> Verdict {
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(answer) else {
        return Verdict::Refused(String::from_utf8_lossy(answer).into_owned());
    };
    // CometBFT's words, in the error's data (as CometBFT answers) or in a CheckTx log.
    let why = match (v.get("error"), v["result"]["code"].as_u64()) {
        (None, Some(0)) => return Verdict::Accepted,
        (Some(e), _) => e["data"].as_str().unwrap_or_default().to_string(),
        (None, _) => v["result"]["log"].as_str().unwrap_or_default().to_string(),
    };
    if why.starts_with("mempool is full") {
        Verdict::Full
    } else {
        Verdict::Refused(v.to_string())
    }
}

/// Broadcast `txs` over one connection to `addr`, the k-th at `start + k × interval` (or as
/// soon as the one before it is answered, when behind), until all are sent or `stop`.
fn send(
    addr: String,
    txs: &[Prepared],
    start: Instant,
    interval: Duration,
    stop: Instant,
    out: Option<&mpsc::Sender<([u8; 32], Instant)>>,
) -> Sent {
    let mut conn = Conn::new(addr);
    let mut report = Sent::default();
    for (k, tx) in txs.iter().enumerate() {
        let at = start + interval * k as u32;
        if let Some(wait) = at.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        loop {
            if Instant::now() > stop {
                return report;
            }
            let sent = Instant::now();
            let why = match conn.post(&tx.body).map(|a| verdict(&a)) {
                Ok(Verdict::Accepted) => {
                    report.accepted += 1;
                    if let Some(out) = out {
                        let _ = out.send((tx.hash, sent));
                    }
                    break;
                }
                Ok(Verdict::Full) => {
                    report.full += 1;
                    std::thread::sleep(Duration::from_millis(20));
                    continue;
                }
                Ok(Verdict::Refused(why)) => why,
                Err(e) => e.to_string(),
            };
            report.refused += 1;
            report
                .first_refusal
                .get_or_insert_with(|| format!("tx {k}: {}", &why[..why.len().min(300)]));
            break;
        }
    }
    report
}

/// One kvstore-py process per node (killed when the returned children drop), and a genesis
/// naming the nodes' keys as validators with an empty app state; returns each app's address.
fn start_kvstore(net: &Localnet, dir: &std::path::Path) -> Vec<(KillOnDrop, String)> {
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
            BufReader::new(out)
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

/// A sender account made for the run: its key, address and the node it sends to.
struct Account {
    secret: [u8; 32],
    address: keystone_modules::Address,
    node: usize,
}

/// `n` accounts (deterministic keys), spread over the four nodes in turn.
fn accounts(n: usize) -> Vec<Account> {
    (0..n)
        .map(|j| {
            let mut secret = [0x5a; 32];
            secret[30..].copy_from_slice(&(j as u16).to_be_bytes());
            let key = k256::ecdsa::SigningKey::from_slice(&secret).expect("a valid secp256k1 key");
            let public = key.verifying_key().to_encoded_point(true);
            Account {
                secret,
                address: keystone_app::tx::secp256k1_address(public.as_bytes()),
                node: j % 4,
            }
        })
        .collect()
}

/// Give each account `ACCOUNT_STAKE` in the genesis every node shares, as
/// `keystone genesis add-genesis-account` does.
fn fund_in_genesis(net: &Localnet, accounts: &[Account]) {
    let first = keystone::home::Home(net.nodes[0].home.clone());
    let mut doc = keystone::home::read_genesis(&first).expect("node 0's genesis");
    let coins: keystone_modules::Coins = format!("{ACCOUNT_STAKE}stake").parse().expect("coins");
    for a in accounts {
        keystone::home::add_genesis_account(&mut doc, &a.address, &coins).expect("a new account");
    }
    for node in &net.nodes {
        keystone::home::write_genesis(&keystone::home::Home(node.home.clone()), &doc)
            .expect("genesis with the load accounts");
    }
}

/// Sign `per_account` sends for every account, on every core.
fn sign_all(accounts: &[Account], numbers: &[u64], per_account: u64) -> Vec<Vec<Prepared>> {
    let fees: keystone_modules::Coins = "500stake".parse().expect("fees");
    let coins: keystone_modules::Coins = "1stake".parse().expect("coins");
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let mut out: Vec<Vec<Prepared>> = accounts.iter().map(|_| Vec::new()).collect();
    std::thread::scope(|s| {
        let chunk = accounts.len().div_ceil(threads).max(1);
        for (t, slots) in out.chunks_mut(chunk).enumerate() {
            let fees = &fees;
            let coins = &coins;
            s.spawn(move || {
                for (o, slot) in slots.iter_mut().enumerate() {
                    let j = t * chunk + o;
                    let a = &accounts[j];
                    let to = keystone_modules::Address([0xb0 + (j % 16) as u8; 20]);
                    *slot = (0..per_account)
                        .map(|k| {
                            let tx = keystone::tx::sign(
                                &a.secret,
                                keystone::tx::msg_send(&a.address, &to, coins),
                                "",
                                fees,
                                200_000,
                                "load-1",
                                numbers[j],
                                k,
                            )
                            .expect("sign");
                            Prepared::new(&tx)
                        })
                        .collect();
                }
            });
        }
    });
    out
}

/// Latencies of `status` and of a balance `abci_query` with its proof, asked of `rpc` every
/// 10 ms until `stop`.
fn read_while(
    rpc: u16,
    balance_key: String,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<(Vec<Duration>, Vec<Duration>, u64)> {
    std::thread::spawn(move || {
        let client = Client::new(&format!("tcp://127.0.0.1:{rpc}")).expect("client");
        let (mut status, mut query, mut failed) = (Vec::new(), Vec::new(), 0u64);
        while !stop.load(Ordering::Relaxed) {
            let t = Instant::now();
            match client.call("status", serde_json::json!({})) {
                Ok(_) => status.push(t.elapsed()),
                Err(_) => failed += 1,
            }
            let t = Instant::now();
            match client.query("/store/key", balance_key.as_bytes(), 0, true) {
                Ok(r) if r["proofOps"]["ops"][0]["data"].is_string() => query.push(t.elapsed()),
                _ => failed += 1,
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        status.sort();
        query.sort();
        (status, query, failed)
    })
}

fn main() {
    let rate = env_num("KEYSTONE_LOAD_RATE", 300).max(1);
    let secs = env_num("KEYSTONE_LOAD_SECS", 20).max(1);
    let conns = env_num("KEYSTONE_LOAD_CONNS", 4).clamp(1, 64) as usize;
    let Some(bin) = keystone_bin() else {
        eprintln!(
            "no keystone binary next to this bench: run `cargo build --release -p keystone` first"
        );
        return;
    };
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let one_core = verifications_per_second(1, false);
    let all_cores = verifications_per_second(cores, false);
    let all_cores_decompressing = verifications_per_second(cores, true);
    let kvstore = std::env::var("KEYSTONE_LOAD_APP").is_ok_and(|a| a == "kvstore-py");

    let dir = tempfile::tempdir().expect("tmp");
    let base = keystone_localnet::free_base(40).expect("a free port range on 127.0.0.1");
    let mut net = Localnet::init(&bin, dir.path(), 4, "load-1", base, &FAST_TIMEOUTS)
        .expect("testnet init-files");
    let accounts = accounts(4 * conns);
    let total = rate * secs;
    let per_account = total.div_ceil(accounts.len() as u64);
    let apps = if kvstore {
        start_kvstore(&net, dir.path())
    } else {
        fund_in_genesis(&net, &accounts);
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
    let watcher = Client::new(&format!("tcp://127.0.0.1:{}", net.nodes[0].rpc)).expect("client");

    let txs: Vec<Vec<Prepared>> = if kvstore {
        (0..accounts.len())
            .map(|j| {
                (0..per_account)
                    .map(|k| Prepared::new(format!("s{j}k{k}=value{k}").as_bytes()))
                    .collect()
            })
            .collect()
    } else {
        let numbers: Vec<u64> = accounts
            .iter()
            .map(|a| {
                keystone::tx::account_numbers(&watcher, &a.address)
                    .expect("a load account in genesis")
                    .0
            })
            .collect();
        let t = Instant::now();
        let txs = sign_all(&accounts, &numbers, per_account);
        eprintln!(
            "signed {} txs in {:.1} s",
            per_account * accounts.len() as u64,
            t.elapsed().as_secs_f64()
        );
        txs
    };

    // The generator's own ceiling: the same connections and requests against a server that
    // only accepts, for one second, with the nodes idle.
    let ceiling = {
        let addr = accept_only_server();
        let start = Instant::now();
        let stop = start + Duration::from_secs(1);
        let sent: u64 = std::thread::scope(|s| {
            let workers: Vec<_> = txs
                .iter()
                .map(|t| {
                    let addr = addr.clone();
                    s.spawn(move || send(addr, t, start, Duration::ZERO, stop, None).accepted)
                })
                .collect();
            workers.into_iter().map(|w| w.join().expect("sender")).sum()
        });
        sent as f64 / start.elapsed().as_secs_f64()
    };

    // Blocks from here on are watched (taken before any tx is sent).
    let mut next = net.height(0).unwrap_or(1) + 1;
    let interval = Duration::from_secs_f64(accounts.len() as f64 / rate as f64);
    let (sent_tx, sent_rx) = mpsc::channel::<([u8; 32], Instant)>();
    let start = Instant::now() + Duration::from_millis(500);
    let stop_sending = start + Duration::from_secs(secs * 3 + 30);
    let mut senders = Vec::new();
    for (a, t) in accounts.iter().zip(txs) {
        let addr = format!("127.0.0.1:{}", net.nodes[a.node].rpc);
        let sent_tx = sent_tx.clone();
        senders.push(std::thread::spawn(move || {
            send(addr, &t, start, interval, stop_sending, Some(&sent_tx))
        }));
    }
    drop(sent_tx);
    let stop_reading = Arc::new(AtomicBool::new(false));
    let reader = read_while(
        net.nodes[1].rpc,
        keystone_modules::bank::state_key::balance(&accounts[0].address, "stake"),
        stop_reading.clone(),
    );

    // Watch node 0's blocks: when each tx was committed, and how often blocks with txs come.
    // A tx can be in a block before its sender's broadcast call has returned, so commits of
    // txs not yet known as sent are kept until they are.
    let mut sent: BTreeMap<[u8; 32], Instant> = BTreeMap::new();
    let mut committed_early: BTreeMap<[u8; 32], Instant> = BTreeMap::new();
    let mut latencies = Vec::new();
    let mut block_times: Vec<i128> = Vec::new();
    let mut observed_blocks: Vec<Instant> = Vec::new();
    let mut first_commit: Option<Instant> = None;
    let mut last_commit = Instant::now();
    let deadline = stop_sending + Duration::from_secs(30);
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
    stop_reading.store(true, Ordering::Relaxed);
    let reports: Vec<Sent> = senders
        .into_iter()
        .map(|s| s.join().unwrap_or_default())
        .collect();
    let (reads_status, reads_query, reads_failed) = reader.join().unwrap_or_default();
    let accepted: u64 = reports.iter().map(|r| r.accepted).sum();
    let full: u64 = reports.iter().map(|r| r.full).sum();
    let refused: u64 = reports.iter().map(|r| r.refused).sum();
    for (j, r) in reports.iter().enumerate() {
        if let Some(why) = &r.first_refusal {
            eprintln!("sender {j}: {} refused; first: {why}", r.refused);
        }
    }
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
    // The block store serves a block before its state is committed: read the sequences once
    // the next height is stored too.
    let settled = Instant::now() + Duration::from_secs(10);
    while net.height(0).is_some_and(|h| h < next) && Instant::now() < settled {
        std::thread::sleep(Duration::from_millis(20));
    }
    // Each account's sequence at node 0 against what it had accepted: every accepted tx of a
    // signed account is executed exactly when the sequences match.
    let short: Vec<String> = if kvstore {
        Vec::new()
    } else {
        accounts
            .iter()
            .zip(&reports)
            .enumerate()
            .filter_map(
                |(j, (a, r))| match keystone::tx::account_numbers(&watcher, &a.address) {
                    Ok((_, seq)) if seq == r.accepted => None,
                    Ok((_, seq)) => Some(format!(
                        "account {j}: sequence {seq}, accepted {}",
                        r.accepted
                    )),
                    Err(e) => Some(format!("account {j}: {e}")),
                },
            )
            .collect()
    };
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
        "MsgSends"
    };
    println!(
        "load: 4 validators, offered {rate} tx/s for {secs} s ({} {what} from {} accounts, {conns} keep-alive connections per node)",
        per_account * accounts.len() as u64,
        accounts.len()
    );
    println!(
        "  accepted {accepted}, shed with \"mempool is full\" {full} times (retried), refused {refused}"
    );
    println!(
        "  committed {committed} of the accepted (not seen committed {}, of which {found_late} found by hash later) => {:.0} committed tx/s over {:.1} s",
        sent.len(),
        committed as f64 / span,
        span
    );
    println!(
        "  latency broadcast→commit: p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms",
        ms(percentile(&latencies, 0.5)),
        ms(percentile(&latencies, 0.99)),
        ms(latencies.last().copied().unwrap_or_default())
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
    if !kvstore {
        if short.is_empty() {
            println!(
                "  every account's sequence equals the txs it had accepted ({} accounts)",
                accounts.len()
            );
        } else {
            println!(
                "  accounts short of their accepted txs: {}",
                short.join("; ")
            );
        }
    }
    println!(
        "  reads at node 1 during the load: status p50 {:.1} ms p99 {:.1} ms (n {}); abci_query balance with proof p50 {:.1} ms p99 {:.1} ms (n {}); failed {reads_failed}",
        ms(percentile(&reads_status, 0.5)),
        ms(percentile(&reads_status, 0.99)),
        reads_status.len(),
        ms(percentile(&reads_query, 0.5)),
        ms(percentile(&reads_query, 0.99)),
        reads_query.len()
    );
    println!(
        "  secp256k1 verifications/s (k256): {one_core:.0} on one core, {all_cores:.0} on {cores} cores ({all_cores_decompressing:.0} decompressing the key each time) => half of {cores} cores' over 4 nodes: {:.0} tx/s",
        all_cores / 4.0 / 2.0
    );
    println!("  generator ceiling against an accept-only server: {ceiling:.0} tx/s");
    if std::env::var_os("KEYSTONE_LOAD_KEEP").is_some() {
        let kept = dir.path().join("..").join("keystone-load-kept");
        let _ = std::fs::remove_dir_all(&kept);
        let _ = std::process::Command::new("cp")
            .arg("-r")
            .arg(dir.path())
            .arg(&kept)
            .status();
        eprintln!("kept the localnet's homes and logs in {}", kept.display());
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
