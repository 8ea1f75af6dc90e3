//! Duplicate-vote evidence: two signed votes from one validator for the same height, round and
//! type but different blocks. Committing it lets the application slash the signer.

use crate::{BlockId, Error, Hash, Time, ValidatorSet, Vote};
use keystone_proto::types as pb;
use prost::Message;

/// Proof that a validator equivocated.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct DuplicateVoteEvidence {
    /// The vote whose block id sorts first (by CometBFT's `BlockID.Key()`).
    pub vote_a: Vote,
    /// The other vote.
    pub vote_b: Vote,
    /// Total voting power of the set at the infraction height.
    pub total_voting_power: i64,
    /// The equivocator's power then.
    pub validator_power: i64,
    /// Time of the block at the infraction height.
    pub timestamp: Time,
}

impl DuplicateVoteEvidence {
    /// Evidence from two conflicting votes, ordered as CometBFT orders them. `None` when the
    /// votes do not conflict or the signer is not in `validators`.
    pub fn new(
        v1: Vote,
        v2: Vote,
        block_time: Time,
        validators: &ValidatorSet,
    ) -> Option<DuplicateVoteEvidence> {
        if !v1.conflicts_with(&v2) {
            return None;
        }
        let val = validators.get_by_address(&v1.validator_address)?;
        let (vote_a, vote_b) =
            if BlockId::key(v1.block_id.as_ref()) < BlockId::key(v2.block_id.as_ref()) {
                (v1, v2)
            } else {
                (v2, v1)
            };
        Some(DuplicateVoteEvidence {
            vote_a,
            vote_b,
            total_voting_power: validators.total_voting_power(),
            validator_power: val.voting_power,
            timestamp: block_time,
        })
    }

    /// Check the evidence against the validator set of its height: the votes conflict, are
    /// ordered, both signatures verify, and the powers are the set's.
    pub fn verify(&self, chain_id: &str, validators: &ValidatorSet) -> crate::Result<()> {
        if !self.vote_a.conflicts_with(&self.vote_b) {
            return Err(Error::InvalidEvidence("votes do not conflict".into()));
        }
        if BlockId::key(self.vote_a.block_id.as_ref())
            >= BlockId::key(self.vote_b.block_id.as_ref())
        {
            return Err(Error::InvalidEvidence(
                "votes are not in canonical order".into(),
            ));
        }
        let val = validators
            .get_by_address(&self.vote_a.validator_address)
            .ok_or(Error::UnknownValidator(self.vote_a.validator_address))?;
        if val.voting_power != self.validator_power
            || validators.total_voting_power() != self.total_voting_power
        {
            return Err(Error::InvalidEvidence(
                "voting powers do not match the set".into(),
            ));
        }
        self.vote_a.verify(chain_id, &val.pub_key)?;
        self.vote_b.verify(chain_id, &val.pub_key)
    }

    /// Protobuf `DuplicateVoteEvidence`.
    pub fn to_proto(&self) -> pb::DuplicateVoteEvidence {
        pb::DuplicateVoteEvidence {
            vote_a: Some(self.vote_a.to_proto()),
            vote_b: Some(self.vote_b.to_proto()),
            total_voting_power: self.total_voting_power,
            validator_power: self.validator_power,
            timestamp: Some(self.timestamp.to_proto()),
        }
    }

    /// From protobuf (the votes' own checks apply; nothing is verified against a set).
    pub fn from_proto(p: &pb::DuplicateVoteEvidence) -> crate::Result<Self> {
        Ok(DuplicateVoteEvidence {
            vote_a: Vote::from_proto(
                p.vote_a
                    .as_ref()
                    .ok_or(crate::Error::MissingField("evidence.vote_a"))?,
            )?,
            vote_b: Vote::from_proto(
                p.vote_b
                    .as_ref()
                    .ok_or(crate::Error::MissingField("evidence.vote_b"))?,
            )?,
            total_voting_power: p.total_voting_power,
            validator_power: p.validator_power,
            timestamp: crate::Time::from_proto(
                p.timestamp
                    .as_ref()
                    .ok_or(crate::Error::MissingField("evidence.timestamp"))?,
            )?,
        })
    }

    /// The bytes CometBFT hashes into `evidence_hash` (the protobuf encoding).
    pub fn bytes(&self) -> Vec<u8> {
        self.to_proto().encode_to_vec()
    }

    /// The evidence hash (SHA-256 of [`DuplicateVoteEvidence::bytes`]).
    pub fn hash(&self) -> Hash {
        crate::sha256(&self.bytes())
    }
}
