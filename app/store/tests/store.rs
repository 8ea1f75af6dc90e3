//! The store on a real redb file: versions, ICS23 proofs checked with the `ics23` crate,
//! durability across reopen, pruning, and bad input.

use ics23::HostFunctionsManager as H;
use keystone_store::{proof_spec, Error, Store};

fn kv(k: &str, v: &str) -> (Vec<u8>, Option<Vec<u8>>) {
    (k.as_bytes().to_vec(), Some(v.as_bytes().to_vec()))
}

fn del(k: &str) -> (Vec<u8>, Option<Vec<u8>>) {
    (k.as_bytes().to_vec(), None)
}

fn open(dir: &tempfile::TempDir) -> Store {
    Store::open(dir.path().join("state.redb")).expect("open")
}

fn proves_present(store: &Store, key: &str, value: &str, version: u64) -> bool {
    let (v, proof) = store
        .get_with_proof(key.as_bytes(), version)
        .expect("proof");
    let root = store.root_hash(version).expect("root").to_vec();
    v.as_deref() == Some(value.as_bytes())
        && ics23::verify_membership::<H>(
            &proof,
            &proof_spec(),
            &root,
            key.as_bytes(),
            value.as_bytes(),
        )
}

fn proves_absent(store: &Store, key: &str, version: u64) -> bool {
    let (v, proof) = store
        .get_with_proof(key.as_bytes(), version)
        .expect("proof");
    let root = store.root_hash(version).expect("root").to_vec();
    v.is_none() && ics23::verify_non_membership::<H>(&proof, &proof_spec(), &root, key.as_bytes())
}

#[test]
fn versions_keep_their_values_and_roots() {
    let dir = tempfile::tempdir().expect("tmp");
    let s = open(&dir);
    assert_eq!(s.latest_version().expect("read"), None);
    let r1 = s
        .apply(
            1,
            [
                kv("bank/balances/alice/stake", "100"),
                kv("bank/balances/bob/stake", "5"),
            ],
        )
        .expect("v1");
    let r2 = s
        .apply(
            2,
            [
                kv("bank/balances/alice/stake", "90"),
                del("bank/balances/bob/stake"),
            ],
        )
        .expect("v2");
    assert_ne!(r1, r2);
    assert_eq!(s.latest_version().expect("read"), Some(2));
    assert_eq!(s.root_hash(1).expect("root"), r1);
    assert_eq!(
        s.get(b"bank/balances/alice/stake", 1).expect("get"),
        Some(b"100".to_vec())
    );
    assert_eq!(
        s.get(b"bank/balances/alice/stake", 2).expect("get"),
        Some(b"90".to_vec())
    );
    assert_eq!(
        s.get(b"bank/balances/bob/stake", 1).expect("get"),
        Some(b"5".to_vec())
    );
    assert_eq!(s.get(b"bank/balances/bob/stake", 2).expect("get"), None);
    // An empty block keeps the root.
    let r3 = s.apply(3, []).expect("v3");
    assert_eq!(r3, r2);
    assert!(matches!(s.get(b"x", 9), Err(Error::MissingVersion(9))));
}

#[test]
fn same_writes_same_root_whatever_the_order() {
    let a = tempfile::tempdir().expect("tmp");
    let b = tempfile::tempdir().expect("tmp");
    let writes: Vec<_> = (0..200)
        .map(|i| kv(&format!("k/{i}"), &format!("{i}")))
        .collect();
    let mut reversed = writes.clone();
    reversed.reverse();
    assert_eq!(
        open(&a).apply(1, writes).expect("a"),
        open(&b).apply(1, reversed).expect("b")
    );
}

