//! Block sync's bookkeeping: which peer has which heights, which blocks are asked for from
//! whom, and which have arrived — a pure state machine; the node sends and receives.
//!
//! A node behind its peers asks for the next `WINDOW` heights at once, spread over every peer
//! that has them (so a download runs from several peers in parallel), takes responses in any
//! order, and hands them to the engine strictly in height order; the engine verifies each
//! block's commit against that height's validators before applying it. A request unanswered
//! within `TIMEOUT` is asked of another peer. The same path brings a node that is one height
//! behind (it missed the last votes) up to date.

use keystone_consensus_types::{Block, Commit, Height};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// Heights requested ahead of the next one to apply.
pub const WINDOW: u64 = 32;
/// How long a peer has to answer a request.
pub const TIMEOUT: Duration = Duration::from_secs(5);
/// How long a peer that let a request time out is asked nothing while another peer has the
/// height: a peer that claims heights it never serves (or lost the request) must not hold
/// the node back.
pub const AVOID_FOR: Duration = Duration::from_secs(30);

/// A block that arrived, waiting for its turn.
pub struct Arrived {
    /// Who sent it (blamed if it does not verify).
    pub peer: String,
    /// The block.
    pub block: Block,
    /// Its commit.
    pub commit: Commit,
}

/// Block sync's state.
#[derive(Default)]
pub struct BlockSync {
    /// Each peer's (base, height).
    peers: BTreeMap<String, (Height, Height)>,
    /// Outstanding requests: height → (peer, when asked).
    requested: BTreeMap<Height, (String, Instant)>,
    /// Responses not yet applied.
    arrived: BTreeMap<Height, Arrived>,
    /// Round-robin cursor over peers.
    next_peer: usize,
    /// Peers that let a request time out, and when.
    avoid: BTreeMap<String, Instant>,
}

impl BlockSync {
    /// A peer said it has `base..=height`.
    pub fn on_status(&mut self, peer: &str, base: Height, height: Height) {
        self.peers.insert(peer.to_string(), (base, height));
    }

    /// A peer went away: forget it and what it was asked.
    pub fn on_peer_down(&mut self, peer: &str) {
        self.peers.remove(peer);
        self.avoid.remove(peer);
        self.requested.retain(|_, (p, _)| p != peer);
    }

    /// The highest height any peer has.
    pub fn target(&self) -> Height {
        self.peers.values().map(|(_, h)| *h).max().unwrap_or(0)
    }

    /// What to ask whom, given that `last` is our last committed height.
    pub fn requests(&mut self, last: Height, now: Instant) -> Vec<(String, Height)> {
        self.arrived.retain(|h, _| *h > last);
        let avoid = &mut self.avoid;
        self.requested.retain(|h, (peer, at)| {
            let late = now.saturating_duration_since(*at) >= TIMEOUT;
            if late && *h > last {
                avoid.insert(peer.clone(), now);
            }
            *h > last && !late
        });
        avoid.retain(|_, at| now.saturating_duration_since(*at) < AVOID_FOR);
        let mut out = Vec::new();
        for h in last + 1..=last + WINDOW {
            if self.requested.contains_key(&h) || self.arrived.contains_key(&h) {
                continue;
            }
            let all: Vec<&String> = self
                .peers
                .iter()
                .filter(|(_, (base, top))| *base <= h && h <= *top)
                .map(|(p, _)| p)
                .collect();
            let trusted: Vec<&String> = all
                .iter()
                .copied()
                .filter(|p| !self.avoid.contains_key(*p))
                .collect();
            let holders = if trusted.is_empty() { all } else { trusted };
            if holders.is_empty() {
                break;
            }
            let peer = holders[self.next_peer % holders.len()].clone();
            self.next_peer = self.next_peer.wrapping_add(1);
            self.requested.insert(h, (peer.clone(), now));
            out.push((peer, h));
        }
        out
    }

    /// A block arrived from `peer`. Kept only if it was asked of that peer.
    pub fn on_block(&mut self, peer: &str, block: Block, commit: Commit) -> bool {
        let h = block.header.height;
        match self.requested.get(&h) {
            Some((p, _)) if p == peer => {
                self.requested.remove(&h);
                self.arrived.insert(
                    h,
                    Arrived {
                        peer: peer.to_string(),
                        block,
                        commit,
                    },
                );
                true
            }
            _ => false,
        }
    }

    /// `peer` says it lacks `height`: ask someone else next time.
    pub fn on_no_block(&mut self, peer: &str, height: Height) {
        if self.requested.get(&height).is_some_and(|(p, _)| p == peer) {
            self.requested.remove(&height);
        }
    }

