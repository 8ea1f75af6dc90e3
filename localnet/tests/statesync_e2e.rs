//! State sync's serving side on a real node: a validator taking snapshots every 5 heights
//! answers a peer (the real p2p handshake, then CometBFT's `tendermint.statesync` messages on
//! channels 0x60 and 0x61) with its snapshots and their chunks, and what it sends restores,
//! into a fresh store, the state whose app hash block H + 1's header carries.

mod common;

use common::peer::TestPeer;
use keystone_app::snapshots::{Applied, Restoring};
use keystone_consensus_driver::statesync::{self, Wire};
use keystone_localnet::{free_base, keystone_bin, Localnet, FAST_TIMEOUTS};
use keystone_p2p::Incoming;
use serde_json::json;
use std::sync::Arc;
use std::time::{Duration, Instant};

const CHAIN: &str = "e2e-statesync";

#[test]
fn a_node_serves_its_snapshots_to_a_peer_and_they_restore_to_the_signed_app_hash() {
    let Some(bin) = keystone_bin() else {
        eprintln!("keystone binary not built; skipping");
        return;
    };
    let base = free_base(10).expect("free ports");
    let dir = tempfile::tempdir().expect("tempdir");
    let mut net = Localnet::init(&bin, dir.path(), 1, CHAIN, base, &FAST_TIMEOUTS).expect("init");
    let app_toml = net.nodes[0].home.join("config/app.toml");
    let text = std::fs::read_to_string(&app_toml).expect("app.toml");
    std::fs::write(
        &app_toml,
        text.replace("snapshot-interval = 0", "snapshot-interval = 5"),
    )
    .expect("write");
    net.start(0).expect("start");
    net.wait_height(&[0], 7, 60).expect("blocks");

    // A peer.
    let peer = TestPeer::new(61, CHAIN, "syncer")
        .dial(net.nodes[0].p2p)
        .expect("handshake");
    let (mut reader, mut writer) = (peer.reader, peer.writer);
    let mut next = |want: &dyn Fn(&Wire) -> bool| -> Wire {
        let t = Instant::now();
        loop {
            assert!(t.elapsed() < Duration::from_secs(20), "no answer");
            match reader.read().expect("the node keeps the connection") {
                Incoming::Msg { channel, bytes }
                    if channel == statesync::SNAPSHOT_CHANNEL
                        || channel == statesync::CHUNK_CHANNEL =>
                {
                    let w = statesync::decode(channel, &bytes).expect("well-formed");
                    if want(&w) {
                        return w;
                    }
                }
                _ => {}
            }
        }
    };
    let (ch, req) = statesync::encode(&Wire::SnapshotsRequest);
    writer.send(ch, &req).expect("ask");
    let snap = match next(&|w| matches!(w, Wire::Snapshot(_))) {
        Wire::Snapshot(s) => s,
        _ => unreachable!("filtered"),
    };
    assert_eq!(
        snap.height % 5,
        0,
        "snapshots every 5 heights: {}",
        snap.height
    );
    assert_eq!(snap.format, 1);

    // The app hash of height H is in block H + 1's header, which the validator signed.
    let header = net
        .rpc(
            0,
            "commit",
            json!({"height": (snap.height + 1).to_string()}),
        )
        .expect("commit");
    let app_hash = hex::decode(
        header["signed_header"]["header"]["app_hash"]
            .as_str()
            .expect("app hash"),
    )
    .expect("hex");

    let store_dir = tempfile::tempdir().expect("tempdir");
    let store =
        Arc::new(keystone_store::Store::open(store_dir.path().join("state.redb")).expect("store"));
    let mut restoring =
        Restoring::begin(&store, snap.height, snap.chunks, &snap.metadata, &app_hash)
            .expect("begin");
    for index in 0..snap.chunks {
        let (ch, req) = statesync::encode(&Wire::ChunkRequest {
            height: snap.height,
            format: snap.format,
            index,
        });
        writer.send(ch, &req).expect("ask for a chunk");
        let chunk = match next(&|w| matches!(w, Wire::Chunk { index: i, .. } if *i == index)) {
            Wire::Chunk { chunk, .. } => chunk.expect("the node has it"),
            _ => unreachable!("filtered"),
        };
        let applied = restoring.apply(index, &chunk).expect("apply");
        let last = index + 1 == snap.chunks;
        assert_eq!(applied, if last { Applied::Done } else { Applied::More });
    }
    assert_eq!(restoring.finish().expect("finish"), Applied::Done);
    assert_eq!(store.latest_version().expect("version"), Some(snap.height));
    assert_eq!(
        store.root_hash(snap.height).expect("root").to_vec(),
        app_hash
    );
    // A chunk it does not have comes back missing.
    let (ch, req) = statesync::encode(&Wire::ChunkRequest {
        height: snap.height,
        format: snap.format,
        index: snap.chunks + 7,
    });
    writer.send(ch, &req).expect("ask");
    assert!(matches!(
        next(&|w| matches!(w, Wire::Chunk { .. })),
        Wire::Chunk { chunk: None, .. }
    ));
}