#[test]
fn proofs_of_presence_and_absence_verify_with_ics23() {
    let dir = tempfile::tempdir().expect("tmp");
    let s = open(&dir);
    let writes: Vec<_> = (0..300)
        .map(|i| {
            kv(
                &format!("bank/balances/addr{i}/stake"),
                &format!("{}", i * 7),
            )
        })
        .collect();
    s.apply(1, writes).expect("v1");
    s.apply(
        2,
        [
            kv("bank/balances/addr3/stake", "1"),
            del("bank/balances/addr4/stake"),
        ],
    )
    .expect("v2");
    for i in [0, 3, 150, 299] {
        let value = if i == 3 {
            "1".to_string()
        } else {
            format!("{}", i * 7)
        };
        assert!(
            proves_present(&s, &format!("bank/balances/addr{i}/stake"), &value, 2),
            "addr{i}"
        );
    }
    assert!(
        proves_present(&s, "bank/balances/addr3/stake", "21", 1),
        "old version"
    );
    assert!(
        proves_absent(&s, "bank/balances/addr4/stake", 2),
        "deleted key"
    );
    assert!(
        proves_present(&s, "bank/balances/addr4/stake", "28", 1),
        "before deletion"
    );
    assert!(
        proves_absent(&s, "bank/balances/nobody/stake", 2),
        "never written"
    );
    assert!(proves_absent(&s, "\u{0}first", 2), "left of every key");
    assert!(proves_absent(&s, "\u{ff}last", 2), "right of every key");
}

#[test]
fn tampered_proofs_fail() {
    let dir = tempfile::tempdir().expect("tmp");
    let s = open(&dir);
    s.apply(1, (0..50).map(|i| kv(&format!("k{i}"), "v")))
        .expect("v1");
    let root = s.root_hash(1).expect("root").to_vec();
    let (_, proof) = s.get_with_proof(b"k7", 1).expect("proof");
    let spec = proof_spec();
    assert!(ics23::verify_membership::<H>(
        &proof, &spec, &root, b"k7", b"v"
    ));
    assert!(
        !ics23::verify_membership::<H>(&proof, &spec, &root, b"k7", b"w"),
        "other value"
    );
    assert!(
        !ics23::verify_membership::<H>(&proof, &spec, &root, b"k8", b"v"),
        "other key"
    );
    let mut bad_root = root.clone();
    bad_root[0] ^= 1;
    assert!(
        !ics23::verify_membership::<H>(&proof, &spec, &bad_root, b"k7", b"v"),
        "other root"
    );
    // An existence proof is no absence proof, and the reverse.
    assert!(!ics23::verify_non_membership::<H>(
        &proof, &spec, &root, b"k7"
    ));
    let (_, absent) = s.get_with_proof(b"zz", 1).expect("proof");
    assert!(!ics23::verify_membership::<H>(
        &absent, &spec, &root, b"zz", b"v"
    ));
}

#[test]
fn committed_state_survives_reopen() {
    let dir = tempfile::tempdir().expect("tmp");
    let root = {
        let s = open(&dir);
        s.apply(1, [kv("a", "1")]).expect("v1");
        s.apply(2, [kv("b", "2")]).expect("v2")
    };
    let s = open(&dir);
    assert_eq!(s.latest_version().expect("read"), Some(2));
    assert_eq!(s.root_hash(2).expect("root"), root);
    assert!(proves_present(&s, "a", "1", 2));
    s.apply(3, [kv("c", "3")]).expect("continues after reopen");
}

#[test]
fn prepare_writes_nothing_and_commit_checks_order() {
    let dir = tempfile::tempdir().expect("tmp");
    let s = open(&dir);
    s.apply(1, [kv("a", "1")]).expect("v1");
    let p = s.prepare(2, [kv("a", "2")]).expect("prepare");
    assert_eq!(
        s.latest_version().expect("read"),
        Some(1),
        "prepare does not write"
    );
    assert_eq!(s.get(b"a", 1).expect("get"), Some(b"1".to_vec()));
    let other = s.prepare(2, [kv("a", "3")]).expect("prepare");
    let root = p.root();
    assert_eq!(s.commit(p).expect("commit"), root);
    assert!(matches!(s.commit(other), Err(Error::StalePrepared(2))));
    assert!(matches!(
        s.prepare(5, [kv("a", "9")]),
        Err(Error::NonContiguousVersion {
            expected: 3,
            got: 5
        })
    ));
}

