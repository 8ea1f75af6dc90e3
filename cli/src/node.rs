//! `keystone start`: assemble the engine (built-in application, block store, WAL, privval,
//! mempool) from a home directory and run it on the wall clock, with the JSON-RPC and REST
//! servers and, when `config.toml` has a `[p2p]` section, the network: the switch (peers over
//! SecretConnection), consensus gossip (every new proposal, part and vote passed on to the
//! other peers), mempool gossip, and block sync.
//!
//! One thread runs the engine; everything else reaches it as an event on one channel, so the
//! engine never runs two things at once and needs no locks.

use crate::home::{
    read_api_address, read_app_toml, read_genesis, read_node_config, read_p2p_config,
    read_timeouts, Home,
};
use crate::rpc::{Request, Status};
use anyhow::{Context, Result};
use keystone_app::App;
use keystone_consensus_driver::block_store::BlockStore;
use keystone_consensus_driver::block_sync::BlockSync;
use keystone_consensus_driver::engine::{Action, Engine, EngineConfig, Genesis, Gossip, Refused};
use keystone_consensus_driver::mempool::{Mempool, MempoolConfig};
use keystone_consensus_driver::node_key::NodeKey;
use keystone_consensus_driver::privval::FilePrivVal;
use keystone_consensus_driver::reactor::{self, Wire};
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

