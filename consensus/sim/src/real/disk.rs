//! One node's virtual disk: what the node wrote is readable at once, durable only once synced.
//! A crash keeps the durable image and a seeded prefix of what was written after it — the last
//! append possibly torn mid-record, as a power cut leaves a file. A crash can be armed to
//! strike at the k-th durable write from now; after it every operation fails until the node
//! is restarted from the disk. Every sync costs `fsync_ms` of the node's time.

use keystone_consensus_driver::storage::Storage;
use rand_chacha::rand_core::RngCore;
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

/// A write not yet synced.
#[derive(Clone, Debug)]
enum Op {
    /// Bytes at an offset (the file grows to hold them).
    Write(u64, Vec<u8>),
    /// A new length.
    SetLen(u64),
}

impl Op {
    fn apply(&self, file: &mut Vec<u8>) {
        match self {
            Op::Write(at, bytes) => {
                let at = *at as usize;
                if file.len() < at + bytes.len() {
                    file.resize(at + bytes.len(), 0);
                }
                file[at..at + bytes.len()].copy_from_slice(bytes);
            }
            Op::SetLen(len) => file.resize(*len as usize, 0),
        }
    }
}

#[derive(Clone, Debug, Default)]
struct File {
    /// What survives a crash.
    durable: Vec<u8>,
    /// What the node reads.
    current: Vec<u8>,
    /// What turns `durable` into `current`, in order.
    pending: Vec<Op>,
}

impl File {
    fn sync(&mut self) {
        for op in self.pending.drain(..) {
            op.apply(&mut self.durable);
        }
    }
}

#[derive(Debug, Default)]
struct State {
    files: BTreeMap<PathBuf, File>,
    /// Durable writes (syncs and replaces) so far.
    writes: u64,
    /// Crash when `writes` reaches this.
    crash_at: Option<u64>,
    crashed: bool,
    /// Virtual milliseconds the node spent waiting on the disk (or its application) since
    /// the last `take_busy`.
    busy_ms: u64,
    fsync_ms: u64,
    /// Torn records the crashes left in the WAL (for the report).
    torn: u64,
}

/// A node's virtual disk (cheap to clone: a shared handle).
#[derive(Clone, Debug, Default)]
pub struct SimDisk(Arc<Mutex<State>>);

fn crashed() -> io::Error {
    io::Error::other("simulated crash: the disk is gone until the node restarts")
}

impl SimDisk {
    /// An empty disk whose syncs take `fsync_ms`.
    pub fn new(fsync_ms: u64) -> SimDisk {
        let disk = SimDisk::default();
        disk.lock().fsync_ms = fsync_ms;
        disk
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // The simulator is one thread: a poisoned lock means a panic already failed the run.
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Crash at the `k`-th durable write from now (k ≥ 1).
    pub fn arm_crash(&self, k: u64) {
        let mut s = self.lock();
        s.crash_at = Some(s.writes + k.max(1));
    }

    /// The power goes now: every operation fails until [`SimDisk::power_cut`].
    pub fn fail(&self) {
        self.lock().crashed = true;
    }

    /// The armed crash struck.
    pub fn crashed(&self) -> bool {
        self.lock().crashed
    }

    /// Durable writes so far.
    pub fn writes(&self) -> u64 {
        self.lock().writes
    }

    /// Torn WAL records crashes left behind.
    pub fn torn(&self) -> u64 {
        self.lock().torn
    }

    /// Charge the node `ms` of waiting (a slow application).
    pub fn charge(&self, ms: u64) {
        self.lock().busy_ms += ms;
    }

    /// The waiting charged since the last call.
    pub fn take_busy(&self) -> u64 {
        std::mem::take(&mut self.lock().busy_ms)
    }

    /// The node lost power: each file keeps its durable image and a seeded prefix of the
    /// writes after it; an append at the cut may be torn (`tear_appends`: files written only
    /// at their end, like the WAL). The disk works again afterwards.
    pub fn power_cut(&self, rng: &mut ChaCha8Rng, tear: impl Fn(&Path) -> bool) {
        let mut s = self.lock();
        let mut torn = 0;
        for (path, f) in s.files.iter_mut() {
            let pending = std::mem::take(&mut f.pending);
            let keep = (rng.next_u64() % (pending.len() as u64 + 1)) as usize;
            let mut image = std::mem::take(&mut f.durable);
            for op in &pending[..keep] {
                op.apply(&mut image);
            }
            if let (true, Some(Op::Write(at, bytes))) = (tear(path), pending.get(keep)) {
                if bytes.len() > 1 && rng.next_u32().is_multiple_of(2) {
                    let cut = 1 + (rng.next_u64() % (bytes.len() as u64 - 1)) as usize;
                    Op::Write(*at, bytes[..cut].to_vec()).apply(&mut image);
                    torn += 1;
                }
            }
            f.current = image.clone();
            f.durable = image;
        }
        s.torn += torn;
        s.crashed = false;
        s.crash_at = None;
        s.busy_ms = 0;
    }

    /// A durable write: counts towards an armed crash, which strikes right after it.
    fn durable_write(s: &mut State, path: &Path) {
        s.writes += 1;
        s.busy_ms += s.fsync_ms;
        if s.crash_at.is_some_and(|at| s.writes >= at) {
            tracing::debug!(path = %path.display(), writes = s.writes, "the power goes after this durable write");
            s.crashed = true;
        }
    }

    fn file<'a>(s: &'a mut State, path: &Path) -> &'a mut File {
        s.files.entry(path.to_path_buf()).or_default()
    }

    /// A stand-in for a redb file.
    fn backend(&self, path: &Path) -> Arc<dyn redb::StorageBackend> {
        Arc::new(Backend {
            disk: self.clone(),
            path: path.to_path_buf(),
        })
    }
}

