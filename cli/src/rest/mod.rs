//! The REST server (default `127.0.0.1:1317`, app.toml `[api] address`): the Cosmos LCD
//! (gRPC-gateway) paths and JSON shapes of SDK v0.50, Keystone's proof API, and an OpenAPI
//! document of it all. Every route is one row of [`routes::ROUTES`]; the router and
//! `GET /openapi.json` are both built from that table, so neither can list a route the other
//! lacks.
//!
//! By area (one file each):
//! - [`routes`]: the table — path, handler, query parameters, top-level answer fields, paging,
//!   and which state keys prove the answer;
//! - `modules`: auth, bank, staking, slashing, distribution and mint reads (`/cosmos/auth/…`,
//!   `/cosmos/bank/…` here; the other modules' LCD routes answered by the application,
//!   `keystone_app::lcd`, over `abci_query` with the LCD path) and `GET
//!   /keystone/v1/state/{key}`;
//! - `tx`: `cosmos.tx.v1beta1.Service` — a transaction by hash, search by events, simulate,
//!   broadcast (transactions rendered by `keystone_proto::tx_json`, the one transaction-JSON codec);
//! - `tendermint`: `cosmos.base.tendermint.v1beta1.Service` — node info, syncing, blocks,
//!   validator sets, built from the node's CometBFT methods;
//! - `proof`: `?prove=true`;
//! - [`openapi`]: `GET /openapi.json`;
//! - rate limit, body limit, timeout and CORS: `crate::guard` (shared with the RPC server).
//!
//! # JSON and errors
//!
//! Answers are what the SDK's gateway writes (gogoproto jsonpb with `OrigName` and
//! `EmitDefaults`): proto field names, 64-bit integers as strings, bytes as base64 (empty
//! bytes `null`, Go's nil), enums by name, `Any` as `{"@type": url, …fields}`, timestamps in
//! RFC 3339 with 0, 3, 6 or 9 fractional digits. Errors are the gateway's `{"code": <gRPC
//! code>, "message", "details": []}` with its HTTP status (3 InvalidArgument → 400, 5
//! NotFound → 404, 12 Unimplemented → 501, 2 Unknown and 13 Internal → 500, …). An unknown
//! path answers 501 `{"code": 12, "message": "Not Implemented"}` and a known path with
//! another method 501 `"Method Not Allowed"`, as grpc-gateway v1's `ServeMux` does with the
//! SDK's proto error handler. A gRPC query path's failure is mapped as the SDK's client does
//! (`client/query.go` `sdkErrorToGRPCError`: ABCI 18 → InvalidArgument, 4 →
//! Unauthenticated, 38 → NotFound, anything else Unknown). One deliberate difference: where
//! the SDK answers *malformed input* with 500 only because its client wraps every plain error
//! as Unknown/Internal (a tx hash that is not hex, a missing or unparsable event query, a
//! height ≤ 0, a broadcast mode other than sync/async), Keystone answers 400 InvalidArgument
//! with the SDK's own message.
//!
//! # Paging
//!
//! List routes take the SDK's `pagination.key`, `pagination.offset`, `pagination.limit`
//! (default 100, clamped to [`MAX_PAGE_LIMIT`]), `pagination.reverse` and
//! `pagination.count_total`, and answer `pagination: {next_key, total}`; `next_key` is an
//! opaque cursor (base64) to pass back as `pagination.key`, and `total` is always filled.
//! The application computes each list whole; paging bounds what one answer carries.
//!
//! # `?prove=true`
//!
//! Every single-object answer whose value is read from state (rather than computed, as
//! rewards are) takes `prove=true` and gains `proof: {height, header_height, app_hash,
//! entries: [{key, value, proof}]}`: for each state key behind the answer (the table's
//! `prove` column; the keys of the README's "State keys"), its value at `height` (base64, or
//! `null` when absent) and its ICS23 `CommitmentProof` (protobuf, base64; an existence or a
//! non-existence proof) under `jmt::ics23_spec()`, against `app_hash` (hex), the app hash in
//! the header of `header_height` = `height + 1`. `height` is the height the answer was
//! computed at (the latest), so the answer waits for the next block's header (up to
//! 8 s, else 503 Unavailable); each proof is checked before it is served.
//! A missing object answers 404 with the absence proof. `prove=true` on a list or a computed
//! answer is refused with 400, so that a client never mistakes an unproved answer for a
//! proved one. `GET /keystone/v1/state/{key}?height=H&prove=true` proves any single key.

