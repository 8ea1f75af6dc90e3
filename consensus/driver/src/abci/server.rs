//! The ABCI socket server: any [`Application`] behind CometBFT's socket protocol.
//!
//! One thread accepts; each connection gets a thread that reads requests and answers them in
//! order. All connections share one application behind a mutex, because CometBFT's four
//! connections (consensus, mempool, query, snapshot) all call the same application and it
//! must see their calls one at a time (CometBFT's own server does the same with `appMtx`).
//!
//! Responses are buffered and written when a `Flush` is answered, as CometBFT's server does,
//! and also whenever every request received so far has been answered: a client that sends a
//! request and waits without a `Flush` (as `tendermint-abci`'s client does) gets its answer,
//! while CometBFT's request-then-flush pairs still go out in one write.
//!
//! Faults stay on their connection: a malformed or oversized frame, or an empty request,
//! closes that connection with a log line, and the others carry on. An application error
//! is answered with `Exception{error}` and the connection is then closed, as CometBFT's server
//! does ("the receiving client should log the error and gracefully terminate"). A panic in the
//! application is caught and answered the same way; the application's lock is then poisoned,
//! so every later call is refused with an exception rather than run on half-updated state.

use super::{Address, AddressError, Stream};
use keystone_proto::abci::{self, request, response, Request, Response};
use keystone_proto::socket::{self, Decoder, DEFAULT_MAX_MESSAGE_SIZE};
use keystone_proto::Application;
use std::io::{self, Write};
use std::net::TcpListener;
use std::os::unix::fs::FileTypeExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

/// Why the server could not start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The address is not one CometBFT accepts.
    #[error(transparent)]
    Address(#[from] AddressError),
    /// Binding the address failed.
    #[error("cannot listen on {address}: {source}")]
    Bind {
        /// The address.
        address: String,
        /// The error.
        source: io::Error,
    },
    /// Accepting connections failed.
    #[error("accepting ABCI connections on {address} failed: {source}")]
    Accept {
        /// The address.
        address: Address,
        /// The error.
        source: io::Error,
    },
    /// The accept thread could not be started.
    #[error("cannot start the ABCI server thread: {0}")]
    Thread(io::Error),
}

enum Listener {
    Tcp(TcpListener),
    Unix(UnixListener, PathBuf),
}

impl Listener {
    fn accept(&self) -> io::Result<Stream> {
        match self {
            Listener::Tcp(l) => {
                let (s, _) = l.accept()?;
                // Responses are small and latency-bound (see `Stream::connect`).
                s.set_nodelay(true)?;
                Ok(Stream::Tcp(s))
            }
            Listener::Unix(l, _) => l.accept().map(|(s, _)| Stream::Unix(s)),
        }
    }
}

/// Open connections, so that shutting the server down can close them.
type Conns = Arc<Mutex<Vec<(u64, Stream)>>>;

/// A bound ABCI server, not yet accepting.
pub struct Server<A> {
    listener: Listener,
    address: Address,
    app: Arc<Mutex<A>>,
    max_message_size: usize,
    stop: Arc<AtomicBool>,
    conns: Conns,
}

