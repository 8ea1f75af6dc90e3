//! slashing against an in-memory state, with staking's messages and end block moving the
//! validator set: every operation runs on a [`Branch`] committed only if it succeeds, as the
//! app runs a message or a block phase.

mod double_sign;
mod genesis;
mod liveness;
mod unjail;

use super::genesis::Genesis;
use super::*;
use crate::staking::{
    self, CommissionRates, Description, MsgBeginRedelegate, MsgCreateValidator, MsgDelegate,
    MsgUndelegate, Validator, ValidatorUpdate,
};
use crate::test_util::{addr, apply, apply_events, code, d, funded, refused, stake};
use crate::{bank, Address, Amount, BlockCtx, Dec, Event, MemState, ModuleError, Result};
use crate::{State, Timestamp};

/// 2026-01-01T00:00:00Z.
const T0: i64 = 1_767_225_600;

/// Seconds between blocks.
const BLOCK_SECS: i64 = 5;

/// Tokens per unit of power.
const P: Amount = staking::POWER_REDUCTION;

/// The consensus address of test validator `b` (key `[b; 32]`).
fn cons(b: u8) -> Address {
    Address::from_ed25519_pubkey(&[b; 32])
}

/// Block `height`, `BLOCK_SECS` after the previous one.
fn at(height: u64) -> BlockCtx {
    at_time(height, T0 + BLOCK_SECS * height as i64)
}

fn at_time(height: u64, seconds: i64) -> BlockCtx {
    BlockCtx {
        height,
        time: Timestamp { seconds, nanos: 0 },
        chain_id: "keystone-test".into(),
    }
}

/// Accounts `(byte, stake)` funded by bank's genesis, staking's genesis, and slashing's
/// with `params`.
fn setup(balances: &[(u8, Amount)], params: Params) -> MemState {
    let mut s = funded(balances);
    let hooks = SlashingHooks { height: 0 };
    apply(&mut s, |st| {
        staking::genesis::Genesis::default().init(st, &at(0), &hooks)
    })
    .expect("staking genesis");
    let g = Genesis {
        params,
        ..Genesis::default()
    };
    apply(&mut s, |st| g.init(st)).expect("slashing genesis");
    s
}

/// A validator with `amount` self-delegated and at least `min_self` promised, at `height`.
fn create_min(s: &mut MemState, height: u64, b: u8, amount: Amount, min_self: Amount) {
    let msg = MsgCreateValidator {
        description: Description {
            moniker: format!("validator-{b}"),
            ..Description::default()
        },
        commission: CommissionRates {
            rate: d("0.1"),
            max_rate: d("0.2"),
            max_change_rate: d("0.01"),
        },
        min_self_delegation: min_self,
        delegator_address: String::new(),
        validator_address: addr(b).to_valoper(),
        pubkey: [b; 32],
        value: stake(amount),
    };
    let ctx = at(height);
    apply(s, |st| msg.execute(st, &ctx, &SlashingHooks::new(&ctx))).expect("create validator");
}

fn create(s: &mut MemState, height: u64, b: u8, amount: Amount) {
    create_min(s, height, b, amount, 1);
}

fn delegate(s: &mut MemState, height: u64, del: u8, val: u8, amount: Amount) {
    let msg = MsgDelegate {
        delegator_address: addr(del).to_string(),
        validator_address: addr(val).to_valoper(),
        amount: stake(amount),
    };
    let ctx = at(height);
    apply(s, |st| msg.execute(st, &ctx, &SlashingHooks::new(&ctx))).expect("delegate");
}

fn undelegate(s: &mut MemState, height: u64, del: u8, val: u8, amount: Amount) {
    let msg = MsgUndelegate {
        delegator_address: addr(del).to_string(),
        validator_address: addr(val).to_valoper(),
        amount: stake(amount),
    };
    let ctx = at(height);
    apply(s, |st| msg.execute(st, &ctx, &SlashingHooks::new(&ctx))).expect("undelegate");
}

fn redelegate(s: &mut MemState, height: u64, del: u8, src: u8, dst: u8, amount: Amount) {
    let msg = MsgBeginRedelegate {
        delegator_address: addr(del).to_string(),
        validator_src_address: addr(src).to_valoper(),
        validator_dst_address: addr(dst).to_valoper(),
        amount: stake(amount),
    };
    let ctx = at(height);
    apply(s, |st| msg.execute(st, &ctx, &SlashingHooks::new(&ctx))).expect("redelegate");
}

/// Staking's end block at `height`, with slashing's hooks.
fn end_block(s: &mut MemState, height: u64) -> Vec<ValidatorUpdate> {
    let ctx = at(height);
    apply(s, |st| {
        staking::end_block(st, &ctx, &SlashingHooks::new(&ctx))
    })
    .expect("end block")
}

/// The last commit as consensus would hand it over: every validator of the last set with
/// its power, those in `absent` without a vote.
fn votes(s: &MemState, absent: &[u8]) -> Vec<VoteInfo> {
    staking::validators(s)
        .expect("validators")
        .into_iter()
        .filter(|v| v.is_bonded())
        .map(|v| VoteInfo {
            address: v.cons_address().0,
            power: staking::last_validator_power(s, &v.operator).expect("power"),
            signed: !absent.contains(&v.operator.0[0]),
        })
        .collect()
}

/// Slashing's begin block at `height` on the last set, `absent` missing; its events.
fn begin(s: &mut MemState, height: u64, absent: &[u8]) -> Vec<Event> {
    let ctx = at(height);
    let v = votes(s, absent);
    let (r, events) = apply_events(s, |st| begin_block(st, &ctx, &v, &SlashingHooks::new(&ctx)));
    r.expect("begin block");
    events
}

/// A whole block: begin, end.
fn block(s: &mut MemState, height: u64, absent: &[u8]) -> Vec<Event> {
    let events = begin(s, height, absent);
    end_block(s, height);
    events
}

fn val(s: &MemState, b: u8) -> Validator {
    staking::validator(s, &addr(b))
        .expect("read")
        .expect("validator exists")
}

fn info(s: &MemState, b: u8) -> ValidatorSigningInfo {
    signing_info(s, &cons(b))
        .expect("read")
        .expect("signing info exists")
}

fn supply(s: &MemState) -> Amount {
    bank::supply_of(s, "stake").expect("supply")
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
    for v in staking::validators(s).expect("validators") {
        if v.is_bonded() {
            bonded += v.tokens;
        } else {
            not_bonded += v.tokens;
        }
    }
    for u in staking::all_unbonding_delegations(s).expect("unbondings") {
        not_bonded += u.entries.iter().map(|e| e.balance).sum::<Amount>();
    }
    assert_eq!(
        staking::pool(s).expect("pool"),
        (not_bonded, bonded),
        "pools hold the tokens"
    );
}

/// The events of type `kind`, as (key, value) lists.
fn of_kind(events: &[Event], kind: &str) -> Vec<Vec<(String, String)>> {
    events
        .iter()
        .filter(|e| e.kind == kind)
        .map(|e| e.attributes.clone())
        .collect()
}

fn attrs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}
