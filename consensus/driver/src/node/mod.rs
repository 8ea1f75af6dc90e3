//! The node: the engine with its peers, block sync, the timers the engine asks for and the
//! requests of RPC clients. This is the one node loop: `keystone start` runs it on the wall
//! clock and real sockets ([`run`]), the simulator on virtual time, a virtual network and a
//! virtual disk. Time is an input ([`Now`]); the network is a [`Network`]; the disk is the
//! engine's `Storage`.
//!
//! What lives here: the timers ([`Node::next_deadline`], [`Node::on_due`]), what is done with
//! each peer message ([`Node::on_net`]: consensus gossip checked and passed on to the peers
//! that lack it, transactions within the peer's budget, block sync), and the answers to
//! clients ([`Node::answer`]). What does not: sockets and threads (the switch and [`run`]),
//! the engine's rules ([`crate::engine`]).

mod gossip;
pub mod run;

use crate::block_sync::BlockSync;
use crate::engine::{gossip_size, Action, Engine, EngineError, Gossip, GossipError, Refused};
use crate::mempool::checks::{self, TxBatch};
use crate::mempool::MempoolError;
use crate::peer_budget::{PeerBudgets, Verdict};
use crate::reactor::{self, Wire};
use crate::rpc::{NodeContext, Params, ReadView, RpcError};
use crate::switch::{PeerInfo, Switch};
use keystone_consensus_types::{Block, Height, Time};
use keystone_proto::{abci, Application};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

/// How often a node tells its peers its height and asks for blocks it lacks.
pub const TICK: Duration = Duration::from_millis(500);

/// How long a height may stand still before its messages are sent to peers again.
pub const REGOSSIP_AFTER: Duration = Duration::from_secs(2);

/// The node's view of its peers. The switch is one; the simulator's network is another.
pub trait Network {
    /// Ids of the connected peers.
    fn peers(&self) -> Vec<String>;
    /// Queue `bytes` on `channel` to `peer`.
    fn send(&self, peer: &str, channel: u8, bytes: Vec<u8>);
    /// Queue `bytes` on `channel` to every peer but `except`.
    fn broadcast(&self, channel: u8, bytes: &[u8], except: Option<&str>) {
        for p in self.peers() {
            if Some(p.as_str()) != except {
                self.send(&p, channel, bytes.to_vec());
            }
        }
    }
    /// Drop the connection to `peer` (it misbehaved).
    fn disconnect(&self, peer: &str);
    /// The connected peers in detail (RPC `net_info`).
    fn peer_infos(&self) -> Vec<PeerInfo> {
        Vec::new()
    }
    /// A way to broadcast from another thread (the mempool's): `(channel, bytes, except)`.
    /// None: only the node's thread sends.
    fn outbound(&self) -> Option<Outbound> {
        None
    }
}

/// Broadcasts from another thread: `(channel, bytes, except)`.
pub type Outbound = Box<dyn Fn(u8, &[u8], Option<&str>) + Send>;

impl Network for Switch {
    fn peers(&self) -> Vec<String> {
        Switch::peers(self)
    }
    fn send(&self, peer: &str, channel: u8, bytes: Vec<u8>) {
        Switch::send(self, peer, channel, bytes)
    }
    fn broadcast(&self, channel: u8, bytes: &[u8], except: Option<&str>) {
        Switch::broadcast(self, channel, bytes, except)
    }
    fn disconnect(&self, peer: &str) {
        Switch::disconnect(self, peer)
    }
    fn peer_infos(&self) -> Vec<PeerInfo> {
        Switch::peer_infos(self)
    }
    fn outbound(&self) -> Option<Outbound> {
        let out = Switch::outbound(self);
        Some(Box::new(move |ch, bytes, except| {
            out.broadcast(ch, bytes, except)
        }))
    }
}

/// The time, as the driver gives it: a monotonic instant for timers and budgets, and the
/// wall-clock time that goes into votes and proposals.
#[derive(Clone, Copy, Debug)]
pub struct Now {
    /// For timers, budgets and rates.
    pub instant: Instant,
    /// For what is signed.
    pub time: Time,
}

