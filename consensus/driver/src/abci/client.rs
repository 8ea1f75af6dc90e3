//! The ABCI socket client: an [`Application`] whose every call is a round trip to an
//! application in another process.
//!
//! Like CometBFT's proxy it opens four connections, so that a slow call on one (a long
//! `FinalizeBlock`) does not hold up the others (a `Query` from RPC), and puts each method on
//! the connection CometBFT uses (`proxy/app_conn.go` in v0.38):
//!
//! | connection | methods |
//! |---|---|
//! | consensus | InitChain, PrepareProposal, ProcessProposal, ExtendVote, VerifyVoteExtension, FinalizeBlock, Commit |
//! | mempool | CheckTx |
//! | query | Echo, Info, Query |
//! | snapshot | ListSnapshots, OfferSnapshot, LoadSnapshotChunk, ApplySnapshotChunk |
//!
//! They are opened in CometBFT's order (query, snapshot, mempool, consensus). Each call is
//! CometBFT's synchronous call: the request and a `Flush` are written together, then the
//! response and the flush's response are read. A connection carries one call at a time (a
//! mutex each), which is what makes `&self` methods possible and keeps responses in step with
//! requests.
//!
//! Failures, and why they are handled as they are:
//! - the application not listening yet (it is often started alongside the node): retried with
//!   backoff (0.5 s doubling to 5 s) and a warning each time, up to
//!   [`SocketAppConfig::connect_timeout`];
//! - an `Exception` response, a response of the wrong type, a malformed frame, or the
//!   connection closing or failing in the middle of a call: the call fails and the connection
//!   is closed and stays unusable. Nothing is retried, because the engine must not guess
//!   whether the application applied a block it never answered for: it stops, and the restart
//!   handshake (Info, then replay) finds out. CometBFT likewise stops its client on an
//!   exception and kills the node when any connection fails.

use super::{request_name, response_name, Address, AddressError, Stream};
use keystone_proto::abci::{self, request, response, Request, Response};
use keystone_proto::socket::{self, Decoder, FrameError, ReadError, DEFAULT_MAX_MESSAGE_SIZE};
use keystone_proto::{AppChecker, AppError, AppReader, AppResult, AppSnapshots, Application};
use std::fmt;
use std::io::{self, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The first wait before connecting again, and the longest.
const BACKOFF_START: Duration = Duration::from_millis(500);
const BACKOFF_MAX: Duration = Duration::from_secs(5);

/// How the client connects and how long it waits.
#[derive(Debug, Clone)]
pub struct SocketAppConfig {
    /// How long to keep retrying while the application is not listening yet.
    pub connect_timeout: Duration,
    /// How long one call may wait for the socket (each read and write). `None`, the default,
    /// waits as long as the application takes, as CometBFT does: a long `FinalizeBlock` is
    /// not a fault, and a crashed application closes its sockets, which ends the wait.
    pub call_timeout: Option<Duration>,
    /// The largest response accepted, CometBFT's limit by default.
    pub max_message_size: usize,
}

impl Default for SocketAppConfig {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(60),
            call_timeout: None,
            max_message_size: DEFAULT_MAX_MESSAGE_SIZE,
        }
    }
}

/// One of CometBFT's four ABCI connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Connection {
    /// Block execution: InitChain, proposals, vote extensions, FinalizeBlock, Commit.
    Consensus,
    /// CheckTx.
    Mempool,
    /// Echo, Info, Query.
    Query,
    /// State sync snapshots.
    Snapshot,
}

impl fmt::Display for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Connection::Consensus => "consensus",
            Connection::Mempool => "mempool",
            Connection::Query => "query",
            Connection::Snapshot => "snapshot",
        })
    }
}

