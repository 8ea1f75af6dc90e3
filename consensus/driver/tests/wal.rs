//! The write-ahead log on a real file: round trips, torn and corrupt tails, end-of-height
//! rotation, and a crash-and-replay of the real consensus core.

use keystone_consensus_core::{Consensus, Input, Timeout, TimeoutKind};
use keystone_consensus_driver::wal::{Recovery, Wal};
use keystone_consensus_types::{
    BlockId, Hash, PartSetHeader, PrivateKey, Proposal, Time, Validator, ValidatorSet, Vote,
    VoteType,
};
use std::io::Write;

fn id(b: u8) -> BlockId {
    BlockId {
        hash: Hash([b; 32]),
        part_set_header: PartSetHeader {
            total: 1,
            hash: Hash([b; 32]),
        },
    }
}

fn keys() -> (Vec<PrivateKey>, ValidatorSet) {
    let keys: Vec<PrivateKey> = (1..=4u8).map(|i| PrivateKey::from_seed([i; 32])).collect();
    let set = ValidatorSet::new(
        keys.iter()
            .map(|k| Validator::new(k.public_key(), 1))
            .collect(),
    )
    .expect("set");
    let keys = set
        .validators()
        .iter()
        .map(|v| {
            keys.iter()
                .find(|k| k.public_key().address() == v.address)
                .expect("key")
                .clone()
        })
        .collect();
    (keys, set)
}

fn vote(keys: &[PrivateKey], i: usize, t: VoteType, h: u64, r: u32, v: Option<BlockId>) -> Vote {
    let mut vote = Vote {
        vote_type: t,
        height: h,
        round: r,
        block_id: v,
        timestamp: Time::from_unix_millis(1_700_000_000_000),
        validator_address: keys[i].public_key().address(),
        validator_index: i as u32,
        signature: None,
    };
    vote.sign("c", &keys[i]);
    vote
}

fn sample_inputs(keys: &[PrivateKey]) -> Vec<Input> {
    let mut p = Proposal {
        height: 5,
        round: 1,
        pol_round: Some(0),
        block_id: id(9),
        timestamp: Time::from_unix_millis(7),
        signature: None,
    };
    p.sign("c", &keys[0]);
    vec![
        Input::Start,
        Input::ValueReady {
            round: 1,
            value: id(9),
        },
        Input::Proposal {
            proposal: p,
            valid: true,
        },
        Input::Vote(vote(keys, 2, VoteType::Precommit, 5, 1, None)),
        Input::Timeout(Timeout {
            kind: TimeoutKind::Prevote,
            round: 3,
        }),
    ]
}

#[test]
fn every_kind_of_input_round_trips() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("cs.wal").join("wal");
    let (keys, _) = keys();
    let inputs = sample_inputs(&keys);
    {
        let (mut wal, rec) = Wal::open(&path).expect("open");
        assert_eq!(rec, Recovery::default());
        for i in &inputs {
            wal.append(5, i, true).expect("append");
        }
    }
    let (_, rec) = Wal::open(&path).expect("reopen");
    assert_eq!(
        rec.inputs,
        inputs.into_iter().map(|i| (5, i)).collect::<Vec<_>>()
    );
    assert_eq!(rec.truncated_bytes, 0);
}

#[test]
fn a_torn_tail_is_cut_and_the_log_goes_on() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("wal");
    let (keys, _) = keys();
    let inputs = sample_inputs(&keys);
    {
        let (mut wal, _) = Wal::open(&path).expect("open");
        for i in &inputs[..3] {
            wal.append(5, i, true).expect("append");
        }
    }
    let whole = std::fs::metadata(&path).expect("meta").len();
    // A crash in the middle of the next record: header and half a payload.
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .expect("open");
    f.write_all(&[0xde, 0xad, 0xbe, 0xef, 0, 0, 0, 40, 1, 2, 3])
        .expect("write");
    drop(f);
    let (mut wal, rec) = Wal::open(&path).expect("reopen");
    assert_eq!(rec.inputs.len(), 3);
    assert_eq!(rec.truncated_bytes, 11);
    assert_eq!(std::fs::metadata(&path).expect("meta").len(), whole);
    wal.append(5, &inputs[3], true)
        .expect("append after truncation");
    drop(wal);
    let (_, rec) = Wal::open(&path).expect("reopen");
    assert_eq!(rec.inputs.len(), 4);
}

