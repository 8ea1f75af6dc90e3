//! Interoperability with a third-party implementation: tendermint-rs's `tendermint-p2p`
//! `SecretConnection` (protobuf handshake, `Version::V0_34`, the wire format CometBFT v0.34
//! through v0.38 share) is the other side of a real loopback TCP connection, in both roles.
//! Each side must learn the other's ed25519 key, and messages of 0, 1, 1024, 1025 and
//! 100 KiB bytes must cross in both directions at the same time (split halves, one thread
//! reading while another writes).

mod common;

use common::{key, loopback_pair, payload};
use keystone_consensus_types::PublicKey;
use keystone_p2p::handshake;
use std::io::{BufReader, Read, Write};
use std::net::TcpStream;
use std::thread;
use tendermint_p2p::secret_connection::{SecretConnection, Version};

const SIZES: [usize; 5] = [0, 1, 1024, 1025, 100 * 1024];

/// Sends every size as a 4-byte little-endian length and the payload.
fn send_all(w: &mut impl Write, salt: u8) {
    for n in SIZES {
        w.write_all(&(n as u32).to_le_bytes())
            .expect("write length");
        w.write_all(&payload(n, salt)).expect("write payload");
    }
    w.flush().expect("flush");
}

/// Receives what `send_all` sent and checks every byte.
fn receive_all(r: &mut impl Read, salt: u8) {
    for n in SIZES {
        let mut len = [0u8; 4];
        r.read_exact(&mut len).expect("read length");
        assert_eq!(u32::from_le_bytes(len) as usize, n);
        let mut body = vec![0u8; n];
        r.read_exact(&mut body).expect("read payload");
        assert!(body == payload(n, salt), "payload of {n} bytes differs");
    }
}

/// Our side: handshake, then send and receive at once on the two halves. Returns the key
/// the peer authenticated with.
fn ours(stream: TcpStream, seed: u8) -> PublicKey {
    let read_half = stream.try_clone().expect("clone");
    let (mut reader, mut writer, remote) =
        handshake(read_half, stream, &key(seed)).expect("our handshake");
    let sender = thread::spawn(move || send_all(&mut writer, 1));
    receive_all(&mut reader, 2);
    sender.join().expect("sender");
    remote
}

/// tendermint-p2p's side. Returns the key the peer authenticated with.
fn theirs(stream: TcpStream, seed: u8) -> [u8; 32] {
    let signing_key = ed25519_consensus::SigningKey::from([seed; 32]);
    let conn = SecretConnection::new(stream, signing_key, Version::V0_34).expect("their handshake");
    let remote = conn.remote_pubkey().ed25519().expect("ed25519").to_bytes();
    let (mut sender, receiver) = conn.split().expect("split");
    let sending = thread::spawn(move || send_all(&mut sender, 2));
    // Their receiver panics if a read is given less room than the frame it decrypts holds;
    // a 1024-byte BufReader always offers a full frame's worth.
    receive_all(&mut BufReader::with_capacity(1024, receiver), 1);
    sending.join().expect("their sender");
    remote
}

fn run(we_dial: bool) {
    let (dialer, accepted) = loopback_pair();
    let (our_stream, their_stream) = if we_dial {
        (dialer, accepted)
    } else {
        (accepted, dialer)
    };
    let them = thread::spawn(move || theirs(their_stream, 20));
    let learned_by_us = ours(our_stream, 10);
    let learned_by_them = them.join().expect("their side");
    assert_eq!(learned_by_us, key(20).public_key(), "we learn their key");
    assert_eq!(
        learned_by_them,
        key(10).public_key().0,
        "they learn our key"
    );
}

#[test]
fn we_dial_tendermint_p2p() {
    run(true);
}

#[test]
fn tendermint_p2p_dials_us() {
    run(false);
}

/// Which side's ephemeral key sorts first is random, and it decides which HKDF half each
/// side sends with; sixteen handshakes miss one of the two cases with probability 2^-15.
#[test]
fn repeated_handshakes_cover_both_key_orders() {
    for round in 0..16u8 {
        let (a, b) = loopback_pair();
        let them = thread::spawn(move || {
            let conn = SecretConnection::new(
                b,
                ed25519_consensus::SigningKey::from([7u8; 32]),
                Version::V0_34,
            )
            .expect("their handshake");
            let (mut sender, receiver) = conn.split().expect("split");
            let mut buf = [0u8; 1024];
            let n = BufReader::with_capacity(1024, receiver)
                .read(&mut buf)
                .expect("their read");
            sender.write_all(&buf[..n]).expect("echo");
        });
        let read_half = a.try_clone().expect("clone");
        let (mut r, mut w, remote) = handshake(read_half, a, &key(8)).expect("handshake");
        assert_eq!(remote, key(7).public_key());
        w.write_all(&[round; 3]).expect("write");
        let mut echo = [0u8; 3];
        r.read_exact(&mut echo).expect("echo back");
        assert_eq!(echo, [round; 3]);
        them.join().expect("their side");
    }
}
