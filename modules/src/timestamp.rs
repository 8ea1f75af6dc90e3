//! Time as modules see it: a [`Timestamp`] (UTC seconds and nanoseconds, written in RFC 3339
//! as Go writes `time.Time` in JSON) and the [`BlockCtx`] a module runs in. Modules have no
//! clock: the block's time comes in from consensus.

use crate::{ModuleError, Result};
use std::fmt;
use std::str::FromStr;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// 0001-01-01T00:00:00Z: the earliest time a protobuf `Timestamp` may hold.
const MIN_SECONDS: i64 = -62_135_596_800;
/// 9999-12-31T23:59:59Z: the latest.
const MAX_SECONDS: i64 = 253_402_300_799;

/// A UTC instant: seconds since 1970-01-01T00:00:00Z and nanoseconds within the second.
/// Valid between years 1 and 9999 with `nanos < 10^9` (protobuf `Timestamp`'s range, which
/// also keeps the fixed-width text of [`Timestamp::to_key_string`] in time order).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp {
    /// Seconds since the Unix epoch.
    pub seconds: i64,
    /// Nanoseconds, `0..10^9`.
    pub nanos: u32,
}

impl Timestamp {
    /// The Unix epoch, which the SDK writes for "no time" (`"1970-01-01T00:00:00Z"`).
    pub const EPOCH: Timestamp = Timestamp {
        seconds: 0,
        nanos: 0,
    };

    /// Go's zero `time.Time`, `"0001-01-01T00:00:00Z"` (what the SDK returns as the
    /// completion time of a redelegation that completes at once).
    pub const GO_ZERO: Timestamp = Timestamp {
        seconds: MIN_SECONDS,
        nanos: 0,
    };

    /// A timestamp, checking the range.
    pub fn new(seconds: i64, nanos: u32) -> Result<Timestamp> {
        let t = Timestamp { seconds, nanos };
        t.check()?;
        Ok(t)
    }

    fn check(&self) -> Result<()> {
        if !(MIN_SECONDS..=MAX_SECONDS).contains(&self.seconds) || self.nanos >= 1_000_000_000 {
            return Err(ModuleError::InvalidRequest(format!(
                "timestamp {}s {}ns is outside years 1 to 9999",
                self.seconds, self.nanos
            )));
        }
        Ok(())
    }

    /// `self + secs`, or `None` past year 9999 (or before year 1).
    pub fn checked_add_secs(&self, secs: i64) -> Option<Timestamp> {
        let t = Timestamp {
            seconds: self.seconds.checked_add(secs)?,
            nanos: self.nanos,
        };
        t.check().ok().map(|_| t)
    }

    /// Nanoseconds from `earlier` to `self` (negative if `self` is earlier).
    pub fn nanos_since(&self, earlier: &Timestamp) -> i128 {
        (i128::from(self.seconds) - i128::from(earlier.seconds)) * 1_000_000_000
            + (i128::from(self.nanos) - i128::from(earlier.nanos))
    }

    fn datetime(&self) -> Result<OffsetDateTime> {
        self.check()?;
        let bad = |e: &dyn fmt::Display| ModuleError::InvalidRequest(format!("timestamp: {e}"));
        OffsetDateTime::from_unix_timestamp(self.seconds)
            .map_err(|e| bad(&e))?
            .replace_nanosecond(self.nanos)
            .map_err(|e| bad(&e))
    }

    /// `YYYY-MM-DDTHH:MM:SS` in UTC.
    fn date_time_part(&self) -> Result<String> {
        let t = self.datetime()?;
        Ok(format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second()
        ))
    }

    /// RFC 3339 as Go's `time.RFC3339Nano` (what `encoding/json` writes): fractional seconds
    /// only when non-zero, trailing zeros dropped — `"2026-01-01T00:00:00Z"`,
    /// `"2026-01-01T00:00:00.5Z"`.
    pub fn to_rfc3339(&self) -> Result<String> {
        let base = self.date_time_part()?;
        if self.nanos == 0 {
            return Ok(format!("{base}Z"));
        }
        let frac = format!("{:09}", self.nanos);
        Ok(format!("{base}.{}Z", frac.trim_end_matches('0')))
    }

    /// RFC 3339 without fractional seconds, as Go's `time.RFC3339` layout prints (the SDK's
    /// `completion_time` event attributes).
    pub fn to_rfc3339_seconds(&self) -> Result<String> {
        Ok(format!("{}Z", self.date_time_part()?))
    }

    /// Fixed-width RFC 3339 with 9 fractional digits, whose byte order is time order (for
    /// queue keys): `"2026-01-01T00:00:00.000000000Z"`.
    pub fn to_key_string(&self) -> Result<String> {
        Ok(format!("{}.{:09}Z", self.date_time_part()?, self.nanos))
    }

    /// Parse RFC 3339 (any offset, converted to UTC; up to 9 fractional digits).
    pub fn parse(s: &str) -> Result<Timestamp> {
        let t = OffsetDateTime::parse(s, &Rfc3339).map_err(|e| {
            ModuleError::InvalidRequest(format!("invalid RFC 3339 time {s:?}: {e}"))
        })?;
        Timestamp::new(t.unix_timestamp(), t.nanosecond())
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.to_rfc3339() {
            Ok(s) => f.write_str(&s),
            // Out of range: say so rather than print a date that would not parse back.
            Err(_) => write!(f, "<invalid timestamp {}s {}ns>", self.seconds, self.nanos),
        }
    }
}

