//! Cosmos SDK transactions in the SDK's JSON form (the protobuf JSON mapping, with `Any` written
//! as `{"@type": url, …fields}` and `LegacyDec` fields as `"0.100000000000000000"`), for the
//! places that carry signed transactions as JSON: gentx files and `app_state.genutil.gen_txs`.
//!
//! Signatures cover the protobuf bytes of the body and the auth info, so the JSON must come
//! back to exactly those bytes: both directions go through the `cosmos-sdk-proto` structs, whose
//! prost encoding is the canonical one the signer used. Only the message types a genesis
//! transaction carries are mapped (`MsgCreateValidator`, `MsgDelegate`, `MsgSend`); others are
//! refused with an error naming the type.

use cosmos_sdk_proto::cosmos::bank::v1beta1::MsgSend;
use cosmos_sdk_proto::cosmos::base::v1beta1::Coin;
use cosmos_sdk_proto::cosmos::staking::v1beta1::{
    CommissionRates, Description, MsgCreateValidator, MsgDelegate,
};
use cosmos_sdk_proto::cosmos::tx::signing::v1beta1::SignMode;
use cosmos_sdk_proto::cosmos::tx::v1beta1::{
    mode_info, AuthInfo, Fee, ModeInfo, SignerInfo, TxBody, TxRaw,
};
use cosmos_sdk_proto::Any;
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
    /// A message type this mapping does not know.
    #[error("transaction JSON: message type {0} is not supported here")]
    Unsupported(String),
}

type Result<T> = std::result::Result<T, TxJsonError>;

const ED25519: &str = "/cosmos.crypto.ed25519.PubKey";
const SECP256K1: &str = "/cosmos.crypto.secp256k1.PubKey";
const CREATE_VALIDATOR: &str = "/cosmos.staking.v1beta1.MsgCreateValidator";
const DELEGATE: &str = "/cosmos.staking.v1beta1.MsgDelegate";
const SEND: &str = "/cosmos.bank.v1beta1.MsgSend";

