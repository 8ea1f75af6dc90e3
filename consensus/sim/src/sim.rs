//! The event loop: a tiny driver per node around the real consensus core, a seeded network,
//! and the invariant checks after every event.

use crate::checker::ValueInfo;
use crate::network::Queue;
use crate::node::{Decided, Msg, Node};
use crate::{Behaviour, Checker, Scenario, Violation};
use keystone_consensus_core::{Consensus, Faults, Input, Output, Timeout};
use keystone_consensus_types::{
    sha256, BlockId, Hash, Height, PartSetHeader, PrivateKey, Proposal, Round, Time, Validator,
    ValidatorSet, Vote, VoteType,
};
use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, VecDeque};

const CHAIN_ID: &str = "keystone-sim";
const GENESIS_MS: i64 = 1_700_000_000_000;

enum Event {
    Deliver {
        to: usize,
        from: usize,
        msg: Msg,
    },
    Timeout {
        node: usize,
        epoch: u32,
        height: Height,
        timeout: Timeout,
    },
    CommitDone {
        node: usize,
        epoch: u32,
        height: Height,
    },
    Gossip {
        node: usize,
        epoch: u32,
    },
    Crash {
        node: usize,
    },
    Restart {
        node: usize,
    },
}

/// What a run did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Report {
    /// The scenario's seed.
    pub seed: u64,
    /// Validators.
    pub validators: usize,
    /// Heights every honest node decided.
    pub heights: Height,
    /// Highest round any honest node entered.
    pub max_round: Round,
    /// Events processed.
    pub events: u64,
    /// Messages delivered.
    pub delivered: u64,
    /// Equivocations honest nodes detected.
    pub equivocations: u64,
    /// Virtual time at the end.
    pub virtual_ms: u64,
    /// SHA-256 over every processed event: equal for equal runs.
    pub trace: String,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Mode {
    Live,
    Replay,
}

struct Sim {
    sc: Scenario,
    rng: ChaCha8Rng,
    now: u64,
    queue: Queue<Event>,
    nodes: Vec<Node>,
    base_set: ValidatorSet,
    sets: BTreeMap<Height, ValidatorSet>,
    checker: Checker,
    trace: Sha256,
    events: u64,
    delivered: u64,
    equivocations: u64,
    max_round: Round,
    value_counter: u64,
    /// `KEYSTONE_SIM_VERBOSE=1`: print rounds, votes and decisions to stderr (for replays).
    verbose: bool,
}

/// Run `scenario` to the end: `Ok` with a report if every invariant held, or the first
/// violation with the report up to it.
// One call per simulated run, never on a hot path: the large error is fine.
#[allow(clippy::result_large_err)]
pub fn run(scenario: &Scenario) -> Result<Report, (Violation, Report)> {
    let mut sim = Sim::new(scenario.clone());
    let result = sim.main_loop();
    let report = sim.report();
    match result {
        Ok(()) => Ok(report),
        Err(v) => Err((v, report)),
    }
}

impl Sim {
    fn new(sc: Scenario) -> Sim {
        let mut rng = ChaCha8Rng::seed_from_u64(sc.seed);
        let keys: Vec<PrivateKey> = sc
            .powers
            .iter()
            .map(|_| PrivateKey::generate(&mut rng))
            .collect();
        let base_set = ValidatorSet::new(
            keys.iter()
                .zip(&sc.powers)
                .map(|(k, p)| Validator::new(k.public_key(), *p))
                .collect(),
        )
        .expect("scenario powers are positive and distinct keys");
        let nodes = keys
            .into_iter()
            .enumerate()
            .map(|(i, k)| Node::new(k, sc.behaviour(i)))
            .collect();
        Sim {
            rng,
            now: 0,
            queue: Queue::new(),
            nodes,
            base_set,
            sets: BTreeMap::new(),
            checker: Checker::default(),
            trace: Sha256::new(),
            events: 0,
            delivered: 0,
            equivocations: 0,
            max_round: 0,
            value_counter: 0,
            verbose: std::env::var_os("KEYSTONE_SIM_VERBOSE").is_some(),
            sc,
        }
    }

    fn report(&self) -> Report {
        Report {
            seed: self.sc.seed,
            validators: self.nodes.len(),
            heights: self.honest_min_height(),
            max_round: self.max_round,
            events: self.events,
            delivered: self.delivered,
            equivocations: self.equivocations,
            virtual_ms: self.now,
            trace: Hash(self.trace.clone().finalize().into()).to_hex(),
        }
    }