/// Run the node until the process is stopped (or, with `stop_at`, until that height). With
/// `double_sign`, the validator misbehaves on purpose (test-only; see
/// [`Engine::misbehave_double_sign`]).
pub fn start(home: &Home, stop_at: Option<u64>, double_sign: bool) -> Result<()> {
    let doc = read_genesis(home)?;
    let timeouts = read_timeouts(&home.config("config.toml"))?;
    let (prices, keep) = read_app_toml(&home.config("app.toml"))?;
    let mut store = Store::open(home.data("application.redb")).context("opening the state")?;
    if keep > 0 {
        store = store.with_pruning(keep);
    }
    let app = App::new(store, &doc.chain_id, prices);
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
    let blocks =
        BlockStore::open(&home.data("blockstore.redb")).context("opening the block store")?;
    let (wal, recovery) = Wal::open(&home.data("cs.wal").join("wal")).context("opening the WAL")?;
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
    if let Some(api) = read_api_address(&home.config("app.toml"))? {
        let rest_tx = req_tx.clone();
        std::thread::Builder::new()
            .name("rest".into())
            .spawn(move || {
                if let Err(e) = crate::rest::serve(api, rest_tx) {
                    tracing::error!(error = %e, "REST server stopped");
                }
            })?;
    }
    std::thread::Builder::new()
        .name("rpc".into())
        .spawn(move || {
            if let Err(e) = crate::rpc::serve(rpc_addr, req_tx) {
                tracing::error!(error = %e, "RPC server stopped");
            }
        })?;
    let me =
        keystone_consensus_driver::privval::read_key_file(&home.config("priv_validator_key.json"))?
            .public_key();
    let switch = match read_p2p_config(&home.config("config.toml"))? {
        None => None,
        Some((laddr, peers)) => {
            let node_key = NodeKey::load(&home.config("node_key.json"))?;
            let channels = reactor::channels(max_bytes.max(0) as usize);
            let ids: Vec<u8> = channels.iter().map(|(c, _)| *c).collect();
            let info = NodeInfo::new(
                &node_key.public_key(),
                &doc.chain_id,
                &format!("tcp://{laddr}"),
                &moniker,
                &ids,
            );
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
    let mut node = Node {
        engine,
        switch,
        sync: BlockSync::default(),
        schedule: BTreeMap::new(),
        seq: 0,
        synced_since_tick: 0,
        last_tick: Instant::now(),
        stuck: (0, Instant::now()),
        known: (0, BTreeMap::new()),
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
                    node.answer(req, &doc.chain_id, &moniker, &me);
                    continue;
                }
                Ok(Event::Net(ev)) => {
                    node.on_net(ev)?;
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

/// The running node: the engine, its peers, block sync, and what is scheduled.
struct Node {
    engine: Engine<App>,
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
}

/// Identifies a message for the "peer has it" bookkeeping.
fn message_key(channel: u8, bytes: &[u8]) -> [u8; 32] {
    let mut v = Vec::with_capacity(bytes.len() + 1);
    v.push(channel);
    v.extend_from_slice(bytes);
    keystone_consensus_types::sha256(&v).0
}

impl Node {
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
                self.sync.on_peer_down(&peer);
            }
            NetEvent::Message {
                peer,
                channel,
                bytes,
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

    fn on_wire(&mut self, peer: &str, channel: u8, bytes: &[u8], w: Wire) -> Result<()> {
        match w {
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
                for tx in txs {
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

    fn answer(
        &mut self,
        req: Request,
        chain_id: &str,
        moniker: &str,
        me: &keystone_consensus_types::PublicKey,
    ) {
        if let Some(tx) = answer(&mut self.engine, req, chain_id, moniker, me) {
            self.broadcast(&Wire::Txs(vec![tx]), None);
        }
    }
}

/// Answer one RPC/REST request; a transaction it admitted to the mempool is returned, for
/// the caller to gossip.
fn answer(
    engine: &mut Engine<App>,
    req: Request,
    chain_id: &str,
    moniker: &str,
    me: &keystone_consensus_types::PublicKey,
) -> Option<Vec<u8>> {
    use base64::Engine as _;
    match req {
        Request::CheckTx(tx, reply) => {
            let res = engine.check_tx(tx.clone());
            let admitted = matches!(&res, Ok(r) if r.code == 0).then_some(tx);
            let _ = reply.send(res.map_err(|e| e.to_string()));
            return admitted;
        }
        Request::Query(q, reply) => {
            let _ = reply.send(engine.app().query(q).map_err(|e| e.to_string()));
        }
        Request::Status(reply) => {
            let mut s = Status {
                chain_id: chain_id.into(),
                moniker: moniker.into(),
                validator_address: me.address().to_string(),
                validator_pub_key: base64::engine::general_purpose::STANDARD.encode(me.0),
                ..Status::default()
            };
            // This node's power in the set of the height in progress (0: not a validator).
            if let Ok(Some(set)) = engine
                .last_height()
                .map_err(|e| e.to_string())
                .and_then(|h| engine.validators_at(h + 1).map_err(|e| e.to_string()))
            {
                s.voting_power = set
                    .get_by_address(&me.address())
                    .map_or(0, |v| v.voting_power);
            }
            if let Ok(h) = engine.blocks().height() {
                if h > 0 {
                    s.height = h;
                    if let Ok(Some(id)) = engine.blocks().block_id(h) {
                        s.block_hash = id.hash.to_hex();
                    }
                    if let Ok(Some(r)) = engine.blocks().results(h) {
                        s.app_hash = hex::encode_upper(&r.app_hash);
                    }
                    if let Ok(Some(b)) = engine.blocks().block_proto(h) {
                        if let Some(t) = b.header.and_then(|hd| hd.time) {
                            s.time = serde_json::to_value(t)
                                .ok()
                                .and_then(|v| v.as_str().map(String::from))
                                .unwrap_or_default();
                        }
                    }
                }
            }
            let _ = reply.send(s);
        }
        Request::Other(method, params, reply) => {
            let _ = reply.send(other(engine, &method, &params));
        }
        Request::Block(height, reply) => {
            let result = (|| -> Result<Option<serde_json::Value>, String> {
                let blocks = engine.blocks();
                let h = match height {
                    Some(h) => h,
                    None => blocks.height().map_err(|e| e.to_string())?,
                };
                let (Some(block), Some(id)) = (
                    blocks.block_proto(h).map_err(|e| e.to_string())?,
                    blocks.block_id(h).map_err(|e| e.to_string())?,
                ) else {
                    return Ok(None);
                };
                Ok(Some(serde_json::json!({
                    "block_id": serde_json::to_value(id.to_proto()).map_err(|e| e.to_string())?,
                    "block": serde_json::to_value(block).map_err(|e| e.to_string())?,
                })))
            })();
            let _ = reply.send(result);
        }
    }
    None
}

fn param_str(params: &serde_json::Value, k: &str) -> Option<String> {
    match params.get(k)? {
        serde_json::Value::String(s) => Some(s.trim_matches('"').to_string()),
        serde_json::Value::Null => None,
        other => Some(other.to_string()),
    }
}

fn height_param(engine: &Engine<App>, params: &serde_json::Value) -> Result<u64, String> {
    let latest = engine.blocks().height().map_err(|e| e.to_string())?;
    match param_str(params, "height").filter(|s| !s.is_empty()) {
        None => Ok(latest),
        Some(s) => {
            let h: u64 = s.parse().map_err(|_| format!("invalid height {s:?}"))?;
            if h == 0 {
                return Err("height must be greater than 0, but got 0".into());
            }
            if h > latest {
                return Err(format!("height {h} must be less than or equal to the current blockchain height {latest}"));
            }
            Ok(h)
        }
    }
}

/// CometBFT's paging: `page` from 1 (default 1), `per_page` (default 30, at most 100);
/// a page past the last is an error. Returns how many results to skip and to take.
fn page(params: &serde_json::Value, total: usize) -> Result<(usize, usize), String> {
    let num = |k: &str, default: usize| -> Result<usize, String> {
        match param_str(params, k).filter(|s| !s.is_empty()) {
            None => Ok(default),
            Some(s) => s.parse().map_err(|_| format!("invalid {k} {s:?}")),
        }
    };
    let per_page = num("per_page", 30)?.clamp(1, 100);
    let pages = total.div_ceil(per_page).max(1);
    let page = num("page", 1)?;
    if page == 0 || page > pages {
        return Err(format!(
            "page should be within [1, {pages}] range, given {page}"
        ));
    }
    Ok(((page - 1) * per_page, per_page))
}

/// The JSON of one committed transaction, as `/tx` answers it.
fn tx_json(engine: &Engine<App>, height: u64, index: u32) -> Result<serde_json::Value, String> {
    use base64::Engine as _;
    let block = engine
        .blocks()
        .block_proto(height)
        .map_err(|e| e.to_string())?
        .ok_or("block missing")?;
    let tx = block
        .data
        .as_ref()
        .and_then(|d| d.txs.get(index as usize))
        .cloned()
        .ok_or("tx missing")?;
    let res = engine
        .blocks()
        .results(height)
        .map_err(|e| e.to_string())?
        .ok_or("results missing")?;
    let r = res
        .tx_results
        .get(index as usize)
        .cloned()
        .unwrap_or_default();
    Ok(serde_json::json!({
        "hash": hex::encode_upper(keystone_consensus_types::sha256(&tx).0),
        "height": height.to_string(),
        "index": index,
        "tx_result": {
            "code": r.code, "data": base64::engine::general_purpose::STANDARD.encode(&r.data), "log": r.log,
            "info": r.info, "gas_wanted": r.gas_wanted.to_string(), "gas_used": r.gas_used.to_string(),
            "events": crate::rpc::events_json(&r.events), "codespace": r.codespace
        },
        "tx": base64::engine::general_purpose::STANDARD.encode(&tx),
    }))
}

/// `abci_info`, `commit`, `validators`, `tx`, `tx_search`.
fn other(
    engine: &Engine<App>,
    method: &str,
    params: &serde_json::Value,
) -> Result<serde_json::Value, String> {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD;
    match method {
        "abci_info" => {
            let i = engine
                .app()
                .info(keystone_proto::abci::RequestInfo::default())
                .map_err(|e| e.to_string())?;
            Ok(serde_json::json!({"response": {
                "data": i.data, "version": i.version, "app_version": i.app_version.to_string(),
                "last_block_height": i.last_block_height.to_string(),
                "last_block_app_hash": b64.encode(&i.last_block_app_hash)
            }}))
        }
        "commit" => {
            let h = height_param(engine, params)?;
            let latest = engine.blocks().height().map_err(|e| e.to_string())?;
            let block = engine
                .blocks()
                .block_proto(h)
                .map_err(|e| e.to_string())?
                .ok_or("block missing")?;
            let commit = engine
                .blocks()
                .canonical_commit(h)
                .map_err(|e| e.to_string())?
                .ok_or("commit missing")?;
            Ok(serde_json::json!({
                "signed_header": {
                    "header": serde_json::to_value(block.header).map_err(|e| e.to_string())?,
                    "commit": serde_json::to_value(commit.to_proto()).map_err(|e| e.to_string())?,
                },
                "canonical": h < latest,
            }))
        }
        "validators" => {
            let h = height_param(engine, params)?;
            let set = engine
                .validators_at(h)
                .map_err(|e| e.to_string())?
                .ok_or("no validators at that height")?;
            let vals: Vec<serde_json::Value> = set
                .validators()
                .iter()
                .map(|v| serde_json::json!({
                    "address": v.address.to_string(),
                    "pub_key": {"type": "tendermint/PubKeyEd25519", "value": b64.encode(v.pub_key.0)},
                    "voting_power": v.voting_power.to_string(),
                    "proposer_priority": v.proposer_priority.to_string(),
                }))
                .collect();
            Ok(
                serde_json::json!({"block_height": h.to_string(), "validators": vals, "count": set.len().to_string(), "total": set.len().to_string()}),
            )
        }
        "tx" => {
            let hash = param_str(params, "hash").ok_or("missing hash")?;
            let bytes = if let Some(h) = hash.strip_prefix("0x") {
                hex::decode(h).map_err(|e| e.to_string())?
            } else {
                b64.decode(&hash)
                    .or_else(|_| hex::decode(&hash))
                    .map_err(|_| format!("invalid hash {hash:?}"))?
            };
            let (h, i) = engine
                .blocks()
                .tx_location(&bytes)
                .map_err(|e| e.to_string())?
                .ok_or_else(|| format!("tx ({}) not found", hex::encode_upper(&bytes)))?;
            tx_json(engine, h, i)
        }
        "tx_search" => {
            let query: keystone_consensus_driver::event_query::Query = param_str(params, "query")
                .ok_or("missing query")?
                .parse()
                .map_err(|e: keystone_consensus_driver::event_query::QueryError| e.to_string())?;
            let mut found = engine
                .blocks()
                .search_txs(&query)
                .map_err(|e| e.to_string())?;
            match param_str(params, "order_by").as_deref() {
                None | Some("") | Some("asc") => {}
                Some("desc") => found.reverse(),
                Some(other) => {
                    return Err(format!(
                        "expected order_by to be either `asc` or `desc` or empty, got {other:?}"
                    ))
                }
            }
            let (skip, take) = page(params, found.len())?;
            let txs = found
                .iter()
                .skip(skip)
                .take(take)
                .map(|&(h, i)| tx_json(engine, h, i))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(serde_json::json!({"txs": txs, "total_count": found.len().to_string()}))
        }
        other => Err(format!("method {other} not found")),
    }
}
