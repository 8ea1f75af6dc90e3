//! `cosmos.tx.v1beta1.Service` as the SDK v0.50 gateway serves it (`x/auth/tx/service.go`,
//! `x/auth/tx/query.go`, `client/broadcast.go`):
//!
//! - `GET /cosmos/tx/v1beta1/txs/{hash}` → `{tx, tx_response}`; an unknown hash is 404
//!   `tx not found: <hash as given>`;
//! - `GET /cosmos/tx/v1beta1/txs?query=…&page=&limit=&order_by=` → `{txs, tx_responses,
//!   pagination: null, total}` over CometBFT's `tx_search` (v0.50 reads `query` only; the
//!   legacy repeated `events` are joined with `AND` when `query` is absent, as v0.47 did);
//!   `limit` defaults to 100 and is clamped to CometBFT's 100;
//! - `POST /cosmos/tx/v1beta1/simulate` `{tx_bytes}` → `{gas_info, result}`, by the
//!   application's `/cosmos.tx.v1beta1.Service/Simulate` query path;
//! - `POST /cosmos/tx/v1beta1/txs` `{tx_bytes, mode}`: `BROADCAST_MODE_SYNC` (CheckTx, then
//!   the mempool's answer) or `_ASYNC` (answered before CheckTx). v0.50 removed
//!   `BROADCAST_MODE_BLOCK`: it, and an absent or unspecified mode, get the SDK's refusal
//!   `unsupported return type unspecified; supported types: sync, async`. The mempool's own
//!   refusals become the SDK's codes as its `CheckCometError` makes them (19 tx already in
//!   the mempool cache, 20 mempool full, 21 tx too large).
//!
//! A `tx_response` is the SDK's `TxResponse`: `height`, `txhash`, `codespace`, `code`,
//! `data` (uppercase hex), `raw_log`, `logs` (`[]`: v0.50 logs are not JSON), `info`,
//! `gas_wanted`, `gas_used`, `tx` (the `Tx` as `Any`), `timestamp` (the block's time in RFC
//! 3339 without fractions, Go's `time.RFC3339`) and `events`.

use super::{
    abci_query, bytes_json, comet, error, internal, invalid, not_found, ok, Call, Engine, Reply,
};
use axum::http::StatusCode;
use base64::Engine as _;
use cosmos_sdk_proto::cosmos::tx::v1beta1::{SimulateRequest, SimulateResponse};
use keystone_consensus_driver::rpc::Params;
use keystone_proto::prost::Message;
use serde_json::{json, Map, Value};
use std::collections::HashMap;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

use crate::grpc::MAX_SEARCH_LIMIT;

/// Block times by height, looked up once per answer.
#[derive(Default)]
struct BlockTimes(HashMap<u64, String>);

impl BlockTimes {
    /// The time of block `height` as Go's `time.RFC3339` prints it.
    async fn get(&mut self, engine: &Engine, height: u64) -> Result<String, Reply> {
        if let Some(t) = self.0.get(&height) {
            return Ok(t.clone());
        }
        let p = Params::default().with("height", json!(height.to_string()));
        let h = comet(engine, "header", p).await.map_err(internal)?;
        let text = h["header"]["time"].as_str().unwrap_or_default();
        let t = keystone_modules::Timestamp::parse(text)
            .and_then(|t| t.to_rfc3339_seconds())
            .map_err(|e| internal(format!("block {height} time: {e}")))?;
        self.0.insert(height, t.clone());
        Ok(t)
    }
}

/// `{tx, tx_response}` of one committed transaction as CometBFT's `tx` answers it.
async fn tx_and_response(
    engine: &Engine,
    t: &Value,
    times: &mut BlockTimes,
) -> Result<(Value, Value), Reply> {
    let height = tx_height(t).map_err(internal)?;
    let time = times.get(engine, height).await?;
    committed_tx_json(t, &time).map_err(internal)
}

/// The height of a committed transaction as CometBFT's `tx` answers it.
pub fn tx_height(t: &Value) -> Result<u64, String> {
    t["height"]
        .as_str()
        .and_then(|h| h.parse().ok())
        .ok_or_else(|| "tx without a height".to_string())
}

