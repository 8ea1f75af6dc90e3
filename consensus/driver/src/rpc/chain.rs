//! The chain's stored history: blocks, headers, commits, validator sets, `FinalizeBlock`
//! results, consensus params and the genesis document.

use super::params::Bytes;
use super::shape::{self, to_json};
use super::view::ReadView;
use super::{NodeContext, Params, RpcError};
use keystone_consensus_types::Height;
use keystone_proto::types as pb;
use prost::Message;
use serde_json::{json, Value};

/// Genesis chunks are this big (CometBFT's `genesisChunkSize`), and `genesis` refuses a
/// document larger than one chunk.
const GENESIS_CHUNK: usize = 16 * 1024 * 1024;

/// At most this many block metas per `blockchain` answer (CometBFT's limit).
const BLOCKCHAIN_LIMIT: u64 = 20;

pub(super) fn internal(e: impl std::fmt::Display) -> RpcError {
    RpcError::internal(e)
}

/// The height `p` asks for (latest when absent), checked as CometBFT checks it: positive,
/// not above `top`, not below the oldest block kept.
pub(super) fn height_at_most(view: &ReadView, p: &Params, top: Height) -> Result<Height, RpcError> {
    let base = view.blocks().base().map_err(internal)?;
    match p.int("height")? {
        None => Ok(top),
        Some(h) if h <= 0 => Err(internal(format!(
            "height must be greater than 0, but got {h}"
        ))),
        Some(h) if h as u64 > top => Err(internal(format!(
            "height {h} must be less than or equal to the current blockchain height {top}"
        ))),
        Some(h) if (h as u64) < base => Err(internal(format!(
            "height {h} is not available, lowest height is {base}"
        ))),
        Some(h) => Ok(h as u64),
    }
}

/// A committed height (`block`, `header`, `commit`, `block_results`).
pub(super) fn committed_height(view: &ReadView, p: &Params) -> Result<Height, RpcError> {
    let latest = view.blocks().height().map_err(internal)?;
    if latest == 0 {
        return Err(internal("no blocks have been committed yet"));
    }
    height_at_most(view, p, latest)
}

/// `{block_id, block}` of a stored height.
pub(super) fn block_json(view: &ReadView, h: Height) -> Result<Value, RpcError> {
    let blocks = view.blocks();
    let (Some(block), Some(id)) = (
        blocks.block_proto(h).map_err(internal)?,
        blocks.block_id(h).map_err(internal)?,
    ) else {
        return Err(internal(format!("height {h} is not available")));
    };
    Ok(json!({"block_id": to_json(&id.to_proto())?, "block": to_json(&block)?}))
}

fn header_of(view: &ReadView, h: Height) -> Result<pb::Header, RpcError> {
    view.blocks()
        .header(h)
        .map_err(internal)?
        .ok_or_else(|| internal(format!("height {h} is not available")))
}

pub(super) fn block(view: &ReadView, p: &Params) -> Result<Value, RpcError> {
    block_json(view, committed_height(view, p)?)
}

/// The height of the block whose hash `p` gives (`block_by_hash` takes it as `[]byte`,
/// base64; `header_by_hash` as `HexBytes`, hex — CometBFT's types).
fn hash_height(view: &ReadView, p: &Params, form: Bytes) -> Result<Option<Height>, RpcError> {
    let hash = p.need_bytes("hash", form)?;
    view.blocks().height_of(&hash).map_err(internal)
}

pub(super) fn block_by_hash(view: &ReadView, p: &Params) -> Result<Value, RpcError> {
    match hash_height(view, p, Bytes::Base64)? {
        Some(h) => block_json(view, h),
        // CometBFT answers an unknown hash with an empty id and no block.
        None => {
            Ok(json!({"block_id": {"hash": "", "parts": {"total": 0, "hash": ""}}, "block": null}))
        }
    }
}

pub(super) fn header(view: &ReadView, p: &Params) -> Result<Value, RpcError> {
    let h = committed_height(view, p)?;
    Ok(json!({"header": to_json(&header_of(view, h)?)?}))
}

pub(super) fn header_by_hash(view: &ReadView, p: &Params) -> Result<Value, RpcError> {
    match hash_height(view, p, Bytes::Hex)? {
        Some(h) => Ok(json!({"header": to_json(&header_of(view, h)?)?})),
        None => Ok(json!({"header": null})),
    }
}

/// Block metas from `maxHeight` down to `minHeight`, at most [`BLOCKCHAIN_LIMIT`], as
/// CometBFT's `filterMinMax` bounds them.
pub(super) fn blockchain(view: &ReadView, p: &Params) -> Result<Value, RpcError> {
    let blocks = view.blocks();
    let latest = blocks.height().map_err(internal)?;
    let base = blocks.base().map_err(internal)?;
    let min = p.int("minHeight")?.unwrap_or(0);
    let max = p.int("maxHeight")?.unwrap_or(0);
    if min < 0 || max < 0 {
        return Err(internal("heights must be non negative"));
    }
    let (mut min, mut max) = (min as u64, max as u64);
    if min == 0 {
        min = 1;
    }
    if max == 0 || max > latest {
        max = latest;
    }
    min = min
        .max(base)
        .max((max + 1).saturating_sub(BLOCKCHAIN_LIMIT));
    if min > max {
        return Err(internal(format!(
            "min height {min} can't be greater than max height {max}"
        )));
    }
    let mut metas = Vec::new();
    for h in (min..=max).rev() {
        let (Some(block), Some(id)) = (
            blocks.block_proto(h).map_err(internal)?,
            blocks.block_id(h).map_err(internal)?,
        ) else {
            continue;
        };
        let num_txs = block.data.as_ref().map_or(0, |d| d.txs.len());
        metas.push(json!({
            "block_id": to_json(&id.to_proto())?,
            "block_size": block.encoded_len().to_string(),
            "header": to_json(&block.header)?,
            "num_txs": num_txs.to_string(),
        }));
    }
    Ok(json!({"last_height": latest.to_string(), "block_metas": metas}))
}

