//! The ABCI socket end to end: our server driven by our client (TCP and unix socket) and by an
//! independent client (`tendermint-abci`), and the faults the issue names: an application not
//! listening yet, dying in the middle of a call, answering with an exception or with the wrong
//! response, and a client sending garbage.
//!
//! Every call that could hang if the code were wrong runs under a deadline ([`within`]), so a
//! regression fails the test instead of stalling the suite.

use keystone_consensus_driver::abci::{
    ClientError, Connection, Server, ServerHandle, SocketApp, SocketAppConfig,
};
use keystone_proto::abci::{self, request, response, Request, Response};
use keystone_proto::prost::bytes::Bytes;
use keystone_proto::socket::{self, Decoder};
use keystone_proto::{AppError, AppResult, Application};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A small application: counts transactions, app hash = the count (8 bytes, big-endian).
/// `CheckTx` refuses an empty tx with code 1; a tx `"fail"` in a block makes FinalizeBlock fail
/// with an application error; a tx `"wait"` makes FinalizeBlock block until `release` fires.
#[derive(Default)]
struct Counter {
    pending: u64,
    committed: u64,
    height: i64,
    chain_id: String,
    release: Option<Arc<Mutex<mpsc::Receiver<()>>>>,
}

impl Application for Counter {
    fn info(&self, _: abci::RequestInfo) -> AppResult<abci::ResponseInfo> {
        Ok(abci::ResponseInfo {
            data: format!("counter on {}", self.chain_id),
            last_block_height: self.height,
            last_block_app_hash: Bytes::from(self.committed.to_be_bytes().to_vec()),
            ..Default::default()
        })
    }

    fn query(&self, req: abci::RequestQuery) -> AppResult<abci::ResponseQuery> {
        Ok(abci::ResponseQuery {
            key: req.data,
            value: Bytes::from(self.committed.to_string()),
            height: self.height,
            ..Default::default()
        })
    }

    fn check_tx(&mut self, req: abci::RequestCheckTx) -> AppResult<abci::ResponseCheckTx> {
        Ok(abci::ResponseCheckTx {
            code: u32::from(req.tx.is_empty()),
            log: if req.tx.is_empty() {
                "empty tx".into()
            } else {
                String::new()
            },
            ..Default::default()
        })
    }

    fn init_chain(&mut self, req: abci::RequestInitChain) -> AppResult<abci::ResponseInitChain> {
        self.chain_id = req.chain_id;
        Ok(abci::ResponseInitChain {
            app_hash: Bytes::from(0u64.to_be_bytes().to_vec()),
            ..Default::default()
        })
    }

    fn finalize_block(
        &mut self,
        req: abci::RequestFinalizeBlock,
    ) -> AppResult<abci::ResponseFinalizeBlock> {
        if req.txs.iter().any(|t| t.as_ref() == b"fail") {
            return Err(AppError(format!(
                "counter cannot execute block {}: a cursed tx",
                req.height
            )));
        }
        if req.txs.iter().any(|t| t.as_ref() == b"wait") {
            if let Some(release) = &self.release {
                let _ = release
                    .lock()
                    .map(|r| r.recv_timeout(Duration::from_secs(20)));
            }
        }
        self.pending = self.committed + req.txs.len() as u64;
        self.height = req.height;
        Ok(abci::ResponseFinalizeBlock {
            tx_results: req
                .txs
                .iter()
                .map(|_| abci::ExecTxResult::default())
                .collect(),
            app_hash: Bytes::from(self.pending.to_be_bytes().to_vec()),
            ..Default::default()
        })
    }

    fn commit(&mut self) -> AppResult<abci::ResponseCommit> {
        self.committed = self.pending;
        Ok(abci::ResponseCommit { retain_height: 0 })
    }
}

/// Runs `f` on a thread and fails the test if it takes longer than `limit`.
fn within<T: Send + 'static>(limit: Duration, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(limit)
        .unwrap_or_else(|_| panic!("did not finish within {limit:?}: a hang"))
}

const LIMIT: Duration = Duration::from_secs(20);

fn spawn_tcp(app: Counter) -> ServerHandle {
    Server::bind(app, "tcp://127.0.0.1:0")
        .expect("bind")
        .spawn()
        .expect("spawn")
}

fn connect(addr: &str) -> SocketApp {
    SocketApp::connect(
        addr,
        SocketAppConfig {
            connect_timeout: Duration::from_secs(5),
            ..Default::default()
        },
    )
    .expect("connect")
}

