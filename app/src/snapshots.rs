//! State snapshots of the built-in application: taken every app.toml `[state-sync]
//! snapshot-interval` heights on a thread of their own, kept on disk, served through ABCI's
//! snapshot calls, and restored from them.
//!
//! Format 1 (Keystone's own; ABCI leaves the format to the application, as the SDK's
//! snapshots are the SDK's): the JMT version at the snapshot's height cut by
//! `keystone_store` into chunks of about 1 MiB, each of which proves itself against the
//! height's app hash. The snapshot's `hash` is SHA-256 over every chunk's bytes in order;
//! its `metadata` the 32-byte SHA-256 of each chunk, so that a chunk that is not the one the
//! snapshot promised is told apart from one that does not prove (both are refused, and the
//! sender named).
//!
//! On disk, under the node's `data/snapshots/`: a directory `<height>-<format>` with the
//! chunks (`0`, `1`, …) and `snapshot.json`. A snapshot is written under a temporary name and
//! renamed when whole, so a crash never leaves a partial one listed; the
//! `snapshot-keep-recent` newest are kept.

use keystone_proto::{abci, AppError, AppResult, AppSnapshots};
use keystone_store::{Export, Restore, Store, CHUNK_BYTES};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// The one snapshot format.
pub const FORMAT: u32 = 1;

/// What can go wrong with snapshots.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    /// A file of the snapshot directory.
    #[error("{path}: {source}")]
    Io {
        /// Which.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The state store.
    #[error(transparent)]
    Store(#[from] keystone_store::Error),
    /// A snapshot's description that does not parse, or a snapshot that is not there.
    #[error("{0}")]
    Invalid(String),
}

type Result<T> = std::result::Result<T, SnapshotError>;

/// A snapshot as ABCI's `Snapshot` describes it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotInfo {
    /// The height whose state it holds.
    pub height: u64,
    /// [`FORMAT`].
    pub format: u32,
    /// How many chunks.
    pub chunks: u32,
    /// SHA-256 over every chunk, hex.
    pub hash: String,
    /// Each chunk's SHA-256, hex.
    pub chunk_hashes: Vec<String>,
    /// The app hash of the height (the root every chunk proves against), hex.
    pub app_hash: String,
}

impl SnapshotInfo {
    /// The `metadata` ABCI carries: the chunks' hashes, 32 bytes each.
    pub fn metadata(&self) -> Vec<u8> {
        self.chunk_hashes
            .iter()
            .flat_map(|h| hex::decode(h).unwrap_or_default())
            .collect()
    }

    /// The hash as bytes.
    pub fn hash_bytes(&self) -> Vec<u8> {
        hex::decode(&self.hash).unwrap_or_default()
    }

    /// The app hash as bytes.
    pub fn app_hash_bytes(&self) -> Vec<u8> {
        hex::decode(&self.app_hash).unwrap_or_default()
    }
}

/// app.toml's `[state-sync]`.
#[derive(Clone, Copy, Debug, Default)]
pub struct SnapshotConfig {
    /// `snapshot-interval`: take one every this many heights (0: never).
    pub interval: u64,
    /// `snapshot-keep-recent`: how many to keep (0: all).
    pub keep_recent: u32,
}

/// The snapshots of one node (see the module doc).
pub struct Snapshots {
    dir: PathBuf,
    cfg: SnapshotConfig,
    /// One snapshot is taken at a time; a due one is skipped while another runs.
    busy: Arc<AtomicBool>,
}

