//! The Cosmos gRPC query paths over ABCI `Query`, as cosmjs and cosmrs ask them: a chain built
//! through the real `App` (InitChain with two funded accounts, then cosmrs-signed blocks that
//! create two validators, undelegate and redelegate), each path asked with `cosmos_sdk_proto`
//! requests and its protobuf answer checked value by value, then the refusals.

use cosmos_sdk_proto::cosmos::auth::v1beta1 as authpb;
use cosmos_sdk_proto::cosmos::bank::v1beta1 as bankpb;
use cosmos_sdk_proto::cosmos::base::v1beta1::Coin as PCoin;
use cosmos_sdk_proto::cosmos::staking::v1beta1 as stakingpb;
use cosmos_sdk_proto::Any;
use cosmrs::crypto::secp256k1::SigningKey;
use cosmrs::tx::{self, Fee, SignDoc, SignerInfo};
use keystone_app::App;
use keystone_modules::{Address, Dec};
use keystone_proto::abci;
use keystone_proto::prost::bytes::Bytes;
use keystone_proto::prost::Message;
use keystone_proto::Application;
use keystone_store::Store;

const CHAIN: &str = "keystone-grpc";

fn key(seed: u8) -> SigningKey {
    SigningKey::from_slice(&[seed; 32]).expect("key")
}

fn addr(k: &SigningKey) -> Address {
    Address(
        k.public_key()
            .account_id("cosmos")
            .expect("id")
            .to_bytes()
            .try_into()
            .expect("20 bytes"),
    )
}

fn coin(amount: u128) -> PCoin {
    PCoin {
        denom: "stake".into(),
        amount: amount.to_string(),
    }
}

fn any(type_url: &str, m: &impl Message) -> Any {
    Any {
        type_url: type_url.into(),
        value: m.encode_to_vec(),
    }
}

fn ask(app: &App, path: &str, req: &impl Message) -> abci::ResponseQuery {
    ask_raw(app, path, req.encode_to_vec())
}

fn ask_raw(app: &App, path: &str, data: Vec<u8>) -> abci::ResponseQuery {
    app.query(abci::RequestQuery {
        data: Bytes::from(data),
        path: path.into(),
        height: 0,
        prove: false,
    })
    .expect("query")
}

fn ok<T: Message + Default>(app: &App, path: &str, req: &impl Message) -> T {
    let r = ask(app, path, req);
    assert_eq!(r.code, 0, "{path}: {}", r.log);
    T::decode(r.value.as_ref()).expect("protobuf answer")
}

fn account(app: &App, a: &Address) -> authpb::BaseAccount {
    let r: authpb::QueryAccountResponse = ok(
        app,
        "/cosmos.auth.v1beta1.Query/Account",
        &authpb::QueryAccountRequest {
            address: a.to_string(),
        },
    );
    let any = r.account.expect("account");
    assert_eq!(any.type_url, "/cosmos.auth.v1beta1.BaseAccount");
    authpb::BaseAccount::decode(any.value.as_slice()).expect("BaseAccount")
}

/// A transaction of `msgs` signed by `k` with its account's number and sequence, which it
/// learns the way cosmjs does: through the `Account` query.
fn signed(app: &App, k: &SigningKey, msgs: Vec<Any>) -> Bytes {
    let acc = account(app, &addr(k));
    let body = tx::Body::new(msgs, "", 0u32);
    let auth_info = SignerInfo::single_direct(Some(k.public_key()), acc.sequence).auth_info(
        Fee::from_amount_and_gas(
            cosmrs::Coin {
                denom: "stake".parse().expect("denom"),
                amount: 500,
            },
            1_000_000u64,
        ),
    );
    let doc = SignDoc::new(
        &body,
        &auth_info,
        &CHAIN.parse().expect("chain"),
        acc.account_number,
    )
    .expect("doc");
    Bytes::from(doc.sign(k).expect("sign").to_bytes().expect("bytes"))
}

fn block(app: &mut App, height: i64, txs: Vec<Bytes>) {
    let fin = app
        .finalize_block(abci::RequestFinalizeBlock {
            txs,
            height,
            time: Some(keystone_proto::Timestamp {
                seconds: 1_767_225_600 + 5 * height,
                nanos: 0,
            }),
            ..Default::default()
        })
        .expect("finalize");
    for r in &fin.tx_results {
        assert_eq!(r.code, 0, "block {height}: {}", r.log);
    }
    app.commit().expect("commit");
}

