//! Helpers shared by the socket tests: loopback pairs that cannot hang, and fixed keys.

#![allow(dead_code, unreachable_pub)]

use keystone_consensus_types::PrivateKey;
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

/// Every socket in these tests gives up after this long, so a bug fails a test instead of
/// hanging it.
pub const TIMEOUT: Duration = Duration::from_secs(5);

/// A connected pair on 127.0.0.1: (dialer, accepted), both with read and write timeouts.
pub fn loopback_pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    let addr = listener.local_addr().expect("local addr");
    // The kernel completes the connection from the listen backlog, so dialing before
    // accepting on one thread is fine.
    let dialer = TcpStream::connect(addr).expect("dial");
    let (accepted, _) = listener.accept().expect("accept");
    for s in [&dialer, &accepted] {
        s.set_read_timeout(Some(TIMEOUT)).expect("timeout");
        s.set_write_timeout(Some(TIMEOUT)).expect("timeout");
    }
    (dialer, accepted)
}

/// A node key from a one-byte seed.
pub fn key(seed: u8) -> PrivateKey {
    PrivateKey::from_seed([seed; 32])
}

/// Deterministic test payload; `salt` tells the two directions apart.
pub fn payload(len: usize, salt: u8) -> Vec<u8> {
    (0..len)
        .map(|i| {
            (i as u8)
                .wrapping_mul(31)
                .wrapping_add(salt ^ (i >> 8) as u8)
        })
        .collect()
}
