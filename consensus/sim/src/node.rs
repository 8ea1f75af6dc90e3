//! One simulated node's state: what survives a crash (height, WAL, privval, decided blocks)
//! and what does not (the core, pending timers, the gossip list).

use keystone_consensus_core::{Consensus, Input};
use keystone_consensus_types::{Address, Height, PrivateKey, Proposal, Round, Vote, VoteType};
use std::collections::BTreeMap;

/// How a validator behaves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Behaviour {
    /// Follows the algorithm.
    Honest,
    /// Byzantine: signs two different proposals and two different votes (for a real
    /// alternative value when there is one) for every one it should sign; each peer gets one
    /// version, the other, or both.
    Equivocate,
    /// Byzantine: prevotes any valid proposal whatever its lock.
    Amnesia,
    /// Byzantine: never sends anything.
    Silent,
}

/// A network message.
#[derive(Clone, Debug)]
pub(crate) enum Msg {
    Proposal(Proposal),
    Vote(Vote),
    /// Catch-up for a peer behind: the decided proposal and its commit.
    Commit {
        proposal: Proposal,
        precommits: Vec<Vote>,
    },
}

/// What identifies a message for "already sent to that peer".
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub(crate) enum MsgKey {
    Proposal(Height, Round, keystone_consensus_types::BlockId),
    Vote(
        Height,
        Address,
        Round,
        VoteType,
        Option<keystone_consensus_types::BlockId>,
    ),
    Commit,
}

impl Msg {
    pub(crate) fn key(&self) -> MsgKey {
        match self {
            Msg::Proposal(p) => MsgKey::Proposal(p.height, p.round, p.block_id),
            Msg::Vote(v) => MsgKey::Vote(
                v.height,
                v.validator_address,
                v.round,
                v.vote_type,
                v.block_id,
            ),
            Msg::Commit { .. } => MsgKey::Commit,
        }
    }

    pub(crate) fn height(&self) -> Height {
        match self {
            Msg::Proposal(p) => p.height,
            Msg::Vote(v) => v.height,
            Msg::Commit { proposal, .. } => proposal.height,
        }
    }
}

/// A decided height in the block store.
#[derive(Clone, Debug)]
pub(crate) struct Decided {
    pub(crate) proposal: Proposal,
    pub(crate) precommits: Vec<Vote>,
}

/// The simulated privval: remembers every signature of the node and, with `guard`, refuses
/// to sign a different value at a height/round/step it already signed (returning the stored
/// signature for the same value, as CometBFT's privval does on replay).
#[derive(Default, Debug)]
pub(crate) struct PrivVal {
    votes: BTreeMap<(Height, Round, VoteType), Vote>,
    proposals: BTreeMap<(Height, Round), Proposal>,
}

impl PrivVal {
    pub(crate) fn sign_vote(
        &mut self,
        mut vote: Vote,
        key: &PrivateKey,
        chain_id: &str,
        guard: bool,
    ) -> Option<Vote> {
        let k = (vote.height, vote.round, vote.vote_type);
        if let Some(prev) = self.votes.get(&k) {
            if prev.block_id == vote.block_id {
                return Some(prev.clone());
            }
            if guard {
                return None;
            }
        }
        vote.sign(chain_id, key);
        self.votes.insert(k, vote.clone());
        Some(vote)
    }

    pub(crate) fn sign_proposal(
        &mut self,
        mut proposal: Proposal,
        key: &PrivateKey,
        chain_id: &str,
        guard: bool,
    ) -> Option<Proposal> {
        let k = (proposal.height, proposal.round);
        if let Some(prev) = self.proposals.get(&k) {
            if prev.block_id == proposal.block_id && prev.pol_round == proposal.pol_round {
                return Some(prev.clone());
            }
            if guard {
                return None;
            }
        }
        proposal.sign(chain_id, key);
        self.proposals.insert(k, proposal.clone());
        Some(proposal)
    }
}

pub(crate) struct Node {
    pub(crate) key: PrivateKey,
    pub(crate) address: Address,
    pub(crate) behaviour: Behaviour,
    pub(crate) alive: bool,
    /// Bumped on every crash, so timers set before it are ignored.
    pub(crate) epoch: u32,
    // Durable.
    pub(crate) height: Height,
    pub(crate) wal: Vec<Input>,
    pub(crate) privval: PrivVal,
    pub(crate) blocks: BTreeMap<Height, Decided>,
    /// Every height up to this one is in `blocks` (kept up to date by `store_block`).
    decided: Height,
    // Volatile.
    pub(crate) core: Option<Consensus>,
    pub(crate) own_msgs: Vec<Msg>,
    pub(crate) pending_value: Option<Round>,
    /// The epoch whose gossip timer is running (one timer per life of the node).
    pub(crate) gossip_epoch: Option<u32>,
    pub(crate) catchup_sent: BTreeMap<(usize, Height), u64>,
    /// Byzantine bookkeeping: every proposed value seen per height and round, so an
    /// equivocator can vote for a real alternative rather than a made-up one.
    pub(crate) seen_values: BTreeMap<(Height, Round), Vec<keystone_consensus_types::BlockId>>,
    /// Messages of the current height this node has processed. Peers consult it before
    /// gossiping (an idealised `HasVote`: a real gossip layer learns the same from its peers'
    /// announcements, a little later), so nothing is sent to a node that already has it.
    pub(crate) has: std::collections::BTreeSet<MsgKey>,
    /// The highest height each peer has sent us a message for: peers below ours get our
    /// commits of their height every gossip interval.
    pub(crate) peer_heights: BTreeMap<usize, Height>,
}

impl Node {
    pub(crate) fn new(key: PrivateKey, behaviour: Behaviour) -> Node {
        Node {
            address: key.public_key().address(),
            key,
            behaviour,
            alive: false,
            epoch: 0,
            height: 1,
            wal: Vec::new(),
            privval: PrivVal::default(),
            blocks: BTreeMap::new(),
            decided: 0,
            core: None,
            own_msgs: Vec::new(),
            pending_value: None,
            gossip_epoch: None,
            catchup_sent: BTreeMap::new(),
            seen_values: BTreeMap::new(),
            has: std::collections::BTreeSet::new(),
            peer_heights: BTreeMap::new(),
        }
    }

    pub(crate) fn is_honest(&self) -> bool {
        self.behaviour == Behaviour::Honest
    }

    /// Highest height with every height up to it decided.
    pub(crate) fn decided_height(&self) -> Height {
        self.decided
    }

    /// Put a decided block in the store (the first decision of a height stays).
    pub(crate) fn store_block(&mut self, height: Height, block: Decided) {
        self.blocks.entry(height).or_insert(block);
        while self.blocks.contains_key(&(self.decided + 1)) {
            self.decided += 1;
        }
    }

    /// Forget everything volatile (a crash).
    pub(crate) fn crash(&mut self) {
        self.alive = false;
        self.epoch += 1;
        self.core = None;
        self.own_msgs.clear();
        self.pending_value = None;
        self.catchup_sent.clear();
        self.peer_heights.clear();
    }
}
