//! The ABCI socket framing, as CometBFT v0.38 speaks it.
//!
//! Every message on an ABCI socket is one protobuf `tendermint.abci.Request` (engine → app) or
//! `tendermint.abci.Response` (app → engine), prefixed by its length in bytes as an unsigned
//! varint (LEB128). That is what CometBFT's `abci/types/messages.go` does: `WriteMessage` goes
//! through `protoio.NewDelimitedWriter` and `ReadMessage` through `protoio.NewDelimitedReader`,
//! whose length is read with Go's `binary.ReadUvarint`. There is no other header, no checksum
//! and no message type outside the protobuf `oneof`.
//!
//! The length limit: CometBFT v0.38.0–v0.38.2 refused messages above 100 MB; v0.38.3 raised it
//! to `math.MaxInt32` (2 GiB − 1 bytes, "fix: increase abci socket message size limit to 2GB",
//! cometbft#1745), and every later v0.38 release keeps that. [`DEFAULT_MAX_MESSAGE_SIZE`] is
//! that value; a [`Decoder`] can be built with a smaller one. A length equal to the maximum is
//! accepted, one more is refused (Go: `length > maxSize`).
//!
//! The [`Decoder`] is a streaming one: it takes bytes as the socket hands them over (a message
//! split over many reads, or several messages in one read) and never needs the next message's
//! bytes to finish the current one. It never panics and never allocates more than it has been
//! given: a declared length is checked against the maximum as soon as the prefix is complete,
//! before any of the body is buffered, so a hostile or broken peer cannot make it reserve 2 GiB
//! with a five-byte prefix.

use std::io::{Read, Write};
use std::marker::PhantomData;

use prost::Message;

/// CometBFT v0.38's ABCI message size limit (`maxMsgSize = math.MaxInt32` in
/// `abci/types/messages.go`, since v0.38.3).
pub const DEFAULT_MAX_MESSAGE_SIZE: usize = i32::MAX as usize;

/// The longest unsigned varint a 64-bit length can take (Go's `binary.MaxVarintLen64`).
pub const MAX_VARINT_LEN: usize = 10;

/// How much [`Decoder::read_from`] asks the socket for when it does not know how much is
/// coming.
const READ_CHUNK: usize = 16 * 1024;

/// Why a byte stream is not a valid sequence of ABCI frames. After any of these the stream is
/// out of step (there is no way to find the next message boundary), so the connection has to be
/// closed: the decoder keeps returning the same error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// The length prefix is not a valid unsigned varint of at most 64 bits (more than ten
    /// bytes, or a tenth byte above 1, Go's `binary.ReadUvarint` "overflow").
    #[error("malformed length prefix: not an unsigned varint of at most 64 bits")]
    BadLength,
    /// The declared length is above the decoder's maximum.
    #[error("message of {len} bytes exceeds the maximum of {max} bytes")]
    TooLarge {
        /// The declared length.
        len: u64,
        /// The decoder's maximum.
        max: usize,
    },
    /// The body is not the protobuf message expected.
    #[error("undecodable message body: {0}")]
    Decode(String),
    /// The stream ended in the middle of a frame.
    #[error("stream ended inside a message ({buffered} bytes of an unfinished frame)")]
    Truncated {
        /// Bytes of the unfinished frame that had arrived.
        buffered: usize,
    },
}

/// Encodes `msg` as one frame (varint length, then the protobuf bytes) appended to `out`.
pub fn encode<M: Message>(msg: &M, out: &mut Vec<u8>) {
    let len = msg.encoded_len();
    out.reserve(len + MAX_VARINT_LEN);
    prost::encoding::encode_varint(len as u64, out);
    msg.encode_raw(out);
}

/// `msg` as one frame.
pub fn encode_to_vec<M: Message>(msg: &M) -> Vec<u8> {
    let mut out = Vec::new();
    encode(msg, &mut out);
    out
}

/// Writes `msg` as one frame with a single `write_all` (so a frame is never interleaved with
/// another writer's bytes when the caller holds the stream). Does not flush.
pub fn write_message<M: Message>(w: &mut impl Write, msg: &M) -> std::io::Result<()> {
    w.write_all(&encode_to_vec(msg))
}

/// The outcome of reading one varint prefix from a buffer.
enum Prefix {
    /// Not enough bytes yet.
    Incomplete,
    /// The value and how many bytes it took.
    Done(u64, usize),
}

