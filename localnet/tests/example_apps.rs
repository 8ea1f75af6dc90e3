//! The example ABCI applications in `localnet/examples/` (`kvstore-py/kvstore.py`, Python's
//! standard library; `counter-js/counter.mjs`, Node.js built-ins), each started as a real
//! process and driven through the engine's own socket client, `SocketApp`, as `keystone start
//! --proxy-app` drives it: Info, InitChain, CheckTx, the proposal and vote-extension calls,
//! FinalizeBlock (a state change and a validator update), Commit, Query and the snapshot calls;
//! then a crash between FinalizeBlock and Commit, a restart on the same home, and the
//! handshake's replay of the missing block. The app hashes are checked against each app's
//! documented rule, computed here independently, and against a second fresh process.
//!
//! These need `python3` and `node` (>= 18) on the PATH; without them the tests fail and say so
//! (CI installs both). Every socket call has a deadline, so a broken app fails instead of
//! hanging the suite.

use base64::Engine as _;
use keystone_consensus_driver::abci::{SocketApp, SocketAppConfig};
use keystone_proto::abci::{self, request, response, Request, Response};
use keystone_proto::crypto::{public_key::Sum, PublicKey};
use keystone_proto::prost::bytes::Bytes;
use keystone_proto::socket::{self, Decoder};
use keystone_proto::Application;
use std::io::Write;
use std::path::Path;
use std::time::Duration;
use tendermint::crypto::default::Sha256;
use tendermint::merkle::simple_hash_from_byte_vectors;

/// How long one call may take to answer.
const CALL_LIMIT: Duration = Duration::from_secs(20);

mod common;
use common::apps::{count_tx, val_tx, AppProcess, Example, Transport};
use common::requests;

fn connect(address: &str) -> SocketApp {
    SocketApp::connect(
        address,
        SocketAppConfig {
            connect_timeout: Duration::from_secs(10),
            call_timeout: Some(CALL_LIMIT),
            ..Default::default()
        },
    )
    .unwrap_or_else(|e| panic!("connect to {address}: {e}"))
}

fn key(b: u8) -> [u8; 32] {
    [b; 32]
}

fn txs(list: &[Vec<u8>]) -> Vec<Bytes> {
    list.iter().map(|t| Bytes::copy_from_slice(t)).collect()
}

/// The genesis validators: two keys of power 10.
const GENESIS: [([u8; 32], i64); 2] = [([1; 32], 10), ([2; 32], 10)];

/// kvstore-py's app hash: CometBFT's simple Merkle root over one leaf per key (in key order,
/// `"k" ‖ uvarint(len key) ‖ key ‖ value`) then one per validator (in key order, `"v" ‖ key ‖
/// power as 8 bytes big-endian`).
fn kvstore_hash(kv: &[(&str, &str)], validators: &[([u8; 32], i64)]) -> [u8; 32] {
    let mut kv = kv.to_vec();
    kv.sort();
    let mut validators = validators.to_vec();
    validators.sort();
    let mut leaves = Vec::new();
    for (k, v) in kv {
        let mut leaf = vec![b'k'];
        keystone_proto::prost::encoding::encode_varint(k.len() as u64, &mut leaf);
        leaf.extend_from_slice(k.as_bytes());
        leaf.extend_from_slice(v.as_bytes());
        leaves.push(leaf);
    }
    for (pk, power) in validators {
        let mut leaf = vec![b'v'];
        leaf.extend_from_slice(&pk);
        leaf.extend_from_slice(&power.to_be_bytes());
        leaves.push(leaf);
    }
    simple_hash_from_byte_vectors::<Sha256>(&leaves)
}

fn sha256(data: &[u8]) -> [u8; 32] {
    <Sha256 as tendermint::crypto::Sha256>::digest(data)
}

/// counter-js's app hash: `SHA-256(previous ‖ height as 8 bytes BE ‖ (len as 4 bytes BE ‖ tx)…)`.
fn counter_hash(prev: &[u8], height: u64, block: &[Vec<u8>]) -> [u8; 32] {
    let mut data = prev.to_vec();
    data.extend_from_slice(&height.to_be_bytes());
    for tx in block {
        data.extend_from_slice(&(tx.len() as u32).to_be_bytes());
        data.extend_from_slice(tx);
    }
    sha256(&data)
}

