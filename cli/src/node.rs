//! `keystone start`: assemble the engine (built-in application, block store, WAL, privval,
//! mempool) from a home directory and run it on the wall clock, with the JSON-RPC and REST
//! servers and, when `config.toml` has a `[p2p]` section, the network: the switch (peers over
//! SecretConnection), consensus gossip (every new proposal, part and vote passed on to the
//! other peers), mempool gossip, and block sync.
//!
//! One thread runs the engine; everything else reaches it as an event on one channel, so the
//! engine never runs two things at once and needs no locks.

use crate::events::{Bus, Committed};
use crate::home::{
    read_api_address, read_app_toml, read_genesis, read_node_config, read_p2p_config,
    read_timeouts, Home,
};
use crate::rpc::Request;
use anyhow::{Context, Result};
use keystone_app::App;
use keystone_consensus_driver::block_store::BlockStore;
use keystone_consensus_driver::block_sync::BlockSync;
use keystone_consensus_driver::engine::{
    gossip_size, Action, Engine, EngineConfig, Genesis, Gossip, Refused,
};
use keystone_consensus_driver::mempool::{Mempool, MempoolConfig};
use keystone_consensus_driver::node_key::NodeKey;
use keystone_consensus_driver::peer_budget::{PeerBudgets, Verdict};
use keystone_consensus_driver::privval::FilePrivVal;
use keystone_consensus_driver::reactor::{self, Wire};
use keystone_consensus_driver::rpc::NodeContext;
use keystone_consensus_driver::switch::{NetEvent, PersistentPeer, Switch, SwitchConfig};
use keystone_consensus_driver::wal::Wal;
use keystone_consensus_types::Block;
use keystone_consensus_types::Time;
use keystone_p2p::{ConnectConfig, NodeInfo};
use keystone_proto::Application;
use keystone_store::Store;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::mpsc;
use std::time::Duration;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

fn now() -> Time {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    // Sub-second nanos are always below 1e9.
    Time::new(d.as_secs() as i64, d.subsec_nanos()).unwrap_or(Time::UNIX_EPOCH)
}

/// How `start` runs.
#[derive(Clone, Debug, Default)]
pub struct StartOptions {
    /// Stop after committing this height (scripts and tests).
    pub stop_at: Option<u64>,
    /// Test-only misbehaviour: double-sign every vote (see [`Engine::misbehave_double_sign`]).
    pub double_sign: bool,
    /// Replicate the external ABCI application at this address (`tcp://host:port` or
    /// `unix:///path`) instead of the built-in one.
    pub proxy_app: Option<String>,
}

/// Run the node until the process is stopped (or, with `stop_at`, until that height), over
/// the built-in application or, with `proxy_app`, an external one over the ABCI socket.
pub fn start(home: &Home, opts: &StartOptions) -> Result<()> {
    let doc = read_genesis(home)?;
    match &opts.proxy_app {
        None => {
            let app = built_in(home, &doc.chain_id)?;
            run(home, doc, app, opts)
        }
        Some(addr) => {
            tracing::info!(%addr, "connecting to the ABCI application");
            let app = keystone_consensus_driver::abci::SocketApp::connect(
                addr,
                keystone_consensus_driver::abci::SocketAppConfig::default(),
            )
            .with_context(|| format!("--proxy-app {addr}"))?;
            run(home, doc, app, opts)
        }
    }
}

/// The built-in application of `chain_id` over the home's state.
fn built_in(home: &Home, chain_id: &str) -> Result<App> {
    let (prices, keep) = read_app_toml(&home.config("app.toml"))?;
    let path = home.data("application.redb");
    let mut store = Store::open(&path).with_context(|| {
        format!(
            "opening the state store {p}. If it is damaged, move it aside and start again: the \
             node rebuilds the state from its block store (`mv {p} {p}.damaged`)",
            p = path.display()
        )
    })?;
    if keep > 0 {
        store = store.with_pruning(keep);
    }
    Ok(App::new(store, chain_id, prices))
}

