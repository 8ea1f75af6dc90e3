//! What a run of the real node simulates, drawn from a seed.

use crate::scenario::{pick, random_partitions, NetworkFaults};
use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// A crash of an honest node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Crash {
    /// Which node.
    pub node: usize,
    /// When (virtual ms).
    pub at_ms: u64,
    /// `Some(k)`: the crash strikes right after the k-th durable write the node makes from
    /// `at_ms` on (a WAL sync, a sign-state write, a block-store commit, the app's Commit);
    /// `None`: the power goes at `at_ms`, whatever the node was doing.
    pub at_write: Option<u64>,
    /// Back up this long after the crash.
    pub restart_after_ms: u64,
}

/// A peer that is not a validator and means harm. It connects to every node, hears what they
/// gossip, and sends what its kind says every `HOSTILE_EVERY_MS`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hostile {
    /// Valid transactions, as many as it can.
    TxFlood,
    /// Messages it heard, again: stale heights, duplicates of this height.
    Replay,
    /// Votes it heard with their timestamp moved (the signature no longer holds).
    Retimestamp,
    /// The double-signing validator's votes it heard, signed again by that validator with a
    /// new timestamp (valid signatures, nothing new). Without such a validator: `Replay`.
    Resigned,
    /// Votes it heard moved to a far-future height.
    FarFuture,
    /// "I have a million blocks", then never serves one; and block requests, many.
    SyncLies,
    /// Bytes that decode to nothing.
    Garbage,
}

/// Everything a run of the real node needs; a pure description, so a run is reproducible.
#[derive(Clone, Debug)]
pub struct NodeScenario {
    /// The seed of the run's RNG.
    pub seed: u64,
    /// Voting power of each validator.
    pub powers: Vec<i64>,
    /// Validators that double-sign every vote (the engine's `fault-injection`), together
    /// under 1/3 of the power.
    pub double_signers: Vec<usize>,
    /// The network until it heals.
    pub network: NetworkFaults,
    /// Crashes of honest nodes before the heal.
    pub crashes: Vec<Crash>,
    /// Hostile peers.
    pub hostile: Vec<Hostile>,
    /// What one sync costs a node (a slow disk).
    pub fsync_ms: u64,
    /// What one FinalizeBlock costs a node (a slow application).
    pub finalize_ms: u64,
    /// When the network becomes reliable and every crashed node is back.
    pub heal_at_ms: u64,
    /// Heights every honest node must commit.
    pub heights: u64,
    /// Give up (liveness violation) after this much virtual time.
    pub max_time_ms: u64,
    /// A client submits a transaction to some node this often (0: never).
    pub tx_every_ms: u64,
    /// Remove one peer bound: the nodes' mempools take whatever peers send (the memory
    /// check still holds them to the real bound). Only to show that check can fail.
    pub unbounded_mempool: bool,
}

impl NodeScenario {
    /// `n` equal validators, a reliable network, no faults: the benchmark's scenario.
    pub fn calm(seed: u64, n: usize, heights: u64) -> NodeScenario {
        NodeScenario {
            seed,
            powers: vec![10; n],
            double_signers: Vec::new(),
            network: NetworkFaults::reliable(),
            crashes: Vec::new(),
            hostile: Vec::new(),
            fsync_ms: 0,
            finalize_ms: 0,
            heal_at_ms: 0,
            heights,
            max_time_ms: 60_000 + heights * 5_000,
            tx_every_ms: 50,
            unbounded_mempool: false,
        }
    }

    /// A random hostile scenario for `n` validators drawn from `seed`: unequal powers, maybe
    /// a double-signing validator, lossy/duplicating/reordering links, partitions, crashes
    /// at durable-write boundaries and at random moments, hostile peers, a slow disk or
    /// application, then a heal.
    pub fn random(n: usize, seed: u64) -> NodeScenario {
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x00de_5eed);
        let powers: Vec<i64> = (0..n).map(|_| pick(&mut rng, 1, 10) as i64).collect();
        let total: i64 = powers.iter().sum();
        let mut double_signers = Vec::new();
        if rng.next_u32() % 3 == 0 {
            let i = (rng.next_u64() % n as u64) as usize;
            if 3 * powers[i] < total {
                double_signers.push(i);
            }
        }
        let heal_at_ms = pick(&mut rng, 1_000, 6_000);
        let min_delay_ms = pick(&mut rng, 1, 30);
        let partitions = random_partitions(&mut rng, n, heal_at_ms, 2);
        let honest: Vec<usize> = (0..n).filter(|i| !double_signers.contains(i)).collect();
        let mut crashes = Vec::new();
        for _ in 0..pick(&mut rng, 0, 3) {
            let node = honest[(rng.next_u64() % honest.len() as u64) as usize];
            let at_write = match rng.next_u32() % 3 {
                0 => None,
                _ => Some(pick(&mut rng, 1, 40)),
            };
            crashes.push(Crash {
                node,
                at_ms: pick(&mut rng, 0, heal_at_ms),
                at_write,
                restart_after_ms: pick(&mut rng, 50, 2_000),
            });
        }
        const KINDS: [Hostile; 7] = [
            Hostile::TxFlood,
            Hostile::Replay,
            Hostile::Retimestamp,
            Hostile::Resigned,
            Hostile::FarFuture,
            Hostile::SyncLies,
            Hostile::Garbage,
        ];
        let hostile = (0..pick(&mut rng, 0, 2))
            .map(|_| KINDS[(rng.next_u64() % KINDS.len() as u64) as usize])
            .collect();
        let fsync_ms = match rng.next_u32() % 3 {
            0 => pick(&mut rng, 1, 20),
            _ => 0,
        };
        let finalize_ms = match rng.next_u32() % 3 {
            0 => pick(&mut rng, 1, 100),
            _ => 0,
        };
        NodeScenario {
            seed,
            powers,
            double_signers,
            network: NetworkFaults {
                min_delay_ms,
                max_delay_ms: min_delay_ms + pick(&mut rng, 0, 100),
                drop_permille: pick(&mut rng, 0, 200) as u32,
                duplicate_permille: pick(&mut rng, 0, 100) as u32,
                partitions,
            },
            crashes,
            hostile,
            fsync_ms,
            finalize_ms,
            heal_at_ms,
            heights: 4,
            max_time_ms: heal_at_ms + 90_000,
            tx_every_ms: 100,
            unbounded_mempool: false,
        }
    }
}
