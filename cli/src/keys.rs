//! Keys: mnemonic → seed → `m/44'/118'/{account}'/0/{index}` (0 and 0 unless `keys add
//! --account --index` says otherwise) → secp256k1 key → `cosmos1…` address, and the keyring,
//! with gaiad's two file backends:
//! - `test`: `<home>/keyring-test/<name>.json`, the secret in the clear — for localnets and
//!   tests only, as in gaiad;
//! - `file`: `<home>/keyring-file/<name>.json`, the secret sealed with ChaCha20-Poly1305
//!   under a key derived from the keyring passphrase by scrypt (N = 2^15, r = 8, p = 1,
//!   a fresh salt and nonce per key; the key's name and address are bound in as associated
//!   data). `keyhash` beside them holds a scrypt hash of the passphrase, so a wrong one is
//!   refused before anything is written, as gaiad's `keyhash` does.
//!
//! The public half (name, address, public key) is stored in the clear with either backend,
//! so `keys list` and `keys show` need no passphrase; signing and adding do.

use bip32::XPrv;
use bip39::Mnemonic;
use keystone_app::tx::secp256k1_address;
use keystone_modules::Address;
use rand_core::RngCore;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The Cosmos Hub's HD path.
pub const HD_PATH: &str = "m/44'/118'/0'/0/0";

/// What key handling failed at.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// Not a valid BIP39 mnemonic.
    #[error("invalid mnemonic: {0}")]
    Mnemonic(String),
    /// Derivation failed.
    #[error("key derivation: {0}")]
    Derivation(String),
    /// A key name that cannot be a file name.
    #[error("invalid key name {0:?}: use letters, digits, '-', '_' and '.'")]
    BadName(String),
    /// No such key.
    #[error("{0}.info: key not found")]
    NotFound(String),
    /// A key with that name exists.
    #[error("cannot overwrite key: {0}")]
    Exists(String),
    /// The `file` keyring needs its passphrase first.
    #[error("the file keyring is locked: a passphrase is needed")]
    Locked,
    /// The passphrase does not open this keyring.
    #[error("incorrect passphrase")]
    WrongPassphrase,
    /// A new keyring's passphrase is too short.
    #[error("password must be at least {0} characters")]
    WeakPassphrase(usize),
    /// Key derivation or encryption failed.
    #[error("{0}")]
    Crypto(String),
    /// The keyring directory or a key file could not be read or written.
    #[error("{path}: {reason}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What happened.
        reason: String,
    },
}

type Result<T> = std::result::Result<T, KeyError>;

/// A derived key.
pub struct Key {
    /// The 32-byte secp256k1 secret.
    pub secret: [u8; 32],
    /// The 33-byte compressed public key.
    pub public: [u8; 33],
}

impl Key {
    /// The account address.
    pub fn address(&self) -> Address {
        secp256k1_address(&self.public)
    }
}

/// A fresh 24-word mnemonic from the operating system's randomness.
pub fn new_mnemonic() -> String {
    let mut entropy = [0u8; 32];
    rand_core::OsRng.fill_bytes(&mut entropy);
    Mnemonic::from_entropy(&entropy)
        .expect("32 bytes of entropy always make a 24-word mnemonic")
        .to_string()
}

/// The key of `mnemonic` (empty passphrase) at [`HD_PATH`].
pub fn derive(mnemonic: &str) -> Result<Key> {
    derive_at(mnemonic, 0, 0)
}

/// The SDK's path for `account` and address `index`, as gaiad's `keys add --account
/// --index` builds it: `m/44'/118'/{account}'/0/{index}`.
pub fn hd_path(account: u32, index: u32) -> String {
    format!("m/44'/118'/{account}'/0/{index}")
}

/// The key of `mnemonic` (empty passphrase) at [`hd_path`]`(account, index)`.
pub fn derive_at(mnemonic: &str, account: u32, index: u32) -> Result<Key> {
    let normalized = mnemonic.split_whitespace().collect::<Vec<_>>().join(" ");
    let m =
        Mnemonic::parse_normalized(&normalized).map_err(|e| KeyError::Mnemonic(e.to_string()))?;
    let seed = m.to_seed("");
    let path = hd_path(account, index)
        .parse()
        .map_err(|e: bip32::Error| KeyError::Derivation(e.to_string()))?;
    let xprv =
        XPrv::derive_from_path(seed, &path).map_err(|e| KeyError::Derivation(e.to_string()))?;
    let secret: [u8; 32] = xprv.private_key().to_bytes().into();
    let public: [u8; 33] = xprv
        .public_key()
        .public_key()
        .to_encoded_point(true)
        .as_bytes()
        .try_into()
        .map_err(|_| KeyError::Derivation("compressed key is not 33 bytes".into()))?;
    Ok(Key { secret, public })
}

