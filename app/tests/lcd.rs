//! The LCD routes of `keystone_app::lcd` over a state the modules built as a block would: two
//! validators created by staking messages, a delegator on both, one block's fees allocated by
//! distribution, one block of liveness recorded by slashing, a withdraw address set, a minter.
//! Each route's JSON is checked value by value, then its errors (gRPC codes 3, 5 and 12).

use keystone_app::lcd::{self, LcdError};
use keystone_modules::distribution::{self, DistributionHooks, MsgSetWithdrawAddress};
use keystone_modules::slashing::{self, SlashingHooks, VoteInfo};
use keystone_modules::staking::{self, CommissionRates, Description, Hooks, MsgCreateValidator};
use keystone_modules::staking::{MsgDelegate, POWER_REDUCTION as P};
use keystone_modules::{auth, bank, mint, Address, BlockCtx, Coin, Coins, Dec, MemState};
use keystone_modules::{Result, State, Timestamp};
use serde_json::{json, Value};
use std::collections::BTreeSet;

/// Validators 1 and 2, delegator 3, withdraw address 4, an account that never appears: 9.
fn addr(b: u8) -> Address {
    Address([b; 20])
}

/// The consensus address of test validator `b` (ed25519 key `[b; 32]`).
fn cons(b: u8) -> Address {
    Address::from_ed25519_pubkey(&[b; 32])
}

fn at(height: u64) -> BlockCtx {
    BlockCtx {
        height,
        time: Timestamp {
            seconds: 1_767_225_600 + 5 * height as i64,
            nanos: 0,
        },
        chain_id: "keystone-lcd".into(),
    }
}

fn d(s: &str) -> Dec {
    s.parse().expect("test decimal")
}

fn stake(amount: u128) -> Coin {
    Coin {
        denom: "stake".into(),
        amount,
    }
}

/// The application's staking hooks, as gaia orders them: distribution's, then slashing's.
struct BlockHooks {
    distribution: DistributionHooks,
    slashing: SlashingHooks,
}

impl BlockHooks {
    fn new(ctx: &BlockCtx) -> BlockHooks {
        BlockHooks {
            distribution: DistributionHooks::new(ctx),
            slashing: SlashingHooks::new(ctx),
        }
    }
}

impl Hooks for BlockHooks {
    fn after_validator_created(&self, s: &mut dyn State, op: &Address) -> Result<()> {
        self.distribution.after_validator_created(s, op)?;
        self.slashing.after_validator_created(s, op)
    }
    fn before_validator_modified(&self, s: &mut dyn State, op: &Address) -> Result<()> {
        self.distribution.before_validator_modified(s, op)?;
        self.slashing.before_validator_modified(s, op)
    }
    fn after_validator_removed(&self, s: &mut dyn State, c: &Address, op: &Address) -> Result<()> {
        self.distribution.after_validator_removed(s, c, op)?;
        self.slashing.after_validator_removed(s, c, op)
    }
    fn after_validator_bonded(&self, s: &mut dyn State, c: &Address, op: &Address) -> Result<()> {
        self.distribution.after_validator_bonded(s, c, op)?;
        self.slashing.after_validator_bonded(s, c, op)
    }
    fn after_validator_begin_unbonding(
        &self,
        s: &mut dyn State,
        c: &Address,
        op: &Address,
    ) -> Result<()> {
        self.distribution
            .after_validator_begin_unbonding(s, c, op)?;
        self.slashing.after_validator_begin_unbonding(s, c, op)
    }
    fn before_delegation_created(
        &self,
        s: &mut dyn State,
        d: &Address,
        op: &Address,
    ) -> Result<()> {
        self.distribution.before_delegation_created(s, d, op)?;
        self.slashing.before_delegation_created(s, d, op)
    }
    fn before_delegation_shares_modified(
        &self,
        s: &mut dyn State,
        d: &Address,
        op: &Address,
    ) -> Result<()> {
        self.distribution
            .before_delegation_shares_modified(s, d, op)?;
        self.slashing.before_delegation_shares_modified(s, d, op)
    }
    fn before_delegation_removed(
        &self,
        s: &mut dyn State,
        d: &Address,
        op: &Address,
    ) -> Result<()> {
        self.distribution.before_delegation_removed(s, d, op)?;
        self.slashing.before_delegation_removed(s, d, op)
    }
    fn after_delegation_modified(
        &self,
        s: &mut dyn State,
        d: &Address,
        op: &Address,
    ) -> Result<()> {
        self.distribution.after_delegation_modified(s, d, op)?;
        self.slashing.after_delegation_modified(s, d, op)
    }
    fn before_validator_slashed(&self, s: &mut dyn State, op: &Address, f: Dec) -> Result<()> {
        self.distribution.before_validator_slashed(s, op, f)?;
        self.slashing.before_validator_slashed(s, op, f)
    }
}

