//! The gRPC server (default `127.0.0.1:9090`, app.toml `[grpc] enable` and `address`): HTTP/2,
//! on tonic, the Cosmos SDK's services with cosmos-sdk-proto's messages, and grpc-web beside it
//! when `[grpc-web] enable` says so (tonic-web: a browser's HTTP/1.1 `application/grpc-web`
//! calls on the same port).
//!
//! What it serves, by method path:
//! - every query service the application answers — `cosmos.{auth,bank,staking,distribution,
//!   slashing,mint}.v1beta1.Query/*` and `cosmos.tx.v1beta1.Service/Simulate` — by handing the
//!   request's bytes to the application's query connection under the method's path, exactly as
//!   `abci_query` does for cosmjs: one implementation (`keystone_app::grpc`) behind both;
//! - `cosmos.tx.v1beta1.Service/{BroadcastTx,GetTx,GetTxsEvent,GetBlockWithTxs}` (`tx`): the
//!   mempool and the block store;
//! - `cosmos.base.tendermint.v1beta1.Service/*` (`tendermint`): node info, syncing, blocks,
//!   validator sets, ABCIQuery;
//! - `cosmos.base.node.v1beta1.Service/Config`: app.toml's minimum gas prices, pruning and
//!   halt height.
//!
//! Design decision: requests are dispatched by method path to handlers that decode and
//! encode cosmos-sdk-proto's message types, rather than through one generated server trait
//! per service. The wire is the same (tonic's framing, status codes and trailers); what this
//! buys is that the application's queries, which a socket application may answer too, are
//! forwarded without a per-method table that could drift from the application's own.
//!
//! Heights: a request may carry the SDK's `x-cosmos-block-height` metadata to read an older
//! state; every query answer carries the height it was read at in the same header, as the
//! SDK's server does. A refused query becomes the status the SDK's client maps it to
//! (ABCI 18 → InvalidArgument, 4 → Unauthenticated, 38 → NotFound, anything else Unknown),
//! with the application's log as the message. A method path no service here has is
//! Unimplemented. Messages are bounded at 4 MiB (tonic's default, as the SDK's server), a
//! connection at 64 calls in progress, a call at 10 s, and a client IP at app.toml's
//! `[grpc] rate-limit-per-second` / `rate-limit-burst` (a token bucket, as the REST server's;
//! ResourceExhausted past it).
//!
//! Not yet: server reflection (grpcurl needs `-import-path`/`-proto` with the SDK's proto
//! files until it lands).

// tonic's `Status` is its error type by value, as in its own generated servers: boxing it
// in every handler here would only be unboxed again at the edge.
#![allow(clippy::result_large_err)]

mod tendermint;
mod tx;

use crate::rpc::Engine;
use keystone_proto::abci;
use keystone_proto::prost::bytes::{Buf, BufMut, Bytes};
use keystone_proto::prost::Message;
use std::net::SocketAddr;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::metadata::MetadataValue;
use tonic::{Code, Status};

/// The SDK API level this node serves, reported as `cosmos_sdk_version` (gRPC and REST).
pub(crate) const COSMOS_SDK_VERSION: &str = "v0.50.9";

/// Most transactions one tx search page carries (CometBFT's `per_page` ceiling; gRPC and
/// REST).
pub(crate) const MAX_SEARCH_LIMIT: u64 = 100;

/// The SDK's code for what its mempool refuses (its `CheckCometError`): 19 already in the
/// cache, 20 full, 21 too large; `None` for a failure that is not a refusal.
pub(crate) fn mempool_refusal_code(
    e: &keystone_consensus_driver::mempool::MempoolError,
) -> Option<u32> {
    use keystone_consensus_driver::mempool::MempoolError;
    match e {
        MempoolError::InCache => Some(19),
        MempoolError::Full { .. } | MempoolError::Busy { .. } => Some(20),
        MempoolError::TooLarge { .. } => Some(21),
        MempoolError::App(_) | MempoolError::Stopping => None,
    }
}

/// The SDK's height header, on requests (the state to read) and answers (the state read).
pub const HEIGHT_HEADER: &str = "x-cosmos-block-height";

/// Largest request or answer message, as tonic and the SDK default.
const MAX_MESSAGE_BYTES: usize = 4 << 20;

/// Most calls one connection has in progress (HTTP/2 streams); more wait for a free one.
const MAX_STREAMS: u32 = 64;

/// Longest one call may take before it is answered `Cancelled`.
const CALL_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// What the node's config says about the gRPC server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GrpcConfig {
    /// `[grpc] address`.
    pub address: SocketAddr,
    /// `[grpc-web] enable`.
    pub web: bool,
    /// `[grpc] rate-limit-per-second` (0: none).
    pub rate_per_second: u32,
    /// `[grpc] rate-limit-burst`.
    pub rate_burst: u32,
    /// `[grpc] rate-limit-loopback`.
    pub rate_limit_loopback: bool,
}

