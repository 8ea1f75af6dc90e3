//! The file-backed private validator, in CometBFT's file shapes:
//!
//! `config/priv_validator_key.json`:
//! `{"address": HEX, "pub_key": {"type": "tendermint/PubKeyEd25519", "value": B64},
//!   "priv_key": {"type": "tendermint/PrivKeyEd25519", "value": B64(seed ‖ pubkey)}}`
//!
//! `data/priv_validator_state.json`:
//! `{"height": "36", "round": 0, "step": 3, "signature": B64, "signbytes": HEX}` with step 1
//! propose, 2 prevote, 3 precommit.
//!
//! The rule that keeps an honest validator from double-signing across crashes: before a
//! signature is returned, the height/round/step, the sign bytes and the signature are written
//! to the state file (temp file, fsync, rename, fsync of the directory). A request for an
//! earlier height/round/step is refused. A request for the same one gets the stored signature
//! back if the sign bytes are the same, or differ only in the timestamp (then the stored
//! timestamp is used — a restarted node re-creates the vote with a new clock reading);
//! anything else is refused as conflicting.

use crate::storage::{OsStorage, SharedStorage, Storage};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use keystone_consensus_types::{
    Address, PrivateKey, Proposal, PublicKey, Signature, Time, Vote, VoteType,
};
use keystone_proto::types as pb;
use prost::Message;
use serde::{Deserialize, Serialize};
use std::fs;
use std::path::{Path, PathBuf};

/// What the signer refused, or failed at.
#[derive(Debug, thiserror::Error)]
pub enum PrivValError {
    /// A height, round or step below the last signed one.
    #[error("{what} regression: asked for {got}, last signed {last}")]
    Regression {
        /// "height", "round" or "step".
        what: &'static str,
        /// The requested value.
        got: i64,
        /// The last signed value.
        last: i64,
    },
    /// Same height/round/step, different content: signing would be equivocation.
    #[error("conflicting data at height {height} round {round} step {step}: refusing to sign")]
    Conflict {
        /// Height.
        height: u64,
        /// Round.
        round: u32,
        /// Step (1 propose, 2 prevote, 3 precommit).
        step: u8,
    },
    /// The key or state file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// The key or state file is malformed.
    #[error("{path}: {reason}")]
    Malformed {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
}

type Result<T> = std::result::Result<T, PrivValError>;

/// The consensus step a signature is for, numbered as CometBFT numbers it.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub enum Step {
    /// A proposal (1).
    Propose = 1,
    /// A prevote (2).
    Prevote = 2,
    /// A precommit (3).
    Precommit = 3,
}

impl From<VoteType> for Step {
    fn from(t: VoteType) -> Self {
        match t {
            VoteType::Prevote => Step::Prevote,
            VoteType::Precommit => Step::Precommit,
        }
    }
}

#[derive(Serialize, Deserialize)]
pub(crate) struct KeyJson {
    #[serde(rename = "type")]
    kind: String,
    value: String,
}

impl KeyJson {
    /// A `tendermint/PrivKeyEd25519` value: base64 of seed ‖ public key, the halves agreeing.
    pub(crate) fn decode_private(&self) -> std::result::Result<PrivateKey, String> {
        if self.kind != "tendermint/PrivKeyEd25519" {
            return Err(format!("unsupported key type {}", self.kind));
        }
        let bytes = B64
            .decode(&self.value)
            .map_err(|e| format!("priv_key: {e}"))?;
        if bytes.len() != 64 {
            return Err(format!("priv_key must be 64 bytes, got {}", bytes.len()));
        }
        let mut seed = [0u8; 32];
        seed.copy_from_slice(&bytes[..32]);
        let key = PrivateKey::from_seed(seed);
        if bytes[32..] != key.public_key().0 {
            return Err("priv_key's public half does not match its seed".into());
        }
        Ok(key)
    }

    /// `key` as a `tendermint/PrivKeyEd25519` value.
    pub(crate) fn encode_private(key: &PrivateKey) -> KeyJson {
        let mut bytes = key.seed().to_vec();
        bytes.extend_from_slice(&key.public_key().0);
        KeyJson {
            kind: "tendermint/PrivKeyEd25519".into(),
            value: B64.encode(bytes),
        }
    }
}

#[derive(Serialize, Deserialize)]
struct KeyFile {
    address: String,
    pub_key: KeyJson,
    priv_key: KeyJson,
}

/// The last signed height/round/step (`priv_validator_state.json`).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct LastSignState {
    /// Height, as a decimal string in JSON.
    #[serde(with = "height_string")]
    pub height: u64,
    /// Round.
    pub round: u32,
    /// Step: 0 before anything was signed, then 1, 2, 3.
    pub step: u8,
    /// The last signature, base64.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
    /// The last sign bytes, hex.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signbytes: Option<String>,
}

