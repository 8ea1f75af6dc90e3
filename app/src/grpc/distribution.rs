//! `cosmos.distribution.v1beta1.Query`: `Params`, `ValidatorDistributionInfo`,
//! `ValidatorOutstandingRewards`, `ValidatorCommission`, `ValidatorSlashes`,
//! `DelegationRewards`, `DelegationTotalRewards`, `DelegatorValidators`,
//! `DelegatorWithdrawAddress` and `CommunityPool`.
//!
//! Everything is read through the module's queries, the ones the LCD routes
//! (`crate::lcd`) read through: rewards are what a withdrawal now would pay, computed on a
//! branch the module drops (so a query changes nothing) in the block
//! [`distribution::query_ctx`] describes. DecCoin amounts are LegacyDec atomics (see the
//! parent module).
//!
//! Refusals follow the SDK v0.50 handlers' checks in their order: an empty address is
//! `InvalidArgument` (`empty validator address`, `empty delegator address`), an address that
//! does not parse is `InvalidArgument` as in the other services. A validator or delegation the
//! request names that does not exist is answered NotFound with the module's (the SDK's)
//! words, as the LCD routes answer it: the SDK's handlers return staking's registered error
//! there (which baseapp reports as code 6, `… : unknown request`) or, for a missing
//! delegation, the collections library's not-found error (code 18, naming the store key) —
//! neither says "not found" in a way a client can act on.

use super::{account, answer, decode, page, valoper, Failure, Handled};
use cosmos_sdk_proto::cosmos::base::v1beta1::DecCoin as ProtoDecCoin;
use cosmos_sdk_proto::cosmos::distribution::v1beta1 as pb;
use keystone_modules::distribution::{self, query_ctx, DecCoins, DistributionError};
use keystone_modules::staking::{self, StakingError};
use keystone_modules::{Address, ModuleError, State};

fn dec_coins(c: &DecCoins) -> Vec<ProtoDecCoin> {
    c.iter()
        .map(|c| ProtoDecCoin {
            denom: c.denom,
            amount: c.amount.to_atomics_string(),
        })
        .collect()
}

/// A module error: NotFound for a missing validator or delegation (see the module doc), the
/// state's failure otherwise.
fn failure(e: ModuleError) -> Failure {
    match &e {
        ModuleError::Staking {
            error: StakingError::NoValidatorFound | StakingError::NoDelegation,
            ..
        }
        | ModuleError::Distribution {
            error: DistributionError::NoValidatorExists | DistributionError::NoDelegationExists,
            ..
        } => Failure::not_found(e),
        _ => Failure::from(e),
    }
}

/// The SDK's first check of every validator argument.
fn validator_arg(a: &str) -> Result<Address, Failure> {
    if a.is_empty() {
        return Err(Failure::invalid_argument("empty validator address"));
    }
    valoper(a)
}

/// The SDK's first check of every delegator argument.
fn delegator_arg(a: &str) -> Result<Address, Failure> {
    if a.is_empty() {
        return Err(Failure::invalid_argument("empty delegator address"));
    }
    account(a)
}

