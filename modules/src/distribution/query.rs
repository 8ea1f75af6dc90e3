//! distribution's queries (`x/distribution/keeper/grpc_query.go` of v0.50). Rewards are
//! computed as a withdrawal would compute them — the validator's period ended first — on a
//! [`Branch`] that is dropped, so a query never changes the state.

use super::keeper::{
    accumulated_commission, calculate_delegation_rewards, increment_validator_period, outstanding,
};
use super::DecCoins;
use crate::serde_util::valoper;
use crate::staking::{self, StakingError};
use crate::state::Branch;
use crate::{Address, BlockCtx, Event, Result, State};
use serde::{Deserialize, Serialize};

/// A read-only state to put a [`Branch`] on: reads go to the state below, writes are
/// dropped — they only ever come from the branch's `commit`, which queries never call.
struct ReadOnly<'a>(&'a dyn State);

impl State for ReadOnly<'_> {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.0.get(key)
    }
    fn put(&mut self, _key: Vec<u8>, _value: Vec<u8>) {}
    fn delete(&mut self, _key: &[u8]) {}
    fn prefix(&self, prefix: &[u8]) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        self.0.prefix(prefix)
    }
    fn emit(&mut self, _event: Event) {}
}

/// One delegation's rewards, in `QueryDelegationTotalRewardsResponse`'s shape.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DelegationDelegatorReward {
    /// The validator (`cosmosvaloper1…`).
    #[serde(with = "valoper")]
    pub validator_address: Address,
    /// The rewards.
    pub reward: DecCoins,
}

/// Every delegation's rewards of a delegator and their sum.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DelegationTotalRewards {
    /// Per delegation, in the order of the delegator's delegations.
    pub rewards: Vec<DelegationDelegatorReward>,
    /// The sum.
    pub total: DecCoins,
}

/// The rewards `del` would withdraw from `val` now (`DelegationRewards`); staking's errors
/// for a missing validator or delegation.
pub fn delegation_rewards(
    state: &dyn State,
    ctx: &BlockCtx,
    del: &Address,
    val: &Address,
) -> Result<DecCoins> {
    let mut base = ReadOnly(state);
    let mut scratch = Branch::new(&mut base);
    rewards_on(&mut scratch, ctx, del, val)
}

fn rewards_on(
    state: &mut dyn State,
    ctx: &BlockCtx,
    del: &Address,
    val: &Address,
) -> Result<DecCoins> {
    let v = staking::validator(&*state, val)?.ok_or(StakingError::NoValidatorFound)?;
    let d = staking::delegation(&*state, del, val)?.ok_or(StakingError::NoDelegation)?;
    let ending_period = increment_validator_period(state, &v)?;
    calculate_delegation_rewards(&*state, ctx.height, &v, &d, ending_period)
}

/// The rewards of every delegation of `del` (`DelegationTotalRewards`).
pub fn delegation_total_rewards(
    state: &dyn State,
    ctx: &BlockCtx,
    del: &Address,
) -> Result<DelegationTotalRewards> {
    let mut base = ReadOnly(state);
    let mut scratch = Branch::new(&mut base);
    let mut out = DelegationTotalRewards::default();
    for d in staking::delegations_of(&scratch, del)? {
        let reward = rewards_on(&mut scratch, ctx, del, &d.validator)?;
        out.total = out.total.checked_add(&reward)?;
        out.rewards.push(DelegationDelegatorReward {
            validator_address: d.validator,
            reward,
        });
    }
    Ok(out)
}

/// A validator's accumulated commission (`ValidatorCommission`).
pub fn validator_commission(state: &(impl State + ?Sized), val: &Address) -> Result<DecCoins> {
    staking::validator(state, val)?.ok_or(StakingError::NoValidatorFound)?;
    accumulated_commission(state, val)
}

/// A validator's outstanding rewards, its commission included
/// (`ValidatorOutstandingRewards`).
pub fn validator_outstanding_rewards(
    state: &(impl State + ?Sized),
    val: &Address,
) -> Result<DecCoins> {
    staking::validator(state, val)?.ok_or(StakingError::NoValidatorFound)?;
    outstanding(state, val)
}