impl Snapshots {
    /// The snapshots kept in `dir`, taken as `cfg` says.
    pub fn new(dir: impl Into<PathBuf>, cfg: SnapshotConfig) -> Snapshots {
        Snapshots {
            dir: dir.into(),
            cfg,
            busy: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Where they are kept.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Whether a snapshot is being taken now.
    pub fn busy(&self) -> bool {
        self.busy.load(Ordering::SeqCst)
    }

    /// `height` was committed: if a snapshot is due, hold its version now (before pruning
    /// can take it) and cut it on a thread of its own, so that blocks go on meanwhile.
    pub fn after_commit(&self, store: &Store, height: u64) {
        if self.cfg.interval == 0 || !height.is_multiple_of(self.cfg.interval) {
            return;
        }
        if self.busy.swap(true, Ordering::SeqCst) {
            tracing::info!(height, "a snapshot is still being taken; skipping this one");
            return;
        }
        let export = match store.export(height) {
            Ok(e) => e,
            Err(e) => {
                self.busy.store(false, Ordering::SeqCst);
                tracing::error!(height, error = %e, "cannot hold the state for a snapshot");
                return;
            }
        };
        let (dir, keep, busy) = (self.dir.clone(), self.cfg.keep_recent, self.busy.clone());
        let spawned = std::thread::Builder::new()
            .name("snapshot".into())
            .spawn(move || {
                let started = std::time::Instant::now();
                match write(&dir, export).and_then(|s| prune(&dir, keep).map(|()| s)) {
                    Ok(s) => tracing::info!(
                        height = s.height,
                        chunks = s.chunks,
                        ms = started.elapsed().as_millis() as u64,
                        "snapshot taken"
                    ),
                    Err(e) => tracing::error!(height, error = %e, "snapshot failed"),
                }
                busy.store(false, Ordering::SeqCst);
            });
        if let Err(e) = spawned {
            self.busy.store(false, Ordering::SeqCst);
            tracing::error!(error = %e, "cannot start the snapshot thread");
        }
    }

    /// Take a snapshot of `height` now, on this thread (`keystone snapshots export`).
    pub fn take(&self, store: &Store, height: u64) -> Result<SnapshotInfo> {
        let s = write(&self.dir, store.export(height)?)?;
        prune(&self.dir, self.cfg.keep_recent)?;
        Ok(s)
    }

    /// The snapshots kept, newest first.
    pub fn list(&self) -> Result<Vec<SnapshotInfo>> {
        list(&self.dir)
    }

    /// The snapshot of `height` in `format`, if kept.
    pub fn get(&self, height: u64, format: u32) -> Result<Option<SnapshotInfo>> {
        let path = snapshot_dir(&self.dir, height, format).join("snapshot.json");
        match std::fs::read(&path) {
            Ok(b) => Ok(Some(parse(&path, &b)?)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(SnapshotError::Io { path, source }),
        }
    }

    /// Chunk `index` of the snapshot of `height` in `format` (`None`: not kept).
    pub fn chunk(&self, height: u64, format: u32, index: u32) -> Result<Option<Vec<u8>>> {
        let path = snapshot_dir(&self.dir, height, format).join(index.to_string());
        match std::fs::read(&path) {
            Ok(b) => Ok(Some(b)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(SnapshotError::Io { path, source }),
        }
    }
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> SnapshotError + '_ {
    move |source| SnapshotError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn snapshot_dir(dir: &Path, height: u64, format: u32) -> PathBuf {
    dir.join(format!("{height}-{format}"))
}

fn parse(path: &Path, bytes: &[u8]) -> Result<SnapshotInfo> {
    let s: SnapshotInfo = serde_json::from_slice(bytes)
        .map_err(|e| SnapshotError::Invalid(format!("{}: {e}", path.display())))?;
    if s.chunk_hashes.len() != s.chunks as usize {
        return Err(SnapshotError::Invalid(format!(
            "{}: {} chunks but {} chunk hashes",
            path.display(),
            s.chunks,
            s.chunk_hashes.len()
        )));
    }
    Ok(s)
}

/// Cut `export` into chunk files under a temporary name, then rename it into place.
fn write(dir: &Path, export: Export) -> Result<SnapshotInfo> {
    let (height, root) = (export.version(), export.root());
    let tmp = dir.join(format!(".tmp-{height}-{FORMAT}"));
    let done = snapshot_dir(dir, height, FORMAT);
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp).map_err(io(&tmp))?;
    }
    std::fs::create_dir_all(&tmp).map_err(io(&tmp))?;
    let mut whole = Sha256::new();
    let mut hashes = Vec::new();
    let chunks = export.chunks(CHUNK_BYTES, |c| {
        whole.update(&c);
        hashes.push(hex::encode(Sha256::digest(&c)));
        let path = tmp.join((hashes.len() - 1).to_string());
        std::fs::write(&path, &c)
            .map_err(|e| keystone_store::Error::Db(format!("{}: {e}", path.display())))
    })?;
    let info = SnapshotInfo {
        height,
        format: FORMAT,
        chunks,
        hash: hex::encode(whole.finalize()),
        chunk_hashes: hashes,
        app_hash: hex::encode(root),
    };
    let json =
        serde_json::to_vec_pretty(&info).map_err(|e| SnapshotError::Invalid(e.to_string()))?;
    let meta = tmp.join("snapshot.json");
    std::fs::write(&meta, json).map_err(io(&meta))?;
    if done.exists() {
        std::fs::remove_dir_all(&done).map_err(io(&done))?;
    }
    std::fs::rename(&tmp, &done).map_err(io(&done))?;
    Ok(info)
}

fn list(dir: &Path) -> Result<Vec<SnapshotInfo>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(SnapshotError::Io {
                path: dir.to_path_buf(),
                source,
            })
        }
    };
    let mut out = Vec::new();
    for e in entries {
        let e = e.map_err(io(dir))?;
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        let path = e.path().join("snapshot.json");
        match std::fs::read(&path) {
            Ok(b) => out.push(parse(&path, &b)?),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => return Err(SnapshotError::Io { path, source }),
        }
    }
    out.sort_by_key(|s| std::cmp::Reverse((s.height, s.format)));
    Ok(out)
}

