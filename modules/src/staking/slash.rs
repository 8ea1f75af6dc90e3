//! Slashing and jailing as the slashing module asks for them (`x/staking/keeper/slash.go`
//! of SDK v0.50).

use super::keeper::{
    burn_from_pool, delegation, invariant, jail_validator, redelegations_from,
    remove_validator_tokens, set_unbonding_delegation, unbond, unbonding_delegation,
    unbonding_delegations_from, unjail_validator, validator, validator_by_cons, BONDED_POOL,
    NOT_BONDED_POOL,
};
use super::types::{BondStatus, Redelegation, UnbondingDelegation, POWER_REDUCTION};
use super::{Hooks, StakingError};
use crate::{Address, Amount, BlockCtx, Dec, ModuleError, Result, State};

/// Jail the validator with consensus address `cons`: it leaves the power index (and so the
/// set at the next end block).
pub fn jail(state: &mut dyn State, cons: &Address) -> Result<()> {
    let v = validator_by_cons(state, cons)?.ok_or(StakingError::NoValidatorFound)?;
    jail_validator(state, v)?;
    Ok(())
}

/// Unjail the validator with consensus address `cons`: back in the power index.
pub fn unjail(state: &mut dyn State, cons: &Address) -> Result<()> {
    let v = validator_by_cons(state, cons)?.ok_or(StakingError::NoValidatorFound)?;
    unjail_validator(state, v)?;
    Ok(())
}

fn math(what: &str) -> ModuleError {
    ModuleError::Math(format!("{what} overflows"))
}

/// `Slash`: burn `slash_factor` of the stake the validator with consensus address `cons` had
/// at `infraction_height` (`power` × 10^6 tokens): first from unbonding delegations and
/// redelegations that began at or after the infraction and are not mature, then the rest
/// (at most its tokens) from the validator. A validator that no longer exists is a no-op.
/// Returns the tokens burned from the validator itself, as the SDK does.
pub fn slash(
    state: &mut dyn State,
    ctx: &BlockCtx,
    cons: &Address,
    infraction_height: u64,
    power: i64,
    slash_factor: Dec,
    hooks: &dyn Hooks,
) -> Result<Amount> {
    if slash_factor.is_negative() {
        return Err(invariant(format!(
            "attempted to slash with a negative slash factor: {slash_factor}"
        )));
    }
    let power = u128::try_from(power)
        .map_err(|_| invariant(format!("attempted to slash with a negative power: {power}")))?;
    let amount = power
        .checked_mul(POWER_REDUCTION)
        .ok_or_else(|| math("slashed power"))?;
    let slash_amount = Dec::from_int(amount).mul(slash_factor)?.truncate_int()?;

    // Overslashed and removed: its unbondings were slashed with it.
    let Some(v) = validator_by_cons(state, cons)? else {
        return Ok(0);
    };
    if v.is_unbonded() {
        return Err(invariant(format!(
            "should not be slashing unbonded validator: {}",
            v.operator.to_valoper()
        )));
    }
    let op = v.operator;
    // The SDK only logs a failing hook here.
    let _ = hooks.before_validator_modified(state, &op);

    let mut remaining = slash_amount;
    if infraction_height > ctx.height {
        return Err(invariant(format!(
            "impossible attempt to slash future infraction at height {infraction_height} but we are at height {}",
            ctx.height
        )));
    }
    // At the current height nothing has unbonded since the infraction.
    if infraction_height < ctx.height {
        for ubd in unbonding_delegations_from(state, &op)? {
            let slashed =
                slash_unbonding_delegation(state, ctx, ubd, infraction_height, slash_factor)?;
            remaining = remaining.saturating_sub(slashed);
        }
        for red in redelegations_from(state, &op)? {
            let slashed =
                slash_redelegation(state, ctx, hooks, red, infraction_height, slash_factor)?;
            remaining = remaining.saturating_sub(slashed);
        }
    }

    // Unbondings and redelegations touch other validators only, so `v` is still current.
    let burn = remaining.min(v.tokens);
    if burn == 0 {
        return Ok(0);
    }
    if v.tokens > 0 {
        let fraction = Dec::from_int(burn)
            .quo_round_up(Dec::from_int(v.tokens))?
            .min(Dec::one());
        // The SDK only logs a failing hook here.
        let _ = hooks.before_validator_slashed(state, &op, fraction);
    }
    let v = remove_validator_tokens(state, v, burn)?;
    match v.status {
        BondStatus::Bonded => burn_from_pool(state, BONDED_POOL, burn)?,
        BondStatus::Unbonding | BondStatus::Unbonded => {
            burn_from_pool(state, NOT_BONDED_POOL, burn)?
        }
    }
    Ok(burn)
}

