//! Peer exchange: how a node finds peers beyond the ones written in its config, as CometBFT's
//! PEX reactor does it, on channel `0x00` with `tendermint.p2p.Message{PexRequest, PexAddrs}`.
//!
//! [`Pex`] is the reactor's state and rules, with no sockets and no clock of its own: the
//! switch tells it what happened (a peer connected or left, a message arrived, a dial failed,
//! time passed) and carries out the [`Action`]s it returns. The rules are CometBFT's:
//! - a node asks every peer it dialled for addresses while its [`book`] holds fewer than
//!   1,000, and every [`ENSURE_PEERS_PERIOD`] it dials book addresses up to
//!   `max_num_outbound_peers` and asks one random peer for more; with no peer and nothing to
//!   dial it falls back to its seeds, and dials at once what a seed sends;
//! - it answers a request with a random selection of its book (at most 250 addresses);
//! - a peer that asks more than twice within a third of the period, sends addresses it was
//!   not asked for, more than 250, or malformed ones, is disconnected and banned for
//!   [`BAN_TIME`];
//! - a seed (`seed_mode`) crawls: every [`CRAWL_PERIOD`] it dials addresses from its book it
//!   has not asked in [`RECRAWL_AFTER`] and asks them, answers a peer that dialled it once and
//!   hangs up.
//!
//! Two Keystone decisions where CometBFT leaves room:
//! - a seed hangs up a crawled peer once it has answered, and any peer after [`SEED_HOLD`]
//!   (CometBFT keeps them for 28 hours; a seed has no other use for them);
//! - a peer whose addresses keep failing is dropped: once [`DEAD_ADDRS_PER_SOURCE`]
//!   addresses it sent failed their first dial, and fewer than a quarter as many of its
//!   addresses answered, it is banned. The book already bounds what one peer may place in
//!   it. Configured seeds are not judged so: they hand out what they heard, and some of it
//!   is always stale.
//!
//! Persistent and unconditional peers are never banned: they are disconnected, and the
//! switch dials persistent ones again.

pub mod book;
pub mod rng;

use book::{AddrBook, NetAddr, MAX_SELECTION};
use keystone_proto::prost::Message as _;
use keystone_proto::tm::v0_38::p2p as pb;
use rng::Rng;
use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::time::{Duration, Instant, SystemTime};

/// The PEX channel.
pub const PEX_CHANNEL: u8 = 0x00;
/// The largest PEX message accepted (CometBFT's `maxMsgSize`: 250 addresses of at most 256
/// bytes).
pub const MAX_MESSAGE_BYTES: usize = 256 * MAX_SELECTION;
/// How often a node checks its outbound peers (CometBFT's `ensurePeersPeriod`).
pub const ENSURE_PEERS_PERIOD: Duration = Duration::from_secs(30);
/// How often a seed crawls (CometBFT's `crawlPeerPeriod`).
pub const CRAWL_PERIOD: Duration = Duration::from_secs(30);
/// How long before a seed asks the same peer again (CometBFT's `minTimeBetweenCrawls`).
pub const RECRAWL_AFTER: Duration = Duration::from_secs(120);
/// How long a seed keeps any connection.
pub const SEED_HOLD: Duration = Duration::from_secs(30);
/// How long a misbehaving peer is banned (CometBFT's `defaultBanTime`).
pub const BAN_TIME: Duration = Duration::from_secs(24 * 3600);
/// Failed dials after which an address is banned (CometBFT's `maxAttemptsToDial`).
pub const MAX_DIAL_ATTEMPTS: u32 = 16;
/// Addresses from one peer that may fail (with few answering) before the peer is banned.
pub const DEAD_ADDRS_PER_SOURCE: u32 = 16;
/// How often a changed book is written to its file.
pub const SAVE_EVERY: Duration = Duration::from_secs(5);

/// A moment, on both clocks: the monotonic one for rates, the wall one for what the book
/// writes to its file.
#[derive(Clone, Copy, Debug)]
pub struct Clock {
    /// For intervals.
    pub mono: Instant,
    /// For the book.
    pub wall: SystemTime,
}

