//! A peer's inbound budget: bytes it sent that the node has not processed yet.

use super::lock;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// One message's share of a peer's inbound budget (see [`super::NetEvent::Message`]).
pub struct Ticket {
    budget: Arc<Budget>,
    bytes: u64,
}

impl std::fmt::Debug for Ticket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Ticket({} bytes)", self.bytes)
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        let mut used = lock(&self.budget.used);
        *used = used.saturating_sub(self.bytes);
        self.budget.freed.notify_all();
    }
}

/// A peer's inbound bytes in flight.
#[derive(Default)]
pub(super) struct Budget {
    used: Mutex<u64>,
    freed: Condvar,
}

impl Budget {
    /// Take `n` bytes, waiting up to `wait` while the peer is over `limit` (one message
    /// larger than the limit still passes when nothing else is in flight). `None`: the
    /// node did not catch up in time.
    pub(super) fn take(self: &Arc<Self>, n: u64, limit: u64, wait: Duration) -> Option<Ticket> {
        let deadline = Instant::now() + wait;
        let mut used = lock(&self.used);
        while *used > 0 && used.saturating_add(n) > limit {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return None;
            }
            used = match self.freed.wait_timeout(used, left) {
                Ok((g, _)) => g,
                Err(e) => e.into_inner().0,
            };
        }
        *used += n;
        Some(Ticket {
            budget: self.clone(),
            bytes: n,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A peer's reader takes budget for each message; the node gives it back as it processes
    /// them. Over the limit the reader waits — and gives up (the peer is dropped) if the node
    /// does not catch up in time.
    #[test]
    fn the_inbound_budget_holds_a_reader_back_until_the_node_catches_up() {
        let b = Arc::new(Budget::default());
        let wait = Duration::from_millis(50);
        let first = b.take(600, 1000, wait).expect("within the budget");
        let second = b.take(400, 1000, wait).expect("exactly the budget");
        // Full: the next message waits, and the wait runs out.
        let t = Instant::now();
        assert!(b.take(1, 1000, wait).is_none(), "over the budget");
        assert!(t.elapsed() >= wait);
        // The node processes one message meanwhile: the reader goes on.
        let freeing = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            drop(first);
        });
        let third = b
            .take(500, 1000, Duration::from_secs(5))
            .expect("room was made");
        freeing.join().expect("thread");
        drop((second, third));
        assert_eq!(*lock(&b.used), 0, "every ticket gave its bytes back");
        // One message larger than the whole budget still passes when nothing is in flight.
        let big = b
            .take(5000, 1000, wait)
            .expect("alone, a large message passes");
        assert!(b.take(1, 1000, wait).is_none());
        drop(big);
    }
}