/// `keystone abci-server`: the built-in application served on the ABCI socket at `address`,
/// for any CometBFT-compatible engine to drive, until the process is stopped.
pub fn abci_server(home: &Home, address: &str) -> Result<()> {
    let app = built_in(home, &read_genesis(home)?.chain_id)?;
    let server = keystone_consensus_driver::abci::Server::bind(app, address)
        .with_context(|| format!("--address {address}"))?;
    tracing::info!(address = %server.address(), "serving the built-in application over ABCI");
    server.run().context("ABCI server")?;
    Ok(())
}

fn run<A: Application>(
    home: &Home,
    doc: keystone_genesis::GenesisDoc,
    app: A,
    opts: &StartOptions,
) -> Result<()> {
    let (stop_at, double_sign) = (opts.stop_at, opts.double_sign);
    let timeouts = read_timeouts(&home.config("config.toml"))?;
    let app_state = doc
        .app_state
        .clone()
        .unwrap_or_else(|| serde_json::json!({}));
    let genesis = Genesis {
        chain_id: doc.chain_id.clone(),
        time: doc.time()?,
        initial_height: doc.initial_height as u64,
        validators: doc.validator_set()?,
        params: doc.consensus_params.hashed(),
        consensus_params: Some(doc.consensus_params.to_proto()),
        app_state: serde_json::to_vec(&app_state)?,
    };
    let max_bytes = match doc.consensus_params.block.max_bytes {
        -1 => keystone_genesis::MAX_BLOCK_SIZE_BYTES,
        b => b,
    };
    let cfg = EngineConfig {
        timeouts,
        // Room for the header, the last commit and evidence, as CometBFT reserves it.
        max_block_tx_bytes: (max_bytes - 64 * 1024).max(1024),
        max_block_gas: doc.consensus_params.block.max_gas,
        evidence_max_age_blocks: doc.consensus_params.evidence.max_age_num_blocks.max(0) as u64,
        max_evidence_bytes: doc.consensus_params.evidence.max_bytes,
    };
    let data = home.data("");
    let block_path = home.data("blockstore.redb");
    let blocks = BlockStore::open(&block_path).with_context(|| {
        format!(
            "opening the block store {p}. If it is damaged, move it, the state and the WAL aside \
             (never priv_validator_state.json) and start again to sync from peers: `cd {d} && \
             mkdir -p damaged && mv blockstore.redb application.redb cs.wal damaged/`",
            p = block_path.display(),
            d = data.display()
        )
    })?;
    let wal_path = home.data("cs.wal").join("wal");
    let (wal, recovery) = Wal::open(&wal_path).with_context(|| {
        format!(
            "opening the consensus WAL {p}. If it is damaged, move it aside and start again \
             (priv_validator_state.json still keeps this validator from signing twice): \
             `mv {w} {w}.damaged`",
            p = wal_path.display(),
            w = home.data("cs.wal").display()
        )
    })?;
    if recovery.truncated_bytes > 0 {
        tracing::warn!(
            bytes = recovery.truncated_bytes,
            "cut a torn tail off the WAL"
        );
    }
    let privval = FilePrivVal::load(
        &home.config("priv_validator_key.json"),
        &home.data("priv_validator_state.json"),
    )?;
    let mut engine = Engine::new(
        genesis,
        cfg,
        app,
        blocks,
        wal,
        privval,
        Mempool::new(MempoolConfig::default()),
    );
    let (moniker, rpc_addr) = read_node_config(&home.config("config.toml"))?;
    let (ev_tx, ev_rx) = mpsc::channel::<Event>();
    let (req_tx, req_rx) = mpsc::channel::<Request>();
    forward(req_rx, ev_tx.clone(), Event::Rpc)?;
    let bus = Bus::default();
    if let Some(api) = read_api_address(&home.config("app.toml"))? {
        let rest_tx = req_tx.clone();
        let limits = crate::home::read_api_limits(&home.config("app.toml"))?;
        std::thread::Builder::new()
            .name("rest".into())
            .spawn(move || {
                if let Err(e) = crate::rest::serve(api, rest_tx, &limits) {
                    tracing::error!(error = %e, "REST server stopped");
                }
            })?;
    }
    {
        let shared = crate::rpc::Shared {
            engine: req_tx,
            events: bus.clone(),
            // CometBFT's `timeout_broadcast_tx_commit` default.
            commit_timeout: Duration::from_secs(10),
        };
        let mut limits = crate::home::read_rpc_limits(&home.config("config.toml"))?;
        // As CometBFT keeps its write timeout above `timeout_broadcast_tx_commit`.
        if !limits.request_timeout.is_zero() {
            limits.request_timeout = limits
                .request_timeout
                .max(shared.commit_timeout + Duration::from_secs(1));
        }
        std::thread::Builder::new()
            .name("rpc".into())
            .spawn(move || {
                let router = crate::rpc::router(shared);
                let style = crate::guard::ErrorStyle::JsonRpc;
                if let Err(e) = crate::rpc::serve_router(rpc_addr, router, "RPC", &limits, style) {
                    tracing::error!(error = %e, "RPC server stopped");
                }
            })?;
    }
    let p2p = read_p2p_config(&home.config("config.toml"))?;
    // The node's identity is reported by `status` even when p2p is off.
    let node_key = NodeKey::load(&home.config("node_key.json"))?;
    let channels = reactor::channels(max_bytes.max(0) as usize);
    let ids: Vec<u8> = channels.iter().map(|(c, _)| *c).collect();
    let info = NodeInfo::new(
        &node_key.public_key(),
        &doc.chain_id,
        &p2p.as_ref()
            .map(|(laddr, _)| format!("tcp://{laddr}"))
            .unwrap_or_default(),
        &moniker,
        &ids,
    );
    let genesis_json: serde_json::Value = serde_json::from_slice(
        &std::fs::read(home.config("genesis.json")).context("reading genesis.json")?,
    )
    .context("genesis.json is not JSON")?;
    let rpc_ctx = NodeContext {
        info: info.clone(),
        rpc_address: format!("tcp://{rpc_addr}"),
        genesis: genesis_json,
        peers: Vec::new(),
        listening: p2p.is_some(),
        catching_up: false,
    };
    let switch = match p2p {
        None => None,
        Some((laddr, peers)) => {
            let mut connect = ConnectConfig::new(channels);
            connect.handshake_timeout = Duration::from_secs(10);
            let (switch, net_rx) = Switch::start(SwitchConfig {
                listen: laddr,
                persistent_peers: peers
                    .into_iter()
                    .map(|p| PersistentPeer {
                        id: p.id,
                        addr: p.addr,
                    })
                    .collect(),
                key: node_key.0,
                info,
                connect,
                max_inbound: 40,
            })
            .with_context(|| format!("p2p: cannot listen on {laddr}"))?;
            tracing::info!(node_id = %switch.id(), %laddr, "p2p listening");
            forward(net_rx, ev_tx.clone(), Event::Net)?;
            Some(switch)
        }
    };
    drop(ev_tx);
    tracing::info!(chain_id = %doc.chain_id, "starting");
    if double_sign {
        engine.misbehave_double_sign(keystone_consensus_driver::privval::read_key_file(
            &home.config("priv_validator_key.json"),
        )?);
    }
    let published = node_height(&engine);
    let mut node = Node {
        engine,
        rpc: rpc_ctx,
        bus,
        published,
        switch,
        sync: BlockSync::default(),
        schedule: BTreeMap::new(),
        seq: 0,
        synced_since_tick: 0,
        last_tick: Instant::now(),
        stuck: (0, Instant::now()),
        known: (0, BTreeMap::new()),
        budgets: PeerBudgets::default(),
    };
    let actions = node.engine.start(now())?;
    node.dispatch(actions);
    node.at(TICK, Timer::Tick);
    loop {
        if stop_at.is_some_and(|h| node.engine.last_height().unwrap_or(0) >= h) {
            return Ok(());
        }
        let Some((&(deadline, _), _)) = node.schedule.first_key_value() else {
            anyhow::bail!("the engine has nothing scheduled");
        };
        // Answer requests and peers until the next deadline. A due timer goes first: under a
        // steady stream of requests and gossip the queue is never empty, and a timer that
        // waited for a quiet moment would never fire — consensus would stall.
        let wait = deadline.saturating_duration_since(Instant::now());
        if !wait.is_zero() {
            match ev_rx.recv_timeout(wait) {
                Ok(Event::Rpc(req)) => {
                    node.answer(req);
                    continue;
                }
                Ok(Event::Net(ev)) => {
                    node.on_net(ev)?;
                    node.publish();
                    continue;
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    std::thread::sleep(wait);
                }
            }
        }
        if node
            .schedule
            .first_key_value()
            .is_some_and(|(&(at, _), _)| at > Instant::now())
        {
            continue;
        }
        let Some((_, timer)) = node.schedule.pop_first() else {
            continue;
        };
        match timer {
            Timer::Timeout(height, timeout) => {
                let out = node.engine.on_timeout(height, timeout, now())?;
                node.dispatch(out);
            }
            Timer::NextHeight => {
                let out = node.engine.next_height(now())?;
                node.dispatch(out);
            }
            Timer::Tick => {
                node.tick()?;
                node.at(TICK, Timer::Tick);
            }
        }
        node.publish();
    }
}

