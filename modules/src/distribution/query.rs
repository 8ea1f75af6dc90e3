//! distribution's queries (`x/distribution/keeper/grpc_query.go` of v0.50). Rewards are
//! computed as a withdrawal would compute them — the validator's period ended first — on a
//! [`Branch`] that is dropped, so a query never changes the state.

use super::keeper::{
    accumulated_commission, calculate_delegation_rewards, increment_validator_period, outstanding,
    slash_events_between,
};
use super::{DecCoins, ValidatorSlashEvent};
use crate::serde_util::valoper;
use crate::staking::{self, StakingError};
use crate::state::Branch;
use crate::{Address, BlockCtx, Event, Result, State, Timestamp};
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

/// The block a reward query runs in. The SDK runs it at the latest committed height, and only
/// two things depend on that height: slash events up to it cut a delegation's stake, and a
/// delegation that started at it is answered with nothing at once. A state does not say its
/// height, so the query runs "after every block": it reads the same slash events (none lies
/// beyond the latest height), and it computes a delegation of the latest block in full, which
/// comes to nothing too, since a block allocates its rewards before its transactions.
pub fn query_ctx() -> BlockCtx {
    BlockCtx {
        height: u64::MAX,
        time: Timestamp::EPOCH,
        chain_id: String::new(),
    }
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
    /// Per delegation, by validator address bytes (the order the SDK iterates a delegator's
    /// delegations in).
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

/// The rewards of every delegation of `del` (`DelegationTotalRewards`), by validator address
/// bytes.
pub fn delegation_total_rewards(
    state: &dyn State,
    ctx: &BlockCtx,
    del: &Address,
) -> Result<DelegationTotalRewards> {
    let mut base = ReadOnly(state);
    let mut scratch = Branch::new(&mut base);
    let mut out = DelegationTotalRewards::default();
    let mut delegations = staking::delegations_of(&scratch, del)?;
    // The store orders them by the validator's bech32 text; the SDK by its bytes.
    delegations.sort_by_key(|d| d.validator);
    for d in delegations {
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

/// The validators `del` delegates to (`DelegatorValidators`), by address bytes as the SDK
/// iterates a delegator's delegations.
pub fn delegator_validators(state: &(impl State + ?Sized), del: &Address) -> Result<Vec<Address>> {
    let mut validators: Vec<Address> = staking::delegations_of(state, del)?
        .iter()
        .map(|d| d.validator)
        .collect();
    validators.sort();
    Ok(validators)
}

/// A validator's commission and its operator's own delegation rewards
/// (`ValidatorDistributionInfo`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ValidatorDistributionInfo {
    /// The rewards of the operator's delegation to its own validator.
    pub self_bond_rewards: DecCoins,
    /// The commission not yet withdrawn.
    pub commission: DecCoins,
}

/// `val`'s commission and self-bond rewards, in the SDK's order of checks: the validator
/// (staking's `NoValidatorFound`), then the operator's delegation to it (`NoDelegation`).
pub fn validator_distribution_info(
    state: &dyn State,
    ctx: &BlockCtx,
    val: &Address,
) -> Result<ValidatorDistributionInfo> {
    // The operator's account has the operator's bytes.
    let self_bond_rewards = delegation_rewards(state, ctx, val, val)?;
    Ok(ValidatorDistributionInfo {
        self_bond_rewards,
        commission: accumulated_commission(state, val)?,
    })
}

/// Every slash event of `val`, in (height, period) order (`ValidatorSlashes` before its
/// filter); none for an unknown validator, as the SDK answers.
pub fn validator_slashes(
    state: &(impl State + ?Sized),
    val: &Address,
) -> Result<Vec<ValidatorSlashEvent>> {
    slash_events_between(state, val, 0, u64::MAX)
}
