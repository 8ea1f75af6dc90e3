//! CometBFT v0.38's JSON-RPC methods, answered from the engine's stores: the method table,
//! the parameters as either form sends them, the errors as CometBFT shapes them, and one
//! function per method returning the `result` JSON.
//!
//! What lives here is everything an RPC answer is made of that does not wait: blocks, headers,
//! commits, validator sets, results, the tx and block event indexes, the mempool, status, peers,
//! genesis, and the application's `Info`/`Query`/`CheckTx`. What does not: the HTTP and
//! WebSocket servers, `broadcast_tx_*` (they gossip and wait for blocks) and subscriptions.
//!
//! Two ways in: [`read`] answers from a [`ReadView`] on the caller's thread (redb snapshots of
//! the block store, the mempool under its own lock, the application's query connection), so
//! a read never waits for a consensus step; [`call`] runs on the node's thread for the few
//! methods [`on_engine`] names (CheckTx, evidence, the round state).
//!
//! Decisions where CometBFT leaves room:
//! - integer parameters are accepted as JSON strings (what CometBFT's clients send) and as
//!   JSON numbers; positional (array) parameters follow each method's argument order;
//! - `tx` and `tx_search` with `prove=true` carry the transaction's Merkle proof against the
//!   block's `data_hash`, as CometBFT does;
//! - a height past the newest block, or before the oldest kept, is an error with CometBFT's
//!   wording; paging as CometBFT's (`per_page` defaults to 30, is clamped to 1..=100, a page
//!   past the last is an error).

mod chain;
mod consensus;
mod info;
mod params;
pub mod shape;
mod txs;
mod view;

pub use params::{Bytes, Params};
pub use view::{ReadView, Shared};

use crate::engine::Engine;
use crate::switch::PeerInfo;
use keystone_p2p::NodeInfo;
use keystone_proto::Application;
use serde_json::{json, Value};

/// A JSON-RPC error as CometBFT shapes it: `{code, message, data}`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message} ({code}): {data}")]
pub struct RpcError {
    /// JSON-RPC 2.0 code (−32700 parse, −32600 request, −32601 method, −32602 params,
    /// −32603 internal).
    pub code: i64,
    /// The code's standard message.
    pub message: &'static str,
    /// What went wrong, in words.
    pub data: String,
    /// What was asked for does not exist (a transaction by hash): on the wire still
    /// CometBFT's internal error, for callers (REST's 404) a fact they need not read from
    /// `data`.
    pub not_found: bool,
}

impl RpcError {
    /// The request body is not JSON.
    pub fn parse(data: impl Into<String>) -> Self {
        RpcError {
            code: -32700,
            message: "Parse error",
            data: data.into(),
            not_found: false,
        }
    }
    /// Not a JSON-RPC request.
    pub fn invalid_request(data: impl Into<String>) -> Self {
        RpcError {
            code: -32600,
            message: "Invalid Request",
            data: data.into(),
            not_found: false,
        }
    }
    /// No such method.
    pub fn method_not_found(method: &str) -> Self {
        RpcError {
            code: -32601,
            message: "Method not found",
            data: format!("method {method:?} is not served here"),
            not_found: false,
        }
    }
    /// A parameter of the wrong type or shape.
    pub fn invalid_params(data: impl Into<String>) -> Self {
        RpcError {
            code: -32602,
            message: "Invalid params",
            data: format!("error converting json params to arguments: {}", data.into()),
            not_found: false,
        }
    }
    /// The method ran and failed (CometBFT answers every handler error so).
    pub fn internal(data: impl std::fmt::Display) -> Self {
        RpcError {
            code: -32603,
            message: "Internal error",
            data: data.to_string(),
            not_found: false,
        }
    }
    /// The method ran and what it was asked for does not exist (CometBFT's internal error).
    pub fn not_found(data: impl std::fmt::Display) -> Self {
        RpcError {
            not_found: true,
            ..RpcError::internal(data)
        }
    }
    /// The `error` object of a response.
    pub fn to_json(&self) -> Value {
        json!({"code": self.code, "message": self.message, "data": self.data})
    }
}

/// What an answer may take from the node around the engine.
#[derive(Clone, Debug)]
pub struct NodeContext {
    /// This node as it tells peers (id, listen address, moniker, channels, versions).
    pub info: NodeInfo,
    /// The RPC listen address (`tcp://…`), for `status`.
    pub rpc_address: String,
    /// The genesis document as the file holds it.
    pub genesis: Value,
    /// Connected peers (empty when p2p is off).
    pub peers: Vec<PeerInfo>,
    /// Whether the p2p listener runs.
    pub listening: bool,
    /// Block sync is still catching up with peers.
    pub catching_up: bool,
}

