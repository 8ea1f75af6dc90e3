//! The engine: the consensus core driven against real storage and a real application, for one
//! node. It is still sans-I/O in one respect — it reads no clock and owns no timer: the caller
//! passes `now` in and schedules the [`Action`]s it returns — so it can be tested in virtual
//! time and run by a small loop in the node.
//!
//! A height, as the engine runs it (the network side — what peers send, what it sends them,
//! blocks from block sync — is in [`net`]):
//! 1. `start`: the app handshake (`Info`; `InitChain` on an empty chain; `FinalizeBlock` +
//!    `Commit` of stored blocks the app has not applied), then the WAL of the current height is
//!    replayed into a fresh core (signing only what the log lacks: `replay`), or the core is
//!    started.
//! 2. The core asks for a value: the proposer reaps the mempool, runs `PrepareProposal`, builds
//!    the block (BFT time, last commit, every header hash) and proposes its id.
//! 3. Every input goes to the WAL before the core; the node's own proposals and votes are
//!    signed by the privval (which records them on disk first) and fsynced in the WAL before
//!    they count.
//! 4. On a decision: the block and its commit are stored, then `FinalizeBlock`, its results
//!    stored, then `Commit`, then the WAL's end-of-height marker; the mempool drops the
//!    block's transactions and rechecks the rest; the next height starts after
//!    `timeout_commit`. A crash between any two of these steps is repaired by the handshake.

use crate::block_store::{BlockStore, BlockStoreError};
use crate::evidence::{ChainView, EvidencePool};
use crate::mempool::{Mempool, MempoolError};
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
use std::time::Duration;

mod net;
mod replay;
pub use net::{gossip_size, Gossip, GossipError, Refused, MAX_FUTURE_BYTES};
use replay::Owed;

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

/// CometBFT's `last_results_hash`: Merkle root of the deterministic part of each tx result.
pub fn results_hash(res: &[abci::ExecTxResult]) -> Hash {
    let leaves: Vec<Vec<u8>> = res
        .iter()
        .map(|r| {
            abci::ExecTxResult {
                code: r.code,
                data: r.data.clone(),
                gas_wanted: r.gas_wanted,
                gas_used: r.gas_used,
                ..Default::default()
            }
            .encode_to_vec()
        })
        .collect();
    merkle::hash_from_byte_slices(&leaves)
}

/// The node's engine.
pub struct Engine<A: Application> {
    genesis: Genesis,
    cfg: EngineConfig,
    app: A,
    blocks: BlockStore,
    wal: Wal,
    privval: FilePrivVal,
    mempool: Mempool,
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
    /// Test-only misbehaviour: sign a second, conflicting vote for every vote (see
    /// [`Engine::misbehave_double_sign`]).
    #[cfg(feature = "fault-injection")]
    double_sign: Option<keystone_consensus_types::PrivateKey>,
    /// Times the signer refused what the core asked (see [`refused`]).
    signer_refusals: u64,
}

/// What the evidence pool sees of the chain: the block store and the validator sets.
struct View<'a> {
    blocks: &'a BlockStore,
    genesis: &'a Genesis,
}

