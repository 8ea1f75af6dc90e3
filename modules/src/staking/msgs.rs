//! staking's messages, as the SDK v0.50 msg server runs them: the same checks in the same
//! order, so that a bad message fails with the error gaiad gives.

use super::keeper::{
    begin_redelegation, delegate, must_validator, params, save_unbonding_delegation,
    set_new_power_index, set_validator, set_validator_by_cons, unbonding_delegation, undelegate,
    validate_unbond_amount, validator, validator_by_cons,
};
use super::types::{BondStatus, Commission, CommissionRates, Description, Validator};
use super::{Hooks, StakingError};
use crate::address::VALOPER_HRP;
use crate::coin::valid_denom;
use crate::{Address, Amount, BlockCtx, Coin, Dec, Event, ModuleError, Result, State, Timestamp};

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

fn valoper(s: &str, what: &str) -> Result<Address> {
    parse_address(s, VALOPER_HRP, what)
}

fn account(s: &str) -> Result<Address> {
    parse_address(s, crate::address::ACCOUNT_HRP, "delegator")
}

/// `Coin.IsValid() && Amount.IsPositive()`.
fn positive(c: &Coin) -> bool {
    valid_denom(&c.denom) && c.amount > 0
}

fn check_denom(state: &(impl State + ?Sized), c: &Coin) -> Result<()> {
    let bond_denom = params(state)?.bond_denom;
    if c.denom != bond_denom {
        return Err(ModuleError::InvalidRequest(format!(
            "invalid coin denomination: got {}, expected {bond_denom}",
            c.denom
        )));
    }
    Ok(())
}

fn time_attr(t: &Timestamp) -> Result<String> {
    t.to_rfc3339_seconds()
}

/// `MsgCreateValidator`: a new validator with its operator's self-delegation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MsgCreateValidator {
    /// The description.
    pub description: Description,
    /// The initial commission rates.
    pub commission: CommissionRates,
    /// The least self-delegation the operator promises.
    pub min_self_delegation: Amount,
    /// Deprecated and ignored (v0.50 signs with the validator address).
    pub delegator_address: String,
    /// The operator (`cosmosvaloper1…`); its account bytes sign and self-delegate.
    pub validator_address: String,
    /// The ed25519 consensus key.
    pub pubkey: [u8; 32],
    /// The self-delegation.
    pub value: Coin,
}

impl MsgCreateValidator {
    /// The stateless checks (`MsgCreateValidator.Validate`); returns the signer.
    pub fn validate_basic(&self) -> Result<Address> {
        let op = valoper(&self.validator_address, "validator")?;
        if !positive(&self.value) {
            return Err(ModuleError::InvalidRequest(
                "invalid delegation amount".into(),
            ));
        }
        if self.description == Description::default() {
            return Err(ModuleError::InvalidRequest("empty description".into()));
        }
        if self.commission == CommissionRates::default() {
            return Err(ModuleError::InvalidRequest("empty commission".into()));
        }
        self.commission.validate()?;
        if self.min_self_delegation == 0 {
            return Err(ModuleError::InvalidRequest(
                "minimum self delegation must be a positive integer".into(),
            ));
        }
        if self.value.amount < self.min_self_delegation {
            return Err(StakingError::SelfDelegationBelowMinimum.into());
        }
        Ok(op)
    }

    /// Execute: the validator starts unbonded; the next end block may bond it.
    pub fn execute(&self, state: &mut dyn State, ctx: &BlockCtx, hooks: &dyn Hooks) -> Result<()> {
        let op = self.validate_basic()?;
        let p = params(state)?;
        if self.commission.rate < p.min_commission_rate {
            return Err(StakingError::CommissionLtMinRate.wrap(format!(
                "cannot set validator commission to less than minimum rate of {}",
                p.min_commission_rate
            )));
        }
        if validator(state, &op)?.is_some() {
            return Err(StakingError::ValidatorOwnerExists.into());
        }
        if validator_by_cons(state, &Address::from_ed25519_pubkey(&self.pubkey))?.is_some() {
            return Err(StakingError::ValidatorPubKeyExists.into());
        }
        check_denom(state, &self.value)?;
        self.description.ensure_length()?;
        let commission = Commission {
            commission_rates: self.commission,
            update_time: ctx.time,
        };
        let mut v = Validator::new(op, self.pubkey, self.description.clone(), commission);
        v.min_self_delegation = self.min_self_delegation;
        set_validator(state, &v)?;
        set_validator_by_cons(state, &v);
        set_new_power_index(state, &v);
        hooks.after_validator_created(state, &op)?;
        delegate(
            state,
            hooks,
            &op,
            self.value.amount,
            BondStatus::Unbonded,
            &v,
            true,
        )?;
        state.emit(Event::new(
            "create_validator",
            [
                ("validator", self.validator_address.clone()),
                ("amount", self.value.to_string()),
            ],
        ));
        Ok(())
    }
}