pub use tx::{committed_tx_json, tx_height};
mod modules;
pub mod openapi;
mod proof;
pub mod routes;
mod tendermint;
mod tx;

use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::routing::MethodRouter;
use axum::{Json, Router};
use base64::Engine as _;
use keystone_consensus_driver::rpc::Params;
use keystone_proto::abci;
use keystone_proto::prost::bytes::Bytes;
use serde_json::{json, Value};

pub use routes::{Route, ROUTES};

/// Where the handlers' questions go: reads to the node's read view, the rest to its thread.
pub(crate) use crate::rpc::Engine;
/// A handler's answer: HTTP status and JSON body.
pub(crate) type Reply = (StatusCode, Json<Value>);

/// Most items one page of a list carries.
pub const MAX_PAGE_LIMIT: usize = 1000;
/// Items of a page when `pagination.limit` is absent or 0 (the SDK's `DefaultLimit`).
pub const DEFAULT_PAGE_LIMIT: usize = 100;

/// The gRPC-gateway's error body with HTTP `status`.
pub(crate) fn error(status: StatusCode, grpc_code: u32, message: impl Into<String>) -> Reply {
    (
        status,
        Json(json!({"code": grpc_code, "message": message.into(), "details": []})),
    )
}

/// 400 InvalidArgument.
pub(crate) fn invalid(message: impl Into<String>) -> Reply {
    error(StatusCode::BAD_REQUEST, 3, message)
}

/// 404 NotFound.
pub(crate) fn not_found(message: impl Into<String>) -> Reply {
    error(StatusCode::NOT_FOUND, 5, message)
}

/// 500 Internal.
pub(crate) fn internal(message: impl Into<String>) -> Reply {
    error(StatusCode::INTERNAL_SERVER_ERROR, 13, message)
}

/// 200 with `v`.
pub(crate) fn ok(v: Value) -> Reply {
    (StatusCode::OK, Json(v))
}

/// Standard base64.
pub(crate) fn b64(b: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(b)
}

/// Bytes as the gateway writes them: base64, `null` when empty (Go's nil slice).
pub(crate) fn bytes_json(b: &[u8]) -> Value {
    if b.is_empty() {
        Value::Null
    } else {
        json!(b64(b))
    }
}

