//! The JSON shapes and the genesis section.

use super::*;

#[test]
fn params_validator_and_records_have_the_lcd_json_shape() {
    assert_eq!(
        serde_json::to_string(&Params::default()).expect("json"),
        r#"{"unbonding_time":"1814400s","max_validators":100,"max_entries":7,"historical_entries":10000,"bond_denom":"stake","min_commission_rate":"0.000000000000000000"}"#
    );
    let mut s = setup(&[(1, 10 * P), (4, 10 * P)]);
    let c = at(3, 0);
    create(&mut s, &c, 1, 2 * P);
    delegate(&mut s, &c, 4, 1, P);
    undelegate(&mut s, &c, 4, 1, 1);
    let raw = s
        .get(state_key::validator(&addr(1)).as_bytes())
        .expect("read")
        .expect("stored");
    let json: serde_json::Value = serde_json::from_slice(&raw).expect("json");
    let expected = serde_json::json!({
        "operator_address": addr(1).to_valoper(),
        "consensus_pubkey": {
            "@type": "/cosmos.crypto.ed25519.PubKey",
            "key": "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE="
        },
        "jailed": false,
        "status": "BOND_STATUS_UNBONDED",
        "tokens": "2999999",
        "delegator_shares": "2999999.000000000000000000",
        "description": {
            "moniker": "validator-1",
            "identity": "",
            "website": "",
            "security_contact": "",
            "details": ""
        },
        "unbonding_height": "0",
        "unbonding_time": "1970-01-01T00:00:00Z",
        "commission": {
            "commission_rates": {
                "rate": "0.100000000000000000",
                "max_rate": "0.200000000000000000",
                "max_change_rate": "0.010000000000000000"
            },
            "update_time": "2026-01-01T00:00:00Z"
        },
        "min_self_delegation": "1",
        "unbonding_on_hold_ref_count": "0",
        "unbonding_ids": []
    });
    assert_eq!(json, expected);
    let raw = s
        .get(state_key::delegation(&addr(4), &addr(1)).as_bytes())
        .expect("read")
        .expect("stored");
    assert_eq!(
        std::str::from_utf8(&raw).expect("utf8"),
        format!(
            r#"{{"delegator_address":"{}","validator_address":"{}","shares":"999999.000000000000000000"}}"#,
            addr(4),
            addr(1).to_valoper()
        )
    );
    let raw = s
        .get(state_key::unbonding(&addr(4), &addr(1)).as_bytes())
        .expect("read")
        .expect("stored");
    let json: serde_json::Value = serde_json::from_slice(&raw).expect("json");
    assert_eq!(
        json["entries"],
        serde_json::json!([{
            "creation_height": "3",
            "completion_time": "2026-01-22T00:00:00Z",
            "initial_balance": "1",
            "balance": "1",
            "unbonding_id": "1",
            "unbonding_on_hold_ref_count": "0"
        }])
    );
    assert!(
        state_key::power(3, &addr(1)) < state_key::power(2, &addr(0)),
        "higher power sorts first"
    );
}

