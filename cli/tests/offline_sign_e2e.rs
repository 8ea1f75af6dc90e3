//! Signing as gaiad does it, with the real binary against a real node: `--generate-only`,
//! `tx sign --offline` on a home that has only the key (no node, no config), `tx encode` /
//! `tx decode`, `tx broadcast`, `query txs`, and `tx bank multi-send` with `--gas auto`
//! and `--gas-prices`.

use serde_json::Value;
use std::path::Path;

mod common;
use common::{funded_home, json, ok, run, start_quiet, until};

const CHAIN: &str = "offline-1";
const T: [&str; 2] = ["--keyring-backend", "test"];

fn balance(home: &Path, node: &str, who: &str) -> u64 {
    let v = json(&ok(
        home,
        &["query", "bank", "balances", who, "--node", node],
    ));
    v["balances"]
        .as_array()
        .and_then(|b| b.iter().find(|c| c["denom"] == "stake"))
        .and_then(|c| c["amount"].as_str())
        .map_or(0, |a| a.parse().expect("amount"))
}

/// The committed tx `hash`, as `query txs` finds it by its hash.
fn committed(home: &Path, node: &str, hash: &str) -> Value {
    until(&format!("tx {hash} committed"), 60, || {
        let v = json(&ok(
            home,
            &[
                "query",
                "txs",
                "--query",
                &format!("tx.hash='{hash}'"),
                "--node",
                node,
            ],
        ));
        (v["total_count"] == "1").then(|| v["txs"][0].clone())
    })
}

