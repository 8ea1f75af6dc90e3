//! `cosmos.tx.v1beta1.Service` (the SDK's `x/auth/tx/service.go`) on the node's side:
//! `BroadcastTx` (sync: CheckTx's answer; async: answered before CheckTx; v0.50 has no
//! block mode, and an unspecified mode gets its refusal), `GetTx`, `GetTxsEvent` (v0.50's
//! `query`, or the legacy `events` joined with `AND`; `page` from 1, `limit` at most 100) and
//! `GetBlockWithTxs`. `Simulate` is the application's (see the module above); the
//! encode/decode helpers are not served.
//!
//! A `TxResponse` is the SDK's: `txhash` uppercase hex, `data` uppercase hex, `raw_log`,
//! `logs` empty (v0.50 logs are not JSON), the `Tx` as `Any`, `timestamp` the block's time in
//! RFC 3339 without fractions, and the events.

use super::tendermint::block_at;
use super::{answer, decode, internal, mempool_refusal_code, Gateway, Reply, MAX_SEARCH_LIMIT};
use cosmos_sdk_proto::cosmos::base::abci::v1beta1::TxResponse;
use cosmos_sdk_proto::cosmos::base::query::v1beta1::PageResponse;
use cosmos_sdk_proto::cosmos::tx::v1beta1 as txpb;
use keystone_consensus_driver::event_query::Query;
use keystone_consensus_driver::rpc::ReadView;
use keystone_proto::prost::Message;
use tonic::Status;

/// `None`: a method the application answers (`Simulate`).
pub(super) async fn call(g: &Gateway, method: &str, data: &[u8]) -> Option<Reply> {
    Some(match method {
        "Simulate" => return None,
        "BroadcastTx" => broadcast(g, data).await,
        "GetTx" => get_tx(g, data),
        "GetTxsEvent" => get_txs_event(g, data),
        "GetBlockWithTxs" => block_with_txs(g, data),
        _ => Err(Status::unimplemented(format!(
            "unknown method {method} for service cosmos.tx.v1beta1.Service"
        ))),
    })
}

async fn broadcast(g: &Gateway, data: &[u8]) -> Reply {
    let req: txpb::BroadcastTxRequest = decode(data)?;
    if req.tx_bytes.is_empty() {
        return Err(Status::invalid_argument("invalid empty tx"));
    }
    let sync = txpb::BroadcastMode::Sync as i32;
    let async_ = txpb::BroadcastMode::Async as i32;
    if req.mode != sync && req.mode != async_ {
        return Err(Status::invalid_argument(
            "unsupported return type unspecified; supported types: sync, async",
        ));
    }
    let hash = hex::encode_upper(keystone_consensus_types::sha256(&req.tx_bytes).0);
    let mut response = TxResponse {
        txhash: hash,
        ..Default::default()
    };
    if req.mode == async_ {
        // Answered before CheckTx has run, as CometBFT's broadcast_tx_async is.
        g.engine
            .offer_tx(req.tx_bytes, Box::new(|_| {}))
            .map_err(internal)?;
    } else {
        match g.engine.check_tx(req.tx_bytes).await.map_err(internal)? {
            Ok(res) => {
                response.code = res.code;
                response.codespace = res.codespace;
                response.data = hex::encode_upper(&res.data);
                response.raw_log = res.log;
            }
            Err(e) => {
                response.code =
                    mempool_refusal_code(&e).ok_or_else(|| Status::unknown(e.to_string()))?;
                response.codespace = "sdk".into();
            }
        }
    }
    answer(&txpb::BroadcastTxResponse {
        tx_response: Some(response),
    })
}

fn get_tx(g: &Gateway, data: &[u8]) -> Reply {
    let req: txpb::GetTxRequest = decode(data)?;
    if req.hash.is_empty() {
        return Err(Status::invalid_argument("tx hash cannot be empty"));
    }
    let hash = hex::decode(&req.hash)
        .map_err(|e| Status::invalid_argument(format!("encoding/hex: {e}")))?;
    let view = g.view()?;
    let (h, i) = view
        .blocks()
        .tx_location(&hash)
        .map_err(internal)?
        .ok_or_else(|| Status::not_found(format!("tx not found: {}", req.hash)))?;
    let (tx, tx_response) = committed(view, h, i)?;
    answer(&txpb::GetTxResponse {
        tx,
        tx_response: Some(tx_response),
    })
}

