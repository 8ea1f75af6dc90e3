//! The REST server of a real `keystone` node, over raw HTTP: the tx service (a cosmrs-signed
//! send simulated, broadcast, found by hash and by events), the tendermint service (node
//! info, blocks, validator sets), `?prove=true` answers verified with the `ics23` crate
//! against the app hash of the next header fetched over RPC (present, absent, tampered),
//! paging, the gateway's errors for bad input, the OpenAPI document against the route table
//! and the running router, and the misuse protection of both HTTP servers (rate limits,
//! body limit, timeout, CORS) configured through config.toml and app.toml.

use base64::Engine as _;
use cosmrs::bank::MsgSend;
use cosmrs::crypto::secp256k1::SigningKey;
use cosmrs::staking::MsgDelegate;
use cosmrs::tx::{self, Fee, Msg, SignDoc, SignerInfo};
use cosmrs::{AccountId, Any, Coin};
use keystone_proto::prost::Message;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::path::Path;
use std::time::{Duration, Instant};

mod common;
use common::{funded_home, ok, rpc, start_quiet, until};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// One HTTP/1.1 request with extra headers: (status, lower-cased head, JSON body or null).
fn raw(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Option<(u16, String, Value)> {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(20))).ok()?;
    let extra: String = headers
        .iter()
        .map(|(k, v)| format!("{k}: {v}\r\n"))
        .collect();
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n{extra}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).ok()?;
    let mut resp = Vec::new();
    let _ = s.read_to_end(&mut resp);
    let resp = String::from_utf8_lossy(&resp).into_owned();
    let (head, body) = resp.split_once("\r\n\r\n")?;
    let status = head.split_whitespace().nth(1)?.parse().ok()?;
    Some((
        status,
        head.to_ascii_lowercase(),
        serde_json::from_str(body).unwrap_or(Value::Null),
    ))
}

fn get(port: u16, path: &str) -> (u16, Value) {
    raw(port, "GET", path, &[], "")
        .map(|(s, _, v)| (s, v))
        .unwrap_or_else(|| panic!("no answer to GET {path}"))
}

fn post(port: u16, path: &str, body: &Value) -> (u16, Value) {
    raw(port, "POST", path, &[], &body.to_string())
        .map(|(s, _, v)| (s, v))
        .unwrap_or_else(|| panic!("no answer to POST {path}"))
}

fn b64d(v: &Value) -> Vec<u8> {
    B64.decode(v.as_str().unwrap_or_else(|| panic!("not a string: {v}")))
        .expect("base64")
}

/// The error shape of the gateway: `{code, message, details: []}`.
fn assert_gateway_error(status: u16, body: &Value, want_status: u16, want_code: u64) {
    assert_eq!(status, want_status, "{body}");
    assert_eq!(body["code"], want_code, "{body}");
    assert!(body["message"].is_string(), "{body}");
    assert_eq!(body["details"], json!([]), "{body}");
}

fn spec() -> ics23::ProofSpec {
    keystone_store::proof_spec()
}

/// Check `answer.proof` as a client would: every entry against the app hash in the header of
/// `header_height` fetched over RPC; present values by membership, absent by non-membership;
/// and a flipped byte of a value or of a proof fails. Returns the entries.
fn verify_proof(answer: &Value, rpc_port: u16) -> Vec<Value> {
    let p = &answer["proof"];
    let height: u64 = p["height"].as_str().expect("height").parse().expect("n");
    assert_eq!(p["header_height"], (height + 1).to_string(), "{p}");
    let header = rpc(
        rpc_port,
        "header",
        json!({"height": (height + 1).to_string()}),
    );
    let app_hash_hex = header["result"]["header"]["app_hash"]
        .as_str()
        .expect("header app hash");
    assert_eq!(p["app_hash"], app_hash_hex, "the app hash of header H+1");
    let root = hex::decode(app_hash_hex).expect("hex");
    let entries = p["entries"].as_array().expect("entries").clone();
    assert!(!entries.is_empty());
    for e in &entries {
        let key = e["key"].as_str().expect("key").as_bytes();
        let proof_bytes = b64d(&e["proof"]);
        let proof = ics23::CommitmentProof::decode(proof_bytes.as_slice()).expect("proof");
        if e["value"].is_null() {
            assert!(
                ics23::verify_non_membership::<ics23::HostFunctionsManager>(
                    &proof,
                    &spec(),
                    &root,
                    key
                ),
                "absence of {e}"
            );
        } else {
            let value = b64d(&e["value"]);
            assert!(
                ics23::verify_membership::<ics23::HostFunctionsManager>(
                    &proof,
                    &spec(),
                    &root,
                    key,
                    &value
                ),
                "presence of {e}"
            );
            let mut tampered = value.clone();
            tampered[0] ^= 1;
            assert!(
                !ics23::verify_membership::<ics23::HostFunctionsManager>(
                    &proof,
                    &spec(),
                    &root,
                    key,
                    &tampered
                ),
                "a tampered value must not verify"
            );
        }
        // A flipped byte deep in the proof: it no longer decodes, or no longer verifies.
        let mut bad = proof_bytes.clone();
        let at = bad.len() - 5;
        bad[at] ^= 0x55;
        if let Ok(bad) = ics23::CommitmentProof::decode(bad.as_slice()) {
            let still = if e["value"].is_null() {
                ics23::verify_non_membership::<ics23::HostFunctionsManager>(
                    &bad,
                    &spec(),
                    &root,
                    key,
                )
            } else {
                ics23::verify_membership::<ics23::HostFunctionsManager>(
                    &bad,
                    &spec(),
                    &root,
                    key,
                    &b64d(&e["value"]),
                )
            };
            assert!(!still, "a tampered proof must not verify: {e}");
        }
    }
    entries
}

