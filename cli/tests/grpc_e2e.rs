//! The gRPC server of a running `keystone start`, called with the SDK's own generated clients
//! (cosmos-sdk-proto's tonic clients, as Hermes and cosmrs users call a node): module queries
//! at the latest and at an older height, a missing account as NotFound, the tendermint
//! service (blocks, validator set, node info, a too-high height refused), the node service's
//! config, the tx service (simulate, broadcast, the tx by hash and by event, the block with
//! its txs), a service the node lacks as Unimplemented, and a grpc-web call over HTTP/1.1.

mod common;
use common::{alice_send, funded_home, ok, rpc, start_quiet, until};
use cosmos_sdk_proto::cosmos::auth::v1beta1 as auth;
use cosmos_sdk_proto::cosmos::bank::v1beta1 as bank;
use cosmos_sdk_proto::cosmos::base::node::v1beta1 as node;
use cosmos_sdk_proto::cosmos::base::tendermint::v1beta1 as cmt;
use cosmos_sdk_proto::cosmos::gov::v1beta1 as gov;
use cosmos_sdk_proto::cosmos::tx::v1beta1 as txs;
use keystone_proto::prost::Message;
use std::io::{Read, Write};
use std::time::Duration;
use tonic::transport::Channel;
use tonic::Code;

const CHAIN: &str = "grpc-e2e";

fn height(rpc_port: u16) -> u64 {
    rpc(rpc_port, "status", serde_json::json!({}))["result"]["sync_info"]["latest_block_height"]
        .as_str()
        .and_then(|h| h.parse().ok())
        .unwrap_or(0)
}