/// Why a call to the remote application failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The address is not one CometBFT accepts.
    #[error(transparent)]
    Address(#[from] AddressError),
    /// Nothing listened at the address before the deadline.
    #[error(
        "the ABCI application at {address} was not listening after {waited:?} of retrying: {source}"
    )]
    NotListening {
        /// Where the application was expected.
        address: Address,
        /// How long the client waited.
        waited: Duration,
        /// The last connection error.
        source: io::Error,
    },
    /// Connecting failed in a way that waiting will not fix (permission denied, …).
    #[error("cannot connect to the ABCI application at {address}: {source}")]
    Connect {
        /// Where the application was expected.
        address: Address,
        /// The error.
        source: io::Error,
    },
    /// Reading or writing the socket failed (reset, timed out, …).
    #[error(
        "ABCI {conn} connection failed during {request}: {source} (did the application crash?)"
    )]
    Io {
        /// The connection.
        conn: Connection,
        /// The request in flight.
        request: &'static str,
        /// The error.
        source: io::Error,
    },
    /// The application closed the connection before answering.
    #[error("ABCI {conn} connection closed by the application during {request} (did it crash?)")]
    Closed {
        /// The connection.
        conn: Connection,
        /// The request in flight.
        request: &'static str,
    },
    /// The application's bytes are not valid framing.
    #[error("ABCI {conn} connection: malformed response to {request}: {source}")]
    Frame {
        /// The connection.
        conn: Connection,
        /// The request in flight.
        request: &'static str,
        /// What is wrong with the bytes.
        source: FrameError,
    },
    /// The application answered with an `Exception`.
    #[error("the ABCI application answered {request} on the {conn} connection with an exception: {message}")]
    Exception {
        /// The connection.
        conn: Connection,
        /// The request it answered.
        request: &'static str,
        /// The application's message.
        message: String,
    },
    /// The application answered with a response of another type.
    #[error("ABCI {conn} connection: the application answered {request} with {got}")]
    Unexpected {
        /// The connection.
        conn: Connection,
        /// The request.
        request: &'static str,
        /// The type of response received.
        got: &'static str,
    },
    /// The connection failed earlier and was closed.
    #[error("ABCI {conn} connection is closed after an earlier failure: {reason}")]
    Broken {
        /// The connection.
        conn: Connection,
        /// The earlier failure.
        reason: String,
    },
}

impl From<ClientError> for AppError {
    fn from(e: ClientError) -> Self {
        AppError(e.to_string())
    }
}

/// One of the four connections.
struct Conn {
    which: Connection,
    stream: Stream,
    decoder: Decoder<Response>,
    /// Set on the first failure; every later call fails with it.
    broken: Option<String>,
    /// Reused for every request, so a call allocates nothing on the write side.
    out: Vec<u8>,
}

impl Conn {
    /// One synchronous call: `req` then `Flush`, and their two responses.
    fn round_trip(&mut self, req: request::Value) -> Result<response::Value, ClientError> {
        let name = request_name(&req);
        let is_flush = matches!(req, request::Value::Flush(_));
        self.out.clear();
        socket::encode(&Request { value: Some(req) }, &mut self.out);
        if !is_flush {
            socket::encode(&flush_request(), &mut self.out);
        }
        let io_err = |source| ClientError::Io {
            conn: self.which,
            request: name,
            source,
        };
        self.stream.write_all(&self.out).map_err(io_err)?;
        self.stream.flush().map_err(io_err)?;

        let resp = self.read(name)?;
        if is_flush {
            return Ok(resp);
        }
        // A Flush is answered in order, after the response it flushed.
        self.read("Flush")?;
        Ok(resp)
    }

    /// The next response, which must answer `request` (a response of another type means the
    /// two sides are out of step).
    fn read(&mut self, request: &'static str) -> Result<response::Value, ClientError> {
        let conn = self.which;
        let msg = match socket::read_message(&mut self.stream, &mut self.decoder) {
            Ok(Some(msg)) => msg,
            // Closed between two frames, or in the middle of one: either way the application
            // went away without answering.
            Ok(None) | Err(ReadError::Frame(FrameError::Truncated { .. })) => {
                return Err(ClientError::Closed { conn, request })
            }
            Err(ReadError::Io(source)) => {
                return Err(ClientError::Io {
                    conn,
                    request,
                    source,
                })
            }
            Err(ReadError::Frame(source)) => {
                return Err(ClientError::Frame {
                    conn,
                    request,
                    source,
                })
            }
        };
        match msg.value {
            Some(response::Value::Exception(e)) => Err(ClientError::Exception {
                conn,
                request,
                message: e.error,
            }),
            Some(v) if response_name(&v) == request => Ok(v),
            Some(v) => Err(ClientError::Unexpected {
                conn,
                request,
                got: response_name(&v),
            }),
            None => Err(ClientError::Unexpected {
                conn,
                request,
                got: "an empty Response",
            }),
        }
    }
}

