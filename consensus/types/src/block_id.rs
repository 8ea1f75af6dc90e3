//! Block identifiers: the header hash plus the header of the set of 64 KiB parts the block was
//! gossiped in.

use crate::{Error, Hash};
use keystone_proto::types as pb;

/// The Merkle root and count of a block's parts.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Default)]
pub struct PartSetHeader {
    /// Number of parts.
    pub total: u32,
    /// Merkle root of the parts.
    pub hash: Hash,
}

/// Identifies a block: its header hash and its part-set header.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct BlockId {
    /// The header hash.
    pub hash: Hash,
    /// The part-set header.
    pub part_set_header: PartSetHeader,
}

impl BlockId {
    /// Protobuf `BlockID`.
    pub fn to_proto(&self) -> pb::BlockId {
        pb::BlockId {
            hash: self.hash.0.to_vec(),
            part_set_header: Some(pb::PartSetHeader {
                total: self.part_set_header.total,
                hash: self.part_set_header.hash.0.to_vec(),
            }),
        }
    }

    /// The protobuf form of an optional block id: `None` is the zero `BlockID` (nil votes,
    /// height 1's `last_block_id`), whose encoding is `12 00` because the part-set header is
    /// not nullable in CometBFT's schema.
    pub fn option_to_proto(id: Option<&BlockId>) -> pb::BlockId {
        match id {
            Some(id) => id.to_proto(),
            None => pb::BlockId {
                hash: Vec::new(),
                part_set_header: Some(pb::PartSetHeader::default()),
            },
        }
    }

    /// From protobuf; the zero `BlockID` decodes as `None`.
    pub fn option_from_proto(p: &pb::BlockId) -> crate::Result<Option<BlockId>> {
        let psh = p.part_set_header.clone().unwrap_or_default();
        if p.hash.is_empty() && psh.total == 0 && psh.hash.is_empty() {
            return Ok(None);
        }
        Ok(Some(BlockId {
            hash: Hash::from_slice(&p.hash)?,
            part_set_header: PartSetHeader {
                total: psh.total,
                hash: Hash::from_slice(&psh.hash)?,
            },
        }))
    }

    /// Like [`BlockId::option_from_proto`] but a zero id is an error.
    pub fn from_proto(p: &pb::BlockId) -> crate::Result<BlockId> {
        Self::option_from_proto(p)?.ok_or(Error::MissingField("block_id"))
    }

    /// `CanonicalBlockID` for sign bytes; `None` (nil) is left out of the canonical message.
    pub fn canonical(id: Option<&BlockId>) -> Option<pb::CanonicalBlockId> {
        id.map(|id| pb::CanonicalBlockId {
            hash: id.hash.0.to_vec(),
            part_set_header: Some(pb::CanonicalPartSetHeader {
                total: id.part_set_header.total,
                hash: id.part_set_header.hash.0.to_vec(),
            }),
        })
    }

    /// CometBFT's `BlockID.Key()`: hash bytes then the protobuf part-set header. Duplicate-vote
    /// evidence orders its two votes by this key; nil (`None`) is the empty key.
    pub fn key(id: Option<&BlockId>) -> Vec<u8> {
        use prost::Message;
        match id {
            None => Vec::new(),
            Some(id) => {
                let mut k = id.hash.0.to_vec();
                let psh = pb::PartSetHeader {
                    total: id.part_set_header.total,
                    hash: id.part_set_header.hash.0.to_vec(),
                };
                k.extend(psh.encode_to_vec());
                k
            }
        }
    }
}
