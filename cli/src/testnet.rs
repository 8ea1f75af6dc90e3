//! `keystone testnet init-files`: the homes of an N-validator network on one machine, as
//! gaiad's `testnet init-files` writes them, but for loopback: every node listens on
//! 127.0.0.1 with its own ports, instead of one IP per node.
//!
//! For node `i` under `<output-dir>/node<i>`: a complete home (`init`), a funded operator
//! key named `node<i>` in the test keyring (its mnemonic also in `key_seed.json`, as gaiad
//! writes it), ports `base + 10·i` (p2p), `+1` (RPC), `+2` (REST), `+3` (gRPC), and every other node in
//! `p2p.persistent_peers`. All nodes share one genesis, built the gaiad way: each operator
//! account is funded, each node signs a gentx bonding `self_delegation` for its consensus key
//! (kept in `<output-dir>/gentxs`), and the gentxs are collected, so the first validator set
//! is what staking makes of them. Because the genesis is one file, a later `genesis
//! add-genesis-account` on one home followed by copying its genesis.json to the others still
//! yields a valid network.

use crate::home::{self, Home, PeerAddr};
use crate::keys::{self, Backend, Keyring};
use anyhow::{bail, Context, Result};
use keystone_consensus_driver::node_key::NodeKey;
use std::path::{Path, PathBuf};

/// What `testnet init-files` is asked for.
pub struct TestnetSpec<'a> {
    /// Number of validators.
    pub validators: usize,
    /// Where the homes go.
    pub output_dir: &'a Path,
    /// Chain id.
    pub chain_id: &'a str,
    /// First port (node i uses base + 10·i .. + 2).
    pub base_port: u16,
    /// What each operator account holds at genesis.
    pub coins: &'a str,
    /// `timeout_commit` for every node.
    pub timeout_commit: &'a str,
    /// What each validator bonds in its gentx (e.g. `100000000stake`: power 100).
    pub self_delegation: &'a str,
    /// Genesis time (RFC 3339).
    pub genesis_time: &'a str,
}

/// One written node home.
pub struct TestnetNode {
    /// `node<i>`.
    pub name: String,
    /// Its home.
    pub home: PathBuf,
    /// Its node id.
    pub id: String,
    /// Its p2p, RPC and REST ports.
    pub ports: (u16, u16, u16),
    /// Its operator account.
    pub address: String,
}

/// Write the homes (refusing to overwrite an existing one).
pub fn init_files(spec: &TestnetSpec<'_>) -> Result<Vec<TestnetNode>> {
    if spec.validators == 0 || spec.validators > 100 {
        bail!("--v must be between 1 and 100");
    }
    let last_port = spec.base_port as usize + 10 * spec.validators;
    if last_port > u16::MAX as usize {
        bail!(
            "--base-port {} leaves no room for {} nodes",
            spec.base_port,
            spec.validators
        );
    }
    let coins: keystone_modules::Coins = spec
        .coins
        .parse()
        .with_context(|| format!("invalid coins {:?}", spec.coins))?;
    home::parse_duration(spec.timeout_commit)?;
    let mut nodes = Vec::new();
    let mut secrets = Vec::new();
    for i in 0..spec.validators {
        let name = format!("node{i}");
        let dir = spec.output_dir.join(&name);
        let h = Home(dir.clone());
        home::init(&h, &name, spec.chain_id, spec.genesis_time)?;
        let mnemonic = keys::new_mnemonic();
        let key = keys::derive(&mnemonic)?;
        let info = Keyring::new(&dir, Backend::Test).add(&name, &key)?;
        secrets.push(Keyring::new(&dir, Backend::Test).secret(&name)?);
        std::fs::write(
            dir.join("key_seed.json"),
            serde_json::to_string_pretty(&serde_json::json!({"secret": mnemonic}))?,
        )?;
        let base = spec.base_port + 10 * i as u16;
        nodes.push(TestnetNode {
            name,
            id: NodeKey::load(&h.config("node_key.json"))?.id(),
            home: dir,
            ports: (base, base + 1, base + 2),
            address: info.address,
        });
    }
    // One genesis for all: the first node's, with every account, then every node's gentx.
    let first = Home(nodes[0].home.clone());
    let mut doc = home::read_genesis(&first)?;
    for n in &nodes {
        home::add_genesis_account(&mut doc, &n.address.parse()?, &coins)?;
    }
    doc.validate()?;
    let gentxs = spec.output_dir.join("gentxs");
    std::fs::create_dir_all(&gentxs)?;
    for (n, secret) in nodes.iter().zip(&secrets) {
        let h = Home(n.home.clone());
        home::write_genesis(&h, &doc)?;
        // The gentx memo names the node's p2p address, so write the port first.
        home::set_config(
            &h.config("config.toml"),
            &[("p2p", "laddr", &format!("tcp://127.0.0.1:{}", n.ports.0))],
        )?;
        crate::genutil::gentx(
            &h,
            secret,
            &n.address.parse()?,
            spec.self_delegation,
            spec.chain_id,
            &crate::genutil::ValidatorTerms::defaults(&n.name),
            Some(&gentxs.join(format!("gentx-{}.json", n.id))),
        )
        .with_context(|| format!("{}: gentx", n.name))?;
    }
    crate::genutil::collect_gentxs(&first, Some(&gentxs))?;
    let doc = home::read_genesis(&first)?;
    for n in &nodes {
        let h = Home(n.home.clone());
        home::write_genesis(&h, &doc)?;
        let peers: Vec<String> = nodes
            .iter()
            .filter(|p| p.id != n.id)
            .map(|p| {
                PeerAddr {
                    id: p.id.clone(),
                    addr: format!("127.0.0.1:{}", p.ports.0),
                }
                .to_string()
            })
            .collect();
        let (p2p, rpc, api) = n.ports;
        home::set_config(
            &h.config("config.toml"),
            &[
                ("p2p", "laddr", &format!("tcp://127.0.0.1:{p2p}")),
                ("p2p", "persistent_peers", &peers.join(",")),
                // All on one machine: loopback addresses are the only ones there are.
                ("p2p", "addr_book_strict", "false"),
                ("rpc", "laddr", &format!("tcp://127.0.0.1:{rpc}")),
                ("consensus", "timeout_commit", spec.timeout_commit),
            ],
        )?;
        home::set_config(
            &h.config("app.toml"),
            &[
                ("api", "address", &format!("tcp://127.0.0.1:{api}")),
                ("grpc", "address", &format!("127.0.0.1:{}", api + 1)),
            ],
        )?;
    }
    Ok(nodes)
}
