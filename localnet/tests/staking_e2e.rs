//! Proof of stake end to end, on a 4-validator localnet started from gentxs, driven through
//! the `keystone` command line and JSON-RPC as an operator or a delegator would: a delegation
//! raises its validator's voting power in the engine's set (RPC `validators`) two heights
//! after it is committed; an unbonding returns the tokens only after the unbonding time; a
//! redelegation moves power from one validator to another; a fifth node joins with
//! `create-validator` and signs blocks.
//!
//! Every process is killed when its `Localnet` is dropped, also when a test fails.

mod common;

use common::{balance, committed, powers, query, reach, rewards_paid, tx, tx_result, valoper};
use keystone_localnet::{free_base, keystone_bin, Localnet, FAST_TIMEOUTS};
use serde_json::{json, Value};

const CHAIN: &str = "e2e-stake";
/// Short enough to wait for in a test.
const UNBONDING: &str = "6s";

#[test]
fn delegations_move_voting_power_and_a_new_validator_joins() {
    let dir = tempfile::tempdir().expect("tmp");
    let bin = keystone_bin().expect("the keystone binary is built next to the tests");
    let mut net = Localnet::init(
        &bin,
        dir.path(),
        4,
        CHAIN,
        free_base(50).expect("a free port range on 127.0.0.1"),
        &FAST_TIMEOUTS,
    )
    .expect("testnet init-files");
    net.edit_genesis(|g| {
        g["app_state"]["staking"]["params"]["unbonding_time"] = json!(UNBONDING);
    })
    .expect("short unbonding");
    net.start_all().expect("start");
    net.wait_height(&[0, 1, 2, 3], 2, 90)
        .expect("four validators from gentxs make blocks");
    let cons: Vec<String> = (0..4)
        .map(|i| net.validator_address(i).expect("key"))
        .collect();
    let genesis = powers(&net, 1);
    assert_eq!(
        genesis,
        cons.iter().map(|c| (c.clone(), 100)).collect(),
        "each gentx bonded 100000000stake: power 100"
    );
    let val1 = valoper(&net, 1, "node1");
    let val2 = valoper(&net, 2, "node2");
    let delegator = net.nodes[0].address.clone();

    // Delegate 50 power to node 1: its power in the set of H+2, not before.
    let h = tx(
        &net,
        0,
        &[
            "tx",
            "staking",
            "delegate",
            &val1,
            "50000000stake",
            "--from",
            "node0",
        ],
    );
    reach(&net, h + 2);
    assert_eq!(powers(&net, h + 1)[&cons[1]], 100, "unchanged at H+1");
    assert_eq!(powers(&net, h + 2)[&cons[1]], 150, "raised from H+2");
    let d = query(&net, &["staking", "delegation", &delegator, &val1]);
    assert_eq!(d["delegation_response"]["balance"]["amount"], "50000000");
    let rest = keystone_localnet::http(
        net.nodes[2].api,
        "GET",
        &format!("/cosmos/staking/v1beta1/validators/{val1}"),
        "",
    )
    .expect("REST answers");
    assert_eq!(rest["validator"]["tokens"], "150000000");
    assert_eq!(rest["validator"]["status"], "BOND_STATUS_BONDED");

    // Bad input is refused in the block and changes nothing but the fee (none here).
    let before = balance(&net, &delegator);
    let (_, code, log) = tx_result(
        &net,
        0,
        &[
            "tx", "staking", "delegate", &val1, "5uatom", "--from", "node0",
        ],
    );
    assert_ne!(code, 0, "a wrong denom fails");
    assert!(log.contains("invalid coin denomination"), "{log}");
    let (_, code, log) = tx_result(
        &net,
        0,
        &[
            "tx", "staking", "unbond", &val2, "1stake", "--from", "node0",
        ],
    );
    assert_ne!(code, 0, "nothing delegated to node 2 yet");
    assert!(log.contains("delegation"), "{log}");
    assert_eq!(balance(&net, &delegator), before, "nothing moved");

    // Unbond 20 of it: power drops at once (two heights later), tokens come back only after
    // the unbonding time.
    let before = balance(&net, &delegator);
    let r = committed(
        &net,
        0,
        &[
            "tx",
            "staking",
            "unbond",
            &val1,
            "20000000stake",
            "--from",
            "node0",
        ],
    );
    assert_eq!(r["tx_result"]["code"], 0, "{r}");
    let h: u64 = r["height"]
        .as_str()
        .and_then(|h| h.parse().ok())
        .expect("height");
    // The delegation's rewards so far are paid with the change (blocks mint and share).
    let before = before + rewards_paid(&r);
    assert!(rewards_paid(&r) > 0, "the delegation earned rewards: {r}");
    reach(&net, h + 2);
    assert_eq!(powers(&net, h + 2)[&cons[1]], 130);
    assert_eq!(balance(&net, &delegator), before, "still unbonding");
    let u = query(
        &net,
        &["staking", "unbonding-delegation", &delegator, &val1],
    );
    assert_eq!(u["unbond"]["entries"][0]["balance"], "20000000");
    net.wait("the unbonded tokens back", 60, |n| {
        balance(n, &delegator) == before + 20_000_000
    })
    .expect("returned after the unbonding time");

    // Redelegate 30 from node 1 to node 2.
    let h = tx(
        &net,
        0,
        &[
            "tx",
            "staking",
            "redelegate",
            &val1,
            &val2,
            "30000000stake",
            "--from",
            "node0",
        ],
    );
    reach(&net, h + 2);
    let p = powers(&net, h + 2);
    assert_eq!((p[&cons[1]], p[&cons[2]]), (100, 130), "power moved");
    let r = query(&net, &["staking", "redelegation", &delegator, &val1, &val2]);
    assert_eq!(
        r["redelegation_responses"][0]["entries"][0]["balance"],
        "30000000"
    );
    let pool = query(&net, &["staking", "pool"]);
    assert_eq!(
        pool["pool"]["bonded_tokens"], "430000000",
        "4 × 100 + 30 delegated"
    );

    // A fifth node: a full node that funds a key and creates its validator.
    let full = net
        .add_full_node(
            free_base(10).expect("a free port range on 127.0.0.1"),
            &FAST_TIMEOUTS,
        )
        .expect("full node home");
    // Peered with all four validators, as a validator would be: through node 0 alone, every
    // vote reaches it one relay late, and on a loaded 2-core machine it then keeps falling a
    // few heights behind and catching up by block sync instead of voting.
    let peers: Vec<String> = net.nodes[..4]
        .iter()
        .map(|n| format!("{}@127.0.0.1:{}", n.node_id, n.p2p))
        .collect();
    let config = net.nodes[full].home.join("config/config.toml");
    let text = std::fs::read_to_string(&config).expect("config");
    let line = text
        .lines()
        .find(|l| l.starts_with("persistent_peers"))
        .expect("persistent_peers")
        .to_string();
    std::fs::write(
        &config,
        text.replace(
            &line,
            &format!("persistent_peers = \"{}\"", peers.join(",")),
        ),
    )
    .expect("write config");
    net.start(full).expect("start the fifth node");
    let home = net.nodes[full].home.display().to_string();
    let out = net
        .keystone(&[
            "keys",
            "add",
            "op5",
            "--keyring-backend",
            "test",
            "--home",
            &home,
            "-o",
            "json",
        ])
        .expect("keys add");
    let op5 = serde_json::from_str::<Value>(out.trim()).expect("json")["address"]
        .as_str()
        .expect("address")
        .to_string();
    tx(
        &net,
        0,
        &["tx", "bank", "send", "node0", &op5, "200000000stake"],
    );
    let top = net.height(0).unwrap_or(0);
    net.wait_height(&[full], top, 120)
        .expect("the fifth node follows");
    let h = tx(
        &net,
        full,
        &[
            "tx",
            "staking",
            "create-validator",
            "--amount",
            "70000000stake",
            "--moniker",
            "node4",
            "--from",
            "op5",
        ],
    );
    let cons5 = net.validator_address(full).expect("key");
    reach(&net, h + 2);
    assert_eq!(powers(&net, h + 1).get(&cons5), None, "not yet at H+1");
    assert_eq!(
        powers(&net, h + 2).get(&cons5),
        Some(&70),
        "in the set from H+2"
    );
    // ...and signs: its precommits appear in the canonical commits that follow (each
    // block's last commit takes the precommits that arrive during `timeout_commit` too, so
    // a validator a hop further away is not counted absent; a few may still miss).
    reach(&net, h + 21);
    let signed = (h + 3..=h + 20).filter(|&k| {
        net.rpc(0, "commit", json!({"height": k.to_string()}))
            .is_some_and(|c| {
                c["signed_header"]["commit"]["signatures"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|s| s["validator_address"] == cons5.as_str() && s["block_id_flag"] == 2)
            })
    });
    let signed = signed.count();
    eprintln!("the new validator signed {signed} of 18 commits");
    if signed < 12 {
        let log = std::fs::read_to_string(net.dir().join(format!("{}.log", net.nodes[full].name)))
            .unwrap_or_default();
        let tail: Vec<&str> = log.lines().rev().take(40).collect();
        panic!(
            "the new validator signed {signed} of 18 commits; its log ends:\n{}",
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        );
    }
}
