//! distribution's messages, as the SDK v0.50 msg server runs them: the same checks in the
//! same order, so that a bad message fails with the error gaiad gives.

use super::keeper::{
    params, set_withdraw_address, withdraw_delegation_rewards, withdraw_validator_commission,
};
use super::DistributionError;
use crate::address::{ACCOUNT_HRP, VALOPER_HRP};
use crate::{Address, BlockCtx, Coins, Event, ModuleError, Result, State};
use std::collections::BTreeSet;

fn parse_address(s: &str, hrp: &str, what: &str) -> Result<Address> {
    if s.is_empty() {
        return Err(ModuleError::InvalidAddress(format!(
            "invalid {what} address: empty address string is not allowed"
        )));
    }
    Address::from_bech32(s, hrp).map_err(|e| match e {
        ModuleError::InvalidAddress(why) => {
            ModuleError::InvalidAddress(format!("invalid {what} address: {why}"))
        }
        other => other,
    })
}

/// `MsgWithdrawDelegatorReward`: pay out a delegation's rewards.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MsgWithdrawDelegatorReward {
    /// The delegator (`cosmos1…`), the signer.
    pub delegator_address: String,
    /// The validator (`cosmosvaloper1…`).
    pub validator_address: String,
}

impl MsgWithdrawDelegatorReward {
    /// (delegator, validator), checked in the msg server's order.
    fn checked(&self) -> Result<(Address, Address)> {
        let val = parse_address(&self.validator_address, VALOPER_HRP, "validator")?;
        let del = parse_address(&self.delegator_address, ACCOUNT_HRP, "delegator")?;
        Ok((del, val))
    }

    /// The stateless checks; returns the signer.
    pub fn validate_basic(&self) -> Result<Address> {
        Ok(self.checked()?.0)
    }

    /// Execute; returns the coins paid to the withdraw address (empty when the rewards
    /// truncate to nothing).
    pub fn execute(&self, state: &mut dyn State, ctx: &BlockCtx) -> Result<Coins> {
        let (del, val) = self.checked()?;
        withdraw_delegation_rewards(state, ctx, &del, &val)
    }
}

/// `MsgWithdrawValidatorCommission`: pay out a validator's commission.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MsgWithdrawValidatorCommission {
    /// The validator (`cosmosvaloper1…`); its operator's account signs.
    pub validator_address: String,
}

impl MsgWithdrawValidatorCommission {
    /// The stateless checks; returns the signer (the operator's account).
    pub fn validate_basic(&self) -> Result<Address> {
        parse_address(&self.validator_address, VALOPER_HRP, "validator")
    }

    /// Execute; returns the coins paid (empty when the commission truncates to nothing).
    pub fn execute(&self, state: &mut dyn State) -> Result<Coins> {
        let val = self.validate_basic()?;
        withdraw_validator_commission(state, &val)
    }
}

/// `MsgSetWithdrawAddress`: where a delegator's rewards are paid.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MsgSetWithdrawAddress {
    /// The delegator (`cosmos1…`), the signer.
    pub delegator_address: String,
    /// The new withdraw address (`cosmos1…`).
    pub withdraw_address: String,
}

impl MsgSetWithdrawAddress {
    /// (delegator, withdraw address), checked in the msg server's order.
    fn checked(&self) -> Result<(Address, Address)> {
        let del = parse_address(&self.delegator_address, ACCOUNT_HRP, "delegator")?;
        let to = parse_address(&self.withdraw_address, ACCOUNT_HRP, "withdraw")?;
        Ok((del, to))
    }

    /// The stateless checks; returns the signer.
    pub fn validate_basic(&self) -> Result<Address> {
        Ok(self.checked()?.0)
    }

    /// Execute (`SetWithdrawAddr`): a `blocked` address (a module account) is refused, as
    /// bank would refuse to pay it.
    pub fn execute(&self, state: &mut dyn State, blocked: &BTreeSet<Address>) -> Result<()> {
        let (del, to) = self.checked()?;
        if blocked.contains(&to) {
            return Err(ModuleError::Unauthorized(format!(
                "{to} is not allowed to receive external funds"
            )));
        }
        if !params(&*state)?.withdraw_addr_enabled {
            return Err(DistributionError::SetWithdrawAddrDisabled.into());
        }
        state.emit(Event::new(
            "set_withdraw_address",
            [("withdraw_address", to.to_string())],
        ));
        set_withdraw_address(state, &del, &to);
        Ok(())
    }
}