/// `MsgEditValidator`: description, commission rate, minimum self-delegation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MsgEditValidator {
    /// New description; fields equal to `"[do-not-modify]"` keep their value.
    pub description: Description,
    /// The operator (`cosmosvaloper1…`), the signer.
    pub validator_address: String,
    /// A new commission rate, if any.
    pub commission_rate: Option<Dec>,
    /// A new (higher) minimum self-delegation, if any.
    pub min_self_delegation: Option<Amount>,
}

impl MsgEditValidator {
    /// The stateless checks; returns the signer.
    pub fn validate_basic(&self) -> Result<Address> {
        let op = valoper(&self.validator_address, "validator")?;
        if self.description == Description::default() {
            return Err(ModuleError::InvalidRequest("empty description".into()));
        }
        if self.min_self_delegation == Some(0) {
            return Err(ModuleError::InvalidRequest(
                "minimum self delegation must be a positive integer".into(),
            ));
        }
        if let Some(rate) = self.commission_rate {
            if rate > Dec::one() || rate.is_negative() {
                return Err(ModuleError::InvalidRequest(
                    "commission rate must be between 0 and 1 (inclusive)".into(),
                ));
            }
        }
        Ok(op)
    }

    /// Execute.
    pub fn execute(&self, state: &mut dyn State, ctx: &BlockCtx, hooks: &dyn Hooks) -> Result<()> {
        let op = self.validate_basic()?;
        let min_rate = params(state)?.min_commission_rate;
        if let Some(rate) = self.commission_rate {
            if rate < min_rate {
                return Err(ModuleError::InvalidRequest(format!(
                    "commission rate cannot be less than the min commission rate {min_rate}"
                )));
            }
        }
        let mut v = must_validator(state, &op)?;
        v.description = v.description.update(&self.description)?;
        if let Some(rate) = self.commission_rate {
            let mut c = v.commission;
            c.validate_new_rate(rate, &ctx.time)?;
            c.commission_rates.rate = rate;
            c.update_time = ctx.time;
            hooks.before_validator_modified(state, &op)?;
            v.commission = c;
        }
        if let Some(msd) = self.min_self_delegation {
            if msd <= v.min_self_delegation {
                return Err(StakingError::MinSelfDelegationDecreased.into());
            }
            if msd > v.tokens {
                return Err(StakingError::SelfDelegationBelowMinimum.into());
            }
            v.min_self_delegation = msd;
        }
        set_validator(state, &v)?;
        state.emit(Event::new(
            "edit_validator",
            [
                (
                    "commission_rate",
                    v.commission.commission_rates.rate.to_string(),
                ),
                ("min_self_delegation", v.min_self_delegation.to_string()),
            ],
        ));
        Ok(())
    }
}

/// `MsgDelegate`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MsgDelegate {
    /// The delegator (`cosmos1…`), the signer.
    pub delegator_address: String,
    /// The validator (`cosmosvaloper1…`).
    pub validator_address: String,
    /// Tokens to delegate.
    pub amount: Coin,
}

impl MsgDelegate {
    fn checked(&self) -> Result<(Address, Address)> {
        let op = valoper(&self.validator_address, "validator")?;
        let del = account(&self.delegator_address)?;
        if !positive(&self.amount) {
            return Err(ModuleError::InvalidRequest(
                "invalid delegation amount".into(),
            ));
        }
        Ok((del, op))
    }

