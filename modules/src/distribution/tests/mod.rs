//! distribution against an in-memory state, with staking running its hooks: every operation
//! runs on a [`Branch`] that is committed only if it succeeds, as the app runs a message.

mod allocation;
mod errors;
mod f1;
mod genesis;
mod property;
mod slash;

use super::genesis::Genesis;
use super::*;
use crate::staking::{
    self, CommissionRates, Description, MsgBeginRedelegate, MsgCreateValidator, MsgDelegate,
    MsgUndelegate, NoHooks, ValidatorUpdate, POWER_REDUCTION,
};
use crate::test_util::{addr, apply, apply_events, code, d, funded, refused};
use crate::{auth, bank, Address, Amount, BlockCtx, Coin, Coins, Dec, Event, MemState};
use crate::{Result, State, Timestamp};

/// 2026-01-01T00:00:00Z.
const T0: i64 = 1_767_225_600;

/// Tokens per unit of power.
const P: Amount = POWER_REDUCTION;

fn at(height: u64, secs: i64) -> BlockCtx {
    BlockCtx {
        height,
        time: Timestamp {
            seconds: T0 + secs,
            nanos: 0,
        },
        chain_id: "keystone-test".into(),
    }
}

fn dc(list: &[(&str, &str)]) -> DecCoins {
    DecCoins::from_list(
        list.iter()
            .map(|(denom, amount)| DecCoin {
                denom: (*denom).into(),
                amount: d(amount),
            })
            .collect(),
    )
    .expect("dec coins")
}

/// `amount` stake as decimal coins.
fn stake_dec(amount: &str) -> DecCoins {
    dc(&[("stake", amount)])
}

fn coins(amount: Amount) -> Coins {
    Coins::from_list(vec![Coin {
        denom: "stake".into(),
        amount,
    }])
    .expect("coins")
}

/// The consensus address of test validator `b` (key `[b; 32]`).
fn cons(b: u8) -> [u8; 20] {
    Address::from_ed25519_pubkey(&[b; 32]).0
}

/// Accounts `(byte, stake)` funded by bank's genesis; distribution's genesis with `params`
/// (nothing else), then staking's.
fn setup_with(balances: &[(u8, Amount)], params: Params) -> MemState {
    let mut s = funded(balances);
    auth::ensure_module_account(&mut s, auth::FEE_COLLECTOR).expect("fee collector");
    Genesis {
        params,
        ..Genesis::default()
    }
    .init(&mut s)
    .expect("distribution genesis");
    let g = staking::genesis::Genesis::default();
    let updates = apply(&mut s, |st| g.init(st, &at(0, 0), &NoHooks)).expect("staking genesis");
    assert!(updates.is_empty());
    s
}

fn setup(balances: &[(u8, Amount)]) -> MemState {
    setup_with(balances, Params::default())
}

fn hooks(ctx: &BlockCtx) -> DistributionHooks {
    DistributionHooks::new(ctx)
}

fn create_msg(b: u8, amount: Amount, rate: &str) -> MsgCreateValidator {
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
        value: Coin {
            denom: "stake".into(),
            amount,
        },
    }
}

/// Create validator `b` with a self-delegation of `amount` and commission `rate`.
fn create(s: &mut MemState, ctx: &BlockCtx, b: u8, amount: Amount, rate: &str) {
    apply(s, |st| {
        create_msg(b, amount, rate).execute(st, ctx, &hooks(ctx))
    })
    .expect("create validator");
}

fn delegate_msg(del: u8, val: u8, amount: Amount) -> MsgDelegate {
    MsgDelegate {
        delegator_address: addr(del).to_string(),
        validator_address: addr(val).to_valoper(),
        amount: Coin {
            denom: "stake".into(),
            amount,
        },
    }
}

fn delegate(s: &mut MemState, ctx: &BlockCtx, del: u8, val: u8, amount: Amount) {
    apply(s, |st| {
        delegate_msg(del, val, amount).execute(st, ctx, &hooks(ctx))
    })
    .expect("delegate");
}

fn undelegate_msg(del: u8, val: u8, amount: Amount) -> MsgUndelegate {
    MsgUndelegate {
        delegator_address: addr(del).to_string(),
        validator_address: addr(val).to_valoper(),
        amount: Coin {
            denom: "stake".into(),
            amount,
        },
    }
}