// v0.47 clients still send the deprecated `events`, and v0.50 still answers them.
#[allow(deprecated)]
fn get_txs_event(g: &Gateway, data: &[u8]) -> Reply {
    let req: txpb::GetTxsEventRequest = decode(data)?;
    let query = if req.query.is_empty() {
        for e in &req.events {
            if e.matches('=').count() != 1 {
                return Err(Status::invalid_argument(format!(
                    "invalid event; event {e} should be of the format: {{eventType}}.{{eventAttribute}}={{value}}"
                )));
            }
        }
        req.events.join(" AND ")
    } else {
        req.query
    };
    if query.is_empty() {
        return Err(Status::invalid_argument("query cannot be empty"));
    }
    let parsed: Query = query
        .parse()
        .map_err(|e| Status::invalid_argument(format!("{e}")))?;
    let page = req.page.max(1);
    let limit = match req.limit {
        0 => 100,
        l => l.min(MAX_SEARCH_LIMIT),
    };
    let view = g.view()?;
    let mut found = view.blocks().search_txs(&parsed).map_err(internal)?;
    if req.order_by == txpb::OrderBy::Desc as i32 {
        found.reverse();
    }
    let total = found.len() as u64;
    let skip = (page - 1).saturating_mul(limit);
    let mut txs = Vec::new();
    let mut tx_responses = Vec::new();
    for (h, i) in found.into_iter().skip(skip as usize).take(limit as usize) {
        let (tx, r) = committed(view, h, i)?;
        txs.push(tx.unwrap_or_default());
        tx_responses.push(r);
    }
    answer(&txpb::GetTxsEventResponse {
        txs,
        tx_responses,
        pagination: None,
        total,
    })
}

fn block_with_txs(g: &Gateway, data: &[u8]) -> Reply {
    let req: txpb::GetBlockWithTxsRequest = decode(data)?;
    let view = g.view()?;
    let top = view.last_height().map_err(internal)?;
    if req.height <= 0 || req.height as u64 > top {
        return Err(Status::invalid_argument(format!(
            "requested height {} but height must not be less than 1 or greater than the current height {top}",
            req.height
        )));
    }
    let (block_id, block, _) = block_at(view, req.height as u64)?;
    let raw = block
        .as_ref()
        .and_then(|b| b.data.as_ref())
        .map(|d| d.txs.clone())
        .unwrap_or_default();
    let page = req.pagination.unwrap_or_default();
    let limit = match page.limit {
        0 => 100,
        l => l,
    };
    let txs = raw
        .iter()
        .skip(page.offset as usize)
        .take(limit as usize)
        .map(|t| decode_tx(t).unwrap_or_default())
        .collect();
    answer(&txpb::GetBlockWithTxsResponse {
        txs,
        block_id,
        block,
        pagination: Some(PageResponse {
            next_key: Vec::new(),
            total: raw.len() as u64,
        }),
    })
}

/// A transaction's bytes as the SDK's `Tx` (`None`: not a transaction, which a block may
/// still hold).
fn decode_tx(raw: &[u8]) -> Option<txpb::Tx> {
    let r = txpb::TxRaw::decode(raw).ok()?;
    Some(txpb::Tx {
        body: Some(txpb::TxBody::decode(r.body_bytes.as_slice()).ok()?),
        auth_info: Some(txpb::AuthInfo::decode(r.auth_info_bytes.as_slice()).ok()?),
        signatures: r.signatures,
    })
}

/// The `index`-th transaction of block `h`, and its `TxResponse`.
fn committed(
    view: &ReadView,
    h: u64,
    index: u32,
) -> Result<(Option<txpb::Tx>, TxResponse), Status> {
    let blocks = view.blocks();
    let block = blocks
        .block_proto(h)
        .map_err(internal)?
        .ok_or_else(|| Status::not_found(format!("block {h} is not available")))?;
    let raw = block
        .data
        .as_ref()
        .and_then(|d| d.txs.get(index as usize))
        .ok_or_else(|| internal(format!("block {h} has no transaction {index}")))?;
    let results = blocks
        .results(h)
        .map_err(internal)?
        .ok_or_else(|| internal(format!("the results of block {h} are not stored")))?;
    let r = results
        .tx_results
        .get(index as usize)
        .cloned()
        .unwrap_or_default();
    let timestamp = block
        .header
        .as_ref()
        .and_then(|hd| hd.time.as_ref())
        .and_then(|t| keystone_modules::Timestamp::new(t.seconds, t.nanos.max(0) as u32).ok())
        .and_then(|t| t.to_rfc3339_seconds().ok())
        .unwrap_or_default();
    let tx = decode_tx(raw);
    let response = TxResponse {
        height: h as i64,
        txhash: hex::encode_upper(keystone_consensus_types::sha256(raw).0),
        codespace: r.codespace,
        code: r.code,
        data: hex::encode_upper(&r.data),
        raw_log: r.log,
        logs: Vec::new(),
        info: r.info,
        gas_wanted: r.gas_wanted,
        gas_used: r.gas_used,
        tx: tx
            .as_ref()
            .map(|t| keystone_proto::tm::google::protobuf::Any {
                type_url: "/cosmos.tx.v1beta1.Tx".into(),
                value: t.encode_to_vec(),
            }),
        timestamp,
        events: r.events,
    };
    Ok((tx, response))
}
