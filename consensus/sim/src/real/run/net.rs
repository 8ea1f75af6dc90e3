//! The virtual network as the nodes see it: who is whose peer, and each node's `Network`,
//! which hands what it sends to the simulator to deliver.

use super::*;

/// Up to this many validators every node is every other's peer.
pub(super) const FULL_MESH: usize = 10;

/// Beyond, each node's neighbours on a ring on either side, and random chords it dials.
pub(super) const RING: usize = 2;

pub(super) const CHORDS: usize = 4;

/// Who is whose peer (symmetric).
pub(super) fn topology(n: usize, rng: &mut ChaCha8Rng) -> Vec<BTreeSet<usize>> {
    let mut t = vec![BTreeSet::new(); n];
    let link = |t: &mut Vec<BTreeSet<usize>>, a: usize, b: usize| {
        if a != b {
            t[a].insert(b);
            t[b].insert(a);
        }
    };
    for i in 0..n {
        if n <= FULL_MESH {
            for j in 0..n {
                link(&mut t, i, j);
            }
            continue;
        }
        for d in 1..=RING {
            link(&mut t, i, (i + d) % n);
        }
        for _ in 0..CHORDS {
            link(&mut t, i, (rng.next_u64() % n as u64) as usize);
        }
    }
    t
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Peer {
    Node(usize),
    Hostile(usize),
}

impl Peer {
    pub(super) fn id(self) -> String {
        match self {
            Peer::Node(i) => format!("n{i}"),
            Peer::Hostile(i) => format!("h{i}"),
        }
    }

    pub(super) fn parse(id: &str) -> Option<Peer> {
        let n = id.get(1..)?.parse().ok()?;
        match id.as_bytes().first()? {
            b'n' => Some(Peer::Node(n)),
            b'h' => Some(Peer::Hostile(n)),
            _ => None,
        }
    }
}

/// What the nodes' networks hand the simulator.
#[derive(Default)]
pub(super) struct Wires {
    /// Who each node is connected to.
    pub(super) links: BTreeMap<usize, BTreeSet<Peer>>,
    /// Sent and not yet routed: (from, to, channel, bytes).
    pub(super) out: Vec<(usize, Peer, u8, Vec<u8>)>,
    /// Disconnections a node asked for.
    pub(super) cut: Vec<(usize, Peer)>,
}

/// One node's [`Network`].
pub(super) struct SimNet {
    pub(super) me: usize,
    pub(super) wires: Rc<RefCell<Wires>>,
}

impl Network for SimNet {
    fn peers(&self) -> Vec<String> {
        let w = self.wires.borrow();
        w.links
            .get(&self.me)
            .map(|l| l.iter().map(|p| p.id()).collect())
            .unwrap_or_default()
    }

    fn send(&self, peer: &str, channel: u8, bytes: Vec<u8>) {
        let Some(p) = Peer::parse(peer) else { return };
        let mut w = self.wires.borrow_mut();
        if w.links.get(&self.me).is_some_and(|l| l.contains(&p)) {
            w.out.push((self.me, p, channel, bytes));
        }
    }

    fn disconnect(&self, peer: &str) {
        if let Some(p) = Peer::parse(peer) {
            self.wires.borrow_mut().cut.push((self.me, p));
        }
    }
}