/// Reads an unsigned varint as Go's `binary.ReadUvarint` does: at most ten bytes, and the
/// tenth must be 0 or 1 (anything else overflows 64 bits).
fn read_uvarint(buf: &[u8]) -> Result<Prefix, FrameError> {
    let mut value: u64 = 0;
    for (i, &b) in buf.iter().enumerate().take(MAX_VARINT_LEN) {
        if i == MAX_VARINT_LEN - 1 && b > 1 {
            return Err(FrameError::BadLength);
        }
        value |= u64::from(b & 0x7f) << (7 * i);
        if b < 0x80 {
            return Ok(Prefix::Done(value, i + 1));
        }
    }
    if buf.len() >= MAX_VARINT_LEN {
        // Ten continuation bytes: no 64-bit value is that long.
        return Err(FrameError::BadLength);
    }
    Ok(Prefix::Incomplete)
}

/// A streaming decoder of frames carrying messages of type `M` (`abci::Request` on a server,
/// `abci::Response` on a client).
#[derive(Debug)]
pub struct Decoder<M> {
    /// Bytes received and not yet consumed start at `start`; consumed bytes before it are
    /// dropped lazily so that draining many small frames from one read stays linear.
    buf: Vec<u8>,
    start: usize,
    max: usize,
    /// Once the stream is out of step it stays so.
    failed: Option<FrameError>,
    /// Bytes still missing from the frame being received, when its length is known.
    need: usize,
    _message: PhantomData<fn() -> M>,
}

impl<M: Message + Default> Default for Decoder<M> {
    fn default() -> Self {
        Self::new()
    }
}

impl<M: Message + Default> Decoder<M> {
    /// A decoder with CometBFT's limit, [`DEFAULT_MAX_MESSAGE_SIZE`].
    pub fn new() -> Self {
        Self::with_max_size(DEFAULT_MAX_MESSAGE_SIZE)
    }

    /// A decoder refusing messages longer than `max` bytes.
    pub fn with_max_size(max: usize) -> Self {
        Self {
            buf: Vec::new(),
            start: 0,
            max,
            failed: None,
            need: 0,
            _message: PhantomData,
        }
    }

    /// The largest message body this decoder accepts.
    pub fn max_size(&self) -> usize {
        self.max
    }

    /// Bytes received that are not yet part of a returned message.
    pub fn buffered(&self) -> usize {
        self.buf.len() - self.start
    }

    /// Hands over bytes as they arrive; [`Decoder::next_message`] then returns the messages
    /// they complete. Feeding after an error is harmless (the bytes are ignored).
    pub fn feed(&mut self, bytes: &[u8]) {
        if self.failed.is_some() {
            return;
        }
        self.compact();
        self.buf.extend_from_slice(bytes);
    }

    /// Drops consumed bytes when that is cheap (nothing live) or worth it (most of the buffer
    /// is consumed), so the buffer neither grows without bound nor is shifted on every frame.
    fn compact(&mut self) {
        if self.start > 0 && self.start == self.buf.len() {
            self.buf.clear();
            self.start = 0;
        } else if self.start >= READ_CHUNK && self.start * 2 >= self.buf.len() {
            self.buf.drain(..self.start);
            self.start = 0;
        }
    }