/// What `cosmos.base.node.v1beta1.Service/Config` answers: app.toml's values as written.
#[derive(Clone, Debug, Default)]
pub struct NodeConfig {
    /// `minimum-gas-prices`.
    pub minimum_gas_price: String,
    /// `pruning-keep-recent`.
    pub pruning_keep_recent: String,
    /// `pruning-interval`.
    pub pruning_interval: String,
    /// `halt-height`.
    pub halt_height: u64,
}

impl NodeConfig {
    /// `cosmos.base.node.v1beta1.Service/Config`'s answer: the gRPC server's, and the REST
    /// route's rendering of it.
    pub fn answer(&self) -> cosmos_sdk_proto::cosmos::base::node::v1beta1::ConfigResponse {
        cosmos_sdk_proto::cosmos::base::node::v1beta1::ConfigResponse {
            minimum_gas_price: self.minimum_gas_price.clone(),
            pruning_keep_recent: self.pruning_keep_recent.clone(),
            pruning_interval: self.pruning_interval.clone(),
            halt_height: self.halt_height,
        }
    }
}

/// What the handlers share.
#[derive(Clone)]
struct Gateway {
    engine: Engine,
    config: NodeConfig,
    /// Calls per client IP.
    limiter: std::sync::Arc<crate::guard::RateLimiter>,
}

/// Serve on `cfg.address` on a single-threaded runtime of its own (the REST and RPC servers
/// each have theirs), until the process ends.
pub fn serve(cfg: &GrpcConfig, engine: Engine, config: NodeConfig) -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let gateway = Gateway {
        engine,
        config,
        limiter: std::sync::Arc::new(crate::guard::RateLimiter::new(
            cfg.rate_per_second,
            cfg.rate_burst,
            cfg.rate_limit_loopback,
        )),
    };
    let router = axum::Router::new().fallback(move |req: axum::extract::Request| {
        let gateway = gateway.clone();
        async move { gateway.call(req).await }
    });
    let routes = tonic::service::Routes::from(router);
    let addr = cfg.address;
    let web = cfg.web;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        tracing::info!(%addr, grpc_web = web, "gRPC listening");
        let incoming = tonic::transport::server::TcpIncoming::from(listener);
        // Bounds on what one client can hold open: streams per connection, calls in
        // progress per connection, and how long one call may take.
        let mut server = tonic::transport::Server::builder()
            .max_concurrent_streams(Some(MAX_STREAMS))
            .concurrency_limit_per_connection(MAX_STREAMS as usize)
            .timeout(CALL_TIMEOUT);
        if web {
            server
                .accept_http1(true)
                .layer(tonic_web::GrpcWebLayer::new())
                .add_routes(routes)
                .serve_with_incoming(incoming)
                .await?;
        } else {
            server
                .add_routes(routes)
                .serve_with_incoming(incoming)
                .await?;
        }
        Ok(())
    })
}

impl Gateway {
    /// One call: tonic's framing and status around [`Gateway::answer`].
    async fn call(self, req: axum::extract::Request) -> axum::response::Response {
        let path = req.uri().path().to_owned();
        let mut grpc = tonic::server::Grpc::new(RawCodec)
            .apply_max_message_size_config(Some(MAX_MESSAGE_BYTES), Some(MAX_MESSAGE_BYTES));
        let res = grpc
            .unary(
                Method {
                    gateway: self,
                    path,
                },
                req,
            )
            .await;
        res.map(axum::body::Body::new)
    }

    async fn answer(&self, path: &str, req: tonic::Request<Vec<u8>>) -> Reply {
        // Every call counts against its client's budget, as on the REST and RPC servers.
        if let Some(addr) = req.remote_addr() {
            if let Err(wait) = self.limiter.take(addr.ip(), std::time::Instant::now()) {
                return Err(Status::resource_exhausted(format!(
                    "too many requests from {}: the limit is {}; retry in {} ms",
                    addr.ip(),
                    self.limiter.describe(),
                    wait.as_millis().max(1)
                )));
            }
        }
        let height = requested_height(&req)?;
        let data = req.into_inner();
        if let Some(method) = path.strip_prefix("/cosmos.base.tendermint.v1beta1.Service/") {
            return tendermint::call(self, method, &data).await;
        }
        if let Some(method) = path.strip_prefix("/cosmos.tx.v1beta1.Service/") {
            if let Some(reply) = tx::call(self, method, &data).await {
                return reply;
            }
        }
        if path == "/cosmos.base.node.v1beta1.Service/Config" {
            return answer(&self.config.answer());
        }
        if !APP_SERVICES.iter().any(|s| path.starts_with(s)) {
            return Err(Status::unimplemented(format!("unknown method {path}")));
        }
        let res = self.query(path, data, height).await?;
        let mut out = tonic::Response::new(res.value.to_vec());
        out.metadata_mut()
            .insert(HEIGHT_HEADER, MetadataValue::from(res.height));
        Ok(out)
    }

