//! Misuse protection for both HTTP servers (the JSON-RPC server of `crate::rpc` and the REST
//! server of `crate::rest`), as axum middleware written here rather than pulled in (no
//! `tower-http` in the dependency tree):
//!
//! - **CORS** (off by default): configured origins may call from a browser; a preflight
//!   `OPTIONS` (with `Access-Control-Request-Method`) is answered here, never by the routes.
//!   The RPC takes CometBFT's `[rpc] cors_allowed_origins|methods|headers` (config.toml), the
//!   REST server the SDK's `[api] enabled-unsafe-cors` (app.toml: any origin, `GET`, `HEAD`,
//!   `POST`, `Content-Type`, as the SDK's gorilla handler allows).
//! - **Per-IP rate limit**: a token bucket per client IP (`rate_per_second` refill, `burst`
//!   capacity; 0 turns it off); an empty bucket answers 429 with `Retry-After`. Loopback
//!   clients (the operator's own tools, benchmarks, the servers' default audience on
//!   127.0.0.1) are not limited unless `rate_limit_loopback` says so — behind a reverse proxy
//!   on the same machine every client is loopback: limit there, or set it and share one
//!   bucket.
//! - **Body limit**: a declared `Content-Length` above the limit answers 413 before the body
//!   is read; a chunked body is cut at the limit by axum's `DefaultBodyLimit`.
//! - **Request timeout**: a request not answered in time gets 504 (REST: gRPC
//!   `DeadlineExceeded`, as the gateway maps it) or 503 (RPC).
//!
//! Errors come in the server's own shape ([`ErrorStyle`]): the gRPC-gateway's `{code,
//! message, details}` or a JSON-RPC error object. Layers run outermost first: CORS (so that a
//! browser can read the errors below), rate limit, body limit, timeout, then the routes.

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::{from_fn_with_state, Next};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use keystone_consensus_driver::rpc::RpcError;
use serde_json::json;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// CometBFT's and the SDK's default body limit (`max_body_bytes`, `rpc-max-body-bytes`).
pub const DEFAULT_MAX_BODY_BYTES: usize = crate::rpc::MAX_BODY_BYTES;
/// Default requests per second per client IP.
pub const DEFAULT_RATE_PER_SECOND: u32 = 100;
/// Default burst (bucket capacity) per client IP.
pub const DEFAULT_RATE_BURST: u32 = 200;
/// Default time a request may take.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// At most this many client IPs are tracked; past it, idle (full) buckets are forgotten, and
/// if every one is busy the table starts over (failing open rather than growing without
/// bound under a spray of source addresses).
const MAX_TRACKED_IPS: usize = 10_000;

/// What a server protects itself with.
#[derive(Clone, Debug, PartialEq)]
pub struct HttpLimits {
    /// Largest request body.
    pub max_body_bytes: usize,
    /// Token refill per second per client IP (0: no rate limit).
    pub rate_per_second: u32,
    /// Bucket capacity per client IP.
    pub rate_burst: u32,
    /// Limit loopback clients too.
    pub rate_limit_loopback: bool,
    /// Longest a request may take (zero: no limit).
    pub request_timeout: Duration,
    /// Browser access.
    pub cors: Cors,
}

impl Default for HttpLimits {
    fn default() -> HttpLimits {
        HttpLimits {
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            rate_per_second: DEFAULT_RATE_PER_SECOND,
            rate_burst: DEFAULT_RATE_BURST,
            rate_limit_loopback: false,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            cors: Cors::default(),
        }
    }
}

/// CORS settings; no allowed origin turns CORS off (no headers, preflights not answered).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Cors {
    /// Allowed origins: exact (`https://app.example`), `*` (any), or with one `*` wildcard
    /// (`https://*.example.com`), as CometBFT's `cors_allowed_origins`.
    pub allowed_origins: Vec<String>,
    /// Allowed methods (case-insensitive).
    pub allowed_methods: Vec<String>,
    /// Allowed request headers (case-insensitive).
    pub allowed_headers: Vec<String>,
}

