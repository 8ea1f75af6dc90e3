//! The syncing side of state sync, as CometBFT's syncer does it: a fresh node asks its peers
//! for snapshots, picks the highest (then the most widely held), has the app hash of its
//! height verified by a light client ([`StateProvider`]), offers it to the application, fetches
//! its chunks from the peers that hold it — several at once, each request timed out and
//! retried elsewhere — and applies them in order; a chunk the application refuses is fetched
//! again and its sender banned. Then it checks the application's `Info` against the verified
//! app hash, fetches block H itself (its hash must be the verified header's), and starts the
//! block store at H ([`BlockStore::bootstrap`]); block sync and consensus go on from there.
//!
//! It runs on the node's thread before the node loop starts, reading the node's event channel:
//! peers coming and going, state-sync and block-sync answers (everything else a peer sends
//! meanwhile is dropped, which gives its inbound budget back). A shutdown ends it; what was
//! applied is kept by the application and resumed by the next start.

use super::{decode, encode, Wire, CHUNK_CHANNEL, SNAPSHOT_CHANNEL};
use crate::block_store::BlockStore;
use crate::node::run::Event;
use crate::reactor::{self, BLOCKSYNC_CHANNEL};
use crate::switch::NetEvent;
use keystone_consensus_types::light::LightBlock;
use keystone_consensus_types::Height;
use keystone_proto::{abci, Application};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

/// What the syncer needs from the network.
pub trait SyncNet {
    /// Queue `bytes` on `channel` to `peer`.
    fn send(&self, peer: &str, channel: u8, bytes: Vec<u8>);
    /// The connected peers.
    fn peers(&self) -> Vec<String>;
    /// Drop and ban `peer`.
    fn ban(&self, peer: &str, reason: &str);
}

impl SyncNet for crate::switch::Switch {
    fn send(&self, peer: &str, channel: u8, bytes: Vec<u8>) {
        crate::switch::Switch::send(self, peer, channel, bytes)
    }
    fn peers(&self) -> Vec<String> {
        crate::switch::Switch::peers(self)
    }
    fn ban(&self, peer: &str, reason: &str) {
        crate::switch::Switch::ban(self, peer, reason)
    }
}

/// Trusted data about heights, from a light client: the verified light blocks of `h` and
/// `h + 1` (the app hash after `h` and its results hash are in the second's header).
pub trait StateProvider {
    /// Light blocks `h` and `h + 1`, verified from the trust root and checked against the
    /// witnesses; an error when they cannot be (not yet there, or a conflict).
    fn light_blocks(&mut self, h: Height) -> Result<(LightBlock, LightBlock), String>;
}

/// config.toml's `[statesync]` timings.
#[derive(Clone, Copy, Debug)]
pub struct SyncConfig {
    /// `discovery_time`: how long to gather snapshots before choosing.
    pub discovery_time: Duration,
    /// `chunk_request_timeout`: how long a chunk request may stay unanswered.
    pub chunk_request_timeout: Duration,
    /// `chunk_fetchers`: chunk requests in flight at once.
    pub chunk_fetchers: usize,
}

/// Why state sync stopped.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// Stopped by a signal.
    #[error("stopped")]
    Stopped,
    /// The application aborted the restore.
    #[error("the application aborted state sync: {0}")]
    Aborted(String),
    /// The application failed.
    #[error("application: {0}")]
    App(String),
    /// The restored state is not the verified one.
    #[error("state sync restored {0}")]
    Mismatch(String),
    /// The block store could not be started.
    #[error("block store: {0}")]
    Store(String),
}

/// A snapshot as peers offer it, and who does.
#[derive(Clone, Debug)]
struct Offer {
    snapshot: abci::Snapshot,
    peers: BTreeSet<String>,
}

type Key = (u64, u32, Vec<u8>);

fn key(s: &abci::Snapshot) -> Key {
    (s.height, s.format, s.hash.to_vec())
}

/// How fetching and applying one snapshot's chunks ended.
enum Fetch {
    Done,
    Next,
    Again,
}

/// How one snapshot's restore ended.
enum Outcome {
    /// Restored: the verified light blocks of H and H + 1.
    Done(Box<(LightBlock, LightBlock)>),
    /// Try another snapshot.
    Next,
    /// Offer the same snapshot again from the start.
    Again,
}

