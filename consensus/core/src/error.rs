//! Why the core refused an input. A refusal never changes the core's state; the driver may
//! count it against the peer that sent the input.

use keystone_consensus_types::{Address, Height, Round};

/// An input the core would not take.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejected {
    /// The message is for another height.
    #[error("message for height {got}, this machine runs height {expected}")]
    WrongHeight {
        /// The height the core runs.
        expected: Height,
        /// The height of the message.
        got: Height,
    },
    /// The signer is not in the validator set.
    #[error("{0} is not a validator at this height")]
    UnknownValidator(Address),
    /// The vote's validator index does not match the signer's place in the set.
    #[error("validator index {index} does not belong to {address}")]
    WrongValidatorIndex {
        /// The signer.
        address: Address,
        /// The index the vote claimed.
        index: u32,
    },
    /// A proposal's POL round is not below its round.
    #[error("proposal for round {round} with POL round {pol_round}")]
    BadPolRound {
        /// The proposal's round.
        round: Round,
        /// Its POL round.
        pol_round: Round,
    },
    /// A second, different proposal for a round that already has one.
    #[error("conflicting proposal for round {0}")]
    ConflictingProposal(Round),
    /// A vote without a signature (the driver only passes verified votes).
    #[error("unsigned vote")]
    Unsigned,
}

/// `Result` with [`Rejected`].
pub type Result<T> = std::result::Result<T, Rejected>;
