//! State snapshots through ABCI's snapshot calls, on real redb stores and real files: one
//! node takes them in the background as it commits and keeps the newest; a fresh node
//! restores one chunk by chunk (refusing a corrupted chunk and naming its sender), reports
//! the snapshot's height and app hash, proves state, and goes on to the next block with the
//! same app hash as the first.

use keystone_app::snapshots::{SnapshotConfig, Snapshots};
use keystone_app::App;
use keystone_proto::abci;
use keystone_proto::prost::bytes::Bytes;
use keystone_proto::Application;
use keystone_store::Store;
use std::time::{Duration, Instant};

mod common;
use common::{addr, alice_key, bob, genesis_json};

const CHAIN: &str = "keystone-1";

fn app_at(dir: &std::path::Path, snapshots: Option<SnapshotConfig>) -> App {
    let app = App::new(
        Store::open(dir.join("application.redb")).expect("store"),
        CHAIN,
        vec![],
    );
    match snapshots {
        Some(cfg) => app.with_snapshots(Snapshots::new(dir.join("snapshots"), cfg)),
        None => app,
    }
}

fn block(app: &mut App, height: i64, txs: Vec<Vec<u8>>) -> Bytes {
    let fin = app
        .finalize_block(abci::RequestFinalizeBlock {
            txs: txs.into_iter().map(Bytes::from).collect(),
            height,
            ..Default::default()
        })
        .expect("finalize");
    app.commit().expect("commit");
    fin.app_hash
}

fn listed(app: &App) -> Vec<u64> {
    app.list_snapshots()
        .expect("list")
        .snapshots
        .iter()
        .map(|s| s.height)
        .collect()
}

/// Wait until the snapshots listed are `want` (they are taken on another thread).
fn wait_for(app: &App, want: &[u64]) {
    let t = Instant::now();
    while listed(app) != want {
        assert!(
            t.elapsed() < Duration::from_secs(30),
            "snapshots {:?}, wanted {want:?}",
            listed(app)
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn snapshots_are_taken_kept_served_and_restored_into_a_fresh_node() {
    use abci::response_apply_snapshot_chunk::Result as Apply;
    use abci::response_offer_snapshot::Result as Offer;
    let a_dir = tempfile::tempdir().expect("tmp");
    let alice = addr(&alice_key());
    let mut a = app_at(
        a_dir.path(),
        Some(SnapshotConfig {
            interval: 2,
            keep_recent: 2,
        }),
    );
    a.init_chain(abci::RequestInitChain {
        chain_id: CHAIN.into(),
        app_state_bytes: Bytes::from(genesis_json(&alice)),
        initial_height: 1,
        ..Default::default()
    })
    .expect("init");
    let mut hashes = vec![Bytes::new()];
    for h in 1..=6i64 {
        let txs = vec![common::send(CHAIN, h as u64 - 1, 10 * h as u128)];
        hashes.push(block(&mut a, h, txs));
        if h % 2 == 0 {
            // One at a time: let this one finish before the next is due.
            let want: Vec<u64> = (2..=h as u64).rev().step_by(2).take(2).collect();
            wait_for(&a, &want);
        }
    }
    let offered = a
        .list_snapshots()
        .expect("list")
        .snapshots
        .into_iter()
        .find(|s| s.height == 6)
        .expect("the newest snapshot");
    assert_eq!(offered.format, 1);
    assert_eq!(offered.metadata.len(), offered.chunks as usize * 32);
    let chunk = |i: u32| {
        a.load_snapshot_chunk(abci::RequestLoadSnapshotChunk {
            height: 6,
            format: 1,
            chunk: i,
        })
        .expect("load")
        .chunk
    };

    // A fresh node.
    let b_dir = tempfile::tempdir().expect("tmp");
    let mut b = app_at(b_dir.path(), None);
    let offer = |b: &mut App, format: u32, app_hash: &Bytes| {
        let mut s = offered.clone();
        s.format = format;
        b.offer_snapshot(abci::RequestOfferSnapshot {
            snapshot: Some(s),
            app_hash: app_hash.clone(),
        })
        .expect("offer")
        .result
    };
    assert_eq!(offer(&mut b, 7, &hashes[6]), Offer::RejectFormat as i32);
    assert_eq!(offer(&mut b, 1, &hashes[6]), Offer::Accept as i32);
    // A corrupted chunk is refused, to be fetched again from someone else.
    let mut bad = chunk(0).to_vec();
    let last = bad.len() - 1;
    bad[last] ^= 1;
    let r = b
        .apply_snapshot_chunk(abci::RequestApplySnapshotChunk {
            index: 0,
            chunk: bad.into(),
            sender: "liar".into(),
        })
        .expect("apply");
    assert_eq!(r.result, Apply::Retry as i32);
    assert_eq!(
        (r.refetch_chunks, r.reject_senders),
        (vec![0], vec!["liar".to_string()])
    );
    for i in 0..offered.chunks {
        let r = b
            .apply_snapshot_chunk(abci::RequestApplySnapshotChunk {
                index: i,
                chunk: chunk(i),
                sender: "honest".into(),
            })
            .expect("apply");
        assert_eq!(r.result, Apply::Accept as i32, "chunk {i}");
    }
    let info = b.info(abci::RequestInfo::default()).expect("info");
    assert_eq!(
        (info.last_block_height, info.last_block_app_hash),
        (6, hashes[6].clone())
    );
    // The restored node proves state, and the next block gives the same app hash on both.
    let key = format!("bank/balances/{}/stake", bob());
    let q = |app: &App| {
        app.query(abci::RequestQuery {
            data: Bytes::from(key.clone().into_bytes()),
            path: "/store/key".into(),
            height: 0,
            prove: true,
        })
        .expect("query")
    };
    let (qa, qb) = (q(&a), q(&b));
    assert_eq!((qb.code, qb.value.clone()), (0, qa.value.clone()));
    assert_eq!(qb.proof_ops, qa.proof_ops);
    let next = vec![common::send(CHAIN, 6, 70)];
    assert_eq!(block(&mut b, 7, next.clone()), block(&mut a, 7, next));
    // A node with state takes no snapshot.
    assert_eq!(offer(&mut b, 1, &hashes[6]), Offer::Abort as i32);
}
