//! Dialling: the persistent peers' redial loops, one-shot dials of the addresses the peer
//! exchange asks for, and the reactor's clock and actions.

use super::{disconnect, handshake, lock, send, Out, PersistentPeer, Shared};
use crate::pex::{Action, Clock, DialFailure, PEX_CHANNEL};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

/// Connect to `addr`, prove it is `id`, and run the connection until it ends.
pub(super) fn dial(s: &Arc<Shared>, id: &str, addr: &str) -> Result<(), Refusal> {
    let resolved = addr.to_socket_addrs().ok().and_then(|mut a| a.next());
    let Some(sock) = resolved else {
        return Err(Refusal::Unreachable(format!("cannot resolve {addr}")));
    };
    let stream = TcpStream::connect_timeout(&sock, Duration::from_secs(3))
        .map_err(|e| Refusal::Unreachable(e.to_string()))?;
    handshake(s, stream, Some(id), None)
}

/// Why a connection was not made or not kept.
#[derive(Debug)]
pub(super) enum Refusal {
    /// No connection, or the handshake broke off.
    Unreachable(String),
    /// The node there is another than the one dialled.
    WrongPeer(String),
    /// Connected, but not kept: already connected, banned, over a limit.
    NotKept(String),
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::Unreachable(e) | Refusal::WrongPeer(e) | Refusal::NotKept(e) => f.write_str(e),
        }
    }
}

/// The peer-exchange reactor's clock: a tick a second, and what it asks done.
pub(super) fn pex_loop(s: Arc<Shared>) {
    while !s.stop.load(Ordering::SeqCst) {
        let actions = match &s.pex {
            Some(p) => lock(p).tick(Clock::now()),
            None => return,
        };
        act(&s, actions);
        std::thread::sleep(Duration::from_secs(1));
    }
}

/// Carry out what the reactor asked.
pub(super) fn act(s: &Arc<Shared>, actions: Vec<Action>) {
    for a in actions {
        match a {
            Action::Send { peer, bytes } => send(s, &peer, PEX_CHANNEL, bytes),
            Action::SendAndClose { peer, bytes } => {
                send(s, &peer, PEX_CHANNEL, bytes);
                if let Some(c) = lock(&s.peers).get(&peer) {
                    let _ = c.queue.try_send(Out::Close);
                }
            }
            Action::Disconnect { peer, reason } => {
                tracing::debug!(%peer, %reason, "disconnecting");
                disconnect(s, &peer);
            }
            Action::Dial(d) => {
                let s2 = s.clone();
                let id = d.id.clone();
                let spawned = std::thread::Builder::new()
                    .name("p2p-dial".into())
                    .spawn(move || {
                        let why = match dial(&s2, &d.id, &d.addr) {
                            Ok(()) => return,
                            Err(Refusal::Unreachable(e)) => {
                                tracing::debug!(peer = %d.id, addr = %d.addr, error = %e, "dial failed");
                                DialFailure::Unreachable
                            }
                            Err(Refusal::WrongPeer(e)) => {
                                tracing::info!(addr = %d.addr, error = %e, "dialled the wrong node");
                                DialFailure::WrongIdentity
                            }
                            Err(Refusal::NotKept(_)) => DialFailure::NotKept,
                        };
                        if let Some(p) = &s2.pex {
                            let more = lock(p).dial_failed(&d.id, why, Clock::now());
                            act(&s2, more);
                        }
                    });
                if let Err(e) = spawned {
                    tracing::warn!(error = %e, "cannot start a dial");
                    // The reactor counts it as dialling until it hears how the dial ended.
                    if let Some(p) = &s.pex {
                        let more = lock(p).dial_failed(&id, DialFailure::NotKept, Clock::now());
                        act(s, more);
                    }
                }
            }
        }
    }
}

pub(super) fn dial_loop(s: Arc<Shared>, peer: PersistentPeer) {
    let mut backoff = Duration::from_millis(500);
    while !s.stop.load(Ordering::SeqCst) {
        if lock(&s.peers).contains_key(&peer.id) {
            std::thread::sleep(Duration::from_millis(500));
            continue;
        }
        match dial(&s, &peer.id, &peer.addr) {
            // The connection ran and ended: try again soon.
            Ok(()) => backoff = Duration::from_millis(500),
            Err(e) => {
                tracing::debug!(peer = %peer.id, addr = %peer.addr, error = %e, "dial failed");
                std::thread::sleep(backoff);
                backoff = (backoff * 2).min(Duration::from_secs(10));
            }
        }
    }
}
