//! `keystone query staking|slashing|distribution|mint …`: the LCD routes the application
//! answers (`keystone_app::lcd`), asked over `abci_query` and printed as the LCD's JSON — what
//! gaiad's `--output json` prints.

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
        #[arg(long, env = "KEYSTONE_NODE", default_value = crate::NODE)]
        node: String,
    },
    /// One validator.
    Validator {
        /// Its operator address (cosmosvaloper…).
        validator: String,
        /// The node's RPC address.
        #[arg(long, env = "KEYSTONE_NODE", default_value = crate::NODE)]
        node: String,
    },
    /// A delegation and what it is worth.
    Delegation {
        /// The delegator (cosmos…).
        delegator: String,
        /// The validator (cosmosvaloper…).
        validator: String,
        /// The node's RPC address.
        #[arg(long, env = "KEYSTONE_NODE", default_value = crate::NODE)]
        node: String,
    },
    /// Every delegation of a delegator.
    Delegations {
        /// The delegator (cosmos…).
        delegator: String,
        /// The node's RPC address.
        #[arg(long, env = "KEYSTONE_NODE", default_value = crate::NODE)]
        node: String,
    },
    /// An unbonding delegation and its entries.
    UnbondingDelegation {
        /// The delegator (cosmos…).
        delegator: String,
        /// The validator (cosmosvaloper…).
        validator: String,
        /// The node's RPC address.
        #[arg(long, env = "KEYSTONE_NODE", default_value = crate::NODE)]
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
        #[arg(long, env = "KEYSTONE_NODE", default_value = crate::NODE)]
        node: String,
    },
    /// Bonded and not-bonded tokens.
    Pool {
        /// The node's RPC address.
        #[arg(long, env = "KEYSTONE_NODE", default_value = crate::NODE)]
        node: String,
    },
    /// The staking params.
    Params {
        /// The node's RPC address.
        #[arg(long, env = "KEYSTONE_NODE", default_value = crate::NODE)]
        node: String,
    },
}

/// `query slashing …`.
#[derive(Subcommand)]
pub(crate) enum SlashingQuery {
    /// A validator's liveness record.
    SigningInfo {
        /// Its consensus address (cosmosvalcons…, as `tendermint show-address` prints it).
        cons_address: String,
        /// The node's RPC address.
        #[arg(long, env = "KEYSTONE_NODE", default_value = crate::NODE)]
        node: String,
    },
    /// Every validator's liveness record.
    SigningInfos {
        /// The node's RPC address.
        #[arg(long, env = "KEYSTONE_NODE", default_value = crate::NODE)]
        node: String,
    },
    /// The slashing params.
    Params {
        /// The node's RPC address.
        #[arg(long, env = "KEYSTONE_NODE", default_value = crate::NODE)]
        node: String,
    },
}

/// `query distribution …`.
#[derive(Subcommand)]
pub(crate) enum DistributionQuery {
    /// A delegator's rewards: from every validator, or from one.
    Rewards {
        /// The delegator (cosmos…).
        delegator: String,
        /// Only from this validator (cosmosvaloper…).
        validator: Option<String>,
        /// The node's RPC address.
        #[arg(long, env = "KEYSTONE_NODE", default_value = crate::NODE)]
        node: String,
    },
    /// A validator's commission not yet withdrawn.
    Commission {
        /// The validator (cosmosvaloper…).
        validator: String,
        /// The node's RPC address.
        #[arg(long, env = "KEYSTONE_NODE", default_value = crate::NODE)]
        node: String,
    },
    /// Everything allocated to a validator and not yet paid out, its commission included.
    #[command(alias = "validator-outstanding-rewards")]
    OutstandingRewards {
        /// The validator (cosmosvaloper…).
        validator: String,
        /// The node's RPC address.
        #[arg(long, env = "KEYSTONE_NODE", default_value = crate::NODE)]
        node: String,
    },
    /// A validator's commission and its operator's self-delegation rewards.
    ValidatorDistributionInfo {
        /// The validator (cosmosvaloper…).
        validator: String,
        /// The node's RPC address.
        #[arg(long, env = "KEYSTONE_NODE", default_value = crate::NODE)]
        node: String,
    },
    /// The community pool.
    CommunityPool {
        /// The node's RPC address.
        #[arg(long, env = "KEYSTONE_NODE", default_value = crate::NODE)]
        node: String,
    },
    /// The distribution params.
    Params {
        /// The node's RPC address.
        #[arg(long, env = "KEYSTONE_NODE", default_value = crate::NODE)]
        node: String,
    },
}

/// `query mint …`.
#[derive(Subcommand)]
pub(crate) enum MintQuery {
    /// The mint params.
    Params {
        /// The node's RPC address.
        #[arg(long, env = "KEYSTONE_NODE", default_value = crate::NODE)]
        node: String,
    },
    /// The current annual inflation rate.
    Inflation {
        /// The node's RPC address.
        #[arg(long, env = "KEYSTONE_NODE", default_value = crate::NODE)]
        node: String,
    },
    /// The current annual provisions.
    AnnualProvisions {
        /// The node's RPC address.
        #[arg(long, env = "KEYSTONE_NODE", default_value = crate::NODE)]
        node: String,
    },
}

