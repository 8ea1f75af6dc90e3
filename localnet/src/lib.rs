//! An N-validator Keystone network on 127.0.0.1, as real `keystone` processes: the homes come
//! from `keystone testnet init-files`, each node runs `keystone start` with its own ports and
//! its log in `<dir>/node<i>.log`. The `keystone-localnet` command starts and stops such a
//! network for people; the end-to-end tests drive one through [`Localnet`].
//!
//! What lives here: process management (start, `kill -9`, restart; every process killed when
//! the [`Localnet`] is dropped, so a failing test leaves nothing running), a minimal HTTP
//! client for the nodes' JSON-RPC, and waiting with deadlines. What does not: anything of the
//! node itself — these talk to it only as a user would, through its command line and RPC.

use serde_json::{json, Value};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// What went wrong running a localnet.
#[derive(Debug, thiserror::Error)]
pub enum LocalnetError {
    /// A `keystone` command failed.
    #[error("keystone {args}: {stderr}")]
    Command {
        /// Its arguments.
        args: String,
        /// What it printed on stderr.
        stderr: String,
    },
    /// A file or process operation failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// A node's files did not parse.
    #[error("{0}")]
    Parse(String),
    /// A wait ran out.
    #[error("timed out after {secs} s waiting for {what}")]
    Timeout {
        /// What was awaited.
        what: String,
        /// How long.
        secs: u64,
    },
}

type Result<T> = std::result::Result<T, LocalnetError>;

/// One node's home and ports.
#[derive(Clone, Debug)]
pub struct NodeSpec {
    /// `node<i>`.
    pub name: String,
    /// Its home directory.
    pub home: PathBuf,
    /// Its p2p node id.
    pub node_id: String,
    /// p2p port.
    pub p2p: u16,
    /// JSON-RPC port.
    pub rpc: u16,
    /// REST port.
    pub api: u16,
    /// Its operator account (funded at genesis).
    pub address: String,
}

/// A running (or stopped) network of `keystone` processes.
pub struct Localnet {
    bin: PathBuf,
    dir: PathBuf,
    /// The nodes' homes and ports.
    pub nodes: Vec<NodeSpec>,
    procs: Vec<Option<Child>>,
}

/// Consensus timeouts short enough for tests and demos on one machine.
pub const FAST_TIMEOUTS: [(&str, &str); 7] = [
    ("timeout_propose", "1s"),
    ("timeout_propose_delta", "200ms"),
    ("timeout_prevote", "300ms"),
    ("timeout_prevote_delta", "100ms"),
    ("timeout_precommit", "300ms"),
    ("timeout_precommit_delta", "100ms"),
    ("timeout_commit", "100ms"),
];

impl Localnet {
    /// Write the homes of `n` validators under `dir` with `keystone testnet init-files`
    /// (ports from `base_port`), with `timeouts` in every config.toml.
    pub fn init(
        bin: &Path,
        dir: &Path,
        n: usize,
        chain_id: &str,
        base_port: u16,
        timeouts: &[(&str, &str)],
    ) -> Result<Localnet> {
        let out = run(
            bin,
            &[
                "testnet",
                "init-files",
                "--v",
                &n.to_string(),
                "--output-dir",
                &dir.display().to_string(),
                "--chain-id",
                chain_id,
                "--keyring-backend",
                "test",
                "--base-port",
                &base_port.to_string(),
                "-o",
                "json",
            ],
        )?;
        let list: Vec<Value> =
            serde_json::from_str(out.trim()).map_err(|e| LocalnetError::Parse(e.to_string()))?;
        let nodes = list
            .iter()
            .map(|v| {
                let s = |k: &str| v[k].as_str().unwrap_or_default().to_string();
                let p = |k: &str| v[k].as_u64().unwrap_or_default() as u16;
                NodeSpec {
                    name: s("name"),
                    home: PathBuf::from(s("home")),
                    node_id: s("node_id"),
                    p2p: p("p2p"),
                    rpc: p("rpc"),
                    api: p("api"),
                    address: s("address"),
                }
            })
            .collect::<Vec<_>>();
        for node in &nodes {
            set_consensus(&node.home.join("config/config.toml"), timeouts)?;
        }
        Ok(Localnet {
            bin: bin.to_path_buf(),
            dir: dir.to_path_buf(),
            procs: nodes.iter().map(|_| None).collect(),
            nodes,
        })
    }

