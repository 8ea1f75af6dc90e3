//! [`Store`]: the tree, its versions and their roots in redb.

use crate::keys::{self, KeyChanges, DEAD, DEAD_SINCE, LIVE};
use crate::reader::{encode_value, Snapshot};
use crate::{Error, Result};
use jmt::storage::TreeUpdateBatch;
use jmt::{JellyfishMerkleTree, KeyHash};
use redb::{
    Database, Durability, ReadableDatabase, ReadableTable, TableDefinition, WriteTransaction,
};
use sha2::Sha256;
use std::collections::BTreeMap;
use std::path::Path;

/// A tree version: the block height whose state it holds.
pub type Version = u64;

/// Tree nodes by [`node_key_bytes`]: the version first, so a block's new nodes are appended
/// at the end of the table rather than scattered through it.
pub(crate) const NODES: TableDefinition<&[u8], &[u8]> = TableDefinition::new("jmt_nodes_v2");
/// The nodes as stores written before [`NODES`] kept them (by borsh-encoded node key alone);
/// moved on open.
const OLD_NODES: TableDefinition<&[u8], &[u8]> = TableDefinition::new("jmt_nodes");
/// Values by key hash (32 bytes) then version (8 bytes, big-endian): byte order is version
/// order within a key, so "newest at or below v" is one reverse range step.
pub(crate) const VALUES: TableDefinition<&[u8], &[u8]> = TableDefinition::new("jmt_values");
/// Key preimages by key hash, for absence proofs and for reading keys back.
pub(crate) const PREIMAGES: TableDefinition<&[u8], &[u8]> = TableDefinition::new("key_preimages");
/// Root hash of every kept version.
pub(crate) const ROOTS: TableDefinition<u64, &[u8]> = TableDefinition::new("roots");
/// Nodes no longer in the tree from a version on: stale-since (8 bytes BE) ‖ node key.
pub(crate) const STALE_NODES: TableDefinition<&[u8], ()> = TableDefinition::new("stale_nodes_v2");
/// Their index in stores written before [`NODES`] (with the old node keys); moved on open.
const OLD_STALE_NODES: TableDefinition<&[u8], ()> = TableDefinition::new("stale_nodes");

/// A node's key in [`NODES`]: its version (8 bytes BE), then its borsh encoding.
pub(crate) fn node_key_bytes(k: &jmt::storage::NodeKey) -> std::io::Result<Vec<u8>> {
    let mut out = k.version().to_be_bytes().to_vec();
    borsh::to_writer(&mut out, k)?;
    Ok(out)
}

