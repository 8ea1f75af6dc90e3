//! [`AppHooks`]: the staking hooks of this application — what distribution and slashing are
//! told when stake moves, in gaia's order (distribution first, then slashing). Built per
//! block, because a hook may need the block it runs in.

use keystone_modules::distribution::DistributionHooks;
use keystone_modules::slashing::SlashingHooks;
use keystone_modules::staking::Hooks;
use keystone_modules::{Address, BlockCtx, Dec, Result, State};

/// The application's staking hooks: distribution's, then slashing's (gaia's
/// `NewMultiStakingHooks(distr, slashing)`); the first error stops the rest.
pub(crate) struct AppHooks {
    distribution: DistributionHooks,
    slashing: SlashingHooks,
}

impl AppHooks {
    /// The hooks for a message or block hook running in `block`.
    pub(crate) fn new(block: &BlockCtx) -> AppHooks {
        AppHooks {
            distribution: DistributionHooks::new(block),
            slashing: SlashingHooks::new(block),
        }
    }

    fn each(&self, mut f: impl FnMut(&dyn Hooks) -> Result<()>) -> Result<()> {
        f(&self.distribution)?;
        f(&self.slashing)
    }
}

impl Hooks for AppHooks {
    fn after_validator_created(&self, state: &mut dyn State, operator: &Address) -> Result<()> {
        self.each(|h| h.after_validator_created(state, operator))
    }

    fn before_validator_modified(&self, state: &mut dyn State, operator: &Address) -> Result<()> {
        self.each(|h| h.before_validator_modified(state, operator))
    }

    fn after_validator_removed(
        &self,
        state: &mut dyn State,
        cons: &Address,
        operator: &Address,
    ) -> Result<()> {
        self.each(|h| h.after_validator_removed(state, cons, operator))
    }

    fn after_validator_bonded(
        &self,
        state: &mut dyn State,
        cons: &Address,
        operator: &Address,
    ) -> Result<()> {
        self.each(|h| h.after_validator_bonded(state, cons, operator))
    }

    fn after_validator_begin_unbonding(
        &self,
        state: &mut dyn State,
        cons: &Address,
        operator: &Address,
    ) -> Result<()> {
        self.each(|h| h.after_validator_begin_unbonding(state, cons, operator))
    }

    fn before_delegation_created(
        &self,
        state: &mut dyn State,
        delegator: &Address,
        operator: &Address,
    ) -> Result<()> {
        self.each(|h| h.before_delegation_created(state, delegator, operator))
    }

    fn before_delegation_shares_modified(
        &self,
        state: &mut dyn State,
        delegator: &Address,
        operator: &Address,
    ) -> Result<()> {
        self.each(|h| h.before_delegation_shares_modified(state, delegator, operator))
    }

    fn before_delegation_removed(
        &self,
        state: &mut dyn State,
        delegator: &Address,
        operator: &Address,
    ) -> Result<()> {
        self.each(|h| h.before_delegation_removed(state, delegator, operator))
    }

    fn after_delegation_modified(
        &self,
        state: &mut dyn State,
        delegator: &Address,
        operator: &Address,
    ) -> Result<()> {
        self.each(|h| h.after_delegation_modified(state, delegator, operator))
    }

    fn before_validator_slashed(
        &self,
        state: &mut dyn State,
        operator: &Address,
        fraction: Dec,
    ) -> Result<()> {
        self.each(|h| h.before_validator_slashed(state, operator, fraction))
    }
}
