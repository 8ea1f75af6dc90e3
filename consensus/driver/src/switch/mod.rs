//! The switch: this node's live connections to its peers, over `keystone-p2p`'s authenticated
//! and encrypted transport.
//!
//! Threads, not tasks: one listener, one dialer per persistent peer (reconnecting with
//! backoff, 0.5 s doubling to 10 s), and per connection one reader and one writer. Readers
//! hand every message to the node as a [`NetEvent`] on one channel; the node answers through
//! [`Switch::send`] and [`Switch::broadcast`], which queue to each peer's writer. A peer whose
//! queue is full (it cannot keep up) or whose connection fails is dropped; a persistent peer
//! is dialled again.
//!
//! Every queue is bounded in bytes. What a peer sent and the node has not yet processed
//! counts against that peer's [`PEER_INBOUND_BYTES`]: its reader stops reading while the
//! budget is spent (TCP then slows the peer down), and a peer that stays over it for
//! [`SLOW_FOR`] is dropped. What is queued to a peer counts against [`PEER_OUTBOUND_BYTES`]
//! (and [`QUEUE`] messages); past either, the peer cannot keep up and is dropped. At most
//! [`MAX_HANDSHAKES`] inbound handshakes run at once.
//!
//! Two nodes that dial each other at once end up with two connections; both keep the one
//! dialled by the node with the smaller id, so they agree on which survives.
//!
//! With peer exchange on ([`SwitchConfig::pex`]), the switch also runs the [`crate::pex`]
//! reactor: it hands it the PEX channel's messages (they never reach the node's thread),
//! the peers that come and go and the dials that fail, ticks it once a second, and carries
//! out what it asks — sends, dials of book addresses and seeds (one thread each, at most
//! `max_num_outbound_peers` at once), disconnections. Banned peers are refused after the
//! handshake; `unconditional_peer_ids` do not count against `max_num_inbound_peers`.

use crate::pex::{Clock, Pex, PEX_CHANNEL};
mod budget;
mod dial;

use budget::Budget;
pub use budget::Ticket;
use dial::{act, dial_loop, pex_loop, Refusal};
use keystone_consensus_types::PrivateKey;
use keystone_p2p::{ConnectConfig, Incoming, NodeId, NodeInfo};
use std::collections::BTreeMap;
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Something that happened on the network.
#[derive(Debug)]
pub enum NetEvent {
    /// A peer connected (after the handshake).
    PeerUp(String),
    /// A peer's connection ended.
    PeerDown(String),
    /// A message from a peer.
    Message {
        /// The peer's node id.
        peer: String,
        /// The channel.
        channel: u8,
        /// The bytes.
        bytes: Vec<u8>,
        /// The message's share of the peer's inbound budget, given back when this is
        /// dropped: keep it until the message is processed.
        ticket: Ticket,
    },
}

/// Bytes a peer may have sent that the node has not processed yet.
pub const PEER_INBOUND_BYTES: u64 = 8 * 1024 * 1024;

/// Bytes queued to one peer before it counts as too slow.
pub const PEER_OUTBOUND_BYTES: u64 = 32 * 1024 * 1024;

/// How long a peer's reader waits for the node to process what the peer sent before the
/// peer is dropped as sending faster than this node can go.
pub const SLOW_FOR: Duration = Duration::from_secs(10);

/// Inbound handshakes in progress at once; connections beyond are closed at once.
pub const MAX_HANDSHAKES: usize = 8;

/// A peer to keep connected.
#[derive(Clone, Debug)]
pub struct PersistentPeer {
    /// Its node id.
    pub id: String,
    /// `host:port`.
    pub addr: String,
}

/// What the switch needs.
pub struct SwitchConfig {
    /// Where to listen.
    pub listen: SocketAddr,
    /// Peers to dial and keep.
    pub persistent_peers: Vec<PersistentPeer>,
    /// The node key.
    pub key: PrivateKey,
    /// What this node tells peers about itself.
    pub info: NodeInfo,
    /// Channels and their largest message, and the handshake's deadline.
    pub connect: ConnectConfig,
    /// Most peers that dialled this node connected at once (config.toml's
    /// `max_num_inbound_peers`): an inbound connection beyond it is refused.
    pub max_inbound: usize,
    /// Peers that connect whatever the limits (`unconditional_peer_ids`).
    pub unconditional: Vec<String>,
    /// The peer-exchange reactor (config.toml's `pex`); `None`: persistent peers only.
    pub pex: Option<Pex>,
    /// Channels answered on the peer's own thread, never the node's: each message goes to
    /// its channel's service, which returns what to send back to that peer, or `None` to
    /// hand the message to the node after all (or an error, and the peer is dropped). State
    /// sync's serving side is one: requests are answered there, answers go to the node.
    pub services: BTreeMap<u8, Service>,
}

