//! [`Consensus`]: Algorithm 1 of the Tendermint paper for one height.
//!
//! Rules (each a method below, evaluated after every input until none fires):
//!
//! | paper | method | when | does |
//! |-------|--------|------|------|
//! | L10-21 | `start_round` | start, L55, L65 | new round; the proposer proposes `validValue` or asks for a value; timeout propose |
//! | L22-27 | `prevote_on_proposal` | step propose, proposal with POL −1 | prevote v if valid and (unlocked or locked on v), else nil |
//! | L28-33 | `prevote_on_pol` | step propose, proposal with POL vr < r and +2/3 prevotes for v in vr | prevote v if valid and (locked round ≤ vr or locked on v), else nil |
//! | L34-35 | `schedule_timeout_prevote` | step prevote, +2/3 prevotes for anything (once) | schedule timeout prevote |
//! | L36-43 | `lock_on_polka` | step ≥ prevote, proposal and +2/3 prevotes for valid v (once) | in step prevote: lock, precommit v; always: valid value := v |
//! | L44-46 | `precommit_nil_on_nil_polka` | step prevote, +2/3 prevotes for nil | precommit nil |
//! | L47-48 | `schedule_timeout_precommit` | +2/3 precommits for anything (once) | schedule timeout precommit |
//! | L49-54 | `decide` | proposal of round r and +2/3 precommits for its valid v in r | decide v |
//! | L55-56 | `skip_round` | f+1 power heard from in a round above ours | start that round |
//! | L57-60 | `on_timeout_propose` | timeout for the current round, step propose | prevote nil |
//! | L61-64 | `on_timeout_prevote` | timeout for the current round, step prevote | precommit nil |
//! | L65-67 | `on_timeout_precommit` | timeout for the current round, undecided | start the next round |

use crate::{
    AddVote, Faults, Input, Output, Rejected, RoundValue, State, Step, Timeout, TimeoutKind,
    VoteKeeper,
};
use keystone_consensus_types::{
    Address, BlockId, Height, Proposal, Round, Validator, ValidatorSet, Vote, VoteType,
};
use std::collections::{BTreeMap, BTreeSet};

/// The paper's "for the first time" rules, remembered per round.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Once {
    TimeoutPrevote,
    Polka,
    TimeoutPrecommit,
    LateProposalPrevote,
}

#[derive(Clone, Debug)]
struct ReceivedProposal {
    proposal: Proposal,
    valid: bool,
}

/// The consensus state machine for one height.
#[derive(Clone, Debug)]
pub struct Consensus {
    state: State,
    validators: ValidatorSet,
    me: Option<Address>,
    keeper: VoteKeeper,
    /// Proposals per round: the first received, plus (against an equivocating proposer) any
    /// other whose value more than 1/3 of the power voted for in that round.
    proposals: BTreeMap<Round, Vec<ReceivedProposal>>,
    proposers: BTreeMap<Round, Validator>,
    once: BTreeSet<(Round, Once)>,
    proposed: BTreeSet<Round>,
    faults: Faults,
}

impl Consensus {
    /// A machine for `height`, where `validators` is the height's set as it proposes round 0
    /// and `me` is this node's validator address (`None` for a node that only follows).
    pub fn new(height: Height, validators: ValidatorSet, me: Option<Address>) -> Self {
        Consensus {
            state: State::new(height),
            keeper: VoteKeeper::new(&validators),
            validators,
            me,
            proposals: BTreeMap::new(),
            proposers: BTreeMap::new(),
            once: BTreeSet::new(),
            proposed: BTreeSet::new(),
            faults: Faults::default(),
        }
    }

    /// Break rules on purpose (see [`Faults`]); for the simulator's self-tests only.
    #[cfg(feature = "fault-injection")]
    pub fn with_faults(mut self, faults: Faults) -> Self {
        self.faults = faults;
        self.keeper.set_weak_quorum(faults.weak_quorum);
        self
    }

    /// The algorithm's variables.
    pub fn state(&self) -> &State {
        &self.state
    }

    /// The height.
    pub fn height(&self) -> Height {
        self.state.height
    }

    /// The current round.
    pub fn round(&self) -> Round {
        self.state.round
    }

    /// The current step.
    pub fn step(&self) -> Step {
        self.state.step
    }

