//! `keystone genesis gentx` and `collect-gentxs`.

use crate::{home, keyring, Backend, Cli};
use anyhow::Result;
use clap::Args;
use keystone::genutil::{self, ValidatorTerms};
use keystone::home::Home;
use std::path::PathBuf;

/// `genesis gentx`'s arguments, as gaiad's.
#[derive(Args)]
pub(crate) struct GentxArgs {
    /// The operator's key name.
    key: String,
    /// The self-delegation, e.g. 100000000stake.
    amount: String,
    /// The chain id (must be the genesis's).
    #[arg(long, env = "KEYSTONE_CHAIN_ID")]
    chain_id: String,
    /// The validator's name (default: the node's moniker from config.toml).
    #[arg(long)]
    moniker: Option<String>,
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
    /// Where to write it (default config/gentx/gentx-<node id>.json).
    #[arg(long)]
    output_document: Option<PathBuf>,
    /// Where the key is.
    #[arg(long, env = "KEYSTONE_KEYRING_BACKEND", value_enum, default_value_t = Backend::File)]
    keyring_backend: Backend,
}

/// Run `genesis gentx`.
pub(crate) fn gentx(cli: &Cli, a: &GentxArgs) -> Result<()> {
    let h = Home(home(cli)?);
    let ring = keyring(cli, a.keyring_backend, true)?;
    let operator = ring.show(&a.key)?.address.parse()?;
    let secret = ring.secret(&a.key)?;
    let moniker = match &a.moniker {
        Some(m) => m.clone(),
        None => keystone::home::read_node_config(&h.config("config.toml"))?.0,
    };
    let terms = ValidatorTerms {
        commission_rate: a.commission_rate.clone(),
        commission_max_rate: a.commission_max_rate.clone(),
        commission_max_change_rate: a.commission_max_change_rate.clone(),
        min_self_delegation: a.min_self_delegation.clone(),
        ..ValidatorTerms::defaults(&moniker)
    };
    let path = genutil::gentx(
        &h,
        &secret,
        &operator,
        &a.amount,
        &a.chain_id,
        &terms,
        a.output_document.as_deref(),
    )?;
    eprintln!(
        "Genesis transaction written to {:?}",
        path.display().to_string()
    );
    Ok(())
}

/// Run `genesis collect-gentxs`.
pub(crate) fn collect_gentxs(cli: &Cli, gentx_dir: Option<&std::path::Path>) -> Result<()> {
    let h = Home(home(cli)?);
    let n = genutil::collect_gentxs(&h, gentx_dir)?;
    eprintln!(
        "Collected {n} genesis transactions into {}",
        h.genesis().display()
    );
    Ok(())
}
