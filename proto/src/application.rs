//! The contract between the consensus engine and any application: ABCI 2.0 as CometBFT v0.38
//! defines it, over the protobuf request and response types themselves. The built-in
//! application implements it directly; the ABCI socket client (#7) implements it by sending the
//! same messages over a socket, so the engine cannot tell the two apart.
//!
//! Calls return `Result` because a remote application can fail (connection lost, an
//! `Exception` response); the engine treats an error on the consensus connection as fatal for
//! the height (it stops rather than skip or fork) and retries on restart through the
//! handshake. The provided methods are CometBFT's defaults for applications that do not care:
//! no vote extensions, no snapshots, proposals taken as they come.

use crate::abci;

/// The ABCI protocol version CometBFT v0.38 announces in `RequestInfo.abci_version`.
pub const ABCI_VERSION: &str = "2.0.0";

/// Why an application call failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppError(pub String);

impl std::fmt::Display for AppError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "application error: {}", self.0)
    }
}

impl std::error::Error for AppError {}

/// `Result` of an application call.
pub type AppResult<T> = Result<T, AppError>;

/// The query connection of an application: reads of committed state, safe to call from any
/// thread while the consensus connection executes a block (ABCI gives queries a connection
/// of their own for this). The node's RPC, REST and gRPC servers read through it, so a read
/// never waits for a consensus step.
pub trait AppReader: Send + Sync {
    /// Info: the last committed height and app hash.
    fn info(&self, req: abci::RequestInfo) -> AppResult<abci::ResponseInfo>;

    /// Query: read committed state, with a proof when asked.
    fn query(&self, req: abci::RequestQuery) -> AppResult<abci::ResponseQuery>;
}

/// The mempool connection of an application: `CheckTx` against the application's check state,
/// callable from the node's mempool thread while the consensus connection executes a block
/// (CometBFT gives CheckTx a connection of its own for this). The node calls it from one
/// thread at a time and never while the consensus connection's `Commit` runs, so the check
/// state seen by a call is the one the last commit left plus what earlier checks added.
pub trait AppChecker: Send + Sync {
    /// CheckTx: admit a transaction to the mempool or not (`New`), or keep it after a commit
    /// (`Recheck`).
    fn check_tx(&self, req: abci::RequestCheckTx) -> AppResult<abci::ResponseCheckTx>;
}

/// The serving half of an application's snapshot connection: the snapshots it keeps and their
/// chunks, callable from the threads that answer peers' state-sync requests while the
/// consensus connection executes blocks.
pub trait AppSnapshots: Send + Sync {
    /// ListSnapshots.
    fn list_snapshots(&self) -> AppResult<abci::ResponseListSnapshots>;
    /// LoadSnapshotChunk.
    fn load_snapshot_chunk(
        &self,
        req: abci::RequestLoadSnapshotChunk,
    ) -> AppResult<abci::ResponseLoadSnapshotChunk>;
}

/// An ABCI 2.0 application.
pub trait Application: Send {
    /// The query connection as a handle other threads may hold ([`AppReader`]). Default:
    /// none, and the node answers `Info` and `Query` on its consensus thread, between steps —
    /// right for applications whose state lives only behind `&mut self`.
    fn reader(&self) -> Option<std::sync::Arc<dyn AppReader>> {
        None
    }

    /// The mempool connection as a handle the node's mempool thread may hold
    /// ([`AppChecker`]). Default: none, and the node runs `CheckTx` on its consensus thread,
    /// between steps, through [`Application::check_tx`]. An application that offers one
    /// answers [`Application::check_tx`] the same way (the node may use either).
    fn checker(&self) -> Option<std::sync::Arc<dyn AppChecker>> {
        None
    }

    /// The snapshots the application serves, as a handle other threads may hold
    /// ([`AppSnapshots`]). Default: none, and the node serves no snapshots to peers.
    fn snapshots(&self) -> Option<std::sync::Arc<dyn AppSnapshots>> {
        None
    }

    /// Info (query connection): the last committed height and app hash, for the handshake.
    fn info(&self, req: abci::RequestInfo) -> AppResult<abci::ResponseInfo>;