impl Clock {
    /// Now.
    pub fn now() -> Clock {
        Clock {
            mono: Instant::now(),
            wall: SystemTime::now(),
        }
    }

    /// `d` later.
    pub fn after(self, d: Duration) -> Clock {
        Clock {
            mono: self.mono + d,
            wall: self.wall + d,
        }
    }
}

/// A peer to dial: its id and `host:port` (a seed may be named by DNS).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dial {
    /// The node id it must prove.
    pub id: String,
    /// Where.
    pub addr: String,
}

/// What the switch is to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Queue `bytes` on [`PEX_CHANNEL`] to `peer`.
    Send {
        /// To whom.
        peer: String,
        /// An encoded `tendermint.p2p.Message`.
        bytes: Vec<u8>,
    },
    /// Queue `bytes` to `peer`, then close the connection once they are written.
    SendAndClose {
        /// To whom.
        peer: String,
        /// An encoded `tendermint.p2p.Message`.
        bytes: Vec<u8>,
    },
    /// Dial a peer (and report how it went: [`Pex::peer_up`] or [`Pex::dial_failed`]).
    Dial(Dial),
    /// Close the connection to `peer`.
    Disconnect {
        /// Whom.
        peer: String,
        /// Why, for the log.
        reason: String,
    },
}

/// How a dial ended without a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DialFailure {
    /// No TCP connection, or the handshake broke off.
    Unreachable,
    /// The node there is not the one the address names.
    WrongIdentity,
    /// Connected but not kept (already connected, or over a limit): not the address's fault.
    NotKept,
}

/// The reactor's configuration (config.toml's `[p2p]`).
#[derive(Clone, Debug)]
pub struct PexConfig {
    /// `seeds`.
    pub seeds: Vec<Dial>,
    /// `seed_mode`.
    pub seed_mode: bool,
    /// `max_num_outbound_peers`: peers dialled from the book (persistent ones not counted).
    pub max_outbound: usize,
    /// `persistent_peers`' ids: dialled by the switch, never from the book, never banned.
    pub persistent: Vec<String>,
    /// `unconditional_peer_ids`: never banned.
    pub unconditional: Vec<String>,
    /// [`ENSURE_PEERS_PERIOD`], shorter in tests.
    pub period: Duration,
}

struct PeerMeta {
    outbound: bool,
    since: Instant,
    addr: Option<NetAddr>,
    /// A seed answered its one request on this connection.
    served: bool,
}

/// The reactor's state (see the module doc).
pub struct Pex {
    cfg: PexConfig,
    book: AddrBook,
    rng: Rng,
    peers: BTreeMap<String, PeerMeta>,
    dialing: BTreeSet<String>,
    requests_sent: BTreeSet<String>,
    /// Per peer: when it last asked, and how often so far.
    requests_received: BTreeMap<String, (Instant, u32)>,
    /// Per source: its addresses that failed their first dial, and that answered.
    sources: BTreeMap<String, (u32, u32)>,
    crawled: BTreeMap<String, Instant>,
    next_round: Option<Instant>,
    last_save: Option<Instant>,
}

impl Pex {
    /// The reactor over `book`.
    pub fn new(cfg: PexConfig, book: AddrBook, rng: Rng) -> Pex {
        Pex {
            cfg,
            book,
            rng,
            peers: BTreeMap::new(),
            dialing: BTreeSet::new(),
            requests_sent: BTreeSet::new(),
            requests_received: BTreeMap::new(),
            sources: BTreeMap::new(),
            crawled: BTreeMap::new(),
            next_round: None,
            last_save: None,
        }
    }

    /// The address book.
    pub fn book(&self) -> &AddrBook {
        &self.book
    }

    fn protected(&self, id: &str) -> bool {
        self.cfg.persistent.iter().any(|p| p == id)
            || self.cfg.unconditional.iter().any(|p| p == id)
    }

