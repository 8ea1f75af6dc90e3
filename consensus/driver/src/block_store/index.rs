//! The transaction and block event indexes (CometBFT's kv indexers) and the searches over
//! them. What `tx_search`, `block_search`, `tx` and the SDK's `GetTxsEvent` read.
//!
//! The transaction event index keeps one entry per attribute value per height, listing the
//! transactions that carry it, rather than CometBFT's one entry per attribute per
//! transaction: in a block of bank sends most values (the message action, the module, the
//! fee, the few busy senders) repeat from transaction to transaction, and each entry is a
//! B-tree insert. Storing a 2,000-send block's index went from 62,000 inserts to about 6,200,
//! 6,000 of them the hash, the signature and the account/sequence that are new with every
//! transaction (`cargo bench -p keystone-consensus-driver --bench block_store`). `tx.hash` is
//! answered from the hash index itself, which holds every hash once.
//!
//! Some values are new with every transaction: its hash, its signature. Inserted height by
//! height into a B-tree that copies each page it changes once per write transaction, each of
//! those lands on a page of its own, so a block's index rewrote a page per transaction, more
//! as the chain grew. A height's entries are first written to [`STAGED`], under the height
//! (appended at the end of that table), and every [`MERGE_EVERY`] heights they move to the
//! main tables in one transaction, which copies each page it touches once for all of them.
//! Searches read both.

use super::{BlockStoreError, Result};
use crate::event_query::{Condition, Op, Operand, Query};
use keystone_consensus_types::Height;
use redb::{ReadTransaction, ReadableTable, TableDefinition, WriteTransaction};
use std::collections::{BTreeMap, BTreeSet};

/// Where each committed transaction is: sha256 of the tx → height (8 bytes BE) ‖ index (4 BE).
/// A transaction committed twice (the same bytes, failing the second time) keeps its later
/// location, as CometBFT's indexer does.
pub(super) const TX_INDEX: TableDefinition<&[u8], &[u8]> = TableDefinition::new("tx_index");
/// The transaction event index: for every indexed attribute value of every committed
/// transaction, and the implicit `tx.height`, a key `len(k) ‖ k ‖ len(v) ‖ v ‖ height (8 BE)`
/// with `k` = `type.attribute`, whose value lists the indexes (4 bytes BE each, ascending) of
/// that height's transactions that carry it. Length prefixes (u16 and u32 BE) keep one key's
/// entries, and one value's, contiguous whatever bytes they hold; the height last keeps one
/// value's entries in height order.
pub(super) const TX_EVENTS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("tx_events_v2");
/// The transaction event index as stores written before [`TX_EVENTS`] kept it: one key per
/// attribute per transaction, `… ‖ height (8 BE) ‖ index (4 BE)`, with `tx.hash` among them;
/// moved to [`TX_EVENTS`] on open.
const OLD_TX_EVENTS: TableDefinition<&[u8], ()> = TableDefinition::new("tx_events");
/// The transaction index entries of the most recent heights, before they move to [`TX_INDEX`]
/// and [`TX_EVENTS`]: `height (8 BE) ‖ tag ‖ key`, where tag [`STAGED_EVENT`] marks a
/// [`TX_EVENTS`] key and value, and [`STAGED_HASH`] a [`TX_INDEX`] one.
pub(super) const STAGED: TableDefinition<&[u8], &[u8]> = TableDefinition::new("tx_index_staged");
const STAGED_EVENT: u8 = 0;
const STAGED_HASH: u8 = 1;
/// Heights staged before their entries move to the main tables together: each page of those
/// tables is then copied once per this many heights instead of once per height.
const MERGE_EVERY: u64 = 16;

fn staged_key(h: Height, tag: u8, key: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(9 + key.len());
    k.extend(h.to_be_bytes());
    k.push(tag);
    k.extend_from_slice(key);
    k
}

