//! `keystone tx …`: sign one message with a key from the keyring and broadcast it
//! (`broadcast_tx_sync`, as gaiad's default), printing the SDK's `TxResponse` JSON shape.

use crate::{keyring, Backend, Cli};
use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use cosmos_sdk_proto::Any;
use keystone::tx as build;
use keystone_modules::{Address, Coin, Coins};

/// How a transaction is signed: the flags `tx sign` shares with every transaction command,
/// as gaiad names them.
#[derive(Args, Clone, Debug, PartialEq, Eq)]
pub(crate) struct SignArgs {
    /// The chain id (signed over; not needed with --generate-only).
    #[arg(long, env = "KEYSTONE_CHAIN_ID")]
    pub(crate) chain_id: Option<String>,
    /// The node's RPC address.
    #[arg(long, env = "KEYSTONE_NODE", default_value = crate::NODE)]
    pub(crate) node: String,
    /// Where the key is.
    #[arg(long, env = "KEYSTONE_KEYRING_BACKEND", value_enum, default_value_t = Backend::File)]
    pub(crate) keyring_backend: Backend,
    /// Sign without a node: --account-number and --sequence must be given.
    #[arg(long)]
    pub(crate) offline: bool,
    /// The signer's account number (read from the node when not given).
    #[arg(long, short = 'a')]
    pub(crate) account_number: Option<u64>,
    /// The signer's sequence (read from the node when not given).
    #[arg(long, short = 's')]
    pub(crate) sequence: Option<u64>,
}

/// The flags of every transaction command but the signer, as gaiad names them.
#[derive(Args, Clone, Debug, PartialEq, Eq)]
pub(crate) struct TxCommon {
    #[command(flatten)]
    pub(crate) sign: SignArgs,
    /// Fees, e.g. 500stake (not with --gas-prices).
    #[arg(long, default_value = "")]
    pub(crate) fees: String,
    /// Gas limit, or `auto` to simulate first (default 200000 for bank sends, 300000 for the
    /// others).
    #[arg(long)]
    pub(crate) gas: Option<String>,
    /// With --gas auto: the simulated gas is multiplied by this.
    #[arg(long, default_value = "1")]
    pub(crate) gas_adjustment: String,
    /// Fees as a price per unit of gas, e.g. 0.025stake (not with --fees).
    #[arg(long, default_value = "")]
    pub(crate) gas_prices: String,
    /// A memo.
    #[arg(long, default_value = "")]
    pub(crate) memo: String,
    /// Skip confirmation (there is none; accepted for gaiad compatibility).
    #[arg(short = 'y', long)]
    pub(crate) yes: bool,
    /// Print the unsigned transaction as JSON instead of signing and broadcasting it
    /// (--from may then be an address).
    #[arg(long)]
    pub(crate) generate_only: bool,
}

/// The flags every transaction command takes: the signer and [`TxCommon`].
#[derive(Args, Clone, Debug, PartialEq, Eq)]
pub(crate) struct TxFlags {
    /// The signer's key name (or, with --generate-only, its address).
    #[arg(long)]
    pub(crate) from: String,
    #[command(flatten)]
    pub(crate) common: TxCommon,
}

/// `tx staking …`.
#[derive(Subcommand)]
pub(crate) enum StakingTx {
    /// Create a validator for this home's consensus key, self-delegating `--amount`.
    CreateValidator {
        /// The self-delegation, e.g. 100000000stake.
        #[arg(long)]
        amount: String,
        /// The validator's name.
        #[arg(long)]
        moniker: String,
        /// Commission rate.
        #[arg(long, default_value = "0.1")]
        commission_rate: String,
        /// Highest commission rate ever.
        #[arg(long, default_value = "0.2")]
        commission_max_rate: String,
        /// Largest daily commission change.
        #[arg(long, default_value = "0.01")]
        commission_max_change_rate: String,
        /// Minimum self-delegation.
        #[arg(long, default_value = "1")]
        min_self_delegation: String,
        #[command(flatten)]
        tx: TxFlags,
    },
    /// Change a validator's moniker, commission rate or minimum self-delegation.
    EditValidator {
        /// New moniker.
        #[arg(long)]
        new_moniker: Option<String>,
        /// New commission rate.
        #[arg(long)]
        commission_rate: Option<String>,
        /// New minimum self-delegation.
        #[arg(long)]
        min_self_delegation: Option<String>,
        #[command(flatten)]
        tx: TxFlags,
    },
    /// Delegate to a validator.
    Delegate {
        /// The validator (cosmosvaloper…).
        validator: String,
        /// The amount, e.g. 1000stake.
        amount: String,
        #[command(flatten)]
        tx: TxFlags,
    },
    /// Move a delegation to another validator.
    Redelegate {
        /// From (cosmosvaloper…).
        src_validator: String,
        /// To (cosmosvaloper…).
        dst_validator: String,
        /// The amount.
        amount: String,
        #[command(flatten)]
        tx: TxFlags,
    },
    /// Undelegate: the tokens return after the unbonding time.
    Unbond {
        /// The validator (cosmosvaloper…).
        validator: String,
        /// The amount.
        amount: String,
        #[command(flatten)]
        tx: TxFlags,
    },
    /// Cancel (part of) an unbonding, delegating it back.
    CancelUnbond {
        /// The validator (cosmosvaloper…).
        validator: String,
        /// The amount.
        amount: String,
        /// The height the unbonding began at.
        creation_height: i64,
        #[command(flatten)]
        tx: TxFlags,
    },
}

