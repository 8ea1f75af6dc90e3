//! The light client the commands use (`keystone light verify`, `query state --prove`): light
//! blocks fetched over a node's RPC (`commit`, `validators`), checked from a trust root with
//! `keystone_consensus_types::light` (adjacent and skipping verification, bisection), so a
//! proof is checked against an app hash the validators signed, not one the node says.
//!
//! The trust root is either a header the user already trusts (`--trusted-height` and
//! `--trusted-hash`, as CometBFT's `light` command takes it) or, when the home's
//! `genesis.json` names the validators, the chain's first header: it must be signed by them.
//! A chain whose validators come from gentxs has none in genesis.json; there the user must
//! name a trusted header.

use crate::client::Client;
use anyhow::{anyhow, bail, Context, Result};
use keystone_consensus_types::light::{self, LightBlock, Step, TrustOptions};
use keystone_consensus_types::{Commit, Header, Height, Time, ValidatorSet};
use keystone_proto::types as pb;
use serde_json::{json, Value};
use std::path::Path;

/// Where trust starts.
#[derive(Clone, Debug)]
pub enum TrustRoot {
    /// A header the user trusts: its height and hash (hex).
    Header {
        /// Height.
        height: Height,
        /// Hash, hex.
        hash: String,
    },
    /// The chain's first header, signed by the validators `genesis.json` names.
    Genesis(std::path::PathBuf),
}

/// A fetch failure, as the bisection reports it.
#[derive(Debug, thiserror::Error)]
#[error("{0:#}")]
pub struct FetchError(anyhow::Error);

/// Light blocks from a node.
pub struct Source {
    client: Client,
}

impl Source {
    /// A node's RPC (`--node`).
    pub fn new(node: &str) -> Result<Source> {
        Ok(Source {
            client: Client::new(node)?,
        })
    }

    /// The latest height the node has committed.
    pub fn latest(&self) -> Result<Height> {
        let s = self.client.call("status", json!({}))?;
        s["sync_info"]["latest_block_height"]
            .as_str()
            .and_then(|h| h.parse().ok())
            .context("status has no latest height")
    }

    /// The validators of `h`, every page.
    fn validators(&self, h: Height) -> Result<ValidatorSet> {
        let mut list = Vec::new();
        // At most 100 pages of 100: CometBFT's largest validator set is 10 000, and a node
        // that keeps sending pages must not keep the client reading forever.
        for page in 1..=100 {
            let r = self.client.call(
                "validators",
                json!({"height": h.to_string(), "page": page.to_string(), "per_page": "100"}),
            )?;
            let vals = r["validators"].as_array().context("validators list")?;
            for v in vals {
                list.push(validator(v).with_context(|| format!("a validator of height {h}"))?);
            }
            let total: usize = r["total"]
                .as_str()
                .and_then(|t| t.parse().ok())
                .context("validators total")?;
            if list.len() >= total || vals.is_empty() {
                break;
            }
        }
        ValidatorSet::with_priorities(list, None)
            .map_err(|e| anyhow!("validators of height {h}: {e}"))
    }

    /// The light block of `h`: its signed header (the canonical commit) and both sets.
    pub fn light_block(&self, h: Height) -> Result<LightBlock> {
        let c = self
            .client
            .call("commit", json!({"height": h.to_string()}))?;
        let header: pb::Header = serde_json::from_value(c["signed_header"]["header"].clone())
            .context("the header does not parse")?;
        let commit: pb::Commit = serde_json::from_value(c["signed_header"]["commit"].clone())
            .context("the commit does not parse")?;
        Ok(LightBlock {
            header: Header::from_proto(&header).map_err(|e| anyhow!("header {h}: {e}"))?,
            commit: Commit::from_proto(&commit).map_err(|e| anyhow!("commit {h}: {e}"))?,
            validators: self.validators(h)?,
            next_validators: self.validators(h + 1)?,
        })
    }
}

