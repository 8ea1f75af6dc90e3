//! slashing's records in the SDK's LCD JSON shape, and what consensus hands the module: the
//! last commit's votes and equivocation evidence.

use crate::serde_util::{duration_secs, text, valcons};
use crate::{Address, Dec, ModuleError, Result, Timestamp};
use serde::{Deserialize, Serialize};

/// `DoubleSignJailEndTime`, 9999-12-31T23:59:59Z: a double signer's `jailed_until`, which
/// with the tombstone means "never".
pub const DOUBLE_SIGN_JAIL_END_TIME: Timestamp = Timestamp {
    seconds: 253_402_300_799,
    nanos: 0,
};

/// The longest whole-second duration Go's `time.Duration` (int64 nanoseconds) holds.
const MAX_GO_DURATION_SECS: u64 = 9_223_372_036;

/// slashing params, with the SDK's defaults.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Params {
    /// The sliding window of blocks over which liveness is judged.
    #[serde(with = "text")]
    pub signed_blocks_window: i64,
    /// The share of the window a validator must sign.
    pub min_signed_per_window: Dec,
    /// How long a validator jailed for downtime stays jailed, in seconds (JSON `"600s"`).
    #[serde(with = "duration_secs")]
    pub downtime_jail_duration: u64,
    /// The share of the stake burned for a double sign.
    pub slash_fraction_double_sign: Dec,
    /// The share of the stake burned for downtime.
    pub slash_fraction_downtime: Dec,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            signed_blocks_window: 100,
            min_signed_per_window: Dec::one().quo_int(2).expect("0.5 is a valid decimal"),
            downtime_jail_duration: 600,
            slash_fraction_double_sign: Dec::one().quo_int(20).expect("0.05 is a valid decimal"),
            slash_fraction_downtime: Dec::one().quo_int(100).expect("0.01 is a valid decimal"),
        }
    }
}

impl Params {
    /// The SDK's `Params.Validate`, in its order.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(ModuleError::InvalidRequest(m));
        if self.signed_blocks_window <= 0 {
            return bad(format!(
                "signed blocks window must be positive: {}",
                self.signed_blocks_window
            ));
        }
        let min = self.min_signed_per_window;
        if min.is_negative() {
            return bad(format!("min signed per window cannot be negative: {min}"));
        }
        if min > Dec::one() {
            return bad(format!("min signed per window too large: {min}"));
        }
        if self.downtime_jail_duration == 0 {
            return bad("downtime jail duration must be positive: 0s".into());
        }
        // Go could not even decode a longer one.
        if self.downtime_jail_duration > MAX_GO_DURATION_SECS {
            return bad(format!(
                "downtime jail duration too large: {}s",
                self.downtime_jail_duration
            ));
        }
        let double = self.slash_fraction_double_sign;
        if double.is_negative() {
            return bad(format!(
                "double sign slash fraction cannot be negative: {double}"
            ));
        }
        if double > Dec::one() {
            return bad(format!("double sign slash fraction too large: {double}"));
        }
        let downtime = self.slash_fraction_downtime;
        if downtime.is_negative() {
            return bad(format!(
                "downtime slash fraction cannot be negative: {downtime}"
            ));
        }
        if downtime > Dec::one() {
            return bad(format!("downtime slash fraction too large: {downtime}"));
        }
        Ok(())
    }

    /// `MinSignedPerWindow`: the blocks of the window a validator must sign,
    /// `round(min_signed_per_window × window)` (halves to even, as `RoundInt64`).
    pub fn min_signed_blocks(&self) -> Result<i64> {
        let window = u128::try_from(self.signed_blocks_window).map_err(|_| {
            ModuleError::InvalidRequest(format!(
                "signed blocks window must be positive: {}",
                self.signed_blocks_window
            ))
        })?;
        let blocks = self.min_signed_per_window.mul_int(window)?.round_int()?;
        // At most the window itself (min_signed_per_window ≤ 1), which is an i64.
        i64::try_from(blocks).map_err(|_| ModuleError::Math("min signed blocks overflow".into()))
    }
}

/// A validator's liveness record (`ValidatorSigningInfo`, the LCD's JSON).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidatorSigningInfo {
    /// The consensus address (`cosmosvalcons1…`).
    #[serde(with = "valcons")]
    pub address: Address,
    /// The height it (last) bonded at: liveness is judged only a window after it.
    #[serde(with = "text", default)]
    pub start_height: i64,
    /// Blocks counted so far; `index_offset % window` is the next bitmap index.
    #[serde(with = "text", default)]
    pub index_offset: i64,
    /// Until when it stays jailed (the epoch if never jailed for downtime).
    #[serde(default = "go_zero_time")]
    pub jailed_until: Timestamp,
    /// Punished for double signing: it can never be unjailed.
    #[serde(default)]
    pub tombstoned: bool,
    /// Blocks missed in the window (the bitmap's population).
    #[serde(with = "text", default)]
    pub missed_blocks_counter: i64,
}

/// What Go decodes a missing `Timestamp` as.
fn go_zero_time() -> Timestamp {
    Timestamp::GO_ZERO
}

impl ValidatorSigningInfo {
    /// A fresh record for a validator that bonded at `start_height`
    /// (`NewValidatorSigningInfo(addr, height, 0, time.Unix(0, 0), false, 0)`).
    pub fn new(address: Address, start_height: i64) -> ValidatorSigningInfo {
        ValidatorSigningInfo {
            address,
            start_height,
            index_offset: 0,
            jailed_until: Timestamp::EPOCH,
            tombstoned: false,
            missed_blocks_counter: 0,
        }
    }
}

/// One vote of the last commit, as the app reads it from `FinalizeBlock`'s
/// `decided_last_commit`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VoteInfo {
    /// The validator's consensus address (`sha256(ed25519 key)[..20]`).
    pub address: [u8; 20],
    /// Its power in the set that signed that block.
    pub power: i64,
    /// Whether its vote is in the commit: any block-id flag but `BLOCK_ID_FLAG_ABSENT` (a
    /// nil vote counts as signed, as in the SDK).
    pub signed: bool,
}

/// A double sign (`DuplicateVoteEvidence` handed over as `Misbehavior`, the SDK's
/// `Equivocation`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Equivocation {
    /// The validator's consensus address.
    pub address: [u8; 20],
    /// The height it signed twice at.
    pub height: u64,
    /// That block's time.
    pub time: Timestamp,
    /// Its power at that height.
    pub power: i64,
}
