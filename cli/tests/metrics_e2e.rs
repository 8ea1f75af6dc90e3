//! Prometheus metrics of a running `keystone start` with `[instrumentation] prometheus =
//! true`: scraped over HTTP, CometBFT's metric names and `chain_id` label, the consensus
//! figures following the chain, a committed transaction counted, a refused one counted as a
//! failed CheckTx, and the block-interval and block-processing histograms filled; read with
//! `prometheus-parse`. On four validators: per peer and channel bytes, a stopped validator
//! missing from the commits, and its own missed blocks counted once it is back.

mod common;
use common::start_quiet;
use common::{alice_send, broadcast_tx_sync, edit_config, free_port, funded_home, rpc, until};
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::time::Duration;

const CHAIN: &str = "metrics-e2e";

fn height(rpc_port: u16) -> u64 {
    rpc(rpc_port, "status", serde_json::json!({}))["result"]["sync_info"]["latest_block_height"]
        .as_str()
        .and_then(|h| h.parse().ok())
        .unwrap_or(0)
}

/// `GET /metrics`: its content type and every sample, `name{labels}` → value.
fn scrape(port: u16) -> Option<(String, BTreeMap<String, f64>)> {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    s.write_all(b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        .ok()?;
    let mut resp = String::new();
    s.read_to_string(&mut resp).ok()?;
    let (head, body) = resp.split_once("\r\n\r\n")?;
    if !head.starts_with("HTTP/1.1 200") {
        return None;
    }
    let content_type = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-type: ")
                .map(str::to_string)
        })
        .unwrap_or_default();
    // Read by `prometheus-parse`, a text-format parser someone else wrote; each sample keyed
    // `name{label="value",…}` with the labels in name order.
    let scrape = prometheus_parse::Scrape::parse(body.lines().map(|l| Ok(l.to_string()))).ok()?;
    let samples = scrape
        .samples
        .iter()
        .filter_map(|s| {
            let value = match s.value {
                prometheus_parse::Value::Counter(v)
                | prometheus_parse::Value::Gauge(v)
                | prometheus_parse::Value::Untyped(v) => v,
                _ => return None,
            };
            Some((format!("{}{{{}}}", s.metric, s.labels), value))
        })
        .collect();
    Some((content_type, samples))
}

fn sample(samples: &BTreeMap<String, f64>, name: &str) -> f64 {
    let key = format!("cometbft_{name}{{chain_id=\"{CHAIN}\"}}");
    *samples
        .get(&key)
        .unwrap_or_else(|| panic!("no {key} in {samples:#?}"))
}

#[test]
fn prometheus_metrics_follow_the_chain_under_cometbfts_names() {
    let dir = tempfile::tempdir().expect("tmp");
    let home = dir.path();
    let ports = funded_home(home, CHAIN, "100ms");
    let metrics_port = free_port();
    edit_config(
        home,
        "config.toml",
        "prometheus = false",
        "prometheus = true",
    );
    edit_config(
        home,
        "config.toml",
        "prometheus_listen_addr = \":26660\"",
        &format!("prometheus_listen_addr = \":{metrics_port}\""),
    );
    let _node = start_quiet(home);
    until("height 3", 60, || (height(ports.rpc) >= 3).then_some(()));

    let to: cosmrs::AccountId = "cosmos1yy3zxfp9ycnjs2f29vkz6t30xqcnyve5j4ep6w"
        .parse()
        .expect("address");
    let sent = broadcast_tx_sync(ports.rpc, &alice_send(home, CHAIN, &to, 5, 0));
    assert_eq!(sent["result"]["code"], 0, "{sent}");
    let refused = broadcast_tx_sync(ports.rpc, b"not a transaction");
    assert_ne!(refused["result"]["code"], 0, "{refused}");
    let (content_type, samples) = until("a scrape counting the transaction", 30, || {
        let (t, s) = scrape(metrics_port)?;
        (s.get(&format!(
            "cometbft_consensus_total_txs{{chain_id=\"{CHAIN}\"}}"
        )) == Some(&1.0))
        .then_some((t, s))
    });
    assert!(
        content_type.starts_with("application/openmetrics-text"),
        "{content_type}"
    );
    let latest = sample(&samples, "consensus_latest_block_height");
    assert!(latest >= 3.0, "{latest}");
    assert_eq!(sample(&samples, "consensus_height"), latest + 1.0);
    assert_eq!(sample(&samples, "consensus_validators"), 1.0);
    assert!(sample(&samples, "consensus_validators_power") > 0.0);
    assert_eq!(sample(&samples, "consensus_missing_validators"), 0.0);
    assert_eq!(sample(&samples, "consensus_byzantine_validators"), 0.0);
    assert_eq!(sample(&samples, "consensus_validator_missed_blocks"), 0.0);
    assert!(sample(&samples, "consensus_block_size_bytes") > 0.0);
    assert_eq!(sample(&samples, "mempool_failed_txs"), 1.0);
    assert_eq!(sample(&samples, "mempool_size"), 0.0);
    assert_eq!(sample(&samples, "p2p_peers"), 0.0);
    assert_eq!(sample(&samples, "blocksync_syncing"), 0.0);
    assert!(sample(&samples, "consensus_block_interval_seconds_count") >= 2.0);
    assert!(sample(&samples, "state_block_processing_time_count") >= 3.0);

    // The figures move with the chain.
    let later = until("a later height in the metrics", 30, || {
        let (_, s) = scrape(metrics_port)?;
        let h = *s.get(&format!(
            "cometbft_consensus_latest_block_height{{chain_id=\"{CHAIN}\"}}"
        ))?;
        (h >= latest + 2.0).then_some(h)
    });
    assert!(later as u64 <= height(ports.rpc));
}