    /// The node's read view (the block store, validator sets) the node-side services read.
    fn view(&self) -> Result<&keystone_consensus_driver::rpc::ReadView, Status> {
        self.engine
            .view()
            .ok_or_else(|| Status::unavailable("the node's read view is not available"))
    }

    /// Ask the application `path` with `data` at `height` (0: the latest); a refusal is the
    /// status the SDK's client makes of it.
    async fn query(
        &self,
        path: &str,
        data: Vec<u8>,
        height: i64,
    ) -> Result<abci::ResponseQuery, Status> {
        let res = self
            .engine
            .query(abci::RequestQuery {
                data: Bytes::from(data),
                path: path.into(),
                height,
                prove: false,
            })
            .await
            .map_err(Status::internal)?;
        if res.code == 0 {
            return Ok(res);
        }
        Err(Status::new(query_code(res.code), res.log))
    }
}

/// The services whose methods are the application's queries.
const APP_SERVICES: [&str; 7] = [
    "/cosmos.auth.v1beta1.Query/",
    "/cosmos.bank.v1beta1.Query/",
    "/cosmos.staking.v1beta1.Query/",
    "/cosmos.distribution.v1beta1.Query/",
    "/cosmos.slashing.v1beta1.Query/",
    "/cosmos.mint.v1beta1.Query/",
    "/cosmos.tx.v1beta1.Service/",
];

/// The gRPC code of an application's refusal, as the SDK's client (`sdkErrorToGRPCError`)
/// makes it (the REST gateway's errors too).
pub(crate) fn query_code(abci_code: u32) -> Code {
    match abci_code {
        18 => Code::InvalidArgument,
        4 => Code::Unauthenticated,
        38 => Code::NotFound,
        _ => Code::Unknown,
    }
}

/// The height a request asks to read at (0: the latest).
fn requested_height(req: &tonic::Request<Vec<u8>>) -> Result<i64, Status> {
    let Some(v) = req.metadata().get(HEIGHT_HEADER) else {
        return Ok(0);
    };
    v.to_str()
        .ok()
        .and_then(|s| s.parse::<i64>().ok())
        .filter(|h| *h >= 0)
        .ok_or_else(|| {
            Status::invalid_argument(format!(
                "invalid height header {HEIGHT_HEADER:?}: {:?}",
                v.to_str().unwrap_or("(not text)")
            ))
        })
}

/// An answer's bytes, or its status.
type Reply = Result<tonic::Response<Vec<u8>>, Status>;

fn answer(m: &impl Message) -> Reply {
    Ok(tonic::Response::new(m.encode_to_vec()))
}

fn decode<T: Message + Default>(data: &[u8]) -> Result<T, Status> {
    T::decode(data).map_err(|e| Status::invalid_argument(format!("invalid request: {e}")))
}

fn internal(e: impl std::fmt::Display) -> Status {
    Status::internal(e.to_string())
}

/// One call's method, as tonic's unary handling wants a service.
struct Method {
    gateway: Gateway,
    path: String,
}

impl tonic::codegen::Service<tonic::Request<Vec<u8>>> for Method {
    type Response = tonic::Response<Vec<u8>>;
    type Error = Status;
    type Future = tonic::codegen::BoxFuture<Self::Response, Status>;

    fn poll_ready(
        &mut self,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Status>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: tonic::Request<Vec<u8>>) -> Self::Future {
        let gateway = self.gateway.clone();
        let path = std::mem::take(&mut self.path);
        Box::pin(async move { gateway.answer(&path, req).await })
    }
}

/// Message bytes as they are: each handler decodes and encodes its own types.
#[derive(Clone, Copy, Debug, Default)]
struct RawCodec;

impl Codec for RawCodec {
    type Encode = Vec<u8>;
    type Decode = Vec<u8>;
    type Encoder = RawCodec;
    type Decoder = RawCodec;

    fn encoder(&mut self) -> RawCodec {
        RawCodec
    }

    fn decoder(&mut self) -> RawCodec {
        RawCodec
    }
}

impl Encoder for RawCodec {
    type Item = Vec<u8>;
    type Error = Status;

    fn encode(&mut self, item: Vec<u8>, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.put_slice(&item);
        Ok(())
    }
}

impl Decoder for RawCodec {
    type Item = Vec<u8>;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Vec<u8>>, Status> {
        let mut out = vec![0; src.remaining()];
        src.copy_to_slice(&mut out);
        Ok(Some(out))
    }
}
