//! The invariants, checked as events happen.

use keystone_consensus_types::{Address, BlockId, Hash, Height, Round, VoteType};
use std::collections::BTreeMap;
use std::fmt;

/// A broken invariant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Violation {
    /// Two honest nodes decided different blocks at one height.
    Agreement {
        /// The height.
        height: Height,
        /// The node that decided first and the block hash it decided.
        first: (usize, Hash),
        /// The conflicting one.
        second: (usize, Hash),
    },
    /// An honest node decided something that was not a valid proposal of that height.
    Validity {
        /// The node.
        node: usize,
        /// The height.
        height: Height,
        /// The hash of what it decided.
        value: Hash,
    },
    /// An honest node signed two conflicting votes or proposals.
    DoubleSign {
        /// The node.
        node: usize,
        /// Where: height, round, and what (`"prevote"`, `"precommit"`, `"proposal"`).
        at: (Height, Round, &'static str),
    },
    /// After the network healed, some honest node did not reach the target height in time.
    Liveness {
        /// Nodes still short of the target, with the height each reached.
        stuck: Vec<(usize, Height)>,
        /// The virtual time when the run gave up.
        at_ms: u64,
    },
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Violation::Agreement {
                height,
                first,
                second,
            } => write!(
                f,
                "agreement: at height {height} node {} decided {} but node {} decided {}",
                first.0, first.1, second.0, second.1
            ),
            Violation::Validity {
                node,
                height,
                value,
            } => write!(
                f,
                "validity: node {node} decided {value} at height {height}, not a valid proposal"
            ),
            Violation::DoubleSign { node, at } => write!(
                f,
                "double sign: honest node {node} signed two different {}s at height {} round {}",
                at.2, at.0, at.1
            ),
            Violation::Liveness { stuck, at_ms } => {
                write!(
                    f,
                    "liveness: at {at_ms} ms these nodes had not decided every height: "
                )?;
                for (n, h) in stuck {
                    write!(f, "node {n} at height {h}; ")?;
                }
                Ok(())
            }
        }
    }
}

/// What was proposed: the height and whether its content is valid.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ValueInfo {
    pub(crate) height: Height,
    pub(crate) valid: bool,
}

/// Watches decisions and signatures of honest nodes.
#[derive(Default, Debug)]
pub struct Checker {
    decisions: BTreeMap<Height, (usize, BlockId)>,
    signed: BTreeMap<(Address, Height, Round, &'static str), Option<BlockId>>,
    pub(crate) values: BTreeMap<BlockId, ValueInfo>,
}

impl Checker {
    /// An honest node decided.
    pub(crate) fn on_decide(
        &mut self,
        node: usize,
        height: Height,
        value: BlockId,
    ) -> Result<(), Violation> {
        match self.values.get(&value) {
            Some(info) if info.valid && info.height == height => {}
            _ => {
                return Err(Violation::Validity {
                    node,
                    height,
                    value: value.hash,
                })
            }
        }
        match self.decisions.get(&height) {
            Some((first_node, first)) if *first != value => Err(Violation::Agreement {
                height,
                first: (*first_node, first.hash),
                second: (node, value.hash),
            }),
            Some(_) => Ok(()),
            None => {
                self.decisions.insert(height, (node, value));
                Ok(())
            }
        }
    }

    /// An honest node signed a vote (or, with `None` type, a proposal).
    pub(crate) fn on_sign(
        &mut self,
        node: usize,
        signer: Address,
        height: Height,
        round: Round,
        kind: Option<VoteType>,
        value: Option<BlockId>,
    ) -> Result<(), Violation> {
        let what = match kind {
            Some(VoteType::Prevote) => "prevote",
            Some(VoteType::Precommit) => "precommit",
            None => "proposal",
        };
        let key = (signer, height, round, what);
        match self.signed.get(&key) {
            Some(prev) if *prev != value => Err(Violation::DoubleSign {
                node,
                at: (height, round, what),
            }),
            Some(_) => Ok(()),
            None => {
                self.signed.insert(key, value);
                Ok(())
            }
        }
    }

    /// The decision at `height`, if any honest node made one.
    pub fn decision(&self, height: Height) -> Option<BlockId> {
        self.decisions.get(&height).map(|(_, v)| *v)
    }
}
