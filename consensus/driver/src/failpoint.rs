//! Crash points for the crash-recovery tests: with the `failpoints` feature (enabled only by
//! the end-to-end tests' dev-dependency, never in `cargo build -p keystone`), the process
//! aborts just after a named durable write when `KEYSTONE_FAILPOINT=<name>[:<n>]` says so —
//! on the n-th time that write happens (the first if no n) — leaving on disk exactly what a
//! power cut at that moment would. Without the feature, [`hit`] is empty.
//!
//! The names, in the order a height writes them: `wal-append` (an input appended to the
//! consensus WAL; the node's own proposals and votes fsynced), `privval-state`
//! (`priv_validator_state.json` written, the signature not yet out), `block-store-built` (a
//! proposed block kept for its height), `block-store-block` (a decided block and its commit
//! stored), `block-store-results` (its FinalizeBlock results stored), `state-commit` (the
//! application's `Commit` done), `wal-end-height` (the WAL's end-of-height marker); and, for
//! blocks block sync brought, stored and committed without an fsync each,
//! `block-store-durable` (the block store made durable) and `state-durable` (then the
//! application's state). State sync has two of its own, outside a height's sequence:
//! `statesync-chunk` (a snapshot chunk the application accepted), `statesync-restored` (the
//! application restored, the block store not yet started) and `block-store-bootstrap` (the
//! block store started at the restored height).

/// The environment variable naming the crash point.
pub const ENV: &str = "KEYSTONE_FAILPOINT";

/// Every crash point, for the tests that walk them.
pub const NAMES: [&str; 9] = [
    "wal-append",
    "privval-state",
    "block-store-built",
    "block-store-block",
    "block-store-results",
    "state-commit",
    "wal-end-height",
    "block-store-durable",
    "state-durable",
];

/// Abort here if the crash point `name` is armed and due.
#[cfg(feature = "failpoints")]
pub fn hit(name: &'static str) {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::OnceLock;
    static ARMED: OnceLock<Option<(String, u64)>> = OnceLock::new();
    static HITS: AtomicU64 = AtomicU64::new(0);
    let armed = ARMED.get_or_init(|| {
        let v = std::env::var(ENV).ok()?;
        let (n, at) = match v.split_once(':') {
            Some((n, at)) => (n.to_owned(), at.parse().unwrap_or(1)),
            None => (v, 1),
        };
        Some((n, at))
    });
    if let Some((armed, at)) = armed {
        if armed == name && HITS.fetch_add(1, Ordering::SeqCst) + 1 == *at {
            eprintln!("failpoint {name} (hit {at}): aborting");
            std::process::abort();
        }
    }
}

/// Abort here if the crash point `name` is armed and due (no-op: built without `failpoints`).
#[cfg(not(feature = "failpoints"))]
#[inline(always)]
pub fn hit(_name: &'static str) {}