/// `tx slashing …`.
#[derive(Subcommand)]
pub(crate) enum SlashingTx {
    /// Return a validator jailed for downtime to the active set (signed by its operator).
    Unjail {
        #[command(flatten)]
        tx: TxFlags,
    },
}

/// `tx distribution …`.
#[derive(Subcommand)]
pub(crate) enum DistributionTx {
    /// Withdraw the rewards of a delegation (and, with --commission, the validator's
    /// commission, when --from is its operator).
    WithdrawRewards {
        /// The validator (cosmosvaloper…).
        validator: String,
        /// Also withdraw the validator's commission (in the same transaction).
        #[arg(long)]
        commission: bool,
        #[command(flatten)]
        tx: TxFlags,
    },
    /// Withdraw the rewards of every delegation of --from, in one transaction.
    WithdrawAllRewards {
        #[command(flatten)]
        tx: TxFlags,
    },
    /// Send future rewards of --from to another address.
    SetWithdrawAddr {
        /// The address rewards go to (cosmos…).
        withdraw_address: String,
        #[command(flatten)]
        tx: TxFlags,
    },
}

/// The gas limit of a command whose `--gas` is not given (gaiad's 200000 is too little for
/// `create-validator`; bank sends keep it).
const DEFAULT_GAS: u64 = 300_000;

/// Sign `msg` with the key named in `flags` and broadcast it.
pub(crate) fn broadcast(
    cli: &Cli,
    flags: &TxFlags,
    msg: impl FnOnce(&Address) -> Result<Any>,
) -> Result<()> {
    broadcast_msgs(cli, flags, |signer| Ok(vec![msg(signer)?]))
}

/// Sign the messages `msgs` builds for the key named in `flags`, in one transaction, and
/// broadcast it.
pub(crate) fn broadcast_msgs(
    cli: &Cli,
    flags: &TxFlags,
    msgs: impl FnOnce(&Address) -> Result<Vec<Any>>,
) -> Result<()> {
    send_msgs(cli, &flags.from, &flags.common, DEFAULT_GAS, msgs)
}

/// The signer's address and, unless only generating, its secret key: `from` names a key, or
/// (with --generate-only) is an address.
fn signer(cli: &Cli, from: &str, t: &TxCommon) -> Result<(Address, Option<[u8; 32]>)> {
    if t.generate_only {
        if let Ok(address) = from.parse::<Address>() {
            return Ok((address, None));
        }
        let ring = keyring(cli, t.sign.keyring_backend, false)?;
        return Ok((ring.show(from)?.address.parse()?, None));
    }
    let ring = keyring(cli, t.sign.keyring_backend, true)?;
    let address = ring.show(from)?.address.parse()?;
    Ok((address, Some(ring.secret(from)?)))
}

/// The signer's account number and sequence: from the flags when both are given (required
/// with --offline), else from the node.
fn numbers(sign: &SignArgs, signer: &Address) -> Result<(u64, u64)> {
    match (sign.account_number, sign.sequence) {
        (Some(n), Some(s)) => Ok((n, s)),
        _ if sign.offline => bail!("--offline needs --account-number and --sequence"),
        (n, s) => {
            let client = keystone::client::Client::new(&sign.node)?;
            let (number, sequence) = build::account_numbers(&client, signer)?;
            Ok((n.unwrap_or(number), s.unwrap_or(sequence)))
        }
    }
}

