//! `keystone rollback [--hard]`, CometBFT's and the SDK's together: the application's state
//! goes back one height, so that the node replays the last block at its next start and must
//! reach the same app hash (the engine refuses to go on otherwise). With `--hard` the last
//! block leaves the block store too, and the node decides or fetches that height again.
//!
//! The application's store is rolled back first: a crash between the two steps leaves the
//! application one height behind its blocks, which the next start replays, never ahead.

use crate::home::Home;
use anyhow::{bail, Context, Result};
use keystone_consensus_driver::block_store::BlockStore;
use keystone_store::Store;

/// What a rollback did.
pub struct RolledBack {
    /// The application's height now.
    pub height: u64,
    /// Its app hash at that height.
    pub app_hash: [u8; 32],
    /// The block removed by `--hard`.
    pub removed_block: Option<u64>,
}

/// Roll the built-in application of `home` back one height (and with `hard`, its last
/// block). The node must be stopped.
pub fn rollback(home: &Home, hard: bool) -> Result<RolledBack> {
    let blocks_path = home.data("blockstore.redb");
    let app_path = home.data("application.redb");
    if !blocks_path.exists() || !app_path.exists() {
        bail!("this home has no blocks or no state to roll back");
    }
    let blocks = BlockStore::open(&blocks_path).with_context(|| {
        format!(
            "{} cannot be opened (is a node running on this home? stop it first)",
            blocks_path.display()
        )
    })?;
    let store = Store::open(&app_path)
        .with_context(|| format!("{} cannot be opened", app_path.display()))?;
    let block_height = blocks.height()?;
    let app_height = store.latest_version()?.unwrap_or(0);
    if app_height != block_height {
        bail!(
            "the application is at height {app_height} and the blocks at {block_height}: start \
             the node once so that it replays what the application lacks, then roll back"
        );
    }
    let height = store
        .rollback()
        .with_context(|| format!("cannot roll the application back from height {app_height}"))?;
    let app_hash = store.root_hash(height)?;
    let removed_block = if hard {
        Some(blocks.remove_last()?)
    } else {
        None
    };
    Ok(RolledBack {
        height,
        app_hash,
        removed_block,
    })
}
