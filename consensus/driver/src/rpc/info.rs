//! The node and its application: `status`, `net_info`, `abci_info`, `abci_query`.

use super::chain::internal;
use super::params::Bytes;
use super::shape::{self, b64};
use super::view::ReadView;
use super::{NodeContext, Params, RpcError};
use keystone_proto::prost::bytes::Bytes as Buf;
use keystone_proto::{abci, AppResult};
use serde_json::{json, Value};
use std::time::SystemTime;

/// Hash, app hash and time of a stored height (`""` when it is not stored).
fn summary(view: &ReadView, h: u64) -> Result<(String, String, Value), RpcError> {
    let blocks = view.blocks();
    let hash = blocks
        .block_id(h)
        .map_err(internal)?
        .map(|id| id.hash.to_hex())
        .unwrap_or_default();
    // As CometBFT: the app hash in h's header (the state h was proposed on), so a block
    // stored and not yet executed has one too.
    let header = blocks.header(h).map_err(internal)?;
    let app_hash = header
        .as_ref()
        .map(|hd| hex::encode_upper(&hd.app_hash))
        .unwrap_or_default();
    let time = header
        .and_then(|hd| hd.time)
        .map(|t| shape::time(&t))
        .unwrap_or_else(|| json!("1970-01-01T00:00:00Z"));
    Ok((hash, app_hash, time))
}

pub(super) fn status(view: &ReadView, node: &NodeContext) -> Result<Value, RpcError> {
    let blocks = view.blocks();
    let latest = blocks.height().map_err(internal)?;
    let base = blocks.base().map_err(internal)?;
    let (latest_hash, latest_app_hash, latest_time) = summary(view, latest)?;
    let (earliest_hash, earliest_app_hash, earliest_time) = summary(view, base)?;
    let me = view.validator_key();
    // This node's power in the set of the height in progress (0: not a validator).
    let power = view
        .validators_at(view.last_height().map_err(internal)? + 1)
        .map_err(internal)?
        .and_then(|set| set.get_by_address(&me.address()).map(|v| v.voting_power))
        .unwrap_or(0);
    Ok(json!({
        "node_info": shape::node_info(&node.info, &node.rpc_address),
        "sync_info": {
            "latest_block_hash": latest_hash, "latest_app_hash": latest_app_hash,
            "latest_block_height": latest.to_string(), "latest_block_time": latest_time,
            "earliest_block_hash": earliest_hash, "earliest_app_hash": earliest_app_hash,
            "earliest_block_height": base.to_string(), "earliest_block_time": earliest_time,
            "catching_up": node.catching_up,
        },
        "validator_info": {
            "address": me.address().to_string(),
            "pub_key": {"type": "tendermint/PubKeyEd25519", "value": b64(&me.0)},
            "voting_power": power.to_string(),
        },
    }))
}

/// A connection's traffic in CometBFT's flow-monitor shape. Only what is counted is
/// reported: the bytes, the connection's age and the average rate; the sampled rates are 0.
fn monitor(start: &Value, nanos: u128, bytes: u64) -> Value {
    let secs = (nanos / 1_000_000_000).max(1);
    json!({
        "Active": true, "Start": start, "Duration": nanos.to_string(), "Idle": "0",
        "Bytes": bytes.to_string(), "Samples": "0", "InstRate": "0", "CurRate": "0",
        "AvgRate": (u128::from(bytes) / secs).to_string(), "PeakRate": "0",
        "BytesRem": "0", "TimeRem": "0", "Progress": 0,
    })
}

pub(super) fn net_info(node: &NodeContext) -> Value {
    let now = SystemTime::now();
    let peers: Vec<Value> = node
        .peers
        .iter()
        .map(|p| {
            let age = now.duration_since(p.since).unwrap_or_default().as_nanos();
            let since = p
                .since
                .duration_since(SystemTime::UNIX_EPOCH)
                .unwrap_or_default();
            let start = keystone_proto::Timestamp {
                seconds: since.as_secs() as i64,
                nanos: since.subsec_nanos() as i32,
            };
            let start = shape::time(&start);
            json!({
                "node_info": shape::node_info(&p.info, ""),
                "is_outbound": p.outbound,
                "connection_status": {
                    "Duration": age.to_string(),
                    "SendMonitor": monitor(&start, age, p.sent),
                    "RecvMonitor": monitor(&start, age, p.received),
                    "Channels": [],
                },
                "remote_ip": p.remote.map(|a| a.ip().to_string()).unwrap_or_default(),
            })
        })
        .collect();
    json!({
        "listening": node.listening,
        "listeners": if node.listening { vec![format!("Listener(@{})", node.info.listen_addr)] } else { vec![] },
        "n_peers": peers.len().to_string(),
        "peers": peers,
    })
}

/// `abci_info`, from the application's answer.
pub(super) fn abci_info(info: AppResult<abci::ResponseInfo>) -> Result<Value, RpcError> {
    let i = info.map_err(internal)?;
    Ok(json!({"response": {
        "data": i.data, "version": i.version, "app_version": i.app_version.to_string(),
        "last_block_height": i.last_block_height.to_string(),
        "last_block_app_hash": b64(&i.last_block_app_hash),
    }}))
}

/// An ABCI `Query` answer as `abci_query` writes it.
pub(super) fn query_json(r: &abci::ResponseQuery) -> Value {
    let proof_ops = r.proof_ops.as_ref().map(|ops| {
        json!({"ops": ops.ops.iter().map(|o| json!({"type": o.r#type, "key": b64(&o.key), "data": b64(&o.data)})).collect::<Vec<_>>()})
    });
    json!({
        "code": r.code, "log": r.log, "info": r.info, "index": r.index.to_string(),
        "key": b64(&r.key), "value": b64(&r.value), "proofOps": proof_ops,
        "height": r.height.to_string(), "codespace": r.codespace
    })
}

/// The `Query` an `abci_query` call asks.
pub(super) fn query_request(p: &Params) -> Result<abci::RequestQuery, RpcError> {
    let height = p.int("height")?.unwrap_or(0);
    if height < 0 {
        return Err(internal(format!(
            "height must be non-negative, but got {height}"
        )));
    }
    Ok(abci::RequestQuery {
        data: Buf::from(p.bytes("data", Bytes::Hex)?.unwrap_or_default()),
        path: p.string("path")?.unwrap_or_default(),
        height,
        prove: p.bool("prove")?,
    })
}

/// `abci_query`, from the application's answer.
pub(super) fn abci_query(r: AppResult<abci::ResponseQuery>) -> Result<Value, RpcError> {
    let r = r.map_err(internal)?;
    Ok(json!({"response": query_json(&r)}))
}