/// How often a node tells its peers its height and asks for blocks it lacks.
const TICK: Duration = Duration::from_millis(500);

/// How long a height may stand still before its messages are sent to peers again.
const REGOSSIP_AFTER: Duration = Duration::from_secs(2);

/// What wakes the node loop.
enum Event {
    /// An RPC or REST request.
    Rpc(Request),
    /// Something from the network.
    Net(NetEvent),
}

/// What the node loop waits for besides events.
enum Timer {
    /// An engine timeout ([`Action::Timeout`]).
    Timeout(u64, keystone_consensus_core::Timeout),
    /// The next height ([`Action::NextHeight`]).
    NextHeight,
    /// Status, block sync and re-gossip ([`TICK`]).
    Tick,
}

/// Move everything from `rx` onto the node's one event channel.
fn forward<T: Send + 'static>(
    rx: mpsc::Receiver<T>,
    tx: mpsc::Sender<Event>,
    wrap: fn(T) -> Event,
) -> Result<()> {
    std::thread::Builder::new()
        .name("forward".into())
        .spawn(move || {
            while let Ok(v) = rx.recv() {
                if tx.send(wrap(v)).is_err() {
                    return;
                }
            }
        })?;
    Ok(())
}

/// The stored height (0 when unreadable: nothing is published then).
fn node_height<A: Application>(engine: &Engine<A>) -> u64 {
    engine.blocks().height().unwrap_or(0)
}

