//! Bad messages fail with the SDK's error and change nothing.

use super::*;

/// Validators 1 (bonded, 10P) and 2 (bonded, 5P); account 3 holds 1000 stake and 50 atom,
/// delegator 4 has 5P delegated to validator 1.
fn world() -> MemState {
    let mut s = setup(&[(1, 20 * P), (2, 20 * P), (3, 1_000), (4, 20 * P)]);
    let c = at(1, 0);
    create(&mut s, &c, 1, 10 * P);
    create(&mut s, &c, 2, 5 * P);
    delegate(&mut s, &c, 4, 1, 5 * P);
    end_block_at(&mut s, &c);
    s
}

#[test]
fn delegations_refused() {
    let mut s = world();
    let c = at(2, 5);
    let unknown = MsgDelegate {
        validator_address: addr(99).to_valoper(),
        ..delegate_msg(3, 1, 10)
    };
    let e = refused(&mut s, |st| unknown.execute(st, &c, &NoHooks));
    assert_eq!(code(&e), ("staking", 3, "validator does not exist".into()));

    let e = refused(&mut s, |st| {
        delegate_msg(3, 1, 1_001).execute(st, &c, &NoHooks)
    });
    assert_eq!(
        code(&e),
        (
            "sdk",
            5,
            "failed to delegate; 1000stake is smaller than 1001stake: insufficient funds".into()
        )
    );

    let mut atom = delegate_msg(3, 1, 10);
    atom.amount.denom = "atom".into();
    let e = refused(&mut s, |st| atom.execute(st, &c, &NoHooks));
    assert_eq!(
        code(&e),
        (
            "sdk",
            18,
            "invalid coin denomination: got atom, expected stake: invalid request".into()
        )
    );

    let e = refused(&mut s, |st| delegate_msg(3, 1, 0).execute(st, &c, &NoHooks));
    assert_eq!(
        code(&e),
        (
            "sdk",
            18,
            "invalid delegation amount: invalid request".into()
        )
    );
    let mut bad = delegate_msg(3, 1, 1);
    bad.validator_address = addr(1).to_string();
    assert_eq!(bad.validate_basic().expect_err("account prefix").code(), 7);
    assert_eq!(
        delegate_msg(3, 1, 1).validate_basic().expect("signer"),
        addr(3)
    );
}

#[test]
fn undelegations_refused() {
    let mut s = world();
    let c = at(2, 5);
    let e = refused(&mut s, |st| {
        undelegate_msg(4, 1, 5 * P + 1).execute(st, &c, &NoHooks)
    });
    assert_eq!(
        code(&e),
        ("sdk", 18, "invalid shares amount: invalid request".into())
    );
    let e = refused(&mut s, |st| {
        undelegate_msg(3, 1, 1).execute(st, &c, &NoHooks)
    });
    assert_eq!(
        code(&e),
        (
            "staking",
            19,
            "no delegation for (address, validator) tuple".into()
        )
    );
    let e = refused(&mut s, |st| {
        undelegate_msg(4, 99, 1).execute(st, &c, &NoHooks)
    });
    assert_eq!(code(&e).1, 3);
    let mut atom = undelegate_msg(4, 1, 1);
    atom.amount.denom = "atom".into();
    let e = refused(&mut s, |st| atom.execute(st, &c, &NoHooks));
    assert_eq!(code(&e).1, 18);

    // Seven entries (different heights) are the most; the eighth is refused.
    for h in 0..7 {
        undelegate(&mut s, &at(3 + h, 10 + h as i64), 4, 1, 1);
    }
    let ubd = unbonding_delegation(&s, &addr(4), &addr(1))
        .expect("read")
        .expect("exists");
    assert_eq!(ubd.entries.len(), 7);
    let e = refused(&mut s, |st| {
        undelegate_msg(4, 1, 1).execute(st, &at(20, 100), &NoHooks)
    });
    assert_eq!(
        code(&e),
        (
            "staking",
            27,
            "too many unbonding delegation entries for (delegator, validator) tuple".into()
        )
    );
    // Within one block, unbondings with the same completion time share an entry.
    let mut s = world();
    undelegate(&mut s, &c, 4, 1, 1);
    undelegate(&mut s, &c, 4, 1, 2);
    let ubd = unbonding_delegation(&s, &addr(4), &addr(1))
        .expect("read")
        .expect("exists");
    assert_eq!(ubd.entries.len(), 1);
    assert_eq!(
        (ubd.entries[0].balance, ubd.entries[0].unbonding_id),
        (3, 1)
    );
    check_pools(&s);
}

