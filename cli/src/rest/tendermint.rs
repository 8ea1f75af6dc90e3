//! `cosmos.base.tendermint.v1beta1.Service` as the SDK v0.50 gateway serves it
//! (`client/grpc/cmtservice`), built from the node's CometBFT methods:
//!
//! - `node_info` → `{default_node_info, application_version}`: `status.node_info` as the
//!   `tendermint.p2p.DefaultNodeInfo` proto writes it (`default_node_id`, channels in base64,
//!   protocol versions as strings), and this binary's version (`name`/`app_name`
//!   `keystone`, `cosmos_sdk_version` the SDK API level served, `v0.50.9`; `go_version` and
//!   `build_deps` empty — there is no Go in it);
//! - `syncing` → `{syncing}` (`status.sync_info.catching_up`);
//! - `blocks/latest`, `blocks/{height}` → `{block_id, block, sdk_block}`: the
//!   `tendermint.types` protos in gateway JSON (hashes, addresses and signatures in base64,
//!   `block_id_flag` by name), `sdk_block` the same with `proposer_address` as a
//!   `cosmosvalcons` address;
//! - `validatorsets/latest`, `validatorsets/{height}` → `{block_height, validators: [{address
//!   (cosmosvalcons), pub_key: {"@type": "/cosmos.crypto.ed25519.PubKey", key},
//!   voting_power, proposer_priority}], pagination: {next_key: null, total}}`; paged with
//!   `pagination.offset`/`limit` as the SDK's `ParsePagination` turns them into CometBFT's
//!   `page`/`per_page` (limit default 100; CometBFT clamps `per_page` to 100). `latest` is the
//!   set of the height in progress, as CometBFT's `validators` without a height answers.
//!
//! A height above the chain's is refused with the SDK's `requested block height is bigger
//! then the chain length`; a height that does not parse, or is ≤ 0, with 400 (see the module
//! above on malformed input).

use super::{bytes_json, comet, internal, invalid, ok, Call, Engine, Reply};
use base64::Engine as _;
use keystone_consensus_driver::rpc::Params;
use keystone_modules::Address;
use keystone_proto::types as pb;
use serde_json::{json, Value};

use crate::grpc::COSMOS_SDK_VERSION;

async fn status(engine: &Engine) -> Result<Value, Reply> {
    comet(engine, "status", Params::default())
        .await
        .map_err(internal)
}

/// `GET /cosmos/base/tendermint/v1beta1/node_info`.
pub(super) async fn node_info(engine: &Engine) -> Result<Reply, Reply> {
    let s = status(engine).await?;
    let n = &s["node_info"];
    let channels = hex::decode(n["channels"].as_str().unwrap_or_default()).unwrap_or_default();
    Ok(ok(json!({
        "default_node_info": {
            "protocol_version": n["protocol_version"],
            "default_node_id": n["id"],
            "listen_addr": n["listen_addr"],
            "network": n["network"],
            "version": n["version"],
            "channels": base64::engine::general_purpose::STANDARD.encode(channels),
            "moniker": n["moniker"],
            "other": {"tx_index": n["other"]["tx_index"], "rpc_address": n["other"]["rpc_address"]},
        },
        "application_version": {
            "name": "keystone",
            "app_name": "keystone",
            "version": env!("CARGO_PKG_VERSION"),
            "git_commit": "",
            "build_tags": "",
            "go_version": "",
            "build_deps": [],
            "cosmos_sdk_version": COSMOS_SDK_VERSION,
        },
    })))
}

/// `GET /cosmos/base/tendermint/v1beta1/syncing`.
pub(super) async fn syncing(engine: &Engine) -> Result<Reply, Reply> {
    let s = status(engine).await?;
    Ok(ok(
        json!({"syncing": s["sync_info"]["catching_up"].as_bool().unwrap_or(false)}),
    ))
}

