//! What goes into the core and what comes out.

use crate::Timeout;
use keystone_consensus_types::{Address, BlockId, Proposal, Round, Vote, VoteType};

/// An event for the core. Signatures are already checked by the driver.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
    /// L10: start the height at round 0.
    Start,
    /// L18: the value the core asked for with [`Output::GetValue`] is ready.
    ValueReady {
        /// The round it was asked for.
        round: Round,
        /// The value (id of a block the driver built).
        value: BlockId,
    },
    /// A proposal signed by the proposer of its round (checked against
    /// [`crate::Consensus::proposer`]), with `valid(v)` as the application judged it.
    Proposal {
        /// The signed proposal.
        proposal: Proposal,
        /// `valid(v)`.
        valid: bool,
    },
    /// A signed prevote or precommit from a validator of this height.
    Vote(Vote),
    /// A timeout the core scheduled has expired.
    Timeout(Timeout),
}

/// An effect for the driver to carry out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Output {
    /// L11-12: a round started; `proposer` proposes in it.
    NewRound {
        /// The round.
        round: Round,
        /// Its proposer.
        proposer: Address,
    },
    /// L18: we propose in `round` and have no valid value: build a block and answer with
    /// [`Input::ValueReady`].
    GetValue {
        /// The round.
        round: Round,
    },
    /// L19: sign and broadcast this proposal (then feed it back as an input).
    Propose {
        /// The round.
        round: Round,
        /// The value.
        value: BlockId,
        /// The POL round (`validRound_p`), `None` for −1.
        pol_round: Option<Round>,
    },
    /// L24, L26, L30, L32, L40, L45, L59, L63: sign and broadcast this vote (then feed it back).
    Vote {
        /// Prevote or precommit.
        vote_type: VoteType,
        /// The round.
        round: Round,
        /// The block, or `None` for nil.
        value: Option<BlockId>,
    },
    /// L21, L35, L48: call back with [`Input::Timeout`] after
    /// [`crate::TimeoutConfig::duration`].
    ScheduleTimeout(Timeout),
    /// L51: `value` is decided in `round`; its commit is
    /// [`crate::Consensus::precommits_for`]`(round, value)`.
    Decide {
        /// The deciding round.
        round: Round,
        /// The decided value.
        value: BlockId,
    },
    /// Two conflicting signed votes from one validator: the makings of
    /// `DuplicateVoteEvidence`.
    Equivocation {
        /// The vote counted first.
        first: Box<Vote>,
        /// The conflicting one.
        second: Box<Vote>,
    },
}