#[test]
fn first_version_may_be_any_height() {
    let dir = tempfile::tempdir().expect("tmp");
    let s = open(&dir);
    s.apply(41, [kv("a", "1")]).expect("initial height 42 − 1");
    s.apply(42, [kv("b", "2")]).expect("next");
    assert!(proves_present(&s, "a", "1", 42));
    assert_eq!(s.earliest_version().expect("read"), Some(41));
}

#[test]
fn pruning_drops_old_versions_and_keeps_recent_ones_provable() {
    let dir = tempfile::tempdir().expect("tmp");
    let unpruned_dir = tempfile::tempdir().expect("tmp");
    let s = open(&dir).with_pruning(2);
    let unpruned = open(&unpruned_dir);
    for v in 1..=6u64 {
        let writes: Vec<_> = (0..40)
            .map(|i| kv(&format!("k{i}"), &format!("{v}-{i}")))
            .chain([kv(&format!("only{v}"), "x")])
            .collect();
        s.apply(v, writes.clone()).expect("apply");
        unpruned.apply(v, writes).expect("apply");
    }
    let (small, big) = (s.stats().expect("stats"), unpruned.stats().expect("stats"));
    assert_eq!((small.versions, big.versions), (2, 6));
    assert!(small.nodes * 2 < big.nodes, "{small:?} vs {big:?}");
    assert!(small.values * 2 < big.values, "{small:?} vs {big:?}");
    assert_eq!(s.earliest_version().expect("read"), Some(5));
    for v in 1..=4 {
        assert!(
            matches!(s.get(b"k1", v), Err(Error::MissingVersion(_))),
            "v{v} pruned"
        );
    }
    for v in 5..=6u64 {
        for i in [0, 17, 39] {
            assert!(
                proves_present(&s, &format!("k{i}"), &format!("{v}-{i}"), v),
                "v{v} k{i}"
            );
        }
        assert!(
            proves_present(&s, "only1", "x", v),
            "a key untouched since v1 survives"
        );
    }
    assert!(proves_absent(&s, "nothing", 6));
    // Explicit pruning down to one version.
    s.prune(1).expect("prune");
    assert!(matches!(s.get(b"k1", 5), Err(Error::MissingVersion(5))));
    assert!(proves_present(&s, "k39", "6-39", 6));
}

#[test]
fn prefix_lists_live_keys_in_order() {
    let dir = tempfile::tempdir().expect("tmp");
    let s = open(&dir);
    s.apply(
        1,
        [
            kv("bank/b", "2"),
            kv("bank/a", "1"),
            kv("staking/x", "9"),
            kv("bank/c", "3"),
        ],
    )
    .expect("v1");
    s.apply(2, [del("bank/b")]).expect("v2");
    let got = s.prefix(b"bank/", 2).expect("prefix");
    assert_eq!(
        got,
        vec![
            (b"bank/a".to_vec(), b"1".to_vec()),
            (b"bank/c".to_vec(), b"3".to_vec())
        ]
    );
    assert_eq!(s.prefix(b"bank/", 1).expect("prefix").len(), 3);
}

#[test]
fn a_corrupt_file_is_an_error_not_a_panic() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("state.redb");
    std::fs::write(&path, vec![0xAB; 4096]).expect("write garbage");
    assert!(Store::open(&path).is_err());
}

#[test]
fn overwrites_across_many_blocks_stay_provable() {
    let dir = tempfile::tempdir().expect("tmp");
    let s = open(&dir);
    for v in 1..=4u64 {
        let writes: Vec<_> = (0..2000u64)
            .map(|i| {
                let k = if v > 1 && i % 2 == 0 {
                    i / 2
                } else {
                    v * 2000 + i
                };
                kv(&format!("key{k:08}"), &format!("{v}-{i}"))
            })
            .collect();
        s.apply(v, writes).expect("apply");
    }
    for i in [0u64, 1, 2, 500, 999] {
        let key = format!("key{i:08}");
        assert_eq!(
            s.get(key.as_bytes(), 4).expect("get"),
            Some(format!("4-{}", i * 2).into_bytes()),
            "{key}"
        );
        assert!(
            proves_present(&s, &key, &format!("4-{}", i * 2), 4),
            "{key}"
        );
    }
}