/// `SlashUnbondingDelegation`: entries created at or after the infraction and not mature
/// lose `factor × initial_balance` (at most their balance), burned from the not-bonded pool.
/// Returns the amount due (before the balance cap), which reduces the validator's share.
fn slash_unbonding_delegation(
    state: &mut dyn State,
    ctx: &BlockCtx,
    mut ubd: UnbondingDelegation,
    infraction_height: u64,
    factor: Dec,
) -> Result<Amount> {
    let (mut total, mut burned) = (0u128, 0u128);
    let mut changed = false;
    for e in &mut ubd.entries {
        // Stake that left before the infraction did not contribute to it.
        if e.creation_height < infraction_height || e.is_mature(&ctx.time) {
            continue;
        }
        let due = factor.mul_int(e.initial_balance)?.truncate_int()?;
        total = total.checked_add(due).ok_or_else(|| math("slash"))?;
        let cut = due.min(e.balance);
        if cut == 0 {
            continue;
        }
        burned = burned.checked_add(cut).ok_or_else(|| math("slash"))?;
        e.balance -= cut;
        changed = true;
    }
    if changed {
        set_unbonding_delegation(state, &ubd)?;
    }
    burn_from_pool(state, NOT_BONDED_POOL, burned)?;
    Ok(total)
}

/// `SlashRedelegation`: for entries created at or after the infraction and not mature, the
/// amount due (`factor × initial_balance`) comes first from the delegator's unbonding
/// delegation at the destination, then by unbonding `factor × shares_dst` of the
/// destination delegation; burned from the pool holding those tokens.
fn slash_redelegation(
    state: &mut dyn State,
    ctx: &BlockCtx,
    hooks: &dyn Hooks,
    red: Redelegation,
    infraction_height: u64,
    factor: Dec,
) -> Result<Amount> {
    let (mut total, mut bonded_burn, mut not_bonded_burn) = (0u128, 0u128, 0u128);
    let add = |a: Amount, b: Amount| a.checked_add(b).ok_or_else(|| math("slash"));
    for entry in &red.entries {
        if entry.creation_height < infraction_height || entry.is_mature(&ctx.time) {
            continue;
        }
        let mut due = factor.mul_int(entry.initial_balance)?.truncate_int()?;
        total = add(total, due)?;

        // Tokens that went on to unbond from the destination are slashed there first.
        if let Some(mut ubd) = unbonding_delegation(state, &red.delegator, &red.dst)? {
            let mut changed = false;
            for e in &mut ubd.entries {
                let cut = due.min(e.balance);
                if cut == 0 || e.creation_height < infraction_height || e.is_mature(&ctx.time) {
                    continue;
                }
                due -= cut;
                not_bonded_burn = add(not_bonded_burn, cut)?;
                e.balance -= cut;
                changed = true;
            }
            if changed {
                set_unbonding_delegation(state, &ubd)?;
            }
        }

        let mut shares = factor.mul(entry.shares_dst)?;
        if shares.is_zero() || due == 0 {
            continue;
        }
        let Some(d) = delegation(state, &red.delegator, &red.dst)? else {
            // Removed: no shares left to unbond.
            continue;
        };
        shares = shares.min(d.shares);
        // Read before the unbond, which may remove an unbonded destination left without
        // shares (the SDK reads it after, and then fails on the missing validator).
        let dst_status = validator(state, &red.dst)?
            .ok_or(StakingError::NoValidatorFound)?
            .status;
        let tokens = unbond(state, hooks, &red.delegator, &red.dst, shares)?;
        match dst_status {
            BondStatus::Bonded => bonded_burn = add(bonded_burn, tokens)?,
            BondStatus::Unbonding | BondStatus::Unbonded => {
                not_bonded_burn = add(not_bonded_burn, tokens)?
            }
        }
    }
    burn_from_pool(state, BONDED_POOL, bonded_burn)?;
    burn_from_pool(state, NOT_BONDED_POOL, not_bonded_burn)?;
    Ok(total)
}