/// Restore the application from a snapshot peers hold and start the block store at its
/// height; returns the height.
pub fn sync<A: Application>(
    app: &mut A,
    blocks: &BlockStore,
    net: &dyn SyncNet,
    events: &Receiver<Event>,
    provider: &mut dyn StateProvider,
    cfg: &SyncConfig,
) -> Result<Height, SyncError> {
    let mut s = Syncer::new(app, net, events, cfg);
    let (h, b0, b1) = loop {
        s.discover()?;
        let Some(offer) = s.best() else {
            tracing::info!("no snapshot to restore yet; asking peers again");
            continue;
        };
        let k = key(&offer.snapshot);
        match s.restore(&offer, provider)? {
            Outcome::Done(b) => {
                let (b0, b1) = *b;
                break (offer.snapshot.height, b0, b1);
            }
            Outcome::Next => {
                s.rejected.insert(k);
            }
            Outcome::Again => {}
        }
    };
    crate::failpoint::hit("statesync-restored");
    s.bootstrap(blocks, h, &b0, &b1)?;
    Ok(h)
}

/// The application was restored to `h` but the block store was not started (a crash in
/// between): verify `h` again and start the block store there.
pub fn bootstrap_only<A: Application>(
    app: &mut A,
    blocks: &BlockStore,
    net: &dyn SyncNet,
    events: &Receiver<Event>,
    provider: &mut dyn StateProvider,
    cfg: &SyncConfig,
    (h, app_hash): (Height, &[u8]),
) -> Result<(), SyncError> {
    let (b0, b1) = provider.light_blocks(h).map_err(SyncError::Mismatch)?;
    if b1.header.app_hash != app_hash {
        return Err(SyncError::Mismatch(format!(
            "height {h} with app hash {}, where the chain's is {}",
            hex::encode_upper(app_hash),
            hex::encode_upper(&b1.header.app_hash)
        )));
    }
    let mut s = Syncer::new(app, net, events, cfg);
    s.bootstrap(blocks, h, &b0, &b1)
}

struct Syncer<'a, A: Application> {
    app: &'a mut A,
    net: &'a dyn SyncNet,
    events: &'a Receiver<Event>,
    cfg: SyncConfig,
    peers: BTreeSet<String>,
    offers: BTreeMap<Key, Offer>,
    /// Snapshots each peer has offered (a peer may offer at most ten).
    per_peer: BTreeMap<String, usize>,
    rejected: BTreeSet<Key>,
    rejected_formats: BTreeSet<u32>,
    banned: BTreeSet<String>,
}

/// What arrived from the network, for the syncer.
enum Heard {
    Nothing,
    Snapshot(String, abci::Snapshot),
    Chunk(String, Wire),
    Block(String, Box<keystone_consensus_types::Block>),
    NoBlock(String),
}

impl<'a, A: Application> Syncer<'a, A> {
    fn new(
        app: &'a mut A,
        net: &'a dyn SyncNet,
        events: &'a Receiver<Event>,
        cfg: &SyncConfig,
    ) -> Self {
        Syncer {
            app,
            net,
            events,
            cfg: *cfg,
            peers: net.peers().into_iter().collect(),
            offers: BTreeMap::new(),
            per_peer: BTreeMap::new(),
            rejected: BTreeSet::new(),
            rejected_formats: BTreeSet::new(),
            banned: BTreeSet::new(),
        }
    }

