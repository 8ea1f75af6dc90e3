//! Commits: the +2/3 precommits that finalised a block, carried in the next block as
//! `last_commit` and checked by light clients and block sync.

use crate::{
    merkle, Address, BlockId, Error, Hash, Height, Round, Signature, Time, ValidatorSet, Vote,
    VoteType,
};
use keystone_proto::types as pb;
use prost::Message;

/// Which block a commit signature is for.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum BlockIdFlag {
    /// The validator's precommit was not received.
    Absent,
    /// The validator precommitted the committed block.
    Commit,
    /// The validator precommitted nil.
    Nil,
}

impl BlockIdFlag {
    /// The protobuf enum value.
    pub fn to_proto(self) -> i32 {
        match self {
            BlockIdFlag::Absent => pb::BlockIdFlag::Absent as i32,
            BlockIdFlag::Commit => pb::BlockIdFlag::Commit as i32,
            BlockIdFlag::Nil => pb::BlockIdFlag::Nil as i32,
        }
    }

    fn from_proto(v: i32) -> crate::Result<Self> {
        match v {
            1 => Ok(BlockIdFlag::Absent),
            2 => Ok(BlockIdFlag::Commit),
            3 => Ok(BlockIdFlag::Nil),
            value => Err(Error::UnknownEnum {
                field: "block_id_flag",
                value,
            }),
        }
    }
}

/// One validator's entry in a commit, in validator-set order.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct CommitSig {
    /// For the block, for nil, or absent.
    pub block_id_flag: BlockIdFlag,
    /// The signer (all zero bytes are never used: absent entries carry an empty address).
    pub validator_address: Address,
    /// The precommit's timestamp (Go's zero time when absent).
    pub timestamp: Time,
    /// The precommit's signature (none when absent).
    pub signature: Option<Signature>,
}

impl CommitSig {
    /// An absent entry.
    pub fn absent() -> Self {
        CommitSig {
            block_id_flag: BlockIdFlag::Absent,
            validator_address: Address::default(),
            timestamp: Time::GO_ZERO,
            signature: None,
        }
    }

    /// Protobuf `CommitSig`; absent entries have an empty address and Go's zero time, as
    /// CometBFT writes them (this is what the commit hash covers).
    pub fn to_proto(&self) -> pb::CommitSig {
        let absent = self.block_id_flag == BlockIdFlag::Absent;
        pb::CommitSig {
            block_id_flag: self.block_id_flag.to_proto(),
            validator_address: if absent {
                Vec::new()
            } else {
                self.validator_address.0.to_vec()
            },
            timestamp: Some(if absent {
                Time::GO_ZERO.to_proto()
            } else {
                self.timestamp.to_proto()
            }),
            signature: self.signature.map(|s| s.0.to_vec()).unwrap_or_default(),
        }
    }

    /// From protobuf.
    pub fn from_proto(p: &pb::CommitSig) -> crate::Result<Self> {
        let flag = BlockIdFlag::from_proto(p.block_id_flag)?;
        if flag == BlockIdFlag::Absent {
            return Ok(CommitSig::absent());
        }
        Ok(CommitSig {
            block_id_flag: flag,
            validator_address: Address::from_slice(&p.validator_address)?,
            timestamp: Time::from_proto(
                p.timestamp
                    .as_ref()
                    .ok_or(Error::MissingField("timestamp"))?,
            )?,
            signature: Some(Signature::from_slice(&p.signature)?),
        })
    }
}

/// The precommits that committed `block_id` at `height`/`round`, one entry per validator of
/// the set that signed, in set order.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Commit {
    /// Height of the committed block.
    pub height: Height,
    /// Round in which it was committed.
    pub round: Round,
    /// The committed block.
    pub block_id: BlockId,
    /// One entry per validator, in validator-set order.
    pub signatures: Vec<CommitSig>,
}

