//! Transactions built and signed by `cosmrs` (a third-party client library) go through the
//! pipeline as they would through gaiad's: accepted when right, refused with the SDK's
//! codespace and code when wrong, and a refused transaction changes nothing (or, once past
//! the ante chain, only its fee and sequence).

use cosmrs::bank::MsgSend;
use cosmrs::crypto::secp256k1::SigningKey;
use cosmrs::tx::{self, Fee, Msg, SignDoc, SignerInfo};
use cosmrs::{AccountId, Coin as CCoin};
use keystone_app::tx::{run_tx, Context, GasPrice, Mode, MAX_TX_BYTES};
use keystone_modules::auth::{self, genesis::Genesis as AuthGenesis, Account};
use keystone_modules::bank::{
    self,
    genesis::{Balance, Genesis as BankGenesis, JsonCoin},
};
use keystone_modules::{Address, MemState};

const CHAIN: &str = "keystone-1";

struct Fx {
    state: MemState,
    alice_key: SigningKey,
    alice: Address,
    bob: Address,
}

fn key(seed: u8) -> SigningKey {
    SigningKey::from_slice(&[seed; 32]).expect("valid secp256k1 key")
}

fn address_of(k: &SigningKey) -> Address {
    k.public_key()
        .account_id("cosmos")
        .expect("id")
        .to_string()
        .parse()
        .expect("bech32")
}

fn fixture() -> Fx {
    let alice_key = key(7);
    let alice = address_of(&alice_key);
    let bob = address_of(&key(8));
    let mut state = MemState::default();
    AuthGenesis {
        accounts: vec![Account {
            address: alice.to_string(),
            pub_key: None,
            account_number: 0,
            sequence: 0,
            module_name: None,
        }],
        ..AuthGenesis::default()
    }
    .init(&mut state)
    .expect("auth genesis");
    BankGenesis {
        balances: vec![Balance {
            address: alice.to_string(),
            coins: vec![JsonCoin {
                denom: "stake".into(),
                amount: "1000000".into(),
            }],
        }],
        ..BankGenesis::default()
    }
    .init(&mut state)
    .expect("bank genesis");
    Fx {
        state,
        alice_key,
        alice,
        bob,
    }
}

fn coin(amount: u128, denom: &str) -> CCoin {
    CCoin {
        denom: denom.parse().expect("denom"),
        amount,
    }
}

struct TxOpts {
    chain_id: &'static str,
    account_number: u64,
    sequence: u64,
    fee: u128,
    gas: u64,
    memo: String,
}

impl Default for TxOpts {
    fn default() -> Self {
        TxOpts {
            chain_id: CHAIN,
            account_number: 0,
            sequence: 0,
            fee: 2000,
            gas: 200_000,
            memo: String::new(),
        }
    }
}

fn send_tx(fx: &Fx, to: &Address, amount: Vec<CCoin>, o: TxOpts) -> Vec<u8> {
    let msg = MsgSend {
        from_address: AccountId::new("cosmos", &fx.alice.0).expect("id"),
        to_address: AccountId::new("cosmos", &to.0).expect("id"),
        amount,
    };
    sign(&fx.alice_key, vec![msg.to_any().expect("any")], o)
}

fn sign(k: &SigningKey, msgs: Vec<cosmrs::Any>, o: TxOpts) -> Vec<u8> {
    let body = tx::Body::new(msgs, o.memo, 0u32);
    let auth_info = SignerInfo::single_direct(Some(k.public_key()), o.sequence)
        .auth_info(Fee::from_amount_and_gas(coin(o.fee, "stake"), o.gas));
    let doc = SignDoc::new(
        &body,
        &auth_info,
        &o.chain_id.parse().expect("chain id"),
        o.account_number,
    )
    .expect("sign doc");
    doc.sign(k).expect("sign").to_bytes().expect("bytes")
}

fn deliver(fx: &mut Fx, tx: &[u8]) -> keystone_app::tx::TxOutcome {
    run_tx(
        &mut fx.state,
        tx,
        &Context {
            chain_id: CHAIN,
            height: 5,
            mode: Mode::Deliver,
            min_gas_prices: &[],
            time: keystone_modules::Timestamp::EPOCH,
            verified: None,
        },
    )
}

