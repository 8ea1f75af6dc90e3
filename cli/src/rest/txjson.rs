//! Transactions, messages and their responses in the gateway's JSON (gogoproto jsonpb with
//! `OrigName` and `EmitDefaults`): proto field names, 64-bit integers as strings, bytes in
//! base64, enums by name, `Any` as `{"@type": url, …fields}`, `LegacyDec` fields as decimals
//! (`"0.100000000000000000"`), absent custom-type fields `null`.
//!
//! Every message type the application routes is rendered field by field (bank `MsgSend`,
//! `MsgMultiSend`; staking `MsgCreateValidator`, `MsgEditValidator`, `MsgDelegate`,
//! `MsgUndelegate`, `MsgBeginRedelegate`, `MsgCancelUnbondingDelegation`; slashing
//! `MsgUnjail`; distribution `MsgWithdrawDelegatorReward`, `MsgWithdrawValidatorCommission`,
//! `MsgSetWithdrawAddress`), with their responses, and the ed25519, secp256k1 and legacy
//! amino multisig public keys. An `Any` of any other type (which the SDK's gateway could not
//! resolve either) is written `{"@type": url, "value": base64 of its bytes}`.

use cosmos_sdk_proto::cosmos::bank::v1beta1 as bank;
use cosmos_sdk_proto::cosmos::base::v1beta1::Coin;
use cosmos_sdk_proto::cosmos::distribution::v1beta1 as distr;
use cosmos_sdk_proto::cosmos::slashing::v1beta1 as slashing;
use cosmos_sdk_proto::cosmos::staking::v1beta1 as staking;
use cosmos_sdk_proto::cosmos::tx::signing::v1beta1::SignMode;
use cosmos_sdk_proto::cosmos::tx::v1beta1::{mode_info, AuthInfo, ModeInfo, TxBody, TxRaw};
use cosmos_sdk_proto::Any;
use keystone_proto::prost::Message;
use serde_json::{json, Map, Value};

use super::{b64, bytes_json};

/// A coin.
pub(super) fn coin(c: &Coin) -> Value {
    json!({"denom": c.denom, "amount": c.amount})
}

fn coins(cs: &[Coin]) -> Value {
    Value::Array(cs.iter().map(coin).collect())
}

fn opt_coin(c: &Option<Coin>) -> Value {
    c.as_ref().map(coin).unwrap_or(Value::Null)
}

/// A `LegacyDec` in its wire form (the integer × 10^18) as a decimal; kept as it came if it
/// is not one.
fn dec(atomics: &str) -> Value {
    json!(keystone_proto::tx_json::dec_atomics_to_json(atomics).unwrap_or_else(|_| atomics.into()))
}

/// A nullable custom-type field: `null` when unset (empty on the wire).
fn nullable(s: &str, f: impl Fn(&str) -> Value) -> Value {
    if s.is_empty() {
        Value::Null
    } else {
        f(s)
    }
}

/// A protobuf `Timestamp` as its JSON form: RFC 3339 in UTC with 0, 3, 6 or 9 fractional
/// digits.
pub(super) fn time(seconds: i64, nanos: i32) -> Value {
    let nanos = u32::try_from(nanos).unwrap_or(0);
    match keystone_modules::Timestamp::new(seconds, nanos).and_then(|t| t.to_rfc3339_seconds()) {
        Ok(s) => {
            let base = s.trim_end_matches('Z');
            let frac = if nanos == 0 {
                String::new()
            } else if nanos % 1_000_000 == 0 {
                format!(".{:03}", nanos / 1_000_000)
            } else if nanos % 1_000 == 0 {
                format!(".{:06}", nanos / 1_000)
            } else {
                format!(".{nanos:09}")
            };
            json!(format!("{base}{frac}Z"))
        }
        Err(_) => Value::Null,
    }
}

fn opt_time(t: &Option<keystone_proto::Timestamp>) -> Value {
    t.as_ref()
        .map(|t| time(t.seconds, t.nanos))
        .unwrap_or(Value::Null)
}

fn description(d: &Option<staking::Description>) -> Value {
    let d = d.clone().unwrap_or_default();
    json!({
        "moniker": d.moniker, "identity": d.identity, "website": d.website,
        "security_contact": d.security_contact, "details": d.details,
    })
}

