//! ABCI socket round trips per second: our client (`SocketApp`) against our server (`serve`),
//! one call at a time as the engine makes them (request + Flush, then both responses), over
//! TCP loopback and a unix socket.
//!
//! `cargo bench -p keystone-consensus-driver --bench abci_socket` (rounds per figure:
//! `KEYSTONE_BENCH_ROUNDS`, default 20 000). Echo is answered by the server without touching
//! the application, so it is the protocol's own cost; CheckTx goes through the application
//! mutex to a trivial app (accepts every non-empty tx), so it adds the dispatch.

use keystone_consensus_driver::abci::{Server, SocketApp, SocketAppConfig};
use keystone_proto::abci;
use keystone_proto::prost::bytes::Bytes;
use keystone_proto::{AppResult, Application};
use std::time::{Duration, Instant};

/// Accepts every non-empty transaction; nothing else matters here.
struct Trivial;

impl Application for Trivial {
    fn info(&self, _: abci::RequestInfo) -> AppResult<abci::ResponseInfo> {
        Ok(abci::ResponseInfo::default())
    }
    fn query(&self, _: abci::RequestQuery) -> AppResult<abci::ResponseQuery> {
        Ok(abci::ResponseQuery::default())
    }
    fn check_tx(&mut self, req: abci::RequestCheckTx) -> AppResult<abci::ResponseCheckTx> {
        Ok(abci::ResponseCheckTx {
            code: u32::from(req.tx.is_empty()),
            gas_wanted: 1,
            ..Default::default()
        })
    }
    fn init_chain(&mut self, _: abci::RequestInitChain) -> AppResult<abci::ResponseInitChain> {
        Ok(abci::ResponseInitChain::default())
    }
    fn finalize_block(
        &mut self,
        _: abci::RequestFinalizeBlock,
    ) -> AppResult<abci::ResponseFinalizeBlock> {
        Ok(abci::ResponseFinalizeBlock::default())
    }
    fn commit(&mut self) -> AppResult<abci::ResponseCommit> {
        Ok(abci::ResponseCommit::default())
    }
}

fn measure(label: &str, rounds: u32, mut f: impl FnMut(u32)) {
    // Warm up: connections, buffers, the CPU's caches.
    for i in 0..rounds / 10 {
        f(i);
    }
    let start = Instant::now();
    for i in 0..rounds {
        f(i);
    }
    let took = start.elapsed();
    let per_sec = f64::from(rounds) / took.as_secs_f64();
    let micros = took.as_secs_f64() * 1e6 / f64::from(rounds);
    println!("| {label} | {rounds} | {took:.2?} | {per_sec:.0} | {micros:.1} µs |");
}

fn bench(transport: &str, address: &str, rounds: u32) -> Result<(), Box<dyn std::error::Error>> {
    let server = Server::bind(Trivial, address)?.spawn()?;
    let mut app = SocketApp::connect(
        &server.address().to_string(),
        SocketAppConfig {
            connect_timeout: Duration::from_secs(5),
            ..Default::default()
        },
    )?;
    let mut failures = 0u32;
    measure(&format!("{transport}: Echo + Flush"), rounds, |_| {
        if app.echo("bench").is_err() {
            failures += 1;
        }
    });
    // A 250-byte tx, about the size of a signed bank send.
    let tx = Bytes::from(vec![0xab; 250]);
    measure(
        &format!("{transport}: CheckTx + Flush (250 B tx)"),
        rounds,
        |_| {
            let ok = app
                .check_tx(abci::RequestCheckTx {
                    tx: tx.clone(),
                    r#type: 0,
                })
                .map(|r| r.code == 0);
            if ok != Ok(true) {
                failures += 1;
            }
        },
    );
    drop(app);
    server.shutdown();
    if failures > 0 {
        return Err(format!("{failures} calls failed on {transport}").into());
    }
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let rounds: u32 = std::env::var("KEYSTONE_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000);
    let dir = tempfile::tempdir()?;
    let unix = format!("unix://{}", dir.path().join("bench.sock").display());
    println!("| transport: call | rounds | wall time | round trips/s | per call |");
    println!("|---|---:|---:|---:|---:|");
    bench("TCP loopback", "tcp://127.0.0.1:0", rounds)?;
    bench("unix socket", &unix, rounds)?;
    Ok(())
}
