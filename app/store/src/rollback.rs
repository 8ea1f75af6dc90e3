//! Undoing the newest version (`keystone rollback`): everything [`crate::Store::commit`]
//! wrote for it goes, so the store is byte for byte what it was before that commit and the
//! version can be written again — by replaying its block, which must give the same root.
//!
//! What a version writes, and how each part is found again:
//! - tree nodes: keyed by version first, one range;
//! - values: keyed by key hash then version, so found by a scan of the table (an operator's
//!   command, once; not a path any block takes);
//! - stale-node and stale-value index entries: keyed by the version they went stale at, one
//!   range each;
//! - the live-key index: keys created at the version (a scan of the live keys) leave it, and
//!   keys it deleted come back from their closed intervals;
//! - the preimages of keys it created, unless an older value of the key is still held;
//! - its root.

use crate::keys::{DEAD, DEAD_SINCE, LIVE};
use crate::store::{Version, NODES, PREIMAGES, ROOTS, STALE_NODES, STALE_VALUES, VALUES};
use crate::{Error, Result};
use jmt::KeyHash;
use redb::{ReadableTable, WriteTransaction};
use sha2::Sha256;

/// Remove version `v` (the newest) from the store inside `txn`.
pub(crate) fn remove_version(txn: &WriteTransaction, v: Version) -> Result<()> {
    let this = v.to_be_bytes();
    let next = (v + 1).to_be_bytes();
    txn.open_table(NODES)?
        .retain_in(this.as_slice()..next.as_slice(), |_, _| false)?;
    txn.open_table(STALE_NODES)?
        .retain_in(this.as_slice()..next.as_slice(), |_, _| false)?;
    txn.open_table(STALE_VALUES)?
        .retain_in(this.as_slice()..next.as_slice(), |_, _| false)?;
    // Values written at `v`: the last 8 bytes of their key.
    let mut values = txn.open_table(VALUES)?;
    let written: Vec<Vec<u8>> = values
        .iter()?
        .filter_map(|e| match e {
            Ok((k, _)) => {
                (k.value().len() == 40 && k.value()[32..] == this).then(|| Ok(k.value().to_vec()))
            }
            Err(e) => Some(Err(e)),
        })
        .collect::<std::result::Result<_, _>>()?;
    for k in &written {
        values.remove(k.as_slice())?;
    }
    // Keys created at `v` leave the live index, and their preimages go unless the key has an
    // older record still held (it existed before, was deleted, and came back at `v`).
    let mut live = txn.open_table(LIVE)?;
    let created: Vec<Vec<u8>> = live
        .iter()?
        .filter_map(|e| match e {
            Ok((k, c)) => (c.value() == v).then(|| Ok(k.value().to_vec())),
            Err(e) => Some(Err(e)),
        })
        .collect::<std::result::Result<_, _>>()?;
    let mut preimages = txn.open_table(PREIMAGES)?;
    for k in &created {
        live.remove(k.as_slice())?;
        let kh = KeyHash::with::<Sha256>(k);
        let mut older = values.range(kh.0.as_slice()..)?;
        let held = match older.next() {
            Some(e) => e?.0.value().starts_with(&kh.0),
            None => false,
        };
        drop(older);
        if !held {
            preimages.remove(kh.0.as_slice())?;
        }
    }
    // Keys deleted at `v` are live again from the version they were created at.
    let mut since = txn.open_table(DEAD_SINCE)?;
    let mut dead = txn.open_table(DEAD)?;
    let ended: Vec<Vec<u8>> = since
        .extract_from_if(this.as_slice()..next.as_slice(), |_, _| true)?
        .map(|e| e.map(|(k, _)| k.value()[8..].to_vec()))
        .collect::<std::result::Result<_, _>>()?;
    for key in &ended {
        let len = u32::try_from(key.len()).map_err(|_| Error::Corrupt("key too long".into()))?;
        let mut entry = key.clone();
        entry.extend_from_slice(&this);
        entry.extend_from_slice(&len.to_be_bytes());
        let created = dead
            .remove(entry.as_slice())?
            .ok_or_else(|| Error::Corrupt("a deletion record without its interval".into()))?
            .value();
        live.insert(key.as_slice(), created)?;
    }
    txn.open_table(ROOTS)?.remove(v)?;
    Ok(())
}
