//! Transaction decode and the ante chain: any bytes as a `TxRaw`, run in CheckTx, FinalizeBlock
//! and Simulate on a state with funded accounts. Nothing may panic; a refusal changes nothing.
#![no_main]

use keystone_app::tx::{run_tx, Context, Mode};
use keystone_modules::bank::genesis::{Balance, Genesis, JsonCoin};
use keystone_modules::{Address, MemState, Timestamp};
use libfuzzer_sys::fuzz_target;

fn funded() -> MemState {
    let mut s = MemState::default();
    Genesis {
        balances: (1..4u8)
            .map(|b| Balance {
                address: Address([b; 20]).to_string(),
                coins: vec![JsonCoin {
                    denom: "stake".into(),
                    amount: "1000000000".into(),
                }],
            })
            .collect(),
        ..Genesis::default()
    }
    .init(&mut s)
    .expect("bank genesis");
    s
}

fuzz_target!(|data: &[u8]| {
    let base = funded();
    for mode in [Mode::Check, Mode::Deliver, Mode::Simulate] {
        let mut state = base.clone();
        let out = run_tx(
            &mut state,
            data,
            &Context {
                chain_id: "fuzz-1",
                height: 5,
                mode,
                min_gas_prices: &[],
                time: Timestamp::EPOCH,
            },
        );
        if out.result.is_err() && mode == Mode::Check {
            // CheckTx refused it before or in the ante chain: nothing was written.
            assert!(state == base, "a refused transaction changed the state");
        }
    }
});
