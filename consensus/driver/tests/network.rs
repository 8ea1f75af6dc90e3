//! Several engines, each with its own files and application, joined by a virtual network
//! that carries exactly the [`Gossip`] they hand out: four validators agree block by block,
//! three of four keep going with one down, a node that was down catches up through
//! committed blocks and then signs again, and forged messages are refused with the reason.

use keystone_consensus_core::TimeoutConfig;
use keystone_consensus_driver::block_store::BlockStore;
use keystone_consensus_driver::engine::{
    Action, Engine, EngineConfig, Genesis, Gossip, GossipError, Refused,
};
use keystone_consensus_driver::mempool::{Mempool, MempoolConfig};
use keystone_consensus_driver::privval::{write_key_file, FilePrivVal};
use keystone_consensus_driver::wal::Wal;
use keystone_consensus_types::{
    sha256, BlockIdFlag, HashedParams, PrivateKey, Time, Validator, ValidatorSet,
};
use keystone_proto::abci;
use keystone_proto::prost::bytes::Bytes;
use keystone_proto::{AppResult, Application};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

/// A hash-chain application in memory: enough to tell diverging states apart.
#[derive(Default)]
struct ChainApp {
    height: i64,
    hash: Vec<u8>,
    pending: Option<(i64, Vec<u8>)>,
    /// Every `Misbehavior` FinalizeBlock brought: (block height, offender, infraction height).
    misbehavior: Vec<(i64, Vec<u8>, i64)>,
}

impl Application for ChainApp {
    fn info(&self, _: abci::RequestInfo) -> AppResult<abci::ResponseInfo> {
        Ok(abci::ResponseInfo {
            last_block_height: self.height,
            last_block_app_hash: Bytes::from(self.hash.clone()),
            ..Default::default()
        })
    }
    fn query(&self, _: abci::RequestQuery) -> AppResult<abci::ResponseQuery> {
        Ok(Default::default())
    }
    fn check_tx(&mut self, _: abci::RequestCheckTx) -> AppResult<abci::ResponseCheckTx> {
        Ok(Default::default())
    }
    fn init_chain(&mut self, _: abci::RequestInitChain) -> AppResult<abci::ResponseInitChain> {
        self.hash = sha256(b"genesis").0.to_vec();
        Ok(abci::ResponseInitChain {
            app_hash: Bytes::from(self.hash.clone()),
            ..Default::default()
        })
    }
    fn finalize_block(
        &mut self,
        req: abci::RequestFinalizeBlock,
    ) -> AppResult<abci::ResponseFinalizeBlock> {
        let mut acc = self.hash.clone();
        for tx in &req.txs {
            acc.extend_from_slice(tx);
        }
        let next = sha256(&acc).0.to_vec();
        self.pending = Some((req.height, next.clone()));
        for m in &req.misbehavior {
            let who = m
                .validator
                .as_ref()
                .map(|v| v.address.to_vec())
                .unwrap_or_default();
            self.misbehavior.push((req.height, who, m.height));
        }
        Ok(abci::ResponseFinalizeBlock {
            tx_results: req.txs.iter().map(|_| Default::default()).collect(),
            app_hash: Bytes::from(next),
            ..Default::default()
        })
    }
    fn commit(&mut self) -> AppResult<abci::ResponseCommit> {
        let (h, hash) = self.pending.take().expect("finalized");
        self.height = h;
        self.hash = hash;
        Ok(Default::default())
    }
}

const CHAIN: &str = "net-test";
const N: usize = 4;

fn key(i: usize) -> PrivateKey {
    PrivateKey::from_seed([i as u8 + 1; 32])
}

fn genesis() -> Genesis {
    Genesis {
        chain_id: CHAIN.into(),
        time: Time::from_unix_millis(1_700_000_000_000),
        initial_height: 1,
        validators: ValidatorSet::new(
            (0..N)
                .map(|i| Validator::new(key(i).public_key(), 10))
                .collect(),
        )
        .expect("set"),
        params: HashedParams::default(),
        consensus_params: None,
        app_state: b"{}".to_vec(),
    }
}