fn create_validator(k: &SigningKey, cons_seed: u8, amount: u128, rate: &str) -> Any {
    let op = addr(k);
    #[allow(deprecated)] // the deprecated delegator address is left empty, as the SDK does
    let msg = stakingpb::MsgCreateValidator {
        description: Some(stakingpb::Description {
            moniker: format!("validator-{cons_seed}"),
            ..Default::default()
        }),
        commission: Some(stakingpb::CommissionRates {
            rate: rate.into(),
            max_rate: "200000000000000000".into(),
            max_change_rate: "10000000000000000".into(),
        }),
        min_self_delegation: "1".into(),
        delegator_address: String::new(),
        validator_address: op.to_valoper(),
        pubkey: Some(any(
            "/cosmos.crypto.ed25519.PubKey",
            &cosmos_sdk_proto::cosmos::crypto::ed25519::PubKey {
                key: vec![cons_seed; 32],
            },
        )),
        value: Some(coin(amount)),
    };
    any("/cosmos.staking.v1beta1.MsgCreateValidator", &msg)
}

struct Chain {
    app: App,
    alice: Address,
    carol: Address,
    _dir: tempfile::TempDir,
}

/// alice (validator at 5 % with 3 000 000) and carol (validator at 10 % with 2 000 000); then
/// alice undelegates 100 000 of her own and redelegates 200 000 to carol.
fn chain() -> Chain {
    let dir = tempfile::tempdir().expect("tmp");
    let (ka, kc) = (key(7), key(9));
    let (alice, carol) = (addr(&ka), addr(&kc));
    let mut app = App::new(
        Store::open(dir.path().join("grpc.redb")).expect("store"),
        CHAIN,
        vec![],
    );
    let funded = |a: &Address| serde_json::json!({"address": a.to_string(), "coins": [{"denom": "stake", "amount": "10000000"}]});
    let genesis = serde_json::json!({
        "bank": {"params": {"send_enabled": [], "default_send_enabled": true},
                 "balances": [funded(&alice), funded(&carol)], "supply": []}
    });
    app.init_chain(abci::RequestInitChain {
        chain_id: CHAIN.into(),
        app_state_bytes: Bytes::from(genesis.to_string().into_bytes()),
        initial_height: 1,
        ..Default::default()
    })
    .expect("init");
    let txs = vec![
        signed(
            &app,
            &ka,
            vec![create_validator(&ka, 1, 3_000_000, "50000000000000000")],
        ),
        signed(
            &app,
            &kc,
            vec![create_validator(&kc, 2, 2_000_000, "100000000000000000")],
        ),
    ];
    block(&mut app, 1, txs);
    let undelegate = stakingpb::MsgUndelegate {
        delegator_address: alice.to_string(),
        validator_address: alice.to_valoper(),
        amount: Some(coin(100_000)),
    };
    let redelegate = stakingpb::MsgBeginRedelegate {
        delegator_address: alice.to_string(),
        validator_src_address: alice.to_valoper(),
        validator_dst_address: carol.to_valoper(),
        amount: Some(coin(200_000)),
    };
    let tx = signed(
        &app,
        &ka,
        vec![
            any("/cosmos.staking.v1beta1.MsgUndelegate", &undelegate),
            any("/cosmos.staking.v1beta1.MsgBeginRedelegate", &redelegate),
        ],
    );
    block(&mut app, 2, vec![tx]);
    Chain {
        app,
        alice,
        carol,
        _dir: dir,
    }
}

fn dec(atomics: &str) -> Dec {
    Dec::from_atomics_str(atomics).expect("LegacyDec atomics")
}

fn d(s: &str) -> Dec {
    s.parse().expect("test decimal")
}