fn tx(b: &[u8]) -> Bytes {
    Bytes::copy_from_slice(b)
}

/// Info, InitChain, CheckTx, the proposal and vote-extension calls, FinalizeBlock, Commit,
/// Query and the snapshot calls, through the `Application` trait as the engine calls it.
fn drive_a_block(mut app: SocketApp) {
    assert_eq!(app.echo("ping").expect("echo").message, "ping");
    app.flush(Connection::Mempool).expect("flush");
    let info = app.info(abci::RequestInfo::default()).expect("info");
    assert_eq!(info.last_block_height, 0);

    let init = app
        .init_chain(abci::RequestInitChain {
            chain_id: "socket-test".into(),
            initial_height: 1,
            ..Default::default()
        })
        .expect("init_chain");
    assert_eq!(init.app_hash.as_ref(), &0u64.to_be_bytes());

    let ok = app
        .check_tx(abci::RequestCheckTx {
            tx: tx(b"a"),
            r#type: 0,
        })
        .expect("check_tx");
    assert_eq!(ok.code, 0);
    let refused = app
        .check_tx(abci::RequestCheckTx {
            tx: Bytes::new(),
            r#type: 0,
        })
        .expect("check_tx");
    assert_eq!((refused.code, refused.log.as_str()), (1, "empty tx"));

    let prepared = app
        .prepare_proposal(abci::RequestPrepareProposal {
            max_tx_bytes: 1024,
            txs: vec![tx(b"a"), tx(b"b")],
            height: 1,
            ..Default::default()
        })
        .expect("prepare");
    assert_eq!(prepared.txs.len(), 2);
    let processed = app
        .process_proposal(abci::RequestProcessProposal {
            txs: prepared.txs.clone(),
            height: 1,
            ..Default::default()
        })
        .expect("process");
    assert_eq!(
        processed.status,
        abci::response_process_proposal::ProposalStatus::Accept as i32
    );
    app.extend_vote(abci::RequestExtendVote::default())
        .expect("extend");
    let verified = app
        .verify_vote_extension(abci::RequestVerifyVoteExtension::default())
        .expect("verify");
    assert_eq!(
        verified.status,
        abci::response_verify_vote_extension::VerifyStatus::Accept as i32
    );

    let fin = app
        .finalize_block(abci::RequestFinalizeBlock {
            txs: prepared.txs,
            height: 1,
            ..Default::default()
        })
        .expect("finalize");
    assert_eq!(fin.tx_results.len(), 2);
    assert_eq!(fin.app_hash.as_ref(), &2u64.to_be_bytes());
    app.commit().expect("commit");

    let q = app
        .query(abci::RequestQuery {
            data: tx(b"count"),
            path: "/count".into(),
            ..Default::default()
        })
        .expect("query");
    assert_eq!((q.value.as_ref(), q.height), (&b"2"[..], 1));
    let info = app.info(abci::RequestInfo::default()).expect("info");
    assert_eq!(info.data, "counter on socket-test");
    assert_eq!(
        (info.last_block_height, info.last_block_app_hash.as_ref()),
        (1, &2u64.to_be_bytes()[..])
    );

    assert!(app.list_snapshots().expect("list").snapshots.is_empty());
    assert_eq!(
        app.offer_snapshot(abci::RequestOfferSnapshot::default())
            .expect("offer")
            .result,
        abci::response_offer_snapshot::Result::Reject as i32
    );
    assert!(app
        .load_snapshot_chunk(abci::RequestLoadSnapshotChunk::default())
        .expect("load")
        .chunk
        .is_empty());
    assert_eq!(
        app.apply_snapshot_chunk(abci::RequestApplySnapshotChunk::default())
            .expect("apply")
            .result,
        abci::response_apply_snapshot_chunk::Result::Abort as i32
    );
}

#[test]
fn our_client_drives_our_server_over_tcp() {
    let server = spawn_tcp(Counter::default());
    let addr = server.address().to_string();
    assert!(addr.starts_with("tcp://127.0.0.1:"), "{addr}");
    within(LIMIT, move || drive_a_block(connect(&addr)));
}

#[test]
fn our_client_drives_our_server_over_a_unix_socket() {
    let dir = tempfile::tempdir().expect("tmp");
    let addr = format!("unix://{}", dir.path().join("app.sock").display());
    let server = Server::bind(Counter::default(), &addr)
        .expect("bind")
        .spawn()
        .expect("spawn");
    assert_eq!(server.address().to_string(), addr);
    within(LIMIT, move || drive_a_block(connect(&addr)));
    drop(server);
    assert!(
        !dir.path().join("app.sock").exists(),
        "the socket file is removed at shutdown"
    );
}

