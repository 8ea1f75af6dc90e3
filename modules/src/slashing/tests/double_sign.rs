//! Double signing: the stake at the infraction is slashed, the validator is jailed for good
//! and tombstoned, and evidence is ignored where the SDK ignores it.

use super::*;

/// Evidence age limits (CometBFT's defaults: 100000 blocks, 48h).
const MAX_BLOCKS: u64 = 100_000;
const MAX_SECS: i64 = 48 * 3600;

fn evidence(b: u8, height: u64, power: i64) -> Equivocation {
    Equivocation {
        address: cons(b).0,
        height,
        time: at(height).time,
        power,
    }
}

fn handle(
    s: &mut MemState,
    ctx: &BlockCtx,
    ev: &Equivocation,
    max_blocks: u64,
    max_secs: i64,
) -> Vec<Event> {
    let (r, events) = apply_events(s, |st| {
        handle_equivocation(st, ctx, ev, max_blocks, max_secs, &SlashingHooks::new(ctx))
    });
    r.expect("evidence handled");
    events
}

/// Validators 1 and 2 (10P) bonded at 1; delegator 4 has 4P with validator 1 and, at
/// heights 3 and 4, unbonds P from it and moves P from it to validator 2.
fn world() -> MemState {
    let mut s = setup(
        &[(1, 20 * P), (2, 20 * P), (3, 20 * P), (4, 20 * P)],
        Params::default(),
    );
    create(&mut s, 1, 1, 10 * P);
    create(&mut s, 1, 2, 10 * P);
    delegate(&mut s, 1, 4, 1, 4 * P);
    end_block(&mut s, 1);
    block(&mut s, 2, &[]);
    for h in [3, 4] {
        begin(&mut s, h, &[]);
        undelegate(&mut s, h, 4, 1, P);
        redelegate(&mut s, h, 4, 1, 2, P);
        end_block(&mut s, h);
    }
    block(&mut s, 5, &[]);
    check_pools(&s);
    s
}

#[test]
fn double_sign_slashes_the_stake_at_the_infraction_jails_and_tombstones() {
    let mut s = world();
    assert_eq!(val(&s, 1).tokens, 10 * P);
    assert_eq!(val(&s, 2).tokens, 12 * P);
    let supply_before = supply(&s);

    // Signed twice at height 5, with power 12: the set staking returned at height 4.
    let now = at(6);
    let events = handle(&mut s, &now, &evidence(1, 5, 12), MAX_BLOCKS, MAX_SECS);
    // 5 % of 12P = 0.6P: P/20 from the height-4 unbonding, P/20 from the height-4
    // redelegation (unbonded at validator 2), the other 0.5P from validator 1.
    let v1 = val(&s, 1);
    assert!(v1.jailed);
    assert_eq!(v1.tokens, 10 * P - P / 2);
    assert_eq!(val(&s, 2).tokens, 12 * P - P / 20);
    let ubd = staking::unbonding_delegation(&s, &addr(4), &addr(1))
        .expect("read")
        .expect("exists");
    let balances: Vec<_> = ubd
        .entries
        .iter()
        .map(|e| (e.creation_height, e.balance))
        .collect();
    assert_eq!(
        balances,
        vec![(3, P), (4, P - P / 20)],
        "what left before the infraction height is spared"
    );
    let d2 = staking::delegation(&s, &addr(4), &addr(2))
        .expect("read")
        .expect("exists");
    assert_eq!(d2.shares, Dec::from_int(2 * P - P / 20));
    assert_eq!(supply(&s), supply_before - 6 * P / 10, "all of it burned");

    assert_eq!(
        info(&s, 1),
        ValidatorSigningInfo {
            jailed_until: DOUBLE_SIGN_JAIL_END_TIME,
            tombstoned: true,
            index_offset: 4,
            ..ValidatorSigningInfo::new(cons(1), 1)
        }
    );
    assert_eq!(info(&s, 1).jailed_until.to_string(), "9999-12-31T23:59:59Z");
    let v1c = cons(1).to_valcons();
    assert_eq!(
        of_kind(&events, "slash"),
        vec![
            attrs(&[
                ("address", &v1c),
                ("power", "12"),
                ("reason", "double_sign"),
                ("burned_coins", "500000"),
            ]),
            attrs(&[("jailed", &v1c)]),
        ]
    );
    assert_eq!(end_block(&mut s, 6), vec![update(2, 11), update(1, 0)]);
    check_pools(&s);

    // Tombstoned: more evidence does nothing, and it can never be unjailed.
    let before = s.clone();
    let events = handle(&mut s, &at(7), &evidence(1, 6, 9), MAX_BLOCKS, MAX_SECS);
    assert!(events.is_empty());
    assert_eq!(s, before);
    let never = at_time(1_000_000, DOUBLE_SIGN_JAIL_END_TIME.seconds);
    let e = refused(&mut s, |st| {
        MsgUnjail {
            validator_addr: addr(1).to_valoper(),
        }
        .execute(st, &never, &SlashingHooks::new(&never))
    });
    assert_eq!(
        code(&e),
        (
            "slashing",
            4,
            "validator still jailed; cannot be unjailed".into()
        )
    );
    check_pools(&s);
}

#[test]
fn a_jailed_double_signer_is_tombstoned_without_a_second_jail() {
    let mut s = world();
    apply(&mut s, |st| staking::jail(st, &cons(2))).expect("jail");
    let events = handle(&mut s, &at(6), &evidence(2, 5, 12), MAX_BLOCKS, MAX_SECS);
    assert_eq!(of_kind(&events, "slash").len(), 1, "no jailed event");
    assert!(info(&s, 2).tombstoned);
    assert_eq!(val(&s, 2).tokens, 12 * P - 6 * P / 10);
    check_pools(&s);
}

#[test]
fn evidence_too_old_by_both_measures_unknown_or_unbonded_is_ignored() {
    let mut s = world();
    create(&mut s, 6, 3, 5 * P);
    // At height 200 (1000s): evidence from height 50 is 150 blocks and 750s old.
    let now = at(200);
    let old = evidence(2, 50, 12);
    for (ev, max_blocks, max_secs, why) in [
        (old, 100, 500, "too old by both"),
        (
            evidence(77, 50, 1),
            MAX_BLOCKS,
            MAX_SECS,
            "unknown validator",
        ),
        (
            evidence(3, 6, 5),
            MAX_BLOCKS,
            MAX_SECS,
            "unbonded validator",
        ),
    ] {
        let before = s.clone();
        let events = handle(&mut s, &now, &ev, max_blocks, max_secs);
        assert!(events.is_empty(), "{why}");
        assert_eq!(s, before, "{why}");
    }
    // Too old in blocks only: still punished (and likewise in time only).
    handle(&mut s, &now, &old, 100, 750);
    assert!(info(&s, 2).tombstoned);
    assert_eq!(val(&s, 2).tokens, 12 * P - 6 * P / 10);
    handle(&mut s, &now, &evidence(1, 50, 14), 150, 500);
    assert!(info(&s, 1).tombstoned);
    check_pools(&s);
}