#[test]
fn auth_account_and_params() {
    let c = chain();
    let a = account(&c.app, &c.alice);
    assert_eq!((a.address.clone(), a.sequence), (c.alice.to_string(), 2));
    let carol = account(&c.app, &c.carol);
    assert_ne!(a.account_number, carol.account_number);
    let pk = a.pub_key.clone().expect("set by the first tx");
    assert_eq!(pk.type_url, "/cosmos.crypto.secp256k1.PubKey");
    let secp = cosmos_sdk_proto::cosmos::crypto::secp256k1::PubKey::decode(pk.value.as_slice())
        .expect("PubKey");
    assert_eq!(secp.key, key_bytes(7));

    // A third party's reading: cosmrs's conversion accepts it and finds the same key.
    let theirs = cosmrs::auth::BaseAccount::try_from(a).expect("cosmrs BaseAccount");
    assert_eq!(theirs.address.to_string(), c.alice.to_string());
    assert_eq!(theirs.pubkey, Some(key(7).public_key()));
    assert_eq!(theirs.sequence, 2);

    let p: authpb::QueryParamsResponse = ok(
        &c.app,
        "/cosmos.auth.v1beta1.Query/Params",
        &authpb::QueryParamsRequest {},
    );
    let p = p.params.expect("params");
    assert_eq!((p.max_memo_characters, p.tx_sig_limit), (256, 7));
    assert_eq!(p.sig_verify_cost_secp256k1, 1000);
}

fn key_bytes(seed: u8) -> Vec<u8> {
    key(seed).public_key().to_bytes()
}

#[test]
fn bank_balances_supply_and_params() {
    let c = chain();
    let bal: bankpb::QueryBalanceResponse = ok(
        &c.app,
        "/cosmos.bank.v1beta1.Query/Balance",
        &bankpb::QueryBalanceRequest {
            address: c.carol.to_string(),
            denom: "stake".into(),
        },
    );
    assert_eq!(
        bal.balance,
        Some(coin(7_999_500)),
        "2 000 000 bonded, a 500 fee"
    );
    let all: bankpb::QueryAllBalancesResponse = ok(
        &c.app,
        "/cosmos.bank.v1beta1.Query/AllBalances",
        &bankpb::QueryAllBalancesRequest {
            address: c.alice.to_string(),
            ..Default::default()
        },
    );
    assert_eq!(
        all.balances,
        vec![coin(6_999_000)],
        "3 000 000 bonded, two 500 fees; the unbonding is not back yet"
    );
    assert_eq!(all.pagination.expect("page").total, 1);
    let total: bankpb::QueryTotalSupplyResponse = ok(
        &c.app,
        "/cosmos.bank.v1beta1.Query/TotalSupply",
        &bankpb::QueryTotalSupplyRequest::default(),
    );
    let of: bankpb::QuerySupplyOfResponse = ok(
        &c.app,
        "/cosmos.bank.v1beta1.Query/SupplyOf",
        &bankpb::QuerySupplyOfRequest {
            denom: "stake".into(),
        },
    );
    let supply = of.amount.expect("amount");
    assert_eq!(total.supply, vec![supply.clone()]);
    let minted: u128 = supply.amount.parse().expect("amount");
    assert!(
        minted >= 20_000_000,
        "genesis plus mint's provisions: {minted}"
    );
    let p: bankpb::QueryParamsResponse = ok(
        &c.app,
        "/cosmos.bank.v1beta1.Query/Params",
        &bankpb::QueryParamsRequest {},
    );
    assert!(p.params.expect("params").default_send_enabled);
}