/// Something from the network.
#[derive(Clone, Debug)]
pub enum Inbound {
    /// A peer connected.
    PeerUp(String),
    /// A peer's connection ended.
    PeerDown(String),
    /// A message from a peer.
    Message {
        /// The peer.
        peer: String,
        /// The channel.
        channel: u8,
        /// The bytes.
        bytes: Vec<u8>,
    },
}

/// Where an answer goes.
pub type Reply<T> = Box<dyn FnOnce(T) + Send>;

/// A client's question for the node.
pub enum Request {
    /// `CheckTx` into the mempool (and, when admitted, gossip).
    CheckTx(Vec<u8>, Reply<Result<abci::ResponseCheckTx, MempoolError>>),
    /// An ABCI query.
    Query(
        abci::RequestQuery,
        Reply<Result<abci::ResponseQuery, String>>,
    ),
    /// A JSON-RPC method answered from the engine's state.
    Call(String, Params, Reply<Result<Value, RpcError>>),
}

/// What stops the node.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// The engine failed (storage, application, signer, inconsistent state).
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// Nothing is scheduled: the node could never move again.
    #[error("the engine has nothing scheduled")]
    Idle,
    /// The mempool's thread could not be started.
    #[error("cannot start the mempool's thread: {0}")]
    Thread(#[source] std::io::Error),
}

/// What the node waits for besides events.
#[derive(Clone, Copy, Debug)]
enum Timer {
    /// An engine timeout ([`Action::Timeout`]).
    Timeout(Height, keystone_consensus_core::Timeout),
    /// The next height ([`Action::NextHeight`]).
    NextHeight,
    /// Status, block sync and re-gossip ([`TICK`]).
    Tick,
}

/// The running node: the engine, its peers, block sync, and what is scheduled.
pub struct Node<A: Application, N: Network> {
    engine: Engine<A>,
    net: Option<N>,
    /// What readers on other threads see of this node (peers and sync state published as
    /// they change).
    view: ReadView,
    sync: BlockSync,
    schedule: BTreeMap<(Instant, u64), Timer>,
    seq: u64,
    synced_since_tick: u64,
    last_tick: Instant,
    /// The height in progress and since when.
    stuck: (Height, Instant),
    /// Per peer, the consensus messages of this height it is known to have (keyed by
    /// [`gossip::message_key`]), so none is sent to it twice; cleared when the height moves on.
    known: (Height, BTreeMap<String, BTreeSet<[u8; 32]>>),
    /// What each peer may make this node do.
    budgets: PeerBudgets,
    /// Transactions clients submitted that this thread admitted and has not yet gossiped:
    /// sent to the peers as one message when the node has nothing else waiting (or the batch
    /// is full). With the mempool's thread running, that thread batches them instead.
    outbox: TxBatch,
}

pub use crate::mempool::checks::{TX_BATCH, TX_BATCH_BYTES};

impl<A: Application, N: Network> Node<A, N> {
    /// A node over `engine`, with `net` (none: a node without peers). Call
    /// [`Node::start`] next.
    pub fn new(engine: Engine<A>, net: Option<N>, rpc: NodeContext, now: Instant) -> Self {
        Node {
            view: ReadView::new(engine.shared(), rpc),
            engine,
            net,
            sync: BlockSync::default(),
            schedule: BTreeMap::new(),
            seq: 0,
            synced_since_tick: 0,
            last_tick: now,
            stuck: (0, now),
            known: (0, BTreeMap::new()),
            budgets: PeerBudgets::default(),
            outbox: TxBatch::default(),
        }
    }

    /// The engine.
    pub fn engine(&self) -> &Engine<A> {
        &self.engine
    }

    /// The network.
    pub fn network(&self) -> Option<&N> {
        self.net.as_ref()
    }

    /// A view of this node for readers on other threads (RPC, REST, gRPC): what they read
    /// through it never waits for this node's thread.
    pub fn reads(&self) -> ReadView {
        self.view.clone()
    }

