//! What nodes say to each other, on CometBFT's channels and in CometBFT v0.38's protobuf
//! messages, so the bytes on each channel are the ones a CometBFT peer would parse:
//!
//! | channel | messages |
//! |---|---|
//! | `0x21` data | `tendermint.consensus.Message{Proposal, BlockPart}` |
//! | `0x22` vote | `tendermint.consensus.Message{Vote}` |
//! | `0x30` mempool | `tendermint.mempool.Message{Txs}` |
//! | `0x38` evidence | `tendermint.types.EvidenceList` |
//! | `0x40` block sync | `tendermint.blocksync.Message{StatusRequest, StatusResponse, BlockRequest, BlockResponse, NoBlockResponse}` |
//! | `0x60`, `0x61` state sync | `tendermint.statesync.Message` (see [`crate::statesync`]; answered by the switch) |
//!
//! One departure, written down: a `BlockResponse` carries the commit this node holds for the
//! block in `ext_commit` (with empty extensions), so the newest block can be synced too;
//! CometBFT fills that field only when vote extensions are on, and otherwise takes block H's
//! commit from block H+1.

use crate::engine::Gossip;
use keystone_consensus_types::{Block, Commit, Height, Part, Proposal, Vote};
use keystone_proto::prost::Message;
use keystone_proto::tm::v0_38::{blocksync as bs, consensus as cs, mempool as mp};
use keystone_proto::types as pb;

/// Consensus data: proposals and block parts.
pub const DATA_CHANNEL: u8 = 0x21;
/// Consensus votes.
pub const VOTE_CHANNEL: u8 = 0x22;
/// Mempool transactions.
pub const MEMPOOL_CHANNEL: u8 = 0x30;
/// Evidence.
pub const EVIDENCE_CHANNEL: u8 = 0x38;
/// Block sync.
pub const BLOCKSYNC_CHANNEL: u8 = 0x40;

/// Most transactions one mempool message may carry.
pub const MAX_TXS_PER_MESSAGE: usize = 64;

/// The channels this node speaks, with the largest message each accepts (CometBFT's
/// `RecvMessageCapacity`s: a block part plus overhead; a vote; a batch of txs; a block).
pub fn channels(max_block_bytes: usize) -> Vec<(u8, usize)> {
    vec![
        (DATA_CHANNEL, 1024 * 1024),
        (VOTE_CHANNEL, 64 * 1024),
        (MEMPOOL_CHANNEL, 2 * 1024 * 1024),
        (EVIDENCE_CHANNEL, 1024 * 1024),
        (BLOCKSYNC_CHANNEL, max_block_bytes + 256 * 1024),
        (
            crate::statesync::SNAPSHOT_CHANNEL,
            crate::statesync::SNAPSHOT_MESSAGE_BYTES,
        ),
        (
            crate::statesync::CHUNK_CHANNEL,
            crate::statesync::CHUNK_MESSAGE_BYTES,
        ),
    ]
}

/// A decoded message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Wire {
    /// Consensus.
    Gossip(Gossip),
    /// Transactions for the mempool.
    Txs(Vec<Vec<u8>>),
    /// "What heights do you have?"
    StatusRequest,
    /// The heights a node has (`base`..=`height`).
    Status {
        /// Highest committed height.
        height: Height,
        /// Lowest stored height.
        base: Height,
    },
    /// "Send me block `h`."
    BlockRequest(Height),
    /// A committed block and the commit that finalised it.
    BlockResponse(Box<Block>, Commit),
    /// "I don't have block `h`."
    NoBlock(Height),
}

fn height(h: i64) -> Result<Height, String> {
    u64::try_from(h).map_err(|_| format!("negative height {h}"))
}

