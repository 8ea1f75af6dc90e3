//! The ordered index of live keys: what makes a prefix read cost what it returns.
//!
//! The tree is keyed by the hash of each key, so it cannot list the keys under a prefix.
//! Beside it, three tables record when each key exists, as intervals of versions:
//! - [`LIVE`]: every key present at the latest version → the version it was created at;
//! - [`DEAD`]: a closed interval, `key ‖ deleted (8 bytes BE) ‖ key length (4 bytes BE)` →
//!   created, for reads at older versions;
//! - [`DEAD_SINCE`]: `deleted ‖ key` → (), so pruning finds the intervals that ended before
//!   the oldest kept version.
//!
//! Only creations and deletions touch them, never an update of a present key. A read at the
//! latest version walks [`LIVE`] under the prefix; a read at an older version also walks the
//! intervals under the prefix that pruning has not yet dropped.

use crate::store::{value_key, Version, PREIMAGES, VALUES};
use crate::{Error, Result};
use jmt::KeyHash;
use redb::{ReadableTable, TableDefinition, WriteTransaction};
use sha2::Sha256;
use std::collections::BTreeMap;

pub(crate) const LIVE: TableDefinition<&[u8], u64> = TableDefinition::new("live_keys");
pub(crate) const DEAD: TableDefinition<&[u8], u64> = TableDefinition::new("dead_keys");
pub(crate) const DEAD_SINCE: TableDefinition<&[u8], ()> = TableDefinition::new("dead_since");

/// What a version does to the index: keys it creates, and keys it deletes with the version
/// each was created at.
#[derive(Default)]
pub(crate) struct KeyChanges {
    pub(crate) created: Vec<Vec<u8>>,
    pub(crate) deleted: Vec<(Vec<u8>, Version)>,
}

fn dead_key(key: &[u8], deleted: Version) -> Result<Vec<u8>> {
    let len = u32::try_from(key.len()).map_err(|_| Error::Corrupt("key too long".into()))?;
    let mut k = Vec::with_capacity(key.len() + 12);
    k.extend_from_slice(key);
    k.extend_from_slice(&deleted.to_be_bytes());
    k.extend_from_slice(&len.to_be_bytes());
    Ok(k)
}

/// The key and deletion version of a [`DEAD`] entry.
pub(crate) fn parse_dead(entry: &[u8]) -> Result<(&[u8], Version)> {
    let corrupt = || Error::Corrupt("dead key entry".into());
    let n = entry.len().checked_sub(12).ok_or_else(corrupt)?;
    let len = u32::from_be_bytes(entry[n + 8..].try_into().map_err(|_| corrupt())?) as usize;
    if len != n {
        return Err(corrupt());
    }
    let deleted = u64::from_be_bytes(entry[n..n + 8].try_into().map_err(|_| corrupt())?);
    Ok((&entry[..n], deleted))
}

fn dead_since_key(deleted: Version, key: &[u8]) -> Vec<u8> {
    let mut k = deleted.to_be_bytes().to_vec();
    k.extend_from_slice(key);
    k
}

/// The first byte string after every string that starts with `prefix` (`None`: no bound).
pub(crate) fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < u8::MAX {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

/// Record `changes` as made at `version`.
pub(crate) fn write(txn: &WriteTransaction, version: Version, changes: &KeyChanges) -> Result<()> {
    let mut live = txn.open_table(LIVE)?;
    for k in &changes.created {
        live.insert(k.as_slice(), version)?;
    }
    let mut dead = txn.open_table(DEAD)?;
    let mut since = txn.open_table(DEAD_SINCE)?;
    for (k, created) in &changes.deleted {
        live.remove(k.as_slice())?;
        dead.insert(dead_key(k, version)?.as_slice(), *created)?;
        since.insert(dead_since_key(version, k).as_slice(), ())?;
    }
    Ok(())
}

/// Drop what no kept version (`earliest_kept` and after) can reach: the intervals that ended
/// at or before it, the deletion records of their keys in the values table, and the preimages
/// of keys that are absent from every kept version.
pub(crate) fn prune(txn: &WriteTransaction, earliest_kept: Version) -> Result<()> {
    let bound = (earliest_kept + 1).to_be_bytes();
    let mut since = txn.open_table(DEAD_SINCE)?;
    let mut dead = txn.open_table(DEAD)?;
    let live = txn.open_table(LIVE)?;
    let mut values = txn.open_table(VALUES)?;
    let mut preimages = txn.open_table(PREIMAGES)?;
    for entry in since.extract_from_if(..bound.as_slice(), |_, _| true)? {
        let (entry, _) = entry?;
        let entry = entry.value();
        let (deleted, key) = entry.split_at(8);
        let deleted = u64::from_be_bytes(
            deleted
                .try_into()
                .map_err(|_| Error::Corrupt("dead_since entry".into()))?,
        );
        dead.remove(dead_key(key, deleted)?.as_slice())?;
        let kh = KeyHash::with::<Sha256>(key);
        // The tombstone: every kept version reads "absent" without it.
        values.remove(value_key(&kh, deleted).as_slice())?;
        if live.get(key)?.is_some() {
            continue;
        }
        // Another interval of the same key still reaches a kept version?
        let lo = dead_key(key, 0)?;
        let hi = dead_key(key, u64::MAX)?;
        let mut later = false;
        for e in dead.range(lo.as_slice()..=hi.as_slice())? {
            let (e, _) = e?;
            if parse_dead(e.value())?.0 == key {
                later = true;
                break;
            }
        }
        if !later {
            preimages.remove(kh.0.as_slice())?;
        }
    }
    Ok(())
}

/// Build the index from the values table: for a store written before the index existed.
/// Each key's records, in version order, give its intervals (a record of a pruned version
/// counts as made at the oldest one still held).
pub(crate) fn rebuild(txn: &WriteTransaction) -> Result<()> {
    let values = txn.open_table(VALUES)?;
    let preimages = txn.open_table(PREIMAGES)?;
    let mut changes: BTreeMap<Version, KeyChanges> = BTreeMap::new();
    let mut current: Option<([u8; 32], Option<Version>)> = None;
    let mut key: Option<Vec<u8>> = None;
    for entry in values.iter()? {
        let (k, v) = entry?;
        let (k, v) = (k.value(), v.value());
        if k.len() != 40 {
            return Err(Error::Corrupt("value key".into()));
        }
        let kh: [u8; 32] = k[..32]
            .try_into()
            .map_err(|_| Error::Corrupt("value key".into()))?;
        let version = u64::from_be_bytes(
            k[32..]
                .try_into()
                .map_err(|_| Error::Corrupt("value key".into()))?,
        );
        if current.map(|(h, _)| h) != Some(kh) {
            current = Some((kh, None));
            key = preimages.get(kh.as_slice())?.map(|p| p.value().to_vec());
        }
        let (Some((_, created)), Some(key)) = (current.as_mut(), key.as_ref()) else {
            continue;
        };
        match (v.first(), *created) {
            (Some(1), None) => {
                *created = Some(version);
                changes
                    .entry(version)
                    .or_default()
                    .created
                    .push(key.clone());
            }
            (Some(0), Some(c)) => {
                *created = None;
                changes
                    .entry(version)
                    .or_default()
                    .deleted
                    .push((key.clone(), c));
            }
            _ => {}
        }
    }
    drop((values, preimages));
    // Replayed in version order, each key's interval opens before it closes.
    for (version, c) in &changes {
        write(txn, *version, c)?;
    }
    Ok(())
}
