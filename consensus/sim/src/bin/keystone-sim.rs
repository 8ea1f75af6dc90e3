//! Sweeps, replays and benchmarks of the simulator. `sweep`, `replay` and `bench` run the
//! production node (engine, node loop, WAL, privval, block store) on virtual disks, network
//! and time; the `core-` commands run the consensus core alone under its small driver.
//!
//! ```text
//! keystone-sim sweep [--seeds N] [--start S] [--validators 4,7]      the real node, random hostile scenarios
//! keystone-sim replay <validators> <seed>                            one of them, verbosely, twice (same trace)
//! keystone-sim bench [--heights H] [--validators 4,10,100]           the real node's heights/s
//! keystone-sim core-sweep [--seeds N] [--start S] [--validators 4,7,10]
//! keystone-sim core-replay <validators> <seed>
//! keystone-sim core-bench [--heights H] [--validators 4,10,100]
//! keystone-sim faults --fault NAME [--seeds N] [--validators 4,7]    violations a broken core rule causes
//! ```
//!
//! Fault names: `ignore_lock`, `weak_quorum`, `skip_validity`, `ignore_propose_timeout`,
//! `prevote_late_proposal` (see `keystone_consensus_core::Faults`).

use keystone_consensus_core::Faults;
use keystone_consensus_sim::real::{run_node_sim, NodeReport, NodeScenario, NodeViolation};
use keystone_consensus_sim::{run, Scenario, Violation};
use std::collections::BTreeMap;
use std::process::ExitCode;
use std::time::Instant;

fn flag<T: std::str::FromStr>(args: &[String], name: &str, default: T) -> Result<T, String> {
    match args.iter().position(|a| a == name) {
        None => Ok(default),
        Some(i) => args
            .get(i + 1)
            .ok_or_else(|| format!("{name} needs a value"))?
            .parse()
            .map_err(|_| format!("{name}: not a number")),
    }
}

fn sizes(args: &[String], default: &str) -> Result<Vec<usize>, String> {
    let s: String = flag(args, "--validators", default.to_owned())?;
    s.split(',')
        .map(|x| match x.trim().parse() {
            Ok(n) if n > 0 => Ok(n),
            _ => Err(format!(
                "--validators: bad size {x:?} (a count of 1 or more)"
            )),
        })
        .collect()
}

fn node_sweep(args: &[String]) -> Result<bool, String> {
    let seeds: u64 = flag(args, "--seeds", 1000)?;
    let start: u64 = flag(args, "--start", 0)?;
    let sizes = sizes(args, "4,7")?;
    let t0 = Instant::now();
    let (mut failures, mut runs) = (0u64, 0u64);
    let mut totals = BTreeMap::<&str, u64>::new();
    for seed in start..start + seeds {
        for &n in &sizes {
            runs += 1;
            match run_node_sim(&NodeScenario::random(n, seed)) {
                Ok(r) => {
                    for (k, v) in [
                        ("crashes", r.crashes),
                        ("crashes at a durable write", r.crashes_at_write),
                        ("torn WAL records", r.torn),
                        ("synced commits deferred", r.deferred_commits),
                        ("deferred commits lost to a crash", r.undurable_lost),
                        ("hostile messages", r.hostile_sent),
                        ("hostile peers disconnected", r.hostile_disconnects),
                        ("blocks with evidence", r.evidence_blocks),
                        ("durable writes", r.durable_writes),
                        ("heights", r.heights),
                    ] {
                        *totals.entry(k).or_default() += v;
                    }
                }
                Err(e) => {
                    failures += 1;
                    println!("FAIL validators={n} seed={seed}: {}", e.0);
                    println!("  replay: cargo run --release -p keystone-consensus-sim --bin keystone-sim -- replay {n} {seed}");
                }
            }
        }
    }
    let secs = t0.elapsed().as_secs_f64();
    println!(
        "{} passed, {failures} failed ({runs} runs in {secs:.1} s, {:.1} runs/s)",
        runs - failures,
        runs as f64 / secs
    );
    for (k, v) in totals {
        println!("  {k}: {v}");
    }
    Ok(failures == 0)
}

fn node_replay(args: &[String]) -> Result<bool, String> {
    let (n, seed) = validators_seed(args)?;
    // The nodes' own logs, each line with its node and virtual time: `RUST_LOG=info`.
    if std::env::var_os("RUST_LOG").is_some() {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .without_time()
            .init();
    }
    let sc = NodeScenario::random(n, seed);
    println!("{sc:#?}");
    let first = run_node_sim(&sc);
    let second = run_node_sim(&sc);
    let trace = |r: &Result<NodeReport, Box<(NodeViolation, NodeReport)>>| match r {
        Ok(r) => r.clone(),
        Err(e) => e.1.clone(),
    };
    let same = trace(&first) == trace(&second);
    println!(
        "run twice: {}",
        if same {
            "the same events"
        } else {
            "DIFFERENT events"
        }
    );
    match first {
        Ok(r) => {
            println!("ok: {r:#?}");
            Ok(same)
        }
        Err(e) => {
            println!("VIOLATION: {}\n{:#?}", e.0, e.1);
            Ok(false)
        }
    }
}

