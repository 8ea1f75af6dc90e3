//! distribution: fees (and minted tokens) shared among validators by voting power, then among
//! each validator's delegators by stake, exactly — Cosmos SDK v0.50 `x/distribution` with its
//! F1 fee distribution (periods, reference-counted historical rewards, slash events), its
//! rounding (every share truncated, the dust to the community pool), its events and its
//! errors (codespace `distribution`, see [`DistributionError`]).
//!
//! Every reward not yet paid out, and the community pool, sits in the `distribution` module
//! account ([`MODULE_NAME`]); rewards are counted in [`DecCoins`] and paid in whole coins.
//! [`begin_block`] moves the fee collector's balance there and allocates it;
//! [`DistributionHooks`] keep the records in step with staking; the messages withdraw.
//!
//! State (readable and provable; JSON values are the SDK's LCD JSON):
//! - `distribution/params` → [`Params`]
//! - `distribution/fee_pool` → [`FeePool`] (`{"community_pool": [...]}`)
//! - `distribution/withdraw_address/<cosmos…>` → the delegator's withdraw address (text);
//!   absent: the delegator itself
//! - `distribution/outstanding/<cosmosvaloper…>` → [`ValidatorOutstandingRewards`]
//!   (`{"rewards": [...]}`): everything allocated to the validator and not yet paid out,
//!   its commission included
//! - `distribution/commission/<cosmosvaloper…>` → [`ValidatorAccumulatedCommission`]
//!   (`{"commission": [...]}`)
//! - `distribution/current/<cosmosvaloper…>` → [`ValidatorCurrentRewards`]
//!   (`{"rewards": [...], "period": "3"}`): the delegators' rewards of the current period
//! - `distribution/historical/<cosmosvaloper…>/<period, 20 digits>` →
//!   [`ValidatorHistoricalRewards`] (`{"cumulative_reward_ratio": [...],
//!   "reference_count": 2}`): rewards per token summed up to the end of that period, kept
//!   while referenced
//! - `distribution/slash_events/<cosmosvaloper…>/<height, 20 digits>/<period, 20 digits>` →
//!   [`ValidatorSlashEvent`] (`{"validator_period": "3", "fraction": "0.01…"}`)
//! - `distribution/starting_info/<cosmosvaloper…>/<cosmos…>` → [`DelegatorStartingInfo`]
//!   (`{"previous_period": "2", "stake": "100.0…", "height": "7"}`)
//!
//! Not kept: the previous proposer (v0.50 pays no proposer reward), `FundCommunityPool`,
//! `CommunityPoolSpend`, `DepositValidatorRewardsPool` and `UpdateParams` (governance).

mod dec_coins;
mod error;
pub mod genesis;
mod hooks;
mod keeper;
mod msgs;
mod query;
pub mod state_key;
mod types;

pub use dec_coins::{DecCoin, DecCoins};
pub use error::DistributionError;
pub use hooks::DistributionHooks;
pub use keeper::{
    allocate_tokens, allocate_tokens_to_validator, begin_block, community_pool, params, set_params,
    withdraw_address, withdraw_delegation_rewards, withdraw_validator_commission, MODULE_NAME,
};
pub use msgs::{MsgSetWithdrawAddress, MsgWithdrawDelegatorReward, MsgWithdrawValidatorCommission};
pub use query::{
    delegation_rewards, delegation_total_rewards, delegator_validators, query_ctx,
    validator_commission, validator_distribution_info, validator_outstanding_rewards,
    validator_slashes, DelegationDelegatorReward, DelegationTotalRewards,
    ValidatorDistributionInfo,
};
pub use types::{
    DelegatorStartingInfo, FeePool, Params, ValidatorAccumulatedCommission,
    ValidatorCurrentRewards, ValidatorHistoricalRewards, ValidatorOutstandingRewards,
    ValidatorSlashEvent,
};

#[cfg(test)]
mod tests;
