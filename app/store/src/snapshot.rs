//! State snapshots: one version of the tree cut into chunks that each prove themselves
//! against the version's root, and the restore of a fresh store from them.
//!
//! A chunk is a run of leaves in key-hash order — each with its key's preimage, so that the
//! restored store can prove absence and list prefixes — and a range proof (`jmt`'s
//! `SparseMerkleRangeProof`, the right-hand siblings of its last leaf). Fed in order to
//! `jmt`'s restore, each chunk is checked against the expected root as it arrives: with the
//! left-hand siblings built from the chunks before it, the proof must reach the root. A chunk
//! that fails is refused and nothing of it is written.
//!
//! Crash safety: every accepted chunk is written, with the tree nodes it completes, the key
//! index entries and preimages, and a copy of the chunk itself, in one durable redb
//! transaction; the version's root is written last, with the final nodes, in another. A store
//! whose restore did not finish has no root, refuses ordinary writes
//! ([`Error::RestoreInProgress`]), and can resume ([`Store::restore`] with the same target
//! replays the kept chunks) or start over ([`Store::abort_restore`]). After a refused chunk
//! the restore rebuilds itself the same way before taking the next one, since `jmt`'s restore
//! cannot take back what it was fed.

use crate::keys::{self, KeyChanges, LIVE};
use crate::reader::encode_value;
use crate::store::{node_key_bytes, value_key, Store, Version, NODES, PREIMAGES, ROOTS, VALUES};
use crate::{Error, Result};
use borsh::{BorshDeserialize, BorshSerialize};
use jmt::proof::SparseMerkleRangeProof;
use jmt::restore::{JellyfishMerkleRestore, StateSnapshotReceiver};
use jmt::storage::{NodeBatch, TreeWriter};
use jmt::{JellyfishMerkleIterator, JellyfishMerkleTree, KeyHash, RootHash};
use redb::{Durability, ReadableDatabase, ReadableTable, TableDefinition};
use sha2::Sha256;
use std::sync::{mpsc, Arc, Mutex};

/// The restore in progress: `"target"` → version (8 bytes BE) ‖ root (32 bytes).
const RESTORE_TARGET: TableDefinition<&str, &[u8]> = TableDefinition::new("restore_target");
/// The chunks accepted so far, by index, to rebuild from.
const RESTORE_CHUNKS: TableDefinition<u32, &[u8]> = TableDefinition::new("restore_chunks");

/// Chunks are cut once their entries pass this many bytes (CometBFT carries a chunk in one
/// 16 MB message; smaller ones spread the fetching over more peers).
pub const CHUNK_BYTES: usize = 1 << 20;

/// (key, value) pairs, in the order of the keys' hashes.
type Entries = Vec<(Vec<u8>, Vec<u8>)>;

#[derive(BorshSerialize, BorshDeserialize)]
struct Chunk {
    entries: Entries,
    proof: SparseMerkleRangeProof<Sha256>,
}

/// One version held for export ([`Store::export`]): a database snapshot, so that commits and
/// pruning go on while the chunks are cut (on another thread).
pub struct Export {
    snap: Arc<crate::reader::Snapshot>,
    version: Version,
    root: [u8; 32],
}

impl Export {
    /// The version held.
    pub fn version(&self) -> Version {
        self.version
    }

    /// Its root (the app hash of its height).
    pub fn root(&self) -> [u8; 32] {
        self.root
    }