    fn honest_min_height(&self) -> Height {
        self.nodes
            .iter()
            .filter(|n| n.is_honest())
            .map(Node::decided_height)
            .min()
            .unwrap_or(0)
    }

    /// The validator set of `height`: no updates in the simulation, so the genesis set with
    /// one proposer-priority increment per height, as CometBFT advances it.
    fn set(&mut self, height: Height) -> ValidatorSet {
        if let Some(s) = self.sets.get(&height) {
            return s.clone();
        }
        let s = self.base_set.copy_increment((height - 1) as u32);
        self.sets.insert(height, s.clone());
        s
    }

    fn main_loop(&mut self) -> Result<(), Violation> {
        for i in 0..self.nodes.len() {
            if self.nodes[i].behaviour != Behaviour::Silent {
                self.nodes[i].alive = true;
                self.start_height(i)?;
            }
        }
        for (node, at, back) in self.sc.crashes.clone() {
            self.queue.push(at, Event::Crash { node });
            self.queue.push(back.max(at + 1), Event::Restart { node });
        }
        while let Some((t, ev)) = self.queue.pop() {
            self.now = t;
            if self.now > self.sc.max_time_ms {
                break;
            }
            self.events += 1;
            self.trace_event(&ev);
            self.handle(ev)?;
            if self.honest_min_height() >= self.sc.heights {
                return Ok(());
            }
        }
        let stuck = self
            .nodes
            .iter()
            .enumerate()
            .filter(|(_, n)| n.is_honest() && n.decided_height() < self.sc.heights)
            .map(|(i, n)| (i, n.decided_height()))
            .collect();
        Err(Violation::Liveness {
            stuck,
            at_ms: self.now,
        })
    }

    fn trace_event(&mut self, ev: &Event) {
        self.trace.update(self.now.to_le_bytes());
        let (tag, node, extra): (u8, usize, Vec<u8>) = match ev {
            Event::Deliver { to, from, msg } => {
                let extra = match msg {
                    Msg::Vote(v) => v.sign_bytes(CHAIN_ID),
                    Msg::Proposal(p) => p.sign_bytes(CHAIN_ID),
                    Msg::Commit { proposal, .. } => proposal.sign_bytes(CHAIN_ID),
                };
                (0, *to * 1000 + *from, extra)
            }
            Event::Timeout { node, timeout, .. } => {
                (1, *node, timeout.round.to_le_bytes().to_vec())
            }
            Event::CommitDone { node, height, .. } => (2, *node, height.to_le_bytes().to_vec()),
            Event::Gossip { node, .. } => (3, *node, Vec::new()),
            Event::Crash { node } => (4, *node, Vec::new()),
            Event::Restart { node } => (5, *node, Vec::new()),
        };
        self.trace.update([tag]);
        self.trace.update((node as u64).to_le_bytes());
        self.trace.update(&extra);
    }

    fn handle(&mut self, ev: Event) -> Result<(), Violation> {
        match ev {
            Event::Deliver { to, from, msg } => {
                if self.nodes[to].alive {
                    self.delivered += 1;
                    self.deliver(to, from, msg)?;
                }
            }
            Event::Timeout {
                node,
                epoch,
                height,
                timeout,
            } => {
                let n = &self.nodes[node];
                if n.alive && n.epoch == epoch && n.height == height {
                    self.process(node, Input::Timeout(timeout), Mode::Live)?;
                }
            }
            Event::CommitDone {
                node,
                epoch,
                height,
            } => {
                let n = &mut self.nodes[node];
                if n.alive && n.epoch == epoch && n.height == height {
                    // End-of-height marker: the WAL of the finished height is dropped.
                    n.height += 1;
                    n.wal.clear();
                    n.own_msgs.clear();
                    n.has.clear();
                    self.start_height(node)?;
                }
            }
            Event::Gossip { node, epoch } => {
                if self.nodes[node].alive && self.nodes[node].epoch == epoch {
                    let mut msgs = self.nodes[node].own_msgs.clone();
                    msgs.extend(self.polka_votes(node));
                    for m in msgs {
                        self.gossip(node, m);
                    }
                    let height = self.nodes[node].height;
                    let behind: Vec<(usize, Height)> = self.nodes[node]
                        .peer_heights
                        .iter()
                        .filter(|(_, h)| **h < height)
                        .map(|(p, h)| (*p, *h))
                        .collect();
                    for (peer, h) in behind {
                        self.send_catchup(node, peer, h);
                    }
                    self.queue.push(
                        self.now + self.sc.gossip_interval_ms,
                        Event::Gossip { node, epoch },
                    );
                }
            }
            Event::Crash { node } => self.nodes[node].crash(),
            Event::Restart { node } => {
                if !self.nodes[node].alive {
                    self.nodes[node].alive = true;
                    self.start_height(node)?;
                }
            }
        }
        Ok(())
    }