/// `{tx, tx_response}` of one committed transaction as CometBFT's `tx` answers it, in a block
/// of time `timestamp` (Go's RFC 3339): the SDK's `Tx` and `TxResponse` JSON, for the REST
/// gateway and the CLI's `query txs`.
pub fn committed_tx_json(t: &Value, timestamp: &str) -> Result<(Value, Value), String> {
    let raw = B64
        .decode(t["tx"].as_str().unwrap_or_default())
        .map_err(|e| format!("stored tx: {e}"))?;
    // A block may hold bytes that are not a transaction (the proposer's choice): they are
    // still reported, with `tx` null, as the SDK cannot decode them either.
    let tx = keystone_proto::tx_json::tx_to_json(&raw).unwrap_or(Value::Null);
    let height = tx_height(t)?;
    let r = &t["tx_result"];
    let data = B64
        .decode(r["data"].as_str().unwrap_or_default())
        .map_err(|e| format!("tx data: {e}"))?;
    let any = match &tx {
        Value::Object(fields) => {
            let mut m = Map::new();
            m.insert("@type".into(), json!("/cosmos.tx.v1beta1.Tx"));
            m.extend(fields.clone());
            Value::Object(m)
        }
        _ => Value::Null,
    };
    let response = json!({
        "height": height.to_string(),
        "txhash": t["hash"],
        "codespace": r["codespace"],
        "code": r["code"],
        "data": hex::encode_upper(data),
        "raw_log": r["log"],
        "logs": [],
        "info": r["info"],
        "gas_wanted": r["gas_wanted"],
        "gas_used": r["gas_used"],
        "tx": any,
        "timestamp": timestamp,
        "events": r["events"],
    });
    Ok((tx, response))
}

/// `GET /cosmos/tx/v1beta1/txs/block/{height}`: the block and its transactions as the SDK's
/// `Tx` JSON (`pagination.offset` and `pagination.limit`, default 100, page the
/// transactions; the block is whole), as `GetBlockWithTxs` answers.
pub(super) async fn block_with_txs(engine: &Engine, call: &Call) -> Result<Reply, Reply> {
    let text = call.var("height");
    let top = super::latest_height(engine).await?;
    let height: i64 = text
        .parse()
        .map_err(|_| invalid(format!("invalid height {text:?}")))?;
    if height <= 0 || height as u64 > top {
        return Err(invalid(format!(
            "requested height {height} but height must not be less than 1 or greater than the current height {top}"
        )));
    }
    let (id, block) = super::tendermint::block_and_id(engine, Some(text)).await?;
    let number = |name: &str, default: usize| -> Result<usize, Reply> {
        match call.query.get(name) {
            None | Some("") => Ok(default),
            Some(v) => v
                .parse()
                .map_err(|_| invalid(format!("invalid {name} {v:?}"))),
        }
    };
    let offset = number("pagination.offset", 0)?;
    let limit = match number("pagination.limit", 100)? {
        0 => 100,
        l => l,
    };
    let raw = block
        .data
        .as_ref()
        .map(|d| d.txs.clone())
        .unwrap_or_default();
    let txs: Vec<Value> = raw
        .iter()
        .skip(offset)
        .take(limit)
        .map(|t| keystone_proto::tx_json::tx_to_json(t).unwrap_or(Value::Null))
        .collect();
    Ok(ok(json!({
        "txs": txs,
        "block_id": id,
        "block": super::tendermint::tendermint_block_json(&block),
        "pagination": {"next_key": null, "total": raw.len().to_string()},
    })))
}