    /// Query (query connection): read state, with a proof when asked.
    fn query(&self, req: abci::RequestQuery) -> AppResult<abci::ResponseQuery>;

    /// CheckTx (mempool connection): admit a transaction to the mempool or not.
    fn check_tx(&mut self, req: abci::RequestCheckTx) -> AppResult<abci::ResponseCheckTx>;

    /// InitChain (consensus connection): genesis, once.
    fn init_chain(&mut self, req: abci::RequestInitChain) -> AppResult<abci::ResponseInitChain>;

    /// PrepareProposal: the proposer's chance to reorder, drop or add transactions. Default:
    /// the mempool's transactions in order, as many as fit in `max_tx_bytes`.
    fn prepare_proposal(
        &mut self,
        req: abci::RequestPrepareProposal,
    ) -> AppResult<abci::ResponsePrepareProposal> {
        let mut total: i64 = 0;
        let txs = req
            .txs
            .into_iter()
            .take_while(|tx| {
                total = total.saturating_add(tx.len() as i64);
                total <= req.max_tx_bytes
            })
            .collect();
        Ok(abci::ResponsePrepareProposal { txs })
    }

    /// ProcessProposal: `valid(v)` of the Tendermint algorithm. Default: accept.
    fn process_proposal(
        &mut self,
        _req: abci::RequestProcessProposal,
    ) -> AppResult<abci::ResponseProcessProposal> {
        Ok(abci::ResponseProcessProposal {
            status: abci::response_process_proposal::ProposalStatus::Accept as i32,
        })
    }

    /// ExtendVote. Default: no extension.
    fn extend_vote(
        &mut self,
        _req: abci::RequestExtendVote,
    ) -> AppResult<abci::ResponseExtendVote> {
        Ok(abci::ResponseExtendVote::default())
    }

    /// VerifyVoteExtension. Default: accept.
    fn verify_vote_extension(
        &mut self,
        _req: abci::RequestVerifyVoteExtension,
    ) -> AppResult<abci::ResponseVerifyVoteExtension> {
        Ok(abci::ResponseVerifyVoteExtension {
            status: abci::response_verify_vote_extension::VerifyStatus::Accept as i32,
        })
    }

    /// FinalizeBlock: execute a decided block; returns tx results, validator updates and the
    /// new app hash.
    fn finalize_block(
        &mut self,
        req: abci::RequestFinalizeBlock,
    ) -> AppResult<abci::ResponseFinalizeBlock>;

    /// Commit: make the finalized state durable.
    fn commit(&mut self) -> AppResult<abci::ResponseCommit>;

    /// Block sync asks, before a run of blocks other nodes already committed, whether the
    /// next `Commit`s may stay off the disk: `true` if the application keeps each of them
    /// readable at once but durable only at [`Application::make_durable`], a crash losing
    /// the undurable ones whole (never part of one), so the application restarts at an
    /// earlier committed height and the handshake replays the rest. Not part of ABCI: the
    /// default, and an application behind the socket, says no, and every commit stays
    /// durable on its own.
    fn defer_durability(&mut self) -> AppResult<bool> {
        Ok(false)
    }

    /// Make every commit so far durable, and commit durably again from now on.
    fn make_durable(&mut self) -> AppResult<()> {
        Ok(())
    }

    /// ListSnapshots (snapshot connection). Default: none.
    fn list_snapshots(&self) -> AppResult<abci::ResponseListSnapshots> {
        Ok(abci::ResponseListSnapshots::default())
    }

    /// OfferSnapshot. Default: reject.
    fn offer_snapshot(
        &mut self,
        _req: abci::RequestOfferSnapshot,
    ) -> AppResult<abci::ResponseOfferSnapshot> {
        Ok(abci::ResponseOfferSnapshot {
            result: abci::response_offer_snapshot::Result::Reject as i32,
        })
    }

    /// LoadSnapshotChunk. Default: empty.
    fn load_snapshot_chunk(
        &self,
        _req: abci::RequestLoadSnapshotChunk,
    ) -> AppResult<abci::ResponseLoadSnapshotChunk> {
        Ok(abci::ResponseLoadSnapshotChunk::default())
    }