/// The running node: the engine, its peers, block sync, and what is scheduled.
struct Node<A: Application> {
    engine: Engine<A>,
    /// What RPC answers take from the node (peers and sync state refreshed per call).
    rpc: NodeContext,
    /// Committed heights, for subscribers.
    bus: Bus,
    /// The last height announced on `bus`.
    published: u64,
    switch: Option<Switch>,
    sync: BlockSync,
    schedule: BTreeMap<(Instant, u64), Timer>,
    seq: u64,
    synced_since_tick: u64,
    last_tick: Instant,
    /// The height in progress and since when.
    stuck: (u64, Instant),
    /// Per peer, the consensus messages of this height it is known to have (keyed by
    /// [`message_key`]), so none is sent to it twice; cleared when the height moves on.
    known: (u64, BTreeMap<String, BTreeSet<[u8; 32]>>),
    /// What each peer may make this node do.
    budgets: PeerBudgets,
}

/// Identifies a message for the "peer has it" bookkeeping.
fn message_key(channel: u8, bytes: &[u8]) -> [u8; 32] {
    let mut v = Vec::with_capacity(bytes.len() + 1);
    v.push(channel);
    v.extend_from_slice(bytes);
    keystone_consensus_types::sha256(&v).0
}

impl<A: Application> Node<A> {
    fn at(&mut self, after: Duration, t: Timer) {
        self.seq += 1;
        self.schedule.insert((Instant::now() + after, self.seq), t);
    }

    fn dispatch(&mut self, actions: Vec<Action>) {
        for a in actions {
            match a {
                Action::Broadcast(g) => {
                    let (ch, bytes) = reactor::encode(&Wire::Gossip(g));
                    self.gossip(ch, &bytes, None);
                }
                Action::Timeout {
                    after,
                    height,
                    timeout,
                } => self.at(after, Timer::Timeout(height, timeout)),
                Action::NextHeight { after } => self.at(after, Timer::NextHeight),
            }
        }
    }

