//! Account addresses: 20 bytes, written in bech32 with the `cosmos` prefix. Module accounts
//! have the address `sha256(module name)[..20]`, as the SDK derives them.

use crate::{ModuleError, Result};
use bech32::{Bech32, Hrp};
use sha2::{Digest, Sha256};
use std::fmt;
use std::str::FromStr;

/// The account address prefix.
pub const ACCOUNT_HRP: &str = "cosmos";

/// The validator operator address prefix (the operator's account bytes).
pub const VALOPER_HRP: &str = "cosmosvaloper";

/// The validator consensus address prefix (`sha256(ed25519 key)[..20]`).
pub const VALCONS_HRP: &str = "cosmosvalcons";

/// A 20-byte account address.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Address(pub [u8; 20]);

impl Address {
    /// The address of module account `name` (e.g. `fee_collector`).
    pub fn module(name: &str) -> Address {
        let h = Sha256::digest(name.as_bytes());
        let mut a = [0u8; 20];
        a.copy_from_slice(&h[..20]);
        Address(a)
    }

    /// Bech32 with `hrp` (e.g. `cosmosvaloper`).
    pub fn to_bech32(&self, hrp: &str) -> String {
        let hrp = Hrp::parse(hrp).expect("prefixes used here are valid bech32 hrps");
        bech32::encode::<Bech32>(hrp, &self.0).expect("20 bytes always fit in bech32")
    }

    /// Parse bech32 with the given prefix.
    pub fn from_bech32(s: &str, hrp: &str) -> Result<Address> {
        let bad = |why: &str| ModuleError::InvalidAddress(format!("invalid address {s:?}: {why}"));
        let (got, data) = bech32::decode(s).map_err(|e| bad(&e.to_string()))?;
        if got.as_str() != hrp {
            return Err(bad(&format!("expected prefix {hrp}, got {got}")));
        }
        let bytes: [u8; 20] = data
            .as_slice()
            .try_into()
            .map_err(|_| bad("must be 20 bytes"))?;
        Ok(Address(bytes))
    }
}

impl Address {
    /// Bech32 as a validator operator address (`cosmosvaloper1…`).
    pub fn to_valoper(&self) -> String {
        self.to_bech32(VALOPER_HRP)
    }

    /// Parse a validator operator address (`cosmosvaloper1…`).
    pub fn from_valoper(s: &str) -> Result<Address> {
        Address::from_bech32(s, VALOPER_HRP)
    }

    /// Bech32 as a validator consensus address (`cosmosvalcons1…`).
    pub fn to_valcons(&self) -> String {
        self.to_bech32(VALCONS_HRP)
    }

    /// The consensus address of an ed25519 consensus key: the first 20 bytes of its SHA-256.
    pub fn from_ed25519_pubkey(key: &[u8; 32]) -> Address {
        let h = Sha256::digest(key);
        let mut a = [0u8; 20];
        a.copy_from_slice(&h[..20]);
        Address(a)
    }

    /// Lower-case hex of the bytes: a key component whose text order is byte order.
    pub fn to_hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_bech32(ACCOUNT_HRP))
    }
}

impl fmt::Debug for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Address({self})")
    }
}

impl FromStr for Address {
    type Err = ModuleError;
    fn from_str(s: &str) -> Result<Address> {
        Address::from_bech32(s, ACCOUNT_HRP)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bech32_round_trip_and_errors() {
        let a = Address([7; 20]);
        let s = a.to_string();
        assert!(s.starts_with("cosmos1"));
        assert_eq!(s.parse::<Address>().expect("parse"), a);
        assert!(
            a.to_bech32("cosmosvaloper").parse::<Address>().is_err(),
            "wrong prefix"
        );
        assert!("cosmos1qqqq".parse::<Address>().is_err());
        let mut broken = s.clone();
        broken.pop();
        broken.push('q');
        assert!(broken.parse::<Address>().is_err(), "bad checksum");
    }

    /// The fee collector's address on every Cosmos SDK chain.
    #[test]
    fn module_address_matches_the_sdk() {
        assert_eq!(
            Address::module("fee_collector").to_string(),
            "cosmos17xpfvakm2amg962yls6f84z3kell8c5lserqta"
        );
    }
}
