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
    let (ok, out, _) = keystone(home, &["keys", "list", "-o", "json"], "");
    assert!(
        ok && out.trim() == "[]",
        "the default (file) keyring is another, empty one"
    );
    let (ok, _, _) = keystone(home, &["keys", "frobnicate"], "");
    assert!(!ok);
}

#[test]
fn the_file_keyring_is_encrypted_and_asks_for_its_passphrase() {
    let dir = tempfile::tempdir().expect("tmp");
    let home = dir.path();
    let f = ["--keyring-backend", "file"];
    // A new file keyring takes its passphrase twice, then the mnemonic, as gaiad reads them.
    let (ok, _, err) = keystone(
        home,
        &["keys", "add", "faucet", "--recover", f[0], f[1]],
        &format!("hunter2hunter2\nhunter2hunter2\n{FAUCET}\n"),
    );
    assert!(ok, "{err}");
    assert!(err.contains("Enter keyring passphrase"), "{err}");
    let on_disk = std::fs::read_to_string(home.join("keyring-file/faucet.json")).expect("key file");
    assert!(!on_disk.contains("secret_hex"), "sealed, not in the clear");
    // Public data needs no passphrase.
    let (ok, out, _) = keystone(home, &["keys", "show", "faucet", "-a", f[0], f[1]], "");
    assert!(ok);
    assert_eq!(out.trim(), "cosmos1pkptre7fdkl6gfrzlesjjvhxhlc3r4gmmk8rs6");
    // Mismatched confirmation on a new keyring, a wrong passphrase on an existing one, and
    // none at all: each a clear error, nothing written.
    let other = tempfile::tempdir().expect("tmp");
    let (ok, _, err) = keystone(
        other.path(),
        &["keys", "add", "k", f[0], f[1]],
        "hunter2hunter2\nhunter3hunter3\n",
    );
    assert!(!ok && err.contains("passphrases don't match"), "{err}");
    assert!(!other.path().join("keyring-file/k.json").exists());
    let (ok, _, err) = keystone(
        home,
        &["keys", "add", "k2", f[0], f[1]],
        "wrong-passphrase\n",
    );
    assert!(!ok && err.contains("incorrect passphrase"), "{err}");
    let (ok, _, err) = keystone(home, &["keys", "add", "k3", f[0], f[1]], "");
    assert!(!ok && err.contains("no passphrase"), "{err}");
    let (ok, out, _) = keystone(home, &["keys", "list", f[0], f[1], "-o", "json"], "");
    assert!(ok);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(out.trim())
            .expect("json")
            .as_array()
            .expect("list")
            .len(),
        1
    );
    // Signing unlocks the key: a wrong passphrase stops before any network use; the right one
    // gets as far as the (absent) node.
    let send = |stdin: &str| {
        keystone(
            home,
            &[
                "tx",
                "bank",
                "send",
                "faucet",
                "cosmos1pkptre7fdkl6gfrzlesjjvhxhlc3r4gmmk8rs6",
                "1stake",
                "--chain-id",
                "c",
                "--fees",
                "1stake",
                "-y",
                "--node",
                "tcp://127.0.0.1:1",
                f[0],
                f[1],
            ],
            stdin,
        )
    };
    let (ok, _, err) = send("not-the-passphrase\n");
    assert!(!ok && err.contains("incorrect passphrase"), "{err}");
    let (ok, _, err) = send("hunter2hunter2\n");
    assert!(!ok && !err.contains("incorrect passphrase"), "{err}");
    assert!(err.contains("127.0.0.1:1"), "reached the node step: {err}");
}

