//! Prometheus metrics (config.toml `[instrumentation] prometheus = true`, served at
//! `GET /metrics` on `prometheus_listen_addr`), under CometBFT's names so that its Grafana
//! dashboards and alerts work unchanged: namespace `cometbft` (`[instrumentation] namespace`),
//! every series labelled `chain_id`.
//!
//! - consensus: `height` (the height in progress), `latest_block_height`, `validators`,
//!   `validators_power`, `missing_validators`, `missing_validators_power`,
//!   `byzantine_validators`, `byzantine_validators_power`, `rounds` (of the last commit),
//!   `num_txs`, `total_txs`, `block_size_bytes`, `validator_missed_blocks` (this node's
//!   validator absent from a commit), `block_interval_seconds` (a histogram of header times);
//! - p2p: `peers`, and per peer and channel (`peer_id`, `chID` as `0x20`)
//!   `peer_send_bytes_total` and `peer_receive_bytes_total`;
//! - mempool: `size`, `size_bytes`, `failed_txs`, `recheck_times`;
//! - blocksync: `syncing` (1 while block sync is behind its peers);
//! - state: `block_processing_time` (a histogram, in ms, of the node's step that committed
//!   the block: FinalizeBlock, Commit and storing them).
//!
//! The consensus figures are taken when a height commits, on the node's thread, from the
//! stored block and its commit; the rest are read from the node's read view at each scrape.
//! CometBFT's counters `failed_txs` and `recheck_times` keep their names (a Prometheus counter
//! would gain `_total`): they are exposed as gauges that only grow. The encoding is
//! prometheus-client's OpenMetrics text, which Prometheus scrapes.

use keystone_consensus_driver::engine::Engine;
use keystone_consensus_driver::rpc::ReadView;
use keystone_consensus_types::BlockIdFlag;
use keystone_proto::Application;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::histogram::{exponential_buckets, linear_buckets, Histogram};
use prometheus_client::registry::Registry;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

/// The consensus figures of the last committed height.
#[derive(Clone, Debug, Default)]
struct Committed {
    latest_block_height: u64,
    validators: u64,
    validators_power: i64,
    missing_validators: u64,
    missing_validators_power: i64,
    byzantine_validators: u64,
    byzantine_validators_power: i64,
    rounds: u64,
    num_txs: u64,
    total_txs: u64,
    block_size_bytes: u64,
    validator_missed_blocks: u64,
    /// The last block's header time, in ns since the epoch (for the interval).
    last_time_ns: Option<i128>,
}

/// The node's metrics: what the node thread records and the scrape server encodes.
#[derive(Clone)]
pub struct Metrics {
    registry: Arc<Registry>,
    committed: Arc<Mutex<Committed>>,
    interval: Histogram,
    processing: Histogram,
    /// This node's consensus address, if it is a validator (for `validator_missed_blocks`).
    me: keystone_consensus_types::Address,
}

impl Metrics {
    /// Metrics of the node on `chain_id` whose consensus address is `me`, reading the rest
    /// from `view`, under `namespace`.
    pub fn new(
        namespace: &str,
        chain_id: &str,
        me: keystone_consensus_types::Address,
        view: ReadView,
    ) -> Metrics {
        let mut registry = Registry::with_prefix_and_labels(
            namespace,
            [("chain_id".into(), chain_id.to_string().into())].into_iter(),
        );
        let committed = Arc::new(Mutex::new(Committed::default()));
        let interval = Histogram::new(exponential_buckets(0.05, 2.0, 10));
        let processing = Histogram::new(linear_buckets(1.0, 10.0, 10));
        registry.register(
            "consensus_block_interval_seconds",
            "Time between this and the last block",
            interval.clone(),
        );
        registry.register(
            "state_block_processing_time",
            "Time spent processing FinalizeBlock (ms)",
            processing.clone(),
        );
        registry.register_collector(Box::new(Live {
            view,
            committed: committed.clone(),
        }));
        Metrics {
            registry: Arc::new(registry),
            committed,
            interval,
            processing,
            me,
        }
    }

    /// After `height` committed in a step of the node that took `took`.
    pub fn on_commit<A: Application>(&self, engine: &Engine<A>, height: u64, took: Duration) {
        let blocks = engine.blocks();
        let (Ok(Some(block)), Ok(Some(commit)), Ok(Some(set))) = (
            blocks.block_proto(height),
            blocks.commit(height),
            engine.validators_at(height),
        ) else {
            return;
        };
        let mut c = self
            .committed
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let txs = block.data.as_ref().map_or(0, |d| d.txs.len()) as u64;
        c.latest_block_height = height;
        c.validators = set.len() as u64;
        c.validators_power = set.total_voting_power();
        let mut missing = (0u64, 0i64);
        for (v, sig) in set.validators().iter().zip(&commit.signatures) {
            if sig.block_id_flag == BlockIdFlag::Absent {
                missing.0 += 1;
                missing.1 += v.voting_power;
                if v.address == self.me {
                    c.validator_missed_blocks += 1;
                }
            }
        }
        (c.missing_validators, c.missing_validators_power) = missing;
        let mut byzantine = (0u64, 0i64);
        if let Some(list) = &block.evidence {
            for e in &list.evidence {
                byzantine.0 += 1;
                if let Some(keystone_proto::types::evidence::Sum::DuplicateVoteEvidence(d)) = &e.sum
                {
                    byzantine.1 += d.validator_power;
                }
            }
        }
        (c.byzantine_validators, c.byzantine_validators_power) = byzantine;
        c.rounds = u64::from(commit.round);
        c.num_txs = txs;
        c.total_txs += txs;
        c.block_size_bytes = keystone_proto::prost::Message::encoded_len(&block) as u64;
        if let Some(t) = block.header.as_ref().and_then(|h| h.time.as_ref()) {
            let ns = i128::from(t.seconds) * 1_000_000_000 + i128::from(t.nanos);
            if let Some(last) = c.last_time_ns {
                // Metrics only: a float is what Prometheus takes.
                self.interval.observe((ns - last) as f64 / 1e9);
            }
            c.last_time_ns = Some(ns);
        }
        self.processing.observe(took.as_secs_f64() * 1000.0);
    }

