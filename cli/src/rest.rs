//! The REST server (default `127.0.0.1:1317`, app.toml `[api] address`): the Cosmos LCD paths
//! built so far, in the gRPC-gateway's JSON shapes, and Keystone's proof endpoint.
//!
//! - `GET /cosmos/auth/v1beta1/accounts/{address}`
//! - `GET /cosmos/bank/v1beta1/balances/{address}`
//! - `GET /cosmos/staking/v1beta1/…` (validators, delegations, unbonding delegations,
//!   redelegations, pool, params), `GET /cosmos/slashing/v1beta1/…` (params, signing infos),
//!   `GET /cosmos/distribution/v1beta1/…` (params, community pool, commission, outstanding
//!   and delegation rewards, delegator validators, withdraw address) and
//!   `GET /cosmos/mint/v1beta1/…` (params, inflation, annual provisions): the routes
//!   `keystone_app::lcd` answers
//! - `POST /cosmos/tx/v1beta1/txs` (`{"tx_bytes": base64, "mode": "BROADCAST_MODE_SYNC"}`)
//! - `GET /keystone/v1/state/{key}?height=H&prove=true` → `{key, value, height, app_hash,
//!   proof, header_height}`: the value at H and its ICS23 proof against the app hash in the
//!   header of H+1 (by default H is the latest height whose next header exists).

use crate::rpc::{ask, Request};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine as _;
use keystone_consensus_driver::rpc::Params;
use keystone_proto::abci;
use keystone_proto::prost::bytes::Bytes;
use keystone_proto::prost::Message;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::mpsc;

type Engine = mpsc::Sender<Request>;
type Reply = (StatusCode, Json<Value>);

/// The gRPC-gateway's error body.
fn error(status: StatusCode, grpc_code: u32, message: String) -> Reply {
    (
        status,
        Json(json!({"code": grpc_code, "message": message, "details": []})),
    )
}

fn b64(b: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(b)
}

async fn query(
    engine: &Engine,
    path: &str,
    data: Vec<u8>,
    height: i64,
    prove: bool,
) -> Result<abci::ResponseQuery, Reply> {
    let req = abci::RequestQuery {
        data: Bytes::from(data),
        path: path.into(),
        height,
        prove,
    };
    match ask(engine, |r| Request::Query(req, r)).await {
        Ok(Ok(r)) if r.code == 0 => Ok(r),
        Ok(Ok(r)) => Err(error(StatusCode::BAD_REQUEST, 3, r.log)),
        Ok(Err(e)) | Err(e) => Err(error(StatusCode::INTERNAL_SERVER_ERROR, 13, e)),
    }
}

fn valid_address(a: &str) -> Result<(), Reply> {
    a.parse::<keystone_modules::Address>()
        .map(|_| ())
        .map_err(|e| {
            error(
                StatusCode::BAD_REQUEST,
                3,
                format!("rpc error: code = InvalidArgument desc = {e}"),
            )
        })
}

async fn account(State(engine): State<Engine>, Path(address): Path<String>) -> Reply {
    if let Err(r) = valid_address(&address) {
        return r;
    }
    let key = format!("auth/accounts/{address}");
    let r = match query(&engine, "/store/key", key.into_bytes(), 0, false).await {
        Ok(r) => r,
        Err(e) => return e,
    };
    if r.value.is_empty() {
        return error(
            StatusCode::NOT_FOUND,
            5,
            format!("rpc error: code = NotFound desc = account {address} not found: key not found"),
        );
    }
    let Ok(acc) = serde_json::from_slice::<keystone_modules::auth::Account>(&r.value) else {
        return error(
            StatusCode::INTERNAL_SERVER_ERROR,
            13,
            "corrupt account record".into(),
        );
    };
    let pub_key = acc
        .pub_key
        .map(|k| json!({"@type": "/cosmos.crypto.secp256k1.PubKey", "key": k}))
        .unwrap_or(Value::Null);
    (
        StatusCode::OK,
        Json(json!({"account": {
            "@type": "/cosmos.auth.v1beta1.BaseAccount", "address": acc.address, "pub_key": pub_key,
            "account_number": acc.account_number.to_string(), "sequence": acc.sequence.to_string()
        }})),
    )
}

async fn balances(State(engine): State<Engine>, Path(address): Path<String>) -> Reply {
    use cosmos_sdk_proto::cosmos::bank::v1beta1::{
        QueryAllBalancesRequest, QueryAllBalancesResponse,
    };
    if let Err(r) = valid_address(&address) {
        return r;
    }
    let req = QueryAllBalancesRequest {
        address,
        pagination: None,
        resolve_denom: false,
    };
    let r = match query(
        &engine,
        "/cosmos.bank.v1beta1.Query/AllBalances",
        req.encode_to_vec(),
        0,
        false,
    )
    .await
    {
        Ok(r) => r,
        Err(e) => return e,
    };
    let Ok(resp) = QueryAllBalancesResponse::decode(r.value.as_ref()) else {
        return error(
            StatusCode::INTERNAL_SERVER_ERROR,
            13,
            "undecodable answer".into(),
        );
    };
    let list: Vec<Value> = resp
        .balances
        .iter()
        .map(|c| json!({"denom": c.denom, "amount": c.amount}))
        .collect();
    let total = resp.pagination.map_or(0, |p| p.total);
    (
        StatusCode::OK,
        Json(
            json!({"balances": list, "pagination": {"next_key": null, "total": total.to_string()}}),
        ),
    )
}

