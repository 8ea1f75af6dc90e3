//! Keystone's business logic: the modules of a Cosmos-style chain, as pure logic over an
//! abstract key-value [`State`].
//!
//! What lives here: [`state`] (the `State` trait, an in-memory state for tests and a
//! [`state::Branch`] that keeps writes aside until committed — the per-transaction branch),
//! the value types every module shares ([`coin`], [`address`], [`dec`] — the SDK's exact
//! 18-digit `LegacyDec` — and [`timestamp`], with the [`BlockCtx`] a module runs in), and the
//! modules: [`auth`] (accounts, account numbers, sequences, public keys, module accounts,
//! params), [`bank`] (balances, supply, `MsgSend`, `MsgMultiSend`, blocked addresses,
//! send-enabled) and [`staking`] (validators, delegations, unbonding, redelegation, the
//! validator-set updates for consensus, slashing and jailing, hooks for the modules that
//! follow). Each module has its `state_key` functions, its [`event`]s, — the readable,
//! provable keys documented in the README — its genesis section, and its errors with the
//! Cosmos SDK's codespace, code and wording.
//!
//! [`slashing`] punishes validators through staking: downtime over a sliding window of
//! signed blocks, double signing (x/evidence's equivocation handling, tombstoning), and
//! `MsgUnjail`.
//!
//! [`mint`] creates each block's inflation (toward the goal bonded ratio) for the fee
//! collector, and [`distribution`] shares the fee collector's balance among validators by
//! voting power and among their delegators by stake (F1: exact, truncated, the dust to the
//! community pool), with commission, withdraw addresses and the community pool.
//!
//! What does not live here: storage (the app's JMT implements `State`), transaction decoding,
//! signatures, fees and gas (the app's tx pipeline), and networking. Modules never import the
//! app. Modules have no clock and no randomness: the block's height and time come in.
//!
//! Token amounts are `u128` with checked arithmetic: an overflow is an error, never a wrap.

pub mod address;
pub mod auth;
pub mod bank;
pub mod coin;
pub mod dec;
pub mod distribution;
pub mod error;
pub mod event;
pub mod mint;
mod serde_util;
pub mod slashing;
pub mod staking;
pub mod state;
pub mod timestamp;

#[cfg(test)]
mod test_util;

pub use address::Address;
pub use coin::{Amount, Coin, Coins};
pub use dec::Dec;
pub use error::{ModuleError, Result};
pub use event::Event;
pub use state::{MemState, State};
pub use timestamp::{BlockCtx, Timestamp};
