//! `cosmos.bank.v1beta1.Query`: `Balance`, `AllBalances`, `SpendableBalances`, `TotalSupply`,
//! `SupplyOf`, `Params`, `DenomsMetadata` and `DenomMetadata`.

use super::{account, answer, coin, decode, page, Failure, Handled};
use cosmos_sdk_proto::cosmos::bank::v1beta1 as pb;
use cosmos_sdk_proto::cosmos::base::v1beta1::Coin as ProtoCoin;
use keystone_modules::{bank, Coins, State};

fn coins(c: &Coins) -> Vec<ProtoCoin> {
    c.iter().map(|c| coin(&c.denom, c.amount)).collect()
}

/// Answer `method` of the bank query service.
pub(super) fn query(state: &impl State, method: &str, data: &[u8]) -> Handled {
    match method {
        "Balance" => {
            let q: pb::QueryBalanceRequest = decode(data)?;
            let a = account(&q.address)?;
            let amount = bank::balance(state, &a, &q.denom)?;
            answer(&pb::QueryBalanceResponse {
                balance: Some(coin(&q.denom, amount)),
            })
        }
        "AllBalances" => {
            let q: pb::QueryAllBalancesRequest = decode(data)?;
            let balances = coins(&bank::all_balances(state, &account(&q.address)?)?);
            answer(&pb::QueryAllBalancesResponse {
                pagination: page(balances.len()),
                balances,
            })
        }
        // Nothing is locked (no vesting accounts): every balance is spendable.
        "SpendableBalances" => {
            let q: pb::QuerySpendableBalancesRequest = decode(data)?;
            let balances = coins(&bank::all_balances(state, &account(&q.address)?)?);
            answer(&pb::QuerySpendableBalancesResponse {
                pagination: page(balances.len()),
                balances,
            })
        }
        "DenomsMetadata" => {
            decode::<pb::QueryDenomsMetadataRequest>(data)?;
            let metadatas: Vec<pb::Metadata> = bank::all_denom_metadata(state)?
                .iter()
                .map(metadata)
                .collect();
            answer(&pb::QueryDenomsMetadataResponse {
                pagination: page(metadatas.len()),
                metadatas,
            })
        }
        "DenomMetadata" => {
            let q: pb::QueryDenomMetadataRequest = decode(data)?;
            if q.denom.is_empty() {
                return Err(Failure::invalid_argument("invalid denom"));
            }
            let m = bank::denom_metadata(state, &q.denom)?.ok_or_else(|| {
                Failure::not_found(format!("client metadata for denom {}", q.denom))
            })?;
            answer(&pb::QueryDenomMetadataResponse {
                metadata: Some(metadata(&m)),
            })
        }
        "TotalSupply" => {
            decode::<pb::QueryTotalSupplyRequest>(data)?;
            let supply = coins(&bank::total_supply(state)?);
            answer(&pb::QueryTotalSupplyResponse {
                pagination: page(supply.len()),
                supply,
            })
        }
        "SupplyOf" => {
            let q: pb::QuerySupplyOfRequest = decode(data)?;
            let amount = bank::supply_of(state, &q.denom)?;
            answer(&pb::QuerySupplyOfResponse {
                amount: Some(coin(&q.denom, amount)),
            })
        }
        "Params" => {
            decode::<pb::QueryParamsRequest>(data)?;
            let p = bank::params(state)?;
            // The SDK (since v0.47) keeps per-denom entries out of the params and answers
            // them through `SendEnabled`: its `Params` carries the default only.
            let params = pb::Params {
                default_send_enabled: p.default_send_enabled,
                ..Default::default()
            };
            answer(&pb::QueryParamsResponse {
                params: Some(params),
            })
        }
        _ => Ok(None),
    }
}

fn metadata(m: &bank::Metadata) -> pb::Metadata {
    pb::Metadata {
        description: m.description.clone(),
        denom_units: m
            .denom_units
            .iter()
            .map(|u| pb::DenomUnit {
                denom: u.denom.clone(),
                exponent: u.exponent,
                aliases: u.aliases.clone(),
            })
            .collect(),
        base: m.base.clone(),
        display: m.display.clone(),
        name: m.name.clone(),
        symbol: m.symbol.clone(),
        uri: m.uri.clone(),
        uri_hash: m.uri_hash.clone(),
    }
}