    /// The prevotes behind the node's valid value and behind the current proposal's POL
    /// round: relayed so that every honest node can check a re-proposal (L28) even when some
    /// of those prevotes came from validators that will not send them again. This is the
    /// gossip property the paper's liveness argument assumes.
    fn polka_votes(&self, i: usize) -> Vec<Msg> {
        let Some(core) = self.nodes[i].core.as_ref() else {
            return Vec::new();
        };
        let mut polkas = Vec::new();
        if let Some(valid) = core.state().valid {
            polkas.push((valid.round, valid.value));
        }
        if let Some(p) = core.proposal(core.round()) {
            if let Some(pol) = p.pol_round {
                polkas.push((pol, p.block_id));
            }
        }
        polkas
            .into_iter()
            .flat_map(|(round, value)| {
                core.keeper()
                    .votes_for(round, VoteType::Prevote, Some(value))
            })
            .map(Msg::Vote)
            .collect()
    }

    /// (Re)start node `i` at its durable height: a fresh core, then the WAL replayed (after a
    /// crash) or `Start` (a new height).
    fn start_height(&mut self, i: usize) -> Result<(), Violation> {
        let height = self.nodes[i].height;
        let set = self.set(height);
        let mut core = Consensus::new(height, set, Some(self.nodes[i].address));
        let faults = match self.nodes[i].behaviour {
            Behaviour::Honest => self.sc.faults,
            Behaviour::Amnesia => Faults {
                ignore_lock: true,
                ..Faults::default()
            },
            _ => Faults::default(),
        };
        core = core.with_faults(faults);
        self.nodes[i].core = Some(core);
        let epoch = self.nodes[i].epoch;
        if self.nodes[i].gossip_epoch != Some(epoch) {
            self.nodes[i].gossip_epoch = Some(epoch);
            self.queue.push(
                self.now + self.sc.gossip_interval_ms,
                Event::Gossip { node: i, epoch },
            );
        }
        let wal = self.nodes[i].wal.clone();
        if wal.is_empty() {
            return self.process(i, Input::Start, Mode::Live);
        }
        for input in wal {
            self.process(i, input, Mode::Replay)?;
        }
        // A value asked for just before the crash and never supplied: supply it now.
        if let Some(round) = self.nodes[i].pending_value.take() {
            let value = self.new_value(height, true);
            self.process(i, Input::ValueReady { round, value }, Mode::Live)?;
        }
        Ok(())
    }

    fn node_time(&self, i: usize) -> Time {
        // A small fixed skew per node: BFT time must not care.
        Time::from_unix_millis(GENESIS_MS + self.now as i64 + (i as i64 * 7) % 50)
    }

    fn new_value(&mut self, height: Height, valid: bool) -> BlockId {
        self.value_counter += 1;
        let mut seed = self.sc.seed.to_le_bytes().to_vec();
        seed.extend(self.value_counter.to_le_bytes());
        let id = BlockId {
            hash: sha256(&seed),
            part_set_header: PartSetHeader {
                total: 1,
                hash: sha256(&self.value_counter.to_be_bytes()),
            },
        };
        self.checker.values.insert(id, ValueInfo { height, valid });
        id
    }

    fn is_valid(&self, height: Height, value: &BlockId) -> bool {
        self.checker
            .values
            .get(value)
            .is_some_and(|i| i.valid && i.height == height)
    }

    /// Apply one input to node `i`, and everything it leads to.
    fn process(&mut self, i: usize, input: Input, mode: Mode) -> Result<(), Violation> {
        let mut work = VecDeque::from([input]);
        while let Some(input) = work.pop_front() {
            if mode == Mode::Live {
                // The WAL gets the input before the core acts on it.
                self.nodes[i].wal.push(input.clone());
            }
            if let Input::ValueReady { round, .. } = &input {
                if self.nodes[i].pending_value == Some(*round) {
                    self.nodes[i].pending_value = None;
                }
            }
            let Some(core) = self.nodes[i].core.as_mut() else {
                return Ok(());
            };
            let Ok(outputs) = core.apply(input) else {
                continue;
            };
            self.max_round = self.max_round.max(core.round());
            for out in outputs {
                self.output(i, out, mode, &mut work)?;
            }
        }
        Ok(())
    }

