//! `keystone`: the command line, shaped like gaiad's — `init`, `start`, `keys`, `genesis`
//! (accounts, gentx, collect-gentxs, validate), `testnet init-files`, `tendermint`, `tx bank|
//! staking|slashing|distribution`, `query bank|auth|staking|slashing|distribution|mint|tx|block|
//! state`. Argument parsing lives here and in
//! [`commands`]; what the commands do lives in the `keystone` library.

use anyhow::{bail, Context, Result};

/// A node allocates and frees many small buffers per transaction (decoded messages, events,
/// state keys); glibc's allocator spent about a fifth of a loaded node's CPU in malloc and free
/// (`perf`, BENCHMARKS.md), mimalloc's thread-local free lists much less.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
use clap::{Parser, Subcommand, ValueEnum};
use keystone::home::{self, Home};
use keystone::keys::{self, KeyInfo, Keyring};
use std::io::{IsTerminal, Read};
use std::path::PathBuf;
use std::process::ExitCode;

mod commands;

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
    #[arg(long, short = 'o', global = true, env = "KEYSTONE_OUTPUT", value_enum, default_value_t = Output::Text)]
    output: Output,
    /// Log level of `start` and `abci-server`: a level, or `module:level,*:level` (default:
    /// `RUST_LOG`, then config.toml's `log_level`, then info).
    #[arg(long = "log_level", global = true)]
    log_level: Option<String>,
    /// Log format of `start` and `abci-server`: `plain` or `json` (default: config.toml's
    /// `log_format`, then plain).
    #[arg(long = "log_format", global = true)]
    log_format: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Output {
    Text,
    Json,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Backend {
    Test,
    File,
}

#[derive(Subcommand)]
enum Command {
    /// Print the version; with `--long`, the commit, compiler, features and dependencies.
    Version {
        /// Everything, as gaiad's `version --long` (text, or JSON with `-o json`).
        #[arg(long)]
        long: bool,
    },
    /// Create a node's home: keys, config, and a genesis with this node as validator.
    Init {
        /// A name for this node.
        moniker: String,
        /// The chain id.
        #[arg(long)]
        chain_id: String,
        /// Write genesis.json again over an existing one (keys and config files are kept).
        /// gaiad's `-o` is `--output` here.
        #[arg(long)]
        overwrite: bool,
        /// The genesis's bond and mint denomination (default `stake`).
        #[arg(long)]
        default_denom: Option<String>,
    },
    /// Run the node.
    Start {
        /// Stop after committing this height and exit 0 (default: app.toml's `halt-height`).
        #[arg(long)]
        halt_height: Option<u64>,
        /// Test-only misbehaviour: double-sign every vote (for the Byzantine end-to-end test;
        /// honest nodes must catch it and the chain must slash it). Only in a build with the
        /// `fault-injection` feature.
        #[cfg(feature = "fault-injection")]
        #[arg(long, hide = true)]
        byzantine_double_sign: bool,
        /// Replicate an external ABCI application at this address (`tcp://127.0.0.1:26658`
        /// or `unix:///path/app.sock`) instead of the built-in one.
        #[arg(long)]
        proxy_app: Option<String>,
    },
    /// Serve the built-in application over the ABCI socket, for any CometBFT-compatible
    /// engine to drive.
    AbciServer {
        /// Where to listen: `tcp://host:port` or `unix:///path`.
        #[arg(long, default_value = "tcp://127.0.0.1:26658")]
        address: String,
    },
    /// Write the application's state at a height as a genesis document (on a stopped node):
    /// a chain started from it carries on at height + 1.
    Export {
        /// The height (default: the latest).
        #[arg(long)]
        height: Option<u64>,
        /// Write the document here instead of printing it.
        #[arg(long)]
        output_document: Option<PathBuf>,
    },
    /// The state snapshots kept in data/snapshots (app.toml `[state-sync]`).
    Snapshots {
        #[command(subcommand)]
        command: commands::snapshots::SnapshotsCommand,
    },
    /// Roll the application's state back one height (on a stopped node): the next start
    /// replays the last block and must reach the same app hash.
    Rollback {
        /// Also remove the last block from the block store: the node decides or fetches it
        /// again.
        #[arg(long)]
        hard: bool,
    },
    /// The client configuration (`config/client.toml`): the defaults of `--chain-id`,
    /// `--node`, `--keyring-backend` and `--output`.
    Config {
        #[command(subcommand)]
        command: commands::operator::ConfigCommand,
    },
    /// Edit and check the genesis file.
    Genesis {
        #[command(subcommand)]
        command: GenesisCommand,
    },
    /// Sign and broadcast transactions.
    Tx {
        #[command(subcommand)]
        command: TxCommand,
    },
    /// Read state from a node.
    Query {
        #[command(subcommand)]
        command: QueryCommand,
    },
    /// The node's status (CometBFT's `status`: node info, sync info, validator info), as
    /// gaiad's `status` prints it.
    Status {
        /// The node's RPC address.
        #[arg(long, env = "KEYSTONE_NODE", default_value = crate::NODE)]
        node: String,
    },
    /// Verify headers with the validators' signatures, from a trusted header.
    Light {
        #[command(subcommand)]
        command: LightCommand,
    },
    /// Manage keys.
    Keys {
        /// Where keys are kept.
        #[arg(long, global = true, env = "KEYSTONE_KEYRING_BACKEND", value_enum, default_value_t = Backend::File)]
        keyring_backend: Backend,
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Write the homes of a multi-validator network on this machine.
    Testnet {
        #[command(subcommand)]
        command: TestnetCommand,
    },
    /// The node's consensus and p2p identities.
    #[command(alias = "comet")]
    Tendermint {
        #[command(subcommand)]
        command: TendermintCommand,
    },
}

#[derive(Subcommand)]
enum TestnetCommand {
    /// N validator homes on 127.0.0.1 with distinct ports, wired to each other, one genesis.
    InitFiles {
        /// How many validators.
        #[arg(long = "v", default_value_t = 4)]
        validators: usize,
        /// Where the homes go (node0, node1, …).
        #[arg(long, default_value = "./mytestnet")]
        output_dir: PathBuf,
        /// The chain id.
        #[arg(long)]
        chain_id: String,
        /// Where operator keys are kept (only `test`, as for any localnet).
        #[arg(long, value_enum, default_value_t = Backend::Test)]
        keyring_backend: Backend,
        /// Node i listens on base + 10·i (p2p), +1 (RPC), +2 (REST).
        #[arg(long, default_value_t = 26656)]
        base_port: u16,
        /// What each operator account holds at genesis.
        #[arg(long, default_value = "1000000000000stake")]
        coins: String,
        /// `consensus.timeout_commit` of every node.
        #[arg(long, default_value = "1s")]
        timeout_commit: String,
        /// What each validator bonds in its gentx.
        #[arg(long, default_value = "100000000stake")]
        self_delegation: String,
    },
}

// The variant names are the command names gaiad users type (`show-node-id`, …).
#[allow(clippy::enum_variant_names)]
#[derive(Subcommand)]
enum TendermintCommand {
    /// The p2p node id (hex of the node key's address), as peers name it in persistent_peers.
    ShowNodeId,
    /// The consensus public key, as `create-validator --pubkey` takes it.
    ShowValidator,
    /// The consensus address (`cosmosvalcons1…`).
    ShowAddress,
    /// Remove the blocks and the consensus WAL (the application's state and the signer's
    /// last-sign state stay), as CometBFT's `reset-state`.
    #[command(alias = "reset_state")]
    ResetState,
    /// (unsafe) Remove all data and reset this node's validator to its genesis sign state, as
    /// CometBFT's `unsafe-reset-all`: only for a chain that starts again from genesis.
    #[command(alias = "unsafe_reset_all")]
    UnsafeResetAll {
        /// Keep the address book (Keystone keeps none yet: accepted for scripts written for
        /// CometBFT).
        #[arg(long)]
        keep_addr_book: bool,
    },
}

#[derive(Subcommand)]
enum TxCommand {
    /// Bank transactions.
    Bank {
        #[command(subcommand)]
        command: BankTx,
    },
    /// Staking transactions.
    Staking {
        #[command(subcommand)]
        command: commands::tx::StakingTx,
    },
    /// Slashing transactions.
    Slashing {
        #[command(subcommand)]
        command: commands::tx::SlashingTx,
    },
    /// Distribution transactions.
    Distribution {
        #[command(subcommand)]
        command: commands::tx::DistributionTx,
    },
    /// Sign a transaction written by --generate-only (one signer, SIGN_MODE_DIRECT) and
    /// print it signed.
    Sign {
        /// The transaction's JSON file.
        file: PathBuf,
        /// The signer's key name.
        #[arg(long)]
        from: String,
        #[command(flatten)]
        sign: commands::tx::SignArgs,
        /// Replace a signature the file already holds.
        #[arg(long)]
        overwrite: bool,
        /// Write the signed transaction here instead of printing it.
        #[arg(long)]
        output_document: Option<PathBuf>,
    },
    /// Broadcast a signed transaction from its JSON file (`broadcast_tx_sync`).
    Broadcast {
        /// The signed transaction's JSON file.
        file: PathBuf,
        /// The node's RPC address.
        #[arg(long, env = "KEYSTONE_NODE", default_value = crate::NODE)]
        node: String,
    },
    /// Print a transaction's JSON file as base64 protobuf bytes.
    Encode {
        /// The transaction's JSON file.
        file: PathBuf,
    },
    /// Print base64 protobuf transaction bytes as JSON.
    Decode {
        /// The transaction, base64.
        tx: String,
    },
}

#[derive(Subcommand)]
enum BankTx {
    /// Send coins.
    Send {
        /// The sender's key name (or, with --generate-only, its address).
        #[arg(value_name = "FROM_KEY_OR_ADDRESS")]
        sender: String,
        /// The recipient's address.
        to: String,
        /// Coins, e.g. 100stake.
        coins: String,
        #[command(flatten)]
        tx: commands::tx::TxCommon,
    },
    /// Send the same coins from one account to several, in one message (`MsgMultiSend`).
    MultiSend {
        /// The sender's key name (or, with --generate-only, its address).
        #[arg(value_name = "FROM_KEY_OR_ADDRESS")]
        sender: String,
        /// The recipients' addresses, then the coins each receives, e.g. `cosmos1… cosmos1… 10stake`.
        #[arg(value_name = "TO_ADDRESSES… AMOUNT", num_args = 2.., required = true)]
        to_and_amount: Vec<String>,
        /// Divide the amount evenly among the recipients instead of sending it to each.
        #[arg(long)]
        split: bool,
        #[command(flatten)]
        tx: commands::tx::TxCommon,
    },
}

#[derive(Subcommand)]
enum QueryCommand {
    /// Bank queries.
    Bank {
        #[command(subcommand)]
        command: BankQuery,
    },
    /// Auth queries.
    Auth {
        #[command(subcommand)]
        command: AuthQuery,
    },
    /// Staking queries.
    Staking {
        #[command(subcommand)]
        command: commands::query::StakingQuery,
    },
    /// Slashing queries.
    Slashing {
        #[command(subcommand)]
        command: commands::query::SlashingQuery,
    },
    /// Distribution queries.
    Distribution {
        #[command(subcommand)]
        command: commands::query::DistributionQuery,
    },
    /// Mint queries.
    Mint {
        #[command(subcommand)]
        command: commands::query::MintQuery,
    },
    /// Committed transactions matching an event query, e.g.
    /// `--query "message.sender='cosmos1…'"` (CometBFT's `tx_search`).
    Txs {
        /// The event query.
        #[arg(long)]
        query: String,
        /// The page, from 1.
        #[arg(long, default_value_t = 1)]
        page: u64,
        /// Transactions per page.
        #[arg(long, default_value_t = 100)]
        limit: u64,
        /// The node's RPC address.
        #[arg(long, env = "KEYSTONE_NODE", default_value = crate::NODE)]
        node: String,
    },
    /// A committed transaction by hash.
    Tx {
        /// The hash (hex).
        hash: String,
        /// The node's RPC address.
        #[arg(long, env = "KEYSTONE_NODE", default_value = crate::NODE)]
        node: String,
    },
    /// The results of executing a block (CometBFT's `block_results`: each transaction's
    /// code, log, gas and events, the block's events, validator and consensus param updates,
    /// the app hash); the latest without a height.
    BlockResults {
        /// The height.
        height: Option<u64>,
        /// The node's RPC address.
        #[arg(long, env = "KEYSTONE_NODE", default_value = crate::NODE)]
        node: String,
    },
    /// A block (the latest without a height).
    Block {
        /// The height.
        height: Option<u64>,
        /// The node's RPC address.
        #[arg(long, env = "KEYSTONE_NODE", default_value = crate::NODE)]
        node: String,
    },
    /// A state key's value; with `--prove`, its ICS23 proof checked against the app hash of
    /// the next header, which the light client verifies from the trust root first.
    State {
        /// The key, e.g. bank/balances/<address>/stake.
        key: String,
        /// Height (0: latest).
        #[arg(long, default_value_t = 0)]
        height: u64,
        /// Fetch and check the ICS23 proof.
        #[arg(long)]
        prove: bool,
        #[command(flatten)]
        trust: TrustArgs,
        /// The node's RPC address.
        #[arg(long, env = "KEYSTONE_NODE", default_value = crate::NODE)]
        node: String,
    },
}

/// Where the light client's trust starts (default: the validators in the home's genesis).
#[derive(clap::Args)]
struct TrustArgs {
    /// Height of a header you trust.
    #[arg(long)]
    trusted_height: Option<u64>,
    /// Its hash (hex).
    #[arg(long)]
    trusted_hash: Option<String>,
    /// How old the trusted header may be (below the unbonding period).
    #[arg(long, default_value = "336h")]
    trusting_period: String,
}

impl TrustArgs {
    fn root(&self, cli: &Cli) -> Result<keystone::light::TrustRoot> {
        keystone::light::root(self.trusted_height, self.trusted_hash.clone(), &home(cli)?)
    }

    fn options(&self) -> Result<keystone_consensus_types::light::TrustOptions> {
        let p = self.trusting_period.trim();
        let (num, unit) = p.split_at(p.find(|c: char| !c.is_ascii_digit()).unwrap_or(p.len()));
        let unit_ms: u64 = match unit {
            "h" => 3_600_000,
            "m" => 60_000,
            "s" => 1_000,
            _ => bail!("--trusting-period {p:?}: expected a whole number of h, m or s (e.g. 336h)"),
        };
        let n: u64 = num
            .parse()
            .with_context(|| format!("--trusting-period {p:?}: not a number"))?;
        Ok(keystone_consensus_types::light::TrustOptions {
            trusting_period_ms: n.saturating_mul(unit_ms),
            ..Default::default()
        })
    }
}

#[derive(Subcommand)]
enum LightCommand {
    /// Verify the header at a height (latest by default) from the trust root: adjacent or
    /// skipping steps, bisecting when a skip is too far; prints the steps and the verified
    /// app hash, or which step failed.
    Verify {
        /// The height to verify (0: the latest).
        #[arg(long, default_value_t = 0)]
        height: u64,
        #[command(flatten)]
        trust: TrustArgs,
        /// The node's RPC address.
        #[arg(long, env = "KEYSTONE_NODE", default_value = crate::NODE)]
        node: String,
    },
}

#[derive(Subcommand)]
enum AuthQuery {
    /// An account: number, sequence, public key.
    Account {
        /// The address.
        address: String,
        /// The node's RPC address.
        #[arg(long, env = "KEYSTONE_NODE", default_value = crate::NODE)]
        node: String,
    },
}

#[derive(Subcommand)]
enum BankQuery {
    /// All balances of an address.
    Balances {
        /// The address.
        address: String,
        /// The node's RPC address.
        #[arg(long, env = "KEYSTONE_NODE", default_value = crate::NODE)]
        node: String,
    },
}

#[derive(Subcommand)]
enum GenesisCommand {
    /// Fund an account at genesis.
    AddGenesisAccount {
        /// A key name (from the keyring) or a bech32 address.
        address_or_key: String,
        /// Coins, e.g. 1000000stake,5uatom.
        coins: String,
        /// Where to find a named key.
        #[arg(long, env = "KEYSTONE_KEYRING_BACKEND", value_enum, default_value_t = Backend::File)]
        keyring_backend: Backend,
    },
    /// Check the genesis file.
    Validate,
    /// Sign a genesis transaction creating this node's validator.
    Gentx(commands::genesis::GentxArgs),
    /// Put the genesis transactions of config/gentx into the genesis.
    CollectGentxs {
        /// Where the gentx files are (default config/gentx).
        #[arg(long)]
        gentx_dir: Option<PathBuf>,
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
        /// The account number of the HD path `m/44'/118'/{account}'/0/{index}`.
        #[arg(long, default_value_t = 0)]
        account: u32,
        /// The address index of the HD path.
        #[arg(long, default_value_t = 0)]
        index: u32,
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
        /// Which address: the account (`acc`), the validator operator (`val`) or the
        /// consensus one (`cons`), as the SDK writes them for this key.
        #[arg(long, default_value = "acc", value_parser = ["acc", "val", "cons"])]
        bech: String,
    },
    /// Print a key armored and encrypted under a passphrase (asked first, then the
    /// keyring's), as gaiad's `keys export` writes it.
    Export {
        /// The key's name.
        name: String,
    },
    /// Add a key from a file `keys export` (Keystone's or gaiad's) wrote; its passphrase is
    /// asked first, then the keyring's.
    Import {
        /// The new key's name.
        name: String,
        /// The armored key file.
        keyfile: PathBuf,
    },
    /// Rename a key.
    Rename {
        /// The key's name.
        old: String,
        /// Its new name.
        new: String,
        /// Do not ask for confirmation.
        #[arg(short = 'y', long)]
        yes: bool,
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

/// `version [--long]`.
fn version(cli: &Cli, long: bool) {
    let version = env!("CARGO_PKG_VERSION");
    if !long {
        let _ = std::io::Write::write_all(
            &mut std::io::stdout().lock(),
            format!("{version}\n").as_bytes(),
        );
        return;
    }
    let mut tags: Vec<&str> = Vec::new();
    if cfg!(feature = "fault-injection") {
        tags.push("fault-injection");
    }
    let deps: Vec<&str> = include_str!(concat!(env!("OUT_DIR"), "/build_deps.txt"))
        .lines()
        .filter(|l| !l.is_empty())
        .collect();
    let info = serde_json::json!({
        "name": "keystone",
        "server_name": "keystone",
        "version": version,
        "commit": env!("KEYSTONE_GIT_COMMIT"),
        "build_tags": tags.join(","),
        "rust": env!("KEYSTONE_RUSTC"),
        "abci_version": keystone_proto::ABCI_VERSION,
        "build_deps": deps,
    });
    let text = match cli.output {
        Output::Json => format!("{info}\n"),
        Output::Text => {
            let mut t = String::new();
            for key in [
                "name",
                "server_name",
                "version",
                "commit",
                "build_tags",
                "rust",
                "abci_version",
            ] {
                t += &format!("{key}: {}\n", info[key].as_str().unwrap_or_default());
            }
            t += "build_deps:\n";
            for d in deps {
                t += &format!("- {d}\n");
            }
            t
        }
    };
    // A reader that stops early (`| head`) is not an error.
    let _ = std::io::Write::write_all(&mut std::io::stdout().lock(), text.as_bytes());
}

/// The node every client command talks to unless `--node` says otherwise (CometBFT's RPC
/// default).
pub(crate) const NODE: &str = keystone::client::DEFAULT_NODE;

/// Print `v` as one line of JSON, as gaiad's `--output json` does. A closed stdout (the
/// reader went away) is not worth a panic: the output is dropped.
pub(crate) fn print_json(v: &serde_json::Value) {
    use std::io::Write as _;
    let _ = writeln!(std::io::stdout(), "{v}");
}

/// Print `text` and a newline; a closed stdout drops it (see [`print_json`]).
fn print_json_text(text: &str) {
    use std::io::Write as _;
    let _ = writeln!(std::io::stdout(), "{text}");
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

/// One line of standard input, without echo on a terminal (gaiad's passphrase prompt).
fn read_secret_line(prompt: &str) -> Result<String> {
    let stdin = std::io::stdin();
    let tty = stdin.is_terminal();
    eprint!("{prompt}");
    // `stty` on the terminal itself: no dependency, and echo comes back even on a read error.
    let stty = |arg: &str| {
        let _ = std::process::Command::new("stty")
            .arg(arg)
            .stdin(std::process::Stdio::inherit())
            .status();
    };
    if tty {
        stty("-echo");
    }
    let mut line = String::new();
    let read = stdin.read_line(&mut line);
    if tty {
        stty("echo");
        eprintln!();
    }
    if read? == 0 {
        bail!("no passphrase on standard input: the file keyring needs one (or use --keyring-backend test)");
    }
    Ok(line.trim_end_matches(['\n', '\r']).to_string())
}

/// The keyring of `backend`; with `unlock`, a `file` keyring is opened with its passphrase
/// (asked twice when it is new, as gaiad does; up to three tries on a terminal).
fn keyring(cli: &Cli, backend: Backend, unlock: bool) -> Result<Keyring> {
    let backend = match backend {
        Backend::Test => keys::Backend::Test,
        Backend::File => keys::Backend::File,
    };
    let mut ring = Keyring::new(&home(cli)?, backend);
    if !unlock || !ring.needs_passphrase() {
        return Ok(ring);
    }
    if ring.is_new() {
        let first = read_secret_line("Enter keyring passphrase (attempt 1/3):")?;
        let again = read_secret_line("Re-enter keyring passphrase:")?;
        if first != again {
            bail!("passphrases don't match");
        }
        ring.unlock(&first)?;
        return Ok(ring);
    }
    let tries = if std::io::stdin().is_terminal() { 3 } else { 1 };
    for attempt in 1..=tries {
        let p = read_secret_line(&format!(
            "Enter keyring passphrase (attempt {attempt}/{tries}):"
        ))?;
        match ring.unlock(&p) {
            Ok(()) => return Ok(ring),
            Err(keys::KeyError::WrongPassphrase) if attempt < tries => {
                eprintln!("incorrect passphrase");
            }
            Err(e) => return Err(e.into()),
        }
    }
    bail!("incorrect passphrase")
}

/// Ask `what` and "Continue? [y/N]" on a terminal (as gaiad's keys commands do); anything
/// but "y" aborts. Without a terminal there is no one to ask: go on.
fn confirm(what: &str) -> Result<()> {
    if !std::io::stdin().is_terminal() {
        return Ok(());
    }
    eprint!("{what} Continue? [y/N]: ");
    let mut answer = String::new();
    std::io::stdin().read_line(&mut answer)?;
    if !answer.trim().eq_ignore_ascii_case("y") {
        bail!("aborted");
    }
    Ok(())
}

fn keys_cmd(cli: &Cli, backend: Backend, cmd: &KeysCommand) -> Result<()> {
    // An armored key's passphrase is asked before the keyring's, as gaiad asks them.
    let armor_passphrase = match cmd {
        KeysCommand::Export { .. } => Some(read_secret_line(
            "Enter passphrase to encrypt the exported key:",
        )?),
        KeysCommand::Import { .. } => {
            Some(read_secret_line("Enter passphrase to decrypt your key:")?)
        }
        _ => None,
    };
    // Adding, renaming, importing and exporting seal or open a secret: the `file` keyring
    // asks for its passphrase.
    let adding = matches!(
        cmd,
        KeysCommand::Add { .. }
            | KeysCommand::Rename { .. }
            | KeysCommand::Export { .. }
            | KeysCommand::Import { .. }
    );
    let ring = keyring(cli, backend, adding)?;
    let armor_passphrase = armor_passphrase.unwrap_or_default();
    match cmd {
        KeysCommand::Export { name } => {
            let secret = ring.secret(name)?;
            print_json_text(&keystone::armor::export(&secret, &armor_passphrase)?);
        }
        KeysCommand::Import { name, keyfile } => {
            let text = std::fs::read_to_string(keyfile)
                .with_context(|| format!("cannot read {}", keyfile.display()))?;
            let secret = keystone::armor::import(&text, &armor_passphrase)?;
            let public: [u8; 33] = keystone::tx::public_key(&secret)?
                .try_into()
                .map_err(|_| anyhow::anyhow!("a compressed secp256k1 key has 33 bytes"))?;
            let info = ring.add(name, &keys::Key { secret, public })?;
            if cli.output == Output::Json {
                println!("{}", serde_json::to_string(&info)?);
            }
        }
        KeysCommand::Add {
            name,
            recover,
            account,
            index,
        } => {
            let mnemonic = if *recover {
                read_mnemonic()?
            } else {
                keys::new_mnemonic()
            };
            let key = keys::derive_at(&mnemonic, *account, *index)?;
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
        KeysCommand::Show {
            name,
            address,
            bech,
        } => {
            let mut info = ring.show(name)?;
            let prefix = match bech.as_str() {
                "val" => Some("cosmosvaloper"),
                "cons" => Some("cosmosvalcons"),
                _ => None,
            };
            if let Some(prefix) = prefix {
                let a: keystone_modules::Address = info.address.parse()?;
                info.address = a.to_bech32(prefix);
            }
            if *address {
                println!("{}", info.address);
            } else if cli.output == Output::Json {
                println!("{}", serde_json::to_string(&info)?);
            } else {
                println!("{}", text(&info));
            }
        }
        KeysCommand::Rename { old, new, yes } => {
            if !yes {
                confirm(&format!("Key reference will be overwritten with {new}."))?;
            }
            ring.rename(old, new)?;
            if cli.output == Output::Text {
                println!("Key was successfully renamed");
            }
        }
        KeysCommand::Delete { name, yes } => {
            if !yes {
                confirm("Key reference will be deleted.")?;
            }
            ring.delete(name)?;
            if cli.output == Output::Text {
                println!("Key deleted forever (uh oh!)");
            }
        }
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)] // one per command-line flag
fn testnet_init_files(
    cli: &Cli,
    validators: usize,
    output_dir: &std::path::Path,
    chain_id: &str,
    backend: Backend,
    base_port: u16,
    coins: &str,
    timeout_commit: &str,
    self_delegation: &str,
) -> Result<()> {
    if backend != Backend::Test {
        bail!("testnet homes keep their operator keys in the test keyring: use --keyring-backend test");
    }
    let time = genesis_time_now()?;
    let nodes = keystone::testnet::init_files(&keystone::testnet::TestnetSpec {
        validators,
        output_dir,
        chain_id,
        base_port,
        coins,
        timeout_commit,
        self_delegation,
        genesis_time: &time,
    })?;
    match cli.output {
        Output::Json => {
            let list: Vec<serde_json::Value> = nodes
                .iter()
                .map(|n| {
                    serde_json::json!({"name": n.name, "home": n.home, "node_id": n.id,
                        "p2p": n.ports.0, "rpc": n.ports.1, "api": n.ports.2, "address": n.address})
                })
                .collect();
            println!("{}", serde_json::Value::Array(list));
        }
        Output::Text => println!(
            "Successfully initialized {} node directories in {}",
            nodes.len(),
            output_dir.display()
        ),
    }
    Ok(())
}

fn tendermint_cmd(cli: &Cli, cmd: &TendermintCommand) -> Result<()> {
    use base64::Engine as _;
    use keystone_consensus_driver::{node_key::NodeKey, privval::read_key_file};
    let h = Home(home(cli)?);
    match cmd {
        TendermintCommand::ShowNodeId => {
            println!("{}", NodeKey::load(&h.config("node_key.json"))?.id());
        }
        TendermintCommand::ShowValidator => {
            let pk = read_key_file(&h.config("priv_validator_key.json"))?.public_key();
            println!(
                "{}",
                serde_json::json!({"@type": "/cosmos.crypto.ed25519.PubKey",
                    "key": base64::engine::general_purpose::STANDARD.encode(pk.0)})
            );
        }
        TendermintCommand::ShowAddress => {
            let pk = read_key_file(&h.config("priv_validator_key.json"))?.public_key();
            println!(
                "{}",
                keystone_modules::Address(pk.address().0).to_bech32("cosmosvalcons")
            );
        }
        TendermintCommand::ResetState => {
            for p in keystone::home::reset_state(&h)? {
                println!("Removed {}", p.display());
            }
        }
        TendermintCommand::UnsafeResetAll { keep_addr_book: _ } => {
            for p in keystone::home::unsafe_reset_all(&h)? {
                println!("Removed {}", p.display());
            }
            println!(
                "Reset private validator file to genesis state: {}",
                h.data("priv_validator_state.json").display()
            );
        }
    }
    Ok(())
}

fn genesis_time_now() -> Result<String> {
    Ok(time::OffsetDateTime::now_utc().format(&time::format_description::well_known::Rfc3339)?)
}

fn add_genesis_account(cli: &Cli, who: &str, coins: &str, backend: Backend) -> Result<()> {
    use keystone_modules::{Address, Coins};
    let h = Home(home(cli)?);
    let address: Address = match who.parse() {
        Ok(a) => a,
        Err(_) => keyring(cli, backend, false)?.show(who)?.address.parse()?,
    };
    let coins: Coins = coins
        .parse()
        .with_context(|| format!("invalid coins {coins:?}"))?;
    let mut doc = home::read_genesis(&h)?;
    home::add_genesis_account(&mut doc, &address, &coins)?;
    home::write_genesis(&h, &doc)
}

fn validate_genesis(cli: &Cli) -> Result<()> {
    let h = Home(home(cli)?);
    let doc = home::read_genesis(&h)?;
    let app: keystone_app::AppGenesis = serde_json::from_value(
        doc.app_state
            .clone()
            .unwrap_or_else(|| serde_json::json!({})),
    )
    .context("app_state")?;
    app.auth.validate()?;
    app.bank.validate()?;
    app.staking.validate()?;
    app.distribution.validate()?;
    app.slashing.validate()?;
    app.mint.validate()?;
    for tx in &app.genutil.gen_txs {
        keystone_genesis::genutil::check_gentx(&doc, tx.clone())?;
    }
    println!("File at {} is a valid genesis file", h.genesis().display());
    Ok(())
}

fn init(cli: &Cli, moniker: &str, chain_id: &str, opts: &home::InitOptions) -> Result<()> {
    let h = Home(home(cli)?);
    let doc = home::init_with(&h, moniker, chain_id, &genesis_time_now()?, opts)?;
    // As gaiad's init: the client commands of this home default to its chain.
    if opts.overwrite || keystone::client_config::read(&h.0)?.is_none() {
        keystone::client_config::write(
            &h.0,
            &keystone::client_config::ClientConfig::for_chain(chain_id),
        )?;
    }
    println!(
        "{}",
        serde_json::json!({"moniker": moniker, "chain_id": doc.chain_id, "home": h.0.display().to_string()})
    );
    Ok(())
}

/// gaiad's default gas limit, which a bank send stays within.
const BANK_GAS: u64 = 200_000;

fn bank_send(
    cli: &Cli,
    from: &str,
    to: &str,
    coins: &str,
    tx: &commands::tx::TxCommon,
) -> Result<()> {
    use keystone_modules::{Address, Coins};
    let to: Address = to
        .parse()
        .with_context(|| format!("invalid recipient {to:?}"))?;
    let coins: Coins = coins
        .parse()
        .with_context(|| format!("invalid coins {coins:?}"))?;
    commands::tx::send_msgs(cli, from, tx, BANK_GAS, |from| {
        Ok(vec![keystone::tx::msg_send(from, &to, &coins)])
    })
}

fn query_balances(address: &str, node: &str) -> Result<()> {
    use cosmos_sdk_proto::cosmos::bank::v1beta1::{
        QueryAllBalancesRequest, QueryAllBalancesResponse,
    };
    use keystone_proto::prost::Message;
    let _: keystone_modules::Address = address
        .parse()
        .with_context(|| format!("invalid address {address:?}"))?;
    let client = keystone::client::Client::new(node)?;
    let req = QueryAllBalancesRequest {
        address: address.into(),
        pagination: None,
        resolve_denom: false,
    };
    let resp = client.query(
        "/cosmos.bank.v1beta1.Query/AllBalances",
        &req.encode_to_vec(),
        0,
        false,
    )?;
    use base64::Engine as _;
    let bytes =
        base64::engine::general_purpose::STANDARD.decode(resp["value"].as_str().unwrap_or(""))?;
    let r = QueryAllBalancesResponse::decode(bytes.as_slice())
        .context("the node's answer does not decode")?;
    let balances: Vec<serde_json::Value> = r
        .balances
        .iter()
        .map(|c| serde_json::json!({"denom": c.denom, "amount": c.amount}))
        .collect();
    let total = r.pagination.map_or(0, |p| p.total);
    println!(
        "{}",
        serde_json::json!({"balances": balances, "pagination": {"next_key": null, "total": total.to_string()}})
    );
    Ok(())
}

fn query_tx(hash: &str, node: &str) -> Result<()> {
    use base64::Engine as _;
    let bytes = hex::decode(hash).with_context(|| format!("invalid hash {hash:?}"))?;
    let r = keystone::client::Client::new(node)?.call(
        "tx",
        serde_json::json!({"hash": base64::engine::general_purpose::STANDARD.encode(bytes)}),
    )?;
    println!("{r}");
    Ok(())
}

fn query_block(height: Option<u64>, node: &str) -> Result<()> {
    rpc_print(node, "block", height_param(height))
}

/// CometBFT's `height` parameter (none: the latest).
fn height_param(height: Option<u64>) -> serde_json::Value {
    match height {
        Some(h) => serde_json::json!({"height": h.to_string()}),
        None => serde_json::json!({}),
    }
}

/// Call `method` on the node at `node` and print its result, as CometBFT returns it.
fn rpc_print(node: &str, method: &str, params: serde_json::Value) -> Result<()> {
    println!(
        "{}",
        keystone::client::Client::new(node)?.call(method, params)?
    );
    Ok(())
}

fn query_account(address: &str, node: &str) -> Result<()> {
    use base64::Engine as _;
    let addr: keystone_modules::Address = address
        .parse()
        .with_context(|| format!("invalid address {address:?}"))?;
    let client = keystone::client::Client::new(node)?;
    let resp = client.query(
        "/store/key",
        format!("auth/accounts/{addr}").as_bytes(),
        0,
        false,
    )?;
    let value =
        base64::engine::general_purpose::STANDARD.decode(resp["value"].as_str().unwrap_or(""))?;
    if value.is_empty() {
        bail!("account {addr} not found: key not found");
    }
    let acc: keystone_modules::auth::Account =
        serde_json::from_slice(&value).context("account record")?;
    let pub_key = acc
        .pub_key
        .map(|k| serde_json::json!({"@type": "/cosmos.crypto.secp256k1.PubKey", "key": k}))
        .unwrap_or(serde_json::Value::Null);
    println!(
        "{}",
        serde_json::json!({"account": {"@type": "/cosmos.auth.v1beta1.BaseAccount", "address": acc.address, "pub_key": pub_key, "account_number": acc.account_number.to_string(), "sequence": acc.sequence.to_string()}})
    );
    Ok(())
}

fn light_verify(cli: &Cli, height: u64, trust: &TrustArgs, node: &str) -> Result<()> {
    let src = keystone::light::Source::new(node)?;
    let target = match height {
        0 => src.latest()?,
        h => h,
    };
    let (b, steps) = keystone::light::verify(&src, &trust.root(cli)?, target, &trust.options()?)?;
    println!(
        "{}",
        serde_json::json!({
            "height": b.header.height.to_string(),
            "hash": b.header.hash().to_hex(),
            "app_hash": hex::encode_upper(&b.header.app_hash),
            "time": b.header.time.to_proto(),
            "steps": steps.iter().map(|s| serde_json::json!({"from": s.from.to_string(), "to": s.to.to_string()})).collect::<Vec<_>>(),
        })
    );
    Ok(())
}

fn query_state(
    cli: &Cli,
    key: &str,
    height: u64,
    prove: bool,
    trust: &TrustArgs,
    node: &str,
) -> Result<()> {
    use base64::Engine as _;
    use keystone_proto::prost::Message;
    let b64 = base64::engine::general_purpose::STANDARD;
    let client = keystone::client::Client::new(node)?;
    let resp = client.query("/store/key", key.as_bytes(), height, prove)?;
    let value = b64.decode(resp["value"].as_str().unwrap_or(""))?;
    let h: u64 = resp["height"].as_str().unwrap_or("0").parse()?;
    if !prove {
        println!(
            "{}",
            serde_json::json!({"key": key, "value": b64.encode(&value), "height": h.to_string()})
        );
        return Ok(());
    }
    let proof_b64 = resp["proofOps"]["ops"][0]["data"]
        .as_str()
        .context("the node sent no proof")?
        .to_string();
    let proof = ics23::CommitmentProof::decode(b64.decode(&proof_b64)?.as_slice())
        .context("malformed proof")?;
    // The state after block H is what the header of block H+1 commits to; the light client
    // verifies that header (and its signed commit, which the block after it carries) first.
    let src = keystone::light::Source::new(node)?;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while src.latest()? < h + 2 {
        if std::time::Instant::now() >= deadline {
            bail!(
                "block {} (whose signed header commits to height {h}) did not arrive",
                h + 2
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let (header, steps) =
        keystone::light::verify(&src, &trust.root(cli)?, h + 1, &trust.options()?)?;
    let app_hash = header.header.app_hash.clone();
    let spec = keystone_store::proof_spec();
    let ok = if value.is_empty() {
        ics23::verify_non_membership::<ics23::HostFunctionsManager>(
            &proof,
            &spec,
            &app_hash,
            key.as_bytes(),
        )
    } else {
        ics23::verify_membership::<ics23::HostFunctionsManager>(
            &proof,
            &spec,
            &app_hash,
            key.as_bytes(),
            &value,
        )
    };
    if !ok {
        bail!(
            "the proof does not verify against the app hash of block {}: do not trust this answer",
            h + 1
        );
    }
    println!(
        "{}",
        serde_json::json!({
            "key": key, "value": b64.encode(&value), "height": h.to_string(),
            "app_hash": hex::encode_upper(&app_hash), "header_height": (h + 1).to_string(),
            "proof": proof_b64, "verified": if value.is_empty() { "absent" } else { "present" },
            "light_client_steps": steps.len().to_string()
        })
    );
    Ok(())
}

fn main() -> ExitCode {
    if let Err(e) = commands::operator::apply_client_config() {
        eprintln!("Error: {e:#}");
        return ExitCode::FAILURE;
    }
    let cli = Cli::parse();
    if matches!(
        cli.command,
        Command::Start { .. } | Command::AbciServer { .. }
    ) {
        let logs = home(&cli).and_then(|h| {
            keystone::logs::init(
                cli.log_level.as_deref(),
                cli.log_format.as_deref(),
                &Home(h).config("config.toml"),
            )
        });
        if let Err(e) = logs {
            eprintln!("Error: {e:#}");
            return ExitCode::FAILURE;
        }
    }
    let result = match &cli.command {
        Command::Version { long } => {
            version(&cli, *long);
            Ok(())
        }
        Command::Keys {
            keyring_backend,
            command,
        } => keys_cmd(&cli, *keyring_backend, command),
        Command::Init {
            moniker,
            chain_id,
            overwrite,
            default_denom,
        } => init(
            &cli,
            moniker,
            chain_id,
            &home::InitOptions {
                overwrite: *overwrite,
                default_denom: default_denom.clone(),
            },
        ),
        Command::Tendermint { command } => tendermint_cmd(&cli, command),
        Command::Testnet {
            command:
                TestnetCommand::InitFiles {
                    validators,
                    output_dir,
                    chain_id,
                    keyring_backend,
                    base_port,
                    coins,
                    timeout_commit,
                    self_delegation,
                },
        } => testnet_init_files(
            &cli,
            *validators,
            output_dir,
            chain_id,
            *keyring_backend,
            *base_port,
            coins,
            timeout_commit,
            self_delegation,
        ),
        Command::Start {
            halt_height,
            #[cfg(feature = "fault-injection")]
            byzantine_double_sign,
            proxy_app,
        } => home(&cli).and_then(|h| {
            keystone::node::start(
                &Home(h),
                &keystone::node::StartOptions {
                    stop_at: *halt_height,
                    #[cfg(feature = "fault-injection")]
                    double_sign: *byzantine_double_sign,
                    proxy_app: proxy_app.clone(),
                },
            )
        }),
        Command::AbciServer { address } => {
            home(&cli).and_then(|h| keystone::node::abci_server(&Home(h), address))
        }
        Command::Export {
            height,
            output_document,
        } => commands::operator::export(&cli, *height, output_document.as_deref()),
        Command::Rollback { hard } => commands::operator::rollback(&cli, *hard),
        Command::Snapshots { command } => commands::snapshots::run(&cli, command),
        Command::Config { command } => commands::operator::config(&cli, command),
        Command::Genesis { command } => match command {
            GenesisCommand::AddGenesisAccount {
                address_or_key,
                coins,
                keyring_backend,
            } => add_genesis_account(&cli, address_or_key, coins, *keyring_backend),
            GenesisCommand::Validate => validate_genesis(&cli),
            GenesisCommand::Gentx(a) => commands::genesis::gentx(&cli, a),
            GenesisCommand::CollectGentxs { gentx_dir } => {
                commands::genesis::collect_gentxs(&cli, gentx_dir.as_deref())
            }
        },
        Command::Tx {
            command:
                TxCommand::Bank {
                    command:
                        BankTx::Send {
                            sender,
                            to,
                            coins,
                            tx,
                        },
                },
        } => bank_send(&cli, sender, to, coins, tx),
        Command::Tx {
            command:
                TxCommand::Bank {
                    command:
                        BankTx::MultiSend {
                            sender,
                            to_and_amount,
                            split,
                            tx,
                        },
                },
        } => match to_and_amount.split_last() {
            Some((amount, to)) => commands::tx::send_msgs(&cli, sender, tx, BANK_GAS, |from| {
                Ok(vec![commands::tx::multi_send(from, to, amount, *split)?])
            }),
            None => Err(anyhow::anyhow!("multi-send needs recipients and an amount")),
        },
        Command::Tx {
            command:
                TxCommand::Sign {
                    file,
                    from,
                    sign,
                    overwrite,
                    output_document,
                },
        } => commands::tx::sign_file(
            &cli,
            file,
            from,
            sign,
            *overwrite,
            output_document.as_deref(),
        ),
        Command::Tx {
            command: TxCommand::Broadcast { file, node },
        } => commands::tx::broadcast_file(file, node),
        Command::Tx {
            command: TxCommand::Encode { file },
        } => commands::tx::encode_file(file),
        Command::Tx {
            command: TxCommand::Decode { tx },
        } => commands::tx::decode(tx),
        Command::Tx {
            command: TxCommand::Staking { command },
        } => commands::tx::staking(&cli, command),
        Command::Tx {
            command: TxCommand::Slashing { command },
        } => commands::tx::slashing(&cli, command),
        Command::Tx {
            command: TxCommand::Distribution { command },
        } => commands::tx::distribution(&cli, command),
        Command::Light {
            command:
                LightCommand::Verify {
                    height,
                    trust,
                    node,
                },
        } => light_verify(&cli, *height, trust, node),
        Command::Status { node } => rpc_print(node, "status", serde_json::json!({})),
        Command::Query { command } => match command {
            QueryCommand::Bank {
                command: BankQuery::Balances { address, node },
            } => query_balances(address, node),
            QueryCommand::State {
                key,
                height,
                prove,
                trust,
                node,
            } => query_state(&cli, key, *height, *prove, trust, node),
            QueryCommand::Auth {
                command: AuthQuery::Account { address, node },
            } => query_account(address, node),
            QueryCommand::Tx { hash, node } => query_tx(hash, node),
            QueryCommand::Txs {
                query,
                page,
                limit,
                node,
            } => commands::query::txs(query, *page, *limit, node),
            QueryCommand::Staking { command } => commands::query::staking(command),
            QueryCommand::Slashing { command } => commands::query::slashing(command),
            QueryCommand::Distribution { command } => commands::query::distribution(command),
            QueryCommand::Mint { command } => commands::query::mint(command),
            QueryCommand::Block { height, node } => query_block(*height, node),
            QueryCommand::BlockResults { height, node } => {
                rpc_print(node, "block_results", height_param(*height))
            }
        },
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("Error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Cli;
    use clap::CommandFactory;

    /// Every subcommand's flags are consistent (no two with one name or short letter, every
    /// default valid): clap checks the whole tree, which running one command does not.
    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }
}
