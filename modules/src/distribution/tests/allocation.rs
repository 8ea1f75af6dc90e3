//! Allocation of a block's fees: the community tax, the split by voting power, commission.

use super::*;

/// Validators 1 (75 power, 10 % commission) and 2 (25 power, no commission), bonded.
fn two_validators() -> MemState {
    let mut s = setup(&[(1, 100 * P), (2, 100 * P)]);
    let c = at(1, 0);
    create(&mut s, &c, 1, 75 * P, "0.1");
    create(&mut s, &c, 2, 25 * P, "0");
    end_block(&mut s, &c);
    s
}

fn attrs(events: &[Event], kind: &str) -> Vec<Vec<(String, String)>> {
    events
        .iter()
        .filter(|e| e.kind == kind)
        .map(|e| e.attributes.clone())
        .collect()
}

#[test]
fn fees_are_split_by_power_after_the_community_tax_and_commission() {
    let mut s = two_validators();
    collect_fees(&mut s, 100);
    let events = allocate(&mut s, &at(2, 5), &[(1, 75), (2, 25)]);

    // 100 × (1 − 0.02) = 98 for the validators: 73.5 to validator 1 (7.35 commission,
    // 66.15 for its delegators) and 24.5 to validator 2; the 2 left to the community pool.
    assert_eq!(community_pool(&s).expect("pool"), stake_dec("2"));
    assert_eq!(commission_of(&s, 1), stake_dec("7.35"));
    assert_eq!(current_of(&s, 1).rewards, stake_dec("66.15"));
    assert_eq!(outstanding_of(&s, 1), stake_dec("73.5"));
    assert_eq!(commission_of(&s, 2), DecCoins::new());
    assert_eq!(current_of(&s, 2).rewards, stake_dec("24.5"));
    assert_eq!(outstanding_of(&s, 2), stake_dec("24.5"));
    assert_eq!(
        bank::all_balances(&s, &Address::module(auth::FEE_COLLECTOR)).expect("fees"),
        Coins::new(),
        "the fee collector is emptied"
    );
    assert_eq!(module_balance(&s), coins(100));
    check_books(&s);

    let v1 = addr(1).to_valoper();
    let v2 = addr(2).to_valoper();
    let pair = |a: &str, b: &str| (a.to_string(), b.to_string());
    assert_eq!(
        attrs(&events, "commission"),
        vec![
            vec![
                pair("amount", "7.350000000000000000stake"),
                pair("validator", &v1)
            ],
            vec![pair("amount", ""), pair("validator", &v2)],
        ]
    );
    assert_eq!(
        attrs(&events, "rewards"),
        vec![
            vec![
                pair("amount", "73.500000000000000000stake"),
                pair("validator", &v1)
            ],
            vec![
                pair("amount", "24.500000000000000000stake"),
                pair("validator", &v2)
            ],
        ]
    );

    // The commission's whole part is paid to the operator, the fraction stays for later.
    let before = balance(&s, 1);
    let (r, events) = apply_events(&mut s, |st| {
        MsgWithdrawValidatorCommission {
            validator_address: addr(1).to_valoper(),
        }
        .execute(st)
    });
    assert_eq!(r.expect("withdraw commission"), coins(7));
    assert_eq!(balance(&s, 1), before + 7);
    assert_eq!(commission_of(&s, 1), stake_dec("0.35"));
    assert_eq!(outstanding_of(&s, 1), stake_dec("66.5"));
    assert_eq!(
        attrs(&events, "withdraw_commission"),
        vec![vec![pair("amount", "7stake")]]
    );
    check_books(&s);

    // The self-delegation is all of validator 1's stake: 66.15, of which 66 is paid and
    // 0.15 goes to the community pool; what is left outstanding is the commission.
    let c = at(3, 10);
    let (r, events) = apply_events(&mut s, |st| withdraw_msg(1, 1).execute(st, &c));
    assert_eq!(r.expect("withdraw"), coins(66));
    assert_eq!(balance(&s, 1), before + 7 + 66);
    assert_eq!(community_pool(&s).expect("pool"), stake_dec("2.15"));
    assert_eq!(outstanding_of(&s, 1), stake_dec("0.35"));
    assert_eq!(
        attrs(&events, "withdraw_rewards"),
        vec![vec![
            pair("amount", "66stake"),
            pair("validator", &v1),
            pair("delegator", &addr(1).to_string()),
        ]]
    );
    check_books(&s);
}

