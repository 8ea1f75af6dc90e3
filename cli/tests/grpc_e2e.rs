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

/// The REST routes added for wallets and explorers answer what the SDK's gRPC clients get
/// from the same node: spendable balances, denom metadata (from genesis), module accounts,
/// a validator's slashes, the node's config and a block with its transactions.
#[test]
fn the_newer_rest_routes_answer_as_the_grpc_methods() {
    use cosmos_sdk_proto::cosmos::distribution::v1beta1 as distr;
    let dir = tempfile::tempdir().expect("tmp");
    let home = dir.path();
    let ports = funded_home(home, "routes-1", "100ms");
    let genesis = home.join("config/genesis.json");
    let mut g: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&genesis).expect("genesis")).expect("json");
    g["app_state"]["bank"]["denom_metadata"] = serde_json::json!([{
        "description": "The staking token",
        "denom_units": [
            {"denom": "stake", "exponent": 0, "aliases": ["microstake"]},
            {"denom": "STAKE", "exponent": 6, "aliases": []},
        ],
        "base": "stake", "display": "STAKE", "name": "Stake", "symbol": "STK",
        "uri": "", "uri_hash": "",
    }]);
    std::fs::write(&genesis, g.to_string()).expect("write genesis");
    let alice = ok(
        home,
        &["keys", "show", "alice", "-a", "--keyring-backend", "test"],
    )
    .trim()
    .to_string();
    let _node = start_quiet(home);
    until("height 2", 60, || (height(ports.rpc) >= 2).then_some(()));
    let bob = cosmrs::crypto::secp256k1::SigningKey::from_slice(&[9; 32])
        .expect("key")
        .public_key()
        .account_id("cosmos")
        .expect("id");
    let sent = common::broadcast_tx_sync(ports.rpc, &alice_send(home, "routes-1", &bob, 5, 0));
    assert_eq!(sent["result"]["code"], 0, "{sent}");
    let hash = sent["result"]["hash"].as_str().expect("hash").to_string();
    let tx_height: i64 = until("the send committed", 60, || {
        let r = rpc(
            ports.rpc,
            "tx",
            serde_json::json!({"hash": base64_of_hex(&hash)}),
        );
        r["result"]["height"].as_str().and_then(|h| h.parse().ok())
    });
    let rest = |path: &str| -> (u16, serde_json::Value) {
        common::http(ports.rest, "GET", path, "").expect("the REST server answers")
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let ch = connect(ports.grpc).await;
        let mut bank = bank::query_client::QueryClient::new(ch.clone());
        let spendable = bank
            .spendable_balances(bank::QuerySpendableBalancesRequest {
                address: alice.clone(),
                pagination: None,
            })
            .await
            .expect("spendable")
            .into_inner();
        let (status, r) = rest(&format!("/cosmos/bank/v1beta1/spendable_balances/{alice}"));
        assert_eq!(status, 200, "{r}");
        let coins: Vec<(String, String)> = spendable
            .balances
            .iter()
            .map(|c| (c.denom.clone(), c.amount.clone()))
            .collect();
        let rest_coins: Vec<(String, String)> = r["balances"]
            .as_array()
            .expect("balances")
            .iter()
            .map(|c| (c["denom"].as_str().expect("d").into(), c["amount"].as_str().expect("a").into()))
            .collect();
        assert_eq!(rest_coins, coins);
        assert!(!coins.is_empty());

        let metas = bank
            .denoms_metadata(bank::QueryDenomsMetadataRequest { pagination: None })
            .await
            .expect("metadata")
            .into_inner()
            .metadatas;
        assert_eq!(metas.len(), 1);
        assert_eq!(metas[0].symbol, "STK");
        assert_eq!(metas[0].denom_units[1].exponent, 6);
        let (status, r) = rest("/cosmos/bank/v1beta1/denoms_metadata");
        assert_eq!(status, 200, "{r}");
        assert_eq!(r["metadatas"][0], g["app_state"]["bank"]["denom_metadata"][0]);
        assert_eq!(r["pagination"]["total"], "1");
        let one = bank
            .denom_metadata(bank::QueryDenomMetadataRequest {
                denom: "stake".into(),
            })
            .await
            .expect("one")
            .into_inner()
            .metadata
            .expect("metadata");
        assert_eq!(one, metas[0]);
        let (status, r) = rest("/cosmos/bank/v1beta1/denoms_metadata/stake");
        assert_eq!(status, 200, "{r}");
        assert_eq!(r["metadata"], g["app_state"]["bank"]["denom_metadata"][0]);
        let e = bank
            .denom_metadata(bank::QueryDenomMetadataRequest {
                denom: "nope".into(),
            })
            .await
            .expect_err("no metadata");
        assert_eq!(e.code(), Code::NotFound, "{e:?}");
        let (status, r) = rest("/cosmos/bank/v1beta1/denoms_metadata/nope");
        assert_eq!(status, 404, "{r}");

        let mut auth = auth::query_client::QueryClient::new(ch.clone());
        let accounts = auth
            .module_accounts(auth::QueryModuleAccountsRequest {})
            .await
            .expect("module accounts")
            .into_inner()
            .accounts;
        let names: Vec<String> = accounts
            .iter()
            .map(|a| {
                auth::ModuleAccount::decode(a.value.as_slice())
                    .expect("a module account")
                    .name
            })
            .collect();
        assert!(names.contains(&"fee_collector".to_string()), "{names:?}");
        let (status, r) = rest("/cosmos/auth/v1beta1/module_accounts");
        assert_eq!(status, 200, "{r}");
        let rest_names: Vec<String> = r["accounts"]
            .as_array()
            .expect("accounts")
            .iter()
            .map(|a| a["name"].as_str().expect("name").to_string())
            .collect();
        assert_eq!(rest_names, names);
        assert_eq!(r["accounts"][0]["@type"], "/cosmos.auth.v1beta1.ModuleAccount");
        let by_name = auth
            .module_account_by_name(auth::QueryModuleAccountByNameRequest {
                name: "fee_collector".into(),
            })
            .await
            .expect("by name")
            .into_inner()
            .account
            .expect("an Any");
        let fee = auth::ModuleAccount::decode(by_name.value.as_slice()).expect("decodes");
        let (status, r) = rest("/cosmos/auth/v1beta1/module_accounts/fee_collector");
        assert_eq!(status, 200, "{r}");
        assert_eq!(
            r["account"]["base_account"]["address"],
            fee.base_account.expect("base").address
        );

        let mut distribution = distr::query_client::QueryClient::new(ch.clone());
        let valoper = keystone_modules::Address([0x11; 20]).to_valoper();
        let slashes = distribution
            .validator_slashes(distr::QueryValidatorSlashesRequest {
                validator_address: valoper.clone(),
                starting_height: 0,
                ending_height: 100,
                pagination: None,
            })
            .await
            .expect("slashes")
            .into_inner();
        let (status, r) = rest(&format!(
            "/cosmos/distribution/v1beta1/validators/{valoper}/slashes?starting_height=0&ending_height=100"
        ));
        assert_eq!(status, 200, "{r}");
        assert_eq!(r["slashes"].as_array().map(Vec::len), Some(slashes.slashes.len()));
        let (status, r) = rest(&format!(
            "/cosmos/distribution/v1beta1/validators/{valoper}/slashes?starting_height=5&ending_height=1"
        ));
        assert_eq!(status, 400, "{r}");

        let mut node_service = node::service_client::ServiceClient::new(ch.clone());
        let config = node_service
            .config(node::ConfigRequest {})
            .await
            .expect("config")
            .into_inner();
        let (status, r) = rest("/cosmos/base/node/v1beta1/config");
        assert_eq!(status, 200, "{r}");
        assert_eq!(r["minimum_gas_price"], config.minimum_gas_price);
        assert_eq!(r["pruning_keep_recent"], config.pruning_keep_recent);
        assert_eq!(r["halt_height"], config.halt_height.to_string());

        let mut tx_service = txs::service_client::ServiceClient::new(ch);
        let with_txs = tx_service
            .get_block_with_txs(txs::GetBlockWithTxsRequest {
                height: tx_height,
                pagination: None,
            })
            .await
            .expect("block with txs")
            .into_inner();
        let (status, r) = rest(&format!("/cosmos/tx/v1beta1/txs/block/{tx_height}"));
        assert_eq!(status, 200, "{r}");
        assert_eq!(r["txs"].as_array().map(Vec::len), Some(with_txs.txs.len()));
        assert_eq!(
            r["txs"][0]["body"]["messages"][0]["@type"],
            with_txs.txs[0].body.as_ref().expect("body").messages[0].type_url
        );
        assert_eq!(
            r["block"]["header"]["height"],
            tx_height.to_string()
        );
        use base64::Engine as _;
        assert_eq!(
            r["block_id"]["hash"],
            base64::engine::general_purpose::STANDARD
                .encode(with_txs.block_id.expect("id").hash)
        );
        assert_eq!(r["pagination"]["total"], "1");
        let (status, _) = rest(&format!("/cosmos/tx/v1beta1/txs/block/{}", tx_height + 1_000_000));
        assert_eq!(status, 400);
    });
}

