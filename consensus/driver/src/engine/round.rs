//! The round: the core of the height in progress fed through the WAL, the signer asked for
//! the node's proposals and votes, and what the core asks of the node turned into actions —
//! timeouts to schedule, messages to broadcast, a value to build, a decision to commit.

use super::*;

impl<A: Application> Engine<A> {
    /// Start the next height (after `timeout_commit`). A no-op when it has started already
    /// (block sync may have committed a height, and started the next, during the pause).
    pub fn next_height(&mut self, now: Time) -> Result<Vec<Action>> {
        let next = self.last_height()? + 1;
        if self.core.as_ref().is_some_and(|c| c.height() == next) {
            return Ok(Vec::new());
        }
        self.begin_height(now, false)
    }

    pub(super) fn begin_height(&mut self, now: Time, replay_wal: bool) -> Result<Vec<Action>> {
        let height = self.last_height()? + 1;
        let me = self.privval.address();
        let set = self.validators(height)?;
        let me = set.get_by_address(&me).map(|v| v.address);
        self.absorb_late_precommits();
        self.core = Some(Consensus::new(height, set, me));
        self.height_started = Some(now);
        self.proposals.clear();
        self.pending_value = None;
        self.owed.clear();
        self.gossip_log.clear();
        self.seen_votes.clear();
        self.incoming.clear();
        let mut actions: Vec<Action> = self
            .announce
            .drain(..)
            .map(|e| Action::Broadcast(Gossip::Evidence(Box::new(e))))
            .collect();
        let mut replayed = false;
        if replay_wal {
            for raw in self.blocks.built()? {
                let block = block_from_proto(&raw)?;
                if block.header.height == height {
                    self.proposals.insert(block.block_id(), block);
                }
            }
            self.replaying = true;
            let (wal, recovery) = {
                let path = self.wal.path().to_path_buf();
                Wal::open_on(self.wal.storage().clone(), &path)?
            };
            self.wal = wal;
            for (h, input) in recovery.ended.into_iter().chain(recovery.inputs) {
                if h != height {
                    continue;
                }
                replayed = true;
                tracing::trace!(height, ?input, "replaying from the WAL");
                if let Input::ValueReady { round, .. } = &input {
                    if self.pending_value == Some(*round) {
                        self.pending_value = None;
                    }
                }
                self.settle_owed(&input, &mut actions);
                self.apply(input, now, &mut actions, false)?;
            }
            self.replaying = false;
            for owed in std::mem::take(&mut self.owed) {
                self.sign_owed(height, owed, now, &mut actions)?;
            }
        }
        if !replayed {
            self.apply(Input::Start, now, &mut actions, true)?;
        } else if let Some(round) = self.pending_value.take() {
            let id = self.build_block(height, round, now)?;
            self.apply(
                Input::ValueReady { round, value: id },
                now,
                &mut actions,
                true,
            )?;
        }
        self.replay_future(now, &mut actions)?;
        Ok(actions)
    }

    /// A timeout fired.
    pub fn on_timeout(
        &mut self,
        height: Height,
        timeout: Timeout,
        now: Time,
    ) -> Result<Vec<Action>> {
        let mut actions = Vec::new();
        if self.core.as_ref().is_some_and(|c| c.height() == height) {
            self.apply(Input::Timeout(timeout), now, &mut actions, true)?;
        }
        Ok(actions)
    }