#[test]
fn a_corrupt_record_and_everything_after_it_is_cut() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("wal");
    let (keys, _) = keys();
    let inputs = sample_inputs(&keys);
    let mut sizes = Vec::new();
    {
        let (mut wal, _) = Wal::open(&path).expect("open");
        for i in &inputs {
            wal.append(5, i, true).expect("append");
            sizes.push(std::fs::metadata(&path).expect("meta").len());
        }
    }
    // Flip a byte inside the third record's payload.
    let mut bytes = std::fs::read(&path).expect("read");
    let third_start = sizes[1] as usize;
    bytes[third_start + 12] ^= 0xff;
    std::fs::write(&path, &bytes).expect("write");
    let (_, rec) = Wal::open(&path).expect("reopen");
    assert_eq!(rec.inputs.len(), 2);
    assert_eq!(rec.truncated_bytes, bytes.len() as u64 - sizes[1]);
    // An absurd length is a corrupt tail too, not an allocation.
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .expect("open");
    f.write_all(&[0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff])
        .expect("write");
    drop(f);
    let (_, rec) = Wal::open(&path).expect("reopen");
    assert_eq!(rec.inputs.len(), 2);
    assert_eq!(rec.truncated_bytes, 8);
}

#[test]
fn end_height_starts_the_log_afresh() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("wal");
    let (keys, _) = keys();
    let inputs = sample_inputs(&keys);
    {
        let (mut wal, _) = Wal::open(&path).expect("open");
        for i in &inputs {
            wal.append(5, i, false).expect("append");
        }
        wal.end_height(5).expect("end");
        wal.append(6, &Input::Start, true).expect("next height");
    }
    let (_, rec) = Wal::open(&path).expect("reopen");
    assert_eq!(rec.last_end_height, Some(5));
    assert_eq!(rec.inputs, vec![(6, Input::Start)]);
}

/// The point of the WAL: a node that crashes mid-height and replays its log into a fresh core
/// is in exactly the state it was, lock included, and produces the same votes again.
#[test]
fn replay_restores_the_core_exactly() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("wal");
    let (keys, set) = keys();
    let me = 3;
    let h = 1;
    let mut core = Consensus::new(h, set.clone(), Some(keys[me].public_key().address()));
    let proposer = core.proposer(0).expect("proposer");
    let pi = set.index_of(&proposer.address).expect("member");
    let mut p = Proposal {
        height: h,
        round: 0,
        pol_round: None,
        block_id: id(1),
        timestamp: Time::from_unix_millis(1),
        signature: None,
    };
    p.sign("c", &keys[pi]);
    let mut inputs = vec![
        Input::Start,
        Input::Proposal {
            proposal: p,
            valid: true,
        },
    ];
    for i in 0..4 {
        inputs.push(Input::Vote(vote(
            &keys,
            i,
            VoteType::Prevote,
            h,
            0,
            Some(id(1)),
        )));
    }
    let mut outputs = Vec::new();
    {
        let (mut wal, _) = Wal::open(&path).expect("open");
        for i in &inputs {
            wal.append(h, i, true).expect("append");
            outputs.push(core.apply(i.clone()).expect("accepted"));
        }
    }
    assert!(
        core.state().locked.is_some(),
        "the node locked before the crash"
    );
    let (_, rec) = Wal::open(&path).expect("reopen");
    let mut replayed = Consensus::new(h, set, Some(keys[me].public_key().address()));
    let mut again = Vec::new();
    for (_, i) in rec.inputs {
        again.push(replayed.apply(i).expect("accepted"));
    }
    assert_eq!(replayed.state(), core.state());
    assert_eq!(again, outputs);
}

/// Heights accumulate in one file until it passes `ROTATE_BYTES`; replay starts after the
/// last marker either way, and the marker that passes the bound starts the file afresh.
#[test]
fn the_log_is_started_afresh_only_past_its_size_bound() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("wal");
    let (keys, _) = keys();
    let inputs = sample_inputs(&keys);
    let size = || std::fs::metadata(&path).expect("wal file").len();
    let (mut wal, _) = Wal::open(&path).expect("open");
    for h in 1..=3 {
        for i in &inputs {
            wal.append(h, i, false).expect("append");
        }
        wal.end_height(h).expect("end");
    }
    let three_heights = size();
    wal.append(4, &Input::Start, true).expect("next height");
    drop(wal);
    let (mut wal, rec) = Wal::open(&path).expect("reopen");
    assert_eq!(rec.last_end_height, Some(3));
    assert_eq!(rec.inputs, vec![(4, Input::Start)]);
    assert!(
        three_heights > 3 * inputs.len() as u64,
        "three heights are still in the file"
    );
    // Fill the file past the bound: the next marker starts it afresh.
    let h = 4;
    while size() <= keystone_consensus_driver::wal::ROTATE_BYTES {
        for i in &inputs {
            wal.append(h, i, false).expect("append");
        }
    }
    wal.end_height(h).expect("end");
    assert!(size() < three_heights, "started afresh: {} bytes", size());
    drop(wal);
    let (_, rec) = Wal::open(&path).expect("reopen");
    assert_eq!(rec.last_end_height, Some(h));
    assert!(rec.inputs.is_empty());
}
