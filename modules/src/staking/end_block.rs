//! The end of a block: the validator-set update for consensus and the queues that mature
//! (`BlockValidatorUpdates`, `ApplyAndReturnValidatorSetUpdates`,
//! `UnbondAllMatureValidators` of SDK v0.50).

use super::keeper::{
    begin_unbonding_validator, bond_validator, bonded_to_not_bonded, complete_redelegation,
    complete_unbonding, delete_last_validator_power, delete_validator_queue,
    dequeue_mature_redelegations, dequeue_mature_ubds, invariant, last_validators, must_validator,
    not_bonded_to_bonded, params, power_index, remove_validator, set_last_total_power,
    set_last_validator_power, set_validator, validator_queue_until,
};
use super::types::{BondStatus, ValidatorUpdate};
use super::{Hooks, StakingError};
use crate::{BlockCtx, Event, ModuleError, Result, State};

fn overflow(what: &str) -> ModuleError {
    ModuleError::Math(format!("{what} overflows"))
}

/// `ApplyAndReturnValidatorSetUpdates`: walk the power index from the top, bonding up to
/// `max_validators` validators with non-zero power; unbond those of the last set that are no
/// longer in it; move the net tokens between the pools; record the new last set. Returns the
/// updates for consensus: validators whose power changed or that are new (in power order),
/// then those leaving with power 0 (in operator byte order).
pub fn apply_validator_set_updates(
    state: &mut dyn State,
    ctx: &BlockCtx,
    hooks: &dyn Hooks,
) -> Result<Vec<ValidatorUpdate>> {
    let max = params(state)?.max_validators as usize;
    let mut last = last_validators(state)?;
    let mut updates = Vec::new();
    let (mut to_bonded, mut to_not_bonded, mut total_power) = (0u128, 0u128, 0i64);
    for (count, op) in power_index(state)?.into_iter().enumerate() {
        if count >= max {
            break;
        }
        let mut v = must_validator(state, &op)?;
        if v.jailed {
            return Err(invariant(
                "should never retrieve a jailed validator from the power store",
            ));
        }
        // The index is in power order: nobody further down can have power either.
        if v.potential_consensus_power() == 0 {
            break;
        }
        if matches!(v.status, BondStatus::Unbonded | BondStatus::Unbonding) {
            v = bond_validator(state, hooks, v)?;
            to_bonded = to_bonded
                .checked_add(v.tokens)
                .ok_or_else(|| overflow("bonded tokens"))?;
        }
        let power = v.consensus_power()?;
        if last.remove(&op) != Some(power) {
            updates.push(ValidatorUpdate {
                pub_key: v.consensus_pubkey.0,
                power,
            });
            set_last_validator_power(state, &op, power);
        }
        total_power = total_power
            .checked_add(power)
            .ok_or_else(|| overflow("total power"))?;
    }
    // `last` is a BTreeMap of addresses: byte order, as the SDK sorts them.
    for op in last.into_keys() {
        let v = must_validator(state, &op)?;
        let v = begin_unbonding_validator(state, ctx, hooks, v)?;
        to_not_bonded = to_not_bonded
            .checked_add(v.tokens)
            .ok_or_else(|| overflow("unbonded tokens"))?;
        delete_last_validator_power(state, &op);
        updates.push(ValidatorUpdate {
            pub_key: v.consensus_pubkey.0,
            power: 0,
        });
    }
    // One transfer for the net movement.
    if to_bonded > to_not_bonded {
        not_bonded_to_bonded(state, to_bonded - to_not_bonded)?;
    } else if to_not_bonded > to_bonded {
        bonded_to_not_bonded(state, to_not_bonded - to_bonded)?;
    }
    if !updates.is_empty() {
        set_last_total_power(state, total_power);
    }
    Ok(updates)
}

/// `UnbondAllMatureValidators`: unbonding validators whose time and height have come become
/// unbonded; those without shares are removed.
fn unbond_all_mature_validators(
    state: &mut dyn State,
    ctx: &BlockCtx,
    hooks: &dyn Hooks,
) -> Result<()> {
    for (time, height, ops) in validator_queue_until(state, &ctx.time, ctx.height)? {
        if height > ctx.height || time > ctx.time {
            continue;
        }
        for op in ops {
            let mut v = must_validator(state, &op).map_err(|e| match e {
                ModuleError::Staking { error, .. } => {
                    error.wrap("validator in the unbonding queue was not found")
                }
                other => other,
            })?;
            if !v.is_unbonding() {
                return Err(invariant(
                    "unexpected validator in unbonding queue; status was not unbonding",
                ));
            }
            if v.unbonding_on_hold_ref_count != 0 {
                continue;
            }
            v.status = BondStatus::Unbonded;
            if v.delegator_shares.is_zero() {
                set_validator(state, &v)?;
                remove_validator(state, hooks, &op)?;
            } else {
                // The SDK forgets the ids of a completed unbonding.
                v.unbonding_ids.clear();
                set_validator(state, &v)?;
            }
            delete_validator_queue(state, &v)?;
        }
    }
    Ok(())
}

/// The staking end block (`BlockValidatorUpdates`): the validator-set update, then mature
/// validator unbondings, unbonding delegations (paid from the not-bonded pool) and
/// redelegations. Returns the updates for consensus.
pub fn end_block(
    state: &mut dyn State,
    ctx: &BlockCtx,
    hooks: &dyn Hooks,
) -> Result<Vec<ValidatorUpdate>> {
    let updates = apply_validator_set_updates(state, ctx, hooks)?;
    unbond_all_mature_validators(state, ctx, hooks)?;
    for pair in dequeue_mature_ubds(state, &ctx.time)? {
        let (del, op) = (pair.delegator_address, pair.validator_address);
        let paid = match complete_unbonding(state, ctx, &del, &op) {
            Ok(paid) => paid,
            // A pair queued twice, or an unbonding cancelled since: nothing to do.
            Err(ModuleError::Staking {
                error: StakingError::NoUnbondingDelegation,
                ..
            }) => continue,
            Err(e) => return Err(e),
        };
        state.emit(Event::new(
            "complete_unbonding",
            [
                ("amount", paid.to_string()),
                ("validator", op.to_valoper()),
                ("delegator", del.to_string()),
            ],
        ));
    }
    for t in dequeue_mature_redelegations(state, &ctx.time)? {
        let (del, src, dst) = (
            t.delegator_address,
            t.validator_src_address,
            t.validator_dst_address,
        );
        let moved = match complete_redelegation(state, ctx, &del, &src, &dst) {
            Ok(moved) => moved,
            Err(ModuleError::Staking {
                error: StakingError::NoRedelegation,
                ..
            }) => continue,
            Err(e) => return Err(e),
        };
        state.emit(Event::new(
            "complete_redelegation",
            [
                ("amount", moved.to_string()),
                ("delegator", del.to_string()),
                ("source_validator", src.to_valoper()),
                ("destination_validator", dst.to_valoper()),
            ],
        ));
    }
    Ok(updates)
}