/// Does `t` exist in the database (without creating it)?
fn exists<K: redb::Key + 'static, V: redb::Value + 'static>(
    txn: &redb::ReadTransaction,
    t: TableDefinition<K, V>,
) -> Result<bool> {
    match txn.open_table(t) {
        Ok(_) => Ok(true),
        Err(redb::TableError::TableDoesNotExist(_)) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// Move the nodes of a store written before [`NODES`] to their new keys.
fn move_old_nodes(txn: &WriteTransaction) -> Result<()> {
    use borsh::BorshDeserialize;
    let corrupt = |e: std::io::Error| Error::Corrupt(format!("node key: {e}"));
    {
        let old = txn.open_table(OLD_NODES)?;
        let mut new = txn.open_table(NODES)?;
        for e in old.iter()? {
            let (k, v) = e?;
            let key = jmt::storage::NodeKey::try_from_slice(k.value()).map_err(corrupt)?;
            new.insert(node_key_bytes(&key).map_err(corrupt)?.as_slice(), v.value())?;
        }
        let old = txn.open_table(OLD_STALE_NODES)?;
        let mut new = txn.open_table(STALE_NODES)?;
        for e in old.iter()? {
            let (k, _) = e?;
            let k = k.value();
            let (since, node) = k.split_at(8.min(k.len()));
            let key = jmt::storage::NodeKey::try_from_slice(node).map_err(corrupt)?;
            let mut idx = since.to_vec();
            idx.extend(node_key_bytes(&key).map_err(corrupt)?);
            new.insert(idx.as_slice(), ())?;
        }
    }
    txn.delete_table(OLD_NODES)?;
    txn.delete_table(OLD_STALE_NODES)?;
    Ok(())
}
/// Values overwritten from a version on: stale-since (8 bytes BE) ‖ value key.
pub(crate) const STALE_VALUES: TableDefinition<&[u8], ()> = TableDefinition::new("stale_values");

pub(crate) fn value_key(key_hash: &KeyHash, version: Version) -> Vec<u8> {
    let mut k = Vec::with_capacity(40);
    k.extend_from_slice(&key_hash.0);
    k.extend_from_slice(&version.to_be_bytes());
    k
}

fn tree_err(e: anyhow::Error) -> Error {
    Error::Tree(format!("{e:#}"))
}

/// Sizes of the store's tables, for operators and for tests of pruning.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stats {
    /// Tree nodes held (all kept versions).
    pub nodes: u64,
    /// Value records held (all kept versions).
    pub values: u64,
    /// Versions kept.
    pub versions: u64,
    /// Key preimages held.
    pub preimages: u64,
    /// Keys present at the latest version.
    pub live_keys: u64,
    /// Intervals of deleted keys that a kept version may still read.
    pub dead_intervals: u64,
}

/// A new version computed but not yet written: the output of [`Store::prepare`].
pub struct Prepared {
    version: Version,
    base: Option<Version>,
    root: [u8; 32],
    batch: TreeUpdateBatch,
    preimages: Vec<(KeyHash, Vec<u8>)>,
    keys: KeyChanges,
}

impl Prepared {
    /// The version it will write.
    pub fn version(&self) -> Version {
        self.version
    }

    /// The new root: the app hash.
    pub fn root(&self) -> [u8; 32] {
        self.root
    }
}

/// redb's page cache for the state: the upper nodes of the tree and the index stay warm, and
/// memory stays bounded (redb's default of 1 GiB grows with everything a node has written).
/// 64 MiB filled up under load and bought nothing over 32: an empty block at 1 M keys and 10k
/// writes took the same (BENCHMARKS.md, #16).
const CACHE_BYTES: usize = 32 << 20;

/// The versioned, provable state.
pub struct Store {
    pub(crate) db: Database,
    /// A restore from a snapshot has begun and not finished: no ordinary writes.
    pub(crate) restoring: std::sync::atomic::AtomicBool,
    /// Versions kept, and the interval of heights at which older ones are pruned.
    keep_recent: Option<(u64, u64)>,
}

impl Store {
    /// Open the store at `path`, creating it if absent. Keeps every version until
    /// [`Store::with_pruning`] says otherwise.
    pub fn open(path: impl AsRef<Path>) -> Result<Store> {
        let db = Database::builder()
            .set_cache_size(CACHE_BYTES)
            .create(path.as_ref())?;
        // A store written by an older Keystone is brought up to date once, here: its nodes
        // move to version-first keys, and the live-key index is built.
        let (old_nodes, unindexed) = {
            let txn = db.begin_read()?;
            let has_roots = match txn.open_table(ROOTS) {
                Ok(roots) => roots.first()?.is_some(),
                Err(redb::TableError::TableDoesNotExist(_)) => false,
                Err(e) => return Err(e.into()),
            };
            (exists(&txn, OLD_NODES)?, has_roots && !exists(&txn, LIVE)?)
        };
        let txn = db.begin_write()?;
        {
            txn.open_table(LIVE)?;
            txn.open_table(DEAD)?;
            txn.open_table(DEAD_SINCE)?;
            txn.open_table(NODES)?;
            txn.open_table(VALUES)?;
            txn.open_table(PREIMAGES)?;
            txn.open_table(ROOTS)?;
            txn.open_table(STALE_NODES)?;
            txn.open_table(STALE_VALUES)?;
        }
        if old_nodes {
            move_old_nodes(&txn)?;
        }
        if unindexed {
            keys::rebuild(&txn)?;
        }
        txn.commit()?;
        let store = Store {
            db,
            restoring: Default::default(),
            keep_recent: None,
        };
        let pending = store.restore_pending()?.is_some();
        store
            .restoring
            .store(pending, std::sync::atomic::Ordering::SeqCst);
        Ok(store)
    }

    /// Keep only the `keep_recent` newest versions (at least 1), pruning older ones at each
    /// commit (app.toml's `pruning-keep-recent`).
    pub fn with_pruning(mut self, keep_recent: u64) -> Store {
        self.keep_recent = Some((keep_recent.max(1), 1));
        self
    }

    /// With [`Store::with_pruning`], prune only in the commit of a version divisible by
    /// `interval` (app.toml's `pruning-interval`; 0 counts as 1): between two, up to
    /// `interval − 1` more versions stay readable.
    pub fn pruned_every(mut self, interval: u64) -> Store {
        if let Some((_, every)) = self.keep_recent.as_mut() {
            *every = interval.max(1);
        }
        self
    }

    /// The newest committed version.
    pub fn latest_version(&self) -> Result<Option<Version>> {
        let txn = self.db.begin_read()?;
        let roots = txn.open_table(ROOTS)?;
        let last = roots.last()?.map(|(k, _)| k.value());
        Ok(last)
    }

    /// The oldest version still kept.
    pub fn earliest_version(&self) -> Result<Option<Version>> {
        let txn = self.db.begin_read()?;
        let roots = txn.open_table(ROOTS)?;
        let first = roots.first()?.map(|(k, _)| k.value());
        Ok(first)
    }

    /// How much the store holds.
    pub fn stats(&self) -> Result<Stats> {
        use redb::ReadableTableMetadata;
        let txn = self.db.begin_read()?;
        Ok(Stats {
            nodes: txn.open_table(NODES)?.len()?,
            values: txn.open_table(VALUES)?.len()?,
            versions: txn.open_table(ROOTS)?.len()?,
            preimages: txn.open_table(PREIMAGES)?.len()?,
            live_keys: txn.open_table(LIVE)?.len()?,
            dead_intervals: txn.open_table(DEAD)?.len()?,
        })
    }

    /// The root hash (app hash) of `version`.
    pub fn root_hash(&self, version: Version) -> Result<[u8; 32]> {
        let txn = self.db.begin_read()?;
        let roots = txn.open_table(ROOTS)?;
        let root = roots.get(version)?.ok_or(Error::MissingVersion(version))?;
        root.value()
            .try_into()
            .map_err(|_| Error::Corrupt(format!("root of version {version}")))
    }

    pub(crate) fn snapshot_of(&self, version: Version) -> Result<Snapshot> {
        let txn = self.db.begin_read()?;
        if txn.open_table(ROOTS)?.get(version)?.is_none() {
            return Err(Error::MissingVersion(version));
        }
        Snapshot::new(txn, None)
    }

    /// The value of `key` at `version` (`None`: absent).
    pub fn get(&self, key: &[u8], version: Version) -> Result<Option<Vec<u8>>> {
        self.reader(version)?.get(key)
    }

    /// A reader of `version` for many gets: one database snapshot for all of them (opening
    /// one is most of the cost of a single get). Hold it for a block or a check, not across
    /// commits: the database keeps what a snapshot can see until it is dropped.
    pub fn reader(&self, version: Version) -> Result<VersionReader> {
        Ok(VersionReader {
            snap: self.snapshot_of(version)?,
            version,
        })
    }

    /// The value of `key` at `version` with an ICS23 proof against that version's root: an
    /// existence proof if present, a non-existence proof if absent.
    pub fn get_with_proof(
        &self,
        key: &[u8],
        version: Version,
    ) -> Result<(Option<Vec<u8>>, ics23::CommitmentProof)> {
        let snap = self.snapshot_of(version)?;
        JellyfishMerkleTree::<_, Sha256>::new(&snap)
            .get_with_ics23_proof(key.to_vec(), version)
            .map_err(tree_err)
    }

    /// Every key (in byte order) under `prefix` with its value at `version`. Walks the index
    /// of live keys under the prefix (and, below the latest version, the intervals of keys
    /// deleted since), so it costs what it returns, whatever the size of the state.
    pub fn prefix(&self, prefix: &[u8], version: Version) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        use jmt::storage::TreeReader;
        let snap = self.snapshot_of(version)?;
        let latest = snap.txn.open_table(ROOTS)?.last()?.map(|(k, _)| k.value());
        let end = keys::prefix_end(prefix);
        let range = |t: &redb::ReadOnlyTable<&[u8], u64>| match &end {
            Some(end) => t.range::<&[u8]>(prefix..end.as_slice()),
            None => t.range::<&[u8]>(prefix..),
        };
        let mut present: Vec<Vec<u8>> = Vec::new();
        let live = snap.txn.open_table(LIVE)?;
        for e in range(&live)? {
            let (k, created) = e?;
            if created.value() <= version {
                present.push(k.value().to_vec());
            }
        }
        if latest != Some(version) {
            let dead = snap.txn.open_table(DEAD)?;
            for e in range(&dead)? {
                let (entry, created) = e?;
                let (key, deleted) = keys::parse_dead(entry.value())?;
                if key.starts_with(prefix) && created.value() <= version && version < deleted {
                    present.push(key.to_vec());
                }
            }
            present.sort();
        }
        let mut out = Vec::with_capacity(present.len());
        for key in present {
            let kh = KeyHash::with::<Sha256>(&key);
            match snap.get_value_option(version, kh).map_err(tree_err)? {
                Some(v) => out.push((key, v)),
                None => {
                    return Err(Error::Corrupt(format!(
                        "the key index lists {} at version {version}, the tree does not",
                        String::from_utf8_lossy(&key)
                    )))
                }
            }
        }
        Ok(out)
    }

    /// Compute `version` from the latest one plus `changes` (`None` deletes), without
    /// writing: the root is the new app hash. Versions must follow each other; the first one
    /// may be any number (a chain's `initial_height − 1`, or 0).
    pub fn prepare(
        &self,
        version: Version,
        changes: impl IntoIterator<Item = (Vec<u8>, Option<Vec<u8>>)>,
    ) -> Result<Prepared> {
        if self.restoring.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(Error::RestoreInProgress);
        }
        let base = self.latest_version()?;
        if let Some(latest) = base {
            let expected = latest + 1;
            if version != expected {
                return Err(Error::NonContiguousVersion {
                    expected,
                    got: version,
                });
            }
        }
        let snap = Snapshot::new(
            self.db.begin_read()?,
            match base {
                None if version > 0 => Some(version - 1),
                _ => None,
            },
        )?;
        // One entry per key, the last change wins; ordered, so the batch is deterministic.
        let mut set: BTreeMap<KeyHash, (Vec<u8>, Option<Vec<u8>>)> = BTreeMap::new();
        for (k, v) in changes {
            if v.as_ref().is_some_and(|v| v.is_empty()) {
                return Err(Error::EmptyValue(String::from_utf8_lossy(&k).into_owned()));
            }
            set.insert(KeyHash::with::<Sha256>(&k), (k, v));
        }
        // Which writes create a key and which delete one: the index changes with those only.
        let mut key_changes = KeyChanges::default();
        {
            let live = snap.txn.open_table(LIVE)?;
            for (k, v) in set.values() {
                match (live.get(k.as_slice())?.map(|c| c.value()), v) {
                    (None, Some(_)) => key_changes.created.push(k.clone()),
                    (Some(created), None) => key_changes.deleted.push((k.clone(), created)),
                    _ => {}
                }
            }
        }
        let tree = JellyfishMerkleTree::<_, Sha256>::new(&snap);
        let upserts: Vec<(KeyHash, Vec<u8>)> = set
            .iter()
            .filter_map(|(kh, (_, v))| Some((*kh, v.clone()?)))
            .collect();
        let (root, batch) = if upserts.is_empty() || upserts.len() < set.len() {
            // Deletions (or nothing at all): the tree's one-key-at-a-time path.
            tree.put_value_set(set.iter().map(|(kh, (_, v))| (*kh, v.clone())), version)
                .map_err(tree_err)?
        } else {
            // Only inserts and updates: the batch path builds each new node once and hashes
            // it once, where the one-at-a-time path rehashes the way to the root for every
            // key. The tree, and so the root, is the same.
            let (roots, batch) = tree
                .batch_put_value_sets(vec![upserts], None, version)
                .map_err(tree_err)?;
            let root = roots
                .first()
                .copied()
                .ok_or_else(|| Error::Tree("the batch computed no root".into()))?;
            (root, batch)
        };
        // A key present before keeps its preimage; only new keys bring one.
        let preimages = key_changes
            .created
            .iter()
            .map(|k| (KeyHash::with::<Sha256>(k), k.clone()))
            .collect();
        Ok(Prepared {
            version,
            base,
            root: root.0,
            batch,
            preimages,
            keys: key_changes,
        })
    }

    /// Write a prepared version in one durable redb transaction (fsynced before this
    /// returns), pruning old versions in the same transaction when configured. Returns the
    /// root.
    pub fn commit(&self, p: Prepared) -> Result<[u8; 32]> {
        self.commit_with(p, Durability::Immediate)
    }

    /// [`Store::commit`] without the fsync: the version is readable at once, and reaches the
    /// disk with the next durable commit or [`Store::make_durable`]. A crash before then
    /// loses it, and every undurable version after the last durable one, whole: the store
    /// reopens at that durable version. For a node replaying blocks others committed.
    pub fn commit_deferred(&self, p: Prepared) -> Result<[u8; 32]> {
        self.commit_with(p, Durability::None)
    }

    /// Make every version committed so far durable (one fsync).
    pub fn make_durable(&self) -> Result<()> {
        // A durable commit, even an empty one, carries the undurable ones before it.
        self.db.begin_write()?.commit()?;
        Ok(())
    }

    fn commit_with(&self, p: Prepared, durability: Durability) -> Result<[u8; 32]> {
        if self.latest_version()? != p.base {
            return Err(Error::StalePrepared(p.version));
        }
        let mut txn = self.db.begin_write()?;
        txn.set_durability(durability)?;
        write_version(&txn, &p)?;
        if let Some((keep, interval)) = self.keep_recent {
            if p.version.is_multiple_of(interval) {
                prune_in(&txn, p.version, keep)?;
            }
        }
        txn.commit()?;
        Ok(p.root)
    }

    /// Prepare and commit in one call.
    pub fn apply(
        &self,
        version: Version,
        changes: impl IntoIterator<Item = (Vec<u8>, Option<Vec<u8>>)>,
    ) -> Result<[u8; 32]> {
        let p = self.prepare(version, changes)?;
        self.commit(p)
    }

    /// Undo the newest version, durably: the store is again what it was before that
    /// version's commit, and the version can be written again. Returns the version that is
    /// now the newest. Refused when it is the only one held (pruning removed the one before,
    /// so there is nothing to go back to).
    pub fn rollback(&self) -> Result<Version> {
        let latest = self.latest_version()?.ok_or(Error::MissingVersion(0))?;
        let earliest = self.earliest_version()?.unwrap_or(latest);
        if earliest == latest {
            return Err(Error::MissingVersion(latest.saturating_sub(1)));
        }
        let txn = self.db.begin_write()?;
        crate::rollback::remove_version(&txn, latest)?;
        txn.commit()?;
        Ok(latest - 1)
    }

    /// Drop every version but the `keep_recent` newest now.
    pub fn prune(&self, keep_recent: u64) -> Result<()> {
        let Some(latest) = self.latest_version()? else {
            return Ok(());
        };
        let txn = self.db.begin_write()?;
        prune_in(&txn, latest, keep_recent.max(1))?;
        txn.commit()?;
        Ok(())
    }
}

