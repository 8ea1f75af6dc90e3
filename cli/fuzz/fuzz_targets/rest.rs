//! REST paths and queries as the application answers the LCD routes: any path (under each
//! module's prefix) and query string, against a state with funded accounts.
#![no_main]

use keystone_modules::bank::genesis::{Balance, Genesis, JsonCoin};
use keystone_modules::{Address, MemState};
use libfuzzer_sys::fuzz_target;

const PREFIXES: [&str; 6] = [
    "/cosmos/staking/v1beta1/",
    "/cosmos/slashing/v1beta1/",
    "/cosmos/distribution/v1beta1/",
    "/cosmos/mint/v1beta1/",
    "/cosmos/bank/v1beta1/",
    "/cosmos/auth/v1beta1/",
];

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (path, query) = text.split_once('?').unwrap_or((text, ""));
    let mut state = MemState::default();
    let _ = Genesis {
        balances: vec![Balance {
            address: Address([1; 20]).to_string(),
            coins: vec![JsonCoin {
                denom: "stake".into(),
                amount: "1000".into(),
            }],
        }],
        ..Genesis::default()
    }
    .init(&mut state);
    for prefix in PREFIXES {
        let full = format!("{prefix}{}", path.trim_start_matches('/'));
        if keystone_app::lcd::handles(&full) {
            let _ = keystone_app::lcd::get(&state, &full, query);
        }
    }
    if keystone_app::lcd::handles(path) {
        let _ = keystone_app::lcd::get(&state, path, query);
    }
});
