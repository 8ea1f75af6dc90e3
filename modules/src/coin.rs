//! Coins: a denomination and an amount. Amounts are `u128` with checked arithmetic; a set of
//! [`Coins`] is sorted by denom, with no duplicates and no zero amounts — the SDK's
//! `sdk.Coins` invariants.

use crate::{ModuleError, Result};
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

/// A token amount.
pub type Amount = u128;

/// Is `d` a valid denom (`[a-zA-Z][a-zA-Z0-9/:._-]{2,127}`, the SDK's rule)?
pub fn valid_denom(d: &str) -> bool {
    let b = d.as_bytes();
    (3..=128).contains(&b.len())
        && b[0].is_ascii_alphabetic()
        && b[1..]
            .iter()
            .all(|c| c.is_ascii_alphanumeric() || b"/:._-".contains(c))
}

/// One coin.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct Coin {
    /// The denomination.
    pub denom: String,
    /// The amount.
    pub amount: Amount,
}

impl Coin {
    /// A coin, checking the denom.
    pub fn new(amount: Amount, denom: &str) -> Result<Coin> {
        if !valid_denom(denom) {
            return Err(ModuleError::InvalidCoins(format!("invalid denom: {denom}")));
        }
        Ok(Coin {
            denom: denom.into(),
            amount,
        })
    }
}

impl fmt::Display for Coin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.amount, self.denom)
    }
}

impl FromStr for Coin {
    type Err = ModuleError;
    /// `"100stake"`.
    fn from_str(s: &str) -> Result<Coin> {
        let s = s.trim();
        let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
        let (num, denom) = s.split_at(split);
        if num.is_empty() {
            return Err(ModuleError::InvalidCoins(format!(
                "invalid coin expression: {s}"
            )));
        }
        let amount = num
            .parse::<Amount>()
            .map_err(|_| ModuleError::InvalidCoins(format!("amount out of range: {s}")))?;
        Coin::new(amount, denom)
    }
}

/// A set of coins: sorted by denom, no duplicates, no zeros.
#[derive(Clone, PartialEq, Eq, Default, Debug)]
pub struct Coins(BTreeMap<String, Amount>);

impl Coins {
    /// No coins.
    pub fn new() -> Coins {
        Coins::default()
    }

    /// From a list, rejecting duplicate denoms and zero amounts (an SDK `Coins.Validate`).
    pub fn from_list(list: Vec<Coin>) -> Result<Coins> {
        let mut out = BTreeMap::new();
        for c in list {
            if !valid_denom(&c.denom) {
                return Err(ModuleError::InvalidCoins(format!(
                    "invalid denom: {}",
                    c.denom
                )));
            }
            if c.amount == 0 {
                return Err(ModuleError::InvalidCoins(format!(
                    "coin {c} amount is not positive"
                )));
            }
            if out.insert(c.denom.clone(), c.amount).is_some() {
                return Err(ModuleError::InvalidCoins(format!(
                    "duplicate denomination {}",
                    c.denom
                )));
            }
        }
        Ok(Coins(out))
    }

    /// Iterate in denom order.
    pub fn iter(&self) -> impl Iterator<Item = Coin> + '_ {
        self.0.iter().map(|(d, a)| Coin {
            denom: d.clone(),
            amount: *a,
        })
    }

    /// No coins at all.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Amount of `denom` (0 if absent).
    pub fn amount_of(&self, denom: &str) -> Amount {
        self.0.get(denom).copied().unwrap_or(0)
    }

    /// `self + other`, an error on overflow.
    pub fn checked_add(&self, other: &Coins) -> Result<Coins> {
        let mut out = self.0.clone();
        for (d, a) in &other.0 {
            let e = out.entry(d.clone()).or_insert(0);
            *e = e
                .checked_add(*a)
                .ok_or_else(|| ModuleError::InvalidCoins(format!("amount of {d} overflows")))?;
        }
        Ok(Coins(out))
    }
}

impl fmt::Display for Coins {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self.iter().map(|c| c.to_string()).collect();
        f.write_str(&parts.join(","))
    }
}

impl FromStr for Coins {
    type Err = ModuleError;
    /// `"100stake,5uatom"` (empty string: no coins).
    fn from_str(s: &str) -> Result<Coins> {
        if s.trim().is_empty() {
            return Ok(Coins::new());
        }
        Coins::from_list(
            s.split(',')
                .map(str::parse)
                .collect::<Result<Vec<Coin>>>()?,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_print() {
        let c: Coins = "5uatom,100stake".parse().expect("parse");
        assert_eq!(c.to_string(), "100stake,5uatom");
        assert_eq!(c.amount_of("stake"), 100);
        assert!("100".parse::<Coins>().is_err());
        assert!("stake".parse::<Coins>().is_err());
        assert!("0stake".parse::<Coins>().is_err(), "zero");
        assert!("1stake,2stake".parse::<Coins>().is_err(), "duplicate");
        assert!(
            "1abc".parse::<Coins>().is_ok(),
            "three characters is the minimum"
        );
        assert!("1ab".parse::<Coins>().is_err(), "two is too few");

        assert!("1Stake!".parse::<Coins>().is_err(), "bad character");
        assert!(
            "340282366920938463463374607431768211456stake"
                .parse::<Coins>()
                .is_err(),
            "2^128 is out of range"
        );
        assert!("ibc/27394FB092D2ECCD56123C74F36E4C1F926001CEADA9CA97EA622B25F41E5EB2".len() > 3);
        assert!(
            "7ibc/27394FB092D2ECCD56123C74F36E4C1F926001CEADA9CA97EA622B25F41E5EB2"
                .parse::<Coins>()
                .is_ok()
        );
    }

    #[test]
    fn checked_add_refuses_overflow() {
        let max =
            Coins::from_list(vec![Coin::new(u128::MAX, "stake").expect("coin")]).expect("coins");
        let one: Coins = "1stake".parse().expect("parse");
        assert!(max.checked_add(&one).is_err());
        assert_eq!(one.checked_add(&one).expect("add").amount_of("stake"), 2);
    }
}