fn write_version(txn: &WriteTransaction, p: &Prepared) -> Result<()> {
    let mut nodes = txn.open_table(NODES)?;
    for (k, n) in p.batch.node_batch.nodes() {
        let k = node_key_bytes(k).map_err(|e| Error::Corrupt(e.to_string()))?;
        let n = borsh::to_vec(n).map_err(|e| Error::Corrupt(e.to_string()))?;
        nodes.insert(k.as_slice(), n.as_slice())?;
    }
    let mut values = txn.open_table(VALUES)?;
    let mut stale_values = txn.open_table(STALE_VALUES)?;
    for ((version, kh), v) in p.batch.node_batch.values() {
        // The value this one replaces is stale from this version on.
        let lo = value_key(kh, 0);
        let prev = {
            let mut range = values.range(lo.as_slice()..value_key(kh, *version).as_slice())?;
            match range.next_back() {
                Some(e) => Some(e?.0.value().to_vec()),
                None => None,
            }
        };
        if let Some(prev) = prev {
            let mut idx = version.to_be_bytes().to_vec();
            idx.extend_from_slice(&prev);
            stale_values.insert(idx.as_slice(), ())?;
        }
        values.insert(
            value_key(kh, *version).as_slice(),
            encode_value(v).as_slice(),
        )?;
    }
    let mut preimages = txn.open_table(PREIMAGES)?;
    for (kh, k) in &p.preimages {
        preimages.insert(kh.0.as_slice(), k.as_slice())?;
    }
    let mut stale_nodes = txn.open_table(STALE_NODES)?;
    for s in &p.batch.stale_node_index_batch {
        let mut idx = s.stale_since_version.to_be_bytes().to_vec();
        idx.extend(node_key_bytes(&s.node_key).map_err(|e| Error::Corrupt(e.to_string()))?);
        stale_nodes.insert(idx.as_slice(), ())?;
    }
    keys::write(txn, p.version, &p.keys)?;
    txn.open_table(ROOTS)?
        .insert(p.version, p.root.as_slice())?;
    Ok(())
}

