//! A deterministic simulator for the consensus core.
//!
//! What lives here: a whole network of validators in one process and one thread — each an
//! honest driver around `keystone_consensus_core::Consensus` (real ed25519 signatures, a WAL
//! replayed after crashes, a privval that refuses conflicting signatures, gossip that
//! re-sends until the network heals, catch-up by commits), or a Byzantine member
//! ([`Behaviour`]: equivocating, lock-ignoring, silent) — over a simulated network whose
//! delays, drops, duplicates, reorderings and partitions come from one seeded RNG, in virtual
//! time. After every event the [`Checker`] enforces agreement, validity and "no honest double
//! sign"; at the end it checks liveness (every honest node decided every target height once
//! the network healed).
//!
//! What does not live here: the production driver (tokio timers, disk WAL, real sockets). The
//! simulator drives the same core, with the same rules, through its own small driver.
//!
//! A run is a pure function of its [`Scenario`] (and so of a seed, through
//! [`Scenario::random`]): the same seed gives the same events, decisions and trace hash,
//! which is how a failing seed replays exactly:
//! `cargo run --release -p keystone-consensus-sim --bin keystone-sim -- --replay <n> <seed>`.

mod checker;
mod network;
mod node;
mod scenario;
mod sim;

pub use checker::{Checker, Violation};
pub use node::Behaviour;
pub use scenario::{sim_timeouts, NetworkFaults, Scenario};
pub use sim::{run, Report};
