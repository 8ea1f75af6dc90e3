//! Cosmos SDK transactions in the SDK's JSON form — gogoproto jsonpb with `OrigName` and
//! `EmitDefaults`: proto field names, 64-bit integers as strings, bytes in base64, enums by
//! name, `Any` as `{"@type": url, …fields}`, `LegacyDec` fields as `"0.100000000000000000"`.
//! This is the one transaction-JSON codec: gentx files and `app_state.genutil.gen_txs`, the
//! REST gateway's `Tx` and `TxResponse`, and the CLI's `--generate-only`, `tx sign`,
//! `tx broadcast`, `tx encode` and `tx decode` all go through it.
//!
//! Signatures cover the protobuf bytes of the body and the auth info, so the JSON must come
//! back to exactly those bytes: both directions go through the `cosmos-sdk-proto` structs, whose
//! prost encoding is the canonical one a signer uses. Which `Any` types are known, and how each
//! is written, is in [`anys`].

mod anys;

pub use anys::{any_from_json, any_to_json};

use cosmos_sdk_proto::cosmos::crypto::multisig::v1beta1::CompactBitArray;
use cosmos_sdk_proto::cosmos::tx::signing::v1beta1::SignMode;
use cosmos_sdk_proto::cosmos::tx::v1beta1::{
    mode_info, AuthInfo, Fee, ModeInfo, SignerInfo, Tip, TxBody, TxRaw,
};
use prost::Message;
use serde_json::{json, Value};

use base64::Engine as _;
const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// Why a transaction could not be mapped.
#[derive(Debug, thiserror::Error)]
pub enum TxJsonError {
    /// The bytes are not a transaction.
    #[error("transaction bytes: {0}")]
    Decode(#[from] prost::DecodeError),
    /// The JSON does not have the shape of a transaction.
    #[error("transaction JSON: {0}")]
    Shape(String),
    /// A message or key type this mapping does not know.
    #[error("transaction JSON: message type {0} is not supported here")]
    Unsupported(String),
}

type Result<T> = std::result::Result<T, TxJsonError>;

fn shape(what: impl Into<String>) -> TxJsonError {
    TxJsonError::Shape(what.into())
}

fn b64(b: &[u8]) -> String {
    B64.encode(b)
}

/// `LegacyDec` on the wire (the integer value × 10^18) as the SDK writes it in JSON.
pub fn dec_atomics_to_json(atomics: &str) -> Result<String> {
    if atomics.is_empty() || !atomics.bytes().all(|b| b.is_ascii_digit()) {
        return Err(shape(format!("{atomics:?} is not a decimal's atomics")));
    }
    let padded = format!("{atomics:0>19}");
    let (int, frac) = padded.split_at(padded.len() - 18);
    let int = int.trim_start_matches('0');
    Ok(format!("{}.{frac}", if int.is_empty() { "0" } else { int }))
}

/// The inverse of [`dec_atomics_to_json`]: `"0.1"` or `"0.100000000000000000"` → `"100000000000000000"`.
pub fn dec_json_to_atomics(text: &str) -> Result<String> {
    let bad = || shape(format!("{text:?} is not a non-negative decimal"));
    let (int, frac) = text.split_once('.').unwrap_or((text, ""));
    if int.is_empty()
        || frac.len() > 18
        || !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit())
    {
        return Err(bad());
    }
    let digits = format!("{int}{frac:0<18}");
    let trimmed = digits.trim_start_matches('0');
    Ok(if trimmed.is_empty() { "0" } else { trimmed }.to_string())
}

/// A protobuf `Timestamp` as its JSON form: RFC 3339 in UTC with 0, 3, 6 or 9 fractional
/// digits, as Go's jsonpb writes it; `null` when out of range.
pub fn timestamp_json(seconds: i64, nanos: i32) -> Value {
    let (Ok(t), Ok(nanos)) = (
        time::OffsetDateTime::from_unix_timestamp(seconds),
        u32::try_from(nanos),
    ) else {
        return Value::Null;
    };
    if nanos >= 1_000_000_000 || !(1..=9999).contains(&t.year()) {
        return Value::Null;
    }
    let frac = if nanos == 0 {
        String::new()
    } else if nanos % 1_000_000 == 0 {
        format!(".{:03}", nanos / 1_000_000)
    } else if nanos % 1_000 == 0 {
        format!(".{:06}", nanos / 1_000)
    } else {
        format!(".{nanos:09}")
    };
    json!(format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}{frac}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    ))
}

