//! The replicated application of the simulated nodes: a key-value store (`key=value`
//! transactions) whose app hash chains every block's transactions, kept on the node's virtual
//! disk — Commit is a durable write, so a crash can fall between FinalizeBlock and Commit and
//! the handshake must replay the block. FinalizeBlock costs `finalize_ms` of the node's time.

use super::disk::SimDisk;
use keystone_consensus_driver::storage::Storage;
use keystone_proto::abci;
use keystone_proto::prost::bytes::Bytes;
use keystone_proto::{AppChecker, AppError, AppResult, Application};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Largest transaction the app admits.
pub const MAX_TX: usize = 256;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct AppState {
    height: u64,
    hash: [u8; 32],
    keys: u64,
}

impl AppState {
    fn encode(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(48);
        v.extend(self.height.to_be_bytes());
        v.extend(self.hash);
        v.extend(self.keys.to_be_bytes());
        v
    }

    fn decode(b: &[u8]) -> Option<AppState> {
        if b.len() != 48 {
            return None;
        }
        Some(AppState {
            height: u64::from_be_bytes(b[0..8].try_into().ok()?),
            hash: b[8..40].try_into().ok()?,
            keys: u64::from_be_bytes(b[40..48].try_into().ok()?),
        })
    }
}

/// The application's mempool connection: the verdict depends on the transaction alone. The
/// simulated nodes check through it on their own thread (they start no mempool thread).
struct SimChecker;

impl AppChecker for SimChecker {
    fn check_tx(&self, req: abci::RequestCheckTx) -> AppResult<abci::ResponseCheckTx> {
        Ok(abci::ResponseCheckTx {
            code: u32::from(!tx_ok(&req.tx)),
            gas_wanted: 1,
            ..Default::default()
        })
    }
}

/// A node's application.
pub struct SimApp {
    disk: SimDisk,
    path: PathBuf,
    committed: AppState,
    /// What the last FinalizeBlock produced, until Commit.
    pending: Option<AppState>,
    /// Block sync deferred durability: commits stay in memory until `make_durable`, as the
    /// built-in application's stay in redb's undurable commits.
    deferred: bool,
    /// Commits made since durability was deferred (what a crash now would lose).
    undurable: u64,
    /// Commits made while durability was deferred, over this app's life.
    deferred_commits: u64,
    finalize_ms: u64,
}

fn tx_ok(tx: &[u8]) -> bool {
    tx.len() <= MAX_TX && tx.contains(&b'=')
}

fn io(e: std::io::Error) -> AppError {
    AppError(e.to_string())
}

impl SimApp {
    /// The application as `disk` holds it.
    pub fn load(disk: SimDisk, path: &Path, finalize_ms: u64) -> AppResult<SimApp> {
        let committed = match disk.read(path).map_err(io)? {
            None => AppState::default(),
            Some(b) => AppState::decode(&b).ok_or_else(|| AppError("bad app state".into()))?,
        };
        Ok(SimApp {
            disk,
            path: path.to_path_buf(),
            committed,
            pending: None,
            deferred: false,
            undurable: 0,
            deferred_commits: 0,
            finalize_ms,
        })
    }
}

impl SimApp {
    /// Commits made while block sync deferred durability, over this app's life.
    pub fn deferred_commits(&self) -> u64 {
        self.deferred_commits
    }

    /// Commits not yet durable (what a crash now loses).
    pub fn undurable(&self) -> u64 {
        self.undurable
    }
}

impl Application for SimApp {
    fn info(&self, _req: abci::RequestInfo) -> AppResult<abci::ResponseInfo> {
        Ok(abci::ResponseInfo {
            last_block_height: self.committed.height as i64,
            last_block_app_hash: Bytes::from(self.committed.hash.to_vec()),
            ..Default::default()
        })
    }

    fn query(&self, _req: abci::RequestQuery) -> AppResult<abci::ResponseQuery> {
        Ok(abci::ResponseQuery::default())
    }

    fn checker(&self) -> Option<Arc<dyn AppChecker>> {
        Some(Arc::new(SimChecker))
    }

    fn check_tx(&mut self, req: abci::RequestCheckTx) -> AppResult<abci::ResponseCheckTx> {
        SimChecker.check_tx(req)
    }

    fn init_chain(&mut self, req: abci::RequestInitChain) -> AppResult<abci::ResponseInitChain> {
        let hash: [u8; 32] = Sha256::digest(&req.app_state_bytes).into();
        self.committed = AppState {
            height: 0,
            hash,
            keys: 0,
        };
        self.disk
            .replace(&self.path, &self.committed.encode(), false)
            .map_err(io)?;
        Ok(abci::ResponseInitChain {
            app_hash: Bytes::from(hash.to_vec()),
            ..Default::default()
        })
    }

    fn finalize_block(
        &mut self,
        req: abci::RequestFinalizeBlock,
    ) -> AppResult<abci::ResponseFinalizeBlock> {
        self.disk.charge(self.finalize_ms);
        let mut h = Sha256::new();
        h.update(self.committed.hash);
        h.update(req.height.to_be_bytes());
        let mut keys = self.committed.keys;
        let mut results = Vec::with_capacity(req.txs.len());
        for tx in &req.txs {
            let ok = tx_ok(tx);
            if ok {
                h.update((tx.len() as u64).to_be_bytes());
                h.update(tx);
                keys += 1;
            }
            results.push(abci::ExecTxResult {
                code: u32::from(!ok),
                gas_used: 1,
                ..Default::default()
            });
        }
        let next = AppState {
            height: req.height as u64,
            hash: h.finalize().into(),
            keys,
        };
        let app_hash = Bytes::from(next.hash.to_vec());
        self.pending = Some(next);
        Ok(abci::ResponseFinalizeBlock {
            tx_results: results,
            app_hash,
            ..Default::default()
        })
    }

    fn commit(&mut self) -> AppResult<abci::ResponseCommit> {
        if let Some(next) = self.pending.take() {
            if self.deferred {
                self.undurable += 1;
                self.deferred_commits += 1;
            } else {
                self.disk
                    .replace(&self.path, &next.encode(), false)
                    .map_err(io)?;
            }
            self.committed = next;
        }
        Ok(abci::ResponseCommit::default())
    }

    fn defer_durability(&mut self) -> AppResult<bool> {
        self.deferred = true;
        Ok(true)
    }

    fn make_durable(&mut self) -> AppResult<()> {
        if self.deferred {
            self.disk
                .replace(&self.path, &self.committed.encode(), false)
                .map_err(io)?;
            self.deferred = false;
            self.undurable = 0;
        }
        Ok(())
    }
}
