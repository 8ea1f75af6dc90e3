//! `keystone export [--height H]`: a genesis document of the built-in application's state at
//! a height (the latest by default), as gaiad's `export` writes it: the home's chain id,
//! genesis time and consensus params, `initial_height` H + 1, the bonded validators, and every
//! module's state in `app_state`. `init` then `start` with it carries the chain on from H
//! (the validators keep their keys); exporting that chain's height H gives the same document.
//!
//! Run it on a stopped node: the stores are single-process files.

use crate::home::{read_genesis, Home};
use anyhow::{Context, Result};
use keystone_genesis::{GenesisDoc, GenesisValidator, JsonPubKey};
use keystone_store::Store;

/// The home's application state at `height` (the latest when `None`) as a genesis document.
pub fn export(home: &Home, height: Option<u64>) -> Result<GenesisDoc> {
    let doc = read_genesis(home)?;
    let path = home.data("application.redb");
    if !path.exists() {
        anyhow::bail!(
            "{} does not exist: the node has no state to export",
            path.display()
        );
    }
    let store = Store::open(&path).with_context(|| {
        format!(
            "{} cannot be opened (is a node running on this home? stop it first)",
            path.display()
        )
    })?;
    let exported = keystone_app::export::export(&store, height)?;
    // A chain whose staking module bonds nobody runs on the validators its genesis.json
    // names, which the application never changed: they stay.
    let validators = if exported.validators.is_empty() {
        doc.validators.clone()
    } else {
        exported
            .validators
            .iter()
            .map(|v| {
                use base64::Engine as _;
                let key = keystone_consensus_types::PublicKey(v.pub_key);
                GenesisValidator {
                    address: key.address().to_string(),
                    pub_key: JsonPubKey {
                        kind: "tendermint/PubKeyEd25519".into(),
                        value: base64::engine::general_purpose::STANDARD.encode(v.pub_key),
                    },
                    power: v.power,
                    name: v.name.clone(),
                }
            })
            .collect()
    };
    let initial_height = i64::try_from(exported.height + 1).context("height out of range")?;
    let out = GenesisDoc {
        initial_height,
        validators,
        app_hash: String::new(),
        app_state: Some(
            serde_json::to_value(&exported.app_state).context("the exported app state")?,
        ),
        ..doc
    };
    out.validate().context("the exported genesis")?;
    Ok(out)
}
