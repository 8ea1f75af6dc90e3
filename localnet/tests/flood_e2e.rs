//! A single validator under a hostile peer that completes the real handshake (SecretConnection
//! and node info, `keystone-p2p`) and then floods: mempool messages packed with 6-byte junk
//! transactions, 60 KB block parts for the next height with made-up proofs, block parts over
//! 64 KiB, the same block-sync request over and over, and a crowd of half-open connections. Through each, the
//! node's memory stays under 200 MB, the chain keeps committing, the RPC keeps answering, and
//! the peer is slowed (its writes block) or dropped. Each attack prints what it pushed, how
//! long and the node's peak RSS; `KEYSTONE_FLOOD_SECS` makes them longer (default 4 s), and
//! `KEYSTONE_FLOOD_MEASURE=1` only prints (to measure another binary, named by
//! `KEYSTONE_BIN`).

use keystone_consensus_driver::engine::Gossip;
use keystone_consensus_driver::reactor::{self, Wire};
use keystone_consensus_types::{merkle, Hash, Part, PrivateKey};
use keystone_localnet::{free_base, keystone_bin, Localnet, FAST_TIMEOUTS};
use keystone_p2p::{connect, ConnectConfig, NodeInfo};
use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const CHAIN: &str = "e2e-flood";
const MAX_RSS_KB: u64 = 200 * 1024;

