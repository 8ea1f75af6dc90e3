//! The engine: the consensus core driven against real storage and a real application, for one
//! node. It is still sans-I/O in one respect — it reads no clock and owns no timer: the caller
//! passes `now` in and schedules the [`Action`]s it returns — so it can be tested in virtual
//! time and run by the node loop ([`crate::node`]).
//!
//! By concern: `exec` executes blocks (the handshake, building a proposal, committing a
//! decision, validator-set updates); `round` runs the height in progress (the core, the WAL,
//! the signer); `replay` settles what a WAL replay asked to sign; `net` checks what peers send
//! and gives them what they lack. This file holds the engine's state and what it answers.
//!
//! A height, as the engine runs it:
//! 1. `start`: the app handshake (`Info`; `InitChain` on an empty chain; `FinalizeBlock` +
//!    `Commit` of stored blocks the app has not applied), then the WAL of the current height is
//!    replayed into a fresh core (signing only what the log lacks: `replay`), or the core is
//!    started.
//! 2. The core asks for a value: the proposer reaps the mempool, runs `PrepareProposal`, builds
//!    the block (BFT time, last commit, every header hash) and proposes its id.
//! 3. Every input goes to the WAL before the core; before the node signs, the WAL is synced
//!    (what led to the signature is durable); its proposals and votes are signed by the
//!    privval (which records them on disk first) and logged right after — before anything
//!    else is signed, whose sync puts them on disk — so a crash anywhere replays to what was
//!    signed, which the privval gives back. A step the privval refuses is left unsigned
//!    (counted in `signer_refusals`), not a reason to stop.
//! 4. On a decision: the block and its commit are stored, then `FinalizeBlock`, its results
//!    stored (one fsync makes block and results durable), then `Commit`, then the WAL's
//!    end-of-height marker; the mempool drops the block's transactions and rechecks the rest;
//!    the next height starts after `timeout_commit`. A crash between any two of these steps
//!    is repaired by the handshake, or — if it lost the block — by deciding or fetching it
//!    again.
//! 5. A block block sync brings (committed by others, with its commit) goes the same way, but
//!    when the application can defer its commits' durability, neither store fsyncs it: a run
//!    of synced blocks reaches the disk together at [`Engine::make_durable`] — the block store,
//!    then the application — every tick, every [`UNDURABLE_BLOCKS`], and before this node
//!    commits a block decided here or signs anything. A crash loses the run's undurable tail
//!    whole; the node fetches it again. One fsync per block was most of a synced block's cost.

use crate::block_store::{BlockStore, BlockStoreError};
use crate::evidence::{ChainView, EvidencePool};
use crate::mempool::{Mempool, MempoolError, SharedMempool};
use crate::privval::{FilePrivVal, PrivValError};
use crate::wal::{Wal, WalError};
use keystone_consensus_core::{Consensus, Input, Output, Timeout, TimeoutConfig};
use keystone_consensus_types::{
    median_time, merkle, Block, BlockId, Commit, Data, DuplicateVoteEvidence, Hash, HashedParams,
    Header, Height, Proposal, Round, Time, Validator, ValidatorSet, Version, Vote, VoteType,
    BLOCK_PROTOCOL,
};
use keystone_proto::abci;
use keystone_proto::prost::bytes::Bytes;
use keystone_proto::prost::Message;
use keystone_proto::{AppError, Application};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

mod exec;
mod net;
mod replay;
mod round;
use exec::{block_from_proto, validators_of};
pub use exec::{results_hash, VALIDATOR_SET_CHECKPOINT};
pub use net::{gossip_size, Gossip, GossipError, Refused, MAX_FUTURE_BYTES};
use replay::Owed;

/// Most synced blocks committed without an fsync before they are made durable together (a
/// crash loses at most these; redb cannot reuse the pages they free until then).
pub const UNDURABLE_BLOCKS: u32 = 1_000;

