//! `keystone start`: assemble the engine (built-in application, block store, WAL, privval,
//! mempool) from a home directory and run it on the wall clock, with the JSON-RPC and REST
//! servers and, when `config.toml` has a `[p2p]` section, the network: the switch (peers over
//! SecretConnection), consensus gossip (every new proposal, part and vote passed on to the
//! other peers), mempool gossip, and block sync.
//!
//! The node loop itself — timers, gossip, block sync, peer budgets, answers to clients — is
//! the driver's (`keystone_consensus_driver::node`), the same code the simulator runs; this
//! file only reads the home directory and wires the servers and the switch to it.

use crate::events::Committed;
use crate::home::{
    read_api_address, read_app_toml, read_genesis, read_node_config, read_p2p_config,
    read_timeouts, Home,
};
use crate::rpc::Request;
use anyhow::{Context, Result};
use keystone_app::snapshots::Snapshots;
use keystone_app::App;
use keystone_consensus_driver::block_store::BlockStore;
use keystone_consensus_driver::engine::{Engine, EngineConfig, Genesis};
use keystone_consensus_driver::mempool::Mempool;
use keystone_consensus_driver::node::run::{self, Event};
use keystone_consensus_driver::node::Node;
use keystone_consensus_driver::node_key::NodeKey;
use keystone_consensus_driver::pex;
use keystone_consensus_driver::privval::FilePrivVal;
use keystone_consensus_driver::reactor;
use keystone_consensus_driver::rpc::NodeContext;
use keystone_consensus_driver::switch::{PersistentPeer, Switch, SwitchConfig};
use keystone_consensus_driver::wal::Wal;
use keystone_p2p::{ConnectConfig, NodeInfo};
use keystone_proto::Application;
use keystone_store::Store;
use std::sync::mpsc;
use std::time::Duration;

/// How `start` runs.
#[derive(Clone, Debug, Default)]
pub struct StartOptions {
    /// Stop after committing this height (scripts and tests).
    pub stop_at: Option<u64>,
    /// Test-only misbehaviour: double-sign every vote (see `Engine::misbehave_double_sign`).
    #[cfg(feature = "fault-injection")]
    pub double_sign: bool,
    /// Replicate the external ABCI application at this address (`tcp://host:port` or
    /// `unix:///path`) instead of the built-in one.
    pub proxy_app: Option<String>,
}

/// Run the node until the process is stopped (or, with `stop_at`, until that height), over
/// the built-in application or, with `proxy_app`, an external one over the ABCI socket.
pub fn start(home: &Home, opts: &StartOptions) -> Result<()> {
    for (file, key, line) in crate::home::unknown_config_keys(home)? {
        tracing::warn!(
            file = %file.display(),
            line,
            key = %key,
            "unknown configuration key: Keystone does not read it"
        );
    }
    let doc = read_genesis(home)?;
    match &opts.proxy_app {
        None => {
            let app = built_in(home, &doc.chain_id)?;
            run(home, doc, app, opts)
        }
        Some(addr) => {
            tracing::info!(%addr, "connecting to the ABCI application");
            let app = keystone_consensus_driver::abci::SocketApp::connect(
                addr,
                keystone_consensus_driver::abci::SocketAppConfig::default(),
            )
            .with_context(|| format!("--proxy-app {addr}"))?;
            run(home, doc, app, opts)
        }
    }
}

/// The built-in application of `chain_id` over the home's state.
fn built_in(home: &Home, chain_id: &str) -> Result<App> {
    let (prices, pruning) = read_app_toml(&home.config("app.toml"))?;
    let path = home.data("application.redb");
    let mut store = Store::open(&path).with_context(|| {
        format!(
            "opening the state store {p}. If it is damaged, move it aside and start again: the \
             node rebuilds the state from its block store (`mv {p} {p}.damaged`)",
            p = path.display()
        )
    })?;
    if let Some((h, _)) = store.restore_pending()? {
        if crate::home::read_statesync_config(&home.config("config.toml"))?.is_none() {
            anyhow::bail!(
                "{} holds an unfinished state-sync restore of height {h}: enable [statesync] to                  resume it, or move the file aside to start from genesis",
                path.display()
            );
        }
    }
    if pruning.keep_recent > 0 {
        store = store
            .with_pruning(pruning.keep_recent)
            .pruned_every(pruning.interval);
    }
    let retain = crate::home::read_min_retain_blocks(&home.config("app.toml"))?;
    let snapshots = crate::home::read_snapshot_config(&home.config("app.toml"))?;
    Ok(App::new(store, chain_id, prices)
        .with_min_retain_blocks(retain)
        .with_snapshots(Snapshots::new(home.data("snapshots"), snapshots)))
}

