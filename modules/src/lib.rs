//! Keystone's business logic: the modules of a Cosmos-style chain, as pure logic over an
//! abstract key-value [`State`].
//!
//! What lives here: [`state`] (the `State` trait, an in-memory state for tests and a
//! [`state::Branch`] that keeps writes aside until committed — the per-transaction branch),
//! the value types every module shares ([`coin`], [`address`]), and the modules: [`auth`]
//! (accounts, account numbers, sequences, public keys, module accounts, params) and [`bank`]
//! (balances, supply, `MsgSend`, `MsgMultiSend`, blocked addresses, send-enabled). Each module
//! has its `state_key` functions, its [`event`]s, — the readable, provable keys documented in the README —
//! its genesis section, and its errors with the Cosmos SDK's codespace, code and wording.
//!
//! What does not live here: storage (the app's JMT implements `State`), transaction decoding,
//! signatures, fees and gas (the app's tx pipeline), and networking. Modules never import the
//! app.
//!
//! Token amounts are `u128` with checked arithmetic: an overflow is an error, never a wrap.

pub mod address;
pub mod auth;
pub mod bank;
pub mod coin;
pub mod error;
pub mod event;
pub mod state;

pub use address::Address;
pub use coin::{Amount, Coin, Coins};
pub use error::{ModuleError, Result};
pub use event::Event;
pub use state::{MemState, State};
