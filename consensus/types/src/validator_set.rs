//! The validator set: ordering, hashing, CometBFT's weighted round-robin proposer selection,
//! and validator-set updates.
//!
//! Proposer selection, as CometBFT v0.38 `types/validator_set.go` specifies it:
//! - each validator has a priority; one *increment* adds every validator's power to its
//!   priority, picks the highest priority (ties: the lower address) as proposer, and subtracts
//!   the total power from the winner;
//! - before a batch of increments, priorities are *rescaled* so that `max − min ≤ 2 × total`
//!   (dividing by `ceil(diff / (2 × total))`, truncating toward zero) and *centred* by
//!   subtracting their average (floor division, computed in 128 bits);
//! - a new set runs one increment; each new height runs one more (the engine does this), and
//!   round `r` of a height uses the height's set incremented `r` more times;
//! - a validator added by an update starts at `−(T + T/8)` where `T` is the total power after
//!   the updates and before removals, so leaving and re-joining cannot reset a low priority.
//!
//! All arithmetic is integer and saturating exactly where CometBFT clips.

use crate::{merkle, Address, Error, Hash, Validator};

/// CometBFT's cap on the total voting power: `i64::MAX / 8`, so priorities cannot overflow.
pub const MAX_TOTAL_VOTING_POWER: i64 = i64::MAX / 8;

/// Priorities are kept within `PRIORITY_WINDOW_SIZE_FACTOR × total` of each other.
pub const PRIORITY_WINDOW_SIZE_FACTOR: i64 = 2;

/// A validator set, sorted by voting power (descending), then address (ascending).
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct ValidatorSet {
    validators: Vec<Validator>,
    total_voting_power: i64,
    /// Address of the proposer chosen by the last increment.
    proposer: Option<Address>,
}

fn sort_by_power(vals: &mut [Validator]) {
    vals.sort_by(|a, b| {
        b.voting_power
            .cmp(&a.voting_power)
            .then_with(|| a.address.cmp(&b.address))
    });
}

impl ValidatorSet {
    /// A new set as CometBFT's `NewValidatorSet`: the validators are added as one change set
    /// (no duplicates, no zero or negative power, total within [`MAX_TOTAL_VOTING_POWER`]),
    /// then priorities are incremented once, which picks the first proposer.
    pub fn new(validators: Vec<Validator>) -> crate::Result<Self> {
        let mut set = ValidatorSet::default();
        set.apply_changes(&validators, false)?;
        if !set.validators.is_empty() {
            set.increment_proposer_priority(1);
        }
        Ok(set)
    }

    /// A set exactly as given (priorities kept, no increment): how a stored or received set
    /// is rebuilt, with the proposer it recorded (CometBFT keeps it beside the priorities,
    /// because after an increment the proposer no longer has the highest priority). Checks
    /// duplicates, powers, the total and that the proposer is a member.
    pub fn with_priorities(
        mut validators: Vec<Validator>,
        proposer: Option<Address>,
    ) -> crate::Result<Self> {
        let mut seen = std::collections::BTreeSet::new();
        let mut total: i64 = 0;
        for v in &validators {
            if !seen.insert(v.address) {
                return Err(Error::ValidatorSet(format!(
                    "duplicate validator {}",
                    v.address
                )));
            }
            if v.voting_power < 0 {
                return Err(Error::ValidatorSet(format!(
                    "negative voting power for {}",
                    v.address
                )));
            }
            total = total
                .checked_add(v.voting_power)
                .filter(|t| *t <= MAX_TOTAL_VOTING_POWER)
                .ok_or_else(|| Error::ValidatorSet("total voting power too large".into()))?;
        }
        if let Some(p) = proposer {
            if !seen.contains(&p) {
                return Err(Error::UnknownValidator(p));
            }
        }
        sort_by_power(&mut validators);
        Ok(ValidatorSet {
            validators,
            total_voting_power: total,
            proposer,
        })
    }

    /// Protobuf `ValidatorSet` (priorities and the recorded proposer included): how a set is
    /// stored, so that loading it gives back the very same proposer order.
    pub fn to_proto(&self) -> keystone_proto::types::ValidatorSet {
        keystone_proto::types::ValidatorSet {
            validators: self.validators.iter().map(Validator::to_proto).collect(),
            proposer: self.proposer().map(Validator::to_proto),
            total_voting_power: self.total_voting_power,
        }
    }

    /// From protobuf, as [`ValidatorSet::with_priorities`] checks it; the stated total must be
    /// the sum of the powers.
    pub fn from_proto(p: &keystone_proto::types::ValidatorSet) -> crate::Result<Self> {
        let validators = p
            .validators
            .iter()
            .map(Validator::from_proto)
            .collect::<crate::Result<Vec<_>>>()?;
        let proposer = match &p.proposer {
            Some(v) => Some(Validator::from_proto(v)?.address),
            None => None,
        };
        let set = ValidatorSet::with_priorities(validators, proposer)?;
        if set.total_voting_power != p.total_voting_power {
            return Err(Error::ValidatorSet(format!(
                "total voting power {} is not the sum of the powers {}",
                p.total_voting_power, set.total_voting_power
            )));
        }
        Ok(set)
    }

