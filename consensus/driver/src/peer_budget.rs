//! What one peer may make this node do, per peer: the CheckTx work of the transactions it
//! relays (a token bucket of transactions and bytes per second), the messages for the next
//! height it may have kept (count and bytes per height), and the block-sync answers it may
//! ask for (no height twice within [`REPEAT_AFTER`], at most [`BLOCK_REQUESTS_PER_S`] a
//! second). Work past a budget is dropped; a peer that keeps sending far past it
//! ([`OVERRUN`] times the budget) is one to disconnect — an honest relay never comes near.
//!
//! Time is an input (`Instant`s passed in), so the rules are tested without waiting.

use keystone_consensus_types::Height;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// Transactions a peer may have checked per second (and twice that at once).
pub const TXS_PER_S: u64 = 5_000;
/// Transaction bytes a peer may have checked per second (and twice that at once).
pub const TX_BYTES_PER_S: u64 = 8 * 1024 * 1024;
/// Messages for the next height kept per peer.
pub const FUTURE_MESSAGES: u64 = 1_000;
/// Bytes of messages for the next height kept per peer.
pub const FUTURE_BYTES: u64 = 8 * 1024 * 1024;
/// Block-sync requests answered per peer per second (and twice that at once). An honest
/// node syncing from one peer asks as fast as it applies blocks (its window bounds what is in
/// flight), so this sits above the rate a node applies empty blocks: a lower budget dropped
/// its requests, stalled it for a request timeout each time, and counted it as overrunning.
pub const BLOCK_REQUESTS_PER_S: u64 = 2_000;
/// A height asked for again within this is not answered again.
pub const REPEAT_AFTER: Duration = Duration::from_secs(2);
/// How far past a budget (in multiples of it) a peer goes before it is disconnected.
pub const OVERRUN: u64 = 4;
/// The same for messages for the next height: one block's parts and a round's votes fit in
/// the budget, so twice it is no relay.
pub const FUTURE_OVERRUN: u64 = 2;

/// A token bucket: `rate` a second, up to `2 × rate` saved.
#[derive(Clone, Debug)]
struct Bucket {
    rate: u64,
    tokens: u64,
    at: Instant,
}

impl Bucket {
    fn new(rate: u64, now: Instant) -> Self {
        Bucket {
            rate,
            tokens: 2 * rate,
            at: now,
        }
    }

    fn refill(&mut self, now: Instant) {
        let ms = now.saturating_duration_since(self.at).as_millis() as u64;
        let add = ms.saturating_mul(self.rate) / 1000;
        if add > 0 {
            self.tokens = (self.tokens + add).min(2 * self.rate);
            self.at = now;
        }
    }
}

/// What a peer's message may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Within budget.
    Take,
    /// Over budget: drop it.
    Drop,
    /// Far over budget: drop it and disconnect the peer.
    Disconnect,
}

#[derive(Clone, Debug)]
struct Peer {
    txs: Bucket,
    tx_bytes: Bucket,
    /// Transactions dropped in the current one-second window.
    txs_dropped: u64,
    /// When the window began.
    window: Instant,
    /// (height, messages, bytes) kept for the next height.
    future: (Height, u64, u64),
    requests: Bucket,
    /// Block requests dropped in the current window.
    requests_dropped: u64,
    /// When each recent height was answered.
    answered: BTreeMap<Height, Instant>,
}

/// Every peer's budgets.
#[derive(Debug, Default)]
pub struct PeerBudgets {
    peers: BTreeMap<String, Peer>,
}

impl PeerBudgets {
    fn peer(&mut self, id: &str, now: Instant) -> &mut Peer {
        let p = self.peers.entry(id.to_owned()).or_insert_with(|| Peer {
            txs: Bucket::new(TXS_PER_S, now),
            tx_bytes: Bucket::new(TX_BYTES_PER_S, now),
            txs_dropped: 0,
            window: now,
            future: (0, 0, 0),
            requests: Bucket::new(BLOCK_REQUESTS_PER_S, now),
            requests_dropped: 0,
            answered: BTreeMap::new(),
        });
        if now.saturating_duration_since(p.window) >= Duration::from_secs(1) {
            p.window = now;
            p.txs_dropped = 0;
            p.requests_dropped = 0;
        }
        p
    }

    /// A peer left: forget it.
    pub fn remove(&mut self, id: &str) {
        self.peers.remove(id);
    }

    /// How many of `sizes` (a mempool message's transactions, in order) to check; the rest
    /// are dropped. `Disconnect` when the peer is far over its budget.
    pub fn txs(&mut self, id: &str, sizes: &[usize], now: Instant) -> (usize, Verdict) {
        let p = self.peer(id, now);
        p.txs.refill(now);
        p.tx_bytes.refill(now);
        let mut take = 0;
        for &n in sizes {
            let n = n as u64;
            if p.txs.tokens == 0 || p.tx_bytes.tokens < n {
                break;
            }
            p.txs.tokens -= 1;
            p.tx_bytes.tokens -= n;
            take += 1;
        }
        p.txs_dropped += (sizes.len() - take) as u64;
        let verdict = if p.txs_dropped > OVERRUN * TXS_PER_S {
            Verdict::Disconnect
        } else if take < sizes.len() {
            Verdict::Drop
        } else {
            Verdict::Take
        };
        (take, verdict)
    }

