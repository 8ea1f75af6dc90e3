//! Peer discovery on real processes: ten nodes (four validators, six full nodes) that know
//! only one seed node find each other through peer exchange, keep what they learned in their
//! address books across a restart without the seed, and drop and ban a peer that floods them
//! with addresses they did not ask for.

mod common;

use common::peer::TestPeer;
use keystone_consensus_driver::pex::{self, book::NetAddr};
use keystone_localnet::{free_base, keystone_bin, Localnet};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const CHAIN: &str = "e2e-discovery";
const VALIDATORS: usize = 4;
const FULL_NODES: usize = 6;
/// Slow enough blocks that eleven processes share two cores comfortably.
const TIMEOUTS: [(&str, &str); 7] = [
    ("timeout_propose", "2s"),
    ("timeout_propose_delta", "500ms"),
    ("timeout_prevote", "1s"),
    ("timeout_prevote_delta", "500ms"),
    ("timeout_precommit", "1s"),
    ("timeout_precommit_delta", "500ms"),
    ("timeout_commit", "500ms"),
];

fn peers(net: &Localnet, i: usize) -> Vec<String> {
    net.rpc(i, "net_info", json!({}))
        .and_then(|r| {
            r["peers"].as_array().map(|ps| {
                ps.iter()
                    .filter_map(|p| p["node_info"]["id"].as_str().map(str::to_string))
                    .collect()
            })
        })
        .unwrap_or_default()
}

fn book(net: &Localnet, i: usize) -> Vec<String> {
    let path = net.nodes[i].home.join("config/addrbook.json");
    let Ok(text) = std::fs::read_to_string(path) else {
        return Vec::new();
    };
    let v: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    v["addrs"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|e| e["addr"]["id"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// Every node in `nodes` has at least `n` peers; how long that took.
fn wait_peers(net: &Localnet, nodes: &[usize], n: usize, secs: u64) -> Duration {
    let t = Instant::now();
    net.wait(&format!("every node to have {n} peers"), secs, |net| {
        nodes.iter().all(|&i| peers(net, i).len() >= n)
    })
    .unwrap_or_else(|e| {
        let counts: Vec<usize> = nodes.iter().map(|&i| peers(net, i).len()).collect();
        panic!(
            "{e}: peers per node {counts:?}; logs in {}",
            net.dir().display()
        )
    });
    t.elapsed()
}

#[test]
fn ten_nodes_that_know_only_a_seed_find_each_other_keep_their_books_and_drop_a_flooder() {
    let Some(bin) = keystone_bin() else {
        eprintln!("keystone binary not built; skipping");
        return;
    };
    let nodes = VALIDATORS + FULL_NODES;
    let base = free_base(10 * (nodes as u16 + 1)).expect("free ports");
    let dir = tempfile::tempdir().expect("tempdir");
    let mut net =
        Localnet::init(&bin, dir.path(), VALIDATORS, CHAIN, base, &TIMEOUTS).expect("init");
    for k in 0..=FULL_NODES {
        net.add_full_node(base + 10 * (VALIDATORS + k) as u16, &TIMEOUTS)
            .expect("full node");
    }
    let seed = nodes;
    net.use_seed(seed).expect("seed config");
    let all: Vec<usize> = (0..nodes).collect();

    net.start(seed).expect("start seed");
    for &i in &all {
        net.start(i).expect("start");
    }
    let took = wait_peers(&net, &all, 3, 60);
    eprintln!(
        "every node had 3 peers {:.1} s after start",
        took.as_secs_f64()
    );
    // The validators found each other: blocks are made, and every node follows.
    net.wait_height(&all, 3, 60).expect("the chain advances");

    // The books are on disk (written within pex::SAVE_EVERY of a change).
    net.wait("address books on disk", 20, |net| {
        all.iter().all(|&i| book(net, i).len() >= 3)
    })
    .expect("books written");

    flooder_is_dropped_and_banned(&net, base);

    // Everything goes down hard, and comes back without the seed: the books alone bring
    // the nodes together again.
    net.kill(seed);
    for &i in &all {
        net.kill(i);
    }
    for &i in &all {
        net.start(i).expect("restart");
    }
    let took = wait_peers(&net, &all, 3, 60);
    eprintln!(
        "after a restart without the seed, every node had 3 peers in {:.1} s",
        took.as_secs_f64()
    );
    let h = net.height(0).unwrap_or(0);
    net.wait_height(&all, h + 2, 60)
        .expect("the chain advances after the restart");
}

/// A peer that sends 200 addresses nobody asked for is dropped and banned, and none of its
/// addresses is kept.
fn flooder_is_dropped_and_banned(net: &Localnet, base: u16) {
    let flooder = TestPeer::new(77, CHAIN, "flooder");
    let peer = flooder
        .dial(net.nodes[0].p2p)
        .expect("the node accepts a well-formed peer");
    let flood: Vec<NetAddr> = (0..200u16)
        .map(|i| NetAddr {
            id: hex::encode({
                let mut b = [0u8; 20];
                b[0] = 0xf1;
                b[1..3].copy_from_slice(&i.to_be_bytes());
                b
            }),
            // Ports nobody listens on: the range below the test's own.
            addr: format!("127.0.0.1:{}", base.saturating_sub(1000) + i)
                .parse()
                .expect("address"),
        })
        .collect();
    let mut writer = peer.writer;
    let mut reader = peer.reader;
    writer
        .send(pex::PEX_CHANNEL, &pex::encode_addrs(&flood))
        .expect("send the flood");
    let t = Instant::now();
    // The node answers with nothing but closing the connection.
    while reader.read().is_ok() {
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "the flooder was not dropped"
        );
    }
    eprintln!("flooder dropped after {:?}", t.elapsed());
    // Banned: a new connection with the same key is closed right after the handshake.
    let again = flooder.dial(net.nodes[0].p2p);
    if let Ok(p) = again {
        let mut r = p.reader;
        let t = Instant::now();
        while r.read().is_ok() {
            assert!(
                t.elapsed() < Duration::from_secs(10),
                "a banned peer was kept"
            );
        }
    }
    let flooder = flooder.id();
    assert!(!peers(net, 0).contains(&flooder));
    std::thread::sleep(pex::SAVE_EVERY + Duration::from_secs(1));
    let kept = book(net, 0);
    assert!(
        !flood.iter().any(|a| kept.contains(&a.id)),
        "an address from the flood reached the book"
    );
    let text =
        std::fs::read_to_string(net.nodes[0].home.join("config/addrbook.json")).expect("book");
    let v: Value = serde_json::from_str(&text).expect("json");
    let ban = v["addrs"]
        .as_array()
        .and_then(|a| a.iter().find(|e| e["addr"]["id"] == flooder.as_str()))
        .map(|e| e["last_ban_time"].as_str().unwrap_or_default().to_string());
    assert!(
        ban.is_some_and(|t| !t.starts_with("0001")),
        "the ban is in the book's file"
    );
}