/// An empty value could not be proved (ICS23 refuses an empty leaf, and with it the absence
/// of its neighbours): the store refuses it, and the write changes nothing.
#[test]
fn an_empty_value_is_refused() {
    let dir = tempfile::tempdir().expect("tmp");
    let store = open(&dir);
    let root = store
        .commit(store.prepare(1, [kv("a", "1")]).expect("prepare"))
        .expect("commit");
    let err = store
        .prepare(2, [kv("b", "2"), (b"c".to_vec(), Some(Vec::new()))])
        .map(|_| ())
        .expect_err("refused");
    assert!(
        matches!(err, keystone_store::Error::EmptyValue(ref k) if k == "c"),
        "{err}"
    );
    assert_eq!(store.latest_version().expect("latest"), Some(1));
    assert!(proves_present(&store, "a", "1", 1));
    assert_eq!(root.len(), 32);
}

/// Every key under `prefix` at `version`, as the tree answers key by key.
fn by_key(s: &Store, keys: &[&str], prefix: &str, version: u64) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut out: Vec<_> = keys
        .iter()
        .filter(|k| k.starts_with(prefix))
        .filter_map(|k| {
            s.get(k.as_bytes(), version)
                .expect("get")
                .map(|v| (k.as_bytes().to_vec(), v))
        })
        .collect();
    out.sort();
    out
}

/// A history of creations, updates, deletions and re-creations over eight versions.
fn history(s: &Store) {
    s.apply(
        1,
        [
            kv("q/a", "1"),
            kv("q/b", "1"),
            kv("q/c", "1"),
            kv("r/a", "1"),
        ],
    )
    .expect("v1");
    s.apply(2, [kv("q/a", "2"), del("q/b")]).expect("v2");
    s.apply(3, [kv("q/b", "3"), kv("q/d", "3")]).expect("v3");
    s.apply(4, [del("q/a"), del("q/b"), kv("q/c", "4")])
        .expect("v4");
    s.apply(5, [kv("r/b", "5")]).expect("v5");
    s.apply(6, [kv("q/a", "6"), del("q/d")]).expect("v6");
    s.apply(7, [kv("q/e", "7")]).expect("v7");
    s.apply(8, [del("q/e"), kv("q", "8"), kv("q0", "8")])
        .expect("v8");
}

const HISTORY_KEYS: [&str; 9] = ["q/a", "q/b", "q/c", "q/d", "q/e", "r/a", "r/b", "q", "q0"];

#[test]
fn prefix_reads_at_every_version_match_the_tree() {
    let dir = tempfile::tempdir().expect("tmp");
    let s = open(&dir);
    history(&s);
    for v in 1..=8 {
        for prefix in ["q/", "r/", "q", "", "z"] {
            assert_eq!(
                s.prefix(prefix.as_bytes(), v).expect("prefix"),
                by_key(&s, &HISTORY_KEYS, prefix, v),
                "prefix {prefix:?} at v{v}"
            );
        }
    }
    // A prefix ending in 0xff bytes has no upper bound of its own.
    s.apply(9, [(vec![0xff, 0xff, 1], Some(b"x".to_vec()))])
        .expect("v9");
    assert_eq!(
        s.prefix(&[0xff, 0xff], 9).expect("prefix"),
        vec![(vec![0xff, 0xff, 1], b"x".to_vec())]
    );
    let stats = s.stats().expect("stats");
    assert_eq!(stats.live_keys, 7, "{stats:?}");
}

