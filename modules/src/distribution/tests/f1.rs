//! F1: each delegator gets exactly its pro-rata share of every period it was in, truncated,
//! and the dust goes to the community pool.

use super::*;

#[test]
fn delegators_are_paid_their_pro_rata_share_of_each_period() {
    let mut s = setup(&[(1, 10 * P), (4, 10 * P), (5, 10 * P)]);
    // Validator 1 without commission: the operator (1P) and delegator 4 (2P).
    let c = at(1, 0);
    create(&mut s, &c, 1, P, "0");
    delegate(&mut s, &c, 4, 1, 2 * P);
    end_block(&mut s, &c);

    // Two blocks of 1000 in fees: 980 each after the 2 % tax, all to validator 1.
    for h in [2, 3] {
        collect_fees(&mut s, 1000);
        allocate(&mut s, &at(h, 5 * h as i64), &[(1, 3)]);
    }
    assert_eq!(current_of(&s, 1).rewards, stake_dec("1960"));

    // Delegator 5 joins with 3P: period 3 ends at 1960 / 3P = 0.000653333333333333 per
    // token (truncated). A delegation earns nothing in the block it starts.
    let c3 = at(3, 15);
    delegate(&mut s, &c3, 5, 1, 3 * P);
    assert_eq!(
        delegation_rewards(&s, &c3, &addr(5), &addr(1)).expect("query"),
        DecCoins::new()
    );
    end_block(&mut s, &c3);

    // 777 in fees: 761.46 to the validator, now 6P: 0.00012691 per token.
    let c4 = at(4, 20);
    collect_fees(&mut s, 777);
    allocate(&mut s, &c4, &[(1, 6)]);
    // Delegator 4 unbonds 1P, which first pays its rewards:
    // 2P × (0.000653333333333333 + 0.00012691) = 1560.486666666666 → 1560.
    let before = balance(&s, 4);
    undelegate(&mut s, &c4, 4, 1, P);
    assert_eq!(balance(&s, 4) - before, 1560);
    end_block(&mut s, &c4);

    // 500 in fees: 490 to the validator, now 5P: 0.000098 per token.
    let c5 = at(5, 25);
    collect_fees(&mut s, 500);
    allocate(&mut s, &c5, &[(1, 5)]);

    // The queries say what the withdrawals will pay, and change nothing.
    let frozen = s.clone();
    let expected = [
        // 3P × (0.00012691 + 0.000098)
        (5, "674.73"),
        // 1P × (0.000653333333333333 + 0.00012691 + 0.000098)
        (1, "878.243333333333"),
        // 1P × 0.000098 since its undelegation
        (4, "98"),
    ];
    for (del, amount) in expected {
        assert_eq!(
            delegation_rewards(&s, &c5, &addr(del), &addr(1)).expect("query"),
            stake_dec(amount),
            "delegator {del}"
        );
    }
    let total = delegation_total_rewards(&s, &c5, &addr(5)).expect("query");
    assert_eq!(total.total, stake_dec("674.73"));
    assert_eq!(total.rewards.len(), 1);
    assert_eq!(total.rewards[0].validator_address, addr(1));
    assert_eq!(s, frozen, "queries change nothing");

    assert_eq!(withdraw(&mut s, &c5, 5, 1), 674);
    assert_eq!(withdraw(&mut s, &c5, 1, 1), 878);
    assert_eq!(withdraw(&mut s, &c5, 4, 1), 98);

    // Allocated: 980 + 980 + 761.46 + 490 = 3211.46; paid 1560 + 674 + 878 + 98 = 3210;
    // dust 0.486666666666 + 0.73 + 0.243333333333 = 1.459999999999 to the pool, and the
    // 10^-12 the truncated ratios never handed out stays outstanding.
    assert_eq!(outstanding_of(&s, 1), stake_dec("0.000000000001"));
    // Taxes 20 + 20 + 15.54 + 10 = 65.54, plus the dust.
    assert_eq!(
        community_pool(&s).expect("pool"),
        stake_dec("66.999999999999")
    );
    assert_eq!(module_balance(&s), coins(3277 - 3210));
    check_books(&s);

    // Withdrawing again at once pays nothing: the period just ended holds no rewards.
    let (r, events) = apply_events(&mut s, |st| withdraw_msg(5, 1).execute(st, &c5));
    assert_eq!(r.expect("withdraw"), Coins::new());
    let amounts: Vec<_> = events
        .iter()
        .filter(|e| e.kind == "withdraw_rewards")
        .map(|e| e.attributes[0].1.clone())
        .collect();
    assert_eq!(amounts, ["0stake"], "a zero withdrawal says so");
    check_books(&s);
}

#[test]
fn historical_rewards_are_kept_only_while_referenced() {
    let mut s = setup(&[(1, 10 * P), (4, 10 * P)]);
    let c = at(1, 0);
    create(&mut s, &c, 1, P, "0");
    end_block(&mut s, &c);
    let periods = |s: &MemState| -> Vec<(String, u32)> {
        s.prefix(state_key::historicals(&addr(1)).as_bytes())
            .expect("prefix")
            .into_iter()
            .map(|(k, v)| {
                let h: ValidatorHistoricalRewards = serde_json::from_slice(&v).expect("json");
                let k = String::from_utf8_lossy(&k).into_owned();
                (k[k.len() - 2..].to_string(), h.reference_count)
            })
            .collect()
    };
    // Period 1 (ended by the self-delegation) is referenced by period 2 and the operator.
    assert_eq!(periods(&s), [("01".to_string(), 2)]);
    let c = at(2, 5);
    delegate(&mut s, &c, 4, 1, P);
    // Period 2 is referenced by period 3 and delegator 4.
    assert_eq!(periods(&s), [("01".to_string(), 1), ("02".to_string(), 2)]);
    withdraw(&mut s, &c, 1, 1);
    // The operator moved on to period 3; period 1 is gone.
    assert_eq!(periods(&s), [("02".to_string(), 1), ("03".to_string(), 2)]);
    undelegate(&mut s, &c, 4, 1, P);
    // Delegator 4 left: nothing refers to period 2 any more.
    assert_eq!(periods(&s), [("03".to_string(), 1), ("04".to_string(), 1)]);
    assert!(super::keeper::starting_info(&s, &addr(1), &addr(4))
        .expect("read")
        .is_none());
}
