//! Real `keystone` processes on 127.0.0.1, driven as a user drives them (command line and
//! JSON-RPC): four validators agree block by block; a transaction sent to one node is seen on
//! all; with one killed (`kill -9`) the rest go on; with two killed the chain halts without
//! forking and resumes when one returns; a validator down for 100+ heights catches up by
//! block sync and signs again; a full node joins from genesis and follows; a validator that
//! double-signs every vote (a test-only flag) is caught: honest nodes commit
//! DuplicateVoteEvidence against it and do not fork. Across all of it no honest validator
//! signed two different precommits for one height and round (checked from the signed votes
//! in every node's commits).
//!
//! Every process is killed when its `Localnet` is dropped, also when a test fails.

use keystone_localnet::{free_base, keystone_bin, Localnet, FAST_TIMEOUTS};
use serde_json::json;

/// One network at a time: two would share the machine's two cores, and each node's timers
/// assume it gets to run.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner())
}

fn net(n: usize, chain: &str, dir: &std::path::Path) -> Localnet {
    let bin = keystone_bin().expect("the keystone binary is built next to the tests");
    Localnet::init(
        &bin,
        dir,
        n,
        chain,
        free_base(10 * n as u16 + 10).expect("a free port range on 127.0.0.1"),
        &FAST_TIMEOUTS,
    )
    .expect("testnet init-files")
}

fn heights(net: &Localnet, nodes: &[usize]) -> Vec<u64> {
    nodes.iter().map(|&i| net.height(i).unwrap_or(0)).collect()
}

/// Every node in `nodes` has the same block and app hash at every height up to `upto`.
fn same_chain(net: &Localnet, nodes: &[usize], upto: u64) {
    for h in 1..=upto {
        let first = (net.block_hash(nodes[0], h), net.app_hash(nodes[0], h));
        assert!(first.0.is_some(), "node {} has block {h}", nodes[0]);
        for &i in &nodes[1..] {
            assert_eq!(
                (net.block_hash(i, h), net.app_hash(i, h)),
                first,
                "node {i} at height {h}"
            );
        }
    }
}

/// No validator (but those in `byzantine`, by address) precommitted two different things for
/// one (height, round), in any node's commits up to `upto`.
fn no_double_sign(net: &Localnet, nodes: &[usize], upto: u64, byzantine: &[String]) {
    let (read, conflicts) = net.double_signs(nodes, upto, byzantine);
    assert!(conflicts.is_empty(), "{conflicts:?}");
    assert!(read > 0, "commits were read");
}

#[test]
fn four_validators_agree_survive_one_halt_at_two_and_resume() {
    let _one = serial();
    let dir = tempfile::tempdir().expect("tmp");
    let mut net = net(4, "e2e-four", dir.path());
    net.start_all().expect("start");
    let all = [0, 1, 2, 3];
    net.wait_height(&all, 3, 90)
        .expect("four validators make blocks");

    // A send through node 0 is visible on node 3 (node 1's operator holds its genesis
    // coins less the 100000000stake its gentx bonded).
    let home0 = net.nodes[0].home.display().to_string();
    let to = net.nodes[1].address.clone();
    let rpc0 = format!("tcp://127.0.0.1:{}", net.nodes[0].rpc);
    net.keystone(&[
        "tx",
        "bank",
        "send",
        "node0",
        &to,
        "12345stake",
        "--chain-id",
        "e2e-four",
        "--node",
        &rpc0,
        "--fees",
        "500stake",
        "-y",
        "--keyring-backend",
        "test",
        "--home",
        &home0,
    ])
    .expect("send");
    let rpc3 = format!("tcp://127.0.0.1:{}", net.nodes[3].rpc);
    net.wait("the send on node 3", 30, |n| {
        n.keystone(&["query", "bank", "balances", &to, "--node", &rpc3])
            .is_ok_and(|out| out.contains("\"999900012345\""))
    })
    .expect("committed and visible on every node");

    // One validator down (kill -9): the other three hold 3/4 of the power and go on.
    net.kill(3);
    let h = heights(&net, &[0, 1, 2]).into_iter().max().unwrap_or(0);
    net.wait_height(&[0, 1, 2], h + 3, 60)
        .expect("three of four keep committing");

    // Two down: half the power. Nothing more is committed (at most the height in flight).
    net.kill(2);
    std::thread::sleep(std::time::Duration::from_secs(2));
    let stuck = heights(&net, &[0, 1]).into_iter().max().unwrap_or(0);
    std::thread::sleep(std::time::Duration::from_secs(4));
    let later = heights(&net, &[0, 1]).into_iter().max().unwrap_or(0);
    assert!(later <= stuck + 1, "halted: {stuck} then {later}");

    // One returns: the chain resumes; then the last one, which catches up.
    net.start(2).expect("restart node 2");
    net.wait_height(&[0, 1, 2], later + 3, 90)
        .expect("the chain resumes with three");
    net.start(3).expect("restart node 3");
    let top = heights(&net, &[0, 1, 2]).into_iter().max().unwrap_or(0);
    net.wait_height(&all, top + 2, 90)
        .expect("the fourth catches up and all go on");
    let upto = heights(&net, &all).into_iter().min().unwrap_or(0);
    same_chain(&net, &all, upto);
    no_double_sign(&net, &all, upto, &[]);
}

