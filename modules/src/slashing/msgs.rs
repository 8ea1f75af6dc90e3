//! `MsgUnjail`, as the SDK v0.50 msg server and `Keeper.Unjail` run it.

use super::keeper::signing_info;
use super::SlashingError;
use crate::staking::{self, Hooks, StakingError};
use crate::{Address, BlockCtx, ModuleError, Result, State};

/// `MsgUnjail`: a jailed validator's operator asks to return to the power index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MsgUnjail {
    /// The operator (`cosmosvaloper1…`); its account bytes sign.
    pub validator_addr: String,
}

impl MsgUnjail {
    /// The stateless check: a valid operator address; returns the signer (the operator's
    /// account).
    pub fn validate_basic(&self) -> Result<Address> {
        Address::from_valoper(&self.validator_addr).map_err(|e| match e {
            ModuleError::InvalidAddress(why) => {
                ModuleError::InvalidAddress(format!("validator input address: {why}"))
            }
            other => other,
        })
    }

    /// Execute (`Keeper.Unjail`), failing in the SDK's order: no validator, no
    /// self-delegation, self-delegation below the minimum, not jailed; then, if the
    /// validator has a signing info (it bonded once), tombstoned or still within its jail
    /// time. A validator without one was jailed for its self-delegation only and may return
    /// at any time. `hooks` is unused — staking's unjail calls none — and is taken so that
    /// every message runs alike.
    pub fn execute(&self, state: &mut dyn State, ctx: &BlockCtx, _hooks: &dyn Hooks) -> Result<()> {
        let op = self.validate_basic()?;
        // v0.50's staking lookups fail with their own errors before slashing's
        // ErrNoValidatorForAddress and ErrMissingSelfDelegation could be returned: gaiad
        // answers with staking's.
        let validator = staking::validator(state, &op)?.ok_or(StakingError::NoValidatorFound)?;
        let self_delegation =
            staking::delegation(state, &op, &op)?.ok_or(StakingError::NoDelegation)?;
        let tokens = validator
            .tokens_from_shares(self_delegation.shares)?
            .truncate_int()?;
        if tokens < validator.min_self_delegation {
            return Err(SlashingError::SelfDelegationTooLowToUnjail.wrap(format!(
                "{tokens} less than {}",
                validator.min_self_delegation
            )));
        }
        if !validator.jailed {
            return Err(SlashingError::ValidatorNotJailed.into());
        }
        let cons = validator.cons_address();
        if let Some(info) = signing_info(state, &cons)? {
            if info.tombstoned {
                return Err(SlashingError::ValidatorJailed.into());
            }
            if ctx.time < info.jailed_until {
                return Err(SlashingError::ValidatorJailed.into());
            }
        }
        staking::unjail(state, &cons)
    }
}
