//! `tendermint-rpc`'s `HttpClient` (CometBFT v0.38 dialect) against a running node: every
//! endpoint the client supports is called and its answer parsed by the client's own types,
//! then checked against what the chain holds. Misuse gets CometBFT's error shapes and leaves
//! the node serving.

use cosmrs::AccountId;
use std::time::{Duration, Instant};
use tendermint_rpc::query::{EventType, Query};
use tendermint_rpc::{Client, HttpClient, Order, Paging};

mod common;
use common::{funded_home, http, start_quiet};

const CHAIN: &str = "keystone-tmrpc";

/// alice (genesis account 0) sends `amount` stake to `to` on this test's chain.
fn send(home: &std::path::Path, to: &AccountId, amount: u128, sequence: u64) -> Vec<u8> {
    common::alice_send(home, CHAIN, to, amount, sequence)
}

#[test]
fn tendermint_rpc_http_client_reads_every_endpoint() {
    let dir = tempfile::tempdir().expect("tmp");
    let home = dir.path();
    let port = funded_home(home, CHAIN, "100ms").rpc;
    let _node = start_quiet(home);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let client = HttpClient::new(format!("http://127.0.0.1:{port}").as_str()).expect("client");
        let deadline = Instant::now() + Duration::from_secs(60);
        while client.health().await.is_err() {
            assert!(Instant::now() < deadline, "the RPC server never answered");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }

        // A transfer, committed through broadcast_tx_commit.
        let bob = AccountId::new("cosmos", &[0xb0; 20]).expect("id");
        let committed = client
            .broadcast_tx_commit(send(home, &bob, 100, 0))
            .await
            .expect("broadcast_tx_commit");
        assert!(committed.check_tx.code.is_ok(), "{committed:?}");
        assert!(committed.tx_result.code.is_ok(), "{committed:?}");
        let h = committed.height;
        assert!(h.value() > 0);

        // The chain as the client sees it.
        let status = client.status().await.expect("status");
        assert_eq!(status.node_info.network.as_str(), CHAIN);
        assert_eq!(status.node_info.version.to_string(), "0.38.17");
        assert!(status.sync_info.latest_block_height >= h);
        assert!(!status.sync_info.catching_up);

        let info = client.abci_info().await.expect("abci_info");
        assert!(info.last_block_height >= h);
        let key = format!("bank/balances/{bob}/stake");
        let q = client
            .abci_query(Some("/store/key".to_string()), key.as_bytes(), None, true)
            .await
            .expect("abci_query");
        assert_eq!(q.value, b"100");
        assert!(q.proof.is_some(), "a proof was asked for");
        let q = client
            .abci_query(
                Some("/cosmos.bank.v1beta1.Query/Balance".to_string()),
                vec![0xff],
                None,
                false,
            )
            .await
            .expect("abci_query answers an error in the response");
        assert_ne!(
            q.code,
            tendermint::abci::Code::Ok,
            "undecodable request: {q:?}"
        );

        let block = client.block(h).await.expect("block");
        assert_eq!(block.block.header.height, h);
        assert_eq!(block.block.data.len(), 1, "the transfer is in its block");
        let by_hash = client
            .block_by_hash(block.block_id.hash)
            .await
            .expect("block_by_hash");
        assert_eq!(
            by_hash.block.expect("found").header.height,
            h,
            "block_by_hash finds the same block"
        );
        let latest = client.latest_block().await.expect("latest_block");
        assert!(latest.block.header.height >= h);
        let header = client.header(h).await.expect("header");
        assert_eq!(header.header.hash(), block.block_id.hash);
        let header = client
            .header_by_hash(block.block_id.hash)
            .await
            .expect("header_by_hash");
        assert_eq!(header.header.expect("found").height, h);

        let results = client.block_results(h).await.expect("block_results");
        let txs = results.txs_results.expect("one tx result");
        assert_eq!(txs.len(), 1);
        assert!(txs[0].events.iter().any(|e| e.kind == "transfer"));
        assert!(client.latest_block_results().await.is_ok());

        let found = client
            .block_search(
                Query::eq("block.height", h.value() as i64),
                1,
                10,
                Order::Ascending,
            )
            .await
            .expect("block_search");
        assert_eq!(found.total_count, 1);
        assert_eq!(found.blocks[0].block.header.height, h);
        let chain = client
            .blockchain(1u32, h.value() as u32)
            .await
            .expect("blockchain");
        assert_eq!(chain.block_metas[0].header.height, h, "newest first");
        assert_eq!(chain.block_metas[0].num_txs, 1);
        assert!(chain.last_height >= h);

        let commit = client.commit(h).await.expect("commit");
        assert_eq!(commit.signed_header.header.height, h);
        assert_eq!(
            commit.signed_header.commit.block_id.hash,
            block.block_id.hash
        );
        assert!(client.latest_commit().await.is_ok());

        let params = client.consensus_params(h).await.expect("consensus_params");
        assert_eq!(params.block_height, h);
        let genesis: tendermint::Genesis<serde_json::Value> =
            client.genesis().await.expect("genesis");
        assert_eq!(genesis.chain_id.as_str(), CHAIN);
        assert_eq!(
            params.consensus_params.block.max_bytes,
            genesis.consensus_params.block.max_bytes
        );
        assert!(client.latest_consensus_params().await.is_ok());
        let chunk = client.genesis_chunked(0).await.expect("genesis_chunked");
        let doc: serde_json::Value = serde_json::from_slice(&chunk.data).expect("genesis JSON");
        assert_eq!(doc["chain_id"], CHAIN);

        let vals = client.validators(h, Paging::All).await.expect("validators");
        assert_eq!(vals.total, 1);
        assert_eq!(vals.validators[0].address, status.validator_info.address);
        assert_eq!(vals.validators[0].power, status.validator_info.power);
        assert!(status.validator_info.power.value() > 0);

        let net = client.net_info().await.expect("net_info");
        assert_eq!(net.n_peers, 0, "a lone node");

        // The tx by hash, with its Merkle proof against the block's data hash.
        let hash =
            tendermint::Hash::Sha256(keystone_consensus_types::sha256(&block.block.data[0]).0);
        let tx = client.tx(hash, true).await.expect("tx");
        assert_eq!(tx.height, h);
        let proof = tx.proof.expect("proof");
        assert_eq!(
            Some(proof.root_hash),
            block.block.header.data_hash,
            "the proof's root is the header's data hash"
        );
        let searched = client
            .tx_search(
                Query::eq("tx.height", h.value() as i64),
                false,
                1,
                30,
                Order::Descending,
            )
            .await
            .expect("tx_search");
        assert_eq!(searched.total_count, 1);
        assert_eq!(searched.txs[0].hash, hash);
        let by_event = client
            .tx_search(
                Query::from(EventType::Tx).and_eq("transfer.recipient", bob.to_string()),
                false,
                1,
                30,
                Order::Ascending,
            )
            .await
            .expect("tx_search by recipient");
        assert_eq!(by_event.total_count, 1);

        // The other two broadcasts: a second transfer, then garbage.
        let sync = client
            .broadcast_tx_sync(send(home, &bob, 7, 1))
            .await
            .expect("broadcast_tx_sync");
        assert!(sync.code.is_ok(), "{sync:?}");
        let async_ = client
            .broadcast_tx_async(vec![0, 1, 2])
            .await
            .expect("broadcast_tx_async");
        assert!(async_.code.is_ok(), "async answers before CheckTx");

        // The round in progress, in CometBFT's summary form.
        let cs = client.consensus_state().await.expect("consensus_state");
        assert!(
            cs.round_state.height_round_step.height >= h,
            "{:?} at tx height {h}",
            cs.round_state
        );
        assert_eq!(
            cs.round_state.proposer.address,
            status.validator_info.address
        );

        // Evidence of this validator signing two blocks at height h: pooled, then committed.
        let key = keystone_consensus_driver::privval::read_key_file(
            &home.join("config").join("priv_validator_key.json"),
        )
        .expect("validator key");
        let header_time = keystone_consensus_types::Time::from_proto(
            &keystone_proto::types::Header::from(block.block.header.clone())
                .time
                .expect("time"),
        )
        .expect("time");
        let vote = |byte: u8| {
            let mut v = keystone_consensus_types::Vote {
                vote_type: keystone_consensus_types::VoteType::Prevote,
                height: h.value(),
                round: 0,
                block_id: Some(keystone_consensus_types::BlockId {
                    hash: keystone_consensus_types::Hash([byte; 32]),
                    part_set_header: keystone_consensus_types::PartSetHeader {
                        total: 1,
                        hash: keystone_consensus_types::Hash([byte; 32]),
                    },
                }),
                timestamp: header_time,
                validator_address: key.public_key().address(),
                validator_index: 0,
                signature: None,
            };
            v.sign(CHAIN, &key);
            v
        };
        let power = vals.validators[0].power.value() as i64;
        let set = keystone_consensus_types::ValidatorSet::new(vec![
            keystone_consensus_types::Validator::new(key.public_key(), power),
        ])
        .expect("set");
        let ev = keystone_consensus_types::DuplicateVoteEvidence::new(
            vote(1),
            vote(2),
            header_time,
            &set,
        )
        .expect("conflicting votes");
        let raw = keystone_proto::types::Evidence {
            sum: Some(keystone_proto::types::evidence::Sum::DuplicateVoteEvidence(
                ev.to_proto(),
            )),
        };
        let tm_ev = tendermint::evidence::Evidence::try_from(raw).expect("tendermint-rs reads it");
        let answer = client
            .broadcast_evidence(tm_ev.clone())
            .await
            .expect("broadcast_evidence");
        assert_eq!(answer.hash.to_string(), ev.hash().to_hex());
        let again = client.broadcast_evidence(tm_ev).await;
        assert!(again.is_err(), "the same evidence twice is refused");
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut next = h.value() + 1;
        loop {
            assert!(
                Instant::now() < deadline,
                "the evidence was never committed"
            );
            match client.block(next as u32).await {
                Ok(b) if b.block.evidence.iter().next().is_some() => break,
                Ok(_) => next += 1,
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }

        // Misuse: the client sees CometBFT's errors and the node keeps serving.
        let too_high = client.block(h.value() as u32 + 1_000_000).await;
        let e = too_high.expect_err("a future height").to_string();
        assert!(
            e.contains("must be less than or equal to the current blockchain height"),
            "{e}"
        );
        let missing = client
            .tx(tendermint::Hash::Sha256([7; 32]), false)
            .await
            .expect_err("unknown tx")
            .to_string();
        assert!(missing.contains("not found"), "{missing}");
        assert!(client.health().await.is_ok());
    });

    // The same node over raw HTTP: shapes of errors no client library sends.
    let (code, body) = http(
        port,
        "POST",
        "/",
        "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"block\",\"params\":{\"height\":true}}",
    )
    .expect("answer");
    assert_eq!(code, 200);
    assert_eq!(body["error"]["code"], -32602, "{body}");
    assert_eq!(body["id"], 3);
    let (_, body) = http(
        port,
        "POST",
        "/",
        "[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"health\"},{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"nope\"}]",
    )
    .expect("answer");
    assert_eq!(body[0]["result"], serde_json::json!({}), "{body}");
    assert_eq!(body[1]["error"]["code"], -32601, "{body}");
    let (code, body) =
        http(port, "GET", "/validators?per_page=1000000&page=1", "").expect("answer");
    assert_eq!(code, 200, "absurd per_page is clamped: {body}");
    let (code, body) = http(
        port,
        "GET",
        "/tx_search?query=%22tx.height%3D1%22&page=99",
        "",
    )
    .expect("answer");
    assert_eq!(code, 500);
    assert!(body["error"]["data"]
        .as_str()
        .expect("data")
        .starts_with("page should be within"));
    // A 2 MB body is refused from its declared length, before it is read: send the headers
    // alone (a client still writing the body when the server answers and closes could see
    // the connection reset before it reads the answer).
    let status = {
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        s.write_all(
            b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 2000000\r\n\r\n",
        )
        .expect("headers");
        let mut answer = Vec::new();
        let _ = s.read_to_end(&mut answer);
        String::from_utf8_lossy(&answer)
            .split_whitespace()
            .nth(1)
            .and_then(|c| c.parse::<u16>().ok())
    };
    assert_eq!(status, Some(413), "oversized bodies are refused");
    let (code, body) = http(port, "GET", "/health", "").expect("still serving");
    assert_eq!(
        (code, body),
        (
            200,
            serde_json::json!({"jsonrpc": "2.0", "id": -1, "result": {}})
        )
    );
}

