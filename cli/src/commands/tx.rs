//! `keystone tx …`: sign one message with a key from the keyring and broadcast it
//! (`broadcast_tx_sync`, as gaiad's default), printing the SDK's `TxResponse` JSON shape.

use crate::{keyring, Backend, Cli};
use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use cosmos_sdk_proto::Any;
use keystone::tx as build;
use keystone_modules::{Address, Coin, Coins};

/// The flags every transaction takes, as gaiad names them.
#[derive(Args, Clone, Debug, PartialEq, Eq)]
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
    sign_and_send_msgs(
        cli,
        &flags.from,
        flags.keyring_backend,
        &flags.node,
        &flags.chain_id,
        &flags.fees,
        flags.gas,
        &flags.memo,
        msgs,
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
    sign_and_send_msgs(
        cli,
        from,
        backend,
        node,
        chain_id,
        fees,
        gas,
        memo,
        |signer| Ok(vec![msg(signer)?]),
    )
}

/// As [`sign_and_send`], for a transaction of several messages (in the order given).
#[allow(clippy::too_many_arguments)] // one per transaction flag
pub(crate) fn sign_and_send_msgs(
    cli: &Cli,
    from: &str,
    backend: Backend,
    node: &str,
    chain_id: &str,
    fees: &str,
    gas: u64,
    memo: &str,
    msgs: impl FnOnce(&Address) -> Result<Vec<Any>>,
) -> Result<()> {
    let ring = keyring(cli, backend, true)?;
    let signer: Address = ring.show(from)?.address.parse()?;
    let secret = ring.secret(from)?;
    let fees: Coins = fees
        .parse()
        .with_context(|| format!("invalid fees {fees:?}"))?;
    let client = keystone::client::Client::new(node)?;
    let (number, sequence) = build::account_numbers(&client, &signer)?;
    let raw = build::sign_msgs(
        &secret,
        msgs(&signer)?,
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
            let validators = delegated_validators(&tx.node, del)?;
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
            chain_id: "pos-1".into(),
            node: "tcp://127.0.0.1:26657".into(),
            fees: "500stake".into(),
            gas: 250_000,
            memo: String::new(),
            yes: true,
            keyring_backend: Backend::Test,
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
        // --from and --chain-id are required, as for staking.
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
