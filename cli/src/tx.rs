//! Building and signing transactions from the command line: Cosmos SDK v0.50 `TxRaw` with one
//! SIGN_MODE_DIRECT secp256k1 signature, the account number and sequence read from the node.

use crate::client::Client;
use anyhow::{bail, Context, Result};
use cosmos_sdk_proto::cosmos::bank::v1beta1::MsgSend;
use cosmos_sdk_proto::cosmos::base::v1beta1::Coin as ProtoCoin;
use cosmos_sdk_proto::cosmos::crypto::secp256k1::PubKey;
use cosmos_sdk_proto::cosmos::tx::signing::v1beta1::SignMode;
use cosmos_sdk_proto::cosmos::tx::v1beta1::{
    mode_info, AuthInfo, Fee, ModeInfo, SignDoc, SignerInfo, TxBody, TxRaw,
};
use cosmos_sdk_proto::Any;
use keystone_modules::{Address, Coins};
use keystone_proto::prost::Message;

/// The account number and sequence of `address`, from the node's state.
pub fn account_numbers(client: &Client, address: &Address) -> Result<(u64, u64)> {
    use base64::Engine as _;
    let key = format!("auth/accounts/{address}");
    let resp = client.query("/store/key", key.as_bytes(), 0, false)?;
    let value =
        base64::engine::general_purpose::STANDARD.decode(resp["value"].as_str().unwrap_or(""))?;
    if value.is_empty() {
        bail!("account {address} not found: it must receive funds before it can send");
    }
    let acc: keystone_modules::auth::Account =
        serde_json::from_slice(&value).context("account record")?;
    Ok((acc.account_number, acc.sequence))
}

fn proto_coins(c: &Coins) -> Vec<ProtoCoin> {
    c.iter()
        .map(|c| ProtoCoin {
            denom: c.denom,
            amount: c.amount.to_string(),
        })
        .collect()
}

/// Sign a single-message transaction.
#[allow(clippy::too_many_arguments)]
pub fn sign(
    secret: &[u8; 32],
    msg: Any,
    memo: &str,
    fees: &Coins,
    gas: u64,
    chain_id: &str,
    account_number: u64,
    sequence: u64,
) -> Result<Vec<u8>> {
    sign_msgs(
        secret,
        vec![msg],
        memo,
        fees,
        gas,
        chain_id,
        account_number,
        sequence,
    )
}

/// Sign a transaction of `msgs`, in order (one signer: every message must be its to sign).
#[allow(clippy::too_many_arguments)]
pub fn sign_msgs(
    secret: &[u8; 32],
    msgs: Vec<Any>,
    memo: &str,
    fees: &Coins,
    gas: u64,
    chain_id: &str,
    account_number: u64,
    sequence: u64,
) -> Result<Vec<u8>> {
    let (body, auth) = unsigned(msgs, memo, fees, gas)?;
    sign_parts(secret, body, auth, chain_id, account_number, sequence)
}

/// The body and auth info of a transaction nobody has signed yet: no signer infos, as
/// `--generate-only` prints it.
pub fn unsigned(msgs: Vec<Any>, memo: &str, fees: &Coins, gas: u64) -> Result<(TxBody, AuthInfo)> {
    if msgs.is_empty() {
        bail!("a transaction needs at least one message");
    }
    let body = TxBody {
        messages: msgs,
        memo: memo.into(),
        ..Default::default()
    };
    let auth = AuthInfo {
        fee: Some(Fee {
            amount: proto_coins(fees),
            gas_limit: gas,
            payer: String::new(),
            granter: String::new(),
        }),
        ..Default::default()
    };
    Ok((body, auth))
}

/// The compressed secp256k1 public key of `secret`.
pub fn public_key(secret: &[u8; 32]) -> Result<Vec<u8>> {
    let sk = k256::ecdsa::SigningKey::from_slice(secret).context("invalid secp256k1 key")?;
    Ok(sk
        .verifying_key()
        .to_encoded_point(true)
        .as_bytes()
        .to_vec())
}

/// `auth` with one signer: `public` at `sequence`, SIGN_MODE_DIRECT.
fn with_signer(mut auth: AuthInfo, public: Option<Vec<u8>>, sequence: u64) -> AuthInfo {
    auth.signer_infos = vec![SignerInfo {
        public_key: public.map(|key| Any {
            type_url: "/cosmos.crypto.secp256k1.PubKey".into(),
            value: PubKey { key }.encode_to_vec(),
        }),
        mode_info: Some(ModeInfo {
            sum: Some(mode_info::Sum::Single(mode_info::Single {
                mode: SignMode::Direct as i32,
            })),
        }),
        sequence,
    }];
    auth
}

