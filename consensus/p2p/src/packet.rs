//! MConnection's packets (`p2p/conn/connection.go` in CometBFT v0.38): each
//! `tendermint.p2p.Packet` is written length-delimited, and a channel message travels as
//! `PacketMsg`s of at most 1024 data bytes, `eof` set on the last. Packets of different
//! channels may interleave (Go's MConnection does), so the reader reassembles per channel.

use crate::error::P2pError;
use crate::wire::{put_delimited, VarintDecoder};
use keystone_proto::tm::v0_38::p2p::{packet::Sum, Packet, PacketMsg, PacketPing, PacketPong};
use prost::Message as _;
use std::collections::HashMap;
use std::io::{self, Read, Write};

/// The most message bytes one `PacketMsg` carries (CometBFT's default
/// `MaxPacketMsgPayloadSize`).
pub const MAX_PACKET_PAYLOAD: usize = 1024;

/// The default bound on one encoded packet, Go's `maxPacketMsgSize()`: a `PacketMsg` on
/// channel 1 with a full payload and `eof` set.
pub const DEFAULT_MAX_PACKET_SIZE: usize = 1034;

/// The payload per packet on `channel`. A channel id from 128 up takes two varint bytes, and
/// a full payload would then exceed [`DEFAULT_MAX_PACKET_SIZE`] (Go's own writer has the
/// same overflow; no CometBFT channel is that high), so such channels send one byte less.
fn payload_per_packet(channel: u8) -> usize {
    if channel < 0x80 {
        MAX_PACKET_PAYLOAD
    } else {
        MAX_PACKET_PAYLOAD - 1
    }
}

/// What the peer sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Incoming {
    /// A whole message on a channel.
    Msg {
        /// The channel.
        channel: u8,
        /// The message, reassembled.
        bytes: Vec<u8>,
    },
    /// A keep-alive ping; CometBFT expects a pong back.
    Ping,
    /// The answer to our ping.
    Pong,
}

struct Channel {
    max: usize,
    partial: Vec<u8>,
}

/// Where the reader is within the current packet. Kept across calls, so a read timeout in
/// the middle of a packet loses nothing.
enum State {
    Prefix(VarintDecoder),
    Body { filled: usize },
}

/// Reads packets and hands out whole messages. After any error other than a read timeout
/// ([`P2pError::is_timeout`]) the connection must be dropped.
pub struct PacketReader<R> {
    inner: R,
    channels: HashMap<u8, Channel>,
    max_packet_size: usize,
    state: State,
    body: Vec<u8>,
}

impl<R: std::fmt::Debug> std::fmt::Debug for PacketReader<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut channels: Vec<(u8, usize)> =
            self.channels.iter().map(|(id, c)| (*id, c.max)).collect();
        channels.sort_unstable();
        f.debug_struct("PacketReader")
            .field("inner", &self.inner)
            .field("channels", &channels)
            .field("max_packet_size", &self.max_packet_size)
            .finish_non_exhaustive()
    }
}

impl<R: Read> PacketReader<R> {
    /// A reader accepting messages on the given channels, each up to its maximum size in
    /// bytes; a packet on any other channel is an error.
    pub fn new(inner: R, channels: impl IntoIterator<Item = (u8, usize)>) -> Self {
        PacketReader {
            inner,
            channels: channels
                .into_iter()
                .map(|(id, max)| {
                    let channel = Channel {
                        max,
                        partial: Vec::new(),
                    };
                    (id, channel)
                })
                .collect(),
            max_packet_size: DEFAULT_MAX_PACKET_SIZE,
            state: State::Prefix(VarintDecoder::default()),
            body: Vec::new(),
        }
    }

    /// Replaces the bound on one encoded packet (default [`DEFAULT_MAX_PACKET_SIZE`]).
    pub fn with_max_packet_size(mut self, max: usize) -> Self {
        self.max_packet_size = max;
        self
    }

    /// The underlying reader.
    pub fn get_ref(&self) -> &R {
        &self.inner
    }