fn create_validator(s: &mut MemState, ctx: &BlockCtx, b: u8, amount: u128, rate: &str) {
    MsgCreateValidator {
        description: Description {
            moniker: format!("validator-{b}"),
            ..Description::default()
        },
        commission: CommissionRates {
            rate: d(rate),
            max_rate: Dec::one(),
            max_change_rate: d("0.01"),
        },
        min_self_delegation: 1,
        delegator_address: String::new(),
        validator_address: addr(b).to_valoper(),
        pubkey: [b; 32],
        value: stake(amount),
    }
    .execute(s, ctx, &BlockHooks::new(ctx))
    .expect("create validator");
}

fn delegate(s: &mut MemState, ctx: &BlockCtx, del: u8, val: u8, amount: u128) {
    MsgDelegate {
        delegator_address: addr(del).to_string(),
        validator_address: addr(val).to_valoper(),
        amount: stake(amount),
    }
    .execute(s, ctx, &BlockHooks::new(ctx))
    .expect("delegate");
}

/// Block 1: validator 1 (60 self-bonded + 15 from delegator 3 = power 75, 10 % commission)
/// and validator 2 (20 + 5 = power 25, no commission) bond; delegator 3 sends its rewards to
/// account 4. Block 2: 100stake of fees are allocated by the votes (75, 25), validator 2 is
/// recorded as having missed the block, and the minter is set.
fn chain() -> MemState {
    let mut s = MemState::default();
    let funded: Vec<Value> = [1u8, 2, 3]
        .iter()
        .map(|b| json!({"address": addr(*b).to_string(), "coins": [{"denom": "stake", "amount": (100 * P).to_string()}]}))
        .collect();
    let bank: bank::genesis::Genesis =
        serde_json::from_value(json!({"balances": funded})).expect("bank genesis");
    bank.init(&mut s).expect("bank genesis");
    auth::ensure_module_account(&mut s, auth::FEE_COLLECTOR).expect("fee collector");
    distribution::genesis::Genesis::default()
        .init(&mut s)
        .expect("distribution genesis");
    let genesis = at(0);
    staking::genesis::Genesis::default()
        .init(&mut s, &genesis, &BlockHooks::new(&genesis))
        .expect("staking genesis");

    let one = at(1);
    create_validator(&mut s, &one, 1, 60 * P, "0.1");
    create_validator(&mut s, &one, 2, 20 * P, "0");
    delegate(&mut s, &one, 3, 1, 15 * P);
    delegate(&mut s, &one, 3, 2, 5 * P);
    MsgSetWithdrawAddress {
        delegator_address: addr(3).to_string(),
        withdraw_address: addr(4).to_string(),
    }
    .execute(&mut s, &BTreeSet::new())
    .expect("set withdraw address");
    let updates = staking::end_block(&mut s, &one, &BlockHooks::new(&one)).expect("end block");
    assert_eq!(updates.len(), 2, "both validators bond");
    let fees = Coins::from_list(vec![stake(100)]).expect("fees");
    bank::mint(&mut s, &Address::module(auth::FEE_COLLECTOR), &fees).expect("fees");

    let two = at(2);
    distribution::begin_block(&mut s, &two, &[(cons(1).0, 75), (cons(2).0, 25)])
        .expect("allocation");
    let votes = [
        VoteInfo {
            address: cons(1).0,
            power: 75,
            signed: true,
        },
        VoteInfo {
            address: cons(2).0,
            power: 25,
            signed: false,
        },
    ];
    slashing::begin_block(&mut s, &two, &votes, &BlockHooks::new(&two)).expect("liveness");
    mint::set_minter(
        &mut s,
        &mint::Minter {
            inflation: d("0.135"),
            annual_provisions: d("13500000.25"),
        },
    )
    .expect("minter");
    s
}

fn get(s: &MemState, path: &str) -> Value {
    lcd::get(s, path, "").unwrap_or_else(|e| panic!("{path}: {e:?}"))
}

