//! Block execution: the handshake with the application at start (InitChain, stored blocks it
//! has not applied), building a proposal (reaping the mempool, PrepareProposal, BFT time, the
//! last commit, every header hash), and committing a decided block (store it, FinalizeBlock,
//! store the results and the validator set they change, Commit, the WAL's end-of-height
//! marker, the mempool's update, evidence made ready).

use super::*;

impl<A: Application> Engine<A> {
    pub(super) fn finalize_request(&self, block: &Block) -> abci::RequestFinalizeBlock {
        abci::RequestFinalizeBlock {
            txs: block
                .data
                .txs
                .iter()
                .map(|t| Bytes::from(t.clone()))
                .collect(),
            decided_last_commit: Some(self.last_commit_info(block)),
            misbehavior: misbehavior(&block.evidence),
            hash: Bytes::from(block.hash().0.to_vec()),
            height: block.header.height as i64,
            time: Some(block.header.time.to_proto()),
            next_validators_hash: Bytes::from(block.header.next_validators_hash.0.to_vec()),
            proposer_address: Bytes::from(block.header.proposer_address.0.to_vec()),
        }
    }

    /// Who signed the previous block, as `FinalizeBlock` tells the app (slashing's liveness
    /// tracking and distribution's rewards read it): one entry per validator of height H−1, in
    /// set order, with its power and whether its precommit was for the block, nil or absent.
    /// Empty at the chain's first height, as in CometBFT.
    pub(super) fn last_commit_info(&self, block: &Block) -> abci::CommitInfo {
        self.commit_info(block.last_commit.as_ref())
    }

    /// `commit` as the app is told of it (see [`Self::last_commit_info`]).
    pub(super) fn commit_info(&self, commit: Option<&Commit>) -> abci::CommitInfo {
        let Some(c) = commit else {
            return abci::CommitInfo::default();
        };
        let Ok(Some(vals)) = self.validators_at(c.height) else {
            return abci::CommitInfo::default();
        };
        abci::CommitInfo {
            round: c.round as i32,
            votes: vals
                .validators()
                .iter()
                .zip(&c.signatures)
                .map(|(v, sig)| abci::VoteInfo {
                    validator: Some(abci::Validator {
                        address: Bytes::from(v.address.0.to_vec()),
                        power: v.voting_power,
                    }),
                    block_id_flag: sig.block_id_flag.to_proto(),
                })
                .collect(),
        }
    }

    /// FinalizeBlock, its results stored, and the application's Commit (checks held off
    /// across it: see [`crate::mempool::SharedMempool::pause`]). Replay at the handshake; a live commit goes
    /// through [`Engine::commit_block`], which keeps checks held off until the mempool's
    /// update.
    pub(super) fn finalize_and_commit(&mut self, block: &Block) -> Result<()> {
        self.finalize(block)?;
        let mempool = self.mempool.clone();
        let _paused = mempool.pause();
        let res = self.app.commit()?;
        crate::failpoint::hit("state-commit");
        self.prune_blocks(res.retain_height)
    }

    /// Drop the blocks below the application's `retain_height` (0: keep them), as CometBFT
    /// does after Commit; undurable until the next durable write (see
    /// [`crate::block_store::BlockStore::prune_below`]).
    fn prune_blocks(&mut self, retain_height: i64) -> Result<()> {
        if retain_height <= 0 {
            return Ok(());
        }
        let pruned = self.blocks.prune_below(retain_height as Height)?;
        if pruned > 0 {
            tracing::debug!(retain_height, pruned, "pruned blocks");
        }
        Ok(())
    }

