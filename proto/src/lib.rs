//! Keystone's wire contracts.
//!
//! What lives here: the CometBFT v0.38 protobuf types (re-exported from `tendermint-proto`, the
//! single version the whole workspace uses, the one `cosmrs` 0.22 pins) and the few encoding
//! helpers every other crate needs to produce CometBFT's exact bytes: the `google.protobuf`
//! wrapper encodings that header hashing uses, and length-delimited framing.
//!
//! [`tx_json`] maps signed Cosmos SDK transactions to and from the SDK's JSON form (gentx
//! files, `app_state.genutil.gen_txs`) without changing a signed byte.
//!
//! It also holds [`Application`], the ABCI 2.0 contract the engine drives: the built-in app
//! and the socket client both implement it.
//!
//! [`socket`] is the ABCI socket framing (CometBFT v0.38: a protobuf `Request`/`Response`
//! behind an unsigned-varint length): a streaming decoder with a size limit and typed errors,
//! and the encoder. The client and server that use it live with the engine
//! (`keystone-consensus-driver`'s `abci` module).
//!
//! Domain types with behaviour (headers, votes, validator sets) live in
//! `keystone-consensus-types`; this crate holds bytes, not rules.

pub use prost;
pub use tendermint_proto as tm;

/// The CometBFT v0.38 `tendermint.types` messages.
pub use tendermint_proto::v0_38::types;

/// The CometBFT v0.38 `tendermint.crypto` messages.
pub use tendermint_proto::v0_38::crypto;

/// The CometBFT v0.38 `tendermint.version` messages.
pub use tendermint_proto::v0_38::version;

/// `google.protobuf.Timestamp`, as CometBFT encodes it.
pub use tendermint_proto::google::protobuf::Timestamp;

/// The CometBFT v0.38 `tendermint.abci` messages (ABCI 2.0).
pub use tendermint_proto::v0_38::abci;

mod application;
pub mod socket;
pub mod tx_json;
pub mod wrappers;

pub use application::{
    AppChecker, AppError, AppReader, AppResult, AppSnapshots, Application, ABCI_VERSION,
};
