//! The light client state sync trusts ([`LightProvider`]): light blocks fetched over the
//! `[statesync] rpc_servers`' RPC and verified from `trust_height`/`trust_hash` with the same
//! light client `keystone light verify` uses; the first server is the primary, and every
//! other one a witness whose header must be the same, as CometBFT's state provider checks.
//! The trust root is checked when the provider is made, so a wrong `trust_hash` stops the
//! node at once with the hash the chain has there.

use crate::home::StateSyncConfig;
use crate::light::{self, Source, TrustRoot};
use anyhow::{bail, Context, Result};
use keystone_consensus_driver::statesync::syncer::StateProvider;
use keystone_consensus_types::light::{LightBlock, TrustOptions};
use keystone_consensus_types::Height;

/// Verified light blocks for state sync (see the module doc).
pub struct LightProvider {
    primary: Source,
    witnesses: Vec<(String, Source)>,
    root: TrustRoot,
    opts: TrustOptions,
}

impl LightProvider {
    /// The provider of `cfg`, its trust root checked against the primary and the witnesses.
    pub fn new(cfg: &StateSyncConfig, chain_id: &str) -> Result<LightProvider> {
        let primary = Source::new(&cfg.rpc_servers[0])
            .with_context(|| format!("statesync.rpc_servers: {}", cfg.rpc_servers[0]))?;
        let witnesses = cfg.rpc_servers[1..]
            .iter()
            .map(|w| {
                Ok((
                    w.clone(),
                    Source::new(w).with_context(|| format!("statesync.rpc_servers: {w}"))?,
                ))
            })
            .collect::<Result<Vec<_>>>()?;
        let root = TrustRoot::Header {
            height: cfg.trust_height,
            hash: cfg.trust_hash.clone(),
        };
        let trusted = light::trusted(&primary, &root).with_context(|| {
            format!(
                "state sync: the trusted header (statesync.trust_height {}, trust_hash {}) from {}",
                cfg.trust_height, cfg.trust_hash, cfg.rpc_servers[0]
            )
        })?;
        if trusted.header.chain_id != chain_id {
            bail!(
                "state sync: {} serves chain {:?}, this node's genesis is {chain_id:?}",
                cfg.rpc_servers[0],
                trusted.header.chain_id
            );
        }
        let provider = LightProvider {
            primary,
            witnesses,
            root,
            opts: TrustOptions {
                trusting_period_ms: cfg.trust_period.as_millis() as u64,
                ..TrustOptions::default()
            },
        };
        provider.cross_check(&trusted)?;
        Ok(provider)
    }

    /// Every witness has the same header at `b`'s height.
    fn cross_check(&self, b: &LightBlock) -> Result<()> {
        let h = b.header.height;
        let want = b.header.hash();
        for (name, w) in &self.witnesses {
            let theirs = w
                .light_block(h)
                .with_context(|| format!("witness {name}: header {h}"))?;
            if theirs.header.hash() != want {
                bail!(
                    "witness {name} has header {h} as {}, the primary as {}: refusing to sync from a forked or lying server",
                    theirs.header.hash().to_hex(),
                    want.to_hex()
                );
            }
        }
        Ok(())
    }

    fn verified(&self, h: Height) -> Result<LightBlock> {
        let (b, _) = light::verify(&self.primary, &self.root, h, &self.opts)?;
        self.cross_check(&b)?;
        Ok(b)
    }
}

impl StateProvider for LightProvider {
    fn light_blocks(&mut self, h: Height) -> std::result::Result<(LightBlock, LightBlock), String> {
        let b0 = self.verified(h).map_err(|e| format!("{e:#}"))?;
        let b1 = self.verified(h + 1).map_err(|e| format!("{e:#}"))?;
        Ok((b0, b1))
    }
}
