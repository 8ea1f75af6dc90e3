//! Deliberately broken rules. They exist so that the simulator can prove each of its
//! invariant checks catches a real bug: run honest nodes with one of these and the check must
//! fire. They can only be switched on through `Consensus::with_faults`, which exists only with
//! the `fault-injection` feature; the node never enables it, so in a node build every field is
//! always `false`.

/// Which rules to break. All `false`: the algorithm as written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Faults {
    /// L23/L29 without the lock condition: prevote any valid proposal even when locked on
    /// another value. Breaks agreement, but only in rare schedules (one decider cut off while
    /// the rest move on to a fresh value).
    pub ignore_lock: bool,
    /// Every "+2/3" threshold becomes "more than 1/2". Breaks agreement whenever an
    /// equivocator splits the honest nodes.
    pub weak_quorum: bool,
    /// `valid(v)` always true. Breaks validity.
    pub skip_validity: bool,
    /// L57 never fires: a missing proposal stalls the round. Breaks liveness.
    pub ignore_propose_timeout: bool,
    /// L22/L28 without the `step = propose` guard: a proposal that arrives after the node
    /// prevoted nil gets a second prevote. Breaks "no honest double sign".
    pub prevote_late_proposal: bool,
}