/// What the engine failed at. Any of these stops the node: continuing could fork or skip.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The application failed.
    #[error(transparent)]
    App(#[from] AppError),
    /// The block store failed.
    #[error(transparent)]
    Blocks(#[from] BlockStoreError),
    /// The WAL failed.
    #[error(transparent)]
    Wal(#[from] WalError),
    /// The signer refused or failed.
    #[error(transparent)]
    PrivVal(#[from] PrivValError),
    /// Stored data or the application disagree with what consensus decided.
    #[error("inconsistent state: {0}")]
    Inconsistent(String),
    /// Something this engine does not do yet.
    #[error("not supported yet: {0}")]
    Unsupported(&'static str),
}

type Result<T> = std::result::Result<T, EngineError>;

/// What the chain starts from (the genesis document, in the engine's terms).
#[derive(Clone, Debug)]
pub struct Genesis {
    /// Chain id.
    pub chain_id: String,
    /// Time of the first block.
    pub time: Time,
    /// First height.
    pub initial_height: Height,
    /// Validators of the first height.
    pub validators: ValidatorSet,
    /// The hashed consensus params (`consensus_hash`).
    pub params: HashedParams,
    /// The full consensus params, handed to the application in `InitChain` (its evidence
    /// age limits decide which misbehaviour it still punishes).
    pub consensus_params: Option<keystone_proto::types::ConsensusParams>,
    /// The application's genesis state (`app_state` JSON bytes).
    pub app_state: Vec<u8>,
}

/// Engine settings.
#[derive(Clone, Debug)]
pub struct EngineConfig {
    /// Consensus timeouts.
    pub timeouts: TimeoutConfig,
    /// Most transaction bytes per block.
    pub max_block_tx_bytes: i64,
    /// Most gas per block (−1: no limit).
    pub max_block_gas: i64,
    /// Oldest evidence kept and accepted, in blocks (`evidence.max_age_num_blocks`).
    pub evidence_max_age_blocks: u64,
    /// Most evidence bytes per block (`evidence.max_bytes`).
    pub max_evidence_bytes: i64,
}

/// Something the caller must do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Call [`Engine::on_timeout`] with this after `after`.
    Timeout {
        /// Delay.
        after: Duration,
        /// Height it belongs to.
        height: Height,
        /// The timeout.
        timeout: Timeout,
    },
    /// Call [`Engine::next_height`] after `after` (`timeout_commit`).
    NextHeight {
        /// Delay.
        after: Duration,
    },
    /// Send this to every peer.
    Broadcast(Gossip),
}

/// `RequestInfo` as CometBFT v0.38 fills it (`proxy.RequestInfo`), for the handshake and the
/// RPC's `abci_info`: the software version the node announces, the block and p2p protocols
/// and the ABCI version. Applications may refuse an engine that leaves them empty.
pub fn info_request() -> abci::RequestInfo {
    abci::RequestInfo {
        version: keystone_p2p::DEFAULT_VERSION.to_owned(),
        block_version: BLOCK_PROTOCOL,
        p2p_version: keystone_p2p::ProtocolVersion::default().p2p,
        abci_version: keystone_proto::ABCI_VERSION.to_owned(),
    }
}

/// The node's engine.
pub struct Engine<A: Application> {
    genesis: Arc<Genesis>,
    cfg: EngineConfig,
    app: A,
    /// Shared with readers on other threads (RPC): redb gives each read its own snapshot.
    blocks: Arc<BlockStore>,
    wal: Wal,
    privval: FilePrivVal,
    mempool: SharedMempool,
    core: Option<Consensus>,
    /// When the height in progress started here (RPC `consensus_state`).
    height_started: Option<Time>,
    /// Blocks built or received for the current height, by id.
    proposals: BTreeMap<BlockId, Block>,
    /// Replaying the WAL: values are not rebuilt (the log says which one was built).
    replaying: bool,
    /// A value the core asked for during replay that the log never supplied.
    pending_value: Option<Round>,
    /// Proposals and votes the core asked this node to sign during replay that the log does
    /// not hold (yet): the log's own records follow the input that led to them, and each one
    /// replayed settles its entry. What is left when the log ends is signed then.
    owed: Vec<Owed>,
    /// Every consensus message of the current height sent or accepted (for peers that join).
    gossip_log: Vec<Gossip>,
    /// Signatures of the votes of the current height already taken.
    seen_votes: BTreeSet<[u8; 64]>,
    /// Proposals of the current height waiting for their block's parts.
    incoming: BTreeMap<(Round, BlockId), net::Incoming>,
    /// Messages for the next height, received before it started.
    future: Vec<Gossip>,
    /// Their size ([`net::gossip_size`]), bounded by `net::MAX_FUTURE_BYTES`.
    future_bytes: usize,
    /// The commit of the last height as this node knows it now: the seen commit, grown by
    /// the precommits that arrived after +2/3 did (during `timeout_commit` and while the
    /// next height runs). The next block's `last_commit` is taken from it, as CometBFT
    /// takes it from its `LastCommit` vote set, so a validator whose precommit is always a
    /// little late is still counted as signing. Not persisted: after a restart the stored
    /// seen commit serves.
    last_commit: Option<Commit>,
    /// Duplicate votes on their way into a block.
    evidence: EvidencePool,
    /// Evidence that became ready at the last commit, to tell peers about.
    announce: Vec<DuplicateVoteEvidence>,
    /// The last finalised height's app hash and results hash, as stored with its results: the
    /// next block's header and the check of a proposal need these two, and the stored
    /// results they come from hold every transaction's events (megabytes in a full block).
    /// `None` after a start: read from the store then.
    last_results: Option<(Height, Vec<u8>, Hash)>,
    /// Synced blocks stored and committed without an fsync since the last durable write
    /// (`None`: commits are durable; see [`Engine::make_durable`]).
    undurable: Option<u32>,
    /// Test-only misbehaviour: sign a second, conflicting vote for every vote (see
    /// [`Engine::misbehave_double_sign`]).
    #[cfg(feature = "fault-injection")]
    double_sign: Option<keystone_consensus_types::PrivateKey>,
    /// Times the signer refused what the core asked (see [`refused`]).
    signer_refusals: u64,
}

/// What the evidence pool (and RPC) sees of the chain: the block store and the validator
/// sets.
pub(crate) struct View<'a> {
    pub(crate) blocks: &'a BlockStore,
    pub(crate) genesis: &'a Genesis,
}

impl View<'_> {
    /// The last committed height (the initial height − 1 before the first block).
    pub(crate) fn last_height(&self) -> Result<Height> {
        Ok(match self.blocks.height()? {
            0 => self.genesis.initial_height - 1,
            h => h,
        })
    }

    /// The validator set of `h`, for heights of this chain whose set is known (up to the last
    /// committed height + 2).
    pub(crate) fn validators(&self, h: Height) -> Result<Option<ValidatorSet>> {
        if h < self.genesis.initial_height || h > self.last_height()? + 2 {
            return Ok(None);
        }
        validators_of(self.blocks, self.genesis, h).map(Some)
    }
}

impl ChainView for View<'_> {
    fn last_height(&self) -> Height {
        // An unreadable store judges evidence as if nothing were committed: it is refused
        // as out of range, never accepted.
        View::last_height(self).unwrap_or(self.genesis.initial_height - 1)
    }
    fn block_time(&self, h: Height) -> Option<Time> {
        let raw = self.blocks.block_proto(h).ok()??;
        Time::from_proto(raw.header?.time.as_ref()?).ok()
    }
    fn validators(&self, h: Height) -> Option<ValidatorSet> {
        // An unreadable store knows no set: evidence is then refused, never accepted.
        View::validators(self, h).ok().flatten()
    }
    fn is_committed(&self, hash: &Hash) -> bool {
        // A store that cannot be read counts as "committed": never propose what may be.
        !matches!(self.blocks.evidence_committed_at(hash), Ok(None))
    }
}