fn chain_id(sign: &SignArgs) -> Result<&str> {
    match sign.chain_id.as_deref() {
        Some(c) if !c.is_empty() => Ok(c),
        _ => bail!("--chain-id is required to sign"),
    }
}

/// Build the transaction of `msgs` for `from` with the flags `t`; print it unsigned
/// (--generate-only), or sign it, send it with `broadcast_tx_sync` and print the SDK's
/// `TxResponse` shape (a refusal is an error).
pub(crate) fn send_msgs(
    cli: &Cli,
    from: &str,
    t: &TxCommon,
    default_gas: u64,
    msgs: impl FnOnce(&Address) -> Result<Vec<Any>>,
) -> Result<()> {
    if !t.fees.is_empty() && !t.gas_prices.is_empty() {
        bail!("cannot provide both fees and gas prices");
    }
    let (signer, secret) = signer(cli, from, t)?;
    let fees: Coins = t
        .fees
        .parse()
        .with_context(|| format!("invalid fees {:?}", t.fees))?;
    let auto = t.gas.as_deref() == Some("auto");
    let gas = match t.gas.as_deref() {
        None => default_gas,
        Some("auto") => 0,
        Some(g) => g
            .parse()
            .with_context(|| format!("invalid gas {g:?}: a number or auto"))?,
    };
    let (body, mut auth) = build::unsigned(msgs(&signer)?, &t.memo, &fees, gas)?;
    let mut numbers_read = None;
    if auto {
        if t.sign.offline {
            bail!("--gas auto simulates on a node: not with --offline");
        }
        let (number, sequence) = numbers(&t.sign, &signer)?;
        numbers_read = Some((number, sequence));
        let client = keystone::client::Client::new(&t.sign.node)?;
        let public = secret.as_ref().map(build::public_key).transpose()?;
        let simulated = build::simulate(&client, &body, &auth, public, sequence)?;
        let gas = build::adjusted_gas(simulated, &t.gas_adjustment)?;
        eprintln!("gas estimate: {gas}");
        if let Some(fee) = auth.fee.as_mut() {
            fee.gas_limit = gas;
        }
    }
    if !t.gas_prices.is_empty() {
        if let Some(fee) = auth.fee.as_mut() {
            let fees = build::fees_for_gas(&t.gas_prices, fee.gas_limit)?;
            fee.amount = unsigned_fee(&fees);
        }
    }
    let Some(secret) = secret else {
        // Only --generate-only gets here without a key.
        crate::print_json(&keystone_proto::tx_json::tx_parts_to_json(
            &body,
            &auth,
            &[],
        ));
        return Ok(());
    };
    let (number, sequence) = match numbers_read {
        Some(n) => n,
        None => numbers(&t.sign, &signer)?,
    };
    let raw = build::sign_parts(&secret, body, auth, chain_id(&t.sign)?, number, sequence)?;
    broadcast_raw(&t.sign.node, &raw)
}

/// The fee coins of `fees` as the auth info carries them.
fn unsigned_fee(fees: &Coins) -> Vec<cosmos_sdk_proto::cosmos::base::v1beta1::Coin> {
    fees.iter()
        .map(|c| cosmos_sdk_proto::cosmos::base::v1beta1::Coin {
            denom: c.denom,
            amount: c.amount.to_string(),
        })
        .collect()
}

/// Send signed `TxRaw` bytes with `broadcast_tx_sync` and print the SDK's `TxResponse`
/// shape; a refusal is an error.
pub(crate) fn broadcast_raw(node: &str, raw: &[u8]) -> Result<()> {
    use base64::Engine as _;
    let client = keystone::client::Client::new(node)?;
    let r = client.call(
        "broadcast_tx_sync",
        serde_json::json!({"tx": base64::engine::general_purpose::STANDARD.encode(raw)}),
    )?;
    crate::print_json(
        &serde_json::json!({"height": "0", "txhash": r["hash"], "codespace": r["codespace"], "code": r["code"], "raw_log": r["log"]}),
    );
    if r["code"].as_u64().unwrap_or(1) != 0 {
        bail!(
            "the transaction was refused: {}",
            r["log"].as_str().unwrap_or("")
        );
    }
    Ok(())
}

