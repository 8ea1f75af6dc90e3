//! Hooks are called at the SDK's points, see the state of the operation, and can act on it.

use super::*;
use crate::Coins;
use std::cell::RefCell;

/// Records every call; after a delegation changes it reads it back and credits the
/// delegator a token from a module account (as a distribution module would pay rewards).
#[derive(Default)]
struct Recorder {
    calls: RefCell<Vec<String>>,
    fail_on: Option<&'static str>,
}

impl Recorder {
    fn note(&self, what: &'static str, who: &Address) -> Result<()> {
        self.calls.borrow_mut().push(format!("{what} {}", who.0[0]));
        if self.fail_on == Some(what) {
            return Err(ModuleError::InvalidRequest(format!("{what} refused")));
        }
        Ok(())
    }
}

impl Hooks for Recorder {
    fn after_validator_created(&self, state: &mut dyn State, op: &Address) -> Result<()> {
        assert!(validator(&*state, op)?.is_some(), "stored before the hook");
        self.note("after_validator_created", op)
    }
    fn after_validator_bonded(&self, _: &mut dyn State, _: &Address, op: &Address) -> Result<()> {
        self.note("after_validator_bonded", op)
    }
    fn after_validator_begin_unbonding(
        &self,
        _: &mut dyn State,
        _: &Address,
        op: &Address,
    ) -> Result<()> {
        self.note("after_validator_begin_unbonding", op)
    }
    fn before_delegation_created(
        &self,
        _: &mut dyn State,
        del: &Address,
        _: &Address,
    ) -> Result<()> {
        self.note("before_delegation_created", del)
    }
    fn before_delegation_shares_modified(
        &self,
        _: &mut dyn State,
        del: &Address,
        _: &Address,
    ) -> Result<()> {
        self.note("before_delegation_shares_modified", del)
    }
    fn before_delegation_removed(
        &self,
        _: &mut dyn State,
        del: &Address,
        _: &Address,
    ) -> Result<()> {
        self.note("before_delegation_removed", del)
    }
    fn after_delegation_modified(
        &self,
        state: &mut dyn State,
        del: &Address,
        op: &Address,
    ) -> Result<()> {
        assert!(
            delegation(&*state, del, op)?.is_some(),
            "stored before the hook"
        );
        let rewards = Address::module("rewards");
        let one = Coins::from_list(vec![stake(1)])?;
        bank::mint(state, &rewards, &one)?;
        bank::send(state, &rewards, del, &one, &Default::default())?;
        self.note("after_delegation_modified", del)
    }
    fn before_validator_slashed(
        &self,
        _: &mut dyn State,
        op: &Address,
        fraction: Dec,
    ) -> Result<()> {
        assert_eq!(fraction, d("0.1"));
        self.note("before_validator_slashed", op)
    }
}

#[test]
fn hooks_are_called_in_order_and_can_use_the_state() {
    let mut s = setup(&[(1, 10 * P), (2, 10 * P)]);
    let h = Recorder::default();
    let c = at(1, 0);
    apply(&mut s, |st| create_msg(1, 5 * P).execute(st, &c, &h)).expect("create");
    apply(&mut s, |st| delegate_msg(2, 1, P).execute(st, &c, &h)).expect("delegate");
    apply(&mut s, |st| end_block(st, &c, &h)).expect("end block");
    apply(&mut s, |st| undelegate_msg(2, 1, P).execute(st, &c, &h)).expect("undelegate");
    apply(&mut s, |st| slash(st, &c, &cons(1), 1, 5, d("0.1"), &h)).expect("slash");
    apply(&mut s, |st| jail(st, &cons(1))).expect("jail");
    apply(&mut s, |st| end_block(st, &at(2, 5), &h)).expect("end block");
    assert_eq!(
        h.calls.into_inner(),
        [
            "after_validator_created 1",
            "before_delegation_created 1",
            "after_delegation_modified 1",
            "before_delegation_created 2",
            "after_delegation_modified 2",
            "after_validator_bonded 1",
            "before_delegation_shares_modified 2",
            "before_delegation_removed 2",
            "before_validator_slashed 1",
            "after_validator_begin_unbonding 1",
        ]
    );
    // Each after_delegation_modified paid one token.
    assert_eq!(balance(&s, 2), 10 * P - P + 1);
    check_pools(&s);

    // A failing hook fails the operation, which changes nothing.
    let h = Recorder {
        fail_on: Some("before_delegation_created"),
        ..Recorder::default()
    };
    let e = refused(&mut s, |st| {
        delegate_msg(2, 1, P).execute(st, &at(3, 10), &h)
    });
    assert_eq!(
        e.to_string(),
        "before_delegation_created refused: invalid request"
    );
}