impl<A: Application> Engine<A> {
    /// An engine over its parts; call [`Engine::start`] next.
    pub fn new(
        genesis: Genesis,
        cfg: EngineConfig,
        app: A,
        blocks: BlockStore,
        wal: Wal,
        privval: FilePrivVal,
        mempool: Mempool,
    ) -> Self {
        Engine {
            mempool: SharedMempool::new(mempool, app.checker()),
            app,
            blocks: Arc::new(blocks),
            wal,
            privval,
            core: None,
            height_started: None,
            proposals: BTreeMap::new(),
            replaying: false,
            pending_value: None,
            owed: Vec::new(),
            gossip_log: Vec::new(),
            seen_votes: BTreeSet::new(),
            incoming: BTreeMap::new(),
            future: Vec::new(),
            future_bytes: 0,
            last_commit: None,
            last_results: None,
            evidence: EvidencePool::new(&genesis.chain_id, cfg.evidence_max_age_blocks),
            announce: Vec::new(),
            undurable: None,
            #[cfg(feature = "fault-injection")]
            double_sign: None,
            signer_refusals: 0,
            genesis: Arc::new(genesis),
            cfg,
        }
    }

    /// The application (for queries).
    pub fn app(&self) -> &A {
        &self.app
    }

    /// The block store (for RPC).
    pub fn blocks(&self) -> &BlockStore {
        &self.blocks
    }

    /// The chain's genesis (for RPC: chain id, initial height, consensus params).
    pub fn genesis(&self) -> &Genesis {
        &self.genesis
    }

    /// The core of the height in progress and when that height started here (RPC
    /// `consensus_state`).
    pub fn round_state(&self) -> Option<(&Consensus, Time)> {
        Some((self.core.as_ref()?, self.height_started?))
    }

    /// Evidence a client submitted (RPC `broadcast_evidence`): checked and pooled as a
    /// peer's would be; the caller gossips it.
    pub fn submit_evidence(
        &mut self,
        ev: DuplicateVoteEvidence,
    ) -> std::result::Result<(), crate::evidence::EvidenceError> {
        let view = View {
            blocks: &self.blocks,
            genesis: &self.genesis,
        };
        self.evidence.add(ev, &view)
    }

