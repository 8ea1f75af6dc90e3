//! The validator set handed to consensus, and the queues that mature.

use super::*;

#[test]
fn first_end_block_bonds_by_power_and_then_reports_only_changes() {
    let mut s = setup(&[(1, 10 * P), (2, 10 * P), (3, 10 * P), (4, 10 * P)]);
    let c = at(1, 0);
    create(&mut s, &c, 1, 3 * P);
    create(&mut s, &c, 2, 2 * P);
    create(&mut s, &c, 3, P);
    create(&mut s, &c, 4, P / 2); // power 0: never bonded
    assert!(val(&s, 1).is_unbonded(), "validators start unbonded");
    assert_eq!(pool(&s).expect("pool"), (6 * P + P / 2, 0));

    let ups = end_block_at(&mut s, &c);
    assert_eq!(ups, vec![update(1, 3), update(2, 2), update(3, 1)]);
    for b in 1..=3 {
        assert!(val(&s, b).is_bonded());
    }
    assert!(val(&s, 4).is_unbonded());
    assert_eq!(pool(&s).expect("pool"), (P / 2, 6 * P));
    assert_eq!(last_total_power(&s).expect("read"), 6);
    assert_eq!(last_validator_power(&s, &addr(2)).expect("read"), 2);
    assert_eq!(last_validator_power(&s, &addr(4)).expect("read"), 0);
    let bonded: Vec<_> = bonded_validators_by_power(&s)
        .expect("read")
        .into_iter()
        .map(|v| v.operator)
        .collect();
    assert_eq!(bonded, vec![addr(1), addr(2), addr(3)]);
    check_pools(&s);

    assert!(
        end_block_at(&mut s, &at(2, 5)).is_empty(),
        "nothing changed"
    );

    // More power for validator 2: only its update.
    delegate(&mut s, &at(3, 10), 4, 2, P);
    assert_eq!(end_block_at(&mut s, &at(3, 10)), vec![update(2, 3)]);
    assert_eq!(last_total_power(&s).expect("read"), 7);
    // Validator 4 reaches power 1 and joins; tokens move from the not-bonded pool.
    delegate(&mut s, &at(4, 15), 4, 4, P / 2);
    assert_eq!(end_block_at(&mut s, &at(4, 15)), vec![update(4, 1)]);
    assert_eq!(pool(&s).expect("pool"), (0, 8 * P));
    check_pools(&s);
}

#[test]
fn power_ties_go_to_the_lower_address_bytes_not_the_lower_bech32() {
    // Two addresses whose bech32 text order is the reverse of their byte order.
    let (lo, hi) = (1u8..=60)
        .flat_map(|a| ((a + 1)..=60).map(move |b| (a, b)))
        .find(|(a, b)| addr(*a).to_valoper() > addr(*b).to_valoper())
        .expect("such a pair exists");
    let mut s = setup(&[(lo, 10 * P), (hi, 10 * P)]);
    let c = at(1, 0);
    create(&mut s, &c, hi, 2 * P);
    create(&mut s, &c, lo, 2 * P);
    assert_eq!(end_block_at(&mut s, &c), vec![update(lo, 2), update(hi, 2)]);
}

