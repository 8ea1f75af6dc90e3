//! The JSON shapes CometBFT v0.38 gives the pieces of its answers: int64s as strings, bytes as
//! base64 (hashes and addresses as uppercase hex), events with string attributes, public keys
//! in Amino JSON (or protobuf JSON inside ABCI types), durations as nanosecond strings.

use base64::Engine as _;
use keystone_p2p::NodeInfo;
use keystone_proto::{abci, types as pb};
use serde_json::{json, Value};

/// Standard base64.
pub fn b64(b: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(b)
}

/// Any serializable value as JSON (the protobuf types carry CometBFT's JSON conventions).
pub(super) fn to_json<T: serde::Serialize>(v: &T) -> Result<Value, super::RpcError> {
    serde_json::to_value(v).map_err(super::RpcError::internal)
}

/// ABCI events: attribute keys and values as plain strings, each with its `index` flag.
pub fn events(events: &[abci::Event]) -> Value {
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

/// Bytes as base64, or `null` when empty (Go's nil slice).
fn nullable_b64(b: &[u8]) -> Value {
    if b.is_empty() {
        Value::Null
    } else {
        json!(b64(b))
    }
}

/// One transaction's `ExecTxResult`.
pub fn exec_tx_result(r: &abci::ExecTxResult) -> Value {
    json!({
        "code": r.code, "data": nullable_b64(&r.data), "log": r.log, "info": r.info,
        "gas_wanted": r.gas_wanted.to_string(), "gas_used": r.gas_used.to_string(),
        "events": events(&r.events), "codespace": r.codespace
    })
}

/// A `CheckTx` answer (`check_tx`, `broadcast_tx_commit`).
pub fn check_tx_result(r: &abci::ResponseCheckTx) -> Value {
    json!({
        "code": r.code, "data": nullable_b64(&r.data), "log": r.log, "info": r.info,
        "gas_wanted": r.gas_wanted.to_string(), "gas_used": r.gas_used.to_string(),
        "events": events(&r.events), "codespace": r.codespace
    })
}

/// An ABCI `ValidatorUpdate` (the public key in protobuf JSON, as `block_results` has it).
pub fn validator_update(u: &abci::ValidatorUpdate) -> Value {
    use keystone_proto::crypto::public_key::Sum;
    let key = match u.pub_key.as_ref().and_then(|k| k.sum.as_ref()) {
        Some(Sum::Ed25519(k)) => {
            json!({"Sum": {"type": "tendermint.crypto.PublicKey_Ed25519", "value": {"ed25519": b64(k)}}})
        }
        Some(Sum::Secp256k1(k)) => {
            json!({"Sum": {"type": "tendermint.crypto.PublicKey_Secp256k1", "value": {"secp256k1": b64(k)}}})
        }
        None => Value::Null,
    };
    json!({"pub_key": key, "power": u.power.to_string()})
}

/// Consensus params as CometBFT's JSON writes them (as in `genesis.json`).
pub fn consensus_params(p: &pb::ConsensusParams) -> Value {
    let block = p.block.unwrap_or_default();
    let evidence = p.evidence.unwrap_or_default();
    let age = evidence.max_age_duration.unwrap_or_default();
    let age_nanos = i128::from(age.seconds) * 1_000_000_000 + i128::from(age.nanos);
    let abci = p.abci.unwrap_or_default();
    json!({
        "block": {"max_bytes": block.max_bytes.to_string(), "max_gas": block.max_gas.to_string()},
        "evidence": {
            "max_age_num_blocks": evidence.max_age_num_blocks.to_string(),
            "max_age_duration": age_nanos.to_string(),
            "max_bytes": evidence.max_bytes.to_string(),
        },
        "validator": {"pub_key_types": p.validator.clone().unwrap_or_default().pub_key_types},
        "version": {"app": p.version.unwrap_or_default().app.to_string()},
        "abci": {"vote_extensions_enable_height": abci.vote_extensions_enable_height.to_string()},
    })
}

/// A node's p2p self-description (`status.node_info`, each `net_info` peer).
pub fn node_info(i: &NodeInfo, rpc_address: &str) -> Value {
    json!({
        "protocol_version": {
            "p2p": i.protocol_version.p2p.to_string(),
            "block": i.protocol_version.block.to_string(),
            "app": i.protocol_version.app.to_string(),
        },
        "id": i.node_id.to_string(),
        "listen_addr": i.listen_addr,
        "network": i.network,
        "version": i.version,
        "channels": hex::encode(&i.channels),
        "moniker": i.moniker,
        "other": {"tx_index": i.tx_index, "rpc_address": if rpc_address.is_empty() { i.rpc_address.as_str() } else { rpc_address }},
    })
}

/// A time as RFC 3339 with nanoseconds, as every CometBFT time is written.
pub fn time(t: &keystone_proto::Timestamp) -> Value {
    serde_json::to_value(t).unwrap_or(Value::Null)
}
