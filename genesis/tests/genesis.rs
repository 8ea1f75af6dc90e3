//! A real CometBFT v0.38 genesis document, and the ways a genesis can be wrong.

use keystone_genesis::{GenesisDoc, GenesisError};

fn real() -> serde_json::Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/cometbft_genesis_response.json"
    );
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("data")).expect("json");
    v["result"]["genesis"].clone()
}

fn parse(v: &serde_json::Value) -> Result<GenesisDoc, GenesisError> {
    GenesisDoc::from_json(v.to_string().as_bytes())
}

#[test]
fn a_real_cometbft_genesis_parses_and_hashes_as_its_chain_did() {
    let doc = parse(&real()).expect("valid");
    assert_eq!(doc.chain_id, "dockerchain");
    assert_eq!(doc.initial_height, 1);
    let t = doc.time().expect("time");
    assert_eq!((t.seconds(), t.nanos()), (1_684_332_768, 347_696_215));
    // The header of every block of that chain carries these two hashes
    // (shared/vectors/header-hash.md §4).
    assert_eq!(
        doc.validator_set().expect("set").hash().to_hex(),
        "33415EFFCEDA5BD0A3A443A727457D9F7B9E38389BF27A936FEDF749A7B7566E"
    );
    assert_eq!(
        doc.consensus_params.hashed().hash().to_hex(),
        "048091BC7DDC283F77BFBF91D73C44DA58C3DF8A9CBC867405D8B7F3DAADA22F"
    );
    // Written back and read again: the same document.
    let again = GenesisDoc::from_json(doc.to_json().expect("json").as_bytes()).expect("valid");
    assert_eq!(again, doc);
}

/// An edit that breaks one field of a genesis document.
type Edit = Box<dyn Fn(&mut serde_json::Value)>;

#[test]
fn each_bad_field_is_named() {
    let cases: Vec<(&str, Edit)> = vec![
        ("chain_id", Box::new(|g| g["chain_id"] = "".into())),
        (
            "chain_id",
            Box::new(|g| g["chain_id"] = "x".repeat(51).into()),
        ),
        (
            "initial_height",
            Box::new(|g| g["initial_height"] = "0".into()),
        ),
        (
            "genesis_time",
            Box::new(|g| g["genesis_time"] = "yesterday".into()),
        ),
        (
            "validators.power",
            Box::new(|g| g["validators"][0]["power"] = "0".into()),
        ),
        (
            "validators.address",
            Box::new(|g| g["validators"][0]["address"] = "00".repeat(20).into()),
        ),
        (
            "validators.pub_key.value",
            Box::new(|g| g["validators"][0]["pub_key"]["value"] = "AAAA".into()),
        ),
        (
            "validators.pub_key.type",
            Box::new(|g| {
                g["validators"][0]["pub_key"]["type"] = "tendermint/PubKeySecp256k1".into()
            }),
        ),
        (
            "consensus_params.block.max_bytes",
            Box::new(|g| g["consensus_params"]["block"]["max_bytes"] = "0".into()),
        ),
        (
            "consensus_params.block.max_gas",
            Box::new(|g| g["consensus_params"]["block"]["max_gas"] = "-2".into()),
        ),
        (
            "consensus_params.evidence.max_age_num_blocks",
            Box::new(|g| g["consensus_params"]["evidence"]["max_age_num_blocks"] = "0".into()),
        ),
        (
            "app_state",
            Box::new(|g| g["app_state"] = serde_json::json!([1, 2])),
        ),
    ];
    for (field, edit) in cases {
        let mut g = real();
        edit(&mut g);
        match parse(&g) {
            Err(GenesisError::Invalid { field: f, .. }) => assert_eq!(f, field),
            other => panic!("{field}: expected an invalid-field error, got {other:?}"),
        }
    }
    assert!(matches!(
        GenesisDoc::from_json(b"{\"chain_id\": 5"),
        Err(GenesisError::Json(_))
    ));
    let missing = std::path::Path::new("/nonexistent/genesis.json");
    assert!(matches!(
        GenesisDoc::load(missing),
        Err(GenesisError::Io { .. })
    ));
}

#[test]
fn absent_consensus_params_take_cometbfts_defaults() {
    let mut g = real();
    g.as_object_mut()
        .expect("object")
        .remove("consensus_params");
    let doc = parse(&g).expect("valid");
    assert_eq!(
        doc.consensus_params,
        keystone_genesis::ConsensusParams::default()
    );
}