#[test]
fn nothing_is_allocated_in_the_first_block_and_without_power_all_goes_to_the_pool() {
    let mut s = two_validators();
    collect_fees(&mut s, 100);
    let before = s.clone();
    allocate(&mut s, &at(1, 0), &[(1, 75), (2, 25)]);
    assert_eq!(s, before, "height 1 has no previous block");

    allocate(&mut s, &at(2, 5), &[]);
    assert_eq!(community_pool(&s).expect("pool"), stake_dec("100"));
    assert_eq!(outstanding_of(&s, 1), DecCoins::new());
    check_books(&s);

    // An unknown voter's share stays with the community pool.
    collect_fees(&mut s, 100);
    let votes = [(cons(1), 75), ([0xee; 20], 25)];
    apply(&mut s, |st| begin_block(st, &at(3, 10), &votes)).expect("begin block");
    assert_eq!(outstanding_of(&s, 1), stake_dec("73.5"));
    assert_eq!(community_pool(&s).expect("pool"), stake_dec("126.5"));
    check_books(&s);
}

#[test]
fn a_removed_validator_pays_its_commission_and_leaves_its_dust_to_the_pool() {
    let params = staking::Params {
        unbonding_time: 100,
        ..staking::Params::default()
    };
    let mut s = setup(&[(1, 100 * P), (2, 100 * P)]);
    apply(&mut s, |st| staking::set_params(st, &params)).expect("params");
    let c = at(1, 0);
    create(&mut s, &c, 1, 3 * P, "0.1");
    create(&mut s, &c, 2, 10 * P, "0");
    end_block(&mut s, &c);
    collect_fees(&mut s, 1001);
    allocate(&mut s, &at(2, 5), &[(1, 3), (2, 10)]);
    // 980.98 × 0.230769230769230769 (3/13 truncated) = 226.379999999999999773, truncated;
    // 10 % of it, rounded, is the commission.
    assert_eq!(commission_of(&s, 1), stake_dec("22.637999999999999977"));

    // The operator leaves: its rewards are withdrawn by the undelegation, and the
    // validator, without shares, is removed when its unbonding ends.
    let c = at(2, 5);
    let before = balance(&s, 1);
    undelegate(&mut s, &c, 1, 1, 3 * P);
    let paid_rewards = balance(&s, 1) - before;
    assert_eq!(paid_rewards, 203, "226.379… − 22.637… = 203.741…");
    end_block(&mut s, &c);
    let pool_before = community_pool(&s).expect("pool");
    let c = at(3, 200);
    end_block(&mut s, &c);
    assert!(
        staking::validator(&s, &addr(1)).expect("read").is_none(),
        "removed"
    );
    assert_eq!(
        balance(&s, 1) - before,
        paid_rewards + 3 * P + 22,
        "the unbonded tokens and the commission's whole part"
    );
    // What was left: the commission's fraction and the delegators' dust.
    let left = community_pool(&s)
        .expect("pool")
        .checked_sub(&pool_before)
        .expect("grew");
    assert!(
        left.amount_of("stake") < Dec::one(),
        "only fractions go to the pool: {left}"
    );
    for prefix in [
        state_key::outstanding(&addr(1)),
        state_key::commission(&addr(1)),
        state_key::current(&addr(1)),
        state_key::historicals(&addr(1)),
        state_key::slash_events(&addr(1)),
        format!("{}{}/", state_key::STARTING_INFO, addr(1).to_valoper()),
    ] {
        assert!(
            s.prefix(prefix.as_bytes()).expect("prefix").is_empty(),
            "{prefix} deleted"
        );
    }
    check_books(&s);
}