/// GET an LCD route from the node's application.
pub(crate) fn lcd(node: &str, path: &str, query: &str) -> Result<Value> {
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

const SLASHING: &str = "/cosmos/slashing/v1beta1";
const DISTRIBUTION: &str = "/cosmos/distribution/v1beta1";
const MINT: &str = "/cosmos/mint/v1beta1";

/// The route a `query slashing` command asks, and its node.
fn slashing_route(cmd: &SlashingQuery) -> (String, &str) {
    match cmd {
        SlashingQuery::SigningInfo { cons_address, node } => {
            (format!("{SLASHING}/signing_infos/{cons_address}"), node)
        }
        SlashingQuery::SigningInfos { node } => (format!("{SLASHING}/signing_infos"), node),
        SlashingQuery::Params { node } => (format!("{SLASHING}/params"), node),
    }
}

/// The route a `query distribution` command asks, and its node.
fn distribution_route(cmd: &DistributionQuery) -> (String, &str) {
    match cmd {
        DistributionQuery::Rewards {
            delegator,
            validator: None,
            node,
        } => (
            format!("{DISTRIBUTION}/delegators/{delegator}/rewards"),
            node,
        ),
        DistributionQuery::Rewards {
            delegator,
            validator: Some(v),
            node,
        } => (
            format!("{DISTRIBUTION}/delegators/{delegator}/rewards/{v}"),
            node,
        ),
        DistributionQuery::Commission { validator, node } => (
            format!("{DISTRIBUTION}/validators/{validator}/commission"),
            node,
        ),
        DistributionQuery::OutstandingRewards { validator, node } => (
            format!("{DISTRIBUTION}/validators/{validator}/outstanding_rewards"),
            node,
        ),
        DistributionQuery::ValidatorDistributionInfo { validator, node } => {
            (format!("{DISTRIBUTION}/validators/{validator}"), node)
        }
        DistributionQuery::CommunityPool { node } => {
            (format!("{DISTRIBUTION}/community_pool"), node)
        }
        DistributionQuery::Params { node } => (format!("{DISTRIBUTION}/params"), node),
    }
}

/// The route a `query mint` command asks, and its node.
fn mint_route(cmd: &MintQuery) -> (String, &str) {
    match cmd {
        MintQuery::Params { node } => (format!("{MINT}/params"), node),
        MintQuery::Inflation { node } => (format!("{MINT}/inflation"), node),
        MintQuery::AnnualProvisions { node } => (format!("{MINT}/annual_provisions"), node),
    }
}

/// Ask `route` of `node` and print the answer.
fn print_route((route, node): (String, &str)) -> Result<()> {
    println!("{}", lcd(node, &route, "")?);
    Ok(())
}

/// Run a `query slashing` command.
/// `query txs --query …`: the committed transactions CometBFT's `tx_search` finds, oldest
/// first, as the SDK's `SearchTxsResult` JSON (each a `TxResponse`, with its block's time).
pub(crate) fn txs(query: &str, page: u64, limit: u64, node: &str) -> Result<()> {
    use serde_json::json;
    if page == 0 || limit == 0 {
        anyhow::bail!("--page and --limit start at 1");
    }
    let client = keystone::client::Client::new(node)?;
    let r = client.call(
        "tx_search",
        json!({"query": query, "page": page.to_string(), "per_page": limit.to_string(), "order_by": "asc"}),
    )?;
    let total: u64 = r["total_count"]
        .as_str()
        .and_then(|t| t.parse().ok())
        .context("tx_search answered without a total_count")?;
    let mut times = std::collections::BTreeMap::new();
    let mut found = Vec::new();
    for t in r["txs"].as_array().map(Vec::as_slice).unwrap_or_default() {
        let height = keystone::rest::tx_height(t).map_err(anyhow::Error::msg)?;
        let time = match times.get(&height) {
            Some(time) => time,
            None => {
                let h = client.call("header", json!({"height": height.to_string()}))?;
                let text = h["header"]["time"].as_str().unwrap_or_default();
                let time = keystone_modules::Timestamp::parse(text)
                    .and_then(|t| t.to_rfc3339_seconds())
                    .with_context(|| format!("block {height} time {text:?}"))?;
                times.entry(height).or_insert(time)
            }
        };
        let (_, response) =
            keystone::rest::committed_tx_json(t, time).map_err(anyhow::Error::msg)?;
        found.push(response);
    }
    crate::print_json(&json!({
        "total_count": total.to_string(),
        "count": found.len().to_string(),
        "page_number": page.to_string(),
        "page_total": total.div_ceil(limit).to_string(),
        "limit": limit.to_string(),
        "txs": found,
    }));
    Ok(())
}

pub(crate) fn slashing(cmd: &SlashingQuery) -> Result<()> {
    print_route(slashing_route(cmd))
}

/// Run a `query distribution` command.
pub(crate) fn distribution(cmd: &DistributionQuery) -> Result<()> {
    print_route(distribution_route(cmd))
}

/// Run a `query mint` command.
pub(crate) fn mint(cmd: &MintQuery) -> Result<()> {
    print_route(mint_route(cmd))
}

#[cfg(test)]
mod tests {
    //! Each `query slashing|distribution|mint` command asks the LCD route it names, and the
    //! application answers that route (it is not "unknown route").

    use super::*;
    use crate::{Cli, Command, QueryCommand};
    use clap::Parser;
    use keystone_modules::{Address, MemState};

    /// The route `args` (after `keystone query`) asks, and its node.
    fn route(args: &[&str]) -> (String, String) {
        let argv = ["keystone", "query"].iter().chain(args);
        let cli = Cli::try_parse_from(argv).unwrap_or_else(|e| panic!("{args:?}: {e}"));
        let (path, node) = match &cli.command {
            Command::Query { command } => match command {
                QueryCommand::Slashing { command } => slashing_route(command),
                QueryCommand::Distribution { command } => distribution_route(command),
                QueryCommand::Mint { command } => mint_route(command),
                _ => panic!("not a slashing, distribution or mint query"),
            },
            _ => panic!("not a query"),
        };
        (path, node.to_string())
    }

    #[test]
    fn every_command_asks_a_route_the_application_answers() {
        let del = Address([0x22; 20]).to_string();
        let val = Address([0x11; 20]).to_valoper();
        let cons = Address([0x33; 20]).to_valcons();
        let cases: Vec<(Vec<&str>, String)> = vec![
            (
                vec!["slashing", "signing-info", &cons],
                format!("{SLASHING}/signing_infos/{cons}"),
            ),
            (
                vec!["slashing", "signing-infos"],
                format!("{SLASHING}/signing_infos"),
            ),
            (vec!["slashing", "params"], format!("{SLASHING}/params")),
            (
                vec!["distribution", "rewards", &del],
                format!("{DISTRIBUTION}/delegators/{del}/rewards"),
            ),
            (
                vec!["distribution", "rewards", &del, &val],
                format!("{DISTRIBUTION}/delegators/{del}/rewards/{val}"),
            ),
            (
                vec!["distribution", "commission", &val],
                format!("{DISTRIBUTION}/validators/{val}/commission"),
            ),
            (
                vec!["distribution", "outstanding-rewards", &val],
                format!("{DISTRIBUTION}/validators/{val}/outstanding_rewards"),
            ),
            (
                vec!["distribution", "validator-outstanding-rewards", &val],
                format!("{DISTRIBUTION}/validators/{val}/outstanding_rewards"),
            ),
            (
                vec!["distribution", "validator-distribution-info", &val],
                format!("{DISTRIBUTION}/validators/{val}"),
            ),
            (
                vec!["distribution", "community-pool"],
                format!("{DISTRIBUTION}/community_pool"),
            ),
            (
                vec!["distribution", "params"],
                format!("{DISTRIBUTION}/params"),
            ),
            (vec!["mint", "params"], format!("{MINT}/params")),
            (vec!["mint", "inflation"], format!("{MINT}/inflation")),
            (
                vec!["mint", "annual-provisions"],
                format!("{MINT}/annual_provisions"),
            ),
        ];
        let empty = MemState::default();
        for (args, want) in cases {
            let (path, node) = route(&args);
            assert_eq!(path, want, "{args:?}");
            assert_eq!(node, "tcp://127.0.0.1:26657");
            assert!(keystone_app::lcd::handles(&path), "{path}");
            // On an empty chain a route answers or says what is missing; never "unknown".
            if let Err(e) = keystone_app::lcd::get(&empty, &path, "") {
                assert!(e.code == 5, "{path}: {e:?}");
            }
        }
    }

    #[test]
    fn the_node_flag_is_taken_as_by_the_staking_queries() {
        let (_, node) = route(&["mint", "inflation", "--node", "tcp://10.0.0.1:26657"]);
        assert_eq!(node, "tcp://10.0.0.1:26657");
        assert!(Cli::try_parse_from(["keystone", "query", "distribution", "commission"]).is_err());
        assert!(Cli::try_parse_from(["keystone", "query", "slashing", "signing-info"]).is_err());
    }

    #[test]
    fn mint_answers_print_as_the_gateway_writes_them() {
        // What `query mint inflation` prints on a fresh chain: the default minter's rate as a
        // decimal string.
        let v = keystone_app::lcd::get(&MemState::default(), &format!("{MINT}/inflation"), "")
            .expect("inflation");
        assert_eq!(v.to_string(), r#"{"inflation":"0.130000000000000000"}"#);
    }
}
