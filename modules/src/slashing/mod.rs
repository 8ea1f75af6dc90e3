//! slashing: punishing validators through staking — Cosmos SDK v0.50 `x/slashing` (liveness
//! over a sliding window of signed blocks, jailing for downtime, `MsgUnjail`, tombstones)
//! and the double-sign handling of `x/evidence`, with their events and errors (codespace
//! `slashing`, see [`SlashingError`]).
//!
//! Each block the app calls [`begin_block`] with the last commit's votes, then
//! [`handle_equivocation`] for each duplicate-vote evidence; staking runs with a
//! [`SlashingHooks`] for the block (next to the other modules' hooks), which gives every
//! validator that bonds its signing info.
//!
//! State (readable and provable; JSON values are the SDK's LCD JSON):
//! - `slashing/params` → [`Params`]
//! - `slashing/signing_infos/<cosmosvalcons…>` → [`ValidatorSigningInfo`]
//! - `slashing/missed/<cosmosvalcons…>/<index, 20 digits>` → empty: the validator missed
//!   the block at that index of its window (`index_offset % signed_blocks_window`); absent
//!   when it signed. One key per missed block rather than the SDK's 1024-bit chunks: a
//!   healthy validator has no keys at all, and each bit is readable and provable alone.
//!
//! Not kept: the consensus-address → public-key relation (staking's `validators_by_cons`
//! answers the same lookups), and the evidence store of `x/evidence` (evidence is keyed by
//! its protobuf hash there; consensus already refuses duplicates). Consensus-key rotation
//! and the params-update message are not supported.

mod error;
mod evidence;
pub mod genesis;
mod hooks;
mod keeper;
mod liveness;
mod msgs;
pub mod state_key;
mod types;

pub use error::SlashingError;
pub use evidence::handle_equivocation;
pub use hooks::SlashingHooks;
pub use keeper::{missed_blocks, params, set_params, signing_info, signing_infos};
pub use liveness::{begin_block, handle_validator_signature};
pub use msgs::MsgUnjail;
pub use types::{Equivocation, Params, ValidatorSigningInfo, VoteInfo, DOUBLE_SIGN_JAIL_END_TIME};

#[cfg(test)]
mod tests;
