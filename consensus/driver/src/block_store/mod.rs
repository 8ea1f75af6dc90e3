//! The block store: every committed block, its id and the commit that finalised it, by height,
//! in redb. One write transaction per block, so a crash leaves a height either wholly stored
//! or absent. What CometBFT keeps in `blockstore.db`: what RPC serves and block sync sends;
//! with it, in the same database and the same write as each height's results, the
//! transaction and block indexes (`block_store/index.rs`: CometBFT's `tx_index.db`).

mod index;

use crate::event_query::Query;
use index::{IndexEntries, BLOCK_EVENTS, STAGED, TX_EVENTS, TX_INDEX};
use keystone_consensus_types::{Block, BlockId, Commit, Height, ValidatorSet};
use keystone_proto::types as pb;
use prost::Message;
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};
use std::path::Path;

const BLOCKS: TableDefinition<u64, &[u8]> = TableDefinition::new("blocks");
const BLOCK_IDS: TableDefinition<u64, &[u8]> = TableDefinition::new("block_ids");
/// Block hash → height (RPC `block_by_hash`, `header_by_hash`).
const BLOCK_HASHES: TableDefinition<&[u8], u64> = TableDefinition::new("block_hashes");
/// The commit for height H as this node saw it (the next block carries another copy as
/// `last_commit`; CometBFT calls this the "seen commit").
const COMMITS: TableDefinition<u64, &[u8]> = TableDefinition::new("seen_commits");
/// The application's `ResponseFinalizeBlock` for each height (tx results, app hash).
const RESULTS: TableDefinition<u64, &[u8]> = TableDefinition::new("finalize_results");
/// Every piece of evidence in a committed block: its hash → the height of that block, so
/// evidence is never committed twice.
const COMMITTED_EVIDENCE: TableDefinition<&[u8], u64> = TableDefinition::new("committed_evidence");
/// The validator set of every height where it changed (the initial height, and each H+2
/// after `FinalizeBlock` at H returned updates), priorities included. The set of a height h
/// is the entry at the greatest c ≤ h, incremented h − c times, as CometBFT loads it.
const VALIDATOR_SETS: TableDefinition<u64, &[u8]> = TableDefinition::new("validator_sets");
/// Blocks this node built for the height in progress, by header hash, so that a restart can
/// still propose, or commit, a block it built before crashing. Emptied when a height commits.
const BUILT: TableDefinition<&[u8], &[u8]> = TableDefinition::new("built_blocks");
/// The height a state sync started the store at → the app hash and results hash that block
/// height + 1's header gives it (32 bytes each): the results of that height were never
/// executed here, so these stand in for them.
const SYNCED: TableDefinition<u64, &[u8]> = TableDefinition::new("state_sync_base");

/// What the block store failed at.
#[derive(Debug, thiserror::Error)]
pub enum BlockStoreError {
    /// The database failed.
    #[error("block store: {0}")]
    Db(String),
    /// `[tx_index] indexer = "null"`: transactions are not indexed (CometBFT's words).
    #[error("transaction indexing is disabled")]
    TxIndexDisabled,
    /// `[tx_index] indexer = "null"`: blocks are not indexed (CometBFT's words).
    #[error("block indexing is disabled")]
    BlockIndexDisabled,
    /// Stored bytes that do not decode.
    #[error("block store is corrupt at height {height}: {reason}")]
    Corrupt {
        /// Height.
        height: Height,
        /// What is wrong.
        reason: String,
    },
    /// Heights must be stored in order, without gaps.
    #[error("cannot store height {got}: the next height is {expected}")]
    OutOfOrder {
        /// Expected.
        expected: Height,
        /// Offered.
        got: Height,
    },
}

macro_rules! db_err {
    ($($t:ty),*) => {$(
        impl From<$t> for BlockStoreError {
            fn from(e: $t) -> Self {
                BlockStoreError::Db(e.to_string())
            }
        }
    )*};
}
db_err!(
    redb::DatabaseError,
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::SetDurabilityError,
    redb::CommitError
);

type Result<T> = std::result::Result<T, BlockStoreError>;

/// A stored block with its header (field 1) alone: prost skips the transactions, evidence
/// and last commit without building them.
#[derive(Clone, PartialEq, prost::Message)]
struct HeaderOnly {
    #[prost(message, optional, tag = "1")]
    header: Option<pb::Header>,
}