#[test]
fn tendermint_abci_client_drives_our_server() {
    let server = spawn_tcp(Counter::default());
    let hp = server
        .address()
        .to_string()
        .trim_start_matches("tcp://")
        .to_owned();
    within(LIMIT, move || {
        let mut c = tendermint_abci::ClientBuilder::default()
            .connect(hp.as_str())
            .expect("tendermint-abci connects");
        let echo = c
            .echo(abci::RequestEcho {
                message: "hello".into(),
            })
            .expect("echo");
        assert_eq!(echo.message, "hello");
        let init = c
            .init_chain(abci::RequestInitChain {
                chain_id: "independent".into(),
                initial_height: 1,
                ..Default::default()
            })
            .expect("init_chain");
        assert_eq!(init.app_hash.as_ref(), &0u64.to_be_bytes());
        let ok = c
            .check_tx(abci::RequestCheckTx {
                tx: tx(b"x"),
                r#type: 0,
            })
            .expect("check_tx");
        assert_eq!(ok.code, 0);
        let bad = c
            .check_tx(abci::RequestCheckTx {
                tx: Bytes::new(),
                r#type: 0,
            })
            .expect("check_tx");
        assert_eq!(bad.code, 1);
        let fin = c
            .finalize_block(abci::RequestFinalizeBlock {
                txs: vec![tx(b"x"), tx(b"y"), tx(b"z")],
                height: 1,
                ..Default::default()
            })
            .expect("finalize_block");
        assert_eq!(fin.tx_results.len(), 3);
        assert_eq!(fin.app_hash.as_ref(), &3u64.to_be_bytes());
        c.commit().expect("commit");
        c.flush().expect("flush");
        let q = c
            .query(abci::RequestQuery {
                data: tx(b"count"),
                path: "/count".into(),
                ..Default::default()
            })
            .expect("query");
        assert_eq!((q.value.as_ref(), q.height), (&b"3"[..], 1));
        let info = c.info(abci::RequestInfo::default()).expect("info");
        assert_eq!(info.data, "counter on independent");
        assert_eq!(info.last_block_height, 1);
    });
}

#[test]
fn several_requests_in_one_write_are_answered_in_order() {
    // What CometBFT's async mempool client does: many requests, then one Flush.
    let server = spawn_tcp(Counter::default());
    let hp = server.address().to_string().replace("tcp://", "");
    within(LIMIT, move || {
        let mut s = TcpStream::connect(hp.as_str()).expect("connect");
        let mut wire = Vec::new();
        for t in [&b"a"[..], b"", b"c"] {
            socket::encode(
                &Request {
                    value: Some(request::Value::CheckTx(abci::RequestCheckTx {
                        tx: tx(t),
                        r#type: 0,
                    })),
                },
                &mut wire,
            );
        }
        socket::encode(
            &Request {
                value: Some(request::Value::Flush(abci::RequestFlush {})),
            },
            &mut wire,
        );
        s.write_all(&wire).expect("write");
        let mut d = Decoder::<Response>::new();
        let mut codes = Vec::new();
        for _ in 0..3 {
            match socket::read_message(&mut s, &mut d).expect("read") {
                Some(Response {
                    value: Some(response::Value::CheckTx(r)),
                }) => codes.push(r.code),
                other => panic!("expected CheckTx, got {other:?}"),
            }
        }
        assert_eq!(codes, [0, 1, 0]);
        assert!(matches!(
            socket::read_message(&mut s, &mut d).expect("read"),
            Some(Response {
                value: Some(response::Value::Flush(_))
            })
        ));
    });
}

/// Log lines written while a subscriber is the thread's default.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut v) = self.0.lock() {
            v.extend_from_slice(b);
        }
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn client_waits_for_an_app_that_is_not_listening_yet() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("late.sock");
    let addr = format!("unix://{}", path.display());
    let late = addr.clone();
    // The app comes up 1.2 s after the node starts connecting: two retries (0.5 s, 1 s).
    let starter = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(1200));
        Server::bind(Counter::default(), &late)
            .expect("bind")
            .spawn()
            .expect("spawn")
    });
    let logs = Captured::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let started = Instant::now();
    // On this thread, so the subscriber sees the client's log lines; the connect deadline
    // (10 s) bounds it.
    let app = tracing::subscriber::with_default(subscriber, || {
        SocketApp::connect(
            &addr,
            SocketAppConfig {
                connect_timeout: Duration::from_secs(10),
                ..Default::default()
            },
        )
    })
    .expect("connects once the app listens");
    assert!(started.elapsed() >= Duration::from_millis(1200));
    let logs = String::from_utf8_lossy(&logs.0.lock().expect("logs")).into_owned();
    let waits: Vec<&str> = logs
        .lines()
        .filter(|l| {
            l.contains("WARN") && l.contains(&format!("waiting for the ABCI application at {addr}"))
        })
        .collect();
    assert!(waits.len() >= 2, "one warning per retry:\n{logs}");
    assert!(waits[0].contains("retrying in 500ms"), "{}", waits[0]);
    assert!(waits[1].contains("retrying in 1s"), "{}", waits[1]);
    let _server = starter.join().expect("starter");
    within(LIMIT, move || drive_a_block(app));
}

