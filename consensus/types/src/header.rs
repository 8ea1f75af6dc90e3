//! Block headers and their hash: the RFC-6962 Merkle root of the 14 fields, each encoded as
//! CometBFT encodes it for hashing (scalars and byte strings wrapped in `google.protobuf`
//! wrapper messages, the time and the last block id as plain messages).

use crate::{merkle, Address, BlockId, Error, Hash, Height, Time};
use keystone_proto::{types as pb, version, wrappers};
use prost::Message;

/// CometBFT v0.38's block protocol version.
pub const BLOCK_PROTOCOL: u64 = 11;

/// Protocol versions in the header.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Version {
    /// Block protocol (11 for CometBFT v0.38).
    pub block: u64,
    /// Application protocol version.
    pub app: u64,
}

/// A block header, with CometBFT's fields in CometBFT's order.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Header {
    /// Protocol versions.
    pub version: Version,
    /// Chain id.
    pub chain_id: String,
    /// Height.
    pub height: Height,
    /// BFT time.
    pub time: Time,
    /// The previous block (`None` at the first height).
    pub last_block_id: Option<BlockId>,
    /// Hash of the previous block's commit.
    pub last_commit_hash: Hash,
    /// Merkle root of the transactions' hashes.
    pub data_hash: Hash,
    /// Hash of the validators for this height.
    pub validators_hash: Hash,
    /// Hash of the validators for the next height.
    pub next_validators_hash: Hash,
    /// Hash of the consensus parameters.
    pub consensus_hash: Hash,
    /// The application's state root after the previous block (any length; empty at genesis).
    pub app_hash: Vec<u8>,
    /// Merkle root of the previous block's tx results.
    pub last_results_hash: Hash,
    /// Merkle root of the evidence.
    pub evidence_hash: Hash,
    /// Address of the proposer.
    pub proposer_address: Address,
}

impl Header {
    /// The header hash (the block hash).
    pub fn hash(&self) -> Hash {
        let h = |x: &Hash| wrappers::bytes_value(&x.0);
        let leaves: [Vec<u8>; 14] = [
            version::Consensus {
                block: self.version.block,
                app: self.version.app,
            }
            .encode_to_vec(),
            wrappers::string_value(&self.chain_id),
            wrappers::int64_value(self.height as i64),
            self.time.to_proto().encode_to_vec(),
            BlockId::option_to_proto(self.last_block_id.as_ref()).encode_to_vec(),
            h(&self.last_commit_hash),
            h(&self.data_hash),
            h(&self.validators_hash),
            h(&self.next_validators_hash),
            h(&self.consensus_hash),
            wrappers::bytes_value(&self.app_hash),
            h(&self.last_results_hash),
            h(&self.evidence_hash),
            wrappers::bytes_value(&self.proposer_address.0),
        ];
        merkle::hash_from_byte_slices(&leaves)
    }

    /// Protobuf `Header`.
    pub fn to_proto(&self) -> pb::Header {
        pb::Header {
            version: Some(version::Consensus {
                block: self.version.block,
                app: self.version.app,
            }),
            chain_id: self.chain_id.clone(),
            height: self.height as i64,
            time: Some(self.time.to_proto()),
            last_block_id: Some(BlockId::option_to_proto(self.last_block_id.as_ref())),
            last_commit_hash: self.last_commit_hash.0.to_vec(),
            data_hash: self.data_hash.0.to_vec(),
            validators_hash: self.validators_hash.0.to_vec(),
            next_validators_hash: self.next_validators_hash.0.to_vec(),
            consensus_hash: self.consensus_hash.0.to_vec(),
            app_hash: self.app_hash.clone(),
            last_results_hash: self.last_results_hash.0.to_vec(),
            evidence_hash: self.evidence_hash.0.to_vec(),
            proposer_address: self.proposer_address.0.to_vec(),
        }
    }

    /// From protobuf; every hash must be 32 bytes (the app hash may be any length).
    pub fn from_proto(p: &pb::Header) -> crate::Result<Self> {
        let v = p.version.ok_or(Error::MissingField("version"))?;
        let height = crate::error::height_from_proto(p.height)?;
        let last_block_id = match &p.last_block_id {
            Some(b) => BlockId::option_from_proto(b)?,
            None => None,
        };
        Ok(Header {
            version: Version {
                block: v.block,
                app: v.app,
            },
            chain_id: p.chain_id.clone(),
            height,
            time: Time::from_proto(p.time.as_ref().ok_or(Error::MissingField("time"))?)?,
            last_block_id,
            last_commit_hash: Hash::from_slice(&p.last_commit_hash)?,
            data_hash: Hash::from_slice(&p.data_hash)?,
            validators_hash: Hash::from_slice(&p.validators_hash)?,
            next_validators_hash: Hash::from_slice(&p.next_validators_hash)?,
            consensus_hash: Hash::from_slice(&p.consensus_hash)?,
            app_hash: p.app_hash.clone(),
            last_results_hash: Hash::from_slice(&p.last_results_hash)?,
            evidence_hash: Hash::from_slice(&p.evidence_hash)?,
            proposer_address: Address::from_slice(&p.proposer_address)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{hash::sha256, PartSetHeader};

    // CometBFT types/block_test.go TestHeaderHash (shared/vectors/header-hash.md §1).
    #[test]
    fn header_hash_matches_cometbft() {
        let s = |x: &str| sha256(x.as_bytes());
        let mut proposer = [0u8; 20];
        proposer.copy_from_slice(&s("proposer_address").0[..20]);
        let header = Header {
            version: Version { block: 1, app: 2 },
            chain_id: "chainId".into(),
            height: 3,
            time: Time::new(1_570_983_284, 0).expect("valid"),
            last_block_id: Some(BlockId {
                hash: Hash([0; 32]),
                part_set_header: PartSetHeader {
                    total: 6,
                    hash: Hash([0; 32]),
                },
            }),
            last_commit_hash: s("last_commit_hash"),
            data_hash: s("data_hash"),
            validators_hash: s("validators_hash"),
            next_validators_hash: s("next_validators_hash"),
            consensus_hash: s("consensus_hash"),
            app_hash: s("app_hash").0.to_vec(),
            last_results_hash: s("last_results_hash"),
            evidence_hash: s("evidence_hash"),
            proposer_address: Address(proposer),
        };
        assert_eq!(
            header.hash().to_hex(),
            "F740121F553B5418C3EFBD343C2DBFE9E007BB67B0D020A0741374BAB65242A4"
        );
        assert_eq!(
            Header::from_proto(&header.to_proto()).expect("round trip"),
            header
        );
    }
}
