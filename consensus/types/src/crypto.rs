//! Validator identities: ed25519 keys (verified with ZIP-215 rules through `ed25519-consensus`,
//! the same library the `tendermint` crate verifies with), 20-byte addresses, 64-byte signatures.

use crate::{hash::sha256, Error};
use std::collections::BTreeMap;
use std::fmt;

/// A validator address: the first 20 bytes of SHA-256 of its ed25519 public key.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Address(pub [u8; 20]);

impl Address {
    /// Parse from a 20-byte slice.
    pub fn from_slice(b: &[u8]) -> crate::Result<Self> {
        let arr: [u8; 20] = b.try_into().map_err(|_| Error::AddressLength(b.len()))?;
        Ok(Address(arr))
    }

    /// The bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode_upper(self.0))
    }
}

impl fmt::Debug for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Address({})", &hex::encode_upper(&self.0[..4]))
    }
}

/// Decompressed keys by their bytes: decompressing a key (a square root in the field) was a
/// tenth of a node's verification time, and a chain verifies the same few keys over and
/// over. Bounded: past `KEY_CACHE` keys the cache starts afresh. It changes no result, only
/// what a verification costs.
static KEYS: std::sync::Mutex<BTreeMap<[u8; 32], ed25519_consensus::VerificationKey>> =
    std::sync::Mutex::new(BTreeMap::new());
const KEY_CACHE: usize = 4096;

fn verification_key(bytes: &[u8; 32]) -> crate::Result<ed25519_consensus::VerificationKey> {
    // A panic while the lock was held leaves only a cache behind.
    let mut keys = KEYS.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(vk) = keys.get(bytes) {
        return Ok(*vk);
    }
    let vk = ed25519_consensus::VerificationKey::try_from(*bytes).map_err(|_| Error::PublicKey)?;
    if keys.len() >= KEY_CACHE {
        keys.clear();
    }
    keys.insert(*bytes, vk);
    Ok(vk)
}

/// An ed25519 public key.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PublicKey(pub [u8; 32]);

impl PublicKey {
    /// The CometBFT address of this key.
    pub fn address(&self) -> Address {
        let h = sha256(&self.0);
        let mut a = [0u8; 20];
        a.copy_from_slice(&h.0[..20]);
        Address(a)
    }

    /// Check `sig` over `msg`.
    pub fn verify(&self, msg: &[u8], sig: &Signature) -> crate::Result<()> {
        verification_key(&self.0)?
            .verify(&ed25519_consensus::Signature::from(sig.0), msg)
            .map_err(|_| Error::BadSignature(self.address()))
    }

    /// The protobuf `tendermint.crypto.PublicKey`.
    pub fn to_proto(&self) -> keystone_proto::crypto::PublicKey {
        keystone_proto::crypto::PublicKey {
            sum: Some(keystone_proto::crypto::public_key::Sum::Ed25519(
                self.0.to_vec(),
            )),
        }
    }

    /// From the protobuf form; only ed25519 keys are accepted.
    pub fn from_proto(pk: &keystone_proto::crypto::PublicKey) -> crate::Result<Self> {
        match &pk.sum {
            Some(keystone_proto::crypto::public_key::Sum::Ed25519(b)) => {
                let arr: [u8; 32] = b.as_slice().try_into().map_err(|_| Error::PublicKey)?;
                Ok(PublicKey(arr))
            }
            _ => Err(Error::PublicKey),
        }
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", hex::encode_upper(&self.0[..4]))
    }
}

/// A 64-byte ed25519 signature.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Signature(pub [u8; 64]);

impl Signature {
    /// Parse from a 64-byte slice.
    pub fn from_slice(b: &[u8]) -> crate::Result<Self> {
        let arr: [u8; 64] = b.try_into().map_err(|_| Error::SignatureLength(b.len()))?;
        Ok(Signature(arr))
    }
}

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Signature({}…)", hex::encode_upper(&self.0[..4]))
    }
}

/// An ed25519 signing key.
#[derive(Clone)]
pub struct PrivateKey(ed25519_consensus::SigningKey);

impl PrivateKey {
    /// The key whose seed is `seed`.
    pub fn from_seed(seed: [u8; 32]) -> Self {
        PrivateKey(ed25519_consensus::SigningKey::from(seed))
    }

    /// A fresh key from `rng` (the simulator passes a seeded one).
    pub fn generate<R: rand_core::RngCore + rand_core::CryptoRng>(rng: &mut R) -> Self {
        PrivateKey(ed25519_consensus::SigningKey::new(rng))
    }

    /// The 32-byte seed.
    pub fn seed(&self) -> [u8; 32] {
        self.0.to_bytes()
    }

    /// The public half.
    pub fn public_key(&self) -> PublicKey {
        PublicKey(self.0.verification_key().to_bytes())
    }

    /// Sign `msg`.
    pub fn sign(&self, msg: &[u8]) -> Signature {
        Signature(self.0.sign(msg).to_bytes())
    }
}

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PrivateKey(for {:?})", self.public_key())
    }
}