#[test]
fn pruning_drops_the_intervals_tombstones_and_preimages_no_kept_version_reaches() {
    let dir = tempfile::tempdir().expect("tmp");
    let unpruned_dir = tempfile::tempdir().expect("tmp");
    let s = open(&dir).with_pruning(3);
    let unpruned = open(&unpruned_dir);
    history(&s);
    history(&unpruned);
    // Kept: 6, 7, 8. q/b (deleted at 4) and q/d (at 6) are absent from all of them; q/e
    // (created 7, deleted 8) is still read at 7; q/a was deleted at 4 and is back since 6.
    let (small, big) = (s.stats().expect("stats"), unpruned.stats().expect("stats"));
    assert_eq!(big.preimages, 9);
    assert_eq!(small.preimages, 7, "q/b and q/d are gone: {small:?}");
    assert_eq!(big.dead_intervals, 5);
    assert_eq!(small.dead_intervals, 1, "only q/e's: {small:?}");
    assert!(small.values < big.values, "{small:?} vs {big:?}");
    for v in 6..=8 {
        for prefix in ["q/", "r/", "q", ""] {
            assert_eq!(
                s.prefix(prefix.as_bytes(), v).expect("prefix"),
                unpruned.prefix(prefix.as_bytes(), v).expect("prefix"),
                "prefix {prefix:?} at v{v}"
            );
        }
        for k in HISTORY_KEYS {
            assert_eq!(
                s.get(k.as_bytes(), v).expect("get"),
                unpruned.get(k.as_bytes(), v).expect("get"),
                "{k} at v{v}"
            );
        }
        assert_eq!(
            s.root_hash(v).expect("root"),
            unpruned.root_hash(v).expect("root")
        );
        assert!(proves_absent(&s, "q/b", v));
    }
    assert!(proves_present(&s, "q/a", "6", 8));
}

#[test]
fn a_store_written_before_the_key_index_gets_it_built_on_open() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("state.redb");
    let fresh_dir = tempfile::tempdir().expect("tmp");
    let fresh = open(&fresh_dir);
    history(&fresh);
    {
        let s = Store::open(&path).expect("open");
        history(&s);
    }
    // As an older Keystone left it: no index tables, and the nodes keyed by their borsh
    // encoding alone (today's keys less their 8-byte version prefix).
    {
        use redb::{ReadableTable, TableDefinition};
        let db = redb::Database::create(&path).expect("db");
        let txn = db.begin_write().expect("txn");
        for t in ["live_keys", "dead_keys", "dead_since"] {
            let def: TableDefinition<&[u8], u64> = TableDefinition::new(t);
            assert!(txn.delete_table(def).expect("delete"), "{t} existed");
        }
        let new: TableDefinition<&[u8], &[u8]> = TableDefinition::new("jmt_nodes_v2");
        let old: TableDefinition<&[u8], &[u8]> = TableDefinition::new("jmt_nodes");
        let moved: Vec<(Vec<u8>, Vec<u8>)> = txn
            .open_table(new)
            .expect("nodes")
            .iter()
            .expect("iter")
            .map(|e| {
                let (k, v) = e.expect("entry");
                (k.value()[8..].to_vec(), v.value().to_vec())
            })
            .collect();
        assert!(!moved.is_empty());
        {
            let mut t = txn.open_table(old).expect("old nodes");
            for (k, v) in &moved {
                t.insert(k.as_slice(), v.as_slice()).expect("insert");
            }
        }
        let new: TableDefinition<&[u8], ()> = TableDefinition::new("stale_nodes_v2");
        let old: TableDefinition<&[u8], ()> = TableDefinition::new("stale_nodes");
        let stale: Vec<Vec<u8>> = txn
            .open_table(new)
            .expect("stale")
            .iter()
            .expect("iter")
            .map(|e| {
                let k = e.expect("entry").0.value().to_vec();
                [&k[..8], &k[16..]].concat()
            })
            .collect();
        {
            let mut t = txn.open_table(old).expect("old stale");
            for k in &stale {
                t.insert(k.as_slice(), ()).expect("insert");
            }
        }
        assert!(txn
            .delete_table(TableDefinition::<&[u8], &[u8]>::new("jmt_nodes_v2"))
            .expect("delete"));
        assert!(txn
            .delete_table(TableDefinition::<&[u8], ()>::new("stale_nodes_v2"))
            .expect("delete"));
        txn.commit().expect("commit");
    }
    let s = Store::open(&path).expect("reopen");
    for v in 1..=8 {
        for prefix in ["q/", "r/", ""] {
            assert_eq!(
                s.prefix(prefix.as_bytes(), v).expect("prefix"),
                fresh.prefix(prefix.as_bytes(), v).expect("prefix"),
                "prefix {prefix:?} at v{v}"
            );
        }
    }
    assert_eq!(s.stats().expect("stats"), fresh.stats().expect("stats"));
    for v in 1..=8 {
        assert_eq!(
            s.root_hash(v).expect("root"),
            fresh.root_hash(v).expect("root")
        );
        assert!(proves_absent(&s, "q/b", v.max(4)), "v{v}");
    }
    assert!(proves_present(&s, "q/a", "6", 8));
    // It goes on from there like any store, old versions prunable.
    let s = s.with_pruning(2);
    s.apply(9, [kv("q/z", "9")]).expect("v9");
    assert!(proves_present(&s, "q/z", "9", 9));
    assert!(proves_present(&s, "q/c", "4", 9));
}

