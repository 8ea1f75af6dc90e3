//! Downtime: the sliding window, the threshold, the punishment and the reset.

use super::*;

/// Validators 1, 2, 3 (10P each) bonded at height 1; delegator 9 has 3P with validator 2.
fn world() -> MemState {
    let mut s = setup(
        &[
            (1, 20 * P),
            (2, 20 * P),
            (3, 20 * P),
            (4, 20 * P),
            (9, 20 * P),
        ],
        Params::default(),
    );
    for b in [1, 2, 3] {
        create(&mut s, 1, b, 10 * P);
    }
    delegate(&mut s, 1, 9, 2, 3 * P);
    end_block(&mut s, 1);
    for b in [1, 2, 3] {
        assert_eq!(info(&s, b), ValidatorSigningInfo::new(cons(b), 1));
    }
    s
}

#[test]
fn missing_one_more_than_allowed_is_slashed_jailed_and_reset() {
    let mut s = world();
    // Window 100, at least 50 signed: 50 misses are allowed. Validator 2 signs until
    // height 51 and misses 52..=102 (51 blocks); validator 3 signs until 52 and misses
    // 53..=102 (50 blocks), then signs again.
    for h in 2..=51 {
        block(&mut s, h, &[]);
    }
    block(&mut s, 52, &[2]);
    for h in 53..=98 {
        block(&mut s, h, &[2, 3]);
    }
    // The unbondings that bracket the infraction height (102 − 2 = 100).
    begin(&mut s, 99, &[2, 3]);
    undelegate(&mut s, 99, 9, 2, P);
    end_block(&mut s, 99);
    begin(&mut s, 100, &[2, 3]);
    undelegate(&mut s, 100, 9, 2, P);
    end_block(&mut s, 100);
    block(&mut s, 101, &[2, 3]);
    assert_eq!(info(&s, 2).missed_blocks_counter, 50);
    assert!(!val(&s, 2).jailed, "50 misses are allowed");
    check_pools(&s);
    let (supply_before, pools_before) = (supply(&s), staking::pool(&s).expect("pool"));
    assert_eq!(val(&s, 2).tokens, 11 * P);

    let events = begin(&mut s, 102, &[2, 3]);
    // Power 11 in the vote: 1 % of 11P is due, P/100 of it from the unbonding begun at the
    // infraction height, the rest from the validator.
    let v2 = val(&s, 2);
    assert!(v2.jailed);
    assert_eq!(v2.tokens, 11 * P - 100_000);
    let ubd = staking::unbonding_delegation(&s, &addr(9), &addr(2))
        .expect("read")
        .expect("exists");
    let balances: Vec<_> = ubd
        .entries
        .iter()
        .map(|e| (e.creation_height, e.balance))
        .collect();
    assert_eq!(
        balances,
        vec![(99, P), (100, P - 10_000)],
        "the unbonding begun before the infraction height is spared"
    );
    assert_eq!(supply(&s), supply_before - 110_000, "burned");
    assert_eq!(
        staking::pool(&s).expect("pool"),
        (pools_before.0 - 10_000, pools_before.1 - 100_000),
        "burned from the pools holding the tokens"
    );
    let i2 = info(&s, 2);
    assert_eq!(
        i2,
        ValidatorSigningInfo {
            jailed_until: Timestamp {
                seconds: at(102).time.seconds + 600,
                nanos: 0
            },
            ..ValidatorSigningInfo::new(cons(2), 1)
        },
        "jailed for 600s, counter, offset reset"
    );
    assert!(missed_blocks(&s, &cons(2)).expect("bitmap").is_empty());
    // Exactly the allowed number: nothing.
    let v3 = val(&s, 3);
    assert!(!v3.jailed);
    assert_eq!(v3.tokens, 10 * P);
    let i3 = info(&s, 3);
    assert_eq!((i3.missed_blocks_counter, i3.index_offset), (50, 101));
    assert_eq!(
        missed_blocks(&s, &cons(3)).expect("bitmap"),
        [vec![0], (51..=99).collect::<Vec<i64>>()].concat(),
        "102 wrapped to index 0; 53..=101 are 51..=99"
    );

    let v2c = cons(2).to_valcons();
    assert_eq!(
        of_kind(&events, "liveness"),
        vec![
            attrs(&[
                ("address", &v2c),
                ("missed_blocks", "51"),
                ("height", "102")
            ]),
            attrs(&[
                ("address", &cons(3).to_valcons()),
                ("missed_blocks", "50"),
                ("height", "102")
            ]),
        ]
    );
    assert_eq!(
        of_kind(&events, "slash"),
        vec![attrs(&[
            ("address", &v2c),
            ("power", "11"),
            ("reason", "missing_signature"),
            ("jailed", &v2c),
            ("burned_coins", "100000"),
        ])]
    );
    assert_eq!(end_block(&mut s, 102), vec![update(2, 0)], "out of the set");
    check_pools(&s);

    // Validator 3 signs again: the window slides and it is never punished.
    for h in 103..=160 {
        block(&mut s, h, &[]);
    }
    assert!(!val(&s, 3).jailed);
    assert_eq!(info(&s, 3).missed_blocks_counter, 50 - 8);
    check_pools(&s);
}

