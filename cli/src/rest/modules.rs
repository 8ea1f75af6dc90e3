//! The modules' reads: auth and bank here (from state and the bank gRPC paths), the other
//! modules' LCD routes answered by the application (`keystone_app::lcd`), and Keystone's
//! `GET /keystone/v1/state/{key}`.

use super::routes::Prove;
use super::{
    abci_query, b64, error, internal, invalid, latest_height, not_found, ok, proof, Call, Engine,
    Page, Reply,
};
use axum::http::StatusCode;
use axum::Json;
use cosmos_sdk_proto::cosmos::bank::v1beta1 as bankpb;
use keystone_modules::Address;
use keystone_proto::abci;
use keystone_proto::prost::bytes::Bytes;
use keystone_proto::prost::Message;
use serde_json::{json, Value};

/// An account address from the path, refused as the SDK's gateway refuses it.
fn account_address(a: &str) -> Result<Address, Reply> {
    a.parse::<Address>()
        .map_err(|e| invalid(format!("rpc error: code = InvalidArgument desc = {e}")))
}

/// `prove=true`, refused on a route that cannot prove its answer.
fn wants_proof(call: &Call) -> Result<bool, Reply> {
    let prove = call.query.flag("prove")?;
    if prove && matches!(call.route.prove, Prove::No) {
        return Err(invalid(format!(
            "prove=true is not supported on {}: its answer is a list or is computed, not one state value (see /openapi.json)",
            call.route.path
        )));
    }
    Ok(prove)
}

/// Add the proof of `call`'s keys at `height` to `reply` (see [`proof`]).
async fn add_proof(
    engine: &Engine,
    call: &Call,
    reply: &mut Reply,
    height: u64,
) -> Result<(), Reply> {
    let keys = match call.route.prove {
        Prove::Keys(_, keys) => keys(call).map_err(internal)?,
        Prove::StakingPool => proof::staking_pool_keys(engine, height).await?,
        Prove::No | Prove::StateKey => return Ok(()),
    };
    let p = proof::prove(engine, height, &keys).await?;
    reply.1 .0["proof"] = p;
    Ok(())
}

/// `GET /cosmos/auth/v1beta1/accounts/{address}`: the stored account as a `BaseAccount`.
pub(super) async fn account(engine: &Engine, call: &Call) -> Result<Reply, Reply> {
    let address = call.var("address");
    let addr = account_address(address)?;
    let prove = wants_proof(call)?;
    let key = keystone_modules::auth::state_key::account(&addr);
    let r = abci_query(engine, "/store/key", key.into_bytes(), 0, false).await?;
    let height = u64::try_from(r.height).unwrap_or(0);
    let mut reply = if r.value.is_empty() {
        not_found(format!(
            "rpc error: code = NotFound desc = account {address} not found: key not found"
        ))
    } else {
        let acc = serde_json::from_slice::<keystone_modules::auth::Account>(&r.value)
            .map_err(|e| internal(format!("corrupt account record: {e}")))?;
        let pub_key = acc
            .pub_key
            .map(|k| json!({"@type": "/cosmos.crypto.secp256k1.PubKey", "key": k}))
            .unwrap_or(Value::Null);
        ok(json!({"account": {
            "@type": "/cosmos.auth.v1beta1.BaseAccount", "address": acc.address,
            "pub_key": pub_key, "account_number": acc.account_number.to_string(),
            "sequence": acc.sequence.to_string()
        }}))
    };
    if prove {
        add_proof(engine, call, &mut reply, height).await?;
    }
    Ok(reply)
}

fn coin_json(c: &cosmos_sdk_proto::cosmos::base::v1beta1::Coin) -> Value {
    json!({"denom": c.denom, "amount": c.amount})
}

/// `GET /cosmos/bank/v1beta1/balances/{address}`: every balance, paged.
pub(super) async fn balances(engine: &Engine, call: &Call) -> Result<Reply, Reply> {
    wants_proof(call)?;
    let page = Page::from_query(&call.query)?;
    let req = bankpb::QueryAllBalancesRequest {
        address: call.var("address").to_string(),
        pagination: None,
        resolve_denom: false,
    };
    let r = abci_query(
        engine,
        "/cosmos.bank.v1beta1.Query/AllBalances",
        req.encode_to_vec(),
        0,
        false,
    )
    .await?;
    let resp = bankpb::QueryAllBalancesResponse::decode(r.value.as_ref())
        .map_err(|e| internal(format!("undecodable answer: {e}")))?;
    let (list, pagination) = page.apply(resp.balances.iter().map(coin_json).collect());
    Ok(ok(json!({"balances": list, "pagination": pagination})))
}

