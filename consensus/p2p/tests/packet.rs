//! MConnection packet framing: reassembly whatever the read sizes, several messages per
//! read, interleaved channels, per-channel limits exact to the byte, unknown channels,
//! oversized or undecodable packets, and ping/pong.

use keystone_p2p::{
    Incoming, P2pError, PacketReader, PacketWriter, DEFAULT_MAX_PACKET_SIZE, MAX_PACKET_PAYLOAD,
};
use keystone_proto::prost::Message;
use keystone_proto::tm::v0_38::p2p::{packet::Sum, Packet, PacketMsg};
use std::io::{self, Read};

const CONSENSUS: u8 = 0x20;
const MEMPOOL: u8 = 0x30;

fn limits() -> [(u8, usize); 2] {
    [(CONSENSUS, 3000), (MEMPOOL, 10)]
}

/// Hands out one byte per read: the most fragmented a stream can be.
struct OneByte<'a>(&'a [u8]);

impl Read for OneByte<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match (self.0.split_first(), buf.first_mut()) {
            (Some((&b, rest)), Some(slot)) => {
                *slot = b;
                self.0 = rest;
                Ok(1)
            }
            _ => Ok(0),
        }
    }
}

/// Counts what has been read through it.
struct Counting<'a> {
    inner: &'a [u8],
    read: usize,
}

impl Read for Counting<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n;
        Ok(n)
    }
}

fn msg(len: usize, salt: u8) -> Vec<u8> {
    (0..len).map(|i| (i as u8) ^ salt).collect()
}

/// What `PacketWriter` puts on the wire for these calls.
fn wire(build: impl FnOnce(&mut PacketWriter<Vec<u8>>)) -> Vec<u8> {
    let mut w = PacketWriter::new(Vec::new());
    build(&mut w);
    w.get_ref().clone()
}

/// One raw length-delimited packet.
fn raw_packet(sum: Option<Sum>) -> Vec<u8> {
    Packet { sum }.encode_length_delimited_to_vec()
}

fn raw_msg(channel_id: i32, eof: bool, data: &[u8]) -> Vec<u8> {
    raw_packet(Some(Sum::PacketMsg(PacketMsg {
        channel_id,
        eof,
        data: data.to_vec(),
    })))
}

fn read_all<R: Read>(r: &mut PacketReader<R>) -> (Vec<Incoming>, P2pError) {
    let mut got = Vec::new();
    loop {
        match r.read() {
            Ok(item) => got.push(item),
            Err(e) => return (got, e),
        }
    }
}

fn expected() -> Vec<Incoming> {
    vec![
        Incoming::Msg {
            channel: CONSENSUS,
            bytes: msg(2500, 1),
        },
        Incoming::Ping,
        Incoming::Msg {
            channel: MEMPOOL,
            bytes: msg(10, 2),
        },
        Incoming::Msg {
            channel: MEMPOOL,
            bytes: Vec::new(),
        },
        Incoming::Pong,
        Incoming::Msg {
            channel: CONSENSUS,
            bytes: msg(1024, 3),
        },
    ]
}

fn sample_wire() -> Vec<u8> {
    wire(|w| {
        w.send(CONSENSUS, &msg(2500, 1)).expect("send");
        w.send_ping().expect("ping");
        w.send(MEMPOOL, &msg(10, 2)).expect("send");
        w.send(MEMPOOL, &[]).expect("send");
        w.send_pong().expect("pong");
        w.send(CONSENSUS, &msg(1024, 3)).expect("send");
    })
}

#[test]
fn one_byte_reads_reassemble_everything() {
    let bytes = sample_wire();
    let mut r = PacketReader::new(OneByte(&bytes), limits());
    let (got, end) = read_all(&mut r);
    assert_eq!(got, expected());
    assert!(matches!(end, P2pError::Closed), "{end}");
}

#[test]
fn many_messages_in_one_buffer_come_out_one_by_one() {
    let bytes = sample_wire();
    let mut r = PacketReader::new(bytes.as_slice(), limits());
    let (got, end) = read_all(&mut r);
    assert_eq!(got, expected());
    assert!(matches!(end, P2pError::Closed), "{end}");
}

#[test]
fn interleaved_channels_reassemble_separately() {
    // Go's MConnection alternates packets of different channels.
    let mut bytes = raw_msg(CONSENSUS.into(), false, &[1; 1024]);
    bytes.extend(raw_msg(MEMPOOL.into(), false, &[2; 4]));
    bytes.extend(raw_msg(CONSENSUS.into(), true, &[3; 5]));
    bytes.extend(raw_msg(MEMPOOL.into(), true, &[4; 6]));
    let mut r = PacketReader::new(bytes.as_slice(), limits());
    let mut first = vec![1; 1024];
    first.extend([3; 5]);
    assert_eq!(
        r.read().expect("consensus"),
        Incoming::Msg {
            channel: CONSENSUS,
            bytes: first
        }
    );
    let mut second = vec![2; 4];
    second.extend([4; 6]);
    assert_eq!(
        r.read().expect("mempool"),
        Incoming::Msg {
            channel: MEMPOOL,
            bytes: second
        }
    );
}

