//! `x/mint`'s routes under `/cosmos/mint/v1beta1/`: `params`, `inflation` and
//! `annual_provisions`.
//!
//! `inflation` and `annual_provisions` are `bytes` fields (a `LegacyDec` custom type) in
//! `QueryInflationResponse` and `QueryAnnualProvisionsResponse`, but the SDK v0.50 gateway
//! marshals with gogoproto's jsonpb (`cosmos/gogogateway`), which writes a custom type with
//! its own `MarshalJSON`: the decimal as a string (`{"inflation": "0.130000000000000000"}`),
//! not base64. Base64 of the digits is what clients that decode by the descriptor alone
//! (protojson, gRPC reflection) show; the LCD never did, so neither do we.

use super::{json, LcdError, Result};
use keystone_modules::{mint, State};
use serde_json::{json, Value};

/// Answer the mint route `parts` (the segments after the prefix) of `path` from `state`.
pub(super) fn get(state: &impl State, parts: &[&str], path: &str) -> Result<Value> {
    match parts {
        ["params"] => {
            let params = mint::params(state).map_err(LcdError::internal)?;
            Ok(json!({"params": json(&params)?}))
        }
        ["inflation"] => {
            let inflation = mint::inflation(state).map_err(LcdError::internal)?;
            Ok(json!({"inflation": json(&inflation)?}))
        }
        ["annual_provisions"] => {
            let provisions = mint::annual_provisions(state).map_err(LcdError::internal)?;
            Ok(json!({"annual_provisions": json(&provisions)?}))
        }
        _ => Err(LcdError::unknown_route(path)),
    }
}
