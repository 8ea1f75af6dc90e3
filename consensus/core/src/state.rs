//! The variables of Algorithm 1 for one height.

use keystone_consensus_types::{BlockId, Height, Round};

/// The step within a round.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub enum Step {
    /// Before `Input::Start`.
    Unstarted,
    /// Waiting for the proposal (`step_p = propose`).
    Propose,
    /// Prevoted (`step_p = prevote`).
    Prevote,
    /// Precommitted (`step_p = precommit`).
    Precommit,
    /// Decided; the height is over.
    Commit,
}

/// A value together with the round it was locked or found valid in.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct RoundValue {
    /// The value (a block id).
    pub value: BlockId,
    /// The round.
    pub round: Round,
}

/// `h_p`, `round_p`, `step_p`, `lockedValue_p`/`lockedRound_p`, `validValue_p`/`validRound_p`
/// and `decision_p[h_p]`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct State {
    /// The height.
    pub height: Height,
    /// The current round.
    pub round: Round,
    /// The current step.
    pub step: Step,
    /// The locked value and round (`None` is the paper's nil / −1).
    pub locked: Option<RoundValue>,
    /// The valid value and round.
    pub valid: Option<RoundValue>,
    /// The decision, once made.
    pub decision: Option<RoundValue>,
}

impl State {
    /// The state before `Start` at `height`.
    pub fn new(height: Height) -> Self {
        State {
            height,
            round: 0,
            step: Step::Unstarted,
            locked: None,
            valid: None,
            decision: None,
        }
    }
}