impl View<'_> {
    /// The last committed height (the initial height − 1 before the first block).
    fn last_height(&self) -> Result<Height> {
        Ok(match self.blocks.height()? {
            0 => self.genesis.initial_height - 1,
            h => h,
        })
    }

    /// The validator set of `h`, for heights of this chain whose set is known (up to the last
    /// committed height + 2).
    fn validators(&self, h: Height) -> Result<Option<ValidatorSet>> {
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

/// Every this many heights the validator set is recorded even when it did not change
/// (CometBFT's `valSetCheckpointInterval` does the same, every 100 000): loading any height's
/// set then costs at most this many priority increments — the engine loads a few sets per
/// height — for one small record per thousand blocks.
pub const VALIDATOR_SET_CHECKPOINT: Height = 1_000;

/// The validator set of `height`: the last set recorded at or below it (at the initial height,
/// and wherever the application's updates took effect), one priority increment per height
/// since, as CometBFT loads a stored set. Before anything is recorded (a chain that has not
/// run InitChain yet), the genesis document's set.
fn validators_of(blocks: &BlockStore, genesis: &Genesis, height: Height) -> Result<ValidatorSet> {
    let (from, set) = match blocks.validator_set_at(height)? {
        Some((at, set)) => (at, set),
        None => (genesis.initial_height, genesis.validators.clone()),
    };
    let steps = u32::try_from(height.saturating_sub(from)).map_err(|_| {
        EngineError::Inconsistent(format!("height {height} is too far from {from}"))
    })?;
    Ok(set.copy_increment(steps))
}

/// The validator set after `updates` (ABCI `ValidatorUpdate`s) are applied to `set`, the set of
/// the height after the one that produced them: CometBFT's `UpdateWithChangeSet`, then the
/// one increment that makes it the set of the height after that.
fn apply_updates(set: &ValidatorSet, updates: &[abci::ValidatorUpdate]) -> Result<ValidatorSet> {
    let mut next = set.clone();
    next.update_with_change_set(&changes(updates)?)
        .map_err(|e| invalid_updates(e.to_string()))?;
    next.increment_proposer_priority(1);
    Ok(next)
}

/// ABCI validator updates as the engine's validators (power 0: removal).
fn changes(updates: &[abci::ValidatorUpdate]) -> Result<Vec<Validator>> {
    updates
        .iter()
        .map(|u| {
            let key = u
                .pub_key
                .as_ref()
                .ok_or_else(|| invalid_updates("an update has no public key".into()))?;
            let key = keystone_consensus_types::PublicKey::from_proto(key)
                .map_err(|e| invalid_updates(e.to_string()))?;
            Ok(Validator::new(key, u.power))
        })
        .collect()
}

/// The application returned updates consensus cannot apply: the chain cannot go on safely.
fn invalid_updates(e: String) -> EngineError {
    EngineError::Inconsistent(format!(
        "invalid validator updates from the application: {e}"
    ))
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
            app,
            blocks,
            wal,
            privval,
            mempool,
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
            evidence: EvidencePool::new(&genesis.chain_id, cfg.evidence_max_age_blocks),
            announce: Vec::new(),
            #[cfg(feature = "fault-injection")]
            double_sign: None,
            signer_refusals: 0,
            genesis,
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
    pub fn mempool(&self) -> &Mempool {
        &self.mempool
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
        self.app.check_tx(abci::RequestCheckTx {
            tx: Bytes::from(tx),
            r#type: abci::CheckTxType::New as i32,
        })
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

    /// Evidence waiting for a block (for peers that connect).
    pub fn pending_evidence(&self) -> Vec<DuplicateVoteEvidence> {
        self.evidence.pending()
    }

    /// Offer a transaction to the mempool.
    pub fn check_tx(
        &mut self,
        tx: Vec<u8>,
    ) -> std::result::Result<abci::ResponseCheckTx, MempoolError> {
        self.mempool.check_tx(&mut self.app, tx)
    }

    fn finalize_request(&self, block: &Block) -> abci::RequestFinalizeBlock {
        abci::RequestFinalizeBlock {
            txs: block
                .data
                .txs
                .iter()
                .map(|t| Bytes::from(t.clone()))
                .collect(),
            decided_last_commit: Some(self.last_commit_info(block)),
            misbehavior: misbehavior(&block.evidence),
            hash: Bytes::from(block.hash().0.to_vec()),
            height: block.header.height as i64,
            time: Some(block.header.time.to_proto()),
            next_validators_hash: Bytes::from(block.header.next_validators_hash.0.to_vec()),
            proposer_address: Bytes::from(block.header.proposer_address.0.to_vec()),
        }
    }

    /// Who signed the previous block, as `FinalizeBlock` tells the app (slashing's liveness
    /// tracking and distribution's rewards read it): one entry per validator of height H−1, in
    /// set order, with its power and whether its precommit was for the block, nil or absent.
    /// Empty at the chain's first height, as in CometBFT.
    fn last_commit_info(&self, block: &Block) -> abci::CommitInfo {
        self.commit_info(block.last_commit.as_ref())
    }

    /// `commit` as the app is told of it (see [`Self::last_commit_info`]).
    fn commit_info(&self, commit: Option<&Commit>) -> abci::CommitInfo {
        let Some(c) = commit else {
            return abci::CommitInfo::default();
        };
        let Ok(Some(vals)) = self.validators_at(c.height) else {
            return abci::CommitInfo::default();
        };
        abci::CommitInfo {
            round: c.round as i32,
            votes: vals
                .validators()
                .iter()
                .zip(&c.signatures)
                .map(|(v, sig)| abci::VoteInfo {
                    validator: Some(abci::Validator {
                        address: Bytes::from(v.address.0.to_vec()),
                        power: v.voting_power,
                    }),
                    block_id_flag: sig.block_id_flag.to_proto(),
                })
                .collect(),
        }
    }

    fn finalize_and_commit(&mut self, block: &Block) -> Result<()> {
        let res = self.app.finalize_block(self.finalize_request(block))?;
        let height = block.header.height;
        // Updates returned at H are `next_validators_hash` of H+1 and sign from H+2.
        let new_set = if res.validator_updates.is_empty() {
            // A quiet chain still records its set now and then: a height's set is the last
            // record incremented once per height since, so this bounds that work. The record
            // is the set that loading rule gives, so no answer changes.
            if (height + 2).is_multiple_of(VALIDATOR_SET_CHECKPOINT) {
                Some(self.validators(height + 2)?)
            } else {
                None
            }
        } else {
            let next = apply_updates(&self.validators(height + 1)?, &res.validator_updates)?;
            tracing::info!(
                height = height + 2,
                validators = next.len(),
                power = next.total_voting_power(),
                "validator set changes"
            );
            Some(next)
        };
        if res.tx_results.len() != block.data.txs.len() {
            return Err(EngineError::Inconsistent(format!(
                "{} results for {} transactions",
                res.tx_results.len(),
                block.data.txs.len()
            )));
        }
        self.blocks.save_results(
            height,
            &block.data.txs,
            &res,
            new_set.as_ref().map(|s| (height + 2, s)),
        )?;
        crate::failpoint::hit("block-store-results");
        self.app.commit()?;
        crate::failpoint::hit("state-commit");
        Ok(())
    }

    /// Handshake with the application, then start (or resume) the current height.
    pub fn start(&mut self, now: Time) -> Result<Vec<Action>> {
        let info = self.app.info(info_request())?;
        let app_height = info.last_block_height.max(0) as Height;
        let store_height = self.blocks.height()?;
        if app_height > store_height {
            return Err(EngineError::Inconsistent(format!(
                "the application is at height {app_height}, ahead of the block store at {store_height}"
            )));
        }
        // An application with no state starts from genesis, also when blocks are stored (an
        // external app restarted without its data): InitChain, then every stored block.
        if app_height == 0 {
            let res = self.app.init_chain(abci::RequestInitChain {
                time: Some(self.genesis.time.to_proto()),
                chain_id: self.genesis.chain_id.clone(),
                consensus_params: self.genesis.consensus_params.clone(),
                // The document's validators, as CometBFT sends them: the app may keep them,
                // or return its own (an SDK app's gentxs).
                validators: self
                    .genesis
                    .validators
                    .validators()
                    .iter()
                    .map(|v| abci::ValidatorUpdate {
                        pub_key: Some(v.pub_key.to_proto()),
                        power: v.voting_power,
                    })
                    .collect(),
                app_state_bytes: Bytes::from(self.genesis.app_state.clone()),
                initial_height: self.genesis.initial_height as i64,
            })?;
            // The app's validators (from its genesis transactions) replace the document's.
            let set = if res.validators.is_empty() {
                self.genesis.validators.clone()
            } else {
                ValidatorSet::new(changes(&res.validators)?)
                    .map_err(|e| invalid_updates(e.to_string()))?
            };
            if set.is_empty() {
                return Err(EngineError::Inconsistent(
                    "no validators: the genesis has none and InitChain returned none".into(),
                ));
            }
            if store_height == 0 {
                self.blocks
                    .save_validator_set(self.genesis.initial_height, &set)?;
            }
        }
        // Blocks the app has not applied (a crash between storing a block and Commit, or an
        // app that lost its state).
        for h in (app_height + 1).max(self.genesis.initial_height)..=store_height {
            let raw = self
                .blocks
                .block_proto(h)?
                .ok_or_else(|| EngineError::Inconsistent(format!("block {h} missing")))?;
            let block = block_from_proto(&raw)?;
            tracing::info!(height = h, "replaying a stored block to the application");
            self.finalize_and_commit(&block)?;
        }
        self.begin_height(now, true)
    }

    /// Start the next height (after `timeout_commit`). A no-op when it has started already
    /// (block sync may have committed a height, and started the next, during the pause).
    pub fn next_height(&mut self, now: Time) -> Result<Vec<Action>> {
        let next = self.last_height()? + 1;
        if self.core.as_ref().is_some_and(|c| c.height() == next) {
            return Ok(Vec::new());
        }
        self.begin_height(now, false)
    }

    fn begin_height(&mut self, now: Time, replay_wal: bool) -> Result<Vec<Action>> {
        let height = self.last_height()? + 1;
        let me = self.privval.address();
        let set = self.validators(height)?;
        let me = set.get_by_address(&me).map(|v| v.address);
        self.absorb_late_precommits();
        self.core = Some(Consensus::new(height, set, me));
        self.height_started = Some(now);
        self.proposals.clear();
        self.pending_value = None;
        self.owed.clear();
        self.gossip_log.clear();
        self.seen_votes.clear();
        self.incoming.clear();
        let mut actions: Vec<Action> = self
            .announce
            .drain(..)
            .map(|e| Action::Broadcast(Gossip::Evidence(Box::new(e))))
            .collect();
        let mut replayed = false;
        if replay_wal {
            for raw in self.blocks.built()? {
                let block = block_from_proto(&raw)?;
                if block.header.height == height {
                    self.proposals.insert(block.block_id(), block);
                }
            }
            self.replaying = true;
            let (wal, recovery) = {
                let path = self.wal.path().to_path_buf();
                Wal::open_on(self.wal.storage().clone(), &path)?
            };
            self.wal = wal;
            for (h, input) in recovery.inputs {
                if h != height {
                    continue;
                }
                replayed = true;
                tracing::trace!(height, ?input, "replaying from the WAL");
                if let Input::ValueReady { round, .. } = &input {
                    if self.pending_value == Some(*round) {
                        self.pending_value = None;
                    }
                }
                self.settle_owed(&input, &mut actions);
                self.apply(input, now, &mut actions, false)?;
            }
            self.replaying = false;
            for owed in std::mem::take(&mut self.owed) {
                self.sign_owed(height, owed, now, &mut actions)?;
            }
        }
        if !replayed {
            self.apply(Input::Start, now, &mut actions, true)?;
        } else if let Some(round) = self.pending_value.take() {
            let id = self.build_block(height, round, now)?;
            self.apply(
                Input::ValueReady { round, value: id },
                now,
                &mut actions,
                true,
            )?;
        }
        self.replay_future(now, &mut actions)?;
        Ok(actions)
    }

    /// A timeout fired.
    pub fn on_timeout(
        &mut self,
        height: Height,
        timeout: Timeout,
        now: Time,
    ) -> Result<Vec<Action>> {
        let mut actions = Vec::new();
        if self.core.as_ref().is_some_and(|c| c.height() == height) {
            self.apply(Input::Timeout(timeout), now, &mut actions, true)?;
        }
        Ok(actions)
    }

    /// Feed `input` (and everything it leads to) to the core; `log` appends to the WAL first.
    fn apply(
        &mut self,
        input: Input,
        now: Time,
        actions: &mut Vec<Action>,
        log: bool,
    ) -> Result<()> {
        let mut work = std::collections::VecDeque::from([(input, log)]);
        while let Some((input, log)) = work.pop_front() {
            let Some(height) = self.current_height() else {
                return Ok(());
            };
            if log {
                let sync = matches!(input, Input::Vote(_) | Input::Proposal { .. });
                self.log(height, &input, sync)?;
            }
            let Some(core) = self.core.as_mut() else {
                return Ok(());
            };
            let outputs = match core.apply(input) {
                Ok(o) => o,
                Err(e) => {
                    tracing::debug!(error = %e, "consensus input rejected");
                    continue;
                }
            };
            for out in outputs {
                match out {
                    Output::NewRound { round, proposer } => {
                        tracing::debug!(height, round, %proposer, "new round");
                    }
                    Output::GetValue { round } => {
                        if self.replaying {
                            self.pending_value = Some(round);
                        } else {
                            let id = self.build_block(height, round, now)?;
                            work.push_back((Input::ValueReady { round, value: id }, true));
                        }
                    }
                    Output::Propose {
                        round,
                        value,
                        pol_round,
                    } if self.replaying => self.owed.push(Owed::Proposal {
                        round,
                        value,
                        pol_round,
                    }),
                    Output::Vote {
                        vote_type,
                        round,
                        value,
                    } if self.replaying => self.owed.push(Owed::Vote {
                        vote_type,
                        round,
                        value,
                    }),
                    Output::Propose {
                        round,
                        value,
                        pol_round,
                    } => {
                        // What led here is on disk before the signer writes: see `sign_vote`.
                        self.wal.sync()?;
                        let Some(p) = self.sign_proposal(height, round, value, pol_round, now)?
                        else {
                            continue;
                        };
                        self.broadcast_proposal(&p, actions);
                        let input = Input::Proposal {
                            proposal: p,
                            valid: true,
                        };
                        // In the log right after the signer's record, before anything else
                        // is signed: see below.
                        self.log(height, &input, true)?;
                        work.push_back((input, false));
                    }
                    Output::Vote {
                        vote_type,
                        round,
                        value,
                    } => {
                        // A full node runs the algorithm to follow the rounds, but has no
                        // vote to cast.
                        if !self.votes_this_height() {
                            continue;
                        }
                        // Every input that led to this vote is on disk before the signer
                        // records it: a crash between the two then replays the same inputs
                        // to the same vote, which the signer gives back, instead of a prefix
                        // of them to another vote, which it would refuse.
                        self.wal.sync()?;
                        let Some(vote) = self.sign_vote(height, round, vote_type, value, now)?
                        else {
                            continue;
                        };
                        self.broadcast_vote(&vote, actions);
                        #[cfg(feature = "fault-injection")]
                        if let Some(key) = &self.double_sign {
                            let mut evil = vote.clone();
                            evil.block_id = Some(BlockId {
                                hash: keystone_consensus_types::sha256(
                                    format!("double-sign {height} {round}").as_bytes(),
                                ),
                                part_set_header: keystone_consensus_types::PartSetHeader {
                                    total: 1,
                                    hash: keystone_consensus_types::sha256(b"double-sign"),
                                },
                            });
                            evil.sign(&self.genesis.chain_id, key);
                            self.broadcast_vote(&evil, actions);
                        }
                        // In the log right after the signer's record, before the next output
                        // (the core may ask for a prevote and a precommit at once): a crash
                        // after signing the precommit must not leave a log without the
                        // prevote, whose signature the signer no longer holds.
                        let input = Input::Vote(vote);
                        self.log(height, &input, true)?;
                        work.push_back((input, false));
                    }
                    Output::ScheduleTimeout(t) => actions.push(Action::Timeout {
                        after: self.cfg.timeouts.duration(t),
                        height,
                        timeout: t,
                    }),
                    Output::Decide { round, value } => {
                        if self.decide(height, round, value)? {
                            actions.push(Action::NextHeight {
                                after: self.cfg.timeouts.commit,
                            });
                        }
                        return Ok(());
                    }
                    Output::Equivocation { first, second } => {
                        tracing::warn!(validator = %first.validator_address, height, "equivocation seen");
                        self.evidence.add_conflict(*first, *second);
                    }
                }
            }
        }
        Ok(())
    }

    /// Append `input` of `height` to the WAL (`sync`: on disk when this returns).
    fn log(&mut self, height: Height, input: &Input, sync: bool) -> Result<()> {
        tracing::trace!(height, ?input, "WAL append");
        self.wal.append(height, input, sync)?;
        crate::failpoint::hit("wal-append");
        Ok(())
    }

    /// Whether this node is a validator of the height in progress.
    fn votes_this_height(&self) -> bool {
        let me = self.privval.address();
        self.core
            .as_ref()
            .is_some_and(|c| c.validators().index_of(&me).is_some())
    }

    /// Our proposal of `value` for `round`, signed; `None` if the block is not held.
    fn sign_proposal(
        &mut self,
        height: Height,
        round: Round,
        value: BlockId,
        pol_round: Option<Round>,
        now: Time,
    ) -> Result<Option<Proposal>> {
        if !self.proposals.contains_key(&value) {
            tracing::warn!(
                height,
                round,
                "the block to propose is not held; not proposing"
            );
            return Ok(None);
        }
        let mut p = Proposal {
            height,
            round,
            pol_round,
            block_id: value,
            timestamp: now,
            signature: None,
        };
        match self.privval.sign_proposal(&self.genesis.chain_id, &mut p) {
            Ok(()) => Ok(Some(p)),
            Err(e) if refused(&e) => {
                self.signer_refusals += 1;
                tracing::warn!(height, round, error = %e, "the signer refused the proposal; not proposing");
                Ok(None)
            }
            Err(e) => Err(e.into()),
        }
    }

    fn sign_vote(
        &mut self,
        height: Height,
        round: Round,
        t: VoteType,
        value: Option<BlockId>,
        now: Time,
    ) -> Result<Option<Vote>> {
        let core = self
            .core
            .as_ref()
            .ok_or(EngineError::Inconsistent("no core".into()))?;
        let index = core.validators().index_of(&self.privval.address()).ok_or(
            EngineError::Inconsistent("asked to vote but not a validator".into()),
        )?;
        // CometBFT's rule: a vote is stamped after the block it is for (or, for nil, after the
        // last block), so BFT time — the median of these stamps — strictly increases.
        let floor = match value.and_then(|v| self.proposals.get(&v)) {
            Some(b) => b.header.time,
            None => self.last_block_time()?,
        }
        .plus_millis(1);
        let mut vote = Vote {
            vote_type: t,
            height,
            round,
            block_id: value,
            timestamp: now.max(floor),
            validator_address: self.privval.address(),
            validator_index: index as u32,
            signature: None,
        };
        match self.privval.sign_vote(&self.genesis.chain_id, &mut vote) {
            Ok(()) => Ok(Some(vote)),
            Err(e) if refused(&e) => {
                self.signer_refusals += 1;
                tracing::warn!(height, round, ?t, error = %e, "the signer refused the vote; not voting");
                Ok(None)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Time of the last committed block (genesis time before the first).
    fn last_block_time(&self) -> Result<Time> {
        let h = self.blocks.height()?;
        if h == 0 {
            return Ok(self.genesis.time);
        }
        let raw = self
            .blocks
            .block_proto(h)?
            .ok_or_else(|| EngineError::Inconsistent(format!("block {h} missing")))?;
        Ok(block_from_proto(&raw)?.header.time)
    }

    fn build_block(&mut self, height: Height, round: Round, now: Time) -> Result<BlockId> {
        let last_height = height - 1;
        let first = height == self.genesis.initial_height;
        let (last_block_id, last_commit, app_hash, last_results, time) = if first {
            (
                None,
                None,
                self.genesis_app_hash()?,
                merkle::hash_from_byte_slices::<&[u8]>(&[]),
                self.genesis.time,
            )
        } else {
            let id = self.blocks.block_id(last_height)?;
            let commit = match &self.last_commit {
                Some(c) if c.height == last_height => c.clone(),
                _ => self.blocks.commit(last_height)?.ok_or_else(|| {
                    EngineError::Inconsistent(format!("no commit for {last_height}"))
                })?,
            };
            let res = self.blocks.results(last_height)?.ok_or_else(|| {
                EngineError::Inconsistent(format!("no results for {last_height}"))
            })?;
            let time = median_time(&commit, &self.validators(last_height)?);
            (
                id,
                Some(commit),
                res.app_hash.to_vec(),
                results_hash(&res.tx_results),
                time,
            )
        };
        let _ = now;
        let set = self.validators(height)?;
        let proposer = set
            .proposer_for_round(round)
            .ok_or(EngineError::Inconsistent("empty validator set".into()))?;
        let reaped = self
            .mempool
            .reap(self.cfg.max_block_tx_bytes, self.cfg.max_block_gas);
        let evidence = self
            .evidence
            .reap(self.cfg.max_evidence_bytes.max(0) as usize);
        // The commit this block will carry, with no vote extensions (none are enabled): what
        // CometBFT's `buildExtendedCommitInfoFromStore` gives, empty at the first height.
        let info = self.commit_info(last_commit.as_ref());
        let local_last_commit = abci::ExtendedCommitInfo {
            round: info.round,
            votes: info
                .votes
                .into_iter()
                .map(|v| abci::ExtendedVoteInfo {
                    validator: v.validator,
                    vote_extension: Bytes::new(),
                    extension_signature: Bytes::new(),
                    block_id_flag: v.block_id_flag,
                })
                .collect(),
        };
        let prepared = self.app.prepare_proposal(abci::RequestPrepareProposal {
            max_tx_bytes: self.cfg.max_block_tx_bytes,
            txs: reaped.into_iter().map(Bytes::from).collect(),
            local_last_commit: Some(local_last_commit),
            misbehavior: misbehavior(&evidence),
            height: height as i64,
            time: Some(time.to_proto()),
            next_validators_hash: Bytes::from(self.validators(height + 1)?.hash().0.to_vec()),
            proposer_address: Bytes::from(proposer.address.0.to_vec()),
        })?;
        let mut block = Block {
            header: Header {
                version: Version {
                    block: BLOCK_PROTOCOL,
                    app: 0,
                },
                chain_id: self.genesis.chain_id.clone(),
                height,
                time,
                last_block_id,
                last_commit_hash: Hash::default(),
                data_hash: Hash::default(),
                validators_hash: set.hash(),
                next_validators_hash: self.validators(height + 1)?.hash(),
                consensus_hash: self.genesis.params.hash(),
                app_hash,
                last_results_hash: last_results,
                evidence_hash: Hash::default(),
                proposer_address: proposer.address,
            },
            data: Data {
                txs: prepared.txs.into_iter().map(|t| t.to_vec()).collect(),
            },
            evidence,
            last_commit,
        };
        block.fill_header_hashes();
        let id = block.block_id();
        // On disk before the core hears of it: a restart must still hold what it proposes.
        self.blocks.save_built(&block)?;
        self.proposals.insert(id, block);
        Ok(id)
    }

    fn genesis_app_hash(&self) -> Result<Vec<u8>> {
        // The app hash InitChain produced is what the app reports before the first block.
        Ok(self.app.info(info_request())?.last_block_app_hash.to_vec())
    }

    /// Commit the decided block; `false` when it is not held (see below).
    fn decide(&mut self, height: Height, round: Round, value: BlockId) -> Result<bool> {
        let core = self
            .core
            .as_ref()
            .ok_or(EngineError::Inconsistent("no core".into()))?;
        // +2/3 precommitted a block this node does not have (it restarted from files that
        // lack it): the others hold and commit it, so block sync fetches it with its commit
        // and `apply_committed` moves the node on. Until then the height stays decided here.
        let Some(block) = self.proposals.get(&value).cloned() else {
            tracing::warn!(height, round, block = %value.hash, "decided a block this node does not hold; fetching it from peers");
            return Ok(false);
        };
        let commit = Commit::from_precommits(
            core.validators(),
            height,
            round,
            value,
            &core.precommits_for(round, value),
        );
        self.commit_block(&block, &value, &commit)?;
        Ok(true)
    }

    /// Store, execute and commit a decided block, then mark its height done in the WAL.
    fn commit_block(&mut self, block: &Block, id: &BlockId, commit: &Commit) -> Result<()> {
        let height = block.header.height;
        self.blocks.save(block, id, commit)?;
        crate::failpoint::hit("block-store-block");
        self.last_commit = Some(commit.clone());
        self.finalize_and_commit(block)?;
        self.wal.end_height(height)?;
        crate::failpoint::hit("wal-end-height");
        self.blocks.clear_built()?;
        self.mempool.update(&mut self.app, &block.data.txs)?;
        let view = View {
            blocks: &self.blocks,
            genesis: &self.genesis,
        };
        let ready = self.evidence.update(&block.evidence, &view);
        for ev in &ready {
            tracing::warn!(validator = %ev.vote_a.validator_address, height = ev.vote_a.height, "duplicate-vote evidence ready");
        }
        self.announce.extend(ready);
        if !block.evidence.is_empty() {
            tracing::warn!(
                height,
                evidence = block.evidence.len(),
                "committed evidence"
            );
        }
        tracing::info!(height, txs = block.data.txs.len(), hash = %id.hash, "committed block");
        Ok(())
    }
}

impl<A: Application> Engine<A> {
    /// Before the decided height's core is dropped: the precommits for the decided block it
    /// took after deciding (verified on the way in) join the last commit.
    fn absorb_late_precommits(&mut self) {
        let (Some(core), Some(commit)) = (&self.core, &mut self.last_commit) else {
            return;
        };
        if core.height() != commit.height {
            return;
        }
        let votes = core.precommits_for(commit.round, commit.block_id);
        let grown = Commit::from_precommits(
            core.validators(),
            commit.height,
            commit.round,
            commit.block_id,
            &votes,
        );
        // Keep what the seen commit had (a nil precommit the core does not list here).
        for (mine, new) in commit.signatures.iter_mut().zip(grown.signatures) {
            if mine.block_id_flag == keystone_consensus_types::BlockIdFlag::Absent {
                *mine = new;
            }
        }
    }
}

/// The signer refused to sign a step it signed before with other content, or one below its
/// last (a crash lost the WAL's record of what it signed, and the core, replayed from what
/// was left, chose differently): as CometBFT, the node then does not sign, rather than
/// stopping. Never signing twice is the privval's guarantee; going on is the round's.
fn refused(e: &PrivValError) -> bool {
    matches!(
        e,
        PrivValError::Regression { .. } | PrivValError::Conflict { .. }
    )
}

/// Committed evidence as the application hears of it (`Misbehavior`, type duplicate vote).
fn misbehavior(evidence: &[DuplicateVoteEvidence]) -> Vec<abci::Misbehavior> {
    evidence
        .iter()
        .map(|e| abci::Misbehavior {
            r#type: abci::MisbehaviorType::DuplicateVote as i32,
            validator: Some(abci::Validator {
                address: Bytes::from(e.vote_a.validator_address.0.to_vec()),
                power: e.validator_power,
            }),
            height: e.vote_a.height as i64,
            time: Some(e.timestamp.to_proto()),
            total_voting_power: e.total_voting_power,
        })
        .collect()
}

/// A stored or received block back as the engine's type.
fn block_from_proto(p: &keystone_proto::types::Block) -> Result<Block> {
    Block::from_proto(p).map_err(|e| EngineError::Inconsistent(format!("block: {e}")))
}