/// `GET /cosmos/tx/v1beta1/txs/{hash}`.
pub(super) async fn get_tx(engine: &Engine, call: &Call) -> Result<Reply, Reply> {
    let hash = call.var("hash");
    if hash.is_empty() {
        return Err(invalid("tx hash cannot be empty"));
    }
    let bytes = hex::decode(hash).map_err(|e| invalid(format!("encoding/hex: {e}")))?;
    let p = Params::default().with("hash", json!(B64.encode(&bytes)));
    let t = crate::rpc::call(engine, "tx", p).await.map_err(|e| {
        if e.not_found {
            not_found(format!("tx not found: {hash}"))
        } else {
            internal(e.data)
        }
    })?;
    let (tx, response) = tx_and_response(engine, &t, &mut BlockTimes::default()).await?;
    Ok(ok(json!({"tx": tx, "tx_response": response})))
}

/// `GET /cosmos/tx/v1beta1/txs`.
pub(super) async fn get_txs_event(engine: &Engine, call: &Call) -> Result<Reply, Reply> {
    let q = &call.query;
    let query = match q.get("query") {
        Some(query) => query.to_string(),
        None => {
            let events: Vec<&str> = q.all("events").filter(|e| !e.is_empty()).collect();
            for e in &events {
                if e.matches('=').count() != 1 {
                    return Err(invalid(format!(
                        "invalid event; event {e} should be of the format: {{eventType}}.{{eventAttribute}}={{value}}"
                    )));
                }
            }
            events.join(" AND ")
        }
    };
    if query.is_empty() {
        return Err(invalid("query cannot be empty"));
    }
    let page = q.uint("page")?.filter(|&p| p > 0).unwrap_or(1);
    let limit = q
        .uint("limit")?
        .filter(|&l| l > 0)
        .unwrap_or(100)
        .min(MAX_SEARCH_LIMIT);
    let order = match q.get("order_by").unwrap_or("") {
        "" | "ORDER_BY_UNSPECIFIED" | "0" => "",
        "ORDER_BY_ASC" | "1" => "asc",
        "ORDER_BY_DESC" | "2" => "desc",
        other => {
            return Err(invalid(format!(
                "type mismatch, parameter: order_by, error: {other:?} is not a valid cosmos.tx.v1beta1.OrderBy"
            )))
        }
    };
    let p = Params::default()
        .with("query", json!(query))
        .with("page", json!(page.to_string()))
        .with("per_page", json!(limit.to_string()))
        .with("order_by", json!(order));
    let found = comet(engine, "tx_search", p)
        .await
        .map_err(|e| invalid(format!("failed to search for txs: {e}")))?;
    let mut times = BlockTimes::default();
    let mut txs = Vec::new();
    let mut responses = Vec::new();
    for t in found["txs"].as_array().map(Vec::as_slice).unwrap_or(&[]) {
        let (tx, response) = tx_and_response(engine, t, &mut times).await?;
        txs.push(tx);
        responses.push(response);
    }
    Ok(ok(json!({
        "txs": txs,
        "tx_responses": responses,
        "pagination": null,
        "total": found["total_count"].as_str().unwrap_or("0"),
    })))
}

/// The transaction bytes of a request body: `tx_bytes` (base64), or the deprecated `tx` as
/// JSON (the message types `keystone_proto::tx_json` maps).
fn tx_bytes(body: &Value) -> Result<Vec<u8>, Reply> {
    match &body["tx_bytes"] {
        Value::String(s) if !s.is_empty() => B64
            .decode(s)
            .map_err(|e| invalid(format!("tx_bytes: illegal base64 data: {e}"))),
        Value::Null | Value::String(_) => match &body["tx"] {
            Value::Null => Ok(Vec::new()),
            tx => keystone_proto::tx_json::tx_from_json(tx).map_err(|e| invalid(e.to_string())),
        },
        other => Err(invalid(format!(
            "tx_bytes must be a base64 string, got {other}"
        ))),
    }
}

