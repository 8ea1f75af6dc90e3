//! Store figures: commit time for blocks of 10,000 writes and proof time, on a real redb file.
//!
//! `cargo bench -p keystone-store` (release build; prints the figures).

use keystone_store::Store;
use std::time::Instant;

fn main() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(dir.path().join("state.redb")).expect("open");
    let blocks = 10u64;
    let writes = 10_000u64;
    let mut prepare_ms = Vec::new();
    let mut commit_ms = Vec::new();
    for v in 1..=blocks {
        // From the second block on, half the writes overwrite keys 0..5000 and half add new
        // keys; the first block only adds.
        let changes: Vec<(Vec<u8>, Option<Vec<u8>>)> = (0..writes)
            .map(|i| {
                let k = if v > 1 && i % 2 == 0 {
                    i / 2
                } else {
                    v * writes + i
                };
                (
                    format!("bank/balances/cosmos1{k:038}/stake").into_bytes(),
                    Some(format!("{}", v * 1_000_000 + i).into_bytes()),
                )
            })
            .collect();
        let t = Instant::now();
        let p = store.prepare(v, changes).expect("prepare");
        prepare_ms.push(t.elapsed().as_secs_f64() * 1e3);
        let t = Instant::now();
        store.commit(p).expect("commit");
        commit_ms.push(t.elapsed().as_secs_f64() * 1e3);
    }
    let proofs = 2_000u64;
    let t = Instant::now();
    for i in 0..proofs {
        let k = format!("bank/balances/cosmos1{i:038}/stake");
        let (v, _proof) = store.get_with_proof(k.as_bytes(), blocks).expect("proof");
        assert!(v.is_some());
    }
    let proof_us = t.elapsed().as_secs_f64() * 1e6 / proofs as f64;
    let absent = |from: u64, n: u64| {
        for i in from..from + n {
            let k = format!("absent/{i}");
            let (v, _proof) = store.get_with_proof(k.as_bytes(), blocks).expect("proof");
            assert!(v.is_none());
        }
    };
    let t = Instant::now();
    absent(0, proofs);
    let absent_us = t.elapsed().as_secs_f64() * 1e6 / proofs as f64;
    // Readers run side by side (the RPC, REST and gRPC servers each read on their own
    // threads): the same proofs over every core.
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()) as u64;
    let t = Instant::now();
    std::thread::scope(|s| {
        for th in 0..threads {
            let absent = &absent;
            s.spawn(move || absent(th * proofs, proofs));
        }
    });
    let absent_parallel_per_s = (threads * proofs) as f64 / t.elapsed().as_secs_f64();
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let total: Vec<f64> = prepare_ms
        .iter()
        .zip(&commit_ms)
        .map(|(p, c)| p + c)
        .collect();
    println!(
        "store: {blocks} blocks x {writes} writes; prepare (root) median {:.1} ms, commit (fsynced redb txn) median {:.1} ms, prepare + commit median {:.1} ms; existence proof {:.0} us; absence proof {:.0} us ({:.0}/s on one thread, {:.0}/s on {threads} threads)",
        median(&mut prepare_ms),
        median(&mut commit_ms),
        median(&mut total.clone()),
        proof_us,
        absent_us,
        1e6 / absent_us,
        absent_parallel_per_s,
    );
}