impl<A: Application + 'static> Server<A> {
    /// Binds `address` (`tcp://host:port`, `unix:///path` or `host:port`; port 0 picks a free
    /// one, see [`Server::address`]). A unix socket file left behind by a server that is no
    /// longer running is replaced; one that still answers is not.
    pub fn bind(app: A, address: &str) -> Result<Self, ServerError> {
        let parsed: Address = address.parse()?;
        let bind_err = |source| ServerError::Bind {
            address: address.to_owned(),
            source,
        };
        let (listener, address) = match parsed {
            Address::Tcp(hp) => {
                let l = TcpListener::bind(hp.as_str()).map_err(bind_err)?;
                let local = l.local_addr().map_err(bind_err)?;
                (Listener::Tcp(l), Address::Tcp(local.to_string()))
            }
            Address::Unix(path) => {
                remove_stale_socket(&path).map_err(bind_err)?;
                let l = UnixListener::bind(&path).map_err(bind_err)?;
                (Listener::Unix(l, path.clone()), Address::Unix(path))
            }
        };
        Ok(Server {
            listener,
            address,
            app: Arc::new(Mutex::new(app)),
            max_message_size: DEFAULT_MAX_MESSAGE_SIZE,
            stop: Arc::new(AtomicBool::new(false)),
            conns: Arc::new(Mutex::new(Vec::new())),
        })
    }

    /// Refuses requests longer than `max` bytes (CometBFT's limit by default).
    pub fn with_max_message_size(mut self, max: usize) -> Self {
        self.max_message_size = max;
        self
    }

    /// The address actually bound (with the port chosen for port 0).
    pub fn address(&self) -> &Address {
        &self.address
    }

    /// Accepts connections until shut down (through a [`ServerHandle`]); each is served on its
    /// own thread.
    pub fn run(self) -> Result<(), ServerError> {
        tracing::info!(address = %self.address, "ABCI server listening");
        let next_id = AtomicU64::new(0);
        loop {
            let accepted = self.listener.accept();
            if self.stop.load(Ordering::SeqCst) {
                // Woken by `ServerHandle::shutdown`; whatever was accepted is its wake-up call.
                return Ok(());
            }
            let stream = match accepted {
                Ok(s) => s,
                // A client that gave up between connect and accept: not the server's fault.
                Err(e) if is_transient_accept_error(&e) => {
                    tracing::debug!(error = %e, "ABCI accept failed; continuing");
                    continue;
                }
                Err(source) => {
                    return Err(ServerError::Accept {
                        address: self.address.clone(),
                        source,
                    })
                }
            };
            let id = next_id.fetch_add(1, Ordering::Relaxed);
            let peer = stream.peer();
            // Keep a clone to close it at shutdown; without one, shutdown could not reach a
            // thread blocked in read.
            match stream.try_clone() {
                Ok(clone) => lock_conns(&self.conns).push((id, clone)),
                Err(e) => {
                    tracing::warn!(%peer, error = %e, "cannot track ABCI connection; refusing it");
                    continue;
                }
            }
            tracing::info!(%peer, connection = id, "ABCI connection accepted");
            let app = Arc::clone(&self.app);
            let conns = Arc::clone(&self.conns);
            let max = self.max_message_size;
            let spawned = std::thread::Builder::new()
                .name(format!("abci-conn-{id}"))
                .spawn(move || {
                    serve_connection(&app, stream, &peer, max);
                    lock_conns(&conns).retain(|(i, _)| *i != id);
                });
            if let Err(e) = spawned {
                tracing::error!(error = %e, "cannot start a thread for an ABCI connection");
                if let Some((_, s)) = lock_conns(&self.conns).pop() {
                    s.shutdown();
                }
            }
        }
    }

    /// Runs [`Server::run`] on a background thread.
    pub fn spawn(self) -> Result<ServerHandle, ServerError> {
        let address = self.address.clone();
        let stop = Arc::clone(&self.stop);
        let conns = Arc::clone(&self.conns);
        let unix_path = match &self.listener {
            Listener::Unix(_, p) => Some(p.clone()),
            Listener::Tcp(_) => None,
        };
        let thread = std::thread::Builder::new()
            .name("abci-server".into())
            .spawn(move || {
                if let Err(e) = self.run() {
                    tracing::error!(error = %e, "ABCI server stopped");
                }
            })
            .map_err(ServerError::Thread)?;
        Ok(ServerHandle {
            address,
            stop,
            conns,
            unix_path,
            thread: Some(thread),
        })
    }
}

/// Serves `app` on `address` until the process ends: what `keystone abci-server` runs.
pub fn serve<A: Application + 'static>(app: A, address: &str) -> Result<(), ServerError> {
    Server::bind(app, address)?.run()
}

/// A server running on a background thread; dropping it shuts the server down.
pub struct ServerHandle {
    address: Address,
    stop: Arc<AtomicBool>,
    conns: Conns,
    unix_path: Option<PathBuf>,
    thread: Option<JoinHandle<()>>,
}

