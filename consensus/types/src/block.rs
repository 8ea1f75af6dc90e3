//! Blocks: a header, the transactions, the evidence and the previous block's commit. The
//! header commits to the rest through `data_hash`, `evidence_hash` and `last_commit_hash`.

use crate::{merkle, sha256, BlockId, Commit, DuplicateVoteEvidence, Error, Hash, Header, PartSet};
use keystone_proto::types as pb;
use prost::Message;

/// The transactions of a block, in order.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct Data {
    /// Raw transactions.
    pub txs: Vec<Vec<u8>>,
}

impl Data {
    /// `data_hash`: Merkle root over the SHA-256 of each transaction.
    pub fn hash(&self) -> Hash {
        let hashes: Vec<Hash> = self.txs.iter().map(|t| sha256(t)).collect();
        let leaves: Vec<&[u8]> = hashes.iter().map(|h| h.as_bytes()).collect();
        merkle::hash_from_byte_slices(&leaves)
    }
}

/// A block.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Block {
    /// The header.
    pub header: Header,
    /// The transactions.
    pub data: Data,
    /// Evidence of misbehaviour to commit.
    pub evidence: Vec<DuplicateVoteEvidence>,
    /// The commit of the previous block (`None` at the first height).
    pub last_commit: Option<Commit>,
}

impl Block {
    /// `evidence_hash` for `evidence`.
    pub fn evidence_hash(evidence: &[DuplicateVoteEvidence]) -> Hash {
        let leaves: Vec<Vec<u8>> = evidence.iter().map(DuplicateVoteEvidence::bytes).collect();
        merkle::hash_from_byte_slices(&leaves)
    }

    /// `last_commit_hash` for an optional commit (none hashes as an empty commit).
    pub fn last_commit_hash(commit: Option<&Commit>) -> Hash {
        match commit {
            Some(c) => c.hash(),
            None => merkle::hash_from_byte_slices::<&[u8]>(&[]),
        }
    }

    /// Set `data_hash`, `evidence_hash` and `last_commit_hash` from the body.
    pub fn fill_header_hashes(&mut self) {
        self.header.data_hash = self.data.hash();
        self.header.evidence_hash = Self::evidence_hash(&self.evidence);
        self.header.last_commit_hash = Self::last_commit_hash(self.last_commit.as_ref());
    }

    /// The header's hashes agree with the body.
    pub fn check_header_hashes(&self) -> crate::Result<()> {
        if self.header.data_hash != self.data.hash() {
            return Err(Error::InvalidCommit(
                "data_hash does not match the txs".into(),
            ));
        }
        if self.header.evidence_hash != Self::evidence_hash(&self.evidence) {
            return Err(Error::InvalidCommit("evidence_hash does not match".into()));
        }
        if self.header.last_commit_hash != Self::last_commit_hash(self.last_commit.as_ref()) {
            return Err(Error::InvalidCommit(
                "last_commit_hash does not match".into(),
            ));
        }
        Ok(())
    }

    /// The block hash (the header hash).
    pub fn hash(&self) -> Hash {
        self.header.hash()
    }

    /// Protobuf `Block`.
    pub fn to_proto(&self) -> pb::Block {
        pb::Block {
            header: Some(self.header.to_proto()),
            data: Some(pb::Data {
                txs: self.data.txs.clone(),
            }),
            evidence: Some(pb::EvidenceList {
                evidence: self
                    .evidence
                    .iter()
                    .map(|e| pb::Evidence {
                        sum: Some(pb::evidence::Sum::DuplicateVoteEvidence(e.to_proto())),
                    })
                    .collect(),
            }),
            last_commit: Some(match &self.last_commit {
                Some(c) => c.to_proto(),
                None => pb::Commit {
                    height: 0,
                    round: 0,
                    block_id: Some(BlockId::option_to_proto(None)),
                    signatures: Vec::new(),
                },
            }),
        }
    }

    /// From protobuf, as received from a peer or read back from storage. Only duplicate-vote
    /// evidence is understood; any other kind is an error (it could not be re-encoded to the
    /// same bytes, so the block's id would not hold).
    pub fn from_proto(p: &pb::Block) -> crate::Result<Self> {
        let header = Header::from_proto(
            p.header
                .as_ref()
                .ok_or(crate::Error::MissingField("block.header"))?,
        )?;
        let last_commit = match &p.last_commit {
            Some(c) if c.height > 0 => Some(Commit::from_proto(c)?),
            _ => None,
        };
        let evidence = p
            .evidence
            .as_ref()
            .map(|l| {
                l.evidence
                    .iter()
                    .map(|e| match &e.sum {
                        Some(pb::evidence::Sum::DuplicateVoteEvidence(d)) => {
                            DuplicateVoteEvidence::from_proto(d)
                        }
                        _ => Err(crate::Error::Decode("unsupported evidence type".into())),
                    })
                    .collect::<crate::Result<Vec<_>>>()
            })
            .transpose()?
            .unwrap_or_default();
        Ok(Block {
            header,
            data: Data {
                txs: p.data.as_ref().map(|d| d.txs.clone()).unwrap_or_default(),
            },
            evidence,
            last_commit,
        })
    }

    /// The block's parts (its protobuf bytes cut into 64 KiB pieces).
    pub fn make_part_set(&self) -> PartSet {
        PartSet::from_data(&self.to_proto().encode_to_vec())
    }

    /// The id consensus votes on: header hash and part-set header.
    pub fn block_id(&self) -> BlockId {
        BlockId {
            hash: self.hash(),
            part_set_header: self.make_part_set().header(),
        }
    }
}