#[test]
fn a_validator_down_for_100_heights_catches_up_and_a_full_node_follows() {
    let _one = serial();
    let dir = tempfile::tempdir().expect("tmp");
    let mut net = net(4, "e2e-sync", dir.path());
    // Liveness is judged over 100 blocks by default: 100 missed heights would jail node 3.
    // This test is about catching up, so the window is wider than the outage.
    net.edit_genesis(|g| {
        g["app_state"]["slashing"]["params"]["signed_blocks_window"] = json!("10000");
    })
    .expect("genesis");
    net.start_all().expect("start");
    net.wait_height(&[0, 1, 2, 3], 2, 90).expect("blocks");
    net.kill(3);
    let from = heights(&net, &[0, 1, 2]).into_iter().max().unwrap_or(0);
    net.wait_height(&[0, 1, 2], from + 100, 240)
        .expect("three validators make 100 more blocks");

    net.start(3).expect("restart node 3");
    let target = heights(&net, &[0, 1, 2]).into_iter().max().unwrap_or(0);
    net.wait_height(&[3], target, 120)
        .expect("node 3 catches up by block sync");
    // The progress line comes with the next tick.
    net.wait("a block sync progress line", 10, |n| {
        std::fs::read_to_string(n.dir().join("node3.log"))
            .is_ok_and(|log| log.contains("block sync") && log.contains("target="))
    })
    .expect("progress lines with height and target");
    // ...and then takes part: its precommits appear in new commits.
    let caught = net.height(3).unwrap_or(0);
    net.wait_height(&[0, 1, 2, 3], caught + 5, 60)
        .expect("all four go on");
    let me = net.validator_address(3).expect("node 3's key");
    let signs = (caught + 1..=caught + 5).any(|h| {
        net.rpc(0, "commit", json!({"height": h.to_string()}))
            .is_some_and(|c| {
                c["signed_header"]["commit"]["signatures"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|s| {
                        s["validator_address"].as_str() == Some(me.as_str())
                            && s["block_id_flag"] == 2
                    })
            })
    });
    assert!(signs, "node 3 signs blocks again after catching up");

    // A full node (not a validator) joins from genesis through node 0 and follows.
    let base = free_base(10).expect("a free port range on 127.0.0.1");
    let full = net
        .add_full_node(base, &FAST_TIMEOUTS)
        .expect("full node home");
    net.start(full).expect("start the full node");
    let now = net.height(0).unwrap_or(0);
    net.wait_height(&[full], now + 2, 120)
        .expect("the full node follows the chain");
    let upto = heights(&net, &[0, 1, 2, 3, full])
        .into_iter()
        .min()
        .unwrap_or(0);
    same_chain(&net, &[0, 1, 2, 3, full], upto);
    no_double_sign(&net, &[0, 1, 2, 3], upto, &[]);
}

