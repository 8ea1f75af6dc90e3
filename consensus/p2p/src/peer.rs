//! Upgrading a TCP stream, dialed or accepted (the protocol is symmetric), to a peer
//! connection: secret connection, then node info, under one deadline.

use crate::error::P2pError;
use crate::node_info::{exchange_node_info, NodeId, NodeInfo};
use crate::packet::{PacketReader, PacketWriter, DEFAULT_MAX_PACKET_SIZE};
use crate::secret_connection::{handshake, SecretReader, SecretWriter};
use keystone_consensus_types::{PrivateKey, PublicKey};
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// How [`connect`] treats the socket and what the packet reader accepts.
#[derive(Debug, Clone)]
pub struct ConnectConfig {
    /// The limit on both handshakes together; default 20 s, CometBFT's
    /// `p2p.handshake_timeout`.
    pub handshake_timeout: Duration,
    /// The socket's read timeout once connected; default none. With one set, a read that
    /// times out returns an error for which [`P2pError::is_timeout`] is true, and the reader
    /// can be called again.
    pub read_timeout: Option<Duration>,
    /// The socket's write timeout once connected; default none.
    pub write_timeout: Option<Duration>,
    /// The channels the packet reader accepts, each with its maximum message size in bytes.
    pub channels: Vec<(u8, usize)>,
    /// The bound on one encoded packet; default [`DEFAULT_MAX_PACKET_SIZE`].
    pub max_packet_size: usize,
}

impl ConnectConfig {
    /// The defaults, accepting messages on `channels` (id, maximum size in bytes).
    pub fn new(channels: impl IntoIterator<Item = (u8, usize)>) -> Self {
        ConnectConfig {
            handshake_timeout: Duration::from_secs(20),
            read_timeout: None,
            write_timeout: None,
            channels: channels.into_iter().collect(),
            max_packet_size: DEFAULT_MAX_PACKET_SIZE,
        }
    }
}

/// A connected, authenticated peer. The reader and writer may move to different threads.
#[derive(Debug)]
pub struct Peer {
    /// The ed25519 key the peer proved it holds.
    pub key: PublicKey,
    /// The peer's node info; its `node_id` is the id of `key`.
    pub info: NodeInfo,
    /// Incoming messages, pings and pongs.
    pub reader: PacketReader<SecretReader<TcpStream>>,
    /// Outgoing messages, pings and pongs.
    pub writer: PacketWriter<SecretWriter<TcpStream>>,
}

impl Peer {
    /// The peer's node id.
    pub fn id(&self) -> NodeId {
        self.info.node_id
    }
}

/// Runs the secret-connection handshake and the node-info exchange on `stream` (dialed or
/// accepted alike) within `config.handshake_timeout`, then sets the socket's timeouts to
/// the configured ones. Fails with [`P2pError::HandshakeTimeout`] if the peer is too slow,
/// or with the reason the peer was refused.
pub fn connect(
    stream: TcpStream,
    local_key: &PrivateKey,
    local_info: &NodeInfo,
    config: &ConnectConfig,
) -> Result<Peer, P2pError> {
    // Go's TCP connections have Nagle off; our frames go out whole anyway.
    stream.set_nodelay(true)?;
    let deadline = Instant::now() + config.handshake_timeout;
    let read_half = Deadline {
        stream: stream.try_clone()?,
        deadline,
    };
    let write_half = Deadline { stream, deadline };
    let (reader, writer, key, info) = upgrade(read_half, write_half, local_key, local_info)
        .map_err(|e| {
            if e.is_timeout() {
                P2pError::HandshakeTimeout
            } else {
                e
            }
        })?;
    let reader = reader.map_inner(|d| d.stream);
    let writer = writer.map_inner(|d| d.stream);
    reader.get_ref().set_read_timeout(config.read_timeout)?;
    writer.get_ref().set_write_timeout(config.write_timeout)?;
    tracing::debug!(peer = %info.node_id, moniker = %info.moniker, "peer connected");
    Ok(Peer {
        key,
        info,
        reader: PacketReader::new(reader, config.channels.iter().copied())
            .with_max_packet_size(config.max_packet_size),
        writer: PacketWriter::new(writer),
    })
}

type Upgraded = (
    SecretReader<Deadline>,
    SecretWriter<Deadline>,
    PublicKey,
    NodeInfo,
);

fn upgrade(
    read_half: Deadline,
    write_half: Deadline,
    local_key: &PrivateKey,
    local_info: &NodeInfo,
) -> Result<Upgraded, P2pError> {
    let (mut reader, mut writer, key) = handshake(read_half, write_half, local_key)?;
    let info = exchange_node_info(&mut reader, &mut writer, local_info, &key)?;
    Ok((reader, writer, key, info))
}

/// A socket whose every read and write gets only the time left until `deadline`, so a peer
/// that trickles bytes cannot stretch the handshake (Go sets a deadline on the connection).
struct Deadline {
    stream: TcpStream,
    deadline: Instant,
}

impl Deadline {
    fn remaining(&self) -> io::Result<Duration> {
        match self.deadline.checked_duration_since(Instant::now()) {
            Some(left) if !left.is_zero() => Ok(left),
            _ => Err(io::ErrorKind::TimedOut.into()),
        }
    }
}

impl Read for Deadline {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = self.remaining()?;
        self.stream.set_read_timeout(Some(left))?;
        self.stream.read(buf)
    }
}

impl Write for Deadline {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let left = self.remaining()?;
        self.stream.set_write_timeout(Some(left))?;
        self.stream.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.stream.flush()
    }
}