    /// Remember that `peer` has the message `key` at the current height; `false` if it was
    /// known already. The bookkeeping starts afresh when the height moves on.
    fn mark_known(&mut self, peer: &str, key: [u8; 32]) -> bool {
        let height = self.engine.current_height().unwrap_or(0);
        if height != self.known.0 {
            self.known = (height, BTreeMap::new());
        }
        self.known
            .1
            .entry(peer.to_string())
            .or_default()
            .insert(key)
    }

    /// Send a consensus message to every peer not known to have it (it sent it to us, or we
    /// sent it before, at this height), and remember that they now do.
    fn gossip(&mut self, channel: u8, bytes: &[u8], from: Option<&str>) {
        let Some(peers) = self.switch.as_ref().map(Switch::peers) else {
            return;
        };
        let key = message_key(channel, bytes);
        if let Some(p) = from {
            self.mark_known(p, key);
        }
        for p in peers {
            if self.mark_known(&p, key) {
                self.send_raw(&p, channel, bytes.to_vec());
            }
        }
    }

    fn send_raw(&self, peer: &str, channel: u8, bytes: Vec<u8>) {
        if let Some(sw) = &self.switch {
            sw.send(peer, channel, bytes);
        }
    }

    fn broadcast(&self, w: &Wire, except: Option<&str>) {
        if let Some(sw) = &self.switch {
            let (ch, bytes) = reactor::encode(w);
            sw.broadcast(ch, &bytes, except);
        }
    }

    fn send(&self, peer: &str, w: &Wire) {
        let (ch, bytes) = reactor::encode(w);
        self.send_raw(peer, ch, bytes);
    }

    /// Ask peers for the blocks block sync wants next.
    fn request_blocks(&mut self) -> Result<()> {
        let last = self.engine.last_height()?;
        for (peer, h) in self.sync.requests(last, Instant::now()) {
            self.send(&peer, &Wire::BlockRequest(h));
        }
        Ok(())
    }

    fn status(&self) -> Wire {
        let height = self.engine.blocks().height().unwrap_or(0);
        let base = self.engine.blocks().base().unwrap_or(0);
        Wire::Status { height, base }
    }

    /// Every tick: tell peers our height, ask for blocks we lack, report progress, and when
    /// the height has not moved for a while, send peers again everything of it we hold — a
    /// message a peer missed (it was restarting, or busy with the previous height) would
    /// otherwise be missed for good.
    fn tick(&mut self) -> Result<()> {
        if self.switch.is_none() {
            return Ok(());
        }
        self.broadcast(&self.status(), None);
        let height = self.engine.current_height().unwrap_or(0);
        if height != self.stuck.0 {
            self.stuck = (height, Instant::now());
        } else if self.stuck.1.elapsed() >= REGOSSIP_AFTER {
            tracing::debug!(height, "height not moving: gossiping it again");
            for g in self.engine.height_messages().to_vec() {
                self.broadcast(&Wire::Gossip(g), None);
            }
            self.stuck.1 = Instant::now();
        }
        self.request_blocks()?;
        let last = self.engine.last_height()?;
        let target = self.sync.target();
        let elapsed = self.last_tick.elapsed().as_secs_f64().max(0.001);
        if target > last + 1 || self.synced_since_tick > 0 {
            // Blocks per second over the last tick; a float is fine in a log line.
            let rate = (self.synced_since_tick as f64 / elapsed).round() as u64;
            tracing::info!(height = last, target, blocks_per_s = rate, "block sync");
        }
        self.synced_since_tick = 0;
        self.last_tick = Instant::now();
        Ok(())
    }

