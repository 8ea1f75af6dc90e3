//! mint: new tokens every block, at an inflation rate that drifts toward the rate that would
//! bond the goal share of the staking token — Cosmos SDK v0.50 `x/mint` with its default
//! inflation function. The block's provision is minted into the `mint` module account
//! ([`MODULE_NAME`]) and moved to the fee collector, where distribution picks it up with the
//! fees.
//!
//! State (readable and provable; JSON values are the SDK's LCD JSON):
//! - `mint/params` → [`Params`]
//! - `mint/minter` → [`Minter`] (`{"inflation": "0.13…", "annual_provisions": "…"}`)

pub mod genesis;
pub mod state_key;

use crate::serde_util::text;
use crate::state::{get_json, put_json, State};
use crate::{auth, bank, staking, Address, Amount, Coin, Coins, Dec, Event, ModuleError, Result};
use serde::{Deserialize, Serialize};

/// The mint module account, which creates the tokens.
pub const MODULE_NAME: &str = "mint";

/// `n / 100`, exact.
fn percent(n: u128) -> Dec {
    // n ≤ 100 here: the division by a non-zero integer cannot fail.
    Dec::from_int(n).quo_int(100).unwrap_or_default()
}

/// mint params, with the SDK's defaults.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Params {
    /// The denom minted.
    pub mint_denom: String,
    /// The most the inflation rate may change in a year.
    pub inflation_rate_change: Dec,
    /// The highest inflation rate.
    pub inflation_max: Dec,
    /// The lowest inflation rate.
    pub inflation_min: Dec,
    /// The bonded share of the staking token that inflation steers toward.
    pub goal_bonded: Dec,
    /// Expected blocks per year (6311520: a block every 5 s).
    #[serde(with = "text")]
    pub blocks_per_year: u64,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            mint_denom: "stake".into(),
            inflation_rate_change: percent(13),
            inflation_max: percent(20),
            inflation_min: percent(7),
            goal_bonded: percent(67),
            blocks_per_year: 60 * 60 * 8766 / 5,
        }
    }
}

impl Params {
    /// The SDK's `Params.Validate`, in its order and wording.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(ModuleError::InvalidRequest(m));
        if self.mint_denom.trim().is_empty() {
            return bad("mint denom cannot be blank".into());
        }
        if !crate::coin::valid_denom(&self.mint_denom) {
            return bad(format!("invalid denom: {}", self.mint_denom));
        }
        for (name, v) in [
            ("inflation rate change", self.inflation_rate_change),
            ("max inflation", self.inflation_max),
            ("min inflation", self.inflation_min),
        ] {
            if v.is_negative() {
                return bad(format!("{name} cannot be negative: {v}"));
            }
            if v > Dec::one() {
                return bad(format!("{name} too large: {v}"));
            }
        }
        if !self.goal_bonded.is_positive() {
            return bad(format!(
                "goal bonded must be positive: {}",
                self.goal_bonded
            ));
        }
        if self.goal_bonded > Dec::one() {
            return bad(format!("goal bonded too large: {}", self.goal_bonded));
        }
        if self.blocks_per_year == 0 {
            return bad(format!(
                "blocks per year must be positive: {}",
                self.blocks_per_year
            ));
        }
        if self.inflation_max < self.inflation_min {
            return bad(format!(
                "max inflation ({}) must be greater than or equal to min inflation ({})",
                self.inflation_max, self.inflation_min
            ));
        }
        Ok(())
    }
}

/// The minter's state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Minter {
    /// The current annual inflation rate.
    pub inflation: Dec,
    /// The current annual provisions: inflation × the staking token's supply.
    pub annual_provisions: Dec,
}

impl Default for Minter {
    /// `DefaultInitialMinter`: 13 % inflation, no provisions yet.
    fn default() -> Self {
        Minter {
            inflation: percent(13),
            annual_provisions: Dec::zero(),
        }
    }
}

impl Minter {
    /// `ValidateMinter`: the inflation is not negative.
    pub fn validate(&self) -> Result<()> {
        if self.inflation.is_negative() {
            return Err(ModuleError::InvalidRequest(format!(
                "mint parameter Inflation should be positive, is {}",
                self.inflation
            )));
        }
        Ok(())
    }