/// A channel answered by the switch itself (see [`SwitchConfig::services`]): given the peer
/// and the message, the replies as (channel, bytes), or `None`: the node's.
pub type Service =
    Arc<dyn Fn(&str, &[u8]) -> Result<Option<crate::statesync::Replies>, String> + Send + Sync>;

/// Messages queued to one peer before it counts as too slow.
const QUEUE: usize = 4096;

enum Out {
    Msg(u8, Vec<u8>),
    Ping,
    Pong,
    /// Close the connection once what was queued before is written.
    Close,
}

struct Conn {
    queue: SyncSender<Out>,
    /// Bytes in `queue` not yet written.
    queued: Arc<AtomicU64>,
    stream: TcpStream,
    /// The id of the node that dialled this connection.
    dialer: String,
    serial: u64,
    /// What `net_info` reports of it.
    info: NodeInfo,
    outbound: bool,
    remote: Option<SocketAddr>,
    since: std::time::SystemTime,
    traffic: Arc<Traffic>,
}

/// Bytes of messages sent to and received from one peer (payloads, before framing), per
/// channel.
struct Traffic {
    sent: [AtomicU64; 256],
    received: [AtomicU64; 256],
}

impl Default for Traffic {
    fn default() -> Traffic {
        Traffic {
            sent: std::array::from_fn(|_| AtomicU64::new(0)),
            received: std::array::from_fn(|_| AtomicU64::new(0)),
        }
    }
}

/// The channels with traffic in `counters`, and their bytes.
fn by_channel(counters: &[AtomicU64; 256]) -> Vec<(u8, u64)> {
    (0..=u8::MAX)
        .filter_map(|ch| {
            let n = counters[usize::from(ch)].load(Ordering::Relaxed);
            (n > 0).then_some((ch, n))
        })
        .collect()
}

/// A connected peer, as the RPC's `net_info` reports it.
#[derive(Clone, Debug)]
pub struct PeerInfo {
    /// What the peer said of itself in the handshake.
    pub info: NodeInfo,
    /// This node dialled it.
    pub outbound: bool,
    /// Its address, when the socket still knows it.
    pub remote: Option<SocketAddr>,
    /// When the connection was made.
    pub since: std::time::SystemTime,
    /// Message bytes sent to it so far.
    pub sent: u64,
    /// Message bytes received from it so far.
    pub received: u64,
    /// Of `sent`, the bytes of each channel that carried any.
    pub sent_by_channel: Vec<(u8, u64)>,
    /// Of `received`, the bytes of each channel that carried any.
    pub received_by_channel: Vec<(u8, u64)>,
}

struct Shared {
    cfg: SwitchConfig,
    /// Taken out of `cfg` so that the configuration can be read without this lock.
    pex: Option<Mutex<Pex>>,
    my_id: String,
    peers: Mutex<BTreeMap<String, Conn>>,
    /// Where events go: the node's own event channel, so a message reaches the node's
    /// thread with one wake-up (a forwarding thread between them was a second).
    events: Box<dyn Fn(NetEvent) + Send + Sync>,
    stop: AtomicBool,
    handshakes: std::sync::atomic::AtomicUsize,
    serial: AtomicU64,
}

/// The running switch (stops its threads when dropped).
pub struct Switch {
    shared: Arc<Shared>,
    /// The address actually bound (port 0 resolved).
    pub local_addr: SocketAddr,
}

impl Switch {
    /// Bind, then start listening and dialling; events arrive on the returned receiver.
    pub fn start(cfg: SwitchConfig) -> std::io::Result<(Switch, Receiver<NetEvent>)> {
        let (tx, rx) = mpsc::channel();
        let switch = Switch::start_with(cfg, move |e| {
            let _ = tx.send(e);
        })?;
        Ok((switch, rx))
    }

