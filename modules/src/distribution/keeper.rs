//! distribution's records and the F1 fee distribution: periods, reference-counted historical
//! rewards, slash events, delegation rewards and withdrawals — SDK v0.50
//! `x/distribution/keeper/{store,validator,delegation,keeper}.go`.
//!
//! F1 in brief: a validator's delegators share its rewards in proportion to their tokens. Each
//! validator counts periods; when one ends (a delegation changes, a slash, a withdrawal), the
//! rewards of the period divided by the validator's tokens are added to a cumulative
//! reward-per-token ratio stored for that period. A delegation remembers the period before it
//! started and its tokens then; its rewards are its tokens × (ratio now − ratio then), its
//! tokens reduced at each slash in between. Historical ratios are kept only while a
//! delegation, the next period or a slash event refers to them.

use super::state_key as key;
use super::types::{
    DelegatorStartingInfo, FeePool, Params, ValidatorAccumulatedCommission,
    ValidatorCurrentRewards, ValidatorHistoricalRewards, ValidatorOutstandingRewards,
    ValidatorSlashEvent,
};
use super::{DecCoins, DistributionError};
use crate::staking::{self, Delegation, StakingError, Validator};
use crate::state::{get_json, get_string, put_json, State};
use crate::{auth, bank, Address, BlockCtx, Coins, Dec, Event, ModuleError, Result};

/// The distribution module account, which holds every reward not yet paid out and the
/// community pool.
pub const MODULE_NAME: &str = "distribution";

/// A broken invariant: the SDK panics here.
fn invariant(msg: impl Into<String>) -> ModuleError {
    ModuleError::Internal(msg.into())
}

fn corrupt(key: &str, e: impl std::fmt::Display) -> ModuleError {
    ModuleError::Corrupt {
        key: key.into(),
        reason: e.to_string(),
    }
}

// ---------------------------------------------------------------------------- params, pool

/// The distribution params (the SDK's defaults if never set).
pub fn params(state: &(impl State + ?Sized)) -> Result<Params> {
    Ok(get_json(state, key::PARAMS)?.unwrap_or_default())
}

/// Store the distribution params, after checking them.
pub fn set_params(state: &mut (impl State + ?Sized), p: &Params) -> Result<()> {
    p.validate()?;
    put_json(state, key::PARAMS, p)
}

/// The community pool.
pub fn community_pool(state: &(impl State + ?Sized)) -> Result<DecCoins> {
    Ok(get_json::<FeePool>(state, key::FEE_POOL)?
        .unwrap_or_default()
        .community_pool)
}

pub(crate) fn set_fee_pool(state: &mut (impl State + ?Sized), pool: &FeePool) -> Result<()> {
    put_json(state, key::FEE_POOL, pool)
}

fn add_to_community_pool(state: &mut dyn State, coins: &DecCoins) -> Result<()> {
    let community_pool = community_pool(&*state)?.checked_add(coins)?;
    set_fee_pool(state, &FeePool { community_pool })
}

/// Pay `coins` out of the module account (`SendCoinsFromModuleToAccount`).
fn send_from_module(state: &mut dyn State, to: &Address, coins: &Coins) -> Result<()> {
    bank::move_coins(state, &Address::module(MODULE_NAME), to, coins)
}

// ---------------------------------------------------------------------------- withdraw address

/// Where `delegator`'s rewards (and, for an operator, its commission) are paid: the address
/// it set, else itself.
pub fn withdraw_address(state: &(impl State + ?Sized), delegator: &Address) -> Result<Address> {
    let k = key::withdraw_address(delegator);
    match get_string(state, &k)? {
        None => Ok(*delegator),
        Some(text) => text.parse().map_err(|e| corrupt(&k, e)),
    }
}

pub(crate) fn set_withdraw_address(
    state: &mut (impl State + ?Sized),
    delegator: &Address,
    to: &Address,
) {
    state.put(
        key::withdraw_address(delegator).into_bytes(),
        to.to_string().into_bytes(),
    );
}

// ---------------------------------------------------------------------------- validator records

/// A validator's outstanding rewards (none if it has no record).
pub(crate) fn outstanding(state: &(impl State + ?Sized), val: &Address) -> Result<DecCoins> {
    Ok(
        get_json::<ValidatorOutstandingRewards>(state, &key::outstanding(val))?
            .unwrap_or_default()
            .rewards,
    )
}

