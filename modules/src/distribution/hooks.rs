//! [`DistributionHooks`]: what distribution does when staking changes (SDK v0.50
//! `x/distribution/keeper/hooks.go`).

use super::keeper::{
    increment_validator_period, initialize_delegation, initialize_validator,
    remove_validator_records, update_validator_slash_fraction, withdraw_rewards,
};
use crate::staking::{self, Hooks, StakingError};
use crate::{Address, BlockCtx, Dec, Result, State};

/// distribution's staking hooks, for the block at `height` (delegations start, and slashes
/// are recorded, at the height they happen).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DistributionHooks {
    /// The height of the block the staking operation runs in.
    pub height: u64,
}

impl DistributionHooks {
    /// The hooks for the block `ctx`.
    pub fn new(ctx: &BlockCtx) -> DistributionHooks {
        DistributionHooks { height: ctx.height }
    }
}

impl Hooks for DistributionHooks {
    /// Start the validator's records at period 1.
    fn after_validator_created(&self, state: &mut dyn State, operator: &Address) -> Result<()> {
        staking::validator(&*state, operator)?.ok_or(StakingError::NoValidatorFound)?;
        initialize_validator(state, operator)
    }

    /// Pay out its commission, give what else it holds to the community pool, delete its
    /// records.
    fn after_validator_removed(
        &self,
        state: &mut dyn State,
        _cons: &Address,
        operator: &Address,
    ) -> Result<()> {
        remove_validator_records(state, operator)
    }

    /// End the validator's period: the new delegation starts after it.
    fn before_delegation_created(
        &self,
        state: &mut dyn State,
        _delegator: &Address,
        operator: &Address,
    ) -> Result<()> {
        let v = staking::validator(&*state, operator)?.ok_or(StakingError::NoValidatorFound)?;
        increment_validator_period(state, &v).map(|_| ())
    }

    /// Withdraw the delegation's rewards before its stake changes.
    fn before_delegation_shares_modified(
        &self,
        state: &mut dyn State,
        delegator: &Address,
        operator: &Address,
    ) -> Result<()> {
        let v = staking::validator(&*state, operator)?.ok_or(StakingError::NoValidatorFound)?;
        let d =
            staking::delegation(&*state, delegator, operator)?.ok_or(StakingError::NoDelegation)?;
        withdraw_rewards(state, self.height, &v, &d).map(|_| ())
    }

    /// Start the delegation's rewards afresh at its new stake.
    fn after_delegation_modified(
        &self,
        state: &mut dyn State,
        delegator: &Address,
        operator: &Address,
    ) -> Result<()> {
        initialize_delegation(state, self.height, operator, delegator)
    }

    /// Record the slash between two periods.
    fn before_validator_slashed(
        &self,
        state: &mut dyn State,
        operator: &Address,
        fraction: Dec,
    ) -> Result<()> {
        update_validator_slash_fraction(state, self.height, operator, fraction)
    }
}