    /// The validator set of this height (round-0 priorities).
    pub fn validators(&self) -> &ValidatorSet {
        &self.validators
    }

    /// The votes received so far.
    pub fn keeper(&self) -> &VoteKeeper {
        &self.keeper
    }

    /// The proposer of `round`: the height's set with `round` more priority increments.
    pub fn proposer(&self, round: Round) -> Option<Validator> {
        match self.proposers.get(&round) {
            Some(v) => Some(v.clone()),
            None => self.validators.proposer_for_round(round),
        }
    }

    fn proposer_cached(&mut self, round: Round) -> Option<Validator> {
        if let Some(v) = self.proposers.get(&round) {
            return Some(v.clone());
        }
        let v = self.validators.proposer_for_round(round)?;
        self.proposers.insert(round, v.clone());
        Some(v)
    }

    /// The first proposal received for `round`, if any.
    pub fn proposal(&self, round: Round) -> Option<&Proposal> {
        self.proposals
            .get(&round)
            .and_then(|ps| ps.first())
            .map(|p| &p.proposal)
    }

    /// The proposal of `value` in `round`, if received (after [`Output::Decide`], the
    /// decided proposal).
    pub fn proposal_for(&self, round: Round, value: BlockId) -> Option<&Proposal> {
        self.proposals
            .get(&round)?
            .iter()
            .find(|p| p.proposal.block_id == value)
            .map(|p| &p.proposal)
    }

    /// Is exactly this proposal already stored?
    pub fn has_proposal(&self, proposal: &Proposal) -> bool {
        self.proposals
            .get(&proposal.round)
            .is_some_and(|ps| ps.iter().any(|p| p.proposal == *proposal))
    }

    fn first_proposal(&self, round: Round) -> Option<&ReceivedProposal> {
        self.proposals.get(&round).and_then(|ps| ps.first())
    }

    /// The precommits for `value` in `round`: after [`Output::Decide`], the commit.
    pub fn precommits_for(&self, round: Round, value: BlockId) -> Vec<Vote> {
        self.keeper
            .votes_for(round, VoteType::Precommit, Some(value))
    }

    /// Take one input; return what the driver must do. A rejected input changes nothing.
    pub fn apply(&mut self, input: Input) -> crate::Result<Vec<Output>> {
        let mut out = Vec::new();
        match input {
            Input::Start => {
                if self.state.step == Step::Unstarted {
                    self.start_round(0, &mut out);
                }
            }
            Input::ValueReady { round, value } => self.on_value_ready(round, value, &mut out),
            Input::Proposal { proposal, valid } => {
                if !self.on_proposal(proposal, valid)? {
                    return Ok(out);
                }
            }
            Input::Vote(vote) => {
                if !self.on_vote(vote, &mut out)? {
                    return Ok(out);
                }
            }
            Input::Timeout(t) => self.on_timeout(t, &mut out),
        }
        if matches!(
            self.state.step,
            Step::Propose | Step::Prevote | Step::Precommit
        ) {
            self.evaluate(&mut out);
        }
        Ok(out)
    }

    // ---- intake ---------------------------------------------------------------------------

    fn check_height(&self, got: Height) -> crate::Result<()> {
        if got != self.state.height {
            return Err(Rejected::WrongHeight {
                expected: self.state.height,
                got,
            });
        }
        Ok(())
    }

    /// Store a proposal. `Ok(false)` when it was already known.
    fn on_proposal(&mut self, proposal: Proposal, valid: bool) -> crate::Result<bool> {
        self.check_height(proposal.height)?;
        if let Some(pol) = proposal.pol_round {
            if pol >= proposal.round {
                return Err(Rejected::BadPolRound {
                    round: proposal.round,
                    pol_round: pol,
                });
            }
        }
        let round = proposal.round;
        if let Some(existing) = self.proposals.get(&round) {
            if existing.iter().any(|p| p.proposal == proposal) {
                return Ok(false);
            }
            // Only an equivocating proposer signs two proposals for one round. A second one
            // is kept only when more than 1/3 of the power — so at least one honest
            // validator — voted for its value in this round: then it may be the block the
            // others lock on or decide (L36, L49). That bounds what a proposer can make us
            // store to a few proposals per round.
            let v = Some(proposal.block_id);
            let supported = [VoteType::Prevote, VoteType::Precommit].iter().any(|t| {
                crate::is_one_third_plus(
                    self.keeper.power_for(round, *t, v),
                    self.keeper.total_power(),
                )
            });
            if existing
                .iter()
                .any(|p| p.proposal.block_id == proposal.block_id)
                || !supported
            {
                return Err(Rejected::ConflictingProposal(round));
            }
        }
        if let Some(p) = self.proposer_cached(round) {
            self.keeper.note_sender(round, p.address);
        }
        self.proposals
            .entry(round)
            .or_default()
            .push(ReceivedProposal { proposal, valid });
        Ok(true)
    }

