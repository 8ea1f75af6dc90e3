//! Reading and writing slashing's records: params, signing infos and the missed-block
//! bitmaps (`x/slashing/keeper/{params,signing_info}.go` of SDK v0.50).

use super::state_key as key;
use super::types::{Params, ValidatorSigningInfo};
use crate::state::{get_json, put_json, State};
use crate::{Address, ModuleError, Result};

fn corrupt(key: &str, e: impl std::fmt::Display) -> ModuleError {
    ModuleError::Corrupt {
        key: key.into(),
        reason: e.to_string(),
    }
}

/// The slashing params (the SDK's defaults if never set).
pub fn params(state: &(impl State + ?Sized)) -> Result<Params> {
    Ok(get_json(state, key::PARAMS)?.unwrap_or_default())
}

/// Store the slashing params, after checking them.
pub fn set_params(state: &mut (impl State + ?Sized), p: &Params) -> Result<()> {
    p.validate()?;
    put_json(state, key::PARAMS, p)
}

/// The signing info of the validator with consensus address `cons`.
pub fn signing_info(
    state: &(impl State + ?Sized),
    cons: &Address,
) -> Result<Option<ValidatorSigningInfo>> {
    get_json(state, &key::signing_info(cons))
}

/// Every signing info, by consensus address bytes (the SDK's order; bech32 text order is
/// not byte order).
pub fn signing_infos(state: &(impl State + ?Sized)) -> Result<Vec<ValidatorSigningInfo>> {
    let mut out = Vec::new();
    for (k, v) in state.prefix(key::SIGNING_INFOS.as_bytes())? {
        let info: ValidatorSigningInfo =
            serde_json::from_slice(&v).map_err(|e| corrupt(&String::from_utf8_lossy(&k), e))?;
        out.push(info);
    }
    out.sort_by_key(|i| i.address);
    Ok(out)
}

/// Store a signing info under its own address.
pub(crate) fn set_signing_info(state: &mut dyn State, info: &ValidatorSigningInfo) -> Result<()> {
    put_json(state, &key::signing_info(&info.address), info)
}

/// The bitmap index of `index` as a key component; a negative one is corrupt state.
fn bit(cons: &Address, index: i64) -> Result<String> {
    let index = u64::try_from(index)
        .map_err(|_| corrupt(&key::missed_blocks(cons), format!("negative index {index}")))?;
    Ok(key::missed_block(cons, index))
}

/// Whether `cons` missed the block at `index` of its window (`GetMissedBlockBitmapValue`).
pub(crate) fn missed_block(state: &dyn State, cons: &Address, index: i64) -> Result<bool> {
    Ok(state.get(bit(cons, index)?.as_bytes())?.is_some())
}

/// Mark the block at `index` missed or signed (`SetMissedBlockBitmapValue`).
pub(crate) fn set_missed_block(
    state: &mut dyn State,
    cons: &Address,
    index: i64,
    missed: bool,
) -> Result<()> {
    let k = bit(cons, index)?;
    if missed {
        state.put(k.into_bytes(), crate::state::PRESENT.to_vec());
    } else {
        state.delete(k.as_bytes());
    }
    Ok(())
}

/// The indexes `cons` missed in its window, ascending (`GetValidatorMissedBlocks`).
pub fn missed_blocks(state: &(impl State + ?Sized), cons: &Address) -> Result<Vec<i64>> {
    let prefix = key::missed_blocks(cons);
    state
        .prefix(prefix.as_bytes())?
        .into_iter()
        .map(|(k, _)| {
            let text = String::from_utf8_lossy(&k).into_owned();
            text.get(prefix.len()..)
                .unwrap_or_default()
                .parse::<i64>()
                .map_err(|e| corrupt(&text, e))
        })
        .collect()
}

/// Forget the whole bitmap of `cons` (`DeleteMissedBlockBitmap`).
pub(crate) fn clear_missed_blocks(state: &mut dyn State, cons: &Address) -> Result<()> {
    for (k, _) in state.prefix(key::missed_blocks(cons).as_bytes())? {
        state.delete(&k);
    }
    Ok(())
}