fn code(o: &keystone_app::tx::TxOutcome) -> (&'static str, u32) {
    match &o.result {
        Ok(()) => ("", 0),
        Err(e) => (e.codespace(), e.code()),
    }
}

fn stake(fx: &Fx, a: &Address) -> u128 {
    bank::balance(&fx.state, a, "stake").expect("read")
}

#[test]
fn a_cosmrs_send_is_accepted_and_moves_funds() {
    let mut fx = fixture();
    let tx = send_tx(
        &fx,
        &fx.bob.clone(),
        vec![coin(100, "stake")],
        TxOpts::default(),
    );
    let out = deliver(&mut fx, &tx);
    assert_eq!(out.result, Ok(()), "{out:?}");
    assert_eq!(out.gas_wanted, 200_000);
    assert!(
        out.gas_used > 10_000 && out.gas_used < 200_000,
        "{}",
        out.gas_used
    );
    assert_eq!(stake(&fx, &fx.bob), 100);
    assert_eq!(stake(&fx, &fx.alice), 1_000_000 - 100 - 2000);
    assert_eq!(stake(&fx, &Address::module(auth::FEE_COLLECTOR)), 2000);
    let acc = auth::account(&fx.state, &fx.alice)
        .expect("read")
        .expect("exists");
    assert_eq!(acc.sequence, 1);
    assert!(acc.pub_key.is_some(), "public key set on first use");
    assert!(bank::check_supply_invariant(&fx.state).expect("check"));
    // The next one needs sequence 1; replaying sequence 0 is refused.
    let replay = deliver(&mut fx, &tx);
    assert_eq!(code(&replay), ("sdk", 32));
    assert_eq!(
        replay.result.expect_err("replay").to_string(),
        "account sequence mismatch, expected 1, got 0: incorrect account sequence"
    );
    let next = send_tx(
        &fx,
        &fx.bob.clone(),
        vec![coin(1, "stake")],
        TxOpts {
            sequence: 1,
            ..TxOpts::default()
        },
    );
    assert_eq!(deliver(&mut fx, &next).result, Ok(()));
}

#[test]
fn refused_before_the_messages_means_no_change_at_all() {
    let fx0 = fixture();
    let bob = fx0.bob;
    let cases: Vec<(&str, Vec<u8>, (&str, u32))> = vec![
        (
            "wrong chain id",
            send_tx(
                &fx0,
                &bob,
                vec![coin(1, "stake")],
                TxOpts {
                    chain_id: "other-chain",
                    ..TxOpts::default()
                },
            ),
            ("sdk", 4),
        ),
        (
            "wrong account number",
            send_tx(
                &fx0,
                &bob,
                vec![coin(1, "stake")],
                TxOpts {
                    account_number: 9,
                    ..TxOpts::default()
                },
            ),
            ("sdk", 4),
        ),
        (
            "wrong sequence",
            send_tx(
                &fx0,
                &bob,
                vec![coin(1, "stake")],
                TxOpts {
                    sequence: 3,
                    ..TxOpts::default()
                },
            ),
            ("sdk", 32),
        ),
        (
            "fee above the balance",
            send_tx(
                &fx0,
                &bob,
                vec![coin(1, "stake")],
                TxOpts {
                    fee: 5_000_000,
                    ..TxOpts::default()
                },
            ),
            ("sdk", 5),
        ),
        (
            "memo too long",
            send_tx(
                &fx0,
                &bob,
                vec![coin(1, "stake")],
                TxOpts {
                    memo: "x".repeat(257),
                    ..TxOpts::default()
                },
            ),
            ("sdk", 12),
        ),
        (
            "out of gas in the ante chain",
            send_tx(
                &fx0,
                &bob,
                vec![coin(1, "stake")],
                TxOpts {
                    gas: 1000,
                    ..TxOpts::default()
                },
            ),
            ("sdk", 11),
        ),
        ("malformed bytes", vec![0xff, 0x01, 0x02], ("sdk", 2)),
        ("oversized", vec![0u8; MAX_TX_BYTES + 1], ("sdk", 21)),
    ];
    for (name, tx, want) in cases {
        let mut fx = fixture();
        let before = fx.state.clone();
        let out = deliver(&mut fx, &tx);
        assert_eq!(code(&out), want, "{name}: {:?}", out.result);
        assert_eq!(fx.state, before, "{name} changed state");
    }
}