#[test]
fn redelegations_refused() {
    let mut s = world();
    let c = at(2, 5);
    let e = refused(&mut s, |st| {
        redelegate_msg(4, 1, 1, 1).execute(st, &c, &NoHooks)
    });
    assert_eq!(
        code(&e),
        (
            "staking",
            29,
            "cannot redelegate to the same validator".into()
        )
    );
    let e = refused(&mut s, |st| {
        redelegate_msg(4, 1, 99, 1).execute(st, &c, &NoHooks)
    });
    assert_eq!(code(&e).1, 31);
    let e = refused(&mut s, |st| {
        redelegate_msg(4, 1, 2, 5 * P + 1).execute(st, &c, &NoHooks)
    });
    assert_eq!(code(&e).1, 18);

    let r = apply(&mut s, |st| {
        redelegate_msg(4, 1, 2, P).execute(st, &c, &NoHooks)
    })
    .expect("redelegate");
    assert_eq!(
        r.completion_time.seconds,
        T0 + 5 + 1_814_400,
        "bonded source: full wait"
    );
    // Moving on from validator 2 while the first redelegation is immature is transitive.
    let e = refused(&mut s, |st| {
        redelegate_msg(4, 2, 1, 1).execute(st, &c, &NoHooks)
    });
    assert_eq!(code(&e).1, 32);
    for h in 0..6 {
        apply(&mut s, |st| {
            redelegate_msg(4, 1, 2, 1).execute(st, &at(3 + h, 10), &NoHooks)
        })
        .expect("more entries");
    }
    let e = refused(&mut s, |st| {
        redelegate_msg(4, 1, 2, 1).execute(st, &at(20, 10), &NoHooks)
    });
    assert_eq!(code(&e).1, 33);
    check_pools(&s);
}

#[test]
fn commission_rules() {
    let mut s = world();
    let c = at(2, 5);
    let mut m = create_msg(3, 100);
    m.commission.rate = d("0.3");
    let e = refused(&mut s, |st| m.execute(st, &c, &NoHooks));
    assert_eq!(
        code(&e),
        (
            "staking",
            11,
            "commission cannot be more than the max rate".into()
        )
    );
    m.commission = CommissionRates {
        rate: d("0.1"),
        max_rate: d("1.1"),
        max_change_rate: d("0.01"),
    };
    assert_eq!(m.validate_basic().expect_err("huge").code(), 10);
    m.commission.max_rate = d("0.2");
    m.commission.max_change_rate = d("0.3");
    assert_eq!(m.validate_basic().expect_err("change rate").code(), 14);

    let edit = |rate: &str| MsgEditValidator {
        description: Description {
            moniker: DO_NOT_MODIFY.into(),
            identity: DO_NOT_MODIFY.into(),
            website: "https://example.org".into(),
            security_contact: DO_NOT_MODIFY.into(),
            details: DO_NOT_MODIFY.into(),
        },
        validator_address: addr(1).to_valoper(),
        commission_rate: Some(d(rate)),
        min_self_delegation: None,
    };
    // Created at T0: within 24 h the rate may not change.
    let e = refused(&mut s, |st| {
        edit("0.11").execute(st, &at(3, 23 * 3600), &NoHooks)
    });
    assert_eq!(
        code(&e),
        (
            "staking",
            12,
            "commission cannot be changed more than once in 24h".into()
        )
    );
    let day = at(4, 24 * 3600);
    let e = refused(&mut s, |st| edit("0.12").execute(st, &day, &NoHooks));
    assert_eq!(
        code(&e),
        (
            "staking",
            15,
            "commission cannot be changed more than max change rate".into()
        )
    );
    let e = refused(&mut s, |st| edit("0.25").execute(st, &day, &NoHooks));
    assert_eq!(code(&e).1, 11);
    apply(&mut s, |st| edit("0.11").execute(st, &day, &NoHooks)).expect("after 24 h");
    let v = val(&s, 1);
    assert_eq!(v.commission.commission_rates.rate, d("0.11"));
    assert_eq!(v.commission.update_time, day.time);
    assert_eq!(v.description.moniker, "validator-1", "kept");
    assert_eq!(v.description.website, "https://example.org", "changed");
    let e = refused(&mut s, |st| {
        edit("0.10").execute(st, &at(5, 47 * 3600), &NoHooks)
    });
    assert_eq!(code(&e).1, 12, "twice within 24 h");
    // Lowering is not limited by the max change rate.
    apply(&mut s, |st| {
        edit("0.01").execute(st, &at(6, 48 * 3600), &NoHooks)
    })
    .expect("lower");

    // Minimum self-delegation may only rise, and not above the tokens.
    let msd = |n: Amount| MsgEditValidator {
        commission_rate: None,
        min_self_delegation: Some(n),
        ..edit("0.1")
    };
    let e = refused(&mut s, |st| msd(1).execute(st, &day, &NoHooks));
    assert_eq!(code(&e).1, 17);
    let e = refused(&mut s, |st| msd(15 * P + 1).execute(st, &day, &NoHooks));
    assert_eq!(code(&e).1, 16);
    apply(&mut s, |st| msd(2).execute(st, &day, &NoHooks)).expect("raise");
    assert_eq!(val(&s, 1).min_self_delegation, 2);
}

