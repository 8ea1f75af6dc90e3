//! Private keys as gaiad's `keys export` writes them and `keys import` reads them: an
//! OpenPGP-style ASCII armor (`TENDERMINT PRIVATE KEY`, headers `kdf`, `salt`, `type`, a
//! CRC-24 checksum line) around the amino-encoded secp256k1 key sealed with NaCl's secretbox
//! (XSalsa20-Poly1305, the nonce in front) under SHA-256 of the cosmos-sdk's bcrypt hash
//! (cost 12, the 16-byte salt of the `salt` header) of the passphrase. Keys move between
//! Keystone and gaiad this way (`cli/src/armor.rs`'s tests open the cosmos-sdk's own test
//! vector).

use base64::Engine as _;
use crypto_secretbox::aead::{Aead, KeyInit};
use crypto_secretbox::XSalsa20Poly1305;
use rand_core::RngCore;
use sha2::{Digest, Sha256};

/// Why an armored key could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum ArmorError {
    /// Not the armor of a private key.
    #[error("not an armored private key: {0}")]
    Format(String),
    /// A key derivation other than bcrypt (newer SDKs may write argon2).
    #[error("unsupported key derivation {0:?}: only bcrypt is supported")]
    Kdf(String),
    /// A key type other than secp256k1.
    #[error("unsupported key type {0:?}: only secp256k1 is supported")]
    KeyType(String),
    /// The passphrase does not open the key (or the armor was altered).
    #[error("invalid passphrase, or the key was altered: it does not decrypt")]
    Decrypt,
    /// The passphrase is too short to protect a key.
    #[error("the passphrase must be at least {0} characters")]
    WeakPassphrase(usize),
    /// The hashing failed.
    #[error("bcrypt: {0}")]
    Bcrypt(String),
}

type Result<T> = std::result::Result<T, ArmorError>;

const BLOCK: &str = "TENDERMINT PRIVATE KEY";
/// The cosmos-sdk's `BcryptSecurityParameter`.
const BCRYPT_COST: u32 = 12;
/// gaiad refuses a shorter passphrase for an exported key.
pub const MIN_PASSPHRASE: usize = 8;
/// Amino's prefix of `tendermint/PrivKeySecp256k1`, then the length of the 32-byte key.
const AMINO_SECP256K1: [u8; 5] = [0xe1, 0xb0, 0xf7, 0x9b, 0x20];
const NONCE: usize = 24;

/// The secretbox key of `passphrase` and `salt`: SHA-256 of the bcrypt hash string.
fn derive_key(passphrase: &str, salt: [u8; 16], cost: u32) -> Result<[u8; 32]> {
    let parts = bcrypt::hash_with_salt(passphrase, cost, salt)
        .map_err(|e| ArmorError::Bcrypt(e.to_string()))?;
    let text = parts.format_for_version(bcrypt::Version::TwoA);
    Ok(Sha256::digest(text.as_bytes()).into())
}

/// OpenPGP's CRC-24 (RFC 4880 §6.1).
fn crc24(data: &[u8]) -> u32 {
    let mut crc: u32 = 0x00B7_04CE;
    for b in data {
        crc ^= u32::from(*b) << 16;
        for _ in 0..8 {
            crc <<= 1;
            if crc & 0x0100_0000 != 0 {
                crc ^= 0x0186_4CFB;
            }
        }
    }
    crc & 0x00FF_FFFF
}

