//! The address book: every peer address this node has learned, how dialling each went, and
//! which peers are banned — kept in `config/addrbook.json` in CometBFT's format, so that a
//! restarted node dials what it knew instead of starting over from its seeds.
//!
//! Entries are keyed by node id, one address each (the first one learned; an address that
//! answered is never replaced by hearsay). They are *new* until a dial to them succeeds, then
//! *old* ("good"). The book is bounded: at most [`MAX_NEW`] new and [`MAX_OLD`] old entries,
//! and at most [`MAX_PER_SOURCE`] new entries learned from any one peer, so a peer that sends
//! addresses cannot fill the book. A new entry that failed [`BAD_AFTER`] dials without ever
//! answering is the first to go when room is needed.
//!
//! CometBFT spreads entries over hashed buckets to resist eclipse attacks by network group;
//! Keystone bounds each source instead, and writes a bucket index into the file only so that
//! a CometBFT node can read it back. Bans are written as CometBFT writes them, as the
//! `last_ban_time` the ban lasts until, and survive a restart.

use super::rng::Rng;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Most new (never answered) entries.
pub const MAX_NEW: usize = 4096;
/// Most old (answered) entries.
pub const MAX_OLD: usize = 1024;
/// Most new entries learned from one source.
pub const MAX_PER_SOURCE: usize = 256;
/// Below this many entries the book asks peers for more (CometBFT's `needAddressThreshold`).
pub const NEED_ADDRESSES: usize = 1000;
/// Failed dials after which a never-answered entry counts as bad (CometBFT's `numRetries`).
pub const BAD_AFTER: u32 = 3;
/// Fewest and most addresses handed out at once, and the share of the book (CometBFT's
/// `minGetSelection`, `maxGetSelection`, `getSelectionPercent`).
pub const MIN_SELECTION: usize = 32;
/// See [`MIN_SELECTION`].
pub const MAX_SELECTION: usize = 250;
const SELECTION_PERCENT: usize = 23;
/// CometBFT's bucket counts, for the bucket index written to the file.
const NEW_BUCKETS: u64 = 256;
const OLD_BUCKETS: u64 = 64;

/// What can go wrong with the book's file.
#[derive(Debug, thiserror::Error)]
pub enum BookError {
    /// Reading or writing the file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not an address book.
    #[error("{path}: not an address book ({reason}); move it away to start with an empty book")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What did not parse.
        reason: String,
    },
}

/// A peer's address: its node id and where it listens.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct NetAddr {
    /// The node id (40 lowercase hex digits).
    pub id: String,
    /// Its IP address and port.
    pub addr: SocketAddr,
}

impl std::fmt::Display for NetAddr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}@{}", self.id, self.addr)
    }
}

impl NetAddr {
    /// An address from CometBFT's protobuf fields; `None` if any of them is malformed (a node
    /// id that is not 40 hex digits, an IP that does not parse, port 0).
    pub fn from_parts(id: &str, ip: &str, port: u32) -> Option<NetAddr> {
        let port = u16::try_from(port).ok().filter(|p| *p != 0)?;
        if !valid_id(id) {
            return None;
        }
        let ip: IpAddr = ip.parse().ok()?;
        Some(NetAddr {
            id: id.to_ascii_lowercase(),
            addr: SocketAddr::new(ip, port),
        })
    }

    /// Whether it may be handed to, and dialled from, the public internet: not loopback,
    /// private, link-local, shared, multicast or unspecified (CometBFT's `Routable`).
    pub fn routable(&self) -> bool {
        match self.addr.ip() {
            IpAddr::V4(ip) => {
                let [a, b, ..] = ip.octets();
                !(ip.is_unspecified()
                    || ip.is_loopback()
                    || ip.is_private()
                    || ip.is_link_local()
                    || ip.is_multicast()
                    || ip.is_broadcast()
                    || ip.is_documentation()
                    || (a == 100 && (64..128).contains(&b)))
            }
            IpAddr::V6(ip) => {
                let first = ip.segments()[0];
                !(ip.is_unspecified()
                    || ip.is_loopback()
                    || ip.is_multicast()
                    || (first & 0xfe00) == 0xfc00
                    || (first & 0xffc0) == 0xfe80)
            }
        }
    }
}

/// Whether `id` is a node id: 40 hex digits, in either case (kept in lowercase, as
/// [`keystone_p2p::NodeId`] parses it).
pub fn valid_id(id: &str) -> bool {
    id.to_ascii_lowercase()
        .parse::<keystone_p2p::NodeId>()
        .is_ok()
}

