//! Reading and writing staking's records and indexes, the pools, and the SDK keeper's core
//! operations (`Delegate`, `Unbond`, `Undelegate`, `BeginRedelegation`, `Complete*`)
//! following `x/staking/keeper/{delegation,validator,val_state_change}.go` of v0.50.

use super::state_key as key;
use super::types::{
    BondStatus, Delegation, Params, Redelegation, RedelegationEntry, UnbondingDelegation, Validator,
};
use super::{Hooks, StakingError};
use crate::state::{get_json, get_string, put_json, State};
use crate::Timestamp;
use crate::{auth, bank, Address, Amount, BlockCtx, Coin, Coins, Dec, ModuleError, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The module account holding the tokens of bonded validators.
pub const BONDED_POOL: &str = "bonded_tokens_pool";

/// The module account holding the tokens of unbonded and unbonding validators and of
/// unbonding delegations.
pub const NOT_BONDED_POOL: &str = "not_bonded_tokens_pool";

fn corrupt(key: &str, e: impl std::fmt::Display) -> ModuleError {
    ModuleError::Corrupt {
        key: key.into(),
        reason: e.to_string(),
    }
}

/// A broken invariant: the SDK panics here.
pub(crate) fn invariant(msg: impl Into<String>) -> ModuleError {
    ModuleError::Internal(msg.into())
}

fn read_u128(state: &(impl State + ?Sized), key: &str) -> Result<Option<u128>> {
    match get_string(state, key)? {
        None => Ok(None),
        Some(s) => s.parse().map(Some).map_err(|e| corrupt(key, e)),
    }
}

/// The suffix of `key` after `prefix`, as text.
fn suffix<'a>(key: &'a [u8], prefix: &str) -> Result<&'a str> {
    std::str::from_utf8(&key[prefix.len()..]).map_err(|_| corrupt(prefix, "key not UTF-8"))
}

// ---------------------------------------------------------------------------- params

/// The staking params (the SDK's defaults if never set).
pub fn params(state: &(impl State + ?Sized)) -> Result<Params> {
    Ok(get_json(state, key::PARAMS)?.unwrap_or_default())
}

/// Store the staking params, after checking them.
pub fn set_params(state: &mut (impl State + ?Sized), p: &Params) -> Result<()> {
    p.validate()?;
    put_json(state, key::PARAMS, p)
}

// ---------------------------------------------------------------------------- validators

/// The validator operated by `operator`.
pub fn validator(state: &(impl State + ?Sized), operator: &Address) -> Result<Option<Validator>> {
    get_json(state, &key::validator(operator))
}

pub(crate) fn must_validator(
    state: &(impl State + ?Sized),
    operator: &Address,
) -> Result<Validator> {
    validator(state, operator)?.ok_or_else(|| StakingError::NoValidatorFound.into())
}

/// The validator whose consensus address (`sha256(key)[..20]`) is `cons`.
pub fn validator_by_cons(
    state: &(impl State + ?Sized),
    cons: &Address,
) -> Result<Option<Validator>> {
    let k = key::validator_by_cons(cons);
    match get_string(state, &k)? {
        None => Ok(None),
        Some(op) => validator(
            state,
            &Address::from_valoper(&op).map_err(|e| corrupt(&k, e))?,
        ),
    }
}

/// Every validator, by operator address bytes.
pub fn validators(state: &(impl State + ?Sized)) -> Result<Vec<Validator>> {
    let mut out = Vec::new();
    for (k, v) in state.prefix(key::VALIDATORS.as_bytes())? {
        let k = String::from_utf8_lossy(&k).into_owned();
        out.push(serde_json::from_slice::<Validator>(&v).map_err(|e| corrupt(&k, e))?);
    }
    out.sort_by_key(|v| v.operator);
    Ok(out)
}

/// The operators in the power index, highest power first (ties: lower address first).
pub(crate) fn power_index(state: &(impl State + ?Sized)) -> Result<Vec<Address>> {
    state
        .prefix(key::POWER.as_bytes())?
        .into_iter()
        .map(|(k, v)| {
            let text = String::from_utf8_lossy(&v).into_owned();
            Address::from_valoper(&text).map_err(|e| corrupt(&String::from_utf8_lossy(&k), e))
        })
        .collect()
}

/// The bonded validators, highest power first, at most `max_validators`
/// (`GetBondedValidatorsByPower`).
pub fn bonded_validators_by_power(state: &(impl State + ?Sized)) -> Result<Vec<Validator>> {
    let max = params(state)?.max_validators as usize;
    let mut out = Vec::new();
    for op in power_index(state)? {
        if out.len() >= max {
            break;
        }
        let v = must_validator(state, &op)?;
        if v.is_bonded() {
            out.push(v);
        }
    }
    Ok(out)
}

pub(crate) fn set_validator(state: &mut dyn State, v: &Validator) -> Result<()> {
    put_json(state, &key::validator(&v.operator), v)
}

pub(crate) fn set_validator_by_cons(state: &mut dyn State, v: &Validator) {
    state.put(
        key::validator_by_cons(&v.cons_address()).into_bytes(),
        v.operator.to_valoper().into_bytes(),
    );
}