fn open(dir: &Path, i: usize) -> Engine<ChainApp> {
    let key_path = dir.join("priv_validator_key.json");
    write_key_file(&key_path, &key(i)).expect("key");
    let ms = Duration::from_millis;
    Engine::new(
        genesis(),
        EngineConfig {
            timeouts: TimeoutConfig {
                propose: ms(300),
                propose_delta: ms(100),
                prevote: ms(100),
                prevote_delta: ms(50),
                precommit: ms(100),
                precommit_delta: ms(50),
                commit: ms(50),
            },
            max_block_tx_bytes: 1 << 20,
            max_block_gas: -1,
            evidence_max_age_blocks: 100_000,
            max_evidence_bytes: 1_048_576,
        },
        ChainApp::default(),
        BlockStore::open(&dir.join("blockstore.redb")).expect("blocks"),
        Wal::open(&dir.join("cs.wal").join("wal")).expect("wal").0,
        FilePrivVal::load(&key_path, &dir.join("priv_validator_state.json")).expect("privval"),
        Mempool::new(MempoolConfig::default()),
    )
}

enum Event {
    Timer(usize, Action),
    Deliver(usize, Gossip),
}

/// N engines on a virtual network with 5 ms links; `up[i]` false drops everything to and
/// from node i.
struct Net {
    engines: Vec<Engine<ChainApp>>,
    up: Vec<bool>,
    /// Extra link delay to and from each node, in ms (a node far from the others).
    slow: Vec<i64>,
    now_ms: i64,
    queue: BTreeMap<(i64, u64), Event>,
    seq: u64,
    _dirs: Vec<tempfile::TempDir>,
}

impl Net {
    fn new() -> Net {
        let dirs: Vec<_> = (0..N).map(|_| tempfile::tempdir().expect("tmp")).collect();
        Net {
            engines: dirs
                .iter()
                .enumerate()
                .map(|(i, d)| open(d.path(), i))
                .collect(),
            up: vec![false; N],
            slow: vec![0; N],
            now_ms: 1_700_000_000_000,
            queue: BTreeMap::new(),
            seq: 0,
            _dirs: dirs,
        }
    }
    fn now(&self) -> Time {
        Time::from_unix_millis(self.now_ms)
    }
    fn at(&mut self, after_ms: i64, e: Event) {
        self.seq += 1;
        self.queue.insert((self.now_ms + after_ms, self.seq), e);
    }
    fn handle(&mut self, from: usize, actions: Vec<Action>) {
        for a in actions {
            match a {
                Action::Broadcast(g) => {
                    for to in (0..N).filter(|&to| to != from) {
                        let delay = 5 + self.slow[from] + self.slow[to];
                        self.at(delay, Event::Deliver(to, g.clone()));
                    }
                }
                Action::Timeout { after, .. } | Action::NextHeight { after } => {
                    let ms = after.as_millis() as i64;
                    self.at(ms, Event::Timer(from, a));
                }
            }
        }
    }
    fn start(&mut self, i: usize) {
        self.up[i] = true;
        let now = self.now();
        let out = self.engines[i].start(now).expect("start");
        self.handle(i, out);
        // A node that (re)connects is sent what its peers hold of their current height.
        let peers: Vec<usize> = (0..N).filter(|&j| j != i && self.up[j]).collect();
        for j in peers {
            for g in self.engines[j].height_messages().to_vec() {
                self.at(5, Event::Deliver(i, g));
            }
        }
    }
    fn height(&self, i: usize) -> u64 {
        self.engines[i].last_height().expect("height")
    }
    /// Run until every up node has committed `h`; an honest message refused is a failure.
    fn run_until(&mut self, h: u64) {
        for _ in 0..200_000 {
            if (0..N).filter(|&i| self.up[i]).all(|i| self.height(i) >= h) {
                return;
            }
            assert!(self.run_step(), "nothing scheduled");
        }
        panic!("height {h} not reached");
    }
    /// Node `i` fetches and applies committed blocks from node `from` until level with it.
    fn block_sync(&mut self, i: usize, from: usize) -> u64 {
        let mut applied = 0;
        while self.height(i) < self.height(from) {
            let h = self.height(i) + 1;
            let (raw, commit) = self.engines[from]
                .committed_block(h)
                .expect("read")
                .expect("held");
            let block = keystone_consensus_types::Block::from_proto(&raw).expect("block");
            let now = self.now();
            let out = self.engines[i]
                .apply_committed(block, commit, now)
                .unwrap_or_else(|e| panic!("block {h} refused: {e:?}"));
            self.handle(i, out);
            applied += 1;
        }
        applied
    }
}