/// The fields of a known `Any` (without `@type`), or `None` for a type not known here or
/// bytes that do not decode as it.
fn fields(any: &Any) -> Option<Value> {
    let v = any.value.as_slice();
    macro_rules! empty {
        ($t:ty) => {
            <$t>::decode(v).ok().map(|_| json!({}))
        };
    }
    match any.type_url.as_str() {
        "/cosmos.crypto.ed25519.PubKey" => {
            let k = cosmos_sdk_proto::cosmos::crypto::ed25519::PubKey::decode(v).ok()?;
            Some(json!({"key": b64(&k.key)}))
        }
        "/cosmos.crypto.secp256k1.PubKey" => {
            let k = cosmos_sdk_proto::cosmos::crypto::secp256k1::PubKey::decode(v).ok()?;
            Some(json!({"key": b64(&k.key)}))
        }
        "/cosmos.crypto.multisig.LegacyAminoPubKey" => {
            let k =
                cosmos_sdk_proto::cosmos::crypto::multisig::LegacyAminoPubKey::decode(v).ok()?;
            Some(json!({
                "threshold": k.threshold,
                "public_keys": k.public_keys.iter().map(any_json).collect::<Vec<_>>(),
            }))
        }
        "/cosmos.bank.v1beta1.MsgSend" => {
            let m = bank::MsgSend::decode(v).ok()?;
            Some(json!({
                "from_address": m.from_address, "to_address": m.to_address,
                "amount": coins(&m.amount),
            }))
        }
        "/cosmos.bank.v1beta1.MsgMultiSend" => {
            let m = bank::MsgMultiSend::decode(v).ok()?;
            Some(json!({
                "inputs": m.inputs.iter().map(|i| json!({"address": i.address, "coins": coins(&i.coins)})).collect::<Vec<_>>(),
                "outputs": m.outputs.iter().map(|o| json!({"address": o.address, "coins": coins(&o.coins)})).collect::<Vec<_>>(),
            }))
        }
        "/cosmos.staking.v1beta1.MsgCreateValidator" => {
            #[allow(deprecated)] // the SDK still writes the deprecated delegator_address
            let m = staking::MsgCreateValidator::decode(v).ok()?;
            let c = m.commission.clone().unwrap_or_default();
            #[allow(deprecated)]
            let delegator = m.delegator_address.clone();
            Some(json!({
                "description": description(&m.description),
                "commission": {
                    "rate": dec(&c.rate), "max_rate": dec(&c.max_rate),
                    "max_change_rate": dec(&c.max_change_rate),
                },
                "min_self_delegation": m.min_self_delegation,
                "delegator_address": delegator,
                "validator_address": m.validator_address,
                "pubkey": m.pubkey.as_ref().map(any_json).unwrap_or(Value::Null),
                "value": opt_coin(&m.value),
            }))
        }
        "/cosmos.staking.v1beta1.MsgEditValidator" => {
            let m = staking::MsgEditValidator::decode(v).ok()?;
            Some(json!({
                "description": description(&m.description),
                "validator_address": m.validator_address,
                "commission_rate": nullable(&m.commission_rate, dec),
                "min_self_delegation": nullable(&m.min_self_delegation, |s| json!(s)),
            }))
        }
        "/cosmos.staking.v1beta1.MsgDelegate" => {
            let m = staking::MsgDelegate::decode(v).ok()?;
            Some(json!({
                "delegator_address": m.delegator_address,
                "validator_address": m.validator_address, "amount": opt_coin(&m.amount),
            }))
        }
        "/cosmos.staking.v1beta1.MsgUndelegate" => {
            let m = staking::MsgUndelegate::decode(v).ok()?;
            Some(json!({
                "delegator_address": m.delegator_address,
                "validator_address": m.validator_address, "amount": opt_coin(&m.amount),
            }))
        }
        "/cosmos.staking.v1beta1.MsgBeginRedelegate" => {
            let m = staking::MsgBeginRedelegate::decode(v).ok()?;
            Some(json!({
                "delegator_address": m.delegator_address,
                "validator_src_address": m.validator_src_address,
                "validator_dst_address": m.validator_dst_address,
                "amount": opt_coin(&m.amount),
            }))
        }
        "/cosmos.staking.v1beta1.MsgCancelUnbondingDelegation" => {
            let m = staking::MsgCancelUnbondingDelegation::decode(v).ok()?;
            Some(json!({
                "delegator_address": m.delegator_address,
                "validator_address": m.validator_address, "amount": opt_coin(&m.amount),
                "creation_height": m.creation_height.to_string(),
            }))
        }
        "/cosmos.slashing.v1beta1.MsgUnjail" => {
            let m = slashing::MsgUnjail::decode(v).ok()?;
            Some(json!({"validator_addr": m.validator_addr}))
        }
        "/cosmos.distribution.v1beta1.MsgWithdrawDelegatorReward" => {
            let m = distr::MsgWithdrawDelegatorReward::decode(v).ok()?;
            Some(json!({
                "delegator_address": m.delegator_address,
                "validator_address": m.validator_address,
            }))
        }
        "/cosmos.distribution.v1beta1.MsgWithdrawValidatorCommission" => {
            let m = distr::MsgWithdrawValidatorCommission::decode(v).ok()?;
            Some(json!({"validator_address": m.validator_address}))
        }
        "/cosmos.distribution.v1beta1.MsgSetWithdrawAddress" => {
            let m = distr::MsgSetWithdrawAddress::decode(v).ok()?;
            Some(json!({
                "delegator_address": m.delegator_address,
                "withdraw_address": m.withdraw_address,
            }))
        }
        // Responses (a simulation's `msg_responses`).
        "/cosmos.bank.v1beta1.MsgSendResponse" => empty!(bank::MsgSendResponse),
        "/cosmos.bank.v1beta1.MsgMultiSendResponse" => empty!(bank::MsgMultiSendResponse),
        "/cosmos.staking.v1beta1.MsgCreateValidatorResponse" => {
            empty!(staking::MsgCreateValidatorResponse)
        }
        "/cosmos.staking.v1beta1.MsgEditValidatorResponse" => {
            empty!(staking::MsgEditValidatorResponse)
        }
        "/cosmos.staking.v1beta1.MsgDelegateResponse" => empty!(staking::MsgDelegateResponse),
        "/cosmos.staking.v1beta1.MsgCancelUnbondingDelegationResponse" => {
            empty!(staking::MsgCancelUnbondingDelegationResponse)
        }
        "/cosmos.staking.v1beta1.MsgUndelegateResponse" => {
            let m = staking::MsgUndelegateResponse::decode(v).ok()?;
            Some(
                json!({"completion_time": opt_time(&m.completion_time), "amount": opt_coin(&m.amount)}),
            )
        }
        "/cosmos.staking.v1beta1.MsgBeginRedelegateResponse" => {
            let m = staking::MsgBeginRedelegateResponse::decode(v).ok()?;
            Some(json!({"completion_time": opt_time(&m.completion_time)}))
        }
        "/cosmos.slashing.v1beta1.MsgUnjailResponse" => empty!(slashing::MsgUnjailResponse),
        "/cosmos.distribution.v1beta1.MsgWithdrawDelegatorRewardResponse" => {
            let m = distr::MsgWithdrawDelegatorRewardResponse::decode(v).ok()?;
            Some(json!({"amount": coins(&m.amount)}))
        }
        "/cosmos.distribution.v1beta1.MsgWithdrawValidatorCommissionResponse" => {
            let m = distr::MsgWithdrawValidatorCommissionResponse::decode(v).ok()?;
            Some(json!({"amount": coins(&m.amount)}))
        }
        "/cosmos.distribution.v1beta1.MsgSetWithdrawAddressResponse" => {
            empty!(distr::MsgSetWithdrawAddressResponse)
        }
        _ => None,
    }
}

