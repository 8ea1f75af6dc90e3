//! The node on the wall clock: one thread runs the [`Node`]; requests and peers reach it as
//! [`Event`]s on one channel, so it never runs two things at once and needs no locks.

use super::{Inbound, Network, Node, NodeError, Now, Request};
use crate::engine::Engine;
use crate::switch::NetEvent;
use keystone_consensus_types::{Height, Time};
use keystone_proto::Application;
use std::ops::RangeInclusive;
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// What wakes the node.
pub enum Event {
    /// A client request (RPC, REST).
    Rpc(Request),
    /// Something from the network.
    Net(NetEvent),
    /// Stop at this step boundary (SIGTERM, SIGINT): the WAL is made durable and [`run`]
    /// returns; dropping the node then closes its peers' sockets and the mempool's thread.
    Shutdown,
}

/// The wall-clock time now.
pub fn wall_clock() -> Time {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    // Sub-second nanos are always below 1e9.
    Time::new(d.as_secs() as i64, d.subsec_nanos()).unwrap_or(Time::UNIX_EPOCH)
}

fn now() -> Now {
    Now {
        instant: Instant::now(),
        time: wall_clock(),
    }
}

/// When to stop: after committing a height, or the first block at or past a time (the
/// SDK's `halt-height` and `halt-time`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Halt {
    /// Stop once this height is committed.
    pub height: Option<Height>,
    /// Stop once a block whose time is at or past this many seconds since the Unix epoch is
    /// committed.
    pub time: Option<i64>,
}

/// Run `node` on the wall clock until it fails or, with `stop_at`, has committed that height.
/// `publish` hears of every height committed since it was last called (subscribers,
/// `broadcast_tx_commit`).
pub fn run<A: Application, N: Network>(
    node: Node<A, N>,
    events: mpsc::Receiver<Event>,
    stop_at: Option<Height>,
    publish: impl FnMut(&Engine<A>, RangeInclusive<Height>, Duration),
) -> Result<(), NodeError> {
    run_until(
        node,
        events,
        Halt {
            height: stop_at,
            time: None,
        },
        publish,
    )
}

/// [`run`], stopping as `halt` says.
pub fn run_until<A: Application, N: Network>(
    mut node: Node<A, N>,
    events: mpsc::Receiver<Event>,
    halt: Halt,
    mut publish: impl FnMut(&Engine<A>, RangeInclusive<Height>, Duration),
) -> Result<(), NodeError> {
    let mut published = node.engine().blocks().height().unwrap_or(0);
    node.start(now())?;
    // CheckTx and rechecks beside consensus from here on (stopped when this returns).
    let _mempool = node.start_mempool()?;
    // Events handled since the last timer ran.
    let mut since_timer = 0usize;
    // The height whose block time was last compared with `halt.time` (read once per height).
    let mut time_checked = 0;
    loop {
        let last = node.engine().last_height().unwrap_or(0);
        if halt.height.is_some_and(|h| last >= h) {
            node.shutdown()?;
            return Ok(());
        }
        if let Some(t) = halt.time {
            if last > time_checked {
                time_checked = last;
                if node.engine().last_block_time()?.seconds() >= t {
                    tracing::info!(height = last, halt_time = t, "halt time reached");
                    node.shutdown()?;
                    return Ok(());
                }
            }
        }
        let deadline = node.next_deadline().ok_or(NodeError::Idle)?;
        // Answer requests and peers until the next deadline. Once a timer is due, timers and
        // events take turns: up to `FAIR_SHARE` events already waiting, then the timer. Under
        // a steady stream of requests and gossip a timer that waited for a quiet moment would
        // never fire (consensus would stall); with `timeout_commit = 0` a timer is always due,
        // and requests that waited for no timer to be due would never be answered.
        let wait = deadline.saturating_duration_since(Instant::now());
        let event = if !wait.is_zero() {
            // Before waiting, gossip what clients submitted (batched while events queued).
            let next = events.try_recv().or_else(|_| {
                node.flush_txs();
                events.recv_timeout(wait)
            });
            match next {
                Ok(ev) => Some(ev),
                Err(mpsc::RecvTimeoutError::Timeout) => None,
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    std::thread::sleep(wait);
                    None
                }
            }
        } else if since_timer < FAIR_SHARE {
            events.try_recv().ok()
        } else {
            None
        };
        // How long the step that commits takes (metrics' block processing time).
        let began = Instant::now();
        match event {
            // A client request commits nothing: nothing to publish after it.
            Some(Event::Rpc(req)) => {
                since_timer += 1;
                node.answer(req);
                continue;
            }
            Some(Event::Net(ev)) => {
                since_timer += 1;
                on_net(&mut node, ev)?;
            }
            Some(Event::Shutdown) => {
                node.shutdown()?;
                tracing::info!(height = node.engine().last_height().unwrap_or(0), "stopped");
                return Ok(());
            }
            None => {
                since_timer = 0;
                node.on_due(now())?;
            }
        }
        publish_new(&node, &mut published, &mut publish, began.elapsed());
    }
}

/// Events handled between two due timers at most.
const FAIR_SHARE: usize = 64;

/// One network event.
fn on_net<A: Application, N: Network>(
    node: &mut Node<A, N>,
    ev: NetEvent,
) -> Result<(), NodeError> {
    // A message's ticket is held until it is processed: then the peer may send more.
    let (inbound, _ticket) = match ev {
        NetEvent::PeerUp(p) => (Inbound::PeerUp(p), None),
        NetEvent::PeerDown(p) => (Inbound::PeerDown(p), None),
        NetEvent::Message {
            peer,
            channel,
            bytes,
            ticket,
        } => (
            Inbound::Message {
                peer,
                channel,
                bytes,
            },
            Some(ticket),
        ),
    };
    node.on_net(inbound, now())
}

/// Hand `publish` the heights committed since the last call, and how long the step that
/// committed them took.
fn publish_new<A: Application, N: Network>(
    node: &Node<A, N>,
    published: &mut Height,
    publish: &mut impl FnMut(&Engine<A>, RangeInclusive<Height>, Duration),
    took: Duration,
) {
    let height = node.engine().blocks().height().unwrap_or(0);
    if height > *published {
        publish(node.engine(), *published + 1..=height, took);
        *published = height;
    }
}