fn assert_same_chain(net: &Net, nodes: &[usize], upto: u64) {
    for h in 1..=upto {
        let id = |i: usize| {
            net.engines[i]
                .blocks()
                .block_id(h)
                .expect("read")
                .expect("stored")
        };
        let app = |i: usize| {
            net.engines[i]
                .blocks()
                .results(h)
                .expect("read")
                .expect("results")
                .app_hash
        };
        for &i in &nodes[1..] {
            assert_eq!(id(i), id(nodes[0]), "block {h} of node {i}");
            assert_eq!(app(i), app(nodes[0]), "app hash after {h} at node {i}");
        }
    }
}

#[test]
fn four_validators_agree_block_by_block() {
    let mut net = Net::new();
    for i in 0..N {
        net.start(i);
    }
    net.run_until(6);
    assert_same_chain(&net, &[0, 1, 2, 3], 6);
    // Each commit carries precommits from at least three of the four.
    let commit = net.engines[0]
        .blocks()
        .commit(5)
        .expect("read")
        .expect("commit");
    let signed = commit
        .signatures
        .iter()
        .filter(|s| s.block_id_flag == BlockIdFlag::Commit)
        .count();
    assert!(signed >= 3, "{signed} precommits");
}

#[test]
fn a_validator_whose_precommits_come_late_is_still_in_the_next_blocks_last_commit() {
    // Node 3's links are 20 ms slower: the other three decide on their own precommits, and
    // node 3's arrives during `timeout_commit`. The seen commits leave it out; the next
    // block's `last_commit` — what the application's `decided_last_commit` and slashing's
    // liveness count — must not.
    let mut net = Net::new();
    net.slow[3] = 20;
    for i in 0..N {
        net.start(i);
    }
    net.run_until(12);
    assert_same_chain(&net, &[0, 1, 2, 3], 12);
    let me = key(3).public_key().address();
    let signed = |c: &keystone_consensus_types::Commit| {
        c.signatures
            .iter()
            .any(|s| s.validator_address == me && s.block_id_flag == BlockIdFlag::Commit)
    };
    let mut seen_without = 0;
    for h in 2..=10 {
        let seen = net.engines[0]
            .blocks()
            .commit(h)
            .expect("read")
            .expect("commit");
        if !signed(&seen) {
            seen_without += 1;
        }
        let canonical = net.engines[0]
            .blocks()
            .canonical_commit(h)
            .expect("read")
            .expect("commit");
        let next = net.engines[0]
            .blocks()
            .block_proto(h + 1)
            .expect("read")
            .expect("stored");
        assert_eq!(
            next.last_commit.as_ref(),
            Some(&canonical.to_proto()),
            "the canonical commit of {h} is block {}'s last commit",
            h + 1
        );
        assert!(
            signed(&canonical),
            "node 3 missing from the last commit of block {}",
            h + 1
        );
    }
    assert!(
        seen_without > 0,
        "node 3 was never late: the test shows nothing"
    );
}

#[test]
fn a_precommit_for_the_last_height_is_taken_once_and_checked() {
    // Node 3 is down; the others commit without it. A precommit of node 3 for the last
    // height, arriving once the next height runs, joins that height's commit: taken once,
    // refused when forged or for another block.
    let mut net = Net::new();
    for i in 0..3 {
        net.start(i);
    }
    net.run_until(3);
    while net.engines[0].current_height() != Some(net.height(0) + 1) {
        assert!(net.run_step(), "nothing scheduled");
    }
    let h = net.height(0);
    let commit = net.engines[0]
        .blocks()
        .commit(h)
        .expect("read")
        .expect("commit");
    let index = net.engines[0]
        .validators_at(h)
        .expect("read")
        .expect("set")
        .index_of(&key(3).public_key().address())
        .expect("node 3 is a validator");
    let now = net.now();
    let mut vote = keystone_consensus_types::Vote {
        vote_type: keystone_consensus_types::VoteType::Precommit,
        height: h,
        round: commit.round,
        block_id: Some(commit.block_id),
        timestamp: now,
        validator_address: key(3).public_key().address(),
        validator_index: index as u32,
        signature: None,
    };
    vote.sign(CHAIN, &key(3));
    let mut forged = vote.clone();
    if let Some(s) = forged.signature.as_mut() {
        s.0[0] ^= 1;
    }
    assert!(matches!(
        net.engines[0].on_gossip(Gossip::Vote(forged), now),
        Err(GossipError::Refused(Refused::BadSignature(_)))
    ));
    let mut other = vote.clone();
    other.block_id = Some(keystone_consensus_types::BlockId {
        hash: sha256(b"another block"),
        ..commit.block_id
    });
    other.sign(CHAIN, &key(3));
    assert!(matches!(
        net.engines[0].on_gossip(Gossip::Vote(other), now),
        Err(GossipError::Refused(Refused::Stale))
    ));
    assert!(
        matches!(
            net.engines[0].on_gossip(Gossip::Vote(vote.clone()), now),
            Ok(actions) if actions.is_empty()
        ),
        "taken, and worth relaying"
    );
    assert!(matches!(
        net.engines[0].on_gossip(Gossip::Vote(vote), now),
        Err(GossipError::Refused(Refused::Duplicate))
    ));
}