    fn output(
        &mut self,
        i: usize,
        out: Output,
        mode: Mode,
        work: &mut VecDeque<Input>,
    ) -> Result<(), Violation> {
        let height = self.nodes[i].height;
        if self.verbose {
            eprintln!("{:>7} ms node {i} h{height} {mode:?}: {out:?}", self.now);
        }
        match out {
            Output::NewRound { .. } => {}
            Output::GetValue { round } => {
                if mode == Mode::Live {
                    let value = self.new_value(height, true);
                    work.push_back(Input::ValueReady { round, value });
                } else {
                    self.nodes[i].pending_value = Some(round);
                }
            }
            Output::Propose {
                round,
                value,
                pol_round,
            } => self.propose(i, round, value, pol_round, mode, work)?,
            Output::Vote {
                vote_type,
                round,
                value,
            } => self.vote(i, vote_type, round, value, mode, work)?,
            Output::ScheduleTimeout(timeout) => {
                let d = self.sc.timeouts.duration(timeout).as_millis() as u64;
                let epoch = self.nodes[i].epoch;
                self.queue.push(
                    self.now + d,
                    Event::Timeout {
                        node: i,
                        epoch,
                        height,
                        timeout,
                    },
                );
            }
            Output::Decide { round, value } => {
                let core = self.nodes[i].core.as_ref().expect("deciding core exists");
                let proposal = core
                    .proposal_for(round, value)
                    .expect("L49 decides only with the proposal")
                    .clone();
                let precommits = core.precommits_for(round, value);
                self.nodes[i].store_block(
                    height,
                    Decided {
                        proposal,
                        precommits,
                    },
                );
                if self.nodes[i].is_honest() {
                    self.checker.on_decide(i, height, value)?;
                }
                let epoch = self.nodes[i].epoch;
                self.queue.push(
                    self.now + self.sc.timeouts.commit.as_millis() as u64,
                    Event::CommitDone {
                        node: i,
                        epoch,
                        height,
                    },
                );
            }
            Output::Equivocation { .. } => self.equivocations += 1,
        }
        Ok(())
    }

    fn propose(
        &mut self,
        i: usize,
        round: Round,
        value: BlockId,
        pol_round: Option<Round>,
        mode: Mode,
        work: &mut VecDeque<Input>,
    ) -> Result<(), Violation> {
        let height = self.nodes[i].height;
        let unsigned = Proposal {
            height,
            round,
            pol_round,
            block_id: value,
            timestamp: self.node_time(i),
            signature: None,
        };
        let honest = self.nodes[i].is_honest();
        let guard = !honest || self.sc.privval_guard;
        let n = &mut self.nodes[i];
        let Some(p) = n
            .privval
            .sign_proposal(unsigned.clone(), &n.key, CHAIN_ID, guard && honest)
        else {
            return Ok(());
        };
        if honest {
            self.checker
                .on_sign(i, self.nodes[i].address, height, round, None, Some(value))?;
        }
        self.nodes[i].own_msgs.push(Msg::Proposal(p.clone()));
        if self.nodes[i].behaviour == Behaviour::Equivocate && mode == Mode::Live {
            // A second proposal, invalid half the time, to a random half of the peers.
            let valid = self.rng.next_u32().is_multiple_of(2);
            let other = Proposal {
                block_id: self.new_value(height, valid),
                ..unsigned
            };
            self.note_value(i, height, round, value);
            self.note_value(i, height, round, other.block_id);
            let n = &mut self.nodes[i];
            let other = n
                .privval
                .sign_proposal(other, &n.key, CHAIN_ID, false)
                .expect("unguarded");
            self.split_broadcast(i, Msg::Proposal(p.clone()), Msg::Proposal(other));
        } else if mode == Mode::Live {
            self.broadcast(i, Msg::Proposal(p.clone()));
        }
        if mode == Mode::Live {
            let valid = self.is_valid(height, &value);
            work.push_back(Input::Proposal { proposal: p, valid });
        }
        Ok(())
    }

