//! staking against an in-memory state: every operation runs on a [`Branch`] that is
//! committed only if it succeeds, as the app runs a message.

mod end_block;
mod errors;
mod genesis;
mod hooks;
mod math;
mod property;
mod slash;

use super::genesis::Genesis;
use super::*;
use crate::test_util::{addr, apply, apply_events, code, d, funded, refused, stake};
use crate::{bank, Address, Amount, BlockCtx, Dec, MemState, ModuleError, Result};
use crate::{State, Timestamp};

/// 2026-01-01T00:00:00Z.
const T0: i64 = 1_767_225_600;

/// Tokens per unit of power, for readable amounts.
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

/// Accounts `(byte, stake)` funded by bank's genesis; staking's genesis with `params`.
fn setup_with(balances: &[(u8, Amount)], params: Params) -> MemState {
    let mut s = funded(balances);
    let g = Genesis {
        params,
        ..Genesis::default()
    };
    let updates = apply(&mut s, |st| g.init(st, &at(0, 0), &NoHooks)).expect("staking genesis");
    assert!(updates.is_empty());
    s
}

fn setup(balances: &[(u8, Amount)]) -> MemState {
    setup_with(balances, Params::default())
}

fn create_msg(b: u8, amount: Amount) -> MsgCreateValidator {
    MsgCreateValidator {
        description: Description {
            moniker: format!("validator-{b}"),
            ..Description::default()
        },
        commission: CommissionRates {
            rate: d("0.1"),
            max_rate: d("0.2"),
            max_change_rate: d("0.01"),
        },
        min_self_delegation: 1,
        delegator_address: String::new(),
        validator_address: addr(b).to_valoper(),
        pubkey: [b; 32],
        value: stake(amount),
    }
}

fn create(s: &mut MemState, ctx: &BlockCtx, b: u8, amount: Amount) {
    apply(s, |st| create_msg(b, amount).execute(st, ctx, &NoHooks)).expect("create validator");
}

fn delegate_msg(del: u8, val: u8, amount: Amount) -> MsgDelegate {
    MsgDelegate {
        delegator_address: addr(del).to_string(),
        validator_address: addr(val).to_valoper(),
        amount: stake(amount),
    }
}

fn delegate(s: &mut MemState, ctx: &BlockCtx, del: u8, val: u8, amount: Amount) {
    apply(s, |st| {
        delegate_msg(del, val, amount).execute(st, ctx, &NoHooks)
    })
    .expect("delegate");
}

fn undelegate_msg(del: u8, val: u8, amount: Amount) -> MsgUndelegate {
    MsgUndelegate {
        delegator_address: addr(del).to_string(),
        validator_address: addr(val).to_valoper(),
        amount: stake(amount),
    }
}

fn undelegate(
    s: &mut MemState,
    ctx: &BlockCtx,
    del: u8,
    val: u8,
    amount: Amount,
) -> MsgUndelegateResponse {
    apply(s, |st| {
        undelegate_msg(del, val, amount).execute(st, ctx, &NoHooks)
    })
    .expect("undelegate")
}

fn redelegate_msg(del: u8, src: u8, dst: u8, amount: Amount) -> MsgBeginRedelegate {
    MsgBeginRedelegate {
        delegator_address: addr(del).to_string(),
        validator_src_address: addr(src).to_valoper(),
        validator_dst_address: addr(dst).to_valoper(),
        amount: stake(amount),
    }
}

fn end_block_at(s: &mut MemState, ctx: &BlockCtx) -> Vec<ValidatorUpdate> {
    apply(s, |st| end_block(st, ctx, &NoHooks)).expect("end block")
}

fn val(s: &MemState, b: u8) -> Validator {
    validator(s, &addr(b))
        .expect("read")
        .expect("validator exists")
}

fn balance(s: &MemState, b: u8) -> Amount {
    bank::balance(s, &addr(b), "stake").expect("balance")
}

fn update(b: u8, power: i64) -> ValidatorUpdate {
    ValidatorUpdate {
        pub_key: [b; 32],
        power,
    }
}

/// Supply is the sum of balances, the bonded pool holds exactly the bonded validators'
/// tokens and the not-bonded pool the other validators' tokens plus the unbonding balances.
fn check_pools(s: &MemState) {
    assert!(bank::check_supply_invariant(s).expect("supply check"));
    let (mut bonded, mut not_bonded) = (0u128, 0u128);
    for v in validators(s).expect("validators") {
        if v.is_bonded() {
            bonded += v.tokens;
        } else {
            not_bonded += v.tokens;
        }
    }
    for u in all_unbonding_delegations(s).expect("unbondings") {
        not_bonded += u.entries.iter().map(|e| e.balance).sum::<Amount>();
    }
    assert_eq!(
        pool(s).expect("pool"),
        (not_bonded, bonded),
        "pools hold the tokens"
    );
}

/// The consensus address of test validator `b` (key `[b; 32]`).
fn cons(b: u8) -> Address {
    Address::from_ed25519_pubkey(&[b; 32])
}