/// redb's page cache for the blocks: the recent blocks and results the RPC serves stay warm;
/// redb's default (1 GiB) would grow with every block written. 32 MiB filled up under load
/// and stored results no faster than 16 (BENCHMARKS.md, #16).
const CACHE_BYTES: usize = 16 << 20;

/// Block `block` (id `id`) and the commit that finalised it, into their tables, with the
/// evidence it committed.
fn write_block(
    txn: &redb::WriteTransaction,
    block: &Block,
    id: &BlockId,
    commit: &Commit,
) -> Result<()> {
    let h = block.header.height;
    txn.open_table(BLOCKS)?
        .insert(h, block.to_proto().encode_to_vec().as_slice())?;
    txn.open_table(BLOCK_IDS)?
        .insert(h, id.to_proto().encode_to_vec().as_slice())?;
    txn.open_table(BLOCK_HASHES)?
        .insert(id.hash.0.as_slice(), h)?;
    txn.open_table(COMMITS)?
        .insert(h, commit.to_proto().encode_to_vec().as_slice())?;
    let mut ev = txn.open_table(COMMITTED_EVIDENCE)?;
    for e in &block.evidence {
        ev.insert(e.hash().0.as_slice(), h)?;
    }
    Ok(())
}

/// Committed blocks by height.
pub struct BlockStore {
    db: Database,
    /// config.toml's `[tx_index] indexer`: `kv` (true) keeps the transaction and block event
    /// indexes; `null` writes none and refuses lookups, as CometBFT's null indexer does.
    index: bool,
    /// The highest stored height, kept beside the table: the engine and the RPC ask for it
    /// many times per height, and each read of the table was a read transaction.
    top: std::sync::atomic::AtomicU64,
}

impl BlockStore {
    /// Open (or create) the store at `path` on the real file system.
    pub fn open(path: &Path) -> Result<BlockStore> {
        Self::tables(
            Database::builder()
                .set_cache_size(CACHE_BYTES)
                .create(path)?,
        )
    }

    /// Open (or create) the store at `path` on `storage` (on a virtual disk, through its
    /// stand-in for the file).
    pub fn open_on(storage: &dyn crate::storage::Storage, path: &Path) -> Result<BlockStore> {
        match storage.database(path) {
            None => Self::open(path),
            Some(backend) => Self::tables(
                Database::builder()
                    // A small cache: the simulator runs hundreds of stores in one process.
                    .set_cache_size(1 << 20)
                    .create_with_backend(crate::storage::Backend(backend))?,
            ),
        }
    }

    fn tables(db: Database) -> Result<BlockStore> {
        let old_index = index::has_old_index(&db.begin_read()?)?;
        let txn = db.begin_write()?;
        {
            txn.open_table(BLOCKS)?;
            txn.open_table(BLOCK_IDS)?;
            txn.open_table(BLOCK_HASHES)?;
            txn.open_table(COMMITS)?;
            txn.open_table(RESULTS)?;
            txn.open_table(BUILT)?;
            txn.open_table(TX_INDEX)?;
            txn.open_table(TX_EVENTS)?;
            txn.open_table(BLOCK_EVENTS)?;
            txn.open_table(STAGED)?;
            txn.open_table(COMMITTED_EVIDENCE)?;
            txn.open_table(VALIDATOR_SETS)?;
            txn.open_table(SYNCED)?;
        }
        // A store written by an older Keystone has its event index brought up to date once.
        if old_index {
            index::move_old_index(&txn)?;
        }
        txn.commit()?;
        let top = Self::stored_height(&db)?;
        Ok(BlockStore {
            db,
            index: true,
            top: top.into(),
        })
    }

    /// Write no transaction or block event index, and refuse lookups by hash or by event
    /// (config.toml's `[tx_index] indexer = "null"`).
    pub fn without_index(mut self) -> BlockStore {
        self.index = false;
        self
    }

    /// Whether transactions and blocks are indexed.
    pub fn indexes(&self) -> bool {
        self.index
    }

    /// The highest stored height (0: none).
    pub fn height(&self) -> Result<Height> {
        Ok(self.top.load(std::sync::atomic::Ordering::Acquire))
    }

    fn stored_height(db: &Database) -> Result<Height> {
        let txn = db.begin_read()?;
        let t = txn.open_table(BLOCKS)?;
        let last = t.last()?.map_or(0, |(k, _)| k.value());
        Ok(last)
    }

