//! The built-in application through its ABCI 2.0 interface, on a real redb store: genesis,
//! CheckTx, FinalizeBlock with a cosmrs-signed transaction, Commit, Info after a restart, and
//! `/store/key` queries whose ICS23 proofs verify against the app hash.

use ics23::HostFunctionsManager as H;
use keystone_app::App;
use keystone_modules::Address;
use keystone_proto::abci;
use keystone_proto::prost::bytes::Bytes;
use keystone_proto::prost::Message;
use keystone_proto::Application;
use keystone_store::{proof_spec, Store};

mod common;
use common::{addr, alice_key, bob, genesis_json};

const CHAIN: &str = "keystone-1";

/// alice sends `amount` stake to bob on this file's chain.
fn send(sequence: u64, amount: u128) -> Vec<u8> {
    common::send(CHAIN, sequence, amount)
}

fn open(dir: &tempfile::TempDir) -> App {
    App::new(
        Store::open(dir.path().join("application.redb")).expect("store"),
        CHAIN,
        vec![],
    )
}

fn query(app: &App, key: &str) -> abci::ResponseQuery {
    app.query(abci::RequestQuery {
        data: Bytes::from(key.as_bytes().to_vec()),
        path: "/store/key".into(),
        height: 0,
        prove: true,
    })
    .expect("query")
}