impl Cors {
    /// CometBFT's defaults for `cors_allowed_methods`.
    pub fn cometbft_methods() -> Vec<String> {
        ["HEAD", "GET", "POST"].map(String::from).to_vec()
    }
    /// CometBFT's defaults for `cors_allowed_headers`.
    pub fn cometbft_headers() -> Vec<String> {
        [
            "Origin",
            "Accept",
            "Content-Type",
            "X-Requested-With",
            "X-Server-Time",
        ]
        .map(String::from)
        .to_vec()
    }
    /// The SDK's `enabled-unsafe-cors = true`: any origin, gorilla's default methods, and
    /// `Content-Type` beside the simple headers.
    pub fn sdk_unsafe() -> Cors {
        Cors {
            allowed_origins: vec!["*".into()],
            allowed_methods: ["GET", "HEAD", "POST"].map(String::from).to_vec(),
            allowed_headers: [
                "Accept",
                "Accept-Language",
                "Content-Language",
                "Content-Type",
                "Origin",
            ]
            .map(String::from)
            .to_vec(),
        }
    }

    fn enabled(&self) -> bool {
        !self.allowed_origins.is_empty()
    }

    /// The `Access-Control-Allow-Origin` value for `origin`, if allowed.
    fn allow_origin(&self, origin: &str) -> Option<String> {
        if self.allowed_origins.iter().any(|o| o == "*") {
            return Some("*".into());
        }
        self.allowed_origins
            .iter()
            .any(|pattern| origin_matches(pattern, origin))
            .then(|| origin.to_string())
    }
}

/// `pattern` with at most one `*` wildcard against an origin (case-insensitive, as origins'
/// scheme and host are).
fn origin_matches(pattern: &str, origin: &str) -> bool {
    let (p, o) = (pattern.to_ascii_lowercase(), origin.to_ascii_lowercase());
    match p.split_once('*') {
        None => p == o,
        Some((pre, suf)) => {
            o.len() >= pre.len() + suf.len() && o.starts_with(pre) && o.ends_with(suf)
        }
    }
}

/// The shape a server's errors take.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorStyle {
    /// A JSON-RPC 2.0 response with an `error` object (CometBFT's codes), id -1.
    JsonRpc,
    /// The gRPC-gateway's `{"code": <gRPC code>, "message", "details": []}`.
    Gateway,
}

struct Bucket {
    tokens: f64,
    at: Instant,
}

/// A token bucket per client IP: `rate` tokens a second up to `burst`, one per request.
/// Loopback clients are not limited unless `loopback`. Shared by the RPC, REST and gRPC
/// servers (each has its own).
pub struct RateLimiter {
    rate: u32,
    burst: u32,
    loopback: bool,
    buckets: Mutex<HashMap<IpAddr, Bucket>>,
}

impl RateLimiter {
    /// `rate` per second (0: no limit), `burst` at most, loopback clients too when
    /// `loopback`.
    pub fn new(rate: u32, burst: u32, loopback: bool) -> RateLimiter {
        RateLimiter {
            rate,
            burst,
            loopback,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// The limit as words for an error message.
    pub fn describe(&self) -> String {
        format!("{} per second (burst {})", self.rate, self.burst)
    }

    /// Take a token from `ip`'s bucket; when empty, how long until one is there.
    pub fn take(&self, ip: IpAddr, now: Instant) -> Result<(), Duration> {
        if self.rate == 0 || (ip.to_canonical().is_loopback() && !self.loopback) {
            return Ok(());
        }
        let rate = f64::from(self.rate);
        let burst = f64::from(self.burst.max(1));
        // A panic while the lock was held leaves plain numbers behind: keep using them.
        let mut map = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        let level = |b: &Bucket| b.tokens + now.duration_since(b.at).as_secs_f64() * rate;
        if map.len() >= MAX_TRACKED_IPS && !map.contains_key(&ip) {
            map.retain(|_, b| level(b) < burst);
            if map.len() >= MAX_TRACKED_IPS {
                map.clear();
            }
        }
        let b = map.entry(ip).or_insert(Bucket {
            tokens: burst,
            at: now,
        });
        b.tokens = level(b).min(burst);
        b.at = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - b.tokens) / rate))
        }
    }
}

struct Guard {
    limits: HttpLimits,
    style: ErrorStyle,
    limiter: RateLimiter,
}

impl Guard {
    #[cfg(test)]
    fn take(&self, ip: IpAddr, now: Instant) -> Result<(), Duration> {
        self.limiter.take(ip, now)
    }

    /// An error answer in this server's shape: HTTP `status`, and either the gRPC `grpc`
    /// code (gateway) or `rpc` (JSON-RPC).
    fn reject(&self, status: StatusCode, grpc: u32, rpc: RpcError) -> Response {
        let body = match self.style {
            ErrorStyle::Gateway => json!({"code": grpc, "message": rpc.data, "details": []}),
            ErrorStyle::JsonRpc => json!({"jsonrpc": "2.0", "id": -1, "error": rpc.to_json()}),
        };
        (status, Json(body)).into_response()
    }
}

