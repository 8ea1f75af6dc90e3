//! Fixtures the application tests share: alice (funded at genesis), bob, a genesis with
//! auth and bank sections, and alice's cosmrs-signed sends.

#![allow(dead_code)] // each test file uses its own subset

use cosmrs::bank::MsgSend;
use cosmrs::crypto::secp256k1::SigningKey;
use cosmrs::tx::{self, Fee, Msg, SignDoc, SignerInfo};
use cosmrs::{AccountId, Coin};
use keystone_modules::Address;

pub(crate) fn alice_key() -> SigningKey {
    SigningKey::from_slice(&[7; 32]).expect("key")
}

pub(crate) fn addr(k: &SigningKey) -> Address {
    k.public_key()
        .account_id("cosmos")
        .expect("id")
        .to_string()
        .parse()
        .expect("bech32")
}

pub(crate) fn bob() -> Address {
    Address([0xb0; 20])
}

pub(crate) fn genesis_json(alice: &Address) -> Vec<u8> {
    serde_json::json!({
        "auth": {"params": {
            "max_memo_characters": "256", "tx_sig_limit": "7", "tx_size_cost_per_byte": "10",
            "sig_verify_cost_ed25519": "590", "sig_verify_cost_secp256k1": "1000"
        }, "accounts": []},
        "bank": {"params": {"send_enabled": [], "default_send_enabled": true},
                 "balances": [{"address": alice.to_string(), "coins": [{"denom": "stake", "amount": "1000000"}]}],
                 "supply": []}
    })
    .to_string()
    .into_bytes()
}

/// alice sends `amount` stake to bob on `chain`, signed SIGN_MODE_DIRECT by cosmrs.
pub(crate) fn send(chain: &str, sequence: u64, amount: u128) -> Vec<u8> {
    let k = alice_key();
    let msg = MsgSend {
        from_address: AccountId::new("cosmos", &addr(&k).0).expect("id"),
        to_address: AccountId::new("cosmos", &bob().0).expect("id"),
        amount: vec![Coin {
            denom: "stake".parse().expect("denom"),
            amount,
        }],
    };
    let body = tx::Body::new(vec![msg.to_any().expect("any")], "", 0u32);
    let auth_info = SignerInfo::single_direct(Some(k.public_key()), sequence).auth_info(
        Fee::from_amount_and_gas(
            Coin {
                denom: "stake".parse().expect("denom"),
                amount: 500,
            },
            200_000u64,
        ),
    );
    // alice is the only genesis account: account number 0.
    let doc = SignDoc::new(&body, &auth_info, &chain.parse().expect("chain"), 0).expect("doc");
    doc.sign(&k).expect("sign").to_bytes().expect("bytes")
}