/// A failed gRPC query path (`/cosmos.bank.v1beta1.Query/…`) as the SDK's client turns the
/// ABCI answer into a gRPC status (`client/query.go` `sdkErrorToGRPCError`).
fn grpc_failure(r: &abci::ResponseQuery) -> Reply {
    let code = crate::grpc::query_code(r.code);
    let status = match code {
        tonic::Code::InvalidArgument => StatusCode::BAD_REQUEST,
        tonic::Code::Unauthenticated => StatusCode::UNAUTHORIZED,
        tonic::Code::NotFound => StatusCode::NOT_FOUND,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    error(status, code as u32, r.log.clone())
}

/// Ask the application `path` (a gRPC method path or `/store/key`); a refusal comes back as
/// the gateway's error.
pub(crate) async fn abci_query(
    engine: &Engine,
    path: &str,
    data: Vec<u8>,
    height: u64,
    prove: bool,
) -> Result<abci::ResponseQuery, Reply> {
    let req = abci::RequestQuery {
        data: Bytes::from(data),
        path: path.into(),
        height: i64::try_from(height).unwrap_or(i64::MAX),
        prove,
    };
    match engine.query(req).await {
        Ok(r) if r.code == 0 => Ok(r),
        Ok(r) => Err(grpc_failure(&r)),
        Err(e) => Err(internal(e)),
    }
}

/// A CometBFT method answered by the engine; its error's text on failure.
pub(crate) async fn comet(engine: &Engine, method: &str, p: Params) -> Result<Value, String> {
    crate::rpc::call(engine, method, p)
        .await
        .map_err(|e| e.data)
}

/// The newest committed height.
pub(crate) async fn latest_height(engine: &Engine) -> Result<u64, Reply> {
    let s = comet(engine, "status", Params::default())
        .await
        .map_err(internal)?;
    Ok(s["sync_info"]["latest_block_height"]
        .as_str()
        .and_then(|h| h.parse().ok())
        .unwrap_or(0))
}

/// A URL query string, decoded (`+` as space, `%XX`), in order, repeats kept.
#[derive(Clone, Debug, Default)]
pub(crate) struct QueryParams(Vec<(String, String)>);

impl QueryParams {
    pub(crate) fn parse(raw: Option<&str>) -> QueryParams {
        QueryParams(
            raw.unwrap_or("")
                .split('&')
                .filter(|kv| !kv.is_empty())
                .map(|kv| {
                    let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
                    (percent_decode(k, true), percent_decode(v, true))
                })
                .collect(),
        )
    }

    /// The first value of `name`, if present and not empty.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, v)| k == name && !v.is_empty())
            .map(|(_, v)| v.as_str())
    }

    /// Every value of `name`.
    pub(crate) fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0
            .iter()
            .filter(move |(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// An unsigned integer parameter (absent: `None`), with the gateway's wording when it
    /// does not parse.
    pub(crate) fn uint(&self, name: &str) -> Result<Option<u64>, Reply> {
        self.get(name)
            .map(|v| {
                v.parse::<u64>().map_err(|_| {
                    invalid(format!(
                        "type mismatch, parameter: {name}, error: strconv.ParseUint: parsing {v:?}: invalid syntax"
                    ))
                })
            })
            .transpose()
    }

    /// A boolean parameter (`true`/`false`, absent: false).
    pub(crate) fn flag(&self, name: &str) -> Result<bool, Reply> {
        match self.get(name) {
            None | Some("false") => Ok(false),
            Some("true") => Ok(true),
            Some(v) => Err(invalid(format!(
                "type mismatch, parameter: {name}, error: strconv.ParseBool: parsing {v:?}: invalid syntax"
            ))),
        }
    }
}

/// `%XX` decoding (and `+` as a space in query strings); invalid escapes are kept as they are.
pub(crate) fn percent_decode(s: &str, plus_is_space: bool) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' if i + 2 < b.len() => {
                let hex = std::str::from_utf8(&b[i + 1..i + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(v) => {
                        out.push(v);
                        i += 3;
                    }
                    None => {
                        out.push(b'%');
                        i += 1;
                    }
                }
            }
            b'+' if plus_is_space => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// One request as a handler sees it: the route it matched, its path variables, its query
/// and (POST) its body.
pub struct Call {
    pub(crate) route: &'static Route,
    pub(crate) vars: Vec<(String, String)>,
    pub(crate) query: QueryParams,
    /// The raw query string (LCD routes pass it to the application as it came).
    pub(crate) raw_query: String,
    pub(crate) path: String,
    pub(crate) body: Option<Result<axum::body::Bytes, String>>,
    /// app.toml's values `cosmos/base/node/v1beta1/config` reports.
    pub(crate) node_config: std::sync::Arc<crate::grpc::NodeConfig>,
}

impl Call {
    /// Path variable `name` (always present: the router matched the pattern).
    pub(crate) fn var(&self, name: &str) -> &str {
        self.vars
            .iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.as_str())
    }

    /// The body as JSON; 413 when it was cut at the limit, 400 when it is not JSON.
    pub(crate) fn json_body(&self) -> Result<Value, Reply> {
        match &self.body {
            None => Ok(json!({})),
            Some(Err(e)) => Err(error(StatusCode::PAYLOAD_TOO_LARGE, 8, e.clone())),
            Some(Ok(b)) if b.is_empty() => Ok(json!({})),
            Some(Ok(b)) => serde_json::from_slice(b).map_err(|e| invalid(e.to_string())),
        }
    }
}

/// The variables of `pattern` (`/a/{x}/b/{*rest}`) in `path`, percent-decoded.
pub(crate) fn path_vars(pattern: &str, path: &str) -> Vec<(String, String)> {
    let segs: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let mut vars = Vec::new();
    for (i, p) in pattern.trim_start_matches('/').split('/').enumerate() {
        if let Some(name) = p.strip_prefix("{*").and_then(|s| s.strip_suffix('}')) {
            let rest = segs.get(i..).unwrap_or(&[]).join("/");
            vars.push((name.to_string(), percent_decode(&rest, false)));
            break;
        }
        if let Some(name) = p.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            let v = segs.get(i).copied().unwrap_or("");
            vars.push((name.to_string(), percent_decode(v, false)));
        }
    }
    vars
}