/// Snapshots every `every` heights, the last 30 kept: at ten blocks a second they must
/// outlive a sync's discovery and fetching (on a real chain, hours).
fn set_snapshot_interval(net: &Localnet, i: usize, every: u64) {
    let app_toml = net.nodes[i].home.join("config/app.toml");
    let text = std::fs::read_to_string(&app_toml).expect("app.toml");
    std::fs::write(
        &app_toml,
        text.replace(
            "snapshot-interval = 0",
            &format!("snapshot-interval = {every}"),
        )
        .replace("snapshot-keep-recent = 2", "snapshot-keep-recent = 30"),
    )
    .expect("write");
}

/// `n` more funded accounts in the genesis every node shares (state for several chunks).
fn fund_accounts(net: &Localnet, n: u32) {
    net.edit_genesis(|g| {
        let app = &mut g["app_state"];
        let first = app["auth"]["accounts"].as_array().map_or(0, Vec::len) as u64;
        for i in 0..n {
            let mut bytes = [0xa5u8; 20];
            bytes[..4].copy_from_slice(&i.to_be_bytes());
            let address = keystone_modules::Address(bytes).to_string();
            if let Some(a) = app["auth"]["accounts"].as_array_mut() {
                a.push(json!({"account_number": (first + u64::from(i)).to_string(),
                              "address": address, "pub_key": null, "sequence": "0"}));
            }
            if let Some(b) = app["bank"]["balances"].as_array_mut() {
                b.push(json!({"address": address,
                              "coins": [{"amount": "1000", "denom": "stake"}]}));
            }
        }
    })
    .expect("genesis");
}

/// A peer that dials `target` and, asked for snapshots, relays what `source` offers, but
/// answers every chunk request with garbage. Returns how many chunks it was asked for, and
/// whether `target` then refused it when it came back.
fn corrupting_peer(
    chain: &'static str,
    source: u16,
    target: u16,
) -> std::thread::JoinHandle<(u32, bool)> {
    std::thread::spawn(move || {
        let liar = TestPeer::new(99, chain, "liar");
        let dial = |port: u16| {
            let t = Instant::now();
            loop {
                if let Ok(p) = liar.dial(port) {
                    return p;
                }
                assert!(
                    t.elapsed() < Duration::from_secs(60),
                    "cannot reach 127.0.0.1:{port}"
                );
                std::thread::sleep(Duration::from_millis(50));
            }
        };
        // What the honest node offers, read on a thread of its own.
        let upstream = dial(source);
        let (mut up_w, mut up_r) = (upstream.writer, upstream.reader);
        let (tx, offered) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            while let Ok(m) = up_r.read() {
                if let Incoming::Msg { channel, bytes } = m {
                    if channel == statesync::SNAPSHOT_CHANNEL && tx.send(bytes).is_err() {
                        return;
                    }
                }
            }
        });
        let victim = dial(target);
        let (mut r, mut w) = (victim.reader, victim.writer);
        let mut asked = 0u32;
        while let Ok(m) = r.read() {
            let Incoming::Msg { channel, bytes } = m else {
                continue;
            };
            match statesync::decode(channel, &bytes) {
                Ok(Wire::SnapshotsRequest) => {
                    let (ch, req) = statesync::encode(&Wire::SnapshotsRequest);
                    let _ = up_w.send(ch, &req);
                    let until = Instant::now() + Duration::from_millis(500);
                    while let Some(left) = until.checked_duration_since(Instant::now()) {
                        if let Ok(b) = offered.recv_timeout(left) {
                            let _ = w.send(statesync::SNAPSHOT_CHANNEL, &b);
                        }
                    }
                }
                Ok(Wire::ChunkRequest {
                    height,
                    format,
                    index,
                }) => {
                    asked += 1;
                    let (ch, b) = statesync::encode(&Wire::Chunk {
                        height,
                        format,
                        index,
                        chunk: Some(vec![0x5a; 4096]),
                    });
                    let _ = w.send(ch, &b);
                }
                _ => {}
            }
        }
        // Dropped. Banned too: a new connection is closed at once.
        let again = liar.dial(target).ok();
        let refused = match again {
            None => true,
            Some(p) => {
                let mut r = p.reader;
                let t = Instant::now();
                let mut closed = false;
                while t.elapsed() < Duration::from_secs(10) {
                    if r.read().is_err() {
                        closed = true;
                        break;
                    }
                }
                closed
            }
        };
        (asked, refused)
    })
}

