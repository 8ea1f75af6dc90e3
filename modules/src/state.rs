//! The abstract state modules read and write: byte keys, byte values, prefix iteration in key
//! order. The app's JMT store implements it; [`MemState`] is the in-memory one for tests and
//! [`Branch`] keeps writes aside until they are committed to the state below — the
//! per-transaction branch that a failed message throws away.

use crate::{Event, ModuleError, Result};
use std::collections::BTreeMap;

/// Key-value state.
/// The value of entries whose presence is all they say (secondary indexes, flags such as a
/// missed-block bit): one byte, because a value must not be empty — ICS23 cannot prove an
/// empty leaf present, nor a neighbouring key absent, and the store refuses one.
pub const PRESENT: &[u8] = &[1];

/// A key-value state the modules read and write.
pub trait State {
    /// The value at `key`.
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>>;
    /// Set `key` to `value`.
    fn put(&mut self, key: Vec<u8>, value: Vec<u8>);
    /// Remove `key`.
    fn delete(&mut self, key: &[u8]);
    /// Every key under `prefix` with its value, in key order.
    fn prefix(&self, prefix: &[u8]) -> Result<Vec<(Vec<u8>, Vec<u8>)>>;
    /// Record an event. A [`Branch`] keeps events with its writes; a base state (the store,
    /// [`MemState`]) is not where events are collected, so by default it drops them: run
    /// anything whose events matter on a branch and take them with [`Branch::take_events`].
    fn emit(&mut self, event: Event) {
        let _ = event;
    }
}

/// An in-memory state.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MemState(pub BTreeMap<Vec<u8>, Vec<u8>>);

impl State for MemState {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        Ok(self.0.get(key).cloned())
    }
    fn put(&mut self, key: Vec<u8>, value: Vec<u8>) {
        self.0.insert(key, value);
    }
    fn delete(&mut self, key: &[u8]) {
        self.0.remove(key);
    }
    fn prefix(&self, prefix: &[u8]) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        Ok(self
            .0
            .range(prefix.to_vec()..)
            .take_while(|(k, _)| k.starts_with(prefix))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect())
    }
}

/// Writes kept aside over a base state: reads see them, the base does not until
/// [`Branch::commit`]. Dropping the branch discards them.
pub struct Branch<'a, S: State + ?Sized> {
    base: &'a mut S,
    writes: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
    events: Vec<Event>,
}

impl<'a, S: State + ?Sized> Branch<'a, S> {
    /// A branch over `base`.
    pub fn new(base: &'a mut S) -> Self {
        Branch {
            base,
            writes: BTreeMap::new(),
            events: Vec::new(),
        }
    }

    /// Apply the kept writes to the base, and emit the kept events into it.
    pub fn commit(self) {
        for (k, v) in self.writes {
            match v {
                Some(v) => self.base.put(k, v),
                None => self.base.delete(&k),
            }
        }
        for e in self.events {
            self.base.emit(e);
        }
    }

    /// The events emitted so far, taken out of the branch (in order of emission).
    pub fn take_events(&mut self) -> Vec<Event> {
        std::mem::take(&mut self.events)
    }

    /// The kept writes (`None`: deletion), in key order.
    pub fn writes(&self) -> &BTreeMap<Vec<u8>, Option<Vec<u8>>> {
        &self.writes
    }
}

impl<S: State + ?Sized> State for Branch<'_, S> {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        match self.writes.get(key) {
            Some(v) => Ok(v.clone()),
            None => self.base.get(key),
        }
    }
    fn put(&mut self, key: Vec<u8>, value: Vec<u8>) {
        self.writes.insert(key, Some(value));
    }
    fn delete(&mut self, key: &[u8]) {
        self.writes.insert(key.to_vec(), None);
    }
    fn prefix(&self, prefix: &[u8]) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        Ok(overlay_prefix(
            self.base.prefix(prefix)?,
            &self.writes,
            prefix,
        ))
    }
    fn emit(&mut self, event: Event) {
        self.events.push(event);
    }
}

