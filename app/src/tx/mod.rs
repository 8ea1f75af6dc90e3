//! The transaction pipeline for Cosmos SDK v0.50 transactions.
//!
//! [`run_tx`] takes the raw bytes of a `TxRaw` and a [`Context`] and, in order:
//! 1. refuses a transaction over [`MAX_TX_BYTES`], then decodes `TxRaw`, `TxBody`, `AuthInfo`
//!    and every message (an unknown type URL is a decode error, as in the SDK);
//! 2. runs each message's stateless checks, collects the signers (in order of first
//!    appearance) and checks the signature count, the memo length and the timeout height;
//! 3. in `CheckTx`, refuses fees below the node's minimum gas prices;
//! 4. runs the ante chain on a branch, metered: the tx-size gas, each signer's account
//!    (public key set on first use and checked against the address, sequence, SIGN_MODE_DIRECT
//!    secp256k1 signature over the `SignDoc`, low-S only), the fee moved from the first signer
//!    to the fee collector, and every signer's sequence bumped; a failure here discards all;
//! 5. runs the messages on a second branch, kept only if they all succeed within the gas
//!    limit — a failed transaction keeps its fee and sequence bump, and loses its writes.
//!
//! Events follow the SDK v0.50: the ante chain's (the fee transfer, `tx.fee`/`fee_payer`,
//! `tx.acc_seq`, `tx.signature`) are kept whenever the ante chain passed, as the SDK returns
//! them with a failed transaction too; each message adds `message.action`/`sender`/`module`
//! and its module's events, all tagged `msg_index`, and they are dropped with its writes.
//!    `CheckTx` stops before this step, as the SDK's does: the mempool admits on the ante
//!    chain alone, and a message that fails does so in the block.
//!
//! [`Mode::Simulate`] is the SDK's simulation (`/cosmos.tx.v1beta1.Service/Simulate`, what
//! cosmjs's `fee: "auto"` asks): an unlimited meter (its limit, `u64::MAX`, is the gas wanted
//! the SDK reports), no signature check, and the SDK ante handler's allowances for a
//! transaction not signed yet: an empty signature is charged as the size of a real one
//! ([`SIMULATED_SIGNATURE_BYTES`]), a key that does not match is not refused, and an account
//! with no key anywhere gets the SDK's placeholder key — all on a branch the caller drops.
//! Unlike the SDK, a simulation with no fee deducts a placeholder fee (one unit of the bond
//! denom, `simulated_fee`), so that the estimate holds the cost of the fee the client will
//! then pay: with this node's lighter gas per transaction, that cost is a larger share than
//! the clients' 1.3–1.4 multiplier covers.

mod error;
pub mod gas;
mod sigs;

pub use error::TxError;
pub use sigs::{SigCache, SigStats};

use cosmos_sdk_proto::cosmos::bank::v1beta1 as bankpb;
use cosmos_sdk_proto::cosmos::base::v1beta1::Coin as ProtoCoin;
use cosmos_sdk_proto::cosmos::crypto::secp256k1::PubKey as Secp256k1PubKey;
use cosmos_sdk_proto::cosmos::distribution::v1beta1 as distrpb;
use cosmos_sdk_proto::cosmos::slashing::v1beta1 as slashingpb;
use cosmos_sdk_proto::cosmos::staking::v1beta1 as stakingpb;
use cosmos_sdk_proto::cosmos::tx::signing::v1beta1::SignMode;
use cosmos_sdk_proto::cosmos::tx::v1beta1::{mode_info, AuthInfo, SignDoc, TxBody, TxRaw};
use gas::{GasMeter, GasState};
use keystone_modules::bank::{self, InOut, MsgMultiSend, MsgSend};
use keystone_modules::state::{Branch, State};
use keystone_modules::{
    auth, distribution, mint, slashing, staking, Address, Amount, BlockCtx, Coin, Coins, Dec,
    Event, ModuleError, Timestamp,
};
use prost::Message;
use std::collections::BTreeSet;

/// Largest transaction accepted (CometBFT's default `mempool.max_tx_bytes`).
pub const MAX_TX_BYTES: usize = 1024 * 1024;

/// The bytes a simulation charges (× `tx_size_cost_per_byte`) for each signature left empty,
/// as the SDK's `ConsumeTxSizeGasDecorator` does: the amino encoding of a `StdSignature` with
/// a secp256k1 key and a 64-byte signature — the key as field 1 (2 bytes of framing around the
/// 4-byte type prefix, a length byte and 33 bytes: 40), the signature as field 2 (2 + 64: 66)
/// — plus 6. Every secp256k1 key is 33 bytes, so the stored key or the placeholder cost the
/// same.
pub const SIMULATED_SIGNATURE_BYTES: u64 = 40 + 66 + 6;