/// An `Any` as `{"@type": url, …fields}`.
pub(super) fn any_json(any: &Any) -> Value {
    let mut out = Map::new();
    out.insert("@type".into(), json!(any.type_url));
    match fields(any) {
        Some(Value::Object(f)) => out.extend(f),
        _ => {
            out.insert("value".into(), json!(b64(&any.value)));
        }
    }
    Value::Object(out)
}

fn mode_info_json(m: &Option<ModeInfo>) -> Value {
    match m.as_ref().and_then(|m| m.sum.as_ref()) {
        Some(mode_info::Sum::Single(s)) => {
            let mode = SignMode::try_from(s.mode)
                .map(|m| json!(m.as_str_name()))
                .unwrap_or_else(|_| json!(s.mode));
            json!({"single": {"mode": mode}})
        }
        Some(mode_info::Sum::Multi(m)) => json!({"multi": {
            "bitarray": m.bitarray.as_ref().map(|b| json!({
                "extra_bits_stored": b.extra_bits_stored, "elems": bytes_json(&b.elems),
            })).unwrap_or(Value::Null),
            "mode_infos": m.mode_infos.iter().map(|i| mode_info_json(&Some(i.clone()))).collect::<Vec<_>>(),
        }}),
        None => Value::Null,
    }
}

