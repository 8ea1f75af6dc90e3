//! `?prove=true`: the ICS23 proofs of the state keys behind an answer, at the height the
//! answer was computed at, against the app hash in the next block's header.

use super::{abci_query, b64, comet, error, internal, Engine, Reply};
use axum::http::StatusCode;
use keystone_consensus_driver::rpc::Params;
use keystone_modules::{bank, staking, Address};
use keystone_proto::prost::Message;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// How long an answer waits for the header that carries its app hash (the block after the
/// one it was computed at) before answering 503.
pub(super) const PROOF_WAIT: Duration = Duration::from_secs(8);

/// How often the header is looked for meanwhile.
const POLL: Duration = Duration::from_millis(50);

/// The app hash (uppercase hex, as CometBFT writes it) in the header of `height + 1`: the
/// root of the state after block `height`. Waits for that header up to [`PROOF_WAIT`].
pub(super) async fn app_hash_after(engine: &Engine, height: u64) -> Result<String, Reply> {
    let deadline = Instant::now() + PROOF_WAIT;
    loop {
        let p = Params::default().with("height", json!((height + 1).to_string()));
        match comet(engine, "header", p).await {
            Ok(h) => {
                return h["header"]["app_hash"]
                    .as_str()
                    .map(str::to_string)
                    .ok_or_else(|| internal(format!("header {} has no app hash", height + 1)))
            }
            Err(_) if Instant::now() < deadline => tokio::time::sleep(POLL).await,
            Err(e) => {
                return Err(error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    14,
                    format!("header {} is not committed yet ({e}); retry", height + 1),
                ))
            }
        }
    }
}

/// The keys behind `staking/v1beta1/pool` at `height`: the params (for the bond denom) and
/// the two pool accounts' balances of it.
pub(super) async fn staking_pool_keys(engine: &Engine, height: u64) -> Result<Vec<String>, Reply> {
    let params_key = staking::state_key::PARAMS.to_string();
    let r = abci_query(
        engine,
        "/store/key",
        params_key.clone().into_bytes(),
        height,
        false,
    )
    .await?;
    let params: Value = serde_json::from_slice(&r.value)
        .map_err(|e| internal(format!("corrupt staking params: {e}")))?;
    let denom = params["bond_denom"]
        .as_str()
        .ok_or_else(|| internal("staking params without a bond denom"))?;
    Ok(vec![
        params_key,
        bank::state_key::balance(&Address::module(staking::NOT_BONDED_POOL), denom),
        bank::state_key::balance(&Address::module(staking::BONDED_POOL), denom),
    ])
}

/// `{height, header_height, app_hash, entries: [{key, value, proof}]}` for `keys` at
/// `height`; every proof is checked against the app hash before it is served.
pub(super) async fn prove(engine: &Engine, height: u64, keys: &[String]) -> Result<Value, Reply> {
    let mut read = Vec::with_capacity(keys.len());
    for key in keys {
        let r = abci_query(engine, "/store/key", key.clone().into_bytes(), height, true).await?;
        let proof = r
            .proof_ops
            .as_ref()
            .and_then(|o| o.ops.first())
            .map(|o| o.data.to_vec())
            .ok_or_else(|| internal(format!("no proof for {key}")))?;
        read.push((key, r.value.to_vec(), proof));
    }
    let app_hash_hex = app_hash_after(engine, height).await?;
    let root = hex::decode(&app_hash_hex).map_err(|e| internal(format!("app hash: {e}")))?;
    let spec = keystone_store::proof_spec();
    let mut entries = Vec::with_capacity(read.len());
    for (key, value, proof) in read {
        let p = ics23::CommitmentProof::decode(proof.as_slice())
            .map_err(|e| internal(format!("proof of {key}: {e}")))?;
        let good = if value.is_empty() {
            ics23::verify_non_membership::<ics23::HostFunctionsManager>(
                &p,
                &spec,
                &root,
                key.as_bytes(),
            )
        } else {
            ics23::verify_membership::<ics23::HostFunctionsManager>(
                &p,
                &spec,
                &root,
                key.as_bytes(),
                &value,
            )
        };
        if !good {
            return Err(internal(format!(
                "the proof of {key} at height {height} does not verify against app hash {app_hash_hex}"
            )));
        }
        entries.push(json!({
            "key": key,
            "value": if value.is_empty() { Value::Null } else { json!(b64(&value)) },
            "proof": b64(&proof),
        }));
    }
    Ok(json!({
        "height": height.to_string(),
        "header_height": (height + 1).to_string(),
        "app_hash": app_hash_hex,
        "entries": entries,
    }))
}
