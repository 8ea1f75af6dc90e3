//! Slashing reaches the stake that was bonded at the infraction, and nothing else.

use super::*;

#[test]
fn slash_reaches_unbondings_and_redelegations_begun_at_or_after_the_infraction_only() {
    let mut s = setup(&[(1, 20 * P), (2, 20 * P), (4, 20 * P)]);
    let c = at(1, 0);
    create(&mut s, &c, 1, 10 * P);
    create(&mut s, &c, 2, 10 * P);
    delegate(&mut s, &c, 4, 1, 4 * P);
    end_block_at(&mut s, &c);
    // Before the infraction (height 4): one unbonding and one redelegation at height 3.
    let h3 = at(3, 30);
    undelegate(&mut s, &h3, 4, 1, P);
    apply(&mut s, |st| {
        redelegate_msg(4, 1, 2, P).execute(st, &h3, &NoHooks)
    })
    .expect("redelegate");
    // After it: the same at height 5.
    let h5 = at(5, 50);
    undelegate(&mut s, &h5, 4, 1, P);
    apply(&mut s, |st| {
        redelegate_msg(4, 1, 2, P).execute(st, &h5, &NoHooks)
    })
    .expect("redelegate");
    end_block_at(&mut s, &h5);
    check_pools(&s);
    assert_eq!(val(&s, 1).tokens, 10 * P);
    assert_eq!(val(&s, 2).tokens, 12 * P);
    let supply = bank::supply_of(&s, "stake").expect("supply");

    // Validator 1 had power 14 at height 4; half of it is slashed at height 6.
    let now = at(6, 60);
    let burned = apply(&mut s, |st| {
        slash(st, &now, &cons(1), 4, 14, d("0.5"), &NoHooks)
    })
    .expect("slash");
    // 7P due: P/2 from the height-5 unbonding, P/2 from the height-5 redelegation (unbonded
    // at validator 2), and the remaining 6P from validator 1 itself.
    assert_eq!(burned, 6 * P);
    assert_eq!(val(&s, 1).tokens, 4 * P);
    assert_eq!(val(&s, 2).tokens, 12 * P - P / 2);
    let ubd = unbonding_delegation(&s, &addr(4), &addr(1))
        .expect("read")
        .expect("exists");
    let balances: Vec<_> = ubd
        .entries
        .iter()
        .map(|e| (e.creation_height, e.balance))
        .collect();
    assert_eq!(
        balances,
        vec![(3, P), (5, P / 2)],
        "the height-3 entry is untouched"
    );
    let d2 = delegation(&s, &addr(4), &addr(2))
        .expect("read")
        .expect("exists");
    assert_eq!(
        d2.shares,
        Dec::from_int(2 * P - P / 2),
        "half the height-5 shares unbonded"
    );
    assert_eq!(
        bank::supply_of(&s, "stake").expect("supply"),
        supply - 7 * P,
        "all of it burned"
    );
    check_pools(&s);
    // In power order: 11 before 4.
    assert_eq!(
        end_block_at(&mut s, &at(7, 70)),
        vec![update(2, 11), update(1, 4)]
    );
    check_pools(&s);
}

#[test]
fn slashing_at_the_current_height_skips_unbondings_and_mature_entries_are_spared() {
    let params = Params {
        unbonding_time: 100,
        ..Params::default()
    };
    let mut s = setup_with(&[(1, 20 * P), (4, 20 * P)], params);
    let c = at(1, 0);
    create(&mut s, &c, 1, 10 * P);
    delegate(&mut s, &c, 4, 1, 4 * P);
    end_block_at(&mut s, &c);
    undelegate(&mut s, &at(2, 10), 4, 1, P);
    // At the current height: everything comes from the validator.
    let now = at(2, 10);
    let burned = apply(&mut s, |st| {
        slash(st, &now, &cons(1), 2, 13, d("0.1"), &NoHooks)
    })
    .expect("slash");
    assert_eq!(burned, 13 * P / 10);
    let ubd = unbonding_delegation(&s, &addr(4), &addr(1))
        .expect("read")
        .expect("exists");
    assert_eq!(ubd.entries[0].balance, P);
    // Mature (completion ≤ now) but not yet paid out: spared.
    let late = at(3, 110);
    let burned = apply(&mut s, |st| {
        slash(st, &late, &cons(1), 2, 13, d("0.1"), &NoHooks)
    })
    .expect("slash");
    assert_eq!(burned, 13 * P / 10);
    let ubd = unbonding_delegation(&s, &addr(4), &addr(1))
        .expect("read")
        .expect("exists");
    assert_eq!(ubd.entries[0].balance, P);
    check_pools(&s);
}

#[test]
fn slash_edge_cases() {
    let mut s = setup(&[(1, 20 * P)]);
    let c = at(5, 0);
    create(&mut s, &c, 1, 10 * P);
    let e = apply(&mut s, |st| {
        slash(st, &c, &cons(1), 5, 10, d("0.1"), &NoHooks)
    })
    .expect_err("unbonded");
    assert_eq!(code(&e).0, "undefined");
    end_block_at(&mut s, &c);
    let before = s.clone();
    assert_eq!(
        apply(&mut s, |st| slash(
            st,
            &c,
            &cons(9),
            5,
            10,
            d("0.1"),
            &NoHooks
        ))
        .expect("no-op"),
        0
    );
    assert_eq!(s, before, "a nonexistent validator is not slashed");
    let e = apply(&mut s, |st| {
        slash(st, &c, &cons(1), 6, 10, d("0.1"), &NoHooks)
    })
    .expect_err("future");
    assert_eq!(
        code(&e),
        (
            "undefined",
            1,
            "impossible attempt to slash future infraction at height 6 but we are at height 5"
                .into()
        )
    );
    assert_eq!(s, before);
    // Everything: the validator is left with shares and no tokens, and takes no delegation.
    let burned = apply(&mut s, |st| {
        slash(st, &c, &cons(1), 5, 10, Dec::one(), &NoHooks)
    })
    .expect("all");
    assert_eq!(burned, 10 * P);
    assert!(val(&s, 1).invalid_ex_rate());
    let e = refused(&mut s, |st| delegate_msg(1, 1, 1).execute(st, &c, &NoHooks));
    assert_eq!(code(&e).1, 34);
    check_pools(&s);
}