    /// Wait up to `wait` for something; peers coming and going are tracked here, and new
    /// peers are asked for their snapshots.
    fn hear(&mut self, wait: Duration) -> Result<Heard, SyncError> {
        let event = match self.events.recv_timeout(wait) {
            Ok(e) => e,
            Err(RecvTimeoutError::Timeout) => return Ok(Heard::Nothing),
            Err(RecvTimeoutError::Disconnected) => return Err(SyncError::Stopped),
        };
        match event {
            Event::Shutdown => Err(SyncError::Stopped),
            Event::Rpc(_) => Ok(Heard::Nothing),
            Event::Net(NetEvent::PeerUp(p)) => {
                if !self.banned.contains(&p) {
                    let (ch, b) = encode(&Wire::SnapshotsRequest);
                    self.net.send(&p, ch, b);
                    self.peers.insert(p);
                }
                Ok(Heard::Nothing)
            }
            Event::Net(NetEvent::PeerDown(p)) => {
                self.peers.remove(&p);
                for o in self.offers.values_mut() {
                    o.peers.remove(&p);
                }
                Ok(Heard::Nothing)
            }
            Event::Net(NetEvent::Message {
                peer,
                channel,
                bytes,
                ticket,
            }) => {
                drop(ticket);
                match channel {
                    SNAPSHOT_CHANNEL | CHUNK_CHANNEL => match decode(channel, &bytes) {
                        Ok(Wire::Snapshot(s)) => Ok(Heard::Snapshot(peer, s)),
                        Ok(w @ Wire::Chunk { .. }) => Ok(Heard::Chunk(peer, w)),
                        Ok(_) => Ok(Heard::Nothing),
                        Err(e) => {
                            self.ban(&peer, &e.to_string());
                            Ok(Heard::Nothing)
                        }
                    },
                    BLOCKSYNC_CHANNEL => match reactor::decode(channel, &bytes) {
                        Ok(reactor::Wire::BlockResponse(b, _)) => Ok(Heard::Block(peer, b)),
                        Ok(reactor::Wire::NoBlock(_)) => Ok(Heard::NoBlock(peer)),
                        _ => Ok(Heard::Nothing),
                    },
                    _ => Ok(Heard::Nothing),
                }
            }
        }
    }

    fn ban(&mut self, peer: &str, reason: &str) {
        tracing::warn!(peer, reason, "state sync: banning peer");
        self.net.ban(peer, reason);
        self.banned.insert(peer.to_string());
        self.peers.remove(peer);
        for o in self.offers.values_mut() {
            o.peers.remove(peer);
        }
    }

    /// Ask every peer for its snapshots and gather answers for `discovery_time`.
    fn discover(&mut self) -> Result<(), SyncError> {
        let (ch, b) = encode(&Wire::SnapshotsRequest);
        for p in &self.peers {
            self.net.send(p, ch, b.clone());
        }
        let until = Instant::now() + self.cfg.discovery_time;
        while let Some(left) = until.checked_duration_since(Instant::now()) {
            if let Heard::Snapshot(peer, s) = self.hear(left)? {
                self.add_offer(peer, s);
            }
        }
        Ok(())
    }

    fn add_offer(&mut self, peer: String, s: abci::Snapshot) {
        if s.height == 0 || s.chunks == 0 || self.banned.contains(&peer) {
            return;
        }
        let k = key(&s);
        let known = self.offers.get(&k).is_some_and(|o| o.peers.contains(&peer));
        if known {
            return;
        }
        let n = self.per_peer.entry(peer.clone()).or_insert(0);
        if *n >= super::RECENT_SNAPSHOTS {
            return;
        }
        *n += 1;
        self.offers
            .entry(k)
            .or_insert_with(|| Offer {
                snapshot: s,
                peers: BTreeSet::new(),
            })
            .peers
            .insert(peer);
    }

    /// The snapshot to try: the highest, then the most widely held, not yet rejected.
    fn best(&self) -> Option<Offer> {
        self.offers
            .iter()
            .filter(|(k, o)| {
                !self.rejected.contains(*k)
                    && !self.rejected_formats.contains(&o.snapshot.format)
                    && !o.peers.is_empty()
            })
            .max_by_key(|(k, o)| (k.0, o.peers.len()))
            .map(|(_, o)| o.clone())
    }