pub(crate) fn set_outstanding(
    state: &mut (impl State + ?Sized),
    val: &Address,
    rewards: &DecCoins,
) -> Result<()> {
    put_json(
        state,
        &key::outstanding(val),
        &ValidatorOutstandingRewards {
            rewards: rewards.clone(),
        },
    )
}

/// A validator's accumulated commission (none if it has no record).
pub(crate) fn accumulated_commission(
    state: &(impl State + ?Sized),
    val: &Address,
) -> Result<DecCoins> {
    Ok(
        get_json::<ValidatorAccumulatedCommission>(state, &key::commission(val))?
            .unwrap_or_default()
            .commission,
    )
}

pub(crate) fn set_accumulated_commission(
    state: &mut (impl State + ?Sized),
    val: &Address,
    commission: &DecCoins,
) -> Result<()> {
    put_json(
        state,
        &key::commission(val),
        &ValidatorAccumulatedCommission {
            commission: commission.clone(),
        },
    )
}

pub(crate) fn current_rewards(
    state: &(impl State + ?Sized),
    val: &Address,
) -> Result<Option<ValidatorCurrentRewards>> {
    get_json(state, &key::current(val))
}

fn must_current_rewards(
    state: &(impl State + ?Sized),
    val: &Address,
) -> Result<ValidatorCurrentRewards> {
    current_rewards(state, val)?.ok_or_else(|| {
        invariant(format!(
            "no current rewards for validator {}",
            val.to_valoper()
        ))
    })
}

pub(crate) fn set_current_rewards(
    state: &mut (impl State + ?Sized),
    val: &Address,
    r: &ValidatorCurrentRewards,
) -> Result<()> {
    put_json(state, &key::current(val), r)
}

pub(crate) fn historical_rewards(
    state: &(impl State + ?Sized),
    val: &Address,
    period: u64,
) -> Result<Option<ValidatorHistoricalRewards>> {
    get_json(state, &key::historical(val, period))
}

fn must_historical_rewards(
    state: &(impl State + ?Sized),
    val: &Address,
    period: u64,
) -> Result<ValidatorHistoricalRewards> {
    historical_rewards(state, val, period)?.ok_or_else(|| {
        invariant(format!(
            "no historical rewards for validator {} period {period}",
            val.to_valoper()
        ))
    })
}

pub(crate) fn set_historical_rewards(
    state: &mut (impl State + ?Sized),
    val: &Address,
    period: u64,
    h: &ValidatorHistoricalRewards,
) -> Result<()> {
    put_json(state, &key::historical(val, period), h)
}

pub(crate) fn set_slash_event(
    state: &mut (impl State + ?Sized),
    val: &Address,
    height: u64,
    event: &ValidatorSlashEvent,
) -> Result<()> {
    put_json(
        state,
        &key::slash_event(val, height, event.validator_period),
        event,
    )
}

/// The slash events of `val` at heights `from..=to`, in (height, period) order.
pub(crate) fn slash_events_between(
    state: &(impl State + ?Sized),
    val: &Address,
    from: u64,
    to: u64,
) -> Result<Vec<ValidatorSlashEvent>> {
    let prefix = key::slash_events(val);
    let mut out = Vec::new();
    for (k, v) in state.prefix(prefix.as_bytes())? {
        let text = String::from_utf8_lossy(&k).into_owned();
        let height: u64 = text[prefix.len()..]
            .split('/')
            .next()
            .and_then(|h| h.parse().ok())
            .ok_or_else(|| corrupt(&text, "malformed slash event key"))?;
        if height < from {
            continue;
        }
        if height > to {
            break;
        }
        out.push(serde_json::from_slice(&v).map_err(|e| corrupt(&text, e))?);
    }
    Ok(out)
}

pub(crate) fn starting_info(
    state: &(impl State + ?Sized),
    val: &Address,
    del: &Address,
) -> Result<Option<DelegatorStartingInfo>> {
    get_json(state, &key::starting_info(val, del))
}