#[test]
fn a_bad_signature_is_unauthorized() {
    let mut fx = fixture();
    let mut tx = send_tx(
        &fx,
        &fx.bob.clone(),
        vec![coin(1, "stake")],
        TxOpts::default(),
    );
    let n = tx.len();
    tx[n - 5] ^= 0x01; // inside the signature, the last field of TxRaw
    let before = fx.state.clone();
    let out = deliver(&mut fx, &tx);
    assert_eq!(code(&out), ("sdk", 4));
    assert!(out
        .result
        .expect_err("bad sig")
        .to_string()
        .starts_with("signature verification failed"));
    assert_eq!(fx.state, before);
}

#[test]
fn a_key_that_is_not_the_signers_is_refused() {
    let mut fx = fixture();
    let mallory = key(9);
    let msg = MsgSend {
        from_address: AccountId::new("cosmos", &fx.alice.0).expect("id"),
        to_address: AccountId::new("cosmos", &fx.bob.0).expect("id"),
        amount: vec![coin(1, "stake")],
    };
    let tx = sign(
        &mallory,
        vec![msg.to_any().expect("any")],
        TxOpts::default(),
    );
    let out = deliver(&mut fx, &tx);
    assert_eq!(code(&out), ("sdk", 8));
}

#[test]
fn a_failing_message_keeps_fee_and_sequence_and_loses_its_writes() {
    let mut fx = fixture();
    // More stake than alice has, after the fee.
    let tx = send_tx(
        &fx,
        &fx.bob.clone(),
        vec![coin(999_000, "stake")],
        TxOpts::default(),
    );
    let out = deliver(&mut fx, &tx);
    assert_eq!(code(&out), ("sdk", 5));
    assert_eq!(stake(&fx, &fx.alice), 1_000_000 - 2000, "fee paid");
    assert_eq!(stake(&fx, &fx.bob), 0, "no transfer");
    assert_eq!(
        auth::account(&fx.state, &fx.alice)
            .expect("read")
            .expect("acc")
            .sequence,
        1
    );
}

/// An amount past what any balance can hold (2^128, which cosmrs's own `u128` cannot even
/// express, so the message is built from the SDK protobuf directly) is refused as invalid
/// coins, not wrapped.
#[test]
fn an_overflowing_amount_is_invalid_coins() {
    use prost::Message as _;
    let mut fx = fixture();
    let msg = cosmrs::proto::cosmos::bank::v1beta1::MsgSend {
        from_address: fx.alice.to_string(),
        to_address: fx.bob.to_string(),
        amount: vec![cosmrs::proto::cosmos::base::v1beta1::Coin {
            denom: "stake".into(),
            amount: "340282366920938463463374607431768211456".into(),
        }],
    };
    let any = cosmrs::Any {
        type_url: "/cosmos.bank.v1beta1.MsgSend".into(),
        value: msg.encode_to_vec(),
    };
    let tx = sign(&fx.alice_key, vec![any], TxOpts::default());
    let before = fx.state.clone();
    let out = deliver(&mut fx, &tx);
    assert_eq!(code(&out), ("sdk", 10), "{:?}", out.result);
    assert_eq!(fx.state, before);
}

#[test]
fn unknown_message_types_are_decode_errors() {
    let mut fx = fixture();
    let vote = cosmrs::Any {
        type_url: "/cosmos.gov.v1beta1.MsgVote".into(),
        value: Vec::new(),
    };
    let tx = sign(&fx.alice_key, vec![vote], TxOpts::default());
    let out = deliver(&mut fx, &tx);
    assert_eq!(code(&out), ("sdk", 2));
    assert!(out
        .result
        .expect_err("unknown")
        .to_string()
        .contains("/cosmos.gov.v1beta1.MsgVote"));
}

