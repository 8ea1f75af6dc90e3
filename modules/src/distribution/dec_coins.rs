//! [`DecCoins`]: amounts of several denoms as exact decimals — the SDK's `sdk.DecCoins`, in
//! which rewards are counted until they are paid out as whole [`Coins`].

use crate::coin::valid_denom;
use crate::{Coin, Coins, Dec, ModuleError, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// One decimal coin, in the LCD's JSON: `{"denom": "stake", "amount": "1.500000000000000000"}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecCoin {
    /// The denomination.
    pub denom: String,
    /// The amount.
    pub amount: Dec,
}

/// Decimal amounts by denom: sorted by denom, no duplicates, every amount positive (the SDK's
/// `DecCoins` invariants). Operations are checked: a result that would hold a negative amount
/// is an error, where the SDK panics.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DecCoins(BTreeMap<String, Dec>);

fn negative(op: &str) -> ModuleError {
    ModuleError::Math(format!("negative coin amount from decimal coins {op}"))
}

impl DecCoins {
    /// No coins.
    pub fn new() -> DecCoins {
        DecCoins::default()
    }

    /// From a list in any order, refusing invalid denoms, duplicates and amounts that are not
    /// positive (`DecCoins.Validate` without the order requirement).
    pub fn from_list(list: Vec<DecCoin>) -> Result<DecCoins> {
        let mut out = BTreeMap::new();
        for c in list {
            if !valid_denom(&c.denom) {
                return Err(ModuleError::InvalidCoins(format!(
                    "invalid denom: {}",
                    c.denom
                )));
            }
            if !c.amount.is_positive() {
                return Err(ModuleError::InvalidCoins(format!(
                    "coin {}{} amount is not positive",
                    c.amount, c.denom
                )));
            }
            if out.insert(c.denom.clone(), c.amount).is_some() {
                return Err(ModuleError::InvalidCoins(format!(
                    "duplicate denomination {}",
                    c.denom
                )));
            }
        }
        Ok(DecCoins(out))
    }

    /// The same amounts as decimals (`NewDecCoinsFromCoins`).
    pub fn from_coins(coins: &Coins) -> DecCoins {
        DecCoins(
            coins
                .iter()
                .map(|c| (c.denom, Dec::from_int(c.amount)))
                .collect(),
        )
    }

    /// The coins in denom order.
    pub fn iter(&self) -> impl Iterator<Item = DecCoin> + '_ {
        self.0.iter().map(|(d, a)| DecCoin {
            denom: d.clone(),
            amount: *a,
        })
    }

    /// No coins at all (the SDK's `IsZero`: there are no zero entries).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The amount of `denom` (0 if absent).
    pub fn amount_of(&self, denom: &str) -> Dec {
        self.0.get(denom).copied().unwrap_or_default()
    }

    /// Every entry mapped by `f`; zero results dropped, negative ones refused.
    fn map(&self, op: &str, f: impl Fn(Dec) -> Result<Dec>) -> Result<DecCoins> {
        let mut out = BTreeMap::new();
        for (d, a) in &self.0 {
            let v = f(*a)?;
            if v.is_negative() {
                return Err(negative(op));
            }
            if !v.is_zero() {
                out.insert(d.clone(), v);
            }
        }
        Ok(DecCoins(out))
    }

    /// `self + other`.
    pub fn checked_add(&self, other: &DecCoins) -> Result<DecCoins> {
        let mut out = self.0.clone();
        for (d, a) in &other.0 {
            let sum = out.get(d).copied().unwrap_or_default().add(*a)?;
            out.insert(d.clone(), sum);
        }
        Ok(DecCoins(out))
    }

    /// `self - other`; an error if any amount would be negative (the SDK's `Sub` panics).
    pub fn checked_sub(&self, other: &DecCoins) -> Result<DecCoins> {
        let mut out = self.0.clone();
        for (d, a) in &other.0 {
            let diff = out.get(d).copied().unwrap_or_default().sub(*a)?;
            if diff.is_negative() {
                return Err(negative("subtraction"));
            }
            if diff.is_zero() {
                out.remove(d);
            } else {
                out.insert(d.clone(), diff);
            }
        }
        Ok(DecCoins(out))
    }

    /// Each amount × `d`, rounded half to even (`MulDec`).
    pub fn mul_dec(&self, d: Dec) -> Result<DecCoins> {
        self.map("multiplication", |a| a.mul(d))
    }

    /// Each amount × `d`, truncated (`MulDecTruncate`).
    pub fn mul_dec_truncate(&self, d: Dec) -> Result<DecCoins> {
        self.map("multiplication", |a| a.mul_truncate(d))
    }

    /// Each amount / `d`, truncated (`QuoDecTruncate`); an error for `d` = 0.
    pub fn quo_dec_truncate(&self, d: Dec) -> Result<DecCoins> {
        self.map("division", |a| a.quo_truncate(d))
    }

    /// For each denom of `self`, the smaller of the two amounts (`Intersect`).
    pub fn intersect(&self, other: &DecCoins) -> DecCoins {
        DecCoins(
            self.0
                .iter()
                .map(|(d, a)| (d.clone(), (*a).min(other.amount_of(d))))
                .filter(|(_, a)| a.is_positive())
                .collect(),
        )
    }

    /// The whole parts as coins and the fractional parts left over (`TruncateDecimal`).
    pub fn truncate_decimal(&self) -> Result<(Coins, DecCoins)> {
        let (mut whole, mut change) = (Vec::new(), BTreeMap::new());
        for (d, a) in &self.0 {
            let int = a.truncate_int()?;
            let rest = a.sub(Dec::from_int(int))?;
            if int > 0 {
                whole.push(Coin {
                    denom: d.clone(),
                    amount: int,
                });
            }
            if !rest.is_zero() {
                change.insert(d.clone(), rest);
            }
        }
        Ok((Coins::from_list(whole)?, DecCoins(change)))
    }
}