    /// Bind, then start listening and dialling; every event is handed to `sink`, on the
    /// thread of the peer (or the dialler) it comes from.
    pub fn start_with(
        cfg: SwitchConfig,
        sink: impl Fn(NetEvent) + Send + Sync + 'static,
    ) -> std::io::Result<Switch> {
        let listener = TcpListener::bind(cfg.listen)?;
        let local_addr = listener.local_addr()?;
        let my_id = NodeId::from_public_key(&cfg.key.public_key()).to_string();
        let mut cfg = cfg;
        let pex = cfg.pex.take().map(Mutex::new);
        let shared = Arc::new(Shared {
            pex,
            cfg,
            my_id,
            peers: Mutex::new(BTreeMap::new()),
            events: Box::new(sink),
            stop: AtomicBool::new(false),
            handshakes: std::sync::atomic::AtomicUsize::new(0),
            serial: AtomicU64::new(0),
        });
        {
            let s = shared.clone();
            std::thread::Builder::new()
                .name("p2p-listen".into())
                .spawn(move || listen(s, listener))?;
        }
        for peer in shared.cfg.persistent_peers.clone() {
            let s = shared.clone();
            std::thread::Builder::new()
                .name(format!("p2p-dial-{}", &peer.id[..8.min(peer.id.len())]))
                .spawn(move || dial_loop(s, peer))?;
        }
        if shared.pex.is_some() {
            let s = shared.clone();
            std::thread::Builder::new()
                .name("p2p-pex".into())
                .spawn(move || pex_loop(s))?;
        }
        Ok(Switch { shared, local_addr })
    }

    /// This node's id.
    pub fn id(&self) -> &str {
        &self.shared.my_id
    }

    /// Ids of the connected peers.
    pub fn peers(&self) -> Vec<String> {
        lock(&self.shared.peers).keys().cloned().collect()
    }

    /// The connected peers in detail (for `net_info`), by id.
    pub fn peer_infos(&self) -> Vec<PeerInfo> {
        lock(&self.shared.peers)
            .values()
            .map(|c| PeerInfo {
                info: c.info.clone(),
                outbound: c.outbound,
                remote: c.remote,
                since: c.since,
                sent_by_channel: by_channel(&c.traffic.sent),
                received_by_channel: by_channel(&c.traffic.received),
                sent: c
                    .traffic
                    .sent
                    .iter()
                    .map(|n| n.load(Ordering::Relaxed))
                    .sum(),
                received: c
                    .traffic
                    .received
                    .iter()
                    .map(|n| n.load(Ordering::Relaxed))
                    .sum(),
            })
            .collect()
    }

    /// What this node tells peers about itself.
    pub fn node_info(&self) -> &NodeInfo {
        &self.shared.cfg.info
    }

    /// Queue `bytes` on `channel` to `peer`.
    pub fn send(&self, peer: &str, channel: u8, bytes: Vec<u8>) {
        send(&self.shared, peer, channel, bytes)
    }

    /// Queue `bytes` on `channel` to every peer but `except`.
    pub fn broadcast(&self, channel: u8, bytes: &[u8], except: Option<&str>) {
        broadcast(&self.shared, channel, bytes, except)
    }

    /// A handle that sends to the peers from another thread (the mempool's), for as long as
    /// the switch runs.
    pub fn outbound(&self) -> Outbound {
        Outbound(self.shared.clone())
    }

    /// Drop the connection to `peer` (it misbehaved); a persistent peer is dialled again.
    pub fn disconnect(&self, peer: &str) {
        disconnect(&self.shared, peer);
    }

    /// Drop `peer` and ban it for the peer exchange's ban time (it sent something false);
    /// without peer exchange, only drop it.
    pub fn ban(&self, peer: &str, reason: &str) {
        if let Some(p) = &self.shared.pex {
            lock(p).ban(peer, reason, Clock::now());
        }
        disconnect(&self.shared, peer);
    }

    /// Addresses in the address book (0 without peer exchange).
    pub fn book_size(&self) -> usize {
        self.shared.pex.as_ref().map_or(0, |p| lock(p).book().len())
    }
}

