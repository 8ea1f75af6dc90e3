//! `x/bank`'s routes under `/cosmos/bank/v1beta1/` answered here: `supply` (every denom's
//! total, in denom order), `supply/by_denom?denom=`, `params`, `spendable_balances/{address}`,
//! `denoms_metadata` and `denoms_metadata/{denom}` (the last three rendered from the gRPC
//! answers). The balance routes are the REST server's own (they prove their answers).

use super::{ask, coins_json, page, page_json, LcdError, Result};
use cosmos_sdk_proto::cosmos::bank::v1beta1 as pb;
use keystone_modules::{bank, State};
use serde_json::{json, Value};

/// Answer the bank route `parts` (the segments after the prefix) of `path` with URL query
/// `query` from `state`.
pub(super) fn get(state: &impl State, parts: &[&str], path: &str, query: &str) -> Result<Value> {
    match parts {
        ["supply"] => {
            let supply: Vec<Value> = bank::total_supply(state)
                .map_err(LcdError::internal)?
                .iter()
                .map(|c| json!({"denom": c.denom, "amount": c.amount.to_string()}))
                .collect();
            let n = supply.len();
            Ok(json!({"supply": supply, "pagination": page(n)}))
        }
        ["supply", "by_denom"] => {
            let denom = query
                .split('&')
                .find_map(|kv| kv.strip_prefix("denom="))
                .map(percent_decoded)
                .unwrap_or_default();
            let denom = denom.as_str();
            if denom.is_empty() {
                return Err(LcdError::invalid("invalid denom"));
            }
            let amount = bank::supply_of(state, denom).map_err(LcdError::internal)?;
            Ok(json!({"amount": {"denom": denom, "amount": amount.to_string()}}))
        }
        ["params"] => {
            let p = bank::params(state).map_err(LcdError::internal)?;
            // As the gRPC answer: v0.47 moved per-denom entries out of the params.
            Ok(
                json!({"params": {"send_enabled": [], "default_send_enabled": p.default_send_enabled}}),
            )
        }
        ["spendable_balances", address] => {
            let r: pb::QuerySpendableBalancesResponse = ask(
                state,
                "/cosmos.bank.v1beta1.Query/SpendableBalances",
                &pb::QuerySpendableBalancesRequest {
                    address: address.to_string(),
                    pagination: None,
                },
            )?;
            Ok(json!({"balances": coins_json(&r.balances), "pagination": page_json(&r.pagination)}))
        }
        ["denoms_metadata"] => {
            let r: pb::QueryDenomsMetadataResponse = ask(
                state,
                "/cosmos.bank.v1beta1.Query/DenomsMetadata",
                &pb::QueryDenomsMetadataRequest { pagination: None },
            )?;
            let all: Vec<Value> = r.metadatas.iter().map(metadata_json).collect();
            Ok(json!({"metadatas": all, "pagination": page_json(&r.pagination)}))
        }
        ["denoms_metadata", denom] => {
            let r: pb::QueryDenomMetadataResponse = ask(
                state,
                "/cosmos.bank.v1beta1.Query/DenomMetadata",
                &pb::QueryDenomMetadataRequest {
                    denom: percent_decoded(denom),
                },
            )?;
            Ok(json!({"metadata": r.metadata.as_ref().map(metadata_json)}))
        }
        _ => Err(LcdError::unknown_route(path)),
    }
}

fn metadata_json(m: &pb::Metadata) -> Value {
    json!({
        "description": m.description,
        "denom_units": m.denom_units.iter().map(|u| json!({
            "denom": u.denom, "exponent": u.exponent, "aliases": u.aliases,
        })).collect::<Vec<_>>(),
        "base": m.base,
        "display": m.display,
        "name": m.name,
        "symbol": m.symbol,
        "uri": m.uri,
        "uri_hash": m.uri_hash,
    })
}

/// A URL query value with its `%XX` escapes decoded (an IBC denom's `/` comes as `%2F`); an
/// escape that is not one is kept as it is.
fn percent_decoded(v: &str) -> String {
    let b = v.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = b
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (b[i], hex) {
            (b'%', Some(x)) => {
                out.push(x);
                i += 3;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}
