//! `Any` values in the SDK's JSON: `{"@type": url, …fields}`. Rendering knows every message
//! the application routes, their responses and the public keys; an `Any` of another type is
//! written `{"@type": url, "value": base64}` as the SDK's gateway writes what it cannot
//! resolve. Parsing knows the messages and keys a signer may put in a transaction and refuses
//! anything else by name: bytes that were never seen cannot be signed.

use cosmos_sdk_proto::cosmos::bank::v1beta1 as bank;
use cosmos_sdk_proto::cosmos::base::v1beta1::Coin;
use cosmos_sdk_proto::cosmos::crypto::{ed25519, multisig::LegacyAminoPubKey, secp256k1};
use cosmos_sdk_proto::cosmos::distribution::v1beta1 as distr;
use cosmos_sdk_proto::cosmos::slashing::v1beta1 as slashing;
use cosmos_sdk_proto::cosmos::staking::v1beta1 as staking;
use cosmos_sdk_proto::Any;
use prost::Message;
use serde_json::{json, Map, Value};

use super::{
    array, b64, bytes_b64, dec_atomics_to_json, dec_json_to_atomics, field, i64_field, shape,
    string, timestamp_json, Result, TxJsonError,
};

fn coin(c: &Coin) -> Value {
    json!({"denom": c.denom, "amount": c.amount})
}

pub(super) fn coins(cs: &[Coin]) -> Value {
    Value::Array(cs.iter().map(coin).collect())
}

fn opt_coin(c: &Option<Coin>) -> Value {
    c.as_ref().map(coin).unwrap_or(Value::Null)
}

/// A `LegacyDec` in its wire form as a decimal; kept as it came if it is not one (a renderer
/// shows what is there rather than failing a whole transaction).
fn dec(atomics: &str) -> Value {
    json!(dec_atomics_to_json(atomics).unwrap_or_else(|_| atomics.into()))
}

/// A nullable custom-type field: `null` when unset (empty on the wire).
fn nullable(s: &str, f: impl Fn(&str) -> Value) -> Value {
    if s.is_empty() {
        Value::Null
    } else {
        f(s)
    }
}

