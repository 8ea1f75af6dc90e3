//! [`AppHooks`]: the staking hooks of this application — what distribution and slashing are
//! told when stake moves, in gaia's order (distribution first, then slashing). Built per
//! block, because a hook may need the block it runs in.

use keystone_modules::staking::Hooks;
use keystone_modules::BlockCtx;

/// The application's staking hooks. Distribution and slashing are not wired in yet (#5): until
/// then staking runs with no listener.
pub(crate) struct AppHooks;

impl AppHooks {
    /// The hooks for a message or block hook running in `block`.
    pub(crate) fn new(block: &BlockCtx) -> AppHooks {
        let _ = block;
        AppHooks
    }
}

impl Hooks for AppHooks {}
