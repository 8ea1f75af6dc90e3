//! ABCI requests as CometBFT v0.38 fills them, both ways: [`missing`] names the fields of a
//! request that CometBFT always sets and that it lacks (what a strict application, like
//! kvstore-py with `--strict`, refuses), and the builders make complete requests for the tests
//! that drive an app directly.
//!
//! The rules, from CometBFT v0.38's `proxy.RequestInfo`, `state/execution.go` (PrepareProposal,
//! ProcessProposal, FinalizeBlock, ExtendVote, VerifyVoteExtension), `consensus/replay.go`
//! (InitChain) and `statesync/syncer.go` (the snapshot calls): message fields that CometBFT
//! declares non-nullable (times, commit infos, consensus params) are always on the wire, even
//! when empty; heights and sizes are never zero; hashes are 32 bytes and addresses 20.

use keystone_proto::abci::{self, request};
use keystone_proto::prost::bytes::Bytes;
use keystone_proto::Timestamp;

/// The fields of `req` CometBFT v0.38 always sets that `req` lacks (empty: none).
pub(crate) fn missing(req: &request::Value) -> Vec<&'static str> {
    use request::Value as V;
    let mut out = Vec::new();
    let mut need = |ok: bool, what: &'static str| {
        if !ok {
            out.push(what);
        }
    };
    let hash = |b: &Bytes| b.len() == 32;
    let addr = |b: &Bytes| b.len() == 20;
    // What every block-shaped request (a proposal, a decision, a vote on one) carries.
    let block = |need: &mut dyn FnMut(bool, &'static str),
                 height: i64,
                 time: &Option<keystone_proto::Timestamp>,
                 next_validators_hash: &Bytes,
                 proposer: &Bytes| {
        need(height > 0, "height");
        need(time.is_some(), "time");
        need(hash(next_validators_hash), "next_validators_hash");
        need(addr(proposer), "proposer_address");
    };
    match req {
        V::Info(r) => {
            need(!r.version.is_empty(), "version");
            need(r.block_version == 11, "block_version = 11");
            need(r.p2p_version == 8, "p2p_version = 8");
            need(r.abci_version == "2.0.0", "abci_version = 2.0.0");
        }
        V::InitChain(r) => {
            need(r.time.is_some(), "time");
            need(!r.chain_id.is_empty(), "chain_id");
            let params = r.consensus_params.as_ref();
            need(
                params.is_some_and(|p| {
                    p.block.is_some()
                        && p.evidence.is_some()
                        && p.validator.is_some()
                        && p.version.is_some()
                        && p.abci.is_some()
                }),
                "consensus_params (block, evidence, validator, version, abci)",
            );
            need(r.initial_height >= 1, "initial_height");
        }
        V::CheckTx(r) => {
            need(!r.tx.is_empty(), "tx");
            need(
                r.r#type == abci::CheckTxType::New as i32
                    || r.r#type == abci::CheckTxType::Recheck as i32,
                "type (New or Recheck)",
            );
        }
        V::Query(_) | V::Commit(_) | V::ListSnapshots(_) | V::Echo(_) | V::Flush(_) => {}
        V::PrepareProposal(r) => {
            need(r.max_tx_bytes > 0, "max_tx_bytes");
            need(r.local_last_commit.is_some(), "local_last_commit");
            block(
                &mut need,
                r.height,
                &r.time,
                &r.next_validators_hash,
                &r.proposer_address,
            );
        }
        V::ProcessProposal(r) => {
            need(r.proposed_last_commit.is_some(), "proposed_last_commit");
            need(hash(&r.hash), "hash");
            block(
                &mut need,
                r.height,
                &r.time,
                &r.next_validators_hash,
                &r.proposer_address,
            );
        }
        V::FinalizeBlock(r) => {
            need(r.decided_last_commit.is_some(), "decided_last_commit");
            need(hash(&r.hash), "hash");
            block(
                &mut need,
                r.height,
                &r.time,
                &r.next_validators_hash,
                &r.proposer_address,
            );
        }
        V::ExtendVote(r) => {
            need(r.proposed_last_commit.is_some(), "proposed_last_commit");
            need(hash(&r.hash), "hash");
            block(
                &mut need,
                r.height,
                &r.time,
                &r.next_validators_hash,
                &r.proposer_address,
            );
        }
        V::VerifyVoteExtension(r) => {
            need(hash(&r.hash), "hash");
            need(addr(&r.validator_address), "validator_address");
            need(r.height > 0, "height");
        }
        V::OfferSnapshot(r) => {
            need(r.snapshot.is_some(), "snapshot");
            need(!r.app_hash.is_empty(), "app_hash");
        }
        V::LoadSnapshotChunk(r) => need(r.height > 0, "height"),
        V::ApplySnapshotChunk(r) => need(!r.sender.is_empty(), "sender"),
    }
    out
}