/// Sign `body` and `auth` (whose signer infos are replaced by the one of `secret`'s key) with
/// SIGN_MODE_DIRECT, as account `account_number` at `sequence` on `chain_id`: the `TxRaw` bytes.
pub fn sign_parts(
    secret: &[u8; 32],
    body: TxBody,
    auth: AuthInfo,
    chain_id: &str,
    account_number: u64,
    sequence: u64,
) -> Result<Vec<u8>> {
    use k256::ecdsa::signature::Signer;
    if body.messages.is_empty() {
        bail!("a transaction needs at least one message");
    }
    if chain_id.is_empty() {
        bail!("a chain id is needed to sign (--chain-id)");
    }
    let sk = k256::ecdsa::SigningKey::from_slice(secret).context("invalid secp256k1 key")?;
    let auth = with_signer(auth, Some(public_key(secret)?), sequence);
    let body_bytes = body.encode_to_vec();
    let auth_info_bytes = auth.encode_to_vec();
    let doc = SignDoc {
        body_bytes: body_bytes.clone(),
        auth_info_bytes: auth_info_bytes.clone(),
        chain_id: chain_id.into(),
        account_number,
    };
    let sig: k256::ecdsa::Signature = sk.sign(&doc.encode_to_vec());
    let sig = sig.normalize_s().unwrap_or(sig);
    Ok(TxRaw {
        body_bytes,
        auth_info_bytes,
        signatures: vec![sig.to_bytes().to_vec()],
    }
    .encode_to_vec())
}

/// The gas `body` and `auth` use when the signer (with key `public`, if the account has none
/// yet) sends it at `sequence`: the node's `Simulate`, which checks no signature.
pub fn simulate(
    client: &Client,
    body: &TxBody,
    auth: &AuthInfo,
    public: Option<Vec<u8>>,
    sequence: u64,
) -> Result<u64> {
    use base64::Engine as _;
    use cosmos_sdk_proto::cosmos::tx::v1beta1::{SimulateRequest, SimulateResponse};
    let auth = with_signer(auth.clone(), public, sequence);
    let tx_bytes = TxRaw {
        body_bytes: body.encode_to_vec(),
        auth_info_bytes: auth.encode_to_vec(),
        signatures: vec![Vec::new()],
    }
    .encode_to_vec();
    #[allow(deprecated)] // `tx` is the deprecated field; `tx_bytes` is the one to fill
    let req = SimulateRequest { tx: None, tx_bytes };
    let resp = client.query(
        "/cosmos.tx.v1beta1.Service/Simulate",
        &req.encode_to_vec(),
        0,
        false,
    )?;
    if resp["code"].as_u64().unwrap_or(0) != 0 {
        bail!(
            "the simulation failed: {}",
            resp["log"].as_str().unwrap_or("")
        );
    }
    let value =
        base64::engine::general_purpose::STANDARD.decode(resp["value"].as_str().unwrap_or(""))?;
    let answer = SimulateResponse::decode(value.as_slice()).context("the simulation's answer")?;
    Ok(answer.gas_info.map_or(0, |g| g.gas_used))
}

fn decimal(what: &str, text: &str) -> Result<rust_decimal::Decimal> {
    text.parse::<rust_decimal::Decimal>()
        .ok()
        .filter(|d| !d.is_sign_negative())
        .with_context(|| format!("invalid {what} {text:?}: not a non-negative decimal"))
}

/// `--gas auto`'s limit: the simulated gas × `adjustment`, rounded up (the SDK's
/// `adjustment * simulated`, as a decimal rather than Go's float64).
pub fn adjusted_gas(simulated: u64, adjustment: &str) -> Result<u64> {
    let adjustment = decimal("gas adjustment", adjustment)?;
    let gas = rust_decimal::Decimal::from(simulated)
        .checked_mul(adjustment)
        .context("the adjusted gas overflows")?
        .ceil();
    u64::try_from(gas).context("the adjusted gas is out of range")
}

