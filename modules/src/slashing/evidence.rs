//! Double signing: x/evidence's `handleEquivocationEvidence` (v0.50), which punishes through
//! the slashing keeper.

use super::keeper::{params, set_signing_info, signing_info};
use super::types::{Equivocation, DOUBLE_SIGN_JAIL_END_TIME};
use crate::staking::{self, Hooks};
use crate::{Address, BlockCtx, Event, ModuleError, Result, State};

/// Punish a double sign: slash `slash_fraction_double_sign` of the evidence's power at the
/// height whose validator set signed the block (`height − 1`), reaching the unbonding
/// delegations and redelegations begun since; jail the validator if it is not already;
/// jail it until [`DOUBLE_SIGN_JAIL_END_TIME`] and tombstone it, so that it can never
/// return. Ignored (`Ok`, nothing changes): a validator that does not exist or is unbonded,
/// evidence older than both `max_age_blocks` and `max_age_secs` (the consensus params'
/// `evidence.max_age_num_blocks` and `max_age_duration`), and an already tombstoned
/// validator — so a second evidence of the same validator does nothing. Emits `slash`
/// (`address`, `power`, `reason` `double_sign`, `burned_coins`) and, if it jailed the
/// validator, a second `slash` with `jailed`.
pub fn handle_equivocation(
    state: &mut dyn State,
    ctx: &BlockCtx,
    ev: &Equivocation,
    max_age_blocks: u64,
    max_age_secs: i64,
    hooks: &dyn Hooks,
) -> Result<()> {
    let cons = Address(ev.address);
    let Some(validator) = staking::validator_by_cons(state, &cons)? else {
        return Ok(());
    };
    // Its stake has left: nothing is slashable any more.
    if validator.is_unbonded() {
        return Ok(());
    }

    // Stale only when too old by both measures, as the SDK decides.
    let age_nanos = ctx.time.nanos_since(&ev.time);
    let age_blocks = i128::from(ctx.height) - i128::from(ev.height);
    if age_nanos > i128::from(max_age_secs) * 1_000_000_000
        && age_blocks > i128::from(max_age_blocks)
    {
        return Ok(());
    }

    let valcons = cons.to_valcons();
    // Every bonded validator got one when it bonded: the SDK panics here.
    let mut info = signing_info(state, &cons)?.ok_or_else(|| {
        ModuleError::Internal(format!(
            "expected signing info for validator {valcons} but not found"
        ))
    })?;
    if info.tombstoned {
        return Ok(());
    }

    // The set that signed block `height` was returned by staking at `height − 1`
    // (ValidatorUpdateDelay is 1).
    let distribution_height = ev.height.saturating_sub(1);
    let fraction = params(state)?.slash_fraction_double_sign;
    let burned = staking::slash(
        state,
        ctx,
        &cons,
        distribution_height,
        ev.power,
        fraction,
        hooks,
    )?;
    state.emit(Event::new(
        "slash",
        [
            ("address", valcons.clone()),
            ("power", ev.power.to_string()),
            ("reason", "double_sign".into()),
            ("burned_coins", burned.to_string()),
        ],
    ));
    if !validator.jailed {
        staking::jail(state, &cons)?;
        state.emit(Event::new("slash", [("jailed", valcons)]));
    }
    // Slashing and jailing touch staking's and bank's records only: `info` is current.
    info.jailed_until = DOUBLE_SIGN_JAIL_END_TIME;
    info.tombstoned = true;
    set_signing_info(state, &info)
}
