//! `cosmos.staking.v1beta1.Query`: `Validators`, `Validator`, `ValidatorDelegations`,
//! `Delegation`, `DelegatorDelegations`, `UnbondingDelegation`,
//! `DelegatorUnbondingDelegations`, `Redelegations`, `Pool` and `Params`.
//!
//! LegacyDec fields (shares, commission rates) go out in their protobuf form, the integer
//! `value × 10^18` ([`Dec::to_atomics_string`]), as the SDK's `LegacyDec.Marshal` writes them.

use super::{account, answer, coin, decode, page, timestamp, valoper, Failure, Handled};
use cosmos_sdk_proto::cosmos::crypto::ed25519::PubKey;
use cosmos_sdk_proto::cosmos::staking::v1beta1 as pb;
use cosmos_sdk_proto::Any;
use keystone_modules::staking::{self, BondStatus, Validator};
use keystone_modules::{Address, State};
use prost::Message;

fn status(s: BondStatus) -> pb::BondStatus {
    match s {
        BondStatus::Unbonded => pb::BondStatus::Unbonded,
        BondStatus::Unbonding => pb::BondStatus::Unbonding,
        BondStatus::Bonded => pb::BondStatus::Bonded,
    }
}

fn validator(v: &Validator) -> pb::Validator {
    let c = &v.commission;
    pb::Validator {
        operator_address: v.operator.to_valoper(),
        consensus_pubkey: Some(Any {
            type_url: staking::ED25519_TYPE_URL.into(),
            value: PubKey {
                key: v.consensus_pubkey.0.to_vec(),
            }
            .encode_to_vec(),
        }),
        jailed: v.jailed,
        status: status(v.status) as i32,
        tokens: v.tokens.to_string(),
        delegator_shares: v.delegator_shares.to_atomics_string(),
        description: Some(pb::Description {
            moniker: v.description.moniker.clone(),
            identity: v.description.identity.clone(),
            website: v.description.website.clone(),
            security_contact: v.description.security_contact.clone(),
            details: v.description.details.clone(),
        }),
        unbonding_height: i64::try_from(v.unbonding_height).unwrap_or(i64::MAX),
        unbonding_time: timestamp(&v.unbonding_time),
        commission: Some(pb::Commission {
            commission_rates: Some(pb::CommissionRates {
                rate: c.commission_rates.rate.to_atomics_string(),
                max_rate: c.commission_rates.max_rate.to_atomics_string(),
                max_change_rate: c.commission_rates.max_change_rate.to_atomics_string(),
            }),
            update_time: timestamp(&c.update_time),
        }),
        min_self_delegation: v.min_self_delegation.to_string(),
        unbonding_on_hold_ref_count: v.unbonding_on_hold_ref_count,
        unbonding_ids: v.unbonding_ids.clone(),
    }
}

fn height(h: u64) -> i64 {
    i64::try_from(h).unwrap_or(i64::MAX)
}

fn unbonding(u: &staking::UnbondingDelegation) -> pb::UnbondingDelegation {
    pb::UnbondingDelegation {
        delegator_address: u.delegator.to_string(),
        validator_address: u.validator.to_valoper(),
        entries: u
            .entries
            .iter()
            .map(|e| pb::UnbondingDelegationEntry {
                creation_height: height(e.creation_height),
                completion_time: timestamp(&e.completion_time),
                initial_balance: e.initial_balance.to_string(),
                balance: e.balance.to_string(),
                unbonding_id: e.unbonding_id,
                unbonding_on_hold_ref_count: e.unbonding_on_hold_ref_count,
            })
            .collect(),
    }
}

fn must_validator(state: &impl State, op: &Address, text: &str) -> Result<Validator, Failure> {
    staking::validator(state, op)?
        .ok_or_else(|| Failure::not_found(format!("validator {text} not found")))
}