fn shape(what: impl Into<String>) -> TxJsonError {
    TxJsonError::Shape(what.into())
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

fn coin_json(c: &Coin) -> Value {
    json!({"denom": c.denom, "amount": c.amount})
}

fn pubkey_json(any: &Any) -> Result<Value> {
    let key = match any.type_url.as_str() {
        ED25519 => {
            cosmos_sdk_proto::cosmos::crypto::ed25519::PubKey::decode(any.value.as_slice())?.key
        }
        SECP256K1 => {
            cosmos_sdk_proto::cosmos::crypto::secp256k1::PubKey::decode(any.value.as_slice())?.key
        }
        other => return Err(TxJsonError::Unsupported(other.into())),
    };
    Ok(json!({"@type": any.type_url, "key": B64.encode(key)}))
}

fn msg_json(any: &Any) -> Result<Value> {
    let v = any.value.as_slice();
    Ok(match any.type_url.as_str() {
        CREATE_VALIDATOR => {
            #[allow(deprecated)] // the SDK still writes the deprecated delegator_address field
            let m = MsgCreateValidator::decode(v)?;
            let d = m.description.unwrap_or_default();
            let c = m.commission.unwrap_or_default();
            #[allow(deprecated)]
            let delegator = m.delegator_address;
            json!({
                "@type": CREATE_VALIDATOR,
                "description": {
                    "moniker": d.moniker, "identity": d.identity, "website": d.website,
                    "security_contact": d.security_contact, "details": d.details,
                },
                "commission": {
                    "rate": dec_atomics_to_json(&c.rate)?,
                    "max_rate": dec_atomics_to_json(&c.max_rate)?,
                    "max_change_rate": dec_atomics_to_json(&c.max_change_rate)?,
                },
                "min_self_delegation": m.min_self_delegation,
                "delegator_address": delegator,
                "validator_address": m.validator_address,
                "pubkey": match &m.pubkey { Some(pk) => pubkey_json(pk)?, None => Value::Null },
                "value": m.value.as_ref().map(coin_json),
            })
        }
        DELEGATE => {
            let m = MsgDelegate::decode(v)?;
            json!({
                "@type": DELEGATE,
                "delegator_address": m.delegator_address,
                "validator_address": m.validator_address,
                "amount": m.amount.as_ref().map(coin_json),
            })
        }
        SEND => {
            let m = MsgSend::decode(v)?;
            json!({
                "@type": SEND,
                "from_address": m.from_address,
                "to_address": m.to_address,
                "amount": m.amount.iter().map(coin_json).collect::<Vec<_>>(),
            })
        }
        other => return Err(TxJsonError::Unsupported(other.into())),
    })
}

/// A transaction (`TxRaw` bytes) as the SDK writes it in JSON.
pub fn tx_to_json(tx_raw: &[u8]) -> Result<Value> {
    let raw = TxRaw::decode(tx_raw)?;
    let body = TxBody::decode(raw.body_bytes.as_slice())?;
    let auth = AuthInfo::decode(raw.auth_info_bytes.as_slice())?;
    if !body.extension_options.is_empty() || !body.non_critical_extension_options.is_empty() {
        return Err(shape("extension options are not supported"));
    }
    let signer_infos = auth
        .signer_infos
        .iter()
        .map(|s| {
            let mode = match &s.mode_info {
                Some(ModeInfo {
                    sum: Some(mode_info::Sum::Single(single)),
                }) => SignMode::try_from(single.mode)
                    .map_err(|_| shape(format!("unknown sign mode {}", single.mode)))?
                    .as_str_name(),
                _ => return Err(shape("only single-signer mode info is supported")),
            };
            Ok(json!({
                "public_key": match &s.public_key { Some(pk) => pubkey_json(pk)?, None => Value::Null },
                "mode_info": {"single": {"mode": mode}},
                "sequence": s.sequence.to_string(),
            }))
        })
        .collect::<Result<Vec<_>>>()?;
    let fee = auth.fee.unwrap_or_default();
    Ok(json!({
        "body": {
            "messages": body.messages.iter().map(msg_json).collect::<Result<Vec<_>>>()?,
            "memo": body.memo,
            "timeout_height": body.timeout_height.to_string(),
            "extension_options": [],
            "non_critical_extension_options": [],
        },
        "auth_info": {
            "signer_infos": signer_infos,
            "fee": {
                "amount": fee.amount.iter().map(coin_json).collect::<Vec<_>>(),
                "gas_limit": fee.gas_limit.to_string(),
                "payer": fee.payer,
                "granter": fee.granter,
            },
            "tip": null,
        },
        "signatures": raw.signatures.iter().map(|s| B64.encode(s)).collect::<Vec<_>>(),
    }))
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

fn u64_field(v: &Value, key: &str) -> Result<u64> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(0),
        Some(Value::String(s)) => s
            .parse()
            .map_err(|_| shape(format!("{key:?}: {s:?} is not a number"))),
        Some(Value::Number(n)) => n
            .as_u64()
            .ok_or_else(|| shape(format!("{key:?}: {n} is not a number"))),
        Some(other) => Err(shape(format!("{key:?} must be a number, got {other}"))),
    }
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

fn coin(v: &Value) -> Result<Coin> {
    Ok(Coin {
        denom: string(v, "denom")?,
        amount: string(v, "amount")?,
    })
}

fn pubkey(v: &Value) -> Result<Option<Any>> {
    if v.is_null() {
        return Ok(None);
    }
    let url = string(v, "@type")?;
    let key = bytes_b64(&string(v, "key")?)?;
    let value = match url.as_str() {
        ED25519 => cosmos_sdk_proto::cosmos::crypto::ed25519::PubKey { key }.encode_to_vec(),
        SECP256K1 => cosmos_sdk_proto::cosmos::crypto::secp256k1::PubKey { key }.encode_to_vec(),
        other => return Err(TxJsonError::Unsupported(other.into())),
    };
    Ok(Some(Any {
        type_url: url,
        value,
    }))
}

fn msg(v: &Value) -> Result<Any> {
    let url = string(v, "@type")?;
    let value = match url.as_str() {
        CREATE_VALIDATOR => {
            let d = field(v, "description")?;
            let c = field(v, "commission")?;
            #[allow(deprecated)] // the SDK still carries the deprecated delegator_address field
            let m = MsgCreateValidator {
                description: Some(Description {
                    moniker: string(d, "moniker")?,
                    identity: string(d, "identity")?,
                    website: string(d, "website")?,
                    security_contact: string(d, "security_contact")?,
                    details: string(d, "details")?,
                }),
                commission: Some(CommissionRates {
                    rate: dec_json_to_atomics(&string(c, "rate")?)?,
                    max_rate: dec_json_to_atomics(&string(c, "max_rate")?)?,
                    max_change_rate: dec_json_to_atomics(&string(c, "max_change_rate")?)?,
                }),
                min_self_delegation: string(v, "min_self_delegation")?,
                delegator_address: string(v, "delegator_address")?,
                validator_address: string(v, "validator_address")?,
                pubkey: pubkey(field(v, "pubkey")?)?,
                value: Some(coin(field(v, "value")?)?),
            };
            m.encode_to_vec()
        }
        DELEGATE => MsgDelegate {
            delegator_address: string(v, "delegator_address")?,
            validator_address: string(v, "validator_address")?,
            amount: Some(coin(field(v, "amount")?)?),
        }
        .encode_to_vec(),
        SEND => MsgSend {
            from_address: string(v, "from_address")?,
            to_address: string(v, "to_address")?,
            amount: array(v, "amount")?
                .iter()
                .map(coin)
                .collect::<Result<_>>()?,
        }
        .encode_to_vec(),
        other => return Err(TxJsonError::Unsupported(other.into())),
    };
    Ok(Any {
        type_url: url,
        value,
    })
}

/// A transaction in the SDK's JSON form back to its `TxRaw` bytes — the very bytes that were
/// signed, so its signatures still verify.
pub fn tx_from_json(v: &Value) -> Result<Vec<u8>> {
    let body = field(v, "body")?;
    if !array(body, "extension_options")?.is_empty()
        || !array(body, "non_critical_extension_options")?.is_empty()
    {
        return Err(shape("extension options are not supported"));
    }
    let body = TxBody {
        messages: array(body, "messages")?
            .iter()
            .map(msg)
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
            let mode_name = field(field(field(s, "mode_info")?, "single")?, "mode")?
                .as_str()
                .ok_or_else(|| shape("mode must be a string"))?;
            let mode = SignMode::from_str_name(mode_name)
                .ok_or_else(|| shape(format!("unknown sign mode {mode_name}")))?;
            Ok(SignerInfo {
                public_key: pubkey(s.get("public_key").unwrap_or(&Value::Null))?,
                mode_info: Some(ModeInfo {
                    sum: Some(mode_info::Sum::Single(mode_info::Single {
                        mode: mode as i32,
                    })),
                }),
                sequence: u64_field(s, "sequence")?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let fee = field(auth, "fee")?;
    let auth = AuthInfo {
        signer_infos,
        fee: Some(Fee {
            amount: array(fee, "amount")?
                .iter()
                .map(coin)
                .collect::<Result<_>>()?,
            gas_limit: u64_field(fee, "gas_limit")?,
            payer: string(fee, "payer")?,
            granter: string(fee, "granter")?,
        }),
        #[allow(deprecated)] // tips were removed from the SDK; a gentx never has one
        tip: None,
    };
    let signatures = array(v, "signatures")?
        .iter()
        .map(|s| {
            s.as_str()
                .ok_or_else(|| shape("a signature must be a base64 string"))
                .and_then(bytes_b64)
        })
        .collect::<Result<_>>()?;
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
}