/// Why an address was not added.
#[derive(Debug, PartialEq, Eq)]
pub enum Refused {
    /// It is this node.
    Ours,
    /// Its id, or its source's, is in `private_peer_ids`.
    Private,
    /// It is banned.
    Banned,
    /// `addr_book_strict` and not routable.
    Unroutable,
    /// Its source has placed as many new entries as it may.
    SourceFull,
    /// Already known.
    Known,
}

#[derive(Clone, Debug)]
struct Known {
    addr: NetAddr,
    /// Who told us: the peer that sent it, or the peer itself.
    src: NetAddr,
    attempts: u32,
    last_attempt: Option<SystemTime>,
    last_success: Option<SystemTime>,
    old: bool,
}

impl Known {
    /// CometBFT's `isBad` for a new entry: dialled and never answered, or long silent.
    fn bad(&self, now: SystemTime) -> bool {
        const WEEK: Duration = Duration::from_secs(7 * 24 * 3600);
        if self.old {
            return false;
        }
        let long_ago = |t: Option<SystemTime>| t.is_none_or(|t| t + WEEK < now);
        (self.last_success.is_none() && self.attempts >= BAD_AFTER)
            || (self.attempts >= 10 && long_ago(self.last_success))
    }

    /// When it may be dialled again: 2^attempts seconds after the last try (CometBFT's
    /// backoff), capped at an hour.
    fn ready(&self, now: SystemTime) -> bool {
        match self.last_attempt {
            Some(t) if self.attempts > 0 => {
                let wait = Duration::from_secs(1u64 << self.attempts.min(12)).min(HOUR);
                t + wait <= now
            }
            _ => true,
        }
    }
}

const HOUR: Duration = Duration::from_secs(3600);

/// The book (see the module doc).
pub struct AddrBook {
    path: Option<PathBuf>,
    key: String,
    our_id: String,
    private: Vec<String>,
    strict: bool,
    known: BTreeMap<String, Known>,
    /// Banned peers, with the entry they had, until when.
    banned: BTreeMap<String, (Option<Known>, SystemTime)>,
    dirty: bool,
}

impl AddrBook {
    /// An empty book, kept in memory only (tests, and nodes without a home).
    pub fn new(our_id: &str, private: Vec<String>, strict: bool) -> AddrBook {
        AddrBook {
            path: None,
            key: String::new(),
            our_id: our_id.to_string(),
            private: private
                .into_iter()
                .map(|p| p.to_ascii_lowercase())
                .collect(),
            strict,
            known: BTreeMap::new(),
            banned: BTreeMap::new(),
            dirty: false,
        }
    }

    /// The book kept at `path`: read if the file exists, and written there by
    /// [`AddrBook::save`]. Entries of our own id or of private ids are dropped on reading.
    pub fn open(
        path: &Path,
        our_id: &str,
        private: Vec<String>,
        strict: bool,
        rng: &mut Rng,
    ) -> Result<AddrBook, BookError> {
        let mut book = AddrBook::new(our_id, private, strict);
        book.path = Some(path.to_path_buf());
        book.key = hex::encode(rng.bytes::<12>());
        let text = match std::fs::read(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(book),
            Err(source) => {
                return Err(BookError::Io {
                    path: path.to_path_buf(),
                    source,
                })
            }
        };
        let corrupt = |reason: String| BookError::Corrupt {
            path: path.to_path_buf(),
            reason,
        };
        let file: BookFile = serde_json::from_slice(&text).map_err(|e| corrupt(e.to_string()))?;
        if !file.key.is_empty() {
            book.key = file.key;
        }
        let now = SystemTime::now();
        for e in file.addrs {
            let Some(addr) = e.addr.to_net() else {
                return Err(corrupt(format!("an entry with a malformed address: {e:?}")));
            };
            // A source met before it said where it listens is written with port 0.
            let src = e.src.to_net().unwrap_or_else(|| addr.clone());
            if addr.id == book.our_id || book.is_private(&addr.id) {
                continue;
            }
            let known = Known {
                addr,
                src,
                attempts: e.attempts.max(0) as u32,
                last_attempt: from_time(&e.last_attempt),
                last_success: from_time(&e.last_success),
                old: e.bucket_type == BUCKET_OLD,
            };
            match from_time(&e.last_ban_time).filter(|until| *until > now) {
                Some(until) => {
                    book.banned
                        .insert(known.addr.id.clone(), (Some(known), until));
                }
                None => {
                    book.known.insert(known.addr.id.clone(), known);
                }
            }
        }
        Ok(book)
    }

