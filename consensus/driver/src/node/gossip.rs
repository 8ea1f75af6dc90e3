//! Sending to peers, and the "peer has it" bookkeeping that keeps a consensus message from
//! going to a peer twice in a height.

use super::{Network, Node};
use crate::reactor::{self, Wire};
use keystone_proto::Application;
use std::collections::BTreeMap;

/// Identifies a message for the "peer has it" bookkeeping.
pub(super) fn message_key(channel: u8, bytes: &[u8]) -> [u8; 32] {
    let mut v = Vec::with_capacity(bytes.len() + 1);
    v.push(channel);
    v.extend_from_slice(bytes);
    keystone_consensus_types::sha256(&v).0
}

impl<A: Application, N: Network> Node<A, N> {
    /// Remember that `peer` has the message `key` at the current height; `false` if it was
    /// known already. The bookkeeping starts afresh when the height moves on.
    pub(super) fn mark_known(&mut self, peer: &str, key: [u8; 32]) -> bool {
        let height = self.engine.current_height().unwrap_or(0);
        if height != self.known.0 {
            self.known = (height, BTreeMap::new());
        }
        self.known
            .1
            .entry(peer.to_string())
            .or_default()
            .insert(key)
    }

    /// Send a consensus message to every peer not known to have it (it sent it to us, or we
    /// sent it before, at this height), and remember that they now do.
    pub(super) fn gossip(&mut self, channel: u8, bytes: &[u8], from: Option<&str>) {
        let Some(peers) = self.net.as_ref().map(Network::peers) else {
            return;
        };
        let key = message_key(channel, bytes);
        if let Some(p) = from {
            self.mark_known(p, key);
        }
        for p in peers {
            if self.mark_known(&p, key) {
                self.send_raw(&p, channel, bytes.to_vec());
            }
        }
    }

    pub(super) fn send_raw(&self, peer: &str, channel: u8, bytes: Vec<u8>) {
        if let Some(net) = &self.net {
            net.send(peer, channel, bytes);
        }
    }

    pub(super) fn broadcast(&self, w: &Wire, except: Option<&str>) {
        if let Some(net) = &self.net {
            let (ch, bytes) = reactor::encode(w);
            net.broadcast(ch, &bytes, except);
        }
    }

    pub(super) fn send(&self, peer: &str, w: &Wire) {
        let (ch, bytes) = reactor::encode(w);
        self.send_raw(peer, ch, bytes);
    }
}
