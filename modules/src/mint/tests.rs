//! mint against an in-memory state with staking's pools.

use super::genesis::Genesis;
use super::*;
use crate::staking::{CommissionRates, Description, MsgCreateValidator, NoHooks};
use crate::state::Branch;
use crate::test_util::{addr, d, funded};
use crate::{BlockCtx, MemState, Timestamp};

fn ctx(height: u64) -> BlockCtx {
    BlockCtx {
        height,
        time: Timestamp {
            seconds: 1_767_225_600 + 5 * height as i64,
            nanos: 0,
        },
        chain_id: "keystone-test".into(),
    }
}

/// Account 1 holds `supply` stake and bonds `bonded` of it in a validator; mint's genesis
/// with `params`.
fn setup(supply: Amount, bonded: Amount, params: Params) -> MemState {
    let mut s = funded(&[(1, supply)]);
    Genesis {
        minter: Minter::default(),
        params,
    }
    .init(&mut s)
    .expect("mint genesis");
    let mut b = Branch::new(&mut s);
    let c = ctx(1);
    staking::genesis::Genesis::default()
        .init(&mut b, &c, &NoHooks)
        .expect("staking genesis");
    MsgCreateValidator {
        description: Description {
            moniker: "v".into(),
            ..Description::default()
        },
        commission: CommissionRates {
            rate: d("0.1"),
            max_rate: d("0.2"),
            max_change_rate: d("0.01"),
        },
        min_self_delegation: 1,
        delegator_address: String::new(),
        validator_address: addr(1).to_valoper(),
        pubkey: [1; 32],
        value: Coin {
            denom: "stake".into(),
            amount: bonded,
        },
    }
    .execute(&mut b, &c, &NoHooks)
    .expect("create validator");
    staking::end_block(&mut b, &c, &NoHooks).expect("end block");
    b.commit();
    s
}

/// One mint begin block, with its events.
fn mint_block(s: &mut MemState) -> (Coin, Vec<Event>) {
    let mut b = Branch::new(s);
    let minted = begin_block(&mut b).expect("begin block");
    let events = b.take_events();
    b.commit();
    (minted, events)
}

fn fee_collector(s: &MemState) -> Amount {
    bank::balance(s, &Address::module(auth::FEE_COLLECTOR), "stake").expect("balance")
}

#[test]
fn params_and_minter_have_the_lcd_json_shape() {
    assert_eq!(
        serde_json::to_string(&Genesis::default()).expect("json"),
        r#"{"minter":{"inflation":"0.130000000000000000","annual_provisions":"0.000000000000000000"},"params":{"mint_denom":"stake","inflation_rate_change":"0.130000000000000000","inflation_max":"0.200000000000000000","inflation_min":"0.070000000000000000","goal_bonded":"0.670000000000000000","blocks_per_year":"6311520"}}"#
    );
    let bad = |p: Params| p.validate().expect_err("invalid").to_string();
    assert_eq!(
        bad(Params {
            goal_bonded: Dec::zero(),
            ..Params::default()
        }),
        "goal bonded must be positive: 0.000000000000000000: invalid request"
    );
    assert_eq!(
        bad(Params {
            inflation_min: d("0.3"),
            ..Params::default()
        }),
        "max inflation (0.200000000000000000) must be greater than or equal to min inflation (0.300000000000000000): invalid request"
    );
    assert_eq!(
        bad(Params {
            blocks_per_year: 0,
            ..Params::default()
        }),
        "blocks per year must be positive: 0: invalid request"
    );
    assert_eq!(
        bad(Params {
            inflation_rate_change: d("-0.1"),
            ..Params::default()
        }),
        "inflation rate change cannot be negative: -0.100000000000000000: invalid request"
    );
    assert!(Genesis {
        minter: Minter {
            inflation: d("-0.01"),
            annual_provisions: Dec::zero(),
        },
        params: Params::default(),
    }
    .validate()
    .is_err());
}

