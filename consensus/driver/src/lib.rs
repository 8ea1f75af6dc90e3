//! The parts of a node that stand around the consensus core: the disk, the signer, the
//! network, and the engine that drives the core with them.
//!
//! What lives here:
//! - [`engine`]: the core run against real storage and an `Application` (handshake, block
//!   building, decisions, crash recovery) and, in `engine::net`, its network side: what it
//!   accepts from peers after checking it, and what it gives them;
//! - [`privval`] (the file signer in CometBFT's formats, writing what it signs before the
//!   signature leaves it, refusing regressions and conflicting re-signs), [`node_key`] (the
//!   p2p identity) and [`wal`] (the consensus write-ahead log, replayed on restart, torn
//!   tails cut off);
//! - [`node`]: the node loop — the engine with its peers, block sync, peer budgets, timers
//!   and clients' requests — written against a [`node::Network`] and time passed in, so
//!   that `keystone start` ([`node::run`], the wall clock and the switch) and the simulator
//!   (`keystone-consensus-sim`, virtual time and network) run the same code;
//! - [`storage`]: the disk as the WAL, the signer and the block store see it (the real file
//!   system, or the simulator's virtual disk that loses what was not synced);
//! - [`failpoint`]: the test-only crash points after each durable write;
//! - [`abci`]: the ABCI 2.0 socket, both ends: `SocketApp`, an `Application` that forwards
//!   every call to an app in another process over CometBFT's four connections, and `serve`,
//!   which puts any `Application` behind the same protocol for any CometBFT-compatible engine;
//! - [`rpc`]: CometBFT's JSON-RPC methods answered from the engine's stores (the HTTP
//!   server around them is the binary's);
//! - [`block_store`] (blocks, ids, commits, results, the tx index by hash and by event that
//!   [`event_query`] searches, committed evidence) and [`mempool`] (CheckTx admission, bounds,
//!   dedup, reaping, recheck);
//! - the network: [`switch`] (connections to peers over `keystone-p2p`), [`reactor`] (CometBFT's
//!   channel messages), [`block_sync`] (who has which heights, what to ask whom) and
//!   [`evidence`] (duplicate votes on their way into a block), [`peer_budget`] (what
//!   each peer may make the node do), [`pex`] (peer exchange and the address book) and
//!   [`statesync`] (snapshots and chunks on the wire, and serving them to peers).
//!
//! What does not live here: the algorithm (`keystone-consensus-core`, pure), the transport's
//! cryptography (`keystone-p2p`), reading a home directory and the HTTP servers (the
//! `keystone` binary), and anything of the application.
//!
//! Test-only behaviour sits behind features the binary never enables: `failpoints` (crash
//! points) and `fault-injection` (a validator that double-signs).

pub mod abci;
pub mod block_store;
pub mod block_sync;
pub mod engine;
pub mod event_query;
pub mod evidence;
pub mod failpoint;
pub mod mempool;
pub mod node;
pub mod node_key;
pub mod peer_budget;
pub mod pex;
pub mod privval;
pub mod reactor;
pub mod rpc;
pub mod statesync;
pub mod storage;
pub mod switch;
pub mod wal;