/// Three consecutive free loopback ports (p2p, RPC, REST of `testnet init-files`).
fn signed(
    key: &SigningKey,
    chain: &str,
    account_number: u64,
    sequence: u64,
    msgs: Vec<Any>,
) -> Vec<u8> {
    let body = tx::Body::new(msgs, "rest e2e", 0u32);
    let auth = SignerInfo::single_direct(Some(key.public_key()), sequence).auth_info(
        Fee::from_amount_and_gas(
            Coin {
                denom: "stake".parse().expect("denom"),
                amount: 500,
            },
            200_000u64,
        ),
    );
    SignDoc::new(&body, &auth, &chain.parse().expect("chain"), account_number)
        .expect("doc")
        .sign(key)
        .expect("sign")
        .to_bytes()
        .expect("bytes")
}

fn account(port: u16, address: &str) -> (u64, u64) {
    let (status, a) = get(port, &format!("/cosmos/auth/v1beta1/accounts/{address}"));
    assert_eq!(status, 200, "{a}");
    let n = |f: &str| -> u64 { a["account"][f].as_str().expect(f).parse().expect("n") };
    (n("account_number"), n("sequence"))
}

fn latest_height(rest: u16) -> u64 {
    let (_, b) = get(rest, "/cosmos/base/tendermint/v1beta1/blocks/latest");
    b["block"]["header"]["height"]
        .as_str()
        .and_then(|h| h.parse().ok())
        .unwrap_or(0)
}

/// Broadcast `raw` in sync mode and wait for it in a block: its `GET txs/{hash}` answer.
fn send_and_find(rest: u16, raw: &[u8]) -> Value {
    let (status, r) = post(
        rest,
        "/cosmos/tx/v1beta1/txs",
        &json!({"tx_bytes": B64.encode(raw), "mode": "BROADCAST_MODE_SYNC"}),
    );
    assert_eq!(status, 200, "{r}");
    assert_eq!(r["tx_response"]["code"], 0, "{r}");
    let hash = hex::encode_upper(keystone_consensus_types::sha256(raw).0);
    assert_eq!(r["tx_response"]["txhash"], hash);
    until("the tx in a block", 60, || {
        let (status, t) = get(rest, &format!("/cosmos/tx/v1beta1/txs/{hash}"));
        (status == 200).then_some(t)
    })
}

/// A one-validator proof-of-stake node (`testnet init-files --v 1`: the operator `node0`
/// bonded by a gentx) with 100 ms blocks, started and past height 2: (temp dir, home, RPC
/// port, REST port, the process).
fn pos_node(
    chain_id: &str,
) -> (
    tempfile::TempDir,
    std::path::PathBuf,
    u16,
    u16,
    common::Proc,
) {
    let dir = tempfile::tempdir().expect("tmp");
    let base = keystone_localnet::free_base(3).expect("free ports");
    let out = dir.path().join("net");
    ok(
        dir.path(),
        &[
            "testnet",
            "init-files",
            "--v",
            "1",
            "--output-dir",
            out.to_str().expect("utf-8"),
            "--chain-id",
            chain_id,
            "--base-port",
            &base.to_string(),
            "--timeout-commit",
            "100ms",
        ],
    );
    let home = out.join("node0");
    let (rpc_port, rest) = (base + 1, base + 2);
    let node = start_quiet(&home);
    until("two blocks", 60, || {
        raw(
            rest,
            "GET",
            "/cosmos/base/tendermint/v1beta1/blocks/latest",
            &[],
            "",
        )
        .filter(|(s, _, _)| *s == 200)
        .and_then(|_| (latest_height(rest) >= 2).then_some(()))
    });
    (dir, home, rpc_port, rest, node)
}