/// The fees `--gas-prices` asks for a gas limit: per denom, price × gas rounded up, as the
/// SDK's `gasPrice.Amount.Mul(gasLimit).Ceil()`. `prices` is `"0.025stake,1uatom"`.
pub fn fees_for_gas(prices: &str, gas: u64) -> Result<Coins> {
    let mut fees = Vec::new();
    for price in prices.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let split = price
            .find(|c: char| c.is_ascii_alphabetic())
            .with_context(|| format!("invalid gas price {price:?}: no denom"))?;
        let (amount, denom) = price.split_at(split);
        let fee = decimal("gas price", amount)?
            .checked_mul(rust_decimal::Decimal::from(gas))
            .with_context(|| format!("the fee for {price} × {gas} gas overflows"))?
            .ceil();
        if !fee.is_zero() {
            fees.push(format!("{}{denom}", fee.trunc()));
        }
    }
    fees.join(",")
        .parse()
        .with_context(|| format!("invalid gas prices {prices:?}"))
}

/// A `MsgSend` as an `Any`.
pub fn msg_send(from: &Address, to: &Address, amount: &Coins) -> Any {
    Any {
        type_url: "/cosmos.bank.v1beta1.MsgSend".into(),
        value: MsgSend {
            from_address: from.to_string(),
            to_address: to.to_string(),
            amount: proto_coins(amount),
        }
        .encode_to_vec(),
    }
}

fn any(type_url: &str, value: Vec<u8>) -> Any {
    Any {
        type_url: type_url.into(),
        value,
    }
}

fn proto_coin(c: &keystone_modules::Coin) -> ProtoCoin {
    ProtoCoin {
        denom: c.denom.clone(),
        amount: c.amount.to_string(),
    }
}

/// A rate as `LegacyDec` travels in protobuf (the value × 10^18, as an integer string).
fn dec_atomics(what: &str, rate: &str) -> Result<String> {
    keystone_proto::tx_json::dec_json_to_atomics(rate)
        .with_context(|| format!("invalid {what} {rate:?}"))
}

/// A `MsgCreateValidator` for `operator`'s validator with ed25519 consensus key `consensus`.
pub fn msg_create_validator(
    operator: &Address,
    consensus: &[u8; 32],
    value: &keystone_modules::Coin,
    terms: &crate::genutil::ValidatorTerms,
) -> Result<Any> {
    use cosmos_sdk_proto::cosmos::staking::v1beta1::{
        CommissionRates, Description, MsgCreateValidator,
    };
    #[allow(deprecated)] // delegator_address is deprecated and left empty, as v0.50 clients do
    let msg = MsgCreateValidator {
        description: Some(Description {
            moniker: terms.moniker.clone(),
            identity: terms.identity.clone(),
            website: terms.website.clone(),
            security_contact: terms.security_contact.clone(),
            details: terms.details.clone(),
        }),
        commission: Some(CommissionRates {
            rate: dec_atomics("commission rate", &terms.commission_rate)?,
            max_rate: dec_atomics("commission max rate", &terms.commission_max_rate)?,
            max_change_rate: dec_atomics(
                "commission max change rate",
                &terms.commission_max_change_rate,
            )?,
        }),
        min_self_delegation: terms.min_self_delegation.clone(),
        delegator_address: String::new(),
        validator_address: operator.to_bech32("cosmosvaloper"),
        pubkey: Some(any(
            "/cosmos.crypto.ed25519.PubKey",
            cosmos_sdk_proto::cosmos::crypto::ed25519::PubKey {
                key: consensus.to_vec(),
            }
            .encode_to_vec(),
        )),
        value: Some(proto_coin(value)),
    };
    Ok(any(
        "/cosmos.staking.v1beta1.MsgCreateValidator",
        msg.encode_to_vec(),
    ))
}

/// A `MsgEditValidator`: `None` leaves a field as it is (`[do-not-modify]` for text).
pub fn msg_edit_validator(
    operator: &Address,
    moniker: Option<&str>,
    commission_rate: Option<&str>,
    min_self_delegation: Option<&str>,
) -> Result<Any> {
    use cosmos_sdk_proto::cosmos::staking::v1beta1::{Description, MsgEditValidator};
    const KEEP: &str = "[do-not-modify]";
    let msg = MsgEditValidator {
        description: Some(Description {
            moniker: moniker.unwrap_or(KEEP).into(),
            identity: KEEP.into(),
            website: KEEP.into(),
            security_contact: KEEP.into(),
            details: KEEP.into(),
        }),
        validator_address: operator.to_bech32("cosmosvaloper"),
        commission_rate: match commission_rate {
            Some(r) => dec_atomics("commission rate", r)?,
            None => String::new(),
        },
        min_self_delegation: min_self_delegation.unwrap_or_default().into(),
    };
    Ok(any(
        "/cosmos.staking.v1beta1.MsgEditValidator",
        msg.encode_to_vec(),
    ))
}