#[test]
fn inserts_alone_and_inserts_with_a_deletion_reach_the_same_root() {
    // Without deletions the store takes the tree's batch path; with one, the key-at-a-time
    // path. Deleting a key that is not there changes nothing, so both roots must agree.
    let (a_dir, b_dir) = (
        tempfile::tempdir().expect("tmp"),
        tempfile::tempdir().expect("tmp"),
    );
    let (a, b) = (open(&a_dir), open(&b_dir));
    for v in 1..=5u64 {
        let writes: Vec<_> = (0..300)
            .map(|i| kv(&format!("k{}", (i * 7 + v * 31) % 500), &format!("{v}-{i}")))
            .collect();
        let ra = a.apply(v, writes.clone()).expect("batch");
        let rb = b
            .apply(v, writes.into_iter().chain([del("never-written")]))
            .expect("one at a time");
        assert_eq!(ra, rb, "v{v}");
    }
    assert!(proves_present(&a, "k31", "1-0", 1));
}

/// Every table of the store file at `path`, as bytes (the store must be closed).
fn dump(path: &std::path::Path) -> Tables {
    use redb::{ReadableDatabase, ReadableTable, TableDefinition};
    let db = redb::Database::open(path).expect("db");
    let txn = db.begin_read().expect("txn");
    let mut out = Vec::new();
    fn rows<K: redb::Key + 'static, V: redb::Value + 'static>(
        txn: &redb::ReadTransaction,
        def: TableDefinition<K, V>,
        f: impl Fn(K::SelfType<'_>, V::SelfType<'_>) -> (Vec<u8>, Vec<u8>),
    ) -> Vec<(Vec<u8>, Vec<u8>)> {
        let t = txn.open_table(def).expect("table");
        t.iter()
            .expect("iter")
            .map(|e| {
                let (k, v) = e.expect("entry");
                f(k.value(), v.value())
            })
            .collect()
    }
    for name in ["jmt_nodes_v2", "jmt_values", "key_preimages"] {
        let def: TableDefinition<&[u8], &[u8]> = TableDefinition::new(name);
        out.push((name, rows(&txn, def, |k, v| (k.to_vec(), v.to_vec()))));
    }
    for name in ["stale_nodes_v2", "stale_values", "dead_since"] {
        let def: TableDefinition<&[u8], ()> = TableDefinition::new(name);
        out.push((name, rows(&txn, def, |k, _| (k.to_vec(), Vec::new()))));
    }
    for name in ["live_keys", "dead_keys"] {
        let def: TableDefinition<&[u8], u64> = TableDefinition::new(name);
        out.push((
            name,
            rows(&txn, def, |k, v| (k.to_vec(), v.to_be_bytes().to_vec())),
        ));
    }
    let def: TableDefinition<u64, &[u8]> = TableDefinition::new("roots");
    out.push((
        "roots",
        rows(&txn, def, |k, v| (k.to_be_bytes().to_vec(), v.to_vec())),
    ));
    out
}