#[test]
fn rest_routes_answer_as_the_sdk_gateway_and_prove_their_answers() {
    let (_dir, home, rpc_port, rest, _node) = pos_node("rest-1");

    // The node and the chain.
    let (status, info) = get(rest, "/cosmos/base/tendermint/v1beta1/node_info");
    assert_eq!(status, 200, "{info}");
    let ni = &info["default_node_info"];
    assert_eq!(ni["network"], "rest-1");
    assert_eq!(ni["default_node_id"].as_str().expect("id").len(), 40);
    assert_eq!(ni["protocol_version"]["block"], "11");
    assert!(!b64d(&ni["channels"]).is_empty());
    assert_eq!(info["application_version"]["app_name"], "keystone");
    assert_eq!(info["application_version"]["cosmos_sdk_version"], "v0.50.9");
    assert_eq!(info["application_version"]["build_deps"], json!([]));
    assert_eq!(
        get(rest, "/cosmos/base/tendermint/v1beta1/syncing"),
        (200, json!({"syncing": false}))
    );

    // Keys: the validator's operator (node0) and a fresh account.
    let stored: Value = serde_json::from_str(
        &std::fs::read_to_string(home.join("keyring-test").join("node0.json")).expect("key"),
    )
    .expect("json");
    let key = SigningKey::from_slice(
        &hex::decode(stored["secret_hex"].as_str().expect("hex")).expect("hex"),
    )
    .expect("key");
    let node0 = key.public_key().account_id("cosmos").expect("id");
    let valoper = AccountId::new("cosmosvaloper", &node0.to_bytes()).expect("valoper");
    let bob_key = SigningKey::random();
    let bob = bob_key.public_key().account_id("cosmos").expect("id");
    // The gentx, delivered at genesis, used sequence 0.
    let (acc_num, seq) = account(rest, node0.as_ref());
    assert_eq!(seq, 1);

    // ABCI queries through the tendermint service's route: a gRPC method path with its
    // protobuf request in base64, and a refusal for no path.
    {
        use cosmrs::proto::cosmos::bank::v1beta1::{QueryBalanceRequest, QueryBalanceResponse};
        let req = QueryBalanceRequest {
            address: node0.to_string(),
            denom: "stake".into(),
        }
        .encode_to_vec();
        let data = base64::engine::general_purpose::STANDARD
            .encode(req)
            .replace('+', "%2B")
            .replace('/', "%2F")
            .replace('=', "%3D");
        let (status, v) = get(
            rest,
            &format!(
                "/cosmos/base/tendermint/v1beta1/abci_query?path=/cosmos.bank.v1beta1.Query/Balance&data={data}"
            ),
        );
        assert_eq!(status, 200, "{v}");
        assert_eq!(v["code"], 0, "{v}");
        assert!(
            v["height"].as_str().and_then(|h| h.parse::<u64>().ok()) > Some(0),
            "{v}"
        );
        let balance = QueryBalanceResponse::decode(b64d(&v["value"]).as_slice())
            .expect("a QueryBalanceResponse")
            .balance
            .expect("a coin");
        assert_eq!(balance.denom, "stake");
        assert!(balance.amount.parse::<u128>().expect("amount") > 0);
        let (status, v) = get(rest, "/cosmos/base/tendermint/v1beta1/abci_query");
        assert_eq!(status, 400, "{v}");
    }

    // Bank's supply and params, auth's params.
    let (status, supply) = get(rest, "/cosmos/bank/v1beta1/supply");
    assert_eq!(status, 200, "{supply}");
    let list = supply["supply"].as_array().expect("supply");
    assert_eq!(
        supply["pagination"]["total"],
        list.len().to_string(),
        "{supply}"
    );
    let stake = list
        .iter()
        .find(|c| c["denom"] == "stake")
        .expect("stake's supply")["amount"]
        .clone();
    assert!(stake.as_str().and_then(|a| a.parse::<u128>().ok()) > Some(0));
    let (status, one) = get(
        rest,
        "/cosmos/bank/v1beta1/supply/by_denom?denom=stake&prove=true",
    );
    assert_eq!(status, 200, "{one}");
    assert_eq!(one["amount"]["denom"], "stake");
    assert!(
        one["proof"]["entries"]
            .as_array()
            .is_some_and(|e| e.len() == 1),
        "{one}"
    );
    let (status, v) = get(rest, "/cosmos/bank/v1beta1/supply/by_denom");
    assert_eq!(status, 400, "{v}");
    let (status, v) = get(rest, "/cosmos/bank/v1beta1/params");
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["params"]["default_send_enabled"], true, "{v}");
    let (status, v) = get(rest, "/cosmos/auth/v1beta1/params");
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["params"]["max_memo_characters"], "256", "{v}");

    let send = MsgSend {
        from_address: node0.clone(),
        to_address: bob.clone(),
        amount: vec![Coin {
            denom: "stake".parse().expect("denom"),
            amount: 1_000_000,
        }],
    };
    let raw_send = signed(
        &key,
        "rest-1",
        acc_num,
        seq,
        vec![send.to_any().expect("any")],
    );

    // Simulate: gas used, the send's response, and no state change.
    let (status, sim) = post(
        rest,
        "/cosmos/tx/v1beta1/simulate",
        &json!({"tx_bytes": B64.encode(&raw_send)}),
    );
    assert_eq!(status, 200, "{sim}");
    let gas_used: u64 = sim["gas_info"]["gas_used"]
        .as_str()
        .expect("gas used")
        .parse()
        .expect("n");
    assert!(gas_used > 0, "{sim}");
    assert_eq!(
        sim["result"]["msg_responses"],
        json!([{"@type": "/cosmos.bank.v1beta1.MsgSendResponse"}])
    );
    assert!(
        sim["result"]["events"]
            .as_array()
            .expect("events")
            .iter()
            .any(|e| e["type"] == "transfer"),
        "{sim}"
    );
    let h_before = latest_height(rest);
    until("a block after the simulation", 30, || {
        (latest_height(rest) > h_before + 1).then_some(())
    });
    assert_eq!(
        account(rest, node0.as_ref()).1,
        seq,
        "simulate wrote nothing"
    );
    let (_, bal) = get(
        rest,
        &format!("/cosmos/bank/v1beta1/balances/{bob}/by_denom?denom=stake"),
    );
    assert_eq!(bal, json!({"balance": {"denom": "stake", "amount": "0"}}));
    let (status, e) = post(rest, "/cosmos/tx/v1beta1/simulate", &json!({}));
    assert_gateway_error(status, &e, 400, 3);

    // Broadcast: v0.50 has no block mode.
    let (status, e) = post(
        rest,
        "/cosmos/tx/v1beta1/txs",
        &json!({"tx_bytes": B64.encode(&raw_send), "mode": "BROADCAST_MODE_BLOCK"}),
    );
    assert_gateway_error(status, &e, 400, 3);
    assert_eq!(
        e["message"],
        "unsupported return type unspecified; supported types: sync, async"
    );
    let found = send_and_find(rest, &raw_send);
    let hash = hex::encode_upper(keystone_consensus_types::sha256(&raw_send).0);
    let tr = &found["tx_response"];
    assert_eq!(tr["txhash"], hash);
    assert_eq!(tr["code"], 0, "{found}");
    assert_eq!(tr["codespace"], "");
    assert_eq!(tr["logs"], json!([]));
    let tx_height: u64 = tr["height"].as_str().expect("height").parse().expect("n");
    assert!(tx_height > 0);
    assert!(
        tr["gas_used"]
            .as_str()
            .expect("gas")
            .parse::<u64>()
            .expect("n")
            > 0
    );
    assert_eq!(
        found["tx"]["body"]["messages"],
        json!([{
            "@type": "/cosmos.bank.v1beta1.MsgSend",
            "from_address": node0.to_string(),
            "to_address": bob.to_string(),
            "amount": [{"denom": "stake", "amount": "1000000"}],
        }])
    );
    assert_eq!(found["tx"]["body"]["memo"], "rest e2e");
    assert_eq!(found["tx"]["auth_info"]["fee"]["gas_limit"], "200000");
    assert_eq!(tr["tx"]["@type"], "/cosmos.tx.v1beta1.Tx");
    assert_eq!(tr["tx"]["body"], found["tx"]["body"]);
    assert!(
        tr["events"]
            .as_array()
            .expect("events")
            .iter()
            .any(|e| e["type"] == "message"
                && e["attributes"]
                    .as_array()
                    .expect("attrs")
                    .iter()
                    .any(|a| a["key"] == "action" && a["value"] == "/cosmos.bank.v1beta1.MsgSend")),
        "{tr}"
    );
    // The block: its tx, its time (the tx_response's timestamp, to the second).
    let (status, blk) = get(
        rest,
        &format!("/cosmos/base/tendermint/v1beta1/blocks/{tx_height}"),
    );
    assert_eq!(status, 200, "{blk}");
    assert_eq!(blk["block"]["data"]["txs"], json!([B64.encode(&raw_send)]));
    assert_eq!(blk["block"]["header"]["height"], tx_height.to_string());
    assert_eq!(blk["block"]["header"]["chain_id"], "rest-1");
    let block_time = blk["block"]["header"]["time"].as_str().expect("time");
    assert_eq!(
        tr["timestamp"].as_str().expect("timestamp"),
        format!("{}Z", &block_time[..19]),
        "RFC 3339 to the second"
    );
    assert_eq!(b64d(&blk["block"]["header"]["proposer_address"]).len(), 20);
    assert!(blk["sdk_block"]["header"]["proposer_address"]
        .as_str()
        .expect("valcons")
        .starts_with("cosmosvalcons1"));
    assert_eq!(
        blk["block"]["last_commit"]["signatures"][0]["block_id_flag"],
        "BLOCK_ID_FLAG_COMMIT"
    );
    let comet_block = rpc(rpc_port, "block", json!({"height": tx_height.to_string()}));
    assert_eq!(
        hex::encode_upper(b64d(&blk["block_id"]["hash"])),
        comet_block["result"]["block_id"]["hash"]
            .as_str()
            .expect("hash"),
        "the same block as CometBFT's RPC"
    );
    assert_eq!(
        hex::encode_upper(b64d(&blk["block"]["header"]["app_hash"])),
        comet_block["result"]["block"]["header"]["app_hash"]
            .as_str()
            .expect("app hash")
    );
    let (status, latest) = get(rest, "/cosmos/base/tendermint/v1beta1/blocks/latest");
    assert_eq!(status, 200);
    assert!(latest["sdk_block"]["header"]["height"].is_string());
    for (bad, why) in [
        ("0", "height must be greater than 0"),
        ("-1", "height must be greater than 0"),
        ("abc", "type mismatch"),
        (
            "999999999",
            "requested block height is bigger then the chain length",
        ),
    ] {
        let (status, e) = get(
            rest,
            &format!("/cosmos/base/tendermint/v1beta1/blocks/{bad}"),
        );
        assert_gateway_error(status, &e, 400, 3);
        assert!(e["message"].as_str().expect("m").contains(why), "{e}");
    }

    // Search by events: v0.50's `query`, the legacy `events`, order and clamped limits.
    let q = format!("message.sender='{node0}'");
    let enc = |s: &str| {
        s.replace('\'', "%27")
            .replace('=', "%3D")
            .replace(' ', "%20")
            .replace('<', "%3C")
            .replace('>', "%3E")
    };
    let (status, s) = get(rest, &format!("/cosmos/tx/v1beta1/txs?query={}", enc(&q)));
    assert_eq!(status, 200, "{s}");
    assert_eq!(s["total"], "1", "{s}");
    assert_eq!(s["pagination"], Value::Null);
    assert_eq!(s["tx_responses"][0]["txhash"], hash);
    assert_eq!(s["txs"][0]["body"], found["tx"]["body"]);
    let (_, legacy) = get(rest, &format!("/cosmos/tx/v1beta1/txs?events={}", enc(&q)));
    assert_eq!(legacy["total"], "1", "{legacy}");
    let (status, clamped) = get(
        rest,
        &format!(
            "/cosmos/tx/v1beta1/txs?query={}&limit=100000&order_by=ORDER_BY_DESC",
            enc(&format!("tx.height>=1 AND tx.height<={tx_height}"))
        ),
    );
    assert_eq!(status, 200, "{clamped}");
    assert_eq!(clamped["tx_responses"][0]["txhash"], hash);
    let (status, e) = get(rest, "/cosmos/tx/v1beta1/txs");
    assert_gateway_error(status, &e, 400, 3);
    assert_eq!(e["message"], "query cannot be empty");
    let (status, e) = get(rest, "/cosmos/tx/v1beta1/txs?query=malformed%20query");
    assert_gateway_error(status, &e, 400, 3);

    // Unknown and malformed hashes.
    let zeros = "0".repeat(64);
    let (status, e) = get(rest, &format!("/cosmos/tx/v1beta1/txs/{zeros}"));
    assert_eq!(
        (status, e),
        (
            404,
            json!({"code": 5, "message": format!("tx not found: {zeros}"), "details": []})
        )
    );
    let (status, e) = get(rest, "/cosmos/tx/v1beta1/txs/nothex");
    assert_gateway_error(status, &e, 400, 3);

    // Validator sets: the one validator, as CometBFT's RPC has it.
    let comet_vals = rpc(
        rpc_port,
        "validators",
        json!({"height": tx_height.to_string()}),
    );
    let comet_val = &comet_vals["result"]["validators"][0];
    for path in [
        "/cosmos/base/tendermint/v1beta1/validatorsets/latest".to_string(),
        format!("/cosmos/base/tendermint/v1beta1/validatorsets/{tx_height}"),
    ] {
        let (status, vs) = get(rest, &path);
        assert_eq!(status, 200, "{vs}");
        assert_eq!(vs["pagination"]["total"], "1", "{vs}");
        let v = &vs["validators"][0];
        assert_eq!(vs["validators"].as_array().expect("list").len(), 1);
        assert_eq!(v["pub_key"]["@type"], "/cosmos.crypto.ed25519.PubKey");
        assert_eq!(v["pub_key"]["key"], comet_val["pub_key"]["value"]);
        assert_eq!(v["voting_power"], "100", "a 100000000stake gentx");
        let cons: AccountId = v["address"]
            .as_str()
            .expect("address")
            .parse()
            .expect("b32");
        assert_eq!(cons.prefix(), "cosmosvalcons");
        assert_eq!(
            hex::encode_upper(cons.to_bytes()),
            comet_val["address"].as_str().expect("hex")
        );
    }
    let (status, vs) = get(
        rest,
        &format!("/cosmos/base/tendermint/v1beta1/validatorsets/{tx_height}"),
    );
    assert_eq!(vs["block_height"], tx_height.to_string(), "{status} {vs}");

    // bob delegates, so that the validator has two delegations to page through.
    let (bob_num, _) = account(rest, bob.as_ref());
    let delegate = MsgDelegate {
        delegator_address: bob.clone(),
        validator_address: valoper.clone(),
        amount: Coin {
            denom: "stake".parse().expect("denom"),
            amount: 1000,
        },
    };
    let raw_delegate = signed(
        &bob_key,
        "rest-1",
        bob_num,
        0,
        vec![delegate.to_any().expect("any")],
    );
    let d = send_and_find(rest, &raw_delegate);
    assert_eq!(d["tx_response"]["code"], 0, "{d}");
    assert_eq!(
        d["tx"]["body"]["messages"][0],
        json!({"@type": "/cosmos.staking.v1beta1.MsgDelegate",
            "delegator_address": bob.to_string(), "validator_address": valoper.to_string(),
            "amount": {"denom": "stake", "amount": "1000"}})
    );

    // Proofs. A balance: present, then an absent denom (a zero balance, proved absent).
    let (status, b) = get(
        rest,
        &format!("/cosmos/bank/v1beta1/balances/{bob}/by_denom?denom=stake&prove=true"),
    );
    assert_eq!(status, 200, "{b}");
    assert_eq!(b["balance"], json!({"denom": "stake", "amount": "998500"}));
    let entries = verify_proof(&b, rpc_port);
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0]["key"], format!("bank/balances/{bob}/stake"));
    assert_eq!(b64d(&entries[0]["value"]), b"998500");
    let (status, b) = get(
        rest,
        &format!("/cosmos/bank/v1beta1/balances/{bob}/by_denom?denom=uatom&prove=true"),
    );
    assert_eq!(status, 200, "{b}");
    assert_eq!(b["balance"], json!({"denom": "uatom", "amount": "0"}));
    assert_eq!(verify_proof(&b, rpc_port)[0]["value"], Value::Null);
    // An account, and one that does not exist: 404 with the proof of its absence.
    let (status, a) = get(
        rest,
        &format!("/cosmos/auth/v1beta1/accounts/{node0}?prove=true"),
    );
    assert_eq!(status, 200, "{a}");
    assert_eq!(a["account"]["sequence"], (seq + 1).to_string());
    verify_proof(&a, rpc_port);
    let nobody = AccountId::new("cosmos", &[7u8; 20]).expect("id");
    let (status, a) = get(
        rest,
        &format!("/cosmos/auth/v1beta1/accounts/{nobody}?prove=true"),
    );
    assert_gateway_error(status, &a, 404, 5);
    assert_eq!(verify_proof(&a, rpc_port)[0]["value"], Value::Null);
    // A validator: its stored record is its answer.
    let (status, v) = get(
        rest,
        &format!("/cosmos/staking/v1beta1/validators/{valoper}?prove=true"),
    );
    assert_eq!(status, 200, "{v}");
    let entries = verify_proof(&v, rpc_port);
    assert_eq!(entries[0]["key"], format!("staking/validators/{valoper}"));
    let stored: Value = serde_json::from_slice(&b64d(&entries[0]["value"])).expect("json");
    assert_eq!(stored, v["validator"]);
    // A delegation: the delegation and its validator (which turns shares into a balance).
    let (status, dl) = get(
        rest,
        &format!("/cosmos/staking/v1beta1/validators/{valoper}/delegations/{bob}?prove=true"),
    );
    assert_eq!(status, 200, "{dl}");
    assert_eq!(dl["delegation_response"]["balance"]["amount"], "1000");
    let keys: Vec<Value> = verify_proof(&dl, rpc_port)
        .iter()
        .map(|e| e["key"].clone())
        .collect();
    assert_eq!(
        keys,
        [
            json!(format!("staking/delegations/{bob}/{valoper}")),
            json!(format!("staking/validators/{valoper}")),
        ]
    );
    // A validator that does not exist.
    let ghost = AccountId::new("cosmosvaloper", &[9u8; 20]).expect("id");
    let (status, g) = get(
        rest,
        &format!("/cosmos/staking/v1beta1/validators/{ghost}?prove=true"),
    );
    assert_gateway_error(status, &g, 404, 5);
    assert_eq!(verify_proof(&g, rpc_port)[0]["value"], Value::Null);
    // The validator's signing info, params, the pool, the minter.
    let cons = blk["sdk_block"]["header"]["proposer_address"]
        .as_str()
        .expect("valcons")
        .to_string();
    for path in [
        format!("/cosmos/slashing/v1beta1/signing_infos/{cons}?prove=true"),
        "/cosmos/staking/v1beta1/params?prove=true".to_string(),
        "/cosmos/staking/v1beta1/pool?prove=true".to_string(),
        "/cosmos/mint/v1beta1/inflation?prove=true".to_string(),
        format!("/cosmos/distribution/v1beta1/delegators/{bob}/withdraw_address?prove=true"),
    ] {
        let (status, p) = get(rest, &path);
        assert_eq!(status, 200, "{path}: {p}");
        verify_proof(&p, rpc_port);
    }
    let (_, pool) = get(rest, "/cosmos/staking/v1beta1/pool?prove=true");
    assert_eq!(
        pool["proof"]["entries"].as_array().expect("entries").len(),
        3
    );
    // Lists and computed answers are not provable.
    for path in [
        "/cosmos/staking/v1beta1/validators?prove=true".to_string(),
        format!("/cosmos/distribution/v1beta1/delegators/{bob}/rewards?prove=true"),
        format!("/cosmos/bank/v1beta1/balances/{bob}?prove=true"),
    ] {
        let (status, e) = get(rest, &path);
        assert_gateway_error(status, &e, 400, 3);
    }

    // Paging: two delegations, one per page, by key and by offset; absurd limits clamped.
    let dpath = format!("/cosmos/staking/v1beta1/validators/{valoper}/delegations");
    let (_, all) = get(rest, &format!("{dpath}?pagination.limit=99999999999"));
    assert_eq!(
        all["pagination"],
        json!({"next_key": null, "total": "2"}),
        "{all}"
    );
    let all_list = all["delegation_responses"]
        .as_array()
        .expect("list")
        .clone();
    assert_eq!(all_list.len(), 2);
    let (_, p1) = get(rest, &format!("{dpath}?pagination.limit=1"));
    assert_eq!(p1["delegation_responses"], json!([all_list[0]]));
    let next = p1["pagination"]["next_key"].as_str().expect("a next key");
    let (_, p2) = get(
        rest,
        &format!(
            "{dpath}?pagination.limit=1&pagination.key={}",
            next.replace('+', "%2B")
                .replace('/', "%2F")
                .replace('=', "%3D")
        ),
    );
    assert_eq!(p2["delegation_responses"], json!([all_list[1]]));
    assert_eq!(p2["pagination"]["next_key"], Value::Null);
    let (_, by_offset) = get(
        rest,
        &format!("{dpath}?pagination.limit=1&pagination.offset=1"),
    );
    assert_eq!(
        by_offset["delegation_responses"],
        p2["delegation_responses"]
    );
    let (_, reversed) = get(rest, &format!("{dpath}?pagination.reverse=true"));
    assert_eq!(reversed["delegation_responses"][0], all_list[1]);
    let (status, e) = get(
        rest,
        &format!("{dpath}?pagination.key=AAAAAAAAAAE%3D&pagination.offset=1"),
    );
    assert_gateway_error(status, &e, 400, 3);
    let (status, e) = get(rest, &format!("{dpath}?pagination.limit=lots"));
    assert_gateway_error(status, &e, 400, 3);
    let (_, balances) = get(rest, &format!("/cosmos/bank/v1beta1/balances/{bob}"));
    assert_eq!(
        balances,
        json!({"balances": [{"denom": "stake", "amount": "998500"}],
            "pagination": {"next_key": null, "total": "1"}})
    );

    // Bad input, in the gateway's shape.
    let (status, e) = get(rest, "/cosmos/auth/v1beta1/accounts/cosmos1notanaddress");
    assert_gateway_error(status, &e, 400, 3);
    let (status, e) = get(rest, "/cosmos/bank/v1beta1/balances/cosmos1notanaddress");
    assert_gateway_error(status, &e, 400, 3);
    let (status, e) = get(
        rest,
        &format!("/cosmos/bank/v1beta1/balances/{bob}/by_denom?denom=x"),
    );
    assert_gateway_error(status, &e, 400, 3);
    let (status, e) = get(rest, "/cosmos/staking/v1beta1/validators/cosmosvaloper1bad");
    assert_gateway_error(status, &e, 400, 3);
    let (status, e) = get(rest, "/cosmos/auth/v1beta1/accounts/x?prove=maybe");
    assert_gateway_error(status, &e, 400, 3);
    let (status, e) = get(rest, "/cosmos/no/such/route");
    assert_eq!(
        (status, e),
        (
            501,
            json!({"code": 12, "message": "Not Implemented", "details": []})
        )
    );
    // An oversized body is refused from its declared length, before it is read: only the
    // head is sent (the server answers and closes without waiting for the rest).
    {
        let mut s = std::net::TcpStream::connect(("127.0.0.1", rest)).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        s.write_all(
            b"POST /cosmos/tx/v1beta1/txs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1100000\r\n\r\n",
        )
        .expect("write");
        let mut resp = Vec::new();
        let _ = s.read_to_end(&mut resp);
        let resp = String::from_utf8_lossy(&resp);
        let (head, body) = resp.split_once("\r\n\r\n").expect("a response");
        let e: Value = serde_json::from_str(body).expect("json");
        assert!(head.starts_with("HTTP/1.1 413"), "{head}");
        assert_gateway_error(413, &e, 413, 8);
    }
    let (status, e) = post(
        rest,
        "/cosmos/tx/v1beta1/txs",
        &json!({"mode": "BROADCAST_MODE_SYNC"}),
    );
    assert_gateway_error(status, &e, 400, 3);
    assert_eq!(e["message"], "invalid empty tx");
    let (status, _, e) = raw(rest, "POST", "/cosmos/tx/v1beta1/txs", &[], "{nope").expect("answer");
    assert_gateway_error(status, &e, 400, 3);

    // The OpenAPI document: the same as the library's, listing exactly the route table, and
    // every route it lists is served by this node's router.
    let (status, doc) = get(rest, "/openapi.json");
    assert_eq!(status, 200);
    assert_eq!(doc, keystone::rest::openapi::document());
    assert_eq!(doc["openapi"], "3.0.3");
    let mut documented = BTreeSet::new();
    for (path, ops) in doc["paths"].as_object().expect("paths") {
        for method in ops.as_object().expect("ops").keys() {
            documented.insert((method.to_uppercase(), path.clone()));
        }
    }
    let table: BTreeSet<(String, String)> = keystone::rest::ROUTES
        .iter()
        .map(|r| {
            (
                r.method.name().to_uppercase(),
                keystone::rest::openapi::openapi_path(r.path),
            )
        })
        .collect();
    assert_eq!(documented, table);
    for (method, path) in &documented {
        let concrete = path
            .split('/')
            .map(|s| if s.starts_with('{') { "x" } else { s })
            .collect::<Vec<_>>()
            .join("/");
        let body = if method == "POST" { "{}" } else { "" };
        let (status, _, v) = raw(rest, method, &concrete, &[], body).expect("answer");
        assert!(
            !(status == 501 && v["code"] == 12),
            "{method} {path} is documented but the node does not serve it: {v}"
        );
    }

    // CORS is off by default: no headers, on either server.
    for port in [rest, rpc_port] {
        let (_, head, _) = raw(
            port,
            "OPTIONS",
            "/",
            &[
                ("Origin", "http://anywhere.example"),
                ("Access-Control-Request-Method", "GET"),
            ],
            "",
        )
        .expect("answer");
        assert!(!head.contains("access-control-allow-origin"), "{head}");
        let (_, head, _) = raw(
            port,
            "GET",
            "/status",
            &[("Origin", "http://anywhere.example")],
            "",
        )
        .expect("answer");
        assert!(!head.contains("access-control-allow-origin"), "{head}");
    }
}

