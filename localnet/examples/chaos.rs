//! Chaos on real processes (run by `localnet/chaos.sh`): 4 validators of `keystone start`
//! with `timeout_commit = "0s"` under a steady load of signed bank sends, while every few
//! seconds one random validator is killed with SIGKILL and restarted, and another is frozen
//! with SIGSTOP for a while and thawed with SIGCONT. At the end it checks, and prints:
//! - every restarted validator came back (reached the others' height within 60 s);
//! - block hash and app hash are equal on every node at every height;
//! - nobody signed twice: no two precommits of one validator for one height and round differ
//!   in any node's commits, no evidence was committed, no node logged an equivocation;
//! - every accepted transaction is in exactly one block, once.
//!
//! Exit status 0 when all hold. `KEYSTONE_CHAOS_MINUTES` (default 10), `KEYSTONE_CHAOS_SEED`
//! (default 1; the same seed picks the same victims in the same order),
//! `KEYSTONE_CHAOS_DIR` (keep the homes and logs there instead of a temporary directory).

use base64::Engine as _;
use keystone::client::Client;
use keystone_localnet::{free_base, keystone_bin, Localnet};
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const CHAIN: &str = "chaos-1";
const N: usize = 4;
const TIMEOUTS: [(&str, &str); 7] = [
    ("timeout_propose", "1s"),
    ("timeout_propose_delta", "200ms"),
    ("timeout_prevote", "300ms"),
    ("timeout_prevote_delta", "100ms"),
    ("timeout_precommit", "300ms"),
    ("timeout_precommit_delta", "100ms"),
    ("timeout_commit", "0s"),
];

/// A seeded xorshift: the same seed, the same victims.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn signal(pid: u32, sig: &str) {
    let _ = std::process::Command::new("kill")
        .args([sig, &pid.to_string()])
        .status();
}

fn log_tail(net: &Localnet, i: usize) -> String {
    let log = std::fs::read_to_string(net.dir().join(format!("node{i}.log"))).unwrap_or_default();
    log[log.len().saturating_sub(2000)..].to_string()
}

/// Accepted transactions (hash → sender) and the running flag, shared with the senders.
struct Load {
    accepted: Mutex<BTreeMap<[u8; 32], usize>>,
    running: AtomicBool,
}