fn disconnect(shared: &Shared, peer: &str) {
    let removed = lock(&shared.peers).remove(peer);
    if let Some(c) = removed {
        closed(shared, peer, c);
    }
}

/// A connection this node ended (`c`, already out of the map): close it and say the peer
/// is gone. Its reader, finding it no longer in the map, says nothing more.
fn closed(shared: &Shared, peer: &str, c: Conn) {
    let _ = c.stream.shutdown(Shutdown::Both);
    if let Some(p) = &shared.pex {
        lock(p).peer_down(peer);
    }
    emit(shared, NetEvent::PeerDown(peer.to_string()));
}

/// Sends to the switch's peers from any thread (see [`Switch::outbound`]).
#[derive(Clone)]
pub struct Outbound(Arc<Shared>);

impl Outbound {
    /// Queue `bytes` on `channel` to every peer but `except`.
    pub fn broadcast(&self, channel: u8, bytes: &[u8], except: Option<&str>) {
        if !self.0.stop.load(Ordering::SeqCst) {
            broadcast(&self.0, channel, bytes, except)
        }
    }
}

/// Queue `bytes` on `channel` to `peer`; a peer whose queue is full is disconnected.
fn send(shared: &Shared, peer: &str, channel: u8, bytes: Vec<u8>) {
    let mut peers = lock(&shared.peers);
    let n = bytes.len() as u64;
    let full = match peers.get(peer) {
        Some(c) if c.queued.load(Ordering::SeqCst).saturating_add(n) > PEER_OUTBOUND_BYTES => true,
        Some(c) => {
            c.queued.fetch_add(n, Ordering::SeqCst);
            match c.queue.try_send(Out::Msg(channel, bytes)) {
                Err(TrySendError::Full(_)) => true,
                Err(TrySendError::Disconnected(_)) => false,
                Ok(()) => false,
            }
        }
        None => false,
    };
    if full {
        tracing::warn!(peer, "peer cannot keep up; disconnecting");
        let removed = peers.remove(peer);
        drop(peers);
        if let Some(c) = removed {
            closed(shared, peer, c);
        }
    }
}

/// Queue `bytes` on `channel` to every peer but `except`.
fn broadcast(shared: &Shared, channel: u8, bytes: &[u8], except: Option<&str>) {
    let peers: Vec<String> = lock(&shared.peers).keys().cloned().collect();
    for p in peers {
        if Some(p.as_str()) != except {
            send(shared, &p, channel, bytes.to_vec());
        }
    }
}

impl Drop for Switch {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        if let Some(p) = &self.shared.pex {
            if let Err(e) = lock(p).save() {
                tracing::warn!(error = %e, "cannot write the address book");
            }
        }
        for (_, c) in std::mem::take(&mut *lock(&self.shared.peers)) {
            let _ = c.stream.shutdown(Shutdown::Both);
        }
        // Wake the listener so it sees the stop flag.
        let _ = TcpStream::connect_timeout(&self.local_addr, Duration::from_millis(200));
    }
}

/// A poisoned lock means a thread panicked while holding it; the map is still consistent
/// (every update is a single insert or remove), so carry on with it.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn emit(s: &Shared, e: NetEvent) {
    (s.events)(e);
}

fn listen(s: Arc<Shared>, listener: TcpListener) {
    for stream in listener.incoming() {
        if s.stop.load(Ordering::SeqCst) {
            return;
        }
        let Ok(stream) = stream else { continue };
        // CometBFT's `max_num_inbound_peers`: peers that dialled us; the ones we dial (the
        // persistent peers) do not take these places.
        // With unconditional peers the id decides, after the handshake.
        let inbound = lock(&s.peers).values().filter(|c| !c.outbound).count();
        if inbound >= s.cfg.max_inbound && s.cfg.unconditional.is_empty() {
            let _ = stream.shutdown(Shutdown::Both);
            continue;
        }
        // Handshakes cost a key exchange and a thread each; a flood of half-open ones must
        // not hold them all.
        let Some(slot) = HandshakeSlot::take(&s) else {
            tracing::debug!("too many inbound handshakes in progress; closing a connection");
            let _ = stream.shutdown(Shutdown::Both);
            continue;
        };
        let s = s.clone();
        let _ = std::thread::Builder::new()
            .name("p2p-inbound".into())
            .spawn(move || {
                let remote = stream.peer_addr().ok();
                if let Err(e) = handshake(&s, stream, None, Some(slot)) {
                    tracing::debug!(?remote, error = %e, "inbound peer refused");
                }
            });
    }
}