    /// Count a vote. `Ok(false)` when it changed no tally.
    fn on_vote(&mut self, vote: Vote, out: &mut Vec<Output>) -> crate::Result<bool> {
        self.check_height(vote.height)?;
        let index = self
            .validators
            .index_of(&vote.validator_address)
            .ok_or(Rejected::UnknownValidator(vote.validator_address))?;
        if index != vote.validator_index as usize {
            return Err(Rejected::WrongValidatorIndex {
                address: vote.validator_address,
                index: vote.validator_index,
            });
        }
        if vote.signature.is_none() {
            return Err(Rejected::Unsigned);
        }
        match self.keeper.add(vote.clone()) {
            AddVote::Added => Ok(true),
            AddVote::Duplicate => Ok(false),
            AddVote::Equivocation(first) => {
                out.push(Output::Equivocation {
                    first,
                    second: Box::new(vote),
                });
                // The second vote counts toward its own value: rules may fire.
                Ok(true)
            }
        }
    }

    fn on_value_ready(&mut self, round: Round, value: BlockId, out: &mut Vec<Output>) {
        let is_me = self.me.is_some() && self.proposer_cached(round).map(|p| p.address) == self.me;
        if round == self.state.round
            && self.state.step == Step::Propose
            && is_me
            && self.proposed.insert(round)
        {
            out.push(Output::Propose {
                round,
                value,
                pol_round: None,
            });
        }
    }

    fn on_timeout(&mut self, t: Timeout, out: &mut Vec<Output>) {
        match t.kind {
            TimeoutKind::Propose => self.on_timeout_propose(t.round, out),
            TimeoutKind::Prevote => self.on_timeout_prevote(t.round, out),
            TimeoutKind::Precommit => self.on_timeout_precommit(t.round, out),
        }
    }

    // ---- rules ------------------------------------------------------------------------------

    fn evaluate(&mut self, out: &mut Vec<Output>) {
        loop {
            let fired = self.decide(out)
                || self.skip_round(out)
                || self.prevote_on_proposal(out)
                || self.prevote_on_pol(out)
                || self.lock_on_polka(out)
                || self.precommit_nil_on_nil_polka(out)
                || self.schedule_timeout_prevote(out)
                || self.schedule_timeout_precommit(out);
            if !fired || self.state.step == Step::Commit {
                return;
            }
        }
    }

    fn first_time(&mut self, round: Round, what: Once) -> bool {
        self.once.insert((round, what))
    }

    fn vote(&mut self, vote_type: VoteType, value: Option<BlockId>, out: &mut Vec<Output>) {
        out.push(Output::Vote {
            vote_type,
            round: self.state.round,
            value,
        });
    }

    fn is_valid(&self, p: &ReceivedProposal) -> bool {
        p.valid || self.faults.skip_validity
    }

    /// L11-21 StartRound(round): enter `round` at step propose. The proposer proposes its
    /// valid value (with its round as POL round) or asks the driver for a new one. Every node
    /// schedules the propose timeout — CometBFT does so for the proposer too, which keeps a
    /// slow block builder from stalling the round.
    fn start_round(&mut self, round: Round, out: &mut Vec<Output>) {
        self.state.round = round;
        self.state.step = Step::Propose;
        let Some(proposer) = self.proposer_cached(round) else {
            return;
        };
        out.push(Output::NewRound {
            round,
            proposer: proposer.address,
        });
        if self.me == Some(proposer.address) {
            match self.state.valid {
                Some(valid) => {
                    if self.proposed.insert(round) {
                        out.push(Output::Propose {
                            round,
                            value: valid.value,
                            pol_round: Some(valid.round),
                        });
                    }
                }
                None => out.push(Output::GetValue { round }),
            }
        }
        out.push(Output::ScheduleTimeout(Timeout {
            kind: TimeoutKind::Propose,
            round,
        }));
    }