fn base64_of_hex(h: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(hex::decode(h).expect("hex"))
}

/// Each client IP has a budget of calls (app.toml `[grpc] rate-limit-*`, loopback included
/// here): past the burst a call is ResourceExhausted, and the budget refills.
#[test]
fn a_client_past_its_budget_is_refused_until_it_refills() {
    let dir = tempfile::tempdir().expect("tmp");
    let home = dir.path();
    let ports = funded_home(home, "grpc-budget", "200ms");
    let edit = |from: &str, to: &str| common::edit_config(home, "app.toml", from, to);
    edit("rate-limit-per-second = 100", "rate-limit-per-second = 2");
    edit("rate-limit-burst = 200", "rate-limit-burst = 3");
    edit("rate-limit-loopback = false", "rate-limit-loopback = true");
    let _node = start_quiet(home);
    until("height 1", 60, || (height(ports.rpc) >= 1).then_some(()));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let ch = connect(ports.grpc).await;
        let mut node_service = node::service_client::ServiceClient::new(ch);
        let mut results = Vec::new();
        for _ in 0..6 {
            results.push(node_service.config(node::ConfigRequest {}).await);
        }
        let refused: Vec<_> = results.iter().filter_map(|r| r.as_ref().err()).collect();
        assert!(
            !refused.is_empty(),
            "six calls at once against a burst of 3"
        );
        assert!(
            results.iter().take(3).all(|r| r.is_ok()),
            "the burst passes"
        );
        for e in &refused {
            assert_eq!(e.code(), Code::ResourceExhausted, "{e:?}");
            assert!(e.message().contains("too many requests"), "{e:?}");
        }
        tokio::time::sleep(Duration::from_millis(1_100)).await;
        node_service
            .config(node::ConfigRequest {})
            .await
            .expect("the budget refilled");
    });
}