/// `GET /cosmos/bank/v1beta1/balances/{address}/by_denom?denom=D`: one balance (zero when
/// none, as the SDK answers).
pub(super) async fn balance_by_denom(engine: &Engine, call: &Call) -> Result<Reply, Reply> {
    let prove = wants_proof(call)?;
    let denom = call.query.get("denom").unwrap_or("");
    // The SDK's handler checks the denom first, then the address.
    if !keystone_modules::coin::valid_denom(denom) {
        return Err(invalid(format!(
            "rpc error: code = InvalidArgument desc = invalid denom: {denom}: invalid request"
        )));
    }
    let req = bankpb::QueryBalanceRequest {
        address: call.var("address").to_string(),
        denom: denom.to_string(),
    };
    let r = abci_query(
        engine,
        "/cosmos.bank.v1beta1.Query/Balance",
        req.encode_to_vec(),
        0,
        false,
    )
    .await?;
    let resp = bankpb::QueryBalanceResponse::decode(r.value.as_ref())
        .map_err(|e| internal(format!("undecodable answer: {e}")))?;
    let balance = resp
        .balance
        .as_ref()
        .map(coin_json)
        .unwrap_or_else(|| json!({"denom": denom, "amount": "0"}));
    let mut reply = ok(json!({ "balance": balance }));
    if prove {
        add_proof(
            engine,
            call,
            &mut reply,
            u64::try_from(r.height).unwrap_or(0),
        )
        .await?;
    }
    Ok(reply)
}

/// A module's LCD route, answered by the application from the latest state: the path and
/// the URL query go over `abci_query` as they came; lists are paged here, proofs added here.
pub(super) async fn lcd(engine: &Engine, call: &Call) -> Result<Reply, Reply> {
    let prove = wants_proof(call)?;
    let page = call
        .route
        .paged
        .map(|_| Page::from_query(&call.query))
        .transpose()?;
    let req = abci::RequestQuery {
        data: Bytes::from(call.raw_query.clone().into_bytes()),
        path: call.path.clone(),
        height: 0,
        prove: false,
    };
    let r = engine.query(req).await.map_err(internal)?;
    let height = u64::try_from(r.height).unwrap_or(0);
    let mut reply = if r.code == 0 {
        let mut v: Value = serde_json::from_slice(&r.value).map_err(|e| internal(e.to_string()))?;
        if let (Some(field), Some(page)) = (call.route.paged, page) {
            let items = match v.get_mut(field).map(Value::take) {
                Some(Value::Array(items)) => items,
                _ => Vec::new(),
            };
            let (items, pagination) = page.apply(items);
            v[field] = Value::Array(items);
            v["pagination"] = pagination;
        }
        ok(v)
    } else {
        let status = StatusCode::from_u16(keystone_app::lcd::http_status(r.code))
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        error(status, r.code, r.log)
    };
    // A found object and a missing one (its absence) are both provable; a refused request
    // (a malformed address) is not.
    if prove && (r.code == 0 || r.code == 5) {
        add_proof(engine, call, &mut reply, height).await?;
    }
    Ok(reply)
}

/// `GET /keystone/v1/state/{key}?height=H&prove=true` → `{key, value, height}`, with `prove`
/// also `{app_hash, header_height, proof}`: the value at H and its ICS23 proof against the
/// app hash in the header of H+1 (by default H is the latest height whose next header
/// exists).
pub(super) async fn state_key(engine: &Engine, call: &Call) -> Result<Reply, Reply> {
    let key = call.var("key").to_string();
    let prove = call.query.flag("prove")?;
    let mut height = call
        .query
        .get("height")
        .map(|h| {
            h.parse::<u64>()
                .map_err(|_| invalid("height must be a number"))
        })
        .transpose()?
        .unwrap_or(0);
    let latest = latest_height(engine).await?;
    if height == 0 {
        // The newest height whose next header (which carries its app hash) exists.
        height = if prove {
            latest.saturating_sub(1)
        } else {
            latest
        };
    }
    if height == 0 || height > latest {
        return Err(invalid(format!(
            "height {height} is not available (latest {latest})"
        )));
    }
    let r = abci_query(
        engine,
        "/store/key",
        key.clone().into_bytes(),
        height,
        prove,
    )
    .await?;
    let mut body = json!({"key": key, "value": b64(&r.value), "height": height.to_string()});
    if prove {
        let proof = r
            .proof_ops
            .as_ref()
            .and_then(|o| o.ops.first())
            .map(|o| b64(&o.data))
            .unwrap_or_default();
        let app_hash = proof::app_hash_after(engine, height).await?;
        body["app_hash"] = json!(app_hash);
        body["header_height"] = json!((height + 1).to_string());
        body["proof"] = json!(proof);
    }
    Ok((StatusCode::OK, Json(body)))
}
