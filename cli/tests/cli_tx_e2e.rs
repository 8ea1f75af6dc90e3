//! The user's walk-through with the real binary: start a node, `tx bank send` from a key,
//! `query bank balances`, and `query state … --prove`, which checks the proof against the next
//! block's app hash before printing.

use std::path::Path;
use std::time::{Duration, Instant};

mod common;
use common::{funded_home, ok, run as ks_stdin, start_quiet};

fn ks(home: &Path, args: &[&str]) -> (bool, String, String) {
    ks_stdin(home, args, "")
}

fn http(port: u16, method: &str, path: &str, body: &str) -> (u16, serde_json::Value) {
    common::http(port, method, path, body).expect("the REST server answers")
}

#[test]
fn send_then_query_with_proof() {
    let dir = tempfile::tempdir().expect("tmp");
    let home = dir.path();
    let ports = funded_home(home, "walk-1", "50ms");
    let node = format!("tcp://127.0.0.1:{}", ports.rpc);
    let rest_port = ports.rest;
    let t = ["--keyring-backend", "test"];
    ok(home, &["keys", "add", "bob", t[0], t[1]]);
    let bob = ok(home, &["keys", "show", "bob", "-a", t[0], t[1]])
        .trim()
        .to_string();
    let _node = start_quiet(home);
    let deadline = Instant::now() + Duration::from_secs(60);
    while !ks(home, &["query", "bank", "balances", &bob, "--node", &node]).0 {
        assert!(Instant::now() < deadline, "node did not come up");
        std::thread::sleep(Duration::from_millis(100));
    }

    let out = ok(
        home,
        &[
            "tx",
            "bank",
            "send",
            "alice",
            &bob,
            "100stake",
            "--chain-id",
            "walk-1",
            "--node",
            &node,
            "--fees",
            "500stake",
            "-y",
            t[0],
            t[1],
        ],
    );
    let res: serde_json::Value = serde_json::from_str(out.trim()).expect("json");
    assert_eq!(res["code"], 0, "{res}");
    assert_eq!(res["txhash"].as_str().expect("hash").len(), 64);

    let balances = loop {
        let out = ok(home, &["query", "bank", "balances", &bob, "--node", &node]);
        let v: serde_json::Value = serde_json::from_str(out.trim()).expect("json");
        if v["balances"].as_array().is_some_and(|b| !b.is_empty()) {
            break v;
        }
        assert!(Instant::now() < deadline, "the send was not committed");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(
        balances["balances"][0],
        serde_json::json!({"denom": "stake", "amount": "100"})
    );
    assert_eq!(balances["pagination"]["total"], "1");

    let key = format!("bank/balances/{bob}/stake");
    let out = ok(home, &["query", "state", &key, "--prove", "--node", &node]);
    let v: serde_json::Value = serde_json::from_str(out.trim()).expect("json");
    assert_eq!(v["verified"], "present");
    assert_eq!(v["value"], "MTAw", "base64 of \"100\"");
    let absent = ok(
        home,
        &[
            "query",
            "state",
            &format!("bank/balances/{bob}/uatom"),
            "--prove",
            "--node",
            &node,
        ],
    );
    let v: serde_json::Value = serde_json::from_str(absent.trim()).expect("json");
    assert_eq!(v["verified"], "absent");

    // The tx, the block it is in, and the sender's account, from the command line.
    let txhash = res["txhash"].as_str().expect("hash").to_string();
    let found = loop {
        let (good, out, _) = ks(home, &["query", "tx", &txhash, "--node", &node]);
        if good {
            break serde_json::from_str::<serde_json::Value>(out.trim()).expect("json");
        }
        assert!(Instant::now() < deadline, "tx not found");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(found["tx_result"]["code"], 0);
    let h = found["height"].as_str().expect("height").to_string();
    let block: serde_json::Value =
        serde_json::from_str(ok(home, &["query", "block", &h, "--node", &node]).trim())
            .expect("json");
    assert_eq!(block["block"]["header"]["height"], h);
    let alice_addr = ok(home, &["keys", "show", "alice", "-a", t[0], t[1]])
        .trim()
        .to_string();
    let acc: serde_json::Value = serde_json::from_str(
        ok(
            home,
            &["query", "auth", "account", &alice_addr, "--node", &node],
        )
        .trim(),
    )
    .expect("json");
    assert_eq!(acc["account"]["sequence"], "1");

    // The same over REST, in the LCD's shapes, and the proof endpoint.
    let (code, body) = http(
        rest_port,
        "GET",
        &format!("/cosmos/bank/v1beta1/balances/{bob}"),
        "",
    );
    assert_eq!(
        (code, body["balances"][0]["amount"].clone()),
        (200, serde_json::json!("100"))
    );
    let alice = ok(home, &["keys", "show", "alice", "-a", t[0], t[1]])
        .trim()
        .to_string();
    let (code, body) = http(
        rest_port,
        "GET",
        &format!("/cosmos/auth/v1beta1/accounts/{alice}"),
        "",
    );
    assert_eq!(code, 200);
    assert_eq!(body["account"]["sequence"], "1");
    assert_eq!(
        body["account"]["pub_key"]["@type"],
        "/cosmos.crypto.secp256k1.PubKey"
    );
    let nobody = "cosmos1qypqxpq9qcrsszg2pvxq6rs0zqg3yyc5lzv7xu";
    let (code, body) = http(
        rest_port,
        "GET",
        &format!("/cosmos/auth/v1beta1/accounts/{nobody}"),
        "",
    );
    assert_eq!(
        (code, body["code"].clone()),
        (404, serde_json::json!(5)),
        "{body}"
    );
    let (code, _) = http(
        rest_port,
        "GET",
        "/cosmos/bank/v1beta1/balances/notanaddress",
        "",
    );
    assert_eq!(code, 400);
    let (code, body) = http(
        rest_port,
        "GET",
        &format!("/keystone/v1/state/{key}?prove=true"),
        "",
    );
    assert_eq!(code, 200, "{body}");
    {
        use base64::Engine as _;
        use keystone_proto::prost::Message;
        let b64 = base64::engine::general_purpose::STANDARD;
        let proof = ics23::CommitmentProof::decode(
            b64.decode(body["proof"].as_str().expect("proof"))
                .expect("b64")
                .as_slice(),
        )
        .expect("proof");
        let app_hash = hex::decode(body["app_hash"].as_str().expect("app hash")).expect("hex");
        let value = b64
            .decode(body["value"].as_str().expect("value"))
            .expect("b64");
        assert_eq!(value, b"100");
        assert!(ics23::verify_membership::<ics23::HostFunctionsManager>(
            &proof,
            &keystone_store::proof_spec(),
            &app_hash,
            key.as_bytes(),
            &value
        ));
        let mut tampered = value.clone();
        tampered[0] ^= 1;
        assert!(!ics23::verify_membership::<ics23::HostFunctionsManager>(
            &proof,
            &keystone_store::proof_spec(),
            &app_hash,
            key.as_bytes(),
            &tampered
        ));
    }
    let (code, body) = http(
        rest_port,
        "POST",
        "/cosmos/tx/v1beta1/txs",
        r#"{"tx_bytes":"AAEC","mode":"BROADCAST_MODE_SYNC"}"#,
    );
    assert_eq!(
        (code, body["tx_response"]["code"].clone()),
        (200, serde_json::json!(2)),
        "{body}"
    );
    let (code, _) = http(rest_port, "POST", "/cosmos/tx/v1beta1/txs", "{nope");
    assert_eq!(code, 400);

    // More than alice has: the mempool admits it (CheckTx runs the ante chain only, as the
    // SDK's does); in the block it fails with sdk 5, paying its fee and using its sequence.
    let send = |amount: &str| {
        ks(
            home,
            &[
                "tx",
                "bank",
                "send",
                "alice",
                &bob,
                amount,
                "--chain-id",
                "walk-1",
                "--node",
                &node,
                "--fees",
                "500stake",
                "-y",
                t[0],
                t[1],
            ],
        )
    };
    let (good, out, err) = send("99999999stake");
    assert!(good && out.contains("\"code\":0"), "{out} {err}");
    loop {
        let (_, acc) = http(
            rest_port,
            "GET",
            &format!("/cosmos/auth/v1beta1/accounts/{alice}"),
            "",
        );
        if acc["account"]["sequence"] == "2" {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the failing send was not committed"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let (_, b) = http(
        rest_port,
        "GET",
        &format!("/cosmos/bank/v1beta1/balances/{alice}"),
        "",
    );
    assert_eq!(
        b["balances"][0]["amount"],
        (1_000_000 - 100 - 500 - 500).to_string(),
        "two fees, one transfer"
    );
    let (_, b) = http(
        rest_port,
        "GET",
        &format!("/cosmos/bank/v1beta1/balances/{bob}"),
        "",
    );
    assert_eq!(
        b["balances"][0]["amount"], "100",
        "the failed transfer moved nothing"
    );

    // Refusals before the mempool are errors with the SDK's words.
    let (good, _, err) = ks(
        home,
        &[
            "tx",
            "bank",
            "send",
            "alice",
            "cosmos1bad",
            "1stake",
            "--chain-id",
            "walk-1",
            "--node",
            &node,
            t[0],
            t[1],
        ],
    );
    assert!(!good);
    assert!(err.contains("invalid recipient"), "{err}");
    let (good, _, err) = ks(
        home,
        &[
            "tx",
            "bank",
            "send",
            "alice",
            &bob,
            "1stake",
            "--chain-id",
            "other-chain",
            "--node",
            &node,
            "--fees",
            "500stake",
            t[0],
            t[1],
        ],
    );
    assert!(!good);
    assert!(err.contains("signature verification failed"), "{err}");
    let (good, _, err) = ks(
        home,
        &[
            "query",
            "bank",
            "balances",
            &bob,
            "--node",
            "tcp://127.0.0.1:1",
        ],
    );
    assert!(!good);
    assert!(err.contains("cannot reach the node"), "{err}");
}

/// client.toml: `init` writes the chain id there; `config set client` adds the node and the
/// keyring backend; then a send needs none of `--chain-id`, `--node`, `--keyring-backend`,
/// and a flag still beats the file.
#[test]
fn client_toml_supplies_chain_id_node_and_keyring_backend() {
    let dir = tempfile::tempdir().expect("tmp");
    let home = dir.path();
    let ports = funded_home(home, "client-toml-1", "50ms");
    let node = format!("tcp://127.0.0.1:{}", ports.rpc);
    assert_eq!(
        ok(home, &["config", "get", "client", "chain-id"]).trim(),
        "client-toml-1"
    );
    ok(home, &["config", "set", "client", "node", &node]);
    ok(
        home,
        &["config", "set", "client", "keyring-backend", "test"],
    );
    let (good, _, err) = ks(home, &["config", "set", "client", "keyring-backend", "os"]);
    assert!(!good && err.contains("invalid keyring-backend"), "{err}");
    let view = ok(home, &["config", "view", "client"]);
    assert!(view.contains(&format!("node = \"{node}\"")), "{view}");
    ok(home, &["keys", "add", "bob"]);
    let bob = ok(home, &["keys", "show", "bob", "-a"]).trim().to_string();
    let _node = start_quiet(home);
    let deadline = Instant::now() + Duration::from_secs(60);
    while !ks(home, &["query", "bank", "balances", &bob]).0 {
        assert!(Instant::now() < deadline, "node did not come up");
        std::thread::sleep(Duration::from_millis(100));
    }
    let out = ok(
        home,
        &[
            "tx", "bank", "send", "alice", &bob, "7stake", "--fees", "500stake",
        ],
    );
    let res: serde_json::Value = serde_json::from_str(out.trim()).expect("json");
    assert_eq!(res["code"], 0, "{res}");
    // A flag beats the file: a wrong --chain-id is refused by the node's signature check.
    let (good, _, err) = ks(
        home,
        &[
            "tx",
            "bank",
            "send",
            "alice",
            &bob,
            "1stake",
            "--chain-id",
            "other-chain",
            "--sequence",
            "1",
        ],
    );
    assert!(
        !good && err.contains("signature verification failed"),
        "{err}"
    );
}
