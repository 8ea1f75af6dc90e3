//! The mempool's thread: CheckTx through the application's mempool connection, away from the
//! engine's thread. Clients' and peers' transactions queue here (bounded in bytes: past the
//! bound a client is told the mempool is full and a peer's transactions are dropped, as gossip
//! may be); between jobs the thread rechecks what a commit left; what it admits it gossips
//! itself, a client's in batches ([`GOSSIP_LINGER`]).
//!
//! What does not live here: the mempool's rules ([`super::Mempool`]) and the order of checks
//! against commits ([`super::SharedMempool`]). The simulator runs no thread: its nodes check
//! on the engine's thread, through the same [`super::SharedMempool`] calls.

use super::{lock, MempoolError, SharedMempool};
use keystone_proto::abci;
use std::collections::VecDeque;
use std::sync::{Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Where a client's CheckTx answer goes.
pub type CheckReply = Box<dyn FnOnce(Result<abci::ResponseCheckTx, MempoolError>) + Send>;

/// Sends transactions the mempool admitted on to the peers: to all but `except`.
pub type TxGossip = Box<dyn Fn(Option<&str>, Vec<Vec<u8>>) + Send>;

/// Most bytes of transactions waiting for the mempool's thread.
pub const QUEUE_BYTES: usize = 16 << 20;

/// Most transactions gossiped in one message: the most a peer takes in one.
pub const TX_BATCH: usize = crate::reactor::MAX_TXS_PER_MESSAGE;
/// Most bytes of transactions gossiped in one message.
pub const TX_BATCH_BYTES: usize = 256 * 1024;

/// Longest a client's admitted transaction waits for others to be gossiped with: one
/// message per batch costs each peer far less than one per transaction (framing,
/// encryption, a wake-up of its node), and checks are quick enough that a batch rarely
/// gathers without waiting a little.
pub const GOSSIP_LINGER: Duration = Duration::from_millis(10);

/// Work for the mempool's thread.
pub enum CheckJob {
    /// A client's transaction and where its answer goes.
    Client(Vec<u8>, CheckReply),
    /// A peer's transactions.
    Peer(String, Vec<Vec<u8>>),
}

impl CheckJob {
    fn bytes(&self) -> usize {
        match self {
            CheckJob::Client(tx, _) => tx.len(),
            CheckJob::Peer(_, txs) => txs.iter().map(Vec::len).sum(),
        }
    }
}

#[derive(Default)]
struct QueueState {
    jobs: VecDeque<CheckJob>,
    bytes: usize,
    /// A commit left rechecks.
    woken: bool,
    closed: bool,
}

/// The jobs waiting for the mempool's thread.
pub(crate) struct CheckQueue {
    state: Mutex<QueueState>,
    ready: Condvar,
    max_bytes: usize,
}

impl CheckQueue {
    fn new(max_bytes: usize) -> Self {
        CheckQueue {
            state: Mutex::new(QueueState::default()),
            ready: Condvar::new(),
            max_bytes,
        }
    }

    /// Queue `job`, or shed it when the queue is over its bytes or closed.
    pub(crate) fn push(&self, job: CheckJob) {
        let n = job.bytes();
        let mut s = lock(&self.state);
        if s.closed || s.bytes.saturating_add(n) > self.max_bytes {
            let (bytes, closed) = (s.bytes, s.closed);
            drop(s);
            match job {
                CheckJob::Client(_, reply) if closed => reply(Err(MempoolError::Stopping)),
                CheckJob::Client(_, reply) => reply(Err(MempoolError::Busy {
                    bytes,
                    max_bytes: self.max_bytes,
                })),
                CheckJob::Peer(peer, txs) => {
                    tracing::debug!(%peer, txs = txs.len(), bytes, "mempool queue full: dropping a peer's transactions");
                }
            }
            return;
        }
        s.bytes += n;
        s.jobs.push_back(job);
        self.ready.notify_one();
    }

    /// A commit left transactions to recheck.
    pub(crate) fn wake(&self) {
        lock(&self.state).woken = true;
        self.ready.notify_one();
    }

    fn close(&self) {
        lock(&self.state).closed = true;
        self.ready.notify_all();
    }

    /// Everything queued, once there is something (or rechecks to do) or `until` passes.
    fn next(&self, until: Option<Instant>) -> Next {
        let mut s = lock(&self.state);
        loop {
            if s.closed {
                return Next::Closed;
            }
            if !s.jobs.is_empty() || s.woken {
                s.woken = false;
                s.bytes = 0;
                return Next::Jobs(s.jobs.drain(..).collect());
            }
            s = match until {
                None => self.ready.wait(s).unwrap_or_else(|p| p.into_inner()),
                Some(t) => {
                    let wait = t.saturating_duration_since(Instant::now());
                    if wait.is_zero() {
                        return Next::Jobs(Vec::new());
                    }
                    self.ready
                        .wait_timeout(s, wait)
                        .unwrap_or_else(|p| p.into_inner())
                        .0
                }
            };
        }
    }
}

/// What the mempool's thread does next.
enum Next {
    /// These jobs (none: the wait is over).
    Jobs(Vec<CheckJob>),
    /// Stop.
    Closed,
}

/// Transactions admitted and waiting to be gossiped together: a stream of submissions costs
/// each peer one message per batch, not one per transaction.
#[derive(Default)]
pub struct TxBatch {
    txs: Vec<Vec<u8>>,
    bytes: usize,
}

impl TxBatch {
    /// Add `tx`; the batch, when it is full.
    pub fn push(&mut self, tx: Vec<u8>) -> Option<Vec<Vec<u8>>> {
        self.bytes += tx.len();
        self.txs.push(tx);
        (self.txs.len() >= TX_BATCH || self.bytes >= TX_BATCH_BYTES).then(|| self.take())
    }

    /// Everything waiting.
    pub fn take(&mut self) -> Vec<Vec<u8>> {
        self.bytes = 0;
        std::mem::take(&mut self.txs)
    }

    /// Nothing waiting.
    pub fn is_empty(&self) -> bool {
        self.txs.is_empty()
    }
}

/// The mempool's thread, while it runs; dropping this stops it.
pub struct Running {
    mempool: SharedMempool,
    thread: Option<JoinHandle<()>>,
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(q) = self.mempool.queue.get() {
            q.close();
        }
        if let Some(t) = self.thread.take() {
            // A panic there has been reported on its own thread already.
            let _ = t.join();
        }
    }
}

