//! The Tendermint consensus algorithm (Buchman, Kwon, Milosevic, arXiv 1807.04938,
//! Algorithm 1) for one height, as a pure state machine.
//!
//! What lives here: [`Consensus`], which takes an [`Input`] (start, a value to propose, a
//! proposal, a vote, a timeout) and returns the [`Output`]s the driver must carry out
//! (broadcast a proposal or vote after signing it, schedule a timeout, ask for a value, record
//! a decision, report equivocation); the [`VoteKeeper`] that tallies votes by voting power per
//! round and type and spots equivocation; and the [`TimeoutConfig`] that turns a timeout into a
//! duration (base + delta × round, CometBFT's defaults).
//!
//! What does not live here: signatures, clocks, storage, networking and block contents. The
//! driver verifies every signature before an input reaches the core (a proposal against
//! [`Consensus::proposer`]), decides `valid(v)` (the application's `ProcessProposal`), signs
//! what the core asks it to, stamps times, keeps the WAL and moves to the next height after a
//! decision. The core reads no clock, draws no randomness and iterates no hash map, so the same
//! inputs always give the same outputs — which is what lets the simulator replay a seed, and a
//! restarted node replay its WAL.
//!
//! Each rule of the paper is one method, named in its doc by the lines it implements
//! (L11 `start_round`, L22, L28, L34, L36, L44, L47, L49, L55, L57, L61, L65). After every
//! input, the rules are evaluated until none fires; rules that fire "for the first time" in the
//! paper fire once per round.

mod consensus;
mod error;
mod faults;
mod io;
mod state;
mod timeout;
mod vote_keeper;

pub use consensus::Consensus;
pub use error::{Rejected, Result};
pub use faults::Faults;
pub use io::{Input, Output};
pub use state::{RoundValue, State, Step};
pub use timeout::{Timeout, TimeoutConfig, TimeoutKind};
pub use vote_keeper::{AddVote, VoteKeeper};

/// Is `power` more than two thirds of `total`? (CometBFT's `+2/3`: `3·power > 2·total`.)
pub fn is_quorum(power: i64, total: i64) -> bool {
    3 * power as i128 > 2 * total as i128
}

/// Is `power` more than one third of `total`? (The paper's `f+1`: `3·power > total`.)
pub fn is_one_third_plus(power: i64, total: i64) -> bool {
    3 * power as i128 > total as i128
}
