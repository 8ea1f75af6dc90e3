//! SHA-256 hashes, the only hash CometBFT v0.38 uses for blocks, parts and sets.

use sha2::{Digest, Sha256};
use std::fmt;

/// A 32-byte SHA-256 digest.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Hash(pub [u8; 32]);

impl Hash {
    /// The bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Parse from a 32-byte slice.
    pub fn from_slice(b: &[u8]) -> crate::Result<Self> {
        let arr: [u8; 32] = b
            .try_into()
            .map_err(|_| crate::Error::HashLength(b.len()))?;
        Ok(Hash(arr))
    }

    /// Uppercase hex, as CometBFT prints hashes.
    pub fn to_hex(&self) -> String {
        hex::encode_upper(self.0)
    }
}

impl fmt::Display for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Eight hex digits tell hashes apart in logs and test failures.
        write!(f, "Hash({}…)", &self.to_hex()[..8])
    }
}

/// SHA-256 of `data`.
pub fn sha256(data: &[u8]) -> Hash {
    Hash(Sha256::digest(data).into())
}
