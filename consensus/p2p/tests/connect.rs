//! `connect` end to end over loopback TCP: two nodes learn each other's verified identity
//! and node info and exchange messages, pings and pongs; a peer on another chain, one whose
//! node info names a key it did not authenticate with, one with no channel in common, and
//! a node dialing itself are refused with the reason.

mod common;

use common::{key, loopback_pair, payload, TIMEOUT};
use keystone_consensus_types::PrivateKey;
use keystone_p2p::{connect, ConnectConfig, Incoming, NodeId, NodeInfo, P2pError, Peer};
use std::net::TcpStream;
use std::thread;
use std::time::Duration;

const CONSENSUS: u8 = 0x20;
const MEMPOOL: u8 = 0x30;

fn config() -> ConnectConfig {
    let mut c = ConnectConfig::new([(CONSENSUS, 1 << 20), (MEMPOOL, 1 << 16)]);
    c.handshake_timeout = TIMEOUT;
    c.read_timeout = Some(TIMEOUT);
    c.write_timeout = Some(TIMEOUT);
    c
}

fn info(node_key: &PrivateKey, network: &str, moniker: &str) -> NodeInfo {
    NodeInfo::new(
        &node_key.public_key(),
        network,
        "tcp://127.0.0.1:26656",
        moniker,
        &[CONSENSUS, MEMPOOL],
    )
}

/// Runs `connect` on both ends at once. A clone of each socket stays open until both are
/// done, so one side's refusal cannot cut the other side's read of data already sent.
fn both(
    a: (PrivateKey, NodeInfo),
    b: (PrivateKey, NodeInfo),
) -> (Result<Peer, P2pError>, Result<Peer, P2pError>) {
    let (sa, sb) = loopback_pair();
    let keep: Vec<TcpStream> = [&sa, &sb]
        .iter()
        .map(|s| s.try_clone().expect("clone"))
        .collect();
    let b_side = thread::spawn(move || connect(sb, &b.0, &b.1, &config()));
    let a_result = connect(sa, &a.0, &a.1, &config());
    let b_result = b_side.join().expect("b thread");
    drop(keep);
    (a_result, b_result)
}

#[test]
fn two_nodes_connect_and_talk() {
    let (ka, kb) = (key(1), key(2));
    let (a, b) = both(
        (ka.clone(), info(&ka, "keystone-1", "alpha")),
        (kb.clone(), info(&kb, "keystone-1", "beta")),
    );
    let (mut a, mut b) = (a.expect("a connects"), b.expect("b connects"));
    assert_eq!(a.key, kb.public_key());
    assert_eq!(b.key, ka.public_key());
    assert_eq!(a.id(), NodeId::from_public_key(&kb.public_key()));
    assert_eq!(
        a.id().to_string(),
        kb.public_key().address().to_string().to_lowercase()
    );
    assert_eq!(a.info, info(&kb, "keystone-1", "beta"));
    assert_eq!(b.info.moniker, "alpha");
    // The configured timeouts replace the handshake deadline.
    assert_eq!(
        a.reader.get_ref().get_ref().read_timeout().expect("get"),
        Some(TIMEOUT)
    );

    // Both directions at once, on split halves.
    let big = payload(300 * 1024, 5);
    let big_for_b = big.clone();
    let mut b_writer = b.writer;
    let b_sends = thread::spawn(move || {
        b_writer.send(CONSENSUS, &big_for_b).expect("b sends");
        b_writer.send_ping().expect("b pings");
        b_writer
    });
    a.writer.send(MEMPOOL, b"tx").expect("a sends");
    a.writer.send(MEMPOOL, &[]).expect("a sends empty");
    assert_eq!(
        a.reader.read().expect("a reads"),
        Incoming::Msg {
            channel: CONSENSUS,
            bytes: big
        }
    );
    assert_eq!(a.reader.read().expect("a reads"), Incoming::Ping);
    a.writer.send_pong().expect("a answers");
    let mut b_writer = b_sends.join().expect("b sender");
    for expected in [
        Incoming::Msg {
            channel: MEMPOOL,
            bytes: b"tx".to_vec(),
        },
        Incoming::Msg {
            channel: MEMPOOL,
            bytes: Vec::new(),
        },
        Incoming::Pong,
    ] {
        assert_eq!(b.reader.read().expect("b reads"), expected);
    }
    // A message over the channel's limit ends the connection on the receiving side.
    b_writer
        .send(MEMPOOL, &payload((1 << 16) + 1, 0))
        .expect("b sends");
    assert!(matches!(
        a.reader.read(),
        Err(P2pError::MessageTooLarge {
            channel: MEMPOOL,
            ..
        })
    ));
}

#[test]
fn a_peer_on_another_chain_is_refused() {
    let (ka, kb) = (key(1), key(2));
    let (a, b) = both(
        (ka.clone(), info(&ka, "keystone-1", "alpha")),
        (kb.clone(), info(&kb, "other-7", "beta")),
    );
    for (result, theirs) in [(a, "other-7"), (b, "keystone-1")] {
        match result {
            Err(P2pError::NetworkMismatch { theirs: t, .. }) => assert_eq!(t, theirs),
            other => panic!("expected a network mismatch, got {:?}", other.err()),
        }
    }
}

#[test]
fn a_node_id_that_is_not_the_authenticated_key_is_refused() {
    let (ka, kb, impostor) = (key(1), key(2), key(3));
    // B authenticates with its own key but claims the id of key 3.
    let (a, _b) = both(
        (ka.clone(), info(&ka, "keystone-1", "alpha")),
        (kb.clone(), info(&impostor, "keystone-1", "beta")),
    );
    match a {
        Err(P2pError::NodeIdMismatch {
            claimed,
            authenticated,
        }) => {
            assert_eq!(claimed, NodeId::from_public_key(&impostor.public_key()));
            assert_eq!(authenticated, NodeId::from_public_key(&kb.public_key()));
        }
        other => panic!("expected a node id mismatch, got {:?}", other.err()),
    }
}

#[test]
fn no_common_channel_and_self_connections_are_refused() {
    let (ka, kb) = (key(1), key(2));
    let mut b_info = info(&kb, "keystone-1", "beta");
    b_info.channels = vec![0x60];
    let (a, _) = both((ka.clone(), info(&ka, "keystone-1", "alpha")), (kb, b_info));
    assert!(matches!(a, Err(P2pError::NoCommonChannel)), "{:?}", a.err());

    let (a, b) = both(
        (ka.clone(), info(&ka, "keystone-1", "alpha")),
        (ka.clone(), info(&ka, "keystone-1", "alpha")),
    );
    assert!(matches!(a, Err(P2pError::SelfConnection)), "{:?}", a.err());
    assert!(matches!(b, Err(P2pError::SelfConnection)), "{:?}", b.err());
}

#[test]
fn a_silent_peer_times_out_the_handshake() {
    let (ours, _silent) = loopback_pair();
    let mut c = config();
    c.handshake_timeout = Duration::from_millis(300);
    let k = key(1);
    let e = connect(ours, &k, &info(&k, "keystone-1", "a"), &c).expect_err("refused");
    assert!(matches!(e, P2pError::HandshakeTimeout), "{e}");
}