fn commit_to_ext(c: &Commit) -> pb::ExtendedCommit {
    let p = c.to_proto();
    pb::ExtendedCommit {
        height: p.height,
        round: p.round,
        block_id: p.block_id,
        extended_signatures: p
            .signatures
            .into_iter()
            .map(|s| pb::ExtendedCommitSig {
                block_id_flag: s.block_id_flag,
                validator_address: s.validator_address,
                timestamp: s.timestamp,
                signature: s.signature,
                extension: Vec::new(),
                extension_signature: Vec::new(),
            })
            .collect(),
    }
}

fn ext_to_commit(e: &pb::ExtendedCommit) -> Result<Commit, String> {
    Commit::from_proto(&pb::Commit {
        height: e.height,
        round: e.round,
        block_id: e.block_id.clone(),
        signatures: e
            .extended_signatures
            .iter()
            .map(|s| pb::CommitSig {
                block_id_flag: s.block_id_flag,
                validator_address: s.validator_address.clone(),
                timestamp: s.timestamp,
                signature: s.signature.clone(),
            })
            .collect(),
    })
    .map_err(|e| e.to_string())
}

/// The channel and bytes of `w`.
pub fn encode(w: &Wire) -> (u8, Vec<u8>) {
    use bs::message::Sum as B;
    use cs::message::Sum as C;
    let consensus = |sum| cs::Message { sum: Some(sum) }.encode_to_vec();
    let blocksync = |sum| bs::Message { sum: Some(sum) }.encode_to_vec();
    match w {
        Wire::Gossip(Gossip::Proposal(p)) => (
            DATA_CHANNEL,
            consensus(C::Proposal(cs::Proposal {
                proposal: Some(p.to_proto()),
            })),
        ),
        Wire::Gossip(Gossip::BlockPart {
            height,
            round,
            part,
        }) => (
            DATA_CHANNEL,
            consensus(C::BlockPart(cs::BlockPart {
                height: *height as i64,
                round: *round as i32,
                part: Some(part.to_proto()),
            })),
        ),
        Wire::Gossip(Gossip::Vote(v)) => (
            VOTE_CHANNEL,
            consensus(C::Vote(cs::Vote {
                vote: Some(v.to_proto()),
            })),
        ),
        Wire::Gossip(Gossip::Evidence(ev)) => (
            EVIDENCE_CHANNEL,
            pb::EvidenceList {
                evidence: vec![pb::Evidence {
                    sum: Some(pb::evidence::Sum::DuplicateVoteEvidence(ev.to_proto())),
                }],
            }
            .encode_to_vec(),
        ),
        Wire::Txs(txs) => (
            MEMPOOL_CHANNEL,
            mp::Message {
                sum: Some(mp::message::Sum::Txs(mp::Txs { txs: txs.clone() })),
            }
            .encode_to_vec(),
        ),
        Wire::StatusRequest => (
            BLOCKSYNC_CHANNEL,
            blocksync(B::StatusRequest(bs::StatusRequest {})),
        ),
        Wire::Status { height, base } => (
            BLOCKSYNC_CHANNEL,
            blocksync(B::StatusResponse(bs::StatusResponse {
                height: *height as i64,
                base: *base as i64,
            })),
        ),
        Wire::BlockRequest(h) => (
            BLOCKSYNC_CHANNEL,
            blocksync(B::BlockRequest(bs::BlockRequest { height: *h as i64 })),
        ),
        Wire::BlockResponse(block, commit) => (
            BLOCKSYNC_CHANNEL,
            blocksync(B::BlockResponse(bs::BlockResponse {
                block: Some(block.to_proto()),
                ext_commit: Some(commit_to_ext(commit)),
            })),
        ),
        Wire::NoBlock(h) => (
            BLOCKSYNC_CHANNEL,
            blocksync(B::NoBlockResponse(bs::NoBlockResponse {
                height: *h as i64,
            })),
        ),
    }
}

