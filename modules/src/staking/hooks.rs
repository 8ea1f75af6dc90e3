//! [`Hooks`]: what other modules (distribution, slashing) are told when staking changes, the
//! SDK's `StakingHooks`, called at the SDK's points.
//!
//! A hook receives the state as `&mut dyn State`, the type every module function accepts, so
//! an implementation can read and write staking, bank or its own keys on the same (branched)
//! state the staking operation runs on. Its error aborts that operation, except where the
//! SDK only logs it (noted on the method).

use crate::{Address, Dec, Result, State};

/// Staking's hooks; every method defaults to doing nothing.
pub trait Hooks {
    /// A validator was created (before its self-delegation).
    fn after_validator_created(&self, _state: &mut dyn State, _operator: &Address) -> Result<()> {
        Ok(())
    }

    /// A validator's commission is about to change, or it is about to be slashed (in a
    /// slash the error is ignored, as the SDK only logs it).
    fn before_validator_modified(&self, _state: &mut dyn State, _operator: &Address) -> Result<()> {
        Ok(())
    }

    /// A validator was removed (its error is ignored, as the SDK only logs it).
    fn after_validator_removed(
        &self,
        _state: &mut dyn State,
        _cons: &Address,
        _operator: &Address,
    ) -> Result<()> {
        Ok(())
    }

    /// A validator entered the bonded set.
    fn after_validator_bonded(
        &self,
        _state: &mut dyn State,
        _cons: &Address,
        _operator: &Address,
    ) -> Result<()> {
        Ok(())
    }

    /// A validator left the bonded set and began unbonding.
    fn after_validator_begin_unbonding(
        &self,
        _state: &mut dyn State,
        _cons: &Address,
        _operator: &Address,
    ) -> Result<()> {
        Ok(())
    }

    /// A delegation is about to be created.
    fn before_delegation_created(
        &self,
        _state: &mut dyn State,
        _delegator: &Address,
        _operator: &Address,
    ) -> Result<()> {
        Ok(())
    }

    /// A delegation's shares are about to change.
    fn before_delegation_shares_modified(
        &self,
        _state: &mut dyn State,
        _delegator: &Address,
        _operator: &Address,
    ) -> Result<()> {
        Ok(())
    }

    /// A delegation is about to be removed.
    fn before_delegation_removed(
        &self,
        _state: &mut dyn State,
        _delegator: &Address,
        _operator: &Address,
    ) -> Result<()> {
        Ok(())
    }

    /// A delegation was created or its shares changed.
    fn after_delegation_modified(
        &self,
        _state: &mut dyn State,
        _delegator: &Address,
        _operator: &Address,
    ) -> Result<()> {
        Ok(())
    }

    /// A validator is about to lose `fraction` of its tokens (its error is ignored, as the
    /// SDK only logs it).
    fn before_validator_slashed(
        &self,
        _state: &mut dyn State,
        _operator: &Address,
        _fraction: Dec,
    ) -> Result<()> {
        Ok(())
    }
}

/// No hooks.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoHooks;

impl Hooks for NoHooks {}