/// Answer `method` of the distribution query service.
pub(super) fn query(state: &impl State, method: &str, data: &[u8]) -> Handled {
    match method {
        "Params" => {
            decode::<pb::QueryParamsRequest>(data)?;
            let p = distribution::params(state)?;
            // The proposer rewards are deprecated (v0.50 pays none) but still in the params.
            #[allow(deprecated)]
            answer(&pb::QueryParamsResponse {
                params: Some(pb::Params {
                    community_tax: p.community_tax.to_atomics_string(),
                    base_proposer_reward: p.base_proposer_reward.to_atomics_string(),
                    bonus_proposer_reward: p.bonus_proposer_reward.to_atomics_string(),
                    withdraw_addr_enabled: p.withdraw_addr_enabled,
                }),
            })
        }
        "ValidatorDistributionInfo" => {
            let q: pb::QueryValidatorDistributionInfoRequest = decode(data)?;
            let op = validator_arg(&q.validator_address)?;
            let info = distribution::validator_distribution_info(state, &query_ctx(), &op)
                .map_err(failure)?;
            answer(&pb::QueryValidatorDistributionInfoResponse {
                // The SDK answers the operator's account address here (`sdk.AccAddress` of
                // the operator's bytes), not the `cosmosvaloper…` it was asked.
                operator_address: op.to_string(),
                self_bond_rewards: dec_coins(&info.self_bond_rewards),
                commission: dec_coins(&info.commission),
            })
        }
        "ValidatorOutstandingRewards" => {
            let q: pb::QueryValidatorOutstandingRewardsRequest = decode(data)?;
            let op = validator_arg(&q.validator_address)?;
            let rewards =
                distribution::validator_outstanding_rewards(state, &op).map_err(failure)?;
            answer(&pb::QueryValidatorOutstandingRewardsResponse {
                rewards: Some(pb::ValidatorOutstandingRewards {
                    rewards: dec_coins(&rewards),
                }),
            })
        }
        "ValidatorCommission" => {
            let q: pb::QueryValidatorCommissionRequest = decode(data)?;
            let op = validator_arg(&q.validator_address)?;
            let commission = distribution::validator_commission(state, &op).map_err(failure)?;
            answer(&pb::QueryValidatorCommissionResponse {
                commission: Some(pb::ValidatorAccumulatedCommission {
                    commission: dec_coins(&commission),
                }),
            })
        }
        "ValidatorSlashes" => {
            let q: pb::QueryValidatorSlashesRequest = decode(data)?;
            if q.validator_address.is_empty() {
                return Err(Failure::invalid_argument("empty validator address"));
            }
            if q.ending_height < q.starting_height {
                return Err(Failure::invalid_argument(format!(
                    "starting height greater than ending height ({} > {})",
                    q.starting_height, q.ending_height
                )));
            }
            // The SDK's words here, without the parser's reason.
            let op = valoper(&q.validator_address)
                .map_err(|_| Failure::invalid_argument("invalid validator address"))?;
            // Every slash event is kept (the module needs them for rewards), so this is the
            // whole record. The SDK v0.50 filters on the event's *period*, not its height,
            // against the requested heights; so do we, so that a client gets the same list.
            let slashes: Vec<pb::ValidatorSlashEvent> =
                distribution::validator_slashes(state, &op)?
                    .into_iter()
                    .filter(|e| (q.starting_height..=q.ending_height).contains(&e.validator_period))
                    .map(|e| pb::ValidatorSlashEvent {
                        validator_period: e.validator_period,
                        fraction: e.fraction.to_atomics_string(),
                    })
                    .collect();
            answer(&pb::QueryValidatorSlashesResponse {
                pagination: page(slashes.len()),
                slashes,
            })
        }
        "DelegationRewards" => {
            let q: pb::QueryDelegationRewardsRequest = decode(data)?;
            if q.delegator_address.is_empty() {
                return Err(Failure::invalid_argument("empty delegator address"));
            }
            // The SDK's order: the validator is read before the delegator is parsed.
            let op = validator_arg(&q.validator_address)?;
            if staking::validator(state, &op)?.is_none() {
                return Err(failure(StakingError::NoValidatorFound.into()));
            }
            let del = account(&q.delegator_address)?;
            let rewards = distribution::delegation_rewards(state, &query_ctx(), &del, &op)
                .map_err(failure)?;
            answer(&pb::QueryDelegationRewardsResponse {
                rewards: dec_coins(&rewards),
            })
        }
        "DelegationTotalRewards" => {
            let q: pb::QueryDelegationTotalRewardsRequest = decode(data)?;
            let del = delegator_arg(&q.delegator_address)?;
            let all = distribution::delegation_total_rewards(state, &query_ctx(), &del)
                .map_err(failure)?;
            answer(&pb::QueryDelegationTotalRewardsResponse {
                rewards: all
                    .rewards
                    .iter()
                    .map(|r| pb::DelegationDelegatorReward {
                        validator_address: r.validator_address.to_valoper(),
                        reward: dec_coins(&r.reward),
                    })
                    .collect(),
                total: dec_coins(&all.total),
            })
        }
        "DelegatorValidators" => {
            let q: pb::QueryDelegatorValidatorsRequest = decode(data)?;
            let del = delegator_arg(&q.delegator_address)?;
            let validators = distribution::delegator_validators(state, &del)?;
            answer(&pb::QueryDelegatorValidatorsResponse {
                validators: validators.iter().map(Address::to_valoper).collect(),
            })
        }
        "DelegatorWithdrawAddress" => {
            let q: pb::QueryDelegatorWithdrawAddressRequest = decode(data)?;
            let del = delegator_arg(&q.delegator_address)?;
            answer(&pb::QueryDelegatorWithdrawAddressResponse {
                withdraw_address: distribution::withdraw_address(state, &del)?.to_string(),
            })
        }
        "CommunityPool" => {
            decode::<pb::QueryCommunityPoolRequest>(data)?;
            answer(&pb::QueryCommunityPoolResponse {
                pool: dec_coins(&distribution::community_pool(state)?),
            })
        }
        _ => Ok(None),
    }
}
