//! Export and restore on real redb files.

use super::*;

fn store() -> (tempfile::TempDir, Arc<Store>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = Store::open(dir.path().join("state.redb")).expect("open");
    (dir, Arc::new(s))
}

/// A store with `n` keys at version 3, some of them rewritten and some deleted since 1.
fn source(n: u32) -> (tempfile::TempDir, Arc<Store>) {
    let (dir, s) = store();
    let key = |i: u32| format!("bank/balances/acct{i:06}").into_bytes();
    s.apply(
        1,
        (0..n).map(|i| (key(i), Some(format!("v1-{i}").into_bytes()))),
    )
    .expect("v1");
    s.apply(
        2,
        (0..n)
            .step_by(3)
            .map(|i| (key(i), Some(format!("v2-{i}").into_bytes()))),
    )
    .expect("v2");
    s.apply(3, (0..n).step_by(7).map(|i| (key(i), None)))
        .expect("v3");
    (dir, s)
}

fn chunks_of(s: &Store, version: Version, bytes: usize) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let n = s
        .export(version)
        .expect("hold")
        .chunks(bytes, |c| {
            out.push(c);
            Ok(())
        })
        .expect("export");
    assert_eq!(n as usize, out.len());
    out
}

/// What a version holds, read back key by key through the prefix index.
fn contents(s: &Store, version: Version) -> Vec<(Vec<u8>, Vec<u8>)> {
    s.prefix(b"", version).expect("prefix")
}

#[test]
fn a_restored_store_has_the_same_root_contents_and_proofs_and_takes_the_next_version() {
    let (_d, src) = source(3000);
    let root = src.root_hash(3).expect("root");
    let chunks = chunks_of(&src, 3, 16 * 1024);
    assert!(chunks.len() > 5, "{} chunks", chunks.len());

    let (_d2, dst) = store();
    let mut r = dst.restore(3, root).expect("begin");
    for (i, c) in chunks.iter().enumerate() {
        r.apply(i as u32, c).expect("chunk");
    }
    assert_eq!(r.finish().expect("finish"), root);
    assert_eq!(dst.latest_version().expect("latest"), Some(3));
    assert_eq!(contents(&dst, 3), contents(&src, 3));
    // Proofs of presence and of absence verify against the same root.
    for key in [
        &b"bank/balances/acct000001"[..],
        b"bank/balances/acct000007",
        b"nope",
    ] {
        let (v, proof) = dst.get_with_proof(key, 3).expect("proof");
        assert_eq!(v, src.get(key, 3).expect("get"));
        let spec = crate::proof_spec();
        let ok = match &v {
            Some(v) => ics23::verify_membership::<ics23::HostFunctionsManager>(
                &proof,
                &spec,
                &root.to_vec(),
                key,
                v,
            ),
            None => ics23::verify_non_membership::<ics23::HostFunctionsManager>(
                &proof,
                &spec,
                &root.to_vec(),
                key,
            ),
        };
        assert!(ok, "proof for {}", String::from_utf8_lossy(key));
    }
    // The chain goes on from the restored version, as the source's does.
    let next = [(b"bank/balances/acct000002".to_vec(), Some(b"v4".to_vec()))];
    assert_eq!(
        dst.apply(4, next.clone()).expect("v4"),
        src.apply(4, next).expect("v4 at the source")
    );
}

#[test]
fn a_bad_chunk_is_refused_and_the_good_one_then_goes_in() {
    let (_d, src) = source(2000);
    let root = src.root_hash(3).expect("root");
    let chunks = chunks_of(&src, 3, 8 * 1024);
    let (_d2, dst) = store();
    let mut r = dst.restore(3, root).expect("begin");
    r.apply(0, &chunks[0]).expect("chunk 0");
    r.apply(1, &chunks[1]).expect("chunk 1");
    // A value changed in transit.
    let mut forged: Chunk = Chunk::try_from_slice(&chunks[2]).expect("decode");
    forged.entries[3].1 = b"forged".to_vec();
    let forged = borsh::to_vec(&forged).expect("encode");
    assert!(matches!(r.apply(2, &forged), Err(Error::BadChunk(_))));
    // A chunk left out (3 sent as 2), garbage, and an index out of turn.
    assert!(matches!(r.apply(2, &chunks[3]), Err(Error::BadChunk(_))));
    assert!(matches!(
        r.apply(2, b"\x01\x02junk"),
        Err(Error::BadChunk(_))
    ));
    assert!(matches!(r.apply(5, &chunks[5]), Err(Error::BadChunk(_))));
    for (i, c) in chunks.iter().enumerate().skip(2) {
        r.apply(i as u32, c).expect("the honest chunk");
    }
    assert_eq!(r.finish().expect("finish"), root);
    assert_eq!(contents(&dst, 3), contents(&src, 3));
}