/// A key as the keyring stores and lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyInfo {
    /// Its name.
    pub name: String,
    /// `local`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Bech32 address.
    pub address: String,
    /// The public key as gaiad prints it: `{"@type":"/cosmos.crypto.secp256k1.PubKey","key":"<base64>"}`.
    pub pubkey: String,
}

#[derive(Serialize, Deserialize)]
struct Stored {
    info: KeyInfo,
    /// Hex of the secret key (the `test` backend keeps it in the clear, as gaiad's does).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    secret_hex: Option<String>,
    /// The `file` backend's sealed secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sealed: Option<Sealed>,
}

/// Where keys are kept (`--keyring-backend`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// Unencrypted files.
    Test,
    /// Passphrase-encrypted files.
    File,
}

/// A keyring: one JSON file per key under `<home>/keyring-<backend>/`.
pub struct Keyring {
    dir: PathBuf,
    backend: Backend,
    /// The `file` backend's passphrase, once [`Keyring::unlock`]ed.
    passphrase: Option<String>,
}

/// The sealed secret of a `file` keyring entry.
#[derive(Serialize, Deserialize)]
struct Sealed {
    /// scrypt parameters: log2(N), r, p.
    log_n: u8,
    r: u32,
    p: u32,
    salt_hex: String,
    nonce_hex: String,
    /// ChaCha20-Poly1305 of the 32-byte secret, tag appended.
    ciphertext_hex: String,
}

/// `keyhash`: a scrypt hash of the passphrase, to refuse a wrong one up front.
#[derive(Serialize, Deserialize)]
struct KeyHash {
    log_n: u8,
    r: u32,
    p: u32,
    salt_hex: String,
    hash_hex: String,
}

/// scrypt's cost: N = 2^15 (32 MiB, about 0.1 s), what geth's light keystores use.
const SCRYPT_LOG_N: u8 = 15;
const SCRYPT_R: u32 = 8;
const SCRYPT_P: u32 = 1;
/// Shortest passphrase accepted (gaiad asks for at least 8 characters).
pub const MIN_PASSPHRASE_LEN: usize = 8;

fn scrypt32(passphrase: &str, salt: &[u8], log_n: u8, r: u32, p: u32) -> Result<[u8; 32]> {
    let params = scrypt::Params::new(log_n, r, p, 32)
        .map_err(|e| KeyError::Crypto(format!("scrypt parameters: {e}")))?;
    let mut out = [0u8; 32];
    scrypt::scrypt(passphrase.as_bytes(), salt, &params, &mut out)
        .map_err(|e| KeyError::Crypto(format!("scrypt: {e}")))?;
    Ok(out)
}

fn random<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    rand_core::OsRng.fill_bytes(&mut b);
    b
}

fn aad(info: &KeyInfo) -> Vec<u8> {
    format!("{}\n{}", info.name, info.address).into_bytes()
}

fn seal(passphrase: &str, info: &KeyInfo, secret: &[u8; 32]) -> Result<Sealed> {
    use chacha20poly1305::aead::{Aead, KeyInit, Payload};
    let salt: [u8; 16] = random();
    let nonce: [u8; 12] = random();
    let key = scrypt32(passphrase, &salt, SCRYPT_LOG_N, SCRYPT_R, SCRYPT_P)?;
    let cipher = chacha20poly1305::ChaCha20Poly1305::new(&key.into());
    let ciphertext = cipher
        .encrypt(
            &nonce.into(),
            Payload {
                msg: secret,
                aad: &aad(info),
            },
        )
        .map_err(|_| KeyError::Crypto("encryption failed".into()))?;
    Ok(Sealed {
        log_n: SCRYPT_LOG_N,
        r: SCRYPT_R,
        p: SCRYPT_P,
        salt_hex: hex::encode(salt),
        nonce_hex: hex::encode(nonce),
        ciphertext_hex: hex::encode(ciphertext),
    })
}