/// A transaction in the SDK's JSON form, read from `file`.
fn read_tx_json(file: &std::path::Path) -> Result<serde_json::Value> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not JSON", file.display()))
}

/// `tx sign FILE`: sign the transaction in `file` with key `from` and print it (or write it
/// to `output`). It is signed by one signer: a file that already holds a signature is refused
/// unless `overwrite`.
pub(crate) fn sign_file(
    cli: &Cli,
    file: &std::path::Path,
    from: &str,
    sign: &SignArgs,
    overwrite: bool,
    output: Option<&std::path::Path>,
) -> Result<()> {
    let (body, auth, signatures) =
        keystone_proto::tx_json::tx_parts_from_json(&read_tx_json(file)?)
            .with_context(|| format!("{} is not a transaction", file.display()))?;
    if !signatures.is_empty() && !overwrite {
        bail!(
            "{} is already signed: --overwrite replaces its signature",
            file.display()
        );
    }
    let ring = keyring(cli, sign.keyring_backend, true)?;
    let signer: Address = ring.show(from)?.address.parse()?;
    let secret = ring.secret(from)?;
    let (number, sequence) = numbers(sign, &signer)?;
    let raw = build::sign_parts(&secret, body, auth, chain_id(sign)?, number, sequence)?;
    let json = keystone_proto::tx_json::tx_to_json(&raw)?;
    match output {
        Some(path) => std::fs::write(path, format!("{json}\n"))
            .with_context(|| format!("cannot write {}", path.display()))?,
        None => crate::print_json(&json),
    }
    Ok(())
}

/// `tx broadcast FILE`.
pub(crate) fn broadcast_file(file: &std::path::Path, node: &str) -> Result<()> {
    let raw = keystone_proto::tx_json::tx_from_json(&read_tx_json(file)?)
        .with_context(|| format!("{} is not a transaction", file.display()))?;
    broadcast_raw(node, &raw)
}

/// `tx encode FILE`: the transaction's `TxRaw` bytes in base64, as `broadcast_tx_sync` takes.
pub(crate) fn encode_file(file: &std::path::Path) -> Result<()> {
    use base64::Engine as _;
    let raw = keystone_proto::tx_json::tx_from_json(&read_tx_json(file)?)
        .with_context(|| format!("{} is not a transaction", file.display()))?;
    println!("{}", base64::engine::general_purpose::STANDARD.encode(raw));
    Ok(())
}

/// `tx decode BASE64`: the transaction as JSON.
pub(crate) fn decode(encoded: &str) -> Result<()> {
    use base64::Engine as _;
    let raw = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .context("not base64")?;
    crate::print_json(&keystone_proto::tx_json::tx_to_json(&raw)?);
    Ok(())
}

/// The message of `tx bank multi-send`: `amount` from `from` to each of `to` (with `split`,
/// `amount` divided evenly among them, the remainder staying with the sender, as gaiad's
/// `--split`).
pub(crate) fn multi_send(from: &Address, to: &[String], amount: &str, split: bool) -> Result<Any> {
    use cosmos_sdk_proto::cosmos::bank::v1beta1::{Input, MsgMultiSend, Output};
    use cosmos_sdk_proto::cosmos::base::v1beta1::Coin as ProtoCoin;
    use keystone_proto::prost::Message;
    if to.is_empty() {
        bail!("multi-send needs at least one recipient");
    }
    let coins: Coins = amount
        .parse()
        .with_context(|| format!("invalid coins {amount:?}"))?;
    if coins.is_empty() {
        bail!("multi-send needs an amount");
    }
    let n = u128::try_from(to.len()).context("too many recipients")?;
    let mut each = Vec::new();
    for c in coins.iter() {
        let total: u128 = c
            .amount
            .to_string()
            .parse()
            .with_context(|| format!("amount {c} is too large"))?;
        let share = if split { total / n } else { total };
        if share == 0 {
            bail!("{c} split {n} ways is nothing");
        }
        each.push((c.denom, share));
    }
    let coins_of = |scale: u128| -> Result<Vec<ProtoCoin>> {
        each.iter()
            .map(|(denom, share)| {
                Ok(ProtoCoin {
                    denom: denom.clone(),
                    amount: share
                        .checked_mul(scale)
                        .context("the total overflows")?
                        .to_string(),
                })
            })
            .collect()
    };
    let mut outputs = Vec::new();
    for addr in to {
        let address: Address = addr
            .parse()
            .with_context(|| format!("invalid recipient {addr:?}"))?;
        outputs.push(Output {
            address: address.to_string(),
            coins: coins_of(1)?,
        });
    }
    Ok(Any {
        type_url: "/cosmos.bank.v1beta1.MsgMultiSend".into(),
        value: MsgMultiSend {
            inputs: vec![Input {
                address: from.to_string(),
                coins: coins_of(n)?,
            }],
            outputs,
        }
        .encode_to_vec(),
    })
}