fn opt_time(t: &Option<crate::Timestamp>) -> Value {
    t.as_ref()
        .map(|t| timestamp_json(t.seconds, t.nanos))
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
        ED25519 => Some(json!({"key": b64(&ed25519::PubKey::decode(v).ok()?.key)})),
        SECP256K1 => Some(json!({"key": b64(&secp256k1::PubKey::decode(v).ok()?.key)})),
        MULTISIG => {
            let k = LegacyAminoPubKey::decode(v).ok()?;
            Some(json!({
                "threshold": k.threshold,
                "public_keys": k.public_keys.iter().map(any_to_json).collect::<Vec<_>>(),
            }))
        }
        SEND => {
            let m = bank::MsgSend::decode(v).ok()?;
            Some(json!({
                "from_address": m.from_address, "to_address": m.to_address,
                "amount": coins(&m.amount),
            }))
        }
        MULTI_SEND => {
            let m = bank::MsgMultiSend::decode(v).ok()?;
            Some(json!({
                "inputs": m.inputs.iter().map(|i| json!({"address": i.address, "coins": coins(&i.coins)})).collect::<Vec<_>>(),
                "outputs": m.outputs.iter().map(|o| json!({"address": o.address, "coins": coins(&o.coins)})).collect::<Vec<_>>(),
            }))
        }
        CREATE_VALIDATOR => {
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
                "pubkey": m.pubkey.as_ref().map(any_to_json).unwrap_or(Value::Null),
                "value": opt_coin(&m.value),
            }))
        }
        EDIT_VALIDATOR => {
            let m = staking::MsgEditValidator::decode(v).ok()?;
            Some(json!({
                "description": description(&m.description),
                "validator_address": m.validator_address,
                "commission_rate": nullable(&m.commission_rate, dec),
                "min_self_delegation": nullable(&m.min_self_delegation, |s| json!(s)),
            }))
        }
        DELEGATE => {
            let m = staking::MsgDelegate::decode(v).ok()?;
            Some(json!({
                "delegator_address": m.delegator_address,
                "validator_address": m.validator_address, "amount": opt_coin(&m.amount),
            }))
        }
        UNDELEGATE => {
            let m = staking::MsgUndelegate::decode(v).ok()?;
            Some(json!({
                "delegator_address": m.delegator_address,
                "validator_address": m.validator_address, "amount": opt_coin(&m.amount),
            }))
        }
        REDELEGATE => {
            let m = staking::MsgBeginRedelegate::decode(v).ok()?;
            Some(json!({
                "delegator_address": m.delegator_address,
                "validator_src_address": m.validator_src_address,
                "validator_dst_address": m.validator_dst_address,
                "amount": opt_coin(&m.amount),
            }))
        }
        CANCEL_UNBONDING => {
            let m = staking::MsgCancelUnbondingDelegation::decode(v).ok()?;
            Some(json!({
                "delegator_address": m.delegator_address,
                "validator_address": m.validator_address, "amount": opt_coin(&m.amount),
                "creation_height": m.creation_height.to_string(),
            }))
        }
        UNJAIL => {
            let m = slashing::MsgUnjail::decode(v).ok()?;
            Some(json!({"validator_addr": m.validator_addr}))
        }
        WITHDRAW_REWARD => {
            let m = distr::MsgWithdrawDelegatorReward::decode(v).ok()?;
            Some(json!({
                "delegator_address": m.delegator_address,
                "validator_address": m.validator_address,
            }))
        }
        WITHDRAW_COMMISSION => {
            let m = distr::MsgWithdrawValidatorCommission::decode(v).ok()?;
            Some(json!({"validator_address": m.validator_address}))
        }
        SET_WITHDRAW_ADDRESS => {
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

/// An `Any` as `{"@type": url, …fields}`; one this module does not know keeps its bytes as
/// `"value"`.
pub fn any_to_json(any: &Any) -> Value {
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

const ED25519: &str = "/cosmos.crypto.ed25519.PubKey";
const SECP256K1: &str = "/cosmos.crypto.secp256k1.PubKey";
const MULTISIG: &str = "/cosmos.crypto.multisig.LegacyAminoPubKey";
const SEND: &str = "/cosmos.bank.v1beta1.MsgSend";
const MULTI_SEND: &str = "/cosmos.bank.v1beta1.MsgMultiSend";
const CREATE_VALIDATOR: &str = "/cosmos.staking.v1beta1.MsgCreateValidator";
const EDIT_VALIDATOR: &str = "/cosmos.staking.v1beta1.MsgEditValidator";
const DELEGATE: &str = "/cosmos.staking.v1beta1.MsgDelegate";
const UNDELEGATE: &str = "/cosmos.staking.v1beta1.MsgUndelegate";
const REDELEGATE: &str = "/cosmos.staking.v1beta1.MsgBeginRedelegate";
const CANCEL_UNBONDING: &str = "/cosmos.staking.v1beta1.MsgCancelUnbondingDelegation";
const UNJAIL: &str = "/cosmos.slashing.v1beta1.MsgUnjail";
const WITHDRAW_REWARD: &str = "/cosmos.distribution.v1beta1.MsgWithdrawDelegatorReward";
const WITHDRAW_COMMISSION: &str = "/cosmos.distribution.v1beta1.MsgWithdrawValidatorCommission";
const SET_WITHDRAW_ADDRESS: &str = "/cosmos.distribution.v1beta1.MsgSetWithdrawAddress";

fn coin_from(v: &Value) -> Result<Coin> {
    if !v.is_object() {
        return Err(shape(format!("a coin must be an object, got {v}")));
    }
    Ok(Coin {
        denom: string(v, "denom")?,
        amount: string(v, "amount")?,
    })
}

pub(super) fn coins_from(v: &Value, key: &str) -> Result<Vec<Coin>> {
    array(v, key)?.iter().map(coin_from).collect()
}

fn opt_coin_from(v: &Value, key: &str) -> Result<Option<Coin>> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(c) => coin_from(c).map(Some),
    }
}

/// A nullable `LegacyDec` field back to its wire form (`""` when null).
fn opt_dec_from(v: &Value, key: &str) -> Result<String> {
    let s = string(v, key)?;
    if s.is_empty() {
        Ok(s)
    } else {
        dec_json_to_atomics(&s)
    }
}

fn description_from(v: &Value) -> Result<Option<staking::Description>> {
    let d = match v.get("description") {
        None | Some(Value::Null) => return Ok(None),
        Some(d) => d,
    };
    Ok(Some(staking::Description {
        moniker: string(d, "moniker")?,
        identity: string(d, "identity")?,
        website: string(d, "website")?,
        security_contact: string(d, "security_contact")?,
        details: string(d, "details")?,
    }))
}