    fn restore(
        &mut self,
        offer: &Offer,
        provider: &mut dyn StateProvider,
    ) -> Result<Outcome, SyncError> {
        let snap = &offer.snapshot;
        let h = snap.height;
        let (b0, b1) = match provider.light_blocks(h) {
            Ok(b) => b,
            Err(e) => {
                tracing::warn!(height = h, error = %e, "state sync: cannot verify the snapshot's height");
                return Ok(Outcome::Next);
            }
        };
        let app_hash = b1.header.app_hash.clone();
        if b1.header.height != h + 1 || b0.header.height != h {
            return Err(SyncError::Mismatch(
                "light blocks of other heights than asked for".into(),
            ));
        }
        tracing::info!(
            height = h,
            format = snap.format,
            chunks = snap.chunks,
            "offering a snapshot"
        );
        let offered = self
            .app
            .offer_snapshot(abci::RequestOfferSnapshot {
                snapshot: Some(snap.clone()),
                app_hash: app_hash.clone().into(),
            })
            .map_err(|e| SyncError::App(e.to_string()))?;
        use abci::response_offer_snapshot::Result as O;
        match O::try_from(offered.result).unwrap_or(O::Unknown) {
            O::Accept => {}
            O::Abort => return Err(SyncError::Aborted("OfferSnapshot".into())),
            O::RejectFormat => {
                self.rejected_formats.insert(snap.format);
                return Ok(Outcome::Next);
            }
            O::RejectSender => {
                for p in offer.peers.clone() {
                    self.ban(&p, "offered a snapshot the application refused");
                }
                return Ok(Outcome::Next);
            }
            O::Reject | O::Unknown => return Ok(Outcome::Next),
        }
        match self.fetch_and_apply(offer)? {
            Fetch::Done => {}
            Fetch::Next => return Ok(Outcome::Next),
            Fetch::Again => return Ok(Outcome::Again),
        }
        let info = self
            .app
            .info(crate::engine::info_request())
            .map_err(|e| SyncError::App(e.to_string()))?;
        if info.last_block_height.max(0) as u64 != h
            || info.last_block_app_hash.as_ref() != app_hash
        {
            return Err(SyncError::Mismatch(format!(
                "height {} with app hash {}, where the chain's height {h} has {}",
                info.last_block_height,
                hex::encode_upper(&info.last_block_app_hash),
                hex::encode_upper(&app_hash)
            )));
        }
        tracing::info!(height = h, "snapshot restored");
        Ok(Outcome::Done(Box::new((b0, b1))))
    }

    /// Fetch the chunks (several in flight, each from one of the peers that hold the
    /// snapshot) and apply them in order.
    fn fetch_and_apply(&mut self, offer: &Offer) -> Result<Fetch, SyncError> {
        use abci::response_apply_snapshot_chunk::Result as R;
        let snap = &offer.snapshot;
        let mut holders: Vec<String> = offer.peers.iter().cloned().collect();
        let mut next_peer = 0usize;
        let mut next_apply = 0u32;
        let mut in_flight: BTreeMap<u32, (String, Instant)> = BTreeMap::new();
        let mut received: BTreeMap<u32, (Vec<u8>, String)> = BTreeMap::new();
        let mut lacking: BTreeMap<u32, BTreeSet<String>> = BTreeMap::new();
        while next_apply < snap.chunks {
            holders.retain(|p| self.peers.contains(p) && !self.banned.contains(p));
            if holders.is_empty() {
                tracing::warn!(height = snap.height, "no peer left with this snapshot");
                return Ok(Fetch::Next);
            }
            // Requests out for the window after the next chunk to apply.
            let window_end = next_apply
                .saturating_add(self.cfg.chunk_fetchers.max(1) as u32)
                .min(snap.chunks);
            for index in next_apply..window_end {
                if in_flight.contains_key(&index) || received.contains_key(&index) {
                    continue;
                }
                let skip = lacking.get(&index);
                let candidates: Vec<&String> = holders
                    .iter()
                    .filter(|p| skip.is_none_or(|s| !s.contains(*p)))
                    .collect();
                if candidates.is_empty() {
                    tracing::warn!(index, "no peer has this chunk");
                    return Ok(Fetch::Next);
                }
                let peer = candidates[next_peer % candidates.len()].clone();
                next_peer = next_peer.wrapping_add(1);
                let (ch, b) = encode(&Wire::ChunkRequest {
                    height: snap.height,
                    format: snap.format,
                    index,
                });
                self.net.send(&peer, ch, b);
                in_flight.insert(index, (peer, Instant::now()));
            }
            // Apply what is in order.
            while let Some((chunk, sender)) = received.remove(&next_apply) {
                let r = self
                    .app
                    .apply_snapshot_chunk(abci::RequestApplySnapshotChunk {
                        index: next_apply,
                        chunk: chunk.into(),
                        sender: sender.clone(),
                    })
                    .map_err(|e| SyncError::App(e.to_string()))?;
                for p in &r.reject_senders {
                    self.ban(p, "sent a snapshot chunk the application refused");
                }
                for i in &r.refetch_chunks {
                    received.remove(i);
                    in_flight.remove(i);
                }
                match R::try_from(r.result).unwrap_or(R::Unknown) {
                    R::Accept => {
                        crate::failpoint::hit("statesync-chunk");
                        if !r.refetch_chunks.contains(&next_apply) {
                            next_apply += 1;
                        }
                    }
                    R::Retry => {}
                    R::RetrySnapshot => return Ok(Fetch::Again),
                    R::RejectSnapshot => return Ok(Fetch::Next),
                    R::Abort | R::Unknown => {
                        return Err(SyncError::Aborted("ApplySnapshotChunk".into()))
                    }
                }
                if next_apply.is_multiple_of(16) || next_apply == snap.chunks {
                    tracing::info!(applied = next_apply, of = snap.chunks, "snapshot chunks");
                }
            }
            if next_apply >= snap.chunks {
                break;
            }
            // Requests that took too long go to another peer.
            let now = Instant::now();
            in_flight.retain(|index, (peer, at)| {
                let late = now.duration_since(*at) > self.cfg.chunk_request_timeout;
                if late {
                    lacking.entry(*index).or_default().insert(peer.clone());
                }
                !late
            });
            match self.hear(Duration::from_millis(50))? {
                Heard::Chunk(
                    peer,
                    Wire::Chunk {
                        height,
                        format,
                        index,
                        chunk,
                    },
                ) if height == snap.height && format == snap.format => {
                    let asked = in_flight.get(&index).is_some_and(|(p, _)| *p == peer);
                    if !asked {
                        continue;
                    }
                    in_flight.remove(&index);
                    match chunk {
                        Some(c) => {
                            received.insert(index, (c, peer));
                        }
                        None => {
                            lacking.entry(index).or_default().insert(peer);
                        }
                    }
                }
                Heard::Snapshot(peer, s) => self.add_offer(peer, s),
                _ => {}
            }
        }
        Ok(Fetch::Done)
    }

