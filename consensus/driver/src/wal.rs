//! The consensus write-ahead log.
//!
//! Every input the core takes is appended before the core acts on it; the driver asks for an
//! fsync before the node signs a vote or proposal of its own, so every input that led to it is
//! on disk and a replay after a crash reaches the same request again (the signer then gives
//! back the signature it holds rather than sign anything else). Nothing else is synced on its
//! own — peers' messages, the node's own signed messages, the end-of-height marker: each
//! reaches the disk with the next sync, and one a crash loses is sent again by the peers or
//! asked of the signer again. CometBFT likewise syncs only its own messages. When a height is
//! done, [`Wal::end_height`] writes an end-of-height marker; replay starts after the last
//! marker (and skips the inputs of heights the block store holds). The inputs of the height
//! that marker ended are kept aside: after `rollback --hard` took that height's block out of
//! the block store, they decide it again. Once the file passes
//! [`ROTATE_BYTES`] the marker starts it afresh — not at every height, because starting afresh
//! costs two fsyncs (the new file and its directory).
//!
//! Record format: `crc32(payload) u32 BE ‖ len u32 BE ‖ payload`, payload = `height u64 BE ‖
//! tag u8 ‖ body`, with votes, proposals and block ids as their CometBFT protobuf. On open,
//! records are read until the first torn or corrupt one; the file is truncated there (a crash
//! mid-write leaves such a tail) and the node starts from what was whole.

use crate::storage::{OsStorage, SharedStorage};
use keystone_consensus_core::{Input, Timeout, TimeoutKind};
use keystone_consensus_types::{BlockId, Height, Proposal, Vote};
use keystone_proto::types as pb;
use prost::Message;
use std::path::{Path, PathBuf};

/// Largest record accepted (CometBFT's WAL bound is 1 MB as well).
pub const MAX_RECORD_BYTES: u32 = 1 << 20;

/// Past this size the next end-of-height marker starts the file afresh.
pub const ROTATE_BYTES: u64 = 4 << 20;

/// What the WAL failed at.
#[derive(Debug, thiserror::Error)]
pub enum WalError {
    /// Reading or writing the file failed.
    #[error("{path}: {source}")]
    Io {
        /// The WAL file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// A record is larger than [`MAX_RECORD_BYTES`].
    #[error("WAL record of {0} bytes exceeds the limit")]
    TooLarge(usize),
}

type Result<T> = std::result::Result<T, WalError>;

/// One logged event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Entry {
    /// An input to the core at `height`.
    Input(Height, Input),
    /// Height `h` is finished: its block is stored.
    EndHeight(Height),
}

const TAG_END: u8 = 0;
const TAG_START: u8 = 1;
const TAG_VALUE: u8 = 2;
const TAG_PROPOSAL: u8 = 3;
const TAG_VOTE: u8 = 4;
const TAG_TIMEOUT: u8 = 5;

fn encode(e: &Entry) -> Vec<u8> {
    let mut out = Vec::new();
    match e {
        Entry::EndHeight(h) => {
            out.extend(h.to_be_bytes());
            out.push(TAG_END);
        }
        Entry::Input(h, input) => {
            out.extend(h.to_be_bytes());
            match input {
                Input::Start => out.push(TAG_START),
                Input::ValueReady { round, value } => {
                    out.push(TAG_VALUE);
                    out.extend(round.to_be_bytes());
                    out.extend(value.to_proto().encode_to_vec());
                }
                Input::Proposal { proposal, valid } => {
                    out.push(TAG_PROPOSAL);
                    out.push(u8::from(*valid));
                    out.extend(proposal.to_proto().encode_to_vec());
                }
                Input::Vote(v) => {
                    out.push(TAG_VOTE);
                    out.extend(v.to_proto().encode_to_vec());
                }
                Input::Timeout(t) => {
                    out.push(TAG_TIMEOUT);
                    out.push(match t.kind {
                        TimeoutKind::Propose => 0,
                        TimeoutKind::Prevote => 1,
                        TimeoutKind::Precommit => 2,
                    });
                    out.extend(t.round.to_be_bytes());
                }
            }
        }
    }
    out
}

fn decode(p: &[u8]) -> Option<Entry> {
    let (h, rest) = p.split_at_checked(8)?;
    let height = u64::from_be_bytes(h.try_into().ok()?);
    let (&tag, body) = rest.split_first()?;
    let round =
        |b: &[u8]| -> Option<u32> { Some(u32::from_be_bytes(b.get(..4)?.try_into().ok()?)) };
    let input = match tag {
        TAG_END if body.is_empty() => return Some(Entry::EndHeight(height)),
        TAG_START if body.is_empty() => Input::Start,
        TAG_VALUE => Input::ValueReady {
            round: round(body)?,
            value: BlockId::from_proto(&pb::BlockId::decode(body.get(4..)?).ok()?).ok()?,
        },
        TAG_PROPOSAL => {
            let (&valid, proto) = body.split_first()?;
            Input::Proposal {
                proposal: Proposal::from_proto(&pb::Proposal::decode(proto).ok()?).ok()?,
                valid: valid == 1,
            }
        }
        TAG_VOTE => Input::Vote(Vote::from_proto(&pb::Vote::decode(body).ok()?).ok()?),
        TAG_TIMEOUT => {
            let (&kind, r) = body.split_first()?;
            let kind = match kind {
                0 => TimeoutKind::Propose,
                1 => TimeoutKind::Prevote,
                2 => TimeoutKind::Precommit,
                _ => return None,
            };
            if r.len() != 4 {
                return None;
            }
            Input::Timeout(Timeout {
                kind,
                round: round(r)?,
            })
        }
        _ => return None,
    };
    Some(Entry::Input(height, input))
}

