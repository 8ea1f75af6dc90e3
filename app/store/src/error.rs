//! The store's error type.

/// What can go wrong reading or writing the store.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The database could not be opened, read or written.
    #[error("database: {0}")]
    Db(String),
    /// A version that was pruned or never written.
    #[error("version {0} is not in the store (pruned or never committed)")]
    MissingVersion(u64),
    /// A commit out of order: versions must follow each other.
    #[error("cannot write version {got}: the next version is {expected}")]
    NonContiguousVersion {
        /// The version the store expects next.
        expected: u64,
        /// The version offered.
        got: u64,
    },
    /// A prepared write whose base moved (another commit happened in between).
    #[error("prepared write for version {0} is stale: the store moved on")]
    StalePrepared(u64),
    /// Stored bytes that do not decode: the database is corrupt.
    #[error("corrupt store: {0}")]
    Corrupt(String),
    /// An empty value: ICS23 cannot prove an empty leaf (nor a key absent next to one), so
    /// the store refuses it rather than hold state it cannot prove.
    #[error("empty value for key {0:?}: a value must have at least one byte")]
    EmptyValue(String),
    /// The tree itself failed (a missing node means corruption or a pruned version).
    #[error("merkle tree: {0}")]
    Tree(String),
    /// A restore from a snapshot began and has not finished: the store holds part of a
    /// version, which nothing may build on.
    #[error("a restore from a snapshot is unfinished: resume it or abort it")]
    RestoreInProgress,
    /// A restore needs an empty store.
    #[error("the store already holds state: a snapshot restores only into an empty one")]
    NotEmpty,
    /// A snapshot chunk that was refused.
    #[error("bad snapshot chunk: {0}")]
    BadChunk(String),
    /// The restored tree's root is not the expected one (chunks missing at the end).
    #[error("the restored root is {}, not the expected {}", hex(got), hex(want))]
    RestoreRoot {
        /// The root asked for.
        want: [u8; 32],
        /// The root the chunks built.
        got: [u8; 32],
    },
}

fn hex(b: &[u8; 32]) -> String {
    b.iter().map(|x| format!("{x:02X}")).collect()
}

/// `Result` with the store's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

macro_rules! db_error {
    ($($t:ty),*) => {$(
        impl From<$t> for Error {
            fn from(e: $t) -> Self {
                Error::Db(e.to_string())
            }
        }
    )*};
}

db_error!(
    redb::Error,
    redb::DatabaseError,
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError,
    redb::SetDurabilityError
);