/// The entries under `prefix` of `base` (in key order) with pending `writes` applied on top
/// (`None`: deleted), in key order.
pub fn overlay_prefix(
    base: Vec<(Vec<u8>, Vec<u8>)>,
    writes: &BTreeMap<Vec<u8>, Option<Vec<u8>>>,
    prefix: &[u8],
) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut merged: BTreeMap<Vec<u8>, Vec<u8>> = base.into_iter().collect();
    for (k, v) in writes.range(prefix.to_vec()..) {
        if !k.starts_with(prefix) {
            break;
        }
        match v {
            Some(v) => merged.insert(k.clone(), v.clone()),
            None => merged.remove(k),
        };
    }
    merged.into_iter().collect()
}

/// Read a JSON value (params, accounts).
pub(crate) fn get_json<T: serde::de::DeserializeOwned>(
    state: &(impl State + ?Sized),
    key: &str,
) -> Result<Option<T>> {
    match get_string(state, key)? {
        None => Ok(None),
        Some(json) => serde_json::from_str(&json)
            .map(Some)
            .map_err(|e| ModuleError::Corrupt {
                key: key.into(),
                reason: e.to_string(),
            }),
    }
}

/// Every JSON value under `prefix`, in key order (a record that does not parse is corrupt
/// state, named by its key).
pub(crate) fn scan_json<T: serde::de::DeserializeOwned>(
    state: &(impl State + ?Sized),
    prefix: &str,
) -> Result<Vec<T>> {
    state
        .prefix(prefix.as_bytes())?
        .into_iter()
        .map(|(k, v)| {
            serde_json::from_slice(&v).map_err(|e| ModuleError::Corrupt {
                key: String::from_utf8_lossy(&k).into_owned(),
                reason: e.to_string(),
            })
        })
        .collect()
}

/// Write a JSON value.
pub(crate) fn put_json<T: serde::Serialize>(
    state: &mut (impl State + ?Sized),
    key: &str,
    value: &T,
) -> Result<()> {
    let json = serde_json::to_string(value).map_err(|e| ModuleError::Corrupt {
        key: key.into(),
        reason: e.to_string(),
    })?;
    state.put(key.as_bytes().to_vec(), json.into_bytes());
    Ok(())
}

/// Read a UTF-8 value (module values are readable text).
pub(crate) fn get_string(state: &(impl State + ?Sized), key: &str) -> Result<Option<String>> {
    match state.get(key.as_bytes())? {
        None => Ok(None),
        Some(b) => String::from_utf8(b)
            .map(Some)
            .map_err(|_| ModuleError::Corrupt {
                key: key.into(),
                reason: "not UTF-8".into(),
            }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn branch_reads_its_writes_and_commits_or_discards() {
        let mut base = MemState::default();
        base.put(b"a/1".to_vec(), b"x".to_vec());
        base.put(b"a/2".to_vec(), b"y".to_vec());
        {
            let mut b = Branch::new(&mut base);
            b.put(b"a/3".to_vec(), b"z".to_vec());
            b.delete(b"a/1");
            assert_eq!(b.get(b"a/1").expect("get"), None);
            let keys: Vec<_> = b
                .prefix(b"a/")
                .expect("prefix")
                .into_iter()
                .map(|(k, _)| k)
                .collect();
            assert_eq!(keys, vec![b"a/2".to_vec(), b"a/3".to_vec()]);
            // dropped: discarded
        }
        assert_eq!(base.get(b"a/1").expect("get"), Some(b"x".to_vec()));
        let mut b = Branch::new(&mut base);
        b.delete(b"a/1");
        b.commit();
        assert_eq!(base.get(b"a/1").expect("get"), None);
    }

    #[test]
    fn events_follow_their_branch() {
        let mut base = MemState::default();
        let mut outer = Branch::new(&mut base);
        outer.emit(Event::new("a", [("k", "1")]));
        {
            let mut dropped = Branch::new(&mut outer);
            dropped.emit(Event::new("lost", [("k", "2")]));
        }
        {
            let mut kept = Branch::new(&mut outer);
            kept.emit(Event::new("b", [("k", "3")]));
            kept.commit();
        }
        let kinds: Vec<_> = outer.take_events().into_iter().map(|e| e.kind).collect();
        assert_eq!(kinds, ["a", "b"]);
        assert!(outer.take_events().is_empty(), "taken once");
    }
}