async fn broadcast(State(engine): State<Engine>, body: axum::body::Bytes) -> Reply {
    let Ok(req) = serde_json::from_slice::<Value>(&body) else {
        return error(StatusCode::BAD_REQUEST, 3, "invalid JSON body".into());
    };
    let Some(tx) = req["tx_bytes"]
        .as_str()
        .and_then(|s| base64::engine::general_purpose::STANDARD.decode(s).ok())
    else {
        return error(StatusCode::BAD_REQUEST, 3, "tx_bytes must be base64".into());
    };
    match req["mode"].as_str().unwrap_or("BROADCAST_MODE_SYNC") {
        "BROADCAST_MODE_SYNC" | "BROADCAST_MODE_ASYNC" => {}
        other => {
            return error(
                StatusCode::BAD_REQUEST,
                3,
                format!("unsupported broadcast mode {other}"),
            )
        }
    }
    let hash = hex::encode_upper(keystone_consensus_types::sha256(&tx).0);
    match ask(&engine, |r| Request::CheckTx(tx, r)).await {
        Ok(Ok(res)) => (
            StatusCode::OK,
            Json(json!({"tx_response": {
                "height": "0", "txhash": hash, "codespace": res.codespace, "code": res.code,
                "data": "", "raw_log": res.log, "logs": [], "info": "", "gas_wanted": res.gas_wanted.to_string(),
                "gas_used": res.gas_used.to_string(), "tx": null, "timestamp": "", "events": []
            }})),
        ),
        Ok(Err(e)) | Err(e) => error(StatusCode::BAD_REQUEST, 3, e),
    }
}

async fn state(
    State(engine): State<Engine>,
    Path(key): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Reply {
    let prove = q.get("prove").is_some_and(|p| p == "true");
    let mut height: u64 = match q.get("height").map(|h| h.parse()) {
        None => 0,
        Some(Ok(h)) => h,
        Some(Err(_)) => return error(StatusCode::BAD_REQUEST, 3, "height must be a number".into()),
    };
    let latest = match crate::rpc::call(&engine, "status", Params::default()).await {
        Ok(s) => s["sync_info"]["latest_block_height"]
            .as_str()
            .and_then(|h| h.parse::<u64>().ok())
            .unwrap_or(0),
        Err(e) => return error(StatusCode::INTERNAL_SERVER_ERROR, 13, e.data),
    };
    if height == 0 {
        // The newest height whose next header (which carries its app hash) exists.
        height = if prove {
            latest.saturating_sub(1)
        } else {
            latest
        };
    }
    if height == 0 || height > latest {
        return error(
            StatusCode::BAD_REQUEST,
            3,
            format!("height {height} is not available (latest {latest})"),
        );
    }
    let r = match query(
        &engine,
        "/store/key",
        key.clone().into_bytes(),
        height as i64,
        prove,
    )
    .await
    {
        Ok(r) => r,
        Err(e) => return e,
    };
    let mut body = json!({"key": key, "value": b64(&r.value), "height": height.to_string()});
    if prove {
        let proof = r
            .proof_ops
            .as_ref()
            .and_then(|o| o.ops.first())
            .map(|o| b64(&o.data))
            .unwrap_or_default();
        let p = Params::default().with("height", json!((height + 1).to_string()));
        let header = match crate::rpc::call(&engine, "header", p).await {
            Ok(h) => h,
            Err(_) => {
                return error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    14,
                    format!("header {} is not committed yet; retry", height + 1),
                )
            }
        };
        body["app_hash"] = header["header"]["app_hash"].clone();
        body["header_height"] = json!((height + 1).to_string());
        body["proof"] = json!(proof);
    }
    (StatusCode::OK, Json(body))
}

/// A module's LCD route, answered by the application from state (`keystone_app::lcd`): the
/// path and the URL query go over `abci_query` as they came.
async fn lcd(State(engine): State<Engine>, uri: axum::http::Uri) -> Reply {
    let req = abci::RequestQuery {
        data: Bytes::from(uri.query().unwrap_or("").as_bytes().to_vec()),
        path: uri.path().to_string(),
        height: 0,
        prove: false,
    };
    match ask(&engine, |r| Request::Query(req, r)).await {
        Ok(Ok(r)) if r.code == 0 => match serde_json::from_slice(&r.value) {
            Ok(v) => (StatusCode::OK, Json(v)),
            Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, 13, e.to_string()),
        },
        Ok(Ok(r)) => error(
            StatusCode::from_u16(keystone_app::lcd::http_status(r.code))
                .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            r.code,
            r.log,
        ),
        Ok(Err(e)) | Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, 13, e),
    }
}

/// Serve on `addr` until the process ends (run on its own thread).
pub fn serve(addr: std::net::SocketAddr, engine: Engine) -> anyhow::Result<()> {
    let app = Router::new()
        .route("/cosmos/auth/v1beta1/accounts/{address}", get(account))
        .route("/cosmos/bank/v1beta1/balances/{address}", get(balances))
        .route("/cosmos/tx/v1beta1/txs", post(broadcast))
        .route("/keystone/v1/state/{*key}", get(state))
        .route("/cosmos/staking/v1beta1/{*route}", get(lcd))
        .route("/cosmos/slashing/v1beta1/{*route}", get(lcd))
        .route("/cosmos/distribution/v1beta1/{*route}", get(lcd))
        .route("/cosmos/mint/v1beta1/{*route}", get(lcd))
        .with_state(engine);
    crate::rpc::serve_router(addr, app, "REST", crate::rpc::MAX_BODY_BYTES)
}
