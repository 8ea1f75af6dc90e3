//! The vote keeper: tallies prevotes and precommits by voting power, per round and type, and
//! turns a validator's second, different vote into evidence. It counts; it decides nothing —
//! the rules in [`crate::Consensus`] ask it about thresholds.
//!
//! Thresholds count messages as the paper does. "+2/3 prevotes for v" counts every validator
//! that sent a prevote for v; "+2/3 prevotes of any kind" and "f+1 heard from" count every
//! validator once. So an equivocating validator's vote for v counts toward v even if its vote
//! for w arrived first — safe, because two +2/3 tallies for different values in one round
//! would need more than 1/3 of the power to equivocate — and a node that saw the "wrong" half
//! of an equivocation still recognises the quorum everyone else saw. A validator's power never
//! counts twice in any single tally. To bound memory, at most two different votes per
//! validator, round and type are kept (the first and one conflicting: the evidence); further
//! ones are ignored.

use crate::{is_one_third_plus, is_quorum};
use keystone_consensus_types::{Address, BlockId, Round, ValidatorSet, Vote, VoteType};
use std::collections::{BTreeMap, BTreeSet};

/// What adding a vote did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AddVote {
    /// Counted (a first vote).
    Added,
    /// Already had exactly this vote, or a conflicting one already reported.
    Duplicate,
    /// The validator had voted differently in this round and type: here is that first vote.
    /// The new vote counts toward its own value (not toward "any"). Reported once per
    /// validator, round and type.
    Equivocation(Box<Vote>),
}

/// Most different votes kept per validator, round and type.
const MAX_VOTES_PER_VALIDATOR: usize = 2;

#[derive(Clone, Debug, Default)]
struct Tally {
    /// Each validator's votes, first one first.
    votes: BTreeMap<Address, Vec<Vote>>,
    power_by_value: BTreeMap<Option<BlockId>, i64>,
    /// Power of distinct validators that voted.
    power: i64,
}

#[derive(Clone, Debug, Default)]
struct RoundVotes {
    prevotes: Tally,
    precommits: Tally,
    /// Validators heard from in this round (any vote, or the proposal), for the f+1 rule.
    senders: BTreeSet<Address>,
    sender_power: i64,
}

impl RoundVotes {
    fn tally(&self, t: VoteType) -> &Tally {
        match t {
            VoteType::Prevote => &self.prevotes,
            VoteType::Precommit => &self.precommits,
        }
    }
}

/// Votes of one height.
#[derive(Clone, Debug)]
pub struct VoteKeeper {
    powers: BTreeMap<Address, i64>,
    total: i64,
    rounds: BTreeMap<Round, RoundVotes>,
    /// The `weak_quorum` fault: thresholds at 1/2 (simulator self-tests only).
    weak_quorum: bool,
}

impl VoteKeeper {
    /// A keeper for the validators of `set`.
    pub fn new(set: &ValidatorSet) -> Self {
        VoteKeeper {
            powers: set
                .validators()
                .iter()
                .map(|v| (v.address, v.voting_power))
                .collect(),
            total: set.total_voting_power(),
            rounds: BTreeMap::new(),
            weak_quorum: false,
        }
    }

    #[cfg(feature = "fault-injection")]
    pub(crate) fn set_weak_quorum(&mut self, weak: bool) {
        self.weak_quorum = weak;
    }

    fn quorum(&self, power: i64) -> bool {
        if self.weak_quorum {
            2 * power as i128 > self.total as i128
        } else {
            is_quorum(power, self.total)
        }
    }

    /// Total voting power of the set.
    pub fn total_power(&self) -> i64 {
        self.total
    }

    /// Voting power of `address`, if it is a validator.
    pub fn power_of(&self, address: &Address) -> Option<i64> {
        self.powers.get(address).copied()
    }

    /// Record that `address` sent something in `round` (the f+1 rule counts any message).
    pub fn note_sender(&mut self, round: Round, address: Address) {
        let Some(power) = self.power_of(&address) else {
            return;
        };
        let r = self.rounds.entry(round).or_default();
        if r.senders.insert(address) {
            r.sender_power += power;
        }
    }

    /// Add a vote from a validator of the set (the caller has checked membership and the
    /// signature). A vote from a non-member is ignored as a duplicate would be.
    pub fn add(&mut self, vote: Vote) -> AddVote {
        let Some(power) = self.power_of(&vote.validator_address) else {
            return AddVote::Duplicate;
        };
        self.note_sender(vote.round, vote.validator_address);
        let r = self.rounds.entry(vote.round).or_default();
        let tally = match vote.vote_type {
            VoteType::Prevote => &mut r.prevotes,
            VoteType::Precommit => &mut r.precommits,
        };
        let mine = tally.votes.entry(vote.validator_address).or_default();
        if mine.iter().any(|v| v.block_id == vote.block_id) || mine.len() >= MAX_VOTES_PER_VALIDATOR
        {
            return AddVote::Duplicate;
        }
        *tally.power_by_value.entry(vote.block_id).or_default() += power;
        let first = mine.first().cloned();
        mine.push(vote);
        match first {
            None => {
                tally.power += power;
                AddVote::Added
            }
            Some(first) => AddVote::Equivocation(Box::new(first)),
        }
    }