impl Storage for SimDisk {
    fn read(&self, path: &Path) -> io::Result<Option<Vec<u8>>> {
        let s = self.lock();
        if s.crashed {
            return Err(crashed());
        }
        Ok(s.files.get(path).map(|f| f.current.clone()))
    }

    fn append(&self, path: &Path, bytes: &[u8]) -> io::Result<()> {
        let mut s = self.lock();
        if s.crashed {
            return Err(crashed());
        }
        let f = SimDisk::file(&mut s, path);
        let op = Op::Write(f.current.len() as u64, bytes.to_vec());
        op.apply(&mut f.current);
        f.pending.push(op);
        Ok(())
    }

    fn sync(&self, path: &Path) -> io::Result<()> {
        let mut s = self.lock();
        if s.crashed {
            return Err(crashed());
        }
        SimDisk::file(&mut s, path).sync();
        SimDisk::durable_write(&mut s, path);
        Ok(())
    }

    fn truncate(&self, path: &Path, len: u64) -> io::Result<()> {
        let mut s = self.lock();
        if s.crashed {
            return Err(crashed());
        }
        let f = SimDisk::file(&mut s, path);
        let op = Op::SetLen(len);
        op.apply(&mut f.current);
        f.pending.push(op);
        f.sync();
        SimDisk::durable_write(&mut s, path);
        Ok(())
    }

    fn replace(&self, path: &Path, bytes: &[u8], _private: bool) -> io::Result<()> {
        let mut s = self.lock();
        if s.crashed {
            return Err(crashed());
        }
        let f = SimDisk::file(&mut s, path);
        f.current = bytes.to_vec();
        f.durable = bytes.to_vec();
        f.pending.clear();
        SimDisk::durable_write(&mut s, path);
        Ok(())
    }

    fn database(&self, path: &Path) -> Option<Arc<dyn redb::StorageBackend>> {
        Some(self.backend(path))
    }
}

/// A redb file on the virtual disk.
#[derive(Debug)]
struct Backend {
    disk: SimDisk,
    path: PathBuf,
}

impl Backend {
    fn with<T>(&self, f: impl FnOnce(&mut State) -> io::Result<T>) -> io::Result<T> {
        let mut s = self.disk.lock();
        if s.crashed {
            return Err(crashed());
        }
        f(&mut s)
    }
}

impl redb::StorageBackend for Backend {
    fn len(&self) -> io::Result<u64> {
        self.with(|s| Ok(SimDisk::file(s, &self.path).current.len() as u64))
    }

    fn read(&self, offset: u64, out: &mut [u8]) -> io::Result<()> {
        self.with(|s| {
            let f = SimDisk::file(s, &self.path);
            let at = offset as usize;
            let src = f
                .current
                .get(at..at + out.len())
                .ok_or_else(|| io::Error::new(io::ErrorKind::UnexpectedEof, "read past the end"))?;
            out.copy_from_slice(src);
            Ok(())
        })
    }

    fn set_len(&self, len: u64) -> io::Result<()> {
        self.with(|s| {
            let f = SimDisk::file(s, &self.path);
            let op = Op::SetLen(len);
            op.apply(&mut f.current);
            f.pending.push(op);
            Ok(())
        })
    }

    fn sync_data(&self) -> io::Result<()> {
        self.with(|s| {
            SimDisk::file(s, &self.path).sync();
            SimDisk::durable_write(s, &self.path);
            Ok(())
        })
    }

    fn write(&self, offset: u64, data: &[u8]) -> io::Result<()> {
        self.with(|s| {
            let f = SimDisk::file(s, &self.path);
            let op = Op::Write(offset, data.to_vec());
            op.apply(&mut f.current);
            f.pending.push(op);
            Ok(())
        })
    }
}
