//! The built-in application served over the ABCI socket (what `keystone abci-server` runs) and
//! driven by an independent client, `tendermint-abci`'s: InitChain with a small genesis,
//! CheckTx of a cosmrs-signed bank send, FinalizeBlock with it, Commit, and a `/store/key`
//! query for the recipient's balance whose ICS23 proof checks against the block's app hash.
//! Any CometBFT-compatible engine speaks to the app exactly like this.

use ics23::HostFunctionsManager as H;
use keystone_app::App;
use keystone_consensus_driver::abci::Server;
use keystone_proto::abci;
use keystone_proto::prost::bytes::Bytes;
use keystone_proto::prost::Message;
use keystone_store::{proof_spec, Store};
use std::sync::mpsc;
use std::time::Duration;

// The application tests' fixtures (alice, bob, a genesis, cosmrs sends), shared rather than
// copied; this test lives here because only the binary's crate depends on both the app and
// the engine's socket server.
#[path = "../../app/tests/common/mod.rs"]
mod common;
use common::{addr, alice_key, bob, genesis_json};

const CHAIN: &str = "keystone-socket-1";

/// alice sends `amount` stake to bob on this file's chain.
fn send(sequence: u64, amount: u128) -> Vec<u8> {
    common::send(CHAIN, sequence, amount)
}

#[test]
fn the_built_in_app_over_the_socket_driven_by_tendermint_abci() {
    let dir = tempfile::tempdir().expect("tmp");
    let app = App::new(
        Store::open(dir.path().join("application.redb")).expect("store"),
        CHAIN,
        vec![],
    );
    let server = Server::bind(app, "tcp://127.0.0.1:0")
        .expect("bind")
        .spawn()
        .expect("spawn");
    let hp = server.address().to_string().replace("tcp://", "");

    // Everything on a thread with a deadline, so a protocol bug fails instead of hanging.
    let (done_tx, done_rx) = mpsc::channel();
    std::thread::spawn(move || {
        let alice = addr(&alice_key());
        let mut c = tendermint_abci::ClientBuilder::default()
            .connect(hp.as_str())
            .expect("tendermint-abci connects");

        let init = c
            .init_chain(abci::RequestInitChain {
                chain_id: CHAIN.into(),
                app_state_bytes: Bytes::from(genesis_json(&alice)),
                initial_height: 1,
                ..Default::default()
            })
            .expect("init_chain");
        assert_eq!(init.app_hash.len(), 32, "the JMT root of genesis");

        let tx = send(0, 100);
        let checked = c
            .check_tx(abci::RequestCheckTx {
                tx: Bytes::from(tx.clone()),
                r#type: 0,
            })
            .expect("check_tx");
        assert_eq!(checked.code, 0, "{}", checked.log);
        assert!(checked.gas_wanted > 0);

        let fin = c
            .finalize_block(abci::RequestFinalizeBlock {
                txs: vec![Bytes::from(tx)],
                height: 1,
                ..Default::default()
            })
            .expect("finalize_block");
        assert_eq!(fin.tx_results.len(), 1);
        assert_eq!(fin.tx_results[0].code, 0, "{}", fin.tx_results[0].log);
        assert_ne!(fin.app_hash, init.app_hash);
        c.commit().expect("commit");

        let info = c.info(abci::RequestInfo::default()).expect("info");
        assert_eq!(
            (info.last_block_height, info.last_block_app_hash.clone()),
            (1, fin.app_hash.clone())
        );

        let key = format!("bank/balances/{}/stake", bob());
        let q = c
            .query(abci::RequestQuery {
                data: Bytes::from(key.clone().into_bytes()),
                path: "/store/key".into(),
                height: 0,
                prove: true,
            })
            .expect("query");
        assert_eq!((q.code, q.height, q.value.as_ref()), (0, 1, &b"100"[..]));
        let ops = q.proof_ops.expect("a proof was asked for");
        assert_eq!(ops.ops[0].r#type, "ics23:jmt");
        let proof = ics23::CommitmentProof::decode(ops.ops[0].data.as_slice()).expect("proof");
        assert!(ics23::verify_membership::<H>(
            &proof,
            &proof_spec(),
            &fin.app_hash.to_vec(),
            key.as_bytes(),
            b"100"
        ));
        let paid = c
            .query(abci::RequestQuery {
                data: Bytes::from(format!("bank/balances/{alice}/stake").into_bytes()),
                path: "/store/key".into(),
                height: 0,
                prove: false,
            })
            .expect("query");
        assert_eq!(paid.value.as_ref(), &b"999400"[..], "100 sent, 500 fee");
        let _ = done_tx.send(());
    });
    done_rx
        .recv_timeout(Duration::from_secs(60))
        .expect("the socket session finished (no hang, no failed assertion)");
    server.shutdown();
}
