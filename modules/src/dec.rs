//! [`Dec`]: an exact signed decimal with 18 fractional digits — the Cosmos SDK's
//! `math.LegacyDec`, with its rounding rules, its text forms and its range.
//!
//! The value is kept as an integer `value × 10^18`. LegacyDec refuses results whose integer
//! needs more than 316 bits (256 + 60); so does `Dec`, so a computation that the SDK accepts
//! is accepted here with the same result, and one that would panic there is an error here.
//! Storage is 512 bits and every product or quotient is formed in 1024 bits, so no
//! intermediate can overflow before the range check.

use crate::{Amount, ModuleError, Result};
use bnum::cast::As;
use bnum::types::{I1024, I512, U512};
use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

/// Fractional digits.
pub const PRECISION: usize = 18;

/// LegacyDec's `maxDecBitLen`: the widest integer (value × 10^18) it accepts.
const MAX_BITS: u32 = 316;

/// 10^18 as an intermediate.
fn e18() -> I1024 {
    1_000_000_000_000_000_000u128.as_()
}

/// 10^36 as an intermediate (`Quo` scales by the precision twice).
fn e36() -> I1024 {
    e18() * e18()
}

fn overflow(op: &str) -> ModuleError {
    ModuleError::Math(format!("decimal {op} overflows"))
}

/// An exact decimal with 18 fractional digits (the SDK's `LegacyDec`).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Dec(I512);

impl Dec {
    /// Accept `v` (value × 10^18) if it is within LegacyDec's range.
    fn bounded(v: I1024, op: &str) -> Result<Dec> {
        if v.unsigned_abs().bit_width() > MAX_BITS {
            return Err(overflow(op));
        }
        Ok(Dec(v.as_()))
    }

    fn wide(self) -> I1024 {
        self.0.as_()
    }

    /// 0.
    pub fn zero() -> Dec {
        Dec(0u8.as_())
    }

    /// 1.
    pub fn one() -> Dec {
        Dec(1_000_000_000_000_000_000u128.as_())
    }

    /// The integer `amount` as a decimal (always in range: 2^128 × 10^18 < 2^316).
    pub fn from_int(amount: Amount) -> Dec {
        Dec((amount.as_::<I512>()) * 1_000_000_000_000_000_000u128.as_::<I512>())
    }

    /// Is it 0?
    pub fn is_zero(&self) -> bool {
        self.0 == 0u8.as_::<I512>()
    }

    /// Is it below 0?
    pub fn is_negative(&self) -> bool {
        self.0.is_negative()
    }

    /// Is it above 0?
    pub fn is_positive(&self) -> bool {
        self.0.is_positive()
    }

    /// `self + other`.
    #[allow(clippy::should_implement_trait)] // checked: an overflow is an error, not a panic
    pub fn add(self, other: Dec) -> Result<Dec> {
        Dec::bounded(self.wide() + other.wide(), "addition")
    }

    /// `self - other`.
    #[allow(clippy::should_implement_trait)] // checked: an overflow is an error, not a panic
    pub fn sub(self, other: Dec) -> Result<Dec> {
        Dec::bounded(self.wide() - other.wide(), "subtraction")
    }

    /// `self × other`, the 18th digit rounded half to even (LegacyDec `Mul`).
    #[allow(clippy::should_implement_trait)] // checked: an overflow is an error, not a panic
    pub fn mul(self, other: Dec) -> Result<Dec> {
        Dec::bounded(chop_round(self.wide() * other.wide()), "multiplication")
    }

    /// `self × other`, truncated toward zero at the 18th digit (LegacyDec `MulTruncate`).
    pub fn mul_truncate(self, other: Dec) -> Result<Dec> {
        Dec::bounded(self.wide() * other.wide() / e18(), "multiplication")
    }

    /// `self × n`, exact (LegacyDec `MulInt`).
    pub fn mul_int(self, n: Amount) -> Result<Dec> {
        Dec::bounded(self.wide() * n.as_::<I1024>(), "multiplication")
    }

    /// The quotient scaled by 10^36 and truncated: the first step of every LegacyDec `Quo*`.
    fn quo_scaled(self, other: Dec) -> Result<I1024> {
        if other.is_zero() {
            return Err(ModuleError::Math("decimal division by zero".into()));
        }
        Ok(self.wide() * e36() / other.wide())
    }

