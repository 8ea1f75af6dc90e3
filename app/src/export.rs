//! The application's state at a height as a genesis `app_state` (`keystone export`), the
//! SDK's `ExportAppStateAndValidators`: every module's section as its `export` reads it from
//! the store, the staking section marked `exported` so that InitChain restores the validator
//! set as it stands instead of running the genesis hooks, and the validators CometBFT's
//! genesis must name. A chain started from it at `height + 1` carries on from that state.
//!
//! Only the application's store is read: export runs on a stopped node's home (redb takes
//! the file for one process), as gaiad's does.

use crate::application::{app_err, AppGenesis, GenUtil};
use crate::store_state::StoreState;
use keystone_modules::{auth, bank, distribution, mint, slashing, staking};
use keystone_proto::AppResult;
use keystone_store::Store;
use std::collections::BTreeMap;

/// A validator of the exported set, as a genesis document names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExportedValidator {
    /// The ed25519 consensus key.
    pub pub_key: [u8; 32],
    /// Its voting power.
    pub power: i64,
    /// Its moniker.
    pub name: String,
}

/// What `export` produces.
#[derive(Clone, Debug)]
pub struct Export {
    /// The height whose state this is (the chain restarts at `height + 1`).
    pub height: u64,
    /// The genesis `app_state`.
    pub app_state: AppGenesis,
    /// The bonded validators at `height`, in staking's order.
    pub validators: Vec<ExportedValidator>,
}

/// The state of `store` at `height` (the latest when `None`).
pub fn export(store: &Store, height: Option<u64>) -> AppResult<Export> {
    let latest = store
        .latest_version()
        .map_err(app_err)?
        .ok_or_else(|| app_err("the application's store is empty: nothing to export"))?;
    let earliest = store.earliest_version().map_err(app_err)?.unwrap_or(latest);
    let height = height.unwrap_or(latest);
    if height > latest || height < earliest {
        return Err(app_err(format!(
            "height {height} is not stored: the application holds heights {earliest} to {latest}"
        )));
    }
    let state = StoreState::new(store, Some(height), BTreeMap::new());
    fn fail(
        what: &'static str,
    ) -> impl Fn(keystone_modules::ModuleError) -> keystone_proto::AppError {
        move |e| app_err(format!("{what}: {e}"))
    }
    let staking = staking::genesis::Genesis::export(&state).map_err(fail("staking"))?;
    let mut validators = Vec::new();
    for last in &staking.last_validator_powers {
        let v = staking
            .validators
            .iter()
            .find(|v| v.operator == last.address)
            .ok_or_else(|| {
                app_err(format!(
                    "last validator {} has no validator record",
                    last.address.to_valoper()
                ))
            })?;
        validators.push(ExportedValidator {
            pub_key: v.consensus_pubkey.0,
            power: last.power,
            name: v.description.moniker.clone(),
        });
    }
    let app_state = AppGenesis {
        auth: auth::genesis::Genesis::export(&state).map_err(fail("auth"))?,
        bank: bank::genesis::Genesis::export(&state).map_err(fail("bank"))?,
        distribution: distribution::genesis::Genesis::export(&state)
            .map_err(fail("distribution"))?,
        staking,
        slashing: slashing::genesis::Genesis::export(&state).map_err(fail("slashing"))?,
        mint: mint::genesis::Genesis::export(&state).map_err(fail("mint"))?,
        genutil: GenUtil::default(),
    };
    Ok(Export {
        height,
        app_state,
        validators,
    })
}