#[test]
fn client_gives_up_on_an_app_that_never_listens() {
    // A port nobody listens on: bind one, then free it.
    let port = TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let started = Instant::now();
    let result = within(LIMIT, move || {
        SocketApp::connect(
            &format!("tcp://127.0.0.1:{port}"),
            SocketAppConfig {
                connect_timeout: Duration::from_millis(1200),
                ..Default::default()
            },
        )
    });
    let waited = started.elapsed();
    match result {
        Err(e @ ClientError::NotListening { .. }) => {
            assert!(e.to_string().contains(&format!("127.0.0.1:{port}")), "{e}");
        }
        other => panic!("expected NotListening, got {other:?}"),
    }
    assert!(
        waited >= Duration::from_millis(1200) && waited < Duration::from_secs(5),
        "{waited:?}"
    );
    // A malformed address is refused at once.
    assert!(matches!(
        SocketApp::connect("http://x:1", SocketAppConfig::default()),
        Err(ClientError::Address(_))
    ));
}

#[test]
fn an_app_dying_mid_call_is_an_error_not_a_hang() {
    let (release_tx, release_rx) = mpsc::channel();
    let server = spawn_tcp(Counter {
        release: Some(Arc::new(Mutex::new(release_rx))),
        ..Default::default()
    });
    let mut app = connect(&server.address().to_string());
    let (started_tx, started_rx) = mpsc::channel();
    let call = std::thread::spawn(move || {
        let _ = started_tx.send(());
        let r = app.finalize_block(abci::RequestFinalizeBlock {
            txs: vec![tx(b"wait")],
            height: 1,
            ..Default::default()
        });
        (app, r)
    });
    started_rx.recv().expect("call started");
    // Let the request reach the app, then kill the "process": every socket closes at once.
    std::thread::sleep(Duration::from_millis(200));
    server.shutdown();
    let (app, result) = within(LIMIT, move || call.join().expect("no panic"));
    let err = result.expect_err("a call the app never answered is an error");
    assert!(err.0.contains("consensus connection"), "{err}");
    assert!(
        err.0.contains("closed") || err.0.contains("failed"),
        "{err}"
    );
    // The connection stays closed: a later call fails at once rather than being sent again.
    let again = within(LIMIT, move || {
        let mut app = app;
        app.commit()
    });
    assert!(
        again
            .expect_err("still broken")
            .0
            .contains("earlier failure"),
        "later calls fail with the first error"
    );
    let _ = release_tx.send(());
}

#[test]
fn an_exception_reaches_the_engine_with_the_apps_message() {
    let server = spawn_tcp(Counter::default());
    let mut app = connect(&server.address().to_string());
    let err = within(LIMIT, move || {
        let r = app.finalize_block(abci::RequestFinalizeBlock {
            txs: vec![tx(b"fail")],
            height: 7,
            ..Default::default()
        });
        (app, r)
    });
    let (app, result) = err;
    let err = result.expect_err("an exception is an error");
    assert!(
        err.0
            .contains("counter cannot execute block 7: a cursed tx"),
        "{err}"
    );
    assert!(err.0.contains("FinalizeBlock"), "{err}");
    // The server closes the connection after an exception (as CometBFT's does); the other
    // connections are untouched.
    let q = within(LIMIT, move || {
        let mut app = app;
        (
            app.info(abci::RequestInfo::default()),
            app.commit().map(|_| ()),
        )
    });
    assert!(q.0.is_ok(), "the query connection still works");
    assert!(q.1.is_err(), "the consensus connection is closed");
}