fn bytes_json(b: &[u8]) -> Value {
    // Go's nil slice: empty bytes are `null`.
    if b.is_empty() {
        Value::Null
    } else {
        json!(b64(b))
    }
}

fn mode_info_json(m: &ModeInfo) -> Value {
    match &m.sum {
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
            "mode_infos": m.mode_infos.iter().map(mode_info_json).collect::<Vec<_>>(),
        }}),
        None => Value::Null,
    }
}

/// A decoded body and auth info with their signatures as the SDK writes a
/// `cosmos.tx.v1beta1.Tx`.
pub fn tx_parts_to_json(body: &TxBody, auth: &AuthInfo, signatures: &[Vec<u8>]) -> Value {
    let fee = auth.fee.clone().unwrap_or_default();
    #[allow(deprecated)] // `tip` is deprecated but still in the v0.50 AuthInfo
    let tip = auth
        .tip
        .as_ref()
        .map(|t| json!({"amount": anys::coins(&t.amount), "tipper": t.tipper}));
    json!({
        "body": {
            "messages": body.messages.iter().map(any_to_json).collect::<Vec<_>>(),
            "memo": body.memo,
            "timeout_height": body.timeout_height.to_string(),
            "extension_options": body.extension_options.iter().map(any_to_json).collect::<Vec<_>>(),
            "non_critical_extension_options":
                body.non_critical_extension_options.iter().map(any_to_json).collect::<Vec<_>>(),
        },
        "auth_info": {
            "signer_infos": auth.signer_infos.iter().map(|s| json!({
                "public_key": s.public_key.as_ref().map(any_to_json).unwrap_or(Value::Null),
                "mode_info": s.mode_info.as_ref().map(mode_info_json).unwrap_or(Value::Null),
                "sequence": s.sequence.to_string(),
            })).collect::<Vec<_>>(),
            "fee": {
                "amount": anys::coins(&fee.amount),
                "gas_limit": fee.gas_limit.to_string(),
                "payer": fee.payer,
                "granter": fee.granter,
            },
            "tip": tip.unwrap_or(Value::Null),
        },
        "signatures": signatures.iter().map(|s| b64(s)).collect::<Vec<_>>(),
    })
}

/// A transaction (`TxRaw` bytes) as the SDK writes it in JSON.
pub fn tx_to_json(tx_raw: &[u8]) -> Result<Value> {
    let raw = TxRaw::decode(tx_raw)?;
    let body = TxBody::decode(raw.body_bytes.as_slice())?;
    let auth = AuthInfo::decode(raw.auth_info_bytes.as_slice())?;
    Ok(tx_parts_to_json(&body, &auth, &raw.signatures))
}

fn field<'a>(v: &'a Value, key: &str) -> Result<&'a Value> {
    v.get(key).ok_or_else(|| shape(format!("missing {key:?}")))
}

fn string(v: &Value, key: &str) -> Result<String> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(String::new()),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(other) => Err(shape(format!("{key:?} must be a string, got {other}"))),
    }
}

/// A 64-bit integer field: a string (the SDK's JSON), a JSON number, or absent (0).
fn number<T: std::str::FromStr + Default>(
    v: &Value,
    key: &str,
    from_json: impl Fn(&serde_json::Number) -> Option<T>,
) -> Result<T> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(T::default()),
        Some(Value::String(s)) => s
            .parse()
            .map_err(|_| shape(format!("{key:?}: {s:?} is not a number"))),
        Some(Value::Number(n)) => {
            from_json(n).ok_or_else(|| shape(format!("{key:?}: {n} is not a number")))
        }
        Some(other) => Err(shape(format!("{key:?} must be a number, got {other}"))),
    }
}