    /// The lowest stored height (0: none).
    pub fn base(&self) -> Result<Height> {
        let txn = self.db.begin_read()?;
        let t = txn.open_table(BLOCKS)?;
        let first = t.first()?.map_or(0, |(k, _)| k.value());
        Ok(first)
    }

    /// Store block `block` (id `id`) with the commit that finalised it. Heights follow each
    /// other; the first stored height may be any (a chain's initial height).
    ///
    /// Not durable on its own: the block reaches the disk with its results
    /// ([`BlockStore::save_results`], one fsync for both), which the engine writes before the
    /// application commits. A crash in between loses the block, and the node decides or
    /// fetches it again, as after a crash just before this call.
    pub fn save(&self, block: &Block, id: &BlockId, commit: &Commit) -> Result<()> {
        let h = block.header.height;
        let top = self.height()?;
        if top != 0 && h != top + 1 {
            return Err(BlockStoreError::OutOfOrder {
                expected: top + 1,
                got: h,
            });
        }
        let mut txn = self.db.begin_write()?;
        txn.set_durability(redb::Durability::None)?;
        write_block(&txn, block, id, commit)?;
        txn.commit()?;
        self.top.store(h, std::sync::atomic::Ordering::Release);
        Ok(())
    }

    /// Start an empty store at a height state sync restored the application to: block `h`
    /// with its commit, the app hash and results hash block `h + 1`'s header gives it (see
    /// [`BlockStore::synced_results`]), and the validator sets of `h`, `h + 1` and `h + 2` —
    /// what the engine needs to go on at `h + 1` — in one durable write.
    pub fn bootstrap(
        &self,
        block: &Block,
        id: &BlockId,
        commit: &Commit,
        app_hash: &[u8],
        results_hash: &keystone_consensus_types::Hash,
        sets: &[(Height, &ValidatorSet)],
    ) -> Result<()> {
        let h = block.header.height;
        if self.height()? != 0 {
            return Err(BlockStoreError::Corrupt {
                height: h,
                reason: "state sync starts only an empty block store".into(),
            });
        }
        let txn = self.db.begin_write()?;
        write_block(&txn, block, id, commit)?;
        {
            let mut t = txn.open_table(VALIDATOR_SETS)?;
            for (at, set) in sets {
                t.insert(*at, set.to_proto().encode_to_vec().as_slice())?;
            }
        }
        let mut summary = app_hash.to_vec();
        summary.extend_from_slice(&results_hash.0);
        txn.open_table(SYNCED)?.insert(h, summary.as_slice())?;
        txn.commit()?;
        crate::failpoint::hit("block-store-bootstrap");
        self.top.store(h, std::sync::atomic::Ordering::Release);
        Ok(())
    }

    /// For the height state sync started the store at: the app hash and results hash that
    /// stand in for its never-executed results.
    pub fn synced_results(
        &self,
        h: Height,
    ) -> Result<Option<(Vec<u8>, keystone_consensus_types::Hash)>> {
        self.read(SYNCED, h, |b| {
            if b.len() < 32 {
                return Err("short state-sync record".into());
            }
            let (app, results) = b.split_at(b.len() - 32);
            let results: [u8; 32] = results.try_into().map_err(|_| "results hash".to_string())?;
            Ok((app.to_vec(), keystone_consensus_types::Hash(results)))
        })
    }

    /// The height of the block whose hash is `hash`, if stored.
    pub fn height_of(&self, hash: &[u8]) -> Result<Option<Height>> {
        let txn = self.db.begin_read()?;
        let t = txn.open_table(BLOCK_HASHES)?;
        Ok(t.get(hash)?.map(|v| v.value()))
    }

    /// The height of the block that committed the evidence with `hash`, if any.
    pub fn evidence_committed_at(
        &self,
        hash: &keystone_consensus_types::Hash,
    ) -> Result<Option<Height>> {
        let txn = self.db.begin_read()?;
        let t = txn.open_table(COMMITTED_EVIDENCE)?;
        Ok(t.get(hash.0.as_slice())?.map(|v| v.value()))
    }

    fn read<T>(
        &self,
        table: TableDefinition<u64, &[u8]>,
        h: Height,
        decode: impl Fn(&[u8]) -> std::result::Result<T, String>,
    ) -> Result<Option<T>> {
        let txn = self.db.begin_read()?;
        let t = txn.open_table(table)?;
        let Some(bytes) = t.get(h)? else {
            return Ok(None);
        };
        decode(bytes.value())
            .map(Some)
            .map_err(|reason| BlockStoreError::Corrupt { height: h, reason })
    }