/// Index a validator by power, unless jailed (`SetValidatorByPowerIndex`).
pub(crate) fn set_power_index(state: &mut dyn State, v: &Validator) {
    if !v.jailed {
        set_new_power_index(state, v);
    }
}

/// Index a validator by power (`SetNewValidatorByPowerIndex`).
pub(crate) fn set_new_power_index(state: &mut dyn State, v: &Validator) {
    state.put(
        key::power(v.potential_consensus_power(), &v.operator).into_bytes(),
        v.operator.to_valoper().into_bytes(),
    );
}

pub(crate) fn delete_power_index(state: &mut dyn State, v: &Validator) {
    state.delete(key::power(v.potential_consensus_power(), &v.operator).as_bytes());
}

/// `AddValidatorTokensAndShares`: the power key moves with the tokens.
fn add_validator_tokens_and_shares(
    state: &mut dyn State,
    mut v: Validator,
    amount: Amount,
) -> Result<(Validator, Dec)> {
    delete_power_index(state, &v);
    let shares = v.add_tokens_from_del(amount)?;
    set_validator(state, &v)?;
    set_power_index(state, &v);
    Ok((v, shares))
}

/// `RemoveValidatorTokensAndShares`.
fn remove_validator_tokens_and_shares(
    state: &mut dyn State,
    mut v: Validator,
    shares: Dec,
) -> Result<(Validator, Amount)> {
    delete_power_index(state, &v);
    let tokens = v.remove_del_shares(shares)?;
    set_validator(state, &v)?;
    set_power_index(state, &v);
    Ok((v, tokens))
}

/// `RemoveValidatorTokens` (a slash).
pub(crate) fn remove_validator_tokens(
    state: &mut dyn State,
    mut v: Validator,
    amount: Amount,
) -> Result<Validator> {
    delete_power_index(state, &v);
    v.remove_tokens(amount)?;
    set_validator(state, &v)?;
    set_power_index(state, &v);
    Ok(v)
}

/// `RemoveValidator`: only an unbonded validator without tokens goes.
pub(crate) fn remove_validator(
    state: &mut dyn State,
    hooks: &dyn Hooks,
    op: &Address,
) -> Result<()> {
    let Some(v) = validator(state, op)? else {
        return Ok(());
    };
    if !v.is_unbonded() {
        return Err(StakingError::BadRemoveValidator
            .wrap("cannot call RemoveValidator on bonded or unbonding validators"));
    }
    if v.tokens > 0 {
        return Err(StakingError::BadRemoveValidator
            .wrap("attempting to remove a validator which still contains tokens"));
    }
    let cons = v.cons_address();
    state.delete(key::validator(op).as_bytes());
    state.delete(key::validator_by_cons(&cons).as_bytes());
    delete_power_index(state, &v);
    // The SDK only logs a failing AfterValidatorRemoved hook.
    let _ = hooks.after_validator_removed(state, &cons, op);
    Ok(())
}

/// `jailValidator`: out of the power index.
pub(crate) fn jail_validator(state: &mut dyn State, mut v: Validator) -> Result<Validator> {
    if v.jailed {
        return Err(StakingError::ValidatorJailed.wrap(format!(
            "cannot jail already jailed validator, validator: {}",
            v.operator.to_valoper()
        )));
    }
    v.jailed = true;
    set_validator(state, &v)?;
    delete_power_index(state, &v);
    Ok(v)
}

/// `unjailValidator`: back in the power index.
pub(crate) fn unjail_validator(state: &mut dyn State, mut v: Validator) -> Result<Validator> {
    if !v.jailed {
        return Err(invariant(format!(
            "cannot unjail already unjailed validator, validator: {}",
            v.operator.to_valoper()
        )));
    }
    v.jailed = false;
    set_validator(state, &v)?;
    set_power_index(state, &v);
    Ok(v)
}

// ---------------------------------------------------------------------------- last set

/// The power `operator` had in the set last returned to consensus (0 if not in it).
pub fn last_validator_power(state: &(impl State + ?Sized), operator: &Address) -> Result<i64> {
    let k = key::last_power(operator);
    match get_string(state, &k)? {
        None => Ok(0),
        Some(s) => s.parse().map_err(|e| corrupt(&k, e)),
    }
}

pub(crate) fn set_last_validator_power(state: &mut dyn State, op: &Address, power: i64) {
    state.put(
        key::last_power(op).into_bytes(),
        power.to_string().into_bytes(),
    );
}

pub(crate) fn delete_last_validator_power(state: &mut dyn State, op: &Address) {
    state.delete(key::last_power(op).as_bytes());
}

/// The last set: operator → power, in operator byte order.
pub(crate) fn last_validators(state: &(impl State + ?Sized)) -> Result<BTreeMap<Address, i64>> {
    let mut out = BTreeMap::new();
    for (k, v) in state.prefix(key::LAST_POWER.as_bytes())? {
        let text = String::from_utf8_lossy(&k).into_owned();
        let hex = suffix(&k, key::LAST_POWER)?;
        let op = parse_hex_address(hex).ok_or_else(|| corrupt(&text, "not a hex address"))?;
        let power = std::str::from_utf8(&v)
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| corrupt(&text, "not a power"))?;
        out.insert(op, power);
    }
    Ok(out)
}

