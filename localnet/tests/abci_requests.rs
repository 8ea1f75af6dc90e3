//! What the engine sends an external application, field by field, against what CometBFT v0.38
//! sends (`common::requests::missing`): a 4-validator localnet replicates the Python kvstore,
//! every app run with `--strict` (it answers an Exception, and so stops its node, on any
//! request lacking a field CometBFT always sets), and node 0's app behind a recorder that
//! decodes every request on the wire with tendermint-proto's types. Every request type the
//! engine sends is required to have been seen and to be complete; vote extensions and
//! snapshots, which CometBFT does not call with extensions disabled and state sync off, are
//! required never to be sent.
//!
//! Then CometBFT's kvstore quick start, typed as its documentation writes it: raw `"` in
//! URI-form requests (`broadcast_tx_commit?tx="name=satoshi"`, `abci_query?data="name"`),
//! sent on a raw socket exactly as curl sends them.

mod common;

use common::apps::{AppProcess, Example};
use common::requests::missing;
use keystone_localnet::{free_base, http_status, keystone_bin, Localnet, FAST_TIMEOUTS};
use keystone_proto::abci::{request, Request};
use keystone_proto::prost::Message;
use serde_json::json;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Every request seen on the wire, in order.
type Seen = Arc<Mutex<Vec<request::Value>>>;

/// A TCP proxy between the node and its app that decodes each request the node sends.
struct Recorder {
    address: String,
    seen: Seen,
    errors: Arc<Mutex<Vec<String>>>,
}

impl Recorder {
    /// Listen on a free loopback port and forward each connection to `upstream`
    /// (`tcp://host:port`).
    fn start(upstream: &str) -> Recorder {
        let upstream = upstream
            .strip_prefix("tcp://")
            .expect("a tcp:// app")
            .to_owned();
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let address = format!("tcp://{}", listener.local_addr().expect("addr"));
        let seen: Seen = Arc::default();
        let errors: Arc<Mutex<Vec<String>>> = Arc::default();
        let (s, e) = (seen.clone(), errors.clone());
        std::thread::spawn(move || {
            for node in listener.incoming() {
                let Ok(node) = node else { return };
                let app = TcpStream::connect(&upstream).expect("the app listens");
                let (s, e) = (s.clone(), e.clone());
                let (mut node_r, mut app_w) = (
                    node.try_clone().expect("clone"),
                    app.try_clone().expect("clone"),
                );
                let (mut app_r, mut node_w) = (app, node);
                std::thread::spawn(move || {
                    let _ = std::io::copy(&mut app_r, &mut node_w);
                    let _ = node_w.shutdown(Shutdown::Both);
                });
                std::thread::spawn(move || {
                    let mut buf = Vec::new();
                    let mut chunk = [0u8; 64 * 1024];
                    loop {
                        let n = match node_r.read(&mut chunk) {
                            Ok(0) | Err(_) => break,
                            Ok(n) => n,
                        };
                        buf.extend_from_slice(&chunk[..n]);
                        decode_frames(&mut buf, &s, &e);
                        if app_w.write_all(&chunk[..n]).is_err() {
                            break;
                        }
                    }
                    let _ = app_w.shutdown(Shutdown::Both);
                });
            }
        });
        Recorder {
            address,
            seen,
            errors,
        }
    }

    fn seen(&self) -> Vec<request::Value> {
        self.seen.lock().expect("lock").clone()
    }
}

/// Take every whole frame (uvarint length, then a `tendermint.abci.Request`) off `buf`.
fn decode_frames(buf: &mut Vec<u8>, seen: &Seen, errors: &Arc<Mutex<Vec<String>>>) {
    loop {
        let mut cursor: &[u8] = buf;
        let Ok(len) = keystone_proto::prost::encoding::decode_varint(&mut cursor) else {
            return; // the length is not all here yet
        };
        let head = buf.len() - cursor.len();
        let Some(end) = usize::try_from(len).ok().and_then(|l| head.checked_add(l)) else {
            errors
                .lock()
                .expect("lock")
                .push(format!("absurd frame length {len}"));
            buf.clear();
            return;
        };
        if buf.len() < end {
            return;
        }
        match Request::decode(&buf[head..end]) {
            Ok(Request { value: Some(v) }) => seen.lock().expect("lock").push(v),
            Ok(Request { value: None }) => {
                errors.lock().expect("lock").push("an empty Request".into())
            }
            Err(e) => errors
                .lock()
                .expect("lock")
                .push(format!("undecodable Request: {e}")),
        }
        buf.drain(..end);
    }
}

fn kind(v: &request::Value) -> &'static str {
    keystone_consensus_driver::abci::request_name(v)
}

fn b64(s: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(s)
}