/// `POST /cosmos/tx/v1beta1/simulate`.
pub(super) async fn simulate(engine: &Engine, call: &Call) -> Result<Reply, Reply> {
    let body = call.json_body()?;
    #[allow(deprecated)] // `tx` is the deprecated field: always sent empty here
    let req = SimulateRequest {
        tx: None,
        tx_bytes: tx_bytes(&body)?,
    };
    let r = abci_query(
        engine,
        "/cosmos.tx.v1beta1.Service/Simulate",
        req.encode_to_vec(),
        0,
        false,
    )
    .await?;
    let resp = SimulateResponse::decode(r.value.as_ref())
        .map_err(|e| internal(format!("undecodable simulation: {e}")))?;
    let gas = resp.gas_info.unwrap_or_default();
    #[allow(deprecated)] // `Result.data` is deprecated but still in v0.50's answer
    let result = resp.result.map(|res| {
        json!({
            "data": bytes_json(&res.data),
            "log": res.log,
            "events": res.events.iter().map(|e| json!({
                "type": e.r#type,
                "attributes": e.attributes.iter().map(|a| json!({
                    "key": a.key, "value": a.value, "index": a.index,
                })).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
            "msg_responses": res.msg_responses.iter().map(keystone_proto::tx_json::any_to_json).collect::<Vec<_>>(),
        })
    });
    Ok(ok(json!({
        "gas_info": {"gas_wanted": gas.gas_wanted.to_string(), "gas_used": gas.gas_used.to_string()},
        "result": result.unwrap_or(Value::Null),
    })))
}

/// A `TxResponse` for a broadcast (what CometBFT's broadcast answers carry; the rest zero).
fn broadcast_response(hash: &str, code: u32, codespace: &str, data: &[u8], log: &str) -> Value {
    json!({"tx_response": {
        "height": "0", "txhash": hash, "codespace": codespace, "code": code,
        "data": hex::encode_upper(data), "raw_log": log, "logs": [], "info": "",
        "gas_wanted": "0", "gas_used": "0", "tx": null, "timestamp": "", "events": []
    }})
}

/// `POST /cosmos/tx/v1beta1/txs`.
pub(super) async fn broadcast(engine: &Engine, call: &Call) -> Result<Reply, Reply> {
    let body = call.json_body()?;
    let mode = match &body["mode"] {
        Value::Null => 0,
        Value::String(s) => match s.as_str() {
            "BROADCAST_MODE_UNSPECIFIED" => 0,
            "BROADCAST_MODE_BLOCK" => 1,
            "BROADCAST_MODE_SYNC" => 2,
            "BROADCAST_MODE_ASYNC" => 3,
            other => {
                return Err(invalid(format!(
                    "unknown value {other:?} for enum cosmos.tx.v1beta1.BroadcastMode"
                )))
            }
        },
        Value::Number(n) => n.as_u64().unwrap_or(u64::MAX),
        other => return Err(invalid(format!("mode must be a string, got {other}"))),
    };
    let tx = match &body["tx_bytes"] {
        Value::String(s) if !s.is_empty() => B64
            .decode(s)
            .map_err(|e| invalid(format!("tx_bytes: illegal base64 data: {e}")))?,
        Value::Null | Value::String(_) => return Err(invalid("invalid empty tx")),
        other => {
            return Err(invalid(format!(
                "tx_bytes must be a base64 string, got {other}"
            )))
        }
    };
    if mode != 2 && mode != 3 {
        // `normalizeBroadcastMode` makes BLOCK (and any other) "unspecified".
        return Err(invalid(
            "unsupported return type unspecified; supported types: sync, async",
        ));
    }
    let hash = hex::encode_upper(keystone_consensus_types::sha256(&tx).0);
    if mode == 3 {
        // Answered before CheckTx has run, as CometBFT's broadcast_tx_async is.
        engine.offer_tx(tx, Box::new(|_| {})).map_err(internal)?;
        return Ok(ok(broadcast_response(&hash, 0, "", &[], "")));
    }
    match engine.check_tx(tx).await {
        Ok(Ok(res)) => Ok(ok(broadcast_response(
            &hash,
            res.code,
            &res.codespace,
            &res.data,
            &res.log,
        ))),
        Ok(Err(e)) => match crate::grpc::mempool_refusal_code(&e) {
            Some(code) => Ok(ok(broadcast_response(&hash, code, "sdk", &[], ""))),
            None => Err(error(StatusCode::INTERNAL_SERVER_ERROR, 2, e.to_string())),
        },
        Err(e) => Err(internal(e)),
    }
}