fn node_bench(args: &[String]) -> Result<bool, String> {
    let heights: u64 = flag(args, "--heights", 20)?;
    for n in sizes(args, "4,10,100")? {
        // Equal powers, fault-free links with 5-20 ms delays, a transaction every 50 ms.
        let sc = NodeScenario::calm(1, n, heights);
        let t0 = Instant::now();
        let r = run_node_sim(&sc).map_err(|e| e.0.to_string())?;
        let secs = t0.elapsed().as_secs_f64();
        println!(
            "validators={n:>4} heights={} wall={secs:.2}s heights/s={:.1} virtual={:.1}s messages={} durable_writes={}",
            r.heights,
            r.heights as f64 / secs,
            r.virtual_ms as f64 / 1000.0,
            r.delivered,
            r.durable_writes
        );
    }
    Ok(true)
}

fn validators_seed(args: &[String]) -> Result<(usize, u64), String> {
    let n: usize = args
        .get(1)
        .and_then(|a| a.parse().ok())
        .filter(|n| *n > 0)
        .ok_or("replay <validators> <seed> (validators: 1 or more)")?;
    let seed: u64 = args
        .get(2)
        .and_then(|a| a.parse().ok())
        .ok_or("replay <validators> <seed>")?;
    Ok((n, seed))
}

fn sweep(args: &[String]) -> Result<bool, String> {
    let seeds: u64 = flag(args, "--seeds", 1000)?;
    let start: u64 = flag(args, "--start", 0)?;
    let sizes = sizes(args, "4,7,10")?;
    let t0 = Instant::now();
    let mut failures = 0u64;
    let mut runs = 0u64;
    for seed in start..start + seeds {
        for &n in &sizes {
            runs += 1;
            if let Err((v, _)) = run(&Scenario::random(n, seed)) {
                failures += 1;
                println!("FAIL validators={n} seed={seed}: {v}");
                println!("  replay: cargo run --release -p keystone-consensus-sim --bin keystone-sim -- core-replay {n} {seed}");
            }
        }
    }
    println!(
        "{} passed, {failures} failed ({runs} runs in {:.1} s)",
        runs - failures,
        t0.elapsed().as_secs_f64()
    );
    Ok(failures == 0)
}

fn replay(args: &[String]) -> Result<bool, String> {
    let (n, seed) = validators_seed(args)?;
    let sc = Scenario::random(n, seed);
    println!("{sc:#?}");
    match run(&sc) {
        Ok(r) => {
            println!("ok: {r:#?}");
            Ok(true)
        }
        Err((v, r)) => {
            println!("VIOLATION: {v}\n{r:#?}");
            Ok(false)
        }
    }
}

fn bench(args: &[String]) -> Result<bool, String> {
    let heights: u64 = flag(args, "--heights", 50)?;
    for n in sizes(args, "4,10,100")? {
        // Unequal powers 1..=10, fault-free links with 5-20 ms delays, every signature
        // verified at every receiver.
        let powers = (0..n).map(|i| 1 + (i as i64 * 7) % 10).collect();
        let sc = Scenario::calm(1, powers, heights);
        let t0 = Instant::now();
        let r = run(&sc).map_err(|(v, _)| v.to_string())?;
        let secs = t0.elapsed().as_secs_f64();
        println!(
            "validators={n:>4} heights={} wall={secs:.2}s heights/s={:.1} messages={} ",
            r.heights,
            r.heights as f64 / secs,
            r.delivered
        );
    }
    Ok(true)
}

fn faults(args: &[String]) -> Result<bool, String> {
    let name: String = flag(args, "--fault", String::new())?;
    let mut f = Faults::default();
    match name.as_str() {
        "ignore_lock" => f.ignore_lock = true,
        "weak_quorum" => f.weak_quorum = true,
        "skip_validity" => f.skip_validity = true,
        "ignore_propose_timeout" => f.ignore_propose_timeout = true,
        "prevote_late_proposal" => f.prevote_late_proposal = true,
        other => return Err(format!("unknown fault {other:?}")),
    }
    let seeds: u64 = flag(args, "--seeds", 1000)?;
    let mut counts: BTreeMap<&str, u64> = BTreeMap::new();
    for seed in 0..seeds {
        for &n in &sizes(args, "4,7")? {
            let mut sc = Scenario::random(n, seed);
            sc.faults = f;
            sc.privval_guard = !f.prevote_late_proposal;
            let kind = match run(&sc) {
                Ok(_) => "ok",
                Err((v, _)) => {
                    println!("validators={n} seed={seed}: {v}");
                    match v {
                        Violation::Agreement { .. } => "agreement",
                        Violation::Validity { .. } => "validity",
                        Violation::DoubleSign { .. } => "double sign",
                        Violation::Liveness { .. } => "liveness",
                    }
                }
            };
            *counts.entry(kind).or_default() += 1;
        }
    }
    println!("{name}: {counts:?}");
    Ok(true)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("sweep") => node_sweep(&args),
        Some("replay") => node_replay(&args),
        Some("bench") => node_bench(&args),
        Some("core-sweep") => sweep(&args),
        Some("core-replay") => replay(&args),
        Some("core-bench") => bench(&args),
        Some("faults") => faults(&args),
        _ => Err("usage: keystone-sim sweep|replay|bench|core-sweep|core-replay|core-bench|faults (see the crate docs)".into()),
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("keystone-sim: {e}");
            ExitCode::from(2)
        }
    }
}
