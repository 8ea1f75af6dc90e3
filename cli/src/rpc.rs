//! The CometBFT-style JSON-RPC server (default `127.0.0.1:26657`), both forms: JSON-RPC 2.0
//! over `POST /` and the URI form (`GET /status`, `GET /abci_query?path="/store/key"&data=0x…`).
//! So far: `health`, `status`, `abci_query`, `broadcast_tx_sync`, `block`. The engine owns the
//! application; handlers ask it through [`Request`]s it answers between consensus steps.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine as _;
use keystone_proto::abci;
use keystone_proto::prost::bytes::Bytes;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::mpsc;
use tokio::sync::oneshot;

/// What the engine knows for `status`.
#[derive(Clone, Debug, Default)]
pub struct Status {
    /// Chain id.
    pub chain_id: String,
    /// Node name.
    pub moniker: String,
    /// Latest committed height.
    pub height: u64,
    /// Its block hash (uppercase hex).
    pub block_hash: String,
    /// The app hash after it (uppercase hex).
    pub app_hash: String,
    /// Its time (RFC 3339).
    pub time: String,
    /// This node's validator address (uppercase hex).
    pub validator_address: String,
    /// Its consensus key (base64).
    pub validator_pub_key: String,
    /// Its power.
    pub voting_power: i64,
}

/// A question for the engine thread.
pub enum Request {
    /// `CheckTx` into the mempool.
    CheckTx(
        Vec<u8>,
        oneshot::Sender<Result<abci::ResponseCheckTx, String>>,
    ),
    /// An ABCI query.
    Query(
        abci::RequestQuery,
        oneshot::Sender<Result<abci::ResponseQuery, String>>,
    ),
    /// The node's status.
    Status(oneshot::Sender<Status>),
    /// A stored block (latest when `None`): its protobuf and id.
    Block(Option<u64>, oneshot::Sender<Result<Option<Value>, String>>),
    /// Anything else answered with a ready JSON result: `abci_info`, `commit`, `validators`,
    /// `tx`, `tx_search` (method and params as received).
    Other(String, Value, oneshot::Sender<Result<Value, String>>),
}

type Engine = mpsc::Sender<Request>;

/// ABCI events as CometBFT v0.38 writes them in JSON: attribute keys and values as plain
/// strings, each with its `index` flag.
pub fn events_json(events: &[abci::Event]) -> Value {
    Value::Array(
        events
            .iter()
            .map(|e| {
                json!({
                    "type": e.r#type,
                    "attributes": e.attributes.iter().map(|a| json!({
                        "key": a.key, "value": a.value, "index": a.index
                    })).collect::<Vec<_>>(),
                })
            })
            .collect(),
    )
}

fn ok(id: Value, result: Value) -> Json<Value> {
    Json(json!({"jsonrpc": "2.0", "id": id, "result": result}))
}

fn err(id: Value, code: i64, message: &str, data: String) -> Json<Value> {
    Json(
        json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message, "data": data}}),
    )
}

pub(crate) async fn ask<T>(
    engine: &Engine,
    make: impl FnOnce(oneshot::Sender<T>) -> Request,
) -> Result<T, String> {
    let (tx, rx) = oneshot::channel();
    engine
        .send(make(tx))
        .map_err(|_| "the node is shutting down".to_string())?;
    rx.await
        .map_err(|_| "the node is shutting down".to_string())
}

fn unquote(s: &str) -> &str {
    s.strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .unwrap_or(s)
}

/// Bytes given as `0x…` hex (URI form) or base64 (JSON-RPC form).
fn bytes_param(v: &str, hex_default: bool) -> Result<Vec<u8>, String> {
    let v = unquote(v);
    if let Some(h) = v.strip_prefix("0x") {
        return hex::decode(h).map_err(|e| format!("invalid hex: {e}"));
    }
    if hex_default {
        return hex::decode(v).map_err(|e| format!("invalid hex: {e}"));
    }
    base64::engine::general_purpose::STANDARD
        .decode(v)
        .map_err(|e| format!("invalid base64: {e}"))
}

/// The `tx` parameter of the broadcast methods (base64, or `0x` hex) and its CometBFT hash.
fn tx_param(tx: Option<String>) -> Result<(Vec<u8>, String), String> {
    let tx = bytes_param(&tx.ok_or("missing tx")?, false)?;
    let hash = hex::encode_upper(keystone_consensus_types::sha256(&tx).0);
    Ok((tx, hash))
}