fn undelegate(s: &mut MemState, ctx: &BlockCtx, del: u8, val: u8, amount: Amount) {
    apply(s, |st| {
        undelegate_msg(del, val, amount).execute(st, ctx, &hooks(ctx))
    })
    .expect("undelegate");
}

fn redelegate_msg(del: u8, src: u8, dst: u8, amount: Amount) -> MsgBeginRedelegate {
    MsgBeginRedelegate {
        delegator_address: addr(del).to_string(),
        validator_src_address: addr(src).to_valoper(),
        validator_dst_address: addr(dst).to_valoper(),
        amount: Coin {
            denom: "stake".into(),
            amount,
        },
    }
}

fn end_block(s: &mut MemState, ctx: &BlockCtx) -> Vec<ValidatorUpdate> {
    apply(s, |st| staking::end_block(st, ctx, &hooks(ctx))).expect("end block")
}

/// Put `amount` stake in the fee collector, as the fees of a block would.
fn collect_fees(s: &mut MemState, amount: Amount) {
    apply(s, |st| {
        bank::mint(st, &Address::module(auth::FEE_COLLECTOR), &coins(amount))
    })
    .expect("fees");
}

/// The distribution begin block at `ctx` with `votes` of validators `(byte, power)`.
fn allocate(s: &mut MemState, ctx: &BlockCtx, votes: &[(u8, i64)]) -> Vec<Event> {
    let votes: Vec<([u8; 20], i64)> = votes.iter().map(|(b, p)| (cons(*b), *p)).collect();
    let (r, events) = apply_events(s, |st| begin_block(st, ctx, &votes));
    r.expect("begin block");
    events
}

fn withdraw_msg(del: u8, val: u8) -> MsgWithdrawDelegatorReward {
    MsgWithdrawDelegatorReward {
        delegator_address: addr(del).to_string(),
        validator_address: addr(val).to_valoper(),
    }
}

/// Withdraw `del`'s rewards from `val`: the coins paid.
fn withdraw(s: &mut MemState, ctx: &BlockCtx, del: u8, val: u8) -> Amount {
    apply(s, |st| withdraw_msg(del, val).execute(st, ctx))
        .expect("withdraw")
        .amount_of("stake")
}

fn balance(s: &MemState, b: u8) -> Amount {
    bank::balance(s, &addr(b), "stake").expect("balance")
}

fn module_balance(s: &MemState) -> Coins {
    bank::all_balances(s, &Address::module(MODULE_NAME)).expect("balances")
}

fn outstanding_of(s: &MemState, b: u8) -> DecCoins {
    validator_outstanding_rewards(s, &addr(b)).expect("outstanding")
}

fn commission_of(s: &MemState, b: u8) -> DecCoins {
    validator_commission(s, &addr(b)).expect("commission")
}

fn current_of(s: &MemState, b: u8) -> ValidatorCurrentRewards {
    super::keeper::current_rewards(s, &addr(b))
        .expect("read")
        .expect("current rewards")
}

/// The sum of every validator's outstanding rewards and the community pool.
fn books(s: &MemState) -> DecCoins {
    let mut sum = community_pool(s).expect("community pool");
    for (k, v) in s.prefix(state_key::OUTSTANDING.as_bytes()).expect("prefix") {
        let r: ValidatorOutstandingRewards = serde_json::from_slice(&v)
            .unwrap_or_else(|e| panic!("{}: {e}", String::from_utf8_lossy(&k)));
        sum = sum.checked_add(&r.rewards).expect("sum");
    }
    sum
}

/// Supply is conserved, and the module account holds exactly what the books say: the
/// outstanding rewards plus the community pool, a whole number of coins (the SDK's
/// `ModuleAccountInvariant`, which holds here without truncation).
fn check_books(s: &MemState) {
    assert!(bank::check_supply_invariant(s).expect("supply check"));
    let books = books(s);
    let (whole, change) = books.truncate_decimal().expect("truncate");
    assert_eq!(
        change,
        DecCoins::new(),
        "the books hold whole coins: {books}"
    );
    assert_eq!(
        module_balance(s),
        whole,
        "module account = outstanding + community pool"
    );
}
