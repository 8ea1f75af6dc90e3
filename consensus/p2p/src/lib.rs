//! Keystone's peer-to-peer transport, wire-compatible with CometBFT v0.38 (and with
//! tendermint-rs's `tendermint-p2p`, which the tests use as the other side).
//!
//! What lives here, bottom up, all blocking `std::io` with separate read and write halves so
//! one thread can read while another writes:
//! - [`handshake`], [`SecretReader`], [`SecretWriter`]: CometBFT's SecretConnection — X25519
//!   ephemeral keys, a merlin transcript, HKDF-SHA256, ChaCha20-Poly1305 frames of 1024 data
//!   bytes — authenticated by each side's ed25519 node key;
//! - [`PacketReader`], [`PacketWriter`]: MConnection's `Packet`s (ping, pong, and channel
//!   messages cut into 1024-byte `PacketMsg`s), with per-channel message size limits;
//! - [`NodeInfo`], [`exchange_node_info`]: the node-info handshake (node id = the
//!   authenticated key's address, same chain, a channel in common);
//! - [`connect`]: all of the above on a dialed or accepted `TcpStream`, under one deadline.
//!
//! What does not live here: peer management (dialing `persistent_peers`, reconnecting),
//! ping scheduling, send queues and priorities, and the reactors that gossip proposals,
//! block parts, votes, transactions and evidence. They belong to the node, which decides
//! what each channel carries; this crate only moves authenticated bytes.

mod error;
mod node_info;
mod packet;
mod peer;
mod secret_connection;
mod wire;

pub use error::P2pError;
pub use node_info::{
    exchange_node_info, NodeId, NodeInfo, ProtocolVersion, DEFAULT_VERSION, MAX_NODE_INFO_SIZE,
    MAX_NUM_CHANNELS,
};
pub use packet::{
    Incoming, PacketReader, PacketWriter, DEFAULT_MAX_PACKET_SIZE, MAX_PACKET_PAYLOAD,
};
pub use peer::{connect, ConnectConfig, Peer};
pub use secret_connection::{
    handshake, SecretReader, SecretWriter, DATA_MAX_SIZE, SEALED_FRAME_SIZE,
};