/// A delegation built and signed by cosmrs decodes; to a validator that does not exist it
/// fails with staking's error, keeping only the fee and the sequence bump.
#[test]
fn a_cosmrs_delegation_to_an_unknown_validator_fails_cleanly() {
    let mut fx = fixture();
    let delegate = cosmrs::staking::MsgDelegate {
        delegator_address: AccountId::new("cosmos", &fx.alice.0).expect("id"),
        validator_address: AccountId::new("cosmosvaloper", &[3; 20]).expect("id"),
        amount: coin(1, "stake"),
    };
    let tx = sign(
        &fx.alice_key,
        vec![delegate.to_any().expect("any")],
        TxOpts::default(),
    );
    let before = stake(&fx, &fx.alice.clone());
    let out = deliver(&mut fx, &tx);
    assert_eq!(code(&out), ("staking", 3), "{:?}", out.result);
    assert!(out
        .result
        .expect_err("unknown validator")
        .to_string()
        .contains("validator does not exist"));
    let fee = TxOpts::default().fee;
    assert_eq!(
        stake(&fx, &fx.alice.clone()),
        before - fee,
        "only the fee is gone"
    );
    assert!(
        keystone_modules::staking::delegations_of(&fx.state, &fx.alice)
            .expect("read")
            .is_empty()
    );
}

#[test]
fn check_tx_enforces_minimum_gas_prices_and_simulate_reports_gas() {
    let mut fx = fixture();
    let prices: Vec<GasPrice> = vec!["0.025stake".parse().expect("price")];
    let cheap = send_tx(
        &fx,
        &fx.bob.clone(),
        vec![coin(1, "stake")],
        TxOpts {
            fee: 100,
            ..TxOpts::default()
        },
    );
    let out = run_tx(
        &mut fx.state,
        &cheap,
        &Context {
            chain_id: CHAIN,
            height: 1,
            mode: Mode::Check,
            min_gas_prices: &prices,
            time: keystone_modules::Timestamp::EPOCH,
            verified: None,
        },
    );
    assert_eq!(code(&out), ("sdk", 13));
    let ok = send_tx(
        &fx,
        &fx.bob.clone(),
        vec![coin(1, "stake")],
        TxOpts {
            fee: 5000,
            ..TxOpts::default()
        },
    );
    let out = run_tx(
        &mut fx.state,
        &ok,
        &Context {
            chain_id: CHAIN,
            height: 1,
            mode: Mode::Check,
            min_gas_prices: &prices,
            time: keystone_modules::Timestamp::EPOCH,
            verified: None,
        },
    );
    assert_eq!(out.result, Ok(()));
    // Simulation with a zero gas limit still runs and reports what it used.
    let mut fx = fixture();
    let sim = send_tx(
        &fx,
        &fx.bob.clone(),
        vec![coin(1, "stake")],
        TxOpts {
            gas: 0,
            ..TxOpts::default()
        },
    );
    let out = run_tx(
        &mut fx.state,
        &sim,
        &Context {
            chain_id: CHAIN,
            height: 1,
            mode: Mode::Simulate,
            min_gas_prices: &[],
            time: keystone_modules::Timestamp::EPOCH,
            verified: None,
        },
    );
    assert_eq!(out.result, Ok(()));
    assert!(out.gas_used > 10_000);
}

/// `(type, key, value)` of every attribute, in order.
fn flat(o: &keystone_app::tx::TxOutcome) -> Vec<(String, String, String)> {
    o.events
        .iter()
        .flat_map(|e| {
            e.attributes
                .iter()
                .map(|(k, v)| (e.kind.clone(), k.clone(), v.clone()))
        })
        .collect()
}