pub(crate) fn set_starting_info(
    state: &mut (impl State + ?Sized),
    val: &Address,
    del: &Address,
    info: &DelegatorStartingInfo,
) -> Result<()> {
    put_json(state, &key::starting_info(val, del), info)
}

fn delete_prefix(state: &mut dyn State, prefix: &str) -> Result<()> {
    for (k, _) in state.prefix(prefix.as_bytes())? {
        state.delete(&k);
    }
    Ok(())
}

// ---------------------------------------------------------------------------- F1

/// `initializeValidator`: period 0 with a zero ratio (referenced by period 1), period 1
/// current, no commission, nothing outstanding.
pub(crate) fn initialize_validator(state: &mut dyn State, val: &Address) -> Result<()> {
    set_historical_rewards(
        state,
        val,
        0,
        &ValidatorHistoricalRewards {
            cumulative_reward_ratio: DecCoins::new(),
            reference_count: 1,
        },
    )?;
    set_current_rewards(
        state,
        val,
        &ValidatorCurrentRewards {
            rewards: DecCoins::new(),
            period: 1,
        },
    )?;
    set_accumulated_commission(state, val, &DecCoins::new())?;
    set_outstanding(state, val, &DecCoins::new())
}

fn increment_reference_count(state: &mut dyn State, val: &Address, period: u64) -> Result<()> {
    let mut h = must_historical_rewards(&*state, val, period)?;
    if h.reference_count > 2 {
        return Err(invariant("reference count should never exceed 2"));
    }
    h.reference_count += 1;
    set_historical_rewards(state, val, period, &h)
}

fn decrement_reference_count(state: &mut dyn State, val: &Address, period: u64) -> Result<()> {
    let mut h = must_historical_rewards(&*state, val, period)?;
    if h.reference_count == 0 {
        return Err(invariant("cannot set negative reference count"));
    }
    h.reference_count -= 1;
    if h.reference_count == 0 {
        state.delete(key::historical(val, period).as_bytes());
        Ok(())
    } else {
        set_historical_rewards(state, val, period, &h)
    }
}

/// `IncrementValidatorPeriod`: end the current period, storing its cumulative ratio, and
/// start the next. Returns the period ended.
pub(crate) fn increment_validator_period(state: &mut dyn State, v: &Validator) -> Result<u64> {
    let val = v.operator;
    let cur = must_current_rewards(&*state, &val)?;
    let ratio = if v.tokens == 0 {
        // No tokens to divide by: the period's rewards go to the community pool.
        let left = outstanding(&*state, &val)?.checked_sub(&cur.rewards)?;
        add_to_community_pool(state, &cur.rewards)?;
        set_outstanding(state, &val, &left)?;
        DecCoins::new()
    } else {
        // Truncated, so that delegators are never owed more than was allocated.
        cur.rewards.quo_dec_truncate(Dec::from_int(v.tokens))?
    };
    let previous = cur
        .period
        .checked_sub(1)
        .ok_or_else(|| invariant("validator period 0 cannot be current"))?;
    let cumulative = must_historical_rewards(&*state, &val, previous)?.cumulative_reward_ratio;
    decrement_reference_count(state, &val, previous)?;
    set_historical_rewards(
        state,
        &val,
        cur.period,
        &ValidatorHistoricalRewards {
            cumulative_reward_ratio: cumulative.checked_add(&ratio)?,
            reference_count: 1,
        },
    )?;
    let next = cur
        .period
        .checked_add(1)
        .ok_or_else(|| invariant("validator periods exhausted"))?;
    set_current_rewards(
        state,
        &val,
        &ValidatorCurrentRewards {
            rewards: DecCoins::new(),
            period: next,
        },
    )?;
    Ok(cur.period)
}

/// `initializeDelegation`: the delegation starts after the period just ended (which it now
/// references), with its tokens truncated.
pub(crate) fn initialize_delegation(
    state: &mut dyn State,
    height: u64,
    val: &Address,
    del: &Address,
) -> Result<()> {
    let previous_period = must_current_rewards(&*state, val)?
        .period
        .checked_sub(1)
        .ok_or_else(|| invariant("validator period 0 cannot be current"))?;
    increment_reference_count(state, val, previous_period)?;
    let v = staking::validator(&*state, val)?.ok_or(StakingError::NoValidatorFound)?;
    let d = staking::delegation(&*state, del, val)?.ok_or(StakingError::NoDelegation)?;
    // Truncated, so that the delegator is never owed more than its share.
    let stake = v.tokens_from_shares_truncated(d.shares)?;
    set_starting_info(
        state,
        val,
        del,
        &DelegatorStartingInfo {
            previous_period,
            stake,
            height,
        },
    )
}