    /// Node `i`'s consensus address (uppercase hex, as RPC and commits write it), from its
    /// `priv_validator_key.json`.
    pub fn validator_address(&self, i: usize) -> Result<String> {
        let path = self.nodes[i].home.join("config/priv_validator_key.json");
        let key: Value = serde_json::from_str(&std::fs::read_to_string(&path)?)
            .map_err(|e| LocalnetError::Parse(format!("{}: {e}", path.display())))?;
        key["address"]
            .as_str()
            .map(str::to_uppercase)
            .ok_or_else(|| LocalnetError::Parse(format!("{}: no address", path.display())))
    }

    /// Edit the genesis every node shares (e.g. short staking and slashing params for a
    /// test), before the nodes first start.
    pub fn edit_genesis(&self, edit: impl FnOnce(&mut Value)) -> Result<()> {
        let first = self.nodes[0].home.join("config/genesis.json");
        let mut doc: Value = serde_json::from_str(&std::fs::read_to_string(&first)?)
            .map_err(|e| LocalnetError::Parse(format!("{}: {e}", first.display())))?;
        edit(&mut doc);
        let text =
            serde_json::to_string_pretty(&doc).map_err(|e| LocalnetError::Parse(e.to_string()))?;
        for node in &self.nodes {
            std::fs::write(node.home.join("config/genesis.json"), &text)?;
        }
        Ok(())
    }

    /// For an application that keeps no stake (an external ABCI app): genesis.json names each
    /// node's consensus key as a validator with `power`, and the app state is empty.
    pub fn genesis_validators_from_keys(&self, power: i64) -> Result<()> {
        let keys = self
            .nodes
            .iter()
            .map(|n| {
                let path = n.home.join("config/priv_validator_key.json");
                let text = std::fs::read_to_string(&path)?;
                serde_json::from_str::<Value>(&text)
                    .map_err(|e| LocalnetError::Parse(format!("{}: {e}", path.display())))
            })
            .collect::<Result<Vec<Value>>>()?;
        self.edit_genesis(|g| {
            g["validators"] = Value::Array(
                keys.iter()
                    .zip(&self.nodes)
                    .map(|(k, n)| {
                        json!({"address": k["address"], "pub_key": k["pub_key"],
                               "power": power.to_string(), "name": n.name})
                    })
                    .collect(),
            );
            g["app_state"] = json!({});
        })
    }

    /// Add a non-validator node: its own `init`, the network's genesis, the first node as
    /// its persistent peer, and ports from `base_port`.
    pub fn add_full_node(&mut self, base_port: u16, timeouts: &[(&str, &str)]) -> Result<usize> {
        let i = self.nodes.len();
        let name = format!("full{i}");
        let home = self.dir.join(&name);
        let h = home.display().to_string();
        run(
            &self.bin,
            &["init", &name, "--chain-id", "ignored", "--home", &h],
        )?;
        std::fs::copy(
            self.nodes[0].home.join("config/genesis.json"),
            home.join("config/genesis.json"),
        )?;
        let node_id = run(&self.bin, &["tendermint", "show-node-id", "--home", &h])?
            .trim()
            .to_string();
        let (p2p, rpc, api) = (base_port, base_port + 1, base_port + 2);
        let peers = format!("{}@127.0.0.1:{}", self.nodes[0].node_id, self.nodes[0].p2p);
        let config = home.join("config/config.toml");
        let text = std::fs::read_to_string(&config)?
            .replace("tcp://127.0.0.1:26656", &format!("tcp://127.0.0.1:{p2p}"))
            .replace("tcp://127.0.0.1:26657", &format!("tcp://127.0.0.1:{rpc}"))
            .replace(
                "persistent_peers = \"\"",
                &format!("persistent_peers = \"{peers}\""),
            );
        std::fs::write(&config, text)?;
        let app = home.join("config/app.toml");
        let text = std::fs::read_to_string(&app)?
            .replace("tcp://127.0.0.1:1317", &format!("tcp://127.0.0.1:{api}"));
        std::fs::write(&app, text)?;
        set_consensus(&config, timeouts)?;
        self.nodes.push(NodeSpec {
            name,
            home,
            node_id,
            p2p,
            rpc,
            api,
            address: String::new(),
        });
        self.procs.push(None);
        Ok(i)
    }

