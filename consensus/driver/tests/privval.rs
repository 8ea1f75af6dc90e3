//! The file signer: CometBFT file shapes, state on disk before a signature leaves, and the
//! refusals that prevent double signing across restarts.

use keystone_consensus_driver::privval::{
    read_key_file, write_key_file, FilePrivVal, PrivValError,
};
use keystone_consensus_types::{
    BlockId, Hash, PartSetHeader, PrivateKey, Proposal, Time, Vote, VoteType,
};

const CHAIN: &str = "keystone-test";

fn id(b: u8) -> BlockId {
    BlockId {
        hash: Hash([b; 32]),
        part_set_header: PartSetHeader {
            total: 1,
            hash: Hash([b; 32]),
        },
    }
}

struct Fx {
    _dir: tempfile::TempDir,
    key: std::path::PathBuf,
    state: std::path::PathBuf,
}

fn fixture() -> Fx {
    let dir = tempfile::tempdir().expect("tmp");
    let key = dir.path().join("priv_validator_key.json");
    let state = dir.path().join("priv_validator_state.json");
    write_key_file(&key, &PrivateKey::from_seed([5; 32])).expect("write key");
    Fx {
        _dir: dir,
        key,
        state,
    }
}

fn vote(pv: &FilePrivVal, t: VoteType, h: u64, r: u32, v: Option<BlockId>, ms: i64) -> Vote {
    Vote {
        vote_type: t,
        height: h,
        round: r,
        block_id: v,
        timestamp: Time::from_unix_millis(ms),
        validator_address: pv.address(),
        validator_index: 0,
        signature: None,
    }
}

#[test]
fn key_file_round_trips_in_cometbft_shape() {
    let fx = fixture();
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&fx.key).expect("read")).expect("json");
    assert_eq!(json["pub_key"]["type"], "tendermint/PubKeyEd25519");
    assert_eq!(json["priv_key"]["type"], "tendermint/PrivKeyEd25519");
    let key = read_key_file(&fx.key).expect("read key");
    assert_eq!(json["address"], key.public_key().address().to_string());
    assert_eq!(key.seed(), [5; 32]);
}

#[test]
fn malformed_key_files_are_clear_errors() {
    let fx = fixture();
    let mut json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&fx.key).expect("read")).expect("json");
    json["address"] = "00".repeat(20).into();
    std::fs::write(&fx.key, json.to_string()).expect("write");
    let err = read_key_file(&fx.key).expect_err("refused");
    assert!(err.to_string().contains("address does not match"), "{err}");
    std::fs::write(&fx.key, "{not json").expect("write");
    assert!(matches!(
        read_key_file(&fx.key),
        Err(PrivValError::Malformed { .. })
    ));
}

#[test]
fn signs_and_persists_before_returning() {
    let fx = fixture();
    let mut pv = FilePrivVal::load(&fx.key, &fx.state).expect("load");
    let mut v = vote(&pv, VoteType::Prevote, 3, 1, Some(id(1)), 1000);
    pv.sign_vote(CHAIN, &mut v).expect("sign");
    v.verify(CHAIN, &pv.public_key()).expect("valid signature");
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&fx.state).expect("state written")).expect("json");
    assert_eq!(json["height"], "3");
    assert_eq!(json["round"], 1);
    assert_eq!(json["step"], 2);
    assert_eq!(
        json["signbytes"].as_str().expect("hex"),
        hex::encode_upper(v.sign_bytes(CHAIN))
    );
}

#[test]
fn refuses_regressions_and_conflicts_across_restarts() {
    let fx = fixture();
    {
        let mut pv = FilePrivVal::load(&fx.key, &fx.state).expect("load");
        let mut v = vote(&pv, VoteType::Precommit, 10, 2, Some(id(1)), 1000);
        pv.sign_vote(CHAIN, &mut v).expect("sign");
    }
    // A restarted signer remembers.
    let mut pv = FilePrivVal::load(&fx.key, &fx.state).expect("reload");
    for (t, h, r) in [
        (VoteType::Precommit, 9, 5),
        (VoteType::Precommit, 10, 1),
        (VoteType::Prevote, 10, 2),
    ] {
        let mut v = vote(&pv, t, h, r, Some(id(1)), 1000);
        assert!(
            matches!(
                pv.sign_vote(CHAIN, &mut v),
                Err(PrivValError::Regression { .. })
            ),
            "{t:?} {h}/{r}"
        );
        assert!(v.signature.is_none());
    }
    // Same height/round/step, other block: conflicting.
    let mut other = vote(&pv, VoteType::Precommit, 10, 2, Some(id(2)), 1000);
    assert!(matches!(
        pv.sign_vote(CHAIN, &mut other),
        Err(PrivValError::Conflict { .. })
    ));
    let mut nil = vote(&pv, VoteType::Precommit, 10, 2, None, 1000);
    assert!(matches!(
        pv.sign_vote(CHAIN, &mut nil),
        Err(PrivValError::Conflict { .. })
    ));
    // A later step is fine.
    let mut next = vote(&pv, VoteType::Prevote, 10, 3, None, 2000);
    pv.sign_vote(CHAIN, &mut next).expect("later round");
}

#[test]
fn re_signing_the_same_vote_returns_the_stored_signature_and_timestamp() {
    let fx = fixture();
    let mut pv = FilePrivVal::load(&fx.key, &fx.state).expect("load");
    let mut first = vote(&pv, VoteType::Prevote, 4, 0, Some(id(7)), 1000);
    pv.sign_vote(CHAIN, &mut first).expect("sign");
    let mut pv = FilePrivVal::load(&fx.key, &fx.state).expect("reload");
    // After a crash the node rebuilds the vote with a new clock reading.
    let mut again = vote(&pv, VoteType::Prevote, 4, 0, Some(id(7)), 5000);
    pv.sign_vote(CHAIN, &mut again).expect("same vote");
    assert_eq!(again.timestamp, first.timestamp);
    assert_eq!(again.signature, first.signature);
}

#[test]
fn proposals_follow_the_same_rules() {
    let fx = fixture();
    let mut pv = FilePrivVal::load(&fx.key, &fx.state).expect("load");
    let mut p = Proposal {
        height: 2,
        round: 0,
        pol_round: None,
        block_id: id(3),
        timestamp: Time::from_unix_millis(10),
        signature: None,
    };
    pv.sign_proposal(CHAIN, &mut p).expect("sign");
    p.verify(CHAIN, &pv.public_key()).expect("valid");
    let mut other = Proposal {
        block_id: id(4),
        signature: None,
        ..p.clone()
    };
    assert!(matches!(
        pv.sign_proposal(CHAIN, &mut other),
        Err(PrivValError::Conflict { .. })
    ));
    // After proposing, the same round's prevote is a later step.
    let mut v = vote(&pv, VoteType::Prevote, 2, 0, Some(id(3)), 20);
    pv.sign_vote(CHAIN, &mut v).expect("prevote after proposal");
    let mut late = Proposal {
        signature: None,
        ..p
    };
    assert!(matches!(
        pv.sign_proposal(CHAIN, &mut late),
        Err(PrivValError::Regression { .. })
    ));
}

#[test]
fn a_corrupt_state_file_is_refused_not_reset() {
    let fx = fixture();
    std::fs::write(&fx.state, b"{\"height\": \"x\"").expect("write");
    assert!(matches!(
        FilePrivVal::load(&fx.key, &fx.state),
        Err(PrivValError::Malformed { .. })
    ));
}