/// The SDK's placeholder key for a simulated signer with no key in the transaction or its
/// account (`simSecp256k1Pubkey` of `x/auth/ante/sigverify.go`).
const SIMULATED_SECP256K1_KEY: [u8; 33] = [
    0x03, 0x5A, 0xD6, 0x81, 0x0A, 0x47, 0xF0, 0x73, 0x55, 0x3F, 0xF3, 0x0D, 0x2F, 0xCC, 0x7E, 0x0D,
    0x3B, 0x1C, 0x0B, 0x74, 0xB6, 0x1A, 0x1A, 0xAA, 0x25, 0x82, 0x34, 0x40, 0x37, 0x15, 0x1E, 0x14,
    0x3A,
];

/// Which ABCI call runs the transaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// `CheckTx`: admission to the mempool; enforces minimum gas prices.
    Check,
    /// `FinalizeBlock`: execution in a block.
    Deliver,
    /// `Simulate`: gas estimation; no signature check, no gas limit (see the module doc).
    Simulate,
}

/// A minimum gas price: `amount_e18 / 10^18` of `denom` per unit of gas (app.toml's
/// `minimum-gas-prices`, e.g. `0.025stake`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GasPrice {
    /// Denom.
    pub denom: String,
    /// Price × 10^18.
    pub amount_e18: u128,
}

impl std::str::FromStr for GasPrice {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        let split = s
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(|| format!("gas price {s:?} has no denom"))?;
        let (num, denom) = s.split_at(split);
        let (int, frac) = num.split_once('.').unwrap_or((num, ""));
        if int.is_empty() && frac.is_empty()
            || frac.len() > 18
            || !keystone_modules::coin::valid_denom(denom)
        {
            return Err(format!("invalid gas price {s:?}"));
        }
        let int: u128 = if int.is_empty() {
            0
        } else {
            int.parse()
                .map_err(|_| format!("invalid gas price {s:?}"))?
        };
        let frac_val: u128 = if frac.is_empty() {
            0
        } else {
            frac.parse()
                .map_err(|_| format!("invalid gas price {s:?}"))?
        };
        let amount_e18 = int
            .checked_mul(10u128.pow(18))
            .and_then(|v| v.checked_add(frac_val * 10u128.pow(18 - frac.len() as u32)))
            .ok_or_else(|| format!("gas price {s:?} out of range"))?;
        Ok(GasPrice {
            denom: denom.into(),
            amount_e18,
        })
    }
}

/// What the pipeline needs to know about where it runs.
#[derive(Clone, Debug)]
pub struct Context<'a> {
    /// The chain id the signatures must cover.
    pub chain_id: &'a str,
    /// The height of the block (or, in `CheckTx`, the next one).
    pub height: u64,
    /// Which call.
    pub mode: Mode,
    /// The node's minimum gas prices (any one of them suffices).
    pub min_gas_prices: &'a [GasPrice],
    /// The block's time (in `CheckTx`, the last block's): unbonding completion times and
    /// commission-change rules are measured from it.
    pub time: Timestamp,
    /// Signatures already verified on this node (none: each is verified here).
    pub verified: Option<&'a SigCache>,
}

impl Context<'_> {
    /// What a module knows of the block it runs in.
    pub fn block(&self) -> BlockCtx {
        BlockCtx {
            height: self.height,
            time: self.time,
            chain_id: self.chain_id.to_owned(),
        }
    }
}

/// The outcome of one transaction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TxOutcome {
    /// `Ok` or why it failed.
    pub result: Result<(), TxError>,
    /// The gas limit the transaction asked for (in `Simulate`, the unlimited meter's
    /// `u64::MAX`, which the SDK reports as the gas wanted).
    pub gas_wanted: u64,
    /// Gas it used.
    pub gas_used: u64,
    /// What it emitted: the ante chain's events, then (if the messages succeeded) theirs.
    pub events: Vec<Event>,
    /// Each message's response (type URL `<Msg>Response`, protobuf value), when they all
    /// succeeded: the SDK's `TxMsgData.msg_responses`.
    pub msg_responses: Vec<cosmos_sdk_proto::Any>,
    /// The index of the message that failed, if one did: the SDK wraps that error as
    /// `failed to execute message; message index: N: …`.
    pub failed_msg: Option<usize>,
}

/// What `run` learns on the way, kept whatever it returns.
#[derive(Default)]
struct Progress {
    wanted: u64,
    failed_msg: Option<usize>,
    msg_responses: Vec<cosmos_sdk_proto::Any>,
}

/// A decoded message.
#[derive(Clone, Debug)]
enum Msg {
    Send(MsgSend),
    MultiSend(MsgMultiSend),
    CreateValidator(Box<staking::MsgCreateValidator>),
    EditValidator(staking::MsgEditValidator),
    Delegate(staking::MsgDelegate),
    Undelegate(staking::MsgUndelegate),
    Redelegate(staking::MsgBeginRedelegate),
    CancelUnbond(staking::MsgCancelUnbondingDelegation),
    Unjail(slashing::MsgUnjail),
    WithdrawReward(distribution::MsgWithdrawDelegatorReward),
    WithdrawCommission(distribution::MsgWithdrawValidatorCommission),
    SetWithdrawAddress(distribution::MsgSetWithdrawAddress),
}