/// The heights [`STAGED`] holds entries of: its first and last.
fn staged_heights<T: ReadableTable<&'static [u8], &'static [u8]>>(
    staged: &T,
) -> Result<Option<std::ops::RangeInclusive<Height>>> {
    let first = staged.first()?.map(|(k, _)| height_of(k.value().get(..8)?));
    let last = staged.last()?.map(|(k, _)| height_of(k.value().get(..8)?));
    match (first, last) {
        (Some(Some(first)), Some(Some(last))) => Ok(Some(first..=last)),
        (None, None) => Ok(None),
        _ => Err(corrupt("staged index")),
    }
}

/// The block event index, CometBFT's kv block indexer: the same keys for the indexed
/// attributes of each height's `FinalizeBlock` events and the implicit `block.height`, each
/// followed by the height (8 BE) and 0 (4 BE), with no value.
pub(super) const BLOCK_EVENTS: TableDefinition<&[u8], ()> = TableDefinition::new("block_events");

/// The index key prefix for attribute `key` (and, if given, exactly `value`).
fn event_prefix(key: &str, value: Option<&str>) -> Result<Vec<u8>> {
    let mut p = Vec::new();
    push_event_prefix(&mut p, key, None, value)?;
    Ok(p)
}

/// Append to `out` the index key prefix for attribute `kind` — or `kind.attr`, given `attr`
/// (an event's type and attribute key, joined without building the string) — and, if given,
/// exactly `value`.
fn push_event_prefix(
    out: &mut Vec<u8>,
    kind: &str,
    attr: Option<&str>,
    value: Option<&str>,
) -> Result<()> {
    let too_long = || {
        let key = match attr {
            Some(attr) => format!("{kind}.{attr}"),
            None => kind.to_owned(),
        };
        BlockStoreError::Db(format!("event key {key:?} is too long to index"))
    };
    let klen = kind.len() + attr.map_or(0, |a| 1 + a.len());
    out.extend(u16::try_from(klen).map_err(|_| too_long())?.to_be_bytes());
    out.extend_from_slice(kind.as_bytes());
    if let Some(attr) = attr {
        out.push(b'.');
        out.extend_from_slice(attr.as_bytes());
    }
    if let Some(v) = value {
        out.extend(
            u32::try_from(v.len())
                .map_err(|_| too_long())?
                .to_be_bytes(),
        );
        out.extend_from_slice(v.as_bytes());
    }
    Ok(())
}

/// The attribute key, the value and what follows them in an index key.
fn split_event_key(k: &[u8]) -> Option<(&[u8], &[u8], &[u8])> {
    let klen = u16::from_be_bytes(k.get(..2)?.try_into().ok()?) as usize;
    let key = k.get(2..2 + klen)?;
    let rest = k.get(2 + klen..)?;
    let vlen = u32::from_be_bytes(rest.get(..4)?.try_into().ok()?) as usize;
    let value = rest.get(4..4 + vlen)?;
    let tail = rest.get(4 + vlen..)?;
    Some((key, value, tail))
}

fn height_of(b: &[u8]) -> Option<Height> {
    Some(u64::from_be_bytes(b.try_into().ok()?))
}

fn corrupt(what: &str) -> BlockStoreError {
    BlockStoreError::Corrupt {
        height: 0,
        reason: format!("{what} entry"),
    }
}

/// A transaction's location: height (8 bytes BE) ‖ index in the block (4 BE).
fn location(h: Height, i: u32) -> [u8; 12] {
    let mut loc = [0; 12];
    loc[..8].copy_from_slice(&h.to_be_bytes());
    loc[8..].copy_from_slice(&i.to_be_bytes());
    loc
}

fn parse_location(v: &[u8]) -> Option<(Height, u32)> {
    let v: &[u8; 12] = v.try_into().ok()?;
    let (h, i) = v.split_at(8);
    Some((height_of(h)?, u32::from_be_bytes(i.try_into().ok()?)))
}