/// A `MsgDelegate`.
pub fn msg_delegate(delegator: &Address, valoper: &str, amount: &keystone_modules::Coin) -> Any {
    use cosmos_sdk_proto::cosmos::staking::v1beta1::MsgDelegate;
    any(
        "/cosmos.staking.v1beta1.MsgDelegate",
        MsgDelegate {
            delegator_address: delegator.to_string(),
            validator_address: valoper.into(),
            amount: Some(proto_coin(amount)),
        }
        .encode_to_vec(),
    )
}

/// A `MsgUndelegate`.
pub fn msg_undelegate(delegator: &Address, valoper: &str, amount: &keystone_modules::Coin) -> Any {
    use cosmos_sdk_proto::cosmos::staking::v1beta1::MsgUndelegate;
    any(
        "/cosmos.staking.v1beta1.MsgUndelegate",
        MsgUndelegate {
            delegator_address: delegator.to_string(),
            validator_address: valoper.into(),
            amount: Some(proto_coin(amount)),
        }
        .encode_to_vec(),
    )
}

/// A `MsgBeginRedelegate`.
pub fn msg_redelegate(
    delegator: &Address,
    src: &str,
    dst: &str,
    amount: &keystone_modules::Coin,
) -> Any {
    use cosmos_sdk_proto::cosmos::staking::v1beta1::MsgBeginRedelegate;
    any(
        "/cosmos.staking.v1beta1.MsgBeginRedelegate",
        MsgBeginRedelegate {
            delegator_address: delegator.to_string(),
            validator_src_address: src.into(),
            validator_dst_address: dst.into(),
            amount: Some(proto_coin(amount)),
        }
        .encode_to_vec(),
    )
}

/// A `MsgCancelUnbondingDelegation`.
pub fn msg_cancel_unbond(
    delegator: &Address,
    valoper: &str,
    amount: &keystone_modules::Coin,
    creation_height: i64,
) -> Any {
    use cosmos_sdk_proto::cosmos::staking::v1beta1::MsgCancelUnbondingDelegation;
    any(
        "/cosmos.staking.v1beta1.MsgCancelUnbondingDelegation",
        MsgCancelUnbondingDelegation {
            delegator_address: delegator.to_string(),
            validator_address: valoper.into(),
            amount: Some(proto_coin(amount)),
            creation_height,
        }
        .encode_to_vec(),
    )
}

/// A `MsgUnjail` for the validator whose operator is `operator` (the signer).
pub fn msg_unjail(operator: &Address) -> Any {
    use cosmos_sdk_proto::cosmos::slashing::v1beta1::MsgUnjail;
    any(
        "/cosmos.slashing.v1beta1.MsgUnjail",
        MsgUnjail {
            validator_addr: operator.to_valoper(),
        }
        .encode_to_vec(),
    )
}

/// A `MsgWithdrawDelegatorReward`: `delegator`'s rewards from validator `valoper`.
pub fn msg_withdraw_delegator_reward(delegator: &Address, valoper: &str) -> Any {
    use cosmos_sdk_proto::cosmos::distribution::v1beta1::MsgWithdrawDelegatorReward;
    any(
        "/cosmos.distribution.v1beta1.MsgWithdrawDelegatorReward",
        MsgWithdrawDelegatorReward {
            delegator_address: delegator.to_string(),
            validator_address: valoper.into(),
        }
        .encode_to_vec(),
    )
}

/// A `MsgWithdrawValidatorCommission` for the validator `valoper` (its operator signs).
pub fn msg_withdraw_validator_commission(valoper: &str) -> Any {
    use cosmos_sdk_proto::cosmos::distribution::v1beta1::MsgWithdrawValidatorCommission;
    any(
        "/cosmos.distribution.v1beta1.MsgWithdrawValidatorCommission",
        MsgWithdrawValidatorCommission {
            validator_address: valoper.into(),
        }
        .encode_to_vec(),
    )
}

/// A `MsgSetWithdrawAddress`: `delegator`'s rewards go to `withdraw` from now on.
pub fn msg_set_withdraw_address(delegator: &Address, withdraw: &Address) -> Any {
    use cosmos_sdk_proto::cosmos::distribution::v1beta1::MsgSetWithdrawAddress;
    any(
        "/cosmos.distribution.v1beta1.MsgSetWithdrawAddress",
        MsgSetWithdrawAddress {
            delegator_address: delegator.to_string(),
            withdraw_address: withdraw.to_string(),
        }
        .encode_to_vec(),
    )
}

