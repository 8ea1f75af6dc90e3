//! The engine's side of the network: what it accepts from peers and what it gives them.
//!
//! Inbound, every message is checked before the core hears of it — the core trusts its
//! inputs: a proposal must be signed by its round's proposer, a vote by the validator at its
//! index, a block part must prove against the proposal's part-set hash, and a reassembled
//! block must be the proposal's, consistent with the chain (`valid(v)`), and accepted by the
//! application's `ProcessProposal`. A committed block from block sync must carry a commit
//! with +2/3 of its height's validators. Anything else is refused with a [`Refused`] the node
//! can hold against the peer.
//!
//! Outbound, the engine returns [`Action::Broadcast`] for its own proposals, block parts and
//! votes; [`Engine::height_messages`] keeps every message of the current height it accepted
//! or sent, so the node can bring a peer that (re)connects up to date.

use super::{block_from_proto, Action, Engine, EngineError, Result, View};
use crate::evidence::EvidenceError;
use keystone_consensus_core::Input;
use keystone_consensus_types::{
    median_time, Block, BlockId, BlockIdFlag, Commit, CommitSig, DuplicateVoteEvidence, Height,
    Part, PartSet, Proposal, Round, Time, Vote, VoteType, BLOCK_PART_SIZE,
};
use keystone_proto::abci;
use keystone_proto::prost::Message;
use keystone_proto::Application;

/// A consensus message between nodes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Gossip {
    /// A signed proposal (the block follows as parts).
    Proposal(Proposal),
    /// One part of the block of the proposal for (`height`, `round`).
    BlockPart {
        /// Height.
        height: Height,
        /// Round.
        round: Round,
        /// The part, with its proof.
        part: Part,
    },
    /// A signed prevote or precommit.
    Vote(Vote),
    /// Evidence of a validator's double signing.
    Evidence(Box<DuplicateVoteEvidence>),
}

impl Gossip {
    /// The height a consensus message belongs to (evidence belongs to none).
    pub fn height(&self) -> Option<Height> {
        match self {
            Gossip::Vote(v) => Some(v.height),
            Gossip::Proposal(p) => Some(p.height),
            Gossip::BlockPart { height, .. } => Some(*height),
            Gossip::Evidence(_) => None,
        }
    }
}

/// Why a peer's message was not taken. `Stale` and `Duplicate` are normal in gossip; the
/// others mean the peer sent something false.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    /// For another height or a round too far ahead; not an offence.
    #[error("not for the current height or round")]
    Stale,
    /// Already held.
    #[error("already held")]
    Duplicate,
    /// A signature that does not verify, or a signer that is not who it must be.
    #[error("bad signature or signer: {0}")]
    BadSignature(String),
    /// Malformed or inconsistent content.
    #[error("invalid: {0}")]
    Invalid(String),
}