fn parse_hex_address(hex: &str) -> Option<Address> {
    if hex.len() != 40 {
        return None;
    }
    let mut a = [0u8; 20];
    for (i, b) in a.iter_mut().enumerate() {
        *b = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(Address(a))
}

/// The total power of the last set.
pub fn last_total_power(state: &(impl State + ?Sized)) -> Result<i64> {
    match get_string(state, key::LAST_TOTAL_POWER)? {
        None => Ok(0),
        Some(s) => s.parse().map_err(|e| corrupt(key::LAST_TOTAL_POWER, e)),
    }
}

pub(crate) fn set_last_total_power(state: &mut dyn State, power: i64) {
    state.put(
        key::LAST_TOTAL_POWER.as_bytes().to_vec(),
        power.to_string().into_bytes(),
    );
}

/// The next unbonding id (`IncrementUnbondingID`: the first is 1).
pub(crate) fn next_unbonding_id(state: &mut dyn State) -> Result<u64> {
    let last = read_u128(state, key::UNBONDING_ID)?.unwrap_or(0);
    let id = u64::try_from(last + 1).map_err(|_| invariant("unbonding ids exhausted"))?;
    state.put(
        key::UNBONDING_ID.as_bytes().to_vec(),
        id.to_string().into_bytes(),
    );
    Ok(id)
}

// ---------------------------------------------------------------------------- delegations

/// The delegation of `delegator` to `validator`.
pub fn delegation(
    state: &(impl State + ?Sized),
    delegator: &Address,
    validator: &Address,
) -> Result<Option<Delegation>> {
    get_json(state, &key::delegation(delegator, validator))
}

fn scan<T: serde::de::DeserializeOwned>(
    state: &(impl State + ?Sized),
    prefix: &str,
) -> Result<Vec<T>> {
    crate::state::scan_json(state, prefix)
}

/// The delegations of `delegator`.
pub fn delegations_of(
    state: &(impl State + ?Sized),
    delegator: &Address,
) -> Result<Vec<Delegation>> {
    scan(state, &key::delegations(delegator))
}

/// The delegations to `validator`.
pub fn delegations_to(
    state: &(impl State + ?Sized),
    validator: &Address,
) -> Result<Vec<Delegation>> {
    let prefix = key::delegations_by_validator(validator);
    let mut out = Vec::new();
    for (k, _) in state.prefix(prefix.as_bytes())? {
        let del: Address = suffix(&k, &prefix)?.parse()?;
        out.push(
            delegation(state, &del, validator)?
                .ok_or_else(|| corrupt(&prefix, "index without its delegation"))?,
        );
    }
    Ok(out)
}

pub(crate) fn set_delegation(state: &mut dyn State, d: &Delegation) -> Result<()> {
    put_json(state, &key::delegation(&d.delegator, &d.validator), d)?;
    state.put(
        key::delegation_by_validator(&d.validator, &d.delegator).into_bytes(),
        crate::state::PRESENT.to_vec(),
    );
    Ok(())
}

pub(crate) fn remove_delegation(
    state: &mut dyn State,
    hooks: &dyn Hooks,
    d: &Delegation,
) -> Result<()> {
    hooks.before_delegation_removed(state, &d.delegator, &d.validator)?;
    state.delete(key::delegation(&d.delegator, &d.validator).as_bytes());
    state.delete(key::delegation_by_validator(&d.validator, &d.delegator).as_bytes());
    Ok(())
}

// ---------------------------------------------------------------------------- unbonding

/// The unbonding delegation of `delegator` from `validator`.
pub fn unbonding_delegation(
    state: &(impl State + ?Sized),
    delegator: &Address,
    validator: &Address,
) -> Result<Option<UnbondingDelegation>> {
    get_json(state, &key::unbonding(delegator, validator))
}

/// The unbonding delegations of `delegator`.
pub fn unbonding_delegations_of(
    state: &(impl State + ?Sized),
    delegator: &Address,
) -> Result<Vec<UnbondingDelegation>> {
    scan(state, &key::unbondings(delegator))
}

/// Every unbonding delegation.
pub fn all_unbonding_delegations(
    state: &(impl State + ?Sized),
) -> Result<Vec<UnbondingDelegation>> {
    scan(state, key::UNBONDING)
}

/// Every delegation.
pub fn all_delegations(state: &(impl State + ?Sized)) -> Result<Vec<Delegation>> {
    scan(state, key::DELEGATIONS)
}

/// The unbonding delegations from `validator`.
pub fn unbonding_delegations_from(
    state: &(impl State + ?Sized),
    validator: &Address,
) -> Result<Vec<UnbondingDelegation>> {
    let prefix = key::unbondings_by_validator(validator);
    let mut out = Vec::new();
    for (k, _) in state.prefix(prefix.as_bytes())? {
        let del: Address = suffix(&k, &prefix)?.parse()?;
        out.push(
            unbonding_delegation(state, &del, validator)?
                .ok_or_else(|| corrupt(&prefix, "index without its unbonding delegation"))?,
        );
    }
    Ok(out)
}

pub(crate) fn set_unbonding_delegation(
    state: &mut dyn State,
    u: &UnbondingDelegation,
) -> Result<()> {
    put_json(state, &key::unbonding(&u.delegator, &u.validator), u)?;
    state.put(
        key::unbonding_by_validator(&u.validator, &u.delegator).into_bytes(),
        crate::state::PRESENT.to_vec(),
    );
    Ok(())
}

pub(crate) fn remove_unbonding_delegation(state: &mut dyn State, u: &UnbondingDelegation) {
    state.delete(key::unbonding(&u.delegator, &u.validator).as_bytes());
    state.delete(key::unbonding_by_validator(&u.validator, &u.delegator).as_bytes());
}

/// Store an unbonding delegation or its emptiness.
pub(crate) fn save_unbonding_delegation(
    state: &mut dyn State,
    u: &UnbondingDelegation,
) -> Result<()> {
    if u.entries.is_empty() {
        remove_unbonding_delegation(state, u);
        Ok(())
    } else {
        set_unbonding_delegation(state, u)
    }
}

/// `SetUnbondingDelegationEntry`: a new id is taken even when the entry merges into one of
/// the same height and completion time.
fn set_unbonding_delegation_entry(
    state: &mut dyn State,
    del: &Address,
    val: &Address,
    height: u64,
    completion: Timestamp,
    balance: Amount,
) -> Result<UnbondingDelegation> {
    let id = next_unbonding_id(state)?;
    let mut ubd = unbonding_delegation(state, del, val)?.unwrap_or(UnbondingDelegation {
        delegator: *del,
        validator: *val,
        entries: Vec::new(),
    });
    ubd.add_entry(height, completion, balance, id)?;
    set_unbonding_delegation(state, &ubd)?;
    Ok(ubd)
}

// ---------------------------------------------------------------------------- redelegations

/// The redelegation of `delegator` from `src` to `dst`.
pub fn redelegation(
    state: &(impl State + ?Sized),
    delegator: &Address,
    src: &Address,
    dst: &Address,
) -> Result<Option<Redelegation>> {
    get_json(state, &key::redelegation(delegator, src, dst))
}

/// The redelegations of `delegator`.
pub fn redelegations_of(
    state: &(impl State + ?Sized),
    delegator: &Address,
) -> Result<Vec<Redelegation>> {
    scan(state, &key::redelegations(delegator))
}

/// Every redelegation.
pub fn all_redelegations(state: &(impl State + ?Sized)) -> Result<Vec<Redelegation>> {
    scan(state, key::REDELEGATIONS)
}

/// The redelegations away from `src`.
pub fn redelegations_from(
    state: &(impl State + ?Sized),
    src: &Address,
) -> Result<Vec<Redelegation>> {
    let prefix = key::redelegations_by_src(src);
    let mut out = Vec::new();
    for (k, _) in state.prefix(prefix.as_bytes())? {
        let rest = suffix(&k, &prefix)?;
        let (del, dst) = rest
            .split_once('/')
            .ok_or_else(|| corrupt(&prefix, "malformed index key"))?;
        let (del, dst): (Address, Address) = (del.parse()?, Address::from_valoper(dst)?);
        out.push(
            redelegation(state, &del, src, &dst)?
                .ok_or_else(|| corrupt(&prefix, "index without its redelegation"))?,
        );
    }
    Ok(out)
}

/// Is `delegator` redelegating into `dst` (so that redelegating away from it would be
/// transitive)?
fn has_receiving_redelegation(
    state: &(impl State + ?Sized),
    delegator: &Address,
    dst: &Address,
) -> Result<bool> {
    Ok(!state
        .prefix(key::redelegations_by_dst(dst, delegator).as_bytes())?
        .is_empty())
}

pub(crate) fn set_redelegation(state: &mut dyn State, r: &Redelegation) -> Result<()> {
    put_json(state, &key::redelegation(&r.delegator, &r.src, &r.dst), r)?;
    state.put(
        key::redelegation_by_src(&r.src, &r.delegator, &r.dst).into_bytes(),
        crate::state::PRESENT.to_vec(),
    );
    state.put(
        key::redelegation_by_dst(&r.dst, &r.delegator, &r.src).into_bytes(),
        crate::state::PRESENT.to_vec(),
    );
    Ok(())
}

pub(crate) fn remove_redelegation(state: &mut dyn State, r: &Redelegation) {
    state.delete(key::redelegation(&r.delegator, &r.src, &r.dst).as_bytes());
    state.delete(key::redelegation_by_src(&r.src, &r.delegator, &r.dst).as_bytes());
    state.delete(key::redelegation_by_dst(&r.dst, &r.delegator, &r.src).as_bytes());
}

/// `SetRedelegationEntry`: redelegation entries are appended, never merged.
#[allow(clippy::too_many_arguments)] // the SDK's signature
fn set_redelegation_entry(
    state: &mut dyn State,
    del: &Address,
    src: &Address,
    dst: &Address,
    height: u64,
    completion: Timestamp,
    balance: Amount,
    shares_dst: Dec,
) -> Result<Redelegation> {
    let id = next_unbonding_id(state)?;
    let mut red = redelegation(state, del, src, dst)?.unwrap_or(Redelegation {
        delegator: *del,
        src: *src,
        dst: *dst,
        entries: Vec::new(),
    });
    red.entries.push(RedelegationEntry {
        creation_height: height,
        completion_time: completion,
        initial_balance: balance,
        shares_dst,
        unbonding_id: id,
        unbonding_on_hold_ref_count: 0,
    });
    set_redelegation(state, &red)?;
    Ok(red)
}

// ---------------------------------------------------------------------------- queues

/// A (delegator, validator) pair in the unbonding queue.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct DvPair {
    #[serde(with = "crate::serde_util::text")]
    pub(crate) delegator_address: Address,
    #[serde(with = "crate::serde_util::valoper")]
    pub(crate) validator_address: Address,
}