    fn on_net(&mut self, ev: NetEvent) -> Result<()> {
        match ev {
            NetEvent::PeerUp(peer) => {
                // A new connection: whatever it had before, it may have lost.
                self.known.1.remove(&peer);
                self.send(&peer, &self.status());
                self.send(&peer, &Wire::StatusRequest);
                for g in self.engine.height_messages().to_vec() {
                    let (ch, bytes) = reactor::encode(&Wire::Gossip(g));
                    self.mark_known(&peer, message_key(ch, &bytes));
                    self.send_raw(&peer, ch, bytes);
                }
                for ev in self.engine.pending_evidence() {
                    self.send(&peer, &Wire::Gossip(Gossip::Evidence(Box::new(ev))));
                }
            }
            NetEvent::PeerDown(peer) => {
                self.known.1.remove(&peer);
                self.budgets.remove(&peer);
                self.sync.on_peer_down(&peer);
            }
            NetEvent::Message {
                peer,
                channel,
                bytes,
                // Held until the message is processed: then the peer may send more.
                ticket: _ticket,
            } => match reactor::decode(channel, &bytes) {
                Ok(w) => self.on_wire(&peer, channel, &bytes, w)?,
                Err(e) => {
                    tracing::warn!(%peer, channel, error = %e, "undecodable message; disconnecting");
                    self.disconnect(&peer);
                }
            },
        }
        Ok(())
    }

    fn disconnect(&self, peer: &str) {
        if let Some(sw) = &self.switch {
            sw.disconnect(peer);
        }
    }

    fn punish(&self, peer: &str, why: &dyn std::fmt::Display) {
        tracing::warn!(%peer, reason = %why, "peer sent an invalid message; disconnecting");
        self.disconnect(peer);
    }

    /// Within `peer`'s budget (`Take`); otherwise the message is dropped, and a peer far over
    /// it is disconnected.
    fn within_budget(&self, peer: &str, verdict: Verdict, what: &str) -> bool {
        match verdict {
            Verdict::Take => true,
            Verdict::Drop => false,
            Verdict::Disconnect => {
                self.punish(peer, &format!("far over its budget of {what}"));
                false
            }
        }
    }

    fn on_wire(&mut self, peer: &str, channel: u8, bytes: &[u8], w: Wire) -> Result<()> {
        match w {
            Wire::Gossip(g)
                if g.height().is_some()
                    && g.height() == self.engine.current_height().map(|h| h + 1) =>
            {
                let h = g.height().unwrap_or_default();
                let v = self
                    .budgets
                    .future(peer, h, gossip_size(&g), Instant::now());
                if self.within_budget(peer, v, "messages for the next height") {
                    // Checked as far as it can be, then kept until that height starts.
                    match self.engine.on_gossip(g, now()) {
                        Ok(_) | Err(Ok(Refused::Stale | Refused::Duplicate)) => {}
                        Err(Ok(r)) => self.punish(peer, &r),
                        Err(Err(e)) => return Err(e.into()),
                    }
                }
            }
            Wire::Gossip(g) => match self.engine.on_gossip(g, now()) {
                Ok(actions) => {
                    // New to us: pass it on, so peers not connected to its author get it.
                    self.gossip(channel, bytes, Some(peer));
                    self.dispatch(actions);
                }
                Err(Ok(Refused::Duplicate)) => {
                    // The sender has it: never send it back.
                    self.mark_known(peer, message_key(channel, bytes));
                }
                Err(Ok(Refused::Stale)) => {}
                Err(Ok(r)) => self.punish(peer, &r),
                Err(Err(e)) => return Err(e.into()),
            },
            Wire::Txs(txs) => {
                let sizes: Vec<usize> = txs.iter().map(Vec::len).collect();
                let (take, v) = self.budgets.txs(peer, &sizes, Instant::now());
                self.within_budget(peer, v, "transactions to check");
                for tx in txs.into_iter().take(take) {
                    if matches!(self.engine.check_tx(tx.clone()), Ok(r) if r.code == 0) {
                        self.broadcast(&Wire::Txs(vec![tx]), Some(peer));
                    }
                }
            }
            Wire::StatusRequest => self.send(peer, &self.status()),
            Wire::Status { height, base } => {
                self.sync.on_status(peer, base, height);
                if height > self.engine.last_height()? {
                    self.request_blocks()?;
                }
            }
            Wire::BlockRequest(h)
                if !{
                    let v = self.budgets.block_request(peer, h, Instant::now());
                    self.within_budget(peer, v, "block requests")
                } => {}
            Wire::BlockRequest(h) => match self.engine.committed_block(h)? {
                Some((raw, commit)) => match Block::from_proto(&raw) {
                    Ok(b) => self.send(peer, &Wire::BlockResponse(Box::new(b), commit)),
                    Err(e) => {
                        tracing::error!(height = h, error = %e, "a stored block does not decode")
                    }
                },
                None => self.send(peer, &Wire::NoBlock(h)),
            },
            Wire::NoBlock(h) => self.sync.on_no_block(peer, h),
            Wire::BlockResponse(block, commit) => {
                self.sync.on_block(peer, *block, commit);
                loop {
                    let last = self.engine.last_height()?;
                    let Some(a) = self.sync.next(last) else {
                        break;
                    };
                    match self.engine.apply_committed(a.block, a.commit, now()) {
                        Ok(actions) => {
                            self.synced_since_tick += 1;
                            self.dispatch(actions);
                        }
                        Err(Ok(Refused::Stale)) => {}
                        Err(Ok(r)) => self.punish(&a.peer, &r),
                        Err(Err(e)) => return Err(e.into()),
                    }
                }
                self.request_blocks()?;
            }
        }
        Ok(())
    }

