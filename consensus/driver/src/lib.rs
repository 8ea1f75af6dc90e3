//! The parts of a node that stand between the consensus core and the disk.
//!
//! What lives here now: [`node_key`] (the p2p identity, `node_key.json`), [`privval`] — the file-backed signer with CometBFT's
//! `priv_validator_key.json` and `priv_validator_state.json`, which writes what it is about to
//! sign to disk before the signature leaves it and refuses height/round/step regressions and
//! conflicting re-signs — and [`wal`], the consensus write-ahead log: every input the core
//! takes, length-prefixed and checksummed, with end-of-height markers, fsync on demand, replay
//! from the last marker, and truncation of a torn or corrupt tail.
//!
//! Also [`block_store`]: committed blocks, their ids and commits by height in redb, with the
//! tx index by hash and by event that [`event_query`] queries search; and
//! [`mempool`]: transactions admitted by `CheckTx`, bounded, deduplicated, reaped for
//! proposals and rechecked after each commit.
//!
//! What does not live here (yet): the driver loop itself (tokio timers, the app handshake), which comes with the single-validator chain (#3), and the
//! network (#4). The core (`keystone-consensus-core`) stays pure; everything here is I/O.

pub mod block_store;
pub mod block_sync;
pub mod engine;
pub mod event_query;
pub mod evidence;
pub mod mempool;
pub mod node_key;
pub mod privval;
pub mod reactor;
pub mod switch;
pub mod wal;
