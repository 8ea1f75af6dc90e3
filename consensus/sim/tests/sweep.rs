//! The sweep: random hostile scenarios (unequal powers, up to f Byzantine members that
//! equivocate, ignore locks or stay silent; lossy, duplicating, reordering links; partitions;
//! crash and restart of honest nodes; then a heal) must keep agreement, validity and "no
//! honest double sign" at every step, and decide every height after the heal.
//!
//! 500 runs here (200 × 4, 170 × 7, 130 × 10 validators). A larger sweep:
//! `cargo run --release -p keystone-consensus-sim --bin keystone-sim -- sweep --seeds 10000`.

use keystone_consensus_sim::{run, Behaviour, Report, Scenario};

struct Totals {
    runs: u64,
    with_byzantine: u64,
    with_equivocation_seen: u64,
    with_crashes: u64,
    multi_round: u64,
}

fn sweep(n: usize, seeds: std::ops::Range<u64>) -> Totals {
    let mut failures = Vec::new();
    let mut t = Totals {
        runs: 0,
        with_byzantine: 0,
        with_equivocation_seen: 0,
        with_crashes: 0,
        multi_round: 0,
    };
    for seed in seeds {
        let sc = Scenario::random(n, seed);
        t.runs += 1;
        t.with_byzantine += u64::from(!sc.byzantine.is_empty());
        t.with_crashes += u64::from(!sc.crashes.is_empty());
        match run(&sc) {
            Ok(Report {
                equivocations,
                max_round,
                heights,
                ..
            }) => {
                assert_eq!(heights, sc.heights, "seed {seed}: a passing run decided every height");
                t.with_equivocation_seen += u64::from(equivocations > 0);
                t.multi_round += u64::from(max_round > 0);
            }
            Err((v, _)) => failures.push(format!(
                "validators={n} seed={seed}: {v}\n  replay: cargo run --release -p keystone-consensus-sim --bin keystone-sim -- core-replay {n} {seed}"
            )),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    t
}

/// The sweep must actually exercise the faults it claims to.
fn assert_exercised(t: &Totals) {
    assert!(
        t.with_byzantine * 3 > t.runs,
        "Byzantine members in a third of the runs"
    );
    assert!(
        t.with_equivocation_seen > 0,
        "some equivocation was detected"
    );
    assert!(
        t.with_crashes * 3 > t.runs,
        "crashes in a third of the runs"
    );
    assert!(
        t.multi_round * 4 > t.runs,
        "faults forced extra rounds often"
    );
}

#[test]
fn sweep_4_validators() {
    assert_exercised(&sweep(4, 0..200));
}

#[test]
fn sweep_7_validators() {
    assert_exercised(&sweep(7, 1000..1170));
}

#[test]
fn sweep_10_validators() {
    assert_exercised(&sweep(10, 2000..2130));
}

/// The scenario generator really produces each kind of Byzantine member.
#[test]
fn scenarios_cover_every_behaviour() {
    let mut seen = std::collections::BTreeSet::new();
    for seed in 0..100 {
        for (_, b) in Scenario::random(7, seed).byzantine {
            seen.insert(format!("{b:?}"));
        }
    }
    for b in [Behaviour::Equivocate, Behaviour::Amnesia, Behaviour::Silent] {
        assert!(seen.contains(&format!("{b:?}")), "{b:?} never drawn");
    }
}

/// A seed replays exactly: same events, same trace hash; another seed differs.
#[test]
fn runs_are_deterministic() {
    for n in [4, 7] {
        let a = run(&Scenario::random(n, 77)).expect("passes");
        let b = run(&Scenario::random(n, 77)).expect("passes");
        assert_eq!(a, b);
        let c = run(&Scenario::random(n, 78)).expect("passes");
        assert_ne!(a.trace, c.trace);
    }
}

/// Single validator, and one validator with more than 2/3 of the power: both decide alone.
#[test]
fn small_and_dominant_sets() {
    for powers in [vec![5], vec![10, 1, 1, 1]] {
        let mut sc = Scenario::calm(3, powers, 5);
        sc.byzantine.clear();
        let r = run(&sc).expect("decides");
        assert_eq!(r.heights, 5);
    }
}

/// Crash and restart from the WAL: a node that crashes mid-height over and over comes back
/// with its lock and votes, never signs a conflicting vote, and decides every height.
#[test]
fn repeated_crashes_recover_from_the_wal() {
    for seed in 0..20 {
        let mut sc = Scenario::calm(seed, vec![3, 3, 3, 2], 6);
        sc.network.max_delay_ms = 80;
        sc.network.drop_permille = 100;
        sc.heal_at_ms = 6_000;
        sc.crashes = (0..12)
            .map(|k| (1 + (k % 3) as usize, k * 450 + 13, k * 450 + 300))
            .collect();
        let r = run(&sc).unwrap_or_else(|(v, _)| panic!("seed {seed}: {v}"));
        assert_eq!(r.heights, 6);
    }
}