/// Every method served, with its argument names in positional order (CometBFT's routes).
pub const METHODS: &[(&str, &[&str])] = &[
    ("health", &[]),
    ("status", &[]),
    ("net_info", &[]),
    ("blockchain", &["minHeight", "maxHeight"]),
    ("genesis", &[]),
    ("genesis_chunked", &["chunk"]),
    ("block", &["height"]),
    ("block_by_hash", &["hash"]),
    ("block_results", &["height"]),
    ("commit", &["height"]),
    ("header", &["height"]),
    ("header_by_hash", &["hash"]),
    ("check_tx", &["tx"]),
    ("tx", &["hash", "prove"]),
    (
        "tx_search",
        &["query", "prove", "page", "per_page", "order_by"],
    ),
    ("block_search", &["query", "page", "per_page", "order_by"]),
    ("validators", &["height", "page", "per_page"]),
    ("consensus_params", &["height"]),
    ("consensus_state", &[]),
    ("broadcast_evidence", &["evidence"]),
    ("unconfirmed_txs", &["limit"]),
    ("num_unconfirmed_txs", &[]),
    ("abci_query", &["path", "data", "height", "prove"]),
    ("abci_info", &[]),
    ("broadcast_tx_sync", &["tx"]),
    ("broadcast_tx_async", &["tx"]),
    ("broadcast_tx_commit", &["tx"]),
    ("subscribe", &["query"]),
    ("unsubscribe", &["query"]),
    ("unsubscribe_all", &[]),
];

/// The argument names of `method`, if it is served.
pub fn arguments(method: &str) -> Option<&'static [&'static str]> {
    METHODS
        .iter()
        .find(|(m, _)| *m == method)
        .map(|(_, args)| *args)
}

/// Is `method` answered on the node's thread? Only what changes the engine (`check_tx`,
/// which runs the application's CheckTx; `broadcast_evidence`) and what reads its round
/// state (`consensus_state`) — and the application's `Info` and `Query` when it offers no
/// query connection to other threads. Everything else is [`read`] from a [`ReadView`].
pub fn on_engine(view: &ReadView, method: &str) -> bool {
    match method {
        "check_tx" | "broadcast_evidence" | "consensus_state" => true,
        "abci_info" | "abci_query" => view.app().is_none(),
        _ => false,
    }
}

/// Answer `method` from a read view, on the caller's thread. Methods the node serves itself
/// (broadcasts and subscriptions) are not answered here; methods [`on_engine`] are refused.
pub fn read(view: &ReadView, method: &str, p: &Params) -> Result<Value, RpcError> {
    let on_node = || RpcError::internal(format!("{method} is answered on the node's thread"));
    if on_engine(view, method) {
        return Err(on_node());
    }
    match method {
        "health" => Ok(json!({})),
        "status" => info::status(view, &view.context()),
        "net_info" => Ok(info::net_info(&view.context())),
        "abci_info" => {
            let app = view.app().ok_or_else(on_node)?;
            info::abci_info(app.info(crate::engine::info_request()))
        }
        "abci_query" => {
            let app = view.app().ok_or_else(on_node)?;
            info::abci_query(app.query(info::query_request(p)?))
        }
        "genesis" => chain::genesis(&view.context()),
        "genesis_chunked" => chain::genesis_chunked(&view.context(), p),
        "block" => chain::block(view, p),
        "block_by_hash" => chain::block_by_hash(view, p),
        "header" => chain::header(view, p),
        "header_by_hash" => chain::header_by_hash(view, p),
        "blockchain" => chain::blockchain(view, p),
        "block_results" => chain::block_results(view, p),
        "commit" => chain::commit(view, p),
        "validators" => chain::validators(view, p),
        "consensus_params" => chain::consensus_params(view, p),
        "tx" => txs::tx(view, p),
        "tx_search" => txs::tx_search(view, p),
        "block_search" => txs::block_search(view, p),
        "unconfirmed_txs" => txs::unconfirmed_txs(view, p),
        "num_unconfirmed_txs" => Ok(txs::num_unconfirmed_txs(view)),
        other => Err(RpcError::method_not_found(other)),
    }
}

/// Answer `method` on the node's thread: the methods [`on_engine`], and every other one
/// through [`read`].
pub fn call<A: Application>(
    engine: &mut Engine<A>,
    view: &ReadView,
    method: &str,
    p: &Params,
) -> Result<Value, RpcError> {
    if !on_engine(view, method) {
        return read(view, method, p);
    }
    match method {
        "abci_info" => info::abci_info(engine.app().info(crate::engine::info_request())),
        "abci_query" => info::abci_query(engine.app().query(info::query_request(p)?)),
        "check_tx" => txs::check_tx(engine, p),
        "consensus_state" => consensus::consensus_state(engine),
        "broadcast_evidence" => consensus::broadcast_evidence(engine, p),
        other => Err(RpcError::method_not_found(other)),
    }
}