/// A (delegator, source, destination) triplet in the redelegation queue.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct DvvTriplet {
    #[serde(with = "crate::serde_util::text")]
    pub(crate) delegator_address: Address,
    #[serde(with = "crate::serde_util::valoper")]
    pub(crate) validator_src_address: Address,
    #[serde(with = "crate::serde_util::valoper")]
    pub(crate) validator_dst_address: Address,
}

fn push_queue<T: Serialize + serde::de::DeserializeOwned>(
    state: &mut dyn State,
    k: &str,
    item: T,
) -> Result<()> {
    let mut list: Vec<T> = get_json(state, k)?.unwrap_or_default();
    list.push(item);
    put_json(state, k, &list)
}

/// Take every queue slice at or before `now` (whose key is at most `end`), in time order.
fn dequeue_until<T: serde::de::DeserializeOwned>(
    state: &mut dyn State,
    prefix: &str,
    end: &str,
) -> Result<Vec<T>> {
    let mut out = Vec::new();
    for (k, v) in state.prefix(prefix.as_bytes())? {
        if k.as_slice() > end.as_bytes() {
            break;
        }
        let text = String::from_utf8_lossy(&k).into_owned();
        let list: Vec<T> = serde_json::from_slice(&v).map_err(|e| corrupt(&text, e))?;
        out.extend(list);
        state.delete(&k);
    }
    Ok(out)
}