    /// Entries held (banned ones not counted).
    pub fn len(&self) -> usize {
        self.known.len()
    }

    /// Whether no entry is held.
    pub fn is_empty(&self) -> bool {
        self.known.is_empty()
    }

    /// Whether the book should ask peers for more addresses.
    pub fn needs_more(&self) -> bool {
        self.known.len() < NEED_ADDRESSES
    }

    /// Whether `id` is known (banned ones not counted).
    pub fn contains(&self, id: &str) -> bool {
        self.known.contains_key(id)
    }

    /// Whether `id` is in `private_peer_ids`.
    pub fn is_private(&self, id: &str) -> bool {
        self.private.iter().any(|p| p == id)
    }

    /// Whether `id` is banned at `now`.
    pub fn is_banned(&self, id: &str, now: SystemTime) -> bool {
        self.banned.get(id).is_some_and(|(_, until)| *until > now)
    }

    /// Changed since the last [`AddrBook::save`].
    pub fn dirty(&self) -> bool {
        self.dirty
    }

    /// Learn `addr` from `src` (a peer that sent it, or the peer itself).
    pub fn add(&mut self, addr: NetAddr, src: NetAddr, now: SystemTime) -> Result<(), Refused> {
        if addr.id == self.our_id {
            return Err(Refused::Ours);
        }
        if self.is_private(&addr.id) || self.is_private(&src.id) {
            return Err(Refused::Private);
        }
        if self.is_banned(&addr.id, now) {
            return Err(Refused::Banned);
        }
        if self.strict && !addr.routable() {
            return Err(Refused::Unroutable);
        }
        if self.known.contains_key(&addr.id) {
            return Err(Refused::Known);
        }
        if addr.id != src.id {
            let from_src = self
                .known
                .values()
                .filter(|k| !k.old && k.src.id == src.id && k.addr.id != k.src.id)
                .count();
            if from_src >= MAX_PER_SOURCE {
                return Err(Refused::SourceFull);
            }
        }
        if self.known.values().filter(|k| !k.old).count() >= MAX_NEW {
            self.evict_new(now);
        }
        self.known.insert(
            addr.id.clone(),
            Known {
                addr,
                src,
                attempts: 0,
                last_attempt: None,
                last_success: None,
                old: false,
            },
        );
        self.dirty = true;
        Ok(())
    }

    /// Drop one new entry to make room: a bad one if any, else the one tried most and
    /// longest ago.
    fn evict_new(&mut self, now: SystemTime) {
        let victim = self
            .known
            .values()
            .filter(|k| !k.old)
            .max_by_key(|k| {
                (
                    k.bad(now),
                    k.attempts,
                    std::cmp::Reverse(k.last_attempt.unwrap_or(UNIX_EPOCH)),
                )
            })
            .map(|k| k.addr.id.clone());
        if let Some(id) = victim {
            self.known.remove(&id);
        }
    }

    /// A dial to `id` failed. Returns the entry's source the first time an address that
    /// never answered fails (another peer told us of an address that does not work).
    pub fn mark_attempt(&mut self, id: &str, now: SystemTime) -> Option<String> {
        let k = self.known.get_mut(id)?;
        k.attempts = k.attempts.saturating_add(1);
        k.last_attempt = Some(now);
        self.dirty = true;
        (k.attempts == 1 && k.last_success.is_none() && k.src.id != id).then(|| k.src.id.clone())
    }

    /// Failed dials to `id` since it last answered.
    pub fn attempts(&self, id: &str) -> u32 {
        self.known.get(id).map_or(0, |k| k.attempts)
    }

    /// A dial to `id` succeeded: it is old ("good") now, and its failures are forgotten.
    /// When the old entries are full, the one that answered longest ago becomes new again.
    /// Returns the entry's source the first time an address another peer told us of answers.
    pub fn mark_good(&mut self, id: &str, now: SystemTime) -> Option<String> {
        let k = self.known.get_mut(id)?;
        let first = (k.last_success.is_none() && k.src.id != id).then(|| k.src.id.clone());
        k.attempts = 0;
        k.last_attempt = Some(now);
        k.last_success = Some(now);
        let was_old = std::mem::replace(&mut k.old, true);
        self.dirty = true;
        if !was_old && self.known.values().filter(|k| k.old).count() > MAX_OLD {
            let oldest = self
                .known
                .values()
                .filter(|k| k.old && k.addr.id != id)
                .min_by_key(|k| k.last_success.unwrap_or(UNIX_EPOCH))
                .map(|k| k.addr.id.clone());
            if let Some(o) = oldest.and_then(|o| self.known.get_mut(&o)) {
                o.old = false;
            }
        }
        first
    }

