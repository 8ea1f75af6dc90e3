//! The consensus parameters that enter the header's `consensus_hash`.

use crate::{hash::sha256, Hash};
use keystone_proto::types as pb;
use prost::Message;

/// CometBFT hashes only the block size limits into `consensus_hash` (`HashedParams`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct HashedParams {
    /// `block.max_bytes`.
    pub block_max_bytes: i64,
    /// `block.max_gas` (−1: unlimited).
    pub block_max_gas: i64,
}

impl Default for HashedParams {
    /// CometBFT v0.38's defaults: 22 020 096 bytes, unlimited gas.
    fn default() -> Self {
        HashedParams {
            block_max_bytes: 22_020_096,
            block_max_gas: -1,
        }
    }
}

impl HashedParams {
    /// `consensus_hash`: SHA-256 of the protobuf `HashedParams`.
    pub fn hash(&self) -> Hash {
        sha256(
            &pb::HashedParams {
                block_max_bytes: self.block_max_bytes,
                block_max_gas: self.block_max_gas,
            }
            .encode_to_vec(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The consensus_hash of a real CometBFT v0.38 chain (header-hash.md §4).
    #[test]
    fn default_params_hash_matches_cometbft() {
        assert_eq!(
            HashedParams::default().hash().to_hex(),
            "048091BC7DDC283F77BFBF91D73C44DA58C3DF8A9CBC867405D8B7F3DAADA22F"
        );
    }
}