/// One validator of the `validators` answer.
fn validator(v: &Value) -> Result<keystone_consensus_types::Validator> {
    use base64::Engine as _;
    let key = base64::engine::general_purpose::STANDARD
        .decode(v["pub_key"]["value"].as_str().context("pub_key")?)
        .context("pub_key is not base64")?;
    let key: [u8; 32] = key
        .as_slice()
        .try_into()
        .map_err(|_| anyhow!("pub_key must be 32 bytes"))?;
    let key = keystone_consensus_types::PublicKey(key);
    let int = |k: &str| -> Result<i64> {
        v[k].as_str()
            .and_then(|s| s.parse().ok())
            .with_context(|| format!("{k} is not an integer"))
    };
    let mut val = keystone_consensus_types::Validator::new(key, int("voting_power")?);
    val.proposer_priority = int("proposer_priority")?;
    if val.address.to_string() != v["address"].as_str().unwrap_or("") {
        bail!("address {} does not match its key", v["address"]);
    }
    Ok(val)
}

/// Now, as the light client's clock.
pub fn now() -> Time {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    Time::from_unix_millis(d.as_millis() as i64)
}

/// The trusted light block the root names, checked: its hash (or, from genesis, its
/// validators) as given, and a commit of +2/3 of its validators.
pub fn trusted(src: &Source, root: &TrustRoot) -> Result<LightBlock> {
    let (b, what) = match root {
        TrustRoot::Header { height, hash } => {
            let b = src.light_block(*height)?;
            let got = b.header.hash().to_hex();
            if !got.eq_ignore_ascii_case(hash) {
                bail!("trust root: header {height} hashes to {got}, not the trusted {hash}");
            }
            (b, format!("trusted header {height}"))
        }
        TrustRoot::Genesis(path) => {
            if !path.exists() {
                bail!(
                    "no trust root: {} does not exist; give --home with the chain's genesis.json, or --trusted-height and --trusted-hash",
                    path.display()
                );
            }
            let doc = keystone_genesis::GenesisDoc::load(path)
                .with_context(|| format!("reading {}", path.display()))?;
            let set = doc.validator_set()?;
            if set.is_empty() {
                bail!(
                    "{} names no validators (they come from gentxs): give --trusted-height and --trusted-hash",
                    path.display()
                );
            }
            let b = src.light_block(doc.initial_height as Height)?;
            if b.header.chain_id != doc.chain_id {
                bail!(
                    "trust root: the node serves chain {:?}, genesis.json is {:?}",
                    b.header.chain_id,
                    doc.chain_id
                );
            }
            if b.header.validators_hash != set.hash() {
                bail!(
                    "trust root: the first header's validators are not the ones genesis.json names"
                );
            }
            (b, "the genesis validators".to_string())
        }
    };
    light::check_self(&b).with_context(|| format!("trust root ({what})"))?;
    b.validators
        .verify_commit(
            &b.header.chain_id,
            &b.commit.block_id,
            b.header.height,
            &b.commit,
        )
        .map_err(|e| anyhow!("trust root ({what}): its commit does not verify: {e}"))?;
    Ok(b)
}

/// Verify the header of `target` from `root`: the verified light block and the steps.
pub fn verify(
    src: &Source,
    root: &TrustRoot,
    target: Height,
    opts: &TrustOptions,
) -> Result<(LightBlock, Vec<Step>)> {
    let start = trusted(src, root)?;
    if target < start.header.height {
        bail!(
            "height {target} is below the trust root {}",
            start.header.height
        );
    }
    light::bisect(
        start,
        target,
        |h| src.light_block(h).map_err(FetchError),
        opts,
        now(),
    )
    .map_err(|e| anyhow!("light client: {e}"))
}

/// The root from the command line: a trusted header if given, else the home's genesis.
pub fn root(height: Option<Height>, hash: Option<String>, home: &Path) -> Result<TrustRoot> {
    match (height, hash) {
        (Some(height), Some(hash)) => Ok(TrustRoot::Header { height, hash }),
        (None, None) => Ok(TrustRoot::Genesis(home.join("config").join("genesis.json"))),
        _ => bail!("give both --trusted-height and --trusted-hash, or neither"),
    }
}
