//! staking's genesis section, the SDK's `app_state.staking`:
//! `{"params": {...}, "last_total_power": "0", "last_validator_powers": [{"address", "power"}],
//! "validators": [...], "delegations": [...], "unbonding_delegations": [...],
//! "redelegations": [...], "exported": false}` — everything but `params` may be absent.
//!
//! Validators, delegations, unbonding delegations and redelegations are loaded as the SDK's
//! `InitGenesis` loads them (indexes, queues, hooks unless `exported`), and the pools must
//! already hold exactly their tokens (bank's genesis funds the pool module accounts), or
//! genesis is refused. Then an exported genesis restores its last validator set as given;
//! a fresh one computes the set from the power index.

use super::end_block::apply_validator_set_updates;
use super::keeper::{
    all_delegations, all_redelegations, all_unbonding_delegations, ensure_pools,
    insert_redelegation_queue, insert_ubd_queue, insert_validator_queue, last_total_power,
    last_validators, params, set_delegation, set_last_total_power, set_last_validator_power,
    set_params, set_power_index, set_redelegation, set_unbonding_delegation, set_validator,
    set_validator_by_cons, validators, BONDED_POOL, NOT_BONDED_POOL,
};
use super::types::{
    BondStatus, Delegation, Params, Redelegation, UnbondingDelegation, Validator, ValidatorUpdate,
};
use super::Hooks;
use crate::serde_util::{text, valoper};
use crate::state::State;
use crate::{bank, Address, BlockCtx, Coin, Coins, ModuleError, Result};
use serde::{Deserialize, Deserializer, Serialize};
use std::collections::BTreeSet;

/// One validator of the last set.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LastValidatorPower {
    /// The operator (`cosmosvaloper1…`).
    #[serde(with = "valoper")]
    pub address: Address,
    /// Its power.
    #[serde(with = "text")]
    pub power: i64,
}

/// `null` or absent as an empty list (gaiad writes both).
fn list<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> std::result::Result<Vec<T>, D::Error> {
    Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
}

/// `app_state.staking`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Genesis {
    /// Params.
    pub params: Params,
    /// Total power of the last set.
    #[serde(with = "text", default)]
    pub last_total_power: i64,
    /// The last set (used when `exported`).
    #[serde(default, deserialize_with = "list")]
    pub last_validator_powers: Vec<LastValidatorPower>,
    /// Validators.
    #[serde(default, deserialize_with = "list")]
    pub validators: Vec<Validator>,
    /// Delegations.
    #[serde(default, deserialize_with = "list")]
    pub delegations: Vec<Delegation>,
    /// Unbonding delegations.
    #[serde(default, deserialize_with = "list")]
    pub unbonding_delegations: Vec<UnbondingDelegation>,
    /// Redelegations.
    #[serde(default, deserialize_with = "list")]
    pub redelegations: Vec<Redelegation>,
    /// Whether this is an export of a running chain (no hooks; the last set is restored).
    #[serde(default)]
    pub exported: bool,
}

fn invalid(msg: String) -> ModuleError {
    ModuleError::InvalidRequest(msg)
}

impl Genesis {
    /// The SDK's `ValidateGenesis`: valid params; validators unique (by operator and
    /// consensus key), not bonded while jailed, with shares unless unbonding.
    pub fn validate(&self) -> Result<()> {
        self.params.validate()?;
        let (mut ops, mut cons) = (BTreeSet::new(), BTreeSet::new());
        for v in &self.validators {
            let c = v.cons_address();
            if !cons.insert(c) || !ops.insert(v.operator) {
                return Err(invalid(format!(
                    "duplicate validator in genesis state: moniker {}, address {}",
                    v.description.moniker,
                    c.to_valcons()
                )));
            }
            if v.jailed && v.is_bonded() {
                return Err(invalid(format!(
                    "validator is bonded and jailed in genesis state: moniker {}, address {}",
                    v.description.moniker,
                    c.to_valcons()
                )));
            }
            if v.delegator_shares.is_zero() && !v.is_unbonding() {
                return Err(invalid(format!(
                    "bonded/unbonded genesis validator cannot have zero delegator shares, validator: {}",
                    v.operator.to_valoper()
                )));
            }
        }
        Ok(())
    }