    /// Ban `id` for `ban`: its entry leaves the book until then, and it may not connect.
    /// `addr` is where it was met, kept with the ban when the book did not know it.
    pub fn mark_bad(&mut self, id: &str, addr: Option<NetAddr>, now: SystemTime, ban: Duration) {
        let known = self.known.remove(id).or_else(|| {
            addr.map(|a| Known {
                src: a.clone(),
                addr: a,
                attempts: 0,
                last_attempt: None,
                last_success: None,
                old: false,
            })
        });
        self.banned.insert(id.to_string(), (known, now + ban));
        self.dirty = true;
    }

    /// Bans that have run out: their entries come back as new ones.
    pub fn reinstate(&mut self, now: SystemTime) {
        let expired: Vec<String> = self
            .banned
            .iter()
            .filter(|(_, (_, until))| *until <= now)
            .map(|(id, _)| id.clone())
            .collect();
        for id in expired {
            if let Some((Some(mut k), _)) = self.banned.remove(&id) {
                k.old = false;
                k.attempts = 0;
                self.known.insert(id, k);
            }
            self.dirty = true;
        }
    }

    /// An address to dial, not one `skip` names and not one still backing off: from the
    /// new entries with probability `new_percent`, else from the old ones (either kind when
    /// the other has none).
    pub fn pick(
        &self,
        rng: &mut Rng,
        new_percent: u64,
        now: SystemTime,
        skip: impl Fn(&str) -> bool,
    ) -> Option<NetAddr> {
        let candidates = |old: bool| -> Vec<&Known> {
            self.known
                .values()
                .filter(|k| k.old == old && !skip(&k.addr.id) && k.ready(now))
                .collect()
        };
        let (new, old) = (candidates(false), candidates(true));
        let from = match (new.is_empty(), old.is_empty()) {
            (true, true) => return None,
            (false, true) => new,
            (true, false) => old,
            (false, false) if rng.below(100) < new_percent => new,
            _ => old,
        };
        Some(from[rng.below(from.len() as u64) as usize].addr.clone())
    }

    /// Addresses to hand to a peer: a random 23 % of the book, at least [`MIN_SELECTION`]
    /// (or all) and at most [`MAX_SELECTION`]; with `old_percent`, that share of them old
    /// entries when there are enough (a seed's bias toward addresses that answered). Bad
    /// entries, `exclude` and (with `addr_book_strict`) unroutable ones are not handed out.
    pub fn selection(
        &self,
        rng: &mut Rng,
        old_percent: Option<usize>,
        now: SystemTime,
        exclude: &str,
    ) -> Vec<NetAddr> {
        let usable =
            |k: &&Known| k.addr.id != exclude && !k.bad(now) && (!self.strict || k.addr.routable());
        let mut all: Vec<&Known> = self.known.values().filter(usable).collect();
        let want = (all.len() * SELECTION_PERCENT / 100)
            .clamp(MIN_SELECTION, MAX_SELECTION)
            .min(all.len());
        rng.shuffle(&mut all);
        let Some(old_percent) = old_percent else {
            return all.iter().take(want).map(|k| k.addr.clone()).collect();
        };
        let (old, new): (Vec<&Known>, Vec<&Known>) = all.into_iter().partition(|k| k.old);
        let from_old = (want * old_percent / 100).min(old.len());
        let from_new = (want - from_old).min(new.len());
        let from_old = (want - from_new).min(old.len());
        new.iter()
            .take(from_new)
            .chain(old.iter().take(from_old))
            .map(|k| k.addr.clone())
            .collect()
    }

