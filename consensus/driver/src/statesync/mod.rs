//! State sync on the wire: CometBFT's channels `0x60` (snapshots) and `0x61` (chunks), with
//! `tendermint.statesync.Message{SnapshotsRequest, SnapshotsResponse, ChunkRequest,
//! ChunkResponse}`.
//!
//! What lives here: the codec, and [`Server`], the serving side every node runs — a peer's
//! `SnapshotsRequest` is answered with the application's ten newest snapshots, one
//! `SnapshotsResponse` each, and a `ChunkRequest` with the chunk (or `missing`), both read
//! through the application's snapshot handle ([`AppSnapshots`]) on the peer's own thread,
//! never the consensus thread — and [`syncer`], the syncing side that finds a snapshot
//! among peers, restores it into the application chunk by chunk against a light-client
//! verified app hash, and starts the block store at its height.

pub mod syncer;

use keystone_proto::prost::Message as _;
use keystone_proto::tm::v0_38::statesync as pb;
use keystone_proto::{abci, AppSnapshots};
use std::sync::Arc;

/// Snapshot discovery.
pub const SNAPSHOT_CHANNEL: u8 = 0x60;
/// Chunks.
pub const CHUNK_CHANNEL: u8 = 0x61;
/// The largest message on [`SNAPSHOT_CHANNEL`] (CometBFT's `snapshotMsgSize`).
pub const SNAPSHOT_MESSAGE_BYTES: usize = 4 * 1024 * 1024;
/// The largest message on [`CHUNK_CHANNEL`] (CometBFT's `chunkMsgSize`).
pub const CHUNK_MESSAGE_BYTES: usize = 16 * 1024 * 1024;
/// How many snapshots a node offers a peer (CometBFT's `recentSnapshots`).
pub const RECENT_SNAPSHOTS: usize = 10;

/// A state-sync message.
#[derive(Clone, Debug, PartialEq)]
pub enum Wire {
    /// "Which snapshots do you have?"
    SnapshotsRequest,
    /// One snapshot a peer has.
    Snapshot(abci::Snapshot),
    /// "Send me this chunk."
    ChunkRequest {
        /// The snapshot's height.
        height: u64,
        /// Its format.
        format: u32,
        /// The chunk.
        index: u32,
    },
    /// A chunk (`None`: the peer does not have it).
    Chunk {
        /// The snapshot's height.
        height: u64,
        /// Its format.
        format: u32,
        /// The chunk.
        index: u32,
        /// Its bytes.
        chunk: Option<Vec<u8>>,
    },
}

/// A message that is not state sync's.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("malformed state-sync message on channel {channel:#04x}: {reason}")]
pub struct WireError {
    /// Where it came.
    pub channel: u8,
    /// What was wrong.
    pub reason: String,
}

/// `w` as (channel, bytes).
pub fn encode(w: &Wire) -> (u8, Vec<u8>) {
    use pb::message::Sum;
    let (channel, sum) = match w {
        Wire::SnapshotsRequest => (
            SNAPSHOT_CHANNEL,
            Sum::SnapshotsRequest(pb::SnapshotsRequest {}),
        ),
        Wire::Snapshot(s) => (
            SNAPSHOT_CHANNEL,
            Sum::SnapshotsResponse(pb::SnapshotsResponse {
                height: s.height,
                format: s.format,
                chunks: s.chunks,
                hash: s.hash.to_vec(),
                metadata: s.metadata.to_vec(),
            }),
        ),
        Wire::ChunkRequest {
            height,
            format,
            index,
        } => (
            CHUNK_CHANNEL,
            Sum::ChunkRequest(pb::ChunkRequest {
                height: *height,
                format: *format,
                index: *index,
            }),
        ),
        Wire::Chunk {
            height,
            format,
            index,
            chunk,
        } => (
            CHUNK_CHANNEL,
            Sum::ChunkResponse(pb::ChunkResponse {
                height: *height,
                format: *format,
                index: *index,
                missing: chunk.is_none(),
                chunk: chunk.clone().unwrap_or_default(),
            }),
        ),
    };
    (channel, pb::Message { sum: Some(sum) }.encode_to_vec())
}

/// The message `bytes` received on `channel`; a message of one channel sent on the other is
/// malformed, as CometBFT's reactor has it.
pub fn decode(channel: u8, bytes: &[u8]) -> Result<Wire, WireError> {
    use pb::message::Sum;
    let err = |reason: &str| WireError {
        channel,
        reason: reason.to_string(),
    };
    let sum = pb::Message::decode(bytes)
        .map_err(|e| err(&e.to_string()))?
        .sum
        .ok_or_else(|| err("empty"))?;
    let w = match sum {
        Sum::SnapshotsRequest(_) => Wire::SnapshotsRequest,
        Sum::SnapshotsResponse(s) => Wire::Snapshot(abci::Snapshot {
            height: s.height,
            format: s.format,
            chunks: s.chunks,
            hash: s.hash.into(),
            metadata: s.metadata.into(),
        }),
        Sum::ChunkRequest(r) => Wire::ChunkRequest {
            height: r.height,
            format: r.format,
            index: r.index,
        },
        Sum::ChunkResponse(r) => Wire::Chunk {
            height: r.height,
            format: r.format,
            index: r.index,
            chunk: (!r.missing).then_some(r.chunk),
        },
    };
    let on = match w {
        Wire::SnapshotsRequest | Wire::Snapshot(_) => SNAPSHOT_CHANNEL,
        Wire::ChunkRequest { .. } | Wire::Chunk { .. } => CHUNK_CHANNEL,
    };
    if on != channel {
        return Err(err("on the wrong channel"));
    }
    Ok(w)
}

