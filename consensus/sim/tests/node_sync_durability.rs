//! Blocks a node block-syncs are committed without an fsync each and made durable together
//! (`Engine::make_durable`: the block store, then the application). A node that comes back
//! far behind and is struck again while it syncs — at each of its next durable writes, and
//! by power cuts at moments in between — must lose only whole undurable blocks, fetch them
//! again and keep every invariant; the runs must really defer commits and really lose some.

use keystone_consensus_sim::real::{run_node_sim, Crash, NodeReport, NodeScenario};

/// Node 3 is down from 100 ms to 6 s while the others commit heights, then struck again
/// `second` (at the k-th durable write from `at_ms`, or at `at_ms` itself).
fn run(at_ms: u64, at_write: Option<u64>) -> NodeReport {
    let mut sc = NodeScenario::calm(7, 4, 60);
    sc.crashes = vec![
        Crash {
            node: 3,
            at_ms: 100,
            at_write: None,
            restart_after_ms: 5_900,
        },
        Crash {
            node: 3,
            at_ms,
            at_write,
            restart_after_ms: 200,
        },
    ];
    sc.heal_at_ms = at_ms + 1_000;
    sc.max_time_ms = sc.heal_at_ms + 60_000;
    match run_node_sim(&sc) {
        Ok(r) => r,
        Err(e) => panic!("second crash at {at_ms} ms / write {at_write:?}: {}", e.0),
    }
}

#[test]
fn a_node_struck_while_it_syncs_loses_only_whole_undurable_blocks() {
    let mut reports = Vec::new();
    for k in 1..=6 {
        reports.push(run(6_001, Some(k)));
    }
    for at in [6_005, 6_010, 6_020, 6_040, 6_080, 6_160] {
        reports.push(run(at, None));
    }
    for r in &reports {
        assert_eq!(r.crashes, 2, "both crashes struck");
    }
    let deferred: u64 = reports.iter().map(|r| r.deferred_commits).sum();
    let lost: u64 = reports.iter().map(|r| r.undurable_lost).sum();
    assert!(
        reports.iter().all(|r| r.deferred_commits > 0),
        "every run block-synced with deferred commits: {deferred} in all"
    );
    assert!(lost > 0, "some crash struck undurable synced commits");
}