#[test]
fn create_validator_refused() {
    let mut s = world();
    let c = at(2, 5);
    let e = refused(&mut s, |st| create_msg(1, 100).execute(st, &c, &NoHooks));
    assert_eq!(code(&e).1, 4, "operator exists");
    let mut m = create_msg(3, 100);
    m.pubkey = [1; 32];
    let e = refused(&mut s, |st| m.execute(st, &c, &NoHooks));
    assert_eq!(code(&e).1, 5, "pubkey exists");
    let mut m = create_msg(3, 100);
    m.value.denom = "atom".into();
    let e = refused(&mut s, |st| m.execute(st, &c, &NoHooks));
    assert_eq!(code(&e).1, 18);
    let mut m = create_msg(3, 100);
    m.min_self_delegation = 101;
    assert_eq!(m.validate_basic().expect_err("below min").code(), 16);
    let mut m = create_msg(3, 100);
    m.description.moniker = "x".repeat(71);
    let e = refused(&mut s, |st| m.execute(st, &c, &NoHooks));
    assert_eq!(
        code(&e),
        (
            "sdk",
            18,
            "invalid moniker length; got: 71, max: 70: invalid request".into()
        )
    );
    let e = refused(&mut s, |st| create_msg(3, 1_001).execute(st, &c, &NoHooks));
    assert_eq!(code(&e).1, 5);
    let high = Params {
        min_commission_rate: d("0.15"),
        ..Params::default()
    };
    apply(&mut s, |st| set_params(st, &high)).expect("params");
    let e = refused(&mut s, |st| create_msg(3, 100).execute(st, &c, &NoHooks));
    assert_eq!(
        code(&e),
        (
            "staking",
            40,
            "cannot set validator commission to less than minimum rate of 0.150000000000000000: commission cannot be less than min rate".into()
        )
    );
}

