//! The mempool: transactions the application admitted with `CheckTx`, in arrival order,
//! bounded by count and bytes, with a cache of recently seen hashes so the same transaction is
//! not checked (or gossiped) twice. The proposer reaps from the front by bytes and gas; after
//! each commit the block's transactions leave and the rest are checked again (`Recheck`),
//! since the new state may have invalidated them (a spent sequence number, say).

use keystone_consensus_types::{sha256, Hash};
use keystone_proto::abci;
use keystone_proto::prost::bytes::Bytes;
use keystone_proto::{AppError, Application};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

/// Mempool bounds (CometBFT's `[mempool]` defaults).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MempoolConfig {
    /// Most transactions held (`size`).
    pub max_txs: usize,
    /// Most bytes held (`max_txs_bytes`).
    pub max_bytes: usize,
    /// Largest single transaction (`max_tx_bytes`).
    pub max_tx_bytes: usize,
    /// Hashes remembered as seen (`cache_size`).
    pub cache_size: usize,
}

impl Default for MempoolConfig {
    fn default() -> Self {
        MempoolConfig {
            max_txs: 5000,
            max_bytes: 1 << 30,
            max_tx_bytes: 1 << 20,
            cache_size: 10_000,
        }
    }
}

/// Why a transaction was not admitted (the application's own refusals come back as a
/// `ResponseCheckTx` with a non-zero code instead).
#[derive(Debug, thiserror::Error)]
pub enum MempoolError {
    /// Larger than `max_tx_bytes`.
    #[error("tx too large. Max size is {max}, but got {got}")]
    TooLarge {
        /// Limit.
        max: usize,
        /// Size.
        got: usize,
    },
    /// Seen recently.
    #[error("tx already exists in cache")]
    InCache,
    /// No room.
    #[error("mempool is full: number of txs {txs} (max: {max_txs}), total txs bytes {bytes} (max: {max_bytes})")]
    Full {
        /// Held.
        txs: usize,
        /// Limit.
        max_txs: usize,
        /// Held bytes.
        bytes: usize,
        /// Limit.
        max_bytes: usize,
    },
    /// The application failed (not a refusal: the call itself).
    #[error(transparent)]
    App(#[from] AppError),
}

struct Entry {
    tx: Vec<u8>,
    gas_wanted: i64,
}

/// The mempool.
pub struct Mempool {
    config: MempoolConfig,
    next: u64,
    txs: BTreeMap<u64, Entry>,
    by_hash: BTreeMap<Hash, u64>,
    bytes: usize,
    cache: VecDeque<Hash>,
    cached: BTreeSet<Hash>,
}

impl Mempool {
    /// An empty mempool.
    pub fn new(config: MempoolConfig) -> Self {
        Mempool {
            config,
            next: 0,
            txs: BTreeMap::new(),
            by_hash: BTreeMap::new(),
            bytes: 0,
            cache: VecDeque::new(),
            cached: BTreeSet::new(),
        }
    }

    /// Transactions held.
    pub fn len(&self) -> usize {
        self.txs.len()
    }

    /// Nothing held.
    pub fn is_empty(&self) -> bool {
        self.txs.is_empty()
    }

    /// Bytes held.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Is `hash` held?
    pub fn contains(&self, hash: &Hash) -> bool {
        self.by_hash.contains_key(hash)
    }

    fn remember(&mut self, h: Hash) -> bool {
        if !self.cached.insert(h) {
            return false;
        }
        self.cache.push_back(h);
        while self.cache.len() > self.config.cache_size {
            if let Some(old) = self.cache.pop_front() {
                self.cached.remove(&old);
            }
        }
        true
    }

    fn forget(&mut self, h: &Hash) {
        if self.cached.remove(h) {
            self.cache.retain(|x| x != h);
        }
    }

    /// Offer `tx`: bounds, the seen cache, then the application's `CheckTx`. Admitted only if
    /// the application answers code 0; a refused transaction leaves the cache so that it may
    /// be offered again (it may become valid).
    pub fn check_tx(
        &mut self,
        app: &mut dyn Application,
        tx: Vec<u8>,
    ) -> Result<abci::ResponseCheckTx, MempoolError> {
        let h = self.admit(&tx)?;
        let res = check(app, &tx, abci::CheckTxType::New);
        self.settle(h, tx, res)
    }

    /// Before `CheckTx`: the bounds and the seen cache. The hash is remembered from here on,
    /// so the same transaction offered again meanwhile is refused as seen.
    fn admit(&mut self, tx: &[u8]) -> Result<Hash, MempoolError> {
        if tx.len() > self.config.max_tx_bytes {
            return Err(MempoolError::TooLarge {
                max: self.config.max_tx_bytes,
                got: tx.len(),
            });
        }
        self.room_for(tx.len())?;
        let h = sha256(tx);
        if !self.remember(h) {
            return Err(MempoolError::InCache);
        }
        Ok(h)
    }

    fn room_for(&self, len: usize) -> Result<(), MempoolError> {
        if self.txs.len() >= self.config.max_txs || self.bytes + len > self.config.max_bytes {
            return Err(MempoolError::Full {
                txs: self.txs.len(),
                max_txs: self.config.max_txs,
                bytes: self.bytes,
                max_bytes: self.config.max_bytes,
            });
        }
        Ok(())
    }

