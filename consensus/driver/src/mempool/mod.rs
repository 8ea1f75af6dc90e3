//! The mempool: transactions the application admitted with `CheckTx`, in arrival order,
//! bounded by count and bytes, with a cache of recently seen hashes so the same transaction is
//! not checked (or gossiped) twice. The proposer reaps from the front by bytes and gas; after
//! each commit the block's transactions leave and the rest are checked again (`Recheck`),
//! since the new state may have invalidated them (a spent sequence number, say).
//!
//! Where CheckTx runs ([`checks`]): an application that offers a mempool connection
//! ([`keystone_proto::AppChecker`]) is checked on the mempool's own thread, as CometBFT checks
//! on a connection of its own — clients' and peers' transactions are admitted while a block
//! executes, and the recheck after a commit runs there too, so it never holds up the next
//! proposal. The proposer reaps in arrival order whether or not a transaction's recheck has
//! run yet (as CometBFT does with `recheck = false`): a transaction the recheck would have
//! dropped then fails in the block, deterministically, and costs only its block space — on a
//! busy node the recheck of a full mempool takes longer than `timeout_commit`, and blocks
//! holding only what was rechecked carried a quarter of what they could (measured: ~280 of
//! ~1,500 held). New transactions wait for the recheck, as in CometBFT, so a client's next
//! sequence number is checked against the state its previous one left.
//! Without a mempool connection (or without the thread: the simulator, tests) CheckTx and the
//! recheck run on the engine's thread, in the same order.

use keystone_consensus_types::{sha256, Hash};
use keystone_proto::abci;
use keystone_proto::prost::bytes::Bytes;
use keystone_proto::{AppChecker, AppError, Application};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};

pub mod checks;
use checks::{CheckJob, CheckQueue, CheckReply};

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
    /// Check what is held again after each commit (`recheck`); without it a transaction a
    /// block made invalid stays until a proposer includes it and it fails there.
    pub recheck: bool,
}

impl Default for MempoolConfig {
    fn default() -> Self {
        MempoolConfig {
            max_txs: 5000,
            max_bytes: 1 << 30,
            max_tx_bytes: 1 << 20,
            cache_size: 10_000,
            recheck: true,
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
    /// More bytes wait to be checked than the mempool's thread queues: shed, as when full
    /// (the text starts as CometBFT's, which clients match).
    #[error(
        "mempool is full: {bytes} bytes of transactions wait to be checked (max: {max_bytes})"
    )]
    Busy {
        /// Bytes waiting.
        bytes: usize,
        /// Limit.
        max_bytes: usize,
    },
    /// The node is stopping: nothing is checked any more.
    #[error("the node is shutting down")]
    Stopping,
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
    /// Held transactions (by arrival number) still to be rechecked since the last commit, in
    /// arrival order.
    recheck: VecDeque<u64>,
    /// Transactions the application refused in CheckTx, ever (metrics).
    failed: u64,
    /// Times the held transactions were rechecked after a commit, ever (metrics).
    recheck_times: u64,
}

/// What the mempool has counted since the node started (Prometheus' `mempool_*`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MempoolCounts {
    /// Transactions held.
    pub size: usize,
    /// Their bytes.
    pub bytes: usize,
    /// Transactions the application refused in CheckTx.
    pub failed: u64,
    /// Rechecks of what was held after a commit.
    pub recheck_times: u64,
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
            recheck: VecDeque::new(),
            failed: 0,
            recheck_times: 0,
        }
    }

    /// Its counts (see [`MempoolCounts`]).
    pub fn counts(&self) -> MempoolCounts {
        MempoolCounts {
            size: self.txs.len(),
            bytes: self.bytes,
            failed: self.failed,
            recheck_times: self.recheck_times,
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
            self.failed += 1;
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
    /// `max_gas` (negative: no gas limit) — rechecked since the last commit or not (see the
    /// module's docs).
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
        if !self.config.recheck {
            self.drop_committed(committed);
            return Ok(());
        }
        let rest = self.remove_committed(committed);
        if !rest.is_empty() {
            self.recheck_times += 1;
        }
        for (h, tx) in rest {
            let res = check(app, &tx, abci::CheckTxType::Recheck)?;
            self.settle_recheck(&h, &res);
        }
        Ok(())
    }

    /// The block's transactions leave (they stay in the cache: a committed transaction must
    /// not come back).
    fn drop_committed(&mut self, committed: &[Vec<u8>]) {
        for tx in committed {
            let h = sha256(tx);
            self.remember(h);
            self.remove(&h);
        }
    }

    /// The block's transactions leave; what is left, to be checked again.
    fn remove_committed(&mut self, committed: &[Vec<u8>]) -> Vec<(Hash, Vec<u8>)> {
        self.drop_committed(committed);
        self.txs
            .values()
            .map(|e| (sha256(&e.tx), e.tx.clone()))
            .collect()
    }

    /// The block's transactions leave; the rest wait for their recheck.
    fn committed_later(&mut self, committed: &[Vec<u8>]) {
        self.drop_committed(committed);
        self.recheck = self.txs.keys().copied().collect();
        if !self.recheck.is_empty() {
            self.recheck_times += 1;
        }
    }

    /// The next held transaction to recheck: its arrival number, hash and bytes.
    fn next_recheck(&mut self) -> Option<(u64, Hash, Vec<u8>)> {
        while let Some(seq) = self.recheck.pop_front() {
            if let Some(e) = self.txs.get(&seq) {
                return Some((seq, sha256(&e.tx), e.tx.clone()));
            }
        }
        None
    }

    fn settle_recheck(&mut self, h: &Hash, res: &abci::ResponseCheckTx) {
        if res.code != 0 {
            self.remove(h);
            self.forget(h);
        }
    }

    /// Transactions waiting for their recheck.
    pub fn rechecks_pending(&self) -> usize {
        self.recheck.len()
    }
}