fn refused(s: &MemState, path: &str) -> LcdError {
    match lcd::get(s, path, "") {
        Ok(v) => panic!("{path} must be refused, answered {v}"),
        Err(e) => e,
    }
}

/// `[{"denom": "stake", "amount": <amount>}]`.
fn dec_stake(amount: &str) -> Value {
    json!([{"denom": "stake", "amount": amount}])
}

const SLASHING: &str = "/cosmos/slashing/v1beta1";
const DISTRIBUTION: &str = "/cosmos/distribution/v1beta1";
const MINT: &str = "/cosmos/mint/v1beta1";

#[test]
fn every_module_prefix_is_routed_here() {
    for path in [
        "/cosmos/staking/v1beta1/pool",
        "/cosmos/slashing/v1beta1/params",
        "/cosmos/distribution/v1beta1/params",
        "/cosmos/mint/v1beta1/params",
    ] {
        assert!(lcd::handles(path), "{path}");
    }
    assert!(!lcd::handles("/cosmos/bank/v1beta1/balances/x"));
    assert!(!lcd::handles("/cosmos.slashing.v1beta1.Query/Params"));
}

#[test]
fn slashing_params_are_the_sdk_defaults() {
    assert_eq!(
        get(&chain(), &format!("{SLASHING}/params")),
        json!({"params": {
            "signed_blocks_window": "100",
            "min_signed_per_window": "0.500000000000000000",
            "downtime_jail_duration": "600s",
            "slash_fraction_double_sign": "0.050000000000000000",
            "slash_fraction_downtime": "0.010000000000000000",
        }})
    );
}

#[test]
fn signing_infos_record_the_bonding_height_and_the_missed_block() {
    let s = chain();
    let info = |b: u8, missed: &str| {
        json!({
            "address": cons(b).to_valcons(),
            "start_height": "1",
            "index_offset": "1",
            "jailed_until": "1970-01-01T00:00:00Z",
            "tombstoned": false,
            "missed_blocks_counter": missed,
        })
    };
    assert_eq!(
        get(
            &s,
            &format!("{SLASHING}/signing_infos/{}", cons(2).to_valcons())
        ),
        json!({"val_signing_info": info(2, "1")})
    );
    // Listed by consensus address bytes.
    let mut expected = vec![(cons(1), info(1, "0")), (cons(2), info(2, "1"))];
    expected.sort_by_key(|(c, _)| *c);
    let list: Vec<Value> = expected.into_iter().map(|(_, v)| v).collect();
    assert_eq!(
        get(&s, &format!("{SLASHING}/signing_infos")),
        json!({"info": list, "pagination": {"next_key": null, "total": "2"}})
    );
}

#[test]
fn signing_info_errors_are_invalid_argument_and_not_found() {
    let s = chain();
    let unknown = cons(9).to_valcons();
    let e = refused(&s, &format!("{SLASHING}/signing_infos/{unknown}"));
    assert_eq!(
        e,
        LcdError {
            code: 5,
            message: format!(
                "rpc error: code = NotFound desc = SigningInfo not found for validator {unknown}"
            ),
        }
    );
    assert_eq!(lcd::http_status(e.code), 404);
    for bad in [
        "cosmosvalcons1notbech32".to_string(),
        addr(1).to_string(),  // an account address
        addr(1).to_valoper(), // an operator address
    ] {
        let e = refused(&s, &format!("{SLASHING}/signing_infos/{bad}"));
        assert_eq!(e.code, 3, "{bad}: {e:?}");
        assert!(
            e.message
                .starts_with("rpc error: code = InvalidArgument desc = "),
            "{e:?}"
        );
    }
    assert_eq!(refused(&s, &format!("{SLASHING}/missed")).code, 12);
}

#[test]
fn distribution_params_and_community_pool() {
    let s = chain();
    assert_eq!(
        get(&s, &format!("{DISTRIBUTION}/params")),
        json!({"params": {
            "community_tax": "0.020000000000000000",
            "base_proposer_reward": "0.000000000000000000",
            "bonus_proposer_reward": "0.000000000000000000",
            "withdraw_addr_enabled": true,
        }})
    );
    // 2 % of the 100stake of fees.
    assert_eq!(
        get(&s, &format!("{DISTRIBUTION}/community_pool")),
        json!({"pool": dec_stake("2.000000000000000000")})
    );
}