/// Keep the `keep` newest (0: all).
fn prune(dir: &Path, keep: u32) -> Result<()> {
    if keep == 0 {
        return Ok(());
    }
    for old in list(dir)?.into_iter().skip(keep as usize) {
        let d = snapshot_dir(dir, old.height, old.format);
        std::fs::remove_dir_all(&d).map_err(io(&d))?;
    }
    Ok(())
}

impl AppSnapshots for Snapshots {
    fn list_snapshots(&self) -> AppResult<abci::ResponseListSnapshots> {
        Ok(abci::ResponseListSnapshots {
            snapshots: self
                .list()
                .map_err(|e| AppError(e.to_string()))?
                .into_iter()
                .map(|i| abci::Snapshot {
                    height: i.height,
                    format: i.format,
                    chunks: i.chunks,
                    hash: i.hash_bytes().into(),
                    metadata: i.metadata().into(),
                })
                .collect(),
        })
    }

    fn load_snapshot_chunk(
        &self,
        req: abci::RequestLoadSnapshotChunk,
    ) -> AppResult<abci::ResponseLoadSnapshotChunk> {
        let chunk = self
            .chunk(req.height, req.format, req.chunk)
            .map_err(|e| AppError(e.to_string()))?
            .unwrap_or_default();
        Ok(abci::ResponseLoadSnapshotChunk {
            chunk: chunk.into(),
        })
    }
}

/// A restore from a snapshot in progress, as ABCI's OfferSnapshot began it.
pub struct Restoring {
    restore: Restore,
    /// What each chunk must hash to, from the offered snapshot's metadata.
    chunk_hashes: Vec<[u8; 32]>,
}

/// What applying a chunk came to.
#[derive(Debug, PartialEq, Eq)]
pub enum Applied {
    /// Taken; more to come.
    More,
    /// The last one: the state is restored.
    Done,
    /// Not the chunk promised, or it does not prove: fetch it again, from someone else.
    Refused(String),
    /// The chunks are all in and the root is not the app hash: this snapshot is no good.
    WrongRoot(String),
}

impl Restoring {
    /// Begin (or resume) restoring the snapshot `info`-like description — `height`,
    /// `chunks`, `metadata` — into `store`, to reach `app_hash`.
    pub fn begin(
        store: &Arc<Store>,
        height: u64,
        chunks: u32,
        metadata: &[u8],
        app_hash: &[u8],
    ) -> Result<Restoring> {
        let root: [u8; 32] = app_hash
            .try_into()
            .map_err(|_| SnapshotError::Invalid("the app hash is not 32 bytes".into()))?;
        if chunks == 0 || metadata.len() != chunks as usize * 32 {
            return Err(SnapshotError::Invalid(format!(
                "{chunks} chunks with {} bytes of chunk hashes",
                metadata.len()
            )));
        }
        let chunk_hashes = metadata
            .chunks_exact(32)
            .map(|h| h.try_into().unwrap_or([0; 32]))
            .collect();
        Ok(Restoring {
            restore: store.restore(height, root)?,
            chunk_hashes,
        })
    }

    /// The chunk to apply next (after a resume, not necessarily 0).
    pub fn next_chunk(&self) -> u32 {
        self.restore.next_chunk()
    }

    /// Apply chunk `index`.
    pub fn apply(&mut self, index: u32, chunk: &[u8]) -> Result<Applied> {
        let Some(want) = self.chunk_hashes.get(index as usize) else {
            return Ok(Applied::Refused(format!(
                "no chunk {index} in this snapshot"
            )));
        };
        if Sha256::digest(chunk).as_slice() != want {
            return Ok(Applied::Refused(format!(
                "chunk {index} is not the one the snapshot lists"
            )));
        }
        match self.restore.apply(index, chunk) {
            Ok(()) => {}
            Err(keystone_store::Error::BadChunk(why)) => return Ok(Applied::Refused(why)),
            Err(e) => return Err(e.into()),
        }
        Ok(
            if self.restore.next_chunk() as usize == self.chunk_hashes.len() {
                Applied::Done
            } else {
                Applied::More
            },
        )
    }

    /// After [`Applied::Done`]: write the root. A root that is not the app hash comes back
    /// as [`Applied::WrongRoot`].
    pub fn finish(self) -> Result<Applied> {
        match self.restore.finish() {
            Ok(_) => Ok(Applied::Done),
            Err(e @ keystone_store::Error::RestoreRoot { .. }) => {
                Ok(Applied::WrongRoot(e.to_string()))
            }
            Err(e) => Err(e.into()),
        }
    }
}
