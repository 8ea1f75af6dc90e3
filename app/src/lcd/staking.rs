//! `x/staking`'s routes under `/cosmos/staking/v1beta1/`: `validators[/{v}[/delegations[/{d}
//! [/unbonding_delegation]]|/unbonding_delegations]]`, `delegations/{d}`,
//! `delegators/{d}/unbonding_delegations`, `delegators/{d}/redelegations`, `pool` and `params`.

use super::{account, json, page, valoper, LcdError, Result};
use keystone_modules::staking::{self, Validator};
use keystone_modules::{Address, State};
use serde_json::{json, Value};

/// Answer the staking route `parts` (the segments after the prefix) of `path`, with URL query
/// `query` (`status=…` for `validators`), from `state`.
pub(super) fn get(state: &impl State, parts: &[&str], path: &str, query: &str) -> Result<Value> {
    let fail = |e: keystone_modules::ModuleError| LcdError::internal(e);
    let must_validator = |op: &Address, text: &str| -> Result<Validator> {
        staking::validator(state, op)
            .map_err(fail)?
            .ok_or_else(|| LcdError::not_found(format!("validator {text} not found")))
    };
    let bond_denom = || -> Result<String> { Ok(staking::params(state).map_err(fail)?.bond_denom) };
    // A delegation with what its shares are worth now.
    let delegation_response = |d: &staking::Delegation| -> Result<Value> {
        let v = must_validator(&d.validator, &d.validator.to_bech32("cosmosvaloper"))?;
        let balance = v
            .tokens_from_shares(d.shares)
            .and_then(|t| t.truncate_int())
            .map_err(fail)?;
        Ok(json!({
            "delegation": json(d)?,
            "balance": {"denom": bond_denom()?, "amount": balance.to_string()},
        }))
    };
    let redelegation_response = |r: &staking::Redelegation| -> Result<Value> {
        let dst = staking::validator(state, &r.dst).map_err(fail)?;
        let entries = r
            .entries
            .iter()
            .map(|e| {
                let balance = match &dst {
                    Some(v) => v
                        .tokens_from_shares(e.shares_dst)
                        .and_then(|t| t.truncate_int())
                        .map_err(fail)?,
                    None => 0,
                };
                Ok(json!({"redelegation_entry": json(e)?, "balance": balance.to_string()}))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(json!({"redelegation": json(r)?, "entries": entries}))
    };
    match parts {
        ["validators"] => {
            let status = query
                .split('&')
                .find_map(|kv| kv.strip_prefix("status="))
                .filter(|s| !s.is_empty());
            let mut list = Vec::new();
            for v in staking::validators(state).map_err(fail)? {
                let value = json(&v)?;
                if status.is_none_or(|s| value["status"] == s) {
                    list.push(value);
                }
            }
            Ok(json!({"pagination": page(list.len()), "validators": list}))
        }
        ["validators", v] => Ok(json!({"validator": json(&must_validator(&valoper(v)?, v)?)?})),
        ["validators", v, "delegations"] => {
            let op = valoper(v)?;
            must_validator(&op, v)?;
            let list = staking::delegations_to(state, &op)
                .map_err(fail)?
                .iter()
                .map(delegation_response)
                .collect::<Result<Vec<_>>>()?;
            Ok(json!({"delegation_responses": list, "pagination": page(list.len())}))
        }
        ["validators", v, "delegations", d] => {
            let (op, del) = (valoper(v)?, account(d)?);
            let found = staking::delegation(state, &del, &op)
                .map_err(fail)?
                .ok_or_else(|| {
                    LcdError::not_found(format!(
                        "delegation with delegator {d} not found for validator {v}"
                    ))
                })?;
            Ok(json!({"delegation_response": delegation_response(&found)?}))
        }
        ["validators", v, "delegations", d, "unbonding_delegation"] => {
            let (op, del) = (valoper(v)?, account(d)?);
            let found = staking::unbonding_delegation(state, &del, &op)
                .map_err(fail)?
                .ok_or_else(|| {
                    LcdError::not_found(format!(
                        "unbonding delegation with delegator {d} not found for validator {v}"
                    ))
                })?;
            Ok(json!({"unbond": json(&found)?}))
        }
        ["validators", v, "unbonding_delegations"] => {
            let op = valoper(v)?;
            must_validator(&op, v)?;
            let list = json(&staking::unbonding_delegations_from(state, &op).map_err(fail)?)?;
            let n = list.as_array().map_or(0, Vec::len);
            Ok(json!({"unbonding_responses": list, "pagination": page(n)}))
        }
        ["delegations", d] => {
            let list = staking::delegations_of(state, &account(d)?)
                .map_err(fail)?
                .iter()
                .map(delegation_response)
                .collect::<Result<Vec<_>>>()?;
            Ok(json!({"delegation_responses": list, "pagination": page(list.len())}))
        }
        ["delegators", d, "unbonding_delegations"] => {
            let list =
                json(&staking::unbonding_delegations_of(state, &account(d)?).map_err(fail)?)?;
            let n = list.as_array().map_or(0, Vec::len);
            Ok(json!({"unbonding_responses": list, "pagination": page(n)}))
        }
        ["delegators", d, "redelegations"] => {
            let list = staking::redelegations_of(state, &account(d)?)
                .map_err(fail)?
                .iter()
                .map(redelegation_response)
                .collect::<Result<Vec<_>>>()?;
            Ok(json!({"redelegation_responses": list, "pagination": page(list.len())}))
        }
        ["pool"] => {
            let (not_bonded, bonded) = staking::pool(state).map_err(fail)?;
            Ok(json!({"pool": {
                "not_bonded_tokens": not_bonded.to_string(),
                "bonded_tokens": bonded.to_string(),
            }}))
        }
        ["params"] => Ok(json!({"params": json(&staking::params(state).map_err(fail)?)?})),
        _ => Err(LcdError::unknown_route(path)),
    }
}