#[test]
fn params_are_validated() {
    let ok = Params::default();
    ok.validate().expect("defaults are valid");
    for bad in [
        Params {
            unbonding_time: 0,
            ..ok.clone()
        },
        Params {
            max_validators: 0,
            ..ok.clone()
        },
        Params {
            max_entries: 0,
            ..ok.clone()
        },
        Params {
            bond_denom: "x".into(),
            ..ok.clone()
        },
        Params {
            bond_denom: String::new(),
            ..ok.clone()
        },
        Params {
            min_commission_rate: d("1.5"),
            ..ok.clone()
        },
        Params {
            min_commission_rate: d("-0.1"),
            ..ok.clone()
        },
    ] {
        assert!(bad.validate().is_err(), "{bad:?}");
        let mut s = MemState::default();
        let g = Genesis {
            params: bad,
            ..Genesis::default()
        };
        assert!(g.init(&mut s, &at(0, 0), &NoHooks).is_err());
    }
    let g: Genesis = serde_json::from_str(
        r#"{"params":{"unbonding_time":"1209600s","max_validators":50,"max_entries":7,"historical_entries":0,"bond_denom":"uatom","min_commission_rate":"0.05"},"validators":null,"delegations":null}"#,
    )
    .expect("gaiad's shape");
    assert_eq!(g.params.unbonding_time, 1_209_600);
    assert!(g.validators.is_empty() && !g.exported);
    assert!(serde_json::from_str::<Genesis>(r#"{"params":{"unbonding_time":"1.5s"}}"#).is_err());
}

/// Export a running chain's staking section, start a new state from it (with the same bank
/// and auth), and find the same staking state and the same validator set.
#[test]
fn export_and_init_round_trip() {
    let mut s = setup(&[(1, 20 * P), (2, 20 * P), (3, 20 * P), (4, 20 * P)]);
    let c = at(1, 0);
    create(&mut s, &c, 1, 5 * P);
    create(&mut s, &c, 2, 3 * P);
    create(&mut s, &c, 3, P / 2);
    delegate(&mut s, &c, 4, 1, 2 * P);
    end_block_at(&mut s, &c);
    undelegate(&mut s, &at(2, 10), 4, 1, P);
    apply(&mut s, |st| {
        redelegate_msg(4, 1, 2, P / 2).execute(st, &at(2, 10), &NoHooks)
    })
    .expect("redelegate");
    apply(&mut s, |st| jail(st, &cons(2))).expect("jail");
    end_block_at(&mut s, &at(3, 20));
    assert!(val(&s, 2).is_unbonding());

    let g = Genesis::export(&s).expect("export");
    assert!(g.exported);
    let json = serde_json::to_string(&g).expect("json");
    let back: Genesis = serde_json::from_str(&json).expect("parse");
    assert_eq!(back, g);

    let mut fresh = MemState::default();
    for (k, v) in s.0.iter().filter(|(k, _)| !k.starts_with(b"staking/")) {
        fresh.put(k.clone(), v.clone());
    }
    let updates = apply(&mut fresh, |st| back.init(st, &at(4, 30), &NoHooks)).expect("init");
    assert_eq!(
        updates,
        vec![update(1, 5)],
        "the exported last set: 7P - P - P/2"
    );
    let staking = |m: &MemState| -> Vec<(Vec<u8>, Vec<u8>)> {
        m.0.iter()
            .filter(|(k, _)| {
                k.starts_with(b"staking/") && k.as_slice() != state_key::UNBONDING_ID.as_bytes()
            })
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    };
    assert_eq!(staking(&fresh), staking(&s));
    check_pools(&fresh);

    // A pool that does not hold the validators' tokens is refused.
    let mut short = fresh.clone();
    for k in s.0.keys().filter(|k| k.starts_with(b"staking/")) {
        short.delete(k);
    }
    let bonded = bank::state_key::balance(&Address::module(BONDED_POOL), "stake");
    short.put(bonded.into_bytes(), b"1".to_vec());
    let e = apply(&mut short, |st| back.init(st, &at(4, 30), &NoHooks)).expect_err("pool mismatch");
    assert!(
        e.to_string()
            .starts_with("bonded pool balance is different from bonded coins"),
        "{e}"
    );
}

#[test]
fn a_fresh_genesis_with_validators_computes_the_set() {
    let mut s = setup(&[(1, 20 * P), (2, 20 * P)]);
    let c = at(1, 0);
    create(&mut s, &c, 1, 5 * P);
    create(&mut s, &c, 2, 3 * P);
    let mut g = Genesis::export(&s).expect("export");
    g.exported = false;
    let mut fresh = MemState::default();
    for (k, v) in s.0.iter().filter(|(k, _)| !k.starts_with(b"staking/")) {
        fresh.put(k.clone(), v.clone());
    }
    let updates = apply(&mut fresh, |st| g.init(st, &at(0, 0), &NoHooks)).expect("init");
    assert_eq!(updates, vec![update(1, 5), update(2, 3)]);
    assert_eq!(pool(&fresh).expect("pool"), (0, 8 * P));
    check_pools(&fresh);
    let mut dup = g.clone();
    dup.validators.push(g.validators[0].clone());
    assert!(dup.validate().is_err());
}
