//! The checks after every event: what an honest node signed (never two things for one step,
//! across restarts), and what each node holds (agreement, app hashes, validity, signer
//! refusals, the bounds of its peer-fed queues).

use super::*;

impl Sim<'_> {
    /// Whether `p`, sent by node `from`, was signed by that node.
    fn own_proposal(&mut self, from: usize, p: &keystone_consensus_types::Proposal) -> bool {
        let Some(sig) = p.signature else {
            return false;
        };
        *self
            .proposal_signers
            .entry((from, sig.0))
            .or_insert_with(|| {
                p.verify(CHAIN_ID, &self.slots[from].key.public_key())
                    .is_ok()
            })
    }

    /// What node `from` signed and sent: an honest node must never sign two different
    /// things for one step, whatever crashes it went through.
    pub(super) fn observe(
        &mut self,
        from: usize,
        channel: u8,
        bytes: &[u8],
    ) -> Result<(), NodeViolation> {
        if !self.honest(from) {
            return Ok(());
        }
        let me = self.slots[from].key.public_key().address();
        let Ok(Wire::Gossip(g)) = reactor::decode(channel, bytes) else {
            return Ok(());
        };
        let (key, what) = match g {
            Gossip::Vote(v) if v.validator_address == me => {
                let step = match v.vote_type {
                    VoteType::Prevote => 2,
                    VoteType::Precommit => 3,
                };
                (
                    (from, v.height, v.round, step),
                    format!("{:?}", v.block_id).into_bytes(),
                )
            }
            // Its own proposals (it relays others' too).
            // Its own proposals (it relays others' too); a node sends each to every peer,
            // so which signatures are its own is remembered rather than verified again.
            Gossip::Proposal(p) if self.own_proposal(from, &p) => (
                (from, p.height, p.round, 1),
                format!("{:?} {:?}", p.block_id, p.pol_round).into_bytes(),
            ),
            _ => return Ok(()),
        };
        match self.signed.get(&key) {
            Some(prev) if *prev != what => Err(NodeViolation::DoubleSign {
                node: from,
                height: key.1,
                round: key.2,
                step: key.3,
            }),
            Some(_) => Ok(()),
            None => {
                self.signed.insert(key, what);
                Ok(())
            }
        }
    }

    /// Agreement, app hashes, validity and memory for what node `i` holds now.
    pub(super) fn check_node(&mut self, i: usize) -> Result<(), NodeViolation> {
        let Some(node) = self.slots[i].node.as_ref() else {
            return Ok(());
        };
        let engine = node.engine();
        if self.honest(i) && engine.signer_refusals() > 0 {
            return Err(NodeViolation::SignerRefused {
                node: i,
                refusals: engine.signer_refusals(),
            });
        }
        let mempool = engine.mempool();
        let (evidence, evidence_bytes, conflicts) = engine.evidence_held();
        let bounds = mempool_config();
        for (what, held, bound) in [
            ("mempool transactions", mempool.len(), bounds.max_txs),
            ("mempool bytes", mempool.bytes(), bounds.max_bytes),
            (
                "next-height messages",
                engine.future_bytes(),
                keystone_consensus_driver::engine::MAX_FUTURE_BYTES,
            ),
            (
                "pending evidence",
                evidence,
                keystone_consensus_driver::evidence::MAX_PENDING,
            ),
            (
                "pending evidence bytes",
                evidence_bytes,
                keystone_consensus_driver::evidence::MAX_PENDING_BYTES,
            ),
            (
                "vote conflicts",
                conflicts,
                keystone_consensus_driver::evidence::MAX_CONFLICTS,
            ),
        ] {
            if held > bound {
                return Err(NodeViolation::Memory {
                    node: i,
                    what,
                    held,
                    bound,
                });
            }
        }
        let blocks = engine.blocks();
        let top = blocks.height().unwrap_or(0);
        let mut checked = self.slots[i].checked;
        for h in checked + 1..=top {
            let (Ok(Some(id)), Ok(Some(res)), Ok(Some(commit))) =
                (blocks.block_id(h), blocks.results(h), blocks.commit(h))
            else {
                // Stored but not yet executed (a crash between the two): checked later.
                break;
            };
            // The first node to commit a height proves the block has +2/3 behind it; the
            // others must then hold the same block (agreement, below). Verifying every node's
            // commit again would double what a run costs.
            if !self.committed.contains_key(&h) {
                let set = engine.validators_at(h).ok().flatten().ok_or_else(|| {
                    NodeViolation::Validity {
                        height: h,
                        node: i,
                        reason: "no validator set".into(),
                    }
                })?;
                set.verify_commit(CHAIN_ID, &id, h, &commit).map_err(|e| {
                    NodeViolation::Validity {
                        height: h,
                        node: i,
                        reason: e.to_string(),
                    }
                })?;
            }
            if blocks
                .block_proto(h)
                .ok()
                .flatten()
                .and_then(|b| b.evidence)
                .is_some_and(|e| !e.evidence.is_empty())
            {
                self.report.evidence_blocks += 1;
            }
            let app_hash = res.app_hash.to_vec();
            match self.committed.get(&h) {
                None => {
                    self.committed.insert(h, (id, app_hash));
                }
                Some((want, _)) if *want != id => {
                    return Err(NodeViolation::Agreement {
                        height: h,
                        node: i,
                        got: hex(&id.hash.0),
                        want: hex(&want.hash.0),
                    })
                }
                Some((_, want)) if *want != app_hash => {
                    return Err(NodeViolation::AppHash {
                        height: h,
                        node: i,
                        got: hex(&app_hash),
                        want: hex(want),
                    })
                }
                Some(_) => {}
            }
            checked = h;
        }
        self.slots[i].checked = checked;
        Ok(())
    }
}