    /// FinalizeBlock and its results stored: the block is durable once the application
    /// commits.
    fn finalize(&mut self, block: &Block) -> Result<()> {
        let res = self.app.finalize_block(self.finalize_request(block))?;
        let height = block.header.height;
        // Updates returned at H are `next_validators_hash` of H+1 and sign from H+2.
        let new_set = if res.validator_updates.is_empty() {
            // A quiet chain still records its set now and then: a height's set is the last
            // record incremented once per height since, so this bounds that work. The record
            // is the set that loading rule gives, so no answer changes.
            if (height + 2).is_multiple_of(VALIDATOR_SET_CHECKPOINT) {
                Some(self.validators(height + 2)?)
            } else {
                None
            }
        } else {
            let next = apply_updates(&self.validators(height + 1)?, &res.validator_updates)?;
            tracing::info!(
                height = height + 2,
                validators = next.len(),
                power = next.total_voting_power(),
                "validator set changes"
            );
            Some(next)
        };
        if res.tx_results.len() != block.data.txs.len() {
            return Err(EngineError::Inconsistent(format!(
                "{} results for {} transactions",
                res.tx_results.len(),
                block.data.txs.len()
            )));
        }
        let new_set = new_set.as_ref().map(|s| (height + 2, s));
        self.last_results = None;
        if self.undurable.is_some() {
            self.blocks
                .save_results_deferred(height, &block.data.txs, &res, new_set)?;
        } else {
            self.blocks
                .save_results(height, &block.data.txs, &res, new_set)?;
        }
        crate::failpoint::hit("block-store-results");
        self.last_results = Some((height, res.app_hash.to_vec(), results_hash(&res.tx_results)));
        Ok(())
    }

    /// The app hash and results hash the results of `h` hold (`h` finalised).
    pub(super) fn results_of(&self, h: Height) -> Result<(Vec<u8>, Hash)> {
        if let Some((at, app_hash, results)) = &self.last_results {
            if *at == h {
                return Ok((app_hash.clone(), *results));
            }
        }
        match self.blocks.results(h)? {
            Some(res) => Ok((res.app_hash.to_vec(), results_hash(&res.tx_results))),
            // The height a state sync started at: its header-given hashes.
            None => self
                .blocks
                .synced_results(h)?
                .ok_or_else(|| EngineError::Inconsistent(format!("no results for {h}"))),
        }
    }

    /// Handshake with the application, then start (or resume) the current height.
    pub fn start(&mut self, now: Time) -> Result<Vec<Action>> {
        let info = self.app.info(info_request())?;
        let app_height = info.last_block_height.max(0) as Height;
        let store_height = self.blocks.height()?;
        if app_height > store_height {
            return Err(EngineError::Inconsistent(format!(
                "the application is at height {app_height}, ahead of the block store at {store_height}"
            )));
        }
        // An application with no state starts from genesis, also when blocks are stored (an
        // external app restarted without its data): InitChain, then every stored block.
        if app_height == 0 {
            let res = self.app.init_chain(abci::RequestInitChain {
                time: Some(self.genesis.time.to_proto()),
                chain_id: self.genesis.chain_id.clone(),
                consensus_params: self.genesis.consensus_params.clone(),
                // The document's validators, as CometBFT sends them: the app may keep them,
                // or return its own (an SDK app's gentxs).
                validators: self
                    .genesis
                    .validators
                    .validators()
                    .iter()
                    .map(|v| abci::ValidatorUpdate {
                        pub_key: Some(v.pub_key.to_proto()),
                        power: v.voting_power,
                    })
                    .collect(),
                app_state_bytes: Bytes::from(self.genesis.app_state.clone()),
                initial_height: self.genesis.initial_height as i64,
            })?;
            // The app's validators (from its genesis transactions) replace the document's.
            let set = if res.validators.is_empty() {
                self.genesis.validators.clone()
            } else {
                ValidatorSet::new(changes(&res.validators)?)
                    .map_err(|e| invalid_updates(e.to_string()))?
            };
            if set.is_empty() {
                return Err(EngineError::Inconsistent(
                    "no validators: the genesis has none and InitChain returned none".into(),
                ));
            }
            if store_height == 0 {
                self.blocks
                    .save_validator_set(self.genesis.initial_height, &set)?;
            }
        }
        // An application at the block store's height must hold the state that height's
        // results name (CometBFT's handshake check; after a state sync, the header's).
        if app_height == store_height && app_height > 0 {
            let (want, _) = self.results_of(store_height)?;
            if info.last_block_app_hash.as_ref() != want.as_slice() {
                return Err(EngineError::Inconsistent(format!(
                    "the application's app hash at height {app_height} is {}, the chain's is {}",
                    hex::encode_upper(&info.last_block_app_hash),
                    hex::encode_upper(&want)
                )));
            }
        }
        // Blocks the app has not applied (a crash between storing a block and Commit, or an
        // app that lost its state).
        for h in (app_height + 1).max(self.genesis.initial_height)..=store_height {
            let raw = self
                .blocks
                .block_proto(h)?
                .ok_or_else(|| EngineError::Inconsistent(format!("block {h} missing")))?;
            let block = block_from_proto(&raw)?;
            tracing::info!(height = h, "replaying a stored block to the application");
            // Results stored by an earlier execution (a rolled-back state, or a crash after
            // them): the same block must give the same app hash again, as CometBFT's
            // handshake checks, or the state is not the one the chain built on.
            let before = self.blocks.results(h)?.map(|r| r.app_hash);
            self.finalize_and_commit(&block)?;
            let after = self.blocks.results(h)?.map(|r| r.app_hash);
            if let (Some(before), Some(after)) = (before, after) {
                if before != after {
                    return Err(EngineError::Inconsistent(format!(
                        "replaying block {h} gave app hash {} where it gave {} before: the \
                         application's state is not the one this chain was built on",
                        hex::encode_upper(&after),
                        hex::encode_upper(&before)
                    )));
                }
            }
        }
        self.begin_height(now, true)
    }

