//! The identity files `keystone init` writes are CometBFT's: tendermint-rs's own config
//! parser (`tendermint-config`, a third-party reader of these files) loads
//! `priv_validator_key.json` and `node_key.json`, and derives from them the same validator
//! address, consensus key and node id that `keystone tendermint show-*` prints and that
//! `genesis.json` names.

mod common;
use common::ok;

#[test]
fn init_writes_key_files_tendermint_rs_reads() {
    let dir = tempfile::tempdir().expect("tmp");
    let home = dir.path();
    ok(home, &["init", "node0", "--chain-id", "ids-1"]);

    let pv = tendermint_config::PrivValidatorKey::load_json_file(
        &home.join("config/priv_validator_key.json"),
    )
    .expect("tendermint-config parses priv_validator_key.json");
    let node = tendermint_config::NodeKey::load_json_file(&home.join("config/node_key.json"))
        .expect("tendermint-config parses node_key.json");

    assert_eq!(
        ok(home, &["tendermint", "show-node-id"]).trim(),
        node.node_id().to_string(),
        "the node id is tendermint-rs's"
    );
    let shown: serde_json::Value =
        serde_json::from_str(ok(home, &["tendermint", "show-validator"]).trim()).expect("json");
    use base64::Engine as _;
    assert_eq!(
        shown["key"],
        base64::engine::general_purpose::STANDARD.encode(pv.pub_key.to_bytes())
    );
    assert_eq!(shown["@type"], "/cosmos.crypto.ed25519.PubKey");
    let valcons = ok(home, &["tendermint", "show-address"]);
    let a = keystone_modules::Address::from_bech32(valcons.trim(), "cosmosvalcons")
        .expect("a cosmosvalcons address");
    assert_eq!(a.0.as_slice(), pv.address.as_bytes());

    // The genesis validator is this key, by tendermint-rs's derivation of the address.
    let genesis: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(home.join("config/genesis.json")).expect("genesis"),
    )
    .expect("json");
    assert_eq!(
        genesis["validators"][0]["address"],
        pv.address.to_string(),
        "{genesis}"
    );
}

/// The secrets are the owner's alone from the moment they exist, as CometBFT writes them
/// (0600): the validator key, the node key, and the sign state; also in every home of
/// `testnet init-files`.
#[cfg(unix)]
#[test]
fn key_files_are_private_from_the_start() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &std::path::Path| {
        std::fs::metadata(p)
            .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
            .permissions()
            .mode()
            & 0o777
    };
    let dir = tempfile::tempdir().expect("tmp");
    let home = dir.path().join("one");
    ok(&home, &["init", "node0", "--chain-id", "modes-1"]);
    let net = dir.path().join("net");
    ok(
        &home,
        &[
            "testnet",
            "init-files",
            "--v",
            "2",
            "--output-dir",
            net.to_str().expect("utf-8 path"),
            "--chain-id",
            "modes-2",
            "--keyring-backend",
            "test",
        ],
    );
    for h in [home.clone(), net.join("node0"), net.join("node1")] {
        for f in ["config/priv_validator_key.json", "config/node_key.json"] {
            assert_eq!(mode(&h.join(f)), 0o600, "{}", h.join(f).display());
        }
        let state = h.join("data/priv_validator_state.json");
        if state.exists() {
            assert_eq!(mode(&state), 0o600, "{}", state.display());
        }
    }
}