    /// The raw protobuf block at `h` (what RPC and block sync serve).
    pub fn block_proto(&self, h: Height) -> Result<Option<pb::Block>> {
        self.read(BLOCKS, h, |b| {
            pb::Block::decode(b).map_err(|e| e.to_string())
        })
    }

    /// The header of the block at `h`, without decoding the rest of the block (`status` and
    /// `header` ask for it, and a full block holds thousands of transactions).
    pub fn header(&self, h: Height) -> Result<Option<pb::Header>> {
        self.read(BLOCKS, h, |b| {
            HeaderOnly::decode(b)
                .map_err(|e| e.to_string())?
                .header
                .ok_or_else(|| "a stored block without a header".to_string())
        })
    }

    /// The id of the block at `h`.
    pub fn block_id(&self, h: Height) -> Result<Option<BlockId>> {
        self.read(BLOCK_IDS, h, |b| {
            let p = pb::BlockId::decode(b).map_err(|e| e.to_string())?;
            BlockId::from_proto(&p).map_err(|e| e.to_string())
        })
    }

    /// Where the transaction with `hash` was committed: (height, index in the block).
    pub fn tx_location(&self, hash: &[u8]) -> Result<Option<(Height, u32)>> {
        if !self.index {
            return Err(BlockStoreError::TxIndexDisabled);
        }
        index::locate(&self.db.begin_read()?, hash)
    }

    /// Keep a block proposed for the current height — built here, or received whole from
    /// its proposer — durably until its height commits.
    pub fn save_built(&self, block: &Block) -> Result<()> {
        let txn = self.db.begin_write()?;
        txn.open_table(BUILT)?.insert(
            block.hash().0.as_slice(),
            block.to_proto().encode_to_vec().as_slice(),
        )?;
        txn.commit()?;
        crate::failpoint::hit("block-store-built");
        Ok(())
    }

    /// The blocks kept by [`BlockStore::save_built`].
    pub fn built(&self) -> Result<Vec<pb::Block>> {
        let txn = self.db.begin_read()?;
        let t = txn.open_table(BUILT)?;
        let mut out = Vec::new();
        for entry in t.iter()? {
            let (_, v) = entry?;
            out.push(
                pb::Block::decode(v.value()).map_err(|e| BlockStoreError::Corrupt {
                    height: 0,
                    reason: e.to_string(),
                })?,
            );
        }
        Ok(out)
    }

    /// Forget the built blocks (their height committed).
    pub fn clear_built(&self) -> Result<()> {
        // Most heights built nothing here (another validator proposed, or the node syncs):
        // no write, and no fsync.
        if redb::ReadableTableMetadata::is_empty(&self.db.begin_read()?.open_table(BUILT)?)? {
            return Ok(());
        }
        // Not durable on its own: a crash before the next durable write leaves blocks of a
        // height already committed, which a restart passes over (only the current height's
        // are taken back) and the next commit clears.
        let mut txn = self.db.begin_write()?;
        txn.set_durability(redb::Durability::None)?;
        txn.open_table(BUILT)?.retain(|_, _| false)?;
        txn.commit()?;
        Ok(())
    }

    /// Record the validator set that takes effect at height `h` (see [`VALIDATOR_SETS`]).
    pub fn save_validator_set(&self, h: Height, set: &ValidatorSet) -> Result<()> {
        let txn = self.db.begin_write()?;
        txn.open_table(VALIDATOR_SETS)?
            .insert(h, set.to_proto().encode_to_vec().as_slice())?;
        txn.commit()?;
        Ok(())
    }

    /// The last recorded validator set at or below `h`, with the height it took effect.
    pub fn validator_set_at(&self, h: Height) -> Result<Option<(Height, ValidatorSet)>> {
        let txn = self.db.begin_read()?;
        let t = txn.open_table(VALIDATOR_SETS)?;
        let Some(entry) = t.range(..=h)?.next_back() else {
            return Ok(None);
        };
        let (k, v) = entry?;
        let height = k.value();
        let set = pb::ValidatorSet::decode(v.value())
            .map_err(|e| e.to_string())
            .and_then(|p| ValidatorSet::from_proto(&p).map_err(|e| e.to_string()))
            .map_err(|reason| BlockStoreError::Corrupt { height, reason })?;
        Ok(Some((height, set)))
    }