    /// Make node `seed` a seed node (`seed_mode`) and have every other node know only it:
    /// their `persistent_peers` are cleared and `seeds` names the seed, so they find each
    /// other through peer exchange. Before the nodes start.
    pub fn use_seed(&mut self, seed: usize) -> Result<()> {
        let seed_addr = format!(
            "{}@127.0.0.1:{}",
            self.nodes[seed].node_id, self.nodes[seed].p2p
        );
        for (i, node) in self.nodes.iter().enumerate() {
            let config = node.home.join("config/config.toml");
            let role: &[(&str, &str)] = if i == seed {
                &[("seed_mode", "true"), ("seeds", "")]
            } else {
                &[("seed_mode", "false"), ("seeds", &seed_addr)]
            };
            set_section(&config, "p2p", role)?;
            set_section(
                &config,
                "p2p",
                &[("persistent_peers", ""), ("addr_book_strict", "false")],
            )?;
        }
        Ok(())
    }

    /// Set keys of node `i`'s config.toml `[section]`.
    pub fn set_config(&self, i: usize, section: &str, values: &[(&str, &str)]) -> Result<()> {
        set_section(
            &self.nodes[i].home.join("config/config.toml"),
            section,
            values,
        )
    }

    /// Start node `i` (its log goes to `<dir>/<name>.log`, appended).
    pub fn start(&mut self, i: usize) -> Result<()> {
        self.start_with(i, &[])
    }

    /// Start node `i` with extra `keystone start` flags.
    pub fn start_with(&mut self, i: usize, extra: &[&str]) -> Result<()> {
        self.start_env(i, extra, &[])
    }

