//! Prevotes and precommits, and the bytes a validator signs for them: the length-delimited
//! protobuf `CanonicalVote` (type, height and round as fixed-width, the block id left out when
//! nil, the timestamp always written, the chain id last). The validator address and index are
//! not signed, and neither is a vote extension.

use crate::{Address, BlockId, Error, Height, PrivateKey, PublicKey, Round, Signature, Time};
use keystone_proto::types as pb;
use prost::Message;

/// The two kinds of vote.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub enum VoteType {
    /// A first-stage vote (`SIGNED_MSG_TYPE_PREVOTE` = 1).
    Prevote,
    /// A second-stage vote (`SIGNED_MSG_TYPE_PRECOMMIT` = 2).
    Precommit,
}

impl VoteType {
    /// The protobuf `SignedMsgType` value.
    pub fn to_proto(self) -> i32 {
        match self {
            VoteType::Prevote => pb::SignedMsgType::Prevote as i32,
            VoteType::Precommit => pb::SignedMsgType::Precommit as i32,
        }
    }

    /// From the protobuf `SignedMsgType`.
    pub fn from_proto(v: i32) -> crate::Result<Self> {
        match v {
            1 => Ok(VoteType::Prevote),
            2 => Ok(VoteType::Precommit),
            other => Err(Error::UnknownEnum {
                field: "vote type",
                value: other,
            }),
        }
    }
}

/// A vote for a block (or for nil) at a height and round.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct Vote {
    /// Prevote or precommit.
    pub vote_type: VoteType,
    /// Height voted at.
    pub height: Height,
    /// Round voted in.
    pub round: Round,
    /// The block voted for; `None` is a vote for nil.
    pub block_id: Option<BlockId>,
    /// The signer's clock when it voted (signed; precommit times make BFT time).
    pub timestamp: Time,
    /// The signer.
    pub validator_address: Address,
    /// The signer's index in the validator set (not signed).
    pub validator_index: u32,
    /// The signature over [`Vote::sign_bytes`]; `None` until signed.
    pub signature: Option<Signature>,
}

impl Vote {
    /// The bytes a validator signs: length-delimited `CanonicalVote`.
    pub fn sign_bytes(&self, chain_id: &str) -> Vec<u8> {
        let cv = pb::CanonicalVote {
            r#type: self.vote_type.to_proto(),
            height: self.height as i64,
            round: self.round as i64,
            block_id: BlockId::canonical(self.block_id.as_ref()),
            timestamp: Some(self.timestamp.to_proto()),
            chain_id: chain_id.to_owned(),
        };
        cv.encode_length_delimited_to_vec()
    }

    /// Sign in place with `key`.
    pub fn sign(&mut self, chain_id: &str, key: &PrivateKey) {
        self.signature = Some(key.sign(&self.sign_bytes(chain_id)));
    }

    /// Check the signature with `pub_key`, which must belong to `validator_address`.
    pub fn verify(&self, chain_id: &str, pub_key: &PublicKey) -> crate::Result<()> {
        if pub_key.address() != self.validator_address {
            return Err(Error::BadSignature(self.validator_address));
        }
        let sig = self
            .signature
            .as_ref()
            .ok_or(Error::MissingField("signature"))?;
        pub_key.verify(&self.sign_bytes(chain_id), sig)
    }

    /// Same signer, height, round and type, different block: the two votes equivocate.
    pub fn conflicts_with(&self, other: &Vote) -> bool {
        self.validator_address == other.validator_address
            && self.height == other.height
            && self.round == other.round
            && self.vote_type == other.vote_type
            && self.block_id != other.block_id
    }

    /// Protobuf `Vote`.
    pub fn to_proto(&self) -> pb::Vote {
        pb::Vote {
            r#type: self.vote_type.to_proto(),
            height: self.height as i64,
            round: self.round as i32,
            block_id: Some(BlockId::option_to_proto(self.block_id.as_ref())),
            timestamp: Some(self.timestamp.to_proto()),
            validator_address: self.validator_address.0.to_vec(),
            validator_index: self.validator_index as i32,
            signature: self.signature.map(|s| s.0.to_vec()).unwrap_or_default(),
            extension: Vec::new(),
            extension_signature: Vec::new(),
        }
    }

