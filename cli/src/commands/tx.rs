//! `keystone tx …`: sign one message with a key from the keyring and broadcast it
//! (`broadcast_tx_sync`, as gaiad's default), printing the SDK's `TxResponse` JSON shape.

use crate::{keyring, Backend, Cli};
use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use cosmos_sdk_proto::Any;
use keystone::tx as build;
use keystone_modules::{Address, Coin, Coins};

/// The flags every transaction takes, as gaiad names them.
#[derive(Args, Clone, Debug)]
pub(crate) struct TxFlags {
    /// The signer's key name.
    #[arg(long)]
    pub(crate) from: String,
    /// The chain id (signed over).
    #[arg(long)]
    pub(crate) chain_id: String,
    /// The node's RPC address.
    #[arg(long, default_value = "tcp://127.0.0.1:26657")]
    pub(crate) node: String,
    /// Fees, e.g. 500stake.
    #[arg(long, default_value = "")]
    pub(crate) fees: String,
    /// Gas limit.
    #[arg(long, default_value_t = 300_000)]
    pub(crate) gas: u64,
    /// A memo.
    #[arg(long, default_value = "")]
    pub(crate) memo: String,
    /// Skip confirmation (there is none; accepted for gaiad compatibility).
    #[arg(short = 'y', long)]
    pub(crate) yes: bool,
    /// Where the key is.
    #[arg(long, value_enum, default_value_t = Backend::File)]
    pub(crate) keyring_backend: Backend,
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

/// Sign `msg` with the key named in `flags` and broadcast it.
pub(crate) fn broadcast(
    cli: &Cli,
    flags: &TxFlags,
    msg: impl FnOnce(&Address) -> Result<Any>,
) -> Result<()> {
    sign_and_send(
        cli,
        &flags.from,
        flags.keyring_backend,
        &flags.node,
        &flags.chain_id,
        &flags.fees,
        flags.gas,
        &flags.memo,
        msg,
    )
}

/// Sign one message with key `from` (account number and sequence read from `node`), send it
/// with `broadcast_tx_sync`, and print the SDK's `TxResponse` shape; a refusal is an error.
#[allow(clippy::too_many_arguments)] // one per transaction flag
pub(crate) fn sign_and_send(
    cli: &Cli,
    from: &str,
    backend: Backend,
    node: &str,
    chain_id: &str,
    fees: &str,
    gas: u64,
    memo: &str,
    msg: impl FnOnce(&Address) -> Result<Any>,
) -> Result<()> {
    let ring = keyring(cli, backend, true)?;
    let signer: Address = ring.show(from)?.address.parse()?;
    let secret = ring.secret(from)?;
    let fees: Coins = fees
        .parse()
        .with_context(|| format!("invalid fees {fees:?}"))?;
    let client = keystone::client::Client::new(node)?;
    let (number, sequence) = build::account_numbers(&client, &signer)?;
    let raw = build::sign(
        &secret,
        msg(&signer)?,
        memo,
        &fees,
        gas,
        chain_id,
        number,
        sequence,
    )?;
    use base64::Engine as _;
    let r = client.call(
        "broadcast_tx_sync",
        serde_json::json!({"tx": base64::engine::general_purpose::STANDARD.encode(&raw)}),
    )?;
    println!(
        "{}",
        serde_json::json!({"height": "0", "txhash": r["hash"], "codespace": r["codespace"], "code": r["code"], "raw_log": r["log"]})
    );
    if r["code"].as_u64().unwrap_or(1) != 0 {
        bail!(
            "the transaction was refused: {}",
            r["log"].as_str().unwrap_or("")
        );
    }
    Ok(())
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