#[test]
fn a_message_at_the_channel_limit_passes_and_one_byte_more_does_not() {
    for (channel, max) in limits() {
        let at_limit = wire(|w| w.send(channel, &msg(max, 7)).expect("send"));
        let mut r = PacketReader::new(at_limit.as_slice(), limits());
        assert_eq!(
            r.read().expect("at the limit"),
            Incoming::Msg {
                channel,
                bytes: msg(max, 7)
            }
        );
        let over = wire(|w| w.send(channel, &msg(max + 1, 7)).expect("send"));
        let mut r = PacketReader::new(over.as_slice(), limits());
        let e = r.read().expect_err("one over");
        assert!(
            matches!(e, P2pError::MessageTooLarge { channel: c, max: m } if c == channel && m == max),
            "{e}"
        );
    }
}

#[test]
fn an_oversized_message_is_refused_before_it_is_all_read() {
    let huge = wire(|w| w.send(CONSENSUS, &msg(100_000, 0)).expect("send"));
    let mut counting = Counting {
        inner: &huge,
        read: 0,
    };
    let e = PacketReader::new(&mut counting, limits())
        .read()
        .expect_err("too large");
    assert!(matches!(e, P2pError::MessageTooLarge { .. }), "{e}");
    // Refused at the packet that crosses 3000 bytes: the third of ~98.
    assert!(
        counting.read <= 3 * (DEFAULT_MAX_PACKET_SIZE + 2),
        "{}",
        counting.read
    );
}

#[test]
fn unknown_channels_are_refused() {
    for channel_id in [0x40, 0, -1, 256 + i32::from(CONSENSUS)] {
        let bytes = raw_msg(channel_id, true, b"hi");
        let e = PacketReader::new(bytes.as_slice(), limits())
            .read()
            .expect_err("unknown channel");
        assert!(
            matches!(e, P2pError::UnknownChannel(c) if c == channel_id),
            "{e}"
        );
    }
}

#[test]
fn oversized_undecodable_and_empty_packets_are_refused() {
    // A PacketMsg with 1025 data bytes is 1035 bytes long, one over Go's bound.
    let big = raw_msg(CONSENSUS.into(), true, &[0; MAX_PACKET_PAYLOAD + 1]);
    let e = PacketReader::new(big.as_slice(), limits())
        .read()
        .expect_err("too big");
    assert!(
        matches!(
            e,
            P2pError::TooLarge {
                what: "packet",
                len: 1035,
                max: 1034
            }
        ),
        "{e}"
    );
    assert_eq!(DEFAULT_MAX_PACKET_SIZE, 1034);
    // The bound is configurable.
    let small = raw_msg(CONSENSUS.into(), true, &[0; 100]);
    let e = PacketReader::new(small.as_slice(), limits())
        .with_max_packet_size(50)
        .read()
        .expect_err("over a lowered bound");
    assert!(matches!(e, P2pError::TooLarge { max: 50, .. }), "{e}");
    // A huge declared length is refused without waiting for its bytes.
    let e = PacketReader::new([0xff, 0xff, 0xff, 0xff, 0x0f].as_slice(), limits())
        .read()
        .expect_err("huge");
    assert!(matches!(e, P2pError::TooLarge { .. }), "{e}");
    let e = PacketReader::new([3u8, 0xff, 0xff, 0xff].as_slice(), limits())
        .read()
        .expect_err("garbage");
    assert!(matches!(e, P2pError::Decode { what: "packet", .. }), "{e}");
    let empty = raw_packet(None);
    assert_eq!(empty, vec![0]);
    let e = PacketReader::new(empty.as_slice(), limits())
        .read()
        .expect_err("empty");
    assert!(matches!(e, P2pError::EmptyPacket), "{e}");
}

#[test]
fn hanging_up_between_packets_differs_from_hanging_up_inside_one() {
    let bytes = wire(|w| w.send(MEMPOOL, b"abc").expect("send"));
    let mut r = PacketReader::new(bytes.as_slice(), limits());
    r.read().expect("whole packet");
    assert!(matches!(r.read(), Err(P2pError::Closed)));
    let mut r = PacketReader::new(&bytes[..bytes.len() - 1], limits());
    let e = r.read().expect_err("cut short");
    assert!(
        matches!(&e, P2pError::Io(io) if io.kind() == io::ErrorKind::UnexpectedEof),
        "{e}"
    );
}

/// Gives `step` bytes per read, with a timeout error before each.
struct Stutter<'a> {
    data: &'a [u8],
    step: usize,
    timed_out: bool,
}

impl Read for Stutter<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.timed_out = !self.timed_out;
        if self.timed_out {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        let n = buf.len().min(self.step).min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

#[test]
fn a_read_timeout_inside_a_packet_loses_nothing() {
    let bytes = sample_wire();
    let mut r = PacketReader::new(
        Stutter {
            data: &bytes,
            step: 300,
            timed_out: false,
        },
        limits(),
    );
    let mut got = Vec::new();
    let mut timeouts = 0;
    loop {
        match r.read() {
            Ok(item) => got.push(item),
            Err(e) if e.is_timeout() => timeouts += 1,
            Err(P2pError::Closed) => break,
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!(got, expected());
    assert!(timeouts > 5);
}
