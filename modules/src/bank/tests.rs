//! bank against an in-memory state.

use super::genesis::{Balance, Genesis, JsonCoin};
use super::*;
use crate::state::Branch;
use crate::test_util::addr;
use crate::MemState;

fn coins(s: &str) -> Coins {
    s.parse().expect("test coins")
}

/// alice (1) has 1000stake and 50atom, bob (2) has 10stake; supply matches.
fn funded() -> MemState {
    let mut s = MemState::default();
    let g = Genesis {
        balances: vec![
            Balance {
                address: addr(1).to_string(),
                coins: vec![
                    JsonCoin {
                        denom: "stake".into(),
                        amount: "1000".into(),
                    },
                    JsonCoin {
                        denom: "atom".into(),
                        amount: "50".into(),
                    },
                ],
            },
            Balance {
                address: addr(2).to_string(),
                coins: vec![JsonCoin {
                    denom: "stake".into(),
                    amount: "10".into(),
                }],
            },
        ],
        ..Genesis::default()
    };
    g.init(&mut s).expect("genesis");
    s
}

fn msg(from: u8, to: u8, amount: &str) -> MsgSend {
    MsgSend {
        from_address: addr(from).to_string(),
        to_address: addr(to).to_string(),
        amount: coins(amount).iter().collect(),
    }
}

#[test]
fn genesis_sets_balances_and_supply() {
    let s = funded();
    assert_eq!(
        all_balances(&s, &addr(1)).expect("read").to_string(),
        "50atom,1000stake"
    );
    assert_eq!(
        total_supply(&s).expect("read").to_string(),
        "50atom,1010stake"
    );
    assert!(check_supply_invariant(&s).expect("check"));
    assert!(s
        .0
        .contains_key(&b"bank/balances/cosmos1qyqszqgpqyqszqgpqyqszqgpqyqszqgpjnp7du/stake"[..]));
}

#[test]
fn genesis_with_a_wrong_supply_is_refused() {
    let g = Genesis {
        balances: vec![Balance {
            address: addr(1).to_string(),
            coins: vec![JsonCoin {
                denom: "stake".into(),
                amount: "5".into(),
            }],
        }],
        supply: vec![JsonCoin {
            denom: "stake".into(),
            amount: "6".into(),
        }],
        ..Genesis::default()
    };
    let e = g.validate().expect_err("mismatch");
    assert_eq!((e.codespace(), e.code()), ("sdk", 10));
    let dup = Genesis {
        balances: vec![
            Balance {
                address: addr(1).to_string(),
                coins: vec![],
            },
            Balance {
                address: addr(1).to_string(),
                coins: vec![],
            },
        ],
        ..Genesis::default()
    };
    assert!(dup.validate().is_err());
}

#[test]
fn send_moves_coins_and_creates_the_recipient() {
    let mut s = funded();
    msg(1, 3, "100stake,5atom")
        .execute(&mut s, &BTreeSet::new())
        .expect("send");
    assert_eq!(balance(&s, &addr(1), "stake").expect("read"), 900);
    assert_eq!(
        all_balances(&s, &addr(3)).expect("read").to_string(),
        "5atom,100stake"
    );
    assert!(auth::account(&s, &addr(3)).expect("read").is_some());
    assert!(check_supply_invariant(&s).expect("check"));
    // Spending everything removes the key (zero balances are not stored).
    msg(2, 1, "10stake")
        .execute(&mut s, &BTreeSet::new())
        .expect("send all");
    assert!(all_balances(&s, &addr(2)).expect("read").is_empty());
}

#[test]
fn insufficient_funds_is_sdk_5_and_changes_nothing_on_a_branch() {
    let mut s = funded();
    let before = s.clone();
    let err = {
        let mut b = Branch::new(&mut s);
        // The first coin succeeds, the second fails: the branch is dropped.
        msg(2, 1, "5stake,1atom")
            .execute(&mut b, &BTreeSet::new())
            .expect_err("no atom")
    };
    assert_eq!((err.codespace(), err.code()), ("sdk", 5));
    assert_eq!(
        err.to_string(),
        "spendable balance 0atom is smaller than 1atom: insufficient funds"
    );
    assert_eq!(s, before);
}

#[test]
fn overflow_is_an_error_not_a_wrap() {
    let mut s = funded();
    s.put(
        state_key::balance(&addr(2), "stake").into_bytes(),
        u128::MAX.to_string().into_bytes(),
    );
    let err = {
        let mut b = Branch::new(&mut s);
        msg(1, 2, "1stake")
            .execute(&mut b, &BTreeSet::new())
            .expect_err("overflow")
    };
    assert_eq!((err.codespace(), err.code()), ("sdk", 10));
    let err = mint(&mut s, &addr(2), &coins("1stake")).expect_err("supply overflow? no: balance");
    assert_eq!(err.code(), 10);
}

