//! What RPC readers see of the node, on their own threads: the block store (redb gives each
//! read its own snapshot), the genesis, the mempool under its own lock, the application's
//! query connection, and what the node publishes as it changes (peers, catching up). A read
//! through a [`ReadView`] never waits for a consensus step; only what must change the
//! engine (CheckTx, evidence) or read its round state goes to the node's thread.

use super::NodeContext;
use crate::block_store::BlockStore;
use crate::engine::{EngineError, Genesis, View};
use crate::mempool::SharedMempool;
use crate::switch::PeerInfo;
use keystone_consensus_types::{Height, PublicKey, ValidatorSet};
use keystone_proto::AppReader;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

/// The parts of the engine that readers share with it (`Engine::shared`).
#[derive(Clone)]
pub struct Shared {
    pub(crate) blocks: Arc<BlockStore>,
    pub(crate) genesis: Arc<Genesis>,
    pub(crate) mempool: SharedMempool,
    pub(crate) app: Option<Arc<dyn AppReader>>,
    pub(crate) validator_key: PublicKey,
}

/// A cloneable, thread-safe view of the node for RPC, REST and gRPC handlers.
#[derive(Clone)]
pub struct ReadView {
    shared: Shared,
    context: Arc<Mutex<NodeContext>>,
}

impl ReadView {
    pub(crate) fn new(shared: Shared, context: NodeContext) -> Self {
        ReadView {
            shared,
            context: Arc::new(Mutex::new(context)),
        }
    }

    /// The committed blocks, their results and indexes.
    pub fn blocks(&self) -> &BlockStore {
        &self.shared.blocks
    }

    /// The chain's genesis.
    pub fn genesis(&self) -> &Genesis {
        &self.shared.genesis
    }

    /// The mempool.
    pub fn mempool(&self) -> &SharedMempool {
        &self.shared.mempool
    }

    /// The application's query connection, if it offers one to other threads.
    pub fn app(&self) -> Option<&Arc<dyn AppReader>> {
        self.shared.app.as_ref()
    }

    /// This node's consensus key.
    pub fn validator_key(&self) -> PublicKey {
        self.shared.validator_key
    }

    fn chain(&self) -> View<'_> {
        View {
            blocks: &self.shared.blocks,
            genesis: &self.shared.genesis,
        }
    }

    /// The last committed height (the initial height − 1 before the first block).
    pub fn last_height(&self) -> Result<Height, EngineError> {
        self.chain().last_height()
    }

    /// The validator set of `h`, for heights up to the last committed + 2.
    pub fn validators_at(&self, h: Height) -> Result<Option<ValidatorSet>, EngineError> {
        self.chain().validators(h)
    }

    /// The peers connected now.
    pub fn peers(&self) -> Vec<PeerInfo> {
        self.context().peers.clone()
    }

    /// Whether block sync is behind its peers.
    pub fn catching_up(&self) -> bool {
        self.context().catching_up
    }

    /// The node as it is now (identity, addresses, peers, catching up).
    pub(crate) fn context(&self) -> MutexGuard<'_, NodeContext> {
        // Only plain assignments happen under this lock: a poisoned one still holds a whole
        // context.
        self.context.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The node publishes its peers.
    pub(crate) fn set_peers(&self, peers: Vec<PeerInfo>) {
        self.context().peers = peers;
    }

    /// The node publishes whether block sync is behind its peers.
    pub(crate) fn set_catching_up(&self, catching_up: bool) {
        self.context().catching_up = catching_up;
    }
}
