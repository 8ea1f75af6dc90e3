//! The operator's commands on a home: `export`, `rollback`, and `config` (client.toml, whose
//! values become the client commands' flag defaults before the command line is parsed).

use crate::{home, print_json_text, Cli};
use anyhow::{Context, Result};
use clap::Subcommand;
use keystone::home::Home;
use std::path::PathBuf;

#[derive(Subcommand)]
pub(crate) enum ConfigCommand {
    /// Set a key: `config set client chain-id my-chain`.
    Set {
        /// Which file: `client`.
        #[arg(value_parser = ["client"])]
        file: String,
        /// chain-id, keyring-backend, output, node or broadcast-mode.
        key: String,
        /// The value.
        value: String,
    },
    /// Print a key's value.
    Get {
        /// Which file: `client`.
        #[arg(value_parser = ["client"])]
        file: String,
        /// The key.
        key: String,
    },
    /// Print the whole file.
    View {
        /// Which file: `client`.
        #[arg(value_parser = ["client"])]
        file: String,
    },
}

pub(crate) fn export(
    cli: &Cli,
    height: Option<u64>,
    output: Option<&std::path::Path>,
) -> Result<()> {
    let doc = keystone::export::export(&Home(home(cli)?), height)?;
    let text = doc.to_json()?;
    match output {
        Some(path) => std::fs::write(path, format!("{text}\n"))
            .with_context(|| format!("cannot write {}", path.display()))?,
        None => {
            use std::io::Write as _;
            let _ = writeln!(std::io::stdout(), "{text}");
        }
    }
    Ok(())
}

pub(crate) fn config(cli: &Cli, cmd: &ConfigCommand) -> Result<()> {
    use keystone::client_config as cc;
    let h = home(cli)?;
    let current = || -> Result<cc::ClientConfig> {
        Ok(cc::read(&h)?.unwrap_or_else(|| cc::ClientConfig::for_chain("")))
    };
    match cmd {
        ConfigCommand::Set { key, value, .. } => {
            let mut c = current()?;
            c.set(key, value)?;
            cc::write(&h, &c)?;
        }
        ConfigCommand::Get { key, .. } => print_json_text(current()?.get(key)?),
        ConfigCommand::View { .. } => print!("{}", current()?.to_toml()),
    }
    Ok(())
}

/// client.toml's values as the defaults of their flags (see `keystone::client_config`): the
/// home is found in the arguments as clap would find it, before clap runs.
pub(crate) fn apply_client_config() -> Result<()> {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let mut home = None;
    for (i, a) in args.iter().enumerate() {
        let Some(a) = a.to_str() else { continue };
        if a == "--" {
            break;
        }
        if a == "--home" {
            home = args.get(i + 1).map(PathBuf::from);
        } else if let Some(h) = a.strip_prefix("--home=") {
            home = Some(PathBuf::from(h));
        }
    }
    let home = match home {
        Some(h) => h,
        None => match std::env::var_os("HOME") {
            Some(base) => PathBuf::from(base).join(".keystone"),
            None => return Ok(()),
        },
    };
    let Some(config) = keystone::client_config::read(&home)? else {
        return Ok(());
    };
    for (var, value) in
        keystone::client_config::flag_defaults(&config, |v| std::env::var_os(v).is_some())
    {
        // Before any thread starts: nothing reads the environment concurrently.
        std::env::set_var(var, value);
    }
    Ok(())
}

/// `rollback [--hard]`: prints what CometBFT's prints.
pub(crate) fn rollback(cli: &Cli, hard: bool) -> Result<()> {
    let r = keystone::rollback::rollback(&Home(home(cli)?), hard)?;
    if let Some(b) = r.removed_block {
        println!("Removed block {b}");
    }
    println!(
        "Rolled back state to height {} and hash {}",
        r.height,
        hex::encode_upper(r.app_hash)
    );
    Ok(())
}
