//! distribution's genesis section, the SDK's `app_state.distribution`:
//! `{"params": {...}, "fee_pool": {"community_pool": [...]}, "delegator_withdraw_infos": [...],
//! "previous_proposer": "", "outstanding_rewards": [...], "validator_accumulated_commissions":
//! [...], "validator_historical_rewards": [...], "validator_current_rewards": [...],
//! "delegator_starting_infos": [...], "validator_slash_events": [...]}` — everything but
//! `params` and `fee_pool` may be absent.
//!
//! Init it after bank's (which funds the module account) and before staking's, whose hooks
//! start the records of the genesis validators and delegations. The module account must hold
//! exactly the whole part of the outstanding rewards plus the community pool, or genesis is
//! refused.

use super::keeper::{
    community_pool, params, set_accumulated_commission, set_current_rewards, set_fee_pool,
    set_historical_rewards, set_outstanding, set_params, set_slash_event, set_starting_info,
    set_withdraw_address, MODULE_NAME,
};
use super::state_key as key;
use super::types::{
    DelegatorStartingInfo, FeePool, Params, ValidatorAccumulatedCommission,
    ValidatorCurrentRewards, ValidatorHistoricalRewards, ValidatorOutstandingRewards,
    ValidatorSlashEvent,
};
use super::DecCoins;
use crate::serde_util::{text, valoper};
use crate::state::State;
use crate::{auth, bank, Address, ModuleError, Result};
use serde::{Deserialize, Deserializer, Serialize};

/// `null` or absent as an empty list (gaiad writes both).
fn list<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> std::result::Result<Vec<T>, D::Error> {
    Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
}

/// A delegator's withdraw address.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DelegatorWithdrawInfo {
    /// The delegator.
    #[serde(with = "text")]
    pub delegator_address: Address,
    /// Where its rewards go.
    #[serde(with = "text")]
    pub withdraw_address: Address,
}

/// A validator's outstanding rewards.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidatorOutstandingRewardsRecord {
    /// The validator.
    #[serde(with = "valoper")]
    pub validator_address: Address,
    /// The rewards.
    pub outstanding_rewards: DecCoins,
}

/// A validator's accumulated commission.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidatorAccumulatedCommissionRecord {
    /// The validator.
    #[serde(with = "valoper")]
    pub validator_address: Address,
    /// The commission.
    pub accumulated: ValidatorAccumulatedCommission,
}

/// A validator's historical rewards for one period.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidatorHistoricalRewardsRecord {
    /// The validator.
    #[serde(with = "valoper")]
    pub validator_address: Address,
    /// The period.
    #[serde(with = "text")]
    pub period: u64,
    /// The record.
    pub rewards: ValidatorHistoricalRewards,
}

/// A validator's current rewards.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidatorCurrentRewardsRecord {
    /// The validator.
    #[serde(with = "valoper")]
    pub validator_address: Address,
    /// The record.
    pub rewards: ValidatorCurrentRewards,
}

/// A delegation's starting info.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DelegatorStartingInfoRecord {
    /// The delegator.
    #[serde(with = "text")]
    pub delegator_address: Address,
    /// The validator.
    #[serde(with = "valoper")]
    pub validator_address: Address,
    /// The record.
    pub starting_info: DelegatorStartingInfo,
}

/// A validator's slash event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidatorSlashEventRecord {
    /// The validator.
    #[serde(with = "valoper")]
    pub validator_address: Address,
    /// The height of the slash.
    #[serde(with = "text")]
    pub height: u64,
    /// The period it ended.
    #[serde(with = "text")]
    pub period: u64,
    /// The record.
    pub validator_slash_event: ValidatorSlashEvent,
}