/// An `Any` from its JSON, for the messages and public keys a transaction may carry.
pub fn any_from_json(v: &Value) -> Result<Any> {
    let url = string(v, "@type")?;
    let value = match url.as_str() {
        ED25519 => ed25519::PubKey {
            key: bytes_b64(&string(v, "key")?)?,
        }
        .encode_to_vec(),
        SECP256K1 => secp256k1::PubKey {
            key: bytes_b64(&string(v, "key")?)?,
        }
        .encode_to_vec(),
        MULTISIG => LegacyAminoPubKey {
            threshold: u32::try_from(super::u64_field(v, "threshold")?)
                .map_err(|_| shape("threshold is too large"))?,
            public_keys: array(v, "public_keys")?
                .iter()
                .map(any_from_json)
                .collect::<Result<_>>()?,
        }
        .encode_to_vec(),
        SEND => bank::MsgSend {
            from_address: string(v, "from_address")?,
            to_address: string(v, "to_address")?,
            amount: coins_from(v, "amount")?,
        }
        .encode_to_vec(),
        MULTI_SEND => bank::MsgMultiSend {
            inputs: array(v, "inputs")?
                .iter()
                .map(|i| {
                    Ok(bank::Input {
                        address: string(i, "address")?,
                        coins: coins_from(i, "coins")?,
                    })
                })
                .collect::<Result<_>>()?,
            outputs: array(v, "outputs")?
                .iter()
                .map(|o| {
                    Ok(bank::Output {
                        address: string(o, "address")?,
                        coins: coins_from(o, "coins")?,
                    })
                })
                .collect::<Result<_>>()?,
        }
        .encode_to_vec(),
        CREATE_VALIDATOR => {
            let c = field(v, "commission")?;
            #[allow(deprecated)] // the SDK still carries the deprecated delegator_address field
            let m = staking::MsgCreateValidator {
                description: description_from(v)?,
                commission: Some(staking::CommissionRates {
                    rate: dec_json_to_atomics(&string(c, "rate")?)?,
                    max_rate: dec_json_to_atomics(&string(c, "max_rate")?)?,
                    max_change_rate: dec_json_to_atomics(&string(c, "max_change_rate")?)?,
                }),
                min_self_delegation: string(v, "min_self_delegation")?,
                delegator_address: string(v, "delegator_address")?,
                validator_address: string(v, "validator_address")?,
                pubkey: match v.get("pubkey") {
                    None | Some(Value::Null) => None,
                    Some(k) => Some(any_from_json(k)?),
                },
                value: opt_coin_from(v, "value")?,
            };
            m.encode_to_vec()
        }
        EDIT_VALIDATOR => staking::MsgEditValidator {
            description: description_from(v)?,
            validator_address: string(v, "validator_address")?,
            commission_rate: opt_dec_from(v, "commission_rate")?,
            min_self_delegation: string(v, "min_self_delegation")?,
        }
        .encode_to_vec(),
        DELEGATE => staking::MsgDelegate {
            delegator_address: string(v, "delegator_address")?,
            validator_address: string(v, "validator_address")?,
            amount: opt_coin_from(v, "amount")?,
        }
        .encode_to_vec(),
        UNDELEGATE => staking::MsgUndelegate {
            delegator_address: string(v, "delegator_address")?,
            validator_address: string(v, "validator_address")?,
            amount: opt_coin_from(v, "amount")?,
        }
        .encode_to_vec(),
        REDELEGATE => staking::MsgBeginRedelegate {
            delegator_address: string(v, "delegator_address")?,
            validator_src_address: string(v, "validator_src_address")?,
            validator_dst_address: string(v, "validator_dst_address")?,
            amount: opt_coin_from(v, "amount")?,
        }
        .encode_to_vec(),
        CANCEL_UNBONDING => staking::MsgCancelUnbondingDelegation {
            delegator_address: string(v, "delegator_address")?,
            validator_address: string(v, "validator_address")?,
            amount: opt_coin_from(v, "amount")?,
            creation_height: i64_field(v, "creation_height")?,
        }
        .encode_to_vec(),
        UNJAIL => slashing::MsgUnjail {
            validator_addr: string(v, "validator_addr")?,
        }
        .encode_to_vec(),
        WITHDRAW_REWARD => distr::MsgWithdrawDelegatorReward {
            delegator_address: string(v, "delegator_address")?,
            validator_address: string(v, "validator_address")?,
        }
        .encode_to_vec(),
        WITHDRAW_COMMISSION => distr::MsgWithdrawValidatorCommission {
            validator_address: string(v, "validator_address")?,
        }
        .encode_to_vec(),
        SET_WITHDRAW_ADDRESS => distr::MsgSetWithdrawAddress {
            delegator_address: string(v, "delegator_address")?,
            withdraw_address: string(v, "withdraw_address")?,
        }
        .encode_to_vec(),
        other => return Err(TxJsonError::Unsupported(other.into())),
    };
    Ok(Any {
        type_url: url,
        value,
    })
}