fn coin(s: &str) -> Result<Coin> {
    s.parse().with_context(|| format!("invalid amount {s:?}"))
}

fn valoper(s: &str) -> Result<String> {
    Address::from_bech32(s, "cosmosvaloper").with_context(|| format!("invalid validator {s:?}"))?;
    Ok(s.to_string())
}

/// Run a `tx staking` command.
pub(crate) fn staking(cli: &Cli, cmd: &StakingTx) -> Result<()> {
    match cmd {
        StakingTx::CreateValidator {
            amount,
            moniker,
            commission_rate,
            commission_max_rate,
            commission_max_change_rate,
            min_self_delegation,
            tx,
        } => {
            let h = keystone::home::Home(crate::home(cli)?);
            let key = keystone_consensus_driver::privval::read_key_file(
                &h.config("priv_validator_key.json"),
            )?
            .public_key();
            let value = coin(amount)?;
            let terms = keystone::genutil::ValidatorTerms {
                commission_rate: commission_rate.clone(),
                commission_max_rate: commission_max_rate.clone(),
                commission_max_change_rate: commission_max_change_rate.clone(),
                min_self_delegation: min_self_delegation.clone(),
                ..keystone::genutil::ValidatorTerms::defaults(moniker)
            };
            broadcast(cli, tx, |op| {
                build::msg_create_validator(op, &key.0, &value, &terms)
            })
        }
        StakingTx::EditValidator {
            new_moniker,
            commission_rate,
            min_self_delegation,
            tx,
        } => broadcast(cli, tx, |op| {
            build::msg_edit_validator(
                op,
                new_moniker.as_deref(),
                commission_rate.as_deref(),
                min_self_delegation.as_deref(),
            )
        }),
        StakingTx::Delegate {
            validator,
            amount,
            tx,
        } => {
            let (v, a) = (valoper(validator)?, coin(amount)?);
            broadcast(cli, tx, |d| Ok(build::msg_delegate(d, &v, &a)))
        }
        StakingTx::Redelegate {
            src_validator,
            dst_validator,
            amount,
            tx,
        } => {
            let (s, d, a) = (
                valoper(src_validator)?,
                valoper(dst_validator)?,
                coin(amount)?,
            );
            broadcast(cli, tx, |del| Ok(build::msg_redelegate(del, &s, &d, &a)))
        }
        StakingTx::Unbond {
            validator,
            amount,
            tx,
        } => {
            let (v, a) = (valoper(validator)?, coin(amount)?);
            broadcast(cli, tx, |d| Ok(build::msg_undelegate(d, &v, &a)))
        }
        StakingTx::CancelUnbond {
            validator,
            amount,
            creation_height,
            tx,
        } => {
            let (v, a) = (valoper(validator)?, coin(amount)?);
            broadcast(cli, tx, |d| {
                Ok(build::msg_cancel_unbond(d, &v, &a, *creation_height))
            })
        }
    }
}

/// Run a `tx slashing` command.
pub(crate) fn slashing(cli: &Cli, cmd: &SlashingTx) -> Result<()> {
    match cmd {
        // The signer's own operator address: only the operator may unjail its validator.
        SlashingTx::Unjail { tx } => broadcast(cli, tx, |op| Ok(build::msg_unjail(op))),
    }
}

/// The validators `delegator` delegates to, from the node's staking LCD route (the order it
/// answers in).
fn delegated_validators(node: &str, delegator: &Address) -> Result<Vec<String>> {
    let answer = super::query::lcd(
        node,
        &format!("/cosmos/staking/v1beta1/delegations/{delegator}"),
        "",
    )?;
    validators_of(&answer)
}

