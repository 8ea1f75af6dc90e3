//! The secret connection against misbehaving peers: bytes altered in transit, garbage or
//! silence instead of a handshake, low-order keys. Each must end in an error — not a panic,
//! not a hang (every socket has a timeout, and the tests check how long refusals take).

mod common;

use common::{key, loopback_pair, payload};
use keystone_p2p::{connect, handshake, ConnectConfig, NodeInfo, P2pError, SEALED_FRAME_SIZE};
use std::io::{self, Cursor, Read, Write};
use std::thread;
use std::time::{Duration, Instant};

/// The ephemeral-key message: a 1-byte length, then `0a 20` and the 32-byte key.
const EPHEMERAL_MSG_SIZE: usize = 35;

/// A reader that flips one bit of the byte at absolute stream offset `at`: a man in the
/// middle who does not know the keys.
struct FlipAt<R> {
    inner: R,
    offset: usize,
    at: usize,
}

impl<R: Read> Read for FlipAt<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if (self.offset..self.offset + n).contains(&self.at) {
            buf[self.at - self.offset] ^= 0x04;
        }
        self.offset += n;
        Ok(n)
    }
}

/// Side A handshakes normally and sends 5000 bytes; side B reads through `FlipAt(at)`.
/// Returns B's handshake result and, if it got that far, B's first read error.
fn tamper_at(at: usize) -> (Result<(), P2pError>, Option<P2pError>) {
    let (a, b) = loopback_pair();
    let sender = thread::spawn(move || {
        let read_half = a.try_clone().expect("clone");
        if let Ok((_r, mut w, _)) = handshake(read_half, a, &key(1)) {
            let _ = w.write_all(&payload(5000, 0));
        }
    });
    let read_half = FlipAt {
        inner: b.try_clone().expect("clone"),
        offset: 0,
        at,
    };
    let result = match handshake(read_half, b, &key(2)) {
        Err(e) => (Err(e), None),
        Ok((mut r, mut w, _)) => {
            let mut got = vec![0u8; 5000];
            let first = r.read_exact(&mut got).map(|_| ()).map_err(P2pError::from);
            // After a failed read, neither half may be used again.
            if first.is_err() {
                let again = r.read(&mut [0u8; 1]).map_err(P2pError::from);
                assert!(matches!(again, Err(P2pError::Broken)), "{again:?}");
                let write = w.write(b"x").map_err(P2pError::from);
                assert!(matches!(write, Err(P2pError::Broken)), "{write:?}");
            }
            (Ok(()), first.err())
        }
    };
    sender.join().expect("sender");
    result
}

#[test]
fn untampered_control_run_passes() {
    // Flipping nothing (offset past the end) must work, or the other cases prove nothing.
    let (handshake, read) = tamper_at(usize::MAX);
    assert!(
        handshake.is_ok() && read.is_none(),
        "{handshake:?} {read:?}"
    );
}

#[test]
fn a_flipped_bit_in_a_data_frame_is_refused() {
    // Handshake traffic from A: the ephemeral key message, then one frame with the signature.
    let first_data_frame = EPHEMERAL_MSG_SIZE + SEALED_FRAME_SIZE;
    for at in [
        first_data_frame + 2,
        first_data_frame + 700,
        first_data_frame + 1043,
    ] {
        let (handshake, read) = tamper_at(at);
        assert!(handshake.is_ok(), "{handshake:?}");
        assert!(
            matches!(read, Some(P2pError::FrameAuthentication)),
            "{at}: {read:?}"
        );
    }
}

#[test]
fn a_flipped_bit_in_the_handshake_is_refused() {
    // In the signature frame: the frame fails authentication.
    let (handshake, _) = tamper_at(EPHEMERAL_MSG_SIZE + 50);
    assert!(
        matches!(handshake, Err(P2pError::FrameAuthentication)),
        "{handshake:?}"
    );
    // In the peer's ephemeral key: the two sides derive different keys.
    let (handshake, _) = tamper_at(10);
    assert!(
        matches!(
            handshake,
            Err(P2pError::FrameAuthentication | P2pError::LowOrderKey)
        ),
        "{handshake:?}"
    );
}

/// Runs our handshake against a raw peer that writes `bytes` and then keeps the socket
/// open; returns the error and how long it took.
fn against_raw_peer(bytes: Vec<u8>, read_timeout: Duration) -> (P2pError, Duration) {
    let (ours, mut theirs) = loopback_pair();
    ours.set_read_timeout(Some(read_timeout)).expect("timeout");
    let peer = thread::spawn(move || {
        let _ = theirs.write_all(&bytes);
        // Hold the socket open until our side has given up.
        let _ = theirs.read_to_end(&mut Vec::new());
    });
    let start = Instant::now();
    let read_half = ours.try_clone().expect("clone");
    let result = handshake(read_half, &ours, &key(1));
    let elapsed = start.elapsed();
    ours.shutdown(std::net::Shutdown::Both).expect("shutdown");
    peer.join().expect("peer");
    match result {
        Ok(_) => panic!("garbage accepted"),
        Err(e) => (e, elapsed),
    }
}

fn ephemeral_msg(key: &[u8]) -> Vec<u8> {
    let mut m = vec![(key.len() + 2) as u8, 0x0a, key.len() as u8];
    m.extend_from_slice(key);
    m
}

