//! auth: accounts (address, public key, account number, sequence), module accounts and the
//! auth params, following the Cosmos SDK v0.50 `x/auth` semantics.
//!
//! State (values are JSON, readable and provable):
//! - `auth/accounts/<bech32>` → [`Account`]
//! - `auth/next_account_number` → decimal
//! - `auth/params` → [`Params`]

pub mod genesis;
pub mod state_key;

use crate::state::{get_json, get_string, put_json, State};
use crate::{Address, ModuleError, Result};
use serde::{Deserialize, Serialize};

/// The module accounts every chain has, with the addresses the SDK derives for them.
pub const FEE_COLLECTOR: &str = "fee_collector";

/// An account.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    /// Its address (bech32).
    pub address: String,
    /// Its secp256k1 public key (33 bytes compressed, base64), set by its first transaction.
    #[serde(default)]
    pub pub_key: Option<String>,
    /// Its number, assigned at creation, never reused.
    #[serde(with = "crate::serde_util::text")]
    pub account_number: u64,
    /// Transactions signed so far.
    #[serde(with = "crate::serde_util::text")]
    pub sequence: u64,
    /// For module accounts, the module's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub module_name: Option<String>,
}

/// auth params, with the SDK's defaults.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Params {
    /// Longest memo accepted.
    #[serde(with = "crate::serde_util::text")]
    pub max_memo_characters: u64,
    /// Most signatures per transaction.
    #[serde(with = "crate::serde_util::text")]
    pub tx_sig_limit: u64,
    /// Gas per byte of transaction.
    #[serde(with = "crate::serde_util::text")]
    pub tx_size_cost_per_byte: u64,
    /// Gas to verify an ed25519 signature.
    #[serde(with = "crate::serde_util::text")]
    pub sig_verify_cost_ed25519: u64,
    /// Gas to verify a secp256k1 signature.
    #[serde(with = "crate::serde_util::text")]
    pub sig_verify_cost_secp256k1: u64,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            max_memo_characters: 256,
            tx_sig_limit: 7,
            tx_size_cost_per_byte: 10,
            sig_verify_cost_ed25519: 590,
            sig_verify_cost_secp256k1: 1000,
        }
    }
}

fn corrupt(key: &str, e: impl std::fmt::Display) -> ModuleError {
    ModuleError::Corrupt {
        key: key.into(),
        reason: e.to_string(),
    }
}

/// The account at `address`.
pub fn account(state: &(impl State + ?Sized), address: &Address) -> Result<Option<Account>> {
    let key = state_key::account(address);
    match get_string(state, &key)? {
        None => Ok(None),
        Some(json) => serde_json::from_str(&json)
            .map(Some)
            .map_err(|e| corrupt(&key, e)),
    }
}

/// Store `account`.
pub fn set_account(state: &mut (impl State + ?Sized), account: &Account) -> Result<()> {
    let address: Address = account.address.parse()?;
    let json = serde_json::to_string(account).map_err(|e| corrupt("account", e))?;
    state.put(state_key::account(&address).into_bytes(), json.into_bytes());
    Ok(())
}

/// Take the next account number.
fn next_account_number(state: &mut (impl State + ?Sized)) -> Result<u64> {
    let key = state_key::NEXT_ACCOUNT_NUMBER;
    let n = match get_string(state, key)? {
        None => 0,
        Some(s) => s.parse().map_err(|e| corrupt(key, e))?,
    };
    state.put(key.as_bytes().to_vec(), (n + 1).to_string().into_bytes());
    Ok(n)
}

/// The account at `address`, created with the next account number if it does not exist.
fn ensure(
    state: &mut (impl State + ?Sized),
    address: Address,
    module_name: Option<&str>,
) -> Result<Account> {
    if let Some(a) = account(state, &address)? {
        return Ok(a);
    }
    let a = Account {
        address: address.to_string(),
        pub_key: None,
        account_number: next_account_number(state)?,
        sequence: 0,
        module_name: module_name.map(Into::into),
    };
    set_account(state, &a)?;
    Ok(a)
}

/// The account at `address`, created (with the next account number) if it does not exist —
/// what the SDK does when an address first receives funds.
pub fn ensure_account(state: &mut (impl State + ?Sized), address: &Address) -> Result<Account> {
    ensure(state, *address, None)
}

/// Create the module account `name` if missing.
pub fn ensure_module_account(state: &mut (impl State + ?Sized), name: &str) -> Result<Account> {
    ensure(state, Address::module(name), Some(name))
}

/// Every account, module accounts included, in address order.
pub fn all_accounts(state: &(impl State + ?Sized)) -> Result<Vec<Account>> {
    crate::state::scan_json(state, state_key::ACCOUNTS)
}

/// The auth params.
pub fn params(state: &(impl State + ?Sized)) -> Result<Params> {
    Ok(get_json(state, state_key::PARAMS)?.unwrap_or_default())
}

/// Store the auth params.
pub fn set_params(state: &mut (impl State + ?Sized), p: &Params) -> Result<()> {
    put_json(state, state_key::PARAMS, p)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MemState;

    #[test]
    fn accounts_get_increasing_numbers_once() {
        let mut s = MemState::default();
        let (a, b) = (Address([1; 20]), Address([2; 20]));
        assert_eq!(account(&s, &a).expect("read"), None);
        assert_eq!(
            ensure_account(&mut s, &a).expect("create").account_number,
            0
        );
        assert_eq!(
            ensure_account(&mut s, &b).expect("create").account_number,
            1
        );
        assert_eq!(
            ensure_account(&mut s, &a).expect("exists").account_number,
            0
        );
        let fee = ensure_module_account(&mut s, FEE_COLLECTOR).expect("module");
        assert_eq!(fee.account_number, 2);
        assert_eq!(fee.module_name.as_deref(), Some(FEE_COLLECTOR));
        let key = state_key::account(&a);
        assert!(key.starts_with("auth/accounts/cosmos1"), "{key}");
    }

    #[test]
    fn corrupt_records_are_errors() {
        let mut s = MemState::default();
        let a = Address([1; 20]);
        s.put(state_key::account(&a).into_bytes(), b"{".to_vec());
        assert!(matches!(account(&s, &a), Err(ModuleError::Corrupt { .. })));
    }
}