#[test]
fn every_request_is_filled_as_cometbft_fills_it() {
    let example = Example::KvstorePy;
    example.require_interpreter();
    let dir = tempfile::tempdir().expect("tmp");
    let bin = keystone_bin().expect("the keystone binary is built next to the tests");
    let mut net = Localnet::init(
        &bin,
        &dir.path().join("net"),
        4,
        "e2e-abci-requests",
        free_base(50).expect("a free port range on 127.0.0.1"),
        &FAST_TIMEOUTS,
    )
    .expect("testnet init-files");
    net.genesis_validators_from_keys(10).expect("genesis");
    let apps: Vec<AppProcess> = (0..4)
        .map(|i| {
            AppProcess::start(
                example,
                &dir.path().join(format!("app{i}")),
                "tcp://127.0.0.1:0",
            )
        })
        .collect();
    let recorder = Recorder::start(&apps[0].address);
    net.start_with(0, &["--proxy-app", &recorder.address])
        .expect("start 0");
    for (i, app) in apps.iter().enumerate().skip(1) {
        net.start_with(i, &["--proxy-app", &app.address])
            .expect("start");
    }
    net.wait_height(&[0, 1, 2, 3], 2, 90)
        .expect("four nodes replicate the strict app");

    // CometBFT's kvstore quick start, typed as written: raw quotes in the request line.
    let rpc = net.nodes[0].rpc;
    let get = |port, target| http_status(port, "GET", target, "").expect("an HTTP answer");
    let (status, r) = get(rpc, "/broadcast_tx_commit?tx=\"name=satoshi\"");
    assert_eq!(status, 200, "{r}");
    assert_eq!(r["result"]["check_tx"]["code"], 0, "{r}");
    assert_eq!(r["result"]["tx_result"]["code"], 0, "{r}");
    let (status, q) = get(rpc, "/abci_query?data=\"name\"");
    assert_eq!(status, 200, "{q}");
    assert_eq!(q["result"]["response"]["value"], b64("satoshi"), "{q}");
    assert_eq!(q["result"]["response"]["key"], b64("name"), "{q}");
    // The other nodes have it too, asked the same way.
    let (_, q) = get(net.nodes[3].rpc, "/abci_query?data=\"name\"");
    assert_eq!(q["result"]["response"]["value"], b64("satoshi"), "{q}");
    // The query language with raw quotes and `>`, which a strict URI parser refuses.
    let (status, found) = get(rpc, "/tx_search?query=\"tx.height>0\"");
    assert_eq!(status, 200, "{found}");
    assert_eq!(found["result"]["total_count"], "1", "{found}");
    // The RPC's abci_info asks the app too.
    let info = net.rpc(0, "abci_info", json!({})).expect("abci_info");
    assert!(
        info["response"]["last_block_height"].as_str().is_some(),
        "{info}"
    );

    // Node 0 proposes every fourth height: wait until it has, so PrepareProposal is seen.
    let deadline = Instant::now() + Duration::from_secs(60);
    while !recorder.seen().iter().any(|v| kind(v) == "PrepareProposal") {
        assert!(Instant::now() < deadline, "node 0 never proposed");
        std::thread::sleep(Duration::from_millis(100));
    }
    let top = net.height(0).expect("height");
    net.wait_height(&[0, 1, 2, 3], top + 1, 60)
        .expect("every node goes on: no strict app refused a request");

    let seen = recorder.seen();
    let errors = recorder.errors.lock().expect("lock").clone();
    assert!(
        errors.is_empty(),
        "frames the recorder could not decode: {errors:?}"
    );
    let mut counts = std::collections::BTreeMap::new();
    for v in &seen {
        *counts.entry(kind(v)).or_insert(0usize) += 1;
        let lacking = missing(v);
        assert!(lacking.is_empty(), "{} lacks {lacking:?}: {v:?}", kind(v));
    }
    eprintln!("requests node 0 sent its app: {counts:?}");
    for k in [
        "Info",
        "InitChain",
        "CheckTx",
        "Query",
        "PrepareProposal",
        "ProcessProposal",
        "FinalizeBlock",
        "Commit",
    ] {
        assert!(counts.contains_key(k), "no {k} was sent: {counts:?}");
    }
    for k in [
        "ExtendVote",
        "VerifyVoteExtension",
        "ListSnapshots",
        "OfferSnapshot",
        "LoadSnapshotChunk",
        "ApplySnapshotChunk",
    ] {
        assert!(
            !counts.contains_key(k),
            "{k} was sent, which CometBFT v0.38 does not send with vote extensions off and state sync off"
        );
    }
    // Past the first height, the commit infos name all four validators with their power, in
    // the set's order, as CometBFT does.
    for v in &seen {
        let (height, votes) = match v {
            request::Value::FinalizeBlock(r) => (
                r.height,
                r.decided_last_commit.as_ref().map(|c| {
                    c.votes
                        .iter()
                        .map(|v| v.validator.clone())
                        .collect::<Vec<_>>()
                }),
            ),
            request::Value::ProcessProposal(r) => (
                r.height,
                r.proposed_last_commit
                    .as_ref()
                    .map(|c| c.votes.iter().map(|v| v.validator.clone()).collect()),
            ),
            request::Value::PrepareProposal(r) => (
                r.height,
                r.local_last_commit
                    .as_ref()
                    .map(|c| c.votes.iter().map(|v| v.validator.clone()).collect()),
            ),
            _ => continue,
        };
        let votes = votes.expect("present (checked above)");
        if height == 1 {
            assert!(
                votes.is_empty(),
                "no last commit at the first height: {v:?}"
            );
            continue;
        }
        assert_eq!(votes.len(), 4, "{} at {height}: {v:?}", kind(v));
        for val in votes {
            let val = val.expect("each vote names its validator");
            assert_eq!((val.address.len(), val.power), (20, 10), "{v:?}");
        }
    }
    drop(apps);
}
