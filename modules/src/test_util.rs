//! What the modules' tests share: test addresses and decimals, a state funded by bank's
//! genesis, and running an operation on a branch of a `MemState` the way the app does (kept
//! only if it succeeds).

use crate::state::Branch;
use crate::{Address, Amount, Coin, Dec, Event, MemState, ModuleError, Result, State};

/// Test account `b`: twenty bytes of `b`.
pub(crate) fn addr(b: u8) -> Address {
    Address([b; 20])
}

/// A decimal from its text.
pub(crate) fn d(s: &str) -> Dec {
    s.parse().expect("test decimal")
}

/// `amount` of the staking denom.
pub(crate) fn stake(amount: Amount) -> Coin {
    Coin {
        denom: "stake".into(),
        amount,
    }
}

/// A state whose accounts `(byte, stake)` are funded by bank's genesis.
pub(crate) fn funded(balances: &[(u8, Amount)]) -> MemState {
    use crate::bank::genesis::{Balance, Genesis, JsonCoin};
    let mut s = MemState::default();
    Genesis {
        balances: balances
            .iter()
            .map(|(b, amount)| Balance {
                address: addr(*b).to_string(),
                coins: vec![JsonCoin {
                    denom: "stake".into(),
                    amount: amount.to_string(),
                }],
            })
            .collect(),
        ..Genesis::default()
    }
    .init(&mut s)
    .expect("bank genesis");
    s
}

/// Run `f` on a branch of `s`, committed if it succeeds.
pub(crate) fn apply<T>(s: &mut MemState, f: impl FnOnce(&mut dyn State) -> Result<T>) -> Result<T> {
    apply_events(s, f).0
}

/// As [`apply`], with the events emitted.
pub(crate) fn apply_events<T>(
    s: &mut MemState,
    f: impl FnOnce(&mut dyn State) -> Result<T>,
) -> (Result<T>, Vec<Event>) {
    let mut b = Branch::new(s);
    let r = f(&mut b);
    let events = b.take_events();
    if r.is_ok() {
        b.commit();
    }
    (r, events)
}

/// Run `f`, expect it to fail, and check that the committed state did not change.
pub(crate) fn refused<T: std::fmt::Debug>(
    s: &mut MemState,
    f: impl FnOnce(&mut dyn State) -> Result<T>,
) -> ModuleError {
    let before = s.clone();
    let e = apply(s, f).expect_err("must be refused");
    assert_eq!(*s, before, "a refused operation changes nothing");
    e
}

/// An error as (codespace, code, message), to compare with the SDK's.
pub(crate) fn code(e: &ModuleError) -> (&'static str, u32, String) {
    (e.codespace(), e.code(), e.to_string())
}
