//! `x/auth`'s `params` under `/cosmos/auth/v1beta1/` (accounts are the REST server's own
//! route, which proves its answer).

use super::{json, LcdError, Result};
use keystone_modules::{auth, State};
use serde_json::Value;

/// Answer the auth route `parts` (the segments after the prefix) of `path` from `state`.
pub(super) fn get(state: &impl State, parts: &[&str], path: &str) -> Result<Value> {
    match parts {
        ["params"] => {
            let params = auth::params(state).map_err(LcdError::internal)?;
            Ok(serde_json::json!({"params": json(&params)?}))
        }
        _ => Err(LcdError::unknown_route(path)),
    }
}