pub(crate) fn insert_ubd_queue(
    state: &mut dyn State,
    del: &Address,
    val: &Address,
    t: &Timestamp,
) -> Result<()> {
    let pair = DvPair {
        delegator_address: *del,
        validator_address: *val,
    };
    push_queue(state, &key::unbonding_queue(t)?, pair)
}

pub(crate) fn dequeue_mature_ubds(state: &mut dyn State, now: &Timestamp) -> Result<Vec<DvPair>> {
    dequeue_until(state, key::UNBONDING_QUEUE, &key::unbonding_queue(now)?)
}

pub(crate) fn insert_redelegation_queue(
    state: &mut dyn State,
    r: &Redelegation,
    t: &Timestamp,
) -> Result<()> {
    let triplet = DvvTriplet {
        delegator_address: r.delegator,
        validator_src_address: r.src,
        validator_dst_address: r.dst,
    };
    push_queue(state, &key::redelegation_queue(t)?, triplet)
}

pub(crate) fn dequeue_mature_redelegations(
    state: &mut dyn State,
    now: &Timestamp,
) -> Result<Vec<DvvTriplet>> {
    dequeue_until(
        state,
        key::REDELEGATION_QUEUE,
        &key::redelegation_queue(now)?,
    )
}

pub(crate) fn insert_validator_queue(state: &mut dyn State, v: &Validator) -> Result<()> {
    let k = key::validator_queue(&v.unbonding_time, v.unbonding_height)?;
    push_queue(state, &k, v.operator.to_valoper())
}

/// Take `v` out of the queue slice of its unbonding time and height, if there.
pub(crate) fn delete_validator_queue(state: &mut dyn State, v: &Validator) -> Result<()> {
    let k = key::validator_queue(&v.unbonding_time, v.unbonding_height)?;
    let Some(list) = get_json::<Vec<String>>(state, &k)? else {
        return Ok(());
    };
    let op = v.operator.to_valoper();
    let rest: Vec<String> = list.into_iter().filter(|a| *a != op).collect();
    if rest.is_empty() {
        state.delete(k.as_bytes());
        Ok(())
    } else {
        put_json(state, &k, &rest)
    }
}

