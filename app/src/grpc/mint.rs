//! `cosmos.mint.v1beta1.Query`: `Params`, `Inflation` and `AnnualProvisions`, read as the LCD
//! routes read them (`keystone_modules::mint`).
//!
//! `QueryInflationResponse.inflation` and `QueryAnnualProvisionsResponse.annual_provisions` are
//! `bytes` fields (gogoproto custom type `LegacyDec`): they hold what `LegacyDec.Marshal()`
//! writes, the big integer `value × 10^18` as ASCII digits (`"130000000000000000"` for 0.13),
//! which cosmjs reads back with `Decimal.fromAtomics(fromUtf8(bytes), 18)`. The params'
//! decimals are `string` fields holding the same digits.

use super::{answer, decode, Handled};
use cosmos_sdk_proto::cosmos::mint::v1beta1 as pb;
use keystone_modules::{mint, State};

/// Answer `method` of the mint query service.
pub(super) fn query(state: &impl State, method: &str, data: &[u8]) -> Handled {
    match method {
        "Params" => {
            decode::<pb::QueryParamsRequest>(data)?;
            let p = mint::params(state)?;
            answer(&pb::QueryParamsResponse {
                params: Some(pb::Params {
                    mint_denom: p.mint_denom,
                    inflation_rate_change: p.inflation_rate_change.to_atomics_string(),
                    inflation_max: p.inflation_max.to_atomics_string(),
                    inflation_min: p.inflation_min.to_atomics_string(),
                    goal_bonded: p.goal_bonded.to_atomics_string(),
                    blocks_per_year: p.blocks_per_year,
                }),
            })
        }
        "Inflation" => {
            decode::<pb::QueryInflationRequest>(data)?;
            answer(&pb::QueryInflationResponse {
                inflation: mint::inflation(state)?.to_atomics_string().into_bytes(),
            })
        }
        "AnnualProvisions" => {
            decode::<pb::QueryAnnualProvisionsRequest>(data)?;
            answer(&pb::QueryAnnualProvisionsResponse {
                annual_provisions: mint::annual_provisions(state)?
                    .to_atomics_string()
                    .into_bytes(),
            })
        }
        _ => Ok(None),
    }
}