/// A height from the path, checked as the SDK checks it against the chain's.
async fn requested_height(engine: &Engine, text: &str) -> Result<u64, Reply> {
    let h: i64 = text.parse().map_err(|_| {
        invalid(format!(
            "type mismatch, parameter: height, error: strconv.ParseInt: parsing {text:?}: invalid syntax"
        ))
    })?;
    if h <= 0 {
        return Err(invalid(format!(
            "height must be greater than 0, but got {h}"
        )));
    }
    let latest = super::latest_height(engine).await?;
    if h as u64 > latest {
        return Err(invalid(
            "requested block height is bigger then the chain length",
        ));
    }
    Ok(h as u64)
}

fn time(t: &Option<keystone_proto::Timestamp>) -> Value {
    // A zero time is Go's zero `time.Time`, as an absent commit signature carries it.
    match t {
        Some(t) => keystone_proto::tx_json::timestamp_json(t.seconds, t.nanos),
        None => json!("0001-01-01T00:00:00Z"),
    }
}

fn block_id(id: &Option<pb::BlockId>) -> Value {
    let id = id.clone().unwrap_or_default();
    let psh = id.part_set_header.unwrap_or_default();
    json!({
        "hash": bytes_json(&id.hash),
        "part_set_header": {"total": psh.total, "hash": bytes_json(&psh.hash)},
    })
}

fn header(h: &pb::Header, sdk: bool) -> Value {
    let v = h.version.unwrap_or_default();
    let proposer = if sdk {
        match <[u8; 20]>::try_from(h.proposer_address.as_slice()) {
            Ok(a) => json!(Address(a).to_valcons()),
            Err(_) => json!(""),
        }
    } else {
        bytes_json(&h.proposer_address)
    };
    json!({
        "version": {"block": v.block.to_string(), "app": v.app.to_string()},
        "chain_id": h.chain_id,
        "height": h.height.to_string(),
        "time": time(&h.time),
        "last_block_id": block_id(&h.last_block_id),
        "last_commit_hash": bytes_json(&h.last_commit_hash),
        "data_hash": bytes_json(&h.data_hash),
        "validators_hash": bytes_json(&h.validators_hash),
        "next_validators_hash": bytes_json(&h.next_validators_hash),
        "consensus_hash": bytes_json(&h.consensus_hash),
        "app_hash": bytes_json(&h.app_hash),
        "last_results_hash": bytes_json(&h.last_results_hash),
        "evidence_hash": bytes_json(&h.evidence_hash),
        "proposer_address": proposer,
    })
}

fn commit(c: &Option<pb::Commit>) -> Value {
    let c = c.clone().unwrap_or_default();
    json!({
        "height": c.height.to_string(),
        "round": c.round,
        "block_id": block_id(&c.block_id),
        "signatures": c.signatures.iter().map(|s| json!({
            "block_id_flag": pb::BlockIdFlag::try_from(s.block_id_flag)
                .map(|f| json!(f.as_str_name()))
                .unwrap_or_else(|_| json!(s.block_id_flag)),
            "validator_address": bytes_json(&s.validator_address),
            "timestamp": time(&s.timestamp),
            "signature": bytes_json(&s.signature),
        })).collect::<Vec<_>>(),
    })
}