fn flush_request() -> Request {
    Request {
        value: Some(request::Value::Flush(abci::RequestFlush {})),
    }
}

/// An ABCI application in another process, reached over CometBFT's socket protocol.
pub struct SocketApp {
    conns: Arc<Conns>,
}

/// The four connections. The query one is shared with readers on other threads
/// ([`Application::reader`]); each connection has its own lock, so a query never waits for
/// a block to execute.
struct Conns {
    address: Address,
    consensus: Mutex<Conn>,
    mempool: Mutex<Conn>,
    query: Mutex<Conn>,
    snapshot: Mutex<Conn>,
}

impl fmt::Debug for SocketApp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SocketApp")
            .field("address", &self.conns.address)
            .finish_non_exhaustive()
    }
}

impl SocketApp {
    /// Connects to the application at `address` (`tcp://host:port`, `unix:///path` or
    /// `host:port`) with CometBFT's four connections, waiting for it as `config` says.
    pub fn connect(address: &str, config: SocketAppConfig) -> Result<SocketApp, ClientError> {
        Ok(SocketApp {
            conns: Arc::new(Conns::connect(address, config)?),
        })
    }

    /// Where the application is.
    pub fn address(&self) -> &Address {
        &self.conns.address
    }

    /// Echo on the query connection: a round trip that does not touch the application's
    /// state (a liveness check, and what the benchmark measures).
    pub fn echo(&self, message: &str) -> Result<abci::ResponseEcho, ClientError> {
        self.conns.echo(message)
    }

    /// A bare Flush on `conn`.
    pub fn flush(&self, conn: Connection) -> Result<(), ClientError> {
        self.conns.flush(conn)
    }

    fn call(&self, which: Connection, req: request::Value) -> Result<response::Value, ClientError> {
        self.conns.call(which, req)
    }

    fn unexpected(
        &self,
        conn: Connection,
        request: &'static str,
        got: &response::Value,
    ) -> ClientError {
        self.conns.unexpected(conn, request, got)
    }
}

impl Conns {
    fn connect(address: &str, config: SocketAppConfig) -> Result<Conns, ClientError> {
        let address: Address = address.parse()?;
        let deadline = Instant::now() + config.connect_timeout;
        let started = Instant::now();
        let open = |which| -> Result<Mutex<Conn>, ClientError> {
            let stream = dial(&address, deadline, started)?;
            stream
                .set_timeouts(config.call_timeout)
                .map_err(|source| ClientError::Connect {
                    address: address.clone(),
                    source,
                })?;
            tracing::debug!(%address, connection = %which, "ABCI connection open");
            Ok(Mutex::new(Conn {
                which,
                stream,
                decoder: Decoder::with_max_size(config.max_message_size),
                broken: None,
                out: Vec::new(),
            }))
        };
        // CometBFT's order (proxy/multi_app_conn.go).
        let query = open(Connection::Query)?;
        let snapshot = open(Connection::Snapshot)?;
        let mempool = open(Connection::Mempool)?;
        let consensus = open(Connection::Consensus)?;
        tracing::info!(%address, "connected to the ABCI application (4 connections)");
        Ok(Conns {
            address,
            consensus,
            mempool,
            query,
            snapshot,
        })
    }

    fn echo(&self, message: &str) -> Result<abci::ResponseEcho, ClientError> {
        match self.call(
            Connection::Query,
            request::Value::Echo(abci::RequestEcho {
                message: message.to_owned(),
            }),
        )? {
            response::Value::Echo(r) => Ok(r),
            other => Err(self.unexpected(Connection::Query, "Echo", &other)),
        }
    }

    fn flush(&self, conn: Connection) -> Result<(), ClientError> {
        self.call(conn, request::Value::Flush(abci::RequestFlush {}))
            .map(|_| ())
    }

