//! The CometBFT-style JSON-RPC server (default `127.0.0.1:26657`, config.toml `[rpc] laddr`):
//! JSON-RPC 2.0 over `POST /` (single requests and batches) and the URI form (`GET /status`,
//! `GET /abci_query?path="/store/key"&data=0x…`), with CometBFT v0.38's methods, shapes and
//! errors; `/websocket` for subscriptions (`crate::events`).
//!
//! Reads (blocks, results, the indexes, status, the application's queries) are answered from
//! the node's read view on a blocking thread (`keystone_consensus_driver::rpc::read`): they
//! never wait for a consensus step. What must change the engine (CheckTx, evidence) or read
//! its round state goes to the node's thread as a [`Request`]. The broadcasts are answered
//! here: they go through the mempool (and are gossiped), and `broadcast_tx_commit` waits for
//! the block.

use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use keystone_consensus_driver::mempool::{checks::CheckReply, MempoolError};
use keystone_consensus_driver::rpc::{self, arguments, shape, Params, ReadView, RpcError, METHODS};
use keystone_proto::abci::ResponseCheckTx;
use serde_json::{json, Value};
use std::sync::mpsc;
use tokio::sync::oneshot;

pub use keystone_consensus_driver::node::Request;

/// Where the servers' questions go: reads to the node's read view, the rest to its thread.
#[derive(Clone)]
pub struct Engine {
    tx: mpsc::Sender<Request>,
    view: Option<ReadView>,
}

impl Engine {
    /// Requests to `tx`, reads from `view` (none: every question goes to the node's thread).
    pub fn new(tx: mpsc::Sender<Request>, view: Option<ReadView>) -> Self {
        Engine { tx, view }
    }

    /// The node's read view (none: every question goes to the node's thread).
    pub(crate) fn view(&self) -> Option<&ReadView> {
        self.view.as_ref()
    }

    /// Queue `req` for the node's thread.
    pub(crate) fn send(&self, req: Request) -> Result<(), mpsc::SendError<Request>> {
        self.tx.send(req)
    }

    /// Offer `tx` to the mempool: to the mempool's own thread when it runs (so CheckTx never
    /// waits for a consensus step), to the node's thread otherwise; `reply` hears CheckTx.
    pub(crate) fn offer_tx(&self, tx: Vec<u8>, reply: CheckReply) -> Result<(), String> {
        let (tx, reply) = match &self.view {
            Some(view) => match view.mempool().offer(tx, reply) {
                Ok(()) => return Ok(()),
                Err(back) => back,
            },
            None => (tx, reply),
        };
        self.tx
            .send(Request::CheckTx(tx, reply))
            .map_err(|_| "the node is shutting down".to_string())
    }

    /// CheckTx of `tx` into the mempool (see [`Engine::offer_tx`]), awaited.
    pub(crate) async fn check_tx(
        &self,
        tx: Vec<u8>,
    ) -> Result<Result<ResponseCheckTx, MempoolError>, String> {
        let (done, answer) = oneshot::channel();
        self.offer_tx(
            tx,
            Box::new(move |v| {
                // The asker may have given up (a client that hung up): nothing to tell.
                let _ = done.send(v);
            }),
        )?;
        answer
            .await
            .map_err(|_| "the node is shutting down".to_string())
    }

    /// An ABCI query: through the application's query connection when it offers one, on
    /// the node's thread otherwise.
    pub(crate) async fn query(
        &self,
        req: keystone_proto::abci::RequestQuery,
    ) -> Result<keystone_proto::abci::ResponseQuery, String> {
        match self.view.as_ref().and_then(|v| v.app().cloned()) {
            Some(app) => blocking(move || app.query(req).map_err(|e| e.to_string())).await?,
            None => ask(self, |r| Request::Query(req, r)).await?,
        }
    }
}

/// Run a read (redb, the application's query connection) off the server's event loop.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T, String> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| format!("the read failed: {e}"))
}

/// What the RPC server shares with its handlers.
#[derive(Clone)]
pub struct Shared {
    /// The engine thread.
    pub engine: Engine,
    /// Committed blocks and their transactions, for subscriptions.
    pub events: crate::events::Bus,
    /// How long `broadcast_tx_commit` waits for its block.
    pub commit_timeout: std::time::Duration,
}