/// Why a peer's message was not taken: the peer's doing ([`Refused`]), or a failure of this
/// node (storage, application) that must stop it.
#[derive(Debug, thiserror::Error)]
pub enum GossipError {
    /// Not taken; see [`Refused`].
    #[error(transparent)]
    Refused(#[from] Refused),
    /// This node failed.
    #[error(transparent)]
    Engine(#[from] EngineError),
}

/// How far ahead of our round a peer's proposal or vote may be: honest nodes are never far
/// apart, and this bounds what a Byzantine validator can make us store.
const MAX_ROUND_AHEAD: Round = 10;

/// Messages for the next height kept until it starts: every vote, proposal and part of one
/// height of a large network, with room to spare.
pub(super) const MAX_FUTURE: usize = 20_000;

/// Bytes of messages for the next height kept until it starts (block parts are up to 64 KiB
/// each: 20,000 of them would be 1.3 GB). Past it they are dropped; peers send a height's
/// messages again when it does not move.
pub const MAX_FUTURE_BYTES: usize = 64 * 1024 * 1024;

/// Roughly what a message holds in memory (its variable part), for the byte bounds.
pub fn gossip_size(g: &Gossip) -> usize {
    const FIXED: usize = 256;
    match g {
        Gossip::BlockPart { part, .. } => FIXED + part.bytes.len() + 32 * part.proof.aunts.len(),
        Gossip::Evidence(_) => 2 * FIXED,
        Gossip::Vote(_) | Gossip::Proposal(_) => FIXED,
    }
}

/// A proposal waiting for its block's parts.
pub(super) struct Incoming {
    proposal: Proposal,
    parts: PartSet,
}

impl<A: Application> Engine<A> {
    /// Bytes of next-height messages held until that height starts (bounded by
    /// [`MAX_FUTURE_BYTES`]).
    pub fn future_bytes(&self) -> usize {
        self.future_bytes
    }

    /// The height being decided.
    pub fn current_height(&self) -> Option<Height> {
        self.core.as_ref().map(|c| c.height())
    }

    /// Every consensus message of the current height this node sent or accepted, in order.
    pub fn height_messages(&self) -> &[Gossip] {
        &self.gossip_log
    }

    /// The parts of a block this node holds for the current height, as gossip.
    fn parts_of(&self, height: Height, round: Round, block: &Block) -> Vec<Gossip> {
        let set = block.make_part_set();
        (0..set.header().total)
            .filter_map(|i| set.part(i).cloned())
            .map(|part| Gossip::BlockPart {
                height,
                round,
                part,
            })
            .collect()
    }

    /// What can be checked of a message for the next height before it starts: a vote's
    /// signature (that height's validators are known), a proposal's signer, a part's proof
    /// holding together (its leaf is its bytes, its index within a block's parts). What fails
    /// is a peer's lie, not an early arrival.
    fn check_early(&self, msg: &Gossip) -> std::result::Result<(), Refused> {
        let Some(h) = msg.height() else {
            return Ok(());
        };
        // A store that cannot be read says nothing about the peer: not taken, not punished.
        let set = self.validators(h).map_err(|_| Refused::Stale)?;
        match msg {
            Gossip::Vote(v) => {
                let val = set
                    .get_by_index(v.validator_index as usize)
                    .filter(|val| val.address == v.validator_address)
                    .ok_or_else(|| {
                        Refused::BadSignature(format!(
                            "{} is not validator {} of height {h}",
                            v.validator_address, v.validator_index
                        ))
                    })?;
                v.verify(&self.genesis.chain_id, &val.pub_key)
                    .map_err(|e| Refused::BadSignature(e.to_string()))
            }
            Gossip::Proposal(p) => {
                let proposer = set
                    .proposer_for_round(p.round)
                    .ok_or_else(|| Refused::Invalid("no proposer".into()))?;
                p.verify(&self.genesis.chain_id, &proposer.pub_key)
                    .map_err(|e| Refused::BadSignature(e.to_string()))
            }
            Gossip::BlockPart { part, .. } => {
                let max_parts =
                    (self.cfg.max_block_tx_bytes.max(0) as usize / BLOCK_PART_SIZE + 2) as u64;
                let ok = part.proof.index == u64::from(part.index)
                    && part.proof.total <= max_parts
                    && part.proof.root_for(&part.bytes).is_some();
                if ok {
                    Ok(())
                } else {
                    Err(Refused::Invalid(format!(
                        "block part {} for height {h} has a proof that does not hold together",
                        part.index
                    )))
                }
            }
            Gossip::Evidence(_) => Ok(()),
        }
    }

    /// Feed what arrived early for the height that just started.
    pub(super) fn replay_future(&mut self, now: Time, actions: &mut Vec<Action>) -> Result<()> {
        let Some(height) = self.current_height() else {
            return Ok(());
        };
        self.future_bytes = 0;
        for msg in std::mem::take(&mut self.future) {
            if msg.height() != Some(height) {
                continue;
            }
            match self.on_gossip(msg, now) {
                Ok(more) => actions.extend(more),
                Err(GossipError::Engine(e)) => return Err(e),
                Err(GossipError::Refused(_)) => {}
            }
        }
        Ok(())
    }

    /// Record and return for broadcast our own signed proposal with its block's parts.
    pub(super) fn broadcast_proposal(&mut self, p: &Proposal, actions: &mut Vec<Action>) {
        let mut msgs = vec![Gossip::Proposal(p.clone())];
        if let Some(block) = self.proposals.get(&p.block_id) {
            msgs.extend(self.parts_of(p.height, p.round, block));
        }
        for m in msgs {
            self.gossip_log.push(m.clone());
            actions.push(Action::Broadcast(m));
        }
    }

    /// Record and return for broadcast our own signed vote.
    pub(super) fn broadcast_vote(&mut self, v: &Vote, actions: &mut Vec<Action>) {
        self.seen_votes
            .insert(v.signature.map(|s| s.0).unwrap_or([0; 64]));
        let m = Gossip::Vote(v.clone());
        self.gossip_log.push(m.clone());
        actions.push(Action::Broadcast(m));
    }

    fn round_ok(&self, height: Height, round: Round) -> std::result::Result<(), Refused> {
        match &self.core {
            Some(c) if c.height() == height && round <= c.round() + MAX_ROUND_AHEAD => Ok(()),
            _ => Err(Refused::Stale),
        }
    }

    /// A message from a peer. `Ok` holds what to schedule; the message was new and is worth
    /// relaying. [`GossipError::Refused`] says why it was not taken; [`GossipError::Engine`]
    /// is a failure of this node (storage, application) that must stop it.
    pub fn on_gossip(
        &mut self,
        msg: Gossip,
        now: Time,
    ) -> std::result::Result<Vec<Action>, GossipError> {
        // A peer that finished the height before us is already voting on the next one; what
        // it sends now it will not send again. Keep it (bounded, unverified — it is checked
        // when that height starts) instead of losing it: losing a few such votes can leave a
        // height without the 2f+1 messages that start its timeouts.
        if let (Some(h), Some(core)) = (msg.height(), &self.core) {
            if h == core.height() + 1 {
                self.check_early(&msg).map_err(GossipError::Refused)?;
                let size = gossip_size(&msg);
                if self.future.len() < MAX_FUTURE && self.future_bytes + size <= MAX_FUTURE_BYTES {
                    self.future_bytes += size;
                    self.future.push(msg);
                }
                return Err(GossipError::Refused(Refused::Stale));
            }
        }
        match msg {
            Gossip::Vote(v)
                if v.vote_type == VoteType::Precommit
                    && self
                        .core
                        .as_ref()
                        .is_some_and(|c| v.height + 1 == c.height()) =>
            {
                self.on_late_precommit(v)
            }
            Gossip::Vote(v) => self.on_vote(v, now),
            Gossip::Proposal(p) => self.on_proposal(p, now),
            Gossip::BlockPart {
                height,
                round,
                part,
            } => self.on_block_part(height, round, part, now),
            Gossip::Evidence(ev) => {
                let view = View {
                    blocks: &self.blocks,
                    genesis: &self.genesis,
                };
                match self.evidence.add(*ev, &view) {
                    Ok(()) => Ok(Vec::new()),
                    Err(EvidenceError::Known) => Err(GossipError::Refused(Refused::Duplicate)),
                    // Another node may be ahead of us, or we of it: not an offence.
                    Err(EvidenceError::OutOfRange { .. }) => {
                        Err(GossipError::Refused(Refused::Stale))
                    }
                    // Bounded: what does not fit is dropped, and comes again once it does.
                    Err(EvidenceError::Full) => Err(GossipError::Refused(Refused::Stale)),
                    Err(EvidenceError::Invalid(e)) => {
                        Err(GossipError::Refused(Refused::Invalid(e)))
                    }
                }
            }
        }
    }

    fn on_vote(&mut self, v: Vote, now: Time) -> std::result::Result<Vec<Action>, GossipError> {
        self.round_ok(v.height, v.round)
            .map_err(GossipError::Refused)?;
        let sig = v
            .signature
            .ok_or_else(|| GossipError::Refused(Refused::BadSignature("unsigned vote".into())))?;
        if self.seen_votes.contains(&sig.0) {
            return Err(GossipError::Refused(Refused::Duplicate));
        }
        let core = self
            .core
            .as_ref()
            .ok_or(GossipError::Refused(Refused::Stale))?;
        // The same (height, round, type, block) from the same validator under another
        // signature — signed again with a new timestamp: it changes nothing, and CometBFT
        // refuses it (`ErrVoteNonDeterministicSignature`). Not stored, not relayed.
        if core.keeper().contains(&v) {
            return Err(GossipError::Refused(Refused::Duplicate));
        }
        let val = core
            .validators()
            .get_by_index(v.validator_index as usize)
            .filter(|val| val.address == v.validator_address)
            .ok_or_else(|| {
                GossipError::Refused(Refused::BadSignature(format!(
                    "{} is not validator {} of height {}",
                    v.validator_address, v.validator_index, v.height
                )))
            })?;
        v.verify(&self.genesis.chain_id, &val.pub_key)
            .map_err(|e| GossipError::Refused(Refused::BadSignature(e.to_string())))?;
        self.seen_votes.insert(sig.0);
        self.gossip_log.push(Gossip::Vote(v.clone()));
        let mut actions = Vec::new();
        self.apply(Input::Vote(v), now, &mut actions, true)
            .map_err(GossipError::Engine)?;
        Ok(actions)
    }

    /// A precommit for the last height, after it was decided here: if it is for the
    /// committed block (or nil) in the commit's round and its slot is still absent, it joins
    /// the last commit the next block will carry (CometBFT adds such votes to `LastCommit`).
    fn on_late_precommit(&mut self, v: Vote) -> std::result::Result<Vec<Action>, GossipError> {
        let Some(commit) = self.last_commit.as_ref() else {
            return Err(GossipError::Refused(Refused::Stale));
        };
        if commit.height != v.height || commit.round != v.round {
            return Err(GossipError::Refused(Refused::Stale));
        }
        let index = v.validator_index as usize;
        match commit.signatures.get(index) {
            Some(s) if s.block_id_flag == BlockIdFlag::Absent => {}
            Some(_) => return Err(GossipError::Refused(Refused::Duplicate)),
            None => {
                return Err(GossipError::Refused(Refused::BadSignature(format!(
                    "no validator {index} at height {}",
                    v.height
                ))))
            }
        }
        if v.block_id.is_some_and(|id| id != commit.block_id) {
            // A precommit for another block in the committing round: a Byzantine signer's
            // (2/3 committed this one); not ours to record here.
            return Err(GossipError::Refused(Refused::Stale));
        }
        let set = self.validators(v.height).map_err(GossipError::Engine)?;
        let val = set
            .get_by_index(index)
            .filter(|val| val.address == v.validator_address)
            .ok_or_else(|| {
                GossipError::Refused(Refused::BadSignature(format!(
                    "{} is not validator {index} of height {}",
                    v.validator_address, v.height
                )))
            })?;
        v.verify(&self.genesis.chain_id, &val.pub_key)
            .map_err(|e| GossipError::Refused(Refused::BadSignature(e.to_string())))?;
        let Some(commit) = self.last_commit.as_mut() else {
            return Err(GossipError::Refused(Refused::Stale));
        };
        commit.signatures[index] = CommitSig {
            block_id_flag: if v.block_id.is_some() {
                BlockIdFlag::Commit
            } else {
                BlockIdFlag::Nil
            },
            validator_address: v.validator_address,
            timestamp: v.timestamp,
            signature: v.signature,
        };
        Ok(Vec::new())
    }

    fn on_proposal(
        &mut self,
        p: Proposal,
        now: Time,
    ) -> std::result::Result<Vec<Action>, GossipError> {
        self.round_ok(p.height, p.round)
            .map_err(GossipError::Refused)?;
        let core = self
            .core
            .as_ref()
            .ok_or(GossipError::Refused(Refused::Stale))?;
        let proposer = core
            .proposer(p.round)
            .ok_or_else(|| GossipError::Refused(Refused::Invalid("no proposer".into())))?;
        p.verify(&self.genesis.chain_id, &proposer.pub_key)
            .map_err(|e| GossipError::Refused(Refused::BadSignature(e.to_string())))?;
        let key = (p.round, p.block_id);
        if self.incoming.contains_key(&key) || core.has_proposal(&p) {
            return Err(GossipError::Refused(Refused::Duplicate));
        }
        // An equivocating proposer may sign two; keep at most two per round.
        if self.incoming.keys().filter(|(r, _)| *r == p.round).count() >= 2 {
            return Err(GossipError::Refused(Refused::Invalid(
                "a third proposal for one round".into(),
            )));
        }
        let max_parts = (self.cfg.max_block_tx_bytes.max(0) as usize / BLOCK_PART_SIZE + 2) as u32;
        let parts = PartSet::from_header(p.block_id.part_set_header, max_parts)
            .map_err(|e| GossipError::Refused(Refused::Invalid(e.to_string())))?;
        self.gossip_log.push(Gossip::Proposal(p.clone()));
        self.incoming.insert(
            key,
            Incoming {
                proposal: p.clone(),
                parts,
            },
        );
        let mut actions = Vec::new();
        // A block we already hold (we built it, or a re-proposal of one we saw).
        if self.proposals.contains_key(&p.block_id) {
            self.incoming.remove(&key);
            self.proposal_complete(p, now, &mut actions)
                .map_err(GossipError::Engine)?;
        }
        Ok(actions)
    }

    fn on_block_part(
        &mut self,
        height: Height,
        round: Round,
        part: Part,
        now: Time,
    ) -> std::result::Result<Vec<Action>, GossipError> {
        self.round_ok(height, round).map_err(GossipError::Refused)?;
        // An equivocating proposer may have two proposals in this round: the part belongs to
        // the one whose part-set hash it proves against (a failed proof changes nothing).
        let candidates: Vec<(Round, BlockId)> = self
            .incoming
            .iter()
            .filter(|((r, _), inc)| {
                *r == round && inc.parts.part(part.index).is_none() && !inc.parts.is_complete()
            })
            .map(|(k, _)| *k)
            .collect();
        if candidates.is_empty() {
            return Err(GossipError::Refused(Refused::Duplicate));
        }
        let mut refusal = None;
        let mut taken = None;
        for key in candidates {
            let Some(inc) = self.incoming.get_mut(&key) else {
                continue;
            };
            match inc.parts.add_part(part.clone()) {
                Ok(_) => {
                    taken = Some(key);
                    break;
                }
                Err(e) => refusal = Some(e.to_string()),
            }
        }
        let Some(key) = taken else {
            return Err(GossipError::Refused(Refused::Invalid(
                refusal.unwrap_or_default(),
            )));
        };
        let inc = self
            .incoming
            .get_mut(&key)
            .ok_or(GossipError::Refused(Refused::Duplicate))?;
        self.gossip_log.push(Gossip::BlockPart {
            height,
            round,
            part,
        });
        let mut actions = Vec::new();
        if let Some(data) = inc.parts.data() {
            let Some(inc) = self.incoming.remove(&key) else {
                return Ok(actions);
            };
            let block = keystone_proto::types::Block::decode(data.as_slice())
                .map_err(|e| EngineError::Inconsistent(e.to_string()))
                .and_then(|b| block_from_proto(&b));
            match block {
                Ok(block) if block.block_id() == inc.proposal.block_id => {
                    // On disk before the core hears of it, as a block built here: after a
                    // restart the WAL's proposal (and any decision on it) finds it again.
                    self.blocks.save_built(&block).map_err(EngineError::from)?;
                    self.proposals.insert(block.block_id(), block);
                    self.proposal_complete(inc.proposal, now, &mut actions)
                        .map_err(GossipError::Engine)?;
                }
                // Parts that prove against the header but do not make the proposed block:
                // the proposer signed garbage. The core hears of it as an invalid proposal.
                _ => {
                    tracing::warn!(height, round, "the proposed block does not decode");
                    self.apply(
                        Input::Proposal {
                            proposal: inc.proposal,
                            valid: false,
                        },
                        now,
                        &mut actions,
                        true,
                    )
                    .map_err(GossipError::Engine)?;
                }
            }
        }
        Ok(actions)
    }

    /// A proposal whose block is held: judge it and give both to the core.
    fn proposal_complete(
        &mut self,
        p: Proposal,
        now: Time,
        actions: &mut Vec<Action>,
    ) -> Result<()> {
        let valid = match self.proposals.get(&p.block_id).cloned() {
            Some(block) => match self.check_block(&block) {
                Ok(()) => self.process_proposal(&block)?,
                Err(reason) => {
                    tracing::warn!(height = p.height, round = p.round, %reason, "invalid proposed block");
                    false
                }
            },
            None => false,
        };
        self.apply(Input::Proposal { proposal: p, valid }, now, actions, true)
    }

    fn process_proposal(&mut self, block: &Block) -> Result<bool> {
        // The same facts FinalizeBlock would carry, as a proposal to judge.
        let f = self.finalize_request(block);
        let res = self.app.process_proposal(abci::RequestProcessProposal {
            txs: f.txs,
            proposed_last_commit: f.decided_last_commit,
            misbehavior: f.misbehavior,
            hash: f.hash,
            height: f.height,
            time: f.time,
            next_validators_hash: f.next_validators_hash,
            proposer_address: f.proposer_address,
        })?;
        Ok(res.status == abci::response_process_proposal::ProposalStatus::Accept as i32)
    }

    /// Whether `block` is the next block of this chain: linked to the stored last block,
    /// with this height's validators, the app hash and results of the last block, BFT time
    /// from its last commit (which must carry +2/3 of the last height's power), and correct
    /// header hashes. Its proposer must be one of this height's validators — not
    /// necessarily this round's: a proposer re-proposes a valid block of an earlier round,
    /// which names the proposer that built it (CometBFT checks no more either).
    pub(super) fn check_block(&self, block: &Block) -> std::result::Result<(), String> {
        let h = &block.header;
        let height = self.last_height().map_err(|e| e.to_string())? + 1;
        let want = |what: &str, ok: bool| {
            if ok {
                Ok(())
            } else {
                Err(format!("wrong {what}"))
            }
        };
        want("chain id", h.chain_id == self.genesis.chain_id)?;
        want("height", h.height == height)?;
        block.check_header_hashes().map_err(|e| e.to_string())?;
        let set = self.validators(height).map_err(|e| e.to_string())?;
        let next = self.validators(height + 1).map_err(|e| e.to_string())?;
        want("validators hash", h.validators_hash == set.hash())?;
        want(
            "next validators hash",
            h.next_validators_hash == next.hash(),
        )?;
        want(
            "consensus hash",
            h.consensus_hash == self.genesis.params.hash(),
        )?;
        // Evidence: each valid, not committed before, none twice, within the byte limit.
        let view = self.view();
        let mut hashes = std::collections::BTreeSet::new();
        let mut bytes = 0usize;
        for ev in &block.evidence {
            if !hashes.insert(ev.hash()) {
                return Err("the same evidence twice".into());
            }
            bytes += ev.bytes().len();
            self.evidence
                .check(ev, &view)
                .map_err(|e| format!("evidence: {e}"))?;
        }
        want(
            "evidence size",
            bytes <= self.cfg.max_evidence_bytes.max(0) as usize,
        )?;
        want(
            "proposer",
            set.get_by_address(&h.proposer_address).is_some(),
        )?;
        if height == self.genesis.initial_height {
            want("last block id", h.last_block_id.is_none())?;
            want("last commit", block.last_commit.is_none())?;
            want("time", h.time == self.genesis.time)?;
            let app_hash = self.genesis_app_hash().map_err(|e| e.to_string())?;
            want("app hash", h.app_hash == app_hash)?;
            return Ok(());
        }
        let last = height - 1;
        let last_id = self
            .blocks
            .block_id(last)
            .map_err(|e| e.to_string())?
            .ok_or("the last block is not stored")?;
        want("last block id", h.last_block_id == Some(last_id))?;
        let commit = block.last_commit.as_ref().ok_or("no last commit")?;
        let last_set = self.validators(last).map_err(|e| e.to_string())?;
        // The commit this node holds for the last height was verified as it came (block
        // sync) or built from verified precommits (consensus): a block whose last commit is
        // that one needs no second check of its signatures — during block sync, half of
        // all the signature checks.
        if self.last_commit.as_ref() != Some(commit) {
            last_set
                .verify_commit(&self.genesis.chain_id, &last_id, last, commit)
                .map_err(|e| format!("last commit: {e}"))?;
        }
        want("time", h.time == median_time(commit, &last_set))?;
        let (app_hash, results) = self.results_of(last).map_err(|e| e.to_string())?;
        want("app hash", h.app_hash == app_hash)?;
        want("last results hash", h.last_results_hash == results)?;
        Ok(())
    }

    /// A block another node committed (block sync): if it is our next height, carries a
    /// commit of +2/3 of that height's validators for exactly this block, and is consistent
    /// with the chain, it is stored, executed and committed as if decided here, and the next
    /// height starts at once.
    pub fn apply_committed(
        &mut self,
        block: Block,
        commit: Commit,
        now: Time,
    ) -> std::result::Result<Vec<Action>, GossipError> {
        let height = self.last_height().map_err(GossipError::Engine)? + 1;
        if block.header.height != height {
            return Err(GossipError::Refused(Refused::Stale));
        }
        let id = block.block_id();
        self.validators(height)
            .map_err(GossipError::Engine)?
            .verify_commit(&self.genesis.chain_id, &id, height, &commit)
            .map_err(|e| GossipError::Refused(Refused::BadSignature(format!("commit: {e}"))))?;
        self.check_block(&block)
            .map_err(|e| GossipError::Refused(Refused::Invalid(e)))?;
        self.commit_block(&block, &id, &commit, true)
            .map_err(GossipError::Engine)?;
        let mut actions = Vec::new();
        actions.extend(self.begin_height(now, false).map_err(GossipError::Engine)?);
        Ok(actions)
    }

    /// The block at `height` and the commit this node holds for it (block sync serves these).
    pub fn committed_block(
        &self,
        height: Height,
    ) -> Result<Option<(keystone_proto::types::Block, Commit)>> {
        let (Some(b), Some(c)) = (
            self.blocks.block_proto(height)?,
            self.blocks.commit(height)?,
        ) else {
            return Ok(None);
        };
        Ok(Some((b, c)))
    }

    /// Ids of the blocks held for the current height (for tests and diagnostics).
    pub fn held_blocks(&self) -> Vec<BlockId> {
        self.proposals.keys().copied().collect()
    }
}
