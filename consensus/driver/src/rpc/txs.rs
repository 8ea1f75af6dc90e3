//! Transactions and the event indexes: `tx`, `tx_search`, `block_search`, the mempool's
//! `unconfirmed_txs`, and `check_tx`.

use super::chain::{block_json, internal, page};
use super::params::Bytes;
use super::shape;
use super::view::ReadView;
use super::{Params, RpcError};
use crate::engine::Engine;
use crate::event_query::{Query, MAX_QUERY_LEN};
use keystone_consensus_types::{merkle, sha256, Height};
use keystone_proto::Application;
use serde_json::{json, Value};

/// The JSON of one committed transaction, as `tx` answers it; with `prove`, its Merkle proof
/// against the block's `data_hash` (CometBFT's `TxProof`).
fn tx_json(view: &ReadView, height: Height, index: u32, prove: bool) -> Result<Value, RpcError> {
    let block = view
        .blocks()
        .block_proto(height)
        .map_err(internal)?
        .ok_or_else(|| internal(format!("block {height} is not available")))?;
    let txs = block.data.map(|d| d.txs).unwrap_or_default();
    let tx = txs
        .get(index as usize)
        .ok_or_else(|| internal(format!("block {height} has no tx {index}")))?;
    let results = view
        .blocks()
        .results(height)
        .map_err(internal)?
        .ok_or_else(|| internal(format!("could not find results for height #{height}")))?;
    let result = results
        .tx_results
        .get(index as usize)
        .ok_or_else(|| internal(format!("height {height} has no result for tx {index}")))?;
    let mut out = json!({
        "hash": hex::encode_upper(sha256(tx).0),
        "height": height.to_string(),
        "index": index,
        "tx_result": shape::exec_tx_result(result),
        "tx": shape::b64(tx),
    });
    if prove {
        let hashes: Vec<[u8; 32]> = txs.iter().map(|t| sha256(t).0).collect();
        let (root, proofs) = merkle::proofs_from_byte_slices(&hashes);
        let proof = proofs
            .get(index as usize)
            .ok_or_else(|| internal("no proof for the tx"))?;
        out["proof"] = json!({
            "root_hash": root.to_hex(),
            "data": shape::b64(tx),
            "proof": {
                "total": proof.total.to_string(),
                "index": proof.index.to_string(),
                "leaf_hash": shape::b64(&proof.leaf_hash.0),
                "aunts": proof.aunts.iter().map(|a| shape::b64(&a.0)).collect::<Vec<_>>(),
            },
        });
    }
    Ok(out)
}

pub(super) fn tx(view: &ReadView, p: &Params) -> Result<Value, RpcError> {
    let hash = p.need_bytes("hash", Bytes::Base64)?;
    let (h, i) = view
        .blocks()
        .tx_location(&hash)
        .map_err(internal)?
        .ok_or_else(|| {
            RpcError::not_found(format!("tx ({}) not found", hex::encode_upper(&hash)))
        })?;
    tx_json(view, h, i, p.bool("prove")?)
}

/// The `query` parameter, parsed (CometBFT refuses long ones before parsing).
fn query(p: &Params) -> Result<Query, RpcError> {
    let q = p
        .string("query")?
        .ok_or_else(|| RpcError::invalid_params("missing query"))?;
    if q.len() > MAX_QUERY_LEN {
        return Err(internal(format!(
            "maximum query length exceeded: length {}, max_length {MAX_QUERY_LEN}",
            q.len()
        )));
    }
    q.parse().map_err(internal)
}

/// `order_by`: ascending unless `desc`.
fn descending(p: &Params) -> Result<bool, RpcError> {
    match p.string("order_by")?.as_deref() {
        None | Some("") | Some("asc") => Ok(false),
        Some("desc") => Ok(true),
        Some(_) => Err(internal(
            "expected order_by to be either `asc` or `desc` or empty",
        )),
    }
}

pub(super) fn tx_search(view: &ReadView, p: &Params) -> Result<Value, RpcError> {
    let q = query(p)?;
    let prove = p.bool("prove")?;
    let mut found = view.blocks().search_txs(&q).map_err(internal)?;
    if descending(p)? {
        found.reverse();
    }
    let (skip, take) = page(p, found.len())?;
    let txs = found
        .iter()
        .skip(skip)
        .take(take)
        .map(|&(h, i)| tx_json(view, h, i, prove))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(json!({"txs": txs, "total_count": found.len().to_string()}))
}

pub(super) fn block_search(view: &ReadView, p: &Params) -> Result<Value, RpcError> {
    let q = query(p)?;
    let mut found = view.blocks().search_blocks(&q).map_err(internal)?;
    if descending(p)? {
        found.reverse();
    }
    let (skip, take) = page(p, found.len())?;
    let blocks = found
        .iter()
        .skip(skip)
        .take(take)
        .map(|&h| block_json(view, h))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(json!({"blocks": blocks, "total_count": found.len().to_string()}))
}

pub(super) fn unconfirmed_txs(view: &ReadView, p: &Params) -> Result<Value, RpcError> {
    // CometBFT: `limit` defaults to 30 and is clamped to 100, like `per_page`.
    let limit = match p.int("limit")? {
        None => 30,
        Some(n) if n < 1 => 30,
        Some(n) => n.min(100) as usize,
    };
    let mempool = view.mempool();
    let txs: Vec<String> = mempool.first(limit).iter().map(|t| shape::b64(t)).collect();
    Ok(json!({
        "n_txs": txs.len().to_string(),
        "total": mempool.len().to_string(),
        "total_bytes": mempool.bytes().to_string(),
        "txs": txs,
    }))
}

pub(super) fn num_unconfirmed_txs(view: &ReadView) -> Value {
    let mempool = view.mempool();
    json!({
        "n_txs": mempool.len().to_string(),
        "total": mempool.len().to_string(),
        "total_bytes": mempool.bytes().to_string(),
        "txs": null,
    })
}

pub(super) fn check_tx<A: Application>(
    engine: &mut Engine<A>,
    p: &Params,
) -> Result<Value, RpcError> {
    let tx = p.need_bytes("tx", Bytes::Base64)?;
    let res = engine.check_tx_alone(tx).map_err(internal)?;
    Ok(shape::check_tx_result(&res))
}
