//! The JSON shapes, and the genesis section: export and import give back the same state.

use super::*;

#[test]
fn records_have_the_lcd_json_shape() {
    assert_eq!(
        serde_json::to_string(&Params::default()).expect("json"),
        r#"{"community_tax":"0.020000000000000000","base_proposer_reward":"0.000000000000000000","bonus_proposer_reward":"0.000000000000000000","withdraw_addr_enabled":true}"#
    );
    let mut s = setup(&[(1, 10 * P), (4, 10 * P)]);
    let c = at(1, 0);
    create(&mut s, &c, 1, P, "0.5");
    delegate(&mut s, &c, 4, 1, P);
    end_block(&mut s, &c);
    collect_fees(&mut s, 3);
    allocate(&mut s, &at(2, 5), &[(1, 2)]);
    let text = |k: String| {
        String::from_utf8(s.get(k.as_bytes()).expect("read").expect("stored")).expect("utf8")
    };
    assert_eq!(
        text(state_key::current(&addr(1))),
        r#"{"rewards":[{"denom":"stake","amount":"1.470000000000000000"}],"period":"3"}"#
    );
    assert_eq!(
        text(state_key::commission(&addr(1))),
        r#"{"commission":[{"denom":"stake","amount":"1.470000000000000000"}]}"#
    );
    assert_eq!(
        text(state_key::outstanding(&addr(1))),
        r#"{"rewards":[{"denom":"stake","amount":"2.940000000000000000"}]}"#
    );
    assert_eq!(
        text(state_key::FEE_POOL.into()),
        r#"{"community_pool":[{"denom":"stake","amount":"0.060000000000000000"}]}"#
    );
    assert_eq!(
        text(state_key::historical(&addr(1), 2)),
        r#"{"cumulative_reward_ratio":[],"reference_count":2}"#
    );
    assert_eq!(
        text(state_key::starting_info(&addr(1), &addr(4))),
        r#"{"previous_period":"2","stake":"1000000.000000000000000000","height":"1"}"#
    );
    assert!(state_key::starting_info(&addr(1), &addr(4))
        .starts_with("distribution/starting_info/cosmosvaloper1"));
    assert_eq!(
        state_key::historical(&addr(1), 2),
        format!(
            "distribution/historical/{}/00000000000000000002",
            addr(1).to_valoper()
        )
    );
}

#[test]
fn export_then_import_gives_back_the_same_state() {
    let mut s = setup(&[(1, 10 * P), (2, 10 * P), (4, 10 * P)]);
    let c = at(1, 0);
    create(&mut s, &c, 1, P, "0.1");
    create(&mut s, &c, 2, 2 * P, "0.05");
    delegate(&mut s, &c, 4, 1, P);
    end_block(&mut s, &c);
    let c2 = at(2, 5);
    collect_fees(&mut s, 1234);
    allocate(&mut s, &c2, &[(1, 2), (2, 2)]);
    apply(&mut s, |st| {
        staking::slash(st, &c2, &Address(cons(2)), 2, 2, d("0.01"), &hooks(&c2))
    })
    .expect("slash");
    apply(&mut s, |st| {
        MsgSetWithdrawAddress {
            delegator_address: addr(4).to_string(),
            withdraw_address: addr(7).to_string(),
        }
        .execute(st, &Default::default())
    })
    .expect("withdraw address");
    check_books(&s);

    let exported = Genesis::export(&s).expect("export");
    assert_eq!(exported.validator_slash_events.len(), 1);
    assert_eq!(exported.delegator_starting_infos.len(), 3);
    assert_eq!(exported.delegator_withdraw_infos.len(), 1);
    let json = serde_json::to_string(&exported).expect("json");
    let back: Genesis = serde_json::from_str(&json).expect("parse");
    assert_eq!(back, exported);

    let mut fresh = s.clone();
    for (k, _) in fresh.prefix(b"distribution/").expect("prefix") {
        fresh.delete(&k);
    }
    back.init(&mut fresh).expect("init");
    assert_eq!(fresh, s, "the same records under the same keys");

    // The module account must hold exactly what the books say.
    let mut more = back.clone();
    more.fee_pool.community_pool = more
        .fee_pool
        .community_pool
        .checked_add(&stake_dec("1"))
        .expect("add");
    let mut other = s.clone();
    let e = more.init(&mut other).expect_err("unbacked");
    assert!(
        e.to_string()
            .starts_with("distribution module balance does not match the module holdings: 1234stake <-> 1235stake"),
        "{e}"
    );
}

#[test]
fn a_gaiad_style_section_parses_with_nulls_and_absent_lists() {
    let g: Genesis = serde_json::from_str(
        r#"{"params":{"community_tax":"0.020000000000000000","base_proposer_reward":"0.000000000000000000","bonus_proposer_reward":"0.000000000000000000","withdraw_addr_enabled":true},"fee_pool":{"community_pool":[]},"delegator_withdraw_infos":null,"previous_proposer":"","outstanding_rewards":[]}"#,
    )
    .expect("parse");
    assert_eq!(g, Genesis::default());
    let bad = Genesis {
        params: Params {
            community_tax: d("1.5"),
            ..Params::default()
        },
        ..Genesis::default()
    };
    assert_eq!(
        bad.validate().expect_err("tax").to_string(),
        "community tax too large: 1.500000000000000000: invalid request"
    );
    assert!(serde_json::from_str::<Genesis>(r#"{"params":{}}"#).is_err());
}
