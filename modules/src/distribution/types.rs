//! distribution's params and records, in the SDK's LCD JSON shape (`uint64` fields as decimal
//! strings, `uint32` as numbers, decimals with 18 digits).

use super::DecCoins;
use crate::serde_util::text;
use crate::{Dec, ModuleError, Result};
use serde::{Deserialize, Serialize};

/// distribution params, with the SDK's defaults.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Params {
    /// The share of every block's fees that goes to the community pool.
    pub community_tax: Dec,
    /// Deprecated in v0.50 (no proposer reward); kept for the JSON shape, always 0.
    pub base_proposer_reward: Dec,
    /// Deprecated in v0.50 (no proposer reward); kept for the JSON shape, always 0.
    pub bonus_proposer_reward: Dec,
    /// Whether delegators may set a withdraw address other than their own.
    pub withdraw_addr_enabled: bool,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            community_tax: Dec::from_int(2).quo_int(100).unwrap_or_default(),
            base_proposer_reward: Dec::zero(),
            bonus_proposer_reward: Dec::zero(),
            withdraw_addr_enabled: true,
        }
    }
}

impl Params {
    /// The SDK's `Params.ValidateBasic`: the community tax is within [0, 1].
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(ModuleError::InvalidRequest(m));
        if self.community_tax.is_negative() {
            return bad(format!(
                "community tax must be positive: {}",
                self.community_tax
            ));
        }
        if self.community_tax > Dec::one() {
            return bad(format!("community tax too large: {}", self.community_tax));
        }
        Ok(())
    }
}

/// The fee pool: what belongs to the community.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeePool {
    /// The community pool.
    pub community_pool: DecCoins,
}

/// A validator's rewards not yet paid out: its delegators' and its commission.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidatorOutstandingRewards {
    /// The rewards.
    pub rewards: DecCoins,
}

/// A validator's commission not yet withdrawn.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidatorAccumulatedCommission {
    /// The commission.
    pub commission: DecCoins,
}

/// The rewards of the validator's current period (not yet divided by its tokens).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidatorCurrentRewards {
    /// The rewards.
    pub rewards: DecCoins,
    /// The current period (the first is 1).
    #[serde(with = "text")]
    pub period: u64,
}

/// The cumulative reward per token at the end of a period, kept while a delegation or a
/// slash event refers to it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidatorHistoricalRewards {
    /// Rewards per token, summed over every period up to this one.
    pub cumulative_reward_ratio: DecCoins,
    /// How many records refer to this period (at most 2: the next period or a
    /// delegation, and a slash event).
    pub reference_count: u32,
}

/// A slash of a validator, between two of its periods.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidatorSlashEvent {
    /// The period the slash ended.
    #[serde(with = "text")]
    pub validator_period: u64,
    /// The fraction of the validator's tokens slashed.
    pub fraction: Dec,
}

/// Where a delegation's rewards start: the period before it and its tokens then.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DelegatorStartingInfo {
    /// The last period ended before the delegation (last) changed.
    #[serde(with = "text")]
    pub previous_period: u64,
    /// Its tokens then (shares × tokens per share, truncated).
    pub stake: Dec,
    /// The height it (last) changed.
    #[serde(with = "text")]
    pub height: u64,
}
