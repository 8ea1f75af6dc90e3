//! The block store on a real redb file.

use keystone_consensus_driver::block_store::{BlockStore, BlockStoreError};
use keystone_consensus_types::{
    merkle, sha256, Address, Block, BlockId, Commit, Data, HashedParams, Header, Time, Version,
    BLOCK_PROTOCOL,
};

fn block(height: u64, last: Option<BlockId>) -> (Block, BlockId, Commit) {
    let mut b = Block {
        header: Header {
            version: Version {
                block: BLOCK_PROTOCOL,
                app: 0,
            },
            chain_id: "c".into(),
            height,
            time: Time::from_unix_millis(1_700_000_000_000 + height as i64),
            last_block_id: last,
            last_commit_hash: sha256(b""),
            data_hash: sha256(b""),
            validators_hash: sha256(b"v"),
            next_validators_hash: sha256(b"v"),
            consensus_hash: HashedParams::default().hash(),
            app_hash: vec![height as u8; 32],
            last_results_hash: merkle::hash_from_byte_slices::<&[u8]>(&[]),
            evidence_hash: sha256(b""),
            proposer_address: Address([1; 20]),
        },
        data: Data {
            txs: vec![format!("tx{height}").into_bytes()],
        },
        evidence: vec![],
        last_commit: None,
    };
    b.fill_header_hashes();
    let id = b.block_id();
    let commit = Commit {
        height,
        round: 0,
        block_id: id,
        signatures: vec![],
    };
    (b, id, commit)
}

#[test]
fn blocks_are_stored_in_order_and_survive_reopen() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("blockstore.redb");
    let mut last = None;
    {
        let s = BlockStore::open(&path).expect("open");
        assert_eq!(s.height().expect("h"), 0);
        for h in 1..=3 {
            let (b, id, c) = block(h, last);
            s.save(&b, &id, &c).expect("save");
            last = Some(id);
        }
        let (b, id, c) = block(5, last);
        assert!(matches!(
            s.save(&b, &id, &c),
            Err(BlockStoreError::OutOfOrder {
                expected: 4,
                got: 5
            })
        ));
    }
    let s = BlockStore::open(&path).expect("reopen");
    assert_eq!((s.base().expect("base"), s.height().expect("h")), (1, 3));
    let (b2, id2, _) = block(2, s.block_id(1).expect("read"));
    assert_eq!(s.block_id(2).expect("read"), Some(id2));
    assert_eq!(s.block_proto(2).expect("read"), Some(b2.to_proto()));
    assert_eq!(s.commit(3).expect("read").map(|c| c.height), Some(3));
    assert_eq!(s.block_proto(9).expect("read"), None);
    // The header alone, as the whole block has it.
    assert_eq!(s.header(2).expect("read"), b2.to_proto().header);
    assert!(s.header(2).expect("read").is_some());
    assert_eq!(s.header(9).expect("read"), None);
}

fn event(kind: &str, attrs: &[(&str, &str)]) -> keystone_proto::abci::Event {
    keystone_proto::abci::Event {
        r#type: kind.into(),
        attributes: attrs
            .iter()
            .map(|(k, v)| keystone_proto::abci::EventAttribute {
                key: (*k).into(),
                value: (*v).into(),
                index: true,
            })
            .collect(),
    }
}