impl Msg {
    fn decode(any: &cosmos_sdk_proto::Any) -> Result<Msg, TxError> {
        let bad = |e: prost::DecodeError| TxError::Decode(format!("{}: {e}", any.type_url));
        match any.type_url.as_str() {
            "/cosmos.bank.v1beta1.MsgSend" => {
                let m = bankpb::MsgSend::decode(any.value.as_slice()).map_err(bad)?;
                Ok(Msg::Send(MsgSend {
                    from_address: m.from_address,
                    to_address: m.to_address,
                    amount: coins(&m.amount)?,
                }))
            }
            "/cosmos.bank.v1beta1.MsgMultiSend" => {
                let m = bankpb::MsgMultiSend::decode(any.value.as_slice()).map_err(bad)?;
                let io = |a: String, c: &[ProtoCoin]| -> Result<InOut, TxError> {
                    Ok(InOut {
                        address: a,
                        coins: coins(c)?,
                    })
                };
                Ok(Msg::MultiSend(MsgMultiSend {
                    inputs: m
                        .inputs
                        .into_iter()
                        .map(|i| io(i.address, &i.coins))
                        .collect::<Result<_, _>>()?,
                    outputs: m
                        .outputs
                        .into_iter()
                        .map(|o| io(o.address, &o.coins))
                        .collect::<Result<_, _>>()?,
                }))
            }
            "/cosmos.slashing.v1beta1.MsgUnjail" => {
                let m = slashingpb::MsgUnjail::decode(any.value.as_slice()).map_err(bad)?;
                Ok(Msg::Unjail(slashing::MsgUnjail {
                    validator_addr: m.validator_addr,
                }))
            }
            "/cosmos.distribution.v1beta1.MsgWithdrawDelegatorReward" => {
                let m = distrpb::MsgWithdrawDelegatorReward::decode(any.value.as_slice())
                    .map_err(bad)?;
                Ok(Msg::WithdrawReward(
                    distribution::MsgWithdrawDelegatorReward {
                        delegator_address: m.delegator_address,
                        validator_address: m.validator_address,
                    },
                ))
            }
            "/cosmos.distribution.v1beta1.MsgWithdrawValidatorCommission" => {
                let m = distrpb::MsgWithdrawValidatorCommission::decode(any.value.as_slice())
                    .map_err(bad)?;
                Ok(Msg::WithdrawCommission(
                    distribution::MsgWithdrawValidatorCommission {
                        validator_address: m.validator_address,
                    },
                ))
            }
            "/cosmos.distribution.v1beta1.MsgSetWithdrawAddress" => {
                let m =
                    distrpb::MsgSetWithdrawAddress::decode(any.value.as_slice()).map_err(bad)?;
                Ok(Msg::SetWithdrawAddress(
                    distribution::MsgSetWithdrawAddress {
                        delegator_address: m.delegator_address,
                        withdraw_address: m.withdraw_address,
                    },
                ))
            }
            other => staking_msg(other, &any.value),
        }
    }

    /// Stateless checks; the signer.
    fn validate_basic(&self) -> Result<Address, TxError> {
        Ok(match self {
            Msg::Send(m) => m.validate_basic()?.0,
            Msg::MultiSend(m) => m.validate_basic()?.0,
            Msg::CreateValidator(m) => m.validate_basic()?,
            Msg::EditValidator(m) => m.validate_basic()?,
            Msg::Delegate(m) => m.validate_basic()?,
            Msg::Undelegate(m) => m.validate_basic()?,
            Msg::Redelegate(m) => m.validate_basic()?,
            Msg::CancelUnbond(m) => m.validate_basic()?,
            Msg::Unjail(m) => m.validate_basic()?,
            Msg::WithdrawReward(m) => m.validate_basic()?,
            Msg::WithdrawCommission(m) => m.validate_basic()?,
            Msg::SetWithdrawAddress(m) => m.validate_basic()?,
        })
    }

    /// The type URL (the SDK's `message.action`) and the module that handles it.
    fn action(&self) -> (&'static str, &'static str) {
        match self {
            Msg::Send(_) => ("/cosmos.bank.v1beta1.MsgSend", "bank"),
            Msg::MultiSend(_) => ("/cosmos.bank.v1beta1.MsgMultiSend", "bank"),
            Msg::CreateValidator(_) => ("/cosmos.staking.v1beta1.MsgCreateValidator", "staking"),
            Msg::EditValidator(_) => ("/cosmos.staking.v1beta1.MsgEditValidator", "staking"),
            Msg::Delegate(_) => ("/cosmos.staking.v1beta1.MsgDelegate", "staking"),
            Msg::Undelegate(_) => ("/cosmos.staking.v1beta1.MsgUndelegate", "staking"),
            Msg::Redelegate(_) => ("/cosmos.staking.v1beta1.MsgBeginRedelegate", "staking"),
            Msg::CancelUnbond(_) => (
                "/cosmos.staking.v1beta1.MsgCancelUnbondingDelegation",
                "staking",
            ),
            Msg::Unjail(_) => ("/cosmos.slashing.v1beta1.MsgUnjail", "slashing"),
            Msg::WithdrawReward(_) => (
                "/cosmos.distribution.v1beta1.MsgWithdrawDelegatorReward",
                "distribution",
            ),
            Msg::WithdrawCommission(_) => (
                "/cosmos.distribution.v1beta1.MsgWithdrawValidatorCommission",
                "distribution",
            ),
            Msg::SetWithdrawAddress(_) => (
                "/cosmos.distribution.v1beta1.MsgSetWithdrawAddress",
                "distribution",
            ),
        }
    }

