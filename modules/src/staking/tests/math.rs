//! Share and token arithmetic against worked examples.

use super::*;

fn slashed_validator() -> Validator {
    // 100 tokens and 100 shares, then a 10 % slash: 90 tokens for 100 shares.
    let mut v = Validator::new(
        addr(1),
        [1; 32],
        Description::default(),
        Commission {
            commission_rates: CommissionRates::default(),
            update_time: Timestamp::EPOCH,
        },
    );
    assert_eq!(
        v.add_tokens_from_del(100).expect("first"),
        d("100"),
        "1:1 at first"
    );
    v.remove_tokens(10).expect("slash");
    v
}

#[test]
fn delegating_after_a_slash_issues_shares_at_the_new_rate() {
    let mut v = slashed_validator();
    // 100 × 10 / 90, truncated at the 18th digit.
    let shares = v.add_tokens_from_del(10).expect("delegate");
    assert_eq!(shares.to_string(), "11.111111111111111111");
    assert_eq!(v.tokens, 100);
    assert_eq!(v.delegator_shares.to_string(), "111.111111111111111111");
    // Removing the new shares gives back 10 (the quotient rounds to exactly 10).
    assert_eq!(
        v.tokens_from_shares(shares).expect("worth").to_string(),
        "10.000000000000000000"
    );
    // 7 tokens are 7.777777777777777777 shares, worth 6.999999999999999999: 6 come out.
    let seven = v.shares_from_tokens(7).expect("shares");
    assert_eq!(seven.to_string(), "7.777777777777777777");
    assert_eq!(v.shares_from_tokens_truncated(7).expect("shares"), seven);
    assert_eq!(
        v.tokens_from_shares(seven).expect("worth").to_string(),
        "6.999999999999999999"
    );
    assert_eq!(
        v.tokens_from_shares_round_up(seven)
            .expect("worth")
            .to_string(),
        "7.000000000000000000"
    );
    assert_eq!(v.remove_del_shares(seven).expect("remove"), 6, "truncated");
    assert_eq!(v.tokens, 94, "the fraction stays with the validator");
    // The last shares take every remaining token.
    let rest = v.delegator_shares;
    assert_eq!(v.remove_del_shares(rest).expect("remove all"), 94);
    assert_eq!((v.tokens, v.delegator_shares), (0, Dec::zero()));
}

#[test]
fn a_validator_without_tokens_cannot_price_shares() {
    let mut v = slashed_validator();
    v.remove_tokens(90).expect("slashed to zero");
    assert!(v.invalid_ex_rate());
    let e = v.shares_from_tokens(1).expect_err("no tokens");
    assert_eq!(code(&e).0, "staking");
    assert_eq!(code(&e).1, 22);
    assert!(v.remove_tokens(1).is_err(), "cannot go below zero");
}

/// The same worked example through messages, scaled by 10^6 so that the validator has power.
#[test]
fn delegate_and_undelegate_after_a_slash_through_messages() {
    let mut s = setup(&[(1, 1_000 * P), (2, 1_000 * P)]);
    let c = at(1, 0);
    create(&mut s, &c, 1, 100 * P);
    assert_eq!(end_block_at(&mut s, &c), vec![update(1, 100)]);
    let burned = apply(&mut s, |st| {
        slash(st, &c, &cons(1), 1, 100, d("0.1"), &NoHooks)
    })
    .expect("slash");
    assert_eq!(burned, 10 * P);
    assert_eq!(val(&s, 1).tokens, 90 * P);

    let c2 = at(2, 5);
    let (r, events) = apply_events(&mut s, |st| {
        delegate_msg(2, 1, 10 * P).execute(st, &c2, &NoHooks)
    });
    r.expect("delegate");
    let d2 = delegation(&s, &addr(2), &addr(1))
        .expect("read")
        .expect("exists");
    assert_eq!(d2.shares.to_string(), "11111111.111111111111111111");
    assert_eq!(
        val(&s, 1).delegator_shares.to_string(),
        "111111111.111111111111111111"
    );
    let kinds: Vec<_> = events.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds, ["coin_spent", "coin_received", "delegate"]);
    assert_eq!(
        events[2].attributes,
        vec![
            ("validator".to_string(), addr(1).to_valoper()),
            ("delegator".to_string(), addr(2).to_string()),
            ("amount".to_string(), "10000000stake".to_string()),
            (
                "new_shares".to_string(),
                "11111111.111111111111111111".to_string()
            ),
        ]
    );

    // 7 tokens → 7.777777777777777777 shares → 6 tokens unbonding.
    let r = undelegate(&mut s, &c2, 2, 1, 7);
    assert_eq!(r.amount, stake(6));
    assert_eq!(r.completion_time.seconds, T0 + 5 + 1_814_400);
    let ubd = unbonding_delegation(&s, &addr(2), &addr(1))
        .expect("read")
        .expect("exists");
    assert_eq!(
        (ubd.entries[0].initial_balance, ubd.entries[0].balance),
        (6, 6)
    );
    assert_eq!(
        delegation(&s, &addr(2), &addr(1))
            .expect("read")
            .expect("exists")
            .shares
            .to_string(),
        "11111103.333333333333333334"
    );
    check_pools(&s);
}

#[test]
fn validate_unbond_amount_refuses_more_shares_than_delegated() {
    let mut s = setup(&[(1, 1_000 * P), (2, 1_000 * P)]);
    let c = at(1, 0);
    create(&mut s, &c, 1, 100 * P);
    end_block_at(&mut s, &c);
    apply(&mut s, |st| {
        slash(st, &c, &cons(1), 1, 100, d("0.1"), &NoHooks)
    })
    .expect("slash");
    delegate(&mut s, &c, 2, 1, 10 * P);
    // All 10 tokens' worth of shares is exactly the delegation: allowed.
    let all = validate_unbond_amount(&s, &addr(2), &addr(1), 10 * P).expect("all");
    assert_eq!(all.to_string(), "11111111.111111111111111111");
    // One token more truncates above the delegation's shares.
    let e = validate_unbond_amount(&s, &addr(2), &addr(1), 10 * P + 1).expect_err("too much");
    assert_eq!(
        code(&e),
        ("sdk", 18, "invalid shares amount: invalid request".into())
    );
    let e = validate_unbond_amount(&s, &addr(3), &addr(1), 1).expect_err("no delegation");
    assert_eq!(code(&e).1, 19);
    // Unbonding everything returns the tokens the shares are worth, exactly 10.
    assert_eq!(undelegate(&mut s, &c, 2, 1, 10 * P).amount, stake(10 * P));
    assert_eq!(
        delegation(&s, &addr(2), &addr(1)).expect("read"),
        None,
        "emptied: removed"
    );
    check_pools(&s);
}