    /// Blocks until a whole message, a ping or a pong has arrived. [`P2pError::Closed`] means
    /// the peer hung up between packets.
    pub fn read(&mut self) -> Result<Incoming, P2pError> {
        loop {
            self.read_packet()?;
            let packet =
                Packet::decode(self.body.as_slice()).map_err(|source| P2pError::Decode {
                    what: "packet",
                    source,
                })?;
            match packet.sum {
                Some(Sum::PacketPing(_)) => return Ok(Incoming::Ping),
                Some(Sum::PacketPong(_)) => return Ok(Incoming::Pong),
                Some(Sum::PacketMsg(msg)) => {
                    if let Some(done) = self.absorb(msg)? {
                        return Ok(done);
                    }
                }
                None => return Err(P2pError::EmptyPacket),
            }
        }
    }

    /// Adds one fragment to its channel's message; the message once `eof` is set.
    fn absorb(&mut self, msg: PacketMsg) -> Result<Option<Incoming>, P2pError> {
        // The field is an int32 on the wire; Go refuses ids outside a byte as unknown too.
        let found = u8::try_from(msg.channel_id)
            .ok()
            .and_then(|id| Some((id, self.channels.get_mut(&id)?)));
        let Some((id, channel)) = found else {
            return Err(P2pError::UnknownChannel(msg.channel_id));
        };
        // Checked before appending, so a peer can never make us hold more than `max`.
        if channel.partial.len() + msg.data.len() > channel.max {
            return Err(P2pError::MessageTooLarge {
                channel: id,
                max: channel.max,
            });
        }
        channel.partial.extend_from_slice(&msg.data);
        if !msg.eof {
            return Ok(None);
        }
        Ok(Some(Incoming::Msg {
            channel: id,
            bytes: std::mem::take(&mut channel.partial),
        }))
    }

    /// Fills `self.body` with the next packet.
    fn read_packet(&mut self) -> Result<(), P2pError> {
        loop {
            match &mut self.state {
                State::Prefix(varint) => {
                    let mut byte = [0u8; 1];
                    match self.inner.read(&mut byte) {
                        Ok(0) if varint.is_empty() => return Err(P2pError::Closed),
                        Ok(0) => return Err(P2pError::Io(io::ErrorKind::UnexpectedEof.into())),
                        Ok(_) => {
                            if let Some(len) = varint.push(byte[0])? {
                                if len > self.max_packet_size as u64 {
                                    return Err(P2pError::TooLarge {
                                        what: "packet",
                                        len,
                                        max: self.max_packet_size,
                                    });
                                }
                                // `len <= max_packet_size`, a usize.
                                self.body.resize(len as usize, 0);
                                self.state = State::Body { filled: 0 };
                            }
                        }
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        Err(e) => return Err(e.into()),
                    }
                }
                State::Body { filled } => {
                    if *filled == self.body.len() {
                        self.state = State::Prefix(VarintDecoder::default());
                        return Ok(());
                    }
                    match self.inner.read(&mut self.body[*filled..]) {
                        Ok(0) => return Err(P2pError::Io(io::ErrorKind::UnexpectedEof.into())),
                        Ok(n) => *filled += n,
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        Err(e) => return Err(e.into()),
                    }
                }
            }
        }
    }
}

/// Writes messages, pings and pongs as packets.
#[derive(Debug)]
pub struct PacketWriter<W> {
    inner: W,
    out: Vec<u8>,
}

impl<W: Write> PacketWriter<W> {
    /// A writer over `inner` (normally a [`crate::SecretWriter`]).
    pub fn new(inner: W) -> Self {
        PacketWriter {
            inner,
            out: Vec::new(),
        }
    }

    /// The underlying writer.
    pub fn get_ref(&self) -> &W {
        &self.inner
    }

    /// Sends `msg` on `channel` as packets of at most 1024 data bytes, the last with `eof`
    /// (an empty message is one empty packet with `eof`), then flushes. All packets of the
    /// message go out in one `write_all`, so the secret connection fills whole frames.
    pub fn send(&mut self, channel: u8, msg: &[u8]) -> Result<(), P2pError> {
        self.out.clear();
        let mut chunks = msg.chunks(payload_per_packet(channel)).peekable();
        if chunks.peek().is_none() {
            put_msg_packet(&mut self.out, channel, true, &[]);
        }
        while let Some(chunk) = chunks.next() {
            put_msg_packet(&mut self.out, channel, chunks.peek().is_none(), chunk);
        }
        self.write_out()
    }