/// `calculateDelegationRewardsBetween`: `stake × (ratio(end) − ratio(start))`, truncated.
fn rewards_between(
    state: &(impl State + ?Sized),
    val: &Address,
    start: u64,
    end: u64,
    stake: Dec,
) -> Result<DecCoins> {
    if start > end {
        return Err(invariant(
            "startingPeriod cannot be greater than endingPeriod",
        ));
    }
    if stake.is_negative() {
        return Err(invariant("stake should not be negative"));
    }
    let starting = must_historical_rewards(state, val, start)?.cumulative_reward_ratio;
    let ending = must_historical_rewards(state, val, end)?.cumulative_reward_ratio;
    let difference = ending
        .checked_sub(&starting)
        .map_err(|_| invariant("negative rewards should not be possible"))?;
    difference.mul_dec_truncate(stake)
}

/// `CalculateDelegationRewards`: the rewards of `d` from its start to `ending_period`, its
/// stake cut by each slash in between; nothing if it started at `height`.
pub(crate) fn calculate_delegation_rewards(
    state: &(impl State + ?Sized),
    height: u64,
    v: &Validator,
    d: &Delegation,
    ending_period: u64,
) -> Result<DecCoins> {
    let info = starting_info(state, &v.operator, &d.delegator)?
        .ok_or(DistributionError::EmptyDelegationDistInfo)?;
    let mut rewards = DecCoins::new();
    if info.height == height {
        return Ok(rewards);
    }
    let (mut start, mut stake) = (info.previous_period, info.stake);
    // Slashes at the starting height count too: a redelegation into this validator may
    // have been slashed earlier in the block.
    if height > info.height {
        for event in slash_events_between(state, &v.operator, info.height, height)? {
            if event.validator_period > start {
                let part =
                    rewards_between(state, &v.operator, start, event.validator_period, stake)?;
                rewards = rewards.checked_add(&part)?;
                // Truncated, so that the delegator is never owed more than its share.
                stake = stake.mul_truncate(Dec::one().sub(event.fraction)?)?;
                start = event.validator_period;
            }
        }
    }
    // Slashing by period rounds differently from the validator's single computation, so
    // the stake may exceed the current tokens by a few units of the last digit.
    let current = v.tokens_from_shares(d.shares)?;
    if stake > current {
        let margin = Dec::from_atomics_str("3")?;
        if stake <= current.add(margin)? {
            stake = current;
        } else {
            return Err(invariant(format!(
                "calculated final stake for delegator {} greater than current stake\n\tfinal stake:\t{stake}\n\tcurrent stake:\t{current}",
                d.delegator
            )));
        }
    }
    rewards.checked_add(&rewards_between(
        state,
        &v.operator,
        start,
        ending_period,
        stake,
    )?)
}

/// `withdrawDelegationRewards`: end the period, pay the whole part of the delegation's
/// rewards to its withdraw address, give the fractions to the community pool, and drop its
/// starting info (the caller re-initializes it). Returns what was paid.
pub(crate) fn withdraw_rewards(
    state: &mut dyn State,
    height: u64,
    v: &Validator,
    d: &Delegation,
) -> Result<Coins> {
    let (val, del) = (v.operator, d.delegator);
    let info =
        starting_info(&*state, &val, &del)?.ok_or(DistributionError::EmptyDelegationDistInfo)?;
    let ending_period = increment_validator_period(state, v)?;
    let raw = calculate_delegation_rewards(&*state, height, v, d, ending_period)?;
    let outstanding = outstanding(&*state, &val)?;
    // The order of operations may ask for the last digits of more than is left.
    let rewards = raw.intersect(&outstanding);
    let (coins, remainder) = rewards.truncate_decimal()?;
    if !coins.is_empty() {
        let to = withdraw_address(&*state, &del)?;
        send_from_module(state, &to, &coins)?;
    }
    set_outstanding(state, &val, &outstanding.checked_sub(&rewards)?)?;
    add_to_community_pool(state, &remainder)?;
    decrement_reference_count(state, &val, info.previous_period)?;
    state.delete(key::starting_info(&val, &del).as_bytes());
    // The SDK reports a zero withdrawal as zero of the base denom.
    let amount = if coins.is_empty() {
        format!("0{}", staking::params(&*state)?.bond_denom)
    } else {
        coins.to_string()
    };
    state.emit(Event::new(
        "withdraw_rewards",
        [
            ("amount", amount),
            ("validator", val.to_valoper()),
            ("delegator", del.to_string()),
        ],
    ));
    Ok(coins)
}