    /// `self / other`, the 18th digit rounded half to even (LegacyDec `Quo`).
    pub fn quo(self, other: Dec) -> Result<Dec> {
        Dec::bounded(chop_round(self.quo_scaled(other)?), "division")
    }

    /// `self / other`, truncated toward zero (LegacyDec `QuoTruncate`).
    pub fn quo_truncate(self, other: Dec) -> Result<Dec> {
        Dec::bounded(self.quo_scaled(other)? / e18(), "division")
    }

    /// `self / other`, rounded up at the 18th digit for positive results, truncated for
    /// negative ones (LegacyDec `QuoRoundUp`).
    pub fn quo_round_up(self, other: Dec) -> Result<Dec> {
        Dec::bounded(chop_round_up(self.quo_scaled(other)?), "division")
    }

    /// `self / n`, truncated toward zero (LegacyDec `QuoInt`).
    pub fn quo_int(self, n: Amount) -> Result<Dec> {
        if n == 0 {
            return Err(ModuleError::Math("decimal division by zero".into()));
        }
        Dec::bounded(self.wide() / n.as_::<I1024>(), "division")
    }

    fn to_amount(v: I1024) -> Result<Amount> {
        if v.is_negative() {
            return Err(ModuleError::Math(format!(
                "negative decimal {v} has no token amount"
            )));
        }
        Amount::try_from(v).map_err(|_| overflow("conversion to an amount"))
    }

    /// The integer part, truncated toward zero (LegacyDec `TruncateInt`); an error if that
    /// is negative or beyond `Amount`.
    pub fn truncate_int(self) -> Result<Amount> {
        Dec::to_amount(self.wide() / e18())
    }

    /// The nearest integer, halves to even (LegacyDec `RoundInt`); an error if negative or
    /// beyond `Amount`.
    pub fn round_int(self) -> Result<Amount> {
        Dec::to_amount(chop_round(self.wide()))
    }

    /// The smallest integer not below `self` (LegacyDec `Ceil`).
    pub fn ceil(self) -> Result<Dec> {
        let v = self.wide();
        let (quo, rem) = (v / e18(), v % e18());
        // A zero or negative remainder means truncation already went up (toward zero).
        let up = if rem.is_positive() {
            quo + 1u8.as_::<I1024>()
        } else {
            quo
        };
        Dec::bounded(up * e18(), "ceiling")
    }

    /// The integer string of `value × 10^18`: LegacyDec's protobuf wire form
    /// (`"50000000000000000"` for 0.05).
    pub fn to_atomics_string(&self) -> String {
        self.0.to_string()
    }

    /// Parse the protobuf wire form (see [`Dec::to_atomics_string`]).
    pub fn from_atomics_str(s: &str) -> Result<Dec> {
        let bad = |why: &str| ModuleError::InvalidRequest(format!("invalid decimal {s:?}: {why}"));
        let digits = s.strip_prefix('-').unwrap_or(s);
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad("expected an integer"));
        }
        let v = I1024::from_str_radix(s, 10).map_err(|_| bad("out of range"))?;
        Dec::bounded(v, "parse").map_err(|_| bad("out of range"))
    }
}

/// LegacyDec `chopPrecisionAndRound`: divide by 10^18, rounding half to even; the sign is
/// set aside so that rounding is symmetric.
fn chop_round(v: I1024) -> I1024 {
    if v.is_negative() {
        return -chop_round(-v);
    }
    let (quo, rem) = (v / e18(), v % e18());
    let half = e18() / 2u8.as_::<I1024>();
    let odd = quo % 2u8.as_::<I1024>() != 0u8.as_::<I1024>();
    match rem.cmp(&half) {
        Ordering::Less => quo,
        Ordering::Greater => quo + 1u8.as_::<I1024>(),
        Ordering::Equal if odd => quo + 1u8.as_::<I1024>(),
        Ordering::Equal => quo,
    }
}

/// LegacyDec `chopPrecisionAndRoundUp`: positive values round up, negative ones truncate.
fn chop_round_up(v: I1024) -> I1024 {
    if v.is_negative() {
        return -(-v / e18());
    }
    let (quo, rem) = (v / e18(), v % e18());
    if rem == 0u8.as_::<I1024>() {
        quo
    } else {
        quo + 1u8.as_::<I1024>()
    }
}

impl Default for Dec {
    fn default() -> Dec {
        Dec::zero()
    }
}