#[test]
fn nothing_happens_before_a_window_has_passed_since_bonding() {
    let mut s = world();
    for h in 2..=19 {
        block(&mut s, h, &[2]);
    }
    begin(&mut s, 20, &[2]);
    create(&mut s, 20, 4, 5 * P);
    // Bonded at 20: judged from 121 on.
    end_block(&mut s, 20);
    assert_eq!(info(&s, 4), ValidatorSigningInfo::new(cons(4), 20));
    for h in 21..=101 {
        block(&mut s, h, &[2, 4]);
    }
    // A full window missed, but 101 is not past 1 + 100.
    assert_eq!(info(&s, 2).missed_blocks_counter, 100);
    assert!(!val(&s, 2).jailed);
    let events = block(&mut s, 102, &[2, 4]);
    assert!(val(&s, 2).jailed, "past the window: punished");
    assert_eq!(val(&s, 2).tokens, 10 * P + 3 * P - 130_000);
    assert_eq!(of_kind(&events, "slash").len(), 1);

    // Jailed: its votes are skipped (nothing recorded, no event).
    let before = info(&s, 2);
    let ctx = at(103);
    let vote = VoteInfo {
        address: cons(2).0,
        power: 13,
        signed: false,
    };
    let (r, events) = apply_events(&mut s, |st| {
        begin_block(st, &ctx, &[vote], &SlashingHooks::new(&ctx))
    });
    r.expect("begin block");
    assert!(events.is_empty());
    assert_eq!(info(&s, 2), before);

    // Validator 4 bonded at 20 has missed 82 blocks, but 102 is not past 120 yet.
    assert_eq!(info(&s, 4).missed_blocks_counter, 82);
    for h in 103..=120 {
        block(&mut s, h, &[4]);
    }
    assert!(!val(&s, 4).jailed);
    block(&mut s, 121, &[4]);
    assert!(val(&s, 4).jailed);
    assert_eq!(val(&s, 4).tokens, 5 * P - 50_000);
    check_pools(&s);
}

#[test]
fn an_unknown_voter_is_skipped_and_a_missing_signing_info_is_an_error() {
    let mut s = world();
    let ctx = at(2);
    // A genesis-document validator staking never heard of: nothing to track or slash, for
    // a signed or a missed block.
    for signed in [true, false] {
        let stranger = VoteInfo {
            address: cons(77).0,
            power: 1,
            signed,
        };
        let before = s.clone();
        begin_block(&mut s, &ctx, &[stranger], &SlashingHooks::new(&ctx)).expect("skipped");
        assert_eq!(s, before, "nothing written for an unknown voter");
    }
    s.delete(state_key::signing_info(&cons(1)).as_bytes());
    let all = votes(&s, &[]);
    let e = refused(&mut s, |st| {
        begin_block(st, &ctx, &all, &SlashingHooks::new(&ctx))
    });
    assert_eq!(
        code(&e),
        (
            "slashing",
            8,
            format!("{}: no validator signing info found", cons(1).to_valcons())
        )
    );
}