fn vote(v: &Option<pb::Vote>) -> Value {
    let Some(v) = v else { return Value::Null };
    json!({
        "type": pb::SignedMsgType::try_from(v.r#type)
            .map(|t| json!(t.as_str_name()))
            .unwrap_or_else(|_| json!(v.r#type)),
        "height": v.height.to_string(),
        "round": v.round,
        "block_id": block_id(&v.block_id),
        "timestamp": time(&v.timestamp),
        "validator_address": bytes_json(&v.validator_address),
        "validator_index": v.validator_index,
        "signature": bytes_json(&v.signature),
        "extension": bytes_json(&v.extension),
        "extension_signature": bytes_json(&v.extension_signature),
    })
}

fn validator(v: &pb::Validator) -> Value {
    use keystone_proto::crypto::public_key::Sum;
    let key = match v.pub_key.as_ref().and_then(|k| k.sum.as_ref()) {
        Some(Sum::Ed25519(k)) => json!({"ed25519": super::b64(k)}),
        Some(Sum::Secp256k1(k)) => json!({"secp256k1": super::b64(k)}),
        None => Value::Null,
    };
    json!({
        "address": bytes_json(&v.address),
        "pub_key": key,
        "voting_power": v.voting_power.to_string(),
        "proposer_priority": v.proposer_priority.to_string(),
    })
}

fn evidence(e: &pb::Evidence) -> Value {
    use pb::evidence::Sum;
    match &e.sum {
        Some(Sum::DuplicateVoteEvidence(d)) => json!({"duplicate_vote_evidence": {
            "vote_a": vote(&d.vote_a),
            "vote_b": vote(&d.vote_b),
            "total_voting_power": d.total_voting_power.to_string(),
            "validator_power": d.validator_power.to_string(),
            "timestamp": time(&d.timestamp),
        }}),
        Some(Sum::LightClientAttackEvidence(l)) => {
            let lb = l.conflicting_block.clone().unwrap_or_default();
            let sh = lb.signed_header.unwrap_or_default();
            let vs = lb.validator_set.unwrap_or_default();
            json!({"light_client_attack_evidence": {
                "conflicting_block": {
                    "signed_header": {
                        "header": sh.header.as_ref().map(|h| header(h, false)).unwrap_or(Value::Null),
                        "commit": commit(&sh.commit),
                    },
                    "validator_set": {
                        "validators": vs.validators.iter().map(validator).collect::<Vec<_>>(),
                        "proposer": vs.proposer.as_ref().map(validator).unwrap_or(Value::Null),
                        "total_voting_power": vs.total_voting_power.to_string(),
                    },
                },
                "common_height": l.common_height.to_string(),
                "byzantine_validators": l.byzantine_validators.iter().map(validator).collect::<Vec<_>>(),
                "total_voting_power": l.total_voting_power.to_string(),
                "timestamp": time(&l.timestamp),
            }})
        }
        None => json!({}),
    }
}

fn block_json(b: &pb::Block, sdk: bool) -> Value {
    let data = b.data.clone().unwrap_or_default();
    let ev = b.evidence.clone().unwrap_or_default();
    json!({
        "header": b.header.as_ref().map(|h| header(h, sdk)).unwrap_or(Value::Null),
        "data": {"txs": data.txs.iter().map(|t| super::b64(t)).collect::<Vec<_>>()},
        "evidence": {"evidence": ev.evidence.iter().map(evidence).collect::<Vec<_>>()},
        "last_commit": commit(&b.last_commit),
    })
}

/// `GET /cosmos/base/tendermint/v1beta1/blocks/latest` and `…/blocks/{height}`.
pub(super) async fn block(engine: &Engine, height: Option<&str>) -> Result<Reply, Reply> {
    let (id, b) = block_and_id(engine, height).await?;
    Ok(ok(json!({
        "block_id": id,
        "block": block_json(&b, false),
        "sdk_block": block_json(&b, true),
    })))
}

/// The block at `height` (the latest when `None`) as protos, and its id as the gateway
/// writes it.
pub(super) async fn block_and_id(
    engine: &Engine,
    height: Option<&str>,
) -> Result<(Value, pb::Block), Reply> {
    let mut p = Params::default();
    if let Some(text) = height {
        let h = requested_height(engine, text).await?;
        p = p.with("height", json!(h.to_string()));
    }
    // CometBFT refuses only heights it does not have (pruned): the client's to change.
    let r = comet(engine, "block", p).await.map_err(invalid)?;
    // The CometBFT JSON back into the protos (their serde is CometBFT's JSON), then out in
    // the gateway's.
    let b: pb::Block = serde_json::from_value(r["block"].clone())
        .map_err(|e| internal(format!("block JSON: {e}")))?;
    let id: pb::BlockId = serde_json::from_value(r["block_id"].clone())
        .map_err(|e| internal(format!("block id JSON: {e}")))?;
    Ok((block_id(&Some(id)), b))
}

/// A block as `tendermint.types.Block` in the gateway's JSON.
pub(super) fn tendermint_block_json(b: &pb::Block) -> Value {
    block_json(b, false)
}

/// `GET /cosmos/base/tendermint/v1beta1/validatorsets/latest` and `…/validatorsets/{height}`.
pub(super) async fn validator_set(
    engine: &Engine,
    call: &Call,
    height: Option<&str>,
) -> Result<Reply, Reply> {
    let offset = call.query.uint("pagination.offset")?.unwrap_or(0);
    let limit = call
        .query
        .uint("pagination.limit")?
        .filter(|&l| l > 0)
        .unwrap_or(100)
        .min(100);
    let mut p = Params::default()
        .with("page", json!((offset / limit + 1).to_string()))
        .with("per_page", json!(limit.to_string()));
    if let Some(text) = height {
        let h = requested_height(engine, text).await?;
        p = p.with("height", json!(h.to_string()));
    }
    let r = comet(engine, "validators", p).await.map_err(invalid)?;
    let mut validators = Vec::new();
    for v in r["validators"].as_array().map(Vec::as_slice).unwrap_or(&[]) {
        let key = base64::engine::general_purpose::STANDARD
            .decode(v["pub_key"]["value"].as_str().unwrap_or_default())
            .map_err(|e| internal(format!("validator key: {e}")))?;
        let key32: [u8; 32] = key
            .as_slice()
            .try_into()
            .map_err(|_| internal("a validator key is not 32 bytes"))?;
        validators.push(json!({
            "address": Address::from_ed25519_pubkey(&key32).to_valcons(),
            "pub_key": {"@type": "/cosmos.crypto.ed25519.PubKey", "key": super::b64(&key)},
            "voting_power": v["voting_power"],
            "proposer_priority": v["proposer_priority"],
        }));
    }
    Ok(ok(json!({
        "block_height": r["block_height"],
        "validators": validators,
        "pagination": {"next_key": null, "total": r["total"]},
    })))
}

/// `GET /cosmos/base/tendermint/v1beta1/abci_query?path=&data=&height=&prove=`: the
/// application's answer as the SDK's `ABCIQueryResponse` in gateway JSON (bytes in base64).
pub(super) async fn abci_query(engine: &Engine, call: &Call) -> Result<Reply, Reply> {
    let q = &call.query;
    let path = q.get("path").unwrap_or_default();
    if path.is_empty() {
        return Err(invalid("path cannot be empty"));
    }
    let data = match q.get("data") {
        Some(d) if !d.is_empty() => base64::engine::general_purpose::STANDARD
            .decode(d)
            .or_else(|_| base64::engine::general_purpose::URL_SAFE.decode(d))
            .map_err(|e| invalid(format!("data: illegal base64 data: {e}")))?,
        _ => Vec::new(),
    };
    let height = q.uint("height")?.unwrap_or(0);
    let prove = match q.get("prove").unwrap_or("false") {
        "true" | "1" => true,
        "false" | "0" | "" => false,
        other => return Err(invalid(format!("prove: {other:?} is not true or false"))),
    };
    let res = engine
        .query(keystone_proto::abci::RequestQuery {
            data: data.into(),
            path: path.to_string(),
            height: i64::try_from(height).unwrap_or(i64::MAX),
            prove,
        })
        .await
        .map_err(internal)?;
    let proof_ops = res.proof_ops.as_ref().map(|ops| {
        json!({"ops": ops.ops.iter().map(|o| json!({
            "type": o.r#type,
            "key": bytes_json(&o.key),
            "data": bytes_json(&o.data),
        })).collect::<Vec<_>>()})
    });
    Ok(ok(json!({
        "code": res.code,
        "log": res.log,
        "info": res.info,
        "index": res.index.to_string(),
        "key": bytes_json(&res.key),
        "value": bytes_json(&res.value),
        "proof_ops": proof_ops,
        "height": res.height.to_string(),
        "codespace": res.codespace,
    })))
}