/// `app_state.distribution`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Genesis {
    /// Params.
    pub params: Params,
    /// The fee pool.
    pub fee_pool: FeePool,
    /// Withdraw addresses.
    #[serde(default, deserialize_with = "list")]
    pub delegator_withdraw_infos: Vec<DelegatorWithdrawInfo>,
    /// The previous block's proposer: accepted and not kept (v0.50 pays no proposer reward).
    #[serde(default)]
    pub previous_proposer: String,
    /// Outstanding rewards.
    #[serde(default, deserialize_with = "list")]
    pub outstanding_rewards: Vec<ValidatorOutstandingRewardsRecord>,
    /// Accumulated commissions.
    #[serde(default, deserialize_with = "list")]
    pub validator_accumulated_commissions: Vec<ValidatorAccumulatedCommissionRecord>,
    /// Historical rewards.
    #[serde(default, deserialize_with = "list")]
    pub validator_historical_rewards: Vec<ValidatorHistoricalRewardsRecord>,
    /// Current rewards.
    #[serde(default, deserialize_with = "list")]
    pub validator_current_rewards: Vec<ValidatorCurrentRewardsRecord>,
    /// Starting infos.
    #[serde(default, deserialize_with = "list")]
    pub delegator_starting_infos: Vec<DelegatorStartingInfoRecord>,
    /// Slash events.
    #[serde(default, deserialize_with = "list")]
    pub validator_slash_events: Vec<ValidatorSlashEventRecord>,
}

fn scan<T: serde::de::DeserializeOwned>(
    state: &(impl State + ?Sized),
    prefix: &str,
) -> Result<Vec<(String, T)>> {
    state
        .prefix(prefix.as_bytes())?
        .into_iter()
        .map(|(k, v)| {
            let k = String::from_utf8_lossy(&k).into_owned();
            let value = serde_json::from_slice(&v).map_err(|e| ModuleError::Corrupt {
                key: k.clone(),
                reason: e.to_string(),
            })?;
            Ok((k[prefix.len()..].to_string(), value))
        })
        .collect()
}

fn corrupt(what: &str, rest: &str) -> ModuleError {
    ModuleError::Corrupt {
        key: format!("{what}{rest}"),
        reason: "malformed key".into(),
    }
}

/// `<first>/<second>` of a key suffix.
fn split2<'a>(what: &str, rest: &'a str) -> Result<(&'a str, &'a str)> {
    rest.split_once('/').ok_or_else(|| corrupt(what, rest))
}

fn number(what: &str, rest: &str, text: &str) -> Result<u64> {
    text.parse().map_err(|_| corrupt(what, rest))
}

impl Genesis {
    /// The SDK's `ValidateGenesis`: valid params (the fee pool's coins are valid by type).
    pub fn validate(&self) -> Result<()> {
        self.params.validate()
    }

    /// Write the section into `state` (after bank's, before staking's).
    pub fn init(&self, state: &mut (impl State + ?Sized)) -> Result<()> {
        self.validate()?;
        set_params(state, &self.params)?;
        set_fee_pool(state, &self.fee_pool)?;
        for w in &self.delegator_withdraw_infos {
            set_withdraw_address(state, &w.delegator_address, &w.withdraw_address);
        }
        let mut holdings = self.fee_pool.community_pool.clone();
        for r in &self.outstanding_rewards {
            set_outstanding(state, &r.validator_address, &r.outstanding_rewards)?;
            holdings = holdings.checked_add(&r.outstanding_rewards)?;
        }
        for c in &self.validator_accumulated_commissions {
            set_accumulated_commission(state, &c.validator_address, &c.accumulated.commission)?;
        }
        for h in &self.validator_historical_rewards {
            set_historical_rewards(state, &h.validator_address, h.period, &h.rewards)?;
        }
        for c in &self.validator_current_rewards {
            set_current_rewards(state, &c.validator_address, &c.rewards)?;
        }
        for s in &self.delegator_starting_infos {
            set_starting_info(
                state,
                &s.validator_address,
                &s.delegator_address,
                &s.starting_info,
            )?;
        }
        for e in &self.validator_slash_events {
            if e.period != e.validator_slash_event.validator_period {
                return Err(ModuleError::InvalidRequest(format!(
                    "slash event of {} at height {}: period {} differs from its validator period {}",
                    e.validator_address.to_valoper(),
                    e.height,
                    e.period,
                    e.validator_slash_event.validator_period
                )));
            }
            set_slash_event(
                state,
                &e.validator_address,
                e.height,
                &e.validator_slash_event,
            )?;
        }
        auth::ensure_module_account(state, MODULE_NAME)?;
        let (expected, _) = holdings.truncate_decimal()?;
        let balances = bank::all_balances(state, &Address::module(MODULE_NAME))?;
        if balances != expected {
            return Err(ModuleError::InvalidRequest(format!(
                "distribution module balance does not match the module holdings: {balances} <-> {expected}"
            )));
        }
        Ok(())
    }