/// Replace `from` by `to` in a config file (which must contain it).
fn edit(home: &Path, file: &str, from: &str, to: &str) {
    let path = home.join("config").join(file);
    let text = std::fs::read_to_string(&path).expect("config");
    assert!(text.contains(from), "{file} has no {from:?}");
    std::fs::write(&path, text.replace(from, to)).expect("write");
}

#[test]
fn rate_limits_and_cors_follow_the_config_files() {
    let dir = tempfile::tempdir().expect("tmp");
    let home = dir.path();
    let ports = funded_home(home, "limits-1", "200ms");
    edit(
        home,
        "app.toml",
        "enabled-unsafe-cors = false",
        "enabled-unsafe-cors = true",
    );
    edit(
        home,
        "app.toml",
        "rate-limit-per-second = 100",
        "rate-limit-per-second = 2",
    );
    edit(
        home,
        "app.toml",
        "rate-limit-burst = 200",
        "rate-limit-burst = 4",
    );
    // The test's requests come from loopback, which is not limited by default.
    edit(
        home,
        "app.toml",
        "rate-limit-loopback = false",
        "rate-limit-loopback = true",
    );
    edit(
        home,
        "config.toml",
        "cors_allowed_origins = []",
        r#"cors_allowed_origins = ["http://allowed.example"]"#,
    );
    edit(
        home,
        "config.toml",
        "rate_limit_per_second = 100",
        "rate_limit_per_second = 2",
    );
    edit(
        home,
        "config.toml",
        "rate_limit_burst = 200",
        "rate_limit_burst = 4",
    );
    edit(
        home,
        "config.toml",
        "rate_limit_loopback = false",
        "rate_limit_loopback = true",
    );
    let _node = start_quiet(home);
    // Slow polling: two requests a second is all either server lets through.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if raw(ports.rpc, "GET", "/health", &[], "").is_some_and(|(s, _, _)| s == 200) {
            break;
        }
        assert!(Instant::now() < deadline, "the node did not start");
        std::thread::sleep(Duration::from_millis(600));
    }

    // CORS: the REST server allows any origin (the SDK's unsafe CORS); the RPC only its one.
    let preflight = |port: u16, origin: &str| {
        raw(
            port,
            "OPTIONS",
            "/cosmos/bank/v1beta1/balances/x",
            &[
                ("Origin", origin),
                ("Access-Control-Request-Method", "GET"),
                ("Access-Control-Request-Headers", "content-type"),
            ],
            "",
        )
        .expect("answer")
    };
    let (status, head, _) = preflight(ports.rest, "http://wallet.example");
    assert_eq!(status, 204, "{head}");
    assert!(head.contains("access-control-allow-origin: *"), "{head}");
    assert!(head.contains("access-control-allow-methods: get"), "{head}");
    let (status, head, _) = preflight(ports.rpc, "http://allowed.example");
    assert_eq!(status, 204, "{head}");
    assert!(
        head.contains("access-control-allow-origin: http://allowed.example"),
        "{head}"
    );
    let (_, head, _) = preflight(ports.rpc, "http://evil.example");
    assert!(!head.contains("access-control-allow-origin"), "{head}");
    std::thread::sleep(Duration::from_millis(2500));
    let (status, head, _) = raw(
        ports.rpc,
        "GET",
        "/health",
        &[("Origin", "http://allowed.example")],
        "",
    )
    .expect("answer");
    assert_eq!(status, 200);
    assert!(
        head.contains("access-control-allow-origin: http://allowed.example"),
        "{head}"
    );

    // Rate limits: a burst of 4, then 429 in each server's shape, with Retry-After.
    std::thread::sleep(Duration::from_millis(2500));
    let mut statuses = Vec::new();
    let mut refused = None;
    // Up to 40 back to back (not 8: on a loaded machine slow requests refill the bucket).
    for _ in 0..40 {
        let (status, head, body) = raw(
            ports.rest,
            "GET",
            "/cosmos/base/tendermint/v1beta1/syncing",
            &[],
            "",
        )
        .expect("answer");
        statuses.push(status);
        if status == 429 {
            refused = Some((head, body));
            break;
        }
    }
    assert!(statuses[..3].iter().all(|&s| s == 200), "{statuses:?}");
    let (head, body) = refused.unwrap_or_else(|| panic!("never limited: {statuses:?}"));
    assert_gateway_error(429, &body, 429, 8);
    assert!(head.contains("retry-after: "), "{head}");
    let mut rpc_refused = None;
    for _ in 0..40 {
        let (status, _, body) = raw(ports.rpc, "GET", "/health", &[], "").expect("answer");
        if status == 429 {
            rpc_refused = Some(body);
            break;
        }
    }
    let body = rpc_refused.expect("the RPC limits too");
    assert_eq!(body["jsonrpc"], "2.0", "{body}");
    assert!(
        body["error"]["data"]
            .as_str()
            .expect("data")
            .contains("too many requests"),
        "{body}"
    );
    // And tokens come back.
    std::thread::sleep(Duration::from_millis(1200));
    let (status, _, _) = raw(
        ports.rest,
        "GET",
        "/cosmos/base/tendermint/v1beta1/syncing",
        &[],
        "",
    )
    .expect("ok");
    assert_eq!(status, 200);
}

