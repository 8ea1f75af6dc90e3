//! The one error type of the transport.

use crate::node_info::NodeId;
use std::io;

/// Everything that can go wrong on a peer connection. Apart from a read timeout
/// (an [`P2pError::Io`] of kind `WouldBlock`/`TimedOut` from a reader, which can be retried),
/// every error means the connection must be dropped.
#[derive(Debug, thiserror::Error)]
pub enum P2pError {
    /// The socket failed, timed out, or the peer hung up in the middle of a message.
    #[error("i/o error: {0}")]
    Io(io::Error),

    /// The secret-connection and node-info handshakes did not finish within the time limit.
    #[error("handshake timed out")]
    HandshakeTimeout,

    /// The peer closed the connection between two packets.
    #[error("connection closed by peer")]
    Closed,

    /// A length prefix is not a valid unsigned varint (over 10 bytes, or past 64 bits).
    #[error("malformed length prefix")]
    BadLengthPrefix,

    /// A length-delimited message from the peer declares more bytes than allowed.
    #[error("{what} of {len} bytes exceeds the limit of {max} bytes")]
    TooLarge {
        /// Which message.
        what: &'static str,
        /// The declared length.
        len: u64,
        /// The limit.
        max: usize,
    },

    /// A message from the peer does not decode as the protobuf message it must be.
    #[error("undecodable {what}: {source}")]
    Decode {
        /// Which message.
        what: &'static str,
        /// What prost said.
        source: prost::DecodeError,
    },

    /// The peer's ephemeral X25519 key is not 32 bytes long.
    #[error("ephemeral public key has {0} bytes, expected 32")]
    EphemeralKeyLength(usize),

    /// The X25519 shared secret is all zeros: the peer sent a low-order point.
    #[error("peer sent a low-order ephemeral key")]
    LowOrderKey,

    /// The peer's identity key is missing or not ed25519 (the only type CometBFT accepts).
    #[error("peer's identity key is missing or not ed25519")]
    UnsupportedKey,

    /// The peer's ed25519 key or signature is malformed, or the signature does not verify
    /// over this connection's challenge.
    #[error("peer's handshake signature does not verify")]
    BadSignature,

    /// A frame failed ChaCha20-Poly1305 authentication: altered in transit, or the two sides
    /// disagree on the keys.
    #[error("frame failed authentication")]
    FrameAuthentication,

    /// A decrypted frame declares more data bytes than a frame holds (1024).
    #[error("frame declares {0} data bytes, at most 1024 fit")]
    FrameTooLarge(u32),

    /// The 64-bit frame counter is used up; another frame would reuse a nonce.
    #[error("frame counter exhausted")]
    NonceExhausted,

    /// An earlier error left this secret connection's cipher state unknown.
    #[error("secret connection already failed")]
    Broken,

    /// A packet holds none of ping, pong or message.
    #[error("packet holds no ping, pong or message")]
    EmptyPacket,

    /// A packet names a channel that is not registered with the reader.
    #[error("unknown channel {0}")]
    UnknownChannel(i32),

    /// A message on a channel grew past that channel's limit.
    #[error("message on channel {channel:#04x} exceeds {max} bytes")]
    MessageTooLarge {
        /// The channel.
        channel: u8,
        /// The channel's limit.
        max: usize,
    },

    /// A node id is not 40 lowercase hex digits (the text is the offending id, cut short).
    #[error("invalid node id {0:?}: expected 40 lowercase hex digits")]
    InvalidNodeId(String),

    /// The peer's node info breaks one of CometBFT's rules (the text says which).
    #[error("invalid node info: {0}")]
    InvalidNodeInfo(String),

    /// The node id in the peer's node info is not the id of the key it authenticated with.
    #[error("peer claims node id {claimed} but authenticated as {authenticated}")]
    NodeIdMismatch {
        /// The id in the node info.
        claimed: NodeId,
        /// The id of the authenticated key.
        authenticated: NodeId,
    },

    /// The peer is on another chain.
    #[error("peer is on network {theirs:?}, we are on {ours:?}")]
    NetworkMismatch {
        /// Our chain id.
        ours: String,
        /// Theirs.
        theirs: String,
    },

    /// The peer runs another block protocol version.
    #[error("peer runs block protocol {theirs}, we run {ours}")]
    BlockVersionMismatch {
        /// Ours.
        ours: u64,
        /// Theirs.
        theirs: u64,
    },

    /// The peer shares none of our channels.
    #[error("peer has no channel in common with us")]
    NoCommonChannel,

    /// The peer is this node (same node key).
    #[error("connected to ourselves")]
    SelfConnection,
}

impl From<io::Error> for P2pError {
    /// Unwraps a `P2pError` that a `Read`/`Write` impl of this crate had to box into an
    /// `io::Error`, so that callers see e.g. [`P2pError::FrameAuthentication`] and not an
    /// opaque I/O error.
    fn from(e: io::Error) -> Self {
        if !e.get_ref().is_some_and(|inner| inner.is::<P2pError>()) {
            return P2pError::Io(e);
        }
        let kind = e.kind();
        match e.into_inner().map(|inner| inner.downcast::<P2pError>()) {
            Some(Ok(p2p)) => *p2p,
            // Both arms below are unreachable after the check above; they rebuild the error.
            Some(Err(other)) => P2pError::Io(io::Error::new(kind, other)),
            None => P2pError::Io(io::Error::from(kind)),
        }
    }
}

impl P2pError {
    /// The `io::Error` a `Read`/`Write` impl returns for this error.
    pub(crate) fn into_io(self) -> io::Error {
        match self {
            P2pError::Io(e) => e,
            other => io::Error::new(io::ErrorKind::InvalidData, other),
        }
    }

    /// Whether this is a read timeout after which the same reader can be called again.
    pub fn is_timeout(&self) -> bool {
        matches!(self, P2pError::Io(e) if is_timeout_kind(e.kind()))
    }
}

/// `WouldBlock` is what a socket read timeout gives on Unix, `TimedOut` on Windows.
pub(crate) fn is_timeout_kind(kind: io::ErrorKind) -> bool {
    matches!(kind, io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut)
}