    /// The step guard of L22 and L28, with the `prevote_late_proposal` fault's hole in it.
    fn may_prevote_on_proposal(&mut self) -> bool {
        match self.state.step {
            Step::Propose => true,
            Step::Prevote if self.faults.prevote_late_proposal => {
                self.first_time(self.state.round, Once::LateProposalPrevote)
            }
            _ => false,
        }
    }

    /// L22-27: upon ⟨PROPOSAL, h, r, v, −1⟩ from proposer(h, r) while step = propose:
    /// prevote id(v) if valid(v) ∧ (lockedRound = −1 ∨ lockedValue = v), else nil.
    fn prevote_on_proposal(&mut self, out: &mut Vec<Output>) -> bool {
        let r = self.state.round;
        let Some(p) = self.first_proposal(r) else {
            return false;
        };
        if p.proposal.pol_round.is_some() {
            return false;
        }
        let v = p.proposal.block_id;
        let valid = self.is_valid(p);
        if !self.may_prevote_on_proposal() {
            return false;
        }
        let lock_ok = self.faults.ignore_lock || self.state.locked.is_none_or(|l| l.value == v);
        let value = (valid && lock_ok).then_some(v);
        self.vote(VoteType::Prevote, value, out);
        self.state.step = Step::Prevote;
        true
    }

    /// L28-33: upon ⟨PROPOSAL, h, r, v, vr⟩ from proposer(h, r) AND 2f+1 ⟨PREVOTE, h, vr, id(v)⟩
    /// while step = propose ∧ 0 ≤ vr < r: prevote id(v) if valid(v) ∧ (lockedRound ≤ vr ∨
    /// lockedValue = v), else nil.
    fn prevote_on_pol(&mut self, out: &mut Vec<Output>) -> bool {
        let r = self.state.round;
        let Some(p) = self.first_proposal(r) else {
            return false;
        };
        let Some(vr) = p.proposal.pol_round else {
            return false;
        };
        let v = p.proposal.block_id;
        if vr >= r || !self.keeper.has_quorum_for(vr, VoteType::Prevote, Some(v)) {
            return false;
        }
        let valid = self.is_valid(p);
        if !self.may_prevote_on_proposal() {
            return false;
        }
        let lock_ok = self.faults.ignore_lock
            || self
                .state
                .locked
                .is_none_or(|l| l.round <= vr || l.value == v);
        let value = (valid && lock_ok).then_some(v);
        self.vote(VoteType::Prevote, value, out);
        self.state.step = Step::Prevote;
        true
    }

    /// L34-35: upon 2f+1 ⟨PREVOTE, h, r, ∗⟩ while step = prevote for the first time: schedule
    /// OnTimeoutPrevote(h, r).
    fn schedule_timeout_prevote(&mut self, out: &mut Vec<Output>) -> bool {
        let r = self.state.round;
        if self.state.step != Step::Prevote
            || !self.keeper.has_quorum_any(r, VoteType::Prevote)
            || !self.first_time(r, Once::TimeoutPrevote)
        {
            return false;
        }
        out.push(Output::ScheduleTimeout(Timeout {
            kind: TimeoutKind::Prevote,
            round: r,
        }));
        true
    }

    /// L36-43: upon ⟨PROPOSAL, h, r, v, ∗⟩ from proposer(h, r) AND 2f+1 ⟨PREVOTE, h, r, id(v)⟩
    /// while valid(v) ∧ step ≥ prevote for the first time: if step = prevote, lock on v and
    /// precommit id(v); in any case validValue := v, validRound := r.
    fn lock_on_polka(&mut self, out: &mut Vec<Output>) -> bool {
        let r = self.state.round;
        if !matches!(self.state.step, Step::Prevote | Step::Precommit) {
            return false;
        }
        let Some(v) = self.proposals.get(&r).and_then(|ps| {
            ps.iter()
                .find(|p| {
                    self.is_valid(p)
                        && self.keeper.has_quorum_for(
                            r,
                            VoteType::Prevote,
                            Some(p.proposal.block_id),
                        )
                })
                .map(|p| p.proposal.block_id)
        }) else {
            return false;
        };
        if !self.first_time(r, Once::Polka) {
            return false;
        }
        if self.state.step == Step::Prevote {
            self.state.locked = Some(RoundValue { value: v, round: r });
            self.vote(VoteType::Precommit, Some(v), out);
            self.state.step = Step::Precommit;
        }
        self.state.valid = Some(RoundValue { value: v, round: r });
        true
    }