/// Messages to send back, as (channel, bytes).
pub type Replies = Vec<(u8, Vec<u8>)>;

/// What a node answers peers' state-sync requests with (see the module doc).
#[derive(Clone)]
pub struct Server {
    source: Option<Arc<dyn AppSnapshots>>,
}

impl Server {
    /// Serving the snapshots of `source` (`None`: an application without snapshots; every
    /// request is answered with none).
    pub fn new(source: Option<Arc<dyn AppSnapshots>>) -> Server {
        Server { source }
    }

    /// The answers to a request received on `channel`; `None` for responses, which only a
    /// syncing node asked for and which go to it. A malformed message is an error (the peer
    /// is dropped).
    pub fn answer(&self, channel: u8, bytes: &[u8]) -> Result<Option<Replies>, WireError> {
        let w = decode(channel, bytes)?;
        if matches!(w, Wire::Snapshot(_) | Wire::Chunk { .. }) {
            return Ok(None);
        }
        let Some(source) = &self.source else {
            return Ok(Some(match w {
                Wire::ChunkRequest {
                    height,
                    format,
                    index,
                } => vec![encode(&Wire::Chunk {
                    height,
                    format,
                    index,
                    chunk: None,
                })],
                _ => Vec::new(),
            }));
        };
        Ok(Some(match w {
            Wire::SnapshotsRequest => match source.list_snapshots() {
                Ok(list) => {
                    let mut snaps = list.snapshots;
                    snaps.sort_by_key(|s| std::cmp::Reverse((s.height, s.format)));
                    snaps
                        .into_iter()
                        .take(RECENT_SNAPSHOTS)
                        .map(|s| encode(&Wire::Snapshot(s)))
                        .collect()
                }
                Err(e) => {
                    tracing::warn!(error = %e, "cannot list snapshots for a peer");
                    Vec::new()
                }
            },
            Wire::ChunkRequest {
                height,
                format,
                index,
            } => {
                let chunk = match source.load_snapshot_chunk(abci::RequestLoadSnapshotChunk {
                    height,
                    format,
                    chunk: index,
                }) {
                    Ok(r) if !r.chunk.is_empty() => Some(r.chunk.to_vec()),
                    Ok(_) => None,
                    Err(e) => {
                        tracing::warn!(height, index, error = %e, "cannot load a snapshot chunk for a peer");
                        None
                    }
                };
                vec![encode(&Wire::Chunk {
                    height,
                    format,
                    index,
                    chunk,
                })]
            }
            Wire::Snapshot(_) | Wire::Chunk { .. } => Vec::new(),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use keystone_proto::AppResult;

    struct Two;

    impl AppSnapshots for Two {
        fn list_snapshots(&self) -> AppResult<abci::ResponseListSnapshots> {
            Ok(abci::ResponseListSnapshots {
                snapshots: (1..=12u64)
                    .map(|h| abci::Snapshot {
                        height: h * 10,
                        format: 1,
                        chunks: 2,
                        hash: vec![h as u8; 32].into(),
                        metadata: vec![0; 64].into(),
                    })
                    .collect(),
            })
        }

        fn load_snapshot_chunk(
            &self,
            req: abci::RequestLoadSnapshotChunk,
        ) -> AppResult<abci::ResponseLoadSnapshotChunk> {
            Ok(abci::ResponseLoadSnapshotChunk {
                chunk: if req.chunk < 2 {
                    vec![req.chunk as u8; 100].into()
                } else {
                    Default::default()
                },
            })
        }
    }

    #[test]
    fn requests_are_answered_with_the_ten_newest_snapshots_and_the_chunks_asked_for() {
        let s = Server::new(Some(Arc::new(Two)));
        let (ch, req) = encode(&Wire::SnapshotsRequest);
        assert_eq!(ch, SNAPSHOT_CHANNEL);
        let answers = s.answer(ch, &req).expect("answer").expect("answered here");
        let heights: Vec<u64> = answers
            .iter()
            .map(|(ch, b)| match decode(*ch, b) {
                Ok(Wire::Snapshot(s)) => s.height,
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(heights, (3..=12).rev().map(|h| h * 10).collect::<Vec<_>>());
        let ask = |index| {
            let (ch, b) = encode(&Wire::ChunkRequest {
                height: 120,
                format: 1,
                index,
            });
            let a = s.answer(ch, &b).expect("answer").expect("answered here");
            decode(a[0].0, &a[0].1).expect("decode")
        };
        assert_eq!(
            ask(1),
            Wire::Chunk {
                height: 120,
                format: 1,
                index: 1,
                chunk: Some(vec![1; 100])
            }
        );
        assert!(matches!(ask(5), Wire::Chunk { chunk: None, .. }));
        // No snapshots: chunk requests are answered "missing", snapshot requests with nothing.
        let none = Server::new(None);
        assert!(none
            .answer(ch, &req)
            .expect("answer")
            .expect("answered here")
            .is_empty());
        // Answers are the syncing node's, not the server's.
        let (ch, chunk) = encode(&Wire::Chunk {
            height: 1,
            format: 1,
            index: 0,
            chunk: None,
        });
        assert_eq!(none.answer(ch, &chunk).expect("well-formed"), None);
    }

    #[test]
    fn malformed_and_misrouted_messages_are_errors() {
        let s = Server::new(None);
        assert!(s.answer(SNAPSHOT_CHANNEL, b"\xff\xff\xff").is_err());
        let (_, chunk_req) = encode(&Wire::ChunkRequest {
            height: 1,
            format: 1,
            index: 0,
        });
        assert!(s.answer(SNAPSHOT_CHANNEL, &chunk_req).is_err());
        assert!(decode(CHUNK_CHANNEL, &[]).is_err(), "an empty message");
    }
}