/// The axum method router serving `route`: every route goes through [`routes::dispatch`].
fn method_router(
    route: &'static Route,
    node_config: std::sync::Arc<crate::grpc::NodeConfig>,
) -> MethodRouter<Engine> {
    let call = move |uri: &Uri, body: Option<Result<axum::body::Bytes, String>>| Call {
        node_config: node_config.clone(),
        route,
        vars: path_vars(route.path, uri.path()),
        query: QueryParams::parse(uri.query()),
        raw_query: uri.query().unwrap_or("").to_string(),
        path: uri.path().to_string(),
        body,
    };
    match route.method {
        routes::Method::Get => axum::routing::get(
            move |State(engine): State<Engine>, uri: Uri| async move {
                routes::dispatch(engine, call(&uri, None)).await
            },
        ),
        routes::Method::Post => axum::routing::post(
            move |State(engine): State<Engine>,
                  uri: Uri,
                  body: Result<axum::body::Bytes, axum::extract::rejection::BytesRejection>| async move {
                let body = body.map_err(|e| e.body_text());
                routes::dispatch(engine, call(&uri, Some(body))).await
            },
        ),
    }
}

/// The REST router: [`ROUTES`], and the gateway's answers for anything else.
pub fn router(engine: Engine, node_config: crate::grpc::NodeConfig) -> Router {
    let node_config = std::sync::Arc::new(node_config);
    let mut r = Router::new();
    for route in ROUTES {
        r = r.route(route.path, method_router(route, node_config.clone()));
    }
    r.fallback(|| async { error(StatusCode::NOT_IMPLEMENTED, 12, "Not Implemented") })
        .method_not_allowed_fallback(|| async {
            error(StatusCode::NOT_IMPLEMENTED, 12, "Method Not Allowed")
        })
        .with_state(engine)
}

/// Serve on `addr` until the process ends (run on its own thread), behind `limits`.
pub fn serve(
    addr: std::net::SocketAddr,
    engine: Engine,
    node_config: crate::grpc::NodeConfig,
    limits: &crate::guard::HttpLimits,
) -> anyhow::Result<()> {
    crate::rpc::serve_router(
        addr,
        router(engine, node_config),
        "REST",
        limits,
        crate::guard::ErrorStyle::Gateway,
    )
}

/// Paging of a list answer (see the module documentation).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Page {
    start: usize,
    limit: usize,
    reverse: bool,
}

impl Page {
    /// From the `pagination.*` parameters.
    pub(crate) fn from_query(q: &QueryParams) -> Result<Page, Reply> {
        let key = q.get("pagination.key");
        let offset = q.uint("pagination.offset")?;
        if key.is_some() && offset.is_some_and(|o| o > 0) {
            return Err(invalid(
                "invalid request, either offset or key is expected, got both",
            ));
        }
        let start = match key {
            Some(k) => {
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(k)
                    .or_else(|_| base64::engine::general_purpose::URL_SAFE.decode(k))
                    .map_err(|_| invalid(format!("invalid pagination.key {k:?}")))?;
                let arr: [u8; 8] = bytes
                    .try_into()
                    .map_err(|_| invalid(format!("invalid pagination.key {k:?}")))?;
                usize::try_from(u64::from_be_bytes(arr)).unwrap_or(usize::MAX)
            }
            None => usize::try_from(offset.unwrap_or(0)).unwrap_or(usize::MAX),
        };
        let limit = match q.uint("pagination.limit")? {
            None | Some(0) => DEFAULT_PAGE_LIMIT,
            Some(n) => usize::try_from(n).unwrap_or(usize::MAX).min(MAX_PAGE_LIMIT),
        };
        Ok(Page {
            start,
            limit,
            reverse: q.flag("pagination.reverse")?,
        })
    }

    /// One page of `items`, and the gateway's `pagination` for it.
    pub(crate) fn apply(&self, mut items: Vec<Value>) -> (Vec<Value>, Value) {
        let total = items.len();
        if self.reverse {
            items.reverse();
        }
        let end = self.start.saturating_add(self.limit).min(total);
        let page: Vec<Value> = items
            .into_iter()
            .skip(self.start)
            .take(self.limit)
            .collect();
        let next_key = if end < total {
            json!(b64(&(end as u64).to_be_bytes()))
        } else {
            Value::Null
        };
        (
            page,
            json!({"next_key": next_key, "total": total.to_string()}),
        )
    }
}
