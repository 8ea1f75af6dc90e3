//! The JSON shapes, the genesis section and the errors.

use super::*;

#[test]
fn params_and_signing_info_have_the_lcd_json_shape() {
    assert_eq!(
        serde_json::to_string(&Params::default()).expect("json"),
        r#"{"signed_blocks_window":"100","min_signed_per_window":"0.500000000000000000","downtime_jail_duration":"600s","slash_fraction_double_sign":"0.050000000000000000","slash_fraction_downtime":"0.010000000000000000"}"#
    );
    assert_eq!(Params::default().min_signed_blocks().expect("min"), 50);
    let mut s = setup(&[(1, 10 * P)], Params::default());
    create(&mut s, 3, 1, 2 * P);
    end_block(&mut s, 3);
    let raw = s
        .get(format!("slashing/signing_infos/{}", cons(1).to_valcons()).as_bytes())
        .expect("read")
        .expect("stored");
    assert_eq!(
        std::str::from_utf8(&raw).expect("utf8"),
        format!(
            r#"{{"address":"{}","start_height":"3","index_offset":"0","jailed_until":"1970-01-01T00:00:00Z","tombstoned":false,"missed_blocks_counter":"0"}}"#,
            cons(1).to_valcons()
        )
    );
    assert_eq!(
        s.get(b"slashing/params").expect("read"),
        Some(
            serde_json::to_vec(&Params::default())
                .expect("json")
                .to_vec()
        )
    );
    block(&mut s, 4, &[1]);
    assert_eq!(
        s.prefix(b"slashing/missed/")
            .expect("scan")
            .into_iter()
            .map(|(k, v)| (String::from_utf8(k).expect("utf8"), v))
            .collect::<Vec<_>>(),
        vec![(
            format!(
                "slashing/missed/{}/00000000000000000000",
                cons(1).to_valcons()
            ),
            crate::state::PRESENT.to_vec()
        )]
    );
}

#[test]
fn min_signed_blocks_rounds_half_to_even() {
    for (window, min, expected) in [
        (10, "0.25", 2),
        (10, "0.35", 4),
        (7, "0.5", 4),
        (100, "1", 100),
    ] {
        let p = Params {
            signed_blocks_window: window,
            min_signed_per_window: d(min),
            ..Params::default()
        };
        assert_eq!(
            p.min_signed_blocks().expect("min"),
            expected,
            "{window} × {min}"
        );
    }
}

#[test]
fn genesis_round_trips_in_the_sdk_shape() {
    let v = cons(7).to_valcons();
    let w = cons(8).to_valcons();
    let json = format!(
        r#"{{
  "params": {{
    "signed_blocks_window": "10000",
    "min_signed_per_window": "0.050000000000000000",
    "downtime_jail_duration": "600s",
    "slash_fraction_double_sign": "0.050000000000000000",
    "slash_fraction_downtime": "0.000100000000000000"
  }},
  "signing_infos": [
    {{"address": "{v}", "validator_signing_info": {{"address": "{v}", "start_height": "12",
      "index_offset": "4021", "jailed_until": "2026-01-02T03:04:05.5Z", "tombstoned": false,
      "missed_blocks_counter": "2"}}}},
    {{"address": "{w}", "validator_signing_info": {{"address": "{w}", "start_height": "0",
      "index_offset": "0", "jailed_until": "9999-12-31T23:59:59Z", "tombstoned": true,
      "missed_blocks_counter": "0"}}}}
  ],
  "missed_blocks": [
    {{"address": "{v}", "missed_blocks": [{{"index": "7", "missed": true}},
      {{"index": "4020", "missed": true}}, {{"index": "9", "missed": false}}]}},
    {{"address": "{w}", "missed_blocks": null}}
  ]
}}"#
    );
    let g: Genesis = serde_json::from_str(&json).expect("parse");
    assert_eq!(g.params.signed_blocks_window, 10_000);
    assert_eq!(g.params.slash_fraction_downtime, d("0.0001"));
    let mut s = MemState::default();
    g.init(&mut s).expect("init");
    assert_eq!(params(&s).expect("params"), g.params);
    assert_eq!(missed_blocks(&s, &cons(7)).expect("bitmap"), vec![7, 4020]);
    let i = signing_info(&s, &cons(7)).expect("read").expect("stored");
    assert_eq!(
        (i.start_height, i.index_offset, i.missed_blocks_counter),
        (12, 4021, 2)
    );
    assert_eq!(i.jailed_until.to_string(), "2026-01-02T03:04:05.5Z");
    assert!(
        signing_info(&s, &cons(8))
            .expect("read")
            .expect("stored")
            .tombstoned
    );

    // The export lists the missed bits only, by consensus address bytes.
    let out = Genesis::export(&s).expect("export");
    let mut expected = g.clone();
    expected.missed_blocks[0].missed_blocks.pop();
    let key = |a: &Address| *a;
    expected.signing_infos.sort_by_key(|i| key(&i.address));
    expected.missed_blocks.sort_by_key(|m| key(&m.address));
    assert_eq!(out, expected);
    let again: Genesis =
        serde_json::from_str(&serde_json::to_string(&out).expect("json")).expect("parse");
    assert_eq!(again, out);

    // Params alone.
    let minimal: Genesis = serde_json::from_str(&format!(
        r#"{{"params": {}, "signing_infos": null}}"#,
        serde_json::to_string(&Params::default()).expect("json")
    ))
    .expect("parse");
    assert_eq!(minimal, Genesis::default());
}

