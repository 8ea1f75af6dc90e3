//! mint's genesis section, the SDK's `app_state.mint`: `{"minter": {"inflation",
//! "annual_provisions"}, "params": {...}}`.

use super::{minter, params, set_minter, set_params, Minter, Params, MODULE_NAME};
use crate::state::State;
use crate::{auth, Result};
use serde::{Deserialize, Serialize};

/// `app_state.mint`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Genesis {
    /// The minter.
    pub minter: Minter,
    /// Params.
    pub params: Params,
}

impl Genesis {
    /// The SDK's `ValidateGenesis`: valid params, then a valid minter.
    pub fn validate(&self) -> Result<()> {
        self.params.validate()?;
        self.minter.validate()
    }

    /// Write the section into `state`, creating the mint module account.
    pub fn init(&self, state: &mut (impl State + ?Sized)) -> Result<()> {
        self.validate()?;
        set_minter(state, &self.minter)?;
        set_params(state, &self.params)?;
        auth::ensure_module_account(state, MODULE_NAME)?;
        Ok(())
    }

    /// The section as it stands in `state`.
    pub fn export(state: &(impl State + ?Sized)) -> Result<Genesis> {
        Ok(Genesis {
            minter: minter(state)?,
            params: params(state)?,
        })
    }
}