#[test]
fn a_request_that_outlives_the_timeout_gets_504() {
    let dir = tempfile::tempdir().expect("tmp");
    let home = dir.path();
    // Blocks every 4 s; a proof of the newest state waits for the next block's header.
    let ports = funded_home(home, "timeout-1", "4s");
    edit(
        home,
        "app.toml",
        r#"request-timeout = "10s""#,
        r#"request-timeout = "500ms""#,
    );
    let _node = start_quiet(home);
    let height = |p: u16| -> u64 {
        rpc(p, "status", json!({}))["result"]["sync_info"]["latest_block_height"]
            .as_str()
            .and_then(|h| h.parse().ok())
            .unwrap_or(0)
    };
    let first = until("a block", 60, || {
        let h = height(ports.rpc);
        (h >= 1).then_some(h)
    });
    // Right after a new block, the next is seconds away.
    until("the next block", 60, || {
        (height(ports.rpc) > first).then_some(())
    });
    let alice = ok(
        home,
        &["keys", "show", "alice", "-a", "--keyring-backend", "test"],
    );
    let started = Instant::now();
    let (status, e) = get(
        ports.rest,
        &format!("/cosmos/auth/v1beta1/accounts/{}?prove=true", alice.trim()),
    );
    assert_gateway_error(status, &e, 504, 4);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    let (status, _) = get(
        ports.rest,
        &format!("/cosmos/auth/v1beta1/accounts/{}", alice.trim()),
    );
    assert_eq!(status, 200, "an ordinary request is unaffected");
}