#[cfg(test)]
mod tests {
    //! The slashing and distribution messages against cosmrs, which builds the same messages
    //! independently: the same type URL and the same bytes.

    use super::*;
    use cosmrs::tx::Msg as _;
    use cosmrs::AccountId;

    fn operator() -> Address {
        Address([0x11; 20])
    }

    fn id(a: &Address, hrp: &str) -> AccountId {
        AccountId::new(hrp, &a.0).expect("account id")
    }

    fn same(ours: Any, theirs: cosmrs::Any) {
        assert_eq!(ours.type_url, theirs.type_url);
        assert_eq!(ours.value, theirs.value, "{}", ours.type_url);
    }

    #[test]
    fn unjail_names_the_signers_operator_address() {
        let theirs = cosmrs::slashing::MsgUnjail {
            validator_addr: id(&operator(), "cosmosvaloper"),
        };
        same(
            msg_unjail(&operator()),
            theirs.to_any().expect("cosmrs any"),
        );
    }

    #[test]
    fn withdraw_messages_match_cosmrs() {
        let (del, val) = (Address([0x22; 20]), operator());
        same(
            msg_withdraw_delegator_reward(&del, &val.to_valoper()),
            cosmrs::distribution::MsgWithdrawDelegatorReward {
                delegator_address: id(&del, "cosmos"),
                validator_address: id(&val, "cosmosvaloper"),
            }
            .to_any()
            .expect("cosmrs any"),
        );
        same(
            msg_withdraw_validator_commission(&val.to_valoper()),
            cosmrs::distribution::MsgWithdrawValidatorCommission {
                validator_address: id(&val, "cosmosvaloper"),
            }
            .to_any()
            .expect("cosmrs any"),
        );
        let to = Address([0x33; 20]);
        same(
            msg_set_withdraw_address(&del, &to),
            cosmrs::distribution::MsgSetWithdrawAddress {
                delegator_address: id(&del, "cosmos"),
                withdraw_address: id(&to, "cosmos"),
            }
            .to_any()
            .expect("cosmrs any"),
        );
    }

    #[test]
    fn a_multi_message_tx_keeps_its_messages_in_order_and_verifies() {
        use k256::ecdsa::signature::Verifier;
        let secret = [7u8; 32];
        let (del, val) = (Address([0x22; 20]), operator().to_valoper());
        let msgs = vec![
            msg_withdraw_delegator_reward(&del, &val),
            msg_withdraw_validator_commission(&val),
        ];
        let fees: Coins = "500stake".parse().expect("fees");
        let raw =
            sign_msgs(&secret, msgs.clone(), "m", &fees, 250_000, "chain-1", 4, 9).expect("signed");
        let tx = cosmrs::Tx::from_bytes(&raw).expect("cosmrs decodes the tx");
        let got: Vec<(String, Vec<u8>)> = tx
            .body
            .messages
            .iter()
            .map(|m| (m.type_url.clone(), m.value.clone()))
            .collect();
        let want: Vec<(String, Vec<u8>)> =
            msgs.into_iter().map(|m| (m.type_url, m.value)).collect();
        assert_eq!(got, want);
        assert_eq!(tx.auth_info.fee.gas_limit, 250_000);
        assert_eq!(tx.auth_info.signer_infos[0].sequence, 9);

        // The signature is over the SIGN_MODE_DIRECT sign doc with this chain id and number.
        let parsed = TxRaw::decode(raw.as_slice()).expect("tx raw");
        let doc = SignDoc {
            body_bytes: parsed.body_bytes.clone(),
            auth_info_bytes: parsed.auth_info_bytes.clone(),
            chain_id: "chain-1".into(),
            account_number: 4,
        };
        let key = k256::ecdsa::SigningKey::from_slice(&secret).expect("key");
        let sig = k256::ecdsa::Signature::from_slice(&parsed.signatures[0]).expect("signature");
        assert!(key
            .verifying_key()
            .verify(&doc.encode_to_vec(), &sig)
            .is_ok());
    }

    #[test]
    fn a_tx_without_messages_is_refused() {
        let fees = Coins::new();
        assert!(sign_msgs(&[7u8; 32], Vec::new(), "", &fees, 1, "c", 0, 0).is_err());
    }
}