    /// Feed `input` (and everything it leads to) to the core; `log` appends to the WAL first.
    pub(super) fn apply(
        &mut self,
        input: Input,
        now: Time,
        actions: &mut Vec<Action>,
        log: bool,
    ) -> Result<()> {
        let mut work = std::collections::VecDeque::from([(input, log)]);
        while let Some((input, log)) = work.pop_front() {
            let Some(height) = self.current_height() else {
                return Ok(());
            };
            if log {
                // What a peer sent needs no fsync of its own: it reaches the disk with this
                // node's next vote or proposal (synced before it is signed), and one lost in a
                // crash before that is sent again by the peers.
                self.log(height, &input, false)?;
            }
            let Some(core) = self.core.as_mut() else {
                return Ok(());
            };
            let outputs = match core.apply(input) {
                Ok(o) => o,
                Err(e) => {
                    tracing::debug!(error = %e, "consensus input rejected");
                    continue;
                }
            };
            for out in outputs {
                match out {
                    Output::NewRound { round, proposer } => {
                        tracing::debug!(height, round, %proposer, "new round");
                    }
                    Output::GetValue { round } => {
                        if self.replaying {
                            self.pending_value = Some(round);
                        } else {
                            let id = self.build_block(height, round, now)?;
                            work.push_back((Input::ValueReady { round, value: id }, true));
                        }
                    }
                    Output::Propose {
                        round,
                        value,
                        pol_round,
                    } if self.replaying => self.owed.push(Owed::Proposal {
                        round,
                        value,
                        pol_round,
                    }),
                    Output::Vote {
                        vote_type,
                        round,
                        value,
                    } if self.replaying => self.owed.push(Owed::Vote {
                        vote_type,
                        round,
                        value,
                    }),
                    Output::Propose {
                        round,
                        value,
                        pol_round,
                    } => {
                        // What led here is on disk before the signer writes: see `sign_vote`.
                        self.make_durable()?;
                        self.wal.sync()?;
                        let Some(p) = self.sign_proposal(height, round, value, pol_round, now)?
                        else {
                            continue;
                        };
                        self.broadcast_proposal(&p, actions);
                        let input = Input::Proposal {
                            proposal: p,
                            valid: true,
                        };
                        // In the log right after the signer's record, before anything else
                        // is signed: see below.
                        self.log(height, &input, false)?;
                        work.push_back((input, false));
                    }
                    Output::Vote {
                        vote_type,
                        round,
                        value,
                    } => {
                        // A full node runs the algorithm to follow the rounds, but has no
                        // vote to cast.
                        if !self.votes_this_height() {
                            continue;
                        }
                        // Every input that led to this vote is on disk before the signer
                        // records it: a crash between the two then replays the same inputs
                        // to the same vote, which the signer gives back, instead of a prefix
                        // of them to another vote, which it would refuse.
                        self.make_durable()?;
                        self.wal.sync()?;
                        let Some(vote) = self.sign_vote(height, round, vote_type, value, now)?
                        else {
                            continue;
                        };
                        self.broadcast_vote(&vote, actions);
                        #[cfg(feature = "fault-injection")]
                        if let Some(key) = &self.double_sign {
                            let mut evil = vote.clone();
                            evil.block_id = Some(BlockId {
                                hash: keystone_consensus_types::sha256(
                                    format!("double-sign {height} {round}").as_bytes(),
                                ),
                                part_set_header: keystone_consensus_types::PartSetHeader {
                                    total: 1,
                                    hash: keystone_consensus_types::sha256(b"double-sign"),
                                },
                            });
                            evil.sign(&self.genesis.chain_id, key);
                            self.broadcast_vote(&evil, actions);
                        }
                        // In the log right after the signer's record, before the next output
                        // (the core may ask for a prevote and a precommit at once): a crash
                        // after signing the precommit must not leave a log without the
                        // prevote, whose signature the signer no longer holds. The sync before
                        // the next signature puts it on disk; until then a crash that loses it
                        // replays to the same request, which the signer answers with the
                        // signature it holds.
                        let input = Input::Vote(vote);
                        self.log(height, &input, false)?;
                        work.push_back((input, false));
                    }
                    Output::ScheduleTimeout(t) => actions.push(Action::Timeout {
                        after: self.cfg.timeouts.duration(t),
                        height,
                        timeout: t,
                    }),
                    Output::Decide { round, value } => {
                        if self.decide(height, round, value)? {
                            actions.push(Action::NextHeight {
                                after: self.cfg.timeouts.commit,
                            });
                        }
                        return Ok(());
                    }
                    Output::Equivocation { first, second } => {
                        tracing::warn!(validator = %first.validator_address, height, "equivocation seen");
                        self.evidence.add_conflict(*first, *second);
                    }
                }
            }
        }
        Ok(())
    }