#[test]
fn three_of_four_go_on_and_the_fourth_catches_up_by_committed_blocks_then_signs() {
    let mut net = Net::new();
    for i in 0..3 {
        net.start(i);
    }
    net.run_until(8);
    assert_eq!(net.height(3), 0, "node 3 is down");
    assert_same_chain(&net, &[0, 1, 2], 8);

    // Node 3 comes up, level with the others through their committed blocks, then votes.
    net.start(3);
    let fetched = net.block_sync(3, 0);
    assert!(fetched >= 8, "fetched {fetched}");
    let caught_up = net.height(3);
    net.run_until(caught_up + 4);
    assert_same_chain(&net, &[0, 1, 2, 3], caught_up + 3);
    let me = key(3).public_key().address();
    let signs_again = (caught_up + 1..=caught_up + 3).any(|h| {
        let c = net.engines[0]
            .blocks()
            .commit(h)
            .expect("read")
            .expect("commit");
        c.signatures
            .iter()
            .any(|s| s.validator_address == me && s.block_id_flag == BlockIdFlag::Commit)
    });
    assert!(signs_again, "node 3 precommits blocks after catching up");
}

#[test]
fn two_of_four_halt_without_forking_and_resume() {
    let mut net = Net::new();
    for i in 0..N {
        net.start(i);
    }
    net.run_until(3);
    net.up[2] = false;
    net.up[3] = false;
    let stuck = net.height(0).max(net.height(1));
    // Half the power cannot commit: run a good while in virtual time, nothing is decided.
    let until = net.now_ms + 10_000;
    while net.now_ms < until {
        let Some(((t, _), _)) = net.queue.first_key_value() else {
            break;
        };
        if *t > until {
            break;
        }
        net.run_step();
    }
    assert!(net.height(0) <= stuck + 1 && net.height(1) <= stuck + 1);
    // Node 2 returns (its engine kept its files; the state in memory stands for a restart).
    net.start(2);
    let level = net.height(0).max(net.height(1));
    net.block_sync(2, if net.height(0) >= net.height(1) { 0 } else { 1 });
    net.run_until(level + 3);
    assert_same_chain(&net, &[0, 1, 2], level + 3);
}