    /// Already counted this validator's vote for the same block in the same round and type?
    /// Then the vote can change nothing, and a driver may skip checking its signature.
    pub fn contains(&self, vote: &Vote) -> bool {
        self.round(vote.round).is_some_and(|r| {
            r.tally(vote.vote_type)
                .votes
                .get(&vote.validator_address)
                .is_some_and(|vs| vs.iter().any(|v| v.block_id == vote.block_id))
        })
    }

    fn round(&self, round: Round) -> Option<&RoundVotes> {
        self.rounds.get(&round)
    }

    /// Power of the `vote_type` votes for `value` (`None`: nil) in `round`.
    pub fn power_for(&self, round: Round, vote_type: VoteType, value: Option<BlockId>) -> i64 {
        self.round(round)
            .and_then(|r| r.tally(vote_type).power_by_value.get(&value).copied())
            .unwrap_or(0)
    }

    /// Power of all `vote_type` votes in `round`, whatever their value.
    pub fn power_any(&self, round: Round, vote_type: VoteType) -> i64 {
        self.round(round).map_or(0, |r| r.tally(vote_type).power)
    }

    /// +2/3 of `vote_type` for `value` (`None`: nil) in `round`.
    pub fn has_quorum_for(
        &self,
        round: Round,
        vote_type: VoteType,
        value: Option<BlockId>,
    ) -> bool {
        self.quorum(self.power_for(round, vote_type, value))
    }

    /// +2/3 of `vote_type` for anything in `round`.
    pub fn has_quorum_any(&self, round: Round, vote_type: VoteType) -> bool {
        self.quorum(self.power_any(round, vote_type))
    }

    /// The value (or nil) with +2/3 of `vote_type` in `round`, if there is one.
    pub fn quorum_value(&self, round: Round, vote_type: VoteType) -> Option<Option<BlockId>> {
        let r = self.round(round)?;
        r.tally(vote_type)
            .power_by_value
            .iter()
            .find(|(_, p)| self.quorum(**p))
            .map(|(v, _)| *v)
    }

    /// More than 1/3 of the power sent messages in `round` (the paper's f+1).
    pub fn has_one_third_plus_senders(&self, round: Round) -> bool {
        self.round(round)
            .is_some_and(|r| is_one_third_plus(r.sender_power, self.total))
    }

    /// The highest round above `above` where more than 1/3 of the power has been heard from.
    pub fn highest_skip_round(&self, above: Round) -> Option<Round> {
        self.rounds
            .range(above.saturating_add(1)..)
            .rev()
            .find(|(_, r)| is_one_third_plus(r.sender_power, self.total))
            .map(|(round, _)| *round)
    }

    /// The signed `vote_type` votes of `round` for `value`, in address order.
    pub fn votes_for(
        &self,
        round: Round,
        vote_type: VoteType,
        value: Option<BlockId>,
    ) -> Vec<Vote> {
        self.round(round).map_or_else(Vec::new, |r| {
            r.tally(vote_type)
                .votes
                .values()
                .flatten()
                .filter(|v| v.block_id == value)
                .cloned()
                .collect()
        })
    }

    /// Every kept vote of `round` and `vote_type`, in address order.
    pub fn votes(&self, round: Round, vote_type: VoteType) -> Vec<Vote> {
        self.round(round).map_or_else(Vec::new, |r| {
            r.tally(vote_type)
                .votes
                .values()
                .flatten()
                .cloned()
                .collect()
        })
    }

    /// Rounds with any vote or sender, ascending.
    pub fn rounds(&self) -> impl Iterator<Item = Round> + '_ {
        self.rounds.keys().copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use keystone_consensus_types::{Hash, PartSetHeader, PublicKey, Time, Validator};

    /// Powers 1, 2, 3, 4 (total 10): +2/3 needs 7, f+1 (more than 1/3) needs 4.
    fn set() -> ValidatorSet {
        ValidatorSet::new(
            (1..=4)
                .map(|i| Validator::new(PublicKey([i as u8; 32]), i))
                .collect(),
        )
        .expect("valid")
    }

    fn addr(s: &ValidatorSet, power: i64) -> Address {
        s.validators()
            .iter()
            .find(|v| v.voting_power == power)
            .expect("member")
            .address
    }

    fn id(b: u8) -> BlockId {
        BlockId {
            hash: Hash([b; 32]),
            part_set_header: PartSetHeader {
                total: 1,
                hash: Hash([b; 32]),
            },
        }
    }

    fn vote(s: &ValidatorSet, power: i64, t: VoteType, round: Round, v: Option<BlockId>) -> Vote {
        Vote {
            vote_type: t,
            height: 1,
            round,
            block_id: v,
            timestamp: Time::UNIX_EPOCH,
            validator_address: addr(s, power),
            validator_index: 0,
            signature: None,
        }
    }

