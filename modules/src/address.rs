//! Account addresses: 20 bytes, written in bech32 with the `cosmos` prefix. Module accounts
//! have the address `sha256(module name)[..20]`, as the SDK derives them.

use crate::{ModuleError, Result};
use bech32::Hrp;
use sha2::{Digest, Sha256};
use std::fmt;
use std::str::FromStr;

/// The account address prefix.
pub const ACCOUNT_HRP: &str = "cosmos";

/// The validator operator address prefix (the operator's account bytes).
pub const VALOPER_HRP: &str = "cosmosvaloper";

/// The validator consensus address prefix (`sha256(ed25519 key)[..20]`).
pub const VALCONS_HRP: &str = "cosmosvalcons";

/// BIP-173's alphabet.
const CHARSET: &[u8; 32] = b"qpzry9x8gf2tvdw0s3jn54khce6mua7l";

/// BIP-173's generator terms combined for each value of the checksum's top five bits, so a
/// step is one lookup instead of five tests.
const STEP: [u32; 32] = {
    const GEN: [u32; 5] = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3];
    let mut t = [0u32; 32];
    let mut top = 0;
    while top < 32 {
        let mut i = 0;
        while i < 5 {
            if (top >> i) & 1 == 1 {
                t[top] ^= GEN[i];
            }
            i += 1;
        }
        top += 1;
    }
    t
};

/// Each character's five-bit value (`CHARSET` read backwards); 0xff for the rest.
const VALUE: [u8; 128] = {
    let mut t = [0xffu8; 128];
    let mut i = 0;
    while i < 32 {
        t[CHARSET[i] as usize] = i as u8;
        i += 1;
    }
    t
};

/// One step of BIP-173's checksum.
fn polymod(chk: u32, v: u8) -> u32 {
    (((chk & 0x1ff_ffff) << 5) ^ u32::from(v)) ^ STEP[(chk >> 25) as usize]
}