pub(super) fn block_results(view: &ReadView, p: &Params) -> Result<Value, RpcError> {
    let h = committed_height(view, p)?;
    let r = view
        .blocks()
        .results(h)
        .map_err(internal)?
        .ok_or_else(|| internal(format!("could not find results for height #{h}")))?;
    let txs: Vec<Value> = r.tx_results.iter().map(shape::exec_tx_result).collect();
    Ok(json!({
        "height": h.to_string(),
        "txs_results": if txs.is_empty() { Value::Null } else { Value::Array(txs) },
        "finalize_block_events": shape::events(&r.events),
        "validator_updates": r.validator_updates.iter().map(shape::validator_update).collect::<Vec<_>>(),
        "consensus_param_updates": r.consensus_param_updates.as_ref().map(shape::consensus_params),
        "app_hash": hex::encode_upper(&r.app_hash),
    }))
}

pub(super) fn commit(view: &ReadView, p: &Params) -> Result<Value, RpcError> {
    let h = committed_height(view, p)?;
    let latest = view.blocks().height().map_err(internal)?;
    let header = header_of(view, h)?;
    let commit = view
        .blocks()
        .canonical_commit(h)
        .map_err(internal)?
        .ok_or_else(|| internal(format!("commit of height {h} is not available")))?;
    Ok(json!({
        "signed_header": {"header": to_json(&header)?, "commit": to_json(&commit.to_proto())?},
        // The commit the next block carries is every node's; the newest is this node's own.
        "canonical": h < latest,
    }))
}

/// CometBFT's paging: `page` from 1, `per_page` 30 by default and clamped to 1..=100; a page
/// past the last is an error. Returns how many to skip and how many to take.
pub(super) fn page(p: &Params, total: usize) -> Result<(usize, usize), RpcError> {
    let per_page = match p.int("per_page")? {
        None => 30,
        Some(n) if n < 1 => 30,
        Some(n) => n.min(100) as usize,
    };
    let pages = total.div_ceil(per_page).max(1);
    let page = p.int("page")?.unwrap_or(1);
    if page < 1 || page as usize > pages {
        return Err(internal(format!(
            "page should be within [1, {pages}] range, given {page}"
        )));
    }
    Ok(((page as usize - 1) * per_page, per_page))
}

pub(super) fn validators(view: &ReadView, p: &Params) -> Result<Value, RpcError> {
    // Like CometBFT, the set of the height in progress is known too.
    let top = view.last_height().map_err(internal)? + 1;
    let h = height_at_most(view, p, top)?;
    let set = view
        .validators_at(h)
        .map_err(internal)?
        .ok_or_else(|| internal(format!("validators of height {h} are not available")))?;
    let (skip, take) = page(p, set.len())?;
    let vals: Vec<Value> = set
        .validators()
        .iter()
        .skip(skip)
        .take(take)
        .map(|v| {
            json!({
                "address": v.address.to_string(),
                "pub_key": {"type": "tendermint/PubKeyEd25519", "value": shape::b64(&v.pub_key.0)},
                "voting_power": v.voting_power.to_string(),
                "proposer_priority": v.proposer_priority.to_string(),
            })
        })
        .collect();
    Ok(json!({
        "block_height": h.to_string(),
        "validators": vals,
        "count": vals.len().to_string(),
        "total": set.len().to_string(),
    }))
}

pub(super) fn consensus_params(view: &ReadView, p: &Params) -> Result<Value, RpcError> {
    let top = view.last_height().map_err(internal)? + 1;
    let h = height_at_most(view, p, top)?;
    // Every height has the genesis params: the engine does not apply an application's
    // `consensus_param_updates` (the built-in app never returns any).
    let params = view.genesis().consensus_params.clone().unwrap_or_default();
    Ok(json!({"block_height": h.to_string(), "consensus_params": shape::consensus_params(&params)}))
}

pub(super) fn genesis(node: &NodeContext) -> Result<Value, RpcError> {
    let len = serde_json::to_vec(&node.genesis).map_err(internal)?.len();
    if len > GENESIS_CHUNK {
        return Err(internal(
            "genesis response is large, please use the genesis_chunked API instead",
        ));
    }
    Ok(json!({"genesis": node.genesis}))
}

pub(super) fn genesis_chunked(node: &NodeContext, p: &Params) -> Result<Value, RpcError> {
    let bytes = serde_json::to_vec(&node.genesis).map_err(internal)?;
    let chunks: Vec<&[u8]> = bytes.chunks(GENESIS_CHUNK).collect();
    let id = p.int("chunk")?.unwrap_or(0);
    let chunk = usize::try_from(id)
        .ok()
        .and_then(|i| chunks.get(i))
        .ok_or_else(|| {
            internal(format!(
                "there are {} chunks, {id} is invalid",
                chunks.len().saturating_sub(1)
            ))
        })?;
    Ok(
        json!({"chunk": id.to_string(), "total": chunks.len().to_string(), "data": shape::b64(chunk)}),
    )
}
