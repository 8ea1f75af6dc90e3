//! `cosmos.slashing.v1beta1.Query`: `Params`, `SigningInfo` and `SigningInfos`, read as the LCD
//! routes read them (`keystone_modules::slashing`).
//!
//! The params' LegacyDec fields are `bytes` in this service's protobuf: they carry the
//! LegacyDec's `Marshal()`, the ASCII digits of `value × 10^18` (see the parent module).

use super::{answer, decode, page, timestamp, valcons, Failure, Handled};
use cosmos_sdk_proto::cosmos::slashing::v1beta1 as pb;
use keystone_modules::{slashing, State};

fn info(i: &slashing::ValidatorSigningInfo) -> pb::ValidatorSigningInfo {
    pb::ValidatorSigningInfo {
        address: i.address.to_valcons(),
        start_height: i.start_height,
        index_offset: i.index_offset,
        jailed_until: timestamp(&i.jailed_until),
        tombstoned: i.tombstoned,
        missed_blocks_counter: i.missed_blocks_counter,
    }
}

/// Answer `method` of the slashing query service.
pub(super) fn query(state: &impl State, method: &str, data: &[u8]) -> Handled {
    match method {
        "Params" => {
            decode::<pb::QueryParamsRequest>(data)?;
            let p = slashing::params(state)?;
            let dec = |d: &keystone_modules::Dec| d.to_atomics_string().into_bytes();
            answer(&pb::QueryParamsResponse {
                params: Some(pb::Params {
                    signed_blocks_window: p.signed_blocks_window,
                    min_signed_per_window: dec(&p.min_signed_per_window),
                    downtime_jail_duration: super::duration(p.downtime_jail_duration),
                    slash_fraction_double_sign: dec(&p.slash_fraction_double_sign),
                    slash_fraction_downtime: dec(&p.slash_fraction_downtime),
                }),
            })
        }
        "SigningInfo" => {
            let q: pb::QuerySigningInfoRequest = decode(data)?;
            // The SDK's checks: an empty address is an `InvalidArgument` "invalid request"; one
            // that does not parse is its codec's error, which baseapp also reports as code 18
            // (worded here as the other services word a bad address).
            if q.cons_address.is_empty() {
                return Err(Failure::invalid_argument("invalid request"));
            }
            let cons = valcons(&q.cons_address)?;
            let found = slashing::signing_info(state, &cons)?.ok_or_else(|| {
                // SDK v0.50 x/slashing/keeper/grpc_query.go: `status.Errorf(codes.NotFound,
                // "SigningInfo not found for validator %s", req.ConsAddress)`.
                Failure::not_found(format!(
                    "SigningInfo not found for validator {}",
                    q.cons_address
                ))
            })?;
            answer(&pb::QuerySigningInfoResponse {
                val_signing_info: Some(info(&found)),
            })
        }
        "SigningInfos" => {
            decode::<pb::QuerySigningInfosRequest>(data)?;
            // By consensus address bytes, as the SDK's store iterates them.
            let list: Vec<pb::ValidatorSigningInfo> =
                slashing::signing_infos(state)?.iter().map(info).collect();
            answer(&pb::QuerySigningInfosResponse {
                pagination: page(list.len()),
                info: list,
            })
        }
        _ => Ok(None),
    }
}
