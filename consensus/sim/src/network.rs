//! Virtual time and the event queue. Events at the same instant run in insertion order, so
//! the schedule is a function of the seed alone.

use std::collections::BTreeMap;

/// A priority queue of events keyed by (time, insertion sequence).
pub(crate) struct Queue<E> {
    events: BTreeMap<(u64, u64), E>,
    seq: u64,
}

impl<E> Queue<E> {
    pub(crate) fn new() -> Self {
        Queue {
            events: BTreeMap::new(),
            seq: 0,
        }
    }

    pub(crate) fn push(&mut self, at_ms: u64, e: E) {
        self.seq += 1;
        self.events.insert((at_ms, self.seq), e);
    }

    pub(crate) fn pop(&mut self) -> Option<(u64, E)> {
        self.events.pop_first().map(|((t, _), e)| (t, e))
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.events.len()
    }
}