/// A delegation with what its shares are worth now (SDK `DelegationToDelegationResponse`).
fn delegation_response(
    state: &impl State,
    d: &staking::Delegation,
) -> Result<pb::DelegationResponse, Failure> {
    let v = must_validator(state, &d.validator, &d.validator.to_valoper())?;
    let balance = v
        .tokens_from_shares(d.shares)
        .and_then(|t| t.truncate_int())?;
    Ok(pb::DelegationResponse {
        delegation: Some(pb::Delegation {
            delegator_address: d.delegator.to_string(),
            validator_address: d.validator.to_valoper(),
            shares: d.shares.to_atomics_string(),
        }),
        balance: Some(coin(&staking::params(state)?.bond_denom, balance)),
    })
}

/// A redelegation with each entry's worth at the destination now (zero once it is gone).
fn redelegation_response(
    state: &impl State,
    r: &staking::Redelegation,
) -> Result<pb::RedelegationResponse, Failure> {
    let dst = staking::validator(state, &r.dst)?;
    let mut entries = Vec::with_capacity(r.entries.len());
    for e in &r.entries {
        let balance = match &dst {
            Some(v) => v
                .tokens_from_shares(e.shares_dst)
                .and_then(|t| t.truncate_int())?,
            None => 0,
        };
        entries.push(pb::RedelegationEntryResponse {
            redelegation_entry: Some(entry(e)),
            balance: balance.to_string(),
        });
    }
    Ok(pb::RedelegationResponse {
        redelegation: Some(pb::Redelegation {
            delegator_address: r.delegator.to_string(),
            validator_src_address: r.src.to_valoper(),
            validator_dst_address: r.dst.to_valoper(),
            entries: r.entries.iter().map(entry).collect(),
        }),
        entries,
    })
}

fn entry(e: &staking::RedelegationEntry) -> pb::RedelegationEntry {
    pb::RedelegationEntry {
        creation_height: height(e.creation_height),
        completion_time: timestamp(&e.completion_time),
        initial_balance: e.initial_balance.to_string(),
        shares_dst: e.shares_dst.to_atomics_string(),
        unbonding_id: e.unbonding_id,
        unbonding_on_hold_ref_count: e.unbonding_on_hold_ref_count,
    }
}

fn delegations(
    state: &impl State,
    list: &[staking::Delegation],
) -> Result<Vec<pb::DelegationResponse>, Failure> {
    list.iter().map(|d| delegation_response(state, d)).collect()
}