/// Sender `i`: sends from node i's operator account to a fixed address, one tx at a time,
/// each to a random node, waiting for it to be committed (and resending the same bytes to
/// another node if it is not within 10 s — a killed node loses its mempool).
fn sender(
    i: usize,
    nodes: Vec<(u16, std::path::PathBuf, String, String)>,
    load: Arc<Load>,
    seed: u64,
) {
    let (_, home, name, address) = nodes[i].clone();
    let ring = keystone::keys::Keyring::new(&home, keystone::keys::Backend::Test);
    let Ok(secret) = ring.secret(&name) else {
        eprintln!("sender {i}: no key");
        return;
    };
    let Ok(from) = address.parse::<keystone_modules::Address>() else {
        return;
    };
    let to = keystone_modules::Address([0xc0 + i as u8; 20]);
    let fees: keystone_modules::Coins = "500stake".parse().expect("fees");
    let coins: keystone_modules::Coins = "1stake".parse().expect("coins");
    let clients: Vec<Client> = nodes
        .iter()
        .filter_map(|(rpc, ..)| Client::new(&format!("tcp://127.0.0.1:{rpc}")).ok())
        .collect();
    let mut rng = Rng(seed ^ (0x9e37_79b9 * (i as u64 + 1)));
    let mut account = None;
    while load.running.load(Ordering::SeqCst) {
        let c = &clients[rng.below(clients.len())];
        let (number, sequence) = match account {
            Some(a) => a,
            None => match keystone::tx::account_numbers(c, &from) {
                Ok(a) => a,
                Err(_) => {
                    std::thread::sleep(Duration::from_millis(200));
                    continue;
                }
            },
        };
        let Ok(tx) = keystone::tx::sign(
            &secret,
            keystone::tx::msg_send(&from, &to, &coins),
            "",
            &fees,
            200_000,
            CHAIN,
            number,
            sequence,
        ) else {
            return;
        };
        let hash = keystone_consensus_types::sha256(&tx).0;
        let b64 = base64::engine::general_purpose::STANDARD.encode(&tx);
        let mut committed = false;
        // Once accepted, a tx is seen through to its block even after the load stops.
        let give_up = Instant::now() + Duration::from_secs(60);
        while !committed && Instant::now() < give_up {
            let c = &clients[rng.below(clients.len())];
            match c.call("broadcast_tx_sync", json!({"tx": b64})) {
                Ok(v) if v["code"] == 0 => {
                    load.accepted.lock().expect("lock").insert(hash, i);
                }
                // Already in that node's cache or mempool: it was accepted before.
                Ok(v) if v["log"].as_str().is_some_and(|l| l.contains("already")) => {}
                // Refused (its sequence is used: committed already, or the account moved):
                // read the account again.
                Ok(_) => break,
                Err(_) => {
                    std::thread::sleep(Duration::from_millis(200));
                    continue;
                }
            }
            let wait_until = Instant::now() + Duration::from_secs(10);
            while Instant::now() < wait_until {
                let hex = hex::encode_upper(hash);
                let found = clients.iter().any(|c| {
                    c.call(
                        "tx",
                        json!({"hash": base64::engine::general_purpose::STANDARD.encode(hash)}),
                    )
                    .is_ok_and(|v| v["hash"] == hex.as_str())
                });
                if found {
                    committed = true;
                    break;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        if committed {
            account = Some((number, sequence + 1));
        } else {
            account = None;
        }
    }
}

fn main() {
    let minutes = env_num("KEYSTONE_CHAOS_MINUTES", 10);
    let seed = env_num("KEYSTONE_CHAOS_SEED", 1).max(1);
    let Some(bin) = keystone_bin() else {
        eprintln!("no keystone binary: run `cargo build --release -p keystone` first");
        std::process::exit(2);
    };
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = std::env::var("KEYSTONE_CHAOS_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| tmp.path().to_path_buf());
    let base = free_base(60).expect("a free port range on 127.0.0.1");
    let mut net = Localnet::init(&bin, &dir, N, CHAIN, base, &TIMEOUTS).expect("init");
    net.start_all().expect("start");
    net.wait_height(&[0, 1, 2, 3], 2, 60)
        .expect("the localnet runs");
    println!(
        "chaos: {N} validators, timeout_commit 0s, {minutes} min, seed {seed}, homes in {}",
        dir.display()
    );

    let load = Arc::new(Load {
        accepted: Mutex::new(BTreeMap::new()),
        running: AtomicBool::new(true),
    });
    let nodes: Vec<_> = net
        .nodes
        .iter()
        .map(|n| (n.rpc, n.home.clone(), n.name.clone(), n.address.clone()))
        .collect();
    let senders: Vec<_> = (0..N)
        .map(|i| {
            let (nodes, load) = (nodes.clone(), load.clone());
            std::thread::spawn(move || sender(i, nodes, load, seed))
        })
        .collect();

    let mut rng = Rng(seed.wrapping_mul(0x2545_f491_4f6c_dd1d) | 1);
    let end = Instant::now() + Duration::from_secs(minutes * 60);
    let (mut kills, mut freezes, mut failures) = (0u32, 0u32, Vec::<String>::new());
    while Instant::now() < end {
        let victim = rng.below(N);
        let frozen = (victim + 1 + rng.below(N - 1)) % N;
        // Freeze one for 2 s while another is killed and restarted.
        let fpid = net.pid(frozen);
        if let Some(p) = fpid {
            signal(p, "-STOP");
            freezes += 1;
        }
        std::thread::sleep(Duration::from_millis(200 + rng.below(1500) as u64));
        net.kill(victim);
        kills += 1;
        std::thread::sleep(Duration::from_millis(300 + rng.below(1000) as u64));
        if let Some(p) = fpid {
            signal(p, "-CONT");
        }
        net.start(victim).expect("restart");
        // It must come back: reach the height the others had when it returned.
        let top = (0..N)
            .filter(|&i| i != victim)
            .filter_map(|i| net.height(i))
            .max()
            .unwrap_or(0);
        if let Err(e) = net.wait_height(&[victim], top, 60) {
            failures.push(format!(
                "node {victim} did not come back after kill {kills}: {e}"
            ));
            eprintln!(
                "{}\n{}",
                failures.last().expect("pushed"),
                log_tail(&net, victim)
            );
            break;
        }
        if !net.is_running(victim) {
            failures.push(format!(
                "node {victim} exited after kill {kills}:\n{}",
                log_tail(&net, victim)
            ));
            break;
        }
        std::thread::sleep(Duration::from_millis(1000 + rng.below(2000) as u64));
    }
    load.running.store(false, Ordering::SeqCst);
    for s in senders {
        let _ = s.join();
    }
    // Everyone to one height, then the checks.
    let top = (0..N).filter_map(|i| net.height(i)).max().unwrap_or(0);
    if let Err(e) = net.wait_height(&[0, 1, 2, 3], top, 120) {
        failures.push(format!("nodes did not converge: {e}"));
    }
    let upto = (0..N).filter_map(|i| net.height(i)).min().unwrap_or(0);
    println!("chaos: {kills} kills, {freezes} freezes; checking heights 1..={upto}");

    let mut in_blocks: BTreeMap<[u8; 32], u32> = BTreeMap::new();
    for h in 1..=upto {
        let mut first: Option<(String, String)> = None;
        for i in 0..N {
            let b = net.rpc(i, "block", json!({"height": h.to_string()}));
            let Some(b) = b else {
                failures.push(format!("node {i} has no block {h}"));
                continue;
            };
            let id = (
                b["block_id"]["hash"].as_str().unwrap_or("").to_string(),
                b["block"]["header"]["app_hash"]
                    .as_str()
                    .unwrap_or("")
                    .to_string(),
            );
            match &first {
                None => first = Some(id),
                Some(f) if *f != id => failures.push(format!("node {i} differs at height {h}")),
                _ => {}
            }
            if i == 0 {
                if b["block"]["evidence"]["evidence"]
                    .as_array()
                    .is_some_and(|e| !e.is_empty())
                {
                    failures.push(format!("evidence committed at height {h}"));
                }
                for tx in b["block"]["data"]["txs"].as_array().into_iter().flatten() {
                    if let Some(bytes) = tx
                        .as_str()
                        .and_then(|s| base64::engine::general_purpose::STANDARD.decode(s).ok())
                    {
                        *in_blocks
                            .entry(keystone_consensus_types::sha256(&bytes).0)
                            .or_default() += 1;
                    }
                }
            }
        }
    }
    let (precommits, conflicts) = net.double_signs(&[0, 1, 2, 3], upto, &[]);
    failures.extend(conflicts);
    for i in 0..N {
        let log =
            std::fs::read_to_string(net.dir().join(format!("node{i}.log"))).unwrap_or_default();
        if log.contains("equivocation seen") {
            failures.push(format!("node {i} saw an equivocation"));
        }
    }
    let accepted = load.accepted.lock().expect("lock").clone();
    let senders_seen: BTreeSet<usize> = accepted.values().copied().collect();
    let missing = accepted
        .keys()
        .filter(|h| !in_blocks.contains_key(*h))
        .count();
    let twice = in_blocks.values().filter(|&&n| n > 1).count();
    if missing > 0 {
        failures.push(format!("{missing} accepted transactions are in no block"));
    }
    if twice > 0 {
        failures.push(format!("{twice} transactions are in more than one block"));
    }
    println!(
        "chaos: {} txs accepted from {} senders, {} in blocks, {missing} missing, {twice} twice; {} precommits checked",
        accepted.len(),
        senders_seen.len(),
        in_blocks.len(),
        precommits
    );
    if failures.is_empty() {
        println!("chaos: PASS");
    } else {
        for f in &failures {
            println!("chaos: FAIL: {f}");
        }
        std::process::exit(1);
    }
}