    /// Execute; the message's response as the SDK packs it (`<Msg>Response`).
    fn execute<S: State>(
        &self,
        state: &mut S,
        blocked: &BTreeSet<Address>,
        ctx: &Context<'_>,
    ) -> Result<cosmos_sdk_proto::Any, TxError> {
        let block = ctx.block();
        let hooks = crate::hooks::AppHooks::new(&block);
        let s: &mut dyn State = state;
        // Most responses are empty messages.
        let value = match self {
            Msg::Send(m) => m.execute(s, blocked).map(|_| Vec::new())?,
            Msg::MultiSend(m) => m.execute(s, blocked).map(|_| Vec::new())?,
            Msg::CreateValidator(m) => m.execute(s, &block, &hooks).map(|_| Vec::new())?,
            Msg::EditValidator(m) => m.execute(s, &block, &hooks).map(|_| Vec::new())?,
            Msg::Delegate(m) => m.execute(s, &block, &hooks).map(|_| Vec::new())?,
            Msg::Undelegate(m) => {
                let r = m.execute(s, &block, &hooks)?;
                stakingpb::MsgUndelegateResponse {
                    completion_time: Some(proto_time(&r.completion_time)),
                    amount: Some(proto_coin(&r.amount)),
                }
                .encode_to_vec()
            }
            Msg::Redelegate(m) => {
                let r = m.execute(s, &block, &hooks)?;
                stakingpb::MsgBeginRedelegateResponse {
                    completion_time: Some(proto_time(&r.completion_time)),
                }
                .encode_to_vec()
            }
            Msg::CancelUnbond(m) => m.execute(s, &block, &hooks).map(|_| Vec::new())?,
            Msg::Unjail(m) => m.execute(s, &block, &hooks).map(|_| Vec::new())?,
            Msg::WithdrawReward(m) => distrpb::MsgWithdrawDelegatorRewardResponse {
                amount: m
                    .execute(s, &block)?
                    .iter()
                    .map(|c| proto_coin(&c))
                    .collect(),
            }
            .encode_to_vec(),
            Msg::WithdrawCommission(m) => distrpb::MsgWithdrawValidatorCommissionResponse {
                amount: m.execute(s)?.iter().map(|c| proto_coin(&c)).collect(),
            }
            .encode_to_vec(),
            Msg::SetWithdrawAddress(m) => m.execute(s, blocked).map(|_| Vec::new())?,
        };
        Ok(cosmos_sdk_proto::Any {
            type_url: format!("{}Response", self.action().0),
            value,
        })
    }
}

fn proto_coin(c: &Coin) -> ProtoCoin {
    ProtoCoin {
        denom: c.denom.clone(),
        amount: c.amount.to_string(),
    }
}

fn proto_time(t: &Timestamp) -> cosmos_sdk_proto::Timestamp {
    cosmos_sdk_proto::Timestamp {
        seconds: t.seconds,
        // Below 10^9 by construction of `Timestamp`.
        nanos: i32::try_from(t.nanos).unwrap_or(0),
    }
}

/// One coin of a staking message (a missing one is a zero amount, which the message's checks
/// refuse with the SDK's wording).
fn one_coin(c: Option<ProtoCoin>) -> Result<Coin, TxError> {
    let c = c.unwrap_or_default();
    let amount: Amount = if c.amount.is_empty() {
        0
    } else {
        c.amount.parse().map_err(|_| {
            ModuleError::InvalidCoins(format!("invalid amount {:?} for {}", c.amount, c.denom))
        })?
    };
    Ok(Coin {
        denom: c.denom,
        amount,
    })
}

/// A `LegacyDec` as protobuf carries it (the value × 10^18).
fn dec(field: &str, atomics: &str) -> Result<Dec, TxError> {
    Dec::from_atomics_str(atomics)
        .map_err(|_| TxError::Decode(format!("{field}: {atomics:?} is not a decimal")))
}

fn amount(field: &str, s: &str) -> Result<Amount, TxError> {
    s.parse().map_err(|_| {
        TxError::Module(ModuleError::InvalidRequest(format!(
            "{field}: {s:?} is not an amount"
        )))
    })
}

fn description(d: Option<stakingpb::Description>) -> staking::Description {
    let d = d.unwrap_or_default();
    staking::Description {
        moniker: d.moniker,
        identity: d.identity,
        website: d.website,
        security_contact: d.security_contact,
        details: d.details,
    }
}