#[test]
fn the_block_provision_is_minted_to_the_fee_collector() {
    // 10^12 supply, 10^11 bonded: a bonded ratio of 0.1, below the 0.67 goal.
    let mut s = setup(1_000_000_000_000, 100_000_000_000, Params::default());
    assert_eq!(bonded_ratio(&s).expect("ratio"), d("0.1"));
    let supply = bank::supply_of(&s, "stake").expect("supply");
    let (minted, events) = mint_block(&mut s);
    // 0.13 + (1 − 0.1/0.67) × 0.13 / 6311520, each step rounded at 18 digits:
    // 0.149253731343283582 → 0.110597014925373134 → 0.000000017523039605.
    assert_eq!(inflation(&s).expect("inflation"), d("0.130000017523039605"));
    assert_eq!(
        annual_provisions(&s).expect("provisions"),
        d("130000017523.039605")
    );
    // 130000017523.039605 / 6311520, truncated.
    assert_eq!(minted.amount, 20_597);
    assert_eq!(fee_collector(&s), 20_597);
    assert_eq!(
        bank::supply_of(&s, "stake").expect("supply"),
        supply + 20_597
    );
    assert_eq!(
        bank::all_balances(&s, &Address::module(MODULE_NAME)).expect("balances"),
        Coins::new(),
        "nothing stays with the minter"
    );
    assert!(bank::check_supply_invariant(&s).expect("supply check"));
    let mint_event = events
        .iter()
        .find(|e| e.kind == "mint")
        .expect("mint event");
    assert_eq!(
        mint_event.attributes,
        vec![
            ("bonded_ratio".into(), "0.100000000000000000".into()),
            ("inflation".into(), "0.130000017523039605".into()),
            (
                "annual_provisions".into(),
                "130000017523.039605000000000000".into()
            ),
            ("amount".into(), "20597".into()),
        ]
    );

    // The next block uses the supply the first one raised.
    let (minted, _) = mint_block(&mut s);
    assert_eq!(inflation(&s).expect("inflation"), d("0.130000035046079273"));
    assert_eq!(minted.amount, 20_597);
    assert_eq!(fee_collector(&s), 2 * 20_597);
    assert_eq!(
        bank::supply_of(&s, "stake").expect("supply"),
        supply + 2 * 20_597
    );
}

#[test]
fn inflation_moves_toward_the_goal_within_its_bounds() {
    // Ten blocks a year: each block moves the rate by a tenth of the yearly change.
    let fast = Params {
        blocks_per_year: 10,
        ..Params::default()
    };
    // Under-bonded (0.1): the rate rises to the maximum and stays there.
    let mut s = setup(100_000_000, 10_000_000, fast.clone());
    let mut last = inflation(&s).expect("inflation");
    let mut rates = Vec::new();
    for _ in 0..12 {
        let before_supply = bank::supply_of(&s, "stake").expect("supply");
        let (minted, _) = mint_block(&mut s);
        assert_eq!(
            bank::supply_of(&s, "stake").expect("supply"),
            before_supply + minted.amount
        );
        let rate = inflation(&s).expect("inflation");
        assert!(rate >= last && rate <= d("0.2"), "{rate} after {last}");
        rates.push(rate);
        last = rate;
    }
    assert!(rates[0] > d("0.13"));
    assert_eq!(rates[11], d("0.2"), "capped at the maximum: {rates:?}");
    assert_eq!(rates[10], d("0.2"));

    // Fully bonded (1): the rate falls to the minimum and stays there.
    let mut s = setup(10_000_000, 10_000_000, fast);
    let (_, events) = mint_block(&mut s);
    assert_eq!(
        events.last().expect("event").attributes[0].1,
        "1.000000000000000000"
    );
    let mut last = inflation(&s).expect("inflation");
    assert!(last < d("0.13"));
    for _ in 0..20 {
        mint_block(&mut s);
        let rate = inflation(&s).expect("inflation");
        assert!(rate <= last && rate >= d("0.07"), "{rate} after {last}");
        last = rate;
    }
    assert_eq!(last, d("0.07"), "floored at the minimum");
    assert!(bank::check_supply_invariant(&s).expect("supply check"));
}

#[test]
fn genesis_round_trips() {
    let s = setup(10_000_000, 1_000_000, Params::default());
    let g = Genesis::export(&s).expect("export");
    assert_eq!(g, Genesis::default());
    let raw = s
        .get(state_key::MINTER.as_bytes())
        .expect("read")
        .expect("stored");
    assert_eq!(
        std::str::from_utf8(&raw).expect("utf8"),
        r#"{"inflation":"0.130000000000000000","annual_provisions":"0.000000000000000000"}"#
    );
    assert!(auth::account(&s, &Address::module(MODULE_NAME))
        .expect("read")
        .is_some_and(|a| a.module_name.as_deref() == Some(MODULE_NAME)));
}