    /// L44-46: upon 2f+1 ⟨PREVOTE, h, r, nil⟩ while step = prevote: precommit nil.
    fn precommit_nil_on_nil_polka(&mut self, out: &mut Vec<Output>) -> bool {
        let r = self.state.round;
        if self.state.step != Step::Prevote
            || !self.keeper.has_quorum_for(r, VoteType::Prevote, None)
        {
            return false;
        }
        self.vote(VoteType::Precommit, None, out);
        self.state.step = Step::Precommit;
        true
    }

    /// L47-48: upon 2f+1 ⟨PRECOMMIT, h, r, ∗⟩ for the first time: schedule
    /// OnTimeoutPrecommit(h, r).
    fn schedule_timeout_precommit(&mut self, out: &mut Vec<Output>) -> bool {
        let r = self.state.round;
        if !self.keeper.has_quorum_any(r, VoteType::Precommit)
            || !self.first_time(r, Once::TimeoutPrecommit)
        {
            return false;
        }
        out.push(Output::ScheduleTimeout(Timeout {
            kind: TimeoutKind::Precommit,
            round: r,
        }));
        true
    }

    /// L49-54: upon ⟨PROPOSAL, h, r, v, ∗⟩ from proposer(h, r) AND 2f+1 ⟨PRECOMMIT, h, r, id(v)⟩
    /// while decision = nil: if valid(v), decide v. Any round r, not only the current one.
    fn decide(&mut self, out: &mut Vec<Output>) -> bool {
        if self.state.decision.is_some() {
            return false;
        }
        let found = self.proposals.iter().find_map(|(r, ps)| {
            ps.iter()
                .find(|p| {
                    self.is_valid(p)
                        && self.keeper.has_quorum_for(
                            *r,
                            VoteType::Precommit,
                            Some(p.proposal.block_id),
                        )
                })
                .map(|p| (*r, p.proposal.block_id))
        });
        let Some((round, value)) = found else {
            return false;
        };
        let decision = RoundValue { value, round };
        self.state.decision = Some(decision);
        self.state.step = Step::Commit;
        out.push(Output::Decide {
            round: decision.round,
            value: decision.value,
        });
        true
    }

    /// L55-56: upon f+1 ⟨∗, h, round, ∗, ∗⟩ with round > round_p: StartRound(round) — the
    /// highest such round.
    fn skip_round(&mut self, out: &mut Vec<Output>) -> bool {
        match self.keeper.highest_skip_round(self.state.round) {
            Some(r) => {
                self.start_round(r, out);
                true
            }
            None => false,
        }
    }

    /// L57-60: OnTimeoutPropose(h, r): if r = round_p ∧ step = propose, prevote nil.
    fn on_timeout_propose(&mut self, round: Round, out: &mut Vec<Output>) {
        if self.faults.ignore_propose_timeout {
            return;
        }
        if round == self.state.round && self.state.step == Step::Propose {
            self.vote(VoteType::Prevote, None, out);
            self.state.step = Step::Prevote;
        }
    }

    /// L61-64: OnTimeoutPrevote(h, r): if r = round_p ∧ step = prevote, precommit nil.
    fn on_timeout_prevote(&mut self, round: Round, out: &mut Vec<Output>) {
        if round == self.state.round && self.state.step == Step::Prevote {
            self.vote(VoteType::Precommit, None, out);
            self.state.step = Step::Precommit;
        }
    }

    /// L65-67: OnTimeoutPrecommit(h, r): if r = round_p (and undecided), StartRound(r + 1).
    fn on_timeout_precommit(&mut self, round: Round, out: &mut Vec<Output>) {
        if round == self.state.round
            && self.state.decision.is_none()
            && self.state.step != Step::Unstarted
        {
            self.start_round(round.saturating_add(1), out);
        }
    }
}

#[cfg(test)]
mod tests;