impl PartialOrd for Dec {
    fn partial_cmp(&self, other: &Dec) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Dec {
    fn cmp(&self, other: &Dec) -> Ordering {
        self.0.cmp(&other.0)
    }
}

impl fmt::Display for Dec {
    /// `"1.000000000000000000"`: always 18 decimals, as LegacyDec's `String`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let abs = self.0.unsigned_abs();
        let scale: U512 = 1_000_000_000_000_000_000u128.as_();
        let (int, frac) = (abs / scale, abs % scale);
        let sign = if self.is_negative() { "-" } else { "" };
        write!(f, "{sign}{int}.{:0>18}", frac.to_string())
    }
}

impl fmt::Debug for Dec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Dec({self})")
    }
}

impl FromStr for Dec {
    type Err = ModuleError;
    /// `"0.05"`, `"1"`, `"-2.5"`, `"1.000000000000000000"`; at most 18 decimals (LegacyDec's
    /// `NewDecFromStr`, with only ASCII digits accepted).
    fn from_str(s: &str) -> Result<Dec> {
        let bad = |why: &str| ModuleError::InvalidRequest(format!("invalid decimal {s:?}: {why}"));
        let (neg, body) = match s.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, s),
        };
        if body.is_empty() {
            return Err(bad("empty"));
        }
        let (int, frac) = match body.split_once('.') {
            None => (body, ""),
            Some((i, f)) if i.is_empty() || f.is_empty() => {
                return Err(bad("a decimal point needs digits on both sides"))
            }
            Some((i, f)) => (i, f),
        };
        if !(int.bytes().chain(frac.bytes())).all(|b| b.is_ascii_digit()) {
            return Err(bad("not a decimal number"));
        }
        if frac.len() > PRECISION {
            return Err(bad("more than 18 decimal places"));
        }
        let combined = format!("{int}{frac}{}", "0".repeat(PRECISION - frac.len()));
        let v = I1024::from_str_radix(&combined, 10).map_err(|_| bad("out of range"))?;
        let v = if neg { -v } else { v };
        Dec::bounded(v, "parse").map_err(|_| bad("out of range"))
    }
}

