//! The Cosmos gRPC query paths over ABCI `Query`, as cosmjs and cosmrs ask them: a chain built
//! through the real `App` (InitChain with two funded accounts, then cosmrs-signed blocks that
//! create two validators, undelegate and redelegate), each path asked with `cosmos_sdk_proto`
//! requests and its protobuf answer checked value by value, then the refusals. Distribution,
//! slashing and mint are asked after a block whose last commit rewards both validators (and a
//! double sign, for the slashes); `Simulate` with transactions built by cosmrs and in cosmjs's
//! shape, against the gas their real runs use.

use cosmos_sdk_proto::cosmos::auth::v1beta1 as authpb;
use cosmos_sdk_proto::cosmos::bank::v1beta1 as bankpb;
use cosmos_sdk_proto::cosmos::base::abci::v1beta1::TxMsgData;
use cosmos_sdk_proto::cosmos::base::v1beta1::{Coin as PCoin, DecCoin};
use cosmos_sdk_proto::cosmos::distribution::v1beta1 as distrpb;
use cosmos_sdk_proto::cosmos::mint::v1beta1 as mintpb;
use cosmos_sdk_proto::cosmos::slashing::v1beta1 as slashingpb;
use cosmos_sdk_proto::cosmos::staking::v1beta1 as stakingpb;
use cosmos_sdk_proto::cosmos::tx::signing::v1beta1::SignMode;
use cosmos_sdk_proto::cosmos::tx::v1beta1 as txpb;
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

/// A request of any type, for tables of refusals.
trait DynMessage {
    fn bytes(&self) -> Vec<u8>;
}