fn results(
    per_tx: Vec<Vec<keystone_proto::abci::Event>>,
) -> keystone_proto::abci::ResponseFinalizeBlock {
    keystone_proto::abci::ResponseFinalizeBlock {
        tx_results: per_tx
            .into_iter()
            .map(|events| keystone_proto::abci::ExecTxResult {
                events,
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    }
}

#[test]
fn txs_are_found_by_hash_height_and_event_conditions() {
    use keystone_consensus_driver::event_query::Query;
    let dir = tempfile::tempdir().expect("tmp");
    let s = BlockStore::open(&dir.path().join("bs.redb")).expect("open");
    let q = |q: &str| -> Vec<(u64, u32)> {
        s.search_txs(&q.parse::<Query>().expect("query"))
            .expect("search")
    };
    // Height 1: alice → bob, carol → bob. Height 2: alice → carol; an unindexed attribute.
    let txs1 = vec![b"t1".to_vec(), b"t2".to_vec()];
    s.save_results(
        1,
        &txs1,
        &results(vec![
            vec![
                event("message", &[("sender", "alice")]),
                event("transfer", &[("recipient", "bob"), ("amount", "5stake")]),
            ],
            vec![
                event("message", &[("sender", "carol")]),
                event("transfer", &[("recipient", "bob"), ("amount", "70stake")]),
            ],
        ]),
        None,
    )
    .expect("save");
    let mut hidden = event("secret", &[("k", "v")]);
    hidden.attributes[0].index = false;
    s.save_results(
        2,
        &[b"t3".to_vec()],
        &results(vec![vec![
            event("message", &[("sender", "alice")]),
            event("transfer", &[("recipient", "carol"), ("amount", "10stake")]),
            hidden,
        ]]),
        None,
    )
    .expect("save");

    assert_eq!(q("message.sender='alice'"), vec![(1, 0), (2, 0)]);
    assert_eq!(q("transfer.recipient='bob'"), vec![(1, 0), (1, 1)]);
    assert_eq!(
        q("message.sender='alice' AND transfer.recipient='bob'"),
        vec![(1, 0)]
    );
    assert_eq!(q("tx.height=2"), vec![(2, 0)]);
    assert_eq!(q("tx.height>=1 AND message.sender='carol'"), vec![(1, 1)]);
    assert_eq!(q("tx.height>1"), vec![(2, 0)]);
    assert_eq!(
        q(&format!("tx.hash='{}'", hex::encode_upper(sha256(b"t2").0))),
        vec![(1, 1)]
    );
    assert_eq!(q("transfer.amount CONTAINS '0stake'"), vec![(1, 1), (2, 0)]);
    assert_eq!(q("message.sender EXISTS"), vec![(1, 0), (1, 1), (2, 0)]);
    assert_eq!(q("tm.event='Tx'").len(), 3);
    assert!(q("tm.event='NewBlock'").is_empty());
    assert!(q("secret.k='v'").is_empty(), "index=false is not indexed");
    assert!(q("message.sender='nobody'").is_empty());
    assert_eq!(s.tx_location(&sha256(b"t3").0).expect("loc"), Some((2, 0)));
    // `tx.hash` is read from the hash index: upper-case hex as the event value is, any
    // operator.
    let t2 = hex::encode_upper(sha256(b"t2").0);
    assert!(q(&format!("tx.hash='{}'", t2.to_lowercase())).is_empty());
    assert!(q("tx.hash='not hex'").is_empty());
    assert_eq!(q("tx.hash EXISTS").len(), 3);
    assert_eq!(
        q(&format!("tx.hash CONTAINS '{}' AND tx.height=1", &t2[..12])),
        vec![(1, 1)]
    );
}

/// A key of the event index as Keystone wrote it before one entry per value and height:
/// `len(k) ‖ k ‖ len(v) ‖ v ‖ height ‖ index`.
fn old_event_key(k: &str, v: &str, h: u64, i: u32) -> Vec<u8> {
    let mut out = (k.len() as u16).to_be_bytes().to_vec();
    out.extend(k.as_bytes());
    out.extend((v.len() as u32).to_be_bytes());
    out.extend(v.as_bytes());
    out.extend(h.to_be_bytes());
    out.extend(i.to_be_bytes());
    out
}

#[test]
fn an_older_event_index_is_moved_on_open_and_answers_the_same() {
    use keystone_consensus_driver::event_query::Query;
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("bs.redb");
    {
        // The tables an older Keystone left: two heights, three txs.
        let db = redb::Database::create(&path).expect("db");
        let txn = db.begin_write().expect("txn");
        {
            let mut old = txn
                .open_table(redb::TableDefinition::<&[u8], ()>::new("tx_events"))
                .expect("table");
            let mut hashes = txn
                .open_table(redb::TableDefinition::<&[u8], &[u8]>::new("tx_index"))
                .expect("table");
            for (h, i, tx, sender) in [
                (1u64, 0u32, "t1", "alice"),
                (1, 1, "t2", "bob"),
                (2, 0, "t3", "alice"),
            ] {
                let hash = sha256(tx.as_bytes()).0;
                let mut loc = h.to_be_bytes().to_vec();
                loc.extend(i.to_be_bytes());
                hashes
                    .insert(hash.as_slice(), loc.as_slice())
                    .expect("insert");
                for (k, v) in [
                    ("tx.hash", hex::encode_upper(hash)),
                    ("tx.height", h.to_string()),
                    ("message.sender", sender.to_string()),
                    ("message.module", "bank".to_string()),
                ] {
                    old.insert(old_event_key(k, &v, h, i).as_slice(), ())
                        .expect("insert");
                }
            }
        }
        txn.commit().expect("commit");
    }
    let s = BlockStore::open(&path).expect("open moves the index");
    let q = |q: &str| -> Vec<(u64, u32)> {
        s.search_txs(&q.parse::<Query>().expect("query"))
            .expect("search")
    };
    assert_eq!(q("message.sender='alice'"), vec![(1, 0), (2, 0)]);
    assert_eq!(
        q("message.module='bank' AND tx.height=1"),
        vec![(1, 0), (1, 1)]
    );
    assert_eq!(q("tx.height>1"), vec![(2, 0)]);
    assert_eq!(
        q(&format!("tx.hash='{}'", hex::encode_upper(sha256(b"t2").0))),
        vec![(1, 1)]
    );
    assert_eq!(q("tm.event='Tx'").len(), 3);
    drop(s);
    // Moved once: the old table is gone, and a second open finds the same.
    let db = redb::Database::open(&path).expect("db");
    let txn = redb::ReadableDatabase::begin_read(&db).expect("txn");
    assert!(txn
        .open_table(redb::TableDefinition::<&[u8], ()>::new("tx_events"))
        .is_err());
    drop(txn);
    drop(db);
    let s = BlockStore::open(&path).expect("reopen");
    assert_eq!(
        s.search_txs(&"message.sender='alice'".parse::<Query>().expect("query"))
            .expect("search"),
        vec![(1, 0), (2, 0)]
    );
}

#[test]
fn removing_the_last_height_takes_its_index_entries_out() {
    use keystone_consensus_driver::event_query::Query;
    let dir = tempfile::tempdir().expect("tmp");
    let s = BlockStore::open(&dir.path().join("bs.redb")).expect("open");
    let q = |q: &str| -> Vec<(u64, u32)> {
        s.search_txs(&q.parse::<Query>().expect("query"))
            .expect("search")
    };
    let mut last = None;
    for h in 1..=2u64 {
        let (b, id, c) = block(h, last);
        s.save(&b, &id, &c).expect("save");
        last = Some(id);
        // One tx per height; an attribute the tx repeats is listed once.
        s.save_results(
            h,
            &b.data.txs,
            &results(vec![vec![
                event("message", &[("sender", "alice")]),
                event("message", &[("sender", "alice")]),
            ]]),
            None,
        )
        .expect("save results");
    }
    assert_eq!(q("message.sender='alice'"), vec![(1, 0), (2, 0)]);
    assert_eq!(s.height().expect("height"), 2);
    assert_eq!(s.remove_last().expect("remove"), 2);
    assert_eq!(s.height().expect("height"), 1);
    assert_eq!(q("message.sender='alice'"), vec![(1, 0)]);
    assert!(q("tx.height=2").is_empty());
    assert_eq!(s.tx_location(&sha256(b"tx2").0).expect("loc"), None);
    assert_eq!(s.tx_location(&sha256(b"tx1").0).expect("loc"), Some((1, 0)));
}

/// The index's entries wait under their height and move to the main tables every 16 heights
/// (`block_store::index`): every search and lookup answers the same before and after a move,
/// and removing the last height takes its entries out wherever they are.
#[test]
fn index_entries_answer_the_same_staged_and_moved() {
    use keystone_consensus_driver::event_query::Query;
    let dir = tempfile::tempdir().expect("tmp");
    let s = BlockStore::open(&dir.path().join("bs.redb")).expect("open");
    let q = |s: &BlockStore, q: &str| -> Vec<(u64, u32)> {
        s.search_txs(&q.parse::<Query>().expect("query"))
            .expect("search")
    };
    let mut last = None;
    // Height h holds two txs: "tx<h>" (sender "s<h % 3>") and "dup" at heights 3, 18 and 20
    // (the same bytes committed three times: 18 and 20 move together), else "x<h>".
    let txs_of = |h: u64| {
        vec![
            format!("tx{h}").into_bytes(),
            if [3, 18, 20].contains(&h) {
                b"dup".to_vec()
            } else {
                format!("x{h}").into_bytes()
            },
        ]
    };
    for h in 1..=40u64 {
        let (mut b, _, _) = block(h, last);
        b.data.txs = txs_of(h);
        b.fill_header_hashes();
        let id = b.block_id();
        let c = Commit {
            height: h,
            round: 0,
            block_id: id,
            signatures: vec![],
        };
        s.save(&b, &id, &c).expect("save");
        last = Some(id);
        let sender = format!("s{}", h % 3);
        s.save_results(
            h,
            &b.data.txs,
            &results(vec![
                vec![event("message", &[("sender", sender.as_str())])],
                vec![event("transfer", &[("recipient", "r")])],
            ]),
            None,
        )
        .expect("save results");
        // After every height, staged or moved, the index answers for all of them.
        let want: Vec<(u64, u32)> = (1..=h).filter(|k| k % 3 == 1).map(|k| (k, 0)).collect();
        assert_eq!(q(&s, "message.sender='s1'"), want, "at height {h}");
        assert_eq!(q(&s, "transfer.recipient='r'").len() as u64, h);
        assert_eq!(
            s.tx_location(&sha256(format!("tx{h}").as_bytes()).0)
                .expect("loc"),
            Some((h, 0))
        );
    }
    // The later location of a transaction committed twice, by lookup and by scan.
    let dup = sha256(b"dup").0;
    assert_eq!(s.tx_location(&dup).expect("loc"), Some((20, 1)));
    assert_eq!(
        q(&s, &format!("tx.hash='{}'", hex::encode_upper(dup))),
        vec![(20, 1)]
    );
    let all = q(&s, "tx.hash EXISTS");
    assert_eq!(all.len(), 78, "80 txs, one hash three times");
    assert!(all.contains(&(20, 1)) && !all.contains(&(3, 1)) && !all.contains(&(18, 1)));
    assert_eq!(
        q(&s, "tx.height>38"),
        vec![(39, 0), (39, 1), (40, 0), (40, 1)]
    );
    // Height 40 is staged (moves happened at 16 and 32), height 32 moved with its write.
    for top in [40u64, 39, 38, 37, 36, 35, 34, 33, 32, 31] {
        assert_eq!(s.remove_last().expect("remove"), top);
        assert!(
            q(&s, &format!("tx.height={top}")).is_empty(),
            "{top} removed"
        );
        assert_eq!(
            s.tx_location(&sha256(format!("tx{top}").as_bytes()).0)
                .expect("loc"),
            None
        );
        assert_eq!(q(&s, "transfer.recipient='r'").len() as u64, top - 1);
    }
    // Stored again after the removal, the heights are found again.
    for h in 31..=33u64 {
        s.save_results(h, &txs_of(h), &results(vec![vec![], vec![]]), None)
            .expect("save results");
        assert_eq!(q(&s, &format!("tx.height={h}")), vec![(h, 0), (h, 1)]);
    }
}