/// `keystone abci-server`: the built-in application served on the ABCI socket at `address`,
/// for any CometBFT-compatible engine to drive, until the process is stopped.
pub fn abci_server(home: &Home, address: &str) -> Result<()> {
    let app = built_in(home, &read_genesis(home)?.chain_id)?;
    let server = keystone_consensus_driver::abci::Server::bind(app, address)
        .with_context(|| format!("--address {address}"))?;
    tracing::info!(address = %server.address(), "serving the built-in application over ABCI");
    server.run().context("ABCI server")?;
    Ok(())
}

fn run<A: Application>(
    home: &Home,
    doc: keystone_genesis::GenesisDoc,
    app: A,
    opts: &StartOptions,
) -> Result<()> {
    let timeouts = read_timeouts(&home.config("config.toml"))?;
    let app_state = doc
        .app_state
        .clone()
        .unwrap_or_else(|| serde_json::json!({}));
    let genesis = Genesis {
        chain_id: doc.chain_id.clone(),
        time: doc.time()?,
        initial_height: doc.initial_height as u64,
        validators: doc.validator_set()?,
        params: doc.consensus_params.hashed(),
        consensus_params: Some(doc.consensus_params.to_proto()),
        app_state: serde_json::to_vec(&app_state)?,
    };
    let max_bytes = match doc.consensus_params.block.max_bytes {
        -1 => keystone_genesis::MAX_BLOCK_SIZE_BYTES,
        b => b,
    };
    let cfg = EngineConfig {
        timeouts,
        // Room for the header, the last commit and evidence, as CometBFT reserves it.
        max_block_tx_bytes: (max_bytes - 64 * 1024).max(1024),
        max_block_gas: doc.consensus_params.block.max_gas,
        evidence_max_age_blocks: doc.consensus_params.evidence.max_age_num_blocks.max(0) as u64,
        max_evidence_bytes: doc.consensus_params.evidence.max_bytes,
    };
    let data = home.data("");
    let block_path = home.data("blockstore.redb");
    let indexing = crate::home::read_tx_indexing(&home.config("config.toml"))?;
    let blocks = BlockStore::open(&block_path).with_context(|| {
        format!(
            "opening the block store {p}. If it is damaged, move it, the state and the WAL aside \
             (never priv_validator_state.json) and start again to sync from peers: `cd {d} && \
             mkdir -p damaged && mv blockstore.redb application.redb cs.wal damaged/`",
            p = block_path.display(),
            d = data.display()
        )
    })?;
    let blocks = if indexing {
        blocks
    } else {
        blocks.without_index()
    };
    let wal_path = home.data("cs.wal").join("wal");
    let (wal, recovery) = Wal::open(&wal_path).with_context(|| {
        format!(
            "opening the consensus WAL {p}. If it is damaged, move it aside and start again \
             (priv_validator_state.json still keeps this validator from signing twice): \
             `mv {w} {w}.damaged`",
            p = wal_path.display(),
            w = home.data("cs.wal").display()
        )
    })?;
    if recovery.truncated_bytes > 0 {
        tracing::warn!(
            bytes = recovery.truncated_bytes,
            "cut a torn tail off the WAL"
        );
    }
    let privval = FilePrivVal::load(
        &home.config("priv_validator_key.json"),
        &home.data("priv_validator_state.json"),
    )?;
    // The snapshots the app serves to peers (state sync's serving side).
    let snapshots = app.snapshots();
    let (moniker, rpc_addr) = read_node_config(&home.config("config.toml"))?;
    let (ev_tx, ev_rx) = mpsc::channel::<Event>();
    let (req_tx, req_rx) = mpsc::channel::<Request>();
    forward(req_rx, ev_tx.clone(), Event::Rpc)?;
    let p2p = read_p2p_config(&home.config("config.toml"), &home.0)?;
    // The node's identity is reported by `status` even when p2p is off.
    let node_key = NodeKey::load(&home.config("node_key.json"))?;
    let mut channels = reactor::channels(max_bytes.max(0) as usize);
    if p2p.as_ref().is_some_and(|p| p.pex) {
        channels.insert(0, (pex::PEX_CHANNEL, pex::MAX_MESSAGE_BYTES));
    }
    let ids: Vec<u8> = channels.iter().map(|(c, _)| *c).collect();
    let mut info = NodeInfo::new(
        &node_key.public_key(),
        &doc.chain_id,
        &p2p.as_ref()
            .map(|p| match &p.external_address {
                Some(ext) if ext.contains("://") => ext.clone(),
                Some(ext) => format!("tcp://{ext}"),
                None => format!("tcp://{}", p.laddr),
            })
            .unwrap_or_default(),
        &moniker,
        &ids,
    );
    if !indexing {
        info.tx_index = "off".into();
    }
    let genesis_json: serde_json::Value = serde_json::from_slice(
        &std::fs::read(home.config("genesis.json")).context("reading genesis.json")?,
    )
    .context("genesis.json is not JSON")?;
    let rpc_ctx = NodeContext {
        info: info.clone(),
        rpc_address: format!("tcp://{rpc_addr}"),
        genesis: genesis_json,
        peers: Vec::new(),
        listening: p2p.is_some(),
        catching_up: false,
    };
    let switch = match p2p {
        None => None,
        Some(p2p) => {
            let laddr = p2p.laddr;
            let mut connect = ConnectConfig::new(channels);
            connect.handshake_timeout = Duration::from_secs(10);
            let pex = p2p
                .pex
                .then(|| build_pex(&p2p, &node_key.id()))
                .transpose()?;
            let net_tx = ev_tx.clone();
            let switch = Switch::start_with(
                SwitchConfig {
                    listen: laddr,
                    persistent_peers: p2p
                        .persistent_peers
                        .into_iter()
                        .map(|p| PersistentPeer {
                            id: p.id,
                            addr: p.addr,
                        })
                        .collect(),
                    key: node_key.0,
                    info,
                    connect,
                    max_inbound: p2p.max_inbound,
                    unconditional: p2p.unconditional_peer_ids,
                    pex,
                    services: statesync_services(snapshots.clone()),
                },
                move |e| {
                    let _ = net_tx.send(Event::Net(e));
                },
            )
            .with_context(|| format!("p2p: cannot listen on {laddr}"))?;
            tracing::info!(node_id = %switch.id(), %laddr, "p2p listening");
            Some(switch)
        }
    };
    stop_on_signals(ev_tx.clone())?;
    drop(ev_tx);
    let mut app = app;
    if !state_sync(
        home,
        &doc.chain_id,
        &mut app,
        &blocks,
        switch.as_ref(),
        &ev_rx,
    )? {
        // Stopped by a signal while syncing.
        return Ok(());
    }
    #[cfg_attr(not(feature = "fault-injection"), allow(unused_mut))]
    let mut engine = Engine::new(
        genesis,
        cfg,
        app,
        blocks,
        wal,
        privval,
        Mempool::new(crate::home::read_mempool_config(
            &home.config("config.toml"),
        )?),
    );
    tracing::info!(chain_id = %doc.chain_id, "starting");
    #[cfg(feature = "fault-injection")]
    if opts.double_sign {
        engine.misbehave_double_sign(keystone_consensus_driver::privval::read_key_file(
            &home.config("priv_validator_key.json"),
        )?);
    }
    let node = Node::new(engine, switch, rpc_ctx, std::time::Instant::now());
    // The servers read through this view on their own threads; only broadcasts, evidence
    // and the round state go to the node's thread.
    let view = node.reads();
    let metrics_view = view.clone();
    let bus = crate::events::Bus::default();
    // What `cosmos.base.node.v1beta1.Service/Config` reports, for the REST and gRPC servers.
    let node_config = crate::home::read_node_service_config(&home.config("app.toml"))?;
    if let Some(api) = read_api_address(&home.config("app.toml"))? {
        let rest_tx = crate::rpc::Engine::new(req_tx.clone(), Some(view.clone()));
        let limits = crate::home::read_api_limits(&home.config("app.toml"))?;
        let node_config = node_config.clone();
        std::thread::Builder::new()
            .name("rest".into())
            .spawn(move || {
                if let Err(e) = crate::rest::serve(api, rest_tx, node_config, &limits) {
                    tracing::error!(error = %e, "REST server stopped");
                }
            })?;
    }
    if let Some(grpc) = crate::home::read_grpc_config(&home.config("app.toml"))? {
        let grpc_engine = crate::rpc::Engine::new(req_tx.clone(), Some(view.clone()));
        let config = node_config.clone();
        std::thread::Builder::new()
            .name("grpc".into())
            .spawn(move || {
                if let Err(e) = crate::grpc::serve(&grpc, grpc_engine, config) {
                    tracing::error!(error = %e, "gRPC server stopped");
                }
            })?;
    }
    {
        let shared = crate::rpc::Shared {
            engine: crate::rpc::Engine::new(req_tx, Some(view)),
            events: bus.clone(),
            // CometBFT's `timeout_broadcast_tx_commit` default.
            commit_timeout: Duration::from_secs(10),
        };
        let mut limits = crate::home::read_rpc_limits(&home.config("config.toml"))?;
        // As CometBFT keeps its write timeout above `timeout_broadcast_tx_commit`.
        if !limits.request_timeout.is_zero() {
            limits.request_timeout = limits
                .request_timeout
                .max(shared.commit_timeout + Duration::from_secs(1));
        }
        std::thread::Builder::new()
            .name("rpc".into())
            .spawn(move || {
                let router = crate::rpc::router(shared);
                let style = crate::guard::ErrorStyle::JsonRpc;
                if let Err(e) = crate::rpc::serve_router(rpc_addr, router, "RPC", &limits, style) {
                    tracing::error!(error = %e, "RPC server stopped");
                }
            })?;
    }
    let stop_at = match opts.stop_at {
        Some(h) => Some(h),
        None => crate::home::read_halt_height(&home.config("app.toml"))?,
    };
    if let Some(h) = stop_at {
        tracing::info!(height = h, "will halt after committing this height");
    }
    let halt_time = crate::home::read_halt_time(&home.config("app.toml"))?;
    if let Some(t) = halt_time {
        tracing::info!(
            halt_time = t,
            "will halt after committing the first block at or past this time"
        );
    }
    let metrics = match crate::home::read_instrumentation(&home.config("config.toml"))? {
        None => None,
        Some((addr, namespace)) => {
            let metrics = crate::metrics::Metrics::new(
                &namespace,
                &doc.chain_id,
                node.engine().validator_key().address(),
                metrics_view,
            );
            let served = metrics.clone();
            std::thread::Builder::new()
                .name("metrics".into())
                .spawn(move || {
                    if let Err(e) = crate::metrics::serve(addr, served) {
                        tracing::error!(error = %e, "metrics server stopped");
                    }
                })?;
            Some(metrics)
        }
    };
    let halt = run::Halt {
        height: stop_at,
        time: halt_time,
    };
    run::run_until(node, ev_rx, halt, |engine, heights, took| {
        if let Some(m) = &metrics {
            for h in heights.clone() {
                m.on_commit(engine, h, took);
            }
        }
        if !bus.listened() {
            return;
        }
        for h in heights {
            match committed(engine, h) {
                Ok(c) => bus.publish(c),
                Err(e) => tracing::warn!(height = h, error = %e, "cannot announce a height"),
            }
        }
    })?;
    Ok(())
}