    fn slot(&self, which: Connection) -> &Mutex<Conn> {
        match which {
            Connection::Consensus => &self.consensus,
            Connection::Mempool => &self.mempool,
            Connection::Query => &self.query,
            Connection::Snapshot => &self.snapshot,
        }
    }

    /// One call on one connection; the first failure closes the connection for good.
    fn call(&self, which: Connection, req: request::Value) -> Result<response::Value, ClientError> {
        let mut conn = self.slot(which).lock().map_err(|_| ClientError::Broken {
            conn: which,
            // Only a panic inside a call poisons the lock, and then the stream may be out of
            // step with its responses.
            reason: "a previous call panicked".to_owned(),
        })?;
        if let Some(reason) = &conn.broken {
            return Err(ClientError::Broken {
                conn: which,
                reason: reason.clone(),
            });
        }
        let result = conn.round_trip(req);
        if let Err(e) = &result {
            tracing::error!(
                address = %self.address,
                connection = %which,
                error = %e,
                "ABCI call failed; closing the connection (the node must stop, not skip)"
            );
            conn.broken = Some(e.to_string());
            conn.stream.shutdown();
        }
        result
    }

    fn unexpected(
        &self,
        conn: Connection,
        request: &'static str,
        got: &response::Value,
    ) -> ClientError {
        ClientError::Unexpected {
            conn,
            request,
            got: response_name(got),
        }
    }
}

/// Connects once the application listens, waiting with backoff until `deadline`.
fn dial(address: &Address, deadline: Instant, started: Instant) -> Result<Stream, ClientError> {
    let mut backoff = BACKOFF_START;
    loop {
        let now = Instant::now();
        let attempt = deadline
            .saturating_duration_since(now)
            .clamp(Duration::from_millis(100), BACKOFF_MAX);
        let err = match Stream::connect(address, attempt) {
            Ok(stream) => return Ok(stream),
            Err(e) => e,
        };
        if !not_listening_yet(&err) {
            return Err(ClientError::Connect {
                address: address.clone(),
                source: err,
            });
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(ClientError::NotListening {
                address: address.clone(),
                waited: started.elapsed(),
                source: err,
            });
        }
        let wait = backoff.min(left);
        tracing::warn!(
            %address,
            error = %err,
            "waiting for the ABCI application at {address}: not listening yet, retrying in {wait:?}"
        );
        std::thread::sleep(wait);
        backoff = (backoff * 2).min(BACKOFF_MAX);
    }
}

/// Errors that mean "the application has not started yet" rather than "this will never work".
fn not_listening_yet(e: &io::Error) -> bool {
    use io::ErrorKind::*;
    matches!(
        e.kind(),
        ConnectionRefused
            | NotFound // a unix socket file not created yet, or a name not resolvable yet
            | ConnectionReset
            | ConnectionAborted
            | TimedOut
            | AddrNotAvailable
    )
}

macro_rules! call {
    ($self:ident, $conn:ident, $variant:ident, $req:expr) => {
        match $self.call(Connection::$conn, request::Value::$variant($req))? {
            response::Value::$variant(r) => Ok(r),
            // `call` has already checked the type; this arm only keeps the match total.
            other => Err($self
                .unexpected(Connection::$conn, stringify!($variant), &other)
                .into()),
        }
    };
}

impl AppReader for Conns {
    fn info(&self, req: abci::RequestInfo) -> AppResult<abci::ResponseInfo> {
        call!(self, Query, Info, req)
    }

    fn query(&self, req: abci::RequestQuery) -> AppResult<abci::ResponseQuery> {
        call!(self, Query, Query, req)
    }
}

impl AppChecker for Conns {
    fn check_tx(&self, req: abci::RequestCheckTx) -> AppResult<abci::ResponseCheckTx> {
        call!(self, Mempool, CheckTx, req)
    }
}

impl AppSnapshots for Conns {
    fn list_snapshots(&self) -> AppResult<abci::ResponseListSnapshots> {
        call!(self, Snapshot, ListSnapshots, abci::RequestListSnapshots {})
    }