    /// Whether `id` may connect now (it is not banned, or it is protected).
    pub fn admits(&self, id: &str, c: Clock) -> bool {
        self.protected(id) || !self.book.is_banned(id, c.wall)
    }

    fn outbound(&self) -> usize {
        self.peers
            .iter()
            .filter(|(id, m)| m.outbound && !self.cfg.persistent.contains(id))
            .count()
    }

    /// Outbound places not taken by connected or dialling peers.
    fn room(&self) -> usize {
        self.cfg
            .max_outbound
            .saturating_sub(self.outbound() + self.dialing.len())
    }

    /// A peer connected. `listen` is where it says it listens (its node info's listen
    /// address, with the connection's IP when it names none).
    pub fn peer_up(
        &mut self,
        id: &str,
        listen: Option<SocketAddr>,
        outbound: bool,
        c: Clock,
    ) -> Vec<Action> {
        self.dialing.remove(id);
        let addr = listen.map(|addr| NetAddr {
            id: id.to_string(),
            addr,
        });
        if let Some(a) = &addr {
            let _ = self.book.add(a.clone(), a.clone(), c.wall);
        }
        if outbound {
            if let Some(src) = self.book.mark_good(id, c.wall) {
                self.sources.entry(src).or_insert((0, 0)).1 += 1;
            }
        }
        self.peers.insert(
            id.to_string(),
            PeerMeta {
                outbound,
                since: c.mono,
                addr,
                served: false,
            },
        );
        if outbound && (self.cfg.seed_mode || self.book.needs_more()) {
            return vec![self.request(id)];
        }
        Vec::new()
    }

    /// A peer's connection ended.
    pub fn peer_down(&mut self, id: &str) {
        self.peers.remove(id);
        self.requests_sent.remove(id);
        self.requests_received.remove(id);
    }

    fn request(&mut self, id: &str) -> Action {
        self.requests_sent.insert(id.to_string());
        Action::Send {
            peer: id.to_string(),
            bytes: encode(pb::message::Sum::PexRequest(pb::PexRequest {})),
        }
    }

    /// A message arrived on [`PEX_CHANNEL`] from `peer`.
    pub fn receive(&mut self, peer: &str, bytes: &[u8], c: Clock) -> Vec<Action> {
        let msg = pb::Message::decode(bytes).ok().and_then(|m| m.sum);
        match msg {
            None => self.punish(peer, "sent a malformed PEX message", c),
            Some(pb::message::Sum::PexRequest(_)) => self.on_request(peer, c),
            Some(pb::message::Sum::PexAddrs(a)) => self.on_addrs(peer, a.addrs, c),
        }
    }

    fn on_request(&mut self, peer: &str, c: Clock) -> Vec<Action> {
        let Some(meta) = self.peers.get_mut(peer) else {
            return Vec::new();
        };
        if self.cfg.seed_mode && !meta.outbound {
            // One answer per connection, then the seed hangs up.
            if std::mem::replace(&mut meta.served, true) {
                return Vec::new();
            }
            let addrs = self.book.selection(&mut self.rng, Some(70), c.wall, peer);
            return vec![Action::SendAndClose {
                peer: peer.to_string(),
                bytes: encode_addrs(&addrs),
            }];
        }
        let (last, count) = self
            .requests_received
            .entry(peer.to_string())
            .or_insert((c.mono, 0));
        if *count >= 2 && c.mono.duration_since(*last) < self.cfg.period / 3 {
            return self.punish(peer, "asked for addresses too often", c);
        }
        *last = c.mono;
        *count += 1;
        let addrs = self.book.selection(&mut self.rng, None, c.wall, peer);
        vec![Action::Send {
            peer: peer.to_string(),
            bytes: encode_addrs(&addrs),
        }]
    }

