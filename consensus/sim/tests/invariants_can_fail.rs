//! Each invariant check catches a real bug: honest nodes run with one deliberately broken
//! rule (see `keystone_consensus_core::Faults`), and within a bounded number of seeds the
//! simulator must report exactly that invariant as violated. If a check could not fail, these
//! tests would.

use keystone_consensus_core::Faults;
use keystone_consensus_sim::{run, Behaviour, Scenario, Violation};

/// The first seed below `limit` whose run with `faults` (and `tweak`) violates an invariant
/// matching `want`; panics if none does.
fn find(
    limit: u64,
    sizes: &[usize],
    faults: Faults,
    tweak: impl Fn(&mut Scenario),
    want: impl Fn(&Violation) -> bool,
) -> (usize, u64, Violation) {
    for seed in 0..limit {
        for &n in sizes {
            let mut sc = Scenario::random(n, seed);
            sc.faults = faults;
            tweak(&mut sc);
            if let Err((v, _)) = run(&sc) {
                if want(&v) {
                    return (n, seed, v);
                }
            }
        }
    }
    panic!("no seed below {limit} exposed the broken rule {faults:?}");
}

/// Four validators, an equivocator with just under 1/3 of the power, and honest nodes 1, 2,
/// 3 isolated one at a time for 0.2-1.7 s each (choice and lengths derived from the seed)
/// until a late heal.
fn isolate_one_at_a_time(sc: &mut Scenario) {
    sc.powers = vec![2, 2, 2, 1];
    sc.byzantine = vec![(0, Behaviour::Equivocate)];
    sc.crashes.clear();
    sc.heights = 8;
    sc.heal_at_ms = 30_000;
    sc.max_time_ms = 60_000;
    sc.network.drop_permille = 0;
    sc.network.partitions.clear();
    let mut x = sc.seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut t = 0;
    while t < sc.heal_at_ms {
        let len = 200 + next() % 1500;
        let node = 1 + (next() % 3) as usize;
        sc.network.partitions.push((t, t + len, vec![node]));
        t += len + next() % 300;
    }
}

/// A hostile shape where locks matter (one decider cut off while the others move on) holds
/// with the algorithm intact: no fork, every height decided. (With `ignore_lock` this shape
/// forks, rarely: `keystone-sim faults --fault ignore_lock` counts how often.)
#[test]
fn the_same_shape_holds_with_locks() {
    for seed in 0..60 {
        let mut sc = Scenario::random(4, seed);
        isolate_one_at_a_time(&mut sc);
        if let Err((v, _)) = run(&sc) {
            panic!("seed {seed}: {v}");
        }
    }
}

/// Thresholds at "more than 1/2" instead of "+2/3": an equivocator with just under 1/3 of
/// the power, voting for both sides, lets two halves of the honest nodes each see a
/// "quorum" — and decide different blocks.
#[test]
fn a_weak_quorum_breaks_agreement() {
    let (n, seed, v) = find(
        300,
        &[4, 7],
        Faults {
            weak_quorum: true,
            ..Faults::default()
        },
        |sc| {
            if sc.byzantine.is_empty() {
                sc.byzantine.push((0, Behaviour::Equivocate));
                let total: i64 = sc.powers.iter().sum();
                if 3 * sc.powers[0] >= total {
                    sc.powers[0] = 1;
                }
            }
        },
        |v| matches!(v, Violation::Agreement { .. }),
    );
    println!("validators={n} seed={seed}: {v}");
}

#[test]
fn skipping_validity_breaks_validity() {
    let (n, seed, v) = find(
        200,
        &[4, 7],
        Faults {
            skip_validity: true,
            ..Faults::default()
        },
        |_| {},
        |v| matches!(v, Violation::Validity { .. }),
    );
    println!("validators={n} seed={seed}: {v}");
}

#[test]
fn ignoring_the_propose_timeout_breaks_liveness() {
    let (n, seed, v) = find(
        50,
        &[4],
        Faults {
            ignore_propose_timeout: true,
            ..Faults::default()
        },
        |sc| {
            // A silent proposer: without L57 nobody ever prevotes in its rounds.
            sc.byzantine = vec![(0, Behaviour::Silent)];
            sc.powers = vec![1, 1, 1, 1];
            sc.max_time_ms = sc.heal_at_ms + 20_000;
        },
        |v| matches!(v, Violation::Liveness { .. }),
    );
    println!("validators={n} seed={seed}: {v}");
}

#[test]
fn prevoting_a_late_proposal_is_caught_as_double_sign() {
    let (n, seed, v) = find(
        200,
        &[4, 7],
        Faults {
            prevote_late_proposal: true,
            ..Faults::default()
        },
        |sc| sc.privval_guard = false,
        |v| matches!(v, Violation::DoubleSign { .. }),
    );
    println!("validators={n} seed={seed}: {v}");
}

/// The privval is the last line of defence: with the same broken rule but the guard on, no
/// conflicting signature ever leaves an honest node.
#[test]
fn privval_guard_stops_the_same_double_sign() {
    for seed in 0..40 {
        let mut sc = Scenario::random(4, seed);
        sc.faults = Faults {
            prevote_late_proposal: true,
            ..Faults::default()
        };
        if let Err((Violation::DoubleSign { .. }, _)) = run(&sc) {
            panic!("seed {seed}: the privval let a conflicting vote through");
        }
    }
}
