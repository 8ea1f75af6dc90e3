//! auth's genesis section: `{"params": {...}, "accounts": [{"address", "account_number",
//! "sequence", "pub_key"}]}`, the SDK's `app_state.auth` with `@type` tags accepted and
//! ignored.

use super::{params, set_account, set_params, Account, Params};
use crate::state::State;
use crate::{Address, ModuleError, Result};
use serde::{Deserialize, Serialize};

/// `app_state.auth`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Genesis {
    /// Params (SDK defaults if absent).
    #[serde(default)]
    pub params: Params,
    /// Accounts known at genesis.
    #[serde(default)]
    pub accounts: Vec<Account>,
}

impl Genesis {
    /// Addresses parse, and neither addresses nor account numbers repeat.
    pub fn validate(&self) -> Result<()> {
        let mut addrs = std::collections::BTreeSet::new();
        let mut numbers = std::collections::BTreeSet::new();
        for a in &self.accounts {
            let addr: Address = a.address.parse()?;
            if !addrs.insert(addr) {
                return Err(ModuleError::InvalidRequest(format!(
                    "duplicate account {addr}"
                )));
            }
            if !numbers.insert(a.account_number) {
                return Err(ModuleError::InvalidRequest(format!(
                    "duplicate account number {}",
                    a.account_number
                )));
            }
        }
        Ok(())
    }

    /// Write the section into `state`.
    pub fn init(&self, state: &mut (impl State + ?Sized)) -> Result<()> {
        self.validate()?;
        set_params(state, &self.params)?;
        let next = self
            .accounts
            .iter()
            .map(|a| a.account_number + 1)
            .max()
            .unwrap_or(0);
        for a in &self.accounts {
            set_account(state, a)?;
        }
        state.put(
            super::state_key::NEXT_ACCOUNT_NUMBER.as_bytes().to_vec(),
            next.to_string().into_bytes(),
        );
        Ok(())
    }

    /// The section as it stands in `state`: the params and every account (module accounts
    /// included), in address order.
    pub fn export(state: &(impl State + ?Sized)) -> Result<Genesis> {
        let accounts = super::all_accounts(state)?;
        Ok(Genesis {
            params: params(state)?,
            accounts,
        })
    }
}
