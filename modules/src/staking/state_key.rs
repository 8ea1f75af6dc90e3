//! staking's state keys (public API: clients prove them). Account addresses are
//! `cosmos1…`, operator addresses `cosmosvaloper1…`, consensus addresses `cosmosvalcons1…`;
//! where the order of a scan decides what consensus sees (the power index, the last set),
//! addresses are lower-case hex so that text order is byte order.

use crate::{Address, Amount, Result, Timestamp};

/// The staking params (JSON).
pub const PARAMS: &str = "staking/params";

/// Prefix of every validator.
pub const VALIDATORS: &str = "staking/validators/";

/// `staking/validators/<cosmosvaloper…>`: a validator (JSON, the LCD shape).
pub fn validator(operator: &Address) -> String {
    format!("{VALIDATORS}{}", operator.to_valoper())
}

/// `staking/validators_by_cons/<cosmosvalcons…>`: the operator address (text) of the
/// validator with that consensus address.
pub fn validator_by_cons(cons: &Address) -> String {
    format!("staking/validators_by_cons/{}", cons.to_valcons())
}

/// Prefix of the power index.
pub const POWER: &str = "staking/power/";

/// `staking/power/<u128::MAX − power, 39 digits>/<hex operator>`: the operator address (text)
/// of a non-jailed validator. Ascending key order is descending consensus power
/// (tokens / 10^6), ties by ascending operator address bytes: the SDK's order.
pub fn power(power: Amount, operator: &Address) -> String {
    format!("{POWER}{:039}/{}", u128::MAX - power, operator.to_hex())
}

/// Prefix of the last validator set.
pub const LAST_POWER: &str = "staking/last_power/";

/// `staking/last_power/<hex operator>`: the power (decimal) a validator had in the set last
/// returned to consensus.
pub fn last_power(operator: &Address) -> String {
    format!("{LAST_POWER}{}", operator.to_hex())
}

/// The total power of that set (decimal).
pub const LAST_TOTAL_POWER: &str = "staking/last_total_power";

/// The last unbonding id handed out (decimal).
pub const UNBONDING_ID: &str = "staking/unbonding_id";

/// Prefix of every delegation.
pub const DELEGATIONS: &str = "staking/delegations/";

/// `staking/delegations/<delegator>/`: prefix of a delegator's delegations.
pub fn delegations(delegator: &Address) -> String {
    format!("{DELEGATIONS}{delegator}/")
}

/// `staking/delegations/<delegator>/<cosmosvaloper…>`: a delegation (JSON).
pub fn delegation(delegator: &Address, validator: &Address) -> String {
    format!("{}{}", delegations(delegator), validator.to_valoper())
}

/// `staking/delegations_by_validator/<cosmosvaloper…>/`: prefix of the delegations to a
/// validator.
pub fn delegations_by_validator(validator: &Address) -> String {
    format!(
        "staking/delegations_by_validator/{}/",
        validator.to_valoper()
    )
}

/// `staking/delegations_by_validator/<cosmosvaloper…>/<delegator>`: index entry (value `[1]`).
pub fn delegation_by_validator(validator: &Address, delegator: &Address) -> String {
    format!("{}{delegator}", delegations_by_validator(validator))
}

/// `staking/unbonding/<delegator>/`: prefix of a delegator's unbonding delegations.
pub fn unbondings(delegator: &Address) -> String {
    format!("staking/unbonding/{delegator}/")
}

/// `staking/unbonding/<delegator>/<cosmosvaloper…>`: an unbonding delegation (JSON).
pub fn unbonding(delegator: &Address, validator: &Address) -> String {
    format!("{}{}", unbondings(delegator), validator.to_valoper())
}

/// Prefix of every unbonding delegation.
pub const UNBONDING: &str = "staking/unbonding/";

/// `staking/unbonding_by_validator/<cosmosvaloper…>/`: prefix of the unbonding delegations
/// from a validator.
pub fn unbondings_by_validator(validator: &Address) -> String {
    format!("staking/unbonding_by_validator/{}/", validator.to_valoper())
}

/// `staking/unbonding_by_validator/<cosmosvaloper…>/<delegator>`: index entry (value `[1]`).
pub fn unbonding_by_validator(validator: &Address, delegator: &Address) -> String {
    format!("{}{delegator}", unbondings_by_validator(validator))
}

/// `staking/redelegations/<delegator>/`: prefix of a delegator's redelegations.
pub fn redelegations(delegator: &Address) -> String {
    format!("staking/redelegations/{delegator}/")
}

/// `staking/redelegations/<delegator>/<src cosmosvaloper…>/<dst cosmosvaloper…>`: a
/// redelegation (JSON).
pub fn redelegation(delegator: &Address, src: &Address, dst: &Address) -> String {
    format!(
        "{}{}/{}",
        redelegations(delegator),
        src.to_valoper(),
        dst.to_valoper()
    )
}

/// Prefix of every redelegation.
pub const REDELEGATIONS: &str = "staking/redelegations/";

/// `staking/redelegations_by_src/<src>/`: prefix of the redelegations away from a validator.
pub fn redelegations_by_src(src: &Address) -> String {
    format!("staking/redelegations_by_src/{}/", src.to_valoper())
}

/// `staking/redelegations_by_src/<src>/<delegator>/<dst>`: index entry (value `[1]`).
pub fn redelegation_by_src(src: &Address, delegator: &Address, dst: &Address) -> String {
    format!(
        "{}{delegator}/{}",
        redelegations_by_src(src),
        dst.to_valoper()
    )
}

/// `staking/redelegations_by_dst/<dst>/<delegator>/`: prefix of a delegator's redelegations
/// into a validator (what makes a redelegation from it transitive).
pub fn redelegations_by_dst(dst: &Address, delegator: &Address) -> String {
    format!(
        "staking/redelegations_by_dst/{}/{delegator}/",
        dst.to_valoper()
    )
}

/// `staking/redelegations_by_dst/<dst>/<delegator>/<src>`: index entry (value `[1]`).
pub fn redelegation_by_dst(dst: &Address, delegator: &Address, src: &Address) -> String {
    format!(
        "{}{}",
        redelegations_by_dst(dst, delegator),
        src.to_valoper()
    )
}

/// Prefix of the unbonding-validator queue.
pub const VALIDATOR_QUEUE: &str = "staking/validator_queue/";

/// `staking/validator_queue/<time>/<height, 20 digits>`: the operators (JSON list) whose
/// unbonding ends at that time and height. `<time>` is
/// [`Timestamp::to_key_string`], so key order is time order.
pub fn validator_queue(time: &Timestamp, height: u64) -> Result<String> {
    Ok(format!(
        "{VALIDATOR_QUEUE}{}/{height:020}",
        time.to_key_string()?
    ))
}

/// Prefix of the unbonding-delegation queue.
pub const UNBONDING_QUEUE: &str = "staking/unbonding_queue/";

/// `staking/unbonding_queue/<time>`: the (delegator, validator) pairs (JSON list) with an
/// entry completing then.
pub fn unbonding_queue(time: &Timestamp) -> Result<String> {
    Ok(format!("{UNBONDING_QUEUE}{}", time.to_key_string()?))
}

/// Prefix of the redelegation queue.
pub const REDELEGATION_QUEUE: &str = "staking/redelegation_queue/";

/// `staking/redelegation_queue/<time>`: the (delegator, source, destination) triplets (JSON
/// list) with an entry completing then.
pub fn redelegation_queue(time: &Timestamp) -> Result<String> {
    Ok(format!("{REDELEGATION_QUEUE}{}", time.to_key_string()?))
}