    /// Time of the last committed block (genesis time before the first).
    pub fn last_block_time(&self) -> Result<Time> {
        let h = self.blocks.height()?;
        if h == 0 {
            return Ok(self.genesis.time);
        }
        let raw = self
            .blocks
            .block_proto(h)?
            .ok_or_else(|| EngineError::Inconsistent(format!("block {h} missing")))?;
        Ok(block_from_proto(&raw)?.header.time)
    }

    pub(super) fn build_block(
        &mut self,
        height: Height,
        round: Round,
        now: Time,
    ) -> Result<BlockId> {
        let last_height = height - 1;
        let first = height == self.genesis.initial_height;
        let (last_block_id, last_commit, app_hash, last_results, time) = if first {
            (
                None,
                None,
                self.genesis_app_hash()?,
                merkle::hash_from_byte_slices::<&[u8]>(&[]),
                self.genesis.time,
            )
        } else {
            let id = self.blocks.block_id(last_height)?;
            let commit = match &self.last_commit {
                Some(c) if c.height == last_height => c.clone(),
                _ => self.blocks.commit(last_height)?.ok_or_else(|| {
                    EngineError::Inconsistent(format!("no commit for {last_height}"))
                })?,
            };
            let (app_hash, results) = self.results_of(last_height)?;
            let time = median_time(&commit, &self.validators(last_height)?);
            (id, Some(commit), app_hash, results, time)
        };
        let _ = now;
        let set = self.validators(height)?;
        let proposer = set
            .proposer_for_round(round)
            .ok_or(EngineError::Inconsistent("empty validator set".into()))?;
        let reaped = self
            .mempool
            .reap(self.cfg.max_block_tx_bytes, self.cfg.max_block_gas);
        tracing::debug!(
            reaped = reaped.len(),
            held = self.mempool.len(),
            rechecks_pending = self.mempool.rechecks_pending(),
            "reaped the mempool"
        );
        let evidence = self
            .evidence
            .reap(self.cfg.max_evidence_bytes.max(0) as usize);
        // The commit this block will carry, with no vote extensions (none are enabled): what
        // CometBFT's `buildExtendedCommitInfoFromStore` gives, empty at the first height.
        let info = self.commit_info(last_commit.as_ref());
        let local_last_commit = abci::ExtendedCommitInfo {
            round: info.round,
            votes: info
                .votes
                .into_iter()
                .map(|v| abci::ExtendedVoteInfo {
                    validator: v.validator,
                    vote_extension: Bytes::new(),
                    extension_signature: Bytes::new(),
                    block_id_flag: v.block_id_flag,
                })
                .collect(),
        };
        let prepared = self.app.prepare_proposal(abci::RequestPrepareProposal {
            max_tx_bytes: self.cfg.max_block_tx_bytes,
            txs: reaped.into_iter().map(Bytes::from).collect(),
            local_last_commit: Some(local_last_commit),
            misbehavior: misbehavior(&evidence),
            height: height as i64,
            time: Some(time.to_proto()),
            next_validators_hash: Bytes::from(self.validators(height + 1)?.hash().0.to_vec()),
            proposer_address: Bytes::from(proposer.address.0.to_vec()),
        })?;
        let mut block = Block {
            header: Header {
                version: Version {
                    block: BLOCK_PROTOCOL,
                    app: 0,
                },
                chain_id: self.genesis.chain_id.clone(),
                height,
                time,
                last_block_id,
                last_commit_hash: Hash::default(),
                data_hash: Hash::default(),
                validators_hash: set.hash(),
                next_validators_hash: self.validators(height + 1)?.hash(),
                consensus_hash: self.genesis.params.hash(),
                app_hash,
                last_results_hash: last_results,
                evidence_hash: Hash::default(),
                proposer_address: proposer.address,
            },
            data: Data {
                txs: prepared.txs.into_iter().map(|t| t.to_vec()).collect(),
            },
            evidence,
            last_commit,
        };
        block.fill_header_hashes();
        let id = block.block_id();
        // On disk before the core hears of it: a restart must still hold what it proposes.
        self.blocks.save_built(&block)?;
        self.proposals.insert(id, block);
        Ok(id)
    }