    /// The mempool (for RPC's `unconfirmed_txs`).
    pub fn mempool(&self) -> &SharedMempool {
        &self.mempool
    }

    /// What readers on other threads share with the engine: the block store, the genesis,
    /// the mempool and the application's query connection.
    pub(crate) fn shared(&self) -> crate::rpc::Shared {
        crate::rpc::Shared {
            blocks: self.blocks.clone(),
            genesis: self.genesis.clone(),
            mempool: self.mempool.clone(),
            app: self.app.reader(),
            validator_key: self.privval.public_key(),
        }
    }

    /// This node's consensus key.
    pub fn validator_key(&self) -> keystone_consensus_types::PublicKey {
        self.privval.public_key()
    }

    /// Ask the application's `CheckTx` about `tx` without offering it to the mempool (RPC
    /// `check_tx`). As in CometBFT, this is a `New` check: an application that tracks what
    /// it admitted (the SDK's check state bumps the sender's sequence) counts it as seen.
    pub fn check_tx_alone(
        &mut self,
        tx: Vec<u8>,
    ) -> keystone_proto::AppResult<abci::ResponseCheckTx> {
        self.mempool.check_alone(&mut self.app, tx)
    }

    /// The last committed height (the initial height − 1 before the first block).
    pub fn last_height(&self) -> Result<Height> {
        self.view().last_height()
    }

    /// The validator set of `height` (for RPC): known up to the last committed height + 2.
    pub fn validators_at(&self, height: Height) -> Result<Option<ValidatorSet>> {
        self.view().validators(height)
    }

    fn view(&self) -> View<'_> {
        View {
            blocks: &self.blocks,
            genesis: &self.genesis,
        }
    }

    /// The validator set of `height`.
    fn validators(&self, height: Height) -> Result<ValidatorSet> {
        validators_of(&self.blocks, &self.genesis, height)
    }

    /// Test-only misbehaviour (feature `fault-injection`), for the Byzantine end-to-end test: from now on, every vote this
    /// node casts is followed by a second one for a different block, signed with `key`
    /// directly (the privval would rightly refuse). Honest nodes must turn the pair into
    /// evidence; nothing else in the node changes.
    #[cfg(feature = "fault-injection")]
    pub fn misbehave_double_sign(&mut self, key: keystone_consensus_types::PrivateKey) {
        tracing::warn!("test-only misbehaviour on: this validator will double-sign every vote");
        self.double_sign = Some(key);
    }

    /// Times the signer refused to sign what this node's core asked for: a step it signed
    /// before with other content, or one below its last. The WAL is synced before every
    /// signature, so a restart replays to what was signed; a refusal means the node's own
    /// logic went back on itself (the simulator holds it as a violation).
    pub fn signer_refusals(&self) -> u64 {
        self.signer_refusals
    }

    /// What the evidence pool holds: pending pieces, their bytes, vote conflicts.
    pub fn evidence_held(&self) -> (usize, usize, usize) {
        self.evidence.held()
    }

    /// Evidence waiting for a block (for peers that connect).
    pub fn pending_evidence(&self) -> Vec<DuplicateVoteEvidence> {
        self.evidence.pending()
    }

    /// Make everything written so far durable (synced blocks, the WAL's unsynced tail),
    /// before a clean stop.
    pub fn flush(&mut self) -> Result<()> {
        self.make_durable()?;
        // The block store's own undurable writes too (pruned heights, cleared built blocks).
        self.blocks.make_durable()?;
        self.wal.sync()?;
        Ok(())
    }

    /// Make the blocks committed by block sync since the last durable write durable: the
    /// block store first, then the application, so that a crash between the two leaves the
    /// application behind the block store (the handshake replays the difference), never
    /// ahead. The node calls this every tick; the engine before anything it signs, before a
    /// block decided here and every [`UNDURABLE_BLOCKS`] synced blocks.
    pub fn make_durable(&mut self) -> Result<()> {
        if self.undurable.is_none() {
            return Ok(());
        }
        self.blocks.make_durable()?;
        crate::failpoint::hit("block-store-durable");
        self.app.make_durable()?;
        crate::failpoint::hit("state-durable");
        self.undurable = None;
        Ok(())
    }

    /// Offer a transaction to the mempool.
    pub fn check_tx(
        &mut self,
        tx: Vec<u8>,
    ) -> std::result::Result<abci::ResponseCheckTx, MempoolError> {
        self.mempool.check_tx(&mut self.app, tx)
    }
}