    /// Cut the version into chunks of about `max_bytes` each and hand them to `sink` in
    /// order; returns how many.
    pub fn chunks(
        self,
        max_bytes: usize,
        mut sink: impl FnMut(Vec<u8>) -> Result<()>,
    ) -> Result<u32> {
        use jmt::storage::HasPreimage;
        let (snap, version) = (self.snap, self.version);
        let tree = JellyfishMerkleTree::<_, Sha256>::new(snap.as_ref());
        let leaves = JellyfishMerkleIterator::new(snap.clone(), version, KeyHash([0; 32]))
            .map_err(tree_err)?;
        let mut chunks = 0u32;
        let mut entries: Entries = Vec::new();
        let mut bytes = 0usize;
        let mut last = None;
        let mut flush = |entries: &mut Entries, last: KeyHash| -> Result<()> {
            let proof = tree.get_range_proof(last, version).map_err(tree_err)?;
            let chunk = Chunk {
                entries: std::mem::take(entries),
                proof,
            };
            sink(borsh::to_vec(&chunk).map_err(|e| Error::Corrupt(e.to_string()))?)?;
            chunks += 1;
            Ok(())
        };
        for leaf in leaves {
            let (kh, value) = leaf.map_err(tree_err)?;
            let key = snap
                .preimage(kh)
                .map_err(tree_err)?
                .ok_or_else(|| Error::Corrupt(format!("no preimage for key hash {:?}", kh.0)))?;
            bytes += key.len() + value.len() + 8;
            entries.push((key, value));
            last = Some(kh);
            if bytes >= max_bytes {
                flush(&mut entries, kh)?;
                bytes = 0;
            }
        }
        match last {
            None => return Err(Error::Tree(format!("version {version} holds no keys"))),
            Some(kh) if !entries.is_empty() => flush(&mut entries, kh)?,
            Some(_) => {}
        }
        Ok(chunks)
    }
}

impl Store {
    /// Hold `version` for export: from here on pruning cannot take it from the [`Export`].
    pub fn export(&self, version: Version) -> Result<Export> {
        let snap = self.snapshot_of(version)?;
        let root = snap
            .txn
            .open_table(ROOTS)?
            .get(version)?
            .ok_or(Error::MissingVersion(version))?
            .value()
            .try_into()
            .map_err(|_| Error::Corrupt(format!("root of version {version}")))?;
        Ok(Export {
            snap: Arc::new(snap),
            version,
            root,
        })
    }

    /// Begin (or resume) restoring `version` with root `root` into this store, which must
    /// hold no version. A restore of the same target left unfinished by a crash resumes: the
    /// chunks it had accepted are applied again, and [`Restore::next_chunk`] says which
    /// comes next. One of another target is dropped first.
    pub fn restore(self: &Arc<Self>, version: Version, root: [u8; 32]) -> Result<Restore> {
        if self.latest_version()?.is_some() {
            return Err(Error::NotEmpty);
        }
        let same = self.restore_pending()? == Some((version, root));
        if !same {
            self.abort_restore()?;
            let txn = self.db.begin_write()?;
            {
                let mut target = txn.open_table(RESTORE_TARGET)?;
                let mut t = version.to_be_bytes().to_vec();
                t.extend_from_slice(&root);
                target.insert("target", t.as_slice())?;
            }
            txn.commit()?;
        }
        self.restoring
            .store(true, std::sync::atomic::Ordering::SeqCst);
        let store = self.clone();
        let (tx, rx) = mpsc::channel();
        let (ready, started) = mpsc::sync_channel(1);
        let thread = std::thread::Builder::new()
            .name("state-restore".into())
            .spawn(move || {
                let mut worker = Worker {
                    store,
                    version,
                    root,
                    inner: None,
                    next: 0,
                    last_key: None,
                };
                let first = worker.rebuild().map(|()| worker.next);
                let ok = first.is_ok();
                let _ = ready.send(first);
                if ok {
                    worker.serve(rx);
                }
            })
            .map_err(|e| Error::Db(format!("cannot start the restore thread: {e}")))?;
        let next = started.recv().map_err(|_| gone())??;
        Ok(Restore {
            tx: Some(tx),
            thread: Some(thread),
            next,
        })
    }

