//! Timeouts: which one, for which round, and how long it lasts.

use keystone_consensus_types::Round;
use std::time::Duration;

/// The three timeouts of the algorithm.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub enum TimeoutKind {
    /// L57: no proposal in time.
    Propose,
    /// L61: +2/3 prevotes but no polka in time.
    Prevote,
    /// L65: +2/3 precommits but no decision in time.
    Precommit,
}

/// A timeout for a round of the current height.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct Timeout {
    /// Which timeout.
    pub kind: TimeoutKind,
    /// For which round.
    pub round: Round,
}

/// Timeout durations: `base + delta × round`, so a network slower than the base timeouts
/// eventually gets rounds long enough to decide (the liveness argument of the paper).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct TimeoutConfig {
    /// `timeout_propose` (CometBFT default 3 s).
    pub propose: Duration,
    /// `timeout_propose_delta` (0.5 s).
    pub propose_delta: Duration,
    /// `timeout_prevote` (1 s).
    pub prevote: Duration,
    /// `timeout_prevote_delta` (0.5 s).
    pub prevote_delta: Duration,
    /// `timeout_precommit` (1 s).
    pub precommit: Duration,
    /// `timeout_precommit_delta` (0.5 s).
    pub precommit_delta: Duration,
    /// `timeout_commit`: the pause after a decision before the next height (1 s).
    pub commit: Duration,
}

impl Default for TimeoutConfig {
    fn default() -> Self {
        TimeoutConfig {
            propose: Duration::from_millis(3000),
            propose_delta: Duration::from_millis(500),
            prevote: Duration::from_millis(1000),
            prevote_delta: Duration::from_millis(500),
            precommit: Duration::from_millis(1000),
            precommit_delta: Duration::from_millis(500),
            commit: Duration::from_millis(1000),
        }
    }
}

impl TimeoutConfig {
    /// How long `timeout` lasts.
    pub fn duration(&self, timeout: Timeout) -> Duration {
        let (base, delta) = match timeout.kind {
            TimeoutKind::Propose => (self.propose, self.propose_delta),
            TimeoutKind::Prevote => (self.prevote, self.prevote_delta),
            TimeoutKind::Precommit => (self.precommit, self.precommit_delta),
        };
        base.saturating_add(delta.saturating_mul(timeout.round))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_grow_by_delta_per_round() {
        let c = TimeoutConfig::default();
        let t = |kind, round| c.duration(Timeout { kind, round });
        assert_eq!(t(TimeoutKind::Propose, 0), Duration::from_millis(3000));
        assert_eq!(t(TimeoutKind::Propose, 4), Duration::from_millis(5000));
        assert_eq!(t(TimeoutKind::Prevote, 2), Duration::from_millis(2000));
        assert_eq!(t(TimeoutKind::Precommit, 1), Duration::from_millis(1500));
    }
}