/// `s` as `hrp`, `1`, 32 lowercase data characters and a valid bech32 checksum: its 20 bytes.
fn decode_plain(s: &str, hrp: &str) -> Option<[u8; 20]> {
    let b = s.as_bytes();
    let (head, rest) = (b.get(..hrp.len())?, b.get(hrp.len()..)?);
    if head != hrp.as_bytes() || rest.len() != 1 + 32 + 6 || rest[0] != b'1' {
        return None;
    }
    let mut chk: u32 = 1;
    for &c in head {
        chk = polymod(chk, c >> 5);
    }
    chk = polymod(chk, 0);
    for &c in head {
        chk = polymod(chk, c & 31);
    }
    let mut out = [0u8; 20];
    let (mut acc, mut bits, mut n) = (0u32, 0, 0);
    for (i, &c) in rest[1..].iter().enumerate() {
        let v = *VALUE.get(usize::from(c)).filter(|v| **v != 0xff)?;
        chk = polymod(chk, v);
        if i < 32 {
            acc = (acc << 5) | u32::from(v);
            bits += 5;
            if bits >= 8 {
                bits -= 8;
                out[n] = (acc >> bits) as u8;
                n += 1;
            }
        }
    }
    (chk == 1).then_some(out)
}

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

    /// Bech32 with `hrp` (e.g. `cosmosvaloper`). State keys and events name accounts in
    /// bech32, so a transaction encodes its signer and recipients some fifteen times in each
    /// of its check, recheck and execution: the strings of recently encoded addresses are
    /// kept per thread (a pure function's answers, so nothing depends on what is kept).
    pub fn to_bech32(&self, hrp: &str) -> String {
        /// Slots, picked by the address's first byte.
        const SLOTS: usize = 256;
        type Slots = Vec<Option<([u8; 20], String)>>;
        thread_local! {
            static RECENT: std::cell::RefCell<Slots> = const { std::cell::RefCell::new(Vec::new()) };
        }
        // While the thread's storage is being torn down there is no cache: encode.
        RECENT
            .try_with(|recent| {
                let Ok(mut recent) = recent.try_borrow_mut() else {
                    return self.encode_bech32(hrp);
                };
                if recent.is_empty() {
                    recent.resize(SLOTS, None);
                }
                let slot = &mut recent[usize::from(self.0[0]) % SLOTS];
                match slot {
                    Some((a, s))
                        if *a == self.0
                            && s.len() == hrp.len() + 39
                            && s.as_bytes()[hrp.len()] == b'1'
                            && s.starts_with(hrp) =>
                    {
                        s.clone()
                    }
                    _ => {
                        let s = self.encode_bech32(hrp);
                        *slot = Some((self.0, s.clone()));
                        s
                    }
                }
            })
            .unwrap_or_else(|_| self.encode_bech32(hrp))
    }

    /// BIP-173 written out for 20 bytes: the general encoder's checks and allocations were a
    /// quarter of a recheck. The `bech32` crate still decodes, and the tests hold this
    /// encoder to it.
    fn encode_bech32(&self, hrp: &str) -> String {
        debug_assert!(
            Hrp::parse(hrp).is_ok_and(|h| h.as_str() == hrp.to_ascii_lowercase()),
            "prefixes used here are valid lowercase bech32 hrps"
        );
        let mut out = String::with_capacity(hrp.len() + 1 + 32 + 6);
        out.push_str(hrp);
        out.push('1');
        let mut chk: u32 = 1;
        for c in hrp.bytes() {
            chk = polymod(chk, c >> 5);
        }
        chk = polymod(chk, 0);
        for c in hrp.bytes() {
            chk = polymod(chk, c & 31);
        }
        // 160 bits are exactly 32 groups of five: no padding.
        let mut acc: u32 = 0;
        let mut bits = 0;
        for &b in &self.0 {
            acc = (acc << 8) | u32::from(b);
            bits += 8;
            while bits >= 5 {
                bits -= 5;
                let v = ((acc >> bits) & 31) as u8;
                chk = polymod(chk, v);
                out.push(char::from(CHARSET[usize::from(v)]));
            }
        }
        for _ in 0..6 {
            chk = polymod(chk, 0);
        }
        chk ^= 1;
        for i in 0..6 {
            out.push(char::from(CHARSET[((chk >> (5 * (5 - i))) & 31) as usize]));
        }
        out
    }

    /// Parse bech32 with the given prefix. The common case (lowercase, this prefix, a
    /// bech32 checksum, 20 bytes) is read here directly; anything else goes through the
    /// `bech32` crate, which gives the errors.
    pub fn from_bech32(s: &str, hrp: &str) -> Result<Address> {
        if let Some(a) = decode_plain(s, hrp) {
            return Ok(Address(a));
        }
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
    use bech32::Bech32;

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

    /// The encoder written out here gives the `bech32` crate's text, for every prefix.
    #[test]
    fn the_encoder_agrees_with_the_bech32_crate() {
        use rand_chacha::rand_core::{RngCore, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(16);
        let mut cases = vec![[0u8; 20], [0xff; 20]];
        for _ in 0..2000 {
            let mut a = [0u8; 20];
            rng.fill_bytes(&mut a);
            cases.push(a);
        }
        for a in cases {
            // "cosmoz" after "cosmos": a kept string of the same address and a prefix of the
            // same length is not taken for this one.
            for hrp in [ACCOUNT_HRP, "cosmoz", VALOPER_HRP, VALCONS_HRP, "osmo", "a"] {
                let want =
                    bech32::encode::<Bech32>(Hrp::parse(hrp).expect("hrp"), &a).expect("encodes");
                assert_eq!(Address(a).to_bech32(hrp), want);
                assert_eq!(Address(a).to_bech32(hrp), want, "kept");
            }
        }
    }

    /// Parsing agrees with the `bech32` crate: the same address, or an error, for valid
    /// strings and for each of them with one character changed.
    #[test]
    fn the_decoder_agrees_with_the_bech32_crate() {
        use rand_chacha::rand_core::{RngCore, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(17);
        let crate_decode = |s: &str| -> Option<Vec<u8>> {
            let (hrp, data) = bech32::decode(s).ok()?;
            (hrp.as_str() == ACCOUNT_HRP && data.len() == 20).then_some(data)
        };
        for _ in 0..300 {
            let mut a = [0u8; 20];
            rng.fill_bytes(&mut a);
            let good = Address(a).to_string();
            let mut cases = vec![good.clone(), good.to_uppercase()];
            for i in 0..good.len() {
                let mut b = good.clone().into_bytes();
                b[i] = b"qpzry9x8gf2tvdw0s3jn54khce6mua7l1Q"[(rng.next_u32() % 34) as usize];
                cases.extend(String::from_utf8(b).ok());
            }
            for s in cases {
                let ours = s.parse::<Address>().ok().map(|a| a.0.to_vec());
                assert_eq!(ours, crate_decode(&s), "{s}");
            }
        }
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