/// The validator-queue slices up to (`now`, `height`) in key order: (time, height, operators).
pub(crate) fn validator_queue_until(
    state: &(impl State + ?Sized),
    now: &Timestamp,
    height: u64,
) -> Result<Vec<(Timestamp, u64, Vec<Address>)>> {
    let end = key::validator_queue(now, height)?;
    let mut out = Vec::new();
    for (k, v) in state.prefix(key::VALIDATOR_QUEUE.as_bytes())? {
        if k.as_slice() > end.as_bytes() {
            break;
        }
        let text = String::from_utf8_lossy(&k).into_owned();
        let rest = suffix(&k, key::VALIDATOR_QUEUE)?;
        let (time, h) = rest
            .rsplit_once('/')
            .ok_or_else(|| corrupt(&text, "malformed queue key"))?;
        let time = Timestamp::parse(time).map_err(|e| corrupt(&text, e))?;
        let h: u64 = h.parse().map_err(|e| corrupt(&text, e))?;
        let list: Vec<String> = serde_json::from_slice(&v).map_err(|e| corrupt(&text, e))?;
        let ops = list
            .iter()
            .map(|a| Address::from_valoper(a))
            .collect::<Result<Vec<_>>>()?;
        out.push((time, h, ops));
    }
    Ok(out)
}

// ---------------------------------------------------------------------------- pools

/// The pools' balances of the bond denom: `(not_bonded, bonded)`.
pub fn pool(state: &(impl State + ?Sized)) -> Result<(Amount, Amount)> {
    let denom = params(state)?.bond_denom;
    Ok((
        bank::balance(state, &Address::module(NOT_BONDED_POOL), &denom)?,
        bank::balance(state, &Address::module(BONDED_POOL), &denom)?,
    ))
}

/// Create the two pool module accounts if missing.
pub(crate) fn ensure_pools(state: &mut dyn State) -> Result<()> {
    auth::ensure_module_account(state, BONDED_POOL)?;
    auth::ensure_module_account(state, NOT_BONDED_POOL)?;
    Ok(())
}

/// `amount` of the bond denom as coins; `None` for zero (nothing to move).
pub(crate) fn bond_coins(state: &(impl State + ?Sized), amount: Amount) -> Result<Option<Coins>> {
    if amount == 0 {
        return Ok(None);
    }
    let denom = params(state)?.bond_denom;
    Coins::from_list(vec![Coin { denom, amount }]).map(Some)
}

fn move_between_pools(state: &mut dyn State, from: &str, to: &str, amount: Amount) -> Result<()> {
    let Some(coins) = bond_coins(state, amount)? else {
        return Ok(());
    };
    ensure_pools(state)?;
    bank::move_coins(state, &Address::module(from), &Address::module(to), &coins)
}

/// `bondedTokensToNotBonded`.
pub(crate) fn bonded_to_not_bonded(state: &mut dyn State, amount: Amount) -> Result<()> {
    move_between_pools(state, BONDED_POOL, NOT_BONDED_POOL, amount)
}

/// `notBondedTokensToBonded`.
pub(crate) fn not_bonded_to_bonded(state: &mut dyn State, amount: Amount) -> Result<()> {
    move_between_pools(state, NOT_BONDED_POOL, BONDED_POOL, amount)
}

/// Burn from a pool (`burnBondedTokens` / `burnNotBondedTokens`).
pub(crate) fn burn_from_pool(state: &mut dyn State, pool: &str, amount: Amount) -> Result<()> {
    let Some(coins) = bond_coins(state, amount)? else {
        return Ok(());
    };
    bank::burn(state, &Address::module(pool), &coins)
}

// ---------------------------------------------------------------------------- state changes

/// `bondValidator`: unbonded or unbonding → bonded, out of the validator queue.
pub(crate) fn bond_validator(
    state: &mut dyn State,
    hooks: &dyn Hooks,
    mut v: Validator,
) -> Result<Validator> {
    delete_power_index(state, &v);
    v.status = BondStatus::Bonded;
    set_validator(state, &v)?;
    set_power_index(state, &v);
    delete_validator_queue(state, &v)?;
    hooks.after_validator_bonded(state, &v.cons_address(), &v.operator)?;
    Ok(v)
}

/// `BeginUnbondingValidator`: bonded → unbonding until now + the unbonding time.
pub(crate) fn begin_unbonding_validator(
    state: &mut dyn State,
    ctx: &BlockCtx,
    hooks: &dyn Hooks,
    mut v: Validator,
) -> Result<Validator> {
    let p = params(state)?;
    delete_power_index(state, &v);
    if !v.is_bonded() {
        return Err(invariant(format!(
            "should not already be unbonded or unbonding, validator: {}",
            v.operator.to_valoper()
        )));
    }
    let id = next_unbonding_id(state)?;
    v.status = BondStatus::Unbonding;
    v.unbonding_time = completion_after(ctx, &p)?;
    v.unbonding_height = ctx.height;
    v.unbonding_ids.push(id);
    set_validator(state, &v)?;
    set_power_index(state, &v);
    insert_validator_queue(state, &v)?;
    hooks.after_validator_begin_unbonding(state, &v.cons_address(), &v.operator)?;
    Ok(v)
}

/// Block time + the unbonding time.
pub(crate) fn completion_after(ctx: &BlockCtx, p: &Params) -> Result<Timestamp> {
    let secs = i64::try_from(p.unbonding_time)
        .map_err(|_| ModuleError::Math("unbonding time overflows".into()))?;
    ctx.time
        .checked_add_secs(secs)
        .ok_or_else(|| ModuleError::Math("completion time is past year 9999".into()))
}

