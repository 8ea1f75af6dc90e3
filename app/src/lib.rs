//! Keystone's built-in application.
//!
//! What lives here now: [`tx`], the transaction pipeline for Cosmos SDK v0.50 transactions —
//! `TxRaw` decoding, the ante chain (size, memo, timeout height, signature count, public key
//! set on first use, sequence, SIGN_MODE_DIRECT secp256k1 signature, minimum gas prices, fee
//! deduction into the fee collector, gas metering with the SDK's costs) and the messages, each
//! on a branch that is kept only if every message succeeds — with the SDK's codespaces, codes
//! and wording in the results.
//!
//! What does not live here yet: the `Application` implementation over the JMT store
//! (`keystone-store`, in `app/store`), queries and the REST router; they come with the rest of
//! the single-validator chain (#3). Business rules live in `keystone-modules`; this crate
//! decodes, authenticates, meters and routes.

pub mod tx;
