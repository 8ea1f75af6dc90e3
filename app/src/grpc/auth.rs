//! `cosmos.auth.v1beta1.Query`: `Account`, `Params`, `ModuleAccounts` and
//! `ModuleAccountByName`.

use super::{account, answer, decode, Failure, Handled};
use base64::Engine;
use cosmos_sdk_proto::cosmos::auth::v1beta1 as pb;
use cosmos_sdk_proto::cosmos::crypto::secp256k1::PubKey;
use cosmos_sdk_proto::Any;
use keystone_modules::{auth, State};
use prost::Message;

/// Answer `method` of the auth query service.
pub(super) fn query(state: &impl State, method: &str, data: &[u8]) -> Handled {
    match method {
        "Account" => {
            let q: pb::QueryAccountRequest = decode(data)?;
            let a = account(&q.address)?;
            let found = auth::account(state, &a)?
                .ok_or_else(|| Failure::not_found(format!("account {} not found", q.address)))?;
            answer(&pb::QueryAccountResponse {
                account: Some(packed(&found)?),
            })
        }
        "ModuleAccounts" => {
            decode::<pb::QueryModuleAccountsRequest>(data)?;
            let accounts = module_accounts(state)?
                .iter()
                .map(packed)
                .collect::<Result<_, _>>()?;
            answer(&pb::QueryModuleAccountsResponse { accounts })
        }
        "ModuleAccountByName" => {
            let q: pb::QueryModuleAccountByNameRequest = decode(data)?;
            if q.name.is_empty() {
                return Err(Failure::invalid_argument("module name is empty"));
            }
            let found = module_accounts(state)?
                .into_iter()
                .find(|a| a.module_name.as_deref() == Some(q.name.as_str()))
                .ok_or_else(|| Failure::not_found(format!("account {} not found", q.name)))?;
            answer(&pb::QueryModuleAccountByNameResponse {
                account: Some(packed(&found)?),
            })
        }
        "Params" => {
            decode::<pb::QueryParamsRequest>(data)?;
            let p = auth::params(state)?;
            answer(&pb::QueryParamsResponse {
                params: Some(pb::Params {
                    max_memo_characters: p.max_memo_characters,
                    tx_sig_limit: p.tx_sig_limit,
                    tx_size_cost_per_byte: p.tx_size_cost_per_byte,
                    sig_verify_cost_ed25519: p.sig_verify_cost_ed25519,
                    sig_verify_cost_secp256k1: p.sig_verify_cost_secp256k1,
                }),
            })
        }
        _ => Ok(None),
    }
}

/// The module accounts this chain holds, in name order (as the SDK lists them).
fn module_accounts(state: &impl State) -> Result<Vec<auth::Account>, Failure> {
    let mut found: Vec<auth::Account> = auth::all_accounts(state)?
        .into_iter()
        .filter(|a| a.module_name.is_some())
        .collect();
    found.sort_by(|a, b| a.module_name.cmp(&b.module_name));
    Ok(found)
}

/// The account as the SDK packs it: a `BaseAccount`, or for a module's account a
/// `ModuleAccount` around one (with the permissions gaia grants that module).
fn packed(a: &auth::Account) -> Result<Any, Failure> {
    let pub_key = match &a.pub_key {
        None => None,
        Some(b64) => {
            // Stored by the ante handler from a verified key: unreadable means corrupt state.
            let key = base64::engine::general_purpose::STANDARD
                .decode(b64)
                .map_err(|e| Failure::from(corrupt(a, e)))?;
            Some(Any {
                type_url: "/cosmos.crypto.secp256k1.PubKey".into(),
                value: PubKey { key }.encode_to_vec(),
            })
        }
    };
    let base = pb::BaseAccount {
        address: a.address.clone(),
        pub_key,
        account_number: a.account_number,
        sequence: a.sequence,
    };
    Ok(match &a.module_name {
        None => Any {
            type_url: "/cosmos.auth.v1beta1.BaseAccount".into(),
            value: base.encode_to_vec(),
        },
        Some(name) => Any {
            type_url: "/cosmos.auth.v1beta1.ModuleAccount".into(),
            value: pb::ModuleAccount {
                base_account: Some(base),
                name: name.clone(),
                permissions: permissions(name).iter().map(|p| p.to_string()).collect(),
            }
            .encode_to_vec(),
        },
    })
}

/// gaia's `maccPerms` for the modules this chain has.
fn permissions(module: &str) -> &'static [&'static str] {
    match module {
        "mint" => &["minter"],
        "bonded_tokens_pool" | "not_bonded_tokens_pool" => &["burner", "staking"],
        "gov" => &["burner"],
        _ => &[],
    }
}

fn corrupt(a: &auth::Account, e: impl std::fmt::Display) -> keystone_modules::ModuleError {
    keystone_modules::ModuleError::Corrupt {
        key: format!("{}{}", auth::state_key::ACCOUNTS, a.address),
        reason: e.to_string(),
    }
}