/// The staking messages, from their protobuf (an unknown type URL is a decode error).
fn staking_msg(type_url: &str, bytes: &[u8]) -> Result<Msg, TxError> {
    let bad = |e: prost::DecodeError| TxError::Decode(format!("{type_url}: {e}"));
    Ok(match type_url {
        "/cosmos.staking.v1beta1.MsgCreateValidator" => {
            let m = stakingpb::MsgCreateValidator::decode(bytes).map_err(bad)?;
            let c = m.commission.clone().unwrap_or_default();
            let pubkey = match &m.pubkey {
                Some(any) if any.type_url == "/cosmos.crypto.ed25519.PubKey" => {
                    let k = cosmos_sdk_proto::cosmos::crypto::ed25519::PubKey::decode(
                        any.value.as_slice(),
                    )
                    .map_err(bad)?;
                    <[u8; 32]>::try_from(k.key.as_slice()).map_err(|_| {
                        TxError::Module(
                            staking::StakingError::ValidatorPubKeyTypeNotSupported
                                .wrap("an ed25519 consensus key has 32 bytes"),
                        )
                    })?
                }
                Some(any) => {
                    return Err(TxError::Module(
                        staking::StakingError::ValidatorPubKeyTypeNotSupported
                            .wrap(format!("got: {}, expected: [ed25519]", any.type_url)),
                    ))
                }
                None => {
                    return Err(TxError::Module(
                        staking::StakingError::EmptyValidatorPubKey.into(),
                    ))
                }
            };
            #[allow(deprecated)] // the deprecated delegator address is carried and ignored
            let delegator_address = m.delegator_address.clone();
            Msg::CreateValidator(Box::new(staking::MsgCreateValidator {
                description: description(m.description),
                commission: staking::CommissionRates {
                    rate: dec("commission.rate", &c.rate)?,
                    max_rate: dec("commission.max_rate", &c.max_rate)?,
                    max_change_rate: dec("commission.max_change_rate", &c.max_change_rate)?,
                },
                min_self_delegation: amount("min_self_delegation", &m.min_self_delegation)?,
                delegator_address,
                validator_address: m.validator_address,
                pubkey,
                value: one_coin(m.value)?,
            }))
        }
        "/cosmos.staking.v1beta1.MsgEditValidator" => {
            let m = stakingpb::MsgEditValidator::decode(bytes).map_err(bad)?;
            Msg::EditValidator(staking::MsgEditValidator {
                description: description(m.description),
                validator_address: m.validator_address,
                commission_rate: match m.commission_rate.as_str() {
                    "" => None,
                    r => Some(dec("commission_rate", r)?),
                },
                min_self_delegation: match m.min_self_delegation.as_str() {
                    "" => None,
                    a => Some(amount("min_self_delegation", a)?),
                },
            })
        }
        "/cosmos.staking.v1beta1.MsgDelegate" => {
            let m = stakingpb::MsgDelegate::decode(bytes).map_err(bad)?;
            Msg::Delegate(staking::MsgDelegate {
                delegator_address: m.delegator_address,
                validator_address: m.validator_address,
                amount: one_coin(m.amount)?,
            })
        }
        "/cosmos.staking.v1beta1.MsgUndelegate" => {
            let m = stakingpb::MsgUndelegate::decode(bytes).map_err(bad)?;
            Msg::Undelegate(staking::MsgUndelegate {
                delegator_address: m.delegator_address,
                validator_address: m.validator_address,
                amount: one_coin(m.amount)?,
            })
        }
        "/cosmos.staking.v1beta1.MsgBeginRedelegate" => {
            let m = stakingpb::MsgBeginRedelegate::decode(bytes).map_err(bad)?;
            Msg::Redelegate(staking::MsgBeginRedelegate {
                delegator_address: m.delegator_address,
                validator_src_address: m.validator_src_address,
                validator_dst_address: m.validator_dst_address,
                amount: one_coin(m.amount)?,
            })
        }
        "/cosmos.staking.v1beta1.MsgCancelUnbondingDelegation" => {
            let m = stakingpb::MsgCancelUnbondingDelegation::decode(bytes).map_err(bad)?;
            Msg::CancelUnbond(staking::MsgCancelUnbondingDelegation {
                delegator_address: m.delegator_address,
                validator_address: m.validator_address,
                amount: one_coin(m.amount)?,
                creation_height: m.creation_height,
            })
        }
        other => {
            return Err(TxError::Decode(format!(
                "unable to resolve type URL {other}"
            )))
        }
    })
}

fn coins(list: &[ProtoCoin]) -> Result<Vec<Coin>, TxError> {
    list.iter()
        .map(|c| {
            let amount: Amount = c.amount.parse().map_err(|_| {
                ModuleError::InvalidCoins(format!("invalid amount {:?} for {}", c.amount, c.denom))
            })?;
            Ok(Coin::new(amount, &c.denom)?)
        })
        .collect()
}