fn u64_field(v: &Value, key: &str) -> Result<u64> {
    number(v, key, serde_json::Number::as_u64)
}

fn i64_field(v: &Value, key: &str) -> Result<i64> {
    number(v, key, serde_json::Number::as_i64)
}

fn array<'a>(v: &'a Value, key: &str) -> Result<&'a [Value]> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(&[]),
        Some(Value::Array(a)) => Ok(a),
        Some(other) => Err(shape(format!("{key:?} must be a list, got {other}"))),
    }
}

fn bytes_b64(s: &str) -> Result<Vec<u8>> {
    B64.decode(s)
        .map_err(|e| shape(format!("{s:?} is not base64: {e}")))
}

fn mode_info_from(v: &Value) -> Result<ModeInfo> {
    let sum = if let Some(single) = v.get("single") {
        let name = field(single, "mode")?
            .as_str()
            .ok_or_else(|| shape("mode must be a string"))?;
        let mode = SignMode::from_str_name(name)
            .ok_or_else(|| shape(format!("unknown sign mode {name}")))?;
        mode_info::Sum::Single(mode_info::Single { mode: mode as i32 })
    } else if let Some(multi) = v.get("multi") {
        let bitarray = match multi.get("bitarray") {
            None | Some(Value::Null) => None,
            Some(b) => Some(CompactBitArray {
                extra_bits_stored: u32::try_from(u64_field(b, "extra_bits_stored")?)
                    .map_err(|_| shape("extra_bits_stored is too large"))?,
                elems: bytes_b64(&string(b, "elems")?)?,
            }),
        };
        mode_info::Sum::Multi(mode_info::Multi {
            bitarray,
            mode_infos: array(multi, "mode_infos")?
                .iter()
                .map(mode_info_from)
                .collect::<Result<_>>()?,
        })
    } else {
        return Err(shape("mode_info must be single or multi"));
    };
    Ok(ModeInfo { sum: Some(sum) })
}