    /// The stateless checks; returns the signer.
    pub fn validate_basic(&self) -> Result<Address> {
        Ok(self.checked()?.0)
    }

    /// Execute.
    pub fn execute(&self, state: &mut dyn State, _ctx: &BlockCtx, hooks: &dyn Hooks) -> Result<()> {
        let (del, op) = self.checked()?;
        let v = must_validator(state, &op)?;
        check_denom(state, &self.amount)?;
        let new_shares = delegate(
            state,
            hooks,
            &del,
            self.amount.amount,
            BondStatus::Unbonded,
            &v,
            true,
        )?;
        state.emit(Event::new(
            "delegate",
            [
                ("validator", self.validator_address.clone()),
                ("delegator", self.delegator_address.clone()),
                ("amount", self.amount.to_string()),
                ("new_shares", new_shares.to_string()),
            ],
        ));
        Ok(())
    }
}

/// `MsgUndelegate`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MsgUndelegate {
    /// The delegator (`cosmos1…`), the signer.
    pub delegator_address: String,
    /// The validator (`cosmosvaloper1…`).
    pub validator_address: String,
    /// Tokens to unbond.
    pub amount: Coin,
}

/// `MsgUndelegateResponse`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MsgUndelegateResponse {
    /// When the tokens will be paid out.
    pub completion_time: Timestamp,
    /// The tokens unbonding (the shares' worth, truncated).
    pub amount: Coin,
}

impl MsgUndelegate {
    fn checked(&self) -> Result<(Address, Address)> {
        let op = valoper(&self.validator_address, "validator")?;
        let del = account(&self.delegator_address)?;
        if !positive(&self.amount) {
            return Err(ModuleError::InvalidRequest("invalid shares amount".into()));
        }
        Ok((del, op))
    }

    /// The stateless checks; returns the signer.
    pub fn validate_basic(&self) -> Result<Address> {
        Ok(self.checked()?.0)
    }

    /// Execute.
    pub fn execute(
        &self,
        state: &mut dyn State,
        ctx: &BlockCtx,
        hooks: &dyn Hooks,
    ) -> Result<MsgUndelegateResponse> {
        let (del, op) = self.checked()?;
        let shares = validate_unbond_amount(state, &del, &op, self.amount.amount)?;
        check_denom(state, &self.amount)?;
        let (completion_time, amount) = undelegate(state, ctx, hooks, &del, &op, shares)?;
        let amount = Coin {
            denom: self.amount.denom.clone(),
            amount,
        };
        state.emit(Event::new(
            "unbond",
            [
                ("validator", self.validator_address.clone()),
                ("delegator", self.delegator_address.clone()),
                ("amount", amount.to_string()),
                ("completion_time", time_attr(&completion_time)?),
            ],
        ));
        Ok(MsgUndelegateResponse {
            completion_time,
            amount,
        })
    }
}

/// `MsgBeginRedelegate`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MsgBeginRedelegate {
    /// The delegator (`cosmos1…`), the signer.
    pub delegator_address: String,
    /// The source validator.
    pub validator_src_address: String,
    /// The destination validator.
    pub validator_dst_address: String,
    /// Tokens to move.
    pub amount: Coin,
}

/// `MsgBeginRedelegateResponse`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MsgBeginRedelegateResponse {
    /// When the redelegation stops being slashable for the source's faults.
    pub completion_time: Timestamp,
}

impl MsgBeginRedelegate {
    fn checked(&self) -> Result<(Address, Address, Address)> {
        let src = valoper(&self.validator_src_address, "source validator")?;
        let dst = valoper(&self.validator_dst_address, "destination validator")?;
        let del = account(&self.delegator_address)?;
        if !positive(&self.amount) {
            return Err(ModuleError::InvalidRequest("invalid shares amount".into()));
        }
        Ok((del, src, dst))
    }

    /// The stateless checks; returns the signer.
    pub fn validate_basic(&self) -> Result<Address> {
        Ok(self.checked()?.0)
    }