/// The account address of a secp256k1 key: RIPEMD-160 of SHA-256 of the compressed key.
pub fn secp256k1_address(compressed: &[u8]) -> Address {
    use ripemd::Ripemd160;
    use sha2::{Digest, Sha256};
    let h = Ripemd160::digest(Sha256::digest(compressed));
    let mut a = [0u8; 20];
    a.copy_from_slice(&h);
    Address(a)
}

/// The module accounts that may not receive funds by `MsgSend` (gaia blocks every module
/// account: coins sent to one would be outside the books the module keeps).
pub fn blocked_addresses() -> &'static BTreeSet<Address> {
    // Five SHA-256s and a set per transaction otherwise; the names are constants.
    static BLOCKED: std::sync::OnceLock<BTreeSet<Address>> = std::sync::OnceLock::new();
    BLOCKED.get_or_init(|| {
        [
            auth::FEE_COLLECTOR,
            staking::BONDED_POOL,
            staking::NOT_BONDED_POOL,
            distribution::MODULE_NAME,
            mint::MODULE_NAME,
        ]
        .iter()
        .map(|n| Address::module(n))
        .collect()
    })
}

/// Run one transaction against `state` (see the module doc for the order of checks).
pub fn run_tx<S: State>(state: &mut S, tx: &[u8], ctx: &Context<'_>) -> TxOutcome {
    let mut progress = Progress::default();
    let meter_cell = std::cell::OnceCell::new();
    // One branch for the whole tx, so its events can be taken out before its writes go down
    // to `state`; a tx refused before its ante chain passed leaves no write and no event.
    let mut top = Branch::new(state);
    let result = run(&mut top, tx, ctx, &mut progress, &meter_cell);
    // A failed ante chain's branch was dropped, so `top` then holds nothing.
    let events = top.take_events();
    top.commit();
    // The responses of messages whose writes were dropped are not the transaction's.
    let msg_responses = if result.is_ok() {
        progress.msg_responses
    } else {
        Vec::new()
    };
    TxOutcome {
        result,
        gas_wanted: progress.wanted,
        gas_used: meter_cell.get().map_or(0, GasMeter::used),
        events,
        msg_responses,
        failed_msg: progress.failed_msg,
    }
}

fn out_of_gas(meter: &GasMeter) -> Result<(), TxError> {
    match meter.exhausted_at() {
        Some(location) => Err(TxError::OutOfGas {
            location: location.into(),
            wanted: meter.limit(),
            used: meter.used(),
        }),
        None => Ok(()),
    }
}