/// The validator of each delegation in a `QueryDelegatorDelegationsResponse` (LCD JSON).
fn validators_of(answer: &serde_json::Value) -> Result<Vec<String>> {
    let Some(list) = answer["delegation_responses"].as_array() else {
        bail!("the node's answer has no delegation_responses: {answer}");
    };
    list.iter()
        .map(|r| {
            r["delegation"]["validator_address"]
                .as_str()
                .map(str::to_string)
                .with_context(|| format!("a delegation without a validator address: {r}"))
        })
        .collect()
}

/// `withdraw-rewards`: `delegator`'s rewards from `validator`, then, with `commission`, the
/// validator's commission — gaiad's order, in one transaction.
fn withdraw_msgs(delegator: &Address, validator: &str, commission: bool) -> Result<Vec<Any>> {
    let mut msgs = vec![build::msg_withdraw_delegator_reward(delegator, validator)];
    if commission {
        // The commission message is the operator's to sign, and these transactions have one
        // signer: refuse here rather than have the node refuse the signature.
        let own = delegator.to_valoper();
        if own != validator {
            bail!("--commission: {delegator} is not the operator of {validator} (its validator address would be {own})");
        }
        msgs.push(build::msg_withdraw_validator_commission(validator));
    }
    Ok(msgs)
}

/// Run a `tx distribution` command.
pub(crate) fn distribution(cli: &Cli, cmd: &DistributionTx) -> Result<()> {
    match cmd {
        DistributionTx::WithdrawRewards {
            validator,
            commission,
            tx,
        } => {
            let v = valoper(validator)?;
            broadcast_msgs(cli, tx, |del| withdraw_msgs(del, &v, *commission))
        }
        DistributionTx::WithdrawAllRewards { tx } => broadcast_msgs(cli, tx, |del| {
            let validators = delegated_validators(&tx.common.sign.node, del)?;
            if validators.is_empty() {
                bail!("{del} has no delegations: no rewards to withdraw");
            }
            Ok(validators
                .iter()
                .map(|v| build::msg_withdraw_delegator_reward(del, v))
                .collect())
        }),
        DistributionTx::SetWithdrawAddr {
            withdraw_address,
            tx,
        } => {
            let to: Address = withdraw_address
                .parse()
                .with_context(|| format!("invalid withdraw address {withdraw_address:?}"))?;
            broadcast(cli, tx, |del| Ok(build::msg_set_withdraw_address(del, &to)))
        }
    }
}

#[cfg(test)]
mod tests {
    //! The command lines of `tx slashing` and `tx distribution` as clap parses them: the same
    //! flags as `tx staking`, and the arguments each command takes.

    use super::*;
    use crate::{Cli, Command, TxCommand};
    use clap::Parser;

    /// Validator `[0x11; 20]`'s operator address.
    fn op() -> String {
        Address([0x11; 20]).to_valoper()
    }
    const FLAGS: [&str; 11] = [
        "--from",
        "val",
        "--chain-id",
        "pos-1",
        "--fees",
        "500stake",
        "--gas",
        "250000",
        "--keyring-backend",
        "test",
        "-y",
    ];

    fn parse(args: &[&str]) -> std::result::Result<TxCommand, clap::Error> {
        let argv = ["keystone", "tx"].iter().chain(args).chain(FLAGS.iter());
        match Cli::try_parse_from(argv)?.command {
            Command::Tx { command } => Ok(command),
            _ => panic!("not a tx command: {args:?}"),
        }
    }

    fn flags() -> TxFlags {
        TxFlags {
            from: "val".into(),
            common: TxCommon {
                sign: SignArgs {
                    chain_id: Some("pos-1".into()),
                    node: "tcp://127.0.0.1:26657".into(),
                    keyring_backend: Backend::Test,
                    offline: false,
                    account_number: None,
                    sequence: None,
                },
                fees: "500stake".into(),
                gas: Some("250000".into()),
                gas_adjustment: "1".into(),
                gas_prices: String::new(),
                memo: String::new(),
                yes: true,
                generate_only: false,
            },
        }
    }

    #[test]
    fn unjail_takes_only_the_transaction_flags() {
        match parse(&["slashing", "unjail"]).expect("parses") {
            TxCommand::Slashing {
                command: SlashingTx::Unjail { tx },
            } => assert_eq!(tx, flags()),
            _ => panic!("not unjail"),
        }
        assert!(parse(&["slashing", "unjail", &op()]).is_err());
    }