fn secs() -> u64 {
    std::env::var("KEYSTONE_FLOOD_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(4)
}

/// Node `pid`'s resident memory in KiB.
fn rss_kb(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// What one attack did.
struct Outcome {
    sent_bytes: u64,
    sent_msgs: u64,
    dropped_after: Option<Duration>,
    slowed: bool,
    peak_rss_kb: u64,
    heights: (u64, u64),
    slowest_rpc: Duration,
    rpc_failures: u32,
}

/// Connect as a peer (the real handshake) and send what `next` makes until the node hangs
/// up or `limit` passes, while watching the node.
fn attack(
    net: &Localnet,
    seed: u8,
    limit: Duration,
    mut next: impl FnMut(u64) -> (u8, Vec<u8>) + Send + 'static,
) -> Outcome {
    let key = PrivateKey::from_seed([seed; 32]);
    let channels = reactor::channels(22 * 1024 * 1024);
    let ids: Vec<u8> = channels.iter().map(|(c, _)| *c).collect();
    let info = NodeInfo::new(
        &key.public_key(),
        CHAIN,
        "tcp://127.0.0.1:1",
        "flooder",
        &ids,
    );
    let stream = std::net::TcpStream::connect(("127.0.0.1", net.nodes[0].p2p)).expect("dial");
    // A write that blocks this long means the node stopped reading: back-pressure.
    stream
        .set_write_timeout(Some(Duration::from_secs(2)))
        .expect("timeout");
    // To end a write the node's back-pressure holds (the handshake resets the timeouts).
    let control = stream.try_clone().expect("clone");
    let peer = connect(stream, &key, &info, &ConnectConfig::new(channels))
        .expect("the node accepts a well-formed peer");
    let sent_bytes = Arc::new(AtomicU64::new(0));
    let sent_msgs = Arc::new(AtomicU64::new(0));
    let dropped = Arc::new(AtomicBool::new(false));
    let slowed = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    // Read what the node sends (and notice when it hangs up).
    let mut reader = peer.reader;
    let d = dropped.clone();
    let reading = std::thread::spawn(move || {
        while reader.read().is_ok() {}
        d.store(true, Ordering::SeqCst);
    });
    let mut writer = peer.writer;
    let (b, m, d, s) = (
        sent_bytes.clone(),
        sent_msgs.clone(),
        dropped.clone(),
        stop.clone(),
    );
    let slow = slowed.clone();
    let writing = std::thread::spawn(move || {
        let mut i = 0;
        while !s.load(Ordering::SeqCst) && !d.load(Ordering::SeqCst) {
            let (ch, bytes) = next(i);
            match writer.send(ch, &bytes) {
                Ok(()) => {}
                Err(e) if e.is_timeout() => {
                    // The node is not reading us: slowed. The connection is now mid-frame,
                    // so this peer is done.
                    slow.store(true, Ordering::SeqCst);
                    return None;
                }
                Err(_) => {
                    d.store(true, Ordering::SeqCst);
                    return None;
                }
            }
            b.fetch_add(bytes.len() as u64, Ordering::Relaxed);
            m.fetch_add(1, Ordering::Relaxed);
            i += 1;
        }
        Some(writer)
    });
    let pid = net.pid(0).expect("running");
    let h0 = net.height(0).unwrap_or(0);
    let (mut peak, mut slowest, mut failures) = (0, Duration::ZERO, 0);
    let mut dropped_after = None;
    while started.elapsed() < limit {
        peak = peak.max(rss_kb(pid));
        let t = Instant::now();
        match net.height(0) {
            Some(_) => slowest = slowest.max(t.elapsed()),
            None => failures += 1,
        }
        if dropped_after.is_none() && dropped.load(Ordering::SeqCst) {
            dropped_after = Some(started.elapsed());
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    stop.store(true, Ordering::SeqCst);
    // A writer blocked by the node's back-pressure: close the socket under it.
    let _ = control.shutdown(std::net::Shutdown::Both);
    let writer = writing.join().expect("writer");
    drop(writer);
    let h1 = net.height(0).unwrap_or(0);
    drop(reading);
    Outcome {
        sent_bytes: sent_bytes.load(Ordering::SeqCst),
        sent_msgs: sent_msgs.load(Ordering::SeqCst),
        dropped_after,
        slowed: slowed.load(Ordering::SeqCst),
        peak_rss_kb: peak.max(rss_kb(pid)),
        heights: (h0, h1),
        slowest_rpc: slowest,
        rpc_failures: failures,
    }
}

fn report(what: &str, o: &Outcome, limit: Duration) {
    eprintln!(
        "{what}: pushed {} messages, {:.1} MB in {:?}; {}; peak RSS {:.1} MB; heights {} → {}; slowest status {:?}, {} unanswered",
        o.sent_msgs,
        o.sent_bytes as f64 / 1e6,
        limit,
        match (o.dropped_after, o.slowed) {
            (Some(t), _) => format!("dropped after {:.1} s", t.as_secs_f64()),
            (None, true) => "slowed (writes blocked 2 s)".into(),
            (None, false) => "neither slowed nor dropped".into(),
        },
        o.peak_rss_kb as f64 / 1024.0,
        o.heights.0,
        o.heights.1,
        o.slowest_rpc,
        o.rpc_failures
    );
    // Figures only (for a binary given by KEYSTONE_BIN, e.g. an older one to compare with).
    if std::env::var("KEYSTONE_FLOOD_MEASURE").is_ok_and(|v| v == "1") {
        return;
    }
    assert!(
        o.peak_rss_kb < MAX_RSS_KB,
        "{what}: RSS {} kB",
        o.peak_rss_kb
    );
    assert!(
        o.heights.1 >= o.heights.0 + 3,
        "{what}: the chain stalled: {:?}",
        o.heights
    );
    assert_eq!(o.rpc_failures, 0, "{what}: the RPC stopped answering");
    assert!(
        o.dropped_after.is_some() || o.slowed,
        "{what}: the peer was neither slowed nor dropped"
    );
}

#[test]
fn a_flooding_peer_is_slowed_or_dropped_and_the_node_goes_on() {
    let dir = tempfile::tempdir().expect("tmp");
    let bin = keystone_bin().expect("the keystone binary is built next to the tests");
    let mut net = Localnet::init(
        &bin,
        dir.path(),
        1,
        CHAIN,
        free_base(20).expect("a free port range on 127.0.0.1"),
        &FAST_TIMEOUTS,
    )
    .expect("testnet init-files");
    net.start_all().expect("start");
    net.wait_height(&[0], 2, 60)
        .expect("the validator makes blocks");
    let limit = Duration::from_secs(secs());

    // 1. Mempool messages packed with 6-byte junk transactions (64 a message, the most one
    //    may carry; more is refused at once).
    let junk = reactor::encode(&Wire::Txs(vec![b"junk!!".to_vec(); 64]));
    let o = attack(&net, 0x41, limit, move |_| junk.clone());
    report("junk transactions", &o, limit);
    if std::env::var("KEYSTONE_FLOOD_MEASURE").is_err() {
        assert!(
            o.dropped_after.is_some(),
            "a peer far over its CheckTx budget is dropped"
        );
    }

    // 2. 60 KB block parts for the next height, with made-up proofs.
    let rpc = net.nodes[0].rpc;
    let height = Arc::new(AtomicU64::new(net.height(0).unwrap_or(0)));
    let h = height.clone();
    let o = attack(&net, 0x42, limit, move |i| {
        if i % 50 == 0 {
            let body = r#"{"jsonrpc":"2.0","id":1,"method":"status","params":{}}"#;
            if let Some(v) = keystone_localnet::http_post(rpc, body) {
                if let Some(x) = v["result"]["sync_info"]["latest_block_height"]
                    .as_str()
                    .and_then(|s| s.parse().ok())
                {
                    h.store(x, Ordering::SeqCst);
                }
            }
        }
        let part = Part {
            index: (i % 1000) as u32,
            bytes: vec![(i % 251) as u8; 60_000],
            proof: merkle::Proof {
                total: 1000,
                index: i % 1000,
                leaf_hash: Hash([7; 32]),
                aunts: vec![Hash([9; 32]); 10],
            },
        };
        reactor::encode(&Wire::Gossip(Gossip::BlockPart {
            height: height.load(Ordering::SeqCst) + 2,
            round: 0,
            part,
        }))
    });
    report("next-height block parts", &o, limit);

    // 2b. Block parts over 64 KiB: refused as they are decoded.
    let big = {
        use keystone_proto::prost::Message as _;
        use keystone_proto::tm::v0_38::consensus as cs;
        let part = cs::Message {
            sum: Some(cs::message::Sum::BlockPart(cs::BlockPart {
                height: 1_000_000,
                round: 0,
                part: Some(keystone_proto::types::Part {
                    index: 0,
                    bytes: vec![1; 70_000],
                    proof: Some(keystone_proto::crypto::Proof {
                        total: 1,
                        index: 0,
                        leaf_hash: vec![0; 32],
                        aunts: vec![],
                    }),
                }),
            })),
        };
        (reactor::DATA_CHANNEL, part.encode_to_vec())
    };
    let o = attack(&net, 0x45, limit, move |_| big.clone());
    report("block parts over 64 KiB", &o, limit);

    // 3. The same block over and over.
    let request = reactor::encode(&Wire::BlockRequest(1));
    let o = attack(&net, 0x43, limit, move |_| request.clone());
    report("repeated block requests", &o, limit);

    // 4. A crowd of connections that never finish the handshake, then a real peer: it is
    //    still let in (handshakes in progress are capped and time out).
    let pid = net.pid(0).expect("running");
    let h0 = net.height(0).unwrap_or(0);
    let mut half_open = Vec::new();
    for _ in 0..200 {
        if let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", net.nodes[0].p2p)) {
            let _ = s.write_all(&[0u8; 16]);
            half_open.push(s);
        }
    }
    std::thread::sleep(Duration::from_secs(1));
    let rss = rss_kb(pid);
    let heights = (h0, net.height(0).unwrap_or(0));
    eprintln!(
        "half-open connections: {} opened; peak RSS {:.1} MB; heights {} → {}",
        half_open.len(),
        rss as f64 / 1024.0,
        heights.0,
        heights.1
    );
    assert!(rss < MAX_RSS_KB, "RSS {rss} kB");
    let o = attack(&net, 0x44, Duration::from_secs(2), |_| {
        reactor::encode(&Wire::StatusRequest)
    });
    assert!(o.sent_msgs > 0, "a real peer still gets in");
    drop(half_open);
    assert!(net.height(0).unwrap_or(0) > heights.1, "the chain goes on");
}
