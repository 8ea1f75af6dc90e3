//! The built-in application served over the ABCI socket (what `keystone abci-server` runs) and
//! driven by an independent client, `tendermint-abci`'s: InitChain with a small genesis,
//! CheckTx of a cosmrs-signed bank send, FinalizeBlock with it, Commit, and a `/store/key`
//! query for the recipient's balance whose ICS23 proof checks against the block's app hash.
//! Any CometBFT-compatible engine speaks to the app exactly like this.

use cosmrs::bank::MsgSend;
use cosmrs::crypto::secp256k1::SigningKey;
use cosmrs::tx::{self, Fee, Msg, SignDoc, SignerInfo};
use cosmrs::{AccountId, Coin};
use ics23::HostFunctionsManager as H;
use keystone_app::App;
use keystone_consensus_driver::abci::Server;
use keystone_modules::Address;
use keystone_proto::abci;
use keystone_proto::prost::bytes::Bytes;
use keystone_proto::prost::Message;
use keystone_store::{proof_spec, Store};
use std::sync::mpsc;
use std::time::Duration;

const CHAIN: &str = "keystone-socket-1";

fn alice_key() -> SigningKey {
    SigningKey::from_slice(&[7; 32]).expect("key")
}

fn addr(k: &SigningKey) -> Address {
    k.public_key()
        .account_id("cosmos")
        .expect("id")
        .to_string()
        .parse()
        .expect("bech32")
}

fn bob() -> Address {
    Address([0xb0; 20])
}

fn genesis_json(alice: &Address) -> Vec<u8> {
    serde_json::json!({
        "auth": {"params": {
            "max_memo_characters": "256", "tx_sig_limit": "7", "tx_size_cost_per_byte": "10",
            "sig_verify_cost_ed25519": "590", "sig_verify_cost_secp256k1": "1000"
        }, "accounts": []},
        "bank": {"params": {"send_enabled": [], "default_send_enabled": true},
                 "balances": [{"address": alice.to_string(), "coins": [{"denom": "stake", "amount": "1000000"}]}],
                 "supply": []}
    })
    .to_string()
    .into_bytes()
}

/// alice sends `amount` stake to bob, signed SIGN_MODE_DIRECT by cosmrs.
fn send(sequence: u64, amount: u128) -> Vec<u8> {
    let k = alice_key();
    let msg = MsgSend {
        from_address: AccountId::new("cosmos", &addr(&k).0).expect("id"),
        to_address: AccountId::new("cosmos", &bob().0).expect("id"),
        amount: vec![Coin {
            denom: "stake".parse().expect("denom"),
            amount,
        }],
    };
    let body = tx::Body::new(vec![msg.to_any().expect("any")], "", 0u32);
    let auth_info = SignerInfo::single_direct(Some(k.public_key()), sequence).auth_info(
        Fee::from_amount_and_gas(
            Coin {
                denom: "stake".parse().expect("denom"),
                amount: 500,
            },
            200_000u64,
        ),
    );
    // alice is the only genesis account: account number 0.
    let doc = SignDoc::new(&body, &auth_info, &CHAIN.parse().expect("chain"), 0).expect("doc");
    doc.sign(&k).expect("sign").to_bytes().expect("bytes")
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