/// Every key is provable, present or absent (DESIGN §3.5): here, absent keys spread over the
/// whole key-hash space of a proof-of-stake state, each proved through
/// `GET /keystone/v1/state/{key}?prove=true` and verified as a client would.
#[test]
fn every_absent_key_has_a_proof_that_verifies() {
    let (_dir, _home, rpc_port, rest, _node) = pos_node("absent-1");
    let mut failed = Vec::new();
    for i in 0..1000 {
        let key = format!("bank/balances/cosmos1absent{i}/stake");
        let (status, body) = get(rest, &format!("/keystone/v1/state/{key}?prove=true"));
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["value"], "", "absent");
        let height: u64 = body["height"].as_str().expect("h").parse().expect("n");
        let header = rpc(
            rpc_port,
            "header",
            json!({"height": (height + 1).to_string()}),
        );
        let root = hex::decode(
            header["result"]["header"]["app_hash"]
                .as_str()
                .expect("hash"),
        )
        .expect("hex");
        let proof = ics23::CommitmentProof::decode(b64d(&body["proof"]).as_slice()).expect("proof");
        if !ics23::verify_non_membership::<ics23::HostFunctionsManager>(
            &proof,
            &spec(),
            &root,
            key.as_bytes(),
        ) {
            failed.push(key);
        }
    }
    assert!(
        failed.is_empty(),
        "{} of 1000 absence proofs do not verify, e.g. {:?}",
        failed.len(),
        &failed[..failed.len().min(3)]
    );
}