#[test]
fn rollback_undoes_the_newest_version_byte_for_byte_and_replay_gives_its_root_again() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("state.redb");
    // The history, one version at a time, with a deletion of a key that never existed.
    let steps: Vec<Vec<Write>> = vec![
        vec![
            kv("q/a", "1"),
            kv("q/b", "1"),
            kv("q/c", "1"),
            kv("r/a", "1"),
        ],
        vec![kv("q/a", "2"), del("q/b"), del("never")],
        vec![kv("q/b", "3"), kv("q/d", "3")],
        vec![del("q/a"), del("q/b"), kv("q/c", "4")],
        vec![kv("r/b", "5")],
        vec![kv("q/a", "6"), del("q/d")],
        vec![kv("q/e", "7")],
        vec![del("q/e"), kv("q", "8"), kv("q0", "8")],
    ];
    let mut before = Vec::new();
    let mut roots = Vec::new();
    for (i, w) in steps.iter().enumerate() {
        let version = i as u64 + 1;
        before.push(dump_after(&path, |s| {
            roots.push(s.apply(version, w.clone()).expect("apply"));
        }));
    }
    // before[i]: the file after version i + 1. Roll back from 8 to 1, comparing each step.
    for version in (2..=8u64).rev() {
        let now = {
            let s = Store::open(&path).expect("open");
            s.rollback().expect("rollback")
        };
        assert_eq!(now, version - 1);
        same_tables(&dump(&path), &before[version as usize - 2], version);
    }
    // Nothing before version 1: refused, and nothing changes.
    {
        let s = Store::open(&path).expect("open");
        assert!(matches!(s.rollback(), Err(Error::MissingVersion(0))));
    }
    same_tables(&dump(&path), &before[0], 1);
    // The same writes again: the same roots and the same file.
    let s = Store::open(&path).expect("open");
    for (i, w) in steps.iter().enumerate().skip(1) {
        let version = i as u64 + 1;
        assert_eq!(s.apply(version, w.clone()).expect("again"), roots[i]);
    }
    for k in HISTORY_KEYS {
        let _ = s.get(k.as_bytes(), 8).expect("read");
    }
    drop(s);
    same_tables(&dump(&path), &before[7], 8);
    // A store whose pruning kept one version has nothing to go back to.
    let s = Store::open(&path).expect("open");
    s.prune(1).expect("prune");
    assert!(matches!(s.rollback(), Err(Error::MissingVersion(7))));
    assert_eq!(s.latest_version().expect("latest"), Some(8));
}

/// Open the store at `path`, run `f`, close it, and dump the file.
fn dump_after(path: &std::path::Path, f: impl FnOnce(&Store)) -> Tables {
    {
        let s = Store::open(path).expect("open");
        f(&s);
    }
    dump(path)
}

/// Each table's name and rows (key, value).
type Tables = Vec<(&'static str, Vec<(Vec<u8>, Vec<u8>)>)>;

/// A write: a key and its new value (`None`: delete).
type Write = (Vec<u8>, Option<Vec<u8>>);

/// Every table of `got` holds what it holds in `want` (named, not printed: they are long).
fn same_tables(got: &Tables, want: &Tables, version: u64) {
    assert_eq!(got.len(), want.len());
    for ((name, g), (_, w)) in got.iter().zip(want) {
        assert!(g == w, "table {name} differs (version {version})");
    }
}

#[test]
fn pruning_every_n_versions_keeps_the_ones_between() {
    let dir = tempfile::tempdir().expect("tmp");
    let s = open(&dir).with_pruning(2).pruned_every(5);
    for v in 1..=9u64 {
        s.apply(v, [kv("k", &v.to_string())]).expect("apply");
    }
    // Pruned at 5 (keeping 4 and 5); 6 to 9 added since.
    assert_eq!(s.earliest_version().expect("earliest"), Some(4));
    assert!(s.get(b"k", 3).is_err(), "version 3 was pruned at 5");
    s.apply(10, [kv("k", "10")]).expect("apply 10");
    assert_eq!(s.earliest_version().expect("earliest"), Some(9));
    assert!(proves_present(&s, "k", "9", 9));
}
