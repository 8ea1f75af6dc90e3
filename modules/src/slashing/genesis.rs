//! slashing's genesis section, the SDK's `app_state.slashing`:
//! `{"params": {...}, "signing_infos": [{"address", "validator_signing_info": {...}}],
//! "missed_blocks": [{"address", "missed_blocks": [{"index": "0", "missed": true}]}]}` —
//! everything but `params` may be absent.
//!
//! Loaded after staking's, whose fresh genesis bonds the first validators and so has
//! already created their signing infos (through [`SlashingHooks`](super::SlashingHooks) at
//! height 0); the signing infos given here are written over those.

use super::keeper::{
    missed_blocks, params, set_missed_block, set_params, set_signing_info, signing_infos,
};
use super::types::{Params, ValidatorSigningInfo};
use crate::serde_util::{text, valcons};
use crate::state::State;
use crate::{Address, ModuleError, Result};
use serde::{Deserialize, Deserializer, Serialize};

/// One validator's signing info.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SigningInfo {
    /// The consensus address (`cosmosvalcons1…`).
    #[serde(with = "valcons")]
    pub address: Address,
    /// Its signing info.
    pub validator_signing_info: ValidatorSigningInfo,
}

/// One bit of a missed-block bitmap.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MissedBlock {
    /// The index in the signing window.
    #[serde(with = "text")]
    pub index: i64,
    /// Whether the block there was missed.
    pub missed: bool,
}

/// One validator's missed blocks.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidatorMissedBlocks {
    /// The consensus address (`cosmosvalcons1…`).
    #[serde(with = "valcons")]
    pub address: Address,
    /// The bits (an export lists the missed ones only).
    #[serde(default, deserialize_with = "list")]
    pub missed_blocks: Vec<MissedBlock>,
}

/// `null` or absent as an empty list (gaiad writes both).
fn list<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> std::result::Result<Vec<T>, D::Error> {
    Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
}

/// `app_state.slashing`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Genesis {
    /// Params.
    pub params: Params,
    /// Signing infos.
    #[serde(default, deserialize_with = "list")]
    pub signing_infos: Vec<SigningInfo>,
    /// Missed-block bitmaps.
    #[serde(default, deserialize_with = "list")]
    pub missed_blocks: Vec<ValidatorMissedBlocks>,
}

fn invalid(msg: String) -> ModuleError {
    ModuleError::InvalidRequest(msg)
}

impl Genesis {
    /// The SDK's `ValidateGenesis` (fractions within [0, 1], a jail of at least a minute, a
    /// window of at least 10 blocks), then the params' own checks; and, beyond the SDK,
    /// signing infos filed under their own address, and counters and bitmap indexes that
    /// are not negative, which would be corrupt state here.
    pub fn validate(&self) -> Result<()> {
        let p = &self.params;
        let one = crate::Dec::one();
        for (value, what) in [
            (p.slash_fraction_downtime, "slashing fraction downtime"),
            (
                p.slash_fraction_double_sign,
                "slashing fraction double sign",
            ),
            (p.min_signed_per_window, "min signed per window"),
        ] {
            if value.is_negative() || value > one {
                return Err(invalid(format!(
                    "{what} should be less than or equal to one and greater than zero, is {value}"
                )));
            }
        }
        if p.downtime_jail_duration < 60 {
            return Err(invalid(format!(
                "downtime unjail duration must be at least 1 minute, is {}s",
                p.downtime_jail_duration
            )));
        }
        if p.signed_blocks_window < 10 {
            return Err(invalid(format!(
                "signed blocks window must be at least 10, is {}",
                p.signed_blocks_window
            )));
        }
        p.validate()?;
        self.check_records()
    }

    /// Signing infos filed under their own address, counters and bitmap indexes not
    /// negative.
    fn check_records(&self) -> Result<()> {
        for s in &self.signing_infos {
            let i = &s.validator_signing_info;
            // Records are keyed by their own address here.
            if i.address != s.address {
                return Err(invalid(format!(
                    "signing info of {} is filed under {}",
                    i.address.to_valcons(),
                    s.address.to_valcons()
                )));
            }
            if i.index_offset < 0 || i.missed_blocks_counter < 0 {
                return Err(invalid(format!(
                    "negative index offset or missed blocks counter for {}",
                    s.address.to_valcons()
                )));
            }
        }
        for m in &self.missed_blocks {
            if let Some(b) = m.missed_blocks.iter().find(|b| b.index < 0) {
                return Err(invalid(format!(
                    "negative missed block index {} for {}",
                    b.index,
                    m.address.to_valcons()
                )));
            }
        }
        Ok(())
    }

    /// Write the section into `state` (after staking's). Like the SDK's `InitGenesis`, this
    /// checks the params (`Params.Validate`) but not [`Genesis::validate`]'s launch rules (a
    /// jail of at least a minute, a window of at least 10): those are for `genesis
    /// validate`, and a test network may go below them.
    pub fn init(&self, state: &mut dyn State) -> Result<()> {
        self.params.validate()?;
        self.check_records()?;
        for s in &self.signing_infos {
            set_signing_info(state, &s.validator_signing_info)?;
        }
        for m in &self.missed_blocks {
            for b in &m.missed_blocks {
                set_missed_block(state, &m.address, b.index, b.missed)?;
            }
        }
        set_params(state, &self.params)
    }

    /// The section as it stands in `state`: every signing info and every validator's missed
    /// blocks (missed ones only), by consensus address bytes.
    pub fn export(state: &(impl State + ?Sized)) -> Result<Genesis> {
        let infos = signing_infos(state)?;
        let mut missed = Vec::new();
        for info in &infos {
            missed.push(ValidatorMissedBlocks {
                address: info.address,
                missed_blocks: missed_blocks(state, &info.address)?
                    .into_iter()
                    .map(|index| MissedBlock {
                        index,
                        missed: true,
                    })
                    .collect(),
            });
        }
        Ok(Genesis {
            params: params(state)?,
            signing_infos: infos
                .into_iter()
                .map(|info| SigningInfo {
                    address: info.address,
                    validator_signing_info: info,
                })
                .collect(),
            missed_blocks: missed,
        })
    }
}
