//! `x/slashing`'s routes under `/cosmos/slashing/v1beta1/`: `params`, `signing_infos` and
//! `signing_infos/{cons_address}`.

use super::{json, page, valcons, LcdError, Result};
use keystone_modules::{slashing, State};
use serde_json::{json, Value};

/// Answer the slashing route `parts` (the segments after the prefix) of `path` from `state`.
pub(super) fn get(state: &impl State, parts: &[&str], path: &str) -> Result<Value> {
    match parts {
        ["params"] => {
            let params = slashing::params(state).map_err(LcdError::internal)?;
            Ok(json!({"params": json(&params)?}))
        }
        ["signing_infos"] => {
            // By consensus address bytes, as the SDK's store iterates them.
            let list = slashing::signing_infos(state).map_err(LcdError::internal)?;
            Ok(json!({"info": json(&list)?, "pagination": page(list.len())}))
        }
        ["signing_infos", cons] => {
            let address = valcons(cons)?;
            let info = slashing::signing_info(state, &address)
                .map_err(LcdError::internal)?
                .ok_or_else(|| {
                    LcdError::not_found(format!("SigningInfo not found for validator {cons}"))
                })?;
            Ok(json!({"val_signing_info": json(&info)?}))
        }
        _ => Err(LcdError::unknown_route(path)),
    }
}