    /// Store the application's answer to `FinalizeBlock` for height `h`, whose transactions
    /// are `txs`, and index those transactions by hash and by their events, and the height by
    /// its block events; with `new_set`, the validator set its updates produce and the height
    /// it takes effect — all in one write transaction, so a height's results, its index
    /// entries and its set change appear together.
    pub fn save_results(
        &self,
        h: Height,
        txs: &[Vec<u8>],
        res: &keystone_proto::abci::ResponseFinalizeBlock,
        new_set: Option<(Height, &ValidatorSet)>,
    ) -> Result<()> {
        self.save_results_with(h, txs, res, new_set, redb::Durability::Immediate)
    }

    /// [`BlockStore::save_results`] without the fsync: the height is readable at once, and
    /// reaches the disk (with its block) at the next durable write or
    /// [`BlockStore::make_durable`]; a crash before then loses it, and the heights stored
    /// undurably after the last durable one, whole. For blocks others committed (block
    /// sync), when the application defers its commits too.
    pub fn save_results_deferred(
        &self,
        h: Height,
        txs: &[Vec<u8>],
        res: &keystone_proto::abci::ResponseFinalizeBlock,
        new_set: Option<(Height, &ValidatorSet)>,
    ) -> Result<()> {
        self.save_results_with(h, txs, res, new_set, redb::Durability::None)
    }

    /// Make every height stored so far durable (one fsync).
    pub fn make_durable(&self) -> Result<()> {
        // A durable commit, even an empty one, carries the undurable ones before it.
        self.db.begin_write()?.commit()?;
        Ok(())
    }

    fn save_results_with(
        &self,
        h: Height,
        txs: &[Vec<u8>],
        res: &keystone_proto::abci::ResponseFinalizeBlock,
        new_set: Option<(Height, &ValidatorSet)>,
        durability: redb::Durability,
    ) -> Result<()> {
        let mut txn = self.db.begin_write()?;
        txn.set_durability(durability)?;
        txn.open_table(RESULTS)?
            .insert(h, res.encode_to_vec().as_slice())?;
        if let Some((at, set)) = new_set {
            txn.open_table(VALIDATOR_SETS)?
                .insert(at, set.to_proto().encode_to_vec().as_slice())?;
        }
        if self.index {
            IndexEntries::of(h, txs, res)?.write(&txn, h)?;
        }
        txn.commit()?;
        Ok(())
    }

    /// Remove the highest stored height — its block, id, hash, commit, results, index
    /// entries, committed evidence, and the validator set its results recorded — durably, as
    /// CometBFT's `rollback --hard` does: the node then decides or fetches that height again.
    /// The block is kept among the blocks known for the height in progress (as one this node
    /// built), so the WAL's votes for it can decide it again.
    /// Returns the height removed (0: the store was empty).
    pub fn remove_last(&self) -> Result<Height> {
        let h = self.height()?;
        if h == 0 {
            return Ok(0);
        }
        let block = self
            .block_proto(h)?
            .ok_or_else(|| BlockStoreError::Corrupt {
                height: h,
                reason: "the highest block is missing".into(),
            })?;
        let id = self.block_id(h)?;
        let results = self.results(h)?;
        let txs = block
            .data
            .as_ref()
            .map(|d| d.txs.clone())
            .unwrap_or_default();
        let txn = self.db.begin_write()?;
        // The block stays at hand as one this node knows for the height: replaying the WAL,
        // which holds this node's votes for it, can decide it again without fetching it.
        if let Some(id) = &id {
            txn.open_table(BUILT)?
                .insert(id.hash.0.as_slice(), block.encode_to_vec().as_slice())?;
        }
        txn.open_table(BLOCKS)?.remove(h)?;
        txn.open_table(BLOCK_IDS)?.remove(h)?;
        if let Some(id) = id {
            txn.open_table(BLOCK_HASHES)?.remove(id.hash.0.as_slice())?;
        }
        txn.open_table(COMMITS)?.remove(h)?;
        txn.open_table(RESULTS)?.remove(h)?;
        txn.open_table(COMMITTED_EVIDENCE)?
            .retain(|_, at| at != h)?;
        if let Some(res) = &results {
            IndexEntries::of(h, &txs, res)?.remove(&txn, h)?;
            // The set the results of `h` recorded takes effect at `h + 2`; executing the
            // height again records it again.
            txn.open_table(VALIDATOR_SETS)?.remove(h + 2)?;
        }
        txn.commit()?;
        self.top.store(
            Self::stored_height(&self.db)?,
            std::sync::atomic::Ordering::Release,
        );
        Ok(h)
    }

