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
}