    #[test]
    fn quorum_needs_more_than_two_thirds_of_power_not_of_count() {
        let s = set();
        let mut k = VoteKeeper::new(&s);
        // Three validators out of four (powers 1, 2, 3 = 6) are not +2/3 of 10.
        for p in [1, 2, 3] {
            assert_eq!(
                k.add(vote(&s, p, VoteType::Prevote, 0, Some(id(1)))),
                AddVote::Added
            );
        }
        assert!(!k.has_quorum_for(0, VoteType::Prevote, Some(id(1))));
        assert!(!k.has_quorum_any(0, VoteType::Prevote));
        // Power 4 alone plus power 3 is 7 > 6.67.
        let mut k = VoteKeeper::new(&s);
        k.add(vote(&s, 4, VoteType::Prevote, 0, Some(id(1))));
        k.add(vote(&s, 3, VoteType::Prevote, 0, Some(id(1))));
        assert!(k.has_quorum_for(0, VoteType::Prevote, Some(id(1))));
        assert_eq!(k.quorum_value(0, VoteType::Prevote), Some(Some(id(1))));
        assert!(!k.has_quorum_for(0, VoteType::Precommit, Some(id(1))));
    }

    #[test]
    fn any_quorum_mixes_values_and_nil() {
        let s = set();
        let mut k = VoteKeeper::new(&s);
        k.add(vote(&s, 4, VoteType::Precommit, 2, Some(id(1))));
        k.add(vote(&s, 2, VoteType::Precommit, 2, None));
        assert!(!k.has_quorum_any(2, VoteType::Precommit));
        k.add(vote(&s, 1, VoteType::Precommit, 2, Some(id(2))));
        assert!(k.has_quorum_any(2, VoteType::Precommit));
        assert_eq!(k.quorum_value(2, VoteType::Precommit), None);
        assert!(!k.has_quorum_for(2, VoteType::Precommit, None));
    }

    #[test]
    fn nil_quorum() {
        let s = set();
        let mut k = VoteKeeper::new(&s);
        for p in [4, 3] {
            k.add(vote(&s, p, VoteType::Prevote, 0, None));
        }
        assert!(k.has_quorum_for(0, VoteType::Prevote, None));
        assert_eq!(k.quorum_value(0, VoteType::Prevote), Some(None));
    }

    #[test]
    fn one_third_plus_senders_by_power() {
        let s = set();
        let mut k = VoteKeeper::new(&s);
        // Powers 1 and 2 = 3, not more than 10/3.
        k.add(vote(&s, 1, VoteType::Prevote, 5, None));
        k.add(vote(&s, 2, VoteType::Precommit, 5, Some(id(3))));
        assert!(!k.has_one_third_plus_senders(5));
        assert_eq!(k.highest_skip_round(0), None);
        // Power 4 alone is more than 1/3.
        k.note_sender(7, addr(&s, 4));
        assert!(k.has_one_third_plus_senders(7));
        assert_eq!(k.highest_skip_round(0), Some(7));
        assert_eq!(k.highest_skip_round(7), None);
        // The same sender twice counts once.
        k.note_sender(5, addr(&s, 2));
        assert!(!k.has_one_third_plus_senders(5));
    }

    #[test]
    fn equivocation_is_reported_once_and_never_counted_twice() {
        let s = set();
        let mut k = VoteKeeper::new(&s);
        let a = vote(&s, 4, VoteType::Prevote, 0, Some(id(1)));
        let b = vote(&s, 4, VoteType::Prevote, 0, Some(id(2)));
        let c = vote(&s, 4, VoteType::Prevote, 0, None);
        assert_eq!(k.add(a.clone()), AddVote::Added);
        assert_eq!(k.add(a.clone()), AddVote::Duplicate);
        assert_eq!(k.add(b.clone()), AddVote::Equivocation(Box::new(a)));
        assert_eq!(k.add(b), AddVote::Duplicate, "reported once");
        // Each value sees the message sent for it; "any" sees the validator once.
        assert_eq!(k.power_for(0, VoteType::Prevote, Some(id(1))), 4);
        assert_eq!(k.power_for(0, VoteType::Prevote, Some(id(2))), 4);
        assert_eq!(k.power_any(0, VoteType::Prevote), 4);
        // A third different vote is not kept.
        assert_eq!(k.add(c), AddVote::Duplicate);
        assert_eq!(k.power_for(0, VoteType::Prevote, None), 0);
        // A vote of the other type in the same round is not equivocation.
        assert_eq!(
            k.add(vote(&s, 4, VoteType::Precommit, 0, None)),
            AddVote::Added
        );
    }

    #[test]
    fn non_members_are_ignored() {
        let s = set();
        let mut k = VoteKeeper::new(&s);
        let mut v = vote(&s, 4, VoteType::Prevote, 0, None);
        v.validator_address = Address([9; 20]);
        assert_eq!(k.add(v), AddVote::Duplicate);
        assert_eq!(k.power_any(0, VoteType::Prevote), 0);
    }
}
