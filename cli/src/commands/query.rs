//! `keystone query staking …`: the LCD routes the application answers (`keystone_app::lcd`),
//! asked over `abci_query` and printed as the LCD's JSON — what gaiad's `--output json` prints.

use anyhow::{Context, Result};
use clap::Subcommand;
use serde_json::Value;

/// `query staking …`.
#[derive(Subcommand)]
pub(crate) enum StakingQuery {
    /// Every validator (`--status BOND_STATUS_BONDED` for the bonded ones).
    Validators {
        /// Only validators with this status.
        #[arg(long)]
        status: Option<String>,
        /// The node's RPC address.
        #[arg(long, default_value = "tcp://127.0.0.1:26657")]
        node: String,
    },
    /// One validator.
    Validator {
        /// Its operator address (cosmosvaloper…).
        validator: String,
        /// The node's RPC address.
        #[arg(long, default_value = "tcp://127.0.0.1:26657")]
        node: String,
    },
    /// A delegation and what it is worth.
    Delegation {
        /// The delegator (cosmos…).
        delegator: String,
        /// The validator (cosmosvaloper…).
        validator: String,
        /// The node's RPC address.
        #[arg(long, default_value = "tcp://127.0.0.1:26657")]
        node: String,
    },
    /// Every delegation of a delegator.
    Delegations {
        /// The delegator (cosmos…).
        delegator: String,
        /// The node's RPC address.
        #[arg(long, default_value = "tcp://127.0.0.1:26657")]
        node: String,
    },
    /// An unbonding delegation and its entries.
    UnbondingDelegation {
        /// The delegator (cosmos…).
        delegator: String,
        /// The validator (cosmosvaloper…).
        validator: String,
        /// The node's RPC address.
        #[arg(long, default_value = "tcp://127.0.0.1:26657")]
        node: String,
    },
    /// A delegator's redelegations (optionally only from `src` to `dst`).
    Redelegation {
        /// The delegator (cosmos…).
        delegator: String,
        /// From (cosmosvaloper…).
        src_validator: Option<String>,
        /// To (cosmosvaloper…).
        dst_validator: Option<String>,
        /// The node's RPC address.
        #[arg(long, default_value = "tcp://127.0.0.1:26657")]
        node: String,
    },
    /// Bonded and not-bonded tokens.
    Pool {
        /// The node's RPC address.
        #[arg(long, default_value = "tcp://127.0.0.1:26657")]
        node: String,
    },
    /// The staking params.
    Params {
        /// The node's RPC address.
        #[arg(long, default_value = "tcp://127.0.0.1:26657")]
        node: String,
    },
}

/// GET an LCD route from the node's application.
fn lcd(node: &str, path: &str, query: &str) -> Result<Value> {
    use base64::Engine as _;
    let resp = keystone::client::Client::new(node)?.query(path, query.as_bytes(), 0, false)?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(resp["value"].as_str().unwrap_or(""))
        .context("the node's answer is not base64")?;
    serde_json::from_slice(&bytes).context("the node's answer is not JSON")
}

const STAKING: &str = "/cosmos/staking/v1beta1";

/// Run a `query staking` command.
pub(crate) fn staking(cmd: &StakingQuery) -> Result<()> {
    let out = match cmd {
        StakingQuery::Validators { status, node } => lcd(
            node,
            &format!("{STAKING}/validators"),
            &status
                .as_ref()
                .map_or(String::new(), |s| format!("status={s}")),
        )?,
        StakingQuery::Validator { validator, node } => {
            lcd(node, &format!("{STAKING}/validators/{validator}"), "")?
        }
        StakingQuery::Delegation {
            delegator,
            validator,
            node,
        } => lcd(
            node,
            &format!("{STAKING}/validators/{validator}/delegations/{delegator}"),
            "",
        )?,
        StakingQuery::Delegations { delegator, node } => {
            lcd(node, &format!("{STAKING}/delegations/{delegator}"), "")?
        }
        StakingQuery::UnbondingDelegation {
            delegator,
            validator,
            node,
        } => lcd(
            node,
            &format!(
                "{STAKING}/validators/{validator}/delegations/{delegator}/unbonding_delegation"
            ),
            "",
        )?,
        StakingQuery::Redelegation {
            delegator,
            src_validator,
            dst_validator,
            node,
        } => {
            let mut all = lcd(
                node,
                &format!("{STAKING}/delegators/{delegator}/redelegations"),
                "",
            )?;
            let keep = |r: &Value| {
                let red = &r["redelegation"];
                src_validator
                    .as_ref()
                    .is_none_or(|s| red["validator_src_address"] == s.as_str())
                    && dst_validator
                        .as_ref()
                        .is_none_or(|d| red["validator_dst_address"] == d.as_str())
            };
            if let Some(list) = all["redelegation_responses"].as_array_mut() {
                list.retain(keep);
                let n = list.len();
                all["pagination"]["total"] = n.to_string().into();
            }
            all
        }
        StakingQuery::Pool { node } => lcd(node, &format!("{STAKING}/pool"), "")?,
        StakingQuery::Params { node } => lcd(node, &format!("{STAKING}/params"), "")?,
    };
    println!("{out}");
    Ok(())
}