#[test]
fn forged_messages_are_refused_with_the_reason() {
    let mut net = Net::new();
    for i in 0..N {
        net.start(i);
    }
    net.run_until(2);
    let msgs = net.engines[0].height_messages().to_vec();
    let now = net.now();
    let vote = msgs
        .iter()
        .find_map(|g| match g {
            Gossip::Vote(v) => Some(v.clone()),
            _ => None,
        })
        .expect("a vote of the current height");
    let target = (0..N)
        .find(|&i| i != vote.validator_index as usize)
        .expect("another node");
    // A flipped signature bit, on a vote the target does not hold yet (one it holds under
    // another signature is refused before any check, as CometBFT does).
    let mut bad = vote.clone();
    bad.round += 1;
    if let Some(s) = bad.signature.as_mut() {
        s.0[0] ^= 1;
    }
    assert!(matches!(
        net.engines[target].on_gossip(Gossip::Vote(bad), now),
        Err(GossipError::Refused(Refused::BadSignature(_)))
    ));
    // Someone else's index.
    let mut wrong = vote.clone();
    wrong.round += 1;
    let signer = (0..N)
        .find(|&i| key(i).public_key().address() == vote.validator_address)
        .expect("a validator's vote");
    wrong.sign(CHAIN, &key(signer));
    wrong.validator_index = (wrong.validator_index + 1) % N as u32;
    assert!(matches!(
        net.engines[target].on_gossip(Gossip::Vote(wrong), now),
        Err(GossipError::Refused(Refused::BadSignature(_)))
    ));
    // A vote for a far-future height is not an offence, just not taken.
    let mut future = vote.clone();
    future.height += 100;
    assert!(matches!(
        net.engines[target].on_gossip(Gossip::Vote(future), now),
        Err(GossipError::Refused(Refused::Stale))
    ));
    // A proposal signed by someone who is not the round's proposer.
    if let Some(p) = msgs.iter().find_map(|g| match g {
        Gossip::Proposal(p) => Some(p.clone()),
        _ => None,
    }) {
        let mut forged = p.clone();
        forged.round += 1;
        forged.sign(CHAIN, &key(0));
        let proposer_is_0 = net.engines[1]
            .validators_at(forged.height)
            .expect("read")
            .and_then(|s| s.proposer_for_round(forged.round))
            .is_some_and(|v| v.pub_key == key(0).public_key());
        if !proposer_is_0 {
            assert!(matches!(
                net.engines[1].on_gossip(Gossip::Proposal(forged), now),
                Err(GossipError::Refused(Refused::BadSignature(_)))
            ));
        }
    }
    // A committed block with a commit short of +2/3.
    let h = net.height(0);
    let (raw, mut commit) = net.engines[0]
        .committed_block(h)
        .expect("read")
        .expect("held");
    let block = keystone_consensus_types::Block::from_proto(&raw).expect("block");
    let fresh_dir = tempfile::tempdir().expect("tmp");
    let mut fresh = open(fresh_dir.path(), 3);
    fresh.start(now).expect("start");
    for s in commit.signatures.iter_mut().skip(1) {
        *s = keystone_consensus_types::CommitSig::absent();
    }
    if h == 1 {
        assert!(matches!(
            fresh.apply_committed(block, commit, now),
            Err(GossipError::Refused(Refused::BadSignature(_)))
        ));
    } else {
        assert!(matches!(
            fresh.apply_committed(block, commit, now),
            Err(GossipError::Refused(Refused::Stale))
        ));
    }
}

impl Net {
    /// Deliver the next event; `false` if there is none. A refused message (other than
    /// stale or duplicate) fails the test: every node here is honest.
    fn run_step(&mut self) -> bool {
        let Some(((t, _), ev)) = self.queue.pop_first() else {
            return false;
        };
        self.now_ms = t;
        let now = self.now();
        match ev {
            Event::Timer(i, a) if self.up[i] => {
                let out = match a {
                    Action::Timeout {
                        height, timeout, ..
                    } => self.engines[i].on_timeout(height, timeout, now),
                    Action::NextHeight { .. } => self.engines[i].next_height(now),
                    Action::Broadcast(_) => unreachable!("broadcasts are delivered, not timed"),
                };
                self.handle(i, out.expect("engine step"));
            }
            Event::Deliver(i, g) if self.up[i] => match self.engines[i].on_gossip(g, now) {
                Ok(out) => self.handle(i, out),
                Err(GossipError::Refused(Refused::Stale | Refused::Duplicate)) => {}
                Err(GossipError::Refused(r)) => panic!("an honest message refused: {r}"),
                Err(GossipError::Engine(e)) => panic!("node {i} failed: {e}"),
            },
            _ => {}
        }
        true
    }
}

#[test]
fn a_double_signer_is_caught_and_its_evidence_committed_once() {
    let mut net = Net::new();
    net.engines[3].misbehave_double_sign(key(3));
    for i in 0..N {
        net.start(i);
    }
    net.run_until(8);
    assert_same_chain(&net, &[0, 1, 2, 3], 8);
    let offender = key(3).public_key().address();
    // Some block carries duplicate-vote evidence against node 3, and each piece only once.
    let mut seen = std::collections::BTreeSet::new();
    let mut found = 0;
    for h in 1..=8 {
        let raw = net.engines[0]
            .blocks()
            .block_proto(h)
            .expect("read")
            .expect("stored");
        let block = keystone_consensus_types::Block::from_proto(&raw).expect("block");
        for ev in &block.evidence {
            assert_eq!(
                ev.vote_a.validator_address, offender,
                "only the double signer"
            );
            assert!(seen.insert(ev.hash()), "evidence committed twice");
            ev.verify(
                CHAIN,
                &net.engines[0]
                    .validators_at(ev.vote_a.height)
                    .expect("read")
                    .expect("set"),
            )
            .expect("committed evidence verifies");
            found += 1;
        }
    }
    assert!(found > 0, "evidence was committed");
    // Every node's application heard of it as Misbehavior, identically.
    let heard = &net.engines[0].app().misbehavior;
    assert!(!heard.is_empty());
    assert!(heard
        .iter()
        .all(|(_, who, _)| who.as_slice() == offender.0.as_slice()));
    for i in 1..N {
        let theirs: Vec<_> = net.engines[i]
            .app()
            .misbehavior
            .iter()
            .filter(|(h, _, _)| *h <= 8)
            .cloned()
            .collect();
        let ours: Vec<_> = heard.iter().filter(|(h, _, _)| *h <= 8).cloned().collect();
        assert_eq!(theirs, ours, "node {i}");
    }
}