#[test]
fn blocked_recipients_and_disabled_denoms() {
    let mut s = funded();
    let fee = Address::module(auth::FEE_COLLECTOR);
    let blocked: BTreeSet<Address> = [fee].into_iter().collect();
    let err = MsgSend {
        from_address: addr(1).to_string(),
        to_address: fee.to_string(),
        amount: coins("1stake").iter().collect(),
    }
    .execute(&mut s, &blocked)
    .expect_err("blocked");
    assert_eq!((err.codespace(), err.code()), ("sdk", 4));
    assert!(err.to_string().contains("is not allowed to receive funds"));

    set_params(
        &mut s,
        &Params {
            send_enabled: vec![SendEnabled {
                denom: "atom".into(),
                enabled: false,
            }],
            default_send_enabled: true,
        },
    )
    .expect("params");
    let err = msg(1, 2, "1atom")
        .execute(&mut s, &BTreeSet::new())
        .expect_err("disabled");
    assert_eq!((err.codespace(), err.code()), ("bank", 5));
    msg(1, 2, "1stake")
        .execute(&mut s, &BTreeSet::new())
        .expect("stake still moves");
}

#[test]
fn malformed_messages_fail_basic_validation() {
    let mut bad = msg(1, 2, "1stake");
    bad.to_address = "cosmos1notanaddress".into();
    assert_eq!(bad.validate_basic().expect_err("address").code(), 7);
    let mut zero = msg(1, 2, "1stake");
    zero.amount = vec![Coin {
        denom: "stake".into(),
        amount: 0,
    }];
    assert_eq!(zero.validate_basic().expect_err("zero").code(), 10);
    let mut empty = msg(1, 2, "1stake");
    empty.amount.clear();
    assert_eq!(empty.validate_basic().expect_err("empty").code(), 10);
}

#[test]
fn multi_send_rules() {
    let io = |a: u8, c: &str| InOut {
        address: addr(a).to_string(),
        coins: coins(c).iter().collect(),
    };
    let mut s = funded();
    let ok = MsgMultiSend {
        inputs: vec![io(1, "30stake")],
        outputs: vec![io(2, "10stake"), io(3, "20stake")],
    };
    ok.execute(&mut s, &BTreeSet::new()).expect("multisend");
    assert_eq!(balance(&s, &addr(3), "stake").expect("read"), 20);
    assert!(check_supply_invariant(&s).expect("check"));
    let mismatch = MsgMultiSend {
        inputs: vec![io(1, "30stake")],
        outputs: vec![io(2, "10stake")],
    };
    assert_eq!(
        mismatch.validate_basic().expect_err("mismatch"),
        ModuleError::InputOutputMismatch
    );
    let two = MsgMultiSend {
        inputs: vec![io(1, "1stake"), io(2, "1stake")],
        outputs: vec![io(3, "2stake")],
    };
    assert_eq!(two.validate_basic().expect_err("two").code(), 9);
    let none = MsgMultiSend {
        inputs: vec![io(1, "1stake")],
        outputs: vec![],
    };
    assert_eq!(
        none.validate_basic().expect_err("none"),
        ModuleError::NoOutputs
    );
}

/// Random sends, mints and burns (failed ones discarded on their branch) never break
/// supply = sum of balances.
#[test]
fn supply_is_conserved_under_random_operations() {
    use rand_chacha::rand_core::{RngCore, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
    let mut s = funded();
    let module = Address::module("mint");
    let denoms = ["stake", "atom", "uosmo"];
    let mut ok = 0;
    for _ in 0..2000 {
        let denom = denoms[(rng.next_u32() % 3) as usize];
        let amount = 1 + (rng.next_u64() % 200) as u128;
        let c = Coins::from_list(vec![Coin {
            denom: denom.into(),
            amount,
        }])
        .expect("coins");
        let a = addr(1 + (rng.next_u32() % 4) as u8);
        let b = addr(1 + (rng.next_u32() % 4) as u8);
        let mut branch = Branch::new(&mut s);
        let r = match rng.next_u32() % 4 {
            0 => mint(&mut branch, &module, &c),
            1 => burn(&mut branch, &module, &c),
            2 => send(&mut branch, &module, &a, &c, &BTreeSet::new()),
            _ => send(&mut branch, &a, &b, &c, &BTreeSet::new()),
        };
        if r.is_ok() {
            branch.commit();
            ok += 1;
        }
        assert!(check_supply_invariant(&s).expect("check"));
    }
    assert!(
        ok > 500,
        "enough operations succeeded to mean something: {ok}"
    );
}
