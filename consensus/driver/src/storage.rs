//! The disk, as the node's durable parts see it: the WAL, the signer's state and the block
//! store write through a [`Storage`], so that `keystone start` runs them on the real file
//! system ([`OsStorage`]) and the simulator on a virtual disk that can lose what was not
//! synced, tear the last write, crash the node at any durable write and be slow to sync.
//!
//! The contract is the file system's: what was appended is readable at once but durable only
//! after [`Storage::sync`]; [`Storage::replace`] swaps a whole file durably (the old or the new
//! content survives a crash, never a mix). Every `sync` and `replace` is a durable write: a
//! crash point the simulator exercises.

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

/// Files the node keeps durable state in.
pub trait Storage: Debug + Send + Sync {
    /// The whole file, or `None` if it does not exist.
    fn read(&self, path: &Path) -> io::Result<Option<Vec<u8>>>;
    /// Append to the file (created if missing). Readable at once; durable after `sync`.
    fn append(&self, path: &Path, bytes: &[u8]) -> io::Result<()>;
    /// Make what was appended to `path` durable.
    fn sync(&self, path: &Path) -> io::Result<()>;
    /// Cut the file to `len` bytes, durably (a torn tail removed on recovery).
    fn truncate(&self, path: &Path, len: u64) -> io::Result<()>;
    /// Replace the file's content durably and atomically. `private`: readable by its owner
    /// alone (mode 0600), as keys and sign state are.
    fn replace(&self, path: &Path, bytes: &[u8], private: bool) -> io::Result<()>;
    /// A virtual disk's stand-in for the redb file at `path`; `None` on the real file system,
    /// where redb opens the file itself.
    fn database(&self, path: &Path) -> Option<Arc<dyn redb::StorageBackend>> {
        let _ = path;
        None
    }
}

/// A shared handle on a [`Storage`].
pub type SharedStorage = Arc<dyn Storage>;

/// The real file system.
#[derive(Debug, Default)]
pub struct OsStorage {
    /// Files open for appending, so the WAL does not reopen its file for every record.
    open: Mutex<BTreeMap<PathBuf, File>>,
}

impl OsStorage {
    /// The file system, as a shared handle.
    pub fn shared() -> SharedStorage {
        Arc::new(OsStorage::default())
    }

    fn open_files(&self) -> MutexGuard<'_, BTreeMap<PathBuf, File>> {
        // A panic while the lock was held leaves only a cache of open files behind.
        self.open.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn with_file<T>(
        &self,
        path: &Path,
        f: impl FnOnce(&mut File) -> io::Result<T>,
    ) -> io::Result<T> {
        let mut open = self.open_files();
        if !open.contains_key(path) {
            if let Some(dir) = path.parent() {
                fs::create_dir_all(dir)?;
            }
            let file = OpenOptions::new()
                .read(true)
                .append(true)
                .create(true)
                .open(path)?;
            open.insert(path.to_path_buf(), file);
        }
        let file = open
            .get_mut(path)
            .ok_or_else(|| io::Error::other("file cache lost an entry"))?;
        f(file)
    }
}

impl Storage for OsStorage {
    fn read(&self, path: &Path) -> io::Result<Option<Vec<u8>>> {
        let mut file = match File::open(path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)?;
        Ok(Some(bytes))
    }

    fn append(&self, path: &Path, bytes: &[u8]) -> io::Result<()> {
        self.with_file(path, |f| f.write_all(bytes))
    }

    fn sync(&self, path: &Path) -> io::Result<()> {
        self.with_file(path, |f| f.sync_data())
    }

    fn truncate(&self, path: &Path, len: u64) -> io::Result<()> {
        self.with_file(path, |f| {
            f.set_len(len)?;
            f.sync_all()
        })
    }

    fn replace(&self, path: &Path, bytes: &[u8], private: bool) -> io::Result<()> {
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir)?;
        }
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(".tmp");
        let tmp = PathBuf::from(tmp);
        {
            let mut options = OpenOptions::new();
            options.write(true).create(true).truncate(true);
            #[cfg(unix)]
            if private {
                std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            }
            let mut f = options.open(&tmp)?;
            // A leftover temporary file from a crash keeps its old mode: set it.
            #[cfg(unix)]
            if private {
                f.set_permissions(std::os::unix::fs::PermissionsExt::from_mode(0o600))?;
            }
            f.write_all(bytes)?;
            f.sync_all()?;
        }
        // The cached handle points at the file being replaced.
        self.open_files().remove(path);
        fs::rename(&tmp, path)?;
        if let Some(dir) = path.parent() {
            // The rename is durable only once the directory entry is.
            if let Ok(d) = File::open(dir) {
                let _ = d.sync_all();
            }
        }
        Ok(())
    }
}

/// Delegates to a shared redb backend (redb takes its backend by value).
#[derive(Debug)]
pub(crate) struct Backend(pub(crate) Arc<dyn redb::StorageBackend>);

impl redb::StorageBackend for Backend {
    fn len(&self) -> io::Result<u64> {
        self.0.len()
    }
    fn read(&self, offset: u64, out: &mut [u8]) -> io::Result<()> {
        self.0.read(offset, out)
    }
    fn set_len(&self, len: u64) -> io::Result<()> {
        self.0.set_len(len)
    }
    fn sync_data(&self) -> io::Result<()> {
        self.0.sync_data()
    }
    fn write(&self, offset: u64, data: &[u8]) -> io::Result<()> {
        self.0.write(offset, data)
    }
}
