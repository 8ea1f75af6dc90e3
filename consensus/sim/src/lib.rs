//! A deterministic simulator, at two levels.
//!
//! [`real`]: the production node — the driver's `Node` with its engine, WAL, signer, block
//! store, mempool, peer budgets and block sync, the code `keystone start` runs — many of them
//! in one thread, each on a virtual disk, over a virtual network, on virtual time. Crashes
//! strike between any two durable writes, hostile peers flood and lie, disks and
//! applications are slow; after every event the invariants are checked. `keystone-sim sweep`
//! runs it.
//!
//! The core level ([`run`], [`Scenario`]): the consensus core alone under a small driver of
//! its own (real ed25519 signatures, a WAL replayed after crashes, a privval that refuses
//! conflicting signatures, catch-up by commits), with Byzantine members ([`Behaviour`]:
//! equivocating, lock-ignoring, silent) and deliberately broken rules (`Faults`), fast
//! enough for large sweeps of the algorithm; the [`Checker`] enforces agreement, validity
//! and "no honest double sign", then liveness.
//!
//! A run at either level is a pure function of its scenario (and so of a seed): the same seed
//! gives the same events and trace hash, which is how a failing seed replays exactly:
//! `cargo run --release -p keystone-consensus-sim --bin keystone-sim -- replay <n> <seed>`
//! (the real node) or `-- core-replay <n> <seed>` (the core).

mod checker;
mod network;
mod node;
pub mod real;
mod scenario;
mod sim;

pub use checker::{Checker, Violation};
pub use node::Behaviour;
pub use scenario::{sim_timeouts, NetworkFaults, Scenario};
pub use sim::{run, Report};
