//! The production node under the simulator: the driver's `Node` — engine, WAL, privval,
//! block store, mempool, peer budgets, block sync, the node loop — each on its own virtual
//! disk ([`disk::SimDisk`]), all on one virtual network and one virtual clock, in one thread.
//! The application is [`app::SimApp`], a key-value store on the same disk.
//!
//! Faults: the network's (delays, drops, duplicates, reordering, partitions until the heal),
//! validators that double-sign (the engine's own `fault-injection`), crashes — at the k-th
//! durable write or at a random moment, the disk keeping a seeded prefix of what was not
//! synced, the WAL's last record possibly torn — and restarts from what was on disk, hostile
//! peers ([`Hostile`]), and a slow disk and application.
//!
//! After every event: agreement (one block per height, one app hash per height), validity
//! (every committed block carries a commit of +2/3 of its height's validators), no double sign
//! by an honest node across its restarts (judged on what it sent), no honest node stopped by
//! an error, no honest peer punished, and every node's peer-fed queues within their bounds.
//! At the end: every honest node committed every target height.

pub mod app;
pub mod disk;
mod run;
mod scenario;

pub use run::{run_node_sim, NodeReport, NodeViolation};
pub use scenario::{Crash, Hostile, NodeScenario};
