//! Keystone's built-in application.
//!
//! What lives here now: [`tx`], the transaction pipeline for Cosmos SDK v0.50 transactions —
//! `TxRaw` decoding, the ante chain (size, memo, timeout height, signature count, public key
//! set on first use, sequence, SIGN_MODE_DIRECT secp256k1 signature, minimum gas prices, fee
//! deduction into the fee collector, gas metering with the SDK's costs) and the messages, each
//! on a branch that is kept only if every message succeeds — with the SDK's codespaces, codes
//! and wording in the results.
//!
//! It also holds [`App`], the `Application` (ABCI 2.0) over the JMT store: `InitChain` from
//! the genesis `app_state` (auth, bank, distribution, staking, slashing, mint, then the gentxs
//! of `genutil`, returning the validators they bonded; the consensus params kept for the
//! evidence age limits), `CheckTx` against a check state that lives until the next commit,
//! `FinalizeBlock` running the begin block (mint, distribution over `decided_last_commit`,
//! slashing's liveness, each `Misbehavior` as a double sign), every transaction, then
//! staking's end block (its validator updates go back to consensus), computing the new app
//! hash without writing, `Commit` writing the version in one redb transaction, `Info` for the
//! handshake and `Query` of `/store/key` with an ICS23 proof (`proofOps[0].type =
//! "ics23:jmt"`), of the Cosmos gRPC paths in `grpc` (protobuf over `abci_query`, as cosmjs
//! and cosmrs ask: auth `Account`/`Params`; bank `Balance`, `AllBalances`, `TotalSupply`,
//! `SupplyOf`, `Params`; staking's validators, delegations, unbondings, redelegations, `Pool`
//! and `Params`), and of the LCD routes in [`lcd`] (the REST router's answers, computed from
//! state). Staking's hooks reach distribution, then slashing (`hooks`).
//!
//! What does not live here yet: the distribution, slashing and mint gRPC paths (#6). Business rules live in
//! `keystone-modules`; this crate decodes, authenticates, meters, routes and stores.

mod application;
mod checker;
mod consensus_params;
pub mod export;
mod grpc;
mod hooks;
pub mod lcd;
mod queries;
pub mod snapshots;
mod store_state;
pub mod tx;

pub use application::{App, AppGenesis};
pub use queries::Queries;
pub use store_state::StoreState;
