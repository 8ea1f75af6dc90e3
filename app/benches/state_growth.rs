//! Block time as the state grows: an empty block's FinalizeBlock (begin block, end block) plus
//! Commit, and a prefix read of the staking validators, with 10 k, 100 k and 1 M keys in the
//! state — accounts and balances of addresses that sends created, written straight to the
//! store between blocks.
//!
//! `cargo bench -p keystone-app --bench state_growth` (release build; prints the figures).
//! `KEYSTONE_BENCH_MAX_KEYS=100000` stops earlier.

use keystone_app::App;
use keystone_modules::Address;
use keystone_proto::abci;
use keystone_proto::prost::bytes::Bytes;
use keystone_proto::Application;
use keystone_store::Store;
use std::time::Instant;

const CHAIN: &str = "bench-1";

fn block(app: &mut App, height: i64) -> f64 {
    let t = Instant::now();
    app.finalize_block(abci::RequestFinalizeBlock {
        height,
        time: Some(keystone_proto::Timestamp {
            seconds: 1_767_225_600 + height,
            nanos: 0,
        }),
        ..Default::default()
    })
    .expect("finalize");
    app.commit().expect("commit");
    t.elapsed().as_secs_f64() * 1e3
}

fn main() {
    let max_keys: u64 = std::env::var("KEYSTONE_BENCH_MAX_KEYS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let dir = tempfile::tempdir().expect("temp dir");
    let mut app = App::new(
        Store::open(dir.path().join("state.redb")).expect("store"),
        CHAIN,
        vec![],
    );
    let funded = Address([1; 20]);
    let genesis = serde_json::json!({
        "bank": {"params": {"send_enabled": [], "default_send_enabled": true},
                 "balances": [{"address": funded.to_string(),
                               "coins": [{"denom": "stake", "amount": "1000000000"}]}],
                 "supply": []}
    });
    app.init_chain(abci::RequestInitChain {
        chain_id: CHAIN.into(),
        app_state_bytes: Bytes::from(genesis.to_string().into_bytes()),
        initial_height: 1,
        ..Default::default()
    })
    .expect("init");
    let mut height = 1i64;
    block(&mut app, height);
    let mut keys = 0u64;
    let mut n = 0u64;
    for target in [10_000u64, 100_000, 1_000_000] {
        if target > max_keys {
            break;
        }
        // Two keys per new address (its account and its balance), 20 000 per version.
        let grow = Instant::now();
        while keys < target {
            let mut writes = Vec::new();
            while keys < target && writes.len() < 20_000 {
                let mut a = [0u8; 20];
                a[..8].copy_from_slice(&n.to_be_bytes());
                a[8] = 0xaa;
                let a = Address(a);
                n += 1;
                writes.push((
                    format!("auth/accounts/{a}").into_bytes(),
                    Some(
                        format!(
                            "{{\"address\":\"{a}\",\"account_number\":\"{n}\",\"sequence\":\"0\"}}"
                        )
                        .into_bytes(),
                    ),
                ));
                writes.push((
                    format!("bank/balances/{a}/stake").into_bytes(),
                    Some(b"1".to_vec()),
                ));
                keys += 2;
            }
            height += 1;
            app.store()
                .apply(height as u64, writes)
                .expect("filler version");
        }
        let grow_s = grow.elapsed().as_secs_f64();
        let mut times: Vec<f64> = (0..20)
            .map(|_| {
                height += 1;
                block(&mut app, height)
            })
            .collect();
        times.sort_by(f64::total_cmp);
        let latest = height as u64;
        let reads = 1_000;
        let t = Instant::now();
        for _ in 0..reads {
            let got = app
                .store()
                .prefix(b"staking/validators/", latest)
                .expect("prefix");
            std::hint::black_box(got);
        }
        let prefix_us = t.elapsed().as_secs_f64() * 1e6 / f64::from(reads);
        println!(
            "state_growth: {keys} filler keys (grown in {grow_s:.1} s): empty block (FinalizeBlock + Commit) median {:.2} ms, p90 {:.2} ms; prefix read of staking/validators/ {prefix_us:.1} us",
            times[times.len() / 2],
            times[times.len() * 9 / 10],
        );
    }
}
