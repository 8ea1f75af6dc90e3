//! `keystone`: the command line. Only `keys` is built so far; the node, genesis, transaction
//! and query commands come with the rest of issue #3.

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand, ValueEnum};
use keystone::keys::{self, KeyInfo, TestKeyring};
use std::io::{IsTerminal, Read};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "keystone",
    version,
    about = "A proof-of-stake chain node in the style of the Cosmos Hub"
)]
struct Cli {
    /// Directory for config, data and keys.
    #[arg(long, global = true)]
    home: Option<PathBuf>,
    /// Output format.
    #[arg(long, short = 'o', global = true, value_enum, default_value_t = Output::Text)]
    output: Output,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Output {
    Text,
    Json,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Backend {
    Test,
    File,
}

#[derive(Subcommand)]
enum Command {
    /// Manage keys.
    Keys {
        /// Where keys are kept.
        #[arg(long, global = true, value_enum, default_value_t = Backend::File)]
        keyring_backend: Backend,
        #[command(subcommand)]
        command: KeysCommand,
    },
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Create a key (or recover one from its mnemonic with --recover).
    Add {
        /// The key's name.
        name: String,
        /// Read a BIP39 mnemonic (from standard input when it is not a terminal).
        #[arg(long)]
        recover: bool,
    },
    /// List keys.
    List,
    /// Show a key.
    Show {
        /// The key's name.
        name: String,
        /// Print only the address.
        #[arg(short = 'a', long)]
        address: bool,
    },
    /// Delete a key.
    Delete {
        /// The key's name.
        name: String,
        /// Do not ask for confirmation.
        #[arg(short = 'y', long)]
        yes: bool,
    },
}

fn home(cli: &Cli) -> Result<PathBuf> {
    if let Some(h) = &cli.home {
        return Ok(h.clone());
    }
    let base = std::env::var_os("HOME").context("no --home given and $HOME is not set")?;
    Ok(PathBuf::from(base).join(".keystone"))
}

fn text(info: &KeyInfo) -> String {
    format!(
        "- address: {}\n  name: {}\n  pubkey: '{}'\n  type: {}",
        info.address, info.name, info.pubkey, info.kind
    )
}

fn read_mnemonic() -> Result<String> {
    let mut s = String::new();
    if std::io::stdin().is_terminal() {
        eprintln!("> Enter your bip39 mnemonic");
        std::io::stdin().read_line(&mut s)?;
    } else {
        std::io::stdin().read_to_string(&mut s)?;
    }
    Ok(s.trim().to_string())
}

fn keys_cmd(cli: &Cli, backend: Backend, cmd: &KeysCommand) -> Result<()> {
    if backend == Backend::File {
        bail!("the encrypted 'file' keyring backend is not implemented yet; use --keyring-backend test");
    }
    let ring = TestKeyring::new(&home(cli)?);
    match cmd {
        KeysCommand::Add { name, recover } => {
            let mnemonic = if *recover {
                read_mnemonic()?
            } else {
                keys::new_mnemonic()
            };
            let key = keys::derive(&mnemonic)?;
            let info = ring.add(name, &key)?;
            match (cli.output, recover) {
                (Output::Json, false) => {
                    let mut v = serde_json::to_value(&info)?;
                    v["mnemonic"] = mnemonic.into();
                    println!("{v}");
                }
                (Output::Json, true) => println!("{}", serde_json::to_string(&info)?),
                (Output::Text, true) => println!("{}", text(&info)),
                (Output::Text, false) => println!(
                    "{}\n\n\n**Important** write this mnemonic phrase in a safe place.\nIt is the only way to recover your account if you ever forget your password.\n\n{mnemonic}",
                    text(&info)
                ),
            }
        }
        KeysCommand::List => {
            let all = ring.list()?;
            match cli.output {
                Output::Json => println!("{}", serde_json::to_string(&all)?),
                Output::Text => {
                    for k in &all {
                        println!("{}", text(k));
                    }
                }
            }
        }
        KeysCommand::Show { name, address } => {
            let info = ring.show(name)?;
            if *address {
                println!("{}", info.address);
            } else if cli.output == Output::Json {
                println!("{}", serde_json::to_string(&info)?);
            } else {
                println!("{}", text(&info));
            }
        }
        KeysCommand::Delete { name, yes } => {
            if !yes && std::io::stdin().is_terminal() {
                eprint!("Key reference will be deleted. Continue? [y/N]: ");
                let mut answer = String::new();
                std::io::stdin().read_line(&mut answer)?;
                if !answer.trim().eq_ignore_ascii_case("y") {
                    bail!("aborted");
                }
            }
            ring.delete(name)?;
            if cli.output == Output::Text {
                println!("Key deleted forever (uh oh!)");
            }
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Keys {
            keyring_backend,
            command,
        } => keys_cmd(&cli, *keyring_backend, command),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("Error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