    /// The next complete message, `Ok(None)` if more bytes are needed, or the reason the
    /// stream is not valid framing (sticky: the stream cannot be resynchronised).
    pub fn next_message(&mut self) -> Result<Option<M>, FrameError> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        match self.decode_one() {
            Ok(m) => Ok(m),
            Err(e) => {
                self.failed = Some(e.clone());
                // Nothing buffered can be used any more.
                self.buf = Vec::new();
                self.start = 0;
                Err(e)
            }
        }
    }

    fn decode_one(&mut self) -> Result<Option<M>, FrameError> {
        self.need = 0;
        let pending = self.buf.get(self.start..).unwrap_or_default();
        if pending.is_empty() {
            return Ok(None);
        }
        let (len, prefix) = match read_uvarint(pending)? {
            Prefix::Incomplete => return Ok(None),
            Prefix::Done(len, prefix) => (len, prefix),
        };
        // Checked before the body is waited for, so an absurd length is refused at once.
        // (`frame_len` cannot overflow with CometBFT's limit; checked for any configured one.)
        let frame_len = match usize::try_from(len) {
            Ok(n) if n <= self.max => match n.checked_add(prefix) {
                Some(f) => f,
                None => return Err(FrameError::TooLarge { len, max: self.max }),
            },
            _ => return Err(FrameError::TooLarge { len, max: self.max }),
        };
        let Some(body) = pending.get(prefix..frame_len) else {
            // The body has not all arrived. Reserve for some of it so that a large message is
            // not copied again and again while it streams in, but never more than 1 MiB ahead
            // of what has arrived: the declared length is the peer's word, not its bytes.
            let missing = frame_len - pending.len();
            self.buf.reserve(missing.min(1 << 20));
            self.need = missing;
            return Ok(None);
        };
        let msg = M::decode(body).map_err(|e| FrameError::Decode(e.to_string()))?;
        self.start += frame_len;
        Ok(Some(msg))
    }

    /// Reads once from `r` straight into the buffer: what one `read` call returns, so a
    /// blocking caller never waits for bytes the peer has not sent. Returns the byte count
    /// (0 at end of stream). Asks for the rest of the current frame when its length is known
    /// (up to 1 MiB at a time), so a large message arrives in few calls, and
    /// 16 KiB otherwise.
    pub fn read_from(&mut self, r: &mut impl Read) -> std::io::Result<usize> {
        if self.failed.is_some() {
            // The stream is out of step; reading on would only hide the error.
            return Ok(0);
        }
        self.compact();
        let want = self.need.clamp(READ_CHUNK, 1 << 20);
        let old = self.buf.len();
        self.buf.resize(old + want, 0);
        let got = loop {
            match r.read(self.buf.get_mut(old..).unwrap_or_default()) {
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                other => break other,
            }
        };
        self.buf.truncate(old + *got.as_ref().unwrap_or(&0));
        got
    }

    /// Called when the stream has ended: `Ok` if it ended on a frame boundary, `Truncated`
    /// if a frame was cut short.
    pub fn finish(&self) -> Result<(), FrameError> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        match self.buffered() {
            0 => Ok(()),
            buffered => Err(FrameError::Truncated { buffered }),
        }
    }
}

