//! `keystone start`: assemble the engine (built-in application, block store, WAL, privval,
//! mempool) from a home directory and run it on the wall clock. Single node for now: the
//! network (#4) and the RPC/REST servers (#3) come next.

use crate::home::{read_app_toml, read_genesis, read_timeouts, Home};
use anyhow::{Context, Result};
use keystone_app::App;
use keystone_consensus_driver::block_store::BlockStore;
use keystone_consensus_driver::engine::{Action, Engine, EngineConfig, Genesis};
use keystone_consensus_driver::mempool::{Mempool, MempoolConfig};
use keystone_consensus_driver::privval::FilePrivVal;
use keystone_consensus_driver::wal::Wal;
use keystone_consensus_types::Time;
use keystone_store::Store;
use std::collections::BTreeMap;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

fn now() -> Time {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    // Sub-second nanos are always below 1e9.
    Time::new(d.as_secs() as i64, d.subsec_nanos()).unwrap_or(Time::UNIX_EPOCH)
}

/// Run the node until the process is stopped (or, with `stop_at`, until that height).
pub fn start(home: &Home, stop_at: Option<u64>) -> Result<()> {
    let doc = read_genesis(home)?;
    let timeouts = read_timeouts(&home.config("config.toml"))?;
    let (prices, keep) = read_app_toml(&home.config("app.toml"))?;
    let mut store = Store::open(home.data("application.redb")).context("opening the state")?;
    if keep > 0 {
        store = store.with_pruning(keep);
    }
    let app = App::new(store, &doc.chain_id, prices);
    let app_state = doc
        .app_state
        .clone()
        .unwrap_or_else(|| serde_json::json!({}));
    let genesis = Genesis {
        chain_id: doc.chain_id.clone(),
        time: doc.time()?,
        initial_height: doc.initial_height as u64,
        validators: doc.validator_set()?,
        params: doc.consensus_params.hashed(),
        app_state: serde_json::to_vec(&app_state)?,
    };
    let max_bytes = match doc.consensus_params.block.max_bytes {
        -1 => keystone_genesis::MAX_BLOCK_SIZE_BYTES,
        b => b,
    };
    let cfg = EngineConfig {
        timeouts,
        // Room for the header, the last commit and evidence, as CometBFT reserves it.
        max_block_tx_bytes: (max_bytes - 64 * 1024).max(1024),
        max_block_gas: doc.consensus_params.block.max_gas,
    };
    let blocks =
        BlockStore::open(&home.data("blockstore.redb")).context("opening the block store")?;
    let (wal, recovery) = Wal::open(&home.data("cs.wal").join("wal")).context("opening the WAL")?;
    if recovery.truncated_bytes > 0 {
        tracing::warn!(
            bytes = recovery.truncated_bytes,
            "cut a torn tail off the WAL"
        );
    }
    let privval = FilePrivVal::load(
        &home.config("priv_validator_key.json"),
        &home.data("priv_validator_state.json"),
    )?;
    let mut engine = Engine::new(
        genesis,
        cfg,
        app,
        blocks,
        wal,
        privval,
        Mempool::new(MempoolConfig::default()),
    );
    tracing::info!(chain_id = %doc.chain_id, "starting");
    let mut schedule: BTreeMap<(Instant, u64), Action> = BTreeMap::new();
    let mut seq = 0u64;
    let mut push = |schedule: &mut BTreeMap<(Instant, u64), Action>, actions: Vec<Action>| {
        for a in actions {
            let after = match &a {
                Action::Timeout { after, .. } | Action::NextHeight { after } => *after,
            };
            seq += 1;
            schedule.insert((Instant::now() + after, seq), a);
        }
    };
    push(&mut schedule, engine.start(now())?);
    loop {
        if stop_at.is_some_and(|h| engine.last_height().unwrap_or(0) >= h) {
            return Ok(());
        }
        let Some(((deadline, _), action)) = schedule.pop_first() else {
            anyhow::bail!("the engine has nothing scheduled");
        };
        let wait = deadline.saturating_duration_since(Instant::now());
        std::thread::sleep(wait);
        let out = match action {
            Action::Timeout {
                height, timeout, ..
            } => engine.on_timeout(height, timeout, now())?,
            Action::NextHeight { .. } => engine.next_height(now())?,
        };
        push(&mut schedule, out);
    }
}
