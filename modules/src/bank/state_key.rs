//! bank's state keys (public API: clients prove them).

use crate::Address;

/// `bank/balances/<bech32>/<denom>`: a balance, as a decimal string.
pub fn balance(address: &Address, denom: &str) -> String {
    format!("bank/balances/{address}/{denom}")
}

/// `bank/balances/<bech32>/`: prefix of an account's balances.
pub fn balances(address: &Address) -> String {
    format!("bank/balances/{address}/")
}

/// `bank/supply/<denom>`: total supply of a denom, as a decimal string.
pub fn supply(denom: &str) -> String {
    format!("bank/supply/{denom}")
}

/// Prefix of every balance.
pub const BALANCES: &str = "bank/balances/";

/// Prefix of every supply entry.
pub const SUPPLY: &str = "bank/supply/";

/// `bank/denom_metadata/<base>`: a denom's metadata (JSON).
pub fn denom_metadata(base: &str) -> String {
    format!("bank/denom_metadata/{base}")
}

/// Prefix of every denom's metadata.
pub const DENOM_METADATA: &str = "bank/denom_metadata/";

/// The bank params.
pub const PARAMS: &str = "bank/params";