impl<T: Message> DynMessage for T {
    fn bytes(&self) -> Vec<u8> {
        self.encode_to_vec()
    }
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
        "/cosmos.bank.v1beta1.Query/DenomOwners",
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

// ---- distribution, slashing and mint, after a rewarded block ----

/// The consensus address of the ed25519 key `[seed; 32]` (`create_validator`'s keys).
fn cons_addr(seed: u8) -> Address {
    use sha2::{Digest, Sha256};
    let pk = cosmos_sdk_proto::cosmos::crypto::ed25519::PubKey {
        key: vec![seed; 32],
    };
    let h = Sha256::digest(&pk.key);
    Address(h[..20].try_into().expect("20 bytes"))
}

/// A block at `height` whose last commit is `votes` (consensus key seed, power, signed) and
/// which carries `misbehavior`; its transactions must succeed. The answer of `FinalizeBlock`.
fn block_with(
    app: &mut App,
    height: i64,
    txs: Vec<Bytes>,
    votes: &[(u8, i64, bool)],
    misbehavior: Vec<abci::Misbehavior>,
) -> abci::ResponseFinalizeBlock {
    use keystone_proto::types::BlockIdFlag;
    let votes = votes
        .iter()
        .map(|&(seed, power, signed)| abci::VoteInfo {
            validator: Some(abci::Validator {
                address: Bytes::from(cons_addr(seed).0.to_vec()),
                power,
            }),
            block_id_flag: if signed {
                BlockIdFlag::Commit
            } else {
                BlockIdFlag::Absent
            } as i32,
        })
        .collect();
    let fin = app
        .finalize_block(abci::RequestFinalizeBlock {
            txs,
            height,
            time: Some(keystone_proto::Timestamp {
                seconds: 1_767_225_600 + 5 * height,
                nanos: 0,
            }),
            decided_last_commit: Some(abci::CommitInfo { round: 0, votes }),
            misbehavior,
            ..Default::default()
        })
        .expect("finalize");
    for r in &fin.tx_results {
        assert_eq!(r.code, 0, "block {height}: {}", r.log);
    }
    app.commit().expect("commit");
    fin
}

/// `chain()`, then block 3, whose last commit has alice (power 2) signing and carol (power 2)
/// absent. Blocks 1 and 2 had no commit to reward, so block 2 put block 1's 1 000stake of fees
/// in the community pool; block 3 shares block 2's 500: 10 to the pool (2 %) and 245 to each
/// validator. Mint adds nothing: 13 % a year of 20 000 000 is 0.4 a block, truncated.
fn rewarded() -> Chain {
    let mut c = chain();
    block_with(
        &mut c.app,
        3,
        vec![],
        &[(1, 2, true), (2, 2, false)],
        vec![],
    );
    c
}

/// `[{stake, atomics}]`: a DecCoin list as the SDK writes LegacyDec amounts.
fn dec_stake(atomics: &str) -> Vec<DecCoin> {
    vec![DecCoin {
        denom: "stake".into(),
        amount: atomics.into(),
    }]
}

const DISTR: &str = "/cosmos.distribution.v1beta1.Query";

#[test]
fn distribution_params_pool_commission_and_outstanding_rewards() {
    let c = rewarded();
    let p: distrpb::QueryParamsResponse = ok(
        &c.app,
        &format!("{DISTR}/Params"),
        &distrpb::QueryParamsRequest {},
    );
    // The proposer rewards are deprecated, still in the params.
    #[allow(deprecated)]
    let expected = distrpb::Params {
        community_tax: "20000000000000000".into(),
        base_proposer_reward: "0".into(),
        bonus_proposer_reward: "0".into(),
        withdraw_addr_enabled: true,
    };
    assert_eq!(
        p.params,
        Some(expected),
        "LegacyDec atomics: 0.02 and zeros"
    );
    let pool: distrpb::QueryCommunityPoolResponse = ok(
        &c.app,
        &format!("{DISTR}/CommunityPool"),
        &distrpb::QueryCommunityPoolRequest {},
    );
    assert_eq!(pool.pool, dec_stake("1010000000000000000000"), "1 000 + 10");

    // Each validator got 245: alice keeps 5 % of it as commission, carol 10 %.
    for (v, commission) in [
        (c.alice, "12250000000000000000"),
        (c.carol, "24500000000000000000"),
    ] {
        let out: distrpb::QueryValidatorOutstandingRewardsResponse = ok(
            &c.app,
            &format!("{DISTR}/ValidatorOutstandingRewards"),
            &distrpb::QueryValidatorOutstandingRewardsRequest {
                validator_address: v.to_valoper(),
            },
        );
        assert_eq!(
            out.rewards.expect("rewards").rewards,
            dec_stake("245000000000000000000")
        );
        let com: distrpb::QueryValidatorCommissionResponse = ok(
            &c.app,
            &format!("{DISTR}/ValidatorCommission"),
            &distrpb::QueryValidatorCommissionRequest {
                validator_address: v.to_valoper(),
            },
        );
        assert_eq!(
            com.commission.expect("commission").commission,
            dec_stake(commission)
        );
    }

    // Alice's 232.75 over her 2 700 000 tokens: 0.000086203703703703 a token (truncated), so
    // 232.7499999999981 for her own delegation.
    let info: distrpb::QueryValidatorDistributionInfoResponse = ok(
        &c.app,
        &format!("{DISTR}/ValidatorDistributionInfo"),
        &distrpb::QueryValidatorDistributionInfoRequest {
            validator_address: c.alice.to_valoper(),
        },
    );
    assert_eq!(
        info,
        distrpb::QueryValidatorDistributionInfoResponse {
            // The SDK answers the operator's account address.
            operator_address: c.alice.to_string(),
            self_bond_rewards: dec_stake("232749999999998100000"),
            commission: dec_stake("12250000000000000000"),
        }
    );
}

#[test]
fn distribution_delegator_rewards_validators_and_withdraw_address() {
    let c = rewarded();
    // Carol's 220.5 over 2 200 000 tokens: 0.000100227272727272 a token; alice has 200 000
    // of them, carol 2 000 000.
    for (del, atomics) in [
        (c.alice, "20045454545454400000"),
        (c.carol, "200454545454544000000"),
    ] {
        let r: distrpb::QueryDelegationRewardsResponse = ok(
            &c.app,
            &format!("{DISTR}/DelegationRewards"),
            &distrpb::QueryDelegationRewardsRequest {
                delegator_address: del.to_string(),
                validator_address: c.carol.to_valoper(),
            },
        );
        assert_eq!(r.rewards, dec_stake(atomics), "{del}");
    }
    // By validator address bytes, as the SDK iterates.
    let mut expected = vec![
        distrpb::DelegationDelegatorReward {
            validator_address: c.alice.to_valoper(),
            reward: dec_stake("232749999999998100000"),
        },
        distrpb::DelegationDelegatorReward {
            validator_address: c.carol.to_valoper(),
            reward: dec_stake("20045454545454400000"),
        },
    ];
    let mut by_bytes = [c.alice, c.carol];
    by_bytes.sort();
    if by_bytes[0] != c.alice {
        expected.reverse();
    }
    let total: distrpb::QueryDelegationTotalRewardsResponse = ok(
        &c.app,
        &format!("{DISTR}/DelegationTotalRewards"),
        &distrpb::QueryDelegationTotalRewardsRequest {
            delegator_address: c.alice.to_string(),
        },
    );
    assert_eq!(total.rewards, expected);
    assert_eq!(total.total, dec_stake("252795454545452500000"));

    let vals: distrpb::QueryDelegatorValidatorsResponse = ok(
        &c.app,
        &format!("{DISTR}/DelegatorValidators"),
        &distrpb::QueryDelegatorValidatorsRequest {
            delegator_address: c.alice.to_string(),
        },
    );
    assert_eq!(
        vals.validators,
        by_bytes.iter().map(Address::to_valoper).collect::<Vec<_>>()
    );
    let to: distrpb::QueryDelegatorWithdrawAddressResponse = ok(
        &c.app,
        &format!("{DISTR}/DelegatorWithdrawAddress"),
        &distrpb::QueryDelegatorWithdrawAddressRequest {
            delegator_address: c.carol.to_string(),
        },
    );
    assert_eq!(to.withdraw_address, c.carol.to_string(), "none set: itself");

    // Someone with no delegations: empty answers, not errors.
    let stranger = Address([0x99; 20]);
    let none: distrpb::QueryDelegationTotalRewardsResponse = ok(
        &c.app,
        &format!("{DISTR}/DelegationTotalRewards"),
        &distrpb::QueryDelegationTotalRewardsRequest {
            delegator_address: stranger.to_string(),
        },
    );
    assert_eq!((none.rewards, none.total), (vec![], vec![]));
}

#[test]
fn distribution_answers_match_the_lcd_routes() {
    // The two read through the same module queries; the LCD writes decimals, gRPC atomics.
    let c = rewarded();
    let lcd = |path: String| -> serde_json::Value {
        let r = ask_raw(&c.app, &path, Vec::new());
        assert_eq!(r.code, 0, "{path}: {}", r.log);
        serde_json::from_slice(&r.value).expect("json")
    };
    let j = lcd(format!(
        "/cosmos/distribution/v1beta1/delegators/{}/rewards",
        c.alice
    ));
    let total: distrpb::QueryDelegationTotalRewardsResponse = ok(
        &c.app,
        &format!("{DISTR}/DelegationTotalRewards"),
        &distrpb::QueryDelegationTotalRewardsRequest {
            delegator_address: c.alice.to_string(),
        },
    );
    let lcd_total = j["total"][0]["amount"].as_str().expect("amount");
    assert_eq!(d(lcd_total), dec(&total.total[0].amount));
    for (i, r) in total.rewards.iter().enumerate() {
        assert_eq!(
            j["rewards"][i]["validator_address"].as_str(),
            Some(r.validator_address.as_str())
        );
        let amount = j["rewards"][i]["reward"][0]["amount"]
            .as_str()
            .expect("amount");
        assert_eq!(d(amount), dec(&r.reward[0].amount));
    }
}

#[test]
fn validator_slashes_list_the_double_sign() {
    let mut c = rewarded();
    // Block 4 judges carol's double sign at height 2: 5 % of her power then (2 × 10^6 tokens)
    // is 100 000 of her 2 200 000 tokens.
    let evidence = abci::Misbehavior {
        r#type: abci::MisbehaviorType::DuplicateVote as i32,
        validator: Some(abci::Validator {
            address: Bytes::from(cons_addr(2).0.to_vec()),
            power: 2,
        }),
        height: 2,
        time: Some(keystone_proto::Timestamp {
            seconds: 1_767_225_610,
            nanos: 0,
        }),
        total_voting_power: 4,
    };
    block_with(
        &mut c.app,
        4,
        vec![],
        &[(1, 2, true), (2, 2, true)],
        vec![evidence],
    );
    let slashes = |start: u64, end: u64| -> distrpb::QueryValidatorSlashesResponse {
        ok(
            &c.app,
            &format!("{DISTR}/ValidatorSlashes"),
            &distrpb::QueryValidatorSlashesRequest {
                validator_address: c.carol.to_valoper(),
                starting_height: start,
                ending_height: end,
                pagination: None,
            },
        )
    };
    // Recorded at block 4, ending carol's period 3 (period 1 ended at her self-delegation,
    // 2 at alice's redelegation); the fraction is the effective one, 100 000 / 2 200 000
    // rounded up.
    let event = distrpb::ValidatorSlashEvent {
        validator_period: 3,
        fraction: "45454545454545455".into(),
    };
    let all = slashes(0, 100);
    assert_eq!(all.slashes, vec![event.clone()]);
    assert_eq!(all.pagination.expect("page").total, 1);
    // The SDK v0.50 compares the requested heights with the event's *period*: [3, 3] finds
    // the slash of block 4, [4, 10] does not.
    assert_eq!(slashes(3, 3).slashes, vec![event]);
    assert!(slashes(4, 10).slashes.is_empty());
    // Alice was never slashed; an unknown validator has no slashes either (no error).
    for v in [c.alice, Address([0x99; 20])] {
        let r: distrpb::QueryValidatorSlashesResponse = ok(
            &c.app,
            &format!("{DISTR}/ValidatorSlashes"),
            &distrpb::QueryValidatorSlashesRequest {
                validator_address: v.to_valoper(),
                starting_height: 0,
                ending_height: 100,
                pagination: None,
            },
        );
        assert!(r.slashes.is_empty());
    }
}

#[test]
fn distribution_refusals() {
    let c = rewarded();
    let stranger = Address([0x99; 20]);
    let refused = |method: &str, req: &dyn DynMessage| {
        ask_raw(&c.app, &format!("{DISTR}/{method}"), req.bytes())
    };
    let commission = |v: String| distrpb::QueryValidatorCommissionRequest {
        validator_address: v,
    };
    let r = refused("ValidatorCommission", &commission(String::new()));
    assert_eq!(
        (r.code, r.log.as_str()),
        (
            18,
            "rpc error: code = InvalidArgument desc = empty validator address: invalid request"
        )
    );
    for bad in [
        "cosmosvaloper1nope".to_string(),
        c.alice.to_string(), // an account address
    ] {
        let r = refused("ValidatorCommission", &commission(bad.clone()));
        assert_eq!((r.code, r.codespace.as_str()), (18, "sdk"), "{bad}");
        assert!(
            r.log
                .starts_with("rpc error: code = InvalidArgument desc = invalid address: "),
            "{}",
            r.log
        );
    }
    let not_found = "rpc error: code = NotFound desc = validator does not exist: key not found";
    for method in [
        "ValidatorCommission",
        "ValidatorOutstandingRewards",
        "ValidatorDistributionInfo",
    ] {
        // The three requests are one field, `validator_address = 1`.
        let r = refused(method, &commission(stranger.to_valoper()));
        assert_eq!((r.code, r.log.as_str()), (38, not_found), "{method}");
    }
    let rewards = |del: String, val: String| distrpb::QueryDelegationRewardsRequest {
        delegator_address: del,
        validator_address: val,
    };
    let r = refused(
        "DelegationRewards",
        &rewards(stranger.to_string(), c.carol.to_valoper()),
    );
    assert_eq!(
        (r.code, r.log.as_str()),
        (
            38,
            "rpc error: code = NotFound desc = no delegation for (address, validator) tuple: \
             key not found"
        )
    );
    // The validator is read before the delegator is parsed, as the SDK does.
    let r = refused(
        "DelegationRewards",
        &rewards("cosmos1nope".into(), stranger.to_valoper()),
    );
    assert_eq!((r.code, r.log.as_str()), (38, not_found));
    let r = refused(
        "DelegationRewards",
        &rewards(String::new(), c.carol.to_valoper()),
    );
    assert_eq!(
        (r.code, r.log.as_str()),
        (
            18,
            "rpc error: code = InvalidArgument desc = empty delegator address: invalid request"
        )
    );

    let slashes = |start: u64, end: u64, v: String| distrpb::QueryValidatorSlashesRequest {
        validator_address: v,
        starting_height: start,
        ending_height: end,
        pagination: None,
    };
    let r = refused("ValidatorSlashes", &slashes(5, 1, c.carol.to_valoper()));
    assert_eq!(
        (r.code, r.log.as_str()),
        (
            18,
            "rpc error: code = InvalidArgument desc = starting height greater than ending \
             height (5 > 1): invalid request"
        )
    );
    let r = refused(
        "ValidatorSlashes",
        &slashes(0, 1, "cosmosvaloper1nope".into()),
    );
    assert_eq!(
        (r.code, r.log.as_str()),
        (
            18,
            "rpc error: code = InvalidArgument desc = invalid validator address: invalid request"
        )
    );
    let r = refused(
        "DelegatorValidators",
        &distrpb::QueryDelegatorValidatorsRequest {
            delegator_address: c.alice.to_valoper(),
        },
    );
    assert_eq!(r.code, 18, "an operator address is not a delegator's");
    let r = refused("FoundersReward", &distrpb::QueryParamsRequest {});
    assert_eq!((r.code, r.codespace.as_str()), (6, "sdk"));
}

const SLASHING: &str = "/cosmos.slashing.v1beta1.Query";

#[test]
fn slashing_params_and_signing_infos() {
    let c = rewarded();
    let p: slashingpb::QueryParamsResponse = ok(
        &c.app,
        &format!("{SLASHING}/Params"),
        &slashingpb::QueryParamsRequest {},
    );
    let p = p.params.expect("params");
    assert_eq!(p.signed_blocks_window, 100);
    // `bytes` fields: the LegacyDec's atomics as ASCII.
    assert_eq!(p.min_signed_per_window, b"500000000000000000".to_vec());
    assert_eq!(p.slash_fraction_double_sign, b"50000000000000000".to_vec());
    assert_eq!(p.slash_fraction_downtime, b"10000000000000000".to_vec());
    assert_eq!(p.downtime_jail_duration.expect("duration").seconds, 600);

    // Both bonded at block 1; block 3 was the first to count, and carol missed it.
    let info = |seed: u8, missed: i64| slashingpb::ValidatorSigningInfo {
        address: cons_addr(seed).to_valcons(),
        start_height: 1,
        index_offset: 1,
        jailed_until: Some(cosmos_sdk_proto::Timestamp {
            seconds: 0,
            nanos: 0,
        }),
        tombstoned: false,
        missed_blocks_counter: missed,
    };
    let one: slashingpb::QuerySigningInfoResponse = ok(
        &c.app,
        &format!("{SLASHING}/SigningInfo"),
        &slashingpb::QuerySigningInfoRequest {
            cons_address: cons_addr(2).to_valcons(),
        },
    );
    assert_eq!(one.val_signing_info, Some(info(2, 1)));
    let all: slashingpb::QuerySigningInfosResponse = ok(
        &c.app,
        &format!("{SLASHING}/SigningInfos"),
        &slashingpb::QuerySigningInfosRequest::default(),
    );
    // By consensus address bytes.
    let mut expected = vec![(cons_addr(1), info(1, 0)), (cons_addr(2), info(2, 1))];
    expected.sort_by_key(|(a, _)| *a);
    assert_eq!(
        all.info,
        expected.into_iter().map(|(_, i)| i).collect::<Vec<_>>()
    );
    assert_eq!(all.pagination.expect("page").total, 2);
}

#[test]
fn slashing_refusals() {
    let c = chain();
    let ask_info = |cons: String| {
        ask(
            &c.app,
            &format!("{SLASHING}/SigningInfo"),
            &slashingpb::QuerySigningInfoRequest { cons_address: cons },
        )
    };
    let unknown = cons_addr(9).to_valcons();
    let r = ask_info(unknown.clone());
    assert_eq!(
        (r.code, r.codespace.as_str(), r.log.clone()),
        (
            38,
            "sdk",
            format!(
                "rpc error: code = NotFound desc = SigningInfo not found for validator {unknown}: key not found"
            )
        )
    );
    for bad in [
        "cosmosvalcons1notbech32".to_string(),
        c.alice.to_valoper(), // an operator address
    ] {
        let r = ask_info(bad.clone());
        assert_eq!(r.code, 18, "{bad}: {}", r.log);
    }
    let r = ask_info(String::new());
    assert_eq!(
        (r.code, r.log.as_str()),
        (
            18,
            "rpc error: code = InvalidArgument desc = invalid request: invalid request"
        )
    );
}

const MINT: &str = "/cosmos.mint.v1beta1.Query";

#[test]
fn mint_params_inflation_and_annual_provisions() {
    let c = rewarded();
    let p: mintpb::QueryParamsResponse = ok(
        &c.app,
        &format!("{MINT}/Params"),
        &mintpb::QueryParamsRequest {},
    );
    assert_eq!(
        p.params,
        Some(mintpb::Params {
            mint_denom: "stake".into(),
            inflation_rate_change: "130000000000000000".into(),
            inflation_max: "200000000000000000".into(),
            inflation_min: "70000000000000000".into(),
            goal_bonded: "670000000000000000".into(),
            blocks_per_year: 6_311_520,
        })
    );
    let lcd = |path: &str, field: &str| -> Dec {
        let r = ask_raw(&c.app, path, Vec::new());
        assert_eq!(r.code, 0, "{path}: {}", r.log);
        let j: serde_json::Value = serde_json::from_slice(&r.value).expect("json");
        d(j[field].as_str().expect("decimal string"))
    };
    // `bytes` holding the atomics' ASCII digits, no point: cosmjs reads them with
    // `Decimal.fromAtomics(fromUtf8(bytes), 18)`.
    let atomics = |b: &[u8]| -> Dec {
        assert!(
            !b.is_empty() && b.iter().all(u8::is_ascii_digit),
            "{:?}",
            String::from_utf8_lossy(b)
        );
        dec(std::str::from_utf8(b).expect("ascii"))
    };
    let i: mintpb::QueryInflationResponse = ok(
        &c.app,
        &format!("{MINT}/Inflation"),
        &mintpb::QueryInflationRequest {},
    );
    let inflation = atomics(&i.inflation);
    assert_eq!(
        inflation,
        lcd("/cosmos/mint/v1beta1/inflation", "inflation")
    );
    // Three blocks in, from 13 % and rising (little is bonded): still well inside the bounds.
    assert!(
        inflation > d("0.13") && inflation < d("0.131"),
        "{inflation:?}"
    );
    let a: mintpb::QueryAnnualProvisionsResponse = ok(
        &c.app,
        &format!("{MINT}/AnnualProvisions"),
        &mintpb::QueryAnnualProvisionsRequest {},
    );
    let provisions = atomics(&a.annual_provisions);
    assert_eq!(
        provisions,
        lcd(
            "/cosmos/mint/v1beta1/annual_provisions",
            "annual_provisions"
        )
    );
    assert!(provisions > d("2600000"), "{provisions:?}");
    let r = ask_raw(&c.app, &format!("{MINT}/Minter"), Vec::new());
    assert_eq!(r.code, 6);
}

// ---- Simulate ----

const SIMULATE: &str = "/cosmos.tx.v1beta1.Service/Simulate";

fn send_msg(from: &Address, to: &Address, amount: u128) -> Any {
    any(
        "/cosmos.bank.v1beta1.MsgSend",
        &bankpb::MsgSend {
            from_address: from.to_string(),
            to_address: to.to_string(),
            amount: vec![coin(amount)],
        },
    )
}

/// `tx` with its signatures emptied: what a client simulates before signing.
fn unsigned(tx: &[u8]) -> Vec<u8> {
    let mut raw = txpb::TxRaw::decode(tx).expect("TxRaw");
    for s in &mut raw.signatures {
        s.clear();
    }
    raw.encode_to_vec()
}

fn simulate(app: &App, tx: Vec<u8>) -> abci::ResponseQuery {
    ask(
        app,
        SIMULATE,
        &txpb::SimulateRequest {
            tx_bytes: tx,
            ..Default::default()
        },
    )
}

fn simulated(app: &App, tx: Vec<u8>) -> txpb::SimulateResponse {
    let r = simulate(app, tx);
    assert_eq!(r.code, 0, "{}", r.log);
    txpb::SimulateResponse::decode(r.value.as_ref()).expect("SimulateResponse")
}

fn stake_of(app: &App, a: &Address) -> PCoin {
    let r: bankpb::QueryBalanceResponse = ok(
        app,
        "/cosmos.bank.v1beta1.Query/Balance",
        &bankpb::QueryBalanceRequest {
            address: a.to_string(),
            denom: "stake".into(),
        },
    );
    r.balance.expect("balance")
}

/// The stored account record of `a` (key and value), read through `/store/key`.
fn account_record(app: &App, a: &Address) -> (usize, usize) {
    let key = keystone_modules::auth::state_key::account(a).into_bytes();
    let r = ask_raw(app, "/store/key", key.clone());
    assert_eq!(r.code, 0, "{}", r.log);
    (key.len(), r.value.len())
}

#[test]
fn simulate_charges_what_the_signed_transaction_uses_and_writes_nothing() {
    let mut c = chain();
    // An empty block first: each block's begin moves the fee collector's balance out, so it
    // is then as empty when the simulation runs as when the transaction will (the balance
    // read and written for the fee is part of the gas).
    block_with(&mut c.app, 3, vec![], &[], vec![]);
    let ka = key(7);
    let bob = addr(&key(11));
    let signed_tx = signed(&c.app, &ka, vec![send_msg(&c.alice, &bob, 1_000)]);
    let before = (stake_of(&c.app, &c.alice), account(&c.app, &c.alice));

    // The signed transaction itself simulates to exactly what it will use.
    let full = simulated(&c.app, signed_tx.to_vec());
    let gas = full.gas_info.expect("gas info");
    assert_eq!(gas.gas_wanted, u64::MAX, "the SDK's unlimited meter");
    assert!(gas.gas_used > 0);
    let result = full.result.expect("result");
    let response = Any {
        type_url: "/cosmos.bank.v1beta1.MsgSendResponse".into(),
        value: Vec::new(),
    };
    assert_eq!(result.msg_responses, vec![response.clone()]);
    #[allow(deprecated)] // `data`: deprecated, still filled
    let data = TxMsgData::decode(result.data.as_slice()).expect("TxMsgData");
    assert_eq!(data.msg_responses, vec![response]);
    assert!(result.log.is_empty());
    let kinds: Vec<&str> = result.events.iter().map(|e| e.r#type.as_str()).collect();
    assert!(
        kinds.contains(&"tx") && kinds.contains(&"transfer"),
        "{kinds:?}"
    );
    let action = result
        .events
        .iter()
        .filter(|e| e.r#type == "message")
        .flat_map(|e| &e.attributes)
        .find(|a| a.key == "action")
        .map(|a| a.value.as_str());
    assert_eq!(action, Some("/cosmos.bank.v1beta1.MsgSend"));

    // Unsigned, as a wallet simulates before signing: the empty signature is charged as the
    // SDK charges it — 112 bytes of an amino StdSignature instead of the 64 it lacks, and the
    // account read the SDK makes to size it.
    let (key_len, value_len) = account_record(&c.app, &c.alice);
    let estimate = simulated(&c.app, unsigned(&signed_tx))
        .gas_info
        .expect("gas info")
        .gas_used;
    let read = 1_000 + 3 * (key_len + value_len) as u64;
    assert_eq!(estimate, gas.gas_used + 10 * (112 - 64) + read);

    // Nothing moved, no sequence was used.
    assert_eq!(
        (stake_of(&c.app, &c.alice), account(&c.app, &c.alice)),
        before
    );

    // The real run uses what the signed simulation said.
    let fin = block_with(&mut c.app, 4, vec![signed_tx], &[], vec![]);
    let real = &fin.tx_results[0];
    assert_eq!(u64::try_from(real.gas_used).expect("gas"), gas.gas_used);
    assert!(estimate > gas.gas_used);
    assert_eq!(stake_of(&c.app, &bob), coin(1_000));
}

/// A transaction in the shape cosmjs's `SigningStargateClient.simulate` sends: the key and
/// sequence in the signer info, `SIGN_MODE_UNSPECIFIED`, an empty fee, one empty signature,
/// encoded as a `Tx`.
fn cosmjs_shape(pubkey: Option<Any>, sequence: u64, msgs: Vec<Any>) -> txpb::Tx {
    txpb::Tx {
        body: Some(txpb::TxBody {
            messages: msgs,
            ..Default::default()
        }),
        auth_info: Some(txpb::AuthInfo {
            signer_infos: vec![txpb::SignerInfo {
                public_key: pubkey,
                mode_info: Some(txpb::ModeInfo {
                    sum: Some(txpb::mode_info::Sum::Single(txpb::mode_info::Single {
                        mode: SignMode::Unspecified as i32,
                    })),
                }),
                sequence,
            }],
            fee: Some(txpb::Fee::default()),
            ..Default::default()
        }),
        signatures: vec![Vec::new()],
    }
}

#[test]
fn simulate_accepts_cosmjs_shape_for_an_account_with_no_key_yet() {
    let mut c = chain();
    let kd = key(13);
    let dave = addr(&kd);
    // Dave is funded, so he has an account, but has never signed: no key stored.
    let fund = signed(&c.app, &key(7), vec![send_msg(&c.alice, &dave, 5_000)]);
    block_with(&mut c.app, 3, vec![fund], &[], vec![]);
    let before = account(&c.app, &dave);
    assert_eq!((before.pub_key.clone(), before.sequence), (None, 0));

    let pubkey = any(
        "/cosmos.crypto.secp256k1.PubKey",
        &cosmos_sdk_proto::cosmos::crypto::secp256k1::PubKey {
            key: kd.public_key().to_bytes(),
        },
    );
    let tx = cosmjs_shape(Some(pubkey), 0, vec![send_msg(&dave, &c.alice, 1)]);
    let by_bytes = simulated(&c.app, tx.encode_to_vec());
    let gas = by_bytes.gas_info.expect("gas info").gas_used;
    assert!(gas > 0);
    // The deprecated `tx` field, read when `tx_bytes` is empty, is the same transaction.
    #[allow(deprecated)]
    let by_tx = ask(
        &c.app,
        SIMULATE,
        &txpb::SimulateRequest {
            tx: Some(tx),
            tx_bytes: Vec::new(),
        },
    );
    assert_eq!(by_tx.code, 0, "{}", by_tx.log);
    let by_tx = txpb::SimulateResponse::decode(by_tx.value.as_ref()).expect("response");
    assert_eq!(by_tx.gas_info.expect("gas info").gas_used, gas);
    // Without any key at all, the SDK's placeholder stands in.
    let keyless = cosmjs_shape(None, 0, vec![send_msg(&dave, &c.alice, 1)]);
    assert!(simulated(&c.app, keyless.encode_to_vec())
        .gas_info
        .is_some());

    // The simulation set no key and used no sequence.
    assert_eq!(account(&c.app, &dave), before);
    assert_eq!(stake_of(&c.app, &dave), coin(5_000));
}

/// cosmjs simulates with an empty fee and then pays one: the estimate must hold the fee's
/// deduction (two balance reads and writes), or `fee: "auto"` runs out of gas on an account's
/// second transaction, whose key is already stored (issue #13).
#[test]
fn an_estimate_without_a_fee_covers_the_fee_the_signed_transaction_pays() {
    let mut c = chain();
    block_with(&mut c.app, 3, vec![], &[], vec![]);
    let ka = key(7);
    let bob = addr(&key(11));
    assert!(
        account(&c.app, &c.alice).pub_key.is_some(),
        "alice has signed before"
    );
    let pubkey = any(
        "/cosmos.crypto.secp256k1.PubKey",
        &cosmos_sdk_proto::cosmos::crypto::secp256k1::PubKey {
            key: ka.public_key().to_bytes(),
        },
    );
    let sequence = account(&c.app, &c.alice).sequence;
    let msg = send_msg(&c.alice, &bob, 1_000);
    let shape = cosmjs_shape(Some(pubkey), sequence, vec![msg.clone()]);
    let estimate = simulated(&c.app, shape.encode_to_vec())
        .gas_info
        .expect("gas info")
        .gas_used;
    let before = (stake_of(&c.app, &c.alice), account(&c.app, &c.alice));
    // The simulation's placeholder fee moved nothing.
    assert_eq!(account(&c.app, &c.alice), before.1);

    let tx = signed(&c.app, &ka, vec![msg]);
    let fin = block_with(&mut c.app, 4, vec![tx], &[], vec![]);
    let used = u64::try_from(fin.tx_results[0].gas_used).expect("gas");
    assert_eq!(fin.tx_results[0].code, 0, "{}", fin.tx_results[0].log);
    // The estimate is the signed run plus the empty signature's allowance (a few thousand),
    // not short of it by the fee's deduction.
    assert!(estimate >= used, "estimate {estimate} < used {used}");
    assert!(estimate - used < 3_000, "estimate {estimate}, used {used}");
}

#[test]
fn a_failing_simulation_answers_the_sdk_error() {
    let c = chain();
    let ka = key(7);
    let bob = addr(&key(11));
    let balance = stake_of(&c.app, &c.alice);
    let have: u128 = balance.amount.parse().expect("amount");
    // More than alice has, once the fee is paid.
    let tx = signed(&c.app, &ka, vec![send_msg(&c.alice, &bob, have)]);
    let r = simulate(&c.app, unsigned(&tx));
    assert_eq!((r.code, r.codespace.as_str()), (6, "sdk"), "{}", r.log);
    let head = format!(
        "rpc error: code = Unknown desc = failed to execute message; message index: 0: \
         spendable balance {}stake is smaller than {have}stake: insufficient funds \
         With gas wanted: '18446744073709551615' and gas used: '",
        have - 500
    );
    let used = r
        .log
        .strip_prefix(&head)
        .and_then(|rest| rest.strip_suffix("' : unknown request"))
        .unwrap_or_else(|| panic!("{}", r.log));
    assert!(used.parse::<u64>().expect("gas used") > 0);
    assert_eq!(stake_of(&c.app, &c.alice), balance, "nothing was paid");

    // An ante failure: a sequence already used.
    let stale = cosmjs_shape(None, 0, vec![send_msg(&c.alice, &bob, 1)]);
    let r = simulate(&c.app, stale.encode_to_vec());
    assert_eq!(r.code, 6);
    assert!(
        r.log.starts_with(
            "rpc error: code = Unknown desc = account sequence mismatch, expected 2, got 0: \
             incorrect account sequence With gas wanted: '18446744073709551615' and gas used: '"
        ),
        "{}",
        r.log
    );
    // Bytes that are not a transaction fail before any gas is counted.
    let r = simulate(&c.app, vec![0xff; 5]);
    assert_eq!(r.code, 6);
    assert!(
        r.log
            .ends_with(": tx parse error With gas wanted: '0' and gas used: '0' : unknown request"),
        "{}",
        r.log
    );
    // No transaction at all.
    let r = simulate(&c.app, Vec::new());
    assert_eq!(
        (r.code, r.log.as_str()),
        (
            18,
            "rpc error: code = InvalidArgument desc = empty txBytes is not allowed: invalid request"
        )
    );
    let r = ask_raw(&c.app, "/cosmos.tx.v1beta1.Service/GetTx", Vec::new());
    assert_eq!(r.code, 6);
}
