//! Time as CometBFT carries it (a protobuf `Timestamp`), and BFT time: a block's time is the
//! voting-power-weighted median of the timestamps in the commit it carries, so no single
//! validator, and no minority of power, can move it.

use crate::{BlockIdFlag, Commit, Error, ValidatorSet};
use keystone_proto::Timestamp;
use std::fmt;

/// A UTC instant with nanosecond precision. Ordered; never read from a clock inside this crate.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Time {
    seconds: i64,
    nanos: u32,
}

impl Time {
    /// The Unix epoch.
    pub const UNIX_EPOCH: Time = Time {
        seconds: 0,
        nanos: 0,
    };

    /// Go's zero `time.Time` (0001-01-01T00:00:00Z): what CometBFT writes for an absent
    /// commit signature's timestamp, so it takes part in commit hashes.
    pub const GO_ZERO: Time = Time {
        seconds: -62_135_596_800,
        nanos: 0,
    };

    /// A time from seconds and nanoseconds since the Unix epoch.
    pub fn new(seconds: i64, nanos: u32) -> crate::Result<Self> {
        if nanos >= 1_000_000_000 {
            return Err(Error::TimestampNanos(nanos as i32));
        }
        Ok(Time { seconds, nanos })
    }

    /// A time from milliseconds since the Unix epoch (handy for simulated clocks).
    pub fn from_unix_millis(ms: i64) -> Self {
        Time {
            seconds: ms.div_euclid(1000),
            nanos: (ms.rem_euclid(1000) as u32) * 1_000_000,
        }
    }

    /// Nanoseconds since the Unix epoch.
    pub fn unix_nanos(&self) -> i128 {
        self.seconds as i128 * 1_000_000_000 + self.nanos as i128
    }

    /// Whole seconds since the Unix epoch.
    pub fn seconds(&self) -> i64 {
        self.seconds
    }

    /// Nanoseconds within the second.
    pub fn nanos(&self) -> u32 {
        self.nanos
    }

    /// This time plus `ms` milliseconds (saturating at the representable range).
    pub fn plus_millis(&self, ms: u64) -> Self {
        let total = self.unix_nanos().saturating_add(ms as i128 * 1_000_000);
        Time {
            seconds: total.div_euclid(1_000_000_000) as i64,
            nanos: total.rem_euclid(1_000_000_000) as u32,
        }
    }

    /// The protobuf form.
    pub fn to_proto(&self) -> Timestamp {
        Timestamp {
            seconds: self.seconds,
            nanos: self.nanos as i32,
        }
    }

    /// From the protobuf form; rejects nanos outside 0..1e9.
    pub fn from_proto(t: &Timestamp) -> crate::Result<Self> {
        if !(0..1_000_000_000).contains(&t.nanos) {
            return Err(Error::TimestampNanos(t.nanos));
        }
        Ok(Time {
            seconds: t.seconds,
            nanos: t.nanos as u32,
        })
    }
}

impl fmt::Debug for Time {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:09}s", self.seconds, self.nanos)
    }
}

/// BFT time of the block that carries `commit`: the weighted median of the commit's
/// timestamps, weights being the signers' voting powers in `validators` (the set that signed
/// the commit). Absent signatures do not count; nil votes do, as in CometBFT's `MedianTime`.
/// Signers unknown to `validators` are skipped (a verified commit has none).
pub fn median_time(commit: &Commit, validators: &ValidatorSet) -> Time {
    let mut weighted: Vec<(Time, i64)> = Vec::with_capacity(commit.signatures.len());
    let mut total: i64 = 0;
    for sig in &commit.signatures {
        if sig.block_id_flag == BlockIdFlag::Absent {
            continue;
        }
        if let Some(v) = validators.get_by_address(&sig.validator_address) {
            total = total.saturating_add(v.voting_power);
            weighted.push((sig.timestamp, v.voting_power));
        }
    }
    // Stable sort by time keeps the outcome independent of map order for equal times.
    weighted.sort_by_key(|(t, _)| *t);
    let mut median = total / 2;
    for (t, w) in weighted {
        if median <= w {
            return t;
        }
        median -= w;
    }
    Time::default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn millis_round_trip_and_negative() {
        let t = Time::from_unix_millis(-1);
        assert_eq!(t.seconds(), -1);
        assert_eq!(t.nanos(), 999_000_000);
        assert_eq!(t.plus_millis(1), Time::UNIX_EPOCH);
        assert!(Time::new(0, 1_000_000_000).is_err());
        assert!(Time::from_proto(&Timestamp {
            seconds: 0,
            nanos: -1
        })
        .is_err());
    }
}
