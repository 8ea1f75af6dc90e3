//! The real `keystone` binary, driven as a user drives it: keys recovered from a mnemonic on
//! standard input give the SDK's address; list, show and delete behave as gaiad's.

/// A child process killed if the test leaves before it ends.
mod common;
use common::run as keystone;

const FAUCET: &str = "economy stock theory fatal elder harbor betray wasp final emotion task crumble siren bottom lizard educate guess current outdoor pair theory focus wife stone";

#[test]
fn recover_show_list_delete() {
    let dir = tempfile::tempdir().expect("tmp");
    let home = dir.path();
    let t = ["--keyring-backend", "test"];
    let (ok, _, err) = keystone(
        home,
        &["keys", "add", "faucet", "--recover", t[0], t[1]],
        FAUCET,
    );
    assert!(ok, "{err}");
    let (ok, out, _) = keystone(home, &["keys", "show", "faucet", "-a", t[0], t[1]], "");
    assert!(ok);
    assert_eq!(out.trim(), "cosmos1pkptre7fdkl6gfrzlesjjvhxhlc3r4gmmk8rs6");

    // A new key prints its mnemonic once; recovering that mnemonic gives the same address.
    let (ok, out, _) = keystone(
        home,
        &["keys", "add", "bob", t[0], t[1], "--output", "json"],
        "",
    );
    assert!(ok);
    let v: serde_json::Value = serde_json::from_str(out.trim()).expect("json");
    let mnemonic = v["mnemonic"]
        .as_str()
        .expect("mnemonic printed")
        .to_string();
    let (ok, out, _) = keystone(
        home,
        &["keys", "add", "bob2", "--recover", t[0], t[1], "-o", "json"],
        &mnemonic,
    );
    assert!(ok);
    let v2: serde_json::Value = serde_json::from_str(out.trim()).expect("json");
    assert_eq!(v2["address"], v["address"]);

    let (ok, out, _) = keystone(home, &["keys", "list", t[0], t[1], "--output", "json"], "");
    assert!(ok);
    let list: serde_json::Value = serde_json::from_str(out.trim()).expect("json");
    let names: Vec<&str> = list
        .as_array()
        .expect("array")
        .iter()
        .map(|k| k["name"].as_str().expect("name"))
        .collect();
    assert_eq!(names, vec!["bob", "bob2", "faucet"]);
    for k in list.as_array().expect("array") {
        assert_eq!(k["type"], "local");
        assert!(k["pubkey"]
            .as_str()
            .expect("pubkey")
            .contains("/cosmos.crypto.secp256k1.PubKey"));
    }

    let (ok, _, _) = keystone(home, &["keys", "delete", "bob2", "-y", t[0], t[1]], "");
    assert!(ok);
    let (ok, _, err) = keystone(home, &["keys", "show", "bob2", t[0], t[1]], "");
    assert!(!ok);
    assert!(err.contains("key not found"), "{err}");
}

#[test]
fn bad_input_is_a_clear_error() {
    let dir = tempfile::tempdir().expect("tmp");
    let home = dir.path();
    let t = ["--keyring-backend", "test"];
    let (ok, _, err) = keystone(
        home,
        &["keys", "add", "x", "--recover", t[0], t[1]],
        "not a mnemonic at all",
    );
    assert!(!ok);
    assert!(err.contains("invalid mnemonic"), "{err}");
    let (ok, _, err) = keystone(home, &["keys", "add", "../escape", t[0], t[1]], "");
    assert!(!ok);
    assert!(err.contains("invalid key name"), "{err}");
    keystone(home, &["keys", "add", "dup", t[0], t[1]], "");
    let (ok, _, err) = keystone(home, &["keys", "add", "dup", t[0], t[1]], "");
    assert!(!ok);
    assert!(err.contains("cannot overwrite"), "{err}");
    let (ok, _, err) = keystone(home, &["keys", "list"], "");
    assert!(!ok, "the file backend is not there yet and says so");
    assert!(err.contains("--keyring-backend test"), "{err}");
    let (ok, _, _) = keystone(home, &["keys", "frobnicate"], "");
    assert!(!ok);
}