/// Read the next text message as JSON (the socket has a read timeout).
fn next_json(ws: &mut tungstenite::WebSocket<std::net::TcpStream>) -> serde_json::Value {
    loop {
        match ws.read().expect("a message before the timeout") {
            tungstenite::Message::Text(t) => return serde_json::from_str(&t).expect("JSON"),
            tungstenite::Message::Close(_) => panic!("the server closed the socket"),
            _ => continue,
        }
    }
}

fn ws_call(
    ws: &mut tungstenite::WebSocket<std::net::TcpStream>,
    id: u64,
    method: &str,
    params: serde_json::Value,
) {
    let req = serde_json::json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
    ws.send(tungstenite::Message::Text(req.to_string().into()))
        .expect("send");
}

#[test]
fn websocket_subscriptions_deliver_new_blocks_and_matching_txs() {
    let dir = tempfile::tempdir().expect("tmp");
    let home = dir.path();
    let port = funded_home(home, CHAIN, "100ms").rpc;
    let _node = start_quiet(home);
    let deadline = Instant::now() + Duration::from_secs(60);
    let stream = loop {
        if let Ok(s) = std::net::TcpStream::connect(("127.0.0.1", port)) {
            break s;
        }
        assert!(Instant::now() < deadline, "the RPC server never answered");
        std::thread::sleep(Duration::from_millis(100));
    };
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    let (mut ws, _) = tungstenite::client(format!("ws://127.0.0.1:{port}/websocket"), stream)
        .expect("websocket handshake");

    let bob = AccountId::new("cosmos", &[0xb1; 20]).expect("id");
    let tx_query = format!("tm.event='Tx' AND transfer.recipient='{bob}'");
    ws_call(
        &mut ws,
        1,
        "subscribe",
        serde_json::json!({"query": "tm.event='NewBlock'"}),
    );
    assert_eq!(next_json(&mut ws)["result"], serde_json::json!({}));
    ws_call(
        &mut ws,
        2,
        "subscribe",
        serde_json::json!({"query": tx_query}),
    );
    let ack = next_json(&mut ws);
    assert_eq!(
        (ack["id"].clone(), ack["result"].clone()),
        (serde_json::json!(2), serde_json::json!({}))
    );

    // Bad subscriptions: a query that does not parse, a duplicate, too many.
    ws_call(
        &mut ws,
        3,
        "subscribe",
        serde_json::json!({"query": "tm.event=="}),
    );
    let bad = next_json(&mut ws);
    assert_eq!(bad["id"], 3);
    assert_eq!(bad["error"]["code"], -32603, "{bad}");
    ws_call(
        &mut ws,
        4,
        "subscribe",
        serde_json::json!({"query": "tm.event='NewBlock'"}),
    );
    assert_eq!(next_json(&mut ws)["error"]["data"], "already subscribed");

    // Other methods work over the socket too.
    ws_call(
        &mut ws,
        5,
        "broadcast_tx_sync",
        serde_json::json!({"tx": base64_of(&send(home, &bob, 42, 0))}),
    );

    let mut heights = Vec::new();
    let mut tx_event = None;
    let mut broadcast = None;
    while heights.len() < 3 || tx_event.is_none() || broadcast.is_none() {
        let m = next_json(&mut ws);
        match m["id"].as_u64() {
            Some(5) => broadcast = Some(m),
            Some(1) => {
                assert_eq!(m["result"]["data"]["type"], "tendermint/event/NewBlock");
                let block: tendermint::Block =
                    serde_json::from_value(m["result"]["data"]["value"]["block"].clone())
                        .expect("a NewBlock event carries a block tendermint-rs parses");
                assert_eq!(
                    m["result"]["events"]["block.height"][0],
                    block.header.height.to_string()
                );
                heights.push(block.header.height.value());
            }
            Some(2) => tx_event = Some(m),
            _ => panic!("unexpected message {m}"),
        }
    }
    let broadcast = broadcast.expect("answered");
    assert_eq!(broadcast["result"]["code"], 0, "{broadcast}");
    assert!(
        heights.windows(2).all(|w| w[1] == w[0] + 1),
        "every height, in order: {heights:?}"
    );
    let tx_event = tx_event.expect("the transfer's event");
    assert_eq!(tx_event["result"]["query"], tx_query.as_str());
    assert_eq!(tx_event["result"]["data"]["type"], "tendermint/event/Tx");
    let result = &tx_event["result"]["data"]["value"]["TxResult"];
    assert_eq!(result["result"]["code"], 0);
    assert_eq!(
        tx_event["result"]["events"]["tx.hash"][0], broadcast["result"]["hash"],
        "the event is the broadcast tx's"
    );

    // Unsubscribe: no more blocks arrive for that query.
    ws_call(
        &mut ws,
        6,
        "unsubscribe",
        serde_json::json!({"query": "tm.event='NewBlock'"}),
    );
    loop {
        let m = next_json(&mut ws);
        if m["id"] == 6 {
            assert_eq!(m["result"], serde_json::json!({}), "{m}");
            break;
        }
    }
    ws_call(
        &mut ws,
        7,
        "unsubscribe",
        serde_json::json!({"query": "tm.event='NewBlock'"}),
    );
    let m = next_json(&mut ws);
    assert_eq!(
        (m["id"].clone(), m["error"]["data"].clone()),
        (
            serde_json::json!(7),
            serde_json::json!("subscription not found")
        )
    );
    ws_call(&mut ws, 8, "status", serde_json::json!({}));
    let m = next_json(&mut ws);
    assert_eq!(m["id"], 8, "no NewBlock after unsubscribing: {m}");
    assert_eq!(m["result"]["node_info"]["network"], CHAIN);
    // Garbage on the socket is a parse error, and the connection stays.
    ws.send(tungstenite::Message::Text("{nope".into()))
        .expect("send");
    assert_eq!(next_json(&mut ws)["error"]["code"], -32700);
    ws_call(&mut ws, 9, "health", serde_json::json!({}));
    assert_eq!(next_json(&mut ws)["id"], 9);
}

fn base64_of(b: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(b)
}
