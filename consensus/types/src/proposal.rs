//! A proposer's signed proposal of a block for a round; its sign bytes are the length-delimited
//! `CanonicalProposal` (pol_round as a plain varint, so −1 takes ten bytes).

use crate::{BlockId, Error, Height, PrivateKey, PublicKey, Round, Signature, Time};
use keystone_proto::types as pb;
use prost::Message;

/// A proposal of `block_id` at `height`/`round`, re-proposing a value that had a polka in
/// `pol_round` when that is set (the paper's `validRound`).
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct Proposal {
    /// Height.
    pub height: Height,
    /// Round.
    pub round: Round,
    /// The round of the polka that justifies re-proposing, if any (CometBFT's −1 is `None`).
    pub pol_round: Option<Round>,
    /// The proposed block.
    pub block_id: BlockId,
    /// The proposer's clock when it proposed.
    pub timestamp: Time,
    /// Signature over [`Proposal::sign_bytes`]; `None` until signed.
    pub signature: Option<Signature>,
}

impl Proposal {
    fn pol_round_i64(&self) -> i64 {
        self.pol_round.map_or(-1, |r| r as i64)
    }

    /// The bytes the proposer signs: length-delimited `CanonicalProposal`.
    pub fn sign_bytes(&self, chain_id: &str) -> Vec<u8> {
        pb::CanonicalProposal {
            r#type: pb::SignedMsgType::Proposal as i32,
            height: self.height as i64,
            round: self.round as i64,
            pol_round: self.pol_round_i64(),
            block_id: BlockId::canonical(Some(&self.block_id)),
            timestamp: Some(self.timestamp.to_proto()),
            chain_id: chain_id.to_owned(),
        }
        .encode_length_delimited_to_vec()
    }

    /// Sign in place.
    pub fn sign(&mut self, chain_id: &str, key: &PrivateKey) {
        self.signature = Some(key.sign(&self.sign_bytes(chain_id)));
    }

    /// Check the signature against the proposer's key.
    pub fn verify(&self, chain_id: &str, pub_key: &PublicKey) -> crate::Result<()> {
        let sig = self
            .signature
            .as_ref()
            .ok_or(Error::MissingField("signature"))?;
        pub_key.verify(&self.sign_bytes(chain_id), sig)
    }

    /// Protobuf `Proposal`.
    pub fn to_proto(&self) -> pb::Proposal {
        pb::Proposal {
            r#type: pb::SignedMsgType::Proposal as i32,
            height: self.height as i64,
            round: self.round as i32,
            pol_round: self.pol_round.map_or(-1, |r| r as i32),
            block_id: Some(self.block_id.to_proto()),
            timestamp: Some(self.timestamp.to_proto()),
            signature: self.signature.map(|s| s.0.to_vec()).unwrap_or_default(),
        }
    }

    /// From protobuf; rejects a POL round that is not below the round, as CometBFT does.
    pub fn from_proto(p: &pb::Proposal) -> crate::Result<Self> {
        if p.r#type != pb::SignedMsgType::Proposal as i32 {
            return Err(Error::UnknownEnum {
                field: "proposal type",
                value: p.r#type,
            });
        }
        let height = crate::error::height_from_proto(p.height)?;
        let round = crate::error::round_from_proto(p.round)?;
        let pol_round = match p.pol_round {
            -1 => None,
            r if r >= 0 && r < p.round => Some(r as u32),
            r => {
                return Err(Error::OutOfRange {
                    field: "pol_round",
                    value: r as i128,
                })
            }
        };
        let block_id =
            BlockId::from_proto(p.block_id.as_ref().ok_or(Error::MissingField("block_id"))?)?;
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
        Ok(Proposal {
            height,
            round,
            pol_round,
            block_id,
            timestamp,
            signature,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Hash, PartSetHeader};

    // tendermint-rs's Go-generated proposal vector B3 (shared/vectors/vote-sign-bytes.md).
    #[test]
    fn proposal_sign_bytes_match_go() {
        let h = |s: &str| Hash::from_slice(&hex::decode(s).expect("hex")).expect("32");
        let p = Proposal {
            height: 12345,
            round: 23456,
            pol_round: None,
            block_id: BlockId {
                hash: h("DEADBEEFDEADBEEFBAFBAFBAFBAFBAFADEADBEEFDEADBEEFBAFBAFBAFBAFBAFA"),
                part_set_header: PartSetHeader {
                    total: 65535,
                    hash: h("0022446688AACCEE1133557799BBDDFF0022446688AACCEE1133557799BBDDFF"),
                },
            },
            timestamp: Time::new(1_518_332_962, 765_000_000).expect("valid"),
            signature: None,
        };
        assert_eq!(hex::encode(p.sign_bytes("test_chain_id")), "8801082011393000000000000019a05b00000000000020ffffffffffffffffff012a4a0a20deadbeefdeadbeefbafbafbafbafbafadeadbeefdeadbeefbafbafbafbafbafa122608ffff0312200022446688aaccee1133557799bbddff0022446688aaccee1133557799bbddff320c08a2d8ffd30510c0f2e3ec023a0d746573745f636861696e5f6964");
    }

    #[test]
    fn pol_round_must_be_below_round() {
        let key = PrivateKey::from_seed([1; 32]);
        let mut p = Proposal {
            height: 1,
            round: 2,
            pol_round: Some(1),
            block_id: BlockId {
                hash: Hash([1; 32]),
                part_set_header: PartSetHeader {
                    total: 1,
                    hash: Hash([2; 32]),
                },
            },
            timestamp: Time::UNIX_EPOCH,
            signature: None,
        };
        p.sign("c", &key);
        assert_eq!(Proposal::from_proto(&p.to_proto()).expect("ok"), p);
        p.verify("c", &key.public_key()).expect("verifies");
        let mut raw = p.to_proto();
        raw.pol_round = 2;
        assert!(Proposal::from_proto(&raw).is_err());
    }
}