    fn on_addrs(&mut self, peer: &str, addrs: Vec<pb::NetAddress>, c: Clock) -> Vec<Action> {
        if !self.requests_sent.remove(peer) {
            return self.punish(peer, "sent addresses it was not asked for", c);
        }
        if addrs.len() > MAX_SELECTION {
            return self.punish(peer, "sent more than 250 addresses", c);
        }
        let Some(parsed) = addrs
            .iter()
            .map(|a| NetAddr::from_parts(&a.id, &a.ip, a.port))
            .collect::<Option<Vec<NetAddr>>>()
        else {
            return self.punish(peer, "sent a malformed address", c);
        };
        let src = self
            .peers
            .get(peer)
            .and_then(|m| m.addr.clone())
            .unwrap_or_else(|| NetAddr {
                id: peer.to_string(),
                addr: SocketAddr::from(([0, 0, 0, 0], 0)),
            });
        let mut learned = Vec::new();
        for a in parsed {
            if self.book.add(a.clone(), src.clone(), c.wall).is_ok() {
                learned.push(a);
            }
        }
        let mut out = Vec::new();
        let outbound = self.peers.get(peer).is_some_and(|m| m.outbound);
        if self.cfg.seed_mode {
            if outbound && !self.protected(peer) {
                out.push(Action::Disconnect {
                    peer: peer.to_string(),
                    reason: "crawled".into(),
                });
            }
        } else if self.cfg.seeds.iter().any(|s| s.id == peer) {
            // What a seed sends is dialled at once (CometBFT's fast dialling).
            let room = self.room();
            for a in learned.into_iter().take(room) {
                if !self.peers.contains_key(&a.id) && self.dialing.insert(a.id.clone()) {
                    out.push(dial_of(&a));
                }
            }
        }
        out
    }

    /// Ban `peer` for something another reactor caught it at (unless protected).
    pub fn ban(&mut self, peer: &str, reason: &str, c: Clock) {
        let _ = self.punish(peer, reason, c);
    }

    /// Ban `peer` (unless protected) and disconnect it.
    fn punish(&mut self, peer: &str, reason: &str, c: Clock) -> Vec<Action> {
        if self.protected(peer) {
            tracing::warn!(
                peer,
                reason,
                "disconnecting a persistent or unconditional peer"
            );
        } else {
            tracing::warn!(peer, reason, "banning peer");
            let addr = self.peers.get(peer).and_then(|m| m.addr.clone());
            self.book.mark_bad(peer, addr, c.wall, BAN_TIME);
        }
        vec![Action::Disconnect {
            peer: peer.to_string(),
            reason: reason.to_string(),
        }]
    }

    /// A dial the reactor asked for ended without a connection.
    pub fn dial_failed(&mut self, id: &str, why: DialFailure, c: Clock) -> Vec<Action> {
        self.dialing.remove(id);
        match why {
            DialFailure::NotKept => Vec::new(),
            DialFailure::WrongIdentity => {
                if !self.protected(id) {
                    self.book.mark_bad(id, None, c.wall, BAN_TIME);
                }
                Vec::new()
            }
            DialFailure::Unreachable => {
                let source = self.book.mark_attempt(id, c.wall);
                if self.book.attempts(id) >= MAX_DIAL_ATTEMPTS && !self.protected(id) {
                    self.book.mark_bad(id, None, c.wall, BAN_TIME);
                }
                let Some(src) = source else {
                    return Vec::new();
                };
                let (dead, alive) = self.sources.entry(src.clone()).or_insert((0, 0));
                *dead += 1;
                let judged = !self.cfg.seeds.iter().any(|s| s.id == src);
                if !judged || *dead < DEAD_ADDRS_PER_SOURCE || *alive * 4 >= *dead {
                    return Vec::new();
                }
                self.sources.remove(&src);
                self.punish(&src, "sent addresses that do not answer", c)
            }
        }
    }

    /// Time passed: every period, dial from the book (or crawl, on a seed). Also writes the
    /// book when it changed and [`SAVE_EVERY`] passed.
    pub fn tick(&mut self, c: Clock) -> Vec<Action> {
        if self.book.dirty() && self.last_save.is_none_or(|t| c.mono >= t + SAVE_EVERY) {
            self.last_save = Some(c.mono);
            if let Err(e) = self.book.save() {
                tracing::warn!(error = %e, "cannot write the address book");
            }
        }
        if self.next_round.is_some_and(|t| c.mono < t) {
            return Vec::new();
        }
        self.book.reinstate(c.wall);
        if self.cfg.seed_mode {
            self.next_round = Some(c.mono + CRAWL_PERIOD.min(self.cfg.period));
            self.crawl(c)
        } else {
            self.next_round = Some(c.mono + self.cfg.period);
            self.ensure_peers(c)
        }
    }