/// A vote signed again with a new timestamp for the same (height, round, type, block) — a
/// second signature saying nothing new — is refused as CometBFT refuses a non-deterministic
/// signature: not kept, not relayed (a duplicate is never relayed), the height's messages
/// unchanged.
#[test]
fn a_vote_signed_again_with_a_new_timestamp_is_refused_and_not_kept() {
    let mut net = Net::new();
    for i in 0..N {
        net.start(i);
    }
    net.run_until(2);
    let me = key(0).public_key().address();
    let vote = net.engines[0]
        .height_messages()
        .iter()
        .find_map(|g| match g {
            Gossip::Vote(v) if v.validator_address != me => Some(v.clone()),
            _ => None,
        })
        .expect("another validator's vote of the current height");
    let signer = (0..N)
        .find(|&i| key(i).public_key().address() == vote.validator_address)
        .expect("a validator's vote");
    let mut again = vote.clone();
    again.timestamp = again.timestamp.plus_millis(1_000);
    again.sign(CHAIN, &key(signer));
    assert_ne!(again.signature, vote.signature);
    let before = net.engines[0].height_messages().len();
    let now = net.now();
    assert!(matches!(
        net.engines[0].on_gossip(Gossip::Vote(again), now),
        Err(GossipError::Refused(Refused::Duplicate))
    ));
    assert_eq!(net.engines[0].height_messages().len(), before, "not kept");
}

/// A validator that restarts holding a proposal but not its block (its copy lost) and then
/// sees +2/3 precommit it decides a block it does not have: it waits for the block from
/// its peers (block sync) instead of stopping, then goes on.
#[test]
fn a_decided_block_the_node_does_not_hold_is_fetched_not_fatal() {
    let mut net = Net::new();
    for i in 0..N {
        net.start(i);
    }
    net.run_until(2);
    // Step until node 3 holds the block of its height in progress (its WAL has the proposal).
    let target = loop {
        assert!(net.run_step(), "nothing scheduled");
        let e = &net.engines[3];
        let next = e.last_height().expect("height") + 1;
        if !e.held_blocks().is_empty() && e.current_height() == Some(next) {
            break next;
        }
    };
    // It stops there; the others commit that height and go on.
    net.up[3] = false;
    net.run_until(target + 2);
    // Restarted from its files, with its copy of the block gone.
    let dir = net._dirs[3].path().to_path_buf();
    drop(net.engines.remove(3));
    BlockStore::open(&dir.join("blockstore.redb"))
        .expect("blocks")
        .clear_built()
        .expect("clear");
    net.engines.insert(3, open(&dir, 3));
    net.up[3] = true;
    let now = net.now();
    let out = net.engines[3].start(now).expect("start");
    net.handle(3, out);
    assert_eq!(net.height(3), target - 1);
    // The precommits that decided `target`, as peers would send them.
    let (_, commit) = net.engines[0]
        .committed_block(target)
        .expect("read")
        .expect("held");
    for (i, sig) in commit.signatures.iter().enumerate() {
        if sig.signature.is_none() {
            continue;
        }
        let vote = keystone_consensus_types::Vote {
            vote_type: keystone_consensus_types::VoteType::Precommit,
            height: target,
            round: commit.round,
            block_id: Some(commit.block_id),
            timestamp: sig.timestamp,
            validator_address: sig.validator_address,
            validator_index: i as u32,
            signature: sig.signature,
        };
        match net.engines[3].on_gossip(Gossip::Vote(vote), now) {
            Ok(out) => net.handle(3, out),
            Err(GossipError::Refused(_)) => {}
            Err(GossipError::Engine(e)) => {
                panic!("the node stopped on a decision it cannot hold: {e}")
            }
        }
    }
    assert_eq!(net.height(3), target - 1, "not committed without the block");
    // Block sync brings the block and its commit; the node goes on and votes again.
    assert!(net.block_sync(3, 0) >= 2);
    net.run_until(net.height(0) + 2);
    assert_same_chain(&net, &[0, 1, 2, 3], net.height(3));
}
