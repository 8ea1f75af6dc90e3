//! `cosmos.bank.v1beta1.Query`: `Balance`, `AllBalances`, `TotalSupply`, `SupplyOf` and
//! `Params`.

use super::{account, answer, coin, decode, page, Handled};
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