    /// `NextInflationRate`: the inflation moves by `(1 − bonded_ratio / goal_bonded) ×
    /// inflation_rate_change / blocks_per_year` — up while less than the goal is bonded,
    /// down while more is — and stays within [min, max].
    pub fn next_inflation_rate(&self, p: &Params, bonded_ratio: Dec) -> Result<Dec> {
        let per_year = Dec::one()
            .sub(bonded_ratio.quo(p.goal_bonded)?)?
            .mul(p.inflation_rate_change)?;
        let per_block = per_year.quo(Dec::from_int(u128::from(p.blocks_per_year)))?;
        let inflation = self.inflation.add(per_block)?;
        Ok(inflation.min(p.inflation_max).max(p.inflation_min))
    }

    /// `NextAnnualProvisions`: inflation × `total_supply`.
    pub fn next_annual_provisions(&self, total_supply: Amount) -> Result<Dec> {
        self.inflation.mul_int(total_supply)
    }

    /// `BlockProvision`: the annual provisions / blocks per year, truncated.
    pub fn block_provision(&self, p: &Params) -> Result<Coin> {
        let amount = self
            .annual_provisions
            .quo_int(u128::from(p.blocks_per_year))?
            .truncate_int()?;
        Ok(Coin {
            denom: p.mint_denom.clone(),
            amount,
        })
    }
}

/// The mint params (the SDK's defaults if never set).
pub fn params(state: &(impl State + ?Sized)) -> Result<Params> {
    Ok(get_json(state, state_key::PARAMS)?.unwrap_or_default())
}

/// Store the mint params, after checking them.
pub fn set_params(state: &mut (impl State + ?Sized), p: &Params) -> Result<()> {
    p.validate()?;
    put_json(state, state_key::PARAMS, p)
}

/// The minter (the default initial minter if never set).
pub fn minter(state: &(impl State + ?Sized)) -> Result<Minter> {
    Ok(get_json(state, state_key::MINTER)?.unwrap_or_default())
}

/// Store the minter, after checking it.
pub fn set_minter(state: &mut (impl State + ?Sized), m: &Minter) -> Result<()> {
    m.validate()?;
    put_json(state, state_key::MINTER, m)
}

/// The current annual inflation rate (the `Inflation` query).
pub fn inflation(state: &(impl State + ?Sized)) -> Result<Dec> {
    Ok(minter(state)?.inflation)
}

/// The current annual provisions (the `AnnualProvisions` query).
pub fn annual_provisions(state: &(impl State + ?Sized)) -> Result<Dec> {
    Ok(minter(state)?.annual_provisions)
}

/// staking's `BondedRatio`: the bonded pool's tokens / the bond denom's supply, truncated
/// (0 without supply).
pub fn bonded_ratio(state: &(impl State + ?Sized)) -> Result<Dec> {
    let supply = bank::supply_of(state, &staking::params(state)?.bond_denom)?;
    if supply == 0 {
        return Ok(Dec::zero());
    }
    let (_, bonded) = staking::pool(state)?;
    Dec::from_int(bonded).quo_int(supply)
}

/// The mint `BeginBlocker`: recompute the inflation from the bonded ratio and the annual
/// provisions from the staking token's supply, mint the block's provision into the mint
/// module account and move it to the fee collector. Returns the coin minted.
pub fn begin_block(state: &mut dyn State) -> Result<Coin> {
    let mut m = minter(&*state)?;
    let p = params(&*state)?;
    let total_staking_supply = bank::supply_of(&*state, &staking::params(&*state)?.bond_denom)?;
    let ratio = bonded_ratio(&*state)?;
    m.inflation = m.next_inflation_rate(&p, ratio)?;
    m.annual_provisions = m.next_annual_provisions(total_staking_supply)?;
    set_minter(state, &m)?;

    let minted = m.block_provision(&p)?;
    // A provision that truncates to zero mints an empty set of coins, as in the SDK.
    let coins = if minted.amount == 0 {
        Coins::new()
    } else {
        Coins::from_list(vec![minted.clone()])?
    };
    auth::ensure_module_account(state, MODULE_NAME)?;
    auth::ensure_module_account(state, auth::FEE_COLLECTOR)?;
    bank::mint(state, &Address::module(MODULE_NAME), &coins)?;
    bank::move_coins(
        state,
        &Address::module(MODULE_NAME),
        &Address::module(auth::FEE_COLLECTOR),
        &coins,
    )?;
    state.emit(Event::new(
        "mint",
        [
            ("bonded_ratio", ratio.to_string()),
            ("inflation", m.inflation.to_string()),
            ("annual_provisions", m.annual_provisions.to_string()),
            ("amount", minted.amount.to_string()),
        ],
    ));
    Ok(minted)
}

#[cfg(test)]
mod tests;