#[test]
fn staking_validators_with_their_commission_and_key() {
    let c = chain();
    let all: stakingpb::QueryValidatorsResponse = ok(
        &c.app,
        "/cosmos.staking.v1beta1.Query/Validators",
        &stakingpb::QueryValidatorsRequest::default(),
    );
    assert_eq!(all.validators.len(), 2);
    let bonded: stakingpb::QueryValidatorsResponse = ok(
        &c.app,
        "/cosmos.staking.v1beta1.Query/Validators",
        &stakingpb::QueryValidatorsRequest {
            status: "BOND_STATUS_BONDED".into(),
            ..Default::default()
        },
    );
    assert_eq!(bonded.validators.len(), 2);
    let unbonded: stakingpb::QueryValidatorsResponse = ok(
        &c.app,
        "/cosmos.staking.v1beta1.Query/Validators",
        &stakingpb::QueryValidatorsRequest {
            status: "BOND_STATUS_UNBONDED".into(),
            ..Default::default()
        },
    );
    assert!(unbonded.validators.is_empty());

    let r: stakingpb::QueryValidatorResponse = ok(
        &c.app,
        "/cosmos.staking.v1beta1.Query/Validator",
        &stakingpb::QueryValidatorRequest {
            validator_addr: c.carol.to_valoper(),
        },
    );
    let v = r.validator.expect("validator");
    assert_eq!(v.operator_address, c.carol.to_valoper());
    assert_eq!(v.tokens, "2200000", "her own 2 000 000 and alice's 200 000");
    assert_eq!(dec(&v.delegator_shares), d("2200000"));
    assert_eq!(v.status, stakingpb::BondStatus::Bonded as i32);
    let rates = v
        .commission
        .and_then(|c| c.commission_rates)
        .expect("rates");
    assert_eq!(rates.rate, "100000000000000000", "LegacyDec atomics");
    assert_eq!(dec(&rates.rate), d("0.1"));
    assert_eq!(dec(&rates.max_rate), d("0.2"));
    let pk = v.consensus_pubkey.expect("consensus key");
    assert_eq!(pk.type_url, "/cosmos.crypto.ed25519.PubKey");
    let k = cosmos_sdk_proto::cosmos::crypto::ed25519::PubKey::decode(pk.value.as_slice())
        .expect("ed25519");
    assert_eq!(k.key, vec![2u8; 32]);
    assert_eq!(v.description.expect("description").moniker, "validator-2");
}

#[test]
fn staking_delegations_unbondings_redelegations_pool_and_params() {
    let c = chain();
    let one: stakingpb::QueryDelegationResponse = ok(
        &c.app,
        "/cosmos.staking.v1beta1.Query/Delegation",
        &stakingpb::QueryDelegationRequest {
            delegator_addr: c.alice.to_string(),
            validator_addr: c.alice.to_valoper(),
        },
    );
    let one = one.delegation_response.expect("response");
    assert_eq!(one.balance, Some(coin(2_700_000)));
    assert_eq!(
        dec(&one.delegation.expect("delegation").shares),
        d("2700000")
    );

    let mine: stakingpb::QueryDelegatorDelegationsResponse = ok(
        &c.app,
        "/cosmos.staking.v1beta1.Query/DelegatorDelegations",
        &stakingpb::QueryDelegatorDelegationsRequest {
            delegator_addr: c.alice.to_string(),
            ..Default::default()
        },
    );
    let mut balances: Vec<_> = mine
        .delegation_responses
        .iter()
        .filter_map(|r| r.balance.clone())
        .collect();
    balances.sort_by(|a, b| a.amount.cmp(&b.amount));
    assert_eq!(balances, vec![coin(200_000), coin(2_700_000)]);

    let to_carol: stakingpb::QueryValidatorDelegationsResponse = ok(
        &c.app,
        "/cosmos.staking.v1beta1.Query/ValidatorDelegations",
        &stakingpb::QueryValidatorDelegationsRequest {
            validator_addr: c.carol.to_valoper(),
            ..Default::default()
        },
    );
    assert_eq!(to_carol.delegation_responses.len(), 2);
    assert_eq!(to_carol.pagination.expect("page").total, 2);

    let unbond: stakingpb::QueryUnbondingDelegationResponse = ok(
        &c.app,
        "/cosmos.staking.v1beta1.Query/UnbondingDelegation",
        &stakingpb::QueryUnbondingDelegationRequest {
            delegator_addr: c.alice.to_string(),
            validator_addr: c.alice.to_valoper(),
        },
    );
    let entry = &unbond.unbond.expect("unbond").entries[0];
    assert_eq!(
        (entry.balance.as_str(), entry.creation_height),
        ("100000", 2)
    );
    let completion = entry.completion_time.expect("time");
    assert_eq!(
        completion.seconds,
        1_767_225_610 + 1_814_400,
        "block 2 + 21 days"
    );
    let unbonds: stakingpb::QueryDelegatorUnbondingDelegationsResponse = ok(
        &c.app,
        "/cosmos.staking.v1beta1.Query/DelegatorUnbondingDelegations",
        &stakingpb::QueryDelegatorUnbondingDelegationsRequest {
            delegator_addr: c.alice.to_string(),
            ..Default::default()
        },
    );
    assert_eq!(unbonds.unbonding_responses.len(), 1);

    let redel: stakingpb::QueryRedelegationsResponse = ok(
        &c.app,
        "/cosmos.staking.v1beta1.Query/Redelegations",
        &stakingpb::QueryRedelegationsRequest {
            delegator_addr: c.alice.to_string(),
            ..Default::default()
        },
    );
    let r = &redel.redelegation_responses[0];
    assert_eq!(r.entries[0].balance, "200000");
    let red = r.redelegation.as_ref().expect("redelegation");
    assert_eq!(red.validator_dst_address, c.carol.to_valoper());
    assert_eq!(dec(&red.entries[0].shares_dst), d("200000"));

    let pool: stakingpb::QueryPoolResponse = ok(
        &c.app,
        "/cosmos.staking.v1beta1.Query/Pool",
        &stakingpb::QueryPoolRequest {},
    );
    let pool = pool.pool.expect("pool");
    assert_eq!(
        (pool.bonded_tokens.as_str(), pool.not_bonded_tokens.as_str()),
        ("4900000", "100000")
    );
    let p: stakingpb::QueryParamsResponse = ok(
        &c.app,
        "/cosmos.staking.v1beta1.Query/Params",
        &stakingpb::QueryParamsRequest {},
    );
    let p = p.params.expect("params");
    assert_eq!(p.unbonding_time.expect("duration").seconds, 1_814_400);
    assert_eq!(p.bond_denom, "stake");
    assert_eq!(dec(&p.min_commission_rate), Dec::zero());
}