/// A message from `channel`, or why it is not one.
pub fn decode(channel: u8, bytes: &[u8]) -> Result<Wire, String> {
    use bs::message::Sum as B;
    use cs::message::Sum as C;
    let e = |e: keystone_consensus_types::Error| e.to_string();
    match channel {
        DATA_CHANNEL | VOTE_CHANNEL => {
            let m = cs::Message::decode(bytes).map_err(|e| e.to_string())?;
            match (channel, m.sum) {
                (DATA_CHANNEL, Some(C::Proposal(p))) => Ok(Wire::Gossip(Gossip::Proposal(
                    Proposal::from_proto(&p.proposal.ok_or("proposal without body")?).map_err(e)?,
                ))),
                (DATA_CHANNEL, Some(C::BlockPart(p))) => Ok(Wire::Gossip(Gossip::BlockPart {
                    height: height(p.height)?,
                    round: u32::try_from(p.round).map_err(|_| "negative round")?,
                    part: Part::from_proto(&p.part.ok_or("block part without part")?).map_err(e)?,
                })),
                (VOTE_CHANNEL, Some(C::Vote(v))) => Ok(Wire::Gossip(Gossip::Vote(
                    Vote::from_proto(&v.vote.ok_or("vote without body")?).map_err(e)?,
                ))),
                // Round-state bookkeeping a CometBFT peer may send; this node gossips to
                // every peer instead and does not need it.
                (_, Some(_)) => Err("consensus message not used by this node".into()),
                (_, None) => Err("empty consensus message".into()),
            }
        }
        EVIDENCE_CHANNEL => {
            let list = pb::EvidenceList::decode(bytes).map_err(|e| e.to_string())?;
            // One piece per message, as this node sends it.
            match list.evidence.as_slice() {
                [pb::Evidence {
                    sum: Some(pb::evidence::Sum::DuplicateVoteEvidence(d)),
                }] => Ok(Wire::Gossip(Gossip::Evidence(Box::new(
                    keystone_consensus_types::DuplicateVoteEvidence::from_proto(d).map_err(e)?,
                )))),
                _ => Err("expected one piece of duplicate-vote evidence".into()),
            }
        }
        MEMPOOL_CHANNEL => match mp::Message::decode(bytes).map_err(|e| e.to_string())?.sum {
            // CometBFT sends one transaction per message; a peer packing hundreds into one
            // is not relaying.
            Some(mp::message::Sum::Txs(t)) if t.txs.len() > MAX_TXS_PER_MESSAGE => Err(format!(
                "{} transactions in one mempool message (at most {MAX_TXS_PER_MESSAGE})",
                t.txs.len()
            )),
            Some(mp::message::Sum::Txs(t)) => Ok(Wire::Txs(t.txs)),
            None => Err("empty mempool message".into()),
        },
        BLOCKSYNC_CHANNEL => match bs::Message::decode(bytes).map_err(|e| e.to_string())?.sum {
            Some(B::StatusRequest(_)) => Ok(Wire::StatusRequest),
            Some(B::StatusResponse(s)) => Ok(Wire::Status {
                height: height(s.height)?,
                base: height(s.base)?,
            }),
            Some(B::BlockRequest(r)) => Ok(Wire::BlockRequest(height(r.height)?)),
            Some(B::NoBlockResponse(r)) => Ok(Wire::NoBlock(height(r.height)?)),
            Some(B::BlockResponse(r)) => {
                let block = Block::from_proto(&r.block.ok_or("block response without block")?)
                    .map_err(e)?;
                let commit = ext_to_commit(&r.ext_commit.ok_or("block response without commit")?)?;
                Ok(Wire::BlockResponse(Box::new(block), commit))
            }
            None => Err("empty block sync message".into()),
        },
        other => Err(format!("unknown channel {other:#04x}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A block part over 64 KiB and a mempool message packing too many transactions are
    /// refused as they are decoded, before anything is kept.
    #[test]
    fn oversized_parts_and_packed_mempool_messages_are_refused_at_decode() {
        let part = |n: usize| {
            cs::Message {
                sum: Some(cs::message::Sum::BlockPart(cs::BlockPart {
                    height: 5,
                    round: 0,
                    part: Some(pb::Part {
                        index: 0,
                        bytes: vec![7; n],
                        proof: Some(keystone_proto::crypto::Proof {
                            total: 1,
                            index: 0,
                            leaf_hash: vec![0; 32],
                            aunts: vec![],
                        }),
                    }),
                })),
            }
            .encode_to_vec()
        };
        assert!(decode(DATA_CHANNEL, &part(65_536)).is_ok());
        let err = decode(DATA_CHANNEL, &part(65_537)).expect_err("too large");
        assert!(err.contains("64 KiB"), "{err}");
        let txs = |n: usize| {
            mp::Message {
                sum: Some(mp::message::Sum::Txs(mp::Txs {
                    txs: vec![b"junk!!".to_vec(); n],
                })),
            }
            .encode_to_vec()
        };
        assert!(decode(MEMPOOL_CHANNEL, &txs(MAX_TXS_PER_MESSAGE)).is_ok());
        assert!(decode(MEMPOOL_CHANNEL, &txs(MAX_TXS_PER_MESSAGE + 1)).is_err());
    }

    /// CometBFT's own vectors (shared/vectors/wire-message-vectors.md, from
    /// cometbft v0.38.25 blocksync/msgs_test.go and mempool/reactor_test.go): our encoding of
    /// the same messages is byte for byte theirs.
    #[test]
    fn cometbft_wire_vectors() {
        let hex = |w: &Wire| hex::encode(encode(w).1);
        assert_eq!(hex(&Wire::BlockRequest(1)), "0a020801");
        assert_eq!(
            hex(&Wire::BlockRequest(i64::MAX as u64)),
            "0a0a08ffffffffffffffff7f"
        );
        assert_eq!(hex(&Wire::NoBlock(1)), "12020801");
        assert_eq!(hex(&Wire::StatusRequest), "2200");
        assert_eq!(hex(&Wire::Status { height: 1, base: 2 }), "2a0408011002");
        assert_eq!(hex(&Wire::Txs(vec![vec![0x7b]])), "0a030a017b");
        assert_eq!(
            hex(&Wire::Txs(vec![b"proto encoding in mempool".to_vec()])),
            "0a1b0a1970726f746f20656e636f64696e6720696e206d656d706f6f6c"
        );
        // And they decode back to what they were.
        for w in [
            Wire::BlockRequest(7),
            Wire::NoBlock(3),
            Wire::StatusRequest,
            Wire::Status { height: 9, base: 1 },
            Wire::Txs(vec![b"a".to_vec(), b"bc".to_vec()]),
        ] {
            let (ch, bytes) = encode(&w);
            assert_eq!(decode(ch, &bytes).expect("decodes"), w);
        }
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for ch in [
            DATA_CHANNEL,
            VOTE_CHANNEL,
            MEMPOOL_CHANNEL,
            EVIDENCE_CHANNEL,
            BLOCKSYNC_CHANNEL,
            0x99,
        ] {
            assert!(decode(ch, &[0xff, 0xff, 0xff]).is_err());
            assert!(decode(ch, &[]).is_err());
        }
        // A vote on the data channel, and a negative height.
        let (_, vote_bytes) = encode(&Wire::Gossip(Gossip::Vote(Vote {
            vote_type: keystone_consensus_types::VoteType::Prevote,
            height: 1,
            round: 0,
            block_id: None,
            timestamp: keystone_consensus_types::Time::from_unix_millis(0),
            validator_address: keystone_consensus_types::Address([1; 20]),
            validator_index: 0,
            signature: None,
        })));
        assert!(decode(DATA_CHANNEL, &vote_bytes).is_err());
        assert!(decode(VOTE_CHANNEL, &vote_bytes).is_ok());
        let neg = bs::Message {
            sum: Some(bs::message::Sum::BlockRequest(bs::BlockRequest {
                height: -1,
            })),
        }
        .encode_to_vec();
        assert!(decode(BLOCKSYNC_CHANNEL, &neg).is_err());
    }
}