/// SIGTERM or SIGINT stops the node at its next step boundary, with its stores flushed and its
/// sockets closed, and `start` exits 0; a second signal exits at once (130): every durable
/// write is crash-safe, so that only loses what a crash would.
/// With `[statesync] enable` and a node that has no state yet: restore the application from a
/// snapshot peers hold, verified by a light client from the trust root, and start the block
/// store at its height. `false`: stopped by a signal meanwhile.
fn state_sync<A: Application>(
    home: &Home,
    chain_id: &str,
    app: &mut A,
    blocks: &BlockStore,
    switch: Option<&Switch>,
    events: &mpsc::Receiver<Event>,
) -> Result<bool> {
    use keystone_consensus_driver::statesync::syncer::{self, SyncError};
    let Some(cfg) = crate::home::read_statesync_config(&home.config("config.toml"))? else {
        return Ok(true);
    };
    let info = app.info(keystone_consensus_driver::engine::info_request())?;
    if blocks.height()? > 0 {
        tracing::info!("[statesync] enable is set, but the node has blocks: not syncing");
        return Ok(true);
    }
    let switch =
        switch.context("[statesync] enable needs [p2p]: peers to fetch a snapshot from")?;
    let mut provider = crate::statesync::LightProvider::new(&cfg, chain_id)?;
    if info.last_block_height > 0 {
        // Restored, and stopped before the block store was started.
        let h = info.last_block_height as u64;
        tracing::info!(
            height = h,
            "state sync: the state is restored; starting the block store"
        );
        return match syncer::bootstrap_only(
            app,
            blocks,
            switch,
            events,
            &mut provider,
            &cfg.timing,
            (h, &info.last_block_app_hash),
        ) {
            Ok(()) => Ok(true),
            Err(SyncError::Stopped) => Ok(false),
            Err(e) => Err(e).context("state sync"),
        };
    }
    tracing::info!(
        trust_height = cfg.trust_height,
        rpc_servers = ?cfg.rpc_servers,
        "state sync: discovering snapshots"
    );
    match syncer::sync(app, blocks, switch, events, &mut provider, &cfg.timing) {
        Ok(h) => {
            tracing::info!(height = h, "state sync complete");
            Ok(true)
        }
        Err(SyncError::Stopped) => Ok(false),
        Err(e) => Err(e).context("state sync"),
    }
}