fn unseal(passphrase: &str, info: &KeyInfo, sealed: &Sealed) -> Result<[u8; 32]> {
    use chacha20poly1305::aead::{Aead, KeyInit, Payload};
    let corrupt = || KeyError::Crypto(format!("{}: corrupt sealed key", info.name));
    let salt = hex::decode(&sealed.salt_hex).map_err(|_| corrupt())?;
    let nonce: [u8; 12] = hex::decode(&sealed.nonce_hex)
        .ok()
        .and_then(|n| n.try_into().ok())
        .ok_or_else(corrupt)?;
    let ciphertext = hex::decode(&sealed.ciphertext_hex).map_err(|_| corrupt())?;
    let key = scrypt32(passphrase, &salt, sealed.log_n, sealed.r, sealed.p)?;
    let cipher = chacha20poly1305::ChaCha20Poly1305::new(&key.into());
    let plain = cipher
        .decrypt(
            &nonce.into(),
            Payload {
                msg: &ciphertext,
                aad: &aad(info),
            },
        )
        .map_err(|_| KeyError::WrongPassphrase)?;
    plain.try_into().map_err(|_| corrupt())
}

/// Write a keyring file readable by its owner only (on Unix), as gaiad's keyring files are.
fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path).map_err(|e| io_err(path, e))?;
    f.write_all(bytes).map_err(|e| io_err(path, e))?;
    f.sync_all().map_err(|e| io_err(path, e))
}

fn io_err(path: &Path, e: impl std::fmt::Display) -> KeyError {
    KeyError::Io {
        path: path.into(),
        reason: e.to_string(),
    }
}

impl Keyring {
    /// The keyring of `backend` under `home`.
    pub fn new(home: &Path, backend: Backend) -> Keyring {
        let dir = match backend {
            Backend::Test => home.join("keyring-test"),
            Backend::File => home.join("keyring-file"),
        };
        Keyring {
            dir,
            backend,
            passphrase: None,
        }
    }

    /// Which backend.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Whether adding or signing needs a passphrase ([`Keyring::unlock`]).
    pub fn needs_passphrase(&self) -> bool {
        self.backend == Backend::File && self.passphrase.is_none()
    }

    /// Whether the `file` keyring has no passphrase yet (the first one given sets it, so
    /// callers ask for it twice).
    pub fn is_new(&self) -> bool {
        !self.dir.join("keyhash").exists()
    }