    /// Tell readers the peers as they are now.
    fn publish_peers(&self) {
        if let Some(net) = &self.net {
            self.view.set_peers(net.peer_infos());
        }
    }

    /// Tell readers whether block sync is behind.
    fn publish_catching_up(&self) {
        self.view.set_catching_up(
            self.engine
                .last_height()
                .is_ok_and(|last| self.sync.target() > last + 1),
        );
    }

    /// The handshake with the application, then the current height (WAL replay).
    pub fn start(&mut self, now: Now) -> Result<(), NodeError> {
        let actions = self.engine.start(now.time)?;
        self.dispatch(actions, now.instant);
        self.at(now.instant + TICK, Timer::Tick);
        Ok(())
    }

    /// When the next timer is due.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.schedule.first_key_value().map(|(&(at, _), _)| at)
    }

    /// Run the earliest timer if it is due; `false` if none is.
    pub fn on_due(&mut self, now: Now) -> Result<bool, NodeError> {
        self.flush_txs();
        match self.schedule.first_key_value() {
            None => return Err(NodeError::Idle),
            Some((&(at, _), _)) if at > now.instant => return Ok(false),
            Some(_) => {}
        }
        let Some((_, timer)) = self.schedule.pop_first() else {
            return Ok(false);
        };
        match timer {
            Timer::Timeout(height, timeout) => {
                let out = self.engine.on_timeout(height, timeout, now.time)?;
                self.dispatch(out, now.instant);
            }
            Timer::NextHeight => {
                let out = self.engine.next_height(now.time)?;
                self.dispatch(out, now.instant);
            }
            Timer::Tick => {
                self.tick(now.instant)?;
                self.at(now.instant + TICK, Timer::Tick);
            }
        }
        Ok(true)
    }

    fn at(&mut self, when: Instant, t: Timer) {
        self.seq += 1;
        self.schedule.insert((when, self.seq), t);
    }

    fn dispatch(&mut self, actions: Vec<Action>, now: Instant) {
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
                } => self.at(now + after, Timer::Timeout(height, timeout)),
                Action::NextHeight { after } => self.at(now + after, Timer::NextHeight),
            }
        }
    }

    /// Ask peers for the blocks block sync wants next.
    fn request_blocks(&mut self, now: Instant) -> Result<(), NodeError> {
        let last = self.engine.last_height()?;
        for (peer, h) in self.sync.requests(last, now) {
            self.send(&peer, &Wire::BlockRequest(h));
        }
        Ok(())
    }

    fn status(&self) -> Wire {
        let height = self.engine.blocks().height().unwrap_or(0);
        let base = self.engine.blocks().base().unwrap_or(0);
        Wire::Status { height, base }
    }

    /// Every tick: make synced blocks durable, tell peers our height, ask for blocks we lack, report progress, and when
    /// the height has not moved for a while, send peers again everything of it we hold — a
    /// message a peer missed (it was restarting, or busy with the previous height) would
    /// otherwise be missed for good.
    fn tick(&mut self, now: Instant) -> Result<(), NodeError> {
        // Blocks synced since the last tick reach the disk together: a crash loses at most
        // a tick of block sync.
        self.engine.make_durable()?;
        if self.net.is_none() {
            return Ok(());
        }
        self.broadcast(&self.status(), None);
        let height = self.engine.current_height().unwrap_or(0);
        if height != self.stuck.0 {
            self.stuck = (height, now);
        } else if now.saturating_duration_since(self.stuck.1) >= REGOSSIP_AFTER {
            tracing::debug!(height, "height not moving: gossiping it again");
            for g in self.engine.height_messages().to_vec() {
                self.broadcast(&Wire::Gossip(g), None);
            }
            self.stuck.1 = now;
        }
        self.request_blocks(now)?;
        let last = self.engine.last_height()?;
        let target = self.sync.target();
        let elapsed_ms = now
            .saturating_duration_since(self.last_tick)
            .as_millis()
            .max(1);
        if target > last + 1 || self.synced_since_tick > 0 {
            let rate = u128::from(self.synced_since_tick) * 1000 / elapsed_ms;
            tracing::info!(
                height = last,
                target,
                blocks_per_s = rate as u64,
                "block sync"
            );
        }
        self.synced_since_tick = 0;
        self.last_tick = now;
        self.publish_peers();
        self.publish_catching_up();
        Ok(())
    }

    /// Something from the network.
    pub fn on_net(&mut self, ev: Inbound, now: Now) -> Result<(), NodeError> {
        self.flush_txs();
        match ev {
            Inbound::PeerUp(peer) => {
                self.publish_peers();
                // A new connection: whatever it had before, it may have lost.
                self.known.1.remove(&peer);
                self.send(&peer, &self.status());
                self.send(&peer, &Wire::StatusRequest);
                for g in self.engine.height_messages().to_vec() {
                    let (ch, bytes) = reactor::encode(&Wire::Gossip(g));
                    self.mark_known(&peer, gossip::message_key(ch, &bytes));
                    self.send_raw(&peer, ch, bytes);
                }
                for ev in self.engine.pending_evidence() {
                    self.send(&peer, &Wire::Gossip(Gossip::Evidence(Box::new(ev))));
                }
            }
            Inbound::PeerDown(peer) => {
                self.publish_peers();
                self.known.1.remove(&peer);
                self.budgets.remove(&peer);
                self.sync.on_peer_down(&peer);
            }
            Inbound::Message {
                peer,
                channel,
                bytes,
            } => match reactor::decode(channel, &bytes) {
                Ok(w) => self.on_wire(&peer, channel, &bytes, w, now)?,
                Err(e) => {
                    tracing::warn!(%peer, channel, error = %e, "undecodable message; disconnecting");
                    self.disconnect(&peer);
                }
            },
        }
        Ok(())
    }

    fn disconnect(&self, peer: &str) {
        if let Some(net) = &self.net {
            net.disconnect(peer);
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

    /// A refusal: normal in gossip (`Stale`, `Duplicate`), the peer's lie (the rest), or this
    /// node's failure, which stops it.
    fn refused(&self, peer: &str, e: GossipError) -> Result<(), NodeError> {
        match e {
            GossipError::Refused(Refused::Stale | Refused::Duplicate) => Ok(()),
            GossipError::Refused(r) => {
                self.punish(peer, &r);
                Ok(())
            }
            GossipError::Engine(e) => Err(e.into()),
        }
    }

    fn on_wire(
        &mut self,
        peer: &str,
        channel: u8,
        bytes: &[u8],
        w: Wire,
        now: Now,
    ) -> Result<(), NodeError> {
        match w {
            Wire::Gossip(g)
                if g.height().is_some()
                    && g.height() == self.engine.current_height().map(|h| h + 1) =>
            {
                let h = g.height().unwrap_or_default();
                let v = self.budgets.future(peer, h, gossip_size(&g), now.instant);
                if self.within_budget(peer, v, "messages for the next height") {
                    // Checked as far as it can be, then kept until that height starts.
                    if let Err(e) = self.engine.on_gossip(g, now.time) {
                        self.refused(peer, e)?;
                    }
                }
            }
            Wire::Gossip(g) => match self.engine.on_gossip(g, now.time) {
                Ok(actions) => {
                    // New to us: pass it on, so peers not connected to its author get it.
                    self.gossip(channel, bytes, Some(peer));
                    self.dispatch(actions, now.instant);
                }
                Err(GossipError::Refused(Refused::Duplicate)) => {
                    // The sender has it: never send it back.
                    self.mark_known(peer, gossip::message_key(channel, bytes));
                }
                Err(e) => self.refused(peer, e)?,
            },
            Wire::Txs(txs) => {
                let sizes: Vec<usize> = txs.iter().map(Vec::len).collect();
                let (take, v) = self.budgets.txs(peer, &sizes, now.instant);
                self.within_budget(peer, v, "transactions to check");
                let txs: Vec<Vec<u8>> = txs.into_iter().take(take).collect();
                let Err(txs) = self.engine.mempool().offer_from_peer(peer, txs) else {
                    return Ok(());
                };
                // What is admitted goes on as one message, as it came.
                let mut admitted = Vec::new();
                for tx in txs {
                    if matches!(self.engine.check_tx(tx.clone()), Ok(r) if r.code == 0) {
                        admitted.push(tx);
                    }
                }
                if !admitted.is_empty() {
                    self.broadcast(&Wire::Txs(admitted), Some(peer));
                }
            }
            Wire::StatusRequest => self.send(peer, &self.status()),
            Wire::Status { height, base } => {
                self.sync.on_status(peer, base, height);
                if height > self.engine.last_height()? {
                    self.request_blocks(now.instant)?;
                }
            }
            Wire::BlockRequest(h)
                if !{
                    let v = self.budgets.block_request(peer, h, now.instant);
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
                    match self.engine.apply_committed(a.block, a.commit, now.time) {
                        Ok(actions) => {
                            self.synced_since_tick += 1;
                            self.dispatch(actions, now.instant);
                        }
                        Err(e) => self.refused(&a.peer, e)?,
                    }
                }
                self.request_blocks(now.instant)?;
            }
        }
        Ok(())
    }

    /// Before the node stops: what the WAL holds that is not yet durable (peers' messages
    /// since the last signature) is made so, so a restart replays the height as far as this
    /// node had seen it.
    pub fn shutdown(&mut self) -> Result<(), NodeError> {
        self.flush_txs();
        self.engine.flush()?;
        Ok(())
    }

    /// Gossip the transactions clients submitted since the last call, as one message. The
    /// node's loop calls this when nothing else is waiting; handling a peer's message or a
    /// timer calls it first.
    pub fn flush_txs(&mut self) {
        if self.outbox.is_empty() {
            return;
        }
        let txs = self.outbox.take();
        self.broadcast(&Wire::Txs(txs), None);
    }

    /// Start the mempool's thread, when the application has a mempool connection: clients'
    /// and peers' transactions are checked there from now on, beside block execution, and
    /// the thread gossips what it admits. Dropping the handle stops it. The simulator does
    /// not call this: its nodes check on their own thread.
    pub fn start_mempool(&self) -> Result<Option<checks::Running>, NodeError> {
        let out = self.net.as_ref().and_then(Network::outbound);
        let gossip: checks::TxGossip = Box::new(move |except, txs| {
            if let Some(out) = &out {
                let (ch, bytes) = reactor::encode(&Wire::Txs(txs));
                out(ch, &bytes, except);
            }
        });
        checks::start(self.engine.mempool(), gossip).map_err(NodeError::Thread)
    }

    /// Answer one client request; a transaction admitted to the mempool is gossiped (see
    /// [`Node::flush_txs`]).
    pub fn answer(&mut self, req: Request) {
        match req {
            Request::CheckTx(tx, reply) => {
                let Err((tx, reply)) = self.engine.mempool().offer(tx, reply) else {
                    return;
                };
                let res = self.engine.check_tx(tx.clone());
                let admitted = matches!(&res, Ok(r) if r.code == 0);
                reply(res);
                if admitted {
                    if let Some(full) = self.outbox.push(tx) {
                        self.broadcast(&Wire::Txs(full), None);
                    }
                }
            }
            Request::Query(q, reply) => {
                reply(self.engine.app().query(q).map_err(|e| e.to_string()));
            }
            Request::Call(method, params, reply) => {
                let result = crate::rpc::call(&mut self.engine, &self.view, &method, &params);
                // Evidence a client submitted goes to the peers, as a peer's would.
                if let (Ok(r), "broadcast_evidence") = (&result, method.as_str()) {
                    let hash = r["hash"].as_str().unwrap_or_default();
                    for ev in self.engine.pending_evidence() {
                        if crate::rpc::shape::b64(&ev.hash().0) == hash {
                            self.broadcast(&Wire::Gossip(Gossip::Evidence(Box::new(ev))), None);
                        }
                    }
                }
                reply(result);
            }
        }
    }
}