/// One of the [`MAX_HANDSHAKES`] inbound handshakes in progress, given back when dropped.
struct HandshakeSlot(Arc<Shared>);

impl HandshakeSlot {
    fn take(s: &Arc<Shared>) -> Option<HandshakeSlot> {
        let before = s.handshakes.fetch_add(1, Ordering::SeqCst);
        let slot = HandshakeSlot(s.clone());
        (before < MAX_HANDSHAKES).then_some(slot)
    }
}

impl Drop for HandshakeSlot {
    fn drop(&mut self) {
        self.0.handshakes.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Authenticate a connection, register it, and read from it until it ends. `expect` is the
/// id a dialled peer must have; `slot`, an inbound handshake's place, is given back once the
/// handshake is over.
fn handshake(
    s: &Arc<Shared>,
    stream: TcpStream,
    expect: Option<&str>,
    slot: Option<HandshakeSlot>,
) -> Result<(), Refusal> {
    let control = stream
        .try_clone()
        .map_err(|e| Refusal::Unreachable(e.to_string()))?;
    let remote = stream.peer_addr().ok();
    let peer = keystone_p2p::connect(stream, &s.cfg.key, &s.cfg.info, &s.cfg.connect)
        .map_err(|e| Refusal::Unreachable(e.to_string()))?;
    drop(slot);
    let id = peer.info.node_id.to_string();
    if id == s.my_id {
        return Err(Refusal::WrongPeer("connected to myself".into()));
    }
    if let Some(want) = expect {
        if want != id {
            return Err(Refusal::WrongPeer(format!(
                "dialled {want} but the peer is {id}"
            )));
        }
    }
    if let Some(p) = &s.pex {
        if !lock(p).admits(&id, Clock::now()) {
            return Err(Refusal::NotKept(format!("{id} is banned")));
        }
    }
    let unconditional = s.cfg.unconditional.contains(&id);
    let dialer = if expect.is_some() {
        s.my_id.clone()
    } else {
        id.clone()
    };
    let listen = listen_addr(&peer.info.listen_addr, remote);
    let (queue, outbox) = mpsc::sync_channel(QUEUE);
    let queued = Arc::new(AtomicU64::new(0));
    let serial = s.serial.fetch_add(1, Ordering::SeqCst);
    let traffic = Arc::new(Traffic::default());
    {
        let mut peers = lock(&s.peers);
        if expect.is_none() && !unconditional {
            let inbound = peers.values().filter(|c| !c.outbound).count();
            if inbound >= s.cfg.max_inbound {
                return Err(Refusal::NotKept("too many inbound peers".into()));
            }
        }
        if let Some(old) = peers.get(&id) {
            // Keep the connection dialled by the smaller id; between two of the same
            // direction, the newer (the older one is probably dead).
            let keep_old = old.dialer != dialer && old.dialer < dialer;
            if keep_old {
                return Err(Refusal::NotKept("already connected".into()));
            }
            if let Some(old) = peers.remove(&id) {
                let _ = old.stream.shutdown(Shutdown::Both);
            }
        }
        peers.insert(
            id.clone(),
            Conn {
                queue: queue.clone(),
                queued: queued.clone(),
                stream: control
                    .try_clone()
                    .map_err(|e| Refusal::Unreachable(e.to_string()))?,
                dialer,
                serial,
                info: peer.info.clone(),
                outbound: expect.is_some(),
                remote,
                since: std::time::SystemTime::now(),
                traffic: traffic.clone(),
            },
        );
    }
    tracing::info!(peer = %id, "peer connected");
    emit(s, NetEvent::PeerUp(id.clone()));
    if let Some(p) = &s.pex {
        let actions = lock(p).peer_up(&id, listen, expect.is_some(), Clock::now());
        act(s, actions);
    }
    let mut writer = peer.writer;
    let sent = traffic.clone();
    let closer = control
        .try_clone()
        .map_err(|e| Refusal::Unreachable(e.to_string()))?;
    let writer_thread = std::thread::Builder::new()
        .name("p2p-write".into())
        .spawn(move || {
            // Pings keep an idle connection known to be alive; a dead one fails its write.
            while let Ok(out) = outbox
                .recv_timeout(Duration::from_secs(10))
                .or_else(|e| match e {
                    mpsc::RecvTimeoutError::Timeout => Ok(Out::Ping),
                    mpsc::RecvTimeoutError::Disconnected => Err(()),
                })
            {
                let r = match out {
                    Out::Ping => writer.send_ping(),
                    Out::Msg(ch, b) => {
                        sent.sent[usize::from(ch)].fetch_add(b.len() as u64, Ordering::Relaxed);
                        let r = writer.send(ch, &b);
                        queued.fetch_sub(b.len() as u64, Ordering::SeqCst);
                        r
                    }
                    Out::Pong => writer.send_pong(),
                    Out::Close => {
                        let _ = closer.shutdown(Shutdown::Both);
                        break;
                    }
                };
                if r.is_err() {
                    break;
                }
            }
        })
        .map_err(|e| Refusal::Unreachable(e.to_string()))?;
    let mut reader = peer.reader;
    let budget = Arc::new(Budget::default());
    let result = loop {
        match reader.read() {
            Ok(Incoming::Msg { channel, bytes }) => {
                traffic.received[usize::from(channel)]
                    .fetch_add(bytes.len() as u64, Ordering::Relaxed);
                if let Some(service) = s.cfg.services.get(&channel) {
                    match service(&id, &bytes) {
                        Ok(Some(replies)) => {
                            for (ch, b) in replies {
                                send(s, &id, ch, b);
                            }
                            continue;
                        }
                        Ok(None) => {}
                        Err(e) => {
                            tracing::warn!(peer = %id, channel, error = %e, "disconnecting");
                            break keystone_p2p::P2pError::Io(std::io::Error::other(e));
                        }
                    }
                }
                if channel == PEX_CHANNEL {
                    if let Some(p) = &s.pex {
                        // Answered here, on the peer's own thread: never the node's.
                        let actions = lock(p).receive(&id, &bytes, Clock::now());
                        act(s, actions);
                        continue;
                    }
                }
                // Not another byte read from this peer until the node has room for it.
                let Some(ticket) = budget.take(bytes.len() as u64, PEER_INBOUND_BYTES, SLOW_FOR)
                else {
                    tracing::warn!(peer = %id, "peer sends faster than this node processes; disconnecting");
                    break keystone_p2p::P2pError::Io(std::io::Error::other(
                        "the peer sent faster than this node processes",
                    ));
                };
                emit(
                    s,
                    NetEvent::Message {
                        peer: id.clone(),
                        channel,
                        bytes,
                        ticket,
                    },
                )
            }
            Ok(Incoming::Ping) => {
                let _ = queue.try_send(Out::Pong);
            }
            Ok(Incoming::Pong) => {}
            Err(e) => break e,
        }
    };
    drop(queue);
    let removed = {
        let mut peers = lock(&s.peers);
        match peers.get(&id) {
            Some(c) if c.serial == serial => peers.remove(&id).is_some(),
            _ => false,
        }
    };
    let _ = control.shutdown(Shutdown::Both);
    let _ = writer_thread.join();
    if removed {
        tracing::info!(peer = %id, error = %result, "peer disconnected");
        if let Some(p) = &s.pex {
            lock(p).peer_down(&id);
        }
        emit(s, NetEvent::PeerDown(id));
    }
    Ok(())
}

/// Where a peer listens: its node info's listen address (`tcp://ip:port`), with the
/// connection's IP when it names an unspecified one (`0.0.0.0`). `None` for a host name.
fn listen_addr(reported: &str, remote: Option<SocketAddr>) -> Option<SocketAddr> {
    let bare = reported.split_once("://").map_or(reported, |(_, a)| a);
    let addr: SocketAddr = bare.parse().ok()?;
    if addr.port() == 0 {
        return None;
    }
    if addr.ip().is_unspecified() {
        return remote.map(|r| SocketAddr::new(r.ip(), addr.port()));
    }
    Some(addr)
}