    pub(super) fn genesis_app_hash(&self) -> Result<Vec<u8>> {
        // The app hash InitChain produced is what the app reports before the first block.
        Ok(self.app.info(info_request())?.last_block_app_hash.to_vec())
    }

    /// Commit the decided block; `false` when it is not held (see below).
    pub(super) fn decide(&mut self, height: Height, round: Round, value: BlockId) -> Result<bool> {
        let core = self
            .core
            .as_ref()
            .ok_or(EngineError::Inconsistent("no core".into()))?;
        // +2/3 precommitted a block this node does not have (it restarted from files that
        // lack it): the others hold and commit it, so block sync fetches it with its commit
        // and `apply_committed` moves the node on. Until then the height stays decided here.
        let Some(block) = self.proposals.get(&value).cloned() else {
            tracing::warn!(height, round, block = %value.hash, "decided a block this node does not hold; fetching it from peers");
            return Ok(false);
        };
        let commit = Commit::from_precommits(
            core.validators(),
            height,
            round,
            value,
            &core.precommits_for(round, value),
        );
        self.commit_block(&block, &value, &commit, false)?;
        Ok(true)
    }

    /// Store, execute and commit a decided block, then mark its height done in the WAL.
    /// `synced`: a block others committed, brought by block sync, which need not reach the
    /// disk before the next (see [`Engine::make_durable`]); a block decided here makes
    /// everything before it durable first.
    pub(super) fn commit_block(
        &mut self,
        block: &Block,
        id: &BlockId,
        commit: &Commit,
        synced: bool,
    ) -> Result<()> {
        let height = block.header.height;
        if !synced {
            self.make_durable()?;
        } else if self.undurable.is_none() && self.app.defer_durability()? {
            self.undurable = Some(0);
        }
        self.blocks.save(block, id, commit)?;
        crate::failpoint::hit("block-store-block");
        self.last_commit = Some(commit.clone());
        self.finalize(block)?;
        // No transaction is checked from the application's Commit until the mempool has
        // taken the block's transactions out and knows the rest need rechecking.
        let mempool = self.mempool.clone();
        let paused = mempool.pause();
        let res = self.app.commit()?;
        crate::failpoint::hit("state-commit");
        self.prune_blocks(res.retain_height)?;
        self.wal.end_height(height)?;
        crate::failpoint::hit("wal-end-height");
        self.blocks.clear_built()?;
        mempool.update(&paused, &mut self.app, &block.data.txs)?;
        drop(paused);
        let view = View {
            blocks: &self.blocks,
            genesis: &self.genesis,
        };
        let ready = self.evidence.update(&block.evidence, &view);
        for ev in &ready {
            tracing::warn!(validator = %ev.vote_a.validator_address, height = ev.vote_a.height, "duplicate-vote evidence ready");
        }
        self.announce.extend(ready);
        if !block.evidence.is_empty() {
            tracing::warn!(
                height,
                evidence = block.evidence.len(),
                "committed evidence"
            );
        }
        tracing::info!(height, txs = block.data.txs.len(), hash = %id.hash, "committed block");
        if let Some(n) = self.undurable.as_mut() {
            *n += 1;
            if *n >= UNDURABLE_BLOCKS {
                self.make_durable()?;
            }
        }
        Ok(())
    }

    /// Before the decided height's core is dropped: the precommits for the decided block it
    /// took after deciding (verified on the way in) join the last commit.
    pub(super) fn absorb_late_precommits(&mut self) {
        let (Some(core), Some(commit)) = (&self.core, &mut self.last_commit) else {
            return;
        };
        if core.height() != commit.height {
            return;
        }
        let votes = core.precommits_for(commit.round, commit.block_id);
        let grown = Commit::from_precommits(
            core.validators(),
            commit.height,
            commit.round,
            commit.block_id,
            &votes,
        );
        // Keep what the seen commit had (a nil precommit the core does not list here).
        for (mine, new) in commit.signatures.iter_mut().zip(grown.signatures) {
            if mine.block_id_flag == keystone_consensus_types::BlockIdFlag::Absent {
                *mine = new;
            }
        }
    }
}