#[test]
fn a_restore_cut_short_resumes_where_it_was_and_is_not_used_meanwhile() {
    let (_d, src) = source(2000);
    let root = src.root_hash(3).expect("root");
    let chunks = chunks_of(&src, 3, 8 * 1024);
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("state.redb");
    {
        let dst = Arc::new(Store::open(&path).expect("open"));
        let mut r = dst.restore(3, root).expect("begin");
        for (i, c) in chunks.iter().enumerate().take(4) {
            r.apply(i as u32, c).expect("chunk");
        }
        // The process dies here (the store is dropped without finishing).
    }
    let dst = Arc::new(Store::open(&path).expect("reopen"));
    assert_eq!(dst.restore_pending().expect("pending"), Some((3, root)));
    assert_eq!(
        dst.latest_version().expect("latest"),
        None,
        "no version is visible"
    );
    assert!(matches!(
        dst.apply(1, [(b"k".to_vec(), Some(b"v".to_vec()))]),
        Err(Error::RestoreInProgress)
    ));
    let mut r = dst.restore(3, root).expect("resume");
    assert_eq!(r.next_chunk(), 4);
    for (i, c) in chunks.iter().enumerate().skip(4) {
        r.apply(i as u32, c).expect("chunk");
    }
    assert_eq!(r.finish().expect("finish"), root);
    assert_eq!(
        kept_chunks(&dst).expect("kept"),
        0,
        "the kept chunks go once done"
    );
    assert_eq!(contents(&dst, 3), contents(&src, 3));
}

#[test]
fn missing_trailing_chunks_or_another_target_leave_no_usable_state() {
    let (_d, src) = source(2000);
    let root = src.root_hash(3).expect("root");
    let chunks = chunks_of(&src, 3, 8 * 1024);
    let (_d2, dst) = store();
    let mut r = dst.restore(3, root).expect("begin");
    for (i, c) in chunks.iter().enumerate().take(chunks.len() - 1) {
        r.apply(i as u32, c).expect("chunk");
    }
    assert!(matches!(r.finish(), Err(Error::RestoreRoot { .. })));
    assert_eq!(dst.latest_version().expect("latest"), None);
    // Another target drops what was there; aborting empties the store for ordinary use.
    let r = dst
        .restore(2, src.root_hash(2).expect("root 2"))
        .expect("other target");
    assert_eq!(r.next_chunk(), 0);
    dst.abort_restore().expect("abort");
    assert_eq!(dst.restore_pending().expect("pending"), None);
    assert_eq!(dst.stats().expect("stats").nodes, 0);
    dst.apply(1, [(b"k".to_vec(), Some(b"v".to_vec()))])
        .expect("an ordinary store again");
    // And a store with state refuses a restore.
    assert!(matches!(src.restore(3, root), Err(Error::NotEmpty)));
}

#[test]
fn an_export_held_before_pruning_still_cuts_its_version_after_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let src = Arc::new(
        Store::open(dir.path().join("state.redb"))
            .expect("open")
            .with_pruning(1),
    );
    let key = |i: u32| format!("k/{i:05}").into_bytes();
    src.apply(1, (0..500).map(|i| (key(i), Some(b"one".to_vec()))))
        .expect("v1");
    let root = src.root_hash(1).expect("root");
    let expected = contents(&src, 1);
    let held = src.export(1).expect("hold");
    for v in 2..6 {
        src.apply(
            v,
            (0..500).map(|i| (key(i), Some(format!("v{v}").into_bytes()))),
        )
        .expect("later version");
    }
    assert!(
        src.get(&key(1), 1).is_err(),
        "version 1 is pruned for readers"
    );
    let mut chunks = Vec::new();
    held.chunks(4096, |c| {
        chunks.push(c);
        Ok(())
    })
    .expect("the held version exports");
    let (_d2, dst) = store();
    let mut r = dst.restore(1, root).expect("begin");
    for (i, c) in chunks.iter().enumerate() {
        r.apply(i as u32, c).expect("chunk");
    }
    assert_eq!(r.finish().expect("finish"), root);
    assert_eq!(contents(&dst, 1), expected);
}