/// `secret` sealed under `passphrase`, armored as gaiad's `keys export` prints it.
pub fn export(secret: &[u8; 32], passphrase: &str) -> Result<String> {
    if passphrase.chars().count() < MIN_PASSPHRASE {
        return Err(ArmorError::WeakPassphrase(MIN_PASSPHRASE));
    }
    let mut salt = [0u8; 16];
    rand_core::OsRng.fill_bytes(&mut salt);
    let mut nonce = [0u8; NONCE];
    rand_core::OsRng.fill_bytes(&mut nonce);
    let key = derive_key(passphrase, salt, BCRYPT_COST)?;
    let mut plain = AMINO_SECP256K1.to_vec();
    plain.extend_from_slice(secret);
    let sealed = XSalsa20Poly1305::new(&key.into())
        .encrypt(&nonce.into(), plain.as_slice())
        .map_err(|_| ArmorError::Decrypt)?;
    let mut body = nonce.to_vec();
    body.extend(sealed);
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut out = format!(
        "-----BEGIN {BLOCK}-----\nkdf: bcrypt\nsalt: {}\ntype: secp256k1\n\n",
        hex::encode_upper(salt)
    );
    let encoded = b64.encode(&body);
    for line in encoded.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(line));
        out.push('\n');
    }
    let crc = crc24(&body).to_be_bytes();
    out.push('=');
    out.push_str(&b64.encode(&crc[1..]));
    out.push_str(&format!("\n-----END {BLOCK}-----"));
    Ok(out)
}

/// The secp256k1 secret in armored `text` (as gaiad's `keys export` writes it), opened with
/// `passphrase`.
pub fn import(text: &str, passphrase: &str) -> Result<[u8; 32]> {
    import_at_cost(text, passphrase, BCRYPT_COST)
}