fn check(
    app: &mut dyn Application,
    tx: &[u8],
    kind: abci::CheckTxType,
) -> Result<abci::ResponseCheckTx, AppError> {
    app.check_tx(request(tx, kind))
}

/// The mempool under its own lock, shared by the engine (which reaps, and updates after a
/// commit), the mempool's thread (which checks) and readers on other threads (RPC
/// `unconfirmed_txs`). The lock is never held while the application checks a transaction, so
/// a reader or the proposer waits for bookkeeping only.
#[derive(Clone)]
pub struct SharedMempool {
    inner: Arc<Mutex<Mempool>>,
    /// The application's mempool connection, if it offers one.
    checker: Option<Arc<dyn AppChecker>>,
    /// Held by every check through `checker` and by the engine across the application's
    /// Commit and the update after it: the check state never changes under a check, and no
    /// new transaction is checked between a commit and its recheck's start.
    checking: Arc<Mutex<()>>,
    /// The mempool thread's queue, once it runs ([`checks::start`]).
    queue: Arc<OnceLock<CheckQueue>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Every method leaves the mempool whole before it could panic (the application is called
    // with the lock let go), and the checking lock guards no data: a poisoned lock still
    // guards a consistent mempool.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The engine's hold on the mempool from before the application's Commit until the update
/// after it ([`SharedMempool::pause`]).
pub struct Paused<'a>(#[allow(dead_code)] MutexGuard<'a, ()>);

impl SharedMempool {
    /// `mempool`, shared, checking through `checker` when the application offers one.
    pub fn new(mempool: Mempool, checker: Option<Arc<dyn AppChecker>>) -> Self {
        SharedMempool {
            inner: Arc::new(Mutex::new(mempool)),
            checker,
            checking: Arc::new(Mutex::new(())),
            queue: Arc::new(OnceLock::new()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Mempool> {
        lock(&self.inner)
    }

    /// Transactions held.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Its counts (see [`MempoolCounts`]).
    pub fn counts(&self) -> MempoolCounts {
        self.lock().counts()
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

    /// See [`Mempool::rechecks_pending`].
    pub fn rechecks_pending(&self) -> usize {
        self.lock().rechecks_pending()
    }

    /// Does the mempool's thread run (checks and rechecks happen there)?
    pub fn threaded(&self) -> bool {
        self.queue.get().is_some()
    }

    /// Offer `tx` on the engine's thread: through the mempool connection when there is one
    /// (rechecks still pending first), through `app` otherwise. The lock is let go while the
    /// application checks.
    pub fn check_tx(
        &self,
        app: &mut dyn Application,
        tx: Vec<u8>,
    ) -> Result<abci::ResponseCheckTx, MempoolError> {
        if self.checker.is_some() {
            return self.check_new(tx);
        }
        let h = self.lock().admit(&tx)?;
        let res = check(app, &tx, abci::CheckTxType::New);
        self.lock().settle(h, tx, res)
    }

    /// CheckTx through the mempool connection, after any recheck still pending (so `tx` is
    /// checked against the state the held transactions leave, as CometBFT orders them).
    fn check_new(&self, tx: Vec<u8>) -> Result<abci::ResponseCheckTx, MempoolError> {
        let Some(checker) = &self.checker else {
            return Err(MempoolError::App(AppError(
                "the application has no mempool connection".into(),
            )));
        };
        loop {
            let _checking = lock(&self.checking);
            if self.recheck_one(checker.as_ref())? {
                continue;
            }
            let h = self.lock().admit(&tx)?;
            let res = checker.check_tx(request(&tx, abci::CheckTxType::New));
            return self.lock().settle(h, tx, res);
        }
    }

    /// Recheck the next held transaction, if one waits; the caller holds `checking`.
    fn recheck_one(&self, checker: &dyn AppChecker) -> Result<bool, AppError> {
        let Some((_, h, tx)) = self.lock().next_recheck() else {
            return Ok(false);
        };
        let res = match checker.check_tx(request(&tx, abci::CheckTxType::Recheck)) {
            Ok(res) => res,
            Err(e) => {
                // Left unrechecked it would hold back every transaction behind it.
                let mut m = self.lock();
                m.remove(&h);
                m.forget(&h);
                return Err(e);
            }
        };
        self.lock().settle_recheck(&h, &res);
        Ok(true)
    }

    /// Recheck every held transaction still waiting for it (the mempool's thread, between
    /// jobs), one at a time so that a commit need not wait for all of them.
    pub fn finish_rechecks(&self) -> Result<(), AppError> {
        let Some(checker) = &self.checker else {
            return Ok(());
        };
        loop {
            let _checking = lock(&self.checking);
            if !self.recheck_one(checker.as_ref())? {
                return Ok(());
            }
        }
    }

    /// `CheckTx` of `tx` alone, not offered to the mempool (RPC `check_tx`).
    pub fn check_alone(
        &self,
        app: &mut dyn Application,
        tx: Vec<u8>,
    ) -> Result<abci::ResponseCheckTx, AppError> {
        match &self.checker {
            Some(checker) => {
                let _checking = lock(&self.checking);
                checker.check_tx(request(&tx, abci::CheckTxType::New))
            }
            None => check(app, &tx, abci::CheckTxType::New),
        }
    }

    /// Hold off checks: the engine calls this before the application's Commit and keeps it
    /// until [`SharedMempool::update`] is done.
    pub fn pause(&self) -> Paused<'_> {
        Paused(lock(&self.checking))
    }

    /// After a commit (the caller holds `paused`): the block's transactions leave and the
    /// rest are rechecked — by the mempool's thread when it runs (the proposer meanwhile
    /// reaps only what is rechecked), here otherwise.
    pub fn update(
        &self,
        _paused: &Paused<'_>,
        app: &mut dyn Application,
        committed: &[Vec<u8>],
    ) -> Result<(), AppError> {
        {
            let mut m = self.lock();
            if !m.config.recheck {
                m.drop_committed(committed);
                return Ok(());
            }
        }
        if let (Some(_), Some(queue)) = (&self.checker, self.queue.get()) {
            let pending = {
                let mut m = self.lock();
                m.committed_later(committed);
                m.rechecks_pending()
            };
            if pending > 0 {
                queue.wake();
            }
            return Ok(());
        }
        let held = self.lock().remove_committed(committed);
        for (h, tx) in held {
            let res = match &self.checker {
                Some(c) => c.check_tx(request(&tx, abci::CheckTxType::Recheck))?,
                None => check(app, &tx, abci::CheckTxType::Recheck)?,
            };
            self.lock().settle_recheck(&h, &res);
        }
        Ok(())
    }

    /// Offer a client's `tx` to the mempool's thread, which answers `reply`; back to the
    /// caller when the thread does not run (check it on the engine's thread).
    #[allow(clippy::result_large_err)]
    pub fn offer(&self, tx: Vec<u8>, reply: CheckReply) -> Result<(), (Vec<u8>, CheckReply)> {
        match self.queue.get() {
            None => Err((tx, reply)),
            Some(q) => {
                q.push(CheckJob::Client(tx, reply));
                Ok(())
            }
        }
    }

    /// Offer a peer's transactions to the mempool's thread (admitted ones are passed on to
    /// the other peers); back to the caller when the thread does not run.
    pub fn offer_from_peer(&self, peer: &str, txs: Vec<Vec<u8>>) -> Result<(), Vec<Vec<u8>>> {
        match self.queue.get() {
            None => Err(txs),
            Some(q) => {
                q.push(CheckJob::Peer(peer.to_owned(), txs));
                Ok(())
            }
        }
    }
}

fn request(tx: &[u8], kind: abci::CheckTxType) -> abci::RequestCheckTx {
    abci::RequestCheckTx {
        tx: Bytes::copy_from_slice(tx),
        r#type: kind as i32,
    }
}
