//! What a run simulates: validators and their powers, who is Byzantine and how, the network's
//! faults until it heals, crashes, timeouts and the target height.

use crate::Behaviour;
use keystone_consensus_core::{Faults, TimeoutConfig};
use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::time::Duration;

/// Network behaviour before the heal time. After it, delivery is reliable with delays in
/// `[min_delay_ms, max_delay_ms]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NetworkFaults {
    /// Smallest one-way delay.
    pub min_delay_ms: u64,
    /// Largest one-way delay (random delays also reorder messages).
    pub max_delay_ms: u64,
    /// Chance in 1000 that a message is lost (before heal).
    pub drop_permille: u32,
    /// Chance in 1000 that a message is delivered twice (before heal).
    pub duplicate_permille: u32,
    /// Partitions before heal: `(start_ms, end_ms, group)`; messages between the group and
    /// the rest are lost in that window.
    pub partitions: Vec<(u64, u64, Vec<usize>)>,
}

/// Everything a run needs; a pure description, so a run is reproducible from it.
#[derive(Clone, Debug)]
pub struct Scenario {
    /// The seed of the run's RNG (keys, delays, drops, values).
    pub seed: u64,
    /// Voting power of each validator.
    pub powers: Vec<i64>,
    /// Misbehaving validators (together under 1/3 of the power).
    pub byzantine: Vec<(usize, Behaviour)>,
    /// The network until it heals.
    pub network: NetworkFaults,
    /// Crashes of honest nodes before heal: `(node, crash_at_ms, restart_at_ms)`.
    pub crashes: Vec<(usize, u64, u64)>,
    /// When the network becomes synchronous and every crashed node is back.
    pub heal_at_ms: u64,
    /// Heights every honest node must decide.
    pub heights: u64,
    /// Give up (liveness violation) after this much virtual time.
    pub max_time_ms: u64,
    /// Consensus timeouts.
    pub timeouts: TimeoutConfig,
    /// How often nodes re-send their own messages of the current height.
    pub gossip_interval_ms: u64,
    /// Broken rules for honest nodes (all off in real runs).
    pub faults: Faults,
    /// Honest nodes' privval refuses conflicting signatures (off only to show the double-sign
    /// check works).
    pub privval_guard: bool,
    /// Verify every signature at every receiver (the benchmark's realistic cost).
    pub verify_signatures: bool,
}

/// A number in `lo..=hi` from `rng`.
pub(crate) fn pick(rng: &mut ChaCha8Rng, lo: u64, hi: u64) -> u64 {
    lo + rng.next_u64() % (hi - lo + 1)
}

/// Half the time, 1 to `most` partitions before `heal_at_ms`: each a window and a random
/// group of the `n` nodes cut off from the rest.
pub(crate) fn random_partitions(
    rng: &mut ChaCha8Rng,
    n: usize,
    heal_at_ms: u64,
    most: u64,
) -> Vec<(u64, u64, Vec<usize>)> {
    let mut partitions = Vec::new();
    if rng.next_u32().is_multiple_of(2) {
        for _ in 0..pick(rng, 1, most) {
            let start = pick(rng, 0, heal_at_ms);
            let end = pick(rng, start, heal_at_ms);
            let group: Vec<usize> = (0..n)
                .filter(|_| rng.next_u32().is_multiple_of(2))
                .collect();
            partitions.push((start, end, group));
        }
    }
    partitions
}

impl NetworkFaults {
    /// No faults: every message arrives once, 5 to 20 ms later.
    pub fn reliable() -> NetworkFaults {
        NetworkFaults {
            min_delay_ms: 5,
            max_delay_ms: 20,
            drop_permille: 0,
            duplicate_permille: 0,
            partitions: Vec::new(),
        }
    }
}

/// Short timeouts for simulation: a round takes a few hundred virtual milliseconds.
pub fn sim_timeouts() -> TimeoutConfig {
    TimeoutConfig {
        propose: Duration::from_millis(300),
        propose_delta: Duration::from_millis(100),
        prevote: Duration::from_millis(100),
        prevote_delta: Duration::from_millis(50),
        precommit: Duration::from_millis(100),
        precommit_delta: Duration::from_millis(50),
        commit: Duration::from_millis(50),
    }
}

impl Scenario {
    /// A fault-free network of `powers`.
    pub fn calm(seed: u64, powers: Vec<i64>, heights: u64) -> Scenario {
        Scenario {
            seed,
            powers,
            byzantine: Vec::new(),
            network: NetworkFaults::reliable(),
            crashes: Vec::new(),
            heal_at_ms: 0,
            heights,
            max_time_ms: 60_000 + heights * 10_000,
            timeouts: sim_timeouts(),
            gossip_interval_ms: 150,
            faults: Faults::default(),
            privval_guard: true,
            verify_signatures: true,
        }
    }

    /// A random hostile scenario for `n` validators drawn from `seed`: unequal powers, up to
    /// f Byzantine members, lossy/duplicating/reordering links, partitions, crashes, then a
    /// heal.
    pub fn random(n: usize, seed: u64) -> Scenario {
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5eed_5eed);
        let powers: Vec<i64> = (0..n).map(|_| pick(&mut rng, 1, 10) as i64).collect();
        let total: i64 = powers.iter().sum();
        let mut byzantine = Vec::new();
        let mut byz_power = 0;
        let want = pick(&mut rng, 0, (n as u64 - 1) / 3 + 1) as usize;
        let mut order: Vec<usize> = (0..n).collect();
        for i in (1..n).rev() {
            order.swap(i, (rng.next_u64() % (i as u64 + 1)) as usize);
        }
        for &i in &order {
            if byzantine.len() >= want {
                break;
            }
            if 3 * (byz_power + powers[i]) < total {
                byz_power += powers[i];
                let b = match rng.next_u32() % 4 {
                    0 | 1 => Behaviour::Equivocate,
                    2 => Behaviour::Amnesia,
                    _ => Behaviour::Silent,
                };
                byzantine.push((i, b));
            }
        }
        let heal_at_ms = pick(&mut rng, 1_000, 8_000);
        let min_delay_ms = pick(&mut rng, 1, 30);
        let partitions = random_partitions(&mut rng, n, heal_at_ms, 3);
        let honest: Vec<usize> = (0..n)
            .filter(|i| !byzantine.iter().any(|(b, _)| b == i))
            .collect();
        let mut crashes = Vec::new();
        for _ in 0..pick(&mut rng, 0, 2) {
            let node = honest[(rng.next_u64() % honest.len() as u64) as usize];
            let at = pick(&mut rng, 0, heal_at_ms);
            let back = pick(&mut rng, at, heal_at_ms);
            crashes.push((node, at, back));
        }
        Scenario {
            seed,
            powers,
            byzantine,
            network: NetworkFaults {
                min_delay_ms,
                max_delay_ms: min_delay_ms + pick(&mut rng, 0, 150),
                drop_permille: pick(&mut rng, 0, 300) as u32,
                duplicate_permille: pick(&mut rng, 0, 100) as u32,
                partitions,
            },
            crashes,
            heal_at_ms,
            heights: 4,
            max_time_ms: heal_at_ms + 120_000,
            timeouts: sim_timeouts(),
            gossip_interval_ms: 150,
            faults: Faults::default(),
            privval_guard: true,
            verify_signatures: true,
        }
    }

    /// Is node `i` Byzantine, and how?
    pub fn behaviour(&self, i: usize) -> Behaviour {
        self.byzantine
            .iter()
            .find(|(b, _)| *b == i)
            .map_or(Behaviour::Honest, |(_, b)| *b)
    }
}