#[test]
fn genesis_and_params_validation() {
    let with = |f: &dyn Fn(&mut Params)| {
        let mut g = Genesis::default();
        f(&mut g.params);
        g.validate().expect_err("invalid").to_string()
    };
    assert_eq!(
        with(&|p| p.signed_blocks_window = 9),
        "signed blocks window must be at least 10, is 9: invalid request"
    );
    assert_eq!(
        with(&|p| p.downtime_jail_duration = 59),
        "downtime unjail duration must be at least 1 minute, is 59s: invalid request"
    );
    assert_eq!(
        with(&|p| p.slash_fraction_double_sign = d("1.5")),
        "slashing fraction double sign should be less than or equal to one and greater than zero, is 1.500000000000000000: invalid request"
    );
    assert_eq!(
        with(&|p| p.min_signed_per_window = d("-0.1")),
        "min signed per window should be less than or equal to one and greater than zero, is -0.100000000000000000: invalid request"
    );
    // The launch rules are `genesis validate`'s; InitChain, like the SDK's InitGenesis,
    // takes a short jail and window (test networks use them) but not invalid params.
    let short = Genesis {
        params: Params {
            downtime_jail_duration: 5,
            signed_blocks_window: 4,
            ..Params::default()
        },
        ..Genesis::default()
    };
    assert!(short.validate().is_err());
    let mut s = MemState::default();
    short.init(&mut s).expect("InitChain takes it");
    assert_eq!(crate::slashing::params(&s).expect("params"), short.params);
    let zero = Genesis {
        params: Params {
            downtime_jail_duration: 0,
            ..Params::default()
        },
        ..Genesis::default()
    };
    let mut s = MemState::default();
    assert!(zero.init(&mut s).is_err());
    assert_eq!(s, MemState::default(), "nothing written");
    let bad = |f: &dyn Fn(&mut Params)| {
        let mut p = Params::default();
        f(&mut p);
        p.validate().expect_err("invalid").to_string()
    };
    assert_eq!(
        bad(&|p| p.signed_blocks_window = 0),
        "signed blocks window must be positive: 0: invalid request"
    );
    assert_eq!(
        bad(&|p| p.downtime_jail_duration = 0),
        "downtime jail duration must be positive: 0s: invalid request"
    );
    assert_eq!(
        bad(&|p| p.slash_fraction_downtime = d("1.01")),
        "downtime slash fraction too large: 1.010000000000000000: invalid request"
    );
    let mut s = MemState::default();
    let p = Params {
        min_signed_per_window: d("2"),
        ..Params::default()
    };
    assert!(set_params(&mut s, &p).is_err());
    assert_eq!(s, MemState::default());

    // A signing info filed under another address, a negative index.
    let mut g = Genesis {
        signing_infos: vec![crate::slashing::genesis::SigningInfo {
            address: cons(1),
            validator_signing_info: ValidatorSigningInfo::new(cons(2), 0),
        }],
        ..Genesis::default()
    };
    assert!(g.validate().is_err());
    g.signing_infos[0].address = cons(2);
    g.validate().expect("valid");
    g.missed_blocks = vec![crate::slashing::genesis::ValidatorMissedBlocks {
        address: cons(2),
        missed_blocks: vec![crate::slashing::genesis::MissedBlock {
            index: -1,
            missed: true,
        }],
    }];
    assert!(g.validate().is_err());
    assert!(serde_json::from_str::<Params>(
        r#"{"signed_blocks_window":"100","min_signed_per_window":"0.5","downtime_jail_duration":"10m","slash_fraction_double_sign":"0.05","slash_fraction_downtime":"0.01"}"#
    )
    .is_err());
}

#[test]
fn errors_have_the_sdk_codes_and_wording() {
    let all = [
        (
            SlashingError::NoValidatorForAddress,
            2,
            "address is not associated with any known validator",
        ),
        (
            SlashingError::BadValidatorAddr,
            3,
            "validator does not exist for that address",
        ),
        (
            SlashingError::ValidatorJailed,
            4,
            "validator still jailed; cannot be unjailed",
        ),
        (
            SlashingError::ValidatorNotJailed,
            5,
            "validator not jailed; cannot be unjailed",
        ),
        (
            SlashingError::MissingSelfDelegation,
            6,
            "validator has no self-delegation; cannot be unjailed",
        ),
        (
            SlashingError::SelfDelegationTooLowToUnjail,
            7,
            "validator's self delegation less than minimum; cannot be unjailed",
        ),
        (
            SlashingError::NoSigningInfoFound,
            8,
            "no validator signing info found",
        ),
        (
            SlashingError::ValidatorTombstoned,
            9,
            "validator already tombstoned",
        ),
        (
            SlashingError::InvalidSigner,
            10,
            "expected authority account as only signer for proposal message",
        ),
    ];
    for (e, n, msg) in all {
        let m = ModuleError::from(e);
        assert_eq!(
            (m.codespace(), m.code(), m.to_string()),
            ("slashing", n, msg.into())
        );
    }
    assert_eq!(
        SlashingError::ValidatorJailed.wrap("why").to_string(),
        "why: validator still jailed; cannot be unjailed"
    );
}
