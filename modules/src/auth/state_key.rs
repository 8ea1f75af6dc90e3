//! auth's state keys (public API: clients prove them).

use crate::Address;

/// `auth/accounts/<bech32>`.
pub fn account(address: &Address) -> String {
    format!("auth/accounts/{address}")
}

/// Prefix of every account.
pub const ACCOUNTS: &str = "auth/accounts/";

/// The next account number to assign.
pub const NEXT_ACCOUNT_NUMBER: &str = "auth/next_account_number";

/// The auth params.
pub const PARAMS: &str = "auth/params";