mod height_string {
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(h: &u64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&h.to_string())
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Write `key` as a CometBFT `priv_validator_key.json`.
pub fn write_key_file(path: &Path, key: &PrivateKey) -> Result<()> {
    write_atomic(path, &key_file_bytes(path, key)?)
}

/// `key` as the content of a CometBFT `priv_validator_key.json` at `path`.
pub fn key_file_bytes(path: &Path, key: &PrivateKey) -> Result<Vec<u8>> {
    let pk = key.public_key();
    let file = KeyFile {
        address: pk.address().to_string(),
        pub_key: KeyJson {
            kind: "tendermint/PubKeyEd25519".into(),
            value: B64.encode(pk.0),
        },
        priv_key: KeyJson::encode_private(key),
    };
    serde_json::to_vec_pretty(&file).map_err(|e| PrivValError::Malformed {
        path: path.into(),
        reason: e.to_string(),
    })
}

/// Read a CometBFT `priv_validator_key.json`, checking that its three fields agree.
pub fn read_key_file(path: &Path) -> Result<PrivateKey> {
    let text = fs::read(path).map_err(|source| PrivValError::Io {
        path: path.into(),
        source,
    })?;
    parse_key_file(path, &text)
}

/// The key in `text`, the content of the key file at `path`.
fn parse_key_file(path: &Path, text: &[u8]) -> Result<PrivateKey> {
    let bad = |reason: String| PrivValError::Malformed {
        path: path.into(),
        reason,
    };
    let file: KeyFile = serde_json::from_slice(text).map_err(|e| bad(e.to_string()))?;
    let key = file.priv_key.decode_private().map_err(bad)?;
    let pk = key.public_key();
    let declared = B64
        .decode(&file.pub_key.value)
        .map_err(|e| bad(format!("pub_key: {e}")))?;
    if declared != pk.0 {
        return Err(bad("pub_key does not match priv_key".into()));
    }
    if !file.address.eq_ignore_ascii_case(&pk.address().to_string()) {
        return Err(bad("address does not match pub_key".into()));
    }
    Ok(key)
}

/// Write `bytes` to `path` so that a crash leaves either the old or the new file whole,
/// readable by its owner alone (mode 0600, as CometBFT writes its keys and sign state).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    OsStorage::default()
        .replace(path, bytes, true)
        .map_err(|source| PrivValError::Io {
            path: path.into(),
            source,
        })
}

/// The signer: a key and the last-sign state on disk.
pub struct FilePrivVal {
    key: PrivateKey,
    state_path: PathBuf,
    state: LastSignState,
    storage: SharedStorage,
}

impl FilePrivVal {
    /// Load the key, and the state file if it exists (else start from height 0), from the
    /// real file system.
    pub fn load(key_path: &Path, state_path: &Path) -> Result<FilePrivVal> {
        FilePrivVal::load_on(OsStorage::shared(), key_path, state_path)
    }

    /// Load the key and the state file from `storage`, where the state is kept from now on.
    pub fn load_on(
        storage: SharedStorage,
        key_path: &Path,
        state_path: &Path,
    ) -> Result<FilePrivVal> {
        let read = |path: &Path| {
            storage.read(path).map_err(|source| PrivValError::Io {
                path: path.into(),
                source,
            })
        };
        let key_bytes = read(key_path)?.ok_or_else(|| PrivValError::Io {
            path: key_path.into(),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such file"),
        })?;
        let key = parse_key_file(key_path, &key_bytes)?;
        let state = match read(state_path)? {
            Some(text) => serde_json::from_slice(&text).map_err(|e| PrivValError::Malformed {
                path: state_path.into(),
                reason: e.to_string(),
            })?,
            None => LastSignState::default(),
        };
        Ok(FilePrivVal {
            key,
            state_path: state_path.into(),
            state,
            storage,
        })
    }

    /// The validator's public key.
    pub fn public_key(&self) -> PublicKey {
        self.key.public_key()
    }

    /// The validator's address.
    pub fn address(&self) -> Address {
        self.key.public_key().address()
    }

    /// The last signed state.
    pub fn last_sign_state(&self) -> &LastSignState {
        &self.state
    }

    /// Is (h, r, s) the last signed one (`true`), later (`false`), or a regression (error)?
    fn check_hrs(&self, height: u64, round: u32, step: Step) -> Result<bool> {
        let s = &self.state;
        let step = step as u8;
        if s.height > height {
            return Err(PrivValError::Regression {
                what: "height",
                got: height as i64,
                last: s.height as i64,
            });
        }
        if s.height == height {
            if s.round > round {
                return Err(PrivValError::Regression {
                    what: "round",
                    got: round as i64,
                    last: s.round as i64,
                });
            }
            if s.round == round {
                if s.step > step {
                    return Err(PrivValError::Regression {
                        what: "step",
                        got: step as i64,
                        last: s.step as i64,
                    });
                }
                if s.step == step {
                    return Ok(true);
                }
            }
        }
        Ok(false)
    }