/// Answer `method` of the staking query service.
pub(super) fn query(state: &impl State, method: &str, data: &[u8]) -> Handled {
    match method {
        "Validators" => {
            let q: pb::QueryValidatorsRequest = decode(data)?;
            // The SDK accepts the enum's names; empty means every validator.
            let wanted = match q.status.as_str() {
                "" => None,
                s => match pb::BondStatus::from_str_name(s) {
                    Some(b) if b != pb::BondStatus::Unspecified => Some(b),
                    _ => {
                        return Err(Failure::invalid_argument(format!(
                            "invalid validator status {s}"
                        )))
                    }
                },
            };
            let validators: Vec<pb::Validator> = staking::validators(state)?
                .iter()
                .filter(|v| wanted.is_none_or(|w| status(v.status) == w))
                .map(validator)
                .collect();
            answer(&pb::QueryValidatorsResponse {
                pagination: page(validators.len()),
                validators,
            })
        }
        "Validator" => {
            let q: pb::QueryValidatorRequest = decode(data)?;
            let v = must_validator(state, &valoper(&q.validator_addr)?, &q.validator_addr)?;
            answer(&pb::QueryValidatorResponse {
                validator: Some(validator(&v)),
            })
        }
        "ValidatorDelegations" => {
            let q: pb::QueryValidatorDelegationsRequest = decode(data)?;
            let op = valoper(&q.validator_addr)?;
            must_validator(state, &op, &q.validator_addr)?;
            let list = delegations(state, &staking::delegations_to(state, &op)?)?;
            answer(&pb::QueryValidatorDelegationsResponse {
                pagination: page(list.len()),
                delegation_responses: list,
            })
        }
        "Delegation" => {
            let q: pb::QueryDelegationRequest = decode(data)?;
            let (del, op) = (account(&q.delegator_addr)?, valoper(&q.validator_addr)?);
            let d = staking::delegation(state, &del, &op)?.ok_or_else(|| {
                Failure::not_found(format!(
                    "delegation with delegator {} not found for validator {}",
                    q.delegator_addr, q.validator_addr
                ))
            })?;
            answer(&pb::QueryDelegationResponse {
                delegation_response: Some(delegation_response(state, &d)?),
            })
        }
        "DelegatorDelegations" => {
            let q: pb::QueryDelegatorDelegationsRequest = decode(data)?;
            let del = account(&q.delegator_addr)?;
            let list = delegations(state, &staking::delegations_of(state, &del)?)?;
            answer(&pb::QueryDelegatorDelegationsResponse {
                pagination: page(list.len()),
                delegation_responses: list,
            })
        }
        "UnbondingDelegation" => {
            let q: pb::QueryUnbondingDelegationRequest = decode(data)?;
            let (del, op) = (account(&q.delegator_addr)?, valoper(&q.validator_addr)?);
            let u = staking::unbonding_delegation(state, &del, &op)?.ok_or_else(|| {
                Failure::not_found(format!(
                    "unbonding delegation with delegator {} not found for validator {}",
                    q.delegator_addr, q.validator_addr
                ))
            })?;
            answer(&pb::QueryUnbondingDelegationResponse {
                unbond: Some(unbonding(&u)),
            })
        }
        "DelegatorUnbondingDelegations" => {
            let q: pb::QueryDelegatorUnbondingDelegationsRequest = decode(data)?;
            let del = account(&q.delegator_addr)?;
            let list: Vec<_> = staking::unbonding_delegations_of(state, &del)?
                .iter()
                .map(unbonding)
                .collect();
            answer(&pb::QueryDelegatorUnbondingDelegationsResponse {
                pagination: page(list.len()),
                unbonding_responses: list,
            })
        }
        "Redelegations" => {
            let q: pb::QueryRedelegationsRequest = decode(data)?;
            let list = redelegations(state, &q)?
                .iter()
                .map(|r| redelegation_response(state, r))
                .collect::<Result<Vec<_>, _>>()?;
            answer(&pb::QueryRedelegationsResponse {
                pagination: page(list.len()),
                redelegation_responses: list,
            })
        }
        "Pool" => {
            decode::<pb::QueryPoolRequest>(data)?;
            let (not_bonded, bonded) = staking::pool(state)?;
            answer(&pb::QueryPoolResponse {
                pool: Some(pb::Pool {
                    not_bonded_tokens: not_bonded.to_string(),
                    bonded_tokens: bonded.to_string(),
                }),
            })
        }
        "Params" => {
            decode::<pb::QueryParamsRequest>(data)?;
            let p = staking::params(state)?;
            answer(&pb::QueryParamsResponse {
                params: Some(pb::Params {
                    unbonding_time: Some(
                        cosmos_sdk_proto::tendermint::google::protobuf::Duration {
                            seconds: i64::try_from(p.unbonding_time).unwrap_or(i64::MAX),
                            nanos: 0,
                        },
                    ),
                    max_validators: p.max_validators,
                    max_entries: p.max_entries,
                    historical_entries: p.historical_entries,
                    bond_denom: p.bond_denom,
                    min_commission_rate: p.min_commission_rate.to_atomics_string(),
                }),
            })
        }
        _ => Ok(None),
    }
}

/// The SDK's three shapes of `Redelegations`: delegator, source and destination name one
/// (NotFound when absent); a source alone lists what leaves it; otherwise the delegator's.
fn redelegations(
    state: &impl State,
    q: &pb::QueryRedelegationsRequest,
) -> Result<Vec<staking::Redelegation>, Failure> {
    let (d, s, t) = (
        q.delegator_addr.as_str(),
        q.src_validator_addr.as_str(),
        q.dst_validator_addr.as_str(),
    );
    if !d.is_empty() && !s.is_empty() && !t.is_empty() {
        let found = staking::redelegation(state, &account(d)?, &valoper(s)?, &valoper(t)?)?;
        return found.map(|r| vec![r]).ok_or_else(|| {
            Failure::not_found(format!(
                "redelegation not found for delegator address {d} from validator address {s}"
            ))
        });
    }
    if d.is_empty() && !s.is_empty() && t.is_empty() {
        return Ok(staking::redelegations_from(state, &valoper(s)?)?);
    }
    Ok(staking::redelegations_of(state, &account(d)?)?)
}