impl serde::Serialize for Dec {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> serde::Deserialize<'de> for Dec {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Dec, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Dec {
        s.parse().expect("test decimal")
    }

    #[test]
    fn text_round_trips_with_18_decimals() {
        assert_eq!(Dec::one().to_string(), "1.000000000000000000");
        assert_eq!(Dec::zero().to_string(), "0.000000000000000000");
        assert_eq!(d("0.05").to_string(), "0.050000000000000000");
        assert_eq!(d("1").to_string(), "1.000000000000000000");
        assert_eq!(d("-2.5").to_string(), "-2.500000000000000000");
        assert_eq!(
            d("0.000000000000000001").to_string(),
            "0.000000000000000001"
        );
        for bad in [
            "",
            "-",
            ".5",
            "5.",
            "1.2.3",
            "abc",
            "1e5",
            " 1",
            "+1",
            "0.0000000000000000001",
        ] {
            assert!(bad.parse::<Dec>().is_err(), "{bad:?} must be refused");
        }
        let json = serde_json::to_string(&d("0.1")).expect("json");
        assert_eq!(json, "\"0.100000000000000000\"");
        assert_eq!(serde_json::from_str::<Dec>(&json).expect("back"), d("0.1"));
    }

    #[test]
    fn atomics_are_the_protobuf_wire_form() {
        assert_eq!(d("0.05").to_atomics_string(), "50000000000000000");
        assert_eq!(
            Dec::from_atomics_str("50000000000000000").expect("parse"),
            d("0.05")
        );
        assert_eq!(
            Dec::from_atomics_str("1000000000000000000").expect("parse"),
            Dec::one()
        );
        assert!(Dec::from_atomics_str("0.05").is_err());
        assert!(Dec::from_atomics_str("").is_err());
    }

    #[test]
    fn quo_rounds_half_to_even_at_the_18th_digit() {
        let third = Dec::one().quo(d("3")).expect("quo");
        assert_eq!(third.to_string(), "0.333333333333333333");
        let two_thirds = d("2").quo(d("3")).expect("quo");
        assert_eq!(two_thirds.to_string(), "0.666666666666666667");
        assert_eq!(
            d("2").quo_truncate(d("3")).expect("quo").to_string(),
            "0.666666666666666666"
        );
        assert_eq!(
            Dec::one().quo_round_up(d("3")).expect("quo").to_string(),
            "0.333333333333333334"
        );
        assert_eq!(
            d("-1").quo_round_up(d("3")).expect("quo").to_string(),
            "-0.333333333333333333",
            "negative results truncate"
        );
        // 10^-18 / 2 = 0.5 at the last digit: even 0 stays; 3×10^-18 / 2 = 1.5 → 2.
        let tiny = d("0.000000000000000001");
        assert_eq!(tiny.quo(d("2")).expect("quo"), Dec::zero());
        assert_eq!(
            d("0.000000000000000003").quo(d("2")).expect("quo"),
            d("0.000000000000000002")
        );
        assert_eq!(
            d("-0.000000000000000003").quo(d("2")).expect("quo"),
            d("-0.000000000000000002"),
            "rounding is symmetric"
        );
        assert!(Dec::one().quo(Dec::zero()).is_err());
    }

    #[test]
    fn mul_rounds_half_to_even_and_mul_truncate_truncates() {
        // 0.5 × 10^-18 → 0 (even), 1.5 × 10^-18 → 2 × 10^-18.
        let tiny = d("0.000000000000000001");
        assert_eq!(tiny.mul(d("0.5")).expect("mul"), Dec::zero());
        assert_eq!(
            d("0.000000000000000003").mul(d("0.5")).expect("mul"),
            d("0.000000000000000002")
        );
        assert_eq!(
            d("0.000000000000000003")
                .mul_truncate(d("0.5"))
                .expect("mul"),
            tiny
        );
        assert_eq!(
            d("0.000000000000000007").mul(d("0.1")).expect("mul"),
            tiny,
            "0.7 rounds up"
        );
        // Large amounts stay exact: 10^25 × 1.5.
        let big = Dec::from_int(10u128.pow(25));
        assert_eq!(
            big.mul(d("1.5")).expect("mul").to_string(),
            "15000000000000000000000000.000000000000000000"
        );
        // 10^30 shares × 10^30 tokens (TokensFromShares on a huge validator) is exact.
        let shares = Dec::from_int(10u128.pow(30));
        let prod = shares.mul_int(10u128.pow(30)).expect("mul_int");
        assert_eq!(
            prod.quo(shares).expect("quo").truncate_int().expect("int"),
            10u128.pow(30)
        );
    }

    #[test]
    fn integers_truncate_round_and_ceil() {
        assert_eq!(d("2.5").truncate_int().expect("int"), 2);
        assert_eq!(d("2.5").round_int().expect("int"), 2, "half to even");
        assert_eq!(d("3.5").round_int().expect("int"), 4, "half to even");
        assert_eq!(d("2.500000000000000001").round_int().expect("int"), 3);
        assert_eq!(d("2.1").ceil().expect("ceil"), d("3"));
        assert_eq!(d("-2.1").ceil().expect("ceil"), d("-2"));
        assert_eq!(d("2").ceil().expect("ceil"), d("2"));
        assert_eq!(d("-0.5").truncate_int().expect("toward zero"), 0);
        assert!(d("-1").truncate_int().is_err());
        assert!(Dec::from_int(u128::MAX)
            .add(Dec::one())
            .expect("in range")
            .truncate_int()
            .is_err());
        assert_eq!(
            d("10").quo_int(3).expect("quo").to_string(),
            "3.333333333333333333"
        );
        assert_eq!(
            Dec::from_int(u128::MAX).truncate_int().expect("int"),
            u128::MAX
        );
    }

    #[test]
    fn overflow_is_an_error_not_a_wrap() {
        // The largest LegacyDec integer is 2^316 - 1 (scaled).
        let max = Dec::from_atomics_str(
            &(1u8.as_::<I1024>().checked_shl(316).expect("shift") - 1u8.as_::<I1024>()).to_string(),
        )
        .expect("max");
        assert!(max.add(Dec(1u8.as_())).is_err());
        assert!(max.mul(d("2")).is_err());
        assert!(max.mul_int(2).is_err());
        assert!(max.quo(d("0.5")).is_err());
        assert!(max.ceil().is_err(), "rounding up leaves the range");
        let neg = Dec::zero().sub(max).expect("negative max");
        assert!(neg.sub(Dec(1u8.as_())).is_err());
        assert!(Dec::from_atomics_str(&format!("1{}", "0".repeat(100))).is_err());
        assert_eq!(d("1").min(d("2")), d("1"));
        assert_eq!(d("-1").max(d("-2")), d("-1"));
        assert!(d("-0.1") < Dec::zero() && Dec::zero() < d("0.1"));
    }
}