    fn vote(
        &mut self,
        i: usize,
        vote_type: VoteType,
        round: Round,
        value: Option<BlockId>,
        mode: Mode,
        work: &mut VecDeque<Input>,
    ) -> Result<(), Violation> {
        let height = self.nodes[i].height;
        let index = self.nodes[i]
            .core
            .as_ref()
            .and_then(|c| c.validators().index_of(&self.nodes[i].address))
            .expect("a voting node is a validator") as u32;
        let unsigned = Vote {
            vote_type,
            height,
            round,
            block_id: value,
            timestamp: self.node_time(i),
            validator_address: self.nodes[i].address,
            validator_index: index,
            signature: None,
        };
        let honest = self.nodes[i].is_honest();
        let guard = honest && self.sc.privval_guard;
        let n = &mut self.nodes[i];
        let Some(v) = n
            .privval
            .sign_vote(unsigned.clone(), &n.key, CHAIN_ID, guard)
        else {
            return Ok(());
        };
        if honest {
            self.checker.on_sign(
                i,
                self.nodes[i].address,
                height,
                round,
                Some(vote_type),
                value,
            )?;
        }
        self.nodes[i].own_msgs.push(Msg::Vote(v.clone()));
        if self.nodes[i].behaviour == Behaviour::Equivocate && mode == Mode::Live {
            // Vote for a real alternative if one was proposed in this round (that is what can
            // split honest nodes), else nil against a value, or a made-up block against nil.
            let alternatives: Vec<BlockId> = self.nodes[i]
                .seen_values
                .get(&(height, round))
                .map(|vs| vs.iter().filter(|v| Some(**v) != value).copied().collect())
                .unwrap_or_default();
            let conflicting = if !alternatives.is_empty() {
                let k = (self.rng.next_u64() % alternatives.len() as u64) as usize;
                Some(alternatives[k])
            } else {
                match value {
                    Some(_) => None,
                    None => Some(BlockId {
                        hash: sha256(
                            &[height.to_le_bytes(), (round as u64).to_le_bytes()].concat(),
                        ),
                        part_set_header: PartSetHeader::default(),
                    }),
                }
            };
            let other = Vote {
                block_id: conflicting,
                ..unsigned
            };
            let n = &mut self.nodes[i];
            let other = n
                .privval
                .sign_vote(other, &n.key, CHAIN_ID, false)
                .expect("unguarded");
            self.split_broadcast(i, Msg::Vote(v.clone()), Msg::Vote(other));
        } else if mode == Mode::Live {
            self.broadcast(i, Msg::Vote(v.clone()));
        }
        if mode == Mode::Live {
            work.push_back(Input::Vote(v));
        }
        Ok(())
    }

    fn deliver(&mut self, to: usize, from: usize, msg: Msg) -> Result<(), Violation> {
        let height = self.nodes[to].height;
        let h = msg.height();
        if !matches!(msg, Msg::Commit { .. }) {
            let known = self.nodes[to].peer_heights.entry(from).or_insert(h);
            *known = (*known).max(h);
        }
        if h < height {
            // A peer is behind: send it the commit of the height it is on (rate-limited).
            if !matches!(msg, Msg::Commit { .. }) {
                self.send_catchup(to, from, h);
            }
            return Ok(());
        }
        if h > height || self.nodes[to].core.is_none() {
            return Ok(());
        }
        let key = msg.key();
        match msg {
            Msg::Vote(v) => {
                self.receive_vote(to, v)?;
                // The receiver has it now (and in its WAL): nobody need gossip it again.
                self.nodes[to].has.insert(key);
                Ok(())
            }
            Msg::Proposal(p) => {
                self.receive_proposal(to, p)?;
                self.nodes[to].has.insert(key);
                Ok(())
            }
            Msg::Commit {
                proposal,
                precommits,
            } => {
                // Precommits first: a proposal that conflicts with one we hold is only kept
                // once its votes are known.
                for v in precommits {
                    if self.nodes[to].core.is_none() || self.nodes[to].height != h {
                        return Ok(());
                    }
                    self.receive_vote(to, v)?;
                }
                if self.nodes[to].core.is_some() && self.nodes[to].height == h {
                    self.receive_proposal(to, proposal)?;
                }
                Ok(())
            }
        }
    }

    fn send_catchup(&mut self, me: usize, peer: usize, height: Height) {
        let Some(d) = self.nodes[me].blocks.get(&height) else {
            return;
        };
        let key = (peer, height);
        let last = self.nodes[me].catchup_sent.get(&key).copied();
        if last.is_some_and(|t| self.now < t + self.sc.gossip_interval_ms) {
            return;
        }
        let msg = Msg::Commit {
            proposal: d.proposal.clone(),
            precommits: d.precommits.clone(),
        };
        self.nodes[me].catchup_sent.insert(key, self.now);
        self.send(me, peer, msg);
    }