fn run<S: State>(
    state: &mut S,
    tx: &[u8],
    ctx: &Context<'_>,
    progress: &mut Progress,
    meter_cell: &std::cell::OnceCell<GasMeter>,
) -> Result<(), TxError> {
    if tx.len() > MAX_TX_BYTES {
        return Err(TxError::TooLarge {
            max: MAX_TX_BYTES,
            got: tx.len(),
        });
    }
    let raw = TxRaw::decode(tx).map_err(|e| TxError::Decode(e.to_string()))?;
    let body =
        TxBody::decode(raw.body_bytes.as_slice()).map_err(|e| TxError::Decode(e.to_string()))?;
    let auth_info = AuthInfo::decode(raw.auth_info_bytes.as_slice())
        .map_err(|e| TxError::Decode(e.to_string()))?;
    if body.messages.is_empty() {
        return Err(TxError::Module(ModuleError::InvalidRequest(
            "must contain at least one message".into(),
        )));
    }
    let msgs = body
        .messages
        .iter()
        .map(Msg::decode)
        .collect::<Result<Vec<_>, _>>()?;
    let mut signers: Vec<Address> = Vec::new();
    for m in &msgs {
        let s = m.validate_basic()?;
        if !signers.contains(&s) {
            signers.push(s);
        }
    }
    let fee = auth_info.fee.clone().unwrap_or_default();
    // The SDK's `Tx.ValidateBasic`: the gas limit fits an int64 (CometBFT sums gas wanted as
    // int64 against `max_gas`; a larger one would wrap past the block limit).
    if fee.gas_limit > i64::MAX as u64 {
        return Err(TxError::Module(ModuleError::InvalidRequest(format!(
            "invalid gas supplied; {} > {}",
            fee.gas_limit,
            i64::MAX
        ))));
    }
    let simulate = ctx.mode == Mode::Simulate;
    // The SDK's simulation meters with no limit, and reports that meter's limit as wanted.
    let limit = if simulate { u64::MAX } else { fee.gas_limit };
    progress.wanted = limit;
    let fee_coins = Coins::from_list(coins(&fee.amount)?)?;
    let params = auth::params(state)?;
    let meter = meter_cell.get_or_init(|| GasMeter::new(limit));

    if raw.signatures.is_empty() {
        return Err(TxError::NoSignatures);
    }
    if raw.signatures.len() as u64 > params.tx_sig_limit {
        return Err(TxError::TooManySignatures {
            max: params.tx_sig_limit,
            got: raw.signatures.len() as u64,
        });
    }
    if raw.signatures.len() != signers.len() || auth_info.signer_infos.len() != signers.len() {
        return Err(TxError::Unauthorized(format!(
            "wrong number of signers; expected {}, got {}",
            signers.len(),
            raw.signatures.len()
        )));
    }
    if body.memo.chars().count() as u64 > params.max_memo_characters {
        return Err(TxError::MemoTooLarge {
            max: params.max_memo_characters,
            got: body.memo.chars().count() as u64,
        });
    }
    if body.timeout_height > 0 && ctx.height > body.timeout_height {
        return Err(TxError::TimeoutHeight {
            height: ctx.height,
            timeout: body.timeout_height,
        });
    }
    if ctx.mode == Mode::Check && !ctx.min_gas_prices.is_empty() {
        check_min_fee(&fee_coins, fee.gas_limit, ctx.min_gas_prices)?;
    }

    // Ante: everything on one branch, kept only if all of it passes.
    let fee_collector = Address::module(auth::FEE_COLLECTOR);
    let mut ante = Branch::new(state);
    let deducted = if simulate && fee_coins.is_empty() {
        simulated_fee(&ante, &signers[0])?
    } else {
        fee_coins.clone()
    };
    {
        let mut g = GasState::new(&mut ante, meter);
        meter.consume(params.tx_size_cost_per_byte * tx.len() as u64, "txSize");
        if simulate {
            // A signature not made yet is charged as if it were there, so the estimate
            // covers the signed transaction. The SDK reads the account here (for a key to
            // size the placeholder with); the read is charged like any other.
            for (signer, sig) in signers.iter().zip(&raw.signatures) {
                if sig.is_empty() {
                    auth::account(&g, signer)?;
                    meter.consume(
                        params.tx_size_cost_per_byte * SIMULATED_SIGNATURE_BYTES,
                        "txSize",
                    );
                }
            }
        }
        for (i, signer) in signers.iter().enumerate() {
            let info = &auth_info.signer_infos[i];
            let mut account = auth::account(&g, signer)?
                .ok_or_else(|| TxError::UnknownAddress(signer.to_string()))?;
            let offered = match &info.public_key {
                None => None,
                Some(any) if any.type_url == "/cosmos.crypto.secp256k1.PubKey" => Some(
                    Secp256k1PubKey::decode(any.value.as_slice())
                        .map_err(|e| TxError::InvalidPubKey(e.to_string()))?
                        .key,
                ),
                Some(any) => {
                    return Err(TxError::InvalidPubKey(format!(
                        "unsupported key type {}",
                        any.type_url
                    )))
                }
            };
            let stored = account
                .pub_key
                .as_ref()
                .map(|k| decode_b64(k))
                .transpose()?;
            // A simulation checks no key against the signer (the SDK's `SetPubKeyDecorator`
            // skips that check when simulating): nothing is signed yet.
            let key = match (stored, offered) {
                (Some(s), Some(o)) if s != o && !simulate => {
                    return Err(TxError::InvalidPubKey(format!(
                        "pubKey does not match signer address {signer} with signer index: {i}"
                    )))
                }
                (Some(s), _) => s,
                (None, Some(o)) => {
                    if !simulate && secp256k1_address(&o) != *signer {
                        return Err(TxError::InvalidPubKey(format!(
                            "pubKey does not match signer address {signer} with signer index: {i}"
                        )));
                    }
                    account.pub_key = Some(encode_b64(&o));
                    o
                }
                // The SDK stores its placeholder key then, so the account write weighs what
                // the signed transaction's will.
                (None, None) if simulate => {
                    account.pub_key = Some(encode_b64(&SIMULATED_SECP256K1_KEY));
                    SIMULATED_SECP256K1_KEY.to_vec()
                }
                (None, None) => {
                    return Err(TxError::InvalidPubKey(format!(
                        "pubkey on account {signer} is not set"
                    )))
                }
            };
            if info.sequence != account.sequence {
                return Err(TxError::WrongSequence {
                    expected: account.sequence,
                    got: info.sequence,
                });
            }
            let direct = matches!(
                info.mode_info.as_ref().and_then(|m| m.sum.as_ref()),
                Some(mode_info::Sum::Single(s)) if s.mode == SignMode::Direct as i32
            );
            meter.consume(
                params.sig_verify_cost_secp256k1,
                "secp256k1 signature verification",
            );
            if !simulate {
                let doc = SignDoc {
                    body_bytes: raw.body_bytes.clone(),
                    auth_info_bytes: raw.auth_info_bytes.clone(),
                    chain_id: ctx.chain_id.to_owned(),
                    // Genesis transactions (height 0) are signed with account number 0, as
                    // the SDK's ante handler checks them: gentxs are signed before accounts
                    // have numbers.
                    account_number: if ctx.height == 0 {
                        0
                    } else {
                        account.account_number
                    },
                }
                .encode_to_vec();
                let sig = &raw.signatures[i];
                let verifies = match ctx.verified {
                    Some(cache) => cache.verify(&key, &doc, sig),
                    None => sigs::verify_secp256k1(&key, &doc, sig),
                };
                if !direct || !verifies {
                    return Err(TxError::Unauthorized(format!(
                        "signature verification failed; please verify account number ({}), sequence ({}) and chain-id ({})",
                        account.account_number, account.sequence, ctx.chain_id
                    )));
                }
            }
            if i == 0 {
                if !deducted.is_empty() {
                    auth::ensure_module_account(&mut g, auth::FEE_COLLECTOR)?;
                    bank::send(&mut g, signer, &fee_collector, &deducted, &BTreeSet::new())?;
                }
                g.emit(Event::new(
                    "tx",
                    [
                        ("fee", fee_coins.to_string()),
                        ("fee_payer", signer.to_string()),
                    ],
                ));
            }
            account.sequence += 1;
            auth::set_account(&mut g, &account)?;
        }
        for (i, signer) in signers.iter().enumerate() {
            g.emit(Event::new(
                "tx",
                [(
                    "acc_seq",
                    format!("{signer}/{}", auth_info.signer_infos[i].sequence),
                )],
            ));
        }
        for sig in &raw.signatures {
            g.emit(Event::new("tx", [("signature", encode_b64(sig))]));
        }
    }
    out_of_gas(meter)?;
    ante.commit();
    if ctx.mode == Mode::Check {
        return Ok(());
    }

    // Messages: their own branch, dropped on any failure (fee and sequence stay paid).
    let blocked = blocked_addresses();
    let mut exec = Branch::new(state);
    {
        let mut g = GasState::new(&mut exec, meter);
        for (i, m) in msgs.iter().enumerate() {
            let (action, module) = m.action();
            let mut events = Branch::new(&mut g);
            let response = m.execute(&mut events, blocked, ctx).inspect_err(|_| {
                progress.failed_msg = Some(i);
            })?;
            progress.msg_responses.push(response);
            let emitted = events.take_events();
            events.commit();
            let sender = signers_of(m);
            g.emit(
                Event::new(
                    "message",
                    [
                        ("action", action),
                        ("sender", sender.as_str()),
                        ("module", module),
                    ],
                )
                .with("msg_index", i.to_string()),
            );
            for e in emitted {
                g.emit(e.with("msg_index", i.to_string()));
            }
        }
    }
    out_of_gas(meter)?;
    exec.commit();
    Ok(())
}

