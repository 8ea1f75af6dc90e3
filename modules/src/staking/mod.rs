//! staking: validators, delegations, unbonding and redelegation, the validator set handed to
//! consensus at the end of every block, and slashing and jailing for the slashing module —
//! Cosmos SDK v0.50 `x/staking`, with its share arithmetic ([`Dec`](crate::Dec), the SDK's
//! `LegacyDec`), its checks in the msg server's order, its events and its errors (codespace
//! `staking`, see [`StakingError`]).
//!
//! Tokens sit in two module accounts as bank balances of the bond denom:
//! [`BONDED_POOL`] (`bonded_tokens_pool`, the tokens of bonded validators) and
//! [`NOT_BONDED_POOL`] (`not_bonded_tokens_pool`, the tokens of unbonded and unbonding
//! validators and the balances of unbonding delegations). Consensus power is tokens / 10^6.
//!
//! State (readable and provable; JSON values are the SDK's LCD JSON, so the REST server can
//! return them as they are):
//! - `staking/params` → [`Params`]
//! - `staking/validators/<cosmosvaloper…>` → [`Validator`]
//! - `staking/validators_by_cons/<cosmosvalcons…>` → the operator address (text)
//! - `staking/power/<u128::MAX − power, 39 digits>/<hex operator>` → the operator address
//!   (text), for non-jailed validators; key order is descending power, ties by ascending
//!   operator bytes
//! - `staking/last_power/<hex operator>` → decimal power, the set last given to consensus
//! - `staking/last_total_power` → decimal
//! - `staking/unbonding_id` → the last unbonding id handed out (decimal)
//! - `staking/delegations/<cosmos…>/<cosmosvaloper…>` → [`Delegation`]
//! - `staking/delegations_by_validator/<cosmosvaloper…>/<cosmos…>` → `[1]` (index)
//! - `staking/unbonding/<cosmos…>/<cosmosvaloper…>` → [`UnbondingDelegation`]
//! - `staking/unbonding_by_validator/<cosmosvaloper…>/<cosmos…>` → `[1]` (index)
//! - `staking/redelegations/<cosmos…>/<src cosmosvaloper…>/<dst cosmosvaloper…>` →
//!   [`Redelegation`]
//! - `staking/redelegations_by_src/<src>/<cosmos…>/<dst>` → `[1]` (index, for slashing)
//! - `staking/redelegations_by_dst/<dst>/<cosmos…>/<src>` → `[1]` (index, for the
//!   transitive-redelegation check)
//! - `staking/validator_queue/<time>/<height, 20 digits>` → JSON list of operators whose
//!   unbonding ends then
//! - `staking/unbonding_queue/<time>` → JSON list of `{delegator_address, validator_address}`
//! - `staking/redelegation_queue/<time>` → JSON list of `{delegator_address,
//!   validator_src_address, validator_dst_address}`
//!
//! `<time>` is RFC 3339 in UTC with nine fractional digits (`2026-01-01T00:00:00.000000000Z`),
//! so that key order is time order.
//!
//! Not kept: historical info (`historical_entries` is a param only; it serves IBC), the
//! unbonding-id indexes and on-hold counts (interchain security), and consensus key
//! rotation.

mod end_block;
mod error;
pub mod genesis;
mod hooks;
mod keeper;
mod msgs;
mod slash;
pub mod state_key;
mod types;

pub use end_block::{apply_validator_set_updates, end_block};
pub use error::StakingError;
pub use hooks::{Hooks, NoHooks};
pub use keeper::{
    all_delegations, all_redelegations, all_unbonding_delegations, bonded_validators_by_power,
    delegation, delegations_of, delegations_to, last_total_power, last_validator_power, params,
    pool, redelegation, redelegations_from, redelegations_of, set_params, unbonding_delegation,
    unbonding_delegations_from, unbonding_delegations_of, validate_unbond_amount, validator,
    validator_by_cons, validators, BONDED_POOL, NOT_BONDED_POOL,
};
pub use msgs::{
    MsgBeginRedelegate, MsgBeginRedelegateResponse, MsgCancelUnbondingDelegation,
    MsgCreateValidator, MsgDelegate, MsgEditValidator, MsgUndelegate, MsgUndelegateResponse,
};
pub use slash::{jail, slash, unjail};
pub use types::{
    BondStatus, Commission, CommissionRates, ConsensusPubKey, Delegation, Description, Params,
    Redelegation, RedelegationEntry, UnbondingDelegation, UnbondingDelegationEntry, Validator,
    ValidatorUpdate, DO_NOT_MODIFY, ED25519_TYPE_URL, POWER_REDUCTION,
};

#[cfg(test)]
mod tests;