    /// After `CheckTx`: keep `tx` if the application admitted it and there is still room (the
    /// lock may have been let go while the application checked it).
    fn settle(
        &mut self,
        h: Hash,
        tx: Vec<u8>,
        res: Result<abci::ResponseCheckTx, AppError>,
    ) -> Result<abci::ResponseCheckTx, MempoolError> {
        let res = match res {
            Ok(r) => r,
            Err(e) => {
                self.forget(&h);
                return Err(e.into());
            }
        };
        if res.code != 0 {
            self.forget(&h);
            return Ok(res);
        }
        if let Err(full) = self.room_for(tx.len()) {
            self.forget(&h);
            return Err(full);
        }
        self.bytes += tx.len();
        self.by_hash.insert(h, self.next);
        self.txs.insert(
            self.next,
            Entry {
                tx,
                gas_wanted: res.gas_wanted,
            },
        );
        self.next += 1;
        Ok(res)
    }

    /// The first `limit` transactions waiting, in arrival order (RPC `unconfirmed_txs`).
    pub fn first(&self, limit: usize) -> Vec<Vec<u8>> {
        self.txs
            .values()
            .take(limit)
            .map(|e| e.tx.clone())
            .collect()
    }

    /// Transactions from the front, in arrival order, while they fit in `max_bytes` and
    /// `max_gas` (negative: no gas limit).
    pub fn reap(&self, max_bytes: i64, max_gas: i64) -> Vec<Vec<u8>> {
        let (mut bytes, mut gas) = (0i64, 0i64);
        let mut out = Vec::new();
        for e in self.txs.values() {
            bytes += e.tx.len() as i64;
            gas = gas.saturating_add(e.gas_wanted.max(0));
            if (max_bytes >= 0 && bytes > max_bytes) || (max_gas >= 0 && gas > max_gas) {
                break;
            }
            out.push(e.tx.clone());
        }
        out
    }

    fn remove(&mut self, h: &Hash) {
        if let Some(seq) = self.by_hash.remove(h) {
            if let Some(e) = self.txs.remove(&seq) {
                self.bytes -= e.tx.len();
            }
        }
    }

    /// After a block commits: drop its transactions (they stay in the cache: a committed
    /// transaction must not come back), then `Recheck` the rest against the new state and
    /// drop those the application now refuses.
    pub fn update(
        &mut self,
        app: &mut dyn Application,
        committed: &[Vec<u8>],
    ) -> Result<(), AppError> {
        for (h, tx) in self.remove_committed(committed) {
            let res = check(app, &tx, abci::CheckTxType::Recheck)?;
            self.settle_recheck(&h, &res);
        }
        Ok(())
    }

    /// The block's transactions leave; what is left, to be checked again.
    fn remove_committed(&mut self, committed: &[Vec<u8>]) -> Vec<(Hash, Vec<u8>)> {
        for tx in committed {
            let h = sha256(tx);
            self.remember(h);
            self.remove(&h);
        }
        self.txs
            .values()
            .map(|e| (sha256(&e.tx), e.tx.clone()))
            .collect()
    }

    fn settle_recheck(&mut self, h: &Hash, res: &abci::ResponseCheckTx) {
        if res.code != 0 {
            self.remove(h);
            self.forget(h);
        }
    }
}

fn check(
    app: &mut dyn Application,
    tx: &[u8],
    kind: abci::CheckTxType,
) -> Result<abci::ResponseCheckTx, AppError> {
    app.check_tx(abci::RequestCheckTx {
        tx: Bytes::copy_from_slice(tx),
        r#type: kind as i32,
    })
}

/// The mempool under its own lock, shared by the engine (which admits, reaps and updates) and
/// by readers on other threads (RPC `unconfirmed_txs`). The lock is never held while the
/// application checks a transaction, so a reader waits for bookkeeping only.
#[derive(Clone)]
pub struct SharedMempool(Arc<Mutex<Mempool>>);

impl SharedMempool {
    /// `mempool`, shared.
    pub fn new(mempool: Mempool) -> Self {
        SharedMempool(Arc::new(Mutex::new(mempool)))
    }

    fn lock(&self) -> MutexGuard<'_, Mempool> {
        // Every method leaves the mempool whole before it could panic (the application is
        // called with the lock let go): a poisoned lock still guards a consistent mempool.
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Transactions held.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Nothing held.
    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    /// Bytes held.
    pub fn bytes(&self) -> usize {
        self.lock().bytes()
    }

    /// Is `hash` held?
    pub fn contains(&self, hash: &Hash) -> bool {
        self.lock().contains(hash)
    }

    /// See [`Mempool::first`].
    pub fn first(&self, limit: usize) -> Vec<Vec<u8>> {
        self.lock().first(limit)
    }

    /// See [`Mempool::reap`].
    pub fn reap(&self, max_bytes: i64, max_gas: i64) -> Vec<Vec<u8>> {
        self.lock().reap(max_bytes, max_gas)
    }

    /// See [`Mempool::check_tx`]; the lock is let go while the application checks.
    pub fn check_tx(
        &self,
        app: &mut dyn Application,
        tx: Vec<u8>,
    ) -> Result<abci::ResponseCheckTx, MempoolError> {
        let h = self.lock().admit(&tx)?;
        let res = check(app, &tx, abci::CheckTxType::New);
        self.lock().settle(h, tx, res)
    }

    /// See [`Mempool::update`]; the lock is let go while the application rechecks.
    pub fn update(&self, app: &mut dyn Application, committed: &[Vec<u8>]) -> Result<(), AppError> {
        let held = self.lock().remove_committed(committed);
        for (h, tx) in held {
            let res = check(app, &tx, abci::CheckTxType::Recheck)?;
            self.lock().settle_recheck(&h, &res);
        }
        Ok(())
    }
}