    /// The target of a restore that has not finished: (version, root).
    pub fn restore_pending(&self) -> Result<Option<(Version, [u8; 32])>> {
        let txn = self.db.begin_read()?;
        let target = match txn.open_table(RESTORE_TARGET) {
            Ok(t) => t,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let Some(t) = target.get("target")? else {
            return Ok(None);
        };
        let t = t.value();
        if t.len() != 40 {
            return Err(Error::Corrupt("restore target".into()));
        }
        let version = u64::from_be_bytes(t[..8].try_into().unwrap_or_default());
        let root = t[8..].try_into().unwrap_or_default();
        Ok(Some((version, root)))
    }

    /// Drop an unfinished restore and everything it wrote: the store is empty again.
    pub fn abort_restore(&self) -> Result<()> {
        let txn = self.db.begin_write()?;
        clear_tree(&txn)?;
        txn.delete_table(RESTORE_TARGET)?;
        txn.delete_table(RESTORE_CHUNKS)?;
        txn.commit()?;
        self.restoring
            .store(false, std::sync::atomic::Ordering::SeqCst);
        Ok(())
    }
}

fn tree_err(e: anyhow::Error) -> Error {
    Error::Tree(format!("{e:#}"))
}

/// Empty the tables a restore writes (the store held nothing before it began).
fn clear_tree(txn: &redb::WriteTransaction) -> Result<()> {
    txn.open_table(NODES)?.retain(|_, _| false)?;
    txn.open_table(VALUES)?.retain(|_, _| false)?;
    txn.open_table(PREIMAGES)?.retain(|_, _| false)?;
    txn.open_table(LIVE)?.retain(|_, _| false)?;
    Ok(())
}

/// What `jmt`'s restore writes, held until the chunk that produced it is accepted.
#[derive(Default)]
struct Pending(Mutex<NodeBatch>);

impl TreeWriter for Pending {
    fn write_node_batch(&self, batch: &NodeBatch) -> anyhow::Result<()> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .merge(batch.clone());
        Ok(())
    }
}

/// A restore in progress ([`Store::restore`]). `jmt`'s restore is not `Send`, so it lives on
/// a thread of its own, and this handle, which is, talks to it; dropping the handle ends it
/// (what was applied stays kept, to resume).
pub struct Restore {
    tx: Option<mpsc::Sender<Cmd>>,
    thread: Option<std::thread::JoinHandle<()>>,
    next: u32,
}