    fn load_snapshot_chunk(
        &self,
        req: abci::RequestLoadSnapshotChunk,
    ) -> AppResult<abci::ResponseLoadSnapshotChunk> {
        call!(self, Snapshot, LoadSnapshotChunk, req)
    }
}

impl Application for SocketApp {
    fn reader(&self) -> Option<Arc<dyn AppReader>> {
        Some(self.conns.clone())
    }

    fn snapshots(&self) -> Option<Arc<dyn AppSnapshots>> {
        Some(self.conns.clone())
    }

    fn checker(&self) -> Option<Arc<dyn AppChecker>> {
        Some(self.conns.clone())
    }

    fn info(&self, req: abci::RequestInfo) -> AppResult<abci::ResponseInfo> {
        call!(self, Query, Info, req)
    }

    fn query(&self, req: abci::RequestQuery) -> AppResult<abci::ResponseQuery> {
        call!(self, Query, Query, req)
    }

    fn check_tx(&mut self, req: abci::RequestCheckTx) -> AppResult<abci::ResponseCheckTx> {
        call!(self, Mempool, CheckTx, req)
    }

    fn init_chain(&mut self, req: abci::RequestInitChain) -> AppResult<abci::ResponseInitChain> {
        call!(self, Consensus, InitChain, req)
    }

    fn prepare_proposal(
        &mut self,
        req: abci::RequestPrepareProposal,
    ) -> AppResult<abci::ResponsePrepareProposal> {
        call!(self, Consensus, PrepareProposal, req)
    }

    fn process_proposal(
        &mut self,
        req: abci::RequestProcessProposal,
    ) -> AppResult<abci::ResponseProcessProposal> {
        call!(self, Consensus, ProcessProposal, req)
    }

    fn extend_vote(&mut self, req: abci::RequestExtendVote) -> AppResult<abci::ResponseExtendVote> {
        call!(self, Consensus, ExtendVote, req)
    }

    fn verify_vote_extension(
        &mut self,
        req: abci::RequestVerifyVoteExtension,
    ) -> AppResult<abci::ResponseVerifyVoteExtension> {
        call!(self, Consensus, VerifyVoteExtension, req)
    }

    fn finalize_block(
        &mut self,
        req: abci::RequestFinalizeBlock,
    ) -> AppResult<abci::ResponseFinalizeBlock> {
        call!(self, Consensus, FinalizeBlock, req)
    }

    fn commit(&mut self) -> AppResult<abci::ResponseCommit> {
        call!(self, Consensus, Commit, abci::RequestCommit {})
    }

    fn list_snapshots(&self) -> AppResult<abci::ResponseListSnapshots> {
        call!(self, Snapshot, ListSnapshots, abci::RequestListSnapshots {})
    }

    fn offer_snapshot(
        &mut self,
        req: abci::RequestOfferSnapshot,
    ) -> AppResult<abci::ResponseOfferSnapshot> {
        call!(self, Snapshot, OfferSnapshot, req)
    }

    fn load_snapshot_chunk(
        &self,
        req: abci::RequestLoadSnapshotChunk,
    ) -> AppResult<abci::ResponseLoadSnapshotChunk> {
        call!(self, Snapshot, LoadSnapshotChunk, req)
    }

    fn apply_snapshot_chunk(
        &mut self,
        req: abci::RequestApplySnapshotChunk,
    ) -> AppResult<abci::ResponseApplySnapshotChunk> {
        call!(self, Snapshot, ApplySnapshotChunk, req)
    }
}

impl Drop for SocketApp {
    fn drop(&mut self) {
        // Close all four so the application sees the node go (CometBFT's OnStop).
        for which in [
            Connection::Consensus,
            Connection::Mempool,
            Connection::Query,
            Connection::Snapshot,
        ] {
            if let Ok(conn) = self.conns.slot(which).lock() {
                conn.stream.shutdown();
            }
        }
    }
}

// The engine calls the application from more than one thread (RPC queries next to block
// execution): the client must be shareable.
const _: fn() = || {
    fn is<T: Send + Sync>() {}
    is::<SocketApp>();
};