    fn receive_vote(&mut self, to: usize, v: Vote) -> Result<(), Violation> {
        let core = self.nodes[to].core.as_ref().expect("checked by caller");
        if core.keeper().contains(&v) {
            return Ok(());
        }
        if self.sc.verify_signatures {
            let Some(val) = core.validators().get_by_address(&v.validator_address) else {
                return Ok(());
            };
            if v.verify(CHAIN_ID, &val.pub_key).is_err() {
                return Ok(());
            }
        }
        self.process(to, Input::Vote(v), Mode::Live)
    }

    fn note_value(&mut self, i: usize, height: Height, round: Round, value: BlockId) {
        let seen = self.nodes[i]
            .seen_values
            .entry((height, round))
            .or_default();
        if !seen.contains(&value) {
            seen.push(value);
        }
    }

    fn receive_proposal(&mut self, to: usize, p: Proposal) -> Result<(), Violation> {
        if self.nodes[to].behaviour == Behaviour::Equivocate {
            self.note_value(to, p.height, p.round, p.block_id);
        }
        let core = self.nodes[to].core.as_ref().expect("checked by caller");
        if core.has_proposal(&p) {
            return Ok(());
        }
        if self.sc.verify_signatures {
            let Some(proposer) = core.proposer(p.round) else {
                return Ok(());
            };
            if p.verify(CHAIN_ID, &proposer.pub_key).is_err() {
                return Ok(());
            }
        }
        let valid = self.is_valid(p.height, &p.block_id);
        self.process(to, Input::Proposal { proposal: p, valid }, Mode::Live)
    }

    /// Send `msg` to every peer that does not have it yet.
    fn gossip(&mut self, from: usize, msg: Msg) {
        let key = msg.key();
        for to in 0..self.nodes.len() {
            if to != from && !self.nodes[to].has.contains(&key) {
                self.send(from, to, msg.clone());
            }
        }
    }

    fn broadcast(&mut self, from: usize, msg: Msg) {
        for to in 0..self.nodes.len() {
            if to != from {
                self.send(from, to, msg.clone());
            }
        }
    }

    /// An equivocator's two versions: each peer gets one of them, or both in either order.
    fn split_broadcast(&mut self, from: usize, a: Msg, b: Msg) {
        for to in 0..self.nodes.len() {
            if to != from {
                match self.rng.next_u32() % 4 {
                    0 => self.send(from, to, a.clone()),
                    1 => self.send(from, to, b.clone()),
                    2 => {
                        self.send(from, to, a.clone());
                        self.send(from, to, b.clone());
                    }
                    _ => {
                        self.send(from, to, b.clone());
                        self.send(from, to, a.clone());
                    }
                }
            }
        }
    }

    fn partitioned(&self, a: usize, b: usize) -> bool {
        self.sc
            .network
            .partitions
            .iter()
            .any(|(start, end, group)| {
                self.now >= *start && self.now < *end && group.contains(&a) != group.contains(&b)
            })
    }

    fn delay(&mut self) -> u64 {
        let net = &self.sc.network;
        let span = net.max_delay_ms - net.min_delay_ms + 1;
        net.min_delay_ms + self.rng.next_u64() % span
    }

    fn send(&mut self, from: usize, to: usize, msg: Msg) {
        let faulty = self.now < self.sc.heal_at_ms;
        if faulty {
            if self.partitioned(from, to)
                || self.rng.next_u32() % 1000 < self.sc.network.drop_permille
            {
                return;
            }
            if self.rng.next_u32() % 1000 < self.sc.network.duplicate_permille {
                let d = self.delay();
                self.queue.push(
                    self.now + d,
                    Event::Deliver {
                        to,
                        from,
                        msg: msg.clone(),
                    },
                );
            }
        }
        let d = self.delay();
        self.queue
            .push(self.now + d, Event::Deliver { to, from, msg });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calm_network_decides_every_height_in_round_zero() {
        let sc = Scenario::calm(1, vec![1, 2, 3, 4], 5);
        let r = run(&sc).expect("no violation");
        assert_eq!(r.heights, 5);
        assert_eq!(r.max_round, 0);
        assert_eq!(r.equivocations, 0);
    }

    #[test]
    fn queue_is_bounded_in_calm_runs() {
        let sc = Scenario::calm(2, vec![1; 7], 3);
        let mut sim = Sim::new(sc);
        sim.main_loop().expect("no violation");
        assert!(sim.queue.len() < 10_000);
    }
}