/// `router` behind the layers this module describes.
pub fn protect(router: Router, limits: &HttpLimits, style: ErrorStyle) -> Router {
    let g = Arc::new(Guard {
        limits: limits.clone(),
        style,
        limiter: RateLimiter::new(
            limits.rate_per_second,
            limits.rate_burst,
            limits.rate_limit_loopback,
        ),
    });
    router
        .layer(axum::extract::DefaultBodyLimit::max(limits.max_body_bytes))
        .layer(from_fn_with_state(g.clone(), timeout))
        .layer(from_fn_with_state(g.clone(), body_limit))
        .layer(from_fn_with_state(g.clone(), rate_limit))
        .layer(from_fn_with_state(g, cors))
}

async fn timeout(State(g): State<Arc<Guard>>, req: Request, next: Next) -> Response {
    let limit = g.limits.request_timeout;
    if limit.is_zero() {
        return next.run(req).await;
    }
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(r) => r,
        Err(_) => {
            let what = format!("request timed out after {limit:?}");
            let status = match g.style {
                ErrorStyle::Gateway => StatusCode::GATEWAY_TIMEOUT,
                ErrorStyle::JsonRpc => StatusCode::SERVICE_UNAVAILABLE,
            };
            g.reject(status, 4, RpcError::internal(what))
        }
    }
}

async fn body_limit(State(g): State<Arc<Guard>>, req: Request, next: Next) -> Response {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    match declared {
        Some(n) if n > g.limits.max_body_bytes as u64 => g.reject(
            StatusCode::PAYLOAD_TOO_LARGE,
            8,
            RpcError::invalid_request(format!(
                "request body too large: {n} bytes, the limit is {}",
                g.limits.max_body_bytes
            )),
        ),
        _ => next.run(req).await,
    }
}

async fn rate_limit(State(g): State<Arc<Guard>>, req: Request, next: Next) -> Response {
    if g.limits.rate_per_second == 0 {
        return next.run(req).await;
    }
    // Set by `into_make_service_with_connect_info`; a router driven some other way (tests)
    // has no peer address and is not limited.
    let Some(ip) = req
        .extensions()
        .get::<ConnectInfo<crate::lenient::ClientAddr>>()
        .map(|c| c.0 .0.ip())
    else {
        return next.run(req).await;
    };
    match g.limiter.take(ip, Instant::now()) {
        Ok(()) => next.run(req).await,
        Err(wait) => {
            let mut r = g.reject(
                StatusCode::TOO_MANY_REQUESTS,
                8,
                RpcError::internal(format!(
                    "too many requests from {ip}: the limit is {} per second (burst {})",
                    g.limits.rate_per_second, g.limits.rate_burst
                )),
            );
            let secs = wait.as_secs_f64().ceil().max(1.0) as u64;
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
            r
        }
    }
}

fn header_str<'a>(h: &'a HeaderMap, name: &header::HeaderName) -> Option<&'a str> {
    h.get(name).and_then(|v| v.to_str().ok())
}

fn set(r: &mut Response, name: header::HeaderName, value: &str) {
    // Values built from configuration and request headers that were themselves valid.
    if let Ok(v) = HeaderValue::from_str(value) {
        r.headers_mut().insert(name, v);
    }
}

