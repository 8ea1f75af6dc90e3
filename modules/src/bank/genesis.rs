//! bank's genesis section, the SDK's `app_state.bank` shape:
//! `{"params": {...}, "balances": [{"address", "coins": [{"denom", "amount"}]}], "supply": [...]}`
//! with amounts as decimal strings.

use super::{
    all_denom_metadata, params, set_denom_metadata, set_params, state_key, Metadata, Params,
};
use crate::state::State;
use crate::{Address, Coin, Coins, ModuleError, Result};
use serde::{Deserialize, Serialize};

/// A coin as genesis JSON writes it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JsonCoin {
    /// Denom.
    pub denom: String,
    /// Amount, decimal.
    pub amount: String,
}

/// One account's balances.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Balance {
    /// Address (bech32).
    pub address: String,
    /// Its coins.
    pub coins: Vec<JsonCoin>,
}

/// `app_state.bank`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Genesis {
    /// Params.
    #[serde(default)]
    pub params: Params,
    /// Balances.
    #[serde(default)]
    pub balances: Vec<Balance>,
    /// Total supply; empty means "the sum of the balances".
    #[serde(default)]
    pub supply: Vec<JsonCoin>,
    /// Denoms' metadata.
    #[serde(default)]
    pub denom_metadata: Vec<Metadata>,
}

fn coins(list: &[JsonCoin]) -> Result<Coins> {
    Coins::from_list(
        list.iter()
            .map(|c| {
                let amount = c.amount.parse().map_err(|_| {
                    ModuleError::InvalidCoins(format!(
                        "invalid amount {:?} of {}",
                        c.amount, c.denom
                    ))
                })?;
                Coin::new(amount, &c.denom)
            })
            .collect::<Result<Vec<_>>>()?,
    )
}

impl Genesis {
    /// Check addresses, coins, duplicates and (if given) that supply is the sum of balances.
    /// Returns the supply.
    pub fn validate(&self) -> Result<Coins> {
        let mut seen = std::collections::BTreeSet::new();
        let mut sum = Coins::new();
        for b in &self.balances {
            let a: Address = b.address.parse()?;
            if !seen.insert(a) {
                return Err(ModuleError::InvalidRequest(format!(
                    "duplicate balance for {a}"
                )));
            }
            sum = sum.checked_add(&coins(&b.coins)?)?;
        }
        let mut bases = std::collections::BTreeSet::new();
        for m in &self.denom_metadata {
            Coin::new(0, &m.base).map_err(|_| {
                ModuleError::InvalidRequest(format!("invalid metadata base denom {:?}", m.base))
            })?;
            if !bases.insert(m.base.as_str()) {
                return Err(ModuleError::InvalidRequest(format!(
                    "duplicate metadata for denom {}",
                    m.base
                )));
            }
        }
        if !self.supply.is_empty() {
            let declared = coins(&self.supply)?;
            if declared != sum {
                return Err(ModuleError::InvalidCoins(format!(
                    "genesis supply is incorrect, expected {declared}, got {sum}"
                )));
            }
        }
        Ok(sum)
    }

    /// Write the section into `state` (accounts for every funded address are auth's job).
    pub fn init(&self, state: &mut (impl State + ?Sized)) -> Result<()> {
        let supply = self.validate()?;
        set_params(state, &self.params)?;
        for b in &self.balances {
            let a: Address = b.address.parse()?;
            for c in coins(&b.coins)?.iter() {
                state.put(
                    state_key::balance(&a, &c.denom).into_bytes(),
                    c.amount.to_string().into_bytes(),
                );
            }
        }
        for c in supply.iter() {
            state.put(
                state_key::supply(&c.denom).into_bytes(),
                c.amount.to_string().into_bytes(),
            );
        }
        for m in &self.denom_metadata {
            set_denom_metadata(state, m)?;
        }
        Ok(())
    }

    /// The section as it stands in `state`: params, every balance (grouped by address, in
    /// key order) and the supply.
    pub fn export(state: &(impl State + ?Sized)) -> Result<Genesis> {
        let corrupt =
            |k: &[u8]| ModuleError::Internal(format!("bank key {}", String::from_utf8_lossy(k)));
        let text = |k: &[u8], v: Vec<u8>| String::from_utf8(v).map_err(|_| corrupt(k));
        let mut balances: Vec<Balance> = Vec::new();
        for (k, v) in state.prefix(state_key::BALANCES.as_bytes())? {
            let rest =
                std::str::from_utf8(&k[state_key::BALANCES.len()..]).map_err(|_| corrupt(&k))?;
            let (address, denom) = rest.split_once('/').ok_or_else(|| corrupt(&k))?;
            let coin = JsonCoin {
                denom: denom.to_string(),
                amount: text(&k, v)?,
            };
            if coin.amount == "0" {
                continue;
            }
            match balances.last_mut() {
                Some(b) if b.address == address => b.coins.push(coin),
                _ => balances.push(Balance {
                    address: address.to_string(),
                    coins: vec![coin],
                }),
            }
        }
        let mut supply = Vec::new();
        for (k, v) in state.prefix(state_key::SUPPLY.as_bytes())? {
            let denom =
                std::str::from_utf8(&k[state_key::SUPPLY.len()..]).map_err(|_| corrupt(&k))?;
            supply.push(JsonCoin {
                denom: denom.to_string(),
                amount: text(&k, v)?,
            });
        }
        Ok(Genesis {
            params: params(state)?,
            balances,
            supply,
            denom_metadata: all_denom_metadata(state)?,
        })
    }
}