async fn connect(port: u16) -> Channel {
    let url = format!("http://127.0.0.1:{port}");
    for _ in 0..200 {
        if let Ok(ch) = Channel::from_shared(url.clone())
            .expect("url")
            .connect()
            .await
        {
            return ch;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the gRPC server on {port} never answered");
}

fn with_height<T>(msg: T, h: u64) -> tonic::Request<T> {
    let mut req = tonic::Request::new(msg);
    req.metadata_mut().insert(
        "x-cosmos-block-height",
        h.to_string().parse().expect("ascii"),
    );
    req
}

#[test]
fn the_sdks_generated_grpc_clients_work_against_a_node() {
    let dir = tempfile::tempdir().expect("tmp");
    let home = dir.path();
    let ports = funded_home(home, CHAIN, "200ms");
    let alice = ok(
        home,
        &["keys", "show", "alice", "-a", "--keyring-backend", "test"],
    )
    .trim()
    .to_string();
    let _node = start_quiet(home);
    until("height 2", 60, || (height(ports.rpc) >= 2).then_some(()));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let ch = connect(ports.grpc).await;
        let mut bank = bank::query_client::QueryClient::new(ch.clone());
        let balance = |denom: &str, address: &str| bank::QueryBalanceRequest {
            address: address.into(),
            denom: denom.into(),
        };
        let res = bank
            .balance(balance("stake", &alice))
            .await
            .expect("balance");
        let answered_at: u64 = res
            .metadata()
            .get("x-cosmos-block-height")
            .expect("the height header")
            .to_str()
            .expect("text")
            .parse()
            .expect("a height");
        assert!(answered_at >= 2, "{answered_at}");
        let coin = res.into_inner().balance.expect("a coin");
        assert_eq!(
            (coin.denom.as_str(), coin.amount.as_str()),
            ("stake", "1000000")
        );

        // A missing account: NotFound, with the SDK's words.
        let mut auth = auth::query_client::QueryClient::new(ch.clone());
        let nobody = "cosmos1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqnrql8a";
        let e = auth
            .account(auth::QueryAccountRequest {
                address: nobody.into(),
            })
            .await
            .expect_err("no such account");
        assert_eq!(e.code(), Code::NotFound, "{e:?}");
        assert!(e.message().contains(nobody), "{e:?}");
        let account = auth
            .account(auth::QueryAccountRequest {
                address: alice.clone(),
            })
            .await
            .expect("alice's account")
            .into_inner()
            .account
            .expect("an Any");
        assert_eq!(account.type_url, "/cosmos.auth.v1beta1.BaseAccount");

        // The tendermint service.
        let mut tm = cmt::service_client::ServiceClient::new(ch.clone());
        let latest = tm
            .get_latest_block(cmt::GetLatestBlockRequest {})
            .await
            .expect("latest block")
            .into_inner();
        let header = latest.block.and_then(|b| b.header).expect("a header");
        assert_eq!(header.chain_id, CHAIN);
        assert!(header.height >= 2);
        let sdk_header = latest.sdk_block.and_then(|b| b.header).expect("sdk header");
        assert!(
            sdk_header.proposer_address.starts_with("cosmosvalcons1"),
            "{}",
            sdk_header.proposer_address
        );
        let first = tm
            .get_block_by_height(cmt::GetBlockByHeightRequest { height: 1 })
            .await
            .expect("block 1")
            .into_inner();
        assert_eq!(
            first.block.and_then(|b| b.header).map(|h| h.height),
            Some(1)
        );
        assert_eq!(first.block_id.map(|id| id.hash.len()), Some(32));
        let e = tm
            .get_block_by_height(cmt::GetBlockByHeightRequest { height: 1 << 40 })
            .await
            .expect_err("too high");
        assert_eq!(e.code(), Code::InvalidArgument);
        assert_eq!(
            e.message(),
            "requested block height is bigger then the chain length"
        );
        let set = tm
            .get_latest_validator_set(cmt::GetLatestValidatorSetRequest { pagination: None })
            .await
            .expect("validators")
            .into_inner();
        assert_eq!(set.validators.len(), 1);
        assert!(set.validators[0].address.starts_with("cosmosvalcons1"));
        assert_eq!(
            set.validators[0]
                .pub_key
                .as_ref()
                .map(|k| k.type_url.as_str()),
            Some("/cosmos.crypto.ed25519.PubKey")
        );
        let info = tm
            .get_node_info(cmt::GetNodeInfoRequest {})
            .await
            .expect("node info")
            .into_inner();
        assert_eq!(
            info.default_node_info.map(|n| n.network),
            Some(CHAIN.to_string())
        );
        assert!(
            !tm.get_syncing(cmt::GetSyncingRequest {})
                .await
                .expect("syncing")
                .into_inner()
                .syncing
        );
        let config = node::service_client::ServiceClient::new(ch.clone())
            .config(node::ConfigRequest {})
            .await
            .expect("config")
            .into_inner();
        assert_eq!(config.pruning_keep_recent, "0");

        // The tx service: simulate, broadcast, then find it by hash, by event and in its block.
        let to: cosmrs::AccountId = "cosmos1yy3zxfp9ycnjs2f29vkz6t30xqcnyve5j4ep6w"
            .parse()
            .expect("address");
        let tx = alice_send(home, CHAIN, &to, 1234, 0);
        let mut service = txs::service_client::ServiceClient::new(ch.clone());
        #[allow(deprecated)] // `tx` is the SDK's own field too, still answered.
        let simulated = service
            .simulate(txs::SimulateRequest {
                tx: None,
                tx_bytes: tx.clone(),
            })
            .await
            .expect("simulate")
            .into_inner();
        assert!(simulated.gas_info.expect("gas").gas_used > 0);
        let sent = service
            .broadcast_tx(txs::BroadcastTxRequest {
                tx_bytes: tx.clone(),
                mode: txs::BroadcastMode::Sync as i32,
            })
            .await
            .expect("broadcast")
            .into_inner()
            .tx_response
            .expect("a response");
        assert_eq!(sent.code, 0, "{}", sent.raw_log);
        let hash = sent.txhash.clone();
        let mut found = None;
        for _ in 0..200 {
            match service
                .get_tx(txs::GetTxRequest { hash: hash.clone() })
                .await
            {
                Ok(r) => {
                    found = Some(r.into_inner());
                    break;
                }
                Err(e) => assert_eq!(e.code(), Code::NotFound, "{e:?}"),
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let found = found.expect("the tx is committed");
        let r = found.tx_response.expect("tx_response");
        assert_eq!((r.code, r.txhash.as_str()), (0, hash.as_str()));
        assert!(r.height > 0 && r.gas_used > 0 && !r.timestamp.is_empty());
        assert_eq!(
            r.tx.as_ref().map(|t| t.type_url.as_str()),
            Some("/cosmos.tx.v1beta1.Tx")
        );
        let body = found.tx.and_then(|t| t.body).expect("body");
        assert_eq!(body.messages[0].type_url, "/cosmos.bank.v1beta1.MsgSend");
        let by_event = service
            .get_txs_event(txs::GetTxsEventRequest {
                query: format!("message.sender='{alice}'"),
                ..Default::default()
            })
            .await
            .expect("search")
            .into_inner();
        assert_eq!(by_event.total, 1);
        assert_eq!(by_event.tx_responses[0].txhash, hash);
        let block = service
            .get_block_with_txs(txs::GetBlockWithTxsRequest {
                height: r.height,
                pagination: None,
            })
            .await
            .expect("block with txs")
            .into_inner();
        assert_eq!(block.txs.len(), 1);
        assert_eq!(
            block.block.and_then(|b| b.header).map(|h| h.height),
            Some(r.height)
        );

        // The recipient now, and alice before the send (an older height).
        let now = bank
            .balance(balance("stake", to.as_ref()))
            .await
            .expect("balance")
            .into_inner();
        assert_eq!(now.balance.map(|c| c.amount), Some("1234".into()));
        let before = bank
            .balance(with_height(balance("stake", &alice), 1))
            .await
            .expect("balance at 1");
        assert_eq!(
            before
                .metadata()
                .get("x-cosmos-block-height")
                .and_then(|v| v.to_str().ok()),
            Some("1")
        );
        assert_eq!(
            before.into_inner().balance.map(|c| c.amount),
            Some("1000000".into())
        );

        // A service this node does not have.
        let e = gov::query_client::QueryClient::new(ch.clone())
            .params(gov::QueryParamsRequest {
                params_type: "voting".into(),
            })
            .await
            .expect_err("no gov here");
        assert_eq!(e.code(), Code::Unimplemented, "{e:?}");
    });

    // grpc-web: the same query over HTTP/1.1, framed as a browser sends it.
    let msg = bank::QueryBalanceRequest {
        address: alice.clone(),
        denom: "stake".into(),
    }
    .encode_to_vec();
    let mut frame = vec![0u8];
    frame.extend((msg.len() as u32).to_be_bytes());
    frame.extend(&msg);
    let mut s = std::net::TcpStream::connect(("127.0.0.1", ports.grpc)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let head = format!(
        "POST /cosmos.bank.v1beta1.Query/Balance HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/grpc-web+proto\r\nX-Grpc-Web: 1\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        frame.len()
    );
    s.write_all(head.as_bytes()).expect("write");
    s.write_all(&frame).expect("write");
    let mut resp = Vec::new();
    let _ = s.read_to_end(&mut resp);
    let text = String::from_utf8_lossy(&resp);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(
        text.to_ascii_lowercase()
            .contains("content-type: application/grpc-web+proto"),
        "{text}"
    );
    assert!(text.contains("grpc-status:0"), "{text}");
}
