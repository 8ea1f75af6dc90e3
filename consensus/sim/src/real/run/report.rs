//! What a run reports, and the violations it can end on.

use super::*;

/// What broke.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NodeViolation {
    /// Two nodes committed different blocks at one height.
    #[error("agreement: height {height}: node {node} committed {got}, others {want}")]
    Agreement {
        /// Height.
        height: Height,
        /// The node that differs.
        node: usize,
        /// Its block.
        got: String,
        /// The others'.
        want: String,
    },
    /// Two nodes' applications disagree after the same block.
    #[error("app hash: height {height}: node {node} has {got}, others {want}")]
    AppHash {
        /// Height.
        height: Height,
        /// The node that differs.
        node: usize,
        /// Its app hash.
        got: String,
        /// The others'.
        want: String,
    },
    /// A committed block without +2/3 of its validators behind it.
    #[error("validity: height {height} at node {node}: {reason}")]
    Validity {
        /// Height.
        height: Height,
        /// Node.
        node: usize,
        /// What is wrong.
        reason: String,
    },
    /// An honest node signed two different things for one step.
    #[error("double sign: node {node} at height {height} round {round} step {step}")]
    DoubleSign {
        /// Node.
        node: usize,
        /// Height.
        height: Height,
        /// Round.
        round: u32,
        /// 1 propose, 2 prevote, 3 precommit.
        step: u8,
    },
    /// An honest node stopped on an error that was not a simulated crash.
    #[error("node {node} stopped: {error}")]
    NodeFailed {
        /// Node.
        node: usize,
        /// The error.
        error: String,
    },
    /// An honest node's signer refused what its own core asked it to sign.
    #[error("node {node}: its signer refused {refusals} time(s) what its core asked (a replay that went back on what was signed)")]
    SignerRefused {
        /// Node.
        node: usize,
        /// How many times.
        refusals: u64,
    },
    /// An honest node disconnected an honest peer as misbehaving.
    #[error("node {node} punished honest node {peer}")]
    PunishedHonest {
        /// Node.
        node: usize,
        /// The peer.
        peer: usize,
    },
    /// A peer-fed queue grew past its bound.
    #[error("memory: node {node}: {what} holds {held}, bound {bound}")]
    Memory {
        /// Node.
        node: usize,
        /// Which queue.
        what: &'static str,
        /// What it holds.
        held: usize,
        /// Its bound.
        bound: usize,
    },
    /// An honest node did not reach the target height.
    #[error("liveness: node {node} at height {height}, target {target}")]
    Liveness {
        /// Node.
        node: usize,
        /// Its height.
        height: Height,
        /// The target.
        target: Height,
    },
}

/// What a run did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NodeReport {
    /// The scenario's seed.
    pub seed: u64,
    /// Validators.
    pub validators: usize,
    /// The lowest height an honest node reached.
    pub heights: Height,
    /// Events processed.
    pub events: u64,
    /// Messages delivered.
    pub delivered: u64,
    /// Crashes, and restarts from disk.
    pub crashes: u64,
    /// Crashes that struck at a durable write.
    pub crashes_at_write: u64,
    /// WAL records torn by crashes.
    pub torn: u64,
    /// Synced blocks the application committed without an fsync each (counted by the
    /// crashed nodes' and, at the end, every node's application).
    pub deferred_commits: u64,
    /// Of those, commits a crash struck before they were made durable (fetched again).
    pub undurable_lost: u64,
    /// Messages hostile peers sent.
    pub hostile_sent: u64,
    /// Times a node disconnected a hostile peer.
    pub hostile_disconnects: u64,
    /// Durable writes over all nodes.
    pub durable_writes: u64,
    /// Committed blocks that carried evidence.
    pub evidence_blocks: u64,
    /// Virtual time at the end.
    pub virtual_ms: u64,
    /// SHA-256 over every processed event: equal for equal runs.
    pub trace: String,
}

pub(super) fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02X}")).collect()
}
