//! The production node under the simulator (`keystone_consensus_sim::real`): random hostile
//! scenarios — unequal powers, a double-signing validator, lossy, duplicating, reordering
//! links and partitions, crashes at durable-write boundaries and at random moments with the
//! WAL's last record possibly torn, hostile peers (floods, replays, re-timestamped and
//! far-future votes, block-sync lies, garbage), a slow disk and application — must keep
//! agreement, equal app hashes, validity, no honest double sign, no signer refusal, no honest
//! peer punished and every peer-fed queue within its bound, and commit every height after the
//! heal.
//!
//! 200 runs here (160 × 4, 40 × 7 validators). The long sweep (README, "Simulation"):
//! `cargo run --release -p keystone-consensus-sim --bin keystone-sim -- sweep --seeds 10000`.

use keystone_consensus_sim::real::{
    run_node_sim, Hostile, NodeReport, NodeScenario, NodeViolation,
};

fn sweep(n: usize, seeds: std::ops::Range<u64>) -> Vec<NodeReport> {
    let mut failures = Vec::new();
    let mut reports = Vec::new();
    for seed in seeds {
        let sc = NodeScenario::random(n, seed);
        match run_node_sim(&sc) {
            Ok(r) => {
                assert!(r.heights >= sc.heights, "seed {seed}: every height committed");
                reports.push(r);
            }
            Err(e) => failures.push(format!(
                "validators={n} seed={seed}: {}\n  replay: cargo run --release -p keystone-consensus-sim --bin keystone-sim -- replay {n} {seed}",
                e.0
            )),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    reports
}

#[test]
fn the_real_node_keeps_every_invariant_under_random_faults() {
    let mut reports = sweep(4, 0..160);
    reports.extend(sweep(7, 0..40));
    let runs = |f: fn(&NodeReport) -> bool| reports.iter().filter(|r| f(r)).count();
    // The sweep must exercise what it claims to.
    assert!(
        runs(|r| r.crashes_at_write > 0) >= 40,
        "crashes at durable writes"
    );
    assert!(
        runs(|r| r.crashes > r.crashes_at_write) >= 20,
        "crashes at random moments"
    );
    assert!(runs(|r| r.torn > 0) >= 1, "torn WAL records");
    assert!(
        runs(|r| r.hostile_disconnects > 0) >= 40,
        "hostile peers caught"
    );
    assert!(
        runs(|r| r.evidence_blocks > 0) >= 20,
        "double signs caught and committed"
    );
}

#[test]
fn a_seed_replays_to_the_same_events() {
    for seed in [3, 11, 29] {
        let sc = NodeScenario::random(4, seed);
        let trace = |r: Result<NodeReport, Box<(NodeViolation, NodeReport)>>| match r {
            Ok(r) => r.trace,
            Err(e) => e.1.trace,
        };
        let (a, b) = (trace(run_node_sim(&sc)), trace(run_node_sim(&sc)));
        assert_eq!(a, b, "seed {seed}: the same events both times");
    }
}

#[test]
fn the_memory_check_fails_when_a_peer_bound_is_removed() {
    // A peer flooding valid transactions, against nodes whose mempool takes everything.
    // Several flooders: gossip relays admitted txs in batches, so blocks drain what one
    // flooder sends about as fast as it arrives.
    let mut sc = NodeScenario::calm(7, 4, 4);
    sc.hostile = vec![Hostile::TxFlood; 4];
    sc.unbounded_mempool = true;
    match run_node_sim(&sc) {
        Err(e) => assert!(
            matches!(
                e.0,
                NodeViolation::Memory {
                    what: "mempool transactions" | "mempool bytes",
                    ..
                }
            ),
            "{}",
            e.0
        ),
        Ok(r) => panic!("the flood went unnoticed: {r:?}"),
    }
    // With the bound in place the same flood is harmless.
    sc.unbounded_mempool = false;
    let r = run_node_sim(&sc).unwrap_or_else(|e| panic!("{}", e.0));
    assert!(r.hostile_sent > 0);
}
