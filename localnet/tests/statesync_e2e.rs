//! State sync's serving side on a real node: a validator taking snapshots every 5 heights
//! answers a peer (the real p2p handshake, then CometBFT's `tendermint.statesync` messages on
//! channels 0x60 and 0x61) with its snapshots and their chunks, and what it sends restores,
//! into a fresh store, the state whose app hash block H + 1's header carries.

use keystone_app::snapshots::{Applied, Restoring};
use keystone_consensus_driver::reactor;
use keystone_consensus_driver::statesync::{self, Wire};
use keystone_consensus_types::PrivateKey;
use keystone_localnet::{free_base, keystone_bin, Localnet, FAST_TIMEOUTS};
use keystone_p2p::{connect, ConnectConfig, Incoming, NodeInfo};
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
    let key = PrivateKey::from_seed([61; 32]);
    let channels = reactor::channels(22 * 1024 * 1024);
    let ids: Vec<u8> = channels.iter().map(|(c, _)| *c).collect();
    let info = NodeInfo::new(
        &key.public_key(),
        CHAIN,
        "tcp://127.0.0.1:1",
        "syncer",
        &ids,
    );
    let stream = std::net::TcpStream::connect(("127.0.0.1", net.nodes[0].p2p)).expect("dial");
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    let peer = connect(stream, &key, &info, &ConnectConfig::new(channels)).expect("handshake");
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