    /// Give the `file` keyring its passphrase: checked against `keyhash`, or, for a new
    /// keyring, recorded there.
    pub fn unlock(&mut self, passphrase: &str) -> Result<()> {
        let path = self.dir.join("keyhash");
        match std::fs::read(&path) {
            Ok(bytes) => {
                let kh: KeyHash = serde_json::from_slice(&bytes).map_err(|e| io_err(&path, e))?;
                let salt = hex::decode(&kh.salt_hex).map_err(|e| io_err(&path, e))?;
                let got = scrypt32(passphrase, &salt, kh.log_n, kh.r, kh.p)?;
                if hex::encode(got) != kh.hash_hex {
                    return Err(KeyError::WrongPassphrase);
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if passphrase.chars().count() < MIN_PASSPHRASE_LEN {
                    return Err(KeyError::WeakPassphrase(MIN_PASSPHRASE_LEN));
                }
                let salt: [u8; 16] = random();
                let hash = scrypt32(passphrase, &salt, SCRYPT_LOG_N, SCRYPT_R, SCRYPT_P)?;
                let kh = KeyHash {
                    log_n: SCRYPT_LOG_N,
                    r: SCRYPT_R,
                    p: SCRYPT_P,
                    salt_hex: hex::encode(salt),
                    hash_hex: hex::encode(hash),
                };
                std::fs::create_dir_all(&self.dir).map_err(|e| io_err(&self.dir, e))?;
                let json = serde_json::to_vec_pretty(&kh).map_err(|e| io_err(&path, e))?;
                write_private(&path, &json)?;
            }
            Err(e) => return Err(io_err(&path, e)),
        }
        self.passphrase = Some(passphrase.to_string());
        Ok(())
    }

    fn require_passphrase(&self) -> Result<&str> {
        self.passphrase.as_deref().ok_or(KeyError::Locked)
    }

    fn path(&self, name: &str) -> Result<PathBuf> {
        let ok = !name.is_empty()
            && name.len() <= 64
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
            && !name.starts_with('.');
        if !ok {
            return Err(KeyError::BadName(name.into()));
        }
        Ok(self.dir.join(format!("{name}.json")))
    }

    /// Store `key` as `name` (refusing to overwrite). The `file` backend must be unlocked.
    pub fn add(&self, name: &str, key: &Key) -> Result<KeyInfo> {
        use base64::Engine;
        let path = self.path(name)?;
        if path.exists() {
            return Err(KeyError::Exists(name.into()));
        }
        std::fs::create_dir_all(&self.dir).map_err(|e| io_err(&self.dir, e))?;
        let info = KeyInfo {
            name: name.into(),
            kind: "local".into(),
            address: key.address().to_string(),
            pubkey: format!(
                "{{\"@type\":\"/cosmos.crypto.secp256k1.PubKey\",\"key\":\"{}\"}}",
                base64::engine::general_purpose::STANDARD.encode(key.public)
            ),
        };
        let stored = match self.backend {
            Backend::Test => Stored {
                info: info.clone(),
                secret_hex: Some(hex::encode(key.secret)),
                sealed: None,
            },
            Backend::File => Stored {
                sealed: Some(seal(self.require_passphrase()?, &info, &key.secret)?),
                info: info.clone(),
                secret_hex: None,
            },
        };
        let json = serde_json::to_vec_pretty(&stored).map_err(|e| io_err(&path, e))?;
        write_private(&path, &json)?;
        Ok(info)
    }

    fn read(&self, name: &str) -> Result<Stored> {
        let path = self.path(name)?;
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(KeyError::NotFound(name.into()))
            }
            Err(e) => return Err(io_err(&path, e)),
        };
        serde_json::from_slice(&bytes).map_err(|e| io_err(&path, e))
    }

    /// The key `name`.
    pub fn show(&self, name: &str) -> Result<KeyInfo> {
        Ok(self.read(name)?.info)
    }

    /// The secret key of `name` (for signing). The `file` backend must be unlocked.
    pub fn secret(&self, name: &str) -> Result<[u8; 32]> {
        let s = self.read(name)?;
        let path = self.path(name)?;
        match (&s.secret_hex, &s.sealed) {
            (Some(h), None) if self.backend == Backend::Test => hex::decode(h)
                .ok()
                .and_then(|b| b.try_into().ok())
                .ok_or_else(|| io_err(&path, "corrupt secret key")),
            (None, Some(sealed)) if self.backend == Backend::File => {
                unseal(self.require_passphrase()?, &s.info, sealed)
            }
            _ => Err(io_err(&path, "not a key of this keyring backend")),
        }
    }

    /// Every key, by name.
    pub fn list(&self) -> Result<Vec<KeyInfo>> {
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io_err(&self.dir, e)),
        };
        let mut out = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| io_err(&self.dir, e))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if let Some(stem) = name.strip_suffix(".json") {
                out.push(self.show(stem)?);
            }
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// Rename `old` to `new`, refusing to overwrite. The `file` backend must be unlocked: a
    /// sealed secret is bound to its key's name, so it is sealed again under the new one.
    pub fn rename(&self, old: &str, new: &str) -> Result<KeyInfo> {
        let new_path = self.path(new)?;
        if new_path.exists() {
            return Err(KeyError::Exists(new.into()));
        }
        let secret = self.secret(old)?;
        let mut stored = self.read(old)?;
        stored.info.name = new.into();
        if self.backend == Backend::File {
            stored.sealed = Some(seal(self.require_passphrase()?, &stored.info, &secret)?);
        }
        let json = serde_json::to_vec_pretty(&stored).map_err(|e| io_err(&new_path, e))?;
        // Written before the old one goes: a crash between leaves the key under both names.
        write_private(&new_path, &json)?;
        self.delete(old)?;
        Ok(stored.info)
    }

    /// Remove `name`.
    pub fn delete(&self, name: &str) -> Result<()> {
        let path = self.path(name)?;
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                Err(KeyError::NotFound(name.into()))
            }
            Err(e) => Err(io_err(&path, e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// cosmjs's faucet mnemonic (shared/vectors/cosmos-sign-direct.md): the key and address
    /// cosmjs and the Cosmos SDK derive.
    #[test]
    fn mnemonics_give_the_sdk_addresses() {
        let k = derive("economy stock theory fatal elder harbor betray wasp final emotion task crumble siren bottom lizard educate guess current outdoor pair theory focus wife stone")
            .expect("valid mnemonic");
        assert_eq!(
            hex::encode(k.public),
            "034f04181eeba35391b858633a765c4a0c189697b40d216354d50890d350c70290"
        );
        assert_eq!(
            k.address().to_string(),
            "cosmos1pkptre7fdkl6gfrzlesjjvhxhlc3r4gmmk8rs6"
        );
        assert_eq!(
            hex::encode(k.secret),
            "e16ee698b4a4ee03566d7dd9bb6f0e8a2dda802527ba56205f5767c0049fa0b9"
        );
        let k = derive(
            "special sign fit simple patrol salute grocery chicken wheat radar tonight ceiling",
        )
        .expect("valid");
        assert_eq!(
            k.address().to_string(),
            "cosmos1jhg0e7s6gn44tfc5k37kr04sznyhedtc9rzys5"
        );
        assert!(
            derive(
                "special sign fit simple patrol salute grocery chicken wheat radar tonight tonight"
            )
            .is_err(),
            "checksum"
        );
        assert!(derive("not a mnemonic").is_err());
    }

    #[test]
    fn fresh_mnemonics_have_24_words_and_derive() {
        let m = new_mnemonic();
        assert_eq!(m.split(' ').count(), 24);
        derive(&m).expect("derives");
    }
}

#[cfg(test)]
mod file_backend_tests {
    use super::*;

    const MNEMONIC: &str =
        "special sign fit simple patrol salute grocery chicken wheat radar tonight ceiling";

    #[test]
    fn sealed_keys_open_only_with_the_passphrase() {
        let dir = tempfile::tempdir().expect("tmp");
        let key = derive(MNEMONIC).expect("key");
        let mut ring = Keyring::new(dir.path(), Backend::File);
        assert!(ring.is_new());
        assert!(matches!(ring.add("k", &key), Err(KeyError::Locked)));
        assert!(matches!(
            ring.unlock("short"),
            Err(KeyError::WeakPassphrase(8))
        ));
        ring.unlock("correct horse")
            .expect("a new keyring takes its passphrase");
        let info = ring.add("k", &key).expect("add");
        assert_eq!(
            info.address,
            "cosmos1jhg0e7s6gn44tfc5k37kr04sznyhedtc9rzys5"
        );
        let file = std::fs::read_to_string(dir.path().join("keyring-file/k.json")).expect("file");
        assert!(
            !file.contains(&hex::encode(key.secret)),
            "the secret is not on disk in the clear"
        );
        assert_eq!(ring.secret("k").expect("unsealed"), key.secret);

        // A later process: public data without a passphrase, the secret only with the right one.
        let mut again = Keyring::new(dir.path(), Backend::File);
        assert!(!again.is_new());
        assert_eq!(again.show("k").expect("show").address, info.address);
        assert!(matches!(again.secret("k"), Err(KeyError::Locked)));
        assert!(matches!(
            again.unlock("wrong horse"),
            Err(KeyError::WrongPassphrase)
        ));
        again.unlock("correct horse").expect("unlock");
        assert_eq!(again.secret("k").expect("secret"), key.secret);

        // Tampering: a changed ciphertext, or the sealed secret moved under another name.
        let mut stored: serde_json::Value = serde_json::from_str(&file).expect("json");
        let ct = stored["sealed"]["ciphertext_hex"]
            .as_str()
            .expect("ct")
            .to_string();
        let flipped = format!("{}{}", if &ct[..1] == "0" { "1" } else { "0" }, &ct[1..]);
        stored["sealed"]["ciphertext_hex"] = flipped.into();
        std::fs::write(dir.path().join("keyring-file/k.json"), stored.to_string()).expect("w");
        assert!(matches!(again.secret("k"), Err(KeyError::WrongPassphrase)));
        let mut moved: serde_json::Value = serde_json::from_str(&file).expect("json");
        moved["info"]["name"] = "other".into();
        std::fs::write(
            dir.path().join("keyring-file/other.json"),
            moved.to_string(),
        )
        .expect("w");
        assert!(
            again.secret("other").is_err(),
            "name and address are bound to the seal"
        );

        // The test backend cannot read the file backend's keys, nor the other way round.
        let test = Keyring::new(dir.path(), Backend::Test);
        assert!(matches!(test.show("k"), Err(KeyError::NotFound(_))));
    }
}