fn proof(q: &abci::ResponseQuery) -> ics23::CommitmentProof {
    let ops = q.proof_ops.as_ref().expect("proof requested");
    assert_eq!(ops.ops[0].r#type, "ics23:jmt");
    ics23::CommitmentProof::decode(ops.ops[0].data.as_slice()).expect("proof bytes")
}

#[test]
fn genesis_block_commit_query_and_restart() {
    let dir = tempfile::tempdir().expect("tmp");
    let alice = addr(&alice_key());
    let mut app = open(&dir);
    let init = app
        .init_chain(abci::RequestInitChain {
            chain_id: CHAIN.into(),
            app_state_bytes: Bytes::from(genesis_json(&alice)),
            initial_height: 1,
            ..Default::default()
        })
        .expect("init");
    let genesis_hash = init.app_hash.clone();
    assert_eq!(genesis_hash.len(), 32);
    let info = app.info(abci::RequestInfo::default()).expect("info");
    assert_eq!(
        (info.last_block_height, info.last_block_app_hash.clone()),
        (0, genesis_hash.clone())
    );

    // The mempool admits the tx once; its check state then expects sequence 1.
    let tx = send(0, 100);
    let ok = app
        .check_tx(abci::RequestCheckTx {
            tx: Bytes::from(tx.clone()),
            r#type: 0,
        })
        .expect("check");
    assert_eq!(ok.code, 0, "{}", ok.log);
    let again = app
        .check_tx(abci::RequestCheckTx {
            tx: Bytes::from(tx.clone()),
            r#type: 0,
        })
        .expect("check");
    assert_eq!((again.code, again.codespace.as_str()), (32, "sdk"));

    // Block 1: the send and a malformed tx; the block commits either way.
    let fin = app
        .finalize_block(abci::RequestFinalizeBlock {
            txs: vec![Bytes::from(tx), Bytes::from_static(b"garbage")],
            height: 1,
            ..Default::default()
        })
        .expect("finalize");
    assert_eq!(fin.tx_results[0].code, 0, "{}", fin.tx_results[0].log);
    // Its data is the SDK's TxMsgData: one MsgSendResponse (what cosmjs's msgResponses reads).
    let data = cosmrs::proto::cosmos::base::abci::v1beta1::TxMsgData::decode(
        fin.tx_results[0].data.as_ref(),
    )
    .expect("TxMsgData");
    let types: Vec<&str> = data
        .msg_responses
        .iter()
        .map(|a| a.type_url.as_str())
        .collect();
    assert_eq!(types, ["/cosmos.bank.v1beta1.MsgSendResponse"]);
    assert_eq!(fin.tx_results[1].code, 2);
    assert!(
        fin.tx_results[1].data.is_empty(),
        "a failed tx carries no data"
    );
    assert_ne!(fin.app_hash, genesis_hash);
    assert_eq!(
        app.info(abci::RequestInfo::default())
            .expect("info")
            .last_block_height,
        0,
        "not yet committed"
    );
    app.commit().expect("commit");
    assert!(
        app.commit().is_err(),
        "a second Commit without FinalizeBlock is an error"
    );

    // Provable state at height 1, against the app hash of block 1.
    let root = fin.app_hash.to_vec();
    let key = format!("bank/balances/{}/stake", bob());
    let q = query(&app, &key);
    assert_eq!((q.code, q.height, q.value.as_ref()), (0, 1, &b"100"[..]));
    assert!(ics23::verify_membership::<H>(
        &proof(&q),
        &proof_spec(),
        &root,
        key.as_bytes(),
        b"100"
    ));
    let absent = format!("bank/balances/{}/uatom", bob());
    let q = query(&app, &absent);
    assert!(q.value.is_empty());
    assert!(ics23::verify_non_membership::<H>(
        &proof(&q),
        &proof_spec(),
        &root,
        absent.as_bytes()
    ));
    let paid = query(&app, &format!("bank/balances/{alice}/stake"));
    assert_eq!(paid.value.as_ref(), &b"999400"[..], "100 sent, 500 fee");

    // Restart: the handshake's Info reports the committed height and hash.
    drop(app);
    let app = open(&dir);
    let info = app.info(abci::RequestInfo::default()).expect("info");
    assert_eq!(
        (info.last_block_height, info.last_block_app_hash.to_vec()),
        (1, root)
    );
    let bad = app
        .query(abci::RequestQuery {
            path: "/no/such/path".into(),
            ..Default::default()
        })
        .expect("query");
    assert_ne!(bad.code, 0);
    let future = app
        .query(abci::RequestQuery {
            path: "/store/key".into(),
            height: 99,
            data: Bytes::from_static(b"k"),
            prove: false,
        })
        .expect("query");
    assert_eq!(future.code, 26);
}

#[test]
fn init_chain_twice_with_the_same_genesis_is_accepted() {
    let dir = tempfile::tempdir().expect("tmp");
    let alice = addr(&alice_key());
    let req = abci::RequestInitChain {
        chain_id: CHAIN.into(),
        app_state_bytes: Bytes::from(genesis_json(&alice)),
        initial_height: 1,
        ..Default::default()
    };
    let first = open(&dir).init_chain(req.clone()).expect("init");
    let second = open(&dir)
        .init_chain(req)
        .expect("init again after a crash");
    assert_eq!(first.app_hash, second.app_hash);
    let other = abci::RequestInitChain {
        chain_id: CHAIN.into(),
        app_state_bytes: Bytes::from(genesis_json(&Address([1; 20]))),
        initial_height: 1,
        ..Default::default()
    };
    assert!(
        open(&dir).init_chain(other).is_err(),
        "a different genesis is refused"
    );
    let garbage = abci::RequestInitChain {
        app_state_bytes: Bytes::from_static(b"{not json"),
        ..Default::default()
    };
    assert!(open(&tempfile::tempdir().expect("tmp"))
        .init_chain(garbage)
        .is_err());
}

#[test]
fn consensus_params_are_kept_and_a_chain_without_staked_validators_runs_its_begin_block() {
    use keystone_proto::types as pb;
    let dir = tempfile::tempdir().expect("tmp");
    let alice = addr(&alice_key());
    let mut app = open(&dir);
    let params = pb::ConsensusParams {
        evidence: Some(pb::EvidenceParams {
            max_age_num_blocks: 7,
            max_age_duration: Some(keystone_proto::tm::google::protobuf::Duration {
                seconds: 30,
                nanos: 0,
            }),
            max_bytes: 1000,
        }),
        ..Default::default()
    };
    // A supply whose 13 % a year comes to whole tokens per block.
    let mut state: serde_json::Value = serde_json::from_slice(&genesis_json(&alice)).expect("json");
    state["bank"]["balances"][0]["coins"][0]["amount"] = "100000000000000".into();
    app.init_chain(abci::RequestInitChain {
        chain_id: CHAIN.into(),
        app_state_bytes: Bytes::from(state.to_string().into_bytes()),
        initial_height: 1,
        consensus_params: Some(params.clone()),
        ..Default::default()
    })
    .expect("init");
    let stored = query(&app, "consensus/params");
    assert_eq!(
        pb::ConsensusParams::decode(stored.value.as_ref()).expect("protobuf"),
        params,
        "InitChain's params are in state, as the SDK's x/consensus keeps them"
    );

    // Validators from the genesis document only (no gentx): their votes and a double sign
    // of theirs have no stake behind them; the block runs, and what mint provides goes to
    // the community pool.
    let stranger = abci::Validator {
        address: Bytes::from(vec![9u8; 20]),
        power: 10,
    };
    for height in 1..=2 {
        let fin = app
            .finalize_block(abci::RequestFinalizeBlock {
                height,
                time: Some(keystone_proto::Timestamp {
                    seconds: 1_700_000_000 + height,
                    nanos: 0,
                }),
                decided_last_commit: Some(abci::CommitInfo {
                    round: 0,
                    votes: vec![abci::VoteInfo {
                        validator: Some(stranger.clone()),
                        block_id_flag: keystone_proto::types::BlockIdFlag::Absent as i32,
                    }],
                }),
                misbehavior: vec![abci::Misbehavior {
                    r#type: abci::MisbehaviorType::DuplicateVote as i32,
                    validator: Some(stranger.clone()),
                    height: 1,
                    time: Some(keystone_proto::Timestamp {
                        seconds: 1_700_000_000,
                        nanos: 0,
                    }),
                    total_voting_power: 10,
                }],
                ..Default::default()
            })
            .expect("the block runs");
        assert!(
            fin.events.iter().any(|e| e.r#type == "mint"),
            "mint's begin block ran: {:?}",
            fin.events
        );
        app.commit().expect("commit");
    }
    let pool = query(&app, "distribution/fee_pool");
    let pool: serde_json::Value = serde_json::from_slice(&pool.value).expect("json");
    let amount = pool["community_pool"][0]["amount"]
        .as_str()
        .unwrap_or_else(|| panic!("community pool: {pool}"));
    assert!(
        !amount.starts_with('0'),
        "height 2 allocated block 1's provision to the pool: {pool}"
    );
}

#[test]
fn each_signature_is_verified_once_per_node() {
    let dir = tempfile::tempdir().expect("tmp");
    let alice = addr(&alice_key());
    let mut app = open(&dir);
    app.init_chain(abci::RequestInitChain {
        chain_id: CHAIN.into(),
        app_state_bytes: Bytes::from(genesis_json(&alice)),
        initial_height: 1,
        ..Default::default()
    })
    .expect("init");
    let check = |app: &mut App, tx: &[u8]| {
        let r = app
            .check_tx(abci::RequestCheckTx {
                tx: Bytes::copy_from_slice(tx),
                r#type: 0,
            })
            .expect("check");
        assert_eq!(r.code, 0, "{}", r.log);
    };
    let finalize = |app: &mut App, height: i64, txs: Vec<Vec<u8>>| {
        let fin = app
            .finalize_block(abci::RequestFinalizeBlock {
                txs: txs.into_iter().map(Bytes::from).collect(),
                height,
                ..Default::default()
            })
            .expect("finalize");
        for r in &fin.tx_results {
            assert_eq!(r.code, 0, "{}", r.log);
        }
        app.commit().expect("commit");
        fin
    };

    // CheckTx verifies; the same transaction in the block is not verified again.
    let first = send(0, 100);
    check(&mut app, &first);
    let s = app.signature_stats();
    assert_eq!((s.verified, s.hits), (1, 0));
    let fin = finalize(&mut app, 1, vec![first]);
    let s = app.signature_stats();
    // Found twice: by the pass over the block's signatures, and by the transaction's run.
    assert_eq!((s.verified, s.hits), (1, 2), "the block found it verified");
    // Gas is charged for the check all the same.
    let uncached = {
        let dir = tempfile::tempdir().expect("tmp");
        let mut fresh = open(&dir);
        fresh
            .init_chain(abci::RequestInitChain {
                chain_id: CHAIN.into(),
                app_state_bytes: Bytes::from(genesis_json(&alice)),
                initial_height: 1,
                ..Default::default()
            })
            .expect("init");
        finalize(&mut fresh, 1, vec![send(0, 100)])
    };
    assert_eq!(fin.tx_results, uncached.tx_results);
    assert_eq!(fin.app_hash, uncached.app_hash);

    // Another sequence signs other bytes: verified.
    check(&mut app, &send(1, 7));
    assert_eq!(app.signature_stats().verified, 2);

    // A block of transactions never checked here: verified once each before the block runs
    // (across cores), found verified as each then runs in order.
    let before = app.signature_stats();
    let txs: Vec<Vec<u8>> = (1..=20).map(|seq| send(seq, 7)).collect();
    finalize(&mut app, 2, txs);
    let after = app.signature_stats();
    // Sequence 1 was checked above (a hit in the pass); the other 19 are new. Each of the
    // 20 runs then finds its signature verified.
    assert_eq!(after.verified - before.verified, 19);
    assert_eq!(after.hits - before.hits, 1 + 20);
}