#[test]
fn pushed_out_of_the_set_a_validator_unbonds_and_unbondings_complete_on_time() {
    let params = Params {
        max_validators: 2,
        unbonding_time: 1_000,
        ..Params::default()
    };
    let mut s = setup_with(
        &[(1, 10 * P), (2, 10 * P), (3, 10 * P), (4, 10 * P)],
        params,
    );
    let c = at(1, 0);
    create(&mut s, &c, 1, 3 * P);
    create(&mut s, &c, 2, 2 * P);
    create(&mut s, &c, 3, P);
    assert_eq!(end_block_at(&mut s, &c), vec![update(1, 3), update(2, 2)]);
    assert!(val(&s, 3).is_unbonded(), "third of two seats");
    check_pools(&s);

    // Validator 3 overtakes 2, which leaves with power 0 and starts unbonding.
    let c2 = at(2, 10);
    delegate(&mut s, &c2, 4, 3, 4 * P);
    assert_eq!(end_block_at(&mut s, &c2), vec![update(3, 5), update(2, 0)]);
    let v2 = val(&s, 2);
    assert!(v2.is_unbonding());
    assert_eq!(v2.unbonding_time.seconds, T0 + 10 + 1_000);
    assert_eq!(v2.unbonding_height, 2);
    assert_eq!(last_validator_power(&s, &addr(2)).expect("read"), 0);
    assert_eq!(pool(&s).expect("pool"), (2 * P, 8 * P));
    check_pools(&s);

    // An undelegation from a bonded validator: its tokens go to the not-bonded pool now
    // and to the delegator after the unbonding time.
    let r = undelegate(&mut s, &at(3, 20), 4, 3, P);
    assert_eq!(r.completion_time.seconds, T0 + 20 + 1_000);
    assert_eq!(pool(&s).expect("pool"), (3 * P, 7 * P));
    check_pools(&s);
    let before = balance(&s, 4);

    end_block_at(&mut s, &at(4, 1_009));
    assert!(val(&s, 2).is_unbonding(), "one second early");
    end_block_at(&mut s, &at(5, 1_010));
    assert!(val(&s, 2).is_unbonded(), "on time");
    assert!(s
        .prefix(state_key::VALIDATOR_QUEUE.as_bytes())
        .expect("scan")
        .is_empty());

    end_block_at(&mut s, &at(6, 1_019));
    assert_eq!(
        balance(&s, 4),
        before,
        "not paid before the completion time"
    );
    assert!(unbonding_delegation(&s, &addr(4), &addr(3))
        .expect("read")
        .is_some());
    let (r, events) = apply_events(&mut s, |st| end_block(st, &at(7, 1_020), &NoHooks));
    r.expect("end block");
    assert_eq!(balance(&s, 4), before + P, "paid at the completion time");
    assert_eq!(
        unbonding_delegation(&s, &addr(4), &addr(3)).expect("read"),
        None
    );
    let done = events
        .iter()
        .find(|e| e.kind == "complete_unbonding")
        .expect("event");
    assert_eq!(
        done.attributes,
        vec![
            ("amount".to_string(), "1000000stake".to_string()),
            ("validator".to_string(), addr(3).to_valoper()),
            ("delegator".to_string(), addr(4).to_string()),
        ]
    );
    check_pools(&s);

    // The unbonded validator's operator takes everything back: the validator is removed.
    undelegate(&mut s, &at(8, 1_030), 2, 2, 2 * P);
    assert_eq!(validator(&s, &addr(2)).expect("read"), None);
    assert_eq!(validator_by_cons(&s, &cons(2)).expect("read"), None);
    check_pools(&s);
}

#[test]
fn jailed_validators_leave_the_set_and_return_when_unjailed() {
    let mut s = setup(&[(1, 10 * P), (2, 10 * P)]);
    let c = at(1, 0);
    create(&mut s, &c, 1, 3 * P);
    create(&mut s, &c, 2, 2 * P);
    end_block_at(&mut s, &c);
    apply(&mut s, |st| jail(st, &cons(2))).expect("jail");
    assert!(val(&s, 2).jailed);
    let e = apply(&mut s, |st| jail(st, &cons(2))).expect_err("twice");
    assert_eq!(code(&e).1, 7);
    assert_eq!(end_block_at(&mut s, &at(2, 5)), vec![update(2, 0)]);
    assert!(val(&s, 2).is_unbonding());
    check_pools(&s);
    apply(&mut s, |st| unjail(st, &cons(2))).expect("unjail");
    assert_eq!(end_block_at(&mut s, &at(3, 10)), vec![update(2, 2)]);
    assert!(val(&s, 2).is_bonded());
    assert!(
        s.prefix(state_key::VALIDATOR_QUEUE.as_bytes())
            .expect("scan")
            .is_empty(),
        "bonding again takes it out of the queue"
    );
    let e = apply(&mut s, |st| jail(st, &cons(9))).expect_err("unknown");
    assert_eq!(code(&e).1, 3);
    check_pools(&s);
}

#[test]
fn an_operator_below_its_minimum_self_delegation_is_jailed() {
    let mut s = setup(&[(1, 10 * P)]);
    let c = at(1, 0);
    let mut m = create_msg(1, 3 * P);
    m.min_self_delegation = 2 * P;
    apply(&mut s, |st| m.execute(st, &c, &NoHooks)).expect("create");
    end_block_at(&mut s, &c);
    undelegate(&mut s, &c, 1, 1, P);
    assert!(!val(&s, 1).jailed, "2 left: at the minimum");
    undelegate(&mut s, &c, 1, 1, 1);
    assert!(val(&s, 1).jailed, "below the minimum");
    assert_eq!(end_block_at(&mut s, &at(2, 5)), vec![update(1, 0)]);
    check_pools(&s);
}