async fn dispatch(
    engine: &Engine,
    id: Value,
    method: &str,
    params: &Value,
    uri_form: bool,
) -> Json<Value> {
    let p = |k: &str| -> Option<String> {
        match params.get(k)? {
            Value::String(s) => Some(s.clone()),
            Value::Bool(b) => Some(b.to_string()),
            other => Some(other.to_string()),
        }
    };
    match method {
        "health" => ok(id, json!({})),
        "status" => match ask(engine, Request::Status).await {
            Ok(s) => ok(id, status_json(&s)),
            Err(e) => err(id, -32603, "Internal error", e),
        },
        "broadcast_tx_sync" => {
            let (tx, hash) = match tx_param(p("tx")) {
                Ok(t) => t,
                Err(e) => return err(id, -32602, "Invalid params", e),
            };
            match ask(engine, |r| Request::CheckTx(tx, r)).await {
                Ok(Ok(res)) => ok(
                    id,
                    json!({"code": res.code, "data": base64::engine::general_purpose::STANDARD.encode(&res.data), "log": res.log, "codespace": res.codespace, "hash": hash}),
                ),
                Ok(Err(e)) | Err(e) => err(id, -32603, "Internal error", e),
            }
        }
        "abci_query" => {
            let data = match p("data").map(|d| bytes_param(&d, true)).transpose() {
                Ok(d) => d.unwrap_or_default(),
                Err(e) => return err(id, -32602, "Invalid params", e),
            };
            let height = match p("height").map(|h| unquote(&h).parse::<i64>()).transpose() {
                Ok(h) => h.unwrap_or(0),
                Err(_) => {
                    return err(
                        id,
                        -32602,
                        "Invalid params",
                        "height must be an integer".into(),
                    )
                }
            };
            let req = abci::RequestQuery {
                data: Bytes::from(data),
                path: p("path")
                    .map(|s| unquote(&s).to_string())
                    .unwrap_or_default(),
                height,
                prove: p("prove").is_some_and(|s| unquote(&s) == "true"),
            };
            match ask(engine, |r| Request::Query(req, r)).await {
                Ok(Ok(r)) => ok(id, json!({"response": query_json(&r)})),
                Ok(Err(e)) | Err(e) => err(id, -32603, "Internal error", e),
            }
        }
        "block" => {
            let height = match p("height")
                .filter(|h| !unquote(h).is_empty())
                .map(|h| unquote(&h).parse::<u64>())
                .transpose()
            {
                Ok(h) => h,
                Err(_) => {
                    return err(
                        id,
                        -32602,
                        "Invalid params",
                        "height must be an integer".into(),
                    )
                }
            };
            if height == Some(0) {
                return err(
                    id,
                    -32603,
                    "Internal error",
                    "height must be greater than 0, but got 0".into(),
                );
            }
            match ask(engine, |r| Request::Block(height, r)).await {
                Ok(Ok(Some(b))) => ok(id, b),
                Ok(Ok(None)) => err(
                    id,
                    -32603,
                    "Internal error",
                    format!("height {} is not available", height.unwrap_or(0)),
                ),
                Ok(Err(e)) | Err(e) => err(id, -32603, "Internal error", e),
            }
        }
        "broadcast_tx_commit" => {
            let (tx, hash) = match tx_param(p("tx")) {
                Ok(t) => t,
                Err(e) => return err(id, -32602, "Invalid params", e),
            };
            let hash_bytes = keystone_consensus_types::sha256(&tx).0;
            let check = match ask(engine, |r| Request::CheckTx(tx, r)).await {
                Ok(Ok(res)) => res,
                Ok(Err(e)) | Err(e) => return err(id, -32603, "Internal error", e),
            };
            let check_json = json!({"code": check.code, "data": "", "log": check.log, "codespace": check.codespace,
                "gas_wanted": check.gas_wanted.to_string(), "gas_used": check.gas_used.to_string(), "events": events_json(&check.events)});
            if check.code != 0 {
                return ok(
                    id,
                    json!({"check_tx": check_json, "tx_result": {}, "hash": hash, "height": "0"}),
                );
            }
            // Wait for the block, as CometBFT does (its timeout_broadcast_tx_commit is 10 s).
            let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
            let query =
                json!({"hash": base64::engine::general_purpose::STANDARD.encode(hash_bytes)});
            loop {
                let found = ask(engine, |r| Request::Other("tx".into(), query.clone(), r)).await;
                if let Ok(Ok(t)) = found {
                    return ok(
                        id,
                        json!({"check_tx": check_json, "tx_result": t["tx_result"], "hash": hash, "height": t["height"]}),
                    );
                }
                if tokio::time::Instant::now() >= deadline {
                    return err(
                        id,
                        -32603,
                        "Internal error",
                        "timed out waiting for tx to be included in a block".into(),
                    );
                }
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
        }
        "broadcast_tx_async" => {
            let (tx, hash) = match tx_param(p("tx")) {
                Ok(t) => t,
                Err(e) => return err(id, -32602, "Invalid params", e),
            };
            // Async: answer before CheckTx has run, as CometBFT does.
            let (reply, _ignored) = oneshot::channel();
            if engine.send(Request::CheckTx(tx, reply)).is_err() {
                return err(
                    id,
                    -32603,
                    "Internal error",
                    "the node is shutting down".into(),
                );
            }
            ok(
                id,
                json!({"code": 0, "data": "", "log": "", "codespace": "", "hash": hash}),
            )
        }
        "abci_info" | "commit" | "validators" | "tx" | "tx_search" => {
            let _ = uri_form;
            let method = method.to_string();
            let params = params.clone();
            match ask(engine, |r| Request::Other(method, params, r)).await {
                Ok(Ok(v)) => ok(id, v),
                Ok(Err(e)) => err(id, -32603, "Internal error", e),
                Err(e) => err(id, -32603, "Internal error", e),
            }
        }
        _ => err(id, -32601, "Method not found", String::new()),
    }
}

fn status_json(s: &Status) -> Value {
    json!({
        "node_info": {
            "protocol_version": {"p2p": "8", "block": "11", "app": "0"},
            "id": "", "listen_addr": "", "network": s.chain_id, "version": "0.38.17",
            "channels": "", "moniker": s.moniker,
            "other": {"tx_index": "on", "rpc_address": ""}
        },
        "sync_info": {
            "latest_block_hash": s.block_hash, "latest_app_hash": s.app_hash,
            "latest_block_height": s.height.to_string(), "latest_block_time": s.time,
            "earliest_block_hash": "", "earliest_app_hash": "", "earliest_block_height": "1",
            "earliest_block_time": "", "catching_up": false
        },
        "validator_info": {
            "address": s.validator_address,
            "pub_key": {"type": "tendermint/PubKeyEd25519", "value": s.validator_pub_key},
            "voting_power": s.voting_power.to_string()
        }
    })
}

fn query_json(r: &abci::ResponseQuery) -> Value {
    let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    let proof_ops = r.proof_ops.as_ref().map(|ops| {
        json!({"ops": ops.ops.iter().map(|o| json!({"type": o.r#type, "key": b64(&o.key), "data": b64(&o.data)})).collect::<Vec<_>>()})
    });
    json!({
        "code": r.code, "log": r.log, "info": r.info, "index": r.index.to_string(),
        "key": b64(&r.key), "value": b64(&r.value), "proofOps": proof_ops,
        "height": r.height.to_string(), "codespace": r.codespace
    })
}

async fn jsonrpc(
    State(engine): State<Engine>,
    body: axum::body::Bytes,
) -> (StatusCode, Json<Value>) {
    let req: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => {
            return (
                StatusCode::OK,
                err(json!(-1), -32700, "Parse error", e.to_string()),
            )
        }
    };
    let id = req.get("id").cloned().unwrap_or(json!(-1));
    let Some(method) = req.get("method").and_then(Value::as_str) else {
        return (
            StatusCode::OK,
            err(id, -32600, "Invalid Request", "missing method".into()),
        );
    };
    let params = req.get("params").cloned().unwrap_or(json!({}));
    (
        StatusCode::OK,
        dispatch(&engine, id, method, &params, false).await,
    )
}

async fn uri(
    State(engine): State<Engine>,
    axum::extract::Path(method): axum::extract::Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Json<Value> {
    let params = Value::Object(q.into_iter().map(|(k, v)| (k, Value::String(v))).collect());
    dispatch(&engine, json!(-1), &method, &params, true).await
}

/// Serve on `addr` until the process ends (run on its own thread).
pub fn serve(addr: std::net::SocketAddr, engine: Engine) -> anyhow::Result<()> {
    let app = Router::new()
        .route("/", post(jsonrpc))
        .route("/{method}", get(uri))
        .with_state(engine);
    serve_router(addr, app, "RPC")
}

/// Run `router` on `addr` on a single-threaded runtime of its own, with a 2 MiB body limit
/// (shared by the RPC and REST servers).
pub(crate) fn serve_router(
    addr: std::net::SocketAddr,
    router: Router,
    what: &'static str,
) -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let app = router.layer(axum::extract::DefaultBodyLimit::max(2 * 1024 * 1024));
        let listener = tokio::net::TcpListener::bind(addr).await?;
        tracing::info!(%addr, "{what} listening");
        axum::serve(listener, app).await?;
        Ok(())
    })
}
