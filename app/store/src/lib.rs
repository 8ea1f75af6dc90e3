//! Keystone's state store: one Jellyfish Merkle Tree (SHA-256, the `jmt` crate) kept in a redb
//! database, versioned by block height.
//!
//! What lives here: [`Store`] — reads of any key at any kept version, ICS23 proofs of presence
//! and of absence (`CommitmentProof`s that verify with the `ics23` crate against the version's
//! root under [`proof_spec`]), the two-step write the ABCI flow needs ([`Store::prepare`]
//! computes the new root during `FinalizeBlock` without touching disk, [`Store::commit`]
//! writes it in one durable redb transaction during `Commit`), pruning of old versions, and
//! [`Store::rollback`] of the newest one, and state snapshots: [`Store::export`] cuts a
//! version into chunks that each prove themselves against its root, and [`Store::restore`]
//! builds an empty store from them, crash-safe and resumable.
//! The root of version H is the app hash reported after block H.
//!
//! What does not live here: what the keys mean (modules define `bank/balances/…` and the
//! like), transaction branches and caches (the app keeps pending writes in memory and hands
//! the final set to `prepare`), and non-consensus indexes.
//!
//! Keys are arbitrary bytes; the tree is keyed by SHA-256 of the key, and every live key's
//! preimage is stored so that absence proofs can name their neighbours. Beside the tree, an
//! ordered index of live keys (`keys`) makes [`Store::prefix`] cost what it returns, at the
//! latest version and at older kept ones. Pruning drops old tree nodes and values, and the
//! index intervals, deletion records and preimages no kept version reaches. A store written
//! by an older Keystone is brought to this layout once, when opened.

mod error;
mod keys;
mod reader;
mod rollback;
mod snapshot;
mod store;

pub use error::{Error, Result};
pub use snapshot::{Export, Restore, CHUNK_BYTES};
pub use store::{Prepared, Stats, Store, Version, VersionReader};

/// The ICS23 proof spec of the tree (`jmt::ics23_spec()`): what a client passes to
/// `ics23::verify_membership` / `verify_non_membership` with our root.
pub fn proof_spec() -> ics23::ProofSpec {
    jmt::ics23_spec()
}

pub use ics23::CommitmentProof;