impl Commit {
    /// Build a commit from precommits for `block_id` (others are recorded as nil, missing
    /// validators as absent). Votes from outside `validators` or for other heights/rounds are
    /// ignored.
    pub fn from_precommits(
        validators: &ValidatorSet,
        height: Height,
        round: Round,
        block_id: BlockId,
        precommits: &[Vote],
    ) -> Commit {
        let signatures = validators
            .validators()
            .iter()
            .map(|v| {
                precommits
                    .iter()
                    .find(|p| {
                        p.validator_address == v.address
                            && p.height == height
                            && p.round == round
                            && p.vote_type == VoteType::Precommit
                            && p.signature.is_some()
                    })
                    .map_or_else(CommitSig::absent, |p| CommitSig {
                        block_id_flag: if p.block_id == Some(block_id) {
                            BlockIdFlag::Commit
                        } else {
                            BlockIdFlag::Nil
                        },
                        validator_address: v.address,
                        timestamp: p.timestamp,
                        signature: p.signature,
                    })
            })
            .collect();
        Commit {
            height,
            round,
            block_id,
            signatures,
        }
    }

    /// The precommit behind entry `index` (signed bytes included), or `None` if absent.
    pub fn vote(&self, index: usize) -> Option<Vote> {
        let sig = self.signatures.get(index)?;
        let block_id = match sig.block_id_flag {
            BlockIdFlag::Absent => return None,
            BlockIdFlag::Commit => Some(self.block_id),
            BlockIdFlag::Nil => None,
        };
        Some(Vote {
            vote_type: VoteType::Precommit,
            height: self.height,
            round: self.round,
            block_id,
            timestamp: sig.timestamp,
            validator_address: sig.validator_address,
            validator_index: index as u32,
            signature: sig.signature,
        })
    }

    /// The commit hash (`last_commit_hash` of the next header): Merkle root of the
    /// `CommitSig` encodings.
    pub fn hash(&self) -> Hash {
        let leaves: Vec<Vec<u8>> = self
            .signatures
            .iter()
            .map(|s| s.to_proto().encode_to_vec())
            .collect();
        merkle::hash_from_byte_slices(&leaves)
    }

    /// Protobuf `Commit`.
    pub fn to_proto(&self) -> pb::Commit {
        pb::Commit {
            height: self.height as i64,
            round: self.round as i32,
            block_id: Some(self.block_id.to_proto()),
            signatures: self.signatures.iter().map(CommitSig::to_proto).collect(),
        }
    }

    /// From protobuf.
    pub fn from_proto(p: &pb::Commit) -> crate::Result<Self> {
        Ok(Commit {
            height: crate::error::height_from_proto(p.height)?,
            round: crate::error::round_from_proto(p.round)?,
            block_id: BlockId::from_proto(
                p.block_id.as_ref().ok_or(Error::MissingField("block_id"))?,
            )?,
            signatures: p
                .signatures
                .iter()
                .map(CommitSig::from_proto)
                .collect::<crate::Result<_>>()?,
        })
    }
}

impl ValidatorSet {
    /// Check that `commit` commits `block_id` at `height` with more than 2/3 of this set's
    /// power. Every present signature must verify and belong to the validator at its index.
    pub fn verify_commit(
        &self,
        chain_id: &str,
        block_id: &BlockId,
        height: Height,
        commit: &Commit,
    ) -> crate::Result<()> {
        if commit.height != height {
            return Err(Error::InvalidCommit(format!(
                "height {} but expected {height}",
                commit.height
            )));
        }
        if commit.block_id != *block_id {
            return Err(Error::InvalidCommit("commits a different block".into()));
        }
        if commit.signatures.len() != self.len() {
            return Err(Error::InvalidCommit(format!(
                "{} signatures for {} validators",
                commit.signatures.len(),
                self.len()
            )));
        }
        let mut tallied: i64 = 0;
        for (i, v) in self.validators().iter().enumerate() {
            let Some(vote) = commit.vote(i) else {
                continue;
            };
            if vote.validator_address != v.address {
                return Err(Error::InvalidCommit(format!(
                    "signature {i} is from {} but the set has {}",
                    vote.validator_address, v.address
                )));
            }
            vote.verify(chain_id, &v.pub_key)?;
            if vote.block_id.is_some() {
                tallied += v.voting_power;
            }
        }
        let needed = self.total_voting_power() * 2 / 3;
        if tallied as i128 * 3 <= self.total_voting_power() as i128 * 2 {
            return Err(Error::InsufficientPower {
                got: tallied,
                needed,
            });
        }
        Ok(())
    }
}