    fn stored(&self) -> Option<(Vec<u8>, Signature)> {
        let sb = hex::decode(self.state.signbytes.as_ref()?).ok()?;
        let sig = B64.decode(self.state.signature.as_ref()?).ok()?;
        Some((sb, Signature::from_slice(&sig).ok()?))
    }

    fn sign_new(
        &mut self,
        height: u64,
        round: u32,
        step: Step,
        sign_bytes: Vec<u8>,
    ) -> Result<Signature> {
        let sig = self.key.sign(&sign_bytes);
        let next = LastSignState {
            height,
            round,
            step: step as u8,
            signature: Some(B64.encode(sig.0)),
            signbytes: Some(hex::encode_upper(&sign_bytes)),
        };
        let json = serde_json::to_vec_pretty(&next).map_err(|e| PrivValError::Malformed {
            path: self.state_path.clone(),
            reason: e.to_string(),
        })?;
        // On disk before the signature leaves this function.
        self.storage
            .replace(&self.state_path, &json, true)
            .map_err(|source| PrivValError::Io {
                path: self.state_path.clone(),
                source,
            })?;
        crate::failpoint::hit("privval-state");
        self.state = next;
        Ok(sig)
    }

    /// Sign `sign_bytes` for (height, round, step) — or, if that is the last signed step,
    /// hand back the stored signature when the bytes are the same or differ only in the
    /// timestamp (then with the stored timestamp). `stored_time` reads the timestamp from
    /// stored sign bytes; `restamped` rebuilds the message's sign bytes with another one.
    fn sign_checked(
        &mut self,
        height: u64,
        round: u32,
        step: Step,
        sign_bytes: Vec<u8>,
        stored_time: impl Fn(&[u8]) -> Option<Time>,
        restamped: impl Fn(Time) -> Vec<u8>,
    ) -> Result<(Signature, Option<Time>)> {
        if !self.check_hrs(height, round, step)? {
            return Ok((self.sign_new(height, round, step, sign_bytes)?, None));
        }
        let conflict = || PrivValError::Conflict {
            height,
            round,
            step: step as u8,
        };
        let (last, sig) = self.stored().ok_or_else(conflict)?;
        if last == sign_bytes {
            return Ok((sig, None));
        }
        match stored_time(&last) {
            Some(ts) if restamped(ts) == last => Ok((sig, Some(ts))),
            _ => Err(conflict()),
        }
    }

    /// Sign `vote` in place (it may also take the stored timestamp, see the module doc).
    pub fn sign_vote(&mut self, chain_id: &str, vote: &mut Vote) -> Result<()> {
        let template = vote.clone();
        let (sig, ts) = self.sign_checked(
            vote.height,
            vote.round,
            Step::from(vote.vote_type),
            vote.sign_bytes(chain_id),
            |b| stored_timestamp::<pb::CanonicalVote>(b, |c| c.timestamp),
            |t| {
                Vote {
                    timestamp: t,
                    ..template.clone()
                }
                .sign_bytes(chain_id)
            },
        )?;
        if let Some(t) = ts {
            vote.timestamp = t;
        }
        vote.signature = Some(sig);
        Ok(())
    }

    /// Sign `proposal` in place, with the same rules as votes.
    pub fn sign_proposal(&mut self, chain_id: &str, proposal: &mut Proposal) -> Result<()> {
        let template = proposal.clone();
        let (sig, ts) = self.sign_checked(
            proposal.height,
            proposal.round,
            Step::Propose,
            proposal.sign_bytes(chain_id),
            |b| stored_timestamp::<pb::CanonicalProposal>(b, |c| c.timestamp),
            |t| {
                Proposal {
                    timestamp: t,
                    ..template.clone()
                }
                .sign_bytes(chain_id)
            },
        )?;
        if let Some(t) = ts {
            proposal.timestamp = t;
        }
        proposal.signature = Some(sig);
        Ok(())
    }
}

/// The timestamp inside stored length-delimited canonical sign bytes.
fn stored_timestamp<M: Message + Default>(
    sign_bytes: &[u8],
    ts: impl Fn(&M) -> Option<keystone_proto::Timestamp>,
) -> Option<Time> {
    let m = M::decode_length_delimited(sign_bytes).ok()?;
    Time::from_proto(&ts(&m)?).ok()
}