/// `version` prints the crate's version; `version --long -o json`, as gaiad's, names the
/// commit it was built from (the checkout's HEAD, when built from one), the compiler and every
/// locked package; a reader that stops early is no error.
#[test]
fn version_long_names_the_build() {
    let dir = tempfile::tempdir().expect("tmp");
    let (ok, out, err) = keystone(dir.path(), &["version"], "");
    assert!(ok, "{err}");
    assert_eq!(out.trim(), env!("CARGO_PKG_VERSION"));
    let (ok, out, err) = keystone(dir.path(), &["version", "--long", "-o", "json"], "");
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(v["name"], "keystone");
    assert_eq!(v["version"], env!("CARGO_PKG_VERSION"));
    assert!(v["rust"].as_str().is_some_and(|r| r.starts_with("rustc ")));
    let head = std::process::Command::new("git")
        .args(["rev-parse", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
    if let Some(head) = head {
        assert_eq!(v["commit"], head.as_str());
    }
    let deps: Vec<&str> = v["build_deps"]
        .as_array()
        .expect("deps")
        .iter()
        .filter_map(|d| d.as_str())
        .collect();
    assert!(deps.iter().any(|d| d.starts_with("tokio@1.")), "{deps:?}");
    assert!(deps.iter().any(|d| d.starts_with("redb@")), "{deps:?}");
    // `| head`: the reader goes away after a line.
    let mut child = common::keystone(dir.path())
        .args(["version", "--long"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    drop(child.stdout.take());
    let out = child.wait_with_output().expect("wait");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `keys rename`, as gaiad's: the key answers to its new name only, a taken name is refused,
/// and a `file` key is sealed again under its new name (signing with it still unlocks);
/// `keys show --bech cons` writes the key's bytes with the consensus prefix.
#[test]
fn rename_and_the_consensus_bech() {
    let dir = tempfile::tempdir().expect("tmp");
    let home = dir.path();
    let t = ["--keyring-backend", "test"];
    let (ok, _, err) = keystone(
        home,
        &["keys", "add", "faucet", "--recover", t[0], t[1]],
        FAUCET,
    );
    assert!(ok, "{err}");
    let (ok, _, _) = keystone(home, &["keys", "add", "other", t[0], t[1]], "");
    assert!(ok);
    let (ok, out, err) = keystone(
        home,
        &["keys", "rename", "faucet", "alice", "-y", t[0], t[1]],
        "",
    );
    assert!(ok, "{err}");
    assert!(out.contains("successfully renamed"), "{out}");
    let (ok, out, _) = keystone(home, &["keys", "show", "alice", "-a", t[0], t[1]], "");
    assert!(ok);
    let acc = out.trim().to_string();
    assert_eq!(acc, "cosmos1pkptre7fdkl6gfrzlesjjvhxhlc3r4gmmk8rs6");
    let (ok, _, err) = keystone(home, &["keys", "show", "faucet", t[0], t[1]], "");
    assert!(!ok && err.contains("key not found"), "{err}");
    let (ok, _, err) = keystone(
        home,
        &["keys", "rename", "alice", "other", "-y", t[0], t[1]],
        "",
    );
    assert!(!ok && err.contains("other"), "{err}");
    let (ok, out, _) = keystone(
        home,
        &["keys", "show", "alice", "-a", "--bech", "cons", t[0], t[1]],
        "",
    );
    assert!(ok);
    let bytes = acc.parse::<cosmrs::AccountId>().expect("acc").to_bytes();
    let cons = cosmrs::AccountId::new("cosmosvalcons", &bytes).expect("cons");
    assert_eq!(out.trim(), cons.to_string());

    let f = ["--keyring-backend", "file"];
    let (ok, _, err) = keystone(
        home,
        &["keys", "add", "k", "--recover", f[0], f[1]],
        &format!("hunter2hunter2\nhunter2hunter2\n{FAUCET}\n"),
    );
    assert!(ok, "{err}");
    let (ok, _, err) = keystone(
        home,
        &["keys", "rename", "k", "k2", "-y", f[0], f[1]],
        "hunter2hunter2\n",
    );
    assert!(ok, "{err}");
    let (ok, _, err) = keystone(
        home,
        &[
            "tx",
            "bank",
            "send",
            "k2",
            &acc,
            "1stake",
            "--chain-id",
            "c",
            "--fees",
            "1stake",
            "-y",
            "--node",
            "tcp://127.0.0.1:1",
            f[0],
            f[1],
        ],
        "hunter2hunter2\n",
    );
    assert!(!ok && !err.contains("incorrect passphrase"), "{err}");
    assert!(
        err.contains("127.0.0.1:1"),
        "unsealed under its new name: {err}"
    );
}

/// `keys add --account A --index I` derives at `m/44'/118'/A'/0/I`, as gaiad does: the address
/// is the one cosmrs's bip32 gives for that path, and differs from the default path's.
#[test]
fn account_and_index_choose_the_hd_path() {
    use cosmrs::bip32::{DerivationPath, XPrv};
    let dir = tempfile::tempdir().expect("tmp");
    let home = dir.path();
    let t = ["--keyring-backend", "test"];
    let (ok, _, err) = keystone(
        home,
        &[
            "keys",
            "add",
            "deep",
            "--recover",
            "--account",
            "1",
            "--index",
            "2",
            t[0],
            t[1],
        ],
        FAUCET,
    );
    assert!(ok, "{err}");
    let (ok, out, _) = keystone(home, &["keys", "show", "deep", "-a", t[0], t[1]], "");
    assert!(ok);
    let seed = bip39::Mnemonic::parse(FAUCET)
        .expect("mnemonic")
        .to_seed("");
    let path: DerivationPath = "m/44'/118'/1'/0/2".parse().expect("path");
    let xprv = XPrv::derive_from_path(seed, &path).expect("derive");
    let key = cosmrs::crypto::secp256k1::SigningKey::from_slice(&xprv.private_key().to_bytes())
        .expect("key");
    let want = key.public_key().account_id("cosmos").expect("address");
    assert_eq!(out.trim(), want.as_ref());
    assert_ne!(out.trim(), "cosmos1pkptre7fdkl6gfrzlesjjvhxhlc3r4gmmk8rs6");
}

#[test]
fn export_and_import_move_a_key_as_gaiad_armors_it() {
    let dir = tempfile::tempdir().expect("tmp");
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    let t = ["--keyring-backend", "test"];
    let f = ["--keyring-backend", "file"];
    let (ok, _, err) = keystone(
        &a,
        &["keys", "add", "faucet", "--recover", t[0], t[1]],
        FAUCET,
    );
    assert!(ok, "{err}");
    // Export: the armor passphrase is asked first.
    let (ok, armored, err) = keystone(
        &a,
        &["keys", "export", "faucet", t[0], t[1]],
        "export passphrase\n",
    );
    assert!(ok, "{err}");
    assert!(
        err.contains("Enter passphrase to encrypt the exported key"),
        "{err}"
    );
    assert!(armored.starts_with("-----BEGIN TENDERMINT PRIVATE KEY-----\nkdf: bcrypt\n"));
    let keyfile = dir.path().join("faucet.armor");
    std::fs::write(&keyfile, &armored).expect("write");
    // Import into a new file keyring: the armor's passphrase, then the keyring's twice.
    let k = keyfile.to_str().expect("utf-8");
    let (ok, _, err) = keystone(
        &b,
        &["keys", "import", "moved", k, f[0], f[1]],
        "export passphrase\nkeyring passphrase\nkeyring passphrase\n",
    );
    assert!(ok, "{err}");
    let (ok, out, _) = keystone(&b, &["keys", "show", "moved", "-a", f[0], f[1]], "");
    assert!(ok);
    assert_eq!(out.trim(), "cosmos1pkptre7fdkl6gfrzlesjjvhxhlc3r4gmmk8rs6");
    // A wrong passphrase, a short one, an existing name: clear errors.
    let (ok, _, err) = keystone(
        &a,
        &["keys", "import", "x", k, t[0], t[1]],
        "not it at all\n",
    );
    assert!(!ok && err.contains("invalid passphrase"), "{err}");
    let (ok, _, err) = keystone(&a, &["keys", "export", "faucet", t[0], t[1]], "short\n");
    assert!(!ok && err.contains("at least 8 characters"), "{err}");
    let (ok, _, err) = keystone(
        &a,
        &["keys", "import", "faucet", k, t[0], t[1]],
        "export passphrase\n",
    );
    assert!(!ok && err.contains("cannot overwrite key"), "{err}");
}
