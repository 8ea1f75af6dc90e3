//! Hostile peers: not validators, connected to every node, hearing what the nodes gossip and
//! sending what their kind says every `HOSTILE_EVERY_MS`.

use super::*;
use crate::real::Hostile;

/// How often a hostile peer acts.
pub(super) const HOSTILE_EVERY_MS: u64 = 100;

impl Sim<'_> {
    /// One hostile peer's turn.
    pub(super) fn hostile(&mut self, h: usize) -> Result<(), NodeViolation> {
        let kind = self.sc.hostile[h];
        let targets: Vec<usize> = {
            let w = self.wires.borrow();
            w.links
                .iter()
                .filter(|(_, l)| l.contains(&Peer::Hostile(h)))
                .map(|(i, _)| *i)
                .collect()
        };
        for i in targets {
            let msgs = self.hostile_messages(kind, i);
            for (channel, bytes) in msgs {
                self.report.hostile_sent += 1;
                self.transmit(Peer::Hostile(h), i, channel, bytes);
            }
        }
        Ok(())
    }

    pub(super) fn hostile_messages(&mut self, kind: Hostile, i: usize) -> Vec<(u8, Vec<u8>)> {
        let height = self.slots[i]
            .node
            .as_ref()
            .and_then(|n| n.engine().current_height())
            .unwrap_or(1);
        let pick = |sim: &mut Sim| -> Option<(u8, Vec<u8>)> {
            if sim.overheard.is_empty() {
                return None;
            }
            let k = (sim.rng.next_u64() % sim.overheard.len() as u64) as usize;
            Some(sim.overheard[k].clone())
        };
        let votes = |sim: &mut Sim, n: usize| -> Vec<keystone_consensus_types::Vote> {
            (0..n)
                .filter_map(|_| pick(sim))
                .filter_map(|(c, b)| match reactor::decode(c, &b) {
                    Ok(Wire::Gossip(Gossip::Vote(v))) => Some(v),
                    _ => None,
                })
                .collect()
        };
        let vote_msg =
            |v: keystone_consensus_types::Vote| reactor::encode(&Wire::Gossip(Gossip::Vote(v)));
        match kind {
            Hostile::TxFlood => {
                let txs = (0..64)
                    .map(|_| {
                        self.hostile_seq += 1;
                        let mut tx = format!("flood{}=", self.hostile_seq).into_bytes();
                        tx.resize(200, b'x');
                        tx
                    })
                    .collect();
                vec![reactor::encode(&Wire::Txs(txs))]
            }
            Hostile::Replay => (0..16).filter_map(|_| pick(self)).collect(),
            Hostile::Retimestamp => votes(self, 16)
                .into_iter()
                .map(|mut v| {
                    v.timestamp = v.timestamp.plus_millis(1);
                    vote_msg(v)
                })
                .collect(),
            Hostile::Resigned => {
                let Some(&b) = self.sc.double_signers.first() else {
                    return (0..16).filter_map(|_| pick(self)).collect();
                };
                let key = self.slots[b].key.clone();
                let me = key.public_key().address();
                votes(self, 32)
                    .into_iter()
                    .filter(|v| v.validator_address == me)
                    .map(|mut v| {
                        v.timestamp = v.timestamp.plus_millis(1 + self.rng.next_u64() % 1_000);
                        v.sign(CHAIN_ID, &key);
                        vote_msg(v)
                    })
                    .collect()
            }
            Hostile::FarFuture => votes(self, 16)
                .into_iter()
                .map(|mut v| {
                    v.height = height + 1 + self.rng.next_u64() % 3 * 1_000;
                    vote_msg(v)
                })
                .collect(),
            Hostile::SyncLies => {
                let mut m = vec![reactor::encode(&Wire::Status {
                    height: 1_000_000,
                    base: 1,
                })];
                for _ in 0..16 {
                    m.push(reactor::encode(&Wire::BlockRequest(
                        1 + self.rng.next_u64() % height.max(1),
                    )));
                }
                m
            }
            Hostile::Garbage => {
                let mut b = vec![0u8; 1 + (self.rng.next_u64() % 300) as usize];
                self.rng.fill_bytes(&mut b);
                let channels = reactor::channels(1 << 20);
                let c = channels[(self.rng.next_u64() % channels.len() as u64) as usize].0;
                vec![(c, b)]
            }
        }
    }
}