    #[test]
    fn withdraw_rewards_takes_a_validator_and_an_optional_commission_flag() {
        let v = op();
        for (extra, want) in [(None, false), (Some("--commission"), true)] {
            let mut args = vec!["distribution", "withdraw-rewards", v.as_str()];
            args.extend(extra);
            match parse(&args).expect("parses") {
                TxCommand::Distribution {
                    command:
                        DistributionTx::WithdrawRewards {
                            validator,
                            commission,
                            tx,
                        },
                } => {
                    assert_eq!(validator, v);
                    assert_eq!(commission, want);
                    assert_eq!(tx, flags());
                }
                _ => panic!("not withdraw-rewards"),
            }
        }
        assert!(parse(&["distribution", "withdraw-rewards"]).is_err());
    }

    #[test]
    fn withdraw_all_rewards_and_set_withdraw_addr() {
        match parse(&["distribution", "withdraw-all-rewards"]).expect("parses") {
            TxCommand::Distribution {
                command: DistributionTx::WithdrawAllRewards { tx },
            } => assert_eq!(tx, flags()),
            _ => panic!("not withdraw-all-rewards"),
        }
        let to = Address([0x33; 20]).to_string();
        match parse(&["distribution", "set-withdraw-addr", &to]).expect("parses") {
            TxCommand::Distribution {
                command:
                    DistributionTx::SetWithdrawAddr {
                        withdraw_address,
                        tx,
                    },
            } => {
                assert_eq!(withdraw_address, to);
                assert_eq!(tx, flags());
            }
            _ => panic!("not set-withdraw-addr"),
        }
    }

    #[test]
    fn the_flags_are_the_staking_commands_flags() {
        match parse(&["staking", "delegate", &op(), "5stake"]).expect("parses") {
            TxCommand::Staking {
                command: StakingTx::Delegate { tx, .. },
            } => assert_eq!(tx, flags()),
            _ => panic!("not delegate"),
        }
        // --from is required, as for staking.
        let without_from = Cli::try_parse_from([
            "keystone",
            "tx",
            "distribution",
            "withdraw-all-rewards",
            "--chain-id",
            "c",
        ]);
        assert!(without_from.is_err());
    }

    #[test]
    fn commission_is_withdrawn_after_the_rewards_and_only_by_the_operator() {
        let operator = Address([0x11; 20]);
        let urls =
            |msgs: Vec<Any>| -> Vec<String> { msgs.into_iter().map(|m| m.type_url).collect() };
        assert_eq!(
            urls(withdraw_msgs(&operator, &op(), false).expect("rewards")),
            ["/cosmos.distribution.v1beta1.MsgWithdrawDelegatorReward"]
        );
        let both = withdraw_msgs(&operator, &op(), true).expect("rewards and commission");
        assert_eq!(
            both[0],
            build::msg_withdraw_delegator_reward(&operator, &op())
        );
        assert_eq!(both[1], build::msg_withdraw_validator_commission(&op()));
        assert_eq!(both.len(), 2);
        // A delegator of someone else's validator may withdraw its rewards, not the commission.
        let delegator = Address([0x22; 20]);
        assert_eq!(
            withdraw_msgs(&delegator, &op(), false)
                .expect("rewards")
                .len(),
            1
        );
        let e = withdraw_msgs(&delegator, &op(), true).expect_err("not the operator");
        assert!(e.to_string().contains("is not the operator of"), "{e}");
    }

    #[test]
    fn withdraw_all_reads_the_validators_of_the_staking_answer() {
        let other = Address([0x44; 20]).to_valoper();
        let answer = serde_json::json!({
            "delegation_responses": [
                {"delegation": {"delegator_address": "cosmos1…", "validator_address": op(), "shares": "1.000000000000000000"},
                 "balance": {"denom": "stake", "amount": "1"}},
                {"delegation": {"delegator_address": "cosmos1…", "validator_address": other, "shares": "2.000000000000000000"},
                 "balance": {"denom": "stake", "amount": "2"}},
            ],
            "pagination": {"next_key": null, "total": "2"},
        });
        assert_eq!(
            validators_of(&answer).expect("validators"),
            vec![op(), other]
        );
        let none = serde_json::json!({"delegation_responses": [], "pagination": {"next_key": null, "total": "0"}});
        assert_eq!(validators_of(&none).expect("none"), Vec::<String>::new());
        assert!(validators_of(&serde_json::json!({"code": 3})).is_err());
    }
}