#[test]
fn validator_commission_outstanding_rewards_and_distribution_info() {
    let s = chain();
    let (v1, v2) = (addr(1).to_valoper(), addr(2).to_valoper());
    // Validator 1 gets 98 × 75 % = 73.5: 7.35 commission, 66.15 for its 75 tokens of stake,
    // 52.92 of it for the operator's 60.
    assert_eq!(
        get(&s, &format!("{DISTRIBUTION}/validators/{v1}/commission")),
        json!({"commission": {"commission": dec_stake("7.350000000000000000")}})
    );
    assert_eq!(
        get(
            &s,
            &format!("{DISTRIBUTION}/validators/{v1}/outstanding_rewards")
        ),
        json!({"rewards": {"rewards": dec_stake("73.500000000000000000")}})
    );
    assert_eq!(
        get(&s, &format!("{DISTRIBUTION}/validators/{v1}")),
        json!({
            "operator_address": v1,
            "self_bond_rewards": dec_stake("52.920000000000000000"),
            "commission": dec_stake("7.350000000000000000"),
        })
    );
    // Validator 2: no commission, an empty list.
    assert_eq!(
        get(&s, &format!("{DISTRIBUTION}/validators/{v2}/commission")),
        json!({"commission": {"commission": []}})
    );
    assert_eq!(
        get(&s, &format!("{DISTRIBUTION}/validators/{v2}")),
        json!({
            "operator_address": v2,
            "self_bond_rewards": dec_stake("19.600000000000000000"),
            "commission": [],
        })
    );
}

#[test]
fn delegator_rewards_validators_and_withdraw_address() {
    let s = chain();
    let (v1, v2, d3) = (addr(1).to_valoper(), addr(2).to_valoper(), addr(3));
    // 15 of validator 1's 75 tokens (13.23 of 66.15), 5 of validator 2's 25 (4.9 of 24.5).
    assert_eq!(
        get(&s, &format!("{DISTRIBUTION}/delegators/{d3}/rewards")),
        json!({
            "rewards": [
                {"validator_address": v1, "reward": dec_stake("13.230000000000000000")},
                {"validator_address": v2, "reward": dec_stake("4.900000000000000000")},
            ],
            "total": dec_stake("18.130000000000000000"),
        })
    );
    assert_eq!(
        get(&s, &format!("{DISTRIBUTION}/delegators/{d3}/rewards/{v2}")),
        json!({"rewards": dec_stake("4.900000000000000000")})
    );
    assert_eq!(
        get(&s, &format!("{DISTRIBUTION}/delegators/{d3}/validators")),
        json!({"validators": [v1, v2]})
    );
    assert_eq!(
        get(
            &s,
            &format!("{DISTRIBUTION}/delegators/{d3}/withdraw_address")
        ),
        json!({"withdraw_address": addr(4).to_string()})
    );
    // Without one set, the delegator itself; without delegations, empty lists.
    let nobody = addr(9);
    assert_eq!(
        get(
            &s,
            &format!("{DISTRIBUTION}/delegators/{nobody}/withdraw_address")
        ),
        json!({"withdraw_address": nobody.to_string()})
    );
    assert_eq!(
        get(&s, &format!("{DISTRIBUTION}/delegators/{nobody}/rewards")),
        json!({"rewards": [], "total": []})
    );
    assert_eq!(
        get(
            &s,
            &format!("{DISTRIBUTION}/delegators/{nobody}/validators")
        ),
        json!({"validators": []})
    );
}

#[test]
fn a_reward_query_changes_nothing() {
    let s = chain();
    let before = s.clone();
    let d3 = addr(3);
    get(&s, &format!("{DISTRIBUTION}/delegators/{d3}/rewards"));
    get(
        &s,
        &format!("{DISTRIBUTION}/validators/{}", addr(1).to_valoper()),
    );
    assert_eq!(s, before);
}

