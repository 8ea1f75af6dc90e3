//! [`Checker`]: the application's mempool connection — `CheckTx` against the check state (the
//! SDK's `checkState`: the last committed version plus what the checks since have written),
//! on whatever thread the node's mempool runs, while FinalizeBlock runs on the consensus one.
//!
//! The check state names its own version rather than reading the store's latest: between the
//! store's commit of a new version and [`Checker::reset`], a check still sees the version its
//! writes were made over, never new state under old writes.

use crate::store_state::{StoreState, Writes};
use crate::tx::{run_tx, Context, GasPrice, Mode, SigCache, TxOutcome};
use keystone_modules::Timestamp;
use keystone_proto::abci;
use keystone_proto::{AppChecker, AppResult};
use keystone_store::Store;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

/// What checks run over: a committed version, the writes of the checks since, the block time.
struct CheckState {
    version: Option<u64>,
    writes: Writes,
    time: Timestamp,
    /// One snapshot of `version` for every check until the next reset: opening one was a
    /// tenth of a check. Dropped at the reset, so the database frees what only it saw.
    reader: Option<keystone_store::VersionReader>,
}

/// The built-in application's mempool connection.
pub(crate) struct Checker {
    store: Arc<Store>,
    sigs: Arc<SigCache>,
    chain_id: String,
    min_gas_prices: Vec<GasPrice>,
    state: Mutex<CheckState>,
}

impl Checker {
    pub(crate) fn new(
        store: Arc<Store>,
        sigs: Arc<SigCache>,
        chain_id: &str,
        min_gas_prices: Vec<GasPrice>,
        version: Option<u64>,
    ) -> Checker {
        Checker {
            store,
            sigs,
            chain_id: chain_id.into(),
            min_gas_prices,
            state: Mutex::new(CheckState {
                version,
                writes: Writes::new(),
                time: Timestamp::EPOCH,
                reader: None,
            }),
        }
    }

    fn state(&self) -> MutexGuard<'_, CheckState> {
        // A check replaces the writes only once it has finished (a panic mid-check leaves the
        // previous ones): a poisoned lock still holds a whole check state.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// After a commit of `version` at block time `time`: checks start again from it.
    pub(crate) fn reset(&self, version: Option<u64>, time: Timestamp) {
        let mut s = self.state();
        s.version = version;
        s.writes.clear();
        s.time = time;
        s.reader = None;
    }

    /// Run `tx` in check mode over the check state, keeping its writes.
    pub(crate) fn check(&self, tx: &[u8]) -> TxOutcome {
        let mut s = self.state();
        let mut state = StoreState::with_reader(
            &self.store,
            s.version,
            std::mem::take(&mut s.writes),
            s.reader.take(),
        );
        let ctx = Context {
            chain_id: &self.chain_id,
            height: s.version.unwrap_or(0) + 1,
            mode: Mode::Check,
            min_gas_prices: &self.min_gas_prices,
            time: s.time,
            verified: Some(&self.sigs),
        };
        let out = run_tx(&mut state, tx, &ctx);
        (s.writes, s.reader) = state.into_parts();
        out
    }
}

impl AppChecker for Checker {
    fn check_tx(&self, req: abci::RequestCheckTx) -> AppResult<abci::ResponseCheckTx> {
        Ok(crate::application::check_response(&self.check(&req.tx)))
    }
}