pub(crate) async fn ask<T: Send + 'static>(
    engine: &Engine,
    make: impl FnOnce(keystone_consensus_driver::node::Reply<T>) -> Request,
) -> Result<T, String> {
    let (tx, rx) = oneshot::channel();
    engine
        .send(make(Box::new(move |v| {
            // The asker may have given up (a client that hung up): nothing to tell.
            let _ = tx.send(v);
        })))
        .map_err(|_| "the node is shutting down".to_string())?;
    rx.await
        .map_err(|_| "the node is shutting down".to_string())
}

/// Answer `method`: from the read view when it can be, on the node's thread otherwise.
pub(crate) async fn call(engine: &Engine, method: &str, p: Params) -> Result<Value, RpcError> {
    let method = method.to_string();
    if let Some(view) = engine.view.clone().filter(|v| !rpc::on_engine(v, &method)) {
        return blocking(move || rpc::read(&view, &method, &p))
            .await
            .map_err(RpcError::internal)?;
    }
    ask(engine, |r| Request::Call(method, p, r))
        .await
        .map_err(RpcError::internal)?
}

/// The `tx` parameter of the broadcast methods and its CometBFT hash (uppercase hex).
fn tx_param(p: &Params) -> Result<(Vec<u8>, String), RpcError> {
    let tx = p.need_bytes("tx", keystone_consensus_driver::rpc::Bytes::Base64)?;
    let hash = hex::encode_upper(keystone_consensus_types::sha256(&tx).0);
    Ok((tx, hash))
}

/// Answer one call: the broadcasts here, subscriptions refused (they need `/websocket`),
/// everything else by the engine.
pub(crate) async fn dispatch(s: &Shared, method: &str, p: Params) -> Result<Value, RpcError> {
    if arguments(method).is_none() {
        return Err(RpcError::method_not_found(method));
    }
    match method {
        "broadcast_tx_sync" => {
            let (tx, hash) = tx_param(&p)?;
            let res = s
                .engine
                .check_tx(tx)
                .await
                .map_err(RpcError::internal)?
                .map_err(RpcError::internal)?;
            Ok(json!({
                "code": res.code, "data": shape::b64(&res.data), "log": res.log,
                "codespace": res.codespace, "hash": hash
            }))
        }
        "broadcast_tx_async" => {
            let (tx, hash) = tx_param(&p)?;
            // Answered before CheckTx has run, as CometBFT does.
            s.engine
                .offer_tx(tx, Box::new(|_| {}))
                .map_err(RpcError::internal)?;
            Ok(json!({"code": 0, "data": "", "log": "", "codespace": "", "hash": hash}))
        }
        "broadcast_tx_commit" => broadcast_tx_commit(s, &p).await,
        "subscribe" | "unsubscribe" | "unsubscribe_all" => Err(RpcError::internal(
            "subscriptions are served over the /websocket endpoint",
        )),
        _ => call(&s.engine, method, p).await,
    }
}

