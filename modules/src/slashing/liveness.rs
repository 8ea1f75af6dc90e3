//! Downtime: the begin block's walk over the last commit (`BeginBlocker` and
//! `HandleValidatorSignature` of `x/slashing` v0.50).

use super::keeper::{
    clear_missed_blocks, missed_block, params, set_missed_block, set_signing_info, signing_info,
};
use super::types::VoteInfo;
use super::SlashingError;
use crate::staking::{self, Hooks};
use crate::{Address, BlockCtx, Event, ModuleError, Result, State};

fn overflow(what: &str) -> ModuleError {
    ModuleError::Math(format!("{what} overflows"))
}

/// The slashing begin block: [`handle_validator_signature`] for each vote of the last
/// commit, in the order given.
pub fn begin_block(
    state: &mut dyn State,
    ctx: &BlockCtx,
    votes: &[VoteInfo],
    hooks: &dyn Hooks,
) -> Result<()> {
    for vote in votes {
        handle_validator_signature(
            state,
            ctx,
            &Address(vote.address),
            vote.power,
            vote.signed,
            hooks,
        )?;
    }
    Ok(())
}

/// `HandleValidatorSignature`: record whether `cons` signed the last block in its sliding
/// window; once a window has passed since it bonded, a validator that missed more than
/// `window − round(min_signed_per_window × window)` of it is slashed
/// `slash_fraction_downtime` of `power` (at the height whose validator set signed that
/// block), jailed until `downtime_jail_duration` from now, and its window starts over.
/// Jailed validators are skipped. Emits `liveness` for a miss and `slash` for a
/// punishment.
pub fn handle_validator_signature(
    state: &mut dyn State,
    ctx: &BlockCtx,
    cons: &Address,
    power: i64,
    signed: bool,
    hooks: &dyn Hooks,
) -> Result<()> {
    let height = i64::try_from(ctx.height).map_err(|_| overflow("block height"))?;
    // A validator staking does not know is one of the genesis document's (a chain started
    // without gentxs): it has no stake to slash, so its liveness is not tracked. The SDK
    // fails here instead, as its validators always come from staking.
    let Some(validator) = staking::validator_by_cons(state, cons)? else {
        return Ok(());
    };
    // A jailed validator is leaving the set; what it signs no longer counts.
    if validator.jailed {
        return Ok(());
    }
    let mut info = signing_info(state, cons)?
        .ok_or_else(|| SlashingError::NoSigningInfoFound.wrap(cons.to_valcons()))?;
    let p = params(state)?;
    let window = p.signed_blocks_window;

    let index = info
        .index_offset
        .checked_rem(window)
        .ok_or_else(|| overflow("signing window index"))?;
    info.index_offset = info
        .index_offset
        .checked_add(1)
        .ok_or_else(|| overflow("index offset"))?;
    let previous = missed_block(state, cons, index)?;
    let missed = !signed;
    // The counter is the bitmap's population, kept so that the window is never scanned.
    match (previous, missed) {
        (false, true) => {
            set_missed_block(state, cons, index, true)?;
            info.missed_blocks_counter = info
                .missed_blocks_counter
                .checked_add(1)
                .ok_or_else(|| overflow("missed blocks counter"))?;
        }
        (true, false) => {
            set_missed_block(state, cons, index, false)?;
            info.missed_blocks_counter = info
                .missed_blocks_counter
                .checked_sub(1)
                .ok_or_else(|| overflow("missed blocks counter"))?;
        }
        _ => {}
    }

    let min_signed = p.min_signed_blocks()?;
    let valcons = cons.to_valcons();
    if missed {
        state.emit(Event::new(
            "liveness",
            [
                ("address", valcons.clone()),
                ("missed_blocks", info.missed_blocks_counter.to_string()),
                ("height", height.to_string()),
            ],
        ));
    }

    let min_height = info
        .start_height
        .checked_add(window)
        .ok_or_else(|| overflow("liveness start"))?;
    let max_missed = window - min_signed;
    if height > min_height && info.missed_blocks_counter > max_missed {
        // The votes are the last block's, signed by the set that staking's end block
        // returned two heights ago (ValidatorUpdateDelay is 1): slash the stake that
        // backed that set. Liveness starts a window after bonding, so this never
        // underflows.
        let distribution_height = ctx.height.saturating_sub(2);
        let burned = staking::slash(
            state,
            ctx,
            cons,
            distribution_height,
            power,
            p.slash_fraction_downtime,
            hooks,
        )?;
        state.emit(Event::new(
            "slash",
            [
                ("address", valcons.clone()),
                ("power", power.to_string()),
                ("reason", "missing_signature".into()),
                ("jailed", valcons.clone()),
                ("burned_coins", burned.to_string()),
            ],
        ));
        staking::jail(state, cons)?;
        let secs = i64::try_from(p.downtime_jail_duration).map_err(|_| overflow("jail time"))?;
        info.jailed_until = ctx
            .time
            .checked_add_secs(secs)
            .ok_or_else(|| overflow("jail time"))?;
        // Back from jail, the validator starts a fresh window (its start height moves when
        // it bonds again) rather than being punished at once for the same blocks.
        info.missed_blocks_counter = 0;
        info.index_offset = 0;
        clear_missed_blocks(state, cons)?;
    }
    set_signing_info(state, &info)
}
