//! A real node over its JSON-RPC: a `cosmrs`-signed MsgSend broadcast with
//! `broadcast_tx_sync` is committed, and the recipient's balance, read with `abci_query`
//! `/store/key` and `prove=true`, verifies with the `ics23` crate against the app hash in the
//! next block's header (fetched with `block`). Malformed requests get CometBFT's error shapes.

use base64::Engine as _;
use cosmrs::AccountId;

mod common;
use common::{alice_key, alice_send, funded_home, start_quiet, until};

fn http(port: u16, method: &str, path: &str, body: &str) -> Option<serde_json::Value> {
    common::http(port, method, path, body).map(|(_, v)| v)
}

fn rpc(port: u16, method: &str, params: serde_json::Value) -> serde_json::Value {
    let body = serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
        .to_string();
    http(port, "POST", "/", &body).expect("rpc answer")
}

#[test]
fn broadcast_commit_and_prove_a_balance() {
    let dir = tempfile::tempdir().expect("tmp");
    let home = dir.path();
    let port = funded_home(home, "keystone-rpc", "50ms").rpc;
    let _node = start_quiet(home);
    until("the RPC server", 60, || http(port, "GET", "/health", ""));

    // alice is genesis account 0 of the funded home.
    let bob = AccountId::new("cosmos", &[0xb0; 20]).expect("id");
    let raw = alice_send(home, "keystone-rpc", &bob, 100, 0);

    let res = common::broadcast_tx_sync(port, &raw);
    assert_eq!(res["result"]["code"], 0, "{res}");
    assert_eq!(
        res["result"]["hash"].as_str().expect("hash"),
        hex::encode_upper(keystone_consensus_types::sha256(&raw).0)
    );

    let key_path = format!("bank/balances/{bob}/stake");
    let (height, proof_b64) = until("the send to be committed", 60, || {
        let q = rpc(
            port,
            "abci_query",
            serde_json::json!({"path": "/store/key", "data": hex::encode(&key_path), "prove": true}),
        );
        let r = &q["result"]["response"];
        let value = base64::engine::general_purpose::STANDARD
            .decode(r["value"].as_str()?)
            .ok()?;
        (value == b"100").then(|| {
            (
                r["height"]
                    .as_str()
                    .expect("height")
                    .parse::<u64>()
                    .expect("number"),
                r["proofOps"]["ops"][0]["data"]
                    .as_str()
                    .expect("proof")
                    .to_string(),
            )
        })
    });
    // The state after block H is committed to by the header of block H+1.
    let next = until("the next block", 60, || {
        let b = rpc(
            port,
            "block",
            serde_json::json!({"height": (height + 1).to_string()}),
        );
        b.get("result").cloned()
    });
    let app_hash = hex::decode(
        next["block"]["header"]["app_hash"]
            .as_str()
            .expect("app hash"),
    )
    .expect("hex");
    use keystone_proto::prost::Message;
    let proof = ics23::CommitmentProof::decode(
        base64::engine::general_purpose::STANDARD
            .decode(proof_b64)
            .expect("b64")
            .as_slice(),
    )
    .expect("proof");
    assert!(ics23::verify_membership::<ics23::HostFunctionsManager>(
        &proof,
        &keystone_store::proof_spec(),
        &app_hash,
        key_path.as_bytes(),
        b"100"
    ));
    // An absent key at the same height: a non-existence proof against the same app hash.
    let absent_key = format!("bank/balances/{bob}/uatom");
    let q = rpc(
        port,
        "abci_query",
        serde_json::json!({"path": "/store/key", "data": hex::encode(&absent_key),
            "prove": true, "height": height.to_string()}),
    );
    let r = &q["result"]["response"];
    assert_eq!(r["height"], height.to_string(), "{q}");
    let absent_proof = ics23::CommitmentProof::decode(
        base64::engine::general_purpose::STANDARD
            .decode(r["proofOps"]["ops"][0]["data"].as_str().expect("proof"))
            .expect("b64")
            .as_slice(),
    )
    .expect("proof");
    assert!(ics23::verify_non_membership::<ics23::HostFunctionsManager>(
        &absent_proof,
        &keystone_store::proof_spec(),
        &app_hash,
        absent_key.as_bytes(),
    ));
    assert!(
        !ics23::verify_non_membership::<ics23::HostFunctionsManager>(
            &absent_proof,
            &keystone_store::proof_spec(),
            &app_hash,
            key_path.as_bytes(),
        ),
        "the absence proof does not stretch to a present key"
    );

    // URI-form requests as CometBFT's documentation types them: raw quotes in the request
    // line (curl sends them as they are), which the Go server accepts.
    let (status, q) = common::http(
        port,
        "GET",
        &format!("/abci_query?path=\"/store/key\"&data=\"{key_path}\"&height={height}"),
        "",
    )
    .expect("an answer");
    assert_eq!(status, 200, "{q}");
    assert_eq!(
        q["result"]["response"]["value"],
        base64::engine::general_purpose::STANDARD.encode("100"),
        "{q}"
    );
    // Not a Cosmos transaction: CheckTx refuses it, in an answer, not an HTTP error.
    let (status, r) = common::http(port, "GET", "/broadcast_tx_commit?tx=\"name=satoshi\"", "")
        .expect("an answer");
    assert_eq!(status, 200, "{r}");
    assert_eq!(r["result"]["check_tx"]["codespace"], "sdk", "{r}");
    assert_ne!(r["result"]["check_tx"]["code"], 0, "{r}");
    let (status, found) =
        common::http(port, "GET", "/tx_search?query=\"tx.height>0\"", "").expect("an answer");
    assert_eq!(status, 200, "{found}");
    assert_eq!(found["result"]["total_count"], "1", "{found}");

    // The transaction by hash and by search, and the other read methods.
    let hash_hex = hex::encode_upper(keystone_consensus_types::sha256(&raw).0);
    let t = rpc(
        port,
        "tx",
        serde_json::json!({"hash": base64::engine::general_purpose::STANDARD.encode(keystone_consensus_types::sha256(&raw).0)}),
    );
    assert_eq!(t["result"]["hash"], hash_hex, "{t}");
    assert_eq!(t["result"]["tx_result"]["code"], 0);
    let tx_height: u64 = t["result"]["height"]
        .as_str()
        .expect("height")
        .parse()
        .expect("n");
    let found = rpc(
        port,
        "tx_search",
        serde_json::json!({"query": format!("tx.hash='{hash_hex}'")}),
    );
    assert_eq!(found["result"]["total_count"], "1", "{found}");
    let at = rpc(
        port,
        "tx_search",
        serde_json::json!({"query": format!("tx.height={tx_height}")}),
    );
    assert_eq!(at["result"]["txs"][0]["hash"], hash_hex);
    let info = rpc(port, "abci_info", serde_json::json!({}));
    assert!(
        info["result"]["response"]["last_block_height"]
            .as_str()
            .expect("h")
            .parse::<u64>()
            .expect("n")
            >= tx_height
    );
    let vals = rpc(
        port,
        "validators",
        serde_json::json!({"height": tx_height.to_string()}),
    );
    assert_eq!(vals["result"]["count"], "1");
    // A signed header the tendermint crate parses and checks (header and commit agree).
    let commit = rpc(
        port,
        "commit",
        serde_json::json!({"height": tx_height.to_string()}),
    );
    let sh: tendermint::block::signed_header::SignedHeader =
        serde_json::from_value(commit["result"]["signed_header"].clone())
            .expect("tendermint parses our signed header");
    assert_eq!(sh.header.height.value(), tx_height);
    // broadcast_tx_commit waits for the block: the next send (sequence 1) comes back committed.
    let raw2 = alice_send(home, "keystone-rpc", &bob, 5, 1);
    let b64_2 = base64::engine::general_purpose::STANDARD.encode(&raw2);
    let committed = rpc(
        port,
        "broadcast_tx_commit",
        serde_json::json!({"tx": b64_2}),
    );
    assert_eq!(committed["result"]["check_tx"]["code"], 0, "{committed}");
    assert_eq!(committed["result"]["tx_result"]["code"], 0, "{committed}");
    assert!(
        committed["result"]["height"]
            .as_str()
            .expect("height")
            .parse::<u64>()
            .expect("n")
            > tx_height
    );
    let result_events = committed["result"]["tx_result"]["events"]
        .as_array()
        .expect("events")
        .clone();
    assert!(
        result_events.iter().any(|e| e["type"] == "message"
            && e["attributes"]
                .as_array()
                .expect("attributes")
                .iter()
                .any(|a| a["key"] == "action"
                    && a["value"] == "/cosmos.bank.v1beta1.MsgSend"
                    && a["index"] == true)),
        "v0.38 events, plain-string attributes: {committed}"
    );

    // Both sends found by their events, as cosmjs's searchTx and gaiad's `query txs` ask.
    let alice_b32 = alice_key(home)
        .public_key()
        .account_id("cosmos")
        .expect("id")
        .to_string();
    let by_sender = rpc(
        port,
        "tx_search",
        serde_json::json!({"query": format!("message.sender='{alice_b32}'"), "order_by": "asc"}),
    );
    assert_eq!(by_sender["result"]["total_count"], "2", "{by_sender}");
    assert_eq!(by_sender["result"]["txs"][0]["hash"], hash_hex);
    let newest_first = rpc(
        port,
        "tx_search",
        serde_json::json!({
            "query": format!("transfer.recipient='{bob}' AND message.action='/cosmos.bank.v1beta1.MsgSend'"),
            "order_by": "desc", "per_page": "1", "page": "2"
        }),
    );
    assert_eq!(newest_first["result"]["total_count"], "2", "{newest_first}");
    assert_eq!(
        newest_first["result"]["txs"][0]["hash"], hash_hex,
        "page 2 of 1 per page, newest first, is the first send"
    );
    let past_end = rpc(
        port,
        "tx_search",
        serde_json::json!({"query": format!("message.sender='{alice_b32}'"), "page": "3", "per_page": "1"}),
    );
    assert!(
        past_end["error"]["data"]
            .as_str()
            .expect("an error")
            .contains("page should be within [1, 2] range"),
        "{past_end}"
    );
    let malformed = rpc(
        port,
        "tx_search",
        serde_json::json!({"query": "malformed query"}),
    );
    assert!(
        malformed["error"]["data"]
            .as_str()
            .expect("an error")
            .contains("failed to parse query"),
        "{malformed}"
    );
    let uri = http(
        port,
        "GET",
        &format!("/tx_search?query=%22message.sender=%27{alice_b32}%27%22"),
        "",
    )
    .expect("answer");
    assert_eq!(uri["result"]["total_count"], "2", "the URI form: {uri}");

    let again = rpc(
        port,
        "broadcast_tx_commit",
        serde_json::json!({"tx": b64_2}),
    );
    assert_eq!(
        again["error"]["data"], "tx already exists in cache",
        "a committed tx offered again is refused, as CometBFT refuses it: {again}"
    );

    let async_res = rpc(
        port,
        "broadcast_tx_async",
        serde_json::json!({"tx": "AAEC"}),
    );
    assert_eq!(
        async_res["result"]["code"], 0,
        "async answers before CheckTx"
    );
    let missing = rpc(port, "tx", serde_json::json!({"hash": "0x00"}));
    assert!(missing["error"]["data"]
        .as_str()
        .expect("data")
        .contains("not found"));

    // Bad input: each a clear error in CometBFT's shape, the node unaffected.
    let garbage = rpc(port, "broadcast_tx_sync", serde_json::json!({"tx": "AAEC"}));
    assert_eq!(garbage["result"]["code"], 2, "{garbage}");
    assert_eq!(
        rpc(port, "frobnicate", serde_json::json!({}))["error"]["code"],
        -32601
    );
    let parse = http(port, "POST", "/", "{not json").expect("answer");
    assert_eq!(parse["error"]["code"], -32700);
    let zero = rpc(port, "block", serde_json::json!({"height": "0"}));
    assert_eq!(
        zero["error"]["data"],
        "height must be greater than 0, but got 0"
    );
    let bad_height = http(
        port,
        "GET",
        "/abci_query?path=%22/store/key%22&data=0x00&height=x",
        "",
    )
    .expect("answer");
    assert_eq!(bad_height["error"]["code"], -32602);
    let status = http(port, "GET", "/status", "").expect("status");
    assert_eq!(status["result"]["node_info"]["network"], "keystone-rpc");
    assert!(
        status["result"]["sync_info"]["latest_block_height"]
            .as_str()
            .expect("h")
            .parse::<u64>()
            .expect("n")
            > height
    );
}
