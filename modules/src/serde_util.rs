//! The JSON forms of the LCD that the modules' stored values share: numbers (and account
//! addresses) as strings, operator and consensus addresses as bech32 of their prefix,
//! durations as `"<seconds>s"`.

/// Anything written as its `Display` text and read back with `FromStr`: integers as decimal
/// strings (`"1000000"`), account addresses as `cosmos1…`.
pub(crate) mod text {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::fmt::Display;
    use std::str::FromStr;

    pub(crate) fn serialize<T: Display, S: Serializer>(v: &T, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&v.to_string())
    }

    pub(crate) fn deserialize<'de, T, D>(d: D) -> Result<T, D::Error>
    where
        T: FromStr,
        T::Err: Display,
        D: Deserializer<'de>,
    {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

/// A list of `u64` as a list of decimal strings.
pub(crate) mod u64_vec_str {
    use serde::{Deserialize, Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(v: &[u64], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(v.iter().map(|n| n.to_string()))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u64>, D::Error> {
        Vec::<String>::deserialize(d)?
            .iter()
            .map(|s| s.parse().map_err(serde::de::Error::custom))
            .collect()
    }
}

/// An operator address as `cosmosvaloper1…`.
pub(crate) mod valoper {
    use crate::Address;
    use serde::{Deserialize, Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(v: &Address, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&v.to_valoper())
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Address, D::Error> {
        Address::from_valoper(&String::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

/// A consensus address as `cosmosvalcons1…`.
pub(crate) mod valcons {
    use crate::address::VALCONS_HRP;
    use crate::Address;
    use serde::{Deserialize, Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(v: &Address, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&v.to_valcons())
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Address, D::Error> {
        Address::from_bech32(&String::deserialize(d)?, VALCONS_HRP)
            .map_err(serde::de::Error::custom)
    }
}

/// A protobuf `Duration` in its JSON form, whole seconds only: `"1814400s"`.
pub(crate) mod duration_secs {
    use serde::{Deserialize, Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(v: &u64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("{v}s"))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
        let text = String::deserialize(d)?;
        parse(&text).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "invalid duration {text:?}: expected whole seconds such as \"600s\""
            ))
        })
    }

    /// `"<digits>s"`, or `"<digits>.<zeros>s"` as Go prints a whole-second duration.
    pub(crate) fn parse(text: &str) -> Option<u64> {
        let body = text.strip_suffix('s')?;
        let (whole, frac) = body.split_once('.').unwrap_or((body, ""));
        if whole.is_empty() || !whole.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        if !frac.bytes().all(|b| b == b'0') {
            return None;
        }
        whole.parse().ok()
    }
}