    /// Remove every height below `retain` (never the highest one): blocks, ids, hashes,
    /// commits, results, committed evidence, and the validator-set records no kept height
    /// needs (the last one at or below `retain` stays, as the sets above it count from it).
    /// The transaction and event indexes stay, as CometBFT's block pruning leaves them; a
    /// pruned transaction's lookup then finds its block gone. The application's
    /// `retain_height` (the SDK's `min-retain-blocks`) drives it.
    ///
    /// Not durable on its own: it reaches the disk with the next durable write, and a crash
    /// before then only leaves the blocks for the next commit to prune again. Returns how
    /// many heights went.
    pub fn prune_below(&self, retain: Height) -> Result<u64> {
        let base = self.base()?;
        let top = self.height()?;
        let retain = retain.min(top);
        if base == 0 || retain <= base {
            return Ok(0);
        }
        let mut txn = self.db.begin_write()?;
        txn.set_durability(redb::Durability::None)?;
        {
            let mut blocks = txn.open_table(BLOCKS)?;
            let mut ids = txn.open_table(BLOCK_IDS)?;
            let mut hashes = txn.open_table(BLOCK_HASHES)?;
            let mut commits = txn.open_table(COMMITS)?;
            let mut results = txn.open_table(RESULTS)?;
            for h in base..retain {
                blocks.remove(h)?;
                if let Some(id) = ids.remove(h)? {
                    let id =
                        pb::BlockId::decode(id.value()).map_err(|e| BlockStoreError::Corrupt {
                            height: h,
                            reason: format!("block id: {e}"),
                        })?;
                    hashes.remove(id.hash.as_slice())?;
                }
                commits.remove(h)?;
                results.remove(h)?;
            }
            txn.open_table(COMMITTED_EVIDENCE)?
                .retain(|_, at| at >= retain)?;
            let mut sets = txn.open_table(VALIDATOR_SETS)?;
            let keep_from = sets
                .range(..=retain)?
                .next_back()
                .transpose()?
                .map(|(k, _)| k.value());
            if let Some(keep_from) = keep_from {
                sets.retain_in(..keep_from, |_, _| false)?;
            }
        }
        txn.commit()?;
        Ok(retain - base)
    }

    /// The (height, index) of every committed transaction matching `query`, in order.
    pub fn search_txs(&self, query: &Query) -> Result<Vec<(Height, u32)>> {
        if !self.index {
            return Err(BlockStoreError::TxIndexDisabled);
        }
        index::search_txs(&self.db.begin_read()?, query)
    }

    /// Every height whose block events (or `block.height`) match `query`, in order.
    pub fn search_blocks(&self, query: &Query) -> Result<Vec<Height>> {
        if !self.index {
            return Err(BlockStoreError::BlockIndexDisabled);
        }
        index::search_blocks(&self.db.begin_read()?, query)
    }

    /// The application's answer to `FinalizeBlock` for height `h`.
    pub fn results(
        &self,
        h: Height,
    ) -> Result<Option<keystone_proto::abci::ResponseFinalizeBlock>> {
        self.read(RESULTS, h, |b| {
            keystone_proto::abci::ResponseFinalizeBlock::decode(b).map_err(|e| e.to_string())
        })
    }

    /// The canonical commit of `h`: the one block `h + 1` carries as its `last_commit` when
    /// that block is stored (what every node agrees on, and what CometBFT's `commit` RPC
    /// answers), else this node's seen commit.
    pub fn canonical_commit(&self, h: Height) -> Result<Option<Commit>> {
        if let Some(next) = self.block_proto(h + 1)? {
            if let Some(c) = next.last_commit.as_ref() {
                return Commit::from_proto(c)
                    .map(Some)
                    .map_err(|e| BlockStoreError::Corrupt {
                        height: h + 1,
                        reason: e.to_string(),
                    });
            }
        }
        self.commit(h)
    }

    /// The commit this node saw finalise the block at `h` (+2/3 of the precommits, as they
    /// stood when the block was decided here or as block sync brought them).
    pub fn commit(&self, h: Height) -> Result<Option<Commit>> {
        self.read(COMMITS, h, |b| {
            let p = pb::Commit::decode(b).map_err(|e| e.to_string())?;
            Commit::from_proto(&p).map_err(|e| e.to_string())
        })
    }
}