impl FromStr for Timestamp {
    type Err = ModuleError;
    fn from_str(s: &str) -> Result<Timestamp> {
        Timestamp::parse(s)
    }
}

impl serde::Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let text = self.to_rfc3339().map_err(serde::ser::Error::custom)?;
        s.serialize_str(&text)
    }
}

impl<'de> serde::Deserialize<'de> for Timestamp {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Timestamp, D::Error> {
        let s = String::deserialize(d)?;
        Timestamp::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// What a module knows about the block it runs in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlockCtx {
    /// The block's height.
    pub height: u64,
    /// The block's time (from its header: BFT time).
    pub time: Timestamp,
    /// The chain id.
    pub chain_id: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_as_go_prints_it() {
        assert_eq!(Timestamp::EPOCH.to_string(), "1970-01-01T00:00:00Z");
        let t = Timestamp::parse("2026-01-01T00:00:00Z").expect("parse");
        assert_eq!(t.seconds, 1_767_225_600);
        assert_eq!(t.to_string(), "2026-01-01T00:00:00Z");
        let frac = Timestamp::new(t.seconds, 500_000_000).expect("new");
        assert_eq!(frac.to_string(), "2026-01-01T00:00:00.5Z");
        assert_eq!(
            Timestamp::new(t.seconds, 380_144_238)
                .expect("new")
                .to_string(),
            "2026-01-01T00:00:00.380144238Z"
        );
        assert_eq!(
            frac.to_rfc3339_seconds().expect("fmt"),
            "2026-01-01T00:00:00Z"
        );
        assert_eq!(
            frac.to_key_string().expect("fmt"),
            "2026-01-01T00:00:00.500000000Z"
        );
        assert_eq!(
            Timestamp::parse("2026-01-01T02:00:00.5+02:00").expect("offset"),
            frac,
            "offsets convert to UTC"
        );
        assert_eq!(Timestamp::parse(&frac.to_string()).expect("back"), frac);
        assert!(Timestamp::parse("2026-01-01").is_err());
        assert!(Timestamp::parse("garbage").is_err());
        let json = serde_json::to_string(&frac).expect("json");
        assert_eq!(json, "\"2026-01-01T00:00:00.5Z\"");
        assert_eq!(
            serde_json::from_str::<Timestamp>(&json).expect("back"),
            frac
        );
    }

    #[test]
    fn order_arithmetic_and_range() {
        let a = Timestamp::new(100, 999_999_999).expect("a");
        let b = Timestamp::new(101, 0).expect("b");
        assert!(a < b);
        assert!(a.to_key_string().expect("a") < b.to_key_string().expect("b"));
        let before_epoch = Timestamp::new(-1, 0).expect("1969");
        assert_eq!(before_epoch.to_string(), "1969-12-31T23:59:59Z");
        assert!(before_epoch.to_key_string().expect("k") < a.to_key_string().expect("k"));
        assert_eq!(b.nanos_since(&a), 1);
        assert_eq!(
            a.checked_add_secs(1_814_400).expect("add").seconds,
            1_814_500
        );
        let end = Timestamp::new(MAX_SECONDS, 0).expect("9999");
        assert_eq!(end.to_string(), "9999-12-31T23:59:59Z");
        assert_eq!(end.checked_add_secs(1), None);
        assert!(Timestamp::new(0, 1_000_000_000).is_err());
        assert!(Timestamp::new(MIN_SECONDS - 1, 0).is_err());
        let invalid = Timestamp {
            seconds: i64::MAX,
            nanos: 0,
        };
        assert!(serde_json::to_string(&invalid).is_err());
    }
}