#[test]
fn garbage_instead_of_a_handshake_is_refused() {
    let t = Duration::from_secs(2);
    let (e, _) = against_raw_peer(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(), t);
    assert!(matches!(e, P2pError::TooLarge { len: 71, .. }), "{e}");
    let (e, _) = against_raw_peer(vec![0xff; 20], t);
    assert!(matches!(e, P2pError::BadLengthPrefix), "{e}");
    let (e, _) = against_raw_peer(vec![3, 0xff, 0xff, 0xff], t);
    assert!(matches!(e, P2pError::Decode { .. }), "{e}");
    let (e, _) = against_raw_peer(ephemeral_msg(&[9u8; 16]), t);
    assert!(matches!(e, P2pError::EphemeralKeyLength(16)), "{e}");
    // A well-formed key followed by a frame of noise.
    let mut msg = ephemeral_msg(&[9u8; 32]);
    msg.extend(payload(SEALED_FRAME_SIZE, 3));
    let (e, _) = against_raw_peer(msg, t);
    assert!(matches!(e, P2pError::FrameAuthentication), "{e}");
}

#[test]
fn low_order_ephemeral_keys_are_refused() {
    let t = Duration::from_secs(2);
    let order_8 = hex_32("e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800");
    for point in [[0u8; 32], order_8] {
        let (e, _) = against_raw_peer(ephemeral_msg(&point), t);
        assert!(matches!(e, P2pError::LowOrderKey), "{e}");
    }
}

fn hex_32(s: &str) -> [u8; 32] {
    let v: Vec<u8> = (0..32)
        .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).expect("hex"))
        .collect();
    v.try_into().expect("32 bytes")
}

#[test]
fn a_silent_or_vanishing_peer_is_an_error_not_a_hang() {
    let (e, elapsed) = against_raw_peer(Vec::new(), Duration::from_millis(200));
    assert!(e.is_timeout(), "{e}");
    assert!(elapsed < Duration::from_secs(2), "{elapsed:?}");
    // A peer that hangs up mid-message.
    let (ours, theirs) = loopback_pair();
    drop(theirs);
    let read_half = ours.try_clone().expect("clone");
    let e = handshake(read_half, &ours, &key(1)).expect_err("refused");
    assert!(
        matches!(&e, P2pError::Io(io) if io.kind() == io::ErrorKind::UnexpectedEof
            || io.kind() == io::ErrorKind::ConnectionReset || io.kind() == io::ErrorKind::BrokenPipe),
        "{e}"
    );
}

/// `connect` bounds the whole handshake, not each read: a peer that trickles one byte every
/// 50 ms (each read succeeds well within any per-read timeout) is cut off at the deadline.
#[test]
fn connect_cuts_off_a_trickling_peer_at_the_deadline() {
    let (ours, mut theirs) = loopback_pair();
    let peer = thread::spawn(move || {
        for b in ephemeral_msg(&[9u8; 32]).into_iter().cycle().take(200) {
            if theirs.write_all(&[b]).is_err() {
                return;
            }
            thread::sleep(Duration::from_millis(50));
        }
    });
    let mut config = ConnectConfig::new([(0x20, 1024)]);
    config.handshake_timeout = Duration::from_millis(700);
    let info = NodeInfo::new(
        &key(1).public_key(),
        "chain",
        "tcp://127.0.0.1:1",
        "a",
        &[0x20],
    );
    let start = Instant::now();
    let e = connect(ours, &key(1), &info, &config).expect_err("refused");
    let elapsed = start.elapsed();
    assert!(matches!(e, P2pError::HandshakeTimeout), "{e}");
    assert!(elapsed < Duration::from_millis(1500), "{elapsed:?}");
    peer.join().expect("peer");
}

/// Random input of many lengths, with and without a valid-looking start: never a panic.
#[test]
fn random_garbage_in_memory_never_panics() {
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for round in 0..300 {
        let len = (next() % 2200) as usize;
        let mut input: Vec<u8> = (0..len).map(|_| next() as u8).collect();
        if round % 2 == 0 {
            let mut start = ephemeral_msg(&payload(32, round as u8));
            start.append(&mut input);
            input = start;
        }
        let result = handshake(Cursor::new(input), io::sink(), &key(1));
        assert!(result.is_err(), "round {round} accepted garbage");
    }
}

#[test]
fn handshake_works_over_plain_halves_of_one_stream() {
    // A control for the tests above: two honest peers, including a 0-byte write.
    let (a, b) = loopback_pair();
    let other = thread::spawn(move || {
        let (mut r, mut w, remote) =
            handshake(b.try_clone().expect("clone"), b, &key(2)).expect("handshake");
        let mut buf = vec![0u8; 3000];
        r.read_exact(&mut buf).expect("read");
        w.write_all(&buf).expect("echo");
        remote
    });
    let (mut r, mut w, remote) =
        handshake(a.try_clone().expect("clone"), &a, &key(1)).expect("handshake");
    assert_eq!(remote, key(2).public_key());
    w.write_all(&[]).expect("empty write");
    w.write_all(&payload(3000, 9)).expect("write");
    let mut back = vec![0u8; 3000];
    r.read_exact(&mut back).expect("echo");
    assert_eq!(back, payload(3000, 9));
    assert_eq!(other.join().expect("other"), key(1).public_key());
}