/// Remove what only versions older than `latest + 1 − keep` need: nodes and values stale
/// since a version at or below the oldest kept one, and the old roots.
fn prune_in(txn: &WriteTransaction, latest: Version, keep: u64) -> Result<()> {
    let Some(earliest_kept) = (latest + 1).checked_sub(keep).filter(|e| *e > 0) else {
        return Ok(());
    };
    {
        let bound = (earliest_kept + 1).to_be_bytes();
        let mut stale_nodes = txn.open_table(STALE_NODES)?;
        let mut nodes = txn.open_table(NODES)?;
        for idx in stale_nodes.extract_from_if(..bound.as_slice(), |_, _| true)? {
            let (idx, _) = idx?;
            nodes.remove(&idx.value()[8..])?;
        }
        let mut stale_values = txn.open_table(STALE_VALUES)?;
        let mut values = txn.open_table(VALUES)?;
        for idx in stale_values.extract_from_if(..bound.as_slice(), |_, _| true)? {
            let (idx, _) = idx?;
            values.remove(&idx.value()[8..])?;
        }
    }
    keys::prune(txn, earliest_kept)?;
    txn.open_table(ROOTS)?
        .retain_in(..earliest_kept, |_, _| false)?;
    Ok(())
}

/// Reads of one version through one snapshot ([`Store::reader`]).
pub struct VersionReader {
    snap: Snapshot,
    version: Version,
}

impl VersionReader {
    /// The value of `key` (`None`: absent).
    pub fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        use jmt::storage::TreeReader;
        self.snap
            .get_value_option(self.version, KeyHash::with::<Sha256>(key))
            .map_err(tree_err)
    }
}