/// `WithdrawDelegationRewards`: pay out the rewards of `del`'s delegation to `val` and start
/// it afresh. Errors as v0.50's: staking's "validator does not exist" and "no delegation for
/// (address, validator) tuple", then "no delegation distribution info".
pub fn withdraw_delegation_rewards(
    state: &mut dyn State,
    ctx: &BlockCtx,
    del: &Address,
    val: &Address,
) -> Result<Coins> {
    let v = staking::validator(&*state, val)?.ok_or(StakingError::NoValidatorFound)?;
    let d = staking::delegation(&*state, del, val)?.ok_or(StakingError::NoDelegation)?;
    let coins = withdraw_rewards(state, ctx.height, &v, &d)?;
    initialize_delegation(state, ctx.height, val, del)?;
    Ok(coins)
}

/// `WithdrawValidatorCommission`: pay the whole part of `val`'s commission to the operator's
/// withdraw address, keeping the fractions for later. Returns what was paid.
pub fn withdraw_validator_commission(state: &mut dyn State, val: &Address) -> Result<Coins> {
    let accumulated = accumulated_commission(&*state, val)?;
    if accumulated.is_empty() {
        return Err(DistributionError::NoValidatorCommission.into());
    }
    let (coins, remainder) = accumulated.truncate_decimal()?;
    set_accumulated_commission(state, val, &remainder)?;
    let left = outstanding(&*state, val)?.checked_sub(&DecCoins::from_coins(&coins))?;
    set_outstanding(state, val, &left)?;
    if !coins.is_empty() {
        // The operator's account has the operator address's bytes.
        let to = withdraw_address(&*state, val)?;
        send_from_module(state, &to, &coins)?;
    }
    state.emit(Event::new(
        "withdraw_commission",
        [("amount", coins.to_string())],
    ));
    Ok(coins)
}

/// `updateValidatorSlashFraction`: end the period before the slash and record the slash
/// against it, so that rewards before and after are computed on the right stake.
pub(crate) fn update_validator_slash_fraction(
    state: &mut dyn State,
    height: u64,
    val: &Address,
    fraction: Dec,
) -> Result<()> {
    if fraction > Dec::one() || fraction.is_negative() {
        return Err(invariant(format!(
            "fraction must be >=0 and <=1, current fraction: {fraction}"
        )));
    }
    let v = staking::validator(&*state, val)?.ok_or(StakingError::NoValidatorFound)?;
    let period = increment_validator_period(state, &v)?;
    increment_reference_count(state, val, period)?;
    set_slash_event(
        state,
        val,
        height,
        &ValidatorSlashEvent {
            validator_period: period,
            fraction,
        },
    )
}

/// `AfterValidatorRemoved`: pay the commission's whole part to the operator's withdraw
/// address; its fractions and every other outstanding reward (dust: the validator had no
/// delegations left) go to the community pool; the validator's records are deleted.
pub(crate) fn remove_validator_records(state: &mut dyn State, val: &Address) -> Result<()> {
    let mut left = outstanding(&*state, val)?;
    let commission = accumulated_commission(&*state, val)?;
    if !commission.is_empty() {
        left = left.checked_sub(&commission)?;
        let (coins, remainder) = commission.truncate_decimal()?;
        add_to_community_pool(state, &remainder)?;
        if !coins.is_empty() {
            let to = withdraw_address(&*state, val)?;
            send_from_module(state, &to, &coins)?;
        }
    }
    add_to_community_pool(state, &left)?;
    state.delete(key::outstanding(val).as_bytes());
    state.delete(key::commission(val).as_bytes());
    delete_prefix(state, &key::slash_events(val))?;
    delete_prefix(state, &key::historicals(val))?;
    state.delete(key::current(val).as_bytes());
    Ok(())
}

