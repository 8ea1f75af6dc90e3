//! A slash ends a period and records its fraction: rewards after it are computed on the
//! reduced stake.

use super::*;

#[test]
fn rewards_across_a_slash_use_the_reduced_stake() {
    let mut s = setup(&[(1, 10 * P), (4, 10 * P)]);
    let c = at(1, 0);
    create(&mut s, &c, 1, 2 * P, "0");
    delegate(&mut s, &c, 4, 1, 2 * P);
    end_block(&mut s, &c);

    // 980 for 4P: 0.000245 per token.
    let c2 = at(2, 5);
    collect_fees(&mut s, 1000);
    allocate(&mut s, &c2, &[(1, 4)]);
    // Half the validator's tokens are burned.
    let burned = apply(&mut s, |st| {
        staking::slash(st, &c2, &Address(cons(1)), 2, 4, d("0.5"), &hooks(&c2))
    })
    .expect("slash");
    assert_eq!(burned, 2 * P);
    // Period 3 ended at the slash; the event refers to it (so does period 4).
    let raw = s
        .get(state_key::slash_event(&addr(1), 2, 3).as_bytes())
        .expect("read")
        .expect("slash event stored");
    assert_eq!(
        std::str::from_utf8(&raw).expect("utf8"),
        r#"{"validator_period":"3","fraction":"0.500000000000000000"}"#
    );
    // The query lists it (and nothing for a validator never slashed).
    assert_eq!(
        validator_slashes(&s, &addr(1)).expect("query"),
        vec![ValidatorSlashEvent {
            validator_period: 3,
            fraction: d("0.5"),
        }]
    );
    assert_eq!(validator_slashes(&s, &addr(4)).expect("query"), vec![]);
    let h3 = super::super::keeper::historical_rewards(&s, &addr(1), 3)
        .expect("read")
        .expect("kept");
    assert_eq!(h3.reference_count, 2);
    assert_eq!(h3.cumulative_reward_ratio, stake_dec("0.000245"));
    end_block(&mut s, &c2);

    // 980 for the 2P left: 0.00049 per token.
    let c3 = at(3, 10);
    collect_fees(&mut s, 1000);
    allocate(&mut s, &c3, &[(1, 2)]);
    // Each half of the stake: 2P × 0.000245 before the slash, 1P × 0.00049 after — 980.
    // Counting the whole 2P after the slash would claim 1470, more than was allocated.
    for del in [4, 1] {
        assert_eq!(
            delegation_rewards(&s, &c3, &addr(del), &addr(1)).expect("query"),
            stake_dec("980"),
            "delegator {del}"
        );
    }
    assert_eq!(withdraw(&mut s, &c3, 4, 1), 980);
    assert_eq!(withdraw(&mut s, &c3, 1, 1), 980);
    assert_eq!(outstanding_of(&s, 1), DecCoins::new());
    assert_eq!(community_pool(&s).expect("pool"), stake_dec("40"));
    check_books(&s);
}

#[test]
fn a_delegation_started_after_a_slash_is_not_reduced_by_it() {
    let mut s = setup(&[(1, 10 * P), (4, 10 * P)]);
    let c = at(1, 0);
    create(&mut s, &c, 1, 4 * P, "0");
    end_block(&mut s, &c);
    let c2 = at(2, 5);
    apply(&mut s, |st| {
        staking::slash(st, &c2, &Address(cons(1)), 2, 4, d("0.25"), &hooks(&c2))
    })
    .expect("slash");
    end_block(&mut s, &c2);
    // 3P left; delegator 4 joins with 3P at height 3 (3P of shares at 0.75 token each:
    // 4P shares).
    let c3 = at(3, 10);
    delegate(&mut s, &c3, 4, 1, 3 * P);
    end_block(&mut s, &c3);
    let c4 = at(4, 15);
    collect_fees(&mut s, 1000);
    allocate(&mut s, &c4, &[(1, 6)]);
    // 980 over 6P, 3P each, whatever happened before delegator 4 came: 0.000163333333333333
    // per token (truncated), 489.999999999999 each, 489 paid.
    assert_eq!(withdraw(&mut s, &c4, 4, 1), 489);
    assert_eq!(withdraw(&mut s, &c4, 1, 1), 489);
    // The 2 % tax and both fractions.
    assert_eq!(
        community_pool(&s).expect("pool"),
        stake_dec("21.999999999998")
    );
    check_books(&s);
}