/// The body and auth info of a transaction in the SDK's JSON form, and its signatures.
pub fn tx_parts_from_json(v: &Value) -> Result<(TxBody, AuthInfo, Vec<Vec<u8>>)> {
    let body = field(v, "body")?;
    if !array(body, "extension_options")?.is_empty()
        || !array(body, "non_critical_extension_options")?.is_empty()
    {
        return Err(shape("extension options are not supported"));
    }
    let body = TxBody {
        messages: array(body, "messages")?
            .iter()
            .map(any_from_json)
            .collect::<Result<_>>()?,
        memo: string(body, "memo")?,
        timeout_height: u64_field(body, "timeout_height")?,
        extension_options: Vec::new(),
        non_critical_extension_options: Vec::new(),
    };
    let auth = field(v, "auth_info")?;
    let signer_infos = array(auth, "signer_infos")?
        .iter()
        .map(|s| {
            Ok(SignerInfo {
                public_key: match s.get("public_key") {
                    None | Some(Value::Null) => None,
                    Some(k) => Some(any_from_json(k)?),
                },
                mode_info: Some(mode_info_from(field(s, "mode_info")?)?),
                sequence: u64_field(s, "sequence")?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let fee = field(auth, "fee")?;
    let tip = match auth.get("tip") {
        None | Some(Value::Null) => None,
        Some(t) => Some(Tip {
            amount: anys::coins_from(t, "amount")?,
            tipper: string(t, "tipper")?,
        }),
    };
    #[allow(deprecated)] // `tip` is deprecated but still in the v0.50 AuthInfo
    let auth = AuthInfo {
        signer_infos,
        fee: Some(Fee {
            amount: anys::coins_from(fee, "amount")?,
            gas_limit: u64_field(fee, "gas_limit")?,
            payer: string(fee, "payer")?,
            granter: string(fee, "granter")?,
        }),
        tip,
    };
    let signatures = array(v, "signatures")?
        .iter()
        .map(|s| {
            s.as_str()
                .ok_or_else(|| shape("a signature must be a base64 string"))
                .and_then(bytes_b64)
        })
        .collect::<Result<_>>()?;
    Ok((body, auth, signatures))
}

/// A transaction in the SDK's JSON form back to its `TxRaw` bytes — the very bytes that were
/// signed, so its signatures still verify.
pub fn tx_from_json(v: &Value) -> Result<Vec<u8>> {
    let (body, auth, signatures) = tx_parts_from_json(v)?;
    Ok(TxRaw {
        body_bytes: body.encode_to_vec(),
        auth_info_bytes: auth.encode_to_vec(),
        signatures,
    }
    .encode_to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;
    use cosmos_sdk_proto::cosmos::bank::v1beta1 as bank;
    use cosmos_sdk_proto::cosmos::base::v1beta1::Coin;
    use cosmos_sdk_proto::cosmos::staking::v1beta1::{
        self as staking, CommissionRates, Description, MsgCreateValidator,
    };
    use cosmos_sdk_proto::Any;

    const ED25519: &str = "/cosmos.crypto.ed25519.PubKey";
    const SECP256K1: &str = "/cosmos.crypto.secp256k1.PubKey";
    const CREATE_VALIDATOR: &str = "/cosmos.staking.v1beta1.MsgCreateValidator";

    #[test]
    fn decimals_between_wire_and_json() {
        assert_eq!(
            dec_atomics_to_json("100000000000000000").expect("ok"),
            "0.100000000000000000"
        );
        assert_eq!(
            dec_atomics_to_json("0").expect("ok"),
            "0.000000000000000000"
        );
        assert_eq!(
            dec_atomics_to_json("1000000000000000000").expect("ok"),
            "1.000000000000000000"
        );
        assert_eq!(
            dec_json_to_atomics("0.1").expect("ok"),
            "100000000000000000"
        );
        assert_eq!(
            dec_json_to_atomics("0.010000000000000000").expect("ok"),
            "10000000000000000"
        );
        assert_eq!(dec_json_to_atomics("0").expect("ok"), "0");
        for bad in ["", "-1", "1.0000000000000000001", "0.x", ".5"] {
            assert!(dec_json_to_atomics(bad).is_err(), "{bad:?}");
        }
        assert!(dec_atomics_to_json("1.5").is_err());
    }

    #[test]
    fn a_gentx_survives_json_byte_for_byte() {
        #[allow(deprecated)]
        let msg = MsgCreateValidator {
            description: Some(Description {
                moniker: "node0".into(),
                ..Default::default()
            }),
            commission: Some(CommissionRates {
                rate: "100000000000000000".into(),
                max_rate: "200000000000000000".into(),
                max_change_rate: "10000000000000000".into(),
            }),
            min_self_delegation: "1".into(),
            delegator_address: String::new(),
            validator_address: "cosmosvaloper1xyz".into(),
            pubkey: Some(Any {
                type_url: ED25519.into(),
                value: cosmos_sdk_proto::cosmos::crypto::ed25519::PubKey { key: vec![7; 32] }
                    .encode_to_vec(),
            }),
            value: Some(Coin {
                denom: "stake".into(),
                amount: "100000000".into(),
            }),
        };
        let body = TxBody {
            messages: vec![Any {
                type_url: CREATE_VALIDATOR.into(),
                value: msg.encode_to_vec(),
            }],
            memo: "abc@127.0.0.1:26656".into(),
            ..Default::default()
        };
        #[allow(deprecated)]
        let auth = AuthInfo {
            signer_infos: vec![SignerInfo {
                public_key: Some(Any {
                    type_url: SECP256K1.into(),
                    value: cosmos_sdk_proto::cosmos::crypto::secp256k1::PubKey { key: vec![2; 33] }
                        .encode_to_vec(),
                }),
                mode_info: Some(ModeInfo {
                    sum: Some(mode_info::Sum::Single(mode_info::Single {
                        mode: SignMode::Direct as i32,
                    })),
                }),
                sequence: 0,
            }],
            fee: Some(Fee {
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
        let v = tx_to_json(&raw).expect("to json");
        assert_eq!(
            v["body"]["messages"][0]["commission"]["rate"],
            "0.100000000000000000"
        );
        assert_eq!(v["body"]["messages"][0]["pubkey"]["@type"], ED25519);
        assert_eq!(
            v["auth_info"]["signer_infos"][0]["mode_info"]["single"]["mode"],
            "SIGN_MODE_DIRECT"
        );
        let text = serde_json::to_string(&v).expect("text");
        let back: Value = serde_json::from_str(&text).expect("parse");
        assert_eq!(
            tx_from_json(&back).expect("from json"),
            raw,
            "the signed bytes"
        );
    }

    #[test]
    fn unknown_shapes_are_refused() {
        let v = json!({"body": {"messages": [{"@type": "/x.Y"}]}, "auth_info": {"fee": {}}});
        assert!(matches!(tx_from_json(&v), Err(TxJsonError::Unsupported(t)) if t == "/x.Y"));
        assert!(tx_from_json(&json!({})).is_err());
        assert!(tx_to_json(b"\xff\xff").is_err());
    }

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
        let v = tx_to_json(&raw).expect("renders");
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
        assert!(tx_to_json(b"\xff\xff").is_err());
    }

    #[test]
    fn unknown_anys_keep_their_bytes_and_decimals_read_as_decimals() {
        let v = any_to_json(&Any {
            type_url: "/x.y.Z".into(),
            value: vec![1, 2, 3],
        });
        assert_eq!(v, json!({"@type": "/x.y.Z", "value": "AQID"}));
        let edit = staking::MsgEditValidator {
            validator_address: "cosmosvaloper1x".into(),
            commission_rate: "50000000000000000".into(),
            ..Default::default()
        };
        let v = any_to_json(&Any {
            type_url: "/cosmos.staking.v1beta1.MsgEditValidator".into(),
            value: edit.encode_to_vec(),
        });
        assert_eq!(v["commission_rate"], "0.050000000000000000");
        assert_eq!(v["min_self_delegation"], Value::Null);
    }

    #[test]
    fn timestamps_have_0_3_6_or_9_fraction_digits() {
        assert_eq!(timestamp_json(0, 0), "1970-01-01T00:00:00Z");
        assert_eq!(timestamp_json(0, 500_000_000), "1970-01-01T00:00:00.500Z");
        assert_eq!(timestamp_json(0, 1_000), "1970-01-01T00:00:00.000001Z");
        assert_eq!(timestamp_json(0, 1), "1970-01-01T00:00:00.000000001Z");
    }

    /// Every message a signer may put in a transaction, with every field set, comes back from
    /// its JSON to the same bytes.
    #[test]
    fn every_routed_message_survives_json_byte_for_byte() {
        use cosmos_sdk_proto::cosmos::distribution::v1beta1 as distr;
        use cosmos_sdk_proto::cosmos::slashing::v1beta1 as slashing;
        let coin = || Coin {
            denom: "stake".into(),
            amount: "42".into(),
        };
        let any = |url: &str, value: Vec<u8>| Any {
            type_url: url.into(),
            value,
        };
        let description = || Description {
            moniker: "m".into(),
            identity: "i".into(),
            website: "w".into(),
            security_contact: "s".into(),
            details: "d".into(),
        };
        #[allow(deprecated)]
        let msgs = vec![
            any(
                "/cosmos.bank.v1beta1.MsgMultiSend",
                bank::MsgMultiSend {
                    inputs: vec![bank::Input {
                        address: "a".into(),
                        coins: vec![coin()],
                    }],
                    outputs: vec![
                        bank::Output {
                            address: "b".into(),
                            coins: vec![coin()],
                        },
                        bank::Output {
                            address: "c".into(),
                            coins: vec![coin(), coin()],
                        },
                    ],
                }
                .encode_to_vec(),
            ),
            any(
                "/cosmos.staking.v1beta1.MsgEditValidator",
                staking::MsgEditValidator {
                    description: Some(description()),
                    validator_address: "v".into(),
                    commission_rate: "50000000000000000".into(),
                    min_self_delegation: "7".into(),
                }
                .encode_to_vec(),
            ),
            any(
                "/cosmos.staking.v1beta1.MsgEditValidator",
                staking::MsgEditValidator {
                    description: Some(description()),
                    validator_address: "v".into(),
                    ..Default::default()
                }
                .encode_to_vec(),
            ),
            any(
                "/cosmos.staking.v1beta1.MsgUndelegate",
                staking::MsgUndelegate {
                    delegator_address: "d".into(),
                    validator_address: "v".into(),
                    amount: Some(coin()),
                }
                .encode_to_vec(),
            ),
            any(
                "/cosmos.staking.v1beta1.MsgBeginRedelegate",
                staking::MsgBeginRedelegate {
                    delegator_address: "d".into(),
                    validator_src_address: "s".into(),
                    validator_dst_address: "t".into(),
                    amount: Some(coin()),
                }
                .encode_to_vec(),
            ),
            any(
                "/cosmos.staking.v1beta1.MsgCancelUnbondingDelegation",
                staking::MsgCancelUnbondingDelegation {
                    delegator_address: "d".into(),
                    validator_address: "v".into(),
                    amount: Some(coin()),
                    creation_height: 12,
                }
                .encode_to_vec(),
            ),
            any(
                "/cosmos.slashing.v1beta1.MsgUnjail",
                slashing::MsgUnjail {
                    validator_addr: "v".into(),
                }
                .encode_to_vec(),
            ),
            any(
                "/cosmos.distribution.v1beta1.MsgWithdrawDelegatorReward",
                distr::MsgWithdrawDelegatorReward {
                    delegator_address: "d".into(),
                    validator_address: "v".into(),
                }
                .encode_to_vec(),
            ),
            any(
                "/cosmos.distribution.v1beta1.MsgWithdrawValidatorCommission",
                distr::MsgWithdrawValidatorCommission {
                    validator_address: "v".into(),
                }
                .encode_to_vec(),
            ),
            any(
                "/cosmos.distribution.v1beta1.MsgSetWithdrawAddress",
                distr::MsgSetWithdrawAddress {
                    delegator_address: "d".into(),
                    withdraw_address: "w".into(),
                }
                .encode_to_vec(),
            ),
            any(
                "/cosmos.staking.v1beta1.MsgDelegate",
                staking::MsgDelegate {
                    delegator_address: "d".into(),
                    validator_address: "v".into(),
                    amount: Some(coin()),
                }
                .encode_to_vec(),
            ),
            any(
                "/cosmos.bank.v1beta1.MsgSend",
                bank::MsgSend {
                    from_address: "a".into(),
                    to_address: "b".into(),
                    amount: vec![coin()],
                }
                .encode_to_vec(),
            ),
        ];
        for m in &msgs {
            let back = any_from_json(&any_to_json(m)).expect(&m.type_url);
            assert_eq!(&back, m, "{}", m.type_url);
        }
        // A whole unsigned transaction (no signer infos, no signatures) with a tip and a
        // timeout height, as `--generate-only` prints one.
        #[allow(deprecated)]
        let auth = AuthInfo {
            signer_infos: vec![],
            fee: Some(Fee {
                amount: vec![coin()],
                gas_limit: 123_456,
                payer: "p".into(),
                granter: "g".into(),
            }),
            tip: Some(Tip {
                amount: vec![coin()],
                tipper: "t".into(),
            }),
        };
        let body = TxBody {
            messages: msgs,
            memo: "memo".into(),
            timeout_height: 99,
            ..Default::default()
        };
        let v = tx_parts_to_json(&body, &auth, &[]);
        let text = serde_json::to_string_pretty(&v).expect("text");
        let (b, a, sigs) =
            tx_parts_from_json(&serde_json::from_str(&text).expect("parse")).expect("back");
        assert_eq!(b.encode_to_vec(), body.encode_to_vec());
        assert_eq!(a.encode_to_vec(), auth.encode_to_vec());
        assert!(sigs.is_empty());
    }
}
