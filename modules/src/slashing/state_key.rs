//! slashing's state keys (public API: clients prove them). Consensus addresses are written
//! `cosmosvalcons1…`, as staking's `validators_by_cons` writes them.

use crate::Address;

/// The slashing params (JSON).
pub const PARAMS: &str = "slashing/params";

/// Prefix of every signing info.
pub const SIGNING_INFOS: &str = "slashing/signing_infos/";

/// `slashing/signing_infos/<cosmosvalcons…>`: a validator's signing info (JSON, the LCD
/// shape).
pub fn signing_info(cons: &Address) -> String {
    format!("{SIGNING_INFOS}{}", cons.to_valcons())
}

/// Prefix of every missed-block bitmap.
pub const MISSED: &str = "slashing/missed/";

/// `slashing/missed/<cosmosvalcons…>/`: prefix of one validator's missed-block bitmap.
pub fn missed_blocks(cons: &Address) -> String {
    format!("{MISSED}{}/", cons.to_valcons())
}

/// `slashing/missed/<cosmosvalcons…>/<index, 20 digits>`: present (value `[1]`) when the
/// validator missed the block at that index of its signing window, absent when it signed.
/// Zero-padding makes key order index order.
pub fn missed_block(cons: &Address, index: u64) -> String {
    format!("{}{index:020}", missed_blocks(cons))
}
