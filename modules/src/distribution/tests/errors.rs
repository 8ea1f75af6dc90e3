//! Bad messages fail with the SDK's error and change nothing; withdraw addresses.

use super::*;
use std::collections::BTreeSet;

/// Validator 1 (no commission) with delegator 4, bonded, one block of fees allocated.
fn world() -> MemState {
    let mut s = setup(&[(1, 10 * P), (3, 1_000), (4, 10 * P)]);
    let c = at(1, 0);
    create(&mut s, &c, 1, P, "0");
    delegate(&mut s, &c, 4, 1, P);
    end_block(&mut s, &c);
    collect_fees(&mut s, 1000);
    allocate(&mut s, &at(2, 5), &[(1, 2)]);
    s
}

/// What gaia blocks: every module account but gov's.
fn blocked() -> BTreeSet<Address> {
    [
        auth::FEE_COLLECTOR,
        MODULE_NAME,
        crate::mint::MODULE_NAME,
        staking::BONDED_POOL,
        staking::NOT_BONDED_POOL,
    ]
    .iter()
    .map(|n| Address::module(n))
    .collect()
}

#[test]
fn withdrawals_refused() {
    let mut s = world();
    let c = at(2, 5);
    let e = refused(&mut s, |st| withdraw_msg(3, 1).execute(st, &c));
    assert_eq!(
        code(&e),
        (
            "staking",
            19,
            "no delegation for (address, validator) tuple".into()
        ),
        "v0.50 reports staking's error for a missing delegation"
    );
    let e = refused(&mut s, |st| withdraw_msg(4, 9).execute(st, &c));
    assert_eq!(code(&e), ("staking", 3, "validator does not exist".into()));
    let e = refused(&mut s, |st| {
        MsgWithdrawValidatorCommission {
            validator_address: addr(1).to_valoper(),
        }
        .execute(st)
    });
    assert_eq!(
        code(&e),
        (
            "distribution",
            7,
            "no validator commission to withdraw".into()
        )
    );
    let e = refused(&mut s, |st| {
        MsgWithdrawValidatorCommission {
            validator_address: addr(9).to_valoper(),
        }
        .execute(st)
    });
    assert_eq!(
        code(&e).1,
        7,
        "an unknown validator has no commission either"
    );

    // Addresses are checked before anything else, the validator's first.
    let bad = MsgWithdrawDelegatorReward {
        delegator_address: "nonsense".into(),
        validator_address: String::new(),
    };
    let e = bad.validate_basic().expect_err("bad");
    assert_eq!(
        code(&e),
        (
            "sdk",
            7,
            "invalid validator address: empty address string is not allowed: invalid address"
                .into()
        )
    );
    let e = MsgWithdrawDelegatorReward {
        delegator_address: addr(4).to_valoper(),
        validator_address: addr(1).to_valoper(),
    }
    .validate_basic()
    .expect_err("wrong prefix");
    assert_eq!(code(&e).1, 7);
    assert!(
        e.to_string().starts_with("invalid delegator address: "),
        "{e}"
    );
    assert_eq!(
        withdraw_msg(4, 1).validate_basic().expect("signer"),
        addr(4)
    );
    assert_eq!(
        MsgWithdrawValidatorCommission {
            validator_address: addr(1).to_valoper(),
        }
        .validate_basic()
        .expect("signer"),
        addr(1),
        "the operator's account signs"
    );
    // A failed starting-info lookup on a corrupt world: the distribution error.
    s.delete(state_key::starting_info(&addr(1), &addr(4)).as_bytes());
    let e = refused(&mut s, |st| withdraw_msg(4, 1).execute(st, &c));
    assert_eq!(
        code(&e),
        ("distribution", 5, "no delegation distribution info".into())
    );
}

#[test]
fn withdraw_addresses_receive_rewards_and_module_accounts_are_refused() {
    let mut s = world();
    let c = at(2, 5);
    let set = |to: Address| MsgSetWithdrawAddress {
        delegator_address: addr(4).to_string(),
        withdraw_address: to.to_string(),
    };
    let fee_collector = Address::module(auth::FEE_COLLECTOR);
    let e = refused(&mut s, |st| set(fee_collector).execute(st, &blocked()));
    assert_eq!(
        code(&e),
        (
            "sdk",
            4,
            format!("{fee_collector} is not allowed to receive external funds: unauthorized")
        )
    );
    let e = refused(&mut s, |st| {
        set(Address::module(MODULE_NAME)).execute(st, &blocked())
    });
    assert_eq!(code(&e).1, 4);
    let e = MsgSetWithdrawAddress {
        delegator_address: addr(4).to_string(),
        withdraw_address: String::new(),
    }
    .validate_basic()
    .expect_err("empty");
    assert_eq!(
        e.to_string(),
        "invalid withdraw address: empty address string is not allowed: invalid address"
    );

    let (r, events) = apply_events(&mut s, |st| set(addr(7)).execute(st, &blocked()));
    r.expect("set withdraw address");
    assert_eq!(
        events,
        vec![Event::new(
            "set_withdraw_address",
            [("withdraw_address", addr(7).to_string())]
        )]
    );
    assert_eq!(withdraw_address(&s, &addr(4)).expect("read"), addr(7));
    assert_eq!(withdraw_address(&s, &addr(1)).expect("read"), addr(1));
    // Half of 980 to the new address, none to the delegator.
    let before = balance(&s, 4);
    assert_eq!(withdraw(&mut s, &c, 4, 1), 490);
    assert_eq!(balance(&s, 7), 490);
    assert_eq!(balance(&s, 4), before);
    check_books(&s);

    // Disabled by params: refused after the blocked check, as the SDK orders them.
    let params = Params {
        withdraw_addr_enabled: false,
        ..Params::default()
    };
    apply(&mut s, |st| set_params(st, &params)).expect("params");
    let e = refused(&mut s, |st| set(addr(8)).execute(st, &blocked()));
    assert_eq!(
        code(&e),
        ("distribution", 8, "set withdraw address disabled".into())
    );
    let e = refused(&mut s, |st| set(fee_collector).execute(st, &blocked()));
    assert_eq!(code(&e).1, 4);
}

#[test]
fn queries_refuse_what_does_not_exist() {
    let s = world();
    let c = at(2, 5);
    let e = delegation_rewards(&s, &c, &addr(3), &addr(1)).expect_err("no delegation");
    assert_eq!(code(&e).1, 19);
    let e = delegation_rewards(&s, &c, &addr(4), &addr(9)).expect_err("no validator");
    assert_eq!(code(&e).1, 3);
    assert_eq!(
        validator_commission(&s, &addr(9)).expect_err("none").code(),
        3
    );
    assert_eq!(
        validator_outstanding_rewards(&s, &addr(9))
            .expect_err("none")
            .code(),
        3
    );
    assert_eq!(
        delegation_total_rewards(&s, &c, &addr(3)).expect("empty"),
        DelegationTotalRewards::default()
    );
    assert_eq!(outstanding_of(&s, 1), stake_dec("980"));
    assert_eq!(params(&s).expect("params"), Params::default());
}
