//! The Cosmos LCD (gRPC-gateway) GET routes of the modules, answered from state in the
//! gateway's JSON shapes: what the node's REST server serves, and what `keystone query
//! staking …` prints (it asks the same routes over `abci_query`, path = the LCD path, data =
//! the URL query string).
//!
//! Built so far: `x/staking`'s `validators[/{v}[/delegations[/{d}[/unbonding_delegation]]|
//! /unbonding_delegations]]`, `delegations/{d}`, `delegators/{d}/unbonding_delegations`,
//! `delegators/{d}/redelegations`, `pool` and `params`. Errors carry the gRPC status code the
//! gateway would (3 InvalidArgument, 5 NotFound, 12 Unimplemented, 13 Internal) with the SDK's
//! wording; every list is answered whole (`pagination.next_key` null).

use keystone_modules::staking::{self, Validator};
use keystone_modules::{Address, State};
use serde_json::{json, Value};

/// A refused LCD request: the gRPC status code and message, as the gateway returns them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LcdError {
    /// gRPC status code (3, 5, 12, 13).
    pub code: u32,
    /// The message (`rpc error: code = NotFound desc = …`).
    pub message: String,
}

impl LcdError {
    fn new(code: u32, name: &str, desc: impl std::fmt::Display) -> LcdError {
        LcdError {
            code,
            message: format!("rpc error: code = {name} desc = {desc}"),
        }
    }
    fn invalid(desc: impl std::fmt::Display) -> LcdError {
        LcdError::new(3, "InvalidArgument", desc)
    }
    fn not_found(desc: impl std::fmt::Display) -> LcdError {
        LcdError::new(5, "NotFound", desc)
    }
    fn internal(desc: impl std::fmt::Display) -> LcdError {
        LcdError::new(13, "Internal", desc)
    }
}

/// The HTTP status the gateway answers a gRPC status `code` with.
pub fn http_status(code: u32) -> u16 {
    match code {
        3 => 400,
        5 => 404,
        12 => 501,
        _ => 500,
    }
}

type Result<T> = std::result::Result<T, LcdError>;

fn json<T: serde::Serialize>(v: &T) -> Result<Value> {
    serde_json::to_value(v).map_err(LcdError::internal)
}

fn account(a: &str) -> Result<Address> {
    a.parse().map_err(LcdError::invalid)
}

fn valoper(a: &str) -> Result<Address> {
    Address::from_bech32(a, "cosmosvaloper").map_err(LcdError::invalid)
}

/// A whole list: the gateway's pagination for an answer that fits in one page.
fn page(n: usize) -> Value {
    json!({"next_key": null, "total": n.to_string()})
}

/// Whether `path` is one of the routes answered here.
pub fn handles(path: &str) -> bool {
    path.starts_with("/cosmos/staking/v1beta1/")
}

/// Answer GET `path` with URL query `query` (`a=b&c=d`) from `state`.
pub fn get(state: &impl State, path: &str, query: &str) -> Result<Value> {
    let Some(rest) = path.strip_prefix("/cosmos/staking/v1beta1/") else {
        return Err(LcdError::new(
            12,
            "Unimplemented",
            format!("unknown route {path}"),
        ));
    };
    let parts: Vec<&str> = rest.trim_end_matches('/').split('/').collect();
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
    match parts.as_slice() {
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
        _ => Err(LcdError::new(
            12,
            "Unimplemented",
            format!("unknown route {path}"),
        )),
    }
}