#[test]
fn cancel_unbonding_delegation() {
    let mut s = world();
    let c = at(2, 5);
    undelegate(&mut s, &c, 4, 1, 3 * P);
    let cancel = |amount: Amount, height: i64| MsgCancelUnbondingDelegation {
        delegator_address: addr(4).to_string(),
        validator_address: addr(1).to_valoper(),
        amount: stake(amount),
        creation_height: height,
    };
    let later = at(3, 10);
    let e = refused(&mut s, |st| {
        cancel(3 * P + 1, 2).execute(st, &later, &NoHooks)
    });
    assert_eq!(
        code(&e),
        (
            "sdk",
            18,
            "amount is greater than the unbonding delegation entry balance: invalid request".into()
        )
    );
    let e = refused(&mut s, |st| cancel(1, 1).execute(st, &later, &NoHooks));
    assert_eq!(
        code(&e),
        (
            "sdk",
            38,
            "unbonding delegation entry is not found at block height 1: not found".into()
        )
    );
    let e = refused(&mut s, |st| cancel(1, 0).execute(st, &later, &NoHooks));
    assert_eq!(code(&e).1, 18);
    let mut atom = cancel(1, 2);
    atom.amount.denom = "atom".into();
    assert_eq!(
        refused(&mut s, |st| atom.execute(st, &later, &NoHooks)).code(),
        18
    );
    let e = refused(&mut s, |st| {
        cancel(1, 2).execute(st, &at(9, 1_814_406), &NoHooks)
    });
    assert_eq!(
        code(&e).2,
        "unbonding delegation is already processed: invalid request"
    );

    let shares_before = delegation(&s, &addr(4), &addr(1))
        .expect("read")
        .expect("d")
        .shares;
    let (r, events) = apply_events(&mut s, |st| cancel(P, 2).execute(st, &later, &NoHooks));
    r.expect("cancel part");
    let ubd = unbonding_delegation(&s, &addr(4), &addr(1))
        .expect("read")
        .expect("exists");
    assert_eq!(
        (ubd.entries[0].balance, ubd.entries[0].initial_balance),
        (2 * P, 2 * P)
    );
    let shares = delegation(&s, &addr(4), &addr(1))
        .expect("read")
        .expect("d")
        .shares;
    assert_eq!(shares, shares_before.add(Dec::from_int(P)).expect("add"));
    assert_eq!(
        events.last().map(|e| e.kind.as_str()),
        Some("cancel_unbonding_delegation")
    );
    check_pools(&s);
    apply(&mut s, |st| cancel(2 * P, 2).execute(st, &later, &NoHooks)).expect("cancel the rest");
    assert_eq!(
        unbonding_delegation(&s, &addr(4), &addr(1)).expect("read"),
        None
    );
    check_pools(&s);

    undelegate(&mut s, &at(4, 20), 4, 1, P);
    apply(&mut s, |st| jail(st, &cons(1))).expect("jail");
    let e = refused(&mut s, |st| cancel(1, 4).execute(st, &at(5, 30), &NoHooks));
    assert_eq!(code(&e).1, 7);
}

#[test]
fn redelegation_completion_follows_the_source_status() {
    let params = Params {
        max_validators: 2,
        unbonding_time: 1_000,
        ..Params::default()
    };
    let mut s = setup_with(
        &[(1, 20 * P), (2, 20 * P), (3, 20 * P), (4, 20 * P)],
        params,
    );
    let c = at(1, 0);
    create(&mut s, &c, 1, 5 * P);
    create(&mut s, &c, 2, 4 * P);
    create(&mut s, &c, 3, P);
    delegate(&mut s, &c, 4, 3, P);
    delegate(&mut s, &c, 4, 2, P);
    end_block_at(&mut s, &c);
    assert!(val(&s, 3).is_unbonded());
    // From an unbonded source: complete at once, Go's zero time, no entry.
    let r = apply(&mut s, |st| {
        redelegate_msg(4, 3, 1, P / 2).execute(st, &c, &NoHooks)
    })
    .expect("now");
    assert_eq!(r.completion_time.to_string(), "0001-01-01T00:00:00Z");
    assert_eq!(
        redelegation(&s, &addr(4), &addr(3), &addr(1)).expect("read"),
        None
    );
    check_pools(&s);
    // From an unbonding source: at the source's own unbonding time and height.
    apply(&mut s, |st| jail(st, &cons(2))).expect("jail");
    end_block_at(&mut s, &at(2, 100));
    let v2 = val(&s, 2);
    assert!(v2.is_unbonding());
    let (r, events) = apply_events(&mut s, |st| {
        redelegate_msg(4, 2, 1, P / 2).execute(st, &at(3, 300), &NoHooks)
    });
    assert_eq!(r.expect("redelegate").completion_time, v2.unbonding_time);
    let red = redelegation(&s, &addr(4), &addr(2), &addr(1))
        .expect("read")
        .expect("exists");
    assert_eq!(red.entries[0].creation_height, v2.unbonding_height);
    assert_eq!(red.entries[0].shares_dst, Dec::from_int(P / 2));
    let e = events.last().expect("redelegate event");
    assert_eq!(e.kind, "redelegate");
    assert_eq!(
        e.attributes[3],
        ("completion_time".into(), "2026-01-01T00:18:20Z".into())
    );
    check_pools(&s);
    // The entry goes at its completion time.
    end_block_at(&mut s, &at(4, 1_099));
    assert!(redelegation(&s, &addr(4), &addr(2), &addr(1))
        .expect("read")
        .is_some());
    end_block_at(&mut s, &at(5, 1_100));
    assert_eq!(
        redelegation(&s, &addr(4), &addr(2), &addr(1)).expect("read"),
        None
    );
    check_pools(&s);
}
