//! The evidence pool: duplicate votes seen by this node or sent by peers, on their way into a
//! block.
//!
//! Two conflicting votes from one validator become `DuplicateVoteEvidence` once the height
//! they were cast at is committed — CometBFT stamps evidence with that block's time and the
//! validator set's powers of that height, which are known only then. Evidence is checked
//! before it is kept (both signatures, the powers, the time, its age), kept until a block
//! commits it, never proposed or accepted again after that (the block store records every
//! committed piece), and dropped when older than `max_age_num_blocks`.

use keystone_consensus_types::{DuplicateVoteEvidence, Hash, Height, Time, ValidatorSet, Vote};
use std::collections::BTreeMap;

/// What the pool needs to know about the chain to judge evidence.
pub trait ChainView {
    /// The last committed height.
    fn last_height(&self) -> Height;
    /// The time of the block at `h`, if stored.
    fn block_time(&self, h: Height) -> Option<Time>;
    /// The validator set of `h`.
    fn validators(&self, h: Height) -> Option<ValidatorSet>;
    /// Whether evidence with this hash is in a committed block.
    fn is_committed(&self, hash: &Hash) -> bool;
}

/// Why evidence was not taken.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EvidenceError {
    /// Already pending or committed.
    #[error("already known")]
    Known,
    /// For a height not committed yet, or older than the chain keeps evidence.
    #[error("evidence at height {height} is out of range (last {last}, max age {max_age})")]
    OutOfRange {
        /// Its height.
        height: Height,
        /// Our last committed height.
        last: Height,
        /// The oldest age accepted, in blocks.
        max_age: u64,
    },
    /// It does not verify against its height's validators, or its time is not that block's.
    #[error("invalid evidence: {0}")]
    Invalid(String),
    /// The pool holds [`MAX_PENDING`] pieces or [`MAX_PENDING_BYTES`] already.
    #[error("the evidence pool is full")]
    Full,
}

/// Most pieces of evidence pending at once.
pub const MAX_PENDING: usize = 1_000;

/// Most bytes (protobuf) of evidence pending at once.
pub const MAX_PENDING_BYTES: usize = 1024 * 1024;

/// Most vote conflicts waiting for their height to be committed.
pub const MAX_CONFLICTS: usize = 1_000;

/// Pending evidence and vote conflicts.
pub struct EvidencePool {
    chain_id: String,
    max_age: u64,
    /// Conflicting votes whose height is not committed yet.
    conflicts: Vec<(Vote, Vote)>,
    /// Verified evidence not yet in a block, by hash.
    pending: BTreeMap<Hash, DuplicateVoteEvidence>,
    /// Their protobuf size.
    pending_bytes: usize,
    /// At most this many pending ([`MAX_PENDING`]) and this many bytes ([`MAX_PENDING_BYTES`]).
    limits: (usize, usize),
}

impl EvidencePool {
    /// A pool for `chain_id` keeping evidence up to `max_age` blocks old.
    pub fn new(chain_id: &str, max_age: u64) -> Self {
        EvidencePool {
            chain_id: chain_id.into(),
            max_age,
            conflicts: Vec::new(),
            pending: BTreeMap::new(),
            pending_bytes: 0,
            limits: (MAX_PENDING, MAX_PENDING_BYTES),
        }
    }

    /// The same pool with other bounds on what is pending (pieces, bytes).
    pub fn with_limits(mut self, pieces: usize, bytes: usize) -> Self {
        self.limits = (pieces, bytes);
        self
    }

    /// What the pool holds: pending pieces, their bytes, and vote conflicts waiting for
    /// their height (bounded by the pool's limits and [`MAX_CONFLICTS`]).
    pub fn held(&self) -> (usize, usize, usize) {
        (self.pending.len(), self.pending_bytes, self.conflicts.len())
    }

    /// Two conflicting votes this node saw (from its own vote keeper).
    pub fn add_conflict(&mut self, a: Vote, b: Vote) {
        let dup = self.conflicts.iter().any(|(x, y)| {
            (x.signature == a.signature && y.signature == b.signature)
                || (x.signature == b.signature && y.signature == a.signature)
        });
        if !dup && self.conflicts.len() < MAX_CONFLICTS {
            self.conflicts.push((a, b));
        }
    }

    /// Check `ev` against the chain.
    pub fn check(
        &self,
        ev: &DuplicateVoteEvidence,
        chain: &impl ChainView,
    ) -> Result<(), EvidenceError> {
        let height = ev.vote_a.height;
        let last = chain.last_height();
        if height > last || last - height > self.max_age {
            return Err(EvidenceError::OutOfRange {
                height,
                last,
                max_age: self.max_age,
            });
        }
        if chain.is_committed(&ev.hash()) {
            return Err(EvidenceError::Known);
        }
        let set = chain
            .validators(height)
            .ok_or_else(|| EvidenceError::Invalid(format!("no validators at {height}")))?;
        ev.verify(&self.chain_id, &set)
            .map_err(|e| EvidenceError::Invalid(e.to_string()))?;
        let time = chain
            .block_time(height)
            .ok_or_else(|| EvidenceError::Invalid(format!("no block at {height}")))?;
        if ev.timestamp != time {
            return Err(EvidenceError::Invalid(
                "timestamp is not the block time of its height".into(),
            ));
        }
        Ok(())
    }

    /// Evidence from a peer: kept if new and valid.
    pub fn add(
        &mut self,
        ev: DuplicateVoteEvidence,
        chain: &impl ChainView,
    ) -> Result<(), EvidenceError> {
        if self.pending.contains_key(&ev.hash()) {
            return Err(EvidenceError::Known);
        }
        let n = ev.bytes().len();
        if self.pending.len() >= self.limits.0 || self.pending_bytes + n > self.limits.1 {
            return Err(EvidenceError::Full);
        }
        self.check(&ev, chain)?;
        self.pending_bytes += n;
        self.pending.insert(ev.hash(), ev);
        Ok(())
    }