/// What opening the WAL found.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Recovery {
    /// The last finished height, if a marker was found.
    pub last_end_height: Option<Height>,
    /// The inputs logged after that marker, in order: replay them into the core.
    pub inputs: Vec<(Height, Input)>,
    /// The inputs of the height that marker ended, in order: the height is stored, unless a
    /// `rollback --hard` removed its block, and then they are replayed to decide it again.
    pub ended: Vec<(Height, Input)>,
    /// Bytes cut from a torn or corrupt tail.
    pub truncated_bytes: u64,
}

/// An open write-ahead log.
pub struct Wal {
    path: PathBuf,
    storage: SharedStorage,
    /// Bytes in the file.
    len: u64,
    /// Whether something was appended since the last fsync.
    dirty: bool,
}

impl Wal {
    /// Open (or create) the WAL at `path` on the real file system.
    pub fn open(path: &Path) -> Result<(Wal, Recovery)> {
        Wal::open_on(OsStorage::shared(), path)
    }

    /// Open (or create) the WAL at `path` on `storage`, read what it holds and cut a bad
    /// tail.
    pub fn open_on(storage: SharedStorage, path: &Path) -> Result<(Wal, Recovery)> {
        let io = |source| WalError::Io {
            path: path.into(),
            source,
        };
        let bytes = storage.read(path).map_err(io)?.unwrap_or_default();
        let mut recovery = Recovery::default();
        let mut good = 0usize;
        while let Some(header) = bytes.get(good..good + 8) {
            let crc = u32::from_be_bytes([header[0], header[1], header[2], header[3]]);
            let len = u32::from_be_bytes([header[4], header[5], header[6], header[7]]);
            if len > MAX_RECORD_BYTES {
                break;
            }
            let Some(payload) = bytes.get(good + 8..good + 8 + len as usize) else {
                break;
            };
            if crc32fast::hash(payload) != crc {
                break;
            }
            let Some(entry) = decode(payload) else {
                break;
            };
            match entry {
                Entry::EndHeight(h) => {
                    recovery.last_end_height = Some(h);
                    recovery.ended = std::mem::take(&mut recovery.inputs)
                        .into_iter()
                        .filter(|(ih, _)| *ih == h)
                        .collect();
                }
                Entry::Input(h, i) => recovery.inputs.push((h, i)),
            }
            good += 8 + len as usize;
        }
        if good < bytes.len() {
            recovery.truncated_bytes = (bytes.len() - good) as u64;
            tracing::warn!(
                path = %path.display(),
                kept = good,
                cut = recovery.truncated_bytes,
                "WAL has a torn or corrupt tail; truncating it"
            );
            storage.truncate(path, good as u64).map_err(io)?;
        }
        Ok((
            Wal {
                path: path.into(),
                storage,
                len: good as u64,
                // What was read may still be only in the OS's cache: the first sync covers it.
                dirty: true,
            },
            recovery,
        ))
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The storage it writes to.
    pub fn storage(&self) -> &SharedStorage {
        &self.storage
    }

    fn io(&self, source: std::io::Error) -> WalError {
        WalError::Io {
            path: self.path.clone(),
            source,
        }
    }

    fn record(entry: &Entry) -> Result<Vec<u8>> {
        let payload = encode(entry);
        if payload.len() > MAX_RECORD_BYTES as usize {
            return Err(WalError::TooLarge(payload.len()));
        }
        let mut rec = Vec::with_capacity(payload.len() + 8);
        rec.extend(crc32fast::hash(&payload).to_be_bytes());
        rec.extend((payload.len() as u32).to_be_bytes());
        rec.extend(payload);
        Ok(rec)
    }

    /// Append `input` for `height`; with `sync`, it is on disk when this returns (required
    /// before the node sends a vote or proposal of its own).
    pub fn append(&mut self, height: Height, input: &Input, sync: bool) -> Result<()> {
        let rec = Self::record(&Entry::Input(height, input.clone()))?;
        self.storage
            .append(&self.path, &rec)
            .map_err(|e| self.io(e))?;
        self.len += rec.len() as u64;
        self.dirty = true;
        if sync {
            self.sync()?;
        }
        Ok(())
    }

    /// Force what was appended to disk (nothing to do if that is already done).
    pub fn sync(&mut self) -> Result<()> {
        if !self.dirty {
            return Ok(());
        }
        self.storage.sync(&self.path).map_err(|e| self.io(e))?;
        self.dirty = false;
        Ok(())
    }

    /// Mark `height` finished (its block is stored); past [`ROTATE_BYTES`], start the log
    /// afresh from the marker. Crash-safe: the file always holds the marker, either at the end
    /// of the old log or alone in the new one. The marker needs no fsync of its own: the block
    /// store already says the height is done (replay skips the inputs of a stored height), and
    /// the node's first vote of the next height syncs it.
    pub fn end_height(&mut self, height: Height) -> Result<()> {
        let rec = Self::record(&Entry::EndHeight(height))?;
        self.storage
            .append(&self.path, &rec)
            .map_err(|e| self.io(e))?;
        self.len += rec.len() as u64;
        self.dirty = true;
        if self.len > ROTATE_BYTES {
            // The new file holds the marker alone, and `replace` makes it durable.
            self.storage
                .replace(&self.path, &rec, false)
                .map_err(|e| self.io(e))?;
            self.len = rec.len() as u64;
            self.dirty = false;
        }
        Ok(())
    }
}