/// `broadcast_tx_commit`: CheckTx, then wait (subscribed to committed txs before the tx
/// enters the mempool, so its block cannot be missed) until the tx is in a block or the
/// timeout passes.
async fn broadcast_tx_commit(s: &Shared, p: &Params) -> Result<Value, RpcError> {
    let (tx, hash) = tx_param(p)?;
    let mut committed = s.events.subscribe();
    let check = s
        .engine
        .check_tx(tx.clone())
        .await
        .map_err(RpcError::internal)?
        .map_err(RpcError::internal)?;
    let check_json = shape::check_tx_result(&check);
    if check.code != 0 {
        return Ok(json!({"check_tx": check_json, "tx_result": {}, "hash": hash, "height": "0"}));
    }
    let wait = async {
        loop {
            match committed.recv().await {
                Ok(block) => {
                    if let Some((_, result)) = block.tx(&tx) {
                        return Ok((block.height, shape::exec_tx_result(result)));
                    }
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                Err(tokio::sync::broadcast::error::RecvError::Closed) => {
                    return Err(RpcError::internal("the node is shutting down"))
                }
            }
        }
    };
    match tokio::time::timeout(s.commit_timeout, wait).await {
        Ok(Ok((height, result))) => Ok(json!({
            "check_tx": check_json, "tx_result": result, "hash": hash, "height": height.to_string()
        })),
        Ok(Err(e)) => Err(e),
        Err(_) => Err(RpcError::internal(
            "timed out waiting for tx to be included in a block",
        )),
    }
}

fn response(id: &Value, result: Result<Value, RpcError>) -> Value {
    match result {
        Ok(r) => json!({"jsonrpc": "2.0", "id": id, "result": r}),
        Err(e) => json!({"jsonrpc": "2.0", "id": id, "error": e.to_json()}),
    }
}

/// One JSON-RPC request object; `None` for a notification (no `id`), which gets no answer.
async fn one(s: &Shared, req: &Value) -> Option<Value> {
    let id = req.get("id").cloned();
    let Some(method) = req.get("method").and_then(Value::as_str) else {
        return Some(response(
            &id.unwrap_or(Value::Null),
            Err(RpcError::invalid_request("missing method")),
        ));
    };
    let result = match Params::from_json(method, req.get("params")) {
        Ok(p) => dispatch(s, method, p).await,
        Err(e) => Err(e),
    };
    id.map(|id| response(&id, result))
}

async fn jsonrpc(State(s): State<Shared>, body: axum::body::Bytes) -> Response {
    let req: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => {
            let e = RpcError::parse(format!("error unmarshaling request: {e}"));
            return (
                StatusCode::INTERNAL_SERVER_ERROR,
                Json(response(&json!(-1), Err(e))),
            )
                .into_response();
        }
    };
    match req {
        Value::Array(reqs) => {
            if reqs.len() > MAX_BATCH {
                let e = RpcError::invalid_request(format!(
                    "a batch holds at most {MAX_BATCH} requests, got {}",
                    reqs.len()
                ));
                return (StatusCode::OK, Json(response(&Value::Null, Err(e)))).into_response();
            }
            let mut out = Vec::new();
            for r in &reqs {
                if let Some(v) = one(&s, r).await {
                    out.push(v);
                }
            }
            (StatusCode::OK, Json(Value::Array(out))).into_response()
        }
        Value::Object(_) => match one(&s, &req).await {
            Some(v) => (StatusCode::OK, Json(v)).into_response(),
            None => StatusCode::OK.into_response(),
        },
        _ => (
            StatusCode::OK,
            Json(response(
                &Value::Null,
                Err(RpcError::invalid_request("expected an object or an array")),
            )),
        )
            .into_response(),
    }
}

/// Largest request body (CometBFT's `rpc.max_body_bytes` default).
pub const MAX_BODY_BYTES: usize = 1_000_000;

/// Most requests in one batch.
const MAX_BATCH: usize = 100;

async fn uri(
    State(s): State<Shared>,
    axum::extract::Path(method): axum::extract::Path<String>,
    Query(q): Query<Vec<(String, String)>>,
) -> Response {
    let result = dispatch(&s, &method, Params::from_uri(q)).await;
    // CometBFT's URI handler answers errors with status 500 (an unknown path with 404).
    let status = match &result {
        Ok(_) => StatusCode::OK,
        Err(e) if e.code == -32601 => StatusCode::NOT_FOUND,
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR,
    };
    (status, Json(response(&json!(-1), result))).into_response()
}

/// `GET /`: the routes, as CometBFT lists them.
async fn index() -> Response {
    let mut body = String::from("Available endpoints:\n");
    for (m, args) in METHODS {
        let q: Vec<String> = args.iter().map(|a| format!("{a}=_")).collect();
        body.push_str(&format!("//localhost/{m}?{}\n", q.join("&")));
    }
    ([(header::CONTENT_TYPE, "text/plain")], body).into_response()
}

/// The RPC routes.
pub fn router(s: Shared) -> Router {
    Router::new()
        .route("/", post(jsonrpc).get(index))
        .route("/websocket", get(crate::events::websocket))
        .route("/{method}", get(uri))
        .with_state(s)
}

/// Run `router` on `addr` on a single-threaded runtime of its own, behind `limits` (body
/// limit, per-IP rate limit, timeout, CORS: `crate::guard`), its errors in `style`
/// (shared by the RPC and REST servers).
pub(crate) fn serve_router(
    addr: std::net::SocketAddr,
    router: Router,
    what: &'static str,
    limits: &crate::guard::HttpLimits,
    style: crate::guard::ErrorStyle,
) -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let app = crate::guard::protect(router, limits, style);
        let listener = tokio::net::TcpListener::bind(addr).await?;
        tracing::info!(%addr, "{what} listening");
        // The peer address is what the rate limit counts by.
        let service = app.into_make_service_with_connect_info::<crate::lenient::ClientAddr>();
        axum::serve(crate::lenient::LenientListener(listener), service).await?;
        Ok(())
    })
}
