//! Keys: mnemonic → seed → `m/44'/118'/0'/0/0` → secp256k1 key → `cosmos1…` address, and the
//! `test` keyring (one JSON file per key, unencrypted — for localnets and tests only, as in
//! gaiad).

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
    let normalized = mnemonic.split_whitespace().collect::<Vec<_>>().join(" ");
    let m =
        Mnemonic::parse_normalized(&normalized).map_err(|e| KeyError::Mnemonic(e.to_string()))?;
    let seed = m.to_seed("");
    let path = HD_PATH
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
    secret_hex: String,
}

/// The `test` keyring: `<home>/keyring-test/<name>.json`.
pub struct TestKeyring {
    dir: PathBuf,
}

fn io_err(path: &Path, e: impl std::fmt::Display) -> KeyError {
    KeyError::Io {
        path: path.into(),
        reason: e.to_string(),
    }
}

impl TestKeyring {
    /// The keyring under `home`.
    pub fn new(home: &Path) -> TestKeyring {
        TestKeyring {
            dir: home.join("keyring-test"),
        }
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

    /// Store `key` as `name` (refusing to overwrite).
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
        let stored = Stored {
            info: info.clone(),
            secret_hex: hex::encode(key.secret),
        };
        let json = serde_json::to_vec_pretty(&stored).map_err(|e| io_err(&path, e))?;
        std::fs::write(&path, json).map_err(|e| io_err(&path, e))?;
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

    /// The secret key of `name` (for signing).
    pub fn secret(&self, name: &str) -> Result<[u8; 32]> {
        let s = self.read(name)?;
        let path = self.path(name)?;
        hex::decode(&s.secret_hex)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| io_err(&path, "corrupt secret key"))
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