    /// The section as it stands in `state`.
    pub fn export(state: &(impl State + ?Sized)) -> Result<Genesis> {
        let mut g = Genesis {
            params: params(state)?,
            fee_pool: FeePool {
                community_pool: community_pool(state)?,
            },
            ..Genesis::default()
        };
        for (rest, text) in state
            .prefix(key::WITHDRAW_ADDRESSES.as_bytes())?
            .into_iter()
            .map(|(k, v)| {
                (
                    String::from_utf8_lossy(&k[key::WITHDRAW_ADDRESSES.len()..]).into_owned(),
                    String::from_utf8_lossy(&v).into_owned(),
                )
            })
        {
            g.delegator_withdraw_infos.push(DelegatorWithdrawInfo {
                delegator_address: rest.parse()?,
                withdraw_address: text.parse()?,
            });
        }
        for (rest, r) in scan::<ValidatorOutstandingRewards>(state, key::OUTSTANDING)? {
            g.outstanding_rewards
                .push(ValidatorOutstandingRewardsRecord {
                    validator_address: Address::from_valoper(&rest)?,
                    outstanding_rewards: r.rewards,
                });
        }
        for (rest, accumulated) in scan(state, key::COMMISSION)? {
            g.validator_accumulated_commissions
                .push(ValidatorAccumulatedCommissionRecord {
                    validator_address: Address::from_valoper(&rest)?,
                    accumulated,
                });
        }
        for (rest, rewards) in scan(state, key::HISTORICAL)? {
            let (val, period) = split2(key::HISTORICAL, &rest)?;
            g.validator_historical_rewards
                .push(ValidatorHistoricalRewardsRecord {
                    validator_address: Address::from_valoper(val)?,
                    period: number(key::HISTORICAL, &rest, period)?,
                    rewards,
                });
        }
        for (rest, rewards) in scan(state, key::CURRENT)? {
            g.validator_current_rewards
                .push(ValidatorCurrentRewardsRecord {
                    validator_address: Address::from_valoper(&rest)?,
                    rewards,
                });
        }
        for (rest, starting_info) in scan(state, key::STARTING_INFO)? {
            let (val, del) = split2(key::STARTING_INFO, &rest)?;
            g.delegator_starting_infos
                .push(DelegatorStartingInfoRecord {
                    delegator_address: del.parse()?,
                    validator_address: Address::from_valoper(val)?,
                    starting_info,
                });
        }
        for (rest, event) in scan::<ValidatorSlashEvent>(state, key::SLASH_EVENTS)? {
            let (val, heights) = split2(key::SLASH_EVENTS, &rest)?;
            let (height, period) = split2(key::SLASH_EVENTS, heights)?;
            g.validator_slash_events.push(ValidatorSlashEventRecord {
                validator_address: Address::from_valoper(val)?,
                height: number(key::SLASH_EVENTS, &rest, height)?,
                period: number(key::SLASH_EVENTS, &rest, period)?,
                validator_slash_event: event,
            });
        }
        Ok(g)
    }
}