    /// From protobuf, rejecting out-of-range numbers and malformed fields.
    pub fn from_proto(p: &pb::Vote) -> crate::Result<Self> {
        let height = crate::error::height_from_proto(p.height)?;
        let round = crate::error::round_from_proto(p.round)?;
        let validator_index = u32::try_from(p.validator_index).map_err(|_| Error::OutOfRange {
            field: "validator_index",
            value: p.validator_index as i128,
        })?;
        let block_id = match &p.block_id {
            Some(b) => BlockId::option_from_proto(b)?,
            None => None,
        };
        let timestamp = Time::from_proto(
            p.timestamp
                .as_ref()
                .ok_or(Error::MissingField("timestamp"))?,
        )?;
        let signature = if p.signature.is_empty() {
            None
        } else {
            Some(Signature::from_slice(&p.signature)?)
        };
        Ok(Vote {
            vote_type: VoteType::from_proto(p.r#type)?,
            height,
            round,
            block_id,
            timestamp,
            validator_address: Address::from_slice(&p.validator_address)?,
            validator_index,
            signature,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Hash, PartSetHeader};

    fn bytes32(s: &str) -> Hash {
        Hash::from_slice(s.as_bytes()).expect("32 ascii bytes")
    }

    // tendermint-rs's Go-generated vector B1 (shared/vectors/vote-sign-bytes.md).
    #[test]
    fn prevote_sign_bytes_match_go() {
        let vote = Vote {
            vote_type: VoteType::Prevote,
            height: 12345,
            round: 2,
            block_id: Some(BlockId {
                hash: bytes32("DEADBEEFDEADBEEFBAFBAFBAFBAFBAFA"),
                part_set_header: PartSetHeader {
                    total: 1_000_000,
                    hash: bytes32("0022446688AACCEE1133557799BBDDFF"),
                },
            }),
            timestamp: Time::new(1_514_170_801, 234_000_000).expect("valid"),
            validator_address: Address::default(),
            validator_index: 56789,
            signature: None,
        };
        let expected = "7c0801113930000000000000190200000000000000224a0a204445414442454546444541444245454642414642414642414642414642414641122608c0843d122030303232343436363838414143434545313133333535373739394242444446462a0b08b1d381d20510809dca6f320d746573745f636861696e5f6964";
        assert_eq!(hex::encode(vote.sign_bytes("test_chain_id")), expected);
    }

    // CometBFT TestVoteSignBytesTestVectors cases 1 and 2: nil block id, Go zero time.
    #[test]
    fn nil_votes_match_go() {
        let mut vote = Vote {
            vote_type: VoteType::Precommit,
            height: 1,
            round: 1,
            block_id: None,
            timestamp: Time::GO_ZERO,
            validator_address: Address::default(),
            validator_index: 0,
            signature: None,
        };
        assert_eq!(
            hex::encode(vote.sign_bytes("")),
            "2108021101000000000000001901000000000000002a0b088092b8c398feffffff01"
        );
        vote.vote_type = VoteType::Prevote;
        assert_eq!(
            hex::encode(vote.sign_bytes("")),
            "2108011101000000000000001901000000000000002a0b088092b8c398feffffff01"
        );
    }

    // A real precommit from a CometBFT v0.38 node (vote-sign-bytes.md §C1): our sign bytes are
    // the ones its signature verifies over.
    #[test]
    fn real_cometbft_precommit_verifies() {
        let pk = PublicKey(
            hex::decode("6cd3651a5b39476e700b749df3bdb417fdfeec8641857703db630d16d3e4fefd")
                .expect("hex")
                .try_into()
                .expect("32"),
        );
        let h = |s: &str| Hash::from_slice(&hex::decode(s).expect("hex")).expect("32");
        let mut vote = Vote {
            vote_type: VoteType::Precommit,
            height: 10,
            round: 0,
            block_id: Some(BlockId {
                hash: h("00ECDAC463C201ECD4BDBBAAE4A53A4C80291D4051FD69ED97F6420CE1388BFE"),
                part_set_header: PartSetHeader {
                    total: 1,
                    hash: h("FF0A320E696FD233DD4D3CC7CD82FF90F54B8FDBC9C700D9375C95A02782B062"),
                },
            }),
            timestamp: Time::new(1_684_332_773, 605_374_524).expect("valid"),
            validator_address: pk.address(),
            validator_index: 0,
            signature: Some(Signature::from_slice(&hex::decode("e72d0a6acddb4ab815606fd02b05a8bcca5305f6af65fcbf03c0d79101f314754c8ce7159364caeb185841ab1f8a8768add8356e30dfecd0f0362fd876295a03").expect("hex")).expect("64")),
        };
        assert_eq!(
            vote.validator_address.to_string(),
            "2DD9F44FD9067555C322243C3C913BA7B51D2BE0"
        );
        vote.verify("dockerchain", &pk)
            .expect("real signature verifies");
        assert!(vote.verify("otherchain", &pk).is_err());
        vote.round = 1;
        assert!(vote.verify("dockerchain", &pk).is_err());
    }

    #[test]
    fn proto_round_trip_and_rejects_negative_height() {
        let key = PrivateKey::from_seed([7; 32]);
        let mut vote = Vote {
            vote_type: VoteType::Prevote,
            height: 5,
            round: 3,
            block_id: None,
            timestamp: Time::from_unix_millis(1_700_000_000_123),
            validator_address: key.public_key().address(),
            validator_index: 2,
            signature: None,
        };
        vote.sign("c", &key);
        let back = Vote::from_proto(&vote.to_proto()).expect("round trip");
        assert_eq!(back, vote);
        let mut p = vote.to_proto();
        p.height = -1;
        assert!(matches!(
            Vote::from_proto(&p),
            Err(Error::OutOfRange { .. })
        ));
        p.height = 5;
        p.r#type = 32;
        assert!(matches!(
            Vote::from_proto(&p),
            Err(Error::UnknownEnum { .. })
        ));
    }
}