    /// The validators, in set order.
    pub fn validators(&self) -> &[Validator] {
        &self.validators
    }

    /// Number of validators.
    pub fn len(&self) -> usize {
        self.validators.len()
    }

    /// No validators.
    pub fn is_empty(&self) -> bool {
        self.validators.is_empty()
    }

    /// Sum of voting powers.
    pub fn total_voting_power(&self) -> i64 {
        self.total_voting_power
    }

    /// The validator at `address`, if any.
    pub fn get_by_address(&self, address: &Address) -> Option<&Validator> {
        self.validators.iter().find(|v| v.address == *address)
    }

    /// Index of `address` in set order.
    pub fn index_of(&self, address: &Address) -> Option<usize> {
        self.validators.iter().position(|v| v.address == *address)
    }

    /// The validator at `index`.
    pub fn get_by_index(&self, index: usize) -> Option<&Validator> {
        self.validators.get(index)
    }

    /// The current proposer: the one the last increment chose, or (for a set rebuilt with
    /// [`ValidatorSet::with_priorities`]) the one with the highest priority.
    pub fn proposer(&self) -> Option<&Validator> {
        match self.proposer {
            Some(a) => self.get_by_address(&a),
            None => self.find_proposer(),
        }
    }

    /// The validator-set hash: Merkle root of `SimpleValidator` encodings in set order.
    pub fn hash(&self) -> Hash {
        let leaves: Vec<Vec<u8>> = self.validators.iter().map(Validator::hash_bytes).collect();
        merkle::hash_from_byte_slices(&leaves)
    }

    fn find_proposer(&self) -> Option<&Validator> {
        let mut best: Option<&Validator> = None;
        for v in &self.validators {
            best = Some(match best {
                None => v,
                Some(b) => more_priority(b, v),
            });
        }
        best
    }

    /// Run `times` proposer-priority increments (CometBFT `IncrementProposerPriority`):
    /// rescale, centre, then `times` single steps. A no-op on an empty set or `times == 0`.
    pub fn increment_proposer_priority(&mut self, times: u32) {
        if self.validators.is_empty() || times == 0 {
            return;
        }
        self.rescale_priorities(PRIORITY_WINDOW_SIZE_FACTOR * self.total_voting_power);
        self.shift_by_avg_proposer_priority();
        for _ in 0..times {
            self.increment_once();
        }
    }

    /// A copy with `times` increments applied: the set that proposes round `times` of a height.
    pub fn copy_increment(&self, times: u32) -> ValidatorSet {
        let mut c = self.clone();
        c.increment_proposer_priority(times);
        c
    }

    /// The proposer of `round` for a height whose round-0 set is `self`.
    pub fn proposer_for_round(&self, round: u32) -> Option<Validator> {
        if round == 0 {
            return self.proposer().cloned();
        }
        self.copy_increment(round).proposer().cloned()
    }

    fn increment_once(&mut self) {
        for v in &mut self.validators {
            v.proposer_priority = v.proposer_priority.saturating_add(v.voting_power);
        }
        let Some(idx) = self.index_of_most_priority() else {
            return;
        };
        let total = self.total_voting_power;
        let winner = &mut self.validators[idx];
        winner.proposer_priority = winner.proposer_priority.saturating_sub(total);
        self.proposer = Some(winner.address);
    }

    fn index_of_most_priority(&self) -> Option<usize> {
        let mut best: Option<usize> = None;
        for (i, v) in self.validators.iter().enumerate() {
            best = Some(match best {
                None => i,
                Some(b) => {
                    if std::ptr::eq(more_priority(&self.validators[b], v), v) {
                        i
                    } else {
                        b
                    }
                }
            });
        }
        best
    }

    /// CometBFT `RescalePriorities`: the wrapping arithmetic mirrors Go's int64 so that even
    /// out-of-range inputs give Go's answer.
    fn rescale_priorities(&mut self, diff_max: i64) {
        if diff_max <= 0 {
            return;
        }
        let diff = self.max_min_priority_diff();
        let ratio = diff.wrapping_add(diff_max).wrapping_sub(1) / diff_max;
        if diff > diff_max && ratio != 0 {
            for v in &mut self.validators {
                v.proposer_priority /= ratio;
            }
        }
    }

    fn max_min_priority_diff(&self) -> i64 {
        let max = self.validators.iter().map(|v| v.proposer_priority).max();
        let min = self.validators.iter().map(|v| v.proposer_priority).min();
        match (max, min) {
            (Some(max), Some(min)) => {
                let d = max.wrapping_sub(min);
                if d < 0 {
                    d.wrapping_neg()
                } else {
                    d
                }
            }
            _ => 0,
        }
    }

    /// Average priority, floor division in 128 bits as Go's `big.Int.Div`.
    fn avg_proposer_priority(&self) -> i64 {
        let n = self.validators.len() as i128;
        if n == 0 {
            return 0;
        }
        let sum: i128 = self
            .validators
            .iter()
            .map(|v| v.proposer_priority as i128)
            .sum();
        // The average of i64 values is an i64.
        sum.div_euclid(n) as i64
    }