impl ServerHandle {
    /// The address the server listens on.
    pub fn address(&self) -> &Address {
        &self.address
    }

    /// Stops accepting and closes every open connection at once, as if the application's
    /// process had died: clients in the middle of a call see their connection close.
    pub fn shutdown(mut self) {
        self.stop_now();
    }

    fn stop_now(&mut self) {
        let Some(thread) = self.thread.take() else {
            return;
        };
        self.stop.store(true, Ordering::SeqCst);
        // `accept` has no timeout: wake it with a connection of our own. If that fails (the
        // socket file was removed under us, say), the thread is left to end with the process
        // rather than joined, which would hang.
        match Stream::connect(&self.address, std::time::Duration::from_secs(1)) {
            Ok(_) => {
                if thread.join().is_err() {
                    tracing::error!("the ABCI accept thread panicked");
                }
            }
            Err(e) => {
                tracing::warn!(address = %self.address, error = %e, "cannot wake the ABCI accept thread; leaving it behind");
            }
        }
        for (_, s) in lock_conns(&self.conns).drain(..) {
            s.shutdown();
        }
        if let Some(path) = &self.unix_path {
            // Leave no socket file behind for the next server to trip on.
            let _ = std::fs::remove_file(path);
        }
    }
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        self.stop_now();
    }
}

fn lock_conns(conns: &Conns) -> std::sync::MutexGuard<'_, Vec<(u64, Stream)>> {
    // The list holds only stream handles; a panic elsewhere cannot leave it inconsistent.
    conns.lock().unwrap_or_else(|p| p.into_inner())
}

fn is_transient_accept_error(e: &io::Error) -> bool {
    use io::ErrorKind::*;
    matches!(
        e.kind(),
        ConnectionAborted | ConnectionReset | Interrupted | WouldBlock
    )
}

/// Removes a unix socket file whose server is gone (binding over it would fail), but never a
/// live one (that would steal its clients) nor anything that is not a socket.
fn remove_stale_socket(path: &std::path::Path) -> io::Result<()> {
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return Ok(());
    };
    if !meta.file_type().is_socket() {
        return Ok(()); // let bind report "address in use" on whatever this is
    }
    match UnixStream::connect(path) {
        Ok(_) => Ok(()), // a live server: bind fails with "address in use", as it should
        Err(_) => std::fs::remove_file(path),
    }
}

/// Reads requests from one connection and answers them in order, until the client closes
/// it, it fails, or it sends something that is not a valid request.
fn serve_connection<A: Application>(app: &Mutex<A>, mut stream: Stream, peer: &str, max: usize) {
    let mut decoder = Decoder::<Request>::with_max_size(max);
    let mut out = Vec::new();
    loop {
        let req = match decoder.next_message() {
            Ok(Some(req)) => req,
            Ok(None) => {
                // Every request received so far is answered: send the answers before
                // blocking for more, or a client waiting without a Flush would wait forever.
                if let Err(e) = send(&mut stream, &mut out) {
                    tracing::debug!(%peer, error = %e, "ABCI connection lost while answering");
                    return;
                }
                match decoder.read_from(&mut stream) {
                    Ok(0) => {
                        match decoder.finish() {
                            Ok(()) => tracing::info!(%peer, "ABCI connection closed by the client"),
                            Err(e) => {
                                tracing::warn!(%peer, error = %e, "ABCI connection closed in the middle of a request")
                            }
                        }
                        return;
                    }
                    Ok(_) => continue,
                    Err(e) => {
                        tracing::info!(%peer, error = %e, "ABCI connection lost");
                        return;
                    }
                }
            }
            Err(e) => {
                tracing::warn!(%peer, error = %e, "closing ABCI connection: malformed request frame");
                stream.shutdown();
                return;
            }
        };
        let resp = answer(app, req);
        socket::encode(&resp, &mut out);
        match &resp.value {
            Some(response::Value::Flush(_)) => {
                if let Err(e) = send(&mut stream, &mut out) {
                    tracing::debug!(%peer, error = %e, "ABCI connection lost while answering");
                    return;
                }
            }
            Some(response::Value::Exception(e)) => {
                tracing::warn!(%peer, error = %e.error, "ABCI request failed; answered with an exception and closing the connection");
                // The client must see the exception, so it goes out before the close.
                let _ = send(&mut stream, &mut out);
                stream.shutdown();
                return;
            }
            _ => {}
        }
    }
}