#[test]
fn generate_sign_offline_broadcast_and_multi_send_with_gas_auto() {
    let dir = tempfile::tempdir().expect("tmp");
    let home = dir.path().join("online");
    let ports = funded_home(&home, CHAIN, "50ms");
    let node = format!("tcp://127.0.0.1:{}", ports.rpc);
    ok(&home, &["keys", "add", "bob", T[0], T[1]]);
    ok(&home, &["keys", "add", "carol", T[0], T[1]]);
    let addr = |name: &str| {
        ok(&home, &["keys", "show", name, "-a", T[0], T[1]])
            .trim()
            .to_string()
    };
    let (alice, bob, carol) = (addr("alice"), addr("bob"), addr("carol"));
    let _node = start_quiet(&home);
    until("the node answers", 60, || {
        run(
            &home,
            &["query", "auth", "account", &alice, "--node", &node],
            "",
        )
        .0
        .then_some(())
    });

    // 1. The unsigned transaction, from an address: no key, no chain id, no node needed.
    let unsigned = ok(
        &home,
        &[
            "tx",
            "bank",
            "send",
            &alice,
            &bob,
            "100stake",
            "--fees",
            "500stake",
            "--generate-only",
            "--node",
            "tcp://127.0.0.1:1",
        ],
    );
    let v = json(&unsigned);
    assert_eq!(
        v["body"]["messages"][0]["@type"],
        "/cosmos.bank.v1beta1.MsgSend"
    );
    assert_eq!(v["body"]["messages"][0]["to_address"], bob);
    assert_eq!(v["auth_info"]["signer_infos"], serde_json::json!([]));
    assert_eq!(v["auth_info"]["fee"]["gas_limit"], "200000");
    assert_eq!(v["signatures"], serde_json::json!([]));
    let unsigned_file = dir.path().join("unsigned.json");
    std::fs::write(&unsigned_file, &unsigned).expect("write");

    // 2. Signed on a cold home that holds only alice's key, against a node that is not there.
    let account = json(&ok(
        &home,
        &["query", "auth", "account", &alice, "--node", &node],
    ));
    let number = account["account"]["account_number"]
        .as_str()
        .expect("account number")
        .to_string();
    let cold = dir.path().join("cold");
    std::fs::create_dir_all(cold.join("keyring-test")).expect("cold home");
    for f in std::fs::read_dir(home.join("keyring-test")).expect("keyring") {
        let f = f.expect("entry");
        if f.file_name().to_string_lossy().starts_with("alice") {
            std::fs::copy(f.path(), cold.join("keyring-test").join(f.file_name())).expect("copy");
        }
    }
    let sign_args = |out: Option<&Path>| {
        let mut a: Vec<String> = [
            "tx",
            "sign",
            unsigned_file.to_str().expect("utf-8"),
            "--from",
            "alice",
            "--chain-id",
            CHAIN,
            "--offline",
            "--account-number",
            &number,
            "--sequence",
            "0",
            "--node",
            "tcp://127.0.0.1:1",
            T[0],
            T[1],
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        if let Some(out) = out {
            a.extend(["--output-document".into(), out.display().to_string()]);
        }
        a
    };
    let signed_file = dir.path().join("signed.json");
    let a = sign_args(Some(&signed_file));
    ok(&cold, &a.iter().map(String::as_str).collect::<Vec<_>>());
    let signed = json(&std::fs::read_to_string(&signed_file).expect("signed file"));
    assert_eq!(
        signed["body"], v["body"],
        "signing leaves the body as it was"
    );
    assert_eq!(signed["auth_info"]["fee"], v["auth_info"]["fee"]);
    assert_eq!(signed["auth_info"]["signer_infos"][0]["sequence"], "0");
    assert_eq!(signed["signatures"].as_array().map(Vec::len), Some(1));
    // A signed file is not signed again by accident.
    let (good, _, err) = run(
        &cold,
        &{
            let mut a = sign_args(None);
            a[2] = signed_file.display().to_string();
            a
        }
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>(),
        "",
    );
    assert!(!good && err.contains("already signed"), "{err}");

    // 3. encode and decode are inverses; the bytes are what cosmrs reads as this transaction.
    let b64 = ok(
        &home,
        &["tx", "encode", signed_file.to_str().expect("utf-8")],
    );
    assert_eq!(json(&ok(&home, &["tx", "decode", b64.trim()])), signed);
    use base64::Engine as _;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .expect("base64");
    let theirs = cosmrs::Tx::from_bytes(&bytes).expect("cosmrs decodes the signed tx");
    assert_eq!(theirs.body.memo, "");
    assert_eq!(theirs.auth_info.fee.gas_limit, 200_000);
    assert_eq!(theirs.signatures.len(), 1);

    // 4. Broadcast from the file; committed; found by `query txs` by sender.
    let res = json(&ok(
        &home,
        &[
            "tx",
            "broadcast",
            signed_file.to_str().expect("utf-8"),
            "--node",
            &node,
        ],
    ));
    assert_eq!(res["code"], 0, "{res}");
    let hash = res["txhash"].as_str().expect("hash").to_string();
    let found = committed(&home, &node, &hash);
    assert_eq!(found["code"], 0, "{found}");
    assert_eq!(found["tx"]["@type"], "/cosmos.tx.v1beta1.Tx");
    assert_eq!(found["tx"]["body"], v["body"]);
    assert_eq!(balance(&home, &node, &bob), 100);
    let by_sender = json(&ok(
        &home,
        &[
            "query",
            "txs",
            "--query",
            &format!("message.sender='{alice}'"),
            "--node",
            &node,
        ],
    ));
    assert_eq!(by_sender["total_count"], "1", "{by_sender}");
    assert_eq!(by_sender["txs"][0]["txhash"], hash);

    // 5. multi-send, --split, with the gas simulated and the fee priced from it.
    let (good, out, err) = run(
        &home,
        &[
            "tx",
            "bank",
            "multi-send",
            "alice",
            &bob,
            &carol,
            "21stake",
            "--split",
            "--gas",
            "auto",
            "--gas-adjustment",
            "1.5",
            "--gas-prices",
            "0.01stake",
            "--chain-id",
            CHAIN,
            "--node",
            &node,
            T[0],
            T[1],
        ],
        "",
    );
    assert!(good, "{err}");
    let estimate: u64 = err
        .lines()
        .find_map(|l| l.strip_prefix("gas estimate: "))
        .unwrap_or_else(|| panic!("no gas estimate in {err:?}"))
        .trim()
        .parse()
        .expect("number");
    let res = json(&out);
    assert_eq!(res["code"], 0, "{res}");
    let found = committed(&home, &node, res["txhash"].as_str().expect("hash"));
    assert_eq!(found["code"], 0, "{found}");
    assert_eq!(found["gas_wanted"], estimate.to_string());
    let used: u64 = found["gas_used"]
        .as_str()
        .expect("gas used")
        .parse()
        .expect("n");
    // The limit is the simulated gas × 1.5 rounded up; the simulation weighs the same tx (a
    // little more: it prices a fee it does not know yet), so within 10 % of 1.5 × what it used.
    assert!(
        used * 3 / 2 <= estimate && estimate <= used * 3 / 2 * 11 / 10,
        "used {used}, limit {estimate}"
    );
    assert_eq!(
        found["tx"]["auth_info"]["fee"]["amount"][0]["amount"],
        estimate.div_ceil(100).to_string(),
        "0.01stake × gas, rounded up"
    );
    let msg = &found["tx"]["body"]["messages"][0];
    assert_eq!(msg["@type"], "/cosmos.bank.v1beta1.MsgMultiSend");
    assert_eq!(
        msg["inputs"][0]["coins"][0]["amount"], "20",
        "10 each, 1 left over"
    );
    assert_eq!(balance(&home, &node, &bob), 110);
    assert_eq!(balance(&home, &node, &carol), 10);

    // Bad input: both fees and gas prices; --offline without the numbers; --gas auto offline.
    for (args, want) in [
        (
            vec!["--fees", "1stake", "--gas-prices", "0.01stake"],
            "both fees and gas prices",
        ),
        (vec!["--offline"], "--account-number and --sequence"),
        (
            vec!["--gas", "auto", "--offline", "-a", "0", "-s", "1"],
            "not with --offline",
        ),
        (vec!["--gas", "lots"], "invalid gas"),
    ] {
        let mut a = vec![
            "tx",
            "bank",
            "send",
            "alice",
            &bob,
            "1stake",
            "--chain-id",
            CHAIN,
            "--node",
            &node,
            T[0],
            T[1],
        ];
        a.extend(args);
        let (good, _, err) = run(&home, &a, "");
        assert!(!good && err.contains(want), "{a:?}: {err}");
    }
}
