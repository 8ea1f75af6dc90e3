//! The modules' `State` over the JMT store: reads at one committed version, with the writes of
//! the block (or of the check state) kept in memory on top until they are committed.

use keystone_modules::state::{overlay_prefix, State};
use keystone_modules::{ModuleError, Result};
use keystone_store::{Store, VersionReader};
use std::collections::BTreeMap;
use std::sync::OnceLock;

/// Writes not yet committed, by key (`None`: deletion).
pub(crate) type Writes = BTreeMap<Vec<u8>, Option<Vec<u8>>>;

/// Pending writes over a committed version of the store.
pub struct StoreState<'a> {
    store: &'a Store,
    version: Option<u64>,
    writes: Writes,
    /// One snapshot of `version` for every get (opened at the first): a check or a block
    /// reads dozens of keys, and a snapshot per get was most of a check's store time.
    reader: OnceLock<VersionReader>,
}

impl<'a> StoreState<'a> {
    /// Writes over `version` of `store` (`None`: an empty store).
    pub fn new(store: &'a Store, version: Option<u64>, writes: Writes) -> Self {
        Self::with_reader(store, version, writes, None)
    }

    /// Writes over `version` of `store`, read through `reader` (a reader of that version
    /// kept from an earlier state: see [`StoreState::into_parts`]).
    pub fn with_reader(
        store: &'a Store,
        version: Option<u64>,
        writes: Writes,
        reader: Option<VersionReader>,
    ) -> Self {
        StoreState {
            store,
            version,
            writes,
            reader: reader.map(OnceLock::from).unwrap_or_default(),
        }
    }

    /// The pending writes (`None`: deletion).
    pub fn into_writes(self) -> Writes {
        self.writes
    }

    /// The pending writes, and the reader of the version if one was opened.
    pub fn into_parts(self) -> (Writes, Option<VersionReader>) {
        (self.writes, self.reader.into_inner())
    }
}

fn store_err(e: keystone_store::Error) -> ModuleError {
    ModuleError::State(e.to_string())
}

impl State for StoreState<'_> {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        if let Some(v) = self.writes.get(key) {
            return Ok(v.clone());
        }
        let Some(v) = self.version else {
            return Ok(None);
        };
        let reader = match self.reader.get() {
            Some(r) => r,
            None => {
                let r = self.store.reader(v).map_err(store_err)?;
                self.reader.get_or_init(|| r)
            }
        };
        reader.get(key).map_err(store_err)
    }

    fn put(&mut self, key: Vec<u8>, value: Vec<u8>) {
        self.writes.insert(key, Some(value));
    }

    fn delete(&mut self, key: &[u8]) {
        self.writes.insert(key.to_vec(), None);
    }

    fn prefix(&self, prefix: &[u8]) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        let base = match self.version {
            None => Vec::new(),
            Some(v) => self.store.prefix(prefix, v).map_err(store_err)?,
        };
        Ok(overlay_prefix(base, &self.writes, prefix))
    }
}
