//! Block store figures: storing a block's results with its transaction and event index, and
//! searching that index, on a real redb file.
//!
//! ```text
//! cargo bench -p keystone-consensus-driver --bench block_store
//! ```
//!
//! Each height holds `KEYSTONE_BENCH_TXS` (2,000 by default) bank sends from 32 accounts to 32
//! others, each with the events the built-in application emits for a send with a fee (30
//! indexed attributes, three of them unique to the transaction: its hash, its signature and
//! its account/sequence). `KEYSTONE_BENCH_HEIGHTS` (30 by default) heights are stored, each in
//! one durable write as the node does; the figures are the median, mean (per transaction too)
//! and longest time per height — the index's entries move to its main tables every 32 heights,
//! in the write of that height — and the time of `tx_search` queries over what was stored.

use keystone_consensus_driver::block_store::BlockStore;
use keystone_consensus_driver::event_query::Query;
use keystone_proto::abci::{Event, EventAttribute, ExecTxResult, ResponseFinalizeBlock};
use std::time::Instant;

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn event(kind: &str, attrs: &[(&str, String)]) -> Event {
    Event {
        r#type: kind.into(),
        attributes: attrs
            .iter()
            .map(|(k, v)| EventAttribute {
                key: (*k).into(),
                value: v.clone(),
                index: true,
            })
            .collect(),
    }
}

/// A deterministic stand-in for random bytes (hashes, signatures).
fn noise(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// The events of a fee-paying bank send, as the application emits them.
fn send_events(n: u64) -> Vec<Event> {
    use base64::Engine as _;
    let from = format!("cosmos1sender{:033}", n % 32);
    let to = format!("cosmos1recipient{:030}", (n / 32) % 32);
    let collector = "cosmos17xpfvakm2amg962yls6f84z3kell8c5lserqta".to_string();
    let fee = "500stake".to_string();
    let amount = "1stake".to_string();
    let idx = "0".to_string();
    vec![
        event(
            "coin_spent",
            &[("spender", from.clone()), ("amount", fee.clone())],
        ),
        event(
            "coin_received",
            &[("receiver", collector.clone()), ("amount", fee.clone())],
        ),
        event(
            "transfer",
            &[
                ("recipient", collector),
                ("sender", from.clone()),
                ("amount", fee.clone()),
            ],
        ),
        event("message", &[("sender", from.clone())]),
        event("tx", &[("fee", fee), ("fee_payer", from.clone())]),
        event("tx", &[("acc_seq", format!("{from}/{}", n / 32))]),
        event(
            "tx",
            &[(
                "signature",
                base64::engine::general_purpose::STANDARD.encode(noise(n, 64)),
            )],
        ),
        event(
            "message",
            &[
                ("action", "/cosmos.bank.v1beta1.MsgSend".to_string()),
                ("sender", from.clone()),
                ("module", "bank".to_string()),
                ("msg_index", idx.clone()),
            ],
        ),
        event(
            "coin_spent",
            &[
                ("spender", from.clone()),
                ("amount", amount.clone()),
                ("msg_index", idx.clone()),
            ],
        ),
        event(
            "coin_received",
            &[
                ("receiver", to.clone()),
                ("amount", amount.clone()),
                ("msg_index", idx.clone()),
            ],
        ),
        event(
            "transfer",
            &[
                ("recipient", to),
                ("sender", from.clone()),
                ("amount", amount),
                ("msg_index", idx.clone()),
            ],
        ),
        event("message", &[("sender", from), ("msg_index", idx)]),
    ]
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let per_block = env_num("KEYSTONE_BENCH_TXS", 2_000);
    let heights = env_num("KEYSTONE_BENCH_HEIGHTS", 30);
    let dir = tempfile::tempdir().expect("temp dir");
    let store = BlockStore::open(&dir.path().join("blockstore.redb")).expect("open");
    let mut save_ms = Vec::new();
    let mut n = 0u64;
    for h in 1..=heights {
        let txs: Vec<Vec<u8>> = (0..per_block).map(|i| noise(n + i, 250)).collect();
        let res = ResponseFinalizeBlock {
            tx_results: (0..per_block)
                .map(|i| ExecTxResult {
                    events: send_events(n + i),
                    gas_wanted: 200_000,
                    gas_used: 60_000,
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        };
        n += per_block;
        let t = Instant::now();
        store.save_results(h, &txs, &res, None).expect("save");
        save_ms.push(t.elapsed().as_secs_f64() * 1e3);
    }
    let mean = save_ms.iter().sum::<f64>() / save_ms.len() as f64;
    let max = save_ms.iter().copied().fold(0.0, f64::max);
    let save = median(&mut save_ms);
    let search = |q: &str| -> (usize, f64) {
        let q: Query = q.parse().expect("query");
        let t = Instant::now();
        let found = store.search_txs(&q).expect("search");
        (found.len(), t.elapsed().as_secs_f64() * 1e3)
    };
    let (by_sender, sender_ms) =
        search("message.sender='cosmos1sender000000000000000000000000000000007'");
    let (at_height, height_ms) = search(&format!("tx.height={}", heights / 2));
    let (both, both_ms) = search(&format!(
        "transfer.recipient='cosmos1recipient000000000000000000000000000003' AND tx.height>{}",
        heights - 3
    ));
    println!(
        "block store: {heights} heights x {per_block} txs (30 indexed attributes each); save_results (durable) per height: median {save:.1} ms, mean {mean:.1} ms ({:.1} us per tx), max {max:.1} ms",
        mean * 1e3 / per_block as f64
    );
    println!(
        "tx_search: message.sender (one of 32) {by_sender} found in {sender_ms:.1} ms; tx.height {at_height} found in {height_ms:.1} ms; transfer.recipient AND tx.height> {both} found in {both_ms:.1} ms"
    );
}
