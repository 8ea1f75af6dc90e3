//! `keystone-localnet`: start and stop an N-validator network on 127.0.0.1.
//!
//! ```text
//! keystone-localnet start [--v 4] [--dir ./localnet-data] [--base-port 26656] [--chain-id localnet-1] [--seed]
//! keystone-localnet stop  [--dir ./localnet-data]
//! ```
//!
//! `start` writes the homes with `keystone testnet init-files` (unless `--dir` already holds
//! them), starts one `keystone start` per node in the background with its log in
//! `<dir>/node<i>.log` and its pid in `<dir>/node<i>.pid`, waits for the first block, and
//! prints every node's endpoints. `stop` kills the processes named by those pid files.
//!
//! With `--seed`, one more node runs as a seed (`seed_mode`), and the validators know only
//! it: they find each other through peer exchange instead of `persistent_peers`.

use anyhow::{bail, Context, Result};
use keystone_localnet::{keystone_bin, Localnet, FAST_TIMEOUTS};
use std::path::PathBuf;

fn flag(args: &[String], name: &str, default: &str) -> String {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
        .unwrap_or_else(|| default.to_string())
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let dir = PathBuf::from(flag(&args, "--dir", "./localnet-data"));
    match args.first().map(String::as_str) {
        Some("start") => start(&args, &dir),
        Some("stop") => stop(&dir),
        _ => bail!(
            "usage: keystone-localnet start [--v N] [--dir DIR] [--base-port P] [--chain-id ID] [--seed] | stop [--dir DIR]"
        ),
    }
}

fn start(args: &[String], dir: &std::path::Path) -> Result<()> {
    let bin = keystone_bin().context(
        "no keystone binary next to keystone-localnet: build both (localnet/run.sh does) or set KEYSTONE_BIN",
    )?;
    let n: usize = flag(args, "--v", "4").parse().context("--v")?;
    let base: u16 = flag(args, "--base-port", "26656")
        .parse()
        .context("--base-port")?;
    let chain_id = flag(args, "--chain-id", "localnet-1");
    if dir.join("node0").exists() {
        bail!(
            "{} already holds a localnet: stop it and remove the directory, or use another --dir",
            dir.display()
        );
    }
    let mut net = Localnet::init(&bin, dir, n, &chain_id, base, &FAST_TIMEOUTS)?;
    if args.iter().any(|a| a == "--seed") {
        // Ports after the validators' (each takes three of every ten).
        let port = base + 10 * u16::try_from(n).context("--v")?;
        let seed = net.add_full_node(port, &FAST_TIMEOUTS)?;
        net.use_seed(seed)?;
    }
    net.start_all()?;
    let all: Vec<usize> = (0..n).collect();
    // (The seed, if any, is node n: it hangs up on everyone and need not follow the chain.)
    net.wait_height(&all, 1, 60)?;
    for node in &net.nodes {
        println!(
            "{}  rpc http://127.0.0.1:{}  rest http://127.0.0.1:{}  p2p {}@127.0.0.1:{}  home {}  log {}",
            node.name,
            node.rpc,
            node.api,
            node.node_id,
            node.p2p,
            node.home.display(),
            dir.join(format!("{}.log", node.name)).display()
        );
    }
    // Leave the processes running: hand their pids to the files `stop` reads.
    let names: Vec<String> = net.nodes.iter().map(|n| n.name.clone()).collect();
    for (name, pid) in names.iter().zip(net.detach()) {
        std::fs::write(dir.join(format!("{name}.pid")), pid.to_string())?;
    }
    println!(
        "{n} validators running on chain {chain_id}; stop with: keystone-localnet stop --dir {}",
        dir.display()
    );
    Ok(())
}

fn stop(dir: &std::path::Path) -> Result<()> {
    let mut stopped = 0;
    for entry in std::fs::read_dir(dir).with_context(|| dir.display().to_string())? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "pid") {
            let pid = std::fs::read_to_string(&path)?;
            let status = std::process::Command::new("kill")
                .arg(pid.trim())
                .status()?;
            if status.success() {
                stopped += 1;
            }
            std::fs::remove_file(&path)?;
        }
    }
    println!("stopped {stopped} nodes");
    Ok(())
}
