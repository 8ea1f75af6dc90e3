//! `x/distribution`'s routes under `/cosmos/distribution/v1beta1/`: `params`,
//! `community_pool`, `validators/{v}` (its commission and self-bond rewards),
//! `validators/{v}/commission`, `validators/{v}/outstanding_rewards`, `delegators/{d}/rewards`,
//! `delegators/{d}/rewards/{v}`, `delegators/{d}/validators`,
//! `delegators/{d}/withdraw_address` and `validators/{v}/slashes?starting_height=&ending_height=`
//! (rendered from the gRPC answer).
//!
//! Rewards are computed as a withdrawal now would compute them (the module's queries run on a
//! branch that is dropped, so a query changes nothing), in the block
//! [`distribution::query_ctx`] describes. The gRPC paths (`crate::grpc`) read through the same
//! module queries.

use super::{account, ask, json, module_error, page_json, valoper, LcdError, Result};
use cosmos_sdk_proto::cosmos::distribution::v1beta1 as pb;
use keystone_modules::distribution::{self, query_ctx, DecCoins};
use keystone_modules::{staking, Address, State};
use serde_json::{json, Value};

/// The validator `v` must exist: staking's error otherwise, as the SDK's query returns it.
fn must_exist(state: &impl State, op: &Address) -> Result<()> {
    match staking::validator(state, op).map_err(LcdError::internal)? {
        Some(_) => Ok(()),
        None => Err(module_error(staking::StakingError::NoValidatorFound.into())),
    }
}

/// Answer the distribution route `parts` (the segments after the prefix) of `path` from
/// `state`.
pub(super) fn get(state: &impl State, parts: &[&str], path: &str, query: &str) -> Result<Value> {
    match parts {
        ["validators", v, "slashes"] => {
            let height = |name: &str| -> Result<u64> {
                match query
                    .split('&')
                    .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))
                {
                    None | Some("") => Ok(0),
                    Some(h) => h
                        .parse()
                        .map_err(|_| LcdError::invalid(format!("invalid {name} {h:?}"))),
                }
            };
            let r: pb::QueryValidatorSlashesResponse = ask(
                state,
                "/cosmos.distribution.v1beta1.Query/ValidatorSlashes",
                &pb::QueryValidatorSlashesRequest {
                    validator_address: v.to_string(),
                    starting_height: height("starting_height")?,
                    ending_height: height("ending_height")?,
                    pagination: None,
                },
            )?;
            let slashes: Vec<Value> = r
                .slashes
                .iter()
                .map(|e| {
                    json!({
                        "validator_period": e.validator_period.to_string(),
                        "fraction": keystone_proto::tx_json::dec_atomics_to_json(&e.fraction)
                            .unwrap_or_else(|_| e.fraction.clone()),
                    })
                })
                .collect();
            Ok(json!({"slashes": slashes, "pagination": page_json(&r.pagination)}))
        }
        ["params"] => {
            let params = distribution::params(state).map_err(LcdError::internal)?;
            Ok(json!({"params": json(&params)?}))
        }
        ["community_pool"] => {
            let pool = distribution::community_pool(state).map_err(LcdError::internal)?;
            Ok(json!({"pool": json(&pool)?}))
        }
        ["validators", v] => {
            let info = distribution::validator_distribution_info(state, &query_ctx(), &valoper(v)?)
                .map_err(module_error)?;
            Ok(json!({
                "operator_address": v,
                "self_bond_rewards": json(&info.self_bond_rewards)?,
                "commission": json(&info.commission)?,
            }))
        }
        ["validators", v, "commission"] => {
            let commission =
                distribution::validator_commission(state, &valoper(v)?).map_err(module_error)?;
            Ok(json!({"commission": {"commission": json(&commission)?}}))
        }
        ["validators", v, "outstanding_rewards"] => {
            let rewards = distribution::validator_outstanding_rewards(state, &valoper(v)?)
                .map_err(module_error)?;
            Ok(json!({"rewards": {"rewards": json(&rewards)?}}))
        }
        ["delegators", d, "rewards"] => {
            // By validator address bytes, as the SDK iterates a delegator's delegations.
            let all = distribution::delegation_total_rewards(state, &query_ctx(), &account(d)?)
                .map_err(module_error)?;
            Ok(json!({"rewards": json(&all.rewards)?, "total": json(&all.total)?}))
        }
        ["delegators", d, "rewards", v] => {
            // The SDK's order: the validator is checked before the delegator is parsed.
            let op = valoper(v)?;
            must_exist(state, &op)?;
            let rewards: DecCoins =
                distribution::delegation_rewards(state, &query_ctx(), &account(d)?, &op)
                    .map_err(module_error)?;
            Ok(json!({"rewards": json(&rewards)?}))
        }
        ["delegators", d, "validators"] => {
            let validators = distribution::delegator_validators(state, &account(d)?)
                .map_err(LcdError::internal)?;
            let list: Vec<String> = validators.iter().map(Address::to_valoper).collect();
            Ok(json!({"validators": list}))
        }
        ["delegators", d, "withdraw_address"] => {
            let to =
                distribution::withdraw_address(state, &account(d)?).map_err(LcdError::internal)?;
            Ok(json!({"withdraw_address": to.to_string()}))
        }
        _ => Err(LcdError::unknown_route(path)),
    }
}