#[test]
fn distribution_errors_are_invalid_argument_not_found_and_unimplemented() {
    let s = chain();
    let (v1, unknown) = (addr(1).to_valoper(), addr(9).to_valoper());
    let (d1, d3) = (addr(1), addr(3));
    let not_found = |path: String, desc: &str| {
        assert_eq!(
            refused(&s, &path),
            LcdError {
                code: 5,
                message: format!("rpc error: code = NotFound desc = {desc}"),
            },
            "{path}"
        );
    };
    not_found(
        format!("{DISTRIBUTION}/validators/{unknown}/commission"),
        "validator does not exist",
    );
    not_found(
        format!("{DISTRIBUTION}/validators/{unknown}/outstanding_rewards"),
        "validator does not exist",
    );
    not_found(
        format!("{DISTRIBUTION}/validators/{unknown}"),
        "validator does not exist",
    );
    not_found(
        format!("{DISTRIBUTION}/delegators/{d3}/rewards/{unknown}"),
        "validator does not exist",
    );
    // Account 1 delegates only to its own validator.
    not_found(
        format!(
            "{DISTRIBUTION}/delegators/{d1}/rewards/{}",
            addr(2).to_valoper()
        ),
        "no delegation for (address, validator) tuple",
    );

    for path in [
        format!("{DISTRIBUTION}/validators/cosmosvaloper1nope/commission"),
        format!("{DISTRIBUTION}/validators/{d1}/outstanding_rewards"), // an account address
        format!("{DISTRIBUTION}/validators/{}", cons(1).to_valcons()),
        format!("{DISTRIBUTION}/delegators/cosmos1nope/rewards"),
        format!("{DISTRIBUTION}/delegators/{v1}/validators"), // an operator address
        format!("{DISTRIBUTION}/delegators/cosmos1nope/withdraw_address"),
        format!("{DISTRIBUTION}/delegators/cosmos1nope/rewards/{v1}"),
    ] {
        let e = refused(&s, &path);
        assert_eq!(e.code, 3, "{path}: {e:?}");
        assert_eq!(lcd::http_status(e.code), 400);
    }
    // The validator is checked before the delegator, as the SDK does.
    assert_eq!(
        refused(
            &s,
            &format!("{DISTRIBUTION}/delegators/cosmos1nope/rewards/{unknown}")
        )
        .code,
        5
    );

    let e = refused(&s, &format!("{DISTRIBUTION}/validators/{v1}/slashes/extra"));
    assert_eq!(e.code, 12);
    assert_eq!(lcd::http_status(e.code), 501);
}

#[test]
fn mint_params_inflation_and_annual_provisions() {
    let s = chain();
    assert_eq!(
        get(&s, &format!("{MINT}/params")),
        json!({"params": {
            "mint_denom": "stake",
            "inflation_rate_change": "0.130000000000000000",
            "inflation_max": "0.200000000000000000",
            "inflation_min": "0.070000000000000000",
            "goal_bonded": "0.670000000000000000",
            "blocks_per_year": "6311520",
        }})
    );
    // Decimal strings, as the SDK's gateway writes its LegacyDec `bytes` fields.
    assert_eq!(
        get(&s, &format!("{MINT}/inflation")),
        json!({"inflation": "0.135000000000000000"})
    );
    assert_eq!(
        get(&s, &format!("{MINT}/annual_provisions")),
        json!({"annual_provisions": "13500000.250000000000000000"})
    );
    assert_eq!(refused(&s, &format!("{MINT}/minter")).code, 12);
}

#[test]
fn a_fresh_state_answers_the_default_minter() {
    let s = MemState::default();
    assert_eq!(
        get(&s, &format!("{MINT}/inflation")),
        json!({"inflation": "0.130000000000000000"})
    );
    assert_eq!(
        get(&s, &format!("{MINT}/annual_provisions")),
        json!({"annual_provisions": "0.000000000000000000"})
    );
}

#[test]
fn staking_routes_still_answer_after_the_split() {
    let s = chain();
    let v1 = addr(1).to_valoper();
    let v = get(&s, &format!("/cosmos/staking/v1beta1/validators/{v1}"));
    assert_eq!(v["validator"]["operator_address"], json!(v1));
    assert_eq!(v["validator"]["tokens"], json!((75 * P).to_string()));
    assert_eq!(v["validator"]["status"], json!("BOND_STATUS_BONDED"));
    let bonded = lcd::get(
        &s,
        "/cosmos/staking/v1beta1/validators",
        "status=BOND_STATUS_BONDED",
    )
    .expect("validators");
    assert_eq!(bonded["pagination"]["total"], json!("2"));
    let unknown = addr(9).to_valoper();
    assert_eq!(
        refused(&s, &format!("/cosmos/staking/v1beta1/validators/{unknown}")),
        LcdError {
            code: 5,
            message: format!("rpc error: code = NotFound desc = validator {unknown} not found"),
        }
    );
}