    fn shift_by_avg_proposer_priority(&mut self) {
        let avg = self.avg_proposer_priority();
        for v in &mut self.validators {
            v.proposer_priority = v.proposer_priority.saturating_sub(avg);
        }
    }

    /// Apply validator updates as CometBFT's `UpdateWithChangeSet`: power 0 removes, a new
    /// address adds (priority −1.125 × total), a known one changes power. On error the set is
    /// unchanged. Duplicates, negative powers, unknown removals, an empty result and a total
    /// above [`MAX_TOTAL_VOTING_POWER`] are errors.
    pub fn update_with_change_set(&mut self, changes: &[Validator]) -> crate::Result<()> {
        self.apply_changes(changes, true)
    }

    fn apply_changes(&mut self, changes: &[Validator], allow_deletes: bool) -> crate::Result<()> {
        if changes.is_empty() {
            return Ok(());
        }
        let mut sorted: Vec<Validator> = changes.to_vec();
        sorted.sort_by_key(|v| v.address);
        let mut updates = Vec::new();
        let mut deletes = Vec::new();
        for (i, c) in sorted.iter().enumerate() {
            if i > 0 && sorted[i - 1].address == c.address {
                return Err(Error::ValidatorSet(format!(
                    "duplicate entry {}",
                    c.address
                )));
            }
            if c.voting_power < 0 {
                return Err(Error::ValidatorSet(format!(
                    "voting power can't be negative: {}",
                    c.voting_power
                )));
            }
            if c.voting_power > MAX_TOTAL_VOTING_POWER {
                return Err(Error::ValidatorSet(format!(
                    "voting power can't be higher than {MAX_TOTAL_VOTING_POWER}, got {}",
                    c.voting_power
                )));
            }
            if c.voting_power == 0 {
                deletes.push(c.clone());
            } else {
                updates.push(c.clone());
            }
        }
        if !allow_deletes && !deletes.is_empty() {
            return Err(Error::ValidatorSet(
                "cannot process validators with voting power 0".into(),
            ));
        }
        let new_count = updates
            .iter()
            .filter(|u| self.get_by_address(&u.address).is_none())
            .count();
        if new_count == 0 && self.validators.len() == deletes.len() {
            return Err(Error::ValidatorSet(
                "applying the validator changes would result in empty set".into(),
            ));
        }
        let mut removed_power: i64 = 0;
        for d in &deletes {
            let v = self.get_by_address(&d.address).ok_or_else(|| {
                Error::ValidatorSet(format!("failed to find validator {} to remove", d.address))
            })?;
            removed_power += v.voting_power;
        }
        // Apply decreases first so a swap of powers does not trip the cap on the way.
        let delta = |u: &Validator| -> i64 {
            match self.get_by_address(&u.address) {
                Some(v) => u.voting_power - v.voting_power,
                None => u.voting_power,
            }
        };
        let mut by_delta: Vec<&Validator> = updates.iter().collect();
        by_delta.sort_by_key(|u| delta(u));
        let mut tvp = self.total_voting_power - removed_power;
        for u in by_delta {
            tvp += delta(u);
            if tvp > MAX_TOTAL_VOTING_POWER {
                return Err(Error::ValidatorSet(format!(
                    "total voting power of resulting valset exceeds max {MAX_TOTAL_VOTING_POWER}"
                )));
            }
        }
        let tvp_after_updates_before_removals = tvp + removed_power;
        for u in &mut updates {
            u.proposer_priority = match self.get_by_address(&u.address) {
                Some(v) => v.proposer_priority,
                None => {
                    -(tvp_after_updates_before_removals + (tvp_after_updates_before_removals >> 3))
                }
            };
        }
        // Merge by address: an update replaces the entry with its address.
        let mut merged: std::collections::BTreeMap<Address, Validator> =
            self.validators.drain(..).map(|v| (v.address, v)).collect();
        for u in updates {
            merged.insert(u.address, u);
        }
        for d in &deletes {
            merged.remove(&d.address);
        }
        self.validators = merged.into_values().collect();
        self.total_voting_power = self.validators.iter().map(|v| v.voting_power).sum();
        self.rescale_priorities(PRIORITY_WINDOW_SIZE_FACTOR * self.total_voting_power);
        self.shift_by_avg_proposer_priority();
        sort_by_power(&mut self.validators);
        Ok(())
    }
}

/// CometBFT `CompareProposerPriority`: higher priority wins, ties go to the lower address.
fn more_priority<'a>(a: &'a Validator, b: &'a Validator) -> &'a Validator {
    match a.proposer_priority.cmp(&b.proposer_priority) {
        std::cmp::Ordering::Greater => a,
        std::cmp::Ordering::Less => b,
        std::cmp::Ordering::Equal => {
            if a.address <= b.address {
                a
            } else {
                b
            }
        }
    }
}

#[cfg(test)]
mod tests;