    fn ensure_peers(&mut self, c: Clock) -> Vec<Action> {
        let mut out = Vec::new();
        let room = self.room();
        // The more outbound peers, the more a node tries unproven addresses.
        let new_percent = (10 + 10 * self.outbound() as u64).min(90);
        let mut picked: BTreeSet<String> = BTreeSet::new();
        for _ in 0..room * 3 {
            if picked.len() >= room {
                break;
            }
            let skip = |id: &str| {
                self.peers.contains_key(id)
                    || self.dialing.contains(id)
                    || picked.contains(id)
                    || self.cfg.persistent.iter().any(|p| p == id)
            };
            match self.book.pick(&mut self.rng, new_percent, c.wall, skip) {
                Some(a) => {
                    picked.insert(a.id.clone());
                    out.push(dial_of(&a));
                }
                None => break,
            }
        }
        self.dialing.extend(picked);
        if self.book.needs_more() {
            let askable: Vec<String> = self
                .peers
                .keys()
                .filter(|p| !self.requests_sent.contains(*p))
                .cloned()
                .collect();
            if !askable.is_empty() {
                let p = askable[self.rng.below(askable.len() as u64) as usize].clone();
                out.push(self.request(&p));
            }
        }
        if self.peers.is_empty() && self.dialing.is_empty() {
            for s in self.cfg.seeds.clone() {
                self.dialing.insert(s.id.clone());
                out.push(Action::Dial(s));
            }
        }
        out
    }

    fn crawl(&mut self, c: Clock) -> Vec<Action> {
        let mut out = Vec::new();
        for (id, m) in &self.peers {
            if c.mono.duration_since(m.since) >= SEED_HOLD && !self.protected(id) {
                out.push(Action::Disconnect {
                    peer: id.clone(),
                    reason: "a seed holds no connection".into(),
                });
            }
        }
        self.crawled
            .retain(|_, t| c.mono.duration_since(*t) < RECRAWL_AFTER);
        let room = self.room();
        let picks: Vec<NetAddr> = self
            .book
            .selection(&mut self.rng, None, c.wall, "")
            .into_iter()
            .filter(|a| {
                !self.crawled.contains_key(&a.id)
                    && !self.peers.contains_key(&a.id)
                    && !self.dialing.contains(&a.id)
            })
            .take(room)
            .collect();
        for a in picks {
            self.crawled.insert(a.id.clone(), c.mono);
            self.dialing.insert(a.id.clone());
            out.push(dial_of(&a));
        }
        out
    }

    /// Write the book now (on shutdown).
    pub fn save(&mut self) -> Result<(), book::BookError> {
        self.book.save()
    }
}

fn dial_of(a: &NetAddr) -> Action {
    Action::Dial(Dial {
        id: a.id.clone(),
        addr: a.addr.to_string(),
    })
}

fn encode(sum: pb::message::Sum) -> Vec<u8> {
    pb::Message { sum: Some(sum) }.encode_to_vec()
}

/// A `PexAddrs` message carrying `addrs`.
pub fn encode_addrs(addrs: &[NetAddr]) -> Vec<u8> {
    encode(pb::message::Sum::PexAddrs(pb::PexAddrs {
        addrs: addrs
            .iter()
            .map(|a| pb::NetAddress {
                id: a.id.clone(),
                ip: a.addr.ip().to_string(),
                port: u32::from(a.addr.port()),
            })
            .collect(),
    }))
}

/// A `PexRequest` message.
pub fn encode_request() -> Vec<u8> {
    encode(pb::message::Sum::PexRequest(pb::PexRequest {}))
}

#[cfg(test)]
mod tests;