#[test]
fn a_double_signing_validator_is_caught_in_committed_evidence() {
    let _one = serial();
    let dir = tempfile::tempdir().expect("tmp");
    let mut net = net(4, "e2e-byz", dir.path());
    for i in 0..3 {
        net.start(i).expect("start");
    }
    net.start_with(3, &["--byzantine-double-sign"])
        .expect("start the double signer");
    let byz = net.validator_address(3).expect("key");
    let mut found_at = None;
    net.wait("evidence against node 3 in a committed block", 90, |n| {
        let top = n.height(0).unwrap_or(0);
        found_at = (1..=top).find(|&h| {
            n.rpc(0, "block", json!({"height": h.to_string()}))
                .is_some_and(|b| {
                    b["block"]["evidence"]["evidence"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .any(|e| {
                            e["type"] == "tendermint/DuplicateVoteEvidence"
                                && e["value"]["vote_a"]["validator_address"].as_str()
                                    == Some(byz.as_str())
                                && e["value"]["vote_b"]["validator_address"].as_str()
                                    == Some(byz.as_str())
                        })
                })
        });
        found_at.is_some()
    })
    .expect("honest nodes commit duplicate-vote evidence");
    let at = found_at.unwrap_or(0);
    net.wait_height(&[0, 1, 2], at + 2, 60)
        .expect("the chain goes on");
    let upto = heights(&net, &[0, 1, 2]).into_iter().min().unwrap_or(0);
    same_chain(&net, &[0, 1, 2], upto);
    no_double_sign(&net, &[0, 1, 2], upto, &[byz]);
}

/// Connect to node 0 as a peer with its own key, send `channel`/`bytes`, and report whether
/// the node hung up on us (reads end in an error other than a timeout) within `secs`.
fn node_hangs_up_after(net: &Localnet, chain: &str, channel: u8, bytes: &[u8], secs: u64) -> bool {
    use keystone_p2p::{connect, ConnectConfig, NodeInfo};
    let key = keystone_consensus_types::PrivateKey::from_seed([0x77; 32]);
    let channels = keystone_consensus_driver::reactor::channels(22 * 1024 * 1024);
    let ids: Vec<u8> = channels.iter().map(|(c, _)| *c).collect();
    let info = NodeInfo::new(
        &key.public_key(),
        chain,
        "tcp://127.0.0.1:1",
        "intruder",
        &ids,
    );
    let stream = std::net::TcpStream::connect(("127.0.0.1", net.nodes[0].p2p)).expect("dial");
    let mut cfg = ConnectConfig::new(channels);
    cfg.read_timeout = Some(std::time::Duration::from_secs(secs));
    let mut peer = connect(stream, &key, &info, &cfg).expect("the node accepts a well-formed peer");
    peer.writer.send(channel, bytes).expect("send");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    while std::time::Instant::now() < deadline {
        match peer.reader.read() {
            Ok(_) => continue,
            Err(e) => return !e.is_timeout(),
        }
    }
    false
}

#[test]
fn a_peer_sending_garbage_or_forged_evidence_is_dropped_and_the_node_goes_on() {
    use keystone_consensus_types::{
        Address, BlockId, DuplicateVoteEvidence, PartSetHeader, PrivateKey, Time, Vote, VoteType,
    };
    let _one = serial();
    let dir = tempfile::tempdir().expect("tmp");
    let mut net = net(4, "e2e-peer", dir.path());
    net.start_all().expect("start");
    net.wait_height(&[0, 1, 2, 3], 2, 90).expect("blocks");

    // A well-behaved peer stays connected (the control)...
    let (ch, ask) = keystone_consensus_driver::reactor::encode(
        &keystone_consensus_driver::reactor::Wire::StatusRequest,
    );
    assert!(!node_hangs_up_after(&net, "e2e-peer", ch, &ask, 3));
    // ...one sending undecodable bytes on the vote channel does not.
    assert!(node_hangs_up_after(
        &net,
        "e2e-peer",
        0x22,
        &[0xff, 0x00, 0x13, 0x37],
        10
    ));

    // Evidence against validator 0 at height 1, signed by someone else.
    let addr =
        Address::from_slice(&hex_decode(&net.validator_address(0).expect("key"))).expect("address");
    let forger = PrivateKey::from_seed([0x66; 32]);
    let vote = |tag: &[u8]| {
        let mut v = Vote {
            vote_type: VoteType::Prevote,
            height: 1,
            round: 0,
            block_id: Some(BlockId {
                hash: keystone_consensus_types::sha256(tag),
                part_set_header: PartSetHeader {
                    total: 1,
                    hash: keystone_consensus_types::sha256(tag),
                },
            }),
            timestamp: Time::from_unix_millis(1_700_000_000_000),
            validator_address: addr,
            validator_index: 0,
            signature: None,
        };
        v.sign("e2e-peer", &forger);
        v
    };
    let (a, b) = (vote(b"a"), vote(b"b"));
    let (vote_a, vote_b) = if BlockId::key(a.block_id.as_ref()) < BlockId::key(b.block_id.as_ref())
    {
        (a, b)
    } else {
        (b, a)
    };
    let ev = DuplicateVoteEvidence {
        vote_a,
        vote_b,
        total_voting_power: 40,
        validator_power: 10,
        timestamp: Time::from_unix_millis(1_700_000_000_000),
    };
    let (ch, bytes) = keystone_consensus_driver::reactor::encode(
        &keystone_consensus_driver::reactor::Wire::Gossip(
            keystone_consensus_driver::engine::Gossip::Evidence(Box::new(ev)),
        ),
    );
    assert!(node_hangs_up_after(&net, "e2e-peer", ch, &bytes, 10));

    // The node is unharmed.
    let h = net.height(0).unwrap_or(0);
    net.wait_height(&[0, 1, 2, 3], h + 3, 60)
        .expect("the network goes on");
}

fn hex_decode(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}