    /// The OpenMetrics text of every metric now.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        if let Err(e) = prometheus_client::encoding::text::encode(&mut out, &self.registry) {
            tracing::warn!(error = %e, "encoding the metrics failed");
        }
        out
    }
}

/// What is read from the node at each scrape.
struct Live {
    view: ReadView,
    committed: Arc<Mutex<Committed>>,
}

impl std::fmt::Debug for Live {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Live")
    }
}

fn gauge(e: &mut DescriptorEncoder, name: &str, help: &str, v: i64) -> std::fmt::Result {
    let g = ConstGauge::new(v);
    g.encode(e.encode_descriptor(name, help, None, g.metric_type())?)
}

impl Collector for Live {
    fn encode(&self, mut e: DescriptorEncoder) -> std::fmt::Result {
        let c = self
            .committed
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let n = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
        let consensus: [(&str, &str, i64); 13] = [
            (
                "consensus_height",
                "Height of the chain",
                n(c.latest_block_height + 1),
            ),
            (
                "consensus_latest_block_height",
                "The latest block height",
                n(c.latest_block_height),
            ),
            (
                "consensus_validators",
                "Number of validators",
                n(c.validators),
            ),
            (
                "consensus_validators_power",
                "Total power of all validators",
                c.validators_power,
            ),
            (
                "consensus_missing_validators",
                "Number of validators who did not sign",
                n(c.missing_validators),
            ),
            (
                "consensus_missing_validators_power",
                "Total power of the missing validators",
                c.missing_validators_power,
            ),
            (
                "consensus_byzantine_validators",
                "Number of validators who tried to double sign",
                n(c.byzantine_validators),
            ),
            (
                "consensus_byzantine_validators_power",
                "Total power of the byzantine validators",
                c.byzantine_validators_power,
            ),
            (
                "consensus_rounds",
                "Number of rounds of the last committed height",
                n(c.rounds),
            ),
            (
                "consensus_num_txs",
                "Number of transactions in the last block",
                n(c.num_txs),
            ),
            (
                "consensus_total_txs",
                "Total number of transactions committed since this node started",
                n(c.total_txs),
            ),
            (
                "consensus_block_size_bytes",
                "Size of the last block",
                n(c.block_size_bytes),
            ),
            (
                "consensus_validator_missed_blocks",
                "Blocks this node's validator was missing from the commit",
                n(c.validator_missed_blocks),
            ),
        ];
        for (name, help, v) in consensus {
            gauge(&mut e, name, help, v)?;
        }
        let m = self.view.mempool().counts();
        gauge(
            &mut e,
            "mempool_size",
            "Number of uncommitted transactions in the mempool",
            n(m.size as u64),
        )?;
        gauge(
            &mut e,
            "mempool_size_bytes",
            "Total size of the mempool in bytes",
            n(m.bytes as u64),
        )?;
        gauge(
            &mut e,
            "mempool_failed_txs",
            "Number of transactions that failed CheckTx",
            n(m.failed),
        )?;
        gauge(
            &mut e,
            "mempool_recheck_times",
            "Number of times the mempool rechecked its transactions",
            n(m.recheck_times),
        )?;
        gauge(
            &mut e,
            "blocksync_syncing",
            "Whether the node is block syncing (1) or not (0)",
            i64::from(self.view.catching_up()),
        )?;
        let peers = self.view.peers();
        gauge(
            &mut e,
            "p2p_peers",
            "Number of peers",
            n(peers.len() as u64),
        )?;
        for (name, help, sent) in [
            ("p2p_peer_send_bytes", "Bytes sent to a peer", true),
            (
                "p2p_peer_receive_bytes",
                "Bytes received from a peer",
                false,
            ),
        ] {
            let mut family = e.encode_descriptor(
                name,
                help,
                None,
                prometheus_client::metrics::MetricType::Counter,
            )?;
            for p in &peers {
                let id = p.info.node_id.to_string();
                let channels = if sent {
                    &p.sent_by_channel
                } else {
                    &p.received_by_channel
                };
                for (ch, v) in channels {
                    // CometBFT's label: the channel id as Go's `%#x` prints it.
                    let ch = format!("{ch:#x}");
                    let labels = [("peer_id", id.as_str()), ("chID", ch.as_str())];
                    ConstCounter::new(*v).encode(family.encode_family(&labels)?)?;
                }
            }
        }
        Ok(())
    }
}

/// Serve `GET /metrics` on `addr` on a runtime of its own, until the process ends.
pub fn serve(addr: std::net::SocketAddr, metrics: Metrics) -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let router = axum::Router::new().route(
        "/metrics",
        axum::routing::get(move || {
            let m = metrics.clone();
            async move {
                (
                    [(
                        axum::http::header::CONTENT_TYPE,
                        "application/openmetrics-text; version=1.0.0; charset=utf-8",
                    )],
                    m.encode(),
                )
            }
        }),
    );
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        tracing::info!(%addr, "Prometheus metrics listening");
        axum::serve(listener, router).await?;
        Ok(())
    })
}