    /// Write the section into `state` (after bank's, which funds the pools) and return the
    /// initial validator set for consensus.
    pub fn init(
        &self,
        state: &mut dyn State,
        ctx: &BlockCtx,
        hooks: &dyn Hooks,
    ) -> Result<Vec<ValidatorUpdate>> {
        self.validate()?;
        set_params(state, &self.params)?;
        ensure_pools(state)?;
        set_last_total_power(state, self.last_total_power);
        let (mut bonded, mut not_bonded) = (0u128, 0u128);
        let add = |a: u128, b: u128| {
            a.checked_add(b)
                .ok_or_else(|| invalid("genesis pool totals overflow".into()))
        };
        for v in &self.validators {
            set_validator(state, v)?;
            set_validator_by_cons(state, v);
            set_power_index(state, v);
            if !self.exported {
                hooks.after_validator_created(state, &v.operator)?;
            }
            if v.is_unbonding() {
                insert_validator_queue(state, v)?;
            }
            match v.status {
                BondStatus::Bonded => bonded = add(bonded, v.tokens)?,
                BondStatus::Unbonding | BondStatus::Unbonded => {
                    not_bonded = add(not_bonded, v.tokens)?
                }
            }
        }
        for d in &self.delegations {
            if !self.exported {
                hooks.before_delegation_created(state, &d.delegator, &d.validator)?;
            }
            set_delegation(state, d)?;
            if !self.exported {
                hooks.after_delegation_modified(state, &d.delegator, &d.validator)?;
            }
        }
        for u in &self.unbonding_delegations {
            set_unbonding_delegation(state, u)?;
            for e in &u.entries {
                insert_ubd_queue(state, &u.delegator, &u.validator, &e.completion_time)?;
                not_bonded = add(not_bonded, e.balance)?;
            }
        }
        for r in &self.redelegations {
            set_redelegation(state, r)?;
            for e in &r.entries {
                insert_redelegation_queue(state, r, &e.completion_time)?;
            }
        }
        let denom = &self.params.bond_denom;
        for (pool, expected, what) in [
            (
                BONDED_POOL,
                bonded,
                "bonded pool balance is different from bonded coins",
            ),
            (
                NOT_BONDED_POOL,
                not_bonded,
                "not bonded pool balance is different from not bonded coins",
            ),
        ] {
            let have = bank::all_balances(state, &Address::module(pool))?;
            let want = if expected == 0 {
                Coins::new()
            } else {
                Coins::from_list(vec![Coin {
                    denom: denom.clone(),
                    amount: expected,
                }])?
            };
            if have != want {
                return Err(invalid(format!("{what}: {have} <-> {want}")));
            }
        }
        if !self.exported {
            return apply_validator_set_updates(state, ctx, hooks);
        }
        let mut updates = Vec::new();
        for lv in &self.last_validator_powers {
            set_last_validator_power(state, &lv.address, lv.power);
            let v = self
                .validators
                .iter()
                .find(|v| v.operator == lv.address)
                .ok_or_else(|| {
                    invalid(format!("validator {} not found", lv.address.to_valoper()))
                })?;
            updates.push(ValidatorUpdate {
                pub_key: v.consensus_pubkey.0,
                power: lv.power,
            });
        }
        Ok(updates)
    }

    /// The section as it stands in `state` (`exported: true`).
    pub fn export(state: &(impl State + ?Sized)) -> Result<Genesis> {
        Ok(Genesis {
            params: params(state)?,
            last_total_power: last_total_power(state)?,
            last_validator_powers: last_validators(state)?
                .into_iter()
                .map(|(address, power)| LastValidatorPower { address, power })
                .collect(),
            validators: validators(state)?,
            delegations: all_delegations(state)?,
            unbonding_delegations: all_unbonding_delegations(state)?,
            redelegations: all_redelegations(state)?,
            exported: true,
        })
    }
}