// ---------------------------------------------------------------------------- delegation ops

/// `Delegate`: add `amount` to `validator` for `del`, moving tokens as the source requires:
/// from the delegator's account (`subtract_account`) into the validator's pool, or between
/// pools when the tokens were already staked elsewhere (`token_src`). Returns the new shares.
pub(crate) fn delegate(
    state: &mut dyn State,
    hooks: &dyn Hooks,
    del: &Address,
    amount: Amount,
    token_src: BondStatus,
    validator: &Validator,
    subtract_account: bool,
) -> Result<Dec> {
    if validator.invalid_ex_rate() {
        return Err(StakingError::DelegatorShareExRateInvalid.into());
    }
    let op = validator.operator;
    let mut d = match delegation(state, del, &op)? {
        Some(d) => {
            hooks.before_delegation_shares_modified(state, del, &op)?;
            d
        }
        None => {
            hooks.before_delegation_created(state, del, &op)?;
            Delegation {
                delegator: *del,
                validator: op,
                shares: Dec::zero(),
            }
        }
    };
    if subtract_account {
        if token_src == BondStatus::Bonded {
            return Err(invariant("delegation token source cannot be bonded"));
        }
        let pool = if validator.is_bonded() {
            BONDED_POOL
        } else {
            NOT_BONDED_POOL
        };
        if let Some(coins) = bond_coins(state, amount)? {
            ensure_pools(state)?;
            bank::delegate_coins(state, del, &Address::module(pool), &coins)?;
        }
    } else {
        match (token_src, validator.is_bonded()) {
            (BondStatus::Bonded, true) => {}
            (BondStatus::Unbonded | BondStatus::Unbonding, false) => {}
            (BondStatus::Unbonded | BondStatus::Unbonding, true) => {
                not_bonded_to_bonded(state, amount)?
            }
            (BondStatus::Bonded, false) => bonded_to_not_bonded(state, amount)?,
        }
    }
    let (_, new_shares) = add_validator_tokens_and_shares(state, validator.clone(), amount)?;
    d.shares = d.shares.add(new_shares)?;
    set_delegation(state, &d)?;
    hooks.after_delegation_modified(state, del, &op)?;
    Ok(new_shares)
}

/// `Unbond`: take `shares` out of a delegation and the validator, returning their tokens
/// (still in the validator's pool). Jails an operator whose self-delegation falls below its
/// minimum; removes an emptied delegation and an unbonded validator left without shares.
pub(crate) fn unbond(
    state: &mut dyn State,
    hooks: &dyn Hooks,
    del: &Address,
    op: &Address,
    shares: Dec,
) -> Result<Amount> {
    let mut d = delegation(state, del, op)?.ok_or(StakingError::NoDelegatorForAddress)?;
    hooks.before_delegation_shares_modified(state, del, op)?;
    if d.shares < shares {
        return Err(StakingError::NotEnoughDelegationShares.wrap(d.shares.to_string()));
    }
    let mut v = must_validator(state, op)?;
    d.shares = d.shares.sub(shares)?;
    // The operator's account and its validator share their bytes.
    if del == op
        && !v.jailed
        && v.tokens_from_shares(d.shares)?.truncate_int()? < v.min_self_delegation
    {
        v = jail_validator(state, v)?;
    }
    if d.shares.is_zero() {
        remove_delegation(state, hooks, &d)?;
    } else {
        set_delegation(state, &d)?;
        hooks.after_delegation_modified(state, del, op)?;
    }
    let (v, amount) = remove_validator_tokens_and_shares(state, v, shares)?;
    if v.delegator_shares.is_zero() && v.is_unbonded() {
        // An unbonding or bonded validator goes when it finishes unbonding (EndBlock).
        remove_validator(state, hooks, op)?;
    }
    Ok(amount)
}

/// `ValidateUnbondAmount`: the shares worth `amount` tokens, capped at the delegation's
/// shares so that rounding never prevents a full withdrawal; an error if even the truncated
/// share count exceeds the delegation.
pub fn validate_unbond_amount(
    state: &(impl State + ?Sized),
    del: &Address,
    op: &Address,
    amount: Amount,
) -> Result<Dec> {
    let v = must_validator(state, op)?;
    let d = delegation(state, del, op)?.ok_or(StakingError::NoDelegation)?;
    let shares = v.shares_from_tokens(amount)?;
    let truncated = v.shares_from_tokens_truncated(amount)?;
    if truncated > d.shares {
        return Err(ModuleError::InvalidRequest("invalid shares amount".into()));
    }
    Ok(shares.min(d.shares))
}