fn send(stream: &mut Stream, out: &mut Vec<u8>) -> io::Result<()> {
    if out.is_empty() {
        return Ok(());
    }
    stream.write_all(out)?;
    stream.flush()?;
    out.clear();
    Ok(())
}

fn exception(error: impl Into<String>) -> Response {
    Response {
        value: Some(response::Value::Exception(abci::ResponseException {
            error: error.into(),
        })),
    }
}

/// The response to one request; errors and panics become an `Exception`.
fn answer<A: Application>(app: &Mutex<A>, req: Request) -> Response {
    let Some(value) = req.value else {
        // CometBFT: "unknown request from client".
        return exception("unknown request: the Request carries no message");
    };
    let value = match value {
        // Answered without the application, as CometBFT's server does.
        request::Value::Echo(e) => response::Value::Echo(abci::ResponseEcho { message: e.message }),
        request::Value::Flush(_) => response::Value::Flush(abci::ResponseFlush {}),
        other => {
            // The lock is taken inside `catch_unwind` on purpose: a panicking application
            // poisons it, and every later call is refused below.
            let outcome = catch_unwind(AssertUnwindSafe(|| match app.lock() {
                Ok(mut app) => Some(call(&mut *app, other)),
                Err(_) => None,
            }));
            match outcome {
                Ok(Some(Ok(v))) => v,
                Ok(Some(Err(e))) => return exception(e.0),
                Ok(None) => {
                    return exception(
                        "the application panicked in an earlier call; its state is unknown",
                    )
                }
                Err(panic) => {
                    let what = panic
                        .downcast_ref::<&str>()
                        .map(|s| (*s).to_owned())
                        .or_else(|| panic.downcast_ref::<String>().cloned())
                        .unwrap_or_else(|| "unknown panic".to_owned());
                    tracing::error!(panic = %what, "the ABCI application panicked");
                    return exception(format!("the application panicked: {what}"));
                }
            }
        }
    };
    Response { value: Some(value) }
}

/// Calls the application method a request names.
fn call<A: Application>(
    app: &mut A,
    req: request::Value,
) -> Result<response::Value, keystone_proto::AppError> {
    use request::Value as Q;
    use response::Value as R;
    Ok(match req {
        Q::Echo(e) => R::Echo(abci::ResponseEcho { message: e.message }),
        Q::Flush(_) => R::Flush(abci::ResponseFlush {}),
        Q::Info(r) => R::Info(app.info(r)?),
        Q::Query(r) => R::Query(app.query(r)?),
        Q::CheckTx(r) => R::CheckTx(app.check_tx(r)?),
        Q::InitChain(r) => R::InitChain(app.init_chain(r)?),
        Q::PrepareProposal(r) => R::PrepareProposal(app.prepare_proposal(r)?),
        Q::ProcessProposal(r) => R::ProcessProposal(app.process_proposal(r)?),
        Q::ExtendVote(r) => R::ExtendVote(app.extend_vote(r)?),
        Q::VerifyVoteExtension(r) => R::VerifyVoteExtension(app.verify_vote_extension(r)?),
        Q::FinalizeBlock(r) => R::FinalizeBlock(app.finalize_block(r)?),
        Q::Commit(_) => R::Commit(app.commit()?),
        Q::ListSnapshots(_) => R::ListSnapshots(app.list_snapshots()?),
        Q::OfferSnapshot(r) => R::OfferSnapshot(app.offer_snapshot(r)?),
        Q::LoadSnapshotChunk(r) => R::LoadSnapshotChunk(app.load_snapshot_chunk(r)?),
        Q::ApplySnapshotChunk(r) => R::ApplySnapshotChunk(app.apply_snapshot_chunk(r)?),
    })
}