/// Four validators, metrics on node0 and node3: node0 counts bytes per peer and per channel
/// (CometBFT's `chID` label); with node3 stopped, node0 sees one validator missing from the
/// commits; node3, back and caught up, counts the blocks it missed.
#[test]
fn four_validators_peer_channel_bytes_and_a_stopped_validators_missed_blocks() {
    const NET: &str = "metrics-net";
    let dir = tempfile::tempdir().expect("tmp");
    let base = keystone_localnet::free_base(40).expect("free ports");
    let net = dir.path().join("net");
    common::ok(
        dir.path(),
        &[
            "testnet",
            "init-files",
            "--v",
            "4",
            "--output-dir",
            net.to_str().expect("utf-8"),
            "--chain-id",
            NET,
            "--base-port",
            &base.to_string(),
            "--timeout-commit",
            "100ms",
        ],
    );
    let home = |i: u16| net.join(format!("node{i}"));
    let rpc_port = |i: u16| base + 10 * i + 1;
    let metrics_port = |i: u16| base + 10 * i + 5;
    for i in [0u16, 3] {
        edit_config(
            &home(i),
            "config.toml",
            "prometheus = false",
            "prometheus = true",
        );
        edit_config(
            &home(i),
            "config.toml",
            "prometheus_listen_addr = \":26660\"",
            &format!("prometheus_listen_addr = \":{}\"", metrics_port(i)),
        );
    }
    let mut nodes: Vec<Option<common::Proc>> =
        (0..4).map(|i| Some(start_quiet(&home(i)))).collect();
    until("height 3", 60, || (height(rpc_port(0)) >= 3).then_some(()));
    let get = |samples: &BTreeMap<String, f64>, key: &str| samples.get(key).copied();
    // Votes travel on 0x22: every peer sends node0 some, and node0 sends every peer some.
    let votes = |s: &BTreeMap<String, f64>, name: &str| -> Vec<f64> {
        s.iter()
            .filter(|(k, _)| k.starts_with(&format!("{name}{{")) && k.contains("chID=\"0x22\""))
            .map(|(_, v)| *v)
            .collect()
    };
    let samples = until("three peers with vote traffic both ways", 60, || {
        let (_, s) = scrape(metrics_port(0))?;
        let both = [
            "cometbft_p2p_peer_receive_bytes_total",
            "cometbft_p2p_peer_send_bytes_total",
        ]
        .iter()
        .all(|name| {
            let v = votes(&s, name);
            v.len() == 3 && v.iter().all(|b| *b > 0.0)
        });
        (get(&s, &format!("cometbft_p2p_peers{{chain_id=\"{NET}\"}}")) == Some(3.0) && both)
            .then_some(s)
    });
    // The labels are CometBFT's: a peer id and the channel as `%#x`, beside the chain id.
    let one = samples
        .keys()
        .find(|k| k.starts_with("cometbft_p2p_peer_receive_bytes_total{") && k.contains("0x22"))
        .expect("a vote-channel series");
    assert!(
        one.contains("peer_id=\"") && one.contains(&format!("chain_id=\"{NET}\"")),
        "{one}"
    );

    // node3 stops: node0's commits miss one validator.
    nodes[3] = None;
    let stopped_at = height(rpc_port(0));
    until("commits without node3", 60, || {
        let (_, s) = scrape(metrics_port(0))?;
        (get(
            &s,
            &format!("cometbft_consensus_missing_validators{{chain_id=\"{NET}\"}}"),
        ) == Some(1.0))
        .then_some(())
    });
    until("a few heights without node3", 60, || {
        (height(rpc_port(0)) >= stopped_at + 4).then_some(())
    });
    // node3 comes back, catches up, and counts the blocks it was missing from.
    nodes[3] = Some(start_quiet(&home(3)));
    let missed = until("node3's missed blocks", 60, || {
        let (_, s) = scrape(metrics_port(3))?;
        let missed = get(
            &s,
            &format!("cometbft_consensus_validator_missed_blocks{{chain_id=\"{NET}\"}}"),
        )?;
        (missed >= 3.0).then_some(missed)
    });
    assert!(missed >= 3.0, "{missed}");
    drop(nodes);
}
