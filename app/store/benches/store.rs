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
    let t = Instant::now();
    for i in 0..proofs {
        let k = format!("absent/{i}");
        let (v, _proof) = store.get_with_proof(k.as_bytes(), blocks).expect("proof");
        assert!(v.is_none());
    }
    let absent_us = t.elapsed().as_secs_f64() * 1e6 / proofs as f64;
    let avg = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    println!(
        "store: {blocks} blocks x {writes} writes; prepare (root) avg {:.1} ms, commit (fsynced redb txn) avg {:.1} ms; existence proof {:.0} us; absence proof {:.0} us",
        avg(&prepare_ms),
        avg(&commit_ms),
        proof_us,
        absent_us
    );
}