/// State sync's serving side on its two channels, answered on the peers' threads.
fn statesync_services(
    source: Option<std::sync::Arc<dyn keystone_proto::AppSnapshots>>,
) -> std::collections::BTreeMap<u8, keystone_consensus_driver::switch::Service> {
    use keystone_consensus_driver::statesync::{Server, CHUNK_CHANNEL, SNAPSHOT_CHANNEL};
    let server = Server::new(source);
    [SNAPSHOT_CHANNEL, CHUNK_CHANNEL]
        .into_iter()
        .map(|ch| {
            let server = server.clone();
            let service: keystone_consensus_driver::switch::Service =
                std::sync::Arc::new(move |_peer: &str, bytes: &[u8]| {
                    server.answer(ch, bytes).map_err(|e| e.to_string())
                });
            (ch, service)
        })
        .collect()
}

/// The peer-exchange reactor from `[p2p]`, with the address book read from its file.
fn build_pex(p2p: &crate::home::P2pConfig, my_id: &str) -> Result<pex::Pex> {
    let mut rng = pex::rng::Rng::from_os();
    let book = pex::book::AddrBook::open(
        &p2p.addr_book_file,
        my_id,
        p2p.private_peer_ids.clone(),
        p2p.addr_book_strict,
        &mut rng,
    )?;
    tracing::info!(
        file = %p2p.addr_book_file.display(),
        addresses = book.len(),
        "address book"
    );
    let cfg = pex::PexConfig {
        seeds: p2p
            .seeds
            .iter()
            .map(|s| pex::Dial {
                id: s.id.clone(),
                addr: s.addr.clone(),
            })
            .collect(),
        seed_mode: p2p.seed_mode,
        max_outbound: p2p.max_outbound,
        persistent: p2p.persistent_peers.iter().map(|p| p.id.clone()).collect(),
        unconditional: p2p.unconditional_peer_ids.clone(),
        period: pex::ENSURE_PEERS_PERIOD,
    };
    Ok(pex::Pex::new(cfg, book, rng))
}