    /// A message of `bytes` for `height`, the height after the one in progress.
    pub fn future(&mut self, id: &str, height: Height, bytes: usize, now: Instant) -> Verdict {
        let p = self.peer(id, now);
        if p.future.0 != height {
            p.future = (height, 0, 0);
        }
        p.future.1 += 1;
        p.future.2 += bytes as u64;
        let (n, b) = (p.future.1, p.future.2);
        if n > FUTURE_OVERRUN * FUTURE_MESSAGES || b > FUTURE_OVERRUN * FUTURE_BYTES {
            Verdict::Disconnect
        } else if n > FUTURE_MESSAGES || b > FUTURE_BYTES {
            Verdict::Drop
        } else {
            Verdict::Take
        }
    }

    /// A block-sync request for `height`.
    pub fn block_request(&mut self, id: &str, height: Height, now: Instant) -> Verdict {
        let p = self.peer(id, now);
        p.requests.refill(now);
        let repeated = p
            .answered
            .get(&height)
            .is_some_and(|at| now.saturating_duration_since(*at) < REPEAT_AFTER);
        if repeated || p.requests.tokens == 0 {
            p.requests_dropped += 1;
            return if p.requests_dropped > OVERRUN * BLOCK_REQUESTS_PER_S {
                Verdict::Disconnect
            } else {
                Verdict::Drop
            };
        }
        p.requests.tokens -= 1;
        p.answered.insert(height, now);
        // Bounded: only recent answers matter for repeats.
        p.answered
            .retain(|_, at| now.saturating_duration_since(*at) < REPEAT_AFTER);
        Verdict::Take
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relayed_transactions_are_checked_up_to_the_budget_then_dropped_then_the_peer_goes() {
        let mut b = PeerBudgets::default();
        let t0 = Instant::now();
        // A burst of twice the rate passes whole.
        let mut taken = 0;
        for _ in 0..(2 * TXS_PER_S / 50) {
            let (n, v) = b.txs("p", &[100; 50], t0);
            assert_eq!(v, Verdict::Take);
            taken += n;
        }
        assert_eq!(taken as u64, 2 * TXS_PER_S);
        // Then nothing until time passes; another peer is not affected.
        assert_eq!(b.txs("p", &[100; 10], t0), (0, Verdict::Drop));
        assert_eq!(b.txs("q", &[100; 10], t0), (10, Verdict::Take));
        // 100 ms later: a tenth of the rate.
        let (n, _) = b.txs("p", &[100; 5_000], t0 + Duration::from_millis(100));
        assert_eq!(n as u64, TXS_PER_S / 10);
        // A peer that keeps pushing far past it is to be disconnected.
        let mut last = Verdict::Take;
        for _ in 0..(OVERRUN * TXS_PER_S / 1_000 + 2) {
            last = b.txs("p", &[6; 1_000], t0 + Duration::from_millis(100)).1;
        }
        assert_eq!(last, Verdict::Disconnect);
        // Bytes count too: one 9 MiB burst of big transactions is cut short.
        let (n, v) = b.txs("r", &[1024 * 1024; 20], t0);
        assert_eq!(
            (n as u64, v),
            (2 * TX_BYTES_PER_S / (1024 * 1024), Verdict::Drop)
        );
    }

    #[test]
    fn next_height_messages_are_bounded_per_peer_and_height() {
        let mut b = PeerBudgets::default();
        let t = Instant::now();
        for _ in 0..FUTURE_MESSAGES {
            assert_eq!(b.future("p", 5, 100, t), Verdict::Take);
        }
        assert_eq!(b.future("p", 5, 100, t), Verdict::Drop);
        assert_eq!(b.future("q", 5, 100, t), Verdict::Take);
        // A new height starts a new count.
        assert_eq!(b.future("p", 6, 100, t), Verdict::Take);
        // 64 KiB parts: the byte bound comes first, then the disconnect.
        let mut verdicts = Vec::new();
        for _ in 0..(FUTURE_OVERRUN * FUTURE_BYTES / 65_536 + 2) {
            verdicts.push(b.future("z", 9, 65_536, t));
        }
        let first_drop = verdicts.iter().position(|v| *v != Verdict::Take);
        assert_eq!(first_drop, Some((FUTURE_BYTES / 65_536) as usize));
        assert_eq!(verdicts.last(), Some(&Verdict::Disconnect));
    }

    #[test]
    fn block_requests_are_not_answered_twice_quickly_nor_too_often() {
        let mut b = PeerBudgets::default();
        let t = Instant::now();
        assert_eq!(b.block_request("p", 7, t), Verdict::Take);
        assert_eq!(
            b.block_request("p", 7, t + Duration::from_millis(500)),
            Verdict::Drop
        );
        assert_eq!(b.block_request("p", 7, t + REPEAT_AFTER), Verdict::Take);
        let mut n = 0;
        for h in 100..100 + 3 * BLOCK_REQUESTS_PER_S {
            if b.block_request("q", h, t) == Verdict::Take {
                n += 1;
            }
        }
        assert_eq!(n, 2 * BLOCK_REQUESTS_PER_S);
        let mut last = Verdict::Take;
        for h in 0..OVERRUN * BLOCK_REQUESTS_PER_S + 1 {
            last = b.block_request("q", 10_000 + h, t);
        }
        assert_eq!(last, Verdict::Disconnect);
    }
}
