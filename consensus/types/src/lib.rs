//! CometBFT v0.38 data types, byte for byte.
//!
//! What lives here: the values consensus agrees on and signs — [`Header`], [`Block`],
//! [`BlockId`] with its [`PartSetHeader`] (64 KiB parts with Merkle proofs, [`PartSet`]),
//! [`Vote`], [`Proposal`], [`Commit`]/[`CommitSig`], [`ValidatorSet`] (with CometBFT's
//! weighted-round-robin proposer selection and validator-set updates) and
//! [`DuplicateVoteEvidence`] — together with the exact hashes and sign bytes CometBFT computes
//! for them (RFC-6962 Merkle roots, length-delimited canonical votes and proposals) and BFT time
//! ([`median_time`]), and the light client's verification rules ([`light`]: adjacent,
//! skipping, bisection). Compatibility is the contract: the `tendermint` and
//! `tendermint-light-client-verifier` crates accept what this crate produces (see `tests/`).
//!
//! What does not live here: any rule of the consensus algorithm (that is
//! `keystone-consensus-core`), any I/O, clock or randomness. Signing takes a key and returns
//! bytes; time is a value passed in. Every fallible conversion from the wire returns
//! [`Error`], never panics.
//!
//! Heights are `u64` and rounds `u32` in Rust; they become CometBFT's `int64`/`int32` only at
//! the protobuf boundary, where out-of-range values are rejected.

mod block;
mod block_id;
mod commit;
mod crypto;
mod error;
mod evidence;
mod hash;
mod header;
pub mod light;
pub mod merkle;
mod params;
mod part_set;
mod proposal;
mod time;
mod validator;
mod validator_set;
mod vote;

pub use block::{Block, Data};
pub use block_id::{BlockId, PartSetHeader};
pub use commit::{BlockIdFlag, Commit, CommitSig};
pub use crypto::{Address, PrivateKey, PublicKey, Signature};
pub use error::{Error, Result};
pub use evidence::DuplicateVoteEvidence;
pub use hash::{sha256, Hash};
pub use header::{Header, Version, BLOCK_PROTOCOL};
pub use params::HashedParams;
pub use part_set::{Part, PartSet, BLOCK_PART_SIZE};
pub use proposal::Proposal;
pub use time::{median_time, Time};
pub use validator::Validator;
pub use validator_set::{ValidatorSet, MAX_TOTAL_VOTING_POWER, PRIORITY_WINDOW_SIZE_FACTOR};
pub use vote::{Vote, VoteType};

/// A block height. CometBFT heights start at 1 (or the genesis `initial_height`).
pub type Height = u64;

/// A consensus round within a height, from 0.
pub type Round = u32;