/// A block time (any: the example apps do not read it).
pub(crate) fn time(height: i64) -> Option<Timestamp> {
    Some(Timestamp {
        seconds: 1_700_000_000 + height,
        nanos: 0,
    })
}

/// A made-up block hash for `height`.
pub(crate) fn block_hash(height: i64) -> Bytes {
    Bytes::from(vec![height as u8; 32])
}

/// The proposer of every made-up block.
pub(crate) fn proposer() -> Bytes {
    Bytes::from(vec![0xA1; 20])
}

/// The next validators' hash of every made-up block.
pub(crate) fn next_validators_hash() -> Bytes {
    Bytes::from(vec![0xB2; 32])
}

/// Consensus params with every part present, as CometBFT's `ConsensusParams.ToProto` gives.
pub(crate) fn consensus_params() -> Option<keystone_proto::types::ConsensusParams> {
    use keystone_proto::types as t;
    Some(t::ConsensusParams {
        block: Some(t::BlockParams {
            max_bytes: 22_020_096,
            max_gas: -1,
        }),
        evidence: Some(t::EvidenceParams::default()),
        validator: Some(t::ValidatorParams {
            pub_key_types: vec!["ed25519".into()],
        }),
        version: Some(t::VersionParams::default()),
        abci: Some(t::AbciParams::default()),
    })
}

/// `RequestInfo` as the engine sends it.
pub(crate) fn info() -> abci::RequestInfo {
    keystone_consensus_driver::engine::info_request()
}

/// `FinalizeBlock` of `txs` at `height`, every field CometBFT sets filled.
pub(crate) fn finalize(height: i64, txs: Vec<Bytes>) -> abci::RequestFinalizeBlock {
    abci::RequestFinalizeBlock {
        txs,
        decided_last_commit: Some(abci::CommitInfo::default()),
        misbehavior: vec![],
        hash: block_hash(height),
        height,
        time: time(height),
        next_validators_hash: next_validators_hash(),
        proposer_address: proposer(),
    }
}

/// `PrepareProposal` of `txs` at `height` with `max_tx_bytes`, filled as CometBFT fills it.
pub(crate) fn prepare(
    height: i64,
    max_tx_bytes: i64,
    txs: Vec<Bytes>,
) -> abci::RequestPrepareProposal {
    abci::RequestPrepareProposal {
        max_tx_bytes,
        txs,
        local_last_commit: Some(abci::ExtendedCommitInfo::default()),
        misbehavior: vec![],
        height,
        time: time(height),
        next_validators_hash: next_validators_hash(),
        proposer_address: proposer(),
    }
}

/// `ProcessProposal` of `txs` at `height`, filled as CometBFT fills it.
pub(crate) fn process(height: i64, txs: Vec<Bytes>) -> abci::RequestProcessProposal {
    abci::RequestProcessProposal {
        txs,
        proposed_last_commit: Some(abci::CommitInfo::default()),
        misbehavior: vec![],
        hash: block_hash(height),
        height,
        time: time(height),
        next_validators_hash: next_validators_hash(),
        proposer_address: proposer(),
    }
}

/// `ExtendVote` at `height`, filled as CometBFT fills it.
pub(crate) fn extend_vote(height: i64) -> abci::RequestExtendVote {
    abci::RequestExtendVote {
        hash: block_hash(height),
        height,
        time: time(height),
        txs: vec![],
        proposed_last_commit: Some(abci::CommitInfo::default()),
        misbehavior: vec![],
        next_validators_hash: next_validators_hash(),
        proposer_address: proposer(),
    }
}

/// `VerifyVoteExtension` at `height`, filled as CometBFT fills it.
pub(crate) fn verify_vote_extension(height: i64) -> abci::RequestVerifyVoteExtension {
    abci::RequestVerifyVoteExtension {
        hash: block_hash(height),
        validator_address: proposer(),
        height,
        vote_extension: Bytes::new(),
    }
}

/// `OfferSnapshot` of a made-up snapshot at `height`.
pub(crate) fn offer_snapshot(height: u64) -> abci::RequestOfferSnapshot {
    abci::RequestOfferSnapshot {
        snapshot: Some(abci::Snapshot {
            height,
            format: 1,
            chunks: 1,
            hash: Bytes::from(vec![0xC3; 32]),
            metadata: Bytes::new(),
        }),
        app_hash: Bytes::from(vec![0xD4; 32]),
    }
}

/// `LoadSnapshotChunk` of chunk 0 of a snapshot at `height`.
pub(crate) fn load_snapshot_chunk(height: u64) -> abci::RequestLoadSnapshotChunk {
    abci::RequestLoadSnapshotChunk {
        height,
        format: 1,
        chunk: 0,
    }
}

/// `ApplySnapshotChunk` of chunk 0, from a made-up peer.
pub(crate) fn apply_snapshot_chunk() -> abci::RequestApplySnapshotChunk {
    abci::RequestApplySnapshotChunk {
        index: 0,
        chunk: Bytes::from_static(b"chunk"),
        sender: "a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1".into(),
    }
}