// ---------------------------------------------------------------------------- allocation

/// `AllocateTokensToValidator`: the commission rate's share of `tokens` (rounded) to the
/// validator's commission, the rest to its current rewards, all of it outstanding.
pub fn allocate_tokens_to_validator(
    state: &mut dyn State,
    v: &Validator,
    tokens: &DecCoins,
) -> Result<()> {
    let val = v.operator;
    let commission = tokens.mul_dec(v.commission.commission_rates.rate)?;
    let shared = tokens.checked_sub(&commission)?;
    state.emit(Event::new(
        "commission",
        [
            ("amount", commission.to_string()),
            ("validator", val.to_valoper()),
        ],
    ));
    let accumulated = accumulated_commission(&*state, &val)?.checked_add(&commission)?;
    set_accumulated_commission(state, &val, &accumulated)?;
    // As the SDK: a validator without a record starts from zero.
    let mut current = current_rewards(&*state, &val)?.unwrap_or_default();
    current.rewards = current.rewards.checked_add(&shared)?;
    set_current_rewards(state, &val, &current)?;
    state.emit(Event::new(
        "rewards",
        [
            ("amount", tokens.to_string()),
            ("validator", val.to_valoper()),
        ],
    ));
    let total = outstanding(&*state, &val)?.checked_add(tokens)?;
    set_outstanding(state, &val, &total)
}

/// `AllocateTokens`: move everything the fee collector holds to the distribution module;
/// without voting power it all goes to the community pool, else each voter's validator gets
/// `fees × (1 − community_tax) × power / total_power` (truncated) and the rest goes to the
/// community pool. Votes of unknown consensus addresses are skipped (their share goes to the
/// community pool).
pub fn allocate_tokens(
    state: &mut dyn State,
    total_previous_power: i64,
    votes: &[([u8; 20], i64)],
) -> Result<()> {
    let fee_collector = Address::module(auth::FEE_COLLECTOR);
    let fees = bank::all_balances(&*state, &fee_collector)?;
    let collected = DecCoins::from_coins(&fees);
    auth::ensure_module_account(state, MODULE_NAME)?;
    bank::move_coins(state, &fee_collector, &Address::module(MODULE_NAME), &fees)?;
    if total_previous_power == 0 {
        return add_to_community_pool(state, &collected);
    }
    let total = u128::try_from(total_previous_power)
        .map_err(|_| invariant(format!("negative total power {total_previous_power}")))?;
    let vote_multiplier = Dec::one().sub(params(&*state)?.community_tax)?;
    let fee_multiplier = collected.mul_dec_truncate(vote_multiplier)?;
    let mut remaining = collected;
    for (cons, power) in votes {
        let Some(v) = staking::validator_by_cons(&*state, &Address(*cons))? else {
            continue;
        };
        let power = u128::try_from(*power)
            .map_err(|_| invariant(format!("negative voting power {power}")))?;
        let fraction = Dec::from_int(power).quo_truncate(Dec::from_int(total))?;
        let reward = fee_multiplier.mul_dec_truncate(fraction)?;
        allocate_tokens_to_validator(state, &v, &reward)?;
        remaining = remaining.checked_sub(&reward)?;
    }
    add_to_community_pool(state, &remaining)
}

/// The distribution `BeginBlocker`: from height 2 on, allocate the fees collected in the
/// previous block among the validators of its last commit, `votes` being (consensus address,
/// power) of every validator in it (signed or not, as v0.50 counts them).
pub fn begin_block(state: &mut dyn State, ctx: &BlockCtx, votes: &[([u8; 20], i64)]) -> Result<()> {
    let mut total: i64 = 0;
    for (_, power) in votes {
        total = total
            .checked_add(*power)
            .ok_or_else(|| ModuleError::Math("total voting power overflows".into()))?;
    }
    // The first block has no previous block and so no votes to reward.
    if ctx.height > 1 {
        allocate_tokens(state, total, votes)?;
    }
    Ok(())
}