/// `Undelegate`: unbond `shares` into an unbonding entry completing after the unbonding
/// time. Returns (completion time, tokens).
pub(crate) fn undelegate(
    state: &mut dyn State,
    ctx: &BlockCtx,
    hooks: &dyn Hooks,
    del: &Address,
    op: &Address,
    shares: Dec,
) -> Result<(Timestamp, Amount)> {
    let v = must_validator(state, op)?;
    let p = params(state)?;
    let entries = unbonding_delegation(state, del, op)?.map_or(0, |u| u.entries.len());
    if entries >= p.max_entries as usize {
        return Err(StakingError::MaxUnbondingDelegationEntries.into());
    }
    let amount = unbond(state, hooks, del, op, shares)?;
    if v.is_bonded() {
        bonded_to_not_bonded(state, amount)?;
    }
    let completion = completion_after(ctx, &p)?;
    set_unbonding_delegation_entry(state, del, op, ctx.height, completion, amount)?;
    insert_ubd_queue(state, del, op, &completion)?;
    Ok((completion, amount))
}

/// `getBeginInfo`: when a redelegation away from `src` completes, at what height it counts
/// as created, and whether it completes at once (the source is unbonded).
fn begin_info(
    state: &(impl State + ?Sized),
    ctx: &BlockCtx,
    src: &Address,
) -> Result<(Timestamp, u64, bool)> {
    // The SDK returns the lookup error here, even for a source removed by the unbond.
    let v = must_validator(state, src)?;
    match v.status {
        BondStatus::Bonded => Ok((completion_after(ctx, &params(state)?)?, ctx.height, false)),
        // Go's zero time, which the SDK then reports as the completion time.
        BondStatus::Unbonded => Ok((Timestamp::GO_ZERO, 0, true)),
        BondStatus::Unbonding => Ok((v.unbonding_time, v.unbonding_height, false)),
    }
}

/// `BeginRedelegation`: move `shares` of `src` to `dst` at once, tracking the tokens as a
/// redelegation entry while the source's faults can still be slashed.
pub(crate) fn begin_redelegation(
    state: &mut dyn State,
    ctx: &BlockCtx,
    hooks: &dyn Hooks,
    del: &Address,
    src: &Address,
    dst: &Address,
    shares: Dec,
) -> Result<Timestamp> {
    if src == dst {
        return Err(StakingError::SelfRedelegation.into());
    }
    let dst_v = validator(state, dst)?.ok_or(StakingError::BadRedelegationDst)?;
    // v0.50 reports a missing source with the destination's error too.
    let src_v = validator(state, src)?.ok_or(StakingError::BadRedelegationDst)?;
    if has_receiving_redelegation(state, del, src)? {
        return Err(StakingError::TransitiveRedelegation.into());
    }
    let max = params(state)?.max_entries as usize;
    if redelegation(state, del, src, dst)?.is_some_and(|r| r.entries.len() >= max) {
        return Err(StakingError::MaxRedelegationEntries.into());
    }
    let amount = unbond(state, hooks, del, src, shares)?;
    if amount == 0 {
        return Err(StakingError::TinyRedelegationAmount.into());
    }
    let shares_created = delegate(state, hooks, del, amount, src_v.status, &dst_v, false)?;
    let (completion, height, now) = begin_info(state, ctx, src)?;
    if now {
        return Ok(completion);
    }
    let red = set_redelegation_entry(
        state,
        del,
        src,
        dst,
        height,
        completion,
        amount,
        shares_created,
    )?;
    insert_redelegation_queue(state, &red, &completion)?;
    Ok(completion)
}

/// `CompleteUnbonding`: pay out the mature entries from the not-bonded pool.
pub(crate) fn complete_unbonding(
    state: &mut dyn State,
    ctx: &BlockCtx,
    del: &Address,
    op: &Address,
) -> Result<Coins> {
    let mut ubd =
        unbonding_delegation(state, del, op)?.ok_or(StakingError::NoUnbondingDelegation)?;
    let mut paid = Coins::new();
    let mut kept = Vec::new();
    for e in std::mem::take(&mut ubd.entries) {
        if !e.is_mature(&ctx.time) {
            kept.push(e);
            continue;
        }
        if let Some(coins) = bond_coins(state, e.balance)? {
            bank::undelegate_coins(state, &Address::module(NOT_BONDED_POOL), del, &coins)?;
            paid = paid.checked_add(&coins)?;
        }
    }
    ubd.entries = kept;
    save_unbonding_delegation(state, &ubd)?;
    Ok(paid)
}

/// `CompleteRedelegation`: drop the mature entries; returns their initial balances.
pub(crate) fn complete_redelegation(
    state: &mut dyn State,
    ctx: &BlockCtx,
    del: &Address,
    src: &Address,
    dst: &Address,
) -> Result<Coins> {
    let mut red = redelegation(state, del, src, dst)?.ok_or(StakingError::NoRedelegation)?;
    let mut total = Coins::new();
    let mut kept = Vec::new();
    for e in std::mem::take(&mut red.entries) {
        if !e.is_mature(&ctx.time) {
            kept.push(e);
            continue;
        }
        if let Some(coins) = bond_coins(state, e.initial_balance)? {
            total = total.checked_add(&coins)?;
        }
    }
    red.entries = kept;
    if red.entries.is_empty() {
        remove_redelegation(state, &red);
    } else {
        set_redelegation(state, &red)?;
    }
    Ok(total)
}