/// The index entries of one height's results: what [`super::BlockStore::save_results`]
/// writes and [`super::BlockStore::remove_last`] takes out again. Each table's entries are in
/// key order, so a height's inserts walk each B-tree once from left to right.
pub(super) struct IndexEntries {
    /// `block.height` and the block events, each key ending in the height's location.
    block_events: BTreeSet<Vec<u8>>,
    /// Each transaction's hash and location.
    tx_hashes: BTreeMap<[u8; 32], [u8; 12]>,
    /// `tx.height` and each transaction's indexed events, with the transactions' indexes.
    tx_events: BTreeMap<Vec<u8>, Vec<u8>>,
}

impl IndexEntries {
    fn none() -> IndexEntries {
        IndexEntries {
            block_events: BTreeSet::new(),
            tx_hashes: BTreeMap::new(),
            tx_events: BTreeMap::new(),
        }
    }

    pub(super) fn of(
        h: Height,
        txs: &[Vec<u8>],
        res: &keystone_proto::abci::ResponseFinalizeBlock,
    ) -> Result<IndexEntries> {
        let mut out = IndexEntries::none();
        let height = h.to_be_bytes();
        let block_loc = location(h, 0);
        let mut block_event = |kind: &str, attr: Option<&str>, v: &str| -> Result<()> {
            let mut key = Vec::new();
            push_event_prefix(&mut key, kind, attr, Some(v))?;
            key.extend_from_slice(&block_loc);
            out.block_events.insert(key);
            Ok(())
        };
        block_event("block.height", None, &h.to_string())?;
        for e in &res.events {
            for a in e.attributes.iter().filter(|a| a.index) {
                block_event(&e.r#type, Some(&a.key), &a.value)?;
            }
        }
        // Most attribute values repeat across a block's transactions: the key is built in one
        // buffer and allocated only for a value not seen before in this block.
        let mut key = Vec::new();
        let mut tx_event = |kind: &str, attr: Option<&str>, v: &str, i: u32| -> Result<()> {
            key.clear();
            push_event_prefix(&mut key, kind, attr, Some(v))?;
            key.extend_from_slice(&height);
            let list = match out.tx_events.get_mut(key.as_slice()) {
                Some(list) => list,
                None => out.tx_events.entry(key.clone()).or_default(),
            };
            // Transactions come in order, so a repeated attribute of one is its last index.
            if !list.ends_with(&i.to_be_bytes()) {
                list.extend(i.to_be_bytes());
            }
            Ok(())
        };
        let h_text = h.to_string();
        for (i, tx) in txs.iter().enumerate() {
            let i = u32::try_from(i).map_err(|_| BlockStoreError::Corrupt {
                height: h,
                reason: "more transactions than an index holds".into(),
            })?;
            tx_event("tx.height", None, &h_text, i)?;
            if let Some(r) = res.tx_results.get(i as usize) {
                for e in &r.events {
                    for a in e.attributes.iter().filter(|a| a.index) {
                        tx_event(&e.r#type, Some(&a.key), &a.value, i)?;
                    }
                }
            }
            out.tx_hashes
                .insert(keystone_consensus_types::sha256(tx).0, location(h, i));
        }
        Ok(out)
    }

    /// Write the entries of height `h`: its transactions' to [`STAGED`], and every
    /// [`MERGE_EVERY`] heights all staged ones to the main tables.
    pub(super) fn write(&self, txn: &WriteTransaction, h: Height) -> Result<()> {
        let mut blocks = txn.open_table(BLOCK_EVENTS)?;
        for k in &self.block_events {
            blocks.insert(k.as_slice(), ())?;
        }
        let mut staged = txn.open_table(STAGED)?;
        for (k, list) in &self.tx_events {
            staged.insert(staged_key(h, STAGED_EVENT, k).as_slice(), list.as_slice())?;
        }
        for (hash, loc) in &self.tx_hashes {
            staged.insert(staged_key(h, STAGED_HASH, hash).as_slice(), loc.as_slice())?;
        }
        if let Some(heights) = staged_heights(&staged)? {
            if h.saturating_sub(*heights.start()) + 1 >= MERGE_EVERY {
                merge(txn, &mut staged)?;
            }
        }
        Ok(())
    }

    /// Take out the entries of height `h` (the highest stored).
    pub(super) fn remove(&self, txn: &WriteTransaction, h: Height) -> Result<()> {
        let mut blocks = txn.open_table(BLOCK_EVENTS)?;
        for k in &self.block_events {
            blocks.remove(k.as_slice())?;
        }
        let mut staged = txn.open_table(STAGED)?;
        let (from, to) = (h.to_be_bytes(), (h + 1).to_be_bytes());
        if staged
            .range::<&[u8]>(from.as_slice()..to.as_slice())?
            .next()
            .is_some()
        {
            // Still staged: everything of `h` is here.
            staged.retain_in::<&[u8], _>(from.as_slice()..to.as_slice(), |_, _| false)?;
            return Ok(());
        }
        let mut by_hash = txn.open_table(TX_INDEX)?;
        for (hash, loc) in &self.tx_hashes {
            // A transaction committed again later keeps its later location.
            if by_hash
                .get(hash.as_slice())?
                .map(|v| v.value() == loc.as_slice())
                == Some(true)
            {
                by_hash.remove(hash.as_slice())?;
            }
        }
        let mut by_event = txn.open_table(TX_EVENTS)?;
        for k in self.tx_events.keys() {
            by_event.remove(k.as_slice())?;
        }
        Ok(())
    }
}

/// Move every staged entry to the main tables, in height order (so a transaction committed
/// twice keeps its later location).
fn merge(
    txn: &WriteTransaction,
    staged: &mut redb::Table<&'static [u8], &'static [u8]>,
) -> Result<()> {
    // In key order, table by table: each insert then lands next to the one before, on a
    // page already copied and in cache. Later heights come later for equal keys (the sort is
    // stable), so a transaction committed twice keeps its later location.
    let mut entries = Vec::new();
    for e in staged.extract_from_if::<&[u8], _>(.., |_, _| true)? {
        let (k, v) = e?;
        let k = k.value();
        let (Some(&tag), Some(key)) = (k.get(8), k.get(9..)) else {
            return Err(corrupt("staged index"));
        };
        entries.push((tag, key.to_vec(), v.value().to_vec()));
    }
    entries.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
    let mut by_event = txn.open_table(TX_EVENTS)?;
    let mut by_hash = txn.open_table(TX_INDEX)?;
    for (tag, key, value) in entries {
        match tag {
            STAGED_EVENT => by_event.insert(key.as_slice(), value.as_slice())?,
            STAGED_HASH => by_hash.insert(key.as_slice(), value.as_slice())?,
            _ => return Err(corrupt("staged index")),
        };
    }
    Ok(())
}

/// Where the transaction with `hash` was committed: the newest staged location, else the main
/// index's.
pub(super) fn locate(txn: &ReadTransaction, hash: &[u8]) -> Result<Option<(Height, u32)>> {
    let staged = txn.open_table(STAGED)?;
    if let Some(heights) = staged_heights(&staged)? {
        for h in heights.rev() {
            if let Some(loc) = staged.get(staged_key(h, STAGED_HASH, hash).as_slice())? {
                return parse_location(loc.value())
                    .map(Some)
                    .ok_or_else(|| corrupt("staged index"));
            }
        }
    }
    match txn.open_table(TX_INDEX)?.get(hash)? {
        Some(loc) => parse_location(loc.value())
            .map(Some)
            .ok_or_else(|| corrupt("tx index")),
        None => Ok(None),
    }
}

/// Does the database hold the event index of an older Keystone?
pub(super) fn has_old_index(txn: &ReadTransaction) -> Result<bool> {
    match txn.open_table(OLD_TX_EVENTS) {
        Ok(_) => Ok(true),
        Err(redb::TableError::TableDoesNotExist(_)) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// Move an older Keystone's event index to [`TX_EVENTS`]: its entries for one value at one
/// height, adjacent in its key order, become one entry; its `tx.hash` entries go, as
/// [`TX_INDEX`] answers for them.
pub(super) fn move_old_index(txn: &WriteTransaction) -> Result<()> {
    {
        let old = txn.open_table(OLD_TX_EVENTS)?;
        let mut new = txn.open_table(TX_EVENTS)?;
        let mut group: Option<(Vec<u8>, Vec<u8>)> = None;
        for e in old.iter()? {
            let (k, _) = e?;
            let k = k.value();
            let (key, _, tail) = split_event_key(k).ok_or_else(|| corrupt("old event index"))?;
            if key == b"tx.hash" {
                continue;
            }
            let (h, i) = parse_location(tail).ok_or_else(|| corrupt("old event index"))?;
            // Everything but the transaction's index: the new key.
            let head = &k[..k.len() - 4];
            match &mut group {
                Some((g, list)) if g.as_slice() == head => list.extend(i.to_be_bytes()),
                _ => {
                    if let Some((g, list)) = group.take() {
                        new.insert(g.as_slice(), list.as_slice())?;
                    }
                    debug_assert_eq!(height_of(&head[head.len() - 8..]), Some(h));
                    group = Some((head.to_vec(), i.to_be_bytes().to_vec()));
                }
            }
        }
        if let Some((g, list)) = group {
            new.insert(g.as_slice(), list.as_slice())?;
        }
    }
    txn.delete_table(OLD_TX_EVENTS)?;
    Ok(())
}

/// Which of `kinds` (the query's `tm.event` conditions) allow the event kind `kind`, and the
/// other conditions — or, when there are none, `every`, which every entry has.
fn conditions<'q>(
    query: &'q Query,
    kind: &str,
    every: &'q Condition,
) -> Option<Vec<&'q Condition>> {
    let (kinds, conditions): (Vec<&Condition>, Vec<&Condition>) =
        query.conditions.iter().partition(|c| c.key == "tm.event");
    if !kinds.iter().all(|c| c.matches(kind)) {
        return None;
    }
    Some(if conditions.is_empty() {
        vec![every]
    } else {
        conditions
    })
}

fn exists(key: &str) -> Condition {
    Condition {
        key: key.into(),
        op: Op::Exists,
        operand: Operand::None,
    }
}

/// Every entry of `table` whose attribute value satisfies `c`, with what follows the value:
/// the entries whose keys are `head` followed by an index key (of `c`'s attribute).
fn scan<V: redb::Value + 'static>(
    table: &redb::ReadOnlyTable<&'static [u8], V>,
    head: &[u8],
    c: &Condition,
    mut each: impl FnMut(&[u8], redb::AccessGuard<'_, V>) -> Result<()>,
) -> Result<()> {
    let mut seek = head.to_vec();
    seek.extend(event_prefix(&c.key, c.equals())?);
    for entry in table.range(seek.as_slice()..)? {
        let (k, v) = entry?;
        let k = k.value();
        if !k.starts_with(&seek) {
            break;
        }
        let (_, value, tail) =
            split_event_key(&k[head.len()..]).ok_or_else(|| corrupt("event index"))?;
        if c.equals().is_some() || c.matches(&String::from_utf8_lossy(value)) {
            each(tail, v)?;
        }
    }
    Ok(())
}

/// The locations of the transactions whose hash satisfies `c`, from the hash index (staged
/// and main).
fn by_hash(
    txn: &ReadTransaction,
    c: &Condition,
    found: &mut BTreeSet<(Height, u32)>,
) -> Result<()> {
    if let Some(text) = c.equals() {
        // The index holds the hash itself; the text must still be the upper-case hex the
        // event's value would have been.
        if let Ok(hash) = hex::decode(text) {
            if hex::encode_upper(&hash) == text {
                found.extend(locate(txn, &hash)?);
            }
        }
        return Ok(());
    }
    // Every hash: the staged ones first (the newest location of each), then the main
    // index's others.
    let mut newest: BTreeMap<Vec<u8>, (Height, u32)> = BTreeMap::new();
    let staged = txn.open_table(STAGED)?;
    for e in staged.iter()? {
        let (k, loc) = e?;
        if let (Some(&STAGED_HASH), Some(hash)) = (k.value().get(8), k.value().get(9..)) {
            let loc = parse_location(loc.value()).ok_or_else(|| corrupt("staged index"))?;
            newest.insert(hash.to_vec(), loc);
        }
    }
    for e in txn.open_table(TX_INDEX)?.iter()? {
        let (hash, loc) = e?;
        if !newest.contains_key(hash.value()) {
            let loc = parse_location(loc.value()).ok_or_else(|| corrupt("tx index"))?;
            newest.insert(hash.value().to_vec(), loc);
        }
    }
    for (hash, loc) in newest {
        if c.matches(&hex::encode_upper(hash)) {
            found.insert(loc);
        }
    }
    Ok(())
}

/// The (height, index) of every committed transaction matching `query`, in order.
pub(super) fn search_txs(txn: &ReadTransaction, query: &Query) -> Result<Vec<(Height, u32)>> {
    let every = exists("tx.height");
    let Some(conditions) = conditions(query, "Tx", &every) else {
        return Ok(Vec::new());
    };
    let t = txn.open_table(TX_EVENTS)?;
    let staged = txn.open_table(STAGED)?;
    let staged_heights = staged_heights(&staged)?;
    let mut result: Option<BTreeSet<(Height, u32)>> = None;
    for c in conditions {
        let mut found = BTreeSet::new();
        if c.key == "tx.hash" {
            by_hash(txn, c, &mut found)?;
        } else {
            let mut add = |tail: &[u8], list: &[u8]| -> Result<()> {
                let h = height_of(tail).ok_or_else(|| corrupt("event index"))?;
                if !list.len().is_multiple_of(4) {
                    return Err(corrupt("event index"));
                }
                for i in list.chunks_exact(4) {
                    let i = u32::from_be_bytes([i[0], i[1], i[2], i[3]]);
                    if result.as_ref().is_none_or(|r| r.contains(&(h, i))) {
                        found.insert((h, i));
                    }
                }
                Ok(())
            };
            scan(&t, &[], c, |tail, list| add(tail, list.value()))?;
            for h in staged_heights.clone().into_iter().flatten() {
                let head = staged_key(h, STAGED_EVENT, &[]);
                scan(&staged, &head, c, |tail, list| add(tail, list.value()))?;
            }
        }
        if let Some(r) = &result {
            found.retain(|loc| r.contains(loc));
        }
        result = Some(found);
    }
    Ok(result.unwrap_or_default().into_iter().collect())
}

/// Every height whose block events (or `block.height`) match `query`, in order.
pub(super) fn search_blocks(txn: &ReadTransaction, query: &Query) -> Result<Vec<Height>> {
    let every = exists("block.height");
    let Some(conditions) = conditions(query, "NewBlock", &every) else {
        return Ok(Vec::new());
    };
    let t = txn.open_table(BLOCK_EVENTS)?;
    let mut result: Option<BTreeSet<Height>> = None;
    for c in conditions {
        let mut found = BTreeSet::new();
        scan(&t, &[], c, |tail, _| {
            let (h, _) = parse_location(tail).ok_or_else(|| corrupt("block event index"))?;
            if result.as_ref().is_none_or(|r| r.contains(&h)) {
                found.insert(h);
            }
            Ok(())
        })?;
        result = Some(found);
    }
    Ok(result.unwrap_or_default().into_iter().collect())
}
