//! `keystone rollback [--hard]` with the real binary: a chain halts at a height; rollback
//! takes the application's state one height back (and `--hard` the last block too); the next
//! start re-executes (or re-decides) that height and reaches the same app hash, and the chain
//! goes on.

use keystone_consensus_driver::block_store::BlockStore;
use keystone_store::Store;
use std::path::Path;
use std::time::{Duration, Instant};

mod common;
use common::{alice_send, broadcast_tx_sync, funded_home, ok, run};

const CHAIN: &str = "rollback-1";

/// `start --halt-height h`, run to its exit 0 (at most 60 s).
fn run_until(home: &Path, h: u64, during: impl FnOnce()) {
    let mut node = common::start_quiet_with(home, &["--halt-height", &h.to_string()]);
    during();
    assert_eq!(
        common::wait_exit(&mut node, 60).code(),
        Some(0),
        "halting at {h}"
    );
}

/// A stopped home's stores.
struct Stores {
    state: Store,
    blocks: BlockStore,
}

impl Stores {
    fn open(home: &Path) -> Stores {
        Stores {
            state: Store::open(home.join("data/application.redb")).expect("state"),
            blocks: BlockStore::open(&home.join("data/blockstore.redb")).expect("blocks"),
        }
    }

    /// (application height, block store height).
    fn heights(&self) -> (u64, u64) {
        (
            self.state
                .latest_version()
                .expect("latest")
                .expect("a version"),
            self.blocks.height().expect("height"),
        )
    }

    fn root(&self, h: u64) -> [u8; 32] {
        self.state.root_hash(h).expect("root")
    }

    /// The app hash block `h`'s header carries (the state after `h - 1`).
    fn header_app_hash(&self, h: u64) -> Vec<u8> {
        self.blocks
            .header(h)
            .expect("read")
            .expect("header")
            .app_hash
    }
}

#[test]
fn rollback_then_replay_reaches_the_same_app_hash_and_hard_rollback_redecides() {
    let dir = tempfile::tempdir().expect("tmp");
    let home = dir.path();
    let ports = funded_home(home, CHAIN, "50ms");
    let bob = cosmrs::crypto::secp256k1::SigningKey::from_slice(&[7; 32])
        .expect("key")
        .public_key()
        .account_id("cosmos")
        .expect("id");
    // Sends along the way, so the blocks hold transactions.
    run_until(home, 20, || {
        let mut sent = 0;
        let deadline = Instant::now() + Duration::from_secs(30);
        while sent < 5 && Instant::now() < deadline {
            let r = broadcast_tx_sync(ports.rpc, &alice_send(home, CHAIN, &bob, 1, sent));
            if r["result"]["code"] == 0 {
                sent += 1;
            }
            std::thread::sleep(Duration::from_millis(60));
        }
    });
    let stores = Stores::open(home);
    assert_eq!(stores.heights(), (20, 20));
    let root_20 = stores.root(20);
    drop(stores);

    // Soft: the state goes back to 19, the block stays.
    let out = ok(home, &["rollback"]);
    let stores = Stores::open(home);
    assert_eq!(stores.heights(), (19, 20));
    let root_19 = stores.root(19);
    drop(stores);
    assert_eq!(
        out.trim(),
        format!(
            "Rolled back state to height 19 and hash {}",
            hex::encode_upper(root_19)
        )
    );
    // Rolled back already: the application is behind its blocks, and a second rollback says so.
    let (good, _, err) = run(home, &["rollback"], "");
    assert!(!good && err.contains("start the node once"), "{err}");

    // The next start replays block 20 to the same root, which block 21's header carries.
    run_until(home, 23, || {});
    let stores = Stores::open(home);
    assert_eq!(stores.heights(), (23, 23));
    assert_eq!(
        stores.root(20),
        root_20,
        "block 20 re-executed to the same app hash"
    );
    assert_eq!(stores.header_app_hash(21), root_20.to_vec());
    let before_23 = stores.root(23);
    drop(stores);

    // Hard: block 23 leaves the block store too; the validator decides height 23 again (its
    // WAL holds its own vote for the block it decided), and the chain goes on.
    let out = ok(home, &["rollback", "--hard"]);
    assert!(out.starts_with("Removed block 23\n"), "{out}");
    assert_eq!(Stores::open(home).heights(), (22, 22));
    run_until(home, 25, || {});
    let stores = Stores::open(home);
    assert_eq!(stores.heights(), (25, 25));
    assert_eq!(
        stores.root(23),
        before_23,
        "height 23 decided again, to the same state"
    );
    assert_eq!(stores.header_app_hash(24), before_23.to_vec());
}