/// A transaction (`TxRaw` bytes) as the gateway writes a `cosmos.tx.v1beta1.Tx`.
pub(super) fn tx(raw: &[u8]) -> Result<Value, String> {
    let raw = TxRaw::decode(raw).map_err(|e| format!("tx bytes: {e}"))?;
    let body = TxBody::decode(raw.body_bytes.as_slice()).map_err(|e| format!("tx body: {e}"))?;
    let auth =
        AuthInfo::decode(raw.auth_info_bytes.as_slice()).map_err(|e| format!("auth info: {e}"))?;
    let fee = auth.fee.clone().unwrap_or_default();
    #[allow(deprecated)] // `tip` is deprecated but still in the v0.50 AuthInfo
    let tip = auth
        .tip
        .as_ref()
        .map(|t| json!({"amount": coins(&t.amount), "tipper": t.tipper}));
    Ok(json!({
        "body": {
            "messages": body.messages.iter().map(any_json).collect::<Vec<_>>(),
            "memo": body.memo,
            "timeout_height": body.timeout_height.to_string(),
            "extension_options": body.extension_options.iter().map(any_json).collect::<Vec<_>>(),
            "non_critical_extension_options":
                body.non_critical_extension_options.iter().map(any_json).collect::<Vec<_>>(),
        },
        "auth_info": {
            "signer_infos": auth.signer_infos.iter().map(|s| json!({
                "public_key": s.public_key.as_ref().map(any_json).unwrap_or(Value::Null),
                "mode_info": mode_info_json(&s.mode_info),
                "sequence": s.sequence.to_string(),
            })).collect::<Vec<_>>(),
            "fee": {
                "amount": coins(&fee.amount),
                "gas_limit": fee.gas_limit.to_string(),
                "payer": fee.payer,
                "granter": fee.granter,
            },
            "tip": tip.unwrap_or(Value::Null),
        },
        "signatures": raw.signatures.iter().map(|s| b64(s)).collect::<Vec<_>>(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use cosmos_sdk_proto::cosmos::tx::v1beta1::{Fee, SignerInfo};

    #[test]
    fn a_send_renders_as_the_gateway_writes_it() {
        let send = bank::MsgSend {
            from_address: "cosmos1from".into(),
            to_address: "cosmos1to".into(),
            amount: vec![Coin {
                denom: "stake".into(),
                amount: "100".into(),
            }],
        };
        let body = TxBody {
            messages: vec![Any {
                type_url: "/cosmos.bank.v1beta1.MsgSend".into(),
                value: send.encode_to_vec(),
            }],
            memo: "hi".into(),
            ..Default::default()
        };
        #[allow(deprecated)]
        let auth = AuthInfo {
            signer_infos: vec![SignerInfo {
                public_key: Some(Any {
                    type_url: "/cosmos.crypto.secp256k1.PubKey".into(),
                    value: cosmos_sdk_proto::cosmos::crypto::secp256k1::PubKey { key: vec![2; 33] }
                        .encode_to_vec(),
                }),
                mode_info: Some(ModeInfo {
                    sum: Some(mode_info::Sum::Single(mode_info::Single {
                        mode: SignMode::Direct as i32,
                    })),
                }),
                sequence: 7,
            }],
            fee: Some(Fee {
                amount: vec![Coin {
                    denom: "stake".into(),
                    amount: "500".into(),
                }],
                gas_limit: 200_000,
                ..Default::default()
            }),
            tip: None,
        };
        let raw = TxRaw {
            body_bytes: body.encode_to_vec(),
            auth_info_bytes: auth.encode_to_vec(),
            signatures: vec![vec![9; 64]],
        }
        .encode_to_vec();
        let v = tx(&raw).expect("renders");
        assert_eq!(
            v["body"]["messages"][0],
            json!({"@type": "/cosmos.bank.v1beta1.MsgSend", "from_address": "cosmos1from",
                "to_address": "cosmos1to", "amount": [{"denom": "stake", "amount": "100"}]})
        );
        assert_eq!(v["body"]["timeout_height"], "0");
        assert_eq!(v["auth_info"]["signer_infos"][0]["sequence"], "7");
        assert_eq!(
            v["auth_info"]["signer_infos"][0]["mode_info"]["single"]["mode"],
            "SIGN_MODE_DIRECT"
        );
        assert_eq!(v["auth_info"]["fee"]["gas_limit"], "200000");
        assert_eq!(v["auth_info"]["tip"], Value::Null);
        assert_eq!(v["signatures"][0], b64(&[9; 64]));
        assert!(tx(b"\xff\xff").is_err());
    }

    #[test]
    fn unknown_anys_keep_their_bytes_and_decimals_read_as_decimals() {
        let v = any_json(&Any {
            type_url: "/x.y.Z".into(),
            value: vec![1, 2, 3],
        });
        assert_eq!(v, json!({"@type": "/x.y.Z", "value": "AQID"}));
        let edit = staking::MsgEditValidator {
            validator_address: "cosmosvaloper1x".into(),
            commission_rate: "50000000000000000".into(),
            ..Default::default()
        };
        let v = any_json(&Any {
            type_url: "/cosmos.staking.v1beta1.MsgEditValidator".into(),
            value: edit.encode_to_vec(),
        });
        assert_eq!(v["commission_rate"], "0.050000000000000000");
        assert_eq!(v["min_self_delegation"], Value::Null);
    }

    #[test]
    fn timestamps_have_0_3_6_or_9_fraction_digits() {
        assert_eq!(time(0, 0), "1970-01-01T00:00:00Z");
        assert_eq!(time(0, 500_000_000), "1970-01-01T00:00:00.500Z");
        assert_eq!(time(0, 1_000), "1970-01-01T00:00:00.000001Z");
        assert_eq!(time(0, 1), "1970-01-01T00:00:00.000000001Z");
    }
}