/// Start the mempool's thread: from now on clients' and peers' transactions offered to
/// `mempool` are checked there and what it admits goes to `gossip`. `None` when the
/// application has no mempool connection (checks stay on the engine's thread) or a thread
/// already runs.
pub fn start(mempool: &SharedMempool, gossip: TxGossip) -> std::io::Result<Option<Running>> {
    if mempool.checker.is_none() || mempool.queue.set(CheckQueue::new(QUEUE_BYTES)).is_err() {
        return Ok(None);
    }
    let m = mempool.clone();
    let thread = std::thread::Builder::new()
        .name("mempool".into())
        .spawn(move || serve(&m, &gossip))?;
    Ok(Some(Running {
        mempool: mempool.clone(),
        thread: Some(thread),
    }))
}

fn serve(m: &SharedMempool, gossip: &TxGossip) {
    let Some(queue) = m.queue.get() else {
        return;
    };
    // Clients' admitted transactions, and since when the oldest has waited to be gossiped.
    let mut batch = TxBatch::default();
    let mut since: Option<Instant> = None;
    loop {
        if let Err(e) = m.finish_rechecks() {
            tracing::error!(error = %e, "recheck failed; the transaction was dropped");
            continue;
        }
        let jobs = match queue.next(since.map(|t| t + GOSSIP_LINGER)) {
            Next::Closed => return,
            Next::Jobs(jobs) => jobs,
        };
        for job in jobs {
            match job {
                CheckJob::Client(tx, reply) => {
                    let res = m.check_new(tx.clone());
                    if matches!(&res, Ok(r) if r.code == 0) {
                        since.get_or_insert_with(Instant::now);
                        if let Some(full) = batch.push(tx) {
                            gossip(None, full);
                            since = None;
                        }
                    }
                    reply(res);
                }
                CheckJob::Peer(peer, txs) => {
                    let admitted: Vec<Vec<u8>> = txs
                        .into_iter()
                        .filter(|tx| matches!(m.check_new(tx.clone()), Ok(r) if r.code == 0))
                        .collect();
                    if !admitted.is_empty() {
                        gossip(Some(&peer), admitted);
                    }
                }
            }
        }
        if since.is_some_and(|t| t.elapsed() >= GOSSIP_LINGER) && !batch.is_empty() {
            gossip(None, batch.take());
            since = None;
        }
    }
}