/// [`import`] with the bcrypt cost `cost` (the armor does not record it: every SDK binary
/// uses 12, but the SDK's own tests lower it).
fn import_at_cost(text: &str, passphrase: &str, cost: u32) -> Result<[u8; 32]> {
    let bad = |what: &str| ArmorError::Format(what.to_string());
    let mut lines = text.lines().map(str::trim).skip_while(|l| l.is_empty());
    if lines.next() != Some(format!("-----BEGIN {BLOCK}-----").as_str()) {
        return Err(bad("no BEGIN TENDERMINT PRIVATE KEY line"));
    }
    let (mut kdf, mut salt, mut kind) = (None, None, None);
    for line in lines.by_ref() {
        if line.is_empty() {
            break;
        }
        let (k, v) = line
            .split_once(':')
            .ok_or_else(|| bad("a header line without ':'"))?;
        match k.trim() {
            "kdf" => kdf = Some(v.trim().to_string()),
            "salt" => salt = Some(v.trim().to_string()),
            "type" => kind = Some(v.trim().to_string()),
            _ => {}
        }
    }
    let mut body = String::new();
    let mut checksum = None;
    let mut ended = false;
    for line in lines {
        if line == format!("-----END {BLOCK}-----") {
            ended = true;
            break;
        }
        match line.strip_prefix('=') {
            Some(c) => checksum = Some(c.to_string()),
            None => body.push_str(line),
        }
    }
    if !ended {
        return Err(bad("no END TENDERMINT PRIVATE KEY line"));
    }
    match kdf.as_deref() {
        Some("bcrypt") => {}
        Some(other) => return Err(ArmorError::Kdf(other.into())),
        None => return Err(bad("no kdf header")),
    }
    // Keys exported before the SDK wrote a `type` header are secp256k1.
    if let Some(t) = kind.filter(|t| t != "secp256k1") {
        return Err(ArmorError::KeyType(t));
    }
    let salt: [u8; 16] = hex::decode(salt.ok_or_else(|| bad("no salt header"))?)
        .ok()
        .and_then(|s| s.try_into().ok())
        .ok_or_else(|| bad("the salt is not 16 bytes of hex"))?;
    let b64 = base64::engine::general_purpose::STANDARD;
    let body = b64
        .decode(body)
        .map_err(|e| ArmorError::Format(format!("the body is not base64: {e}")))?;
    if let Some(c) = checksum {
        let want = b64
            .decode(c)
            .map_err(|_| bad("the checksum is not base64"))?;
        if want != crc24(&body).to_be_bytes()[1..] {
            return Err(bad("the checksum does not match: the armor was altered"));
        }
    }
    if body.len() <= NONCE {
        return Err(bad("the body is too short"));
    }
    let (nonce, sealed) = body.split_at(NONCE);
    let nonce: [u8; NONCE] = nonce.try_into().map_err(|_| bad("nonce"))?;
    let key = derive_key(passphrase, salt, cost)?;
    let plain = XSalsa20Poly1305::new(&key.into())
        .decrypt(&nonce.into(), sealed)
        .map_err(|_| ArmorError::Decrypt)?;
    match plain.strip_prefix(&AMINO_SECP256K1[..]) {
        Some(secret) if secret.len() == 32 => {
            let mut out = [0u8; 32];
            out.copy_from_slice(secret);
            Ok(out)
        }
        _ => Err(bad("the sealed key is not an amino secp256k1 private key")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The cosmos-sdk's own vector (crypto/keyring/keyring_test.go, `TestImportPrivKey`). Its
    /// tests set `BcryptSecurityParameter` to 1, which the SDK's bcrypt raises to its default
    /// cost, 10: the vector opens at cost 10 and at no other (a real gaiad exports at 12).
    const SDK_ARMOR: &str = "-----BEGIN TENDERMINT PRIVATE KEY-----\nkdf: bcrypt\nsalt: 6BC5D5187F9DF241E1A1243EECFF9C17\ntype: secp256k1\n\nGDPpPfrSVZloiwufbal19fmd75QeiqwToZ949SwmnxxM03qL75xXVf3tTD/BrF4l\nFs14HuhwntDBM2xgZvymTBk2edHlEI20Phv6oC0=\n=/zZh\n-----END TENDERMINT PRIVATE KEY-----";
    const SDK_PASSPHRASE: &str = "this passphrase has been used for all test vectors";

    #[test]
    fn the_sdk_vector_opens_and_a_wrong_passphrase_does_not() {
        let secret =
            import_at_cost(SDK_ARMOR, SDK_PASSPHRASE, 10).expect("the SDK's armored key opens");
        assert!(k256::ecdsa::SigningKey::from_slice(&secret).is_ok());
        // The key's MAC is what says the derivation and the cipher are the SDK's: any other
        // cost, or another passphrase, does not open it.
        assert!(matches!(
            import_at_cost(SDK_ARMOR, SDK_PASSPHRASE, 12),
            Err(ArmorError::Decrypt)
        ));
        assert!(matches!(
            import_at_cost(SDK_ARMOR, "not the passphrase", 10),
            Err(ArmorError::Decrypt)
        ));
    }

    #[test]
    fn export_then_import_and_what_is_refused() {
        let secret = [0x42; 32];
        let text = export(&secret, "a good passphrase").expect("export");
        assert!(text.starts_with("-----BEGIN TENDERMINT PRIVATE KEY-----\nkdf: bcrypt\nsalt: "));
        assert_eq!(import(&text, "a good passphrase").expect("import"), secret);
        assert!(matches!(
            export(&secret, "short"),
            Err(ArmorError::WeakPassphrase(8))
        ));
        // One base64 character of the body changed: the checksum line catches it.
        let body_line = text.lines().nth(5).expect("a body line");
        let flipped = body_line.replacen(
            &body_line[..1],
            if &body_line[..1] == "A" { "B" } else { "A" },
            1,
        );
        let altered = text.replacen(body_line, &flipped, 1);
        assert!(matches!(
            import(&altered, "a good passphrase"),
            Err(ArmorError::Format(_))
        ));
        let argon = text.replace("kdf: bcrypt", "kdf: argon2");
        assert!(matches!(import(&argon, "x"), Err(ArmorError::Kdf(k)) if k == "argon2"));
        assert!(matches!(import("hello", "x"), Err(ArmorError::Format(_))));
    }

    #[test]
    fn crc24_of_the_rfc_check_string() {
        // RFC 4880's CRC-24 of "123456789".
        assert_eq!(crc24(b"123456789"), 0x21CF02);
    }
}