impl fmt::Display for DecCoins {
    /// `"1.500000000000000000stake,2.000000000000000000uatom"`, as the SDK prints them in
    /// events (empty for no coins).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self.0.iter().map(|(d, a)| format!("{a}{d}")).collect();
        f.write_str(&parts.join(","))
    }
}

impl Serialize for DecCoins {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_seq(self.iter())
    }
}

impl<'de> Deserialize<'de> for DecCoins {
    /// A list (or `null`, which gaiad writes for an empty one).
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<DecCoins, D::Error> {
        let list = Option::<Vec<DecCoin>>::deserialize(d)?.unwrap_or_default();
        DecCoins::from_list(list).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dc(s: &[(&str, &str)]) -> DecCoins {
        DecCoins::from_list(
            s.iter()
                .map(|(d, a)| DecCoin {
                    denom: (*d).into(),
                    amount: a.parse().expect("decimal"),
                })
                .collect(),
        )
        .expect("dec coins")
    }

    #[test]
    fn arithmetic_keeps_the_invariants() {
        let a = dc(&[("stake", "1.5"), ("atom", "2")]);
        let b = dc(&[("stake", "1.5")]);
        assert_eq!(a.checked_sub(&b).expect("sub"), dc(&[("atom", "2")]));
        assert!(b.checked_sub(&a).is_err(), "negative atom");
        assert_eq!(
            a.checked_add(&b).expect("add"),
            dc(&[("stake", "3"), ("atom", "2")])
        );
        assert_eq!(
            a.to_string(),
            "2.000000000000000000atom,1.500000000000000000stake"
        );
        let third = Dec::one().quo(Dec::from_int(3)).expect("third");
        assert_eq!(
            dc(&[("stake", "1")]).mul_dec_truncate(third).expect("mul"),
            dc(&[("stake", "0.333333333333333333")])
        );
        assert_eq!(
            dc(&[("stake", "2")])
                .quo_dec_truncate(Dec::from_int(3))
                .expect("quo"),
            dc(&[("stake", "0.666666666666666666")])
        );
        assert_eq!(
            dc(&[("stake", "0.000000000000000001")])
                .mul_dec(Dec::one().quo(Dec::from_int(2)).expect("half"))
                .expect("mul"),
            DecCoins::new(),
            "a product rounding to zero leaves no entry"
        );
        assert_eq!(
            a.intersect(&dc(&[("stake", "1"), ("uosmo", "5")])),
            dc(&[("stake", "1")])
        );
        let (whole, change) = a.truncate_decimal().expect("truncate");
        assert_eq!(whole.to_string(), "2atom,1stake");
        assert_eq!(change, dc(&[("stake", "0.5")]));
        assert!(a.mul_dec("-1".parse().expect("dec")).is_err());
    }

    #[test]
    fn json_is_the_lcd_shape() {
        let a = dc(&[("stake", "1.5")]);
        let json = serde_json::to_string(&a).expect("json");
        assert_eq!(
            json,
            r#"[{"denom":"stake","amount":"1.500000000000000000"}]"#
        );
        assert_eq!(serde_json::from_str::<DecCoins>(&json).expect("back"), a);
        assert_eq!(
            serde_json::from_str::<DecCoins>("null").expect("null"),
            DecCoins::new()
        );
        for bad in [
            r#"[{"denom":"stake","amount":"0"}]"#,
            r#"[{"denom":"stake","amount":"-1"}]"#,
            r#"[{"denom":"stake","amount":"1"},{"denom":"stake","amount":"2"}]"#,
            r#"[{"denom":"s","amount":"1"}]"#,
        ] {
            assert!(serde_json::from_str::<DecCoins>(bad).is_err(), "{bad}");
        }
    }
}