    /// ApplySnapshotChunk. Default: abort.
    fn apply_snapshot_chunk(
        &mut self,
        _req: abci::RequestApplySnapshotChunk,
    ) -> AppResult<abci::ResponseApplySnapshotChunk> {
        Ok(abci::ResponseApplySnapshotChunk {
            result: abci::response_apply_snapshot_chunk::Result::Abort as i32,
            ..Default::default()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::bytes::Bytes;

    /// The smallest application: counts transactions, app hash = the count.
    #[derive(Default)]
    struct Counter {
        pending: u64,
        committed: u64,
        height: i64,
    }

    impl Application for Counter {
        fn info(&self, _: abci::RequestInfo) -> AppResult<abci::ResponseInfo> {
            Ok(abci::ResponseInfo {
                last_block_height: self.height,
                last_block_app_hash: Bytes::from(self.committed.to_be_bytes().to_vec()),
                ..Default::default()
            })
        }
        fn query(&self, _: abci::RequestQuery) -> AppResult<abci::ResponseQuery> {
            Ok(abci::ResponseQuery {
                value: Bytes::from(self.committed.to_string()),
                ..Default::default()
            })
        }
        fn check_tx(&mut self, req: abci::RequestCheckTx) -> AppResult<abci::ResponseCheckTx> {
            Ok(abci::ResponseCheckTx {
                code: u32::from(req.tx.is_empty()),
                ..Default::default()
            })
        }
        fn init_chain(&mut self, _: abci::RequestInitChain) -> AppResult<abci::ResponseInitChain> {
            Ok(abci::ResponseInitChain::default())
        }
        fn finalize_block(
            &mut self,
            req: abci::RequestFinalizeBlock,
        ) -> AppResult<abci::ResponseFinalizeBlock> {
            self.pending = self.committed + req.txs.len() as u64;
            self.height = req.height;
            Ok(abci::ResponseFinalizeBlock {
                app_hash: Bytes::from(self.pending.to_be_bytes().to_vec()),
                ..Default::default()
            })
        }
        fn commit(&mut self) -> AppResult<abci::ResponseCommit> {
            self.committed = self.pending;
            Ok(abci::ResponseCommit::default())
        }
    }

    #[test]
    fn defaults_are_cometbfts() {
        let mut app = Counter::default();
        let prepared = app
            .prepare_proposal(abci::RequestPrepareProposal {
                max_tx_bytes: 5,
                txs: vec![
                    Bytes::from_static(b"abc"),
                    Bytes::from_static(b"de"),
                    Bytes::from_static(b"f"),
                ],
                ..Default::default()
            })
            .expect("prepare");
        assert_eq!(prepared.txs.len(), 2, "only what fits in max_tx_bytes");
        let status = app
            .process_proposal(abci::RequestProcessProposal::default())
            .expect("process")
            .status;
        assert_eq!(
            status,
            abci::response_process_proposal::ProposalStatus::Accept as i32
        );
        let offer = app
            .offer_snapshot(abci::RequestOfferSnapshot::default())
            .expect("offer")
            .result;
        assert_eq!(offer, abci::response_offer_snapshot::Result::Reject as i32);
    }

    #[test]
    fn a_trait_object_drives_an_app_through_a_block() {
        let mut app: Box<dyn Application> = Box::new(Counter::default());
        app.finalize_block(abci::RequestFinalizeBlock {
            txs: vec![Bytes::from_static(b"a"), Bytes::from_static(b"b")],
            height: 1,
            ..Default::default()
        })
        .expect("finalize");
        assert_eq!(
            app.info(abci::RequestInfo::default())
                .expect("info")
                .last_block_app_hash,
            Bytes::from(0u64.to_be_bytes().to_vec())
        );
        app.commit().expect("commit");
        let info = app.info(abci::RequestInfo::default()).expect("info");
        assert_eq!(info.last_block_height, 1);
        assert_eq!(
            info.last_block_app_hash,
            Bytes::from(2u64.to_be_bytes().to_vec())
        );
    }
}