#[test]
fn events_are_the_sdks_and_a_failed_message_keeps_only_the_ante_events() {
    let mut fx = fixture();
    let (alice, bob) = (fx.alice.to_string(), fx.bob.to_string());
    let fee_collector = Address::module(auth::FEE_COLLECTOR).to_string();
    let tx = send_tx(
        &fx,
        &fx.bob.clone(),
        vec![coin(100, "stake")],
        TxOpts::default(),
    );
    let out = deliver(&mut fx, &tx);
    assert_eq!(code(&out), ("", 0));
    let ev = flat(&out);
    let has = |t: &str, k: &str, v: &str| {
        ev.iter()
            .any(|e| (e.0.as_str(), e.1.as_str(), e.2.as_str()) == (t, k, v))
    };
    // The ante chain: the fee moved to the fee collector, then the tx's own records.
    assert!(has("transfer", "recipient", &fee_collector));
    assert!(has("tx", "fee", "2000stake"));
    assert!(has("tx", "fee_payer", &alice));
    assert!(has("tx", "acc_seq", &format!("{alice}/0")));
    assert!(ev
        .iter()
        .any(|e| e.0 == "tx" && e.1 == "signature" && !e.2.is_empty()));
    // The message, tagged with its index.
    assert!(has("message", "action", "/cosmos.bank.v1beta1.MsgSend"));
    assert!(has("message", "module", "bank"));
    assert!(has("message", "sender", &alice));
    assert!(has("transfer", "recipient", &bob));
    assert!(has("transfer", "amount", "100stake"));
    assert!(has("coin_received", "receiver", &bob));
    let msg_transfer = out
        .events
        .iter()
        .find(|e| e.kind == "transfer" && e.attributes.iter().any(|(_, v)| v == &bob))
        .expect("the message's transfer");
    assert!(msg_transfer
        .attributes
        .contains(&("msg_index".into(), "0".into())));

    // More than the balance: the fee is paid (its events stay), the message's are gone.
    let tx = send_tx(
        &fx,
        &fx.bob.clone(),
        vec![coin(10_000_000, "stake")],
        TxOpts {
            sequence: 1,
            ..TxOpts::default()
        },
    );
    let out = deliver(&mut fx, &tx);
    assert_eq!(code(&out), ("sdk", 5));
    let ev = flat(&out);
    assert!(ev
        .iter()
        .any(|e| e.0 == "tx" && e.1 == "acc_seq" && e.2 == format!("{alice}/1")));
    assert!(
        !ev.iter().any(|e| e.0 == "message" && e.1 == "action"),
        "{ev:?}"
    );
    assert!(
        !ev.iter().any(|e| e.2 == bob),
        "nothing reached bob: {ev:?}"
    );

    // Refused in the ante chain (wrong sequence): no events at all.
    let tx = send_tx(
        &fx,
        &fx.bob.clone(),
        vec![coin(1, "stake")],
        TxOpts::default(),
    );
    let out = deliver(&mut fx, &tx);
    assert_eq!(code(&out), ("sdk", 32));
    assert!(out.events.is_empty());
}

/// A gas limit past int64 is refused before anything runs (the SDK's `Tx.ValidateBasic`):
/// CometBFT sums gas wanted as int64 against the block's `max_gas`, where it would wrap.
#[test]
fn a_gas_limit_past_int64_is_refused_in_check_tx() {
    let mut fx = fixture();
    let bob = fx.bob;
    let before = fx.state.clone();
    for gas in [i64::MAX as u64 + 1, u64::MAX] {
        let tx = send_tx(
            &fx,
            &bob,
            vec![coin(1, "stake")],
            TxOpts {
                gas,
                ..TxOpts::default()
            },
        );
        let out = run_tx(
            &mut fx.state,
            &tx,
            &Context {
                chain_id: CHAIN,
                height: 1,
                mode: Mode::Check,
                min_gas_prices: &[],
                time: keystone_modules::Timestamp::EPOCH,
                verified: None,
            },
        );
        assert_eq!(code(&out), ("sdk", 18), "gas {gas}");
        let log = out.result.expect_err("refused").to_string();
        assert!(log.contains("invalid gas supplied"), "{log}");
    }
    assert!(fx.state == before, "nothing written");
}