/// One block of the scenario and what it must give.
struct BlockPlan {
    txs: Vec<Vec<u8>>,
    /// Each tx's ExecTxResult code.
    codes: Vec<u32>,
    /// The validator updates FinalizeBlock returns.
    updates: Vec<([u8; 32], i64)>,
    /// The app hash after it, by the app's documented rule.
    app_hash: [u8; 32],
}

/// What an example is driven through.
struct Plan {
    app_state: &'static [u8],
    /// The app hash after InitChain.
    genesis_hash: [u8; 32],
    /// Two well-formed txs (for CheckTx and the proposal calls).
    good: [Vec<u8>; 2],
    /// Txs CheckTx refuses as malformed (code 1, with a log).
    malformed: Vec<Vec<u8>>,
    /// The first event of block 1's first tx: (type, attribute key, attribute value).
    first_event: (&'static str, &'static str, &'static str),
    /// CheckTx answers once block 1 is committed: (tx, code).
    after_block_1: Vec<(Vec<u8>, u32)>,
    blocks: [BlockPlan; 3],
    /// Queries that find something once block 2 is committed: (path, data, value).
    found: Vec<(&'static str, &'static [u8], &'static str)>,
}

fn plan(example: Example) -> Plan {
    let k9 = key(9);
    let k8 = key(8);
    match example {
        Example::KvstorePy => {
            // The genesis state seeds keys: strings as they are, other JSON as compact JSON.
            let g = [("seed", "planted"), ("n", "7")];
            let v1 = [GENESIS[0], GENESIS[1], (k9, 5)];
            let b1 = [g[0], g[1], ("name", "keystone")];
            let b2 = [g[0], g[1], ("name", "comet"), ("colour", "blue")];
            let b3 = [
                g[0],
                g[1],
                ("name", "comet"),
                ("colour", "blue"),
                ("x", "y"),
            ];
            Plan {
                app_state: br#"{"seed": "planted", "n": 7}"#,
                genesis_hash: kvstore_hash(&g, &GENESIS),
                good: [b"a=b".to_vec(), val_tx(k9, 5)],
                malformed: vec![
                    b"no equals sign".to_vec(),
                    b"=value".to_vec(),
                    b"val:!1".to_vec(),
                    b"val:AAAA!1".to_vec(),
                    format!(
                        "val:{}!-1",
                        base64::engine::general_purpose::STANDARD.encode(k9)
                    )
                    .into_bytes(),
                    vec![0xff, 0xfe, b'='],
                ],
                first_event: ("app", "key", "name"),
                after_block_1: vec![(b"c=d".to_vec(), 0)],
                blocks: [
                    BlockPlan {
                        txs: vec![b"name=keystone".to_vec(), val_tx(k9, 5)],
                        codes: vec![0, 0],
                        updates: vec![(k9, 5)],
                        app_hash: kvstore_hash(&b1, &v1),
                    },
                    BlockPlan {
                        txs: vec![
                            b"name=comet".to_vec(),
                            b"colour=blue".to_vec(),
                            val_tx(k9, 0),
                            // Removing a key that is no validator fails in the block.
                            val_tx(k8, 0),
                            // A proposer may include a malformed tx: it fails, alone.
                            b"broken".to_vec(),
                        ],
                        codes: vec![0, 0, 0, 3, 1],
                        updates: vec![(k9, 0)],
                        app_hash: kvstore_hash(&b2, &GENESIS),
                    },
                    BlockPlan {
                        txs: vec![b"x=y".to_vec()],
                        codes: vec![0],
                        updates: vec![],
                        app_hash: kvstore_hash(&b3, &GENESIS),
                    },
                ],
                found: vec![
                    ("/store", b"name", "comet"),
                    ("", b"seed", "planted"),
                    ("/store", b"n", "7"),
                ],
            }
        }
        Example::CounterJs => {
            let app_state: &'static [u8] = b"{}";
            let genesis_hash = sha256(app_state);
            let t1 = vec![count_tx(0), val_tx(k9, 5)];
            let t2 = vec![
                count_tx(1),
                // Out of order: the count is 2 here.
                count_tx(5),
                val_tx(k9, 0),
                val_tx(k8, 0),
                b"broken".to_vec(),
            ];
            let t3 = vec![count_tx(2)];
            let h1 = counter_hash(&genesis_hash, 1, &t1);
            let h2 = counter_hash(&h1, 2, &t2);
            let h3 = counter_hash(&h2, 3, &t3);
            Plan {
                app_state,
                genesis_hash,
                good: [count_tx(0), count_tx(1)],
                malformed: vec![
                    b"abc".to_vec(),
                    b"val:zzz!1".to_vec(),
                    b"val:AAAA!1".to_vec(),
                    format!(
                        "val:{}!x",
                        base64::engine::general_purpose::STANDARD.encode(k9)
                    )
                    .into_bytes(),
                    vec![0; 9],
                ],
                first_event: ("counter", "value", "0"),
                // The classic counter: a value already used is refused, a later one admitted.
                after_block_1: vec![(count_tx(0), 2), (count_tx(1), 0), (count_tx(7), 0)],
                blocks: [
                    BlockPlan {
                        txs: t1,
                        codes: vec![0, 0],
                        updates: vec![(k9, 5)],
                        app_hash: h1,
                    },
                    BlockPlan {
                        txs: t2,
                        codes: vec![0, 2, 0, 3, 1],
                        updates: vec![(k9, 0)],
                        app_hash: h2,
                    },
                    BlockPlan {
                        txs: t3,
                        codes: vec![0],
                        updates: vec![],
                        app_hash: h3,
                    },
                ],
                found: vec![("/store", b"count", "2"), ("/count", b"", "2")],
            }
        }
    }
}

fn init_chain(app: &mut SocketApp, plan: &Plan) {
    let res = app
        .init_chain(abci::RequestInitChain {
            time: requests::time(0),
            chain_id: "example-apps".into(),
            consensus_params: requests::consensus_params(),
            validators: GENESIS
                .iter()
                .map(|(pk, power)| abci::ValidatorUpdate {
                    pub_key: Some(PublicKey {
                        sum: Some(Sum::Ed25519(pk.to_vec())),
                    }),
                    power: *power,
                })
                .collect(),
            app_state_bytes: Bytes::from_static(plan.app_state),
            initial_height: 1,
        })
        .expect("InitChain");
    assert!(
        res.validators.is_empty(),
        "the genesis validators stand: {:?}",
        res.validators
    );
    assert_eq!(
        res.app_hash.as_ref(),
        plan.genesis_hash,
        "InitChain's app hash"
    );
}

/// FinalizeBlock for `height` with the plan's block: checks every result and update, and
/// returns the app hash (already checked against the documented rule).
fn finalize(app: &mut SocketApp, height: i64, block: &BlockPlan) -> [u8; 32] {
    let res = app
        .finalize_block(requests::finalize(height, txs(&block.txs)))
        .unwrap_or_else(|e| panic!("FinalizeBlock {height}: {e}"));
    let codes: Vec<u32> = res.tx_results.iter().map(|r| r.code).collect();
    assert_eq!(codes, block.codes, "tx codes at height {height}");
    for (i, r) in res.tx_results.iter().enumerate() {
        if r.code == 0 {
            assert!(
                !r.events.is_empty()
                    && r.events
                        .iter()
                        .all(|e| e.attributes.iter().all(|a| a.index)),
                "tx {i} at {height}: indexed events expected, got {:?}",
                r.events
            );
        } else {
            assert!(!r.log.is_empty(), "tx {i} at {height} failed without a log");
        }
    }
    let updates: Vec<([u8; 32], i64)> = res
        .validator_updates
        .iter()
        .map(|u| match u.pub_key.as_ref().and_then(|k| k.sum.as_ref()) {
            Some(Sum::Ed25519(pk)) => (
                pk.as_slice().try_into().expect("a 32-byte ed25519 key"),
                u.power,
            ),
            other => panic!("an update without an ed25519 key: {other:?}"),
        })
        .collect();
    assert_eq!(updates, block.updates, "validator updates at {height}");
    let hash: [u8; 32] = res
        .app_hash
        .as_ref()
        .try_into()
        .expect("a 32-byte app hash");
    assert_eq!(
        hash, block.app_hash,
        "app hash at {height} (the documented rule)"
    );
    hash
}

fn info(app: &SocketApp) -> abci::ResponseInfo {
    app.info(requests::info()).expect("Info")
}

fn query(app: &SocketApp, path: &str, data: &[u8], height: i64) -> abci::ResponseQuery {
    app.query(abci::RequestQuery {
        data: Bytes::copy_from_slice(data),
        path: path.into(),
        height,
        prove: false,
    })
    .expect("Query")
}

fn check(app: &mut SocketApp, tx: &[u8]) -> abci::ResponseCheckTx {
    app.check_tx(abci::RequestCheckTx {
        tx: Bytes::copy_from_slice(tx),
        r#type: 0,
    })
    .expect("CheckTx")
}

/// Runs InitChain and every block, with a Commit after each, on a fresh app: the app hashes.
fn run_fresh(example: Example, home: &Path, listen: &str, plan: &Plan) -> Vec<[u8; 32]> {
    let process = AppProcess::start(example, home, listen);
    let mut app = connect(&process.address);
    init_chain(&mut app, plan);
    let mut hashes = vec![plan.genesis_hash];
    for (i, block) in plan.blocks.iter().enumerate() {
        hashes.push(finalize(&mut app, i as i64 + 1, block));
        app.commit().expect("Commit");
    }
    // A FinalizeBlock for a height that does not follow is an error, not a silent fork.
    let err = app
        .finalize_block(requests::finalize(9, vec![]))
        .expect_err("a height gap is refused");
    assert!(
        err.0.contains("exception") && err.0.contains("expected 4"),
        "{err}"
    );
    hashes
}

/// The whole scenario for one example over one transport.
fn exercise(example: Example, transport: Transport) {
    let dir = tempfile::tempdir().expect("tempdir");
    let listen = |name: &str| match transport {
        Transport::Tcp => "tcp://127.0.0.1:0".to_owned(),
        Transport::Unix => format!("unix://{}", dir.path().join(name).display()),
    };
    let home = dir.path().join("a");
    let plan = plan(example);

    let process = AppProcess::start(example, &home, &listen("a.sock"));
    match transport {
        Transport::Tcp => assert!(process.address.starts_with("tcp://127.0.0.1:")),
        Transport::Unix => assert_eq!(process.address, listen("a.sock")),
    }
    let mut app = connect(&process.address);

    // Handshake on an empty home.
    assert_eq!(app.echo("hello").expect("Echo").message, "hello");
    let i = info(&app);
    assert_eq!(
        (
            i.last_block_height,
            i.last_block_app_hash.len(),
            i.version.as_str(),
            i.app_version
        ),
        (0, 0, "1.0.0", 1),
        "a fresh app: {i:?}"
    );
    init_chain(&mut app, &plan);
    let i = info(&app);
    assert_eq!(
        (i.last_block_height, i.last_block_app_hash.as_ref()),
        (0, &plan.genesis_hash[..]),
        "Info after InitChain: the engine takes this as the genesis app hash"
    );

    // CheckTx.
    for tx in &plan.good {
        let r = check(&mut app, tx);
        assert_eq!(r.code, 0, "{:?}: {}", String::from_utf8_lossy(tx), r.log);
    }
    for tx in &plan.malformed {
        let r = check(&mut app, tx);
        assert_eq!(r.code, 1, "{:?} is malformed", String::from_utf8_lossy(tx));
        assert!(!r.log.is_empty(), "a refusal says why");
    }

    // The proposal calls: malformed txs dropped, max_tx_bytes respected.
    let [good_a, good_b] = &plan.good;
    let mempool = txs(&[good_a.clone(), plan.malformed[0].clone(), good_b.clone()]);
    let prepared = app
        .prepare_proposal(requests::prepare(1, 1 << 20, mempool.clone()))
        .expect("PrepareProposal");
    assert_eq!(prepared.txs, txs(&[good_a.clone(), good_b.clone()]));
    let prepared = app
        .prepare_proposal(requests::prepare(1, good_a.len() as i64, mempool.clone()))
        .expect("PrepareProposal");
    assert_eq!(
        prepared.txs,
        txs(std::slice::from_ref(good_a)),
        "max_tx_bytes"
    );
    let mut status = |txs| {
        app.process_proposal(requests::process(1, txs))
            .expect("ProcessProposal")
            .status
    };
    use abci::response_process_proposal::ProposalStatus;
    assert_eq!(
        status(txs(&plan.blocks[0].txs)),
        ProposalStatus::Accept as i32
    );
    assert_eq!(status(mempool), ProposalStatus::Reject as i32);

    // Vote extensions and snapshots: none.
    assert!(app
        .extend_vote(requests::extend_vote(1))
        .expect("ExtendVote")
        .vote_extension
        .is_empty());
    assert_eq!(
        app.verify_vote_extension(requests::verify_vote_extension(1))
            .expect("VerifyVoteExtension")
            .status,
        abci::response_verify_vote_extension::VerifyStatus::Accept as i32
    );
    assert!(app
        .list_snapshots()
        .expect("ListSnapshots")
        .snapshots
        .is_empty());
    assert_eq!(
        app.offer_snapshot(requests::offer_snapshot(1))
            .expect("OfferSnapshot")
            .result,
        abci::response_offer_snapshot::Result::Reject as i32
    );
    assert!(app
        .load_snapshot_chunk(requests::load_snapshot_chunk(1))
        .expect("LoadSnapshotChunk")
        .chunk
        .is_empty());
    assert_eq!(
        app.apply_snapshot_chunk(requests::apply_snapshot_chunk())
            .expect("ApplySnapshotChunk")
            .result,
        abci::response_apply_snapshot_chunk::Result::Abort as i32
    );

    // Block 1: a state change and a validator joining.
    let res = app
        .finalize_block(requests::finalize(1, txs(&plan.blocks[0].txs)))
        .expect("FinalizeBlock 1");
    let (kind, attr, value) = plan.first_event;
    let e = &res.tx_results[0].events[0];
    assert_eq!(
        (e.r#type.as_str(), e.attributes[0].key.as_str()),
        (kind, attr)
    );
    assert_eq!(e.attributes[0].value, value);
    // The same request again (no Commit in between) gives the same answer: Commit, not
    // FinalizeBlock, moves the app on.
    let mut hashes = vec![plan.genesis_hash, finalize(&mut app, 1, &plan.blocks[0])];
    assert_eq!(res.app_hash.as_ref(), hashes[1]);
    app.commit().expect("Commit 1");
    for (tx, code) in &plan.after_block_1 {
        let r = check(&mut app, tx);
        assert_eq!(r.code, *code, "CheckTx after block 1: {}", r.log);
    }

    // Block 2: a validator leaving, a failing removal, a malformed tx.
    hashes.push(finalize(&mut app, 2, &plan.blocks[1]));
    app.commit().expect("Commit 2");
    for (path, data, value) in &plan.found {
        let q = query(&app, path, data, 0);
        assert_eq!(
            (q.code, q.value.as_ref(), q.height),
            (0, value.as_bytes(), 2),
            "Query {path} {:?}: {}",
            String::from_utf8_lossy(data),
            q.log
        );
    }
    let missing = query(&app, "/store", b"nope", 0);
    assert_ne!(missing.code, 0, "a missing key");
    assert!(missing.value.is_empty() && missing.log.contains("not found"));
    assert_ne!(
        query(&app, "/store", plan.found[0].1, 1).code,
        0,
        "old heights are not kept"
    );
    assert_ne!(query(&app, "/nowhere", b"name", 0).code, 0, "unknown path");
    let i = info(&app);
    assert_eq!(
        (i.last_block_height, i.last_block_app_hash.as_ref()),
        (2, &hashes[2][..])
    );

    // Block 3 is finalized, then the app dies before Commit.
    let block_3 = finalize(&mut app, 3, &plan.blocks[2]);
    drop(process);
    assert!(app.info(requests::info()).is_err(), "the app is gone");
    drop(app);

    // Restarted on the same home: it reports height 2, so the handshake replays block 3 only.
    let process = AppProcess::start(example, &home, &listen("a.sock"));
    let mut app = connect(&process.address);
    let i = info(&app);
    assert_eq!(
        (i.last_block_height, i.last_block_app_hash.as_ref()),
        (2, &hashes[2][..]),
        "Info after a crash before Commit 3"
    );
    let q = query(&app, plan.found[0].0, plan.found[0].1, 0);
    assert_eq!(
        q.value.as_ref(),
        plan.found[0].2.as_bytes(),
        "state survives"
    );
    hashes.push(finalize(&mut app, 3, &plan.blocks[2]));
    assert_eq!(hashes[3], block_3, "the replay gives the same app hash");
    app.commit().expect("Commit 3");
    drop(app);
    drop(process);

    // And once more after a clean Commit.
    let process = AppProcess::start(example, &home, &listen("a.sock"));
    let app = connect(&process.address);
    let i = info(&app);
    assert_eq!(
        (i.last_block_height, i.last_block_app_hash.as_ref()),
        (3, &hashes[3][..]),
        "Info after a restart"
    );
    drop(app);
    drop(process);

    // A second, fresh process given the same blocks reaches the same app hashes.
    let fresh = run_fresh(example, &dir.path().join("b"), &listen("b.sock"), &plan);
    assert_eq!(fresh, hashes, "two processes, same blocks, same app hashes");
}

/// Below `SocketApp`, on a raw connection: an unexpected message is answered with
/// `Response.exception` and the connection goes on; requests sent without a Flush are answered
/// anyway; several requests and one Flush are answered in order.
fn protocol_edges(example: Example) {
    let dir = tempfile::tempdir().expect("tempdir");
    let process = AppProcess::start(example, &dir.path().join("a"), "tcp://127.0.0.1:0");
    let mut s = std::net::TcpStream::connect(process.address.trim_start_matches("tcp://"))
        .expect("connect");
    s.set_read_timeout(Some(CALL_LIMIT)).expect("timeout");
    let mut decoder = Decoder::<Response>::new();
    let mut read = |s: &mut std::net::TcpStream| {
        socket::read_message(s, &mut decoder)
            .expect("a well-framed response")
            .and_then(|r| r.value)
            .expect("a response")
    };
    let req = |v: request::Value| Request { value: Some(v) };

    let mut wire = Vec::new();
    // An empty Request (no oneof field at all), then field 4, reserved (SetOption).
    wire.push(0x00);
    wire.extend_from_slice(&[0x02, 0x22, 0x00]);
    socket::encode(
        &req(request::Value::Echo(abci::RequestEcho {
            message: "still here".into(),
        })),
        &mut wire,
    );
    socket::encode(
        &req(request::Value::Flush(abci::RequestFlush {})),
        &mut wire,
    );
    s.write_all(&wire).expect("write");
    for _ in 0..2 {
        match read(&mut s) {
            response::Value::Exception(e) => assert!(!e.error.is_empty()),
            other => panic!("expected an exception, got {other:?}"),
        }
    }
    assert_eq!(
        read(&mut s),
        response::Value::Echo(abci::ResponseEcho {
            message: "still here".into()
        })
    );
    assert_eq!(read(&mut s), response::Value::Flush(abci::ResponseFlush {}));

    // No Flush: answered all the same.
    let mut wire = Vec::new();
    for tx in [&b"bad"[..], &count_or_set(example)] {
        socket::encode(
            &req(request::Value::CheckTx(abci::RequestCheckTx {
                tx: Bytes::copy_from_slice(tx),
                r#type: 0,
            })),
            &mut wire,
        );
    }
    socket::encode(&req(request::Value::Info(requests::info())), &mut wire);
    s.write_all(&wire).expect("write");
    let codes: Vec<u32> = (0..2)
        .map(|_| match read(&mut s) {
            response::Value::CheckTx(r) => r.code,
            other => panic!("expected CheckTx, got {other:?}"),
        })
        .collect();
    assert_eq!(codes, [1, 0]);
    assert!(matches!(read(&mut s), response::Value::Info(_)));

    // kvstore-py runs with --strict: an Info without the versions CometBFT sends is refused.
    if example == Example::KvstorePy {
        let mut wire = Vec::new();
        socket::encode(&req(request::Value::Info(Default::default())), &mut wire);
        s.write_all(&wire).expect("write");
        match read(&mut s) {
            response::Value::Exception(e) => assert!(e.error.contains("version"), "{}", e.error),
            other => panic!("expected an exception for a bare Info, got {other:?}"),
        }
    }
}

/// A well-formed tx for `example`.
fn count_or_set(example: Example) -> Vec<u8> {
    match example {
        Example::KvstorePy => b"k=v".to_vec(),
        Example::CounterJs => count_tx(0),
    }
}

#[test]
fn kvstore_py_over_tcp() {
    exercise(Example::KvstorePy, Transport::Tcp);
}

#[test]
fn kvstore_py_over_a_unix_socket() {
    exercise(Example::KvstorePy, Transport::Unix);
}

#[test]
fn counter_js_over_tcp() {
    exercise(Example::CounterJs, Transport::Tcp);
}

#[test]
fn counter_js_over_a_unix_socket() {
    exercise(Example::CounterJs, Transport::Unix);
}

#[test]
fn kvstore_py_answers_exceptions_and_requests_without_flush() {
    protocol_edges(Example::KvstorePy);
}

#[test]
fn counter_js_answers_exceptions_and_requests_without_flush() {
    protocol_edges(Example::CounterJs);
}

/// kvstore-py with `--snapshot-interval 2`, through the engine's socket client: it snapshots
/// as it commits and keeps the two newest; a second, fresh process restores the newest chunk
/// by chunk (a corrupted chunk is sent back for refetching with its sender named), reports the
/// snapshot's height and app hash, and the next block gives both processes the same app hash.
#[test]
fn the_python_kvstore_snapshots_and_a_fresh_one_restores_from_them() {
    use abci::response_apply_snapshot_chunk::Result as Apply;
    use abci::response_offer_snapshot::Result as Offer;
    let dir = tempfile::tempdir().expect("tempdir");
    let a_proc = AppProcess::start_with(
        Example::KvstorePy,
        &dir.path().join("a"),
        "tcp://127.0.0.1:0",
        &["--snapshot-interval", "2"],
    );
    let mut a = connect(&a_proc.address);
    let plan = plan(Example::KvstorePy);
    init_chain(&mut a, &plan);
    // Enough state for several 64 KiB chunks.
    let block_txs = |h: i64| -> Vec<Bytes> {
        (0..600)
            .map(|i| Bytes::from(format!("key{h}-{i:04}={}", "v".repeat(40))))
            .collect()
    };
    let mut hashes = Vec::new();
    for h in 1..=4 {
        let res = a
            .finalize_block(requests::finalize(h, block_txs(h)))
            .expect("FinalizeBlock");
        a.commit().expect("Commit");
        hashes.push(res.app_hash);
    }
    let snaps = a.list_snapshots().expect("ListSnapshots").snapshots;
    let heights: Vec<u64> = snaps.iter().map(|s| s.height).collect();
    assert_eq!(heights, vec![4, 2], "the two newest are kept");
    let newest = snaps[0].clone();
    assert!(newest.chunks > 1, "{} chunks", newest.chunks);

    let b_proc = AppProcess::start(
        Example::KvstorePy,
        &dir.path().join("b"),
        "tcp://127.0.0.1:0",
    );
    let mut b = connect(&b_proc.address);
    let offer = b
        .offer_snapshot(abci::RequestOfferSnapshot {
            snapshot: Some(newest.clone()),
            app_hash: hashes[3].clone(),
        })
        .expect("OfferSnapshot");
    assert_eq!(offer.result, Offer::Accept as i32);
    let chunk = |i: u32| {
        a.load_snapshot_chunk(abci::RequestLoadSnapshotChunk {
            height: 4,
            format: newest.format,
            chunk: i,
        })
        .expect("LoadSnapshotChunk")
        .chunk
    };
    let mut bad = chunk(0).to_vec();
    bad[10] ^= 1;
    let r = b
        .apply_snapshot_chunk(abci::RequestApplySnapshotChunk {
            index: 0,
            chunk: bad.into(),
            sender: "liar".into(),
        })
        .expect("ApplySnapshotChunk");
    assert_eq!(r.result, Apply::Retry as i32);
    assert_eq!(
        (r.refetch_chunks, r.reject_senders),
        (vec![0], vec!["liar".to_string()])
    );
    for i in 0..newest.chunks {
        let r = b
            .apply_snapshot_chunk(abci::RequestApplySnapshotChunk {
                index: i,
                chunk: chunk(i),
                sender: "honest".into(),
            })
            .expect("ApplySnapshotChunk");
        assert_eq!(r.result, Apply::Accept as i32, "chunk {i}");
    }
    let info = b.info(requests::info()).expect("Info");
    assert_eq!(
        (info.last_block_height, info.last_block_app_hash),
        (4, hashes[3].clone())
    );
    let next = |app: &mut SocketApp| {
        let res = app
            .finalize_block(requests::finalize(5, block_txs(5)))
            .expect("FinalizeBlock 5");
        app.commit().expect("Commit 5");
        res.app_hash
    };
    assert_eq!(next(&mut b), next(&mut a));
}