/// CometBFT's `last_results_hash`: Merkle root of the deterministic part of each tx result.
pub fn results_hash(res: &[abci::ExecTxResult]) -> Hash {
    let leaves: Vec<Vec<u8>> = res
        .iter()
        .map(|r| {
            abci::ExecTxResult {
                code: r.code,
                data: r.data.clone(),
                gas_wanted: r.gas_wanted,
                gas_used: r.gas_used,
                ..Default::default()
            }
            .encode_to_vec()
        })
        .collect();
    merkle::hash_from_byte_slices(&leaves)
}

/// Every this many heights the validator set is recorded even when it did not change
/// (CometBFT's `valSetCheckpointInterval` does the same, every 100 000): loading any height's
/// set then costs at most this many priority increments — the engine loads a few sets per
/// height — for one small record per thousand blocks.
pub const VALIDATOR_SET_CHECKPOINT: Height = 1_000;

/// The validator set of `height`: the last set recorded at or below it (at the initial height,
/// and wherever the application's updates took effect), one priority increment per height
/// since, as CometBFT loads a stored set. Before anything is recorded (a chain that has not
/// run InitChain yet), the genesis document's set.
pub(super) fn validators_of(
    blocks: &BlockStore,
    genesis: &Genesis,
    height: Height,
) -> Result<ValidatorSet> {
    let (from, set) = match blocks.validator_set_at(height)? {
        Some((at, set)) => (at, set),
        None => (genesis.initial_height, genesis.validators.clone()),
    };
    let steps = u32::try_from(height.saturating_sub(from)).map_err(|_| {
        EngineError::Inconsistent(format!("height {height} is too far from {from}"))
    })?;
    Ok(set.copy_increment(steps))
}

/// The validator set after `updates` (ABCI `ValidatorUpdate`s) are applied to `set`, the set of
/// the height after the one that produced them: CometBFT's `UpdateWithChangeSet`, then the
/// one increment that makes it the set of the height after that.
pub(super) fn apply_updates(
    set: &ValidatorSet,
    updates: &[abci::ValidatorUpdate],
) -> Result<ValidatorSet> {
    let mut next = set.clone();
    next.update_with_change_set(&changes(updates)?)
        .map_err(|e| invalid_updates(e.to_string()))?;
    next.increment_proposer_priority(1);
    Ok(next)
}

/// ABCI validator updates as the engine's validators (power 0: removal).
pub(super) fn changes(updates: &[abci::ValidatorUpdate]) -> Result<Vec<Validator>> {
    updates
        .iter()
        .map(|u| {
            let key = u
                .pub_key
                .as_ref()
                .ok_or_else(|| invalid_updates("an update has no public key".into()))?;
            let key = keystone_consensus_types::PublicKey::from_proto(key)
                .map_err(|e| invalid_updates(e.to_string()))?;
            Ok(Validator::new(key, u.power))
        })
        .collect()
}

/// The application returned updates consensus cannot apply: the chain cannot go on safely.
pub(super) fn invalid_updates(e: String) -> EngineError {
    EngineError::Inconsistent(format!(
        "invalid validator updates from the application: {e}"
    ))
}

/// Committed evidence as the application hears of it (`Misbehavior`, type duplicate vote).
pub(super) fn misbehavior(evidence: &[DuplicateVoteEvidence]) -> Vec<abci::Misbehavior> {
    evidence
        .iter()
        .map(|e| abci::Misbehavior {
            r#type: abci::MisbehaviorType::DuplicateVote as i32,
            validator: Some(abci::Validator {
                address: Bytes::from(e.vote_a.validator_address.0.to_vec()),
                power: e.validator_power,
            }),
            height: e.vote_a.height as i64,
            time: Some(e.timestamp.to_proto()),
            total_voting_power: e.total_voting_power,
        })
        .collect()
}

/// A stored or received block back as the engine's type.
pub(super) fn block_from_proto(p: &keystone_proto::types::Block) -> Result<Block> {
    Block::from_proto(p).map_err(|e| EngineError::Inconsistent(format!("block: {e}")))
}