/// A fake application that answers every request with `reply` (and a Flush).
fn fake_app(reply: Vec<u8>) -> (String, std::thread::JoinHandle<()>) {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = format!("tcp://{}", l.local_addr().expect("addr"));
    let t = std::thread::spawn(move || {
        // The client opens four connections; the call under test is on the consensus one,
        // the last opened. Answer on every connection.
        let mut held = Vec::new();
        for _ in 0..4 {
            let Ok((mut s, _)) = l.accept() else { return };
            let reply = reply.clone();
            held.push(std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                while let Ok(n) = s.read(&mut buf) {
                    if n == 0 || s.write_all(&reply).is_err() {
                        break;
                    }
                }
            }));
        }
        for h in held {
            let _ = h.join();
        }
    });
    (addr, t)
}

#[test]
fn a_wrong_or_malformed_response_is_an_error() {
    let mut wrong = socket::encode_to_vec(&Response {
        value: Some(response::Value::Echo(abci::ResponseEcho {
            message: "?".into(),
        })),
    });
    wrong.extend(socket::encode_to_vec(&Response {
        value: Some(response::Value::Flush(abci::ResponseFlush {})),
    }));
    let (addr, _t) = fake_app(wrong);
    let mut app = connect(&addr);
    let err = within(LIMIT, move || app.commit()).expect_err("wrong type");
    assert!(err.0.contains("answered Commit with Echo"), "{err}");

    // A length prefix that is not a varint.
    let (addr, _t) = fake_app(vec![0xff; 12]);
    let app = connect(&addr);
    let err = within(LIMIT, move || app.info(abci::RequestInfo::default())).expect_err("malformed");
    assert!(err.0.contains("malformed response"), "{err}");
}

#[test]
fn garbage_closes_that_connection_only() {
    let server = Server::bind(Counter::default(), "tcp://127.0.0.1:0")
        .expect("bind")
        .with_max_message_size(1024)
        .spawn()
        .expect("spawn");
    let addr = server.address().to_string();
    let hp = addr.replace("tcp://", "");
    // A client connected before the garbage arrives, and used after.
    let mut healthy = connect(&addr);

    let closed_after = |bytes: Vec<u8>| {
        let hp = hp.clone();
        within(LIMIT, move || {
            let mut s = TcpStream::connect(hp.as_str()).expect("connect");
            s.write_all(&bytes).expect("write");
            let mut rest = Vec::new();
            // The server closes the connection: read_to_end returns instead of blocking.
            let _ = s.read_to_end(&mut rest);
            rest
        })
    };
    // Not a varint.
    assert!(closed_after(vec![0xff; 11]).is_empty());
    // Over the server's maximum (1024 bytes).
    let big = socket::encode_to_vec(&Request {
        value: Some(request::Value::CheckTx(abci::RequestCheckTx {
            tx: Bytes::from(vec![1u8; 2000]),
            r#type: 0,
        })),
    });
    assert!(closed_after(big).is_empty());
    // Not protobuf.
    assert!(closed_after(vec![0x03, 0x0f, 0xff, 0xff]).is_empty());
    // A valid frame with an empty Request: answered with an exception, then closed.
    let answer = closed_after(vec![0x00]);
    let mut d = Decoder::<Response>::new();
    d.feed(&answer);
    match d.next_message() {
        Ok(Some(Response {
            value: Some(response::Value::Exception(e)),
        })) => assert!(e.error.contains("unknown request"), "{}", e.error),
        other => panic!("expected an exception, got {other:?}"),
    }

    // The server still serves: the old connection and a new one.
    within(LIMIT, move || {
        healthy
            .check_tx(abci::RequestCheckTx {
                tx: tx(b"still here"),
                r#type: 0,
            })
            .expect("old connection works")
    });
    within(LIMIT, move || drive_a_block(connect(&addr)));
}

#[test]
fn a_live_unix_socket_is_not_stolen_but_a_stale_one_is_replaced() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("app.sock");
    let addr = format!("unix://{}", path.display());
    let first = Server::bind(Counter::default(), &addr)
        .expect("bind")
        .spawn()
        .expect("spawn");
    assert!(
        Server::bind(Counter::default(), &addr).is_err(),
        "a second server on a live socket is refused"
    );
    drop(first);
    // A socket file left by a crashed server (bound, never accepted, listener dropped).
    let stale = std::os::unix::net::UnixListener::bind(&path).expect("stale");
    drop(stale);
    assert!(path.exists());
    let _second = Server::bind(Counter::default(), &addr)
        .expect("a stale socket file is replaced")
        .spawn()
        .expect("spawn");
    within(LIMIT, move || drive_a_block(connect(&addr)));
}