    /// Sends a ping.
    pub fn send_ping(&mut self) -> Result<(), P2pError> {
        self.out.clear();
        put_packet(&mut self.out, Sum::PacketPing(PacketPing {}));
        self.write_out()
    }

    /// Sends a pong.
    pub fn send_pong(&mut self) -> Result<(), P2pError> {
        self.out.clear();
        put_packet(&mut self.out, Sum::PacketPong(PacketPong {}));
        self.write_out()
    }

    fn write_out(&mut self) -> Result<(), P2pError> {
        self.inner.write_all(&self.out)?;
        self.inner.flush()?;
        Ok(())
    }
}

fn put_packet(out: &mut Vec<u8>, sum: Sum) {
    put_delimited(out, &Packet { sum: Some(sum) }.encode_to_vec());
}

fn put_msg_packet(out: &mut Vec<u8>, channel: u8, eof: bool, data: &[u8]) {
    let msg = PacketMsg {
        channel_id: i32::from(channel),
        eof,
        data: data.to_vec(),
    };
    put_packet(out, Sum::PacketMsg(msg));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn packet(sum: Sum) -> Vec<u8> {
        Packet { sum: Some(sum) }.encode_to_vec()
    }

    /// The bytes of CometBFT's `p2p/conn/connection_test.go` (TestMConnectionPacketMsg and
    /// friends; shared/vectors/wire-message-vectors.md).
    #[test]
    fn packets_encode_as_cometbft_does() {
        assert_eq!(hex::encode(packet(Sum::PacketPing(PacketPing {}))), "0a00");
        assert_eq!(hex::encode(packet(Sum::PacketPong(PacketPong {}))), "1200");
        let mut out = Vec::new();
        put_msg_packet(&mut out, 1, false, b"data transmitted over the wire");
        assert_eq!(
            hex::encode(out),
            "24\
             1a2208011a1e64617461207472616e736d6974746564206f766572207468652077697265"
        );
        let mut w = PacketWriter::new(Vec::new());
        w.send_ping().expect("vec");
        w.send_pong().expect("vec");
        assert_eq!(w.get_ref(), &[0x02, 0x0a, 0x00, 0x02, 0x12, 0x00]);
    }

    #[test]
    fn every_packet_we_send_fits_gos_bound() {
        let longest = |channel: u8| {
            let mut w = PacketWriter::new(Vec::new());
            // The last packet, with `eof`, is the longest when it is full.
            w.send(channel, &vec![0u8; 2 * payload_per_packet(channel)])
                .expect("vec");
            let mut wire = w.get_ref().as_slice();
            let mut longest = 0;
            while !wire.is_empty() {
                let len = prost::encoding::decode_varint(&mut wire).expect("prefix") as usize;
                longest = longest.max(len);
                wire = &wire[len..];
            }
            longest
        };
        // Go's maxPacketMsgSize() with the default payload is 1034: channel 1, full payload.
        assert_eq!(longest(1), DEFAULT_MAX_PACKET_SIZE);
        assert_eq!(longest(0x7f), DEFAULT_MAX_PACKET_SIZE);
        assert_eq!(longest(0x80), DEFAULT_MAX_PACKET_SIZE);
        assert_eq!(longest(0xff), DEFAULT_MAX_PACKET_SIZE);
    }

    #[test]
    fn messages_split_into_1024_byte_packets_with_eof_on_the_last() {
        let mut w = PacketWriter::new(Vec::new());
        w.send(0x22, &[3u8; 2500]).expect("vec");
        let mut wire = w.get_ref().as_slice();
        let mut sizes = Vec::new();
        while !wire.is_empty() {
            let p = Packet::decode_length_delimited(&mut wire).expect("packet");
            match p.sum {
                Some(Sum::PacketMsg(m)) => {
                    assert_eq!(m.channel_id, 0x22);
                    sizes.push((m.data.len(), m.eof));
                }
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(sizes, vec![(1024, false), (1024, false), (452, true)]);
    }
}