    /// Fetch block `h` (its hash must be the verified header's) and start the block store.
    fn bootstrap(
        &mut self,
        blocks: &BlockStore,
        h: Height,
        b0: &LightBlock,
        b1: &LightBlock,
    ) -> Result<(), SyncError> {
        let want = b0.header.hash();
        let mut tried: BTreeSet<String> = BTreeSet::new();
        let block = 'fetch: loop {
            let Some(peer) = self
                .peers
                .iter()
                .find(|p| !tried.contains(*p) && !self.banned.contains(*p))
                .cloned()
            else {
                // Everyone was asked: ask again, after a while.
                if !tried.is_empty() {
                    tracing::info!(
                        height = h,
                        "no peer sent the snapshot's block yet; asking again"
                    );
                }
                tried.clear();
                self.hear(Duration::from_secs(1))?;
                continue;
            };
            tried.insert(peer.clone());
            let (ch, b) = reactor::encode(&reactor::Wire::BlockRequest(h));
            self.net.send(&peer, ch, b);
            let until = Instant::now() + self.cfg.chunk_request_timeout;
            while let Some(left) = until.checked_duration_since(Instant::now()) {
                match self.hear(left)? {
                    Heard::Block(p, b) if p == peer && b.header.height == h => {
                        if b.header.hash() == want {
                            break 'fetch b;
                        }
                        self.ban(&p, "sent a block that is not the chain's");
                        break;
                    }
                    Heard::NoBlock(p) if p == peer => break,
                    _ => {}
                }
            }
        };
        let id = b0.commit.block_id;
        blocks
            .bootstrap(
                &block,
                &id,
                &b0.commit,
                &b1.header.app_hash,
                &b1.header.last_results_hash,
                &[
                    (h, &b0.validators),
                    (h + 1, &b1.validators),
                    (h + 2, &b1.next_validators),
                ],
            )
            .map_err(|e| SyncError::Store(e.to_string()))?;
        tracing::info!(height = h, "state sync done: the node goes on from here");
        Ok(())
    }
}
