//! `x/auth`'s `params`, `module_accounts` and `module_accounts/{name}` under
//! `/cosmos/auth/v1beta1/` (the module accounts rendered from the gRPC answers; accounts are
//! the REST server's own route, which proves its answer).

use super::{ask, json, LcdError, Result};
use cosmos_sdk_proto::cosmos::auth::v1beta1 as pb;
use keystone_modules::{auth, State};
use prost::Message;
use serde_json::Value;

/// Answer the auth route `parts` (the segments after the prefix) of `path` from `state`.
pub(super) fn get(state: &impl State, parts: &[&str], path: &str) -> Result<Value> {
    match parts {
        ["params"] => {
            let params = auth::params(state).map_err(LcdError::internal)?;
            Ok(serde_json::json!({"params": json(&params)?}))
        }
        ["module_accounts"] => {
            let r: pb::QueryModuleAccountsResponse = ask(
                state,
                "/cosmos.auth.v1beta1.Query/ModuleAccounts",
                &pb::QueryModuleAccountsRequest {},
            )?;
            let accounts = r
                .accounts
                .iter()
                .map(module_account_json)
                .collect::<Result<Vec<_>>>()?;
            Ok(serde_json::json!({ "accounts": accounts }))
        }
        ["module_accounts", name] => {
            let r: pb::QueryModuleAccountByNameResponse = ask(
                state,
                "/cosmos.auth.v1beta1.Query/ModuleAccountByName",
                &pb::QueryModuleAccountByNameRequest {
                    name: name.to_string(),
                },
            )?;
            let account = r.account.as_ref().map(module_account_json).transpose()?;
            Ok(serde_json::json!({ "account": account }))
        }
        _ => Err(LcdError::unknown_route(path)),
    }
}

/// A `ModuleAccount` `Any` as the gateway writes it.
fn module_account_json(any: &cosmos_sdk_proto::Any) -> Result<Value> {
    let m = pb::ModuleAccount::decode(any.value.as_slice()).map_err(LcdError::internal)?;
    let base = m.base_account.unwrap_or_default();
    Ok(serde_json::json!({
        "@type": any.type_url,
        "base_account": {
            "address": base.address,
            "pub_key": null,
            "account_number": base.account_number.to_string(),
            "sequence": base.sequence.to_string(),
        },
        "name": m.name,
        "permissions": m.permissions,
    }))
}