    /// Execute.
    pub fn execute(
        &self,
        state: &mut dyn State,
        ctx: &BlockCtx,
        hooks: &dyn Hooks,
    ) -> Result<MsgBeginRedelegateResponse> {
        let (del, src, dst) = self.checked()?;
        let shares = validate_unbond_amount(state, &del, &src, self.amount.amount)?;
        check_denom(state, &self.amount)?;
        let completion_time = begin_redelegation(state, ctx, hooks, &del, &src, &dst, shares)?;
        state.emit(Event::new(
            "redelegate",
            [
                ("source_validator", self.validator_src_address.clone()),
                ("destination_validator", self.validator_dst_address.clone()),
                ("amount", self.amount.to_string()),
                ("completion_time", time_attr(&completion_time)?),
            ],
        ));
        Ok(MsgBeginRedelegateResponse { completion_time })
    }
}

/// `MsgCancelUnbondingDelegation`: delegate back (part of) an unbonding entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MsgCancelUnbondingDelegation {
    /// The delegator (`cosmos1…`), the signer.
    pub delegator_address: String,
    /// The validator (`cosmosvaloper1…`).
    pub validator_address: String,
    /// Tokens to take back from the entry.
    pub amount: Coin,
    /// The entry's creation height.
    pub creation_height: i64,
}

impl MsgCancelUnbondingDelegation {
    fn checked(&self) -> Result<(Address, Address)> {
        let op = valoper(&self.validator_address, "validator")?;
        let del = account(&self.delegator_address)?;
        if !positive(&self.amount) {
            return Err(ModuleError::InvalidRequest("invalid amount".into()));
        }
        if self.creation_height <= 0 {
            return Err(ModuleError::InvalidRequest("invalid height".into()));
        }
        Ok((del, op))
    }

    /// The stateless checks; returns the signer.
    pub fn validate_basic(&self) -> Result<Address> {
        Ok(self.checked()?.0)
    }

    /// Execute.
    pub fn execute(&self, state: &mut dyn State, ctx: &BlockCtx, hooks: &dyn Hooks) -> Result<()> {
        let (del, op) = self.checked()?;
        check_denom(state, &self.amount)?;
        let v = must_validator(state, &op)?;
        if v.invalid_ex_rate() {
            return Err(StakingError::DelegatorShareExRateInvalid.into());
        }
        if v.jailed {
            return Err(StakingError::ValidatorJailed.into());
        }
        let Some(mut ubd) = unbonding_delegation(state, &del, &op)? else {
            // The SDK answers with a gRPC NotFound status, which ABCI reports as undefined/1.
            return Err(ModuleError::Internal(format!(
                "rpc error: code = NotFound desc = unbonding delegation with delegator {} not found for validator {}",
                self.delegator_address, self.validator_address
            )));
        };
        // `creation_height > 0` was checked, so the conversion cannot fail on a valid entry.
        let height = u64::try_from(self.creation_height).unwrap_or(0);
        let Some(index) = ubd.entries.iter().position(|e| e.creation_height == height) else {
            return Err(ModuleError::NotFound(format!(
                "unbonding delegation entry is not found at block height {}",
                self.creation_height
            )));
        };
        let entry = &ubd.entries[index];
        if entry.balance < self.amount.amount {
            return Err(ModuleError::InvalidRequest(
                "amount is greater than the unbonding delegation entry balance".into(),
            ));
        }
        if entry.completion_time < ctx.time {
            return Err(ModuleError::InvalidRequest(
                "unbonding delegation is already processed".into(),
            ));
        }
        delegate(
            state,
            hooks,
            &del,
            self.amount.amount,
            BondStatus::Unbonding,
            &v,
            false,
        )?;
        let left = entry.balance - self.amount.amount;
        if left == 0 {
            ubd.entries.remove(index);
        } else {
            let entry = &mut ubd.entries[index];
            entry.balance = left;
            entry.initial_balance = entry.initial_balance.saturating_sub(self.amount.amount);
        }
        save_unbonding_delegation(state, &ubd)?;
        state.emit(Event::new(
            "cancel_unbonding_delegation",
            [
                ("amount", self.amount.to_string()),
                ("validator", self.validator_address.clone()),
                ("delegator", self.delegator_address.clone()),
                ("creation_height", self.creation_height.to_string()),
            ],
        ));
        Ok(())
    }
}
