//! Gas: a meter with a limit, and a State wrapper that charges the Cosmos SDK's KV costs
//! (`storetypes.KVGasConfig`) for every read, write, delete and iteration step.

use keystone_modules::state::State;
use keystone_modules::Result;
use std::cell::Cell;

/// The SDK's KV gas costs.
pub const READ_COST_FLAT: u64 = 1000;
/// Per byte read (key + value).
pub const READ_COST_PER_BYTE: u64 = 3;
/// Per write.
pub const WRITE_COST_FLAT: u64 = 2000;
/// Per byte written (key + value).
pub const WRITE_COST_PER_BYTE: u64 = 30;
/// Per delete.
pub const DELETE_COST: u64 = 1000;
/// Per iteration step.
pub const ITER_NEXT_COST_FLAT: u64 = 30;

/// Gas used against a limit. Charging past the limit records the first place it happened;
/// the pipeline turns that into `out of gas`.
#[derive(Debug)]
pub struct GasMeter {
    limit: u64,
    used: Cell<u64>,
    exhausted_at: Cell<Option<&'static str>>,
}

impl GasMeter {
    /// A meter with `limit`.
    pub fn new(limit: u64) -> Self {
        GasMeter {
            limit,
            used: Cell::new(0),
            exhausted_at: Cell::new(None),
        }
    }

    /// Charge `amount` for `what`.
    pub fn consume(&self, amount: u64, what: &'static str) {
        let used = self.used.get().saturating_add(amount);
        self.used.set(used);
        if used > self.limit && self.exhausted_at.get().is_none() {
            self.exhausted_at.set(Some(what));
        }
    }

    /// Gas used so far.
    pub fn used(&self) -> u64 {
        self.used.get()
    }

    /// The limit.
    pub fn limit(&self) -> u64 {
        self.limit
    }

    /// Where the limit was first passed, if it was.
    pub fn exhausted_at(&self) -> Option<&'static str> {
        self.exhausted_at.get()
    }
}

/// A State that charges gas on `meter` for every access to `inner`.
pub struct GasState<'a, S: State + ?Sized> {
    inner: &'a mut S,
    meter: &'a GasMeter,
}

impl<'a, S: State + ?Sized> GasState<'a, S> {
    /// Meter `inner` with `meter`.
    pub fn new(inner: &'a mut S, meter: &'a GasMeter) -> Self {
        GasState { inner, meter }
    }
}

impl<S: State + ?Sized> State for GasState<'_, S> {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        let v = self.inner.get(key)?;
        let bytes = key.len() + v.as_ref().map_or(0, Vec::len);
        self.meter.consume(
            READ_COST_FLAT + READ_COST_PER_BYTE * bytes as u64,
            "ReadFlat/ReadPerByte",
        );
        Ok(v)
    }
    fn put(&mut self, key: Vec<u8>, value: Vec<u8>) {
        self.meter.consume(
            WRITE_COST_FLAT + WRITE_COST_PER_BYTE * (key.len() + value.len()) as u64,
            "WriteFlat/WritePerByte",
        );
        self.inner.put(key, value);
    }
    fn delete(&mut self, key: &[u8]) {
        self.meter.consume(DELETE_COST, "Delete");
        self.inner.delete(key);
    }
    fn prefix(&self, prefix: &[u8]) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        let items = self.inner.prefix(prefix)?;
        for (k, v) in &items {
            self.meter.consume(
                ITER_NEXT_COST_FLAT + READ_COST_PER_BYTE * (k.len() + v.len()) as u64,
                "IterNextFlat",
            );
        }
        Ok(items)
    }
    fn emit(&mut self, event: keystone_modules::Event) {
        // Events cost no gas in the SDK either.
        self.inner.emit(event);
    }
}
