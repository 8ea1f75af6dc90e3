//! The JMT's view of the database: nodes, values by (key hash, version) and key preimages,
//! read from one redb read transaction (a consistent snapshot).

use crate::store::{node_key_bytes, value_key, NODES, PREIMAGES, VALUES};
use anyhow::Context;
use borsh::BorshDeserialize;
use jmt::storage::{HasPreimage, LeafNode, Node, NodeKey, TreeReader};
use jmt::{KeyHash, OwnedValue, Version};
use redb::{ReadOnlyTable, ReadTransaction};

pub(crate) struct Snapshot {
    pub(crate) txn: ReadTransaction,
    /// When the store is empty and the first version written is `v > 0`, the tree asks for
    /// the root of `v − 1`: an empty tree.
    pub(crate) empty_root_at: Option<Version>,
    // Opened once: the tree reads thousands of nodes per block, and opening a table is a
    // lookup of its own.
    nodes: ReadOnlyTable<&'static [u8], &'static [u8]>,
    values: ReadOnlyTable<&'static [u8], &'static [u8]>,
    preimages: ReadOnlyTable<&'static [u8], &'static [u8]>,
}

impl Snapshot {
    pub(crate) fn new(txn: ReadTransaction, empty_root_at: Option<Version>) -> crate::Result<Self> {
        Ok(Snapshot {
            nodes: txn.open_table(NODES)?,
            values: txn.open_table(VALUES)?,
            preimages: txn.open_table(PREIMAGES)?,
            txn,
            empty_root_at,
        })
    }
}

impl TreeReader for Snapshot {
    fn get_node_option(&self, node_key: &NodeKey) -> anyhow::Result<Option<Node>> {
        if let Some(v) = self.empty_root_at {
            if node_key.version() == v && node_key.nibble_path().num_nibbles() == 0 {
                return Ok(Some(Node::Null));
            }
        }
        let key = node_key_bytes(node_key)?;
        match self.nodes.get(key.as_slice())? {
            Some(bytes) => Ok(Some(
                Node::try_from_slice(bytes.value()).context("corrupt node")?,
            )),
            None => Ok(None),
        }
    }

    fn get_value_option(
        &self,
        max_version: Version,
        key_hash: KeyHash,
    ) -> anyhow::Result<Option<OwnedValue>> {
        let lo = value_key(&key_hash, 0);
        let hi = value_key(&key_hash, max_version);
        let last = self
            .values
            .range(lo.as_slice()..=hi.as_slice())?
            .next_back();
        match last {
            None => Ok(None),
            Some(entry) => {
                let (_, v) = entry?;
                decode_value(v.value())
            }
        }
    }

    fn get_rightmost_leaf(&self) -> anyhow::Result<Option<(NodeKey, LeafNode)>> {
        // Only used when restoring a tree from chunks (state sync), which Keystone does not
        // do yet.
        anyhow::bail!("tree restore is not supported")
    }
}

impl HasPreimage for Snapshot {
    fn preimage(&self, key_hash: KeyHash) -> anyhow::Result<Option<Vec<u8>>> {
        Ok(self
            .preimages
            .get(key_hash.0.as_slice())?
            .map(|v| v.value().to_vec()))
    }
}

/// A stored value: a tag byte (0 deleted, 1 present) and the bytes.
pub(crate) fn encode_value(v: &Option<OwnedValue>) -> Vec<u8> {
    match v {
        None => vec![0],
        Some(bytes) => {
            let mut out = Vec::with_capacity(bytes.len() + 1);
            out.push(1);
            out.extend_from_slice(bytes);
            out
        }
    }
}

pub(crate) fn decode_value(b: &[u8]) -> anyhow::Result<Option<OwnedValue>> {
    match b.split_first() {
        Some((0, [])) => Ok(None),
        Some((1, rest)) => Ok(Some(rest.to_vec())),
        _ => anyhow::bail!("corrupt value record"),
    }
}
