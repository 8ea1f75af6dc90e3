//! `MsgUnjail`: the SDK's checks in its order, and the way back into the set.

use super::*;

fn unjail_msg(b: u8) -> MsgUnjail {
    MsgUnjail {
        validator_addr: addr(b).to_valoper(),
    }
}

fn unjail(s: &mut MemState, ctx: &BlockCtx, b: u8) -> Result<()> {
    apply(s, |st| {
        unjail_msg(b).execute(st, ctx, &SlashingHooks::new(ctx))
    })
}

fn refused_unjail(s: &mut MemState, ctx: &BlockCtx, b: u8) -> (&'static str, u32, String) {
    let e = refused(s, |st| {
        unjail_msg(b).execute(st, ctx, &SlashingHooks::new(ctx))
    });
    code(&e)
}

/// Validators 1, 2 (10P), 5 (10P, at least 10P self-delegated) and 6 (2P, plus 5P from
/// delegator 9) bonded at 1. 6's operator withdraws its whole self-delegation at 5 (staking
/// jails it); 2 and 5 miss every block and are jailed for downtime at 102.
fn world() -> MemState {
    let mut s = setup(
        &[
            (1, 20 * P),
            (2, 20 * P),
            (5, 20 * P),
            (6, 20 * P),
            (9, 20 * P),
        ],
        Params::default(),
    );
    create(&mut s, 1, 1, 10 * P);
    create(&mut s, 1, 2, 10 * P);
    create_min(&mut s, 1, 5, 10 * P, 10 * P);
    create(&mut s, 1, 6, 2 * P);
    delegate(&mut s, 1, 9, 6, 5 * P);
    end_block(&mut s, 1);
    for h in 2..=4 {
        block(&mut s, h, &[2, 5]);
    }
    begin(&mut s, 5, &[2, 5]);
    undelegate(&mut s, 5, 6, 6, 2 * P);
    assert!(val(&s, 6).jailed, "below its minimum self-delegation");
    assert_eq!(end_block(&mut s, 5), vec![update(6, 0)]);
    for h in 6..=102 {
        block(&mut s, h, &[2, 5]);
    }
    assert!(val(&s, 2).jailed && val(&s, 5).jailed);
    s
}

/// 2's jail ends at block 102's time + 600s, which is block 222's time.
const FREE_AT: u64 = 222;

#[test]
fn unjail_only_after_the_jail_time_and_back_in_the_set() {
    let mut s = world();
    assert_eq!(info(&s, 2).jailed_until, at(FREE_AT).time);
    assert_eq!(
        refused_unjail(&mut s, &at(FREE_AT - 1), 2),
        (
            "slashing",
            4,
            "validator still jailed; cannot be unjailed".into()
        )
    );
    unjail(&mut s, &at(FREE_AT), 2).expect("jail time is over");
    assert!(!val(&s, 2).jailed);
    assert_eq!(
        end_block(&mut s, FREE_AT),
        vec![update(2, 9)],
        "bonded again with its slashed power"
    );
    assert!(val(&s, 2).is_bonded());
    let i = info(&s, 2);
    assert_eq!(
        (i.start_height, i.missed_blocks_counter, i.index_offset),
        (FREE_AT as i64, 0, 0),
        "a fresh window from its new bonding"
    );
    assert_eq!(
        refused_unjail(&mut s, &at(FREE_AT), 2),
        (
            "slashing",
            5,
            "validator not jailed; cannot be unjailed".into()
        )
    );
    check_pools(&s);
}

#[test]
fn unjail_refusals_in_the_sdk_order() {
    let mut s = world();
    let late = at(FREE_AT + 100);
    assert_eq!(
        refused_unjail(&mut s, &late, 1),
        (
            "slashing",
            5,
            "validator not jailed; cannot be unjailed".into()
        )
    );
    assert_eq!(
        refused_unjail(&mut s, &late, 77),
        ("staking", 3, "validator does not exist".into()),
        "v0.50's staking lookup answers first"
    );
    assert_eq!(
        refused_unjail(&mut s, &late, 6),
        (
            "staking",
            19,
            "no delegation for (address, validator) tuple".into()
        )
    );
    // 1 % of 10P slashed: 9.9P self-delegated, below its promised 10P.
    assert_eq!(
        refused_unjail(&mut s, &late, 5),
        (
            "slashing",
            7,
            "9900000 less than 10000000: validator's self delegation less than minimum; cannot be unjailed"
                .into()
        )
    );
    delegate(&mut s, FREE_AT + 100, 5, 5, P);
    unjail(&mut s, &late, 5).expect("topped up");
    assert!(!val(&s, 5).jailed);

    let bad = MsgUnjail {
        validator_addr: addr(1).to_string(),
    };
    let e = bad.validate_basic().expect_err("account prefix");
    assert_eq!((e.codespace(), e.code()), ("sdk", 7));
    assert!(e.to_string().starts_with("validator input address: "));
    assert_eq!(unjail_msg(1).validate_basic().expect("signer"), addr(1));
    check_pools(&s);
}

#[test]
fn a_validator_that_never_bonded_may_unjail_at_once() {
    let mut s = setup(&[(8, 20 * P)], Params::default());
    create_min(&mut s, 3, 8, 5 * P, 5 * P);
    undelegate(&mut s, 3, 8, 8, 1);
    assert!(val(&s, 8).jailed);
    assert_eq!(signing_info(&s, &cons(8)).expect("read"), None);
    assert_eq!(
        refused_unjail(&mut s, &at(3), 8).1,
        7,
        "still below its minimum"
    );
    delegate(&mut s, 3, 8, 8, 1);
    unjail(&mut s, &at(3), 8).expect("no jail time without a signing info");
    assert_eq!(end_block(&mut s, 3), vec![update(8, 5)]);
    assert_eq!(info(&s, 8), ValidatorSigningInfo::new(cons(8), 3));
    check_pools(&s);
}