    /// The block to apply next, if it has arrived (`last` is our last committed height).
    pub fn next(&mut self, last: Height) -> Option<Arrived> {
        self.arrived.retain(|h, _| *h > last);
        self.arrived.remove(&(last + 1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use keystone_consensus_types::{BlockId, Data, HashedParams, Header, Time, Version};

    fn block(h: Height) -> Block {
        Block {
            header: Header {
                version: Version { block: 11, app: 0 },
                chain_id: "c".into(),
                height: h,
                time: Time::from_unix_millis(0),
                last_block_id: None,
                last_commit_hash: Default::default(),
                data_hash: Default::default(),
                validators_hash: Default::default(),
                next_validators_hash: Default::default(),
                consensus_hash: HashedParams::default().hash(),
                app_hash: vec![],
                last_results_hash: Default::default(),
                evidence_hash: Default::default(),
                proposer_address: Default::default(),
            },
            data: Data { txs: vec![] },
            evidence: vec![],
            last_commit: None,
        }
    }

    fn commit(h: Height) -> Commit {
        Commit {
            height: h,
            round: 0,
            block_id: BlockId {
                hash: Default::default(),
                part_set_header: Default::default(),
            },
            signatures: vec![],
        }
    }

    #[test]
    fn requests_spread_over_peers_and_apply_in_order() {
        let mut s = BlockSync::default();
        let t0 = Instant::now();
        assert!(s.requests(0, t0).is_empty(), "no peers, nothing to ask");
        s.on_status("a", 1, 100);
        s.on_status("b", 1, 5);
        let asked = s.requests(0, t0);
        assert_eq!(asked.len() as u64, WINDOW);
        assert!(asked.iter().any(|(p, _)| p == "a") && asked.iter().any(|(p, _)| p == "b"));
        assert!(
            asked.iter().all(|(p, h)| p == "a" || *h <= 5),
            "b is only asked what it has"
        );
        assert!(s.requests(0, t0).is_empty(), "not asked twice");
        // Out of order arrival; only the asked peer's answer counts.
        let (p2, _) = asked
            .iter()
            .find(|(_, h)| *h == 2)
            .cloned()
            .expect("2 asked");
        let (p1, _) = asked
            .iter()
            .find(|(_, h)| *h == 1)
            .cloned()
            .expect("1 asked");
        let other = if p1 == "a" { "b" } else { "a" };
        assert!(
            !s.on_block(other, block(1), commit(1)),
            "not asked of that peer"
        );
        assert!(s.on_block(&p2, block(2), commit(2)));
        assert!(s.next(0).is_none(), "2 waits for 1");
        assert!(s.on_block(&p1, block(1), commit(1)));
        assert_eq!(s.next(0).map(|a| a.block.header.height), Some(1));
        assert_eq!(s.next(1).map(|a| a.block.header.height), Some(2));
        assert_eq!(s.target(), 100);
    }

    #[test]
    fn unanswered_requests_go_to_another_peer() {
        let mut s = BlockSync::default();
        let t0 = Instant::now();
        s.on_status("a", 1, 3);
        s.on_status("b", 1, 3);
        let first = s.requests(0, t0);
        assert_eq!(first.len(), 3);
        let who = first[0].0.clone();
        s.on_peer_down(&who);
        let again = s.requests(0, t0);
        assert!(!again.is_empty() && again.iter().all(|(p, _)| *p != who));
        // Timeouts re-ask too.
        let later = t0 + TIMEOUT + Duration::from_millis(1);
        assert_eq!(s.requests(0, later).len(), 3);
        s.on_no_block("b", 1);
        assert_eq!(s.requests(0, later).len(), 1);
    }

    #[test]
    fn a_peer_that_claims_heights_it_never_serves_is_passed_over() {
        let mut s = BlockSync::default();
        let t0 = Instant::now();
        // The liar claims everything; the honest peer has height 1 only.
        s.on_status("a-liar", 1, 1_000_000);
        s.on_status("b-honest", 1, 1);
        let mut now = t0;
        let mut asked_honest = false;
        for _ in 0..4 {
            for (p, h) in s.requests(0, now) {
                if h == 1 && p == "b-honest" {
                    asked_honest = true;
                }
            }
            if asked_honest {
                break;
            }
            now += TIMEOUT + Duration::from_millis(1);
        }
        assert!(asked_honest, "height 1 asked of the peer that has it");
    }
}
