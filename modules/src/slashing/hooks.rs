//! [`SlashingHooks`]: what slashing does when staking changes its validators
//! (`x/slashing/keeper/hooks.go` of SDK v0.50).

use super::keeper::{set_signing_info, signing_info};
use super::types::ValidatorSigningInfo;
use crate::staking::Hooks;
use crate::{Address, BlockCtx, ModuleError, Result, State};

/// slashing's staking hooks. A hook sees the state but not the block, and a bonding
/// validator's signing info records the height, so the app builds one per block (and one at
/// genesis, height 0) and hands it to staking with the other modules' hooks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SlashingHooks {
    /// The height of the block the hooks run in.
    pub height: u64,
}

impl SlashingHooks {
    /// The hooks for the block `ctx`.
    pub fn new(ctx: &BlockCtx) -> SlashingHooks {
        SlashingHooks { height: ctx.height }
    }
}

impl Hooks for SlashingHooks {
    /// `AfterValidatorBonded`: a first bonding creates the signing info; a later one only
    /// moves its start height, so that liveness is judged a full window after each bonding
    /// (the missed-block record was reset when it was jailed).
    fn after_validator_bonded(
        &self,
        state: &mut dyn State,
        cons: &Address,
        _operator: &Address,
    ) -> Result<()> {
        let height = i64::try_from(self.height)
            .map_err(|_| ModuleError::Math(format!("height {} exceeds int64", self.height)))?;
        let info = match signing_info(state, cons)? {
            Some(mut info) => {
                info.start_height = height;
                info
            }
            None => ValidatorSigningInfo::new(*cons, height),
        };
        set_signing_info(state, &info)
    }

    /// `AfterValidatorRemoved`: the SDK only drops its consensus-address → public-key
    /// relation there, which is not kept here (staking's `validators_by_cons` answers the
    /// same question); the signing info and bitmap stay, as in the SDK.
    fn after_validator_removed(
        &self,
        _state: &mut dyn State,
        _cons: &Address,
        _operator: &Address,
    ) -> Result<()> {
        Ok(())
    }
}
