//! Transactions signed by a real Cosmos SDK node (`simd`, SIGN_MODE_DIRECT; tests/data) are
//! accepted by the pipeline in order, and refused when replayed or altered.

use keystone_app::tx::{run_tx, Context, Mode};
use keystone_modules::auth::{genesis::Genesis as AuthGenesis, Account};
use keystone_modules::bank::{
    self,
    genesis::{Balance, Genesis as BankGenesis, JsonCoin},
};
use keystone_modules::{auth, Address, MemState};

fn vectors() -> serde_json::Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/simd_sign_direct.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).expect("test data")).expect("json")
}

fn tx(v: &serde_json::Value, i: usize) -> Vec<u8> {
    hex::decode(v["vectors"][i]["tx_raw_hex"].as_str().expect("hex")).expect("hex")
}

/// The signer holds account number 1 (another account took 0), funded in ucosm.
fn state(signer: &Address) -> MemState {
    let mut s = MemState::default();
    let acc = |address: String, n| Account {
        address,
        pub_key: None,
        account_number: n,
        sequence: 0,
        module_name: None,
    };
    AuthGenesis {
        accounts: vec![
            acc(Address([9; 20]).to_string(), 0),
            acc(signer.to_string(), 1),
        ],
        ..AuthGenesis::default()
    }
    .init(&mut s)
    .expect("auth");
    BankGenesis {
        balances: vec![Balance {
            address: signer.to_string(),
            coins: vec![JsonCoin {
                denom: "ucosm".into(),
                amount: "10000000".into(),
            }],
        }],
        ..BankGenesis::default()
    }
    .init(&mut s)
    .expect("bank");
    s
}

#[test]
fn simd_signed_transactions_are_accepted_in_sequence() {
    let v = vectors();
    let signer: Address = v["signer"]
        .as_str()
        .expect("signer")
        .parse()
        .expect("bech32");
    let recipient: Address = v["recipient"]
        .as_str()
        .expect("recipient")
        .parse()
        .expect("bech32");
    let mut s = state(&signer);
    let ctx = Context {
        chain_id: "simd-testing",
        height: 1,
        mode: Mode::Deliver,
        min_gas_prices: &[],
        time: keystone_modules::Timestamp::EPOCH,
        verified: None,
    };
    for i in 0..3 {
        let raw = tx(&v, i);
        assert_eq!(
            keystone_consensus_hash(&raw),
            v["vectors"][i]["tx_hash"].as_str().expect("hash"),
            "tx hash = sha256(TxRaw)"
        );
        let out = run_tx(&mut s, &raw, &ctx);
        assert_eq!(out.result, Ok(()), "vector {i}");
        assert_eq!(out.gas_wanted, 200_000);
    }
    assert_eq!(
        bank::balance(&s, &recipient, "ucosm").expect("read"),
        3 * 1_234_567
    );
    assert_eq!(
        bank::balance(&s, &signer, "ucosm").expect("read"),
        10_000_000 - 3 * (1_234_567 + 2000)
    );
    let acc = auth::account(&s, &signer).expect("read").expect("account");
    assert_eq!(acc.sequence, 3);
    // The recorded public key is the one in the vectors (base64 of the compressed key).
    assert_eq!(
        acc.pub_key.as_deref(),
        Some("A08EGB7ro1ORuFhjOnZcSgwYlpe0DSFjVNUIkNNQxwKQ")
    );
}

#[test]
fn replayed_or_altered_simd_transactions_are_refused() {
    let v = vectors();
    let signer: Address = v["signer"]
        .as_str()
        .expect("signer")
        .parse()
        .expect("bech32");
    let ctx = Context {
        chain_id: "simd-testing",
        height: 1,
        mode: Mode::Deliver,
        min_gas_prices: &[],
        time: keystone_modules::Timestamp::EPOCH,
        verified: None,
    };
    // Out of order: sequence 1 first.
    let mut s = state(&signer);
    let out = run_tx(&mut s, &tx(&v, 1), &ctx);
    assert_eq!(out.result.expect_err("wrong sequence").code(), 32);
    // Another chain id.
    let other = Context {
        chain_id: "keystone-1",
        ..ctx.clone()
    };
    assert_eq!(
        run_tx(&mut s, &tx(&v, 0), &other)
            .result
            .expect_err("chain id")
            .code(),
        4
    );
    // One flipped bit in the amount inside body_bytes.
    let mut raw = tx(&v, 0);
    let pos = raw
        .windows(7)
        .position(|w| w == b"1234567")
        .expect("amount in body");
    raw[pos] ^= 0x01;
    assert_eq!(
        run_tx(&mut s, &raw, &ctx)
            .result
            .expect_err("altered")
            .code(),
        4
    );
    // Nothing of that changed the state: vector 0 still goes through.
    assert_eq!(run_tx(&mut s, &tx(&v, 0), &ctx).result, Ok(()));
}

/// The CometBFT tx hash: uppercase hex of sha256 of the raw bytes.
fn keystone_consensus_hash(raw: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    hex::encode_upper(Sha256::digest(raw))
}
