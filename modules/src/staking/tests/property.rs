//! Random sequences of operations never create or lose a token: supply equals the sum of
//! balances, and the pools hold exactly what the validators and unbondings account for.

use super::*;
use rand_chacha::rand_core::{RngCore, SeedableRng};
use std::collections::BTreeMap;

const KINDS: [&str; 8] = [
    "delegate",
    "undelegate",
    "redelegate",
    "cancel",
    "slash",
    "jail",
    "unjail",
    "end_block",
];

fn pick<T: Copy>(rng: &mut impl RngCore, items: &[T]) -> T {
    items[(rng.next_u32() as usize) % items.len()]
}

/// Mostly whole tokens of power, sometimes a few atoms (rounding at the edges).
fn amount(rng: &mut impl RngCore) -> Amount {
    if rng.next_u32().is_multiple_of(3) {
        1 + Amount::from(rng.next_u32() % 50)
    } else {
        1 + Amount::from(rng.next_u64() % (4 * P as u64))
    }
}

fn one_run(seed: u64, counts: &mut BTreeMap<&'static str, (u32, u32)>, completions: &mut u32) {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let params = Params {
        unbonding_time: 1_000,
        max_validators: 3,
        max_entries: 3,
        ..Params::default()
    };
    let accounts: Vec<(u8, Amount)> = (1..=8).map(|b| (b, 100 * P)).collect();
    let mut s = setup_with(&accounts, params);
    let vals = [1u8, 2, 3, 4];
    let (mut height, mut secs) = (1u64, 0i64);
    for v in vals {
        let stake_amount = (1 + Amount::from(rng.next_u32() % 8)) * P;
        create(&mut s, &at(height, secs), v, stake_amount);
    }
    check_pools(&s);
    for _ in 0..500 {
        let c = at(height, secs);
        let kind = (rng.next_u32() as usize) % KINDS.len();
        let (del, v, v2) = (
            pick(&mut rng, &[1u8, 2, 3, 4, 5, 6, 7, 8]),
            pick(&mut rng, &vals),
            pick(&mut rng, &vals),
        );
        let (amt, r1, r2) = (amount(&mut rng), rng.next_u32(), rng.next_u32());
        let factor = pick(&mut rng, &["0.01", "0.1", "0.5"]);
        if KINDS[kind] == "end_block" {
            let (r, events) = apply_events(&mut s, |st| end_block(st, &c, &NoHooks));
            r.expect("end block never fails");
            *completions += events
                .iter()
                .filter(|e| e.kind == "complete_unbonding")
                .count() as u32;
            height += 1;
            secs += i64::from(rng.next_u32() % 400);
            counts.entry("end_block").or_default().0 += 1;
            check_pools(&s);
            continue;
        }
        let r: Result<()> = apply(&mut s, |st| match KINDS[kind] {
            "delegate" => delegate_msg(del, v, amt).execute(st, &c, &NoHooks),
            "undelegate" => undelegate_msg(del, v, amt)
                .execute(st, &c, &NoHooks)
                .map(|_| ()),
            "redelegate" => redelegate_msg(del, v, v2, amt)
                .execute(st, &c, &NoHooks)
                .map(|_| ()),
            "cancel" => {
                // Any existing unbonding, so that cancellations are tried often.
                let all = all_unbonding_delegations(&*st)?;
                let Some(ubd) = all.get((r1 as usize) % all.len().max(1)) else {
                    return Err(StakingError::NoUnbondingDelegation.into());
                };
                let e = &ubd.entries[(r2 as usize) % ubd.entries.len()];
                let take = 1 + Amount::from(r2) % e.balance.max(1);
                MsgCancelUnbondingDelegation {
                    delegator_address: ubd.delegator.to_string(),
                    validator_address: ubd.validator.to_valoper(),
                    amount: stake(take),
                    creation_height: e.creation_height as i64,
                }
                .execute(st, &c, &NoHooks)
            }
            "slash" => {
                let op = val_of(&*st, v)?;
                let power = match last_validator_power(&*st, &addr(v))? {
                    0 => op.potential_consensus_power() as i64,
                    p => p,
                };
                let infraction = height.saturating_sub(u64::from(r1 % 3)).max(1);
                slash(st, &c, &cons(v), infraction, power, d(factor), &NoHooks).map(|_| ())
            }
            "jail" => jail(st, &cons(v)),
            _ => unjail(st, &cons(v)),
        });
        let entry = counts.entry(KINDS[kind]).or_default();
        if r.is_ok() {
            entry.0 += 1;
        } else {
            entry.1 += 1;
        }
        check_pools(&s);
    }
}

fn val_of(st: &dyn State, b: u8) -> Result<Validator> {
    validator(st, &addr(b))?.ok_or_else(|| StakingError::NoValidatorFound.into())
}

#[test]
fn pools_and_supply_are_conserved_under_random_operations() {
    let mut counts = BTreeMap::new();
    let mut completions = 0;
    for seed in 0..6 {
        one_run(seed, &mut counts, &mut completions);
    }
    for kind in KINDS {
        let (ok, _) = counts.get(kind).copied().unwrap_or_default();
        assert!(ok >= 10, "{kind} succeeded only {ok} times: {counts:?}");
    }
    assert!(completions >= 10, "unbondings completed: {completions}");
}
