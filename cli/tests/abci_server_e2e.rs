//! The built-in application over the ABCI socket, both ends real processes: `keystone
//! abci-server` serves it, and `keystone start --proxy-app` replicates it — the engine cannot
//! tell it from the in-process app. A cosmrs-signed send is committed and its effect proved;
//! an independent ABCI client (`tendermint-abci`) reads the same server.

use cosmrs::AccountId;
use std::process::Stdio;
use std::time::Duration;

mod common;
use common::{alice_send, free_port, funded_home, keystone, rpc, until, Proc};

const CHAIN: &str = "keystone-abci";

#[test]
fn start_with_proxy_app_replicates_the_built_in_app_served_by_abci_server() {
    let dir = tempfile::tempdir().expect("tmp");
    let home = dir.path();
    let port = funded_home(home, CHAIN, "100ms").rpc;
    let abci = format!("tcp://127.0.0.1:{}", free_port());
    // The node first: it waits for the application, retrying.
    let _node = Proc(
        keystone(home)
            .args(["start", "--proxy-app", &abci])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start"),
    );
    std::thread::sleep(Duration::from_millis(300));
    let _app = Proc(
        keystone(home)
            .args(["abci-server", "--address", &abci])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("abci-server"),
    );
    until("blocks", 60, || {
        rpc(port, "status", serde_json::json!({}))["result"]["sync_info"]["latest_block_height"]
            .as_str()
            .and_then(|h| h.parse::<u64>().ok())
            .filter(|h| *h >= 2)
    });

    let bob = AccountId::new("cosmos", &[0xb2; 20]).expect("id");
    use base64::Engine as _;
    let tx =
        base64::engine::general_purpose::STANDARD.encode(alice_send(home, CHAIN, &bob, 100, 0));
    let r = rpc(port, "broadcast_tx_commit", serde_json::json!({"tx": tx}));
    assert_eq!(r["result"]["tx_result"]["code"], 0, "{r}");
    let key = format!("bank/balances/{bob}/stake");
    let q = rpc(
        port,
        "abci_query",
        serde_json::json!({"path": "/store/key", "data": hex::encode(&key)}),
    );
    assert_eq!(
        q["result"]["response"]["value"], "MTAw",
        "100, through the socket: {q}"
    );

    // An independent client on the same server.
    let mut client = tendermint_abci::ClientBuilder::default()
        .connect(abci.trim_start_matches("tcp://"))
        .expect("tendermint-abci connects");
    let info = client
        .info(keystone_proto::abci::RequestInfo::default())
        .expect("info");
    assert!(info.last_block_height >= 2, "{info:?}");
    let q = client
        .query(keystone_proto::abci::RequestQuery {
            data: key.into_bytes().into(),
            path: "/store/key".into(),
            height: 0,
            prove: false,
        })
        .expect("query");
    assert_eq!(q.value.as_ref(), b"100");
}