impl Drop for Restore {
    fn drop(&mut self) {
        // The thread holds the store: wait for it, so the database is closed with the handle.
        self.tx = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

enum Cmd {
    Apply(u32, Vec<u8>, mpsc::SyncSender<Result<u32>>),
    Finish(mpsc::SyncSender<Result<[u8; 32]>>),
}

fn gone() -> Error {
    Error::Db("the restore thread stopped".into())
}

impl Restore {
    /// The index of the chunk to apply next.
    pub fn next_chunk(&self) -> u32 {
        self.next
    }

    /// Apply chunk `index` (they come in order). A chunk that does not decode, is out of key
    /// order, or does not prove against the root is refused with [`Error::BadChunk`] and
    /// nothing of it is kept; the next try of the same index starts from a rebuilt restore.
    pub fn apply(&mut self, index: u32, chunk: &[u8]) -> Result<()> {
        let (reply, answer) = mpsc::sync_channel(1);
        self.tx
            .as_ref()
            .ok_or_else(gone)?
            .send(Cmd::Apply(index, chunk.to_vec(), reply))
            .map_err(|_| gone())?;
        self.next = answer.recv().map_err(|_| gone())??;
        Ok(())
    }

    /// Finish: the last nodes and the root are written, the restored root is checked
    /// against the target, and the version becomes the store's one version. A root that
    /// does not match (chunks missing at the end) leaves the restore unfinished.
    pub fn finish(self) -> Result<[u8; 32]> {
        let (reply, answer) = mpsc::sync_channel(1);
        self.tx
            .as_ref()
            .ok_or_else(gone)?
            .send(Cmd::Finish(reply))
            .map_err(|_| gone())?;
        answer.recv().map_err(|_| gone())?
    }
}

/// The restore's own thread's state.
struct Worker {
    store: Arc<Store>,
    version: Version,
    root: [u8; 32],
    /// `jmt`'s restore and what it has written; `None` after a refused chunk, until rebuilt.
    inner: Option<(JellyfishMerkleRestore<Sha256>, Arc<Pending>)>,
    next: u32,
    last_key: Option<KeyHash>,
}

impl Worker {
    fn serve(mut self, rx: mpsc::Receiver<Cmd>) {
        while let Ok(cmd) = rx.recv() {
            match cmd {
                Cmd::Apply(index, chunk, reply) => {
                    let r = self.apply(index, &chunk).map(|()| self.next);
                    let _ = reply.send(r);
                }
                Cmd::Finish(reply) => {
                    let _ = reply.send(self.finish());
                    return;
                }
            }
        }
    }

    /// Start again from what the store holds: empty the tree tables and apply the kept
    /// chunks once more.
    fn rebuild(&mut self) -> Result<()> {
        let kept: Vec<Vec<u8>> = {
            let txn = self.store.db.begin_read()?;
            match txn.open_table(RESTORE_CHUNKS) {
                Ok(t) => t
                    .iter()?
                    .map(|e| e.map(|(_, v)| v.value().to_vec()))
                    .collect::<std::result::Result<_, _>>()?,
                Err(redb::TableError::TableDoesNotExist(_)) => Vec::new(),
                Err(e) => return Err(e.into()),
            }
        };
        let txn = self.store.db.begin_write()?;
        clear_tree(&txn)?;
        txn.commit()?;
        let pending = Arc::new(Pending::default());
        let inner = JellyfishMerkleRestore::new_overwrite(
            pending.clone(),
            self.version,
            RootHash(self.root),
        )
        .map_err(tree_err)?;
        self.inner = Some((inner, pending));
        self.next = 0;
        self.last_key = None;
        for chunk in kept {
            // These were accepted once against the same root: a failure now is corruption.
            self.apply_inner(&chunk, false)
                .map_err(|e| Error::Corrupt(format!("a kept restore chunk: {e}")))?;
        }
        Ok(())
    }

    fn apply(&mut self, index: u32, chunk: &[u8]) -> Result<()> {
        if index != self.next {
            return Err(Error::BadChunk(format!(
                "chunk {index} out of order: chunk {} is next",
                self.next
            )));
        }
        if self.inner.is_none() {
            self.rebuild()?;
        }
        self.apply_inner(chunk, true)
    }

    fn apply_inner(&mut self, bytes: &[u8], keep: bool) -> Result<()> {
        let result = self.feed(bytes);
        let (entries, batch) = match result {
            Ok(v) => v,
            Err(e) => {
                self.inner = None;
                return Err(e);
            }
        };
        let mut txn = self.store.db.begin_write()?;
        txn.set_durability(if keep {
            Durability::Immediate
        } else {
            Durability::None
        })?;
        write_batch(&txn, &batch)?;
        {
            let mut preimages = txn.open_table(PREIMAGES)?;
            for (k, _) in &entries {
                preimages.insert(KeyHash::with::<Sha256>(k).0.as_slice(), k.as_slice())?;
            }
        }
        keys::write(
            &txn,
            self.version,
            &KeyChanges {
                created: entries.into_iter().map(|(k, _)| k).collect(),
                deleted: Vec::new(),
            },
        )?;
        if keep {
            txn.open_table(RESTORE_CHUNKS)?.insert(self.next, bytes)?;
        }
        txn.commit()?;
        self.next += 1;
        Ok(())
    }

    /// Decode a chunk and hand it to `jmt`'s restore; what it wrote, if it took it.
    fn feed(&mut self, bytes: &[u8]) -> Result<(Entries, NodeBatch)> {
        let bad = |why: String| Error::BadChunk(why);
        let chunk = Chunk::try_from_slice(bytes).map_err(|e| bad(format!("undecodable: {e}")))?;
        if chunk.entries.is_empty() {
            return Err(bad("empty".into()));
        }
        let mut leaves = Vec::with_capacity(chunk.entries.len());
        for (k, v) in &chunk.entries {
            if v.is_empty() {
                return Err(bad("an empty value".into()));
            }
            let kh = KeyHash::with::<Sha256>(k);
            if self.last_key.is_some_and(|last| kh <= last) {
                return Err(bad("keys out of order".into()));
            }
            self.last_key = Some(kh);
            leaves.push((kh, v.clone()));
        }
        let Some((inner, pending)) = self.inner.as_mut() else {
            return Err(Error::Tree("the restore was not rebuilt".into()));
        };
        // `jmt`'s restore asserts on shapes only a broken tree has; a hostile chunk must be
        // an error, not a crash.
        let added = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            inner.add_chunk(leaves, chunk.proof)
        }));
        match added {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(bad(format!("does not prove against the root: {e:#}"))),
            Err(_) => return Err(bad("does not fit the tree".into())),
        }
        let batch = std::mem::take(&mut *pending.0.lock().unwrap_or_else(|e| e.into_inner()));
        Ok((chunk.entries, batch))
    }

    fn finish(&mut self) -> Result<[u8; 32]> {
        if self.inner.is_none() {
            self.rebuild()?;
        }
        let Some((inner, pending)) = self.inner.take() else {
            return Err(Error::Tree("the restore was not rebuilt".into()));
        };
        if self.next == 0 {
            return Err(Error::BadChunk("no chunk was applied".into()));
        }
        inner.finish().map_err(tree_err)?;
        let batch = std::mem::take(&mut *pending.0.lock().unwrap_or_else(|e| e.into_inner()));
        let txn = self.store.db.begin_write()?;
        write_batch(&txn, &batch)?;
        txn.commit()?;
        // The root as the tree computes it from what is now written (a crash before the
        // version is recorded below resumes the restore).
        let got = {
            let snap = crate::reader::Snapshot::new(self.store.db.begin_read()?, None)?;
            JellyfishMerkleTree::<_, Sha256>::new(&snap)
                .get_root_hash(self.version)
                .map_err(tree_err)?
                .0
        };
        if got != self.root {
            return Err(Error::RestoreRoot {
                want: self.root,
                got,
            });
        }
        let txn = self.store.db.begin_write()?;
        txn.open_table(ROOTS)?
            .insert(self.version, self.root.as_slice())?;
        txn.delete_table(RESTORE_TARGET)?;
        txn.delete_table(RESTORE_CHUNKS)?;
        txn.commit()?;
        self.store
            .restoring
            .store(false, std::sync::atomic::Ordering::SeqCst);
        Ok(self.root)
    }
}

fn write_batch(txn: &redb::WriteTransaction, batch: &NodeBatch) -> Result<()> {
    let mut nodes = txn.open_table(NODES)?;
    for (k, n) in batch.nodes() {
        let k = node_key_bytes(k).map_err(|e| Error::Corrupt(e.to_string()))?;
        let n = borsh::to_vec(n).map_err(|e| Error::Corrupt(e.to_string()))?;
        nodes.insert(k.as_slice(), n.as_slice())?;
    }
    let mut values = txn.open_table(VALUES)?;
    for ((version, kh), v) in batch.values() {
        values.insert(
            value_key(kh, *version).as_slice(),
            encode_value(v).as_slice(),
        )?;
    }
    Ok(())
}

/// Whether the table a restore keeps its chunks in holds any (for tests).
#[cfg(test)]
pub(crate) fn kept_chunks(store: &Store) -> Result<u64> {
    use redb::ReadableTableMetadata;
    let txn = store.db.begin_read()?;
    match txn.open_table(RESTORE_CHUNKS) {
        Ok(t) => Ok(t.len()?),
        Err(redb::TableError::TableDoesNotExist(_)) => Ok(0),
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests;