fn stop_on_signals(events: mpsc::Sender<Event>) -> Result<()> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGTERM, SIGINT])
        .context("installing signal handlers")?;
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            let mut asked = false;
            for signal in signals.forever() {
                if asked {
                    tracing::warn!(signal, "second signal: exiting now");
                    std::process::exit(130);
                }
                asked = true;
                tracing::info!(signal, "shutting down: stopping at the next step boundary");
                if events.send(Event::Shutdown).is_err() {
                    std::process::exit(0);
                }
            }
        })?;
    Ok(())
}

/// Move everything from `rx` onto the node's one event channel.
fn forward<T: Send + 'static>(
    rx: mpsc::Receiver<T>,
    tx: mpsc::Sender<Event>,
    wrap: fn(T) -> Event,
) -> Result<()> {
    std::thread::Builder::new()
        .name("forward".into())
        .spawn(move || {
            while let Ok(v) = rx.recv() {
                if tx.send(wrap(v)).is_err() {
                    return;
                }
            }
        })?;
    Ok(())
}

/// A stored height as subscribers receive it.
fn committed<A: Application>(engine: &Engine<A>, h: u64) -> Result<Committed> {
    let blocks = engine.blocks();
    let block = blocks.block_proto(h)?.context("block missing")?;
    let id = blocks.block_id(h)?.context("block id missing")?;
    let results = blocks.results(h)?.context("results missing")?;
    Ok(Committed {
        height: h,
        txs: block
            .data
            .as_ref()
            .map(|d| d.txs.clone())
            .unwrap_or_default(),
        block: serde_json::json!({
            "block_id": serde_json::to_value(id.to_proto())?,
            "block": serde_json::to_value(&block)?,
        }),
        results,
    })
}
