//! The JSON forms of the LCD that slashing needs: `int64` as a decimal string, consensus
//! addresses as `cosmosvalcons1…`, durations as `"<seconds>s"`.

pub(crate) mod i64_str {
    use serde::{Deserialize, Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(v: &i64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&v.to_string())
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

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

/// A protobuf `Duration` in its JSON form, whole seconds only: `"600s"`.
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
    fn parse(text: &str) -> Option<u64> {
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
