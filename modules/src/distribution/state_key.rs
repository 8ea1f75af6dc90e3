//! distribution's state keys (public API: clients prove them). Operators are
//! `cosmosvaloper1…`, accounts `cosmos1…`; periods and heights are zero-padded to 20 digits
//! so that text order is numeric order.

use crate::Address;

/// The distribution params (JSON).
pub const PARAMS: &str = "distribution/params";

/// The fee pool (JSON `{"community_pool": [...]}`).
pub const FEE_POOL: &str = "distribution/fee_pool";

/// Prefix of every withdraw address.
pub const WITHDRAW_ADDRESSES: &str = "distribution/withdraw_address/";

/// `distribution/withdraw_address/<cosmos…>`: where a delegator's rewards go (text), if not
/// to the delegator.
pub fn withdraw_address(delegator: &Address) -> String {
    format!("{WITHDRAW_ADDRESSES}{delegator}")
}

/// Prefix of every validator's outstanding rewards.
pub const OUTSTANDING: &str = "distribution/outstanding/";

/// `distribution/outstanding/<cosmosvaloper…>`: the rewards not yet paid out (JSON
/// `{"rewards": [...]}`).
pub fn outstanding(validator: &Address) -> String {
    format!("{OUTSTANDING}{}", validator.to_valoper())
}

/// Prefix of every validator's accumulated commission.
pub const COMMISSION: &str = "distribution/commission/";

/// `distribution/commission/<cosmosvaloper…>`: the commission not yet withdrawn (JSON
/// `{"commission": [...]}`).
pub fn commission(validator: &Address) -> String {
    format!("{COMMISSION}{}", validator.to_valoper())
}

/// Prefix of every validator's current rewards.
pub const CURRENT: &str = "distribution/current/";

/// `distribution/current/<cosmosvaloper…>`: the current period and its rewards (JSON
/// `{"rewards": [...], "period": "1"}`).
pub fn current(validator: &Address) -> String {
    format!("{CURRENT}{}", validator.to_valoper())
}

/// Prefix of every historical-rewards record.
pub const HISTORICAL: &str = "distribution/historical/";

/// `distribution/historical/<cosmosvaloper…>/`: prefix of a validator's historical rewards.
pub fn historicals(validator: &Address) -> String {
    format!("{HISTORICAL}{}/", validator.to_valoper())
}

/// `distribution/historical/<cosmosvaloper…>/<period, 20 digits>`: the cumulative reward
/// ratio at the end of a period and its reference count (JSON).
pub fn historical(validator: &Address, period: u64) -> String {
    format!("{}{period:020}", historicals(validator))
}

/// Prefix of every slash event.
pub const SLASH_EVENTS: &str = "distribution/slash_events/";

/// `distribution/slash_events/<cosmosvaloper…>/`: prefix of a validator's slash events.
pub fn slash_events(validator: &Address) -> String {
    format!("{SLASH_EVENTS}{}/", validator.to_valoper())
}

/// `distribution/slash_events/<cosmosvaloper…>/<height, 20 digits>/`: prefix of the slash
/// events at one height.
pub fn slash_events_at(validator: &Address, height: u64) -> String {
    format!("{}{height:020}/", slash_events(validator))
}

/// `distribution/slash_events/<cosmosvaloper…>/<height, 20 digits>/<period, 20 digits>`: a
/// slash event (JSON `{"validator_period", "fraction"}`).
pub fn slash_event(validator: &Address, height: u64, period: u64) -> String {
    format!("{}{period:020}", slash_events_at(validator, height))
}

/// Prefix of every delegation's starting info.
pub const STARTING_INFO: &str = "distribution/starting_info/";

/// `distribution/starting_info/<cosmosvaloper…>/<cosmos…>`: where a delegation's rewards
/// start (JSON `{"previous_period", "stake", "height"}`).
pub fn starting_info(validator: &Address, delegator: &Address) -> String {
    format!("{STARTING_INFO}{}/{delegator}", validator.to_valoper())
}