/// Why [`read_message`] returned no message.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The socket failed (reset, timed out, …).
    #[error("socket read failed: {0}")]
    Io(#[from] std::io::Error),
    /// The peer sent bytes that are not valid framing.
    #[error(transparent)]
    Frame(#[from] FrameError),
}

/// Reads the next message from a blocking stream through `decoder` (which keeps any bytes read
/// past that message for the next call). `Ok(None)` when the peer closed the stream cleanly
/// between two messages; a close in the middle of a message is [`FrameError::Truncated`].
pub fn read_message<M: Message + Default>(
    r: &mut impl Read,
    decoder: &mut Decoder<M>,
) -> Result<Option<M>, ReadError> {
    loop {
        if let Some(msg) = decoder.next_message()? {
            return Ok(Some(msg));
        }
        if decoder.read_from(r)? == 0 {
            decoder.finish()?;
            return Ok(None);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::abci::{self, request, response, Request, Response};
    use prost::bytes::Bytes;

    fn echo(msg: &str) -> Request {
        Request {
            value: Some(request::Value::Echo(abci::RequestEcho {
                message: msg.to_owned(),
            })),
        }
    }

    fn flush() -> Request {
        Request {
            value: Some(request::Value::Flush(abci::RequestFlush {})),
        }
    }

    fn check_tx(tx: &[u8]) -> Request {
        Request {
            value: Some(request::Value::CheckTx(abci::RequestCheckTx {
                tx: Bytes::copy_from_slice(tx),
                r#type: 0,
            })),
        }
    }

    fn drain(d: &mut Decoder<Request>) -> Vec<Request> {
        let mut out = Vec::new();
        while let Some(m) = d.next_message().expect("valid frames") {
            out.push(m);
        }
        out
    }

    #[test]
    fn frame_bytes_are_cometbfts() {
        // Request{flush: {}} is field 2, length 0: 0x12 0x00, prefixed by its length 2.
        assert_eq!(encode_to_vec(&flush()), vec![0x02, 0x12, 0x00]);
        // Request{echo: {message: "hi"}}: 0x0a 0x04 (0x0a 0x02 'h' 'i'), length 6.
        assert_eq!(
            encode_to_vec(&echo("hi")),
            vec![0x06, 0x0a, 0x04, 0x0a, 0x02, b'h', b'i']
        );
        // A 200-byte body has a two-byte prefix (0xc8 0x01).
        let big = encode_to_vec(&check_tx(&[7u8; 194]));
        assert_eq!(&big[..2], &[0xc8, 0x01]);
        assert_eq!(big.len(), 202);
    }

    #[test]
    fn decodes_fragmented_byte_by_byte() {
        let msgs = vec![echo("hello"), check_tx(&[1u8; 300]), flush()];
        let mut wire = Vec::new();
        for m in &msgs {
            encode(m, &mut wire);
        }
        let mut d = Decoder::<Request>::new();
        let mut out = Vec::new();
        for b in &wire {
            d.feed(std::slice::from_ref(b));
            out.extend(drain(&mut d));
        }
        assert_eq!(out, msgs);
        assert_eq!(d.buffered(), 0);
        d.finish().expect("ended on a boundary");
    }

    #[test]
    fn decodes_several_messages_per_read() {
        let msgs: Vec<Request> = (0..50)
            .map(|i| {
                if i % 2 == 0 {
                    echo(&format!("m{i}"))
                } else {
                    check_tx(&vec![i as u8; i * 10])
                }
            })
            .collect();
        let mut wire = Vec::new();
        for m in &msgs {
            encode(m, &mut wire);
        }
        // All at once, and in reads that cut frames at awkward places (prime-sized chunks).
        let mut d = Decoder::<Request>::new();
        d.feed(&wire);
        assert_eq!(drain(&mut d), msgs);
        let mut d = Decoder::<Request>::new();
        let mut out = Vec::new();
        for chunk in wire.chunks(37) {
            d.feed(chunk);
            out.extend(drain(&mut d));
        }
        assert_eq!(out, msgs);
    }

    #[test]
    fn exactly_the_maximum_is_accepted_and_one_more_refused() {
        let msg = check_tx(&[9u8; 1000]);
        let len = msg.encoded_len();
        let wire = encode_to_vec(&msg);

        let mut at_max = Decoder::<Request>::with_max_size(len);
        at_max.feed(&wire);
        assert_eq!(at_max.next_message(), Ok(Some(msg.clone())));

        let mut below = Decoder::<Request>::with_max_size(len - 1);
        below.feed(&wire);
        assert_eq!(
            below.next_message(),
            Err(FrameError::TooLarge {
                len: len as u64,
                max: len - 1
            })
        );
        // Sticky: the stream cannot be resynchronised.
        assert!(below.next_message().is_err());
        assert!(below.finish().is_err());
    }

    #[test]
    fn an_oversized_length_is_refused_before_its_body_arrives() {
        // Only the prefix of a 3 GiB message: refused with no body buffered at all.
        let mut prefix = Vec::new();
        prost::encoding::encode_varint(3 << 30, &mut prefix);
        let mut d = Decoder::<Request>::new();
        d.feed(&prefix);
        assert_eq!(
            d.next_message(),
            Err(FrameError::TooLarge {
                len: 3 << 30,
                max: DEFAULT_MAX_MESSAGE_SIZE
            })
        );
        // CometBFT's own limit is accepted as a length (the body would then be awaited).
        let mut prefix = Vec::new();
        prost::encoding::encode_varint(DEFAULT_MAX_MESSAGE_SIZE as u64, &mut prefix);
        let mut d = Decoder::<Request>::new();
        d.feed(&prefix);
        assert_eq!(d.next_message(), Ok(None));
    }

    #[test]
    fn an_unbounded_maximum_cannot_overflow() {
        // With no limit at all, a length near 2^64 must be refused, not wrap around.
        let mut prefix = Vec::new();
        prost::encoding::encode_varint(u64::MAX, &mut prefix);
        let mut d = Decoder::<Request>::with_max_size(usize::MAX);
        d.feed(&prefix);
        assert!(matches!(d.next_message(), Err(FrameError::TooLarge { .. })));
    }

    #[test]
    fn garbage_is_refused_with_typed_errors() {
        // Eleven continuation bytes: no varint of 64 bits is that long.
        let mut d = Decoder::<Request>::new();
        d.feed(&[0xff; 11]);
        assert_eq!(d.next_message(), Err(FrameError::BadLength));
        // Ten bytes whose last one overflows 64 bits (Go's ReadUvarint "overflow").
        let mut d = Decoder::<Request>::new();
        d.feed(&[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02]);
        assert_eq!(d.next_message(), Err(FrameError::BadLength));
        // Nine continuation bytes are not an error yet: the prefix may still complete.
        let mut d = Decoder::<Request>::new();
        d.feed(&[0x80; 9]);
        assert_eq!(d.next_message(), Ok(None));

        // A well-framed body that is not protobuf: wire type 7 does not exist.
        let mut d = Decoder::<Request>::new();
        d.feed(&[0x03, 0x0f, 0xff, 0xff]);
        assert!(matches!(d.next_message(), Err(FrameError::Decode(_))));
        // A body whose inner length runs past its end.
        let mut d = Decoder::<Request>::new();
        d.feed(&[0x03, 0x0a, 0x7f, 0x00]);
        assert!(matches!(d.next_message(), Err(FrameError::Decode(_))));
        // Text sent to an ABCI port (an HTTP request, say): 'G' reads as a 71-byte length,
        // so the decoder waits for more, and the close that follows is a truncation.
        let mut d = Decoder::<Request>::new();
        d.feed(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        assert_eq!(d.next_message(), Ok(None));
        assert!(matches!(d.finish(), Err(FrameError::Truncated { .. })));

        // Truncated: the stream ends inside a frame.
        let wire = encode_to_vec(&echo("cut short"));
        let mut d = Decoder::<Request>::new();
        d.feed(&wire[..wire.len() - 3]);
        assert_eq!(d.next_message(), Ok(None));
        assert_eq!(
            d.finish(),
            Err(FrameError::Truncated {
                buffered: wire.len() - 3
            })
        );
    }

    #[test]
    fn no_input_makes_the_decoder_panic() {
        // A cheap deterministic fuzz: every prefix of a mix of valid and random bytes, with
        // small maximums, must end in a message, "need more", or an error.
        let mut wire = Vec::new();
        encode(&echo("abc"), &mut wire);
        let mut x: u32 = 0x1234_5678;
        for _ in 0..512 {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            wire.push(x as u8);
        }
        for max in [0usize, 1, 5, 64, 4096] {
            for cut in 0..wire.len() {
                let mut d = Decoder::<Response>::with_max_size(max);
                d.feed(&wire[cut..]);
                for _ in 0..600 {
                    match d.next_message() {
                        Ok(Some(_)) => {}
                        Ok(None) | Err(_) => break,
                    }
                }
                let _ = d.finish();
            }
        }
    }

    #[test]
    fn read_message_streams_over_a_reader() {
        let responses = vec![
            Response {
                value: Some(response::Value::Echo(abci::ResponseEcho {
                    message: "x".into(),
                })),
            },
            Response {
                value: Some(response::Value::Flush(abci::ResponseFlush {})),
            },
        ];
        let mut wire = Vec::new();
        for m in &responses {
            write_message(&mut wire, m).expect("to a Vec");
        }
        let mut reader = std::io::Cursor::new(wire.clone());
        let mut d = Decoder::<Response>::new();
        assert_eq!(
            read_message(&mut reader, &mut d).expect("first").as_ref(),
            Some(&responses[0])
        );
        assert_eq!(
            read_message(&mut reader, &mut d).expect("second").as_ref(),
            Some(&responses[1])
        );
        assert!(read_message(&mut reader, &mut d)
            .expect("clean end")
            .is_none());

        // A reader that hands over one to three bytes per call (a slow, fragmenting socket).
        struct Trickle(Vec<u8>, usize);
        impl Read for Trickle {
            fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
                let n = (self.1 % 3 + 1).min(out.len()).min(self.0.len());
                self.1 += 1;
                out[..n].copy_from_slice(&self.0[..n]);
                self.0.drain(..n);
                Ok(n)
            }
        }
        let mut reader = Trickle(wire.clone(), 0);
        let mut d = Decoder::<Response>::new();
        let mut got = Vec::new();
        while let Some(m) = read_message(&mut reader, &mut d).expect("trickled") {
            got.push(m);
        }
        assert_eq!(got, responses);

        // Closed in the middle of a message: two of the flush frame's three bytes arrived.
        let mut reader = std::io::Cursor::new(wire[..wire.len() - 1].to_vec());
        let mut d = Decoder::<Response>::new();
        read_message(&mut reader, &mut d).expect("first is whole");
        assert!(matches!(
            read_message(&mut reader, &mut d),
            Err(ReadError::Frame(FrameError::Truncated { buffered: 2 }))
        ));
    }
}