    /// Append `input` of `height` to the WAL (`sync`: on disk when this returns).
    pub(super) fn log(&mut self, height: Height, input: &Input, sync: bool) -> Result<()> {
        tracing::trace!(height, ?input, "WAL append");
        self.wal.append(height, input, sync)?;
        crate::failpoint::hit("wal-append");
        Ok(())
    }

    /// Whether this node is a validator of the height in progress.
    pub(super) fn votes_this_height(&self) -> bool {
        let me = self.privval.address();
        self.core
            .as_ref()
            .is_some_and(|c| c.validators().index_of(&me).is_some())
    }

    /// Our proposal of `value` for `round`, signed; `None` if the block is not held.
    pub(super) fn sign_proposal(
        &mut self,
        height: Height,
        round: Round,
        value: BlockId,
        pol_round: Option<Round>,
        now: Time,
    ) -> Result<Option<Proposal>> {
        if !self.proposals.contains_key(&value) {
            tracing::warn!(
                height,
                round,
                "the block to propose is not held; not proposing"
            );
            return Ok(None);
        }
        let mut p = Proposal {
            height,
            round,
            pol_round,
            block_id: value,
            timestamp: now,
            signature: None,
        };
        match self.privval.sign_proposal(&self.genesis.chain_id, &mut p) {
            Ok(()) => Ok(Some(p)),
            Err(e) if refused(&e) => {
                self.signer_refusals += 1;
                tracing::warn!(height, round, error = %e, "the signer refused the proposal; not proposing");
                Ok(None)
            }
            Err(e) => Err(e.into()),
        }
    }

    pub(super) fn sign_vote(
        &mut self,
        height: Height,
        round: Round,
        t: VoteType,
        value: Option<BlockId>,
        now: Time,
    ) -> Result<Option<Vote>> {
        let core = self
            .core
            .as_ref()
            .ok_or(EngineError::Inconsistent("no core".into()))?;
        let index = core.validators().index_of(&self.privval.address()).ok_or(
            EngineError::Inconsistent("asked to vote but not a validator".into()),
        )?;
        // CometBFT's rule: a vote is stamped after the block it is for (or, for nil, after the
        // last block), so BFT time — the median of these stamps — strictly increases.
        let floor = match value.and_then(|v| self.proposals.get(&v)) {
            Some(b) => b.header.time,
            None => self.last_block_time()?,
        }
        .plus_millis(1);
        let mut vote = Vote {
            vote_type: t,
            height,
            round,
            block_id: value,
            timestamp: now.max(floor),
            validator_address: self.privval.address(),
            validator_index: index as u32,
            signature: None,
        };
        match self.privval.sign_vote(&self.genesis.chain_id, &mut vote) {
            Ok(()) => Ok(Some(vote)),
            Err(e) if refused(&e) => {
                self.signer_refusals += 1;
                tracing::warn!(height, round, ?t, error = %e, "the signer refused the vote; not voting");
                Ok(None)
            }
            Err(e) => Err(e.into()),
        }
    }
}

/// The signer refused to sign a step it signed before with other content, or one below its
/// last (a crash lost the WAL's record of what it signed, and the core, replayed from what
/// was left, chose differently): as CometBFT, the node then does not sign, rather than
/// stopping. Never signing twice is the privval's guarantee; going on is the round's.
pub(super) fn refused(e: &PrivValError) -> bool {
    matches!(
        e,
        PrivValError::Regression { .. } | PrivValError::Conflict { .. }
    )
}