    /// Answer one RPC/REST request; a transaction admitted to the mempool is gossiped.
    fn answer(&mut self, req: Request) {
        match req {
            Request::CheckTx(tx, reply) => {
                let res = self.engine.check_tx(tx.clone());
                let admitted = matches!(&res, Ok(r) if r.code == 0);
                let _ = reply.send(res.map_err(|e| e.to_string()));
                if admitted {
                    self.broadcast(&Wire::Txs(vec![tx]), None);
                }
            }
            Request::Query(q, reply) => {
                let _ = reply.send(self.engine.app().query(q).map_err(|e| e.to_string()));
            }
            Request::Call(method, params, reply) => {
                if let Some(sw) = &self.switch {
                    self.rpc.peers = sw.peer_infos();
                }
                self.rpc.catching_up = self
                    .engine
                    .last_height()
                    .is_ok_and(|last| self.sync.target() > last + 1);
                let result = keystone_consensus_driver::rpc::call(
                    &mut self.engine,
                    &self.rpc,
                    &method,
                    &params,
                );
                // Evidence a client submitted goes to the peers, as a peer's would.
                if let (Ok(r), "broadcast_evidence") = (&result, method.as_str()) {
                    let hash = r["hash"].as_str().unwrap_or_default();
                    for ev in self.engine.pending_evidence() {
                        if keystone_consensus_driver::rpc::shape::b64(&ev.hash().0) == hash {
                            self.broadcast(&Wire::Gossip(Gossip::Evidence(Box::new(ev))), None);
                        }
                    }
                }
                let _ = reply.send(result);
            }
        }
    }

    /// Announce the heights committed since the last call to subscribers (and to
    /// `broadcast_tx_commit`, which waits on them).
    fn publish(&mut self) {
        let height = node_height(&self.engine);
        if height <= self.published {
            return;
        }
        if !self.bus.listened() {
            self.published = height;
            return;
        }
        for h in self.published + 1..=height {
            match committed(&self.engine, h) {
                Ok(c) => self.bus.publish(c),
                Err(e) => tracing::warn!(height = h, error = %e, "cannot announce a height"),
            }
        }
        self.published = height;
    }
}

/// A stored height as subscribers receive it.
fn committed<A: Application>(engine: &Engine<A>, h: u64) -> Result<Committed> {
    let blocks = engine.blocks();
    let block = blocks.block_proto(h)?.context("block missing")?;
    let id = blocks.block_id(h)?.context("block id missing")?;
    let results = blocks.results(h)?.context("results missing")?;
    Ok(Committed {
        height: h,
        txs: block
            .data
            .as_ref()
            .map(|d| d.txs.clone())
            .unwrap_or_default(),
        block: serde_json::json!({
            "block_id": serde_json::to_value(id.to_proto())?,
            "block": serde_json::to_value(&block)?,
        }),
        results,
    })
}