    /// Start node `i` with extra `keystone start` flags and environment variables.
    pub fn start_env(&mut self, i: usize, extra: &[&str], env: &[(&str, &str)]) -> Result<()> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join(format!("{}.log", self.nodes[i].name)))?;
        let child = Command::new(&self.bin)
            .args(["start", "--home"])
            .arg(&self.nodes[i].home)
            .args(extra)
            .env("RUST_LOG", "info")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()?;
        self.procs[i] = Some(child);
        Ok(())
    }

    /// Start every node.
    pub fn start_all(&mut self) -> Result<()> {
        for i in 0..self.nodes.len() {
            self.start(i)?;
        }
        Ok(())
    }

    /// `kill -9` node `i` and wait for it to be gone.
    pub fn kill(&mut self, i: usize) {
        if let Some(mut c) = self.procs[i].take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// The process id of node `i`, if running.
    pub fn pid(&self, i: usize) -> Option<u32> {
        self.procs[i].as_ref().map(Child::id)
    }

    /// Whether node `i`'s process is running.
    pub fn is_running(&mut self, i: usize) -> bool {
        match self.procs[i].as_mut() {
            Some(c) => matches!(c.try_wait(), Ok(None)),
            None => false,
        }
    }

    /// A JSON-RPC call to node `i`: its `result`, or `None` (no answer or an error).
    pub fn rpc(&self, i: usize, method: &str, params: Value) -> Option<Value> {
        let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
        let v = http_post(self.nodes[i].rpc, &body.to_string())?;
        v.get("result").cloned()
    }

    /// Node `i`'s lowest stored height (`None` if it does not answer): 1 for a node that
    /// synced from genesis, the snapshot's height for one that state-synced.
    pub fn earliest_height(&self, i: usize) -> Option<u64> {
        self.rpc(i, "status", json!({}))?["sync_info"]["earliest_block_height"]
            .as_str()?
            .parse()
            .ok()
    }

    /// Node `i`'s latest committed height (`None` if it does not answer).
    pub fn height(&self, i: usize) -> Option<u64> {
        self.rpc(i, "status", json!({}))?["sync_info"]["latest_block_height"]
            .as_str()?
            .parse()
            .ok()
    }

    /// The block hash and app hash (uppercase hex) of height `h` as node `i` has them: the
    /// block id from `block` and the app hash after it from the header of `h + 1`.
    pub fn block_hash(&self, i: usize, h: u64) -> Option<String> {
        let b = self.rpc(i, "block", json!({"height": h.to_string()}))?;
        b["block_id"]["hash"].as_str().map(str::to_string)
    }

    /// The app hash in the header of block `h` at node `i`.
    pub fn app_hash(&self, i: usize, h: u64) -> Option<String> {
        let b = self.rpc(i, "block", json!({"height": h.to_string()}))?;
        b["block"]["header"]["app_hash"]
            .as_str()
            .map(str::to_string)
    }

    /// Precommits signed twice: every validator (but those in `skip`, by address) whose
    /// precommits for one (height, round), in the commits `nodes` hold for heights
    /// `1..=upto`, are for two different things (a block hash, or nil) — one line each — and
    /// how many distinct (validator, height, round) precommits were read.
    pub fn double_signs(
        &self,
        nodes: &[usize],
        upto: u64,
        skip: &[String],
    ) -> (usize, Vec<String>) {
        let mut seen: std::collections::BTreeMap<(String, u64, i64), String> =
            std::collections::BTreeMap::new();
        let mut conflicts = Vec::new();
        for &i in nodes {
            for h in 1..=upto {
                let Some(c) = self.rpc(i, "commit", json!({"height": h.to_string()})) else {
                    continue;
                };
                let commit = &c["signed_header"]["commit"];
                let round = commit["round"].as_i64().unwrap_or(0);
                let block = commit["block_id"]["hash"]
                    .as_str()
                    .unwrap_or("")
                    .to_string();
                for sig in commit["signatures"].as_array().into_iter().flatten() {
                    // CometBFT's JSON: 2 = for the block, 3 = nil, 1 = absent.
                    let what = match sig["block_id_flag"].as_i64() {
                        Some(2) => block.clone(),
                        Some(3) => "nil".to_string(),
                        _ => continue,
                    };
                    let who = sig["validator_address"].as_str().unwrap_or("").to_string();
                    if skip.contains(&who) {
                        continue;
                    }
                    if let Some(before) = seen.insert((who.clone(), h, round), what.clone()) {
                        if before != what {
                            conflicts.push(format!(
                                "{who} signed two precommits at {h}/{round}: {before} and {what}"
                            ));
                        }
                    }
                }
            }
        }
        (seen.len(), conflicts)
    }

    /// Wait until `f` holds, polling every 100 ms, for at most `secs` seconds.
    pub fn wait(&self, what: &str, secs: u64, mut f: impl FnMut(&Self) -> bool) -> Result<()> {
        let deadline = Instant::now() + Duration::from_secs(secs);
        while Instant::now() < deadline {
            if f(self) {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Err(LocalnetError::Timeout {
            what: what.into(),
            secs,
        })
    }

    /// Wait until every node in `nodes` has committed height `h`.
    /// When it times out, the error carries the end of the log of each node that fell short,
    /// so a failure on a CI machine says why.
    pub fn wait_height(&self, nodes: &[usize], h: u64, secs: u64) -> Result<()> {
        self.wait(&format!("nodes {nodes:?} at height {h}"), secs, |n| {
            nodes.iter().all(|&i| n.height(i).is_some_and(|x| x >= h))
        })
        .map_err(|e| match e {
            LocalnetError::Timeout { mut what, secs } => {
                for &i in nodes {
                    let at = self.height(i);
                    if at.is_some_and(|x| x >= h) {
                        continue;
                    }
                    let name = &self.nodes[i].name;
                    let log = std::fs::read_to_string(self.dir.join(format!("{name}.log")))
                        .unwrap_or_default();
                    let lines: Vec<&str> = log.lines().collect();
                    let tail = lines[lines.len().saturating_sub(30)..].join("\n");
                    what.push_str(&format!(
                        "\n--- {name} (at {at:?}): the end of {name}.log ---\n{tail}"
                    ));
                }
                LocalnetError::Timeout { what, secs }
            }
            other => other,
        })
    }

    /// Run the `keystone` command with `args`; its stdout.
    pub fn keystone(&self, args: &[&str]) -> Result<String> {
        run(&self.bin, args)
    }

    /// Let the processes outlive this value (for the `keystone-localnet` command); their pids.
    pub fn detach(&mut self) -> Vec<u32> {
        self.procs
            .iter_mut()
            .filter_map(|p| p.take())
            .map(|c| c.id())
            .collect()
    }

    /// The directory holding the homes and logs.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl Drop for Localnet {
    fn drop(&mut self) {
        for i in 0..self.procs.len() {
            self.kill(i);
        }
    }
}

/// Set `[consensus]` keys of a config.toml.
fn set_consensus(path: &Path, values: &[(&str, &str)]) -> Result<()> {
    set_section(path, "consensus", values)
}

/// Set keys of one `[section]` of a config.toml.
fn set_section(path: &Path, section: &str, values: &[(&str, &str)]) -> Result<()> {
    let text = std::fs::read_to_string(path)?;
    let mut doc: toml::Table = toml::from_str(&text)
        .map_err(|e| LocalnetError::Parse(format!("{}: {e}", path.display())))?;
    let table = doc
        .entry(section)
        .or_insert_with(|| toml::Value::Table(toml::Table::new()));
    if let Some(t) = table.as_table_mut() {
        for (k, v) in values {
            t.insert((*k).to_string(), toml::Value::String((*v).to_string()));
        }
    }
    let out = toml::to_string(&doc).map_err(|e| LocalnetError::Parse(e.to_string()))?;
    std::fs::write(path, out)?;
    Ok(())
}

/// A base port on 127.0.0.1 with `count` free ports after it (a node takes three of every
/// ten). Every call in this process gets a different range, even before the first is bound;
/// the process id spreads concurrent test binaries apart. `None` when 400 tries found none.
///
/// The range lies below the kernel's ephemeral ports (`ip_local_port_range`, 32768 by
/// default): a port picked there can be taken, between the pick and a node's bind or while a
/// node is down for a restart, as the source port of any outbound connection on the machine —
/// seen on CI as "p2p: cannot listen …: Address already in use".
pub fn free_base(count: u16) -> Option<u16> {
    static NEXT: std::sync::atomic::AtomicU16 = std::sync::atomic::AtomicU16::new(0);
    const LOW: u16 = 10_000;
    let ephemeral = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|r| r.split_whitespace().next()?.parse::<u16>().ok())
        .unwrap_or(32_768);
    let span = ephemeral.checked_sub(LOW + count)?.max(1);
    let seed = std::process::id() as u16;
    loop {
        let attempt = NEXT.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        if attempt >= 400 {
            return None;
        }
        let base = LOW
            + (seed
                .wrapping_mul(131)
                .wrapping_add(attempt.wrapping_mul(997)))
                % span;
        if (0..count).all(|p| std::net::TcpListener::bind(("127.0.0.1", base + p)).is_ok()) {
            return Some(base);
        }
    }
}

/// Run `bin args…` to completion (at most 60 s); its stdout, or its stderr as the error.
pub fn run(bin: &Path, args: &[&str]) -> Result<String> {
    let mut child = Command::new(bin)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let mut out = child.stdout.take().map(|mut o| {
        std::thread::spawn(move || {
            let mut s = String::new();
            let _ = o.read_to_string(&mut s);
            s
        })
    });
    let mut err = child.stderr.take().map(|mut o| {
        std::thread::spawn(move || {
            let mut s = String::new();
            let _ = o.read_to_string(&mut s);
            s
        })
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(s) = child.try_wait()? {
            break s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err(LocalnetError::Timeout {
                what: format!("keystone {}", args.join(" ")),
                secs: 60,
            });
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let take = |h: &mut Option<std::thread::JoinHandle<String>>| {
        h.take().and_then(|h| h.join().ok()).unwrap_or_default()
    };
    let (stdout, stderr) = (take(&mut out), take(&mut err));
    if status.success() {
        Ok(stdout)
    } else {
        Err(LocalnetError::Command {
            args: args.join(" "),
            stderr,
        })
    }
}

/// POST `body` to `127.0.0.1:port/` and parse the JSON answer (5 s timeouts).
pub fn http_post(port: u16, body: &str) -> Option<Value> {
    http(port, "POST", "/", body)
}

/// A minimal HTTP/1.1 request to `127.0.0.1:port`; the JSON body of the answer.
pub fn http(port: u16, method: &str, path: &str, body: &str) -> Option<Value> {
    http_status(port, method, path, body).map(|(_, v)| v)
}

/// A minimal HTTP/1.1 request to `127.0.0.1:port`, `path` written into the request line byte
/// for byte (as curl sends `'localhost:26657/abci_query?data="name"'`): the status and the
/// JSON body (`Null` when the body is not JSON).
pub fn http_status(port: u16, method: &str, path: &str, body: &str) -> Option<(u16, Value)> {
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    s.set_write_timeout(Some(Duration::from_secs(5))).ok()?;
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).ok()?;
    let mut resp = Vec::new();
    s.read_to_end(&mut resp).ok()?;
    let text = String::from_utf8_lossy(&resp);
    let (head, body) = text.split_once("\r\n\r\n")?;
    let status = head.split_whitespace().nth(1)?.parse().ok()?;
    Some((status, serde_json::from_str(body).unwrap_or(Value::Null)))
}

/// The `keystone` binary next to the running executable (`target/<profile>/keystone` for a
/// test in `target/<profile>/deps/`, or for the `keystone-localnet` command itself), or
/// `$KEYSTONE_BIN`.
pub fn keystone_bin() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("KEYSTONE_BIN") {
        return Some(PathBuf::from(p));
    }
    let exe = std::env::current_exe().ok()?;
    let mut dir = exe.parent()?;
    for _ in 0..2 {
        let candidate = dir.join("keystone");
        if candidate.is_file() {
            return Some(candidate);
        }
        dir = dir.parent()?;
    }
    None
}