    /// Write the book to its file (atomically: a crash leaves the old file or the new one).
    pub fn save(&mut self) -> Result<(), BookError> {
        let Some(path) = self.path.clone() else {
            self.dirty = false;
            return Ok(());
        };
        let io = |source| BookError::Io {
            path: path.clone(),
            source,
        };
        let entry = |k: &Known, ban: Option<SystemTime>| FileEntry {
            addr: FileAddr::of(&k.addr),
            src: FileAddr::of(&k.src),
            buckets: vec![self.bucket(k)],
            attempts: i32::try_from(k.attempts).unwrap_or(i32::MAX),
            bucket_type: if k.old { BUCKET_OLD } else { BUCKET_NEW },
            last_attempt: to_time(k.last_attempt),
            last_success: to_time(k.last_success),
            last_ban_time: to_time(ban),
        };
        let mut addrs: Vec<FileEntry> = self.known.values().map(|k| entry(k, None)).collect();
        addrs.extend(
            self.banned
                .values()
                .filter_map(|(k, until)| Some(entry(k.as_ref()?, Some(*until)))),
        );
        let file = BookFile {
            key: self.key.clone(),
            addrs,
        };
        let text = serde_json::to_vec_pretty(&file).map_err(|e| io(std::io::Error::other(e)))?;
        let tmp = path.with_extension("json.tmp");
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        std::fs::write(&tmp, text).map_err(io)?;
        std::fs::rename(&tmp, &path).map_err(io)?;
        self.dirty = false;
        Ok(())
    }

    /// The bucket index written to the file (see the module doc): a hash of the book's key,
    /// the address and, for new entries, the source.
    fn bucket(&self, k: &Known) -> u32 {
        use sha2::Digest;
        let mut h = sha2::Sha256::new();
        h.update(self.key.as_bytes());
        h.update(k.addr.to_string().as_bytes());
        if !k.old {
            h.update(k.src.to_string().as_bytes());
        }
        let d = h.finalize();
        let n = u64::from_be_bytes(d[..8].try_into().unwrap_or([0; 8]));
        (n % if k.old { OLD_BUCKETS } else { NEW_BUCKETS }) as u32
    }
}

const BUCKET_NEW: u8 = 1;
const BUCKET_OLD: u8 = 2;

/// `addrbook.json` as CometBFT writes it.
#[derive(Serialize, Deserialize)]
struct BookFile {
    #[serde(default)]
    key: String,
    #[serde(default)]
    addrs: Vec<FileEntry>,
}

#[derive(Serialize, Deserialize, Debug)]
struct FileEntry {
    addr: FileAddr,
    src: FileAddr,
    #[serde(default)]
    buckets: Vec<u32>,
    #[serde(default)]
    attempts: i32,
    #[serde(default = "new_bucket")]
    bucket_type: u8,
    #[serde(default = "zero_time")]
    last_attempt: String,
    #[serde(default = "zero_time")]
    last_success: String,
    #[serde(default = "zero_time")]
    last_ban_time: String,
}

fn new_bucket() -> u8 {
    BUCKET_NEW
}

fn zero_time() -> String {
    ZERO_TIME.to_string()
}

#[derive(Serialize, Deserialize, Debug)]
struct FileAddr {
    id: String,
    ip: String,
    port: u32,
}

impl FileAddr {
    fn of(a: &NetAddr) -> FileAddr {
        FileAddr {
            id: a.id.clone(),
            ip: a.addr.ip().to_string(),
            port: u32::from(a.addr.port()),
        }
    }

    fn to_net(&self) -> Option<NetAddr> {
        NetAddr::from_parts(&self.id, &self.ip, self.port)
    }
}

/// Go's zero `time.Time`, which CometBFT writes for "never".
const ZERO_TIME: &str = "0001-01-01T00:00:00Z";

fn to_time(t: Option<SystemTime>) -> String {
    let Some(t) = t else {
        return ZERO_TIME.to_string();
    };
    let secs = t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let ts = keystone_proto::Timestamp {
        seconds: i64::try_from(secs).unwrap_or(i64::MAX),
        nanos: 0,
    };
    match serde_json::to_value(ts) {
        Ok(serde_json::Value::String(s)) => s,
        _ => ZERO_TIME.to_string(),
    }
}

/// A time from the file; Go's zero time, anything before 1970 or unparsable is "never".
fn from_time(s: &str) -> Option<SystemTime> {
    let ts: keystone_proto::Timestamp =
        serde_json::from_value(serde_json::Value::String(s.to_string())).ok()?;
    let secs = u64::try_from(ts.seconds).ok().filter(|s| *s > 0)?;
    Some(UNIX_EPOCH + Duration::from_secs(secs))
}

#[cfg(test)]
mod tests;
