//! Blocks travel as 64 KiB parts, each with a Merkle proof against the part-set hash in the
//! block id, so a node can check every part as it arrives from any peer.

use crate::{merkle, Error, PartSetHeader};

/// CometBFT's block part size: 64 KiB.
pub const BLOCK_PART_SIZE: usize = 65_536;

/// One part of a block.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Part {
    /// Index within the set.
    pub index: u32,
    /// Up to [`BLOCK_PART_SIZE`] bytes.
    pub bytes: Vec<u8>,
    /// Proof against the part-set hash.
    pub proof: merkle::Proof,
}

impl Part {
    /// Protobuf `tendermint.types.Part`.
    pub fn to_proto(&self) -> keystone_proto::types::Part {
        keystone_proto::types::Part {
            index: self.index,
            bytes: self.bytes.clone(),
            proof: Some(keystone_proto::crypto::Proof {
                total: self.proof.total as i64,
                index: self.proof.index as i64,
                leaf_hash: self.proof.leaf_hash.0.to_vec(),
                aunts: self.proof.aunts.iter().map(|a| a.0.to_vec()).collect(),
            }),
        }
    }

    /// From protobuf, as a peer sends it; the proof is checked when the part is added to a
    /// [`PartSet`]. At most 64 aunts (a tree of 2^64 parts) are accepted.
    pub fn from_proto(p: &keystone_proto::types::Part) -> crate::Result<Self> {
        let proof = p.proof.as_ref().ok_or(Error::MissingField("part.proof"))?;
        let bad = |reason| Error::InvalidPart {
            index: p.index,
            reason,
        };
        if proof.total < 0 || proof.index < 0 || proof.aunts.len() > 64 {
            return Err(bad("malformed proof"));
        }
        // CometBFT's `Part.ValidateBasic`: no part is larger than the part size.
        if p.bytes.len() > BLOCK_PART_SIZE {
            return Err(bad("larger than 64 KiB"));
        }
        Ok(Part {
            index: p.index,
            bytes: p.bytes.clone(),
            proof: merkle::Proof {
                total: proof.total as u64,
                index: proof.index as u64,
                leaf_hash: crate::Hash::from_slice(&proof.leaf_hash)
                    .map_err(|_| bad("malformed leaf hash"))?,
                aunts: proof
                    .aunts
                    .iter()
                    .map(|a| crate::Hash::from_slice(a).map_err(|_| bad("malformed aunt")))
                    .collect::<crate::Result<_>>()?,
            },
        })
    }
}

/// A block's parts: complete when built from a block, filled part by part when received.
#[derive(Clone, Debug)]
pub struct PartSet {
    header: PartSetHeader,
    parts: Vec<Option<Part>>,
    count: u32,
}

impl PartSet {
    /// Split `data` (a protobuf-encoded block) into parts.
    pub fn from_data(data: &[u8]) -> PartSet {
        let chunks: Vec<&[u8]> = if data.is_empty() {
            vec![&[][..]]
        } else {
            data.chunks(BLOCK_PART_SIZE).collect()
        };
        let (root, proofs) = merkle::proofs_from_byte_slices(&chunks);
        let parts: Vec<Option<Part>> = chunks
            .iter()
            .zip(proofs)
            .enumerate()
            .map(|(i, (c, proof))| {
                Some(Part {
                    index: i as u32,
                    bytes: c.to_vec(),
                    proof,
                })
            })
            .collect();
        let count = parts.len() as u32;
        PartSet {
            header: PartSetHeader {
                total: count,
                hash: root,
            },
            parts,
            count,
        }
    }

    /// An empty set waiting for the parts of `header`. `max_parts` bounds what a peer can make
    /// us allocate.
    pub fn from_header(header: PartSetHeader, max_parts: u32) -> crate::Result<PartSet> {
        if header.total == 0 || header.total > max_parts {
            return Err(Error::InvalidPart {
                index: header.total,
                reason: "part count out of range",
            });
        }
        Ok(PartSet {
            header,
            parts: vec![None; header.total as usize],
            count: 0,
        })
    }

    /// The header (count and Merkle root).
    pub fn header(&self) -> PartSetHeader {
        self.header
    }

    /// Add a received part after checking its index, size and proof. `Ok(false)` if already
    /// held.
    pub fn add_part(&mut self, part: Part) -> crate::Result<bool> {
        let index = part.index;
        let slot = self
            .parts
            .get_mut(index as usize)
            .ok_or(Error::InvalidPart {
                index,
                reason: "index out of range",
            })?;
        if slot.is_some() {
            return Ok(false);
        }
        if part.bytes.len() > BLOCK_PART_SIZE {
            return Err(Error::InvalidPart {
                index,
                reason: "part too large",
            });
        }
        if part.proof.index != index as u64
            || part.proof.total != self.header.total as u64
            || !part.proof.verify(&self.header.hash, &part.bytes)
        {
            return Err(Error::InvalidPart {
                index,
                reason: "bad Merkle proof",
            });
        }
        *slot = Some(part);
        self.count += 1;
        Ok(true)
    }

    /// Part `index`, if held.
    pub fn part(&self, index: u32) -> Option<&Part> {
        self.parts.get(index as usize).and_then(Option::as_ref)
    }

    /// All parts are held.
    pub fn is_complete(&self) -> bool {
        self.count == self.header.total
    }

    /// The reassembled bytes, once complete.
    pub fn data(&self) -> Option<Vec<u8>> {
        if !self.is_complete() {
            return None;
        }
        let mut out = Vec::new();
        for p in self.parts.iter().flatten() {
            out.extend_from_slice(&p.bytes);
        }
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_and_reassemble_with_proofs() {
        let data: Vec<u8> = (0..(BLOCK_PART_SIZE * 3 + 17)).map(|i| i as u8).collect();
        let full = PartSet::from_data(&data);
        assert_eq!(full.header().total, 4);
        let mut recv = PartSet::from_header(full.header(), 100).expect("in range");
        for i in [3u32, 1, 0, 2] {
            assert!(recv
                .add_part(full.part(i).expect("held").clone())
                .expect("valid"));
        }
        assert_eq!(recv.data().expect("complete"), data);
    }

    #[test]
    fn rejects_bad_parts() {
        let data = vec![9u8; BLOCK_PART_SIZE + 1];
        let full = PartSet::from_data(&data);
        let mut recv = PartSet::from_header(full.header(), 100).expect("in range");
        let mut bad = full.part(0).expect("held").clone();
        bad.bytes[0] ^= 1;
        assert!(recv.add_part(bad).is_err());
        let mut wrong_index = full.part(0).expect("held").clone();
        wrong_index.index = 1;
        assert!(recv.add_part(wrong_index).is_err());
        let mut oob = full.part(0).expect("held").clone();
        oob.index = 7;
        assert!(recv.add_part(oob).is_err());
        assert!(PartSet::from_header(full.header(), 1).is_err());
        assert!(!recv.is_complete());
    }
}
