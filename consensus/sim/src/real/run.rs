//! The event loop over real nodes, and the checks after every event.

use super::app::SimApp;
use super::disk::SimDisk;
use super::scenario::NodeScenario;
use crate::network::Queue;
use hostile::HOSTILE_EVERY_MS;
use net::{topology, Peer, SimNet, Wires};
use report::hex;
pub use report::{NodeReport, NodeViolation};

mod checks;
mod hostile;
mod net;
mod report;
use keystone_consensus_driver::block_store::BlockStore;
use keystone_consensus_driver::engine::{Engine, EngineConfig, Genesis, Gossip};
use keystone_consensus_driver::mempool::{Mempool, MempoolConfig};
use keystone_consensus_driver::node::{Inbound, Network, Node, Now, Request};
use keystone_consensus_driver::privval::{key_file_bytes, FilePrivVal};
use keystone_consensus_driver::reactor::{self, Wire};
use keystone_consensus_driver::rpc::NodeContext;
use keystone_consensus_driver::storage::SharedStorage;
use keystone_consensus_driver::wal::Wal;
use keystone_consensus_types::{
    sha256, BlockId, HashedParams, Height, PrivateKey, Time, Validator, ValidatorSet, VoteType,
};
use keystone_p2p::NodeInfo;
use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sha2::{Digest, Sha256};
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

const CHAIN_ID: &str = "keystone-sim";
const GENESIS_SECS: i64 = 1_700_000_000;
/// How soon a dropped connection is dialled again.
const REDIAL_MS: u64 = 1_000;

const WAL: &str = "data/cs.wal/wal";
const BLOCKS: &str = "data/blockstore.redb";
const KEY: &str = "config/priv_validator_key.json";
const SIGN_STATE: &str = "data/priv_validator_state.json";
const APP: &str = "data/app.state";

/// The simulated nodes' mempool: small, so a flood reaches its bounds.
fn mempool_config() -> MempoolConfig {
    MempoolConfig {
        max_txs: 500,
        max_bytes: 64 * 1024,
        max_tx_bytes: super::app::MAX_TX,
        cache_size: 10_000,
        recheck: true,
    }
}

enum Event {
    Deliver {
        to: usize,
        from: Peer,
        channel: u8,
        bytes: Vec<u8>,
        life: u32,
    },
    Wake {
        node: usize,
        life: u32,
    },
    Crash {
        node: usize,
        at_write: Option<u64>,
        restart_after_ms: u64,
    },
    Restart {
        node: usize,
    },
    Connect {
        node: usize,
        peer: Peer,
    },
    Hostile {
        h: usize,
    },
    ClientTx,
}

struct Slot {
    node: Option<Node<SimApp, SimNet>>,
    disk: SimDisk,
    key: PrivateKey,
    /// Bumped at every crash: messages and timers of an earlier life are dropped.
    life: u32,
    busy_until: u64,
    /// The wake-up already queued.
    wake_at: Option<u64>,
    /// Heights checked so far.
    checked: Height,
}

struct Sim<'a> {
    sc: &'a NodeScenario,
    rng: ChaCha8Rng,
    queue: Queue<Event>,
    now: u64,
    base: Instant,
    slots: Vec<Slot>,
    /// Which nodes are peers: all of them up to `FULL_MESH` validators; beyond, a ring with
    /// chords, as a network of nodes with a bounded peer count is.
    topology: Vec<BTreeSet<usize>>,
    wires: Rc<RefCell<Wires>>,
    genesis: Genesis,
    cfg: EngineConfig,
    /// The first block id and app hash committed at each height.
    committed: BTreeMap<Height, (BlockId, Vec<u8>)>,
    /// Every signature an honest node sent: (node, height, round, step) → what it signed.
    signed: BTreeMap<(usize, Height, u32, u8), Vec<u8>>,
    /// Whether a proposal signature a node sent is its own, by (node, signature).
    proposal_signers: BTreeMap<(usize, [u8; 64]), bool>,
    /// Recent consensus messages the hostile peers heard.
    overheard: Vec<(u8, Vec<u8>)>,
    hostile_seq: u64,
    tx_seq: u64,
    trace: Sha256,
    report: NodeReport,
}