#[test]
fn refusals_carry_the_sdk_codes() {
    let c = chain();
    let garbage = ask_raw(&c.app, "/cosmos.auth.v1beta1.Query/Account", vec![0xff; 7]);
    assert_eq!((garbage.code, garbage.codespace.as_str()), (18, "sdk"));
    let bad = ask(
        &c.app,
        "/cosmos.bank.v1beta1.Query/Balance",
        &bankpb::QueryBalanceRequest {
            address: "cosmos1notanaddress".into(),
            denom: "stake".into(),
        },
    );
    assert_eq!((bad.code, bad.codespace.as_str()), (18, "sdk"));
    assert!(
        bad.log
            .starts_with("rpc error: code = InvalidArgument desc = invalid address"),
        "{}",
        bad.log
    );
    let stranger = Address([0x99; 20]);
    let missing = ask(
        &c.app,
        "/cosmos.auth.v1beta1.Query/Account",
        &authpb::QueryAccountRequest {
            address: stranger.to_string(),
        },
    );
    assert_eq!((missing.code, missing.codespace.as_str()), (38, "sdk"));
    assert!(
        missing.log.contains("rpc error: code = NotFound")
            && missing
                .log
                .contains(&format!("account {stranger} not found")),
        "cosmjs's getAccount matches this: {}",
        missing.log
    );
    let no_validator = ask(
        &c.app,
        "/cosmos.staking.v1beta1.Query/Validator",
        &stakingpb::QueryValidatorRequest {
            validator_addr: stranger.to_valoper(),
        },
    );
    assert_eq!(no_validator.code, 38, "{}", no_validator.log);
    let no_delegation = ask(
        &c.app,
        "/cosmos.staking.v1beta1.Query/Delegation",
        &stakingpb::QueryDelegationRequest {
            delegator_addr: stranger.to_string(),
            validator_addr: c.carol.to_valoper(),
        },
    );
    assert_eq!(no_delegation.code, 38);
    let bad_status = ask(
        &c.app,
        "/cosmos.staking.v1beta1.Query/Validators",
        &stakingpb::QueryValidatorsRequest {
            status: "BONDED-ish".into(),
            ..Default::default()
        },
    );
    assert_eq!(bad_status.code, 18, "{}", bad_status.log);
    for path in [
        "/cosmos.bank.v1beta1.Query/DenomsMetadata",
        "/cosmos.gov.v1.Query/Proposals",
    ] {
        let unknown = ask_raw(&c.app, path, Vec::new());
        assert_eq!(
            (unknown.code, unknown.codespace.as_str()),
            (6, "sdk"),
            "{path}"
        );
    }
}