/// State sync from a 4-validator localnet whose state (20,000 funded accounts) makes several
/// chunks:
/// - a node given a wrong trust hash stops with an error that says so;
/// - a node killed (a crash point) after two chunks went in restarts and completes;
/// - a node one of whose peers serves corrupted chunks bans that peer and completes from the
///   honest ones;
/// - each verifies the snapshot's app hash with a light client (two RPC servers), restores
///   it, starts its block store at the snapshot's height and follows the chain from there:
///   its app hashes are the validators' at every height it holds, it proves state, and
///   heights below its base answer "not available".
#[test]
fn fresh_nodes_state_sync_through_a_crash_and_a_lying_peer_and_follow_the_chain() {
    let Some(bin) = keystone_bin() else {
        eprintln!("keystone binary not built; skipping");
        return;
    };
    const CHAIN4: &str = "e2e-statesync-4";
    let base = free_base(90).expect("free ports");
    let dir = tempfile::tempdir().expect("tempdir");
    let mut net = Localnet::init(&bin, dir.path(), 4, CHAIN4, base, &FAST_TIMEOUTS).expect("init");
    fund_accounts(&net, 20_000);
    for i in 0..4 {
        set_snapshot_interval(&net, i, 10);
    }
    net.start_all().expect("start");
    net.wait_height(&[0, 1, 2, 3], 25, 120).expect("blocks");
    let trust_hash = net
        .rpc(0, "block", json!({"height": "3"}))
        .expect("block 3")["block_id"]["hash"]
        .as_str()
        .expect("hash")
        .to_string();
    let rpc_servers = format!(
        "127.0.0.1:{},127.0.0.1:{}",
        net.nodes[0].rpc, net.nodes[1].rpc
    );
    let statesync = |hash: &str| {
        vec![
            ("enable", "true".to_string()),
            ("rpc_servers", rpc_servers.clone()),
            ("trust_height", "3".to_string()),
            ("trust_hash", hash.to_string()),
            ("discovery_time", "2s".to_string()),
            ("chunk_request_timeout", "3s".to_string()),
        ]
    };
    let set = |net: &Localnet, i: usize, values: Vec<(&str, String)>| {
        let refs: Vec<(&str, &str)> = values.iter().map(|(k, v)| (*k, v.as_str())).collect();
        net.set_config(i, "statesync", &refs).expect("config");
    };
    let log_of = |net: &Localnet, i: usize| {
        std::fs::read_to_string(net.dir().join(format!("{}.log", net.nodes[i].name)))
            .unwrap_or_default()
    };
    let wait_exit = |net: &mut Localnet, i: usize| {
        let t = Instant::now();
        while net.is_running(i) {
            assert!(
                t.elapsed() < Duration::from_secs(60),
                "node {i} kept running"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    };

    // A wrong trust hash is refused, with the chain's hash named.
    let liar = net
        .add_full_node(base + 50, &FAST_TIMEOUTS)
        .expect("full node");
    set(&net, liar, statesync(&"AB".repeat(32)));
    net.start(liar).expect("start");
    wait_exit(&mut net, liar);
    assert!(
        log_of(&net, liar).contains("not the trusted"),
        "{}",
        log_of(&net, liar)
    );

    // A crash after two chunks, then a restart.
    let crasher = net
        .add_full_node(base + 60, &FAST_TIMEOUTS)
        .expect("full node");
    set(&net, crasher, statesync(&trust_hash));
    net.start_env(crasher, &[], &[("KEYSTONE_FAILPOINT", "statesync-chunk:2")])
        .expect("start");
    wait_exit(&mut net, crasher);
    assert!(
        log_of(&net, crasher).contains("failpoint statesync-chunk"),
        "{}",
        log_of(&net, crasher)
    );
    net.start(crasher).expect("restart");

    // A crash after the restore, before the block store started: the restart starts it.
    let restored = net
        .add_full_node(base + 70, &FAST_TIMEOUTS)
        .expect("full node");
    set(&net, restored, statesync(&trust_hash));
    net.start_env(
        restored,
        &[],
        &[("KEYSTONE_FAILPOINT", "statesync-restored")],
    )
    .expect("start");
    wait_exit(&mut net, restored);
    assert!(
        log_of(&net, restored).contains("failpoint statesync-restored"),
        "{}",
        log_of(&net, restored)
    );
    net.start(restored).expect("restart");

    // A node with a peer that serves garbage.
    let fresh = net
        .add_full_node(base + 40, &FAST_TIMEOUTS)
        .expect("full node");
    set(&net, fresh, statesync(&trust_hash));
    let lying = corrupting_peer(CHAIN4, net.nodes[0].p2p, net.nodes[fresh].p2p);
    let started = Instant::now();
    net.start(fresh).expect("start");

    for (who, i) in [
        ("the crashed node", crasher),
        ("the node stopped after its restore", restored),
        ("the lied-to node", fresh),
    ] {
        net.wait(&format!("{who} to answer after its state sync"), 120, |n| {
            n.earliest_height(i).is_some()
        })
        .expect("synced");
        let earliest = net.earliest_height(i).expect("earliest");
        eprintln!(
            "{who} state-synced to height {earliest} ({:.1} s after the last start)",
            started.elapsed().as_secs_f64()
        );
        assert!(
            earliest >= 10 && earliest.is_multiple_of(10),
            "started at a snapshot: {earliest}"
        );
        // It follows the chain from there: block sync, then the blocks the validators make.
        let top = net.height(0).expect("height") + 3;
        net.wait_height(&[i], top, 90)
            .expect("the synced node follows the chain");
        for h in earliest..=top {
            assert_eq!(
                net.app_hash(i, h),
                net.app_hash(0, h),
                "{who}: app hash at {h}"
            );
        }
        // Below the snapshot: not available, blocks and state alike.
        let below = http_rpc(
            &net,
            i,
            "block",
            json!({"height": (earliest - 1).to_string()}),
        );
        assert!(below["error"].is_object(), "{below}");
        let old_state = net
            .rpc(
                i,
                "abci_query",
                json!({"path": "/store/key", "data": hex::encode("auth/params"), "height": (earliest - 1).to_string()}),
            )
            .expect("abci_query");
        assert_ne!(old_state["response"]["code"], 0, "{old_state}");
        eprintln!(
            "{who}: state below the snapshot: {}",
            old_state["response"]["log"]
        );
        // It proves state at its new heights.
        let q = net
            .rpc(
                i,
                "abci_query",
                json!({"path": "/store/key", "data": hex::encode(format!("bank/balances/{}/stake", net.nodes[0].address)), "prove": true}),
            )
            .expect("abci_query");
        assert_eq!(q["response"]["code"], 0, "{q}");
        assert!(q["response"]["proofOps"].is_object(), "{q}");
        let h: u64 = q["response"]["height"]
            .as_str()
            .and_then(|h| h.parse().ok())
            .expect("height");
        assert!(
            h > earliest,
            "answered at {h}, after the snapshot at {earliest}"
        );
    }
    assert!(
        log_of(&net, restored).contains("the state is restored; starting the block store"),
        "{}",
        log_of(&net, restored)
    );
    let (asked, refused) = lying.join().expect("the lying peer");
    assert!(asked >= 1, "the lying peer was never asked for a chunk");
    assert!(refused, "the lying peer was let back in");
    assert!(
        log_of(&net, fresh).contains("banning peer"),
        "{}",
        log_of(&net, fresh)
    );

    // A validator that lost its data (its sign state kept) state-syncs and votes again.
    let validator = net.validator_address(3).expect("address");
    net.kill(3);
    let data = net.nodes[3].home.join("data");
    for f in ["application.redb", "blockstore.redb", "cs.wal", "snapshots"] {
        let p = data.join(f);
        if p.is_dir() {
            std::fs::remove_dir_all(&p).expect("remove");
        } else if p.exists() {
            std::fs::remove_file(&p).expect("remove");
        }
    }
    set(&net, 3, statesync(&trust_hash));
    net.start(3).expect("restart");
    let back = net.height(0).expect("height");
    net.wait("the validator to sign a block again", 120, |n| {
        let Some(h) = n.height(0) else { return false };
        (back + 1..=h).any(|height| {
            n.rpc(0, "commit", json!({"height": height.to_string()}))
                .and_then(|c| {
                    c["signed_header"]["commit"]["signatures"]
                        .as_array()
                        .map(|sigs| {
                            sigs.iter().any(|s| {
                                s["validator_address"] == validator.as_str()
                                    && s["block_id_flag"] == 2
                            })
                        })
                })
                .unwrap_or(false)
        })
    })
    .expect("the state-synced validator votes");
    assert!(
        log_of(&net, 3).contains("state sync complete"),
        "{}",
        log_of(&net, 3)
    );
}

/// The whole JSON-RPC answer (the error too).
fn http_rpc(
    net: &Localnet,
    i: usize,
    method: &str,
    params: serde_json::Value,
) -> serde_json::Value {
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
    keystone_localnet::http_post(net.nodes[i].rpc, &body.to_string()).expect("answer")
}