    /// After a block is committed: conflicts at committed heights become evidence (returned,
    /// to announce to peers); what the block carried leaves the pool; old evidence expires.
    pub fn update(
        &mut self,
        committed: &[DuplicateVoteEvidence],
        chain: &impl ChainView,
    ) -> Vec<DuplicateVoteEvidence> {
        for ev in committed {
            if let Some(gone) = self.pending.remove(&ev.hash()) {
                self.pending_bytes -= gone.bytes().len();
            }
        }
        let last = chain.last_height();
        let (ready, waiting): (Vec<_>, Vec<_>) = std::mem::take(&mut self.conflicts)
            .into_iter()
            .partition(|(a, _)| a.height <= last);
        self.conflicts = waiting;
        let mut new = Vec::new();
        for (a, b) in ready {
            let (Some(set), Some(time)) = (chain.validators(a.height), chain.block_time(a.height))
            else {
                continue;
            };
            let Some(ev) = DuplicateVoteEvidence::new(a, b, time, &set) else {
                continue;
            };
            match self.add(ev.clone(), chain) {
                Ok(()) => new.push(ev),
                Err(e) => tracing::debug!(error = %e, "equivocation not kept as evidence"),
            }
        }
        let max_age = self.max_age;
        self.pending
            .retain(|_, ev| last.saturating_sub(ev.vote_a.height) <= max_age);
        self.pending_bytes = self.pending.values().map(|e| e.bytes().len()).sum();
        new
    }

    /// Pending evidence, oldest height first, up to `max_bytes` of protobuf.
    pub fn reap(&self, max_bytes: usize) -> Vec<DuplicateVoteEvidence> {
        let mut all: Vec<&DuplicateVoteEvidence> = self.pending.values().collect();
        all.sort_by_key(|e| (e.vote_a.height, e.hash()));
        let mut out = Vec::new();
        let mut size = 0;
        for ev in all {
            let n = ev.bytes().len();
            if size + n > max_bytes {
                break;
            }
            size += n;
            out.push(ev.clone());
        }
        out
    }

    /// Every pending piece (for peers that connect).
    pub fn pending(&self) -> Vec<DuplicateVoteEvidence> {
        self.pending.values().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use keystone_consensus_types::{BlockId, PartSetHeader, PrivateKey, Validator, VoteType};

    struct Chain(ValidatorSet);

    impl ChainView for Chain {
        fn last_height(&self) -> Height {
            10
        }
        fn block_time(&self, _: Height) -> Option<Time> {
            Some(Time::from_unix_millis(1_700_000_000_000))
        }
        fn validators(&self, _: Height) -> Option<ValidatorSet> {
            Some(self.0.clone())
        }
        fn is_committed(&self, _: &Hash) -> bool {
            false
        }
    }

    /// Real duplicate-vote evidence from validator `k` at `height`.
    fn evidence(
        keys: &[PrivateKey],
        set: &ValidatorSet,
        k: usize,
        height: Height,
    ) -> DuplicateVoteEvidence {
        let key = &keys[k];
        let index = set.index_of(&key.public_key().address()).expect("member") as u32;
        let vote = |tag: &[u8]| {
            let mut v = Vote {
                vote_type: VoteType::Prevote,
                height,
                round: 0,
                block_id: Some(BlockId {
                    hash: keystone_consensus_types::sha256(tag),
                    part_set_header: PartSetHeader {
                        total: 1,
                        hash: keystone_consensus_types::sha256(b"parts"),
                    },
                }),
                timestamp: Time::from_unix_millis(1_700_000_000_000),
                validator_address: key.public_key().address(),
                validator_index: index,
                signature: None,
            };
            v.sign("ev-1", key);
            v
        };
        DuplicateVoteEvidence::new(
            vote(b"a"),
            vote(b"b"),
            Time::from_unix_millis(1_700_000_000_000),
            set,
        )
        .expect("conflicting votes")
    }

    #[test]
    fn the_pool_is_bounded_in_pieces_and_bytes() {
        let keys: Vec<PrivateKey> = (0..4).map(|i| PrivateKey::from_seed([i + 1; 32])).collect();
        let set = ValidatorSet::new(
            keys.iter()
                .map(|k| Validator::new(k.public_key(), 10))
                .collect(),
        )
        .expect("set");
        let chain = Chain(set.clone());
        let mut pool = EvidencePool::new("ev-1", 100).with_limits(2, MAX_PENDING_BYTES);
        pool.add(evidence(&keys, &set, 0, 5), &chain)
            .expect("first");
        pool.add(evidence(&keys, &set, 1, 5), &chain)
            .expect("second");
        assert_eq!(
            pool.add(evidence(&keys, &set, 2, 5), &chain),
            Err(EvidenceError::Full)
        );
        assert_eq!(pool.pending().len(), 2);
        // Committing one makes room again.
        let done = pool.pending()[0].clone();
        pool.update(&[done], &chain);
        pool.add(evidence(&keys, &set, 2, 5), &chain)
            .expect("room again");

        let one = evidence(&keys, &set, 3, 6).bytes().len();
        let mut pool = EvidencePool::new("ev-1", 100).with_limits(100, one + one / 2);
        pool.add(evidence(&keys, &set, 3, 6), &chain).expect("fits");
        assert_eq!(
            pool.add(evidence(&keys, &set, 0, 6), &chain),
            Err(EvidenceError::Full)
        );
    }
}