/// The fee a simulation deducts when the transaction names none: one unit of the bond
/// denom, if the payer holds it (nothing otherwise). Clients estimate with an empty fee
/// (cosmjs's `fee: "auto"`) and then pay one, and paying costs two balance reads and two
/// writes; this node charges less gas per transaction than the SDK, so that gap is beyond the
/// client's 1.3–1.4 multiplier unless the estimate covers it. Read on the unmetered branch:
/// deciding costs no gas, the deduction itself is charged as in the signed transaction.
fn simulated_fee(state: &impl State, payer: &Address) -> Result<Coins, TxError> {
    let denom = staking::params(state)?.bond_denom;
    if bank::balance(state, payer, &denom)? == 0 {
        return Ok(Coins::default());
    }
    Ok(Coins::from_list(vec![Coin { denom, amount: 1 }])?)
}

/// The message's signer as bech32 (`message.sender`); stateless checks already passed.
fn signers_of(m: &Msg) -> String {
    m.validate_basic()
        .map(|a| a.to_string())
        .unwrap_or_default()
}

fn check_min_fee(fee: &Coins, gas_limit: u64, prices: &[GasPrice]) -> Result<(), TxError> {
    let mut required = Vec::new();
    for p in prices {
        // ceil(gas × price), in 18-decimal fixed point.
        let need = (gas_limit as u128)
            .checked_mul(p.amount_e18)
            .map(|x| x.div_ceil(10u128.pow(18)))
            .unwrap_or(u128::MAX);
        if need == 0 || fee.amount_of(&p.denom) >= need {
            return Ok(());
        }
        required.push(format!("{need}{}", p.denom));
    }
    Err(TxError::InsufficientFee {
        got: fee.to_string(),
        required: required.join(","),
    })
}

fn encode_b64(b: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(b)
}

fn decode_b64(s: &str) -> Result<Vec<u8>, TxError> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(s)
        .map_err(|_| TxError::InvalidPubKey("stored key is not base64".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gas_prices_parse_and_charge_by_ceiling() {
        let p: GasPrice = "0.025stake".parse().expect("price");
        assert_eq!(p.amount_e18, 25_000_000_000_000_000);
        let fee: Coins = "5000stake".parse().expect("coins");
        assert!(check_min_fee(&fee, 200_000, std::slice::from_ref(&p)).is_ok());
        let err = check_min_fee(&fee, 200_001, &[p]).expect_err("short by a rounding");
        assert_eq!(
            err.to_string(),
            "insufficient fees; got: 5000stake required: 5001stake: insufficient fee"
        );
        assert!("stake".parse::<GasPrice>().is_err());
        assert!("1.5".parse::<GasPrice>().is_err());
    }
}