impl<'a> Sim<'a> {
    fn new(sc: &'a NodeScenario) -> Sim<'a> {
        let n = sc.powers.len();
        let keys: Vec<PrivateKey> = (0..n)
            .map(|i| PrivateKey::from_seed(sha256(format!("sim {} {i}", sc.seed).as_bytes()).0))
            .collect();
        let validators = ValidatorSet::new(
            keys.iter()
                .zip(&sc.powers)
                .map(|(k, p)| Validator::new(k.public_key(), *p))
                .collect(),
        )
        .unwrap_or_else(|e| panic!("a scenario's validator set is valid: {e}"));
        let genesis = Genesis {
            chain_id: CHAIN_ID.into(),
            time: Time::new(GENESIS_SECS, 0).unwrap_or(Time::UNIX_EPOCH),
            initial_height: 1,
            validators,
            params: HashedParams::default(),
            consensus_params: None,
            app_state: format!("{{\"seed\":{}}}", sc.seed).into_bytes(),
        };
        let cfg = EngineConfig {
            timeouts: crate::sim_timeouts(),
            max_block_tx_bytes: 64 * 1024,
            max_block_gas: -1,
            evidence_max_age_blocks: 100_000,
            max_evidence_bytes: 1 << 20,
        };
        let slots = keys
            .into_iter()
            .map(|key| Slot {
                node: None,
                disk: SimDisk::new(sc.fsync_ms),
                key,
                life: 0,
                busy_until: 0,
                wake_at: None,
                checked: 0,
            })
            .collect();
        let mut rng = ChaCha8Rng::seed_from_u64(sc.seed);
        let topology = topology(n, &mut rng);
        Sim {
            sc,
            rng,
            topology,
            queue: Queue::new(),
            now: 0,
            base: Instant::now(),
            slots,
            wires: Rc::new(RefCell::new(Wires::default())),
            genesis,
            cfg,
            committed: BTreeMap::new(),
            signed: BTreeMap::new(),
            proposal_signers: BTreeMap::new(),
            overheard: Vec::new(),
            hostile_seq: 0,
            tx_seq: 0,
            trace: Sha256::new(),
            report: NodeReport {
                seed: sc.seed,
                validators: n,
                ..NodeReport::default()
            },
        }
    }

    fn honest(&self, i: usize) -> bool {
        !self.sc.double_signers.contains(&i)
    }

    fn at(&self) -> Now {
        Now {
            instant: self.base + Duration::from_millis(self.now),
            time: self.genesis.time.plus_millis(self.now),
        }
    }

    /// Open node `i` from its disk (the first time: a fresh disk with its key).
    fn open(&mut self, i: usize) -> Result<Node<SimApp, SimNet>, String> {
        let slot = &self.slots[i];
        let storage: SharedStorage = Arc::new(slot.disk.clone());
        let key_path = Path::new(KEY);
        if storage.read(key_path).map_err(|e| e.to_string())?.is_none() {
            let bytes = key_file_bytes(key_path, &slot.key).map_err(|e| e.to_string())?;
            storage
                .replace(key_path, &bytes, true)
                .map_err(|e| e.to_string())?;
        }
        let blocks =
            BlockStore::open_on(&*storage, Path::new(BLOCKS)).map_err(|e| e.to_string())?;
        let (wal, _) = Wal::open_on(storage.clone(), Path::new(WAL)).map_err(|e| e.to_string())?;
        let privval = FilePrivVal::load_on(storage, key_path, Path::new(SIGN_STATE))
            .map_err(|e| e.to_string())?;
        let app = SimApp::load(slot.disk.clone(), Path::new(APP), self.sc.finalize_ms)
            .map_err(|e| e.to_string())?;
        let mut engine = Engine::new(
            self.genesis.clone(),
            self.cfg.clone(),
            app,
            blocks,
            wal,
            privval,
            Mempool::new(if self.sc.unbounded_mempool {
                MempoolConfig {
                    max_txs: usize::MAX,
                    max_bytes: usize::MAX,
                    ..mempool_config()
                }
            } else {
                mempool_config()
            }),
        );
        if !self.honest(i) {
            engine.misbehave_double_sign(slot.key.clone());
        }
        let channels: Vec<u8> = reactor::channels(1 << 20).iter().map(|(c, _)| *c).collect();
        let rpc = NodeContext {
            info: NodeInfo::new(
                &slot.key.public_key(),
                CHAIN_ID,
                "",
                &format!("n{i}"),
                &channels,
            ),
            rpc_address: String::new(),
            genesis: serde_json::Value::Null,
            peers: Vec::new(),
            listening: true,
            catching_up: false,
        };
        let net = SimNet {
            me: i,
            wires: self.wires.clone(),
        };
        Ok(Node::new(engine, Some(net), rpc, self.at().instant))
    }

    /// Bring node `i` up (at the start, or after a crash) and connect it to the others.
    fn boot(&mut self, i: usize) -> Result<(), NodeViolation> {
        let _span = tracing::info_span!("node", i, t = self.now).entered();
        tracing::info!("booting from disk");
        let mut node = match self.open(i) {
            Ok(n) => n,
            Err(e) => return self.stopped(i, e),
        };
        let started = node.start(self.at());
        self.slots[i].node = Some(node);
        if let Err(e) = started {
            return self.stopped(i, e.to_string());
        }
        let peers: Vec<Peer> = self.topology[i]
            .iter()
            .copied()
            .filter(|&j| self.slots[j].node.is_some())
            .map(Peer::Node)
            .chain((0..self.sc.hostile.len()).map(Peer::Hostile))
            .collect();
        self.wires.borrow_mut().links.insert(i, BTreeSet::new());
        for p in peers {
            self.connect(i, p)?;
        }
        self.settle(i)
    }

    /// Node `i` stopped on `error`: a simulated crash if its disk was gone, else a violation.
    fn stopped(&mut self, i: usize, error: String) -> Result<(), NodeViolation> {
        if self.slots[i].disk.crashed() {
            let after = self.rng_restart();
            self.crash(i, after);
            return Ok(());
        }
        Err(NodeViolation::NodeFailed { node: i, error })
    }

    fn rng_restart(&mut self) -> u64 {
        100 + self.rng.next_u64() % 1_000
    }

    /// Connect `i` and `p` both ways.
    fn connect(&mut self, i: usize, p: Peer) -> Result<(), NodeViolation> {
        {
            let mut w = self.wires.borrow_mut();
            if !w.links.contains_key(&i) {
                return Ok(());
            }
            w.links.entry(i).or_default().insert(p);
            if let Peer::Node(j) = p {
                w.links.entry(j).or_default().insert(Peer::Node(i));
            }
        }
        self.step(i, |n, now| n.on_net(Inbound::PeerUp(p.id()), now))?;
        if let Peer::Node(j) = p {
            self.step(j, |n, now| {
                n.on_net(Inbound::PeerUp(Peer::Node(i).id()), now)
            })?;
        }
        Ok(())
    }

    /// Cut the link between `i` and `p` both ways.
    fn disconnect(&mut self, i: usize, p: Peer) -> Result<(), NodeViolation> {
        let was = {
            let mut w = self.wires.borrow_mut();
            let was = w.links.get_mut(&i).is_some_and(|l| l.remove(&p));
            if let Peer::Node(j) = p {
                if let Some(l) = w.links.get_mut(&j) {
                    l.remove(&Peer::Node(i));
                }
            }
            was
        };
        if !was {
            return Ok(());
        }
        self.step(i, |n, now| n.on_net(Inbound::PeerDown(p.id()), now))?;
        if let Peer::Node(j) = p {
            self.step(j, |n, now| {
                n.on_net(Inbound::PeerDown(Peer::Node(i).id()), now)
            })?;
        }
        Ok(())
    }

    /// Power off node `i` now: what it holds in memory is gone, its disk keeps what a power
    /// cut leaves.
    fn crash(&mut self, i: usize, restart_after_ms: u64) {
        let slot = &mut self.slots[i];
        // Nothing the dying node does on its way out (a database closing) reaches the disk.
        slot.disk.fail();
        if let Some(node) = slot.node.take() {
            let app = node.engine().app();
            self.report.deferred_commits += app.deferred_commits();
            self.report.undurable_lost += app.undurable();
        }
        slot.life += 1;
        slot.wake_at = None;
        slot.busy_until = 0;
        let mut rng = ChaCha8Rng::seed_from_u64(self.rng.next_u64());
        slot.disk.power_cut(&mut rng, |p| p.ends_with("wal"));
        self.report.crashes += 1;
        let peers: Vec<Peer> = {
            let mut w = self.wires.borrow_mut();
            let peers = w.links.remove(&i).unwrap_or_default();
            for l in w.links.values_mut() {
                l.remove(&Peer::Node(i));
            }
            w.out.retain(|(from, _, _, _)| *from != i);
            peers.into_iter().collect()
        };
        for p in peers {
            if let Peer::Node(j) = p {
                // A peer's failure here is reported when it next steps.
                let _ = self.step(j, |n, now| {
                    n.on_net(Inbound::PeerDown(Peer::Node(i).id()), now)
                });
            }
        }
        self.queue.push(
            self.now + restart_after_ms.max(1),
            Event::Restart { node: i },
        );
    }

    /// Run `f` on node `i` (if it is up), then everything that follows from it.
    fn step(
        &mut self,
        i: usize,
        f: impl FnOnce(
            &mut Node<SimApp, SimNet>,
            Now,
        ) -> Result<(), keystone_consensus_driver::node::NodeError>,
    ) -> Result<(), NodeViolation> {
        let now = self.at();
        let Some(node) = self.slots[i].node.as_mut() else {
            return Ok(());
        };
        let span = tracing::info_span!("node", i, t = self.now).entered();
        let res = f(node, now);
        drop(span);
        if self.slots[i].disk.crashed() {
            self.report.crashes_at_write += 1;
            let after = self.rng_restart();
            self.crash(i, after);
            return Ok(());
        }
        if let Err(e) = res {
            if self.honest(i) {
                return Err(NodeViolation::NodeFailed {
                    node: i,
                    error: e.to_string(),
                });
            }
        }
        self.settle(i)
    }

    /// After node `i` did something: charge its time, route what it sent, queue its next
    /// timer, check what it committed and what it holds.
    fn settle(&mut self, i: usize) -> Result<(), NodeViolation> {
        let busy = self.slots[i].disk.take_busy();
        if busy > 0 {
            self.slots[i].busy_until = self.now + busy;
        }
        self.route()?;
        let life = self.slots[i].life;
        let deadline = self.slots[i].node.as_ref().and_then(|n| n.next_deadline());
        if let Some(d) = deadline {
            let ms = d.saturating_duration_since(self.base).as_millis() as u64;
            let ms = ms.max(self.now);
            let slot = &mut self.slots[i];
            if slot.wake_at.is_none_or(|w| ms < w || w < self.now) {
                slot.wake_at = Some(ms);
                self.queue.push(ms, Event::Wake { node: i, life });
            }
        }
        self.check_node(i)
    }

    /// Route everything the nodes sent, and handle the disconnections they asked for.
    fn route(&mut self) -> Result<(), NodeViolation> {
        loop {
            let (out, cut) = {
                let mut w = self.wires.borrow_mut();
                (std::mem::take(&mut w.out), std::mem::take(&mut w.cut))
            };
            if out.is_empty() && cut.is_empty() {
                return Ok(());
            }
            for (from, to, channel, bytes) in out {
                self.observe(from, channel, &bytes)?;
                match to {
                    Peer::Hostile(_) => {
                        // A sample of what the hostile peers hear, to replay and distort.
                        if self.overheard.len() < 512 {
                            self.overheard.push((channel, bytes));
                        } else {
                            let k = (self.rng.next_u64() % 512) as usize;
                            self.overheard[k] = (channel, bytes);
                        }
                    }
                    Peer::Node(j) => self.transmit(Peer::Node(from), j, channel, bytes),
                }
            }
            for (i, p) in cut {
                match p {
                    Peer::Node(j) if self.honest(j) && self.honest(i) => {
                        return Err(NodeViolation::PunishedHonest { node: i, peer: j });
                    }
                    Peer::Hostile(_) => self.report.hostile_disconnects += 1,
                    Peer::Node(_) => {}
                }
                self.disconnect(i, p)?;
                self.queue
                    .push(self.now + REDIAL_MS, Event::Connect { node: i, peer: p });
            }
        }
    }

    /// Put a message on the wire from `from` to node `to`, with the network's faults.
    fn transmit(&mut self, from: Peer, to: usize, channel: u8, bytes: Vec<u8>) {
        let f = &self.sc.network;
        let healed = self.now >= self.sc.heal_at_ms;
        if !healed {
            if (self.rng.next_u32() % 1000) < f.drop_permille {
                return;
            }
            if let Peer::Node(a) = from {
                let cut = f.partitions.iter().any(|(s, e, group)| {
                    (*s..*e).contains(&self.now) && (group.contains(&a) != group.contains(&to))
                });
                if cut {
                    return;
                }
            }
        }
        let copies = if !healed && (self.rng.next_u32() % 1000) < f.duplicate_permille {
            2
        } else {
            1
        };
        let life = self.slots[to].life;
        for _ in 0..copies {
            let delay =
                f.min_delay_ms + self.rng.next_u64() % (f.max_delay_ms - f.min_delay_ms + 1);
            self.queue.push(
                self.now + delay,
                Event::Deliver {
                    to,
                    from,
                    channel,
                    bytes: bytes.clone(),
                    life,
                },
            );
        }
    }

    fn trace(&mut self, e: &Event) {
        let t = &mut self.trace;
        t.update(self.now.to_be_bytes());
        match e {
            Event::Deliver {
                to,
                from,
                channel,
                bytes,
                ..
            } => {
                t.update([0, *to as u8, *channel]);
                t.update(from.id());
                t.update(bytes);
            }
            Event::Wake { node, .. } => t.update([1, *node as u8]),
            Event::Crash { node, .. } => t.update([2, *node as u8]),
            Event::Restart { node } => t.update([3, *node as u8]),
            Event::Connect { node, peer } => {
                t.update([4, *node as u8]);
                t.update(peer.id());
            }
            Event::Hostile { h } => t.update([5, *h as u8]),
            Event::ClientTx => t.update([6]),
        }
    }

    /// Whether node `i` is connected to `p`.
    fn linked(&self, i: usize, p: Peer) -> bool {
        self.wires
            .borrow()
            .links
            .get(&i)
            .is_some_and(|l| l.contains(&p))
    }

    /// Node `i` is busy (a slow disk or application) until later: the event waits.
    fn busy(&mut self, i: usize, e: Event) -> Option<Event> {
        let until = self.slots[i].busy_until;
        if until > self.now {
            self.queue.push(until, e);
            return None;
        }
        Some(e)
    }

    fn handle(&mut self, e: Event) -> Result<(), NodeViolation> {
        match e {
            Event::Deliver {
                to,
                from,
                channel,
                bytes,
                life,
            } => {
                if life != self.slots[to].life {
                    return Ok(());
                }
                if !self.linked(to, from) {
                    return Ok(());
                }
                let Some(Event::Deliver { bytes, .. }) = self.busy(
                    to,
                    Event::Deliver {
                        to,
                        from,
                        channel,
                        bytes,
                        life,
                    },
                ) else {
                    return Ok(());
                };
                self.report.delivered += 1;
                let peer = from.id();
                self.step(to, |n, now| {
                    n.on_net(
                        Inbound::Message {
                            peer,
                            channel,
                            bytes,
                        },
                        now,
                    )
                })
            }
            Event::Wake { node, life } => {
                if life != self.slots[node].life {
                    return Ok(());
                }
                if self.busy(node, Event::Wake { node, life }).is_none() {
                    return Ok(());
                }
                self.slots[node].wake_at = None;
                self.step(node, |n, now| {
                    while n.on_due(now)? {}
                    Ok(())
                })
            }
            Event::Crash {
                node,
                at_write,
                restart_after_ms,
            } => {
                if self.slots[node].node.is_none() {
                    return Ok(());
                }
                match at_write {
                    Some(k) => self.slots[node].disk.arm_crash(k),
                    None => self.crash(node, restart_after_ms),
                }
                Ok(())
            }
            Event::Restart { node } => {
                if self.slots[node].node.is_some() {
                    return Ok(());
                }
                self.boot(node)
            }
            Event::Connect { node, peer } => {
                if self.slots[node].node.is_none() {
                    return Ok(());
                }
                if let Peer::Node(j) = peer {
                    if self.slots[j].node.is_none() {
                        return Ok(());
                    }
                }
                if self.linked(node, peer) {
                    return Ok(());
                }
                self.connect(node, peer)
            }
            Event::Hostile { h } => {
                self.hostile(h)?;
                self.queue
                    .push(self.now + HOSTILE_EVERY_MS, Event::Hostile { h });
                Ok(())
            }
            Event::ClientTx => {
                let n = self.slots.len();
                let i = (self.rng.next_u64() % n as u64) as usize;
                self.tx_seq += 1;
                let tx = format!("k{}=v{}", self.tx_seq % 97, self.tx_seq).into_bytes();
                if self.slots[i].node.is_some() {
                    self.step(i, |n, _| {
                        n.answer(Request::CheckTx(tx, Box::new(|_| {})));
                        Ok(())
                    })?;
                }
                if self.sc.tx_every_ms > 0 {
                    self.queue
                        .push(self.now + self.sc.tx_every_ms, Event::ClientTx);
                }
                Ok(())
            }
        }
    }

    fn done(&self) -> bool {
        self.now >= self.sc.heal_at_ms
            && (0..self.slots.len())
                .filter(|&i| self.honest(i))
                .all(|i| self.slots[i].node.is_some() && self.slots[i].checked >= self.sc.heights)
    }

    fn run(&mut self) -> Result<(), NodeViolation> {
        for c in &self.sc.crashes {
            self.queue.push(
                c.at_ms,
                Event::Crash {
                    node: c.node,
                    at_write: c.at_write,
                    restart_after_ms: c.restart_after_ms,
                },
            );
        }
        for h in 0..self.sc.hostile.len() {
            self.queue.push(HOSTILE_EVERY_MS, Event::Hostile { h });
        }
        if self.sc.tx_every_ms > 0 {
            self.queue.push(self.sc.tx_every_ms, Event::ClientTx);
        }
        for i in 0..self.slots.len() {
            self.boot(i)?;
        }
        while let Some((t, e)) = self.queue.pop() {
            if t > self.sc.max_time_ms {
                break;
            }
            self.now = t;
            self.report.events += 1;
            self.trace(&e);
            self.handle(e)?;
            if self.done() {
                break;
            }
        }
        for i in (0..self.slots.len()).filter(|&i| self.honest(i)) {
            if self.slots[i].checked < self.sc.heights {
                return Err(NodeViolation::Liveness {
                    node: i,
                    height: self.slots[i].checked,
                    target: self.sc.heights,
                });
            }
        }
        Ok(())
    }

    fn finish(mut self) -> NodeReport {
        self.report.heights = (0..self.slots.len())
            .filter(|&i| self.honest(i))
            .map(|i| self.slots[i].checked)
            .min()
            .unwrap_or(0);
        self.report.virtual_ms = self.now;
        self.report.torn = self.slots.iter().map(|s| s.disk.torn()).sum();
        self.report.deferred_commits += self
            .slots
            .iter()
            .filter_map(|s| s.node.as_ref())
            .map(|n| n.engine().app().deferred_commits())
            .sum::<u64>();
        self.report.durable_writes = self.slots.iter().map(|s| s.disk.writes()).sum();
        self.report.trace = hex(&self.trace.clone().finalize());
        self.report
    }
}

/// Run `sc` over real nodes. `Err` holds the first violation and the report up to it.
pub fn run_node_sim(sc: &NodeScenario) -> Result<NodeReport, Box<(NodeViolation, NodeReport)>> {
    let mut sim = Sim::new(sc);
    let res = sim.run();
    let report = sim.finish();
    match res {
        Ok(()) => Ok(report),
        Err(v) => Err(Box::new((v, report))),
    }
}