async fn cors(State(g): State<Arc<Guard>>, req: Request, next: Next) -> Response {
    let c = &g.limits.cors;
    if !c.enabled() {
        return next.run(req).await;
    }
    let Some(origin) = header_str(req.headers(), &header::ORIGIN).map(str::to_string) else {
        return next.run(req).await;
    };
    let allow = c.allow_origin(&origin);
    let requested = header_str(req.headers(), &header::ACCESS_CONTROL_REQUEST_METHOD);
    if req.method() == Method::OPTIONS {
        if let Some(method) = requested {
            // A preflight: answered here; without the CORS headers when refused, so the
            // browser does not send the request.
            let mut r = StatusCode::NO_CONTENT.into_response();
            set(
                &mut r,
                header::VARY,
                "Origin, Access-Control-Request-Method, Access-Control-Request-Headers",
            );
            let method_ok = c
                .allowed_methods
                .iter()
                .any(|m| m.eq_ignore_ascii_case(method));
            let asked: Vec<&str> =
                header_str(req.headers(), &header::ACCESS_CONTROL_REQUEST_HEADERS)
                    .unwrap_or("")
                    .split(',')
                    .map(str::trim)
                    .filter(|h| !h.is_empty())
                    .collect();
            let headers_ok = asked.iter().all(|h| {
                c.allowed_headers.iter().any(|a| a.eq_ignore_ascii_case(h))
                    || h.eq_ignore_ascii_case("origin")
            });
            if let (Some(allow), true, true) = (allow, method_ok, headers_ok) {
                set(&mut r, header::ACCESS_CONTROL_ALLOW_ORIGIN, &allow);
                set(
                    &mut r,
                    header::ACCESS_CONTROL_ALLOW_METHODS,
                    &method.to_ascii_uppercase(),
                );
                if !asked.is_empty() {
                    set(
                        &mut r,
                        header::ACCESS_CONTROL_ALLOW_HEADERS,
                        &asked.join(", "),
                    );
                }
                set(&mut r, header::ACCESS_CONTROL_MAX_AGE, "600");
            }
            return r;
        }
    }
    let mut r = next.run(req).await;
    if let Some(allow) = allow {
        set(&mut r, header::ACCESS_CONTROL_ALLOW_ORIGIN, &allow);
        set(&mut r, header::VARY, "Origin");
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::routing::{get, post};
    use std::io::{Read, Write};

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([10, 0, 0, last])
    }

    fn guard(rate: u32, burst: u32) -> Guard {
        Guard {
            limits: HttpLimits {
                rate_per_second: rate,
                rate_burst: burst,
                ..HttpLimits::default()
            },
            style: ErrorStyle::Gateway,
            limiter: RateLimiter::new(rate, burst, false),
        }
    }

    #[test]
    fn token_bucket_allows_the_burst_then_the_rate() {
        let g = guard(10, 3);
        let t0 = Instant::now();
        for _ in 0..3 {
            assert_eq!(g.take(ip(1), t0), Ok(()));
        }
        let wait = g.take(ip(1), t0).expect_err("the bucket is empty");
        assert!(wait <= Duration::from_millis(100), "{wait:?}");
        // Another client has its own bucket.
        assert_eq!(g.take(ip(2), t0), Ok(()));
        // 100 ms later one token (10 per second) has come back, and only one.
        let t1 = t0 + Duration::from_millis(100);
        assert_eq!(g.take(ip(1), t1), Ok(()));
        assert!(g.take(ip(1), t1).is_err());
        // Idle long enough, the bucket is full again but never above the burst.
        let t2 = t1 + Duration::from_secs(60);
        for _ in 0..3 {
            assert_eq!(g.take(ip(1), t2), Ok(()));
        }
        assert!(g.take(ip(1), t2).is_err());
    }

    #[test]
    fn the_ip_table_stays_bounded() {
        let g = guard(1, 1);
        let t0 = Instant::now();
        for i in 0..(MAX_TRACKED_IPS as u32 + 10) {
            let a = IpAddr::from(i.to_be_bytes());
            let _ = g.take(a, t0);
        }
        let n = g.limiter.buckets.lock().map(|m| m.len()).unwrap_or(0);
        assert!(n <= MAX_TRACKED_IPS, "{n} tracked");
    }

    #[test]
    fn origins_match_exactly_or_by_one_wildcard() {
        assert!(origin_matches("https://app.example", "https://APP.example"));
        assert!(!origin_matches(
            "https://app.example",
            "https://app.example.evil"
        ));
        assert!(origin_matches(
            "https://*.example.com",
            "https://a.b.example.com"
        ));
        assert!(!origin_matches(
            "https://*.example.com",
            "https://example.org"
        ));
        let any = Cors::sdk_unsafe();
        assert_eq!(any.allow_origin("http://x"), Some("*".into()));
        let none = Cors::default();
        assert!(!none.enabled());
    }

    /// Serve `router` behind `limits` on a loopback port (its own runtime, on a thread);
    /// returns the port.
    fn serve(router: Router, limits: HttpLimits, style: ErrorStyle) -> u16 {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        listener.set_nonblocking(true).expect("nonblocking");
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
                let app = protect(router, &limits, style);
                let _ = axum::serve(
                    crate::lenient::LenientListener(listener),
                    app.into_make_service_with_connect_info::<crate::lenient::ClientAddr>(),
                )
                .await;
            });
        });
        port
    }

    /// One raw request: (status, head, body).
    fn request(port: u16, head: &str, body: &str) -> (u16, String, String) {
        let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        let req = format!(
            "{head}\r\nHost: 127.0.0.1\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        s.write_all(req.as_bytes()).expect("write");
        let mut resp = String::new();
        let _ = s.read_to_string(&mut resp);
        let (h, b) = resp.split_once("\r\n\r\n").unwrap_or((&resp, ""));
        let status = h
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        (status, h.to_ascii_lowercase(), b.to_string())
    }

    fn slow_router() -> Router {
        Router::new()
            .route("/fast", get(|| async { "ok" }))
            .route(
                "/echo",
                post(|b: axum::body::Bytes| async move { b.len().to_string() }),
            )
            .route(
                "/slow",
                get(|| async {
                    tokio::time::sleep(Duration::from_secs(5)).await;
                    "late"
                }),
            )
    }

    #[test]
    fn the_layers_answer_in_each_servers_shape() {
        let limits = HttpLimits {
            max_body_bytes: 10,
            rate_per_second: 1,
            rate_burst: 2,
            rate_limit_loopback: true,
            request_timeout: Duration::from_millis(200),
            cors: Cors {
                allowed_origins: vec!["http://ok.example".into()],
                allowed_methods: Cors::cometbft_methods(),
                allowed_headers: Cors::cometbft_headers(),
            },
        };
        let rest = serve(slow_router(), limits.clone(), ErrorStyle::Gateway);
        let (s, h, b) = request(rest, "GET /slow HTTP/1.1", "");
        assert_eq!(s, 504, "{h}{b}");
        assert!(b.contains("\"code\":4") && b.contains("timed out"), "{b}");
        let (s, _, b) = request(rest, "POST /echo HTTP/1.1", "01234567890123");
        assert_eq!(s, 413, "{b}");
        assert!(
            b.contains("\"code\":8") && b.contains("\"details\":[]"),
            "{b}"
        );
        let (s, h, _) = request(
            rest,
            "OPTIONS /fast HTTP/1.1\r\nOrigin: http://ok.example\r\nAccess-Control-Request-Method: POST\r\nAccess-Control-Request-Headers: content-type",
            "",
        );
        assert_eq!(s, 204);
        assert!(
            h.contains("access-control-allow-origin: http://ok.example"),
            "{h}"
        );
        assert!(h.contains("access-control-allow-methods: post"), "{h}");
        // Two requests took the burst (a preflight is answered before the rate limit); the
        // next is refused until a token comes back.
        let (s, h, b) = request(rest, "GET /fast HTTP/1.1\r\nOrigin: http://ok.example", "");
        assert_eq!(s, 429, "{h}{b}");
        assert!(h.contains("retry-after: 1"), "{h}");
        assert!(
            h.contains("access-control-allow-origin: http://ok.example"),
            "a browser may read the refusal: {h}"
        );
        std::thread::sleep(Duration::from_millis(1100));
        let (s, h, _) = request(
            rest,
            "GET /fast HTTP/1.1\r\nOrigin: http://evil.example",
            "",
        );
        assert_eq!(s, 200);
        assert!(!h.contains("access-control-allow-origin"), "{h}");

        let rpc = serve(
            slow_router(),
            HttpLimits {
                rate_limit_loopback: false,
                ..limits
            },
            ErrorStyle::JsonRpc,
        );
        let (s, _, b) = request(rpc, "GET /slow HTTP/1.1", "");
        assert_eq!(s, 503, "{b}");
        assert!(
            b.contains("\"jsonrpc\":\"2.0\"") && b.contains("-32603"),
            "{b}"
        );
        let (s, _, b) = request(rpc, "POST /echo HTTP/1.1", "01234567890123");
        assert_eq!(s, 413);
        assert!(b.contains("-32600"), "{b}");
        let (s, h, _) = request(
            rpc,
            "OPTIONS /fast HTTP/1.1\r\nOrigin: http://evil.example\r\nAccess-Control-Request-Method: GET",
            "",
        );
        assert_eq!(s, 204);
        assert!(!h.contains("access-control-allow-origin"), "{h}");
        for _ in 0..20 {
            assert_eq!(
                request(rpc, "GET /fast HTTP/1.1", "").0,
                200,
                "no rate limit"
            );
        }
    }
}
