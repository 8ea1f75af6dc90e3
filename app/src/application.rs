//! [`App`]: the built-in application behind the ABCI 2.0 [`Application`] trait.

use crate::checker::Checker;
use crate::queries::Queries;
use crate::snapshots::{Applied, Restoring, SnapshotError, Snapshots};
use crate::store_state::{StoreState, Writes};
use crate::tx::{run_tx, Context, GasPrice, Mode, SigCache, TxOutcome};
use keystone_modules::state::Branch;
use keystone_modules::{
    auth, bank, distribution, mint, slashing, staking, Address, BlockCtx, Timestamp,
};
use keystone_proto::abci;
use keystone_proto::prost::bytes::Bytes;
use keystone_proto::prost::Message;
use keystone_proto::{AppChecker, AppError, AppReader, AppResult, AppSnapshots, Application};
use keystone_store::{Prepared, Store};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// The genesis `app_state` sections this application reads (others are ignored), loaded in
/// gaia's genesis order: auth, bank, distribution, staking, slashing, mint, then genutil's
/// transactions.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct AppGenesis {
    /// `app_state.auth`.
    #[serde(default)]
    pub auth: auth::genesis::Genesis,
    /// `app_state.bank`.
    #[serde(default)]
    pub bank: bank::genesis::Genesis,
    /// `app_state.distribution`.
    #[serde(default)]
    pub distribution: distribution::genesis::Genesis,
    /// `app_state.staking`.
    #[serde(default)]
    pub staking: staking::genesis::Genesis,
    /// `app_state.slashing`.
    #[serde(default)]
    pub slashing: slashing::genesis::Genesis,
    /// `app_state.mint`.
    #[serde(default)]
    pub mint: mint::genesis::Genesis,
    /// `app_state.genutil`: the genesis transactions.
    #[serde(default)]
    pub genutil: GenUtil,
}

/// `app_state.genutil`: signed transactions (gentxs, in the SDK's JSON form) delivered at
/// InitChain, after every module's genesis, so that the first validators are whoever bonded.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct GenUtil {
    /// The transactions.
    #[serde(default)]
    pub gen_txs: Vec<serde_json::Value>,
}

/// A block time from ABCI (the epoch when absent).
fn block_time(t: Option<&keystone_proto::Timestamp>) -> AppResult<Timestamp> {
    match t {
        None => Ok(Timestamp::EPOCH),
        Some(t) => Timestamp::new(t.seconds, t.nanos.max(0) as u32).map_err(app_err),
    }
}

/// Staking's updates as ABCI carries them.
fn abci_updates(updates: Vec<staking::ValidatorUpdate>) -> Vec<abci::ValidatorUpdate> {
    updates
        .into_iter()
        .map(|u| abci::ValidatorUpdate {
            pub_key: Some(keystone_proto::crypto::PublicKey {
                sum: Some(keystone_proto::crypto::public_key::Sum::Ed25519(
                    u.pub_key.to_vec(),
                )),
            }),
            power: u.power,
        })
        .collect()
}

/// Module events (begin and end block) as ABCI carries them, every attribute indexed.
fn abci_events(events: Vec<keystone_modules::Event>) -> Vec<abci::Event> {
    events
        .into_iter()
        .map(|e| abci::Event {
            r#type: e.kind,
            attributes: e
                .attributes
                .into_iter()
                .map(|(key, value)| abci::EventAttribute {
                    key,
                    value,
                    index: true,
                })
                .collect(),
        })
        .collect()
}

/// The modules' begin block for `req` (see [`App::finalize_block`]).
fn begin_block(
    state: &mut dyn keystone_modules::State,
    block: &BlockCtx,
    req: &abci::RequestFinalizeBlock,
    hooks: &crate::hooks::AppHooks,
) -> AppResult<()> {
    let fail = |what: &str, e: keystone_modules::ModuleError| app_err(format!("{what}: {e}"));
    let votes = match &req.decided_last_commit {
        Some(c) => c
            .votes
            .iter()
            .map(|v| {
                let val = v
                    .validator
                    .as_ref()
                    .ok_or_else(|| app_err("a vote of the last commit names no validator"))?;
                let address: [u8; 20] = val.address.as_ref().try_into().map_err(|_| {
                    app_err(format!(
                        "validator address of {} bytes in the last commit",
                        val.address.len()
                    ))
                })?;
                // v0.50: only an absent vote is a miss (a nil precommit was still signed).
                let signed = v.block_id_flag != keystone_proto::types::BlockIdFlag::Absent as i32;
                Ok(slashing::VoteInfo {
                    address,
                    power: val.power,
                    signed,
                })
            })
            .collect::<AppResult<Vec<_>>>()?,
        None => Vec::new(),
    };
    mint::begin_block(state).map_err(|e| fail("mint begin block", e))?;
    let powers: Vec<([u8; 20], i64)> = votes.iter().map(|v| (v.address, v.power)).collect();
    distribution::begin_block(state, block, &powers)
        .map_err(|e| fail("distribution begin block", e))?;
    slashing::begin_block(state, block, &votes, hooks)
        .map_err(|e| fail("slashing begin block", e))?;
    if req.misbehavior.is_empty() {
        return Ok(());
    }
    // Read only when there is evidence to judge: nearly every block has none.
    let (max_age_blocks, max_age_secs) = crate::consensus_params::evidence_max_age(state)?;
    for m in &req.misbehavior {
        // Both kinds (duplicate vote, light-client attack) are equivocations to the SDK.
        let Some(val) = m.validator.as_ref() else {
            return Err(app_err("misbehaviour names no validator"));
        };
        let address: [u8; 20] = val.address.as_ref().try_into().map_err(|_| {
            app_err(format!(
                "misbehaving validator address of {} bytes",
                val.address.len()
            ))
        })?;
        let ev = slashing::Equivocation {
            address,
            height: u64::try_from(m.height)
                .map_err(|_| app_err(format!("misbehaviour at height {}", m.height)))?,
            time: block_time(m.time.as_ref())?,
            power: val.power,
        };
        slashing::handle_equivocation(state, block, &ev, max_age_blocks, max_age_secs, hooks)
            .map_err(|e| fail("evidence", e))?;
    }
    Ok(())
}

/// The built-in application.
pub struct App {
    store: Arc<Store>,
    /// The query connection: shares the store, read at its last committed version.
    queries: Arc<Queries>,
    /// The mempool connection: the check state, reset at each commit.
    checker: Arc<Checker>,
    /// Signatures verified on this node, shared by CheckTx, recheck and FinalizeBlock.
    sigs: Arc<SigCache>,
    chain_id: String,
    /// `FinalizeBlock`'s result (and the block's time), waiting for `Commit`.
    pending: Option<(i64, Prepared, Timestamp)>,
    /// Block sync asked for commits without an fsync each, until `make_durable`.
    deferred: bool,
    /// app.toml's `min-retain-blocks` (0: keep every block).
    min_retain_blocks: u64,
    /// The snapshots this node takes and serves (app.toml's `[state-sync]`).
    snapshots: Option<Arc<Snapshots>>,
    /// A restore from a snapshot that OfferSnapshot accepted.
    restoring: Option<Restoring>,
}

pub(crate) fn app_err(e: impl std::fmt::Display) -> AppError {
    AppError(e.to_string())
}

impl App {
    /// The application over `store` for `chain_id`, with the node's minimum gas prices.
    pub fn new(store: Store, chain_id: &str, min_gas_prices: Vec<GasPrice>) -> App {
        let store = Arc::new(store);
        let sigs = Arc::new(SigCache::new());
        // A store that cannot say its version is found out by the handshake's Info; checks
        // before then run over the empty state.
        let version = store.latest_version().ok().flatten();
        App {
            queries: Arc::new(Queries::new(store.clone(), chain_id)),
            checker: Arc::new(Checker::new(
                store.clone(),
                sigs.clone(),
                chain_id,
                min_gas_prices,
                version,
            )),
            sigs,
            store,
            chain_id: chain_id.into(),
            pending: None,
            deferred: false,
            min_retain_blocks: 0,
            snapshots: None,
            restoring: None,
        }
    }

    /// Take, keep and serve state snapshots as `snapshots` says (app.toml's `[state-sync]`).
    pub fn with_snapshots(mut self, snapshots: Snapshots) -> App {
        self.snapshots = Some(Arc::new(snapshots));
        self
    }

    /// Ask the node to keep only the last `n` blocks (app.toml's `min-retain-blocks`; 0: all),
    /// and never fewer than evidence may still refer to: [`Application::commit`]'s
    /// `retain_height`, as the SDK's `GetBlockRetentionHeight` computes it.
    pub fn with_min_retain_blocks(mut self, n: u64) -> App {
        self.min_retain_blocks = n;
        self
    }

    /// The oldest height the node must keep after committing `height`: `height − n` for
    /// `min-retain-blocks` n, lowered to keep the evidence window (`max_age_num_blocks`);
    /// 0 (keep everything) when n is 0 or the chain is younger.
    fn retain_height(&self, height: u64) -> AppResult<i64> {
        if self.min_retain_blocks == 0 {
            return Ok(0);
        }
        let state = StoreState::new(&self.store, Some(height), Writes::new());
        let (evidence_blocks, _) = crate::consensus_params::evidence_max_age(&state)?;
        let keep = self.min_retain_blocks.max(evidence_blocks);
        Ok(i64::try_from(height.saturating_sub(keep)).unwrap_or(0))
    }

    /// The state store (for operators' tools and benchmarks: reads, stats).
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// secp256k1 signatures verified and checks answered from the node's cache so far.
    pub fn signature_stats(&self) -> crate::tx::SigStats {
        self.sigs.stats()
    }

    fn latest(&self) -> AppResult<Option<u64>> {
        self.store.latest_version().map_err(app_err)
    }

    /// The events as ABCI carries them, every attribute indexed (the SDK's default).
    fn abci_events(o: &TxOutcome) -> Vec<abci::Event> {
        o.events
            .iter()
            .map(|e| abci::Event {
                r#type: e.kind.clone(),
                attributes: e
                    .attributes
                    .iter()
                    .map(|(k, v)| abci::EventAttribute {
                        key: k.clone(),
                        value: v.clone(),
                        index: true,
                    })
                    .collect(),
            })
            .collect()
    }

    fn tx_result(o: &TxOutcome) -> (u32, String, String) {
        match &o.result {
            Ok(()) => (0, String::new(), String::new()),
            Err(e) => (e.code(), e.codespace().to_string(), e.to_string()),
        }
    }
}

/// A check's outcome as CheckTx answers it.
pub(crate) fn check_response(out: &TxOutcome) -> abci::ResponseCheckTx {
    let (code, codespace, log) = App::tx_result(out);
    abci::ResponseCheckTx {
        code,
        codespace,
        log,
        gas_wanted: out.gas_wanted as i64,
        gas_used: out.gas_used as i64,
        events: App::abci_events(out),
        ..Default::default()
    }
}

impl Application for App {
    fn reader(&self) -> Option<Arc<dyn AppReader>> {
        Some(self.queries.clone())
    }

    fn info(&self, req: abci::RequestInfo) -> AppResult<abci::ResponseInfo> {
        self.queries.info(req)
    }

    fn query(&self, req: abci::RequestQuery) -> AppResult<abci::ResponseQuery> {
        self.queries.query(req)
    }

    fn checker(&self) -> Option<Arc<dyn AppChecker>> {
        Some(self.checker.clone())
    }

    fn check_tx(&mut self, req: abci::RequestCheckTx) -> AppResult<abci::ResponseCheckTx> {
        self.checker.check_tx(req)
    }

    fn init_chain(&mut self, req: abci::RequestInitChain) -> AppResult<abci::ResponseInitChain> {
        let genesis: AppGenesis = if req.app_state_bytes.is_empty() {
            AppGenesis::default()
        } else {
            serde_json::from_slice(&req.app_state_bytes)
                .map_err(|e| app_err(format!("app_state: {e}")))?
        };
        let version = (req.initial_height.max(1) - 1) as u64;
        let time = block_time(req.time.as_ref())?;
        let block = BlockCtx {
            height: 0,
            time,
            chain_id: req.chain_id.clone(),
        };
        let hooks = crate::hooks::AppHooks::new(&block);
        let mut state = StoreState::new(&self.store, None, Writes::new());
        genesis.auth.init(&mut state).map_err(app_err)?;
        genesis.bank.init(&mut state).map_err(app_err)?;
        // Every funded address has an account, as gaiad's add-genesis-account ensures.
        for b in &genesis.bank.balances {
            let a: Address = b.address.parse().map_err(app_err)?;
            auth::ensure_account(&mut state, &a).map_err(app_err)?;
        }
        auth::ensure_module_account(&mut state, auth::FEE_COLLECTOR).map_err(app_err)?;
        genesis
            .distribution
            .init(&mut state)
            .map_err(|e| app_err(format!("distribution genesis: {e}")))?;
        genesis
            .staking
            .init(&mut state, &block, &hooks)
            .map_err(|e| app_err(format!("staking genesis: {e}")))?;
        genesis
            .slashing
            .init(&mut state)
            .map_err(|e| app_err(format!("slashing genesis: {e}")))?;
        genesis
            .mint
            .init(&mut state)
            .map_err(|e| app_err(format!("mint genesis: {e}")))?;
        let params = req
            .consensus_params
            .clone()
            .unwrap_or_else(crate::consensus_params::cometbft_defaults);
        crate::consensus_params::set(&mut state, &params);
        // The gentxs, as the SDK's genutil delivers them: each must succeed.
        let ctx = Context {
            chain_id: &req.chain_id,
            height: 0,
            mode: Mode::Deliver,
            min_gas_prices: &[],
            time,
            verified: None,
        };
        for (i, json) in genesis.genutil.gen_txs.iter().enumerate() {
            let raw = keystone_proto::tx_json::tx_from_json(json)
                .map_err(|e| app_err(format!("gen_txs[{i}]: {e}")))?;
            let out = run_tx(&mut state, &raw, &ctx);
            if let Err(e) = out.result {
                return Err(app_err(format!("gen_txs[{i}] failed: {e}")));
            }
        }
        let updates = {
            let mut branch = Branch::new(&mut state);
            let u = staking::apply_validator_set_updates(&mut branch, &block, &hooks)
                .map_err(app_err)?;
            branch.commit();
            u
        };
        let validators = abci_updates(updates);
        // A genesis document that names validators must name the ones the gentxs bonded
        // (the SDK's check); with no gentxs the document's set stands.
        if !req.validators.is_empty() && !validators.is_empty() {
            let key =
                |v: &abci::ValidatorUpdate| (v.pub_key.clone().map(|k| k.encode_to_vec()), v.power);
            let mut want: Vec<_> = req.validators.iter().map(key).collect();
            let mut got: Vec<_> = validators.iter().map(key).collect();
            want.sort();
            got.sort();
            if want != got {
                return Err(app_err(
                    "the genesis validators are not the ones the genesis transactions bond",
                ));
            }
        }
        self.queries.set_last_time(time);
        let writes = state.into_writes();
        // A handshake may run InitChain again after a crash before the first block: then the
        // genesis state is already stored, and must be this one.
        let root = match self.latest()? {
            Some(v) if v == version => {
                for (k, want) in &writes {
                    if self.store.get(k, v).map_err(app_err)? != *want {
                        return Err(app_err(
                            "InitChain: a different genesis state is already committed",
                        ));
                    }
                }
                self.store.root_hash(v).map_err(app_err)?
            }
            _ => {
                let prepared = self.store.prepare(version, writes).map_err(app_err)?;
                self.store.commit(prepared).map_err(app_err)?
            }
        };
        self.checker.reset(Some(version), time);
        Ok(abci::ResponseInitChain {
            consensus_params: None,
            validators,
            app_hash: Bytes::from(root.to_vec()),
        })
    }

    fn finalize_block(
        &mut self,
        req: abci::RequestFinalizeBlock,
    ) -> AppResult<abci::ResponseFinalizeBlock> {
        let latest = self.latest()?;
        let mut state = StoreState::new(&self.store, latest, Writes::new());
        // The block's signatures across cores first; the transactions then run in order,
        // each finding its signatures already checked.
        self.sigs
            .verify_block(&state, &req.txs, &self.chain_id, req.height as u64);
        let time = block_time(req.time.as_ref())?;
        let ctx = Context {
            chain_id: &self.chain_id,
            height: req.height as u64,
            mode: Mode::Deliver,
            min_gas_prices: &[],
            time,
            verified: Some(&self.sigs),
        };
        let block = ctx.block();
        // Begin block, in gaia's order: mint, distribution (the last commit's validators
        // share the fees and provisions of the previous block), slashing (liveness over the
        // last commit), evidence (double signs). A failure is the chain's: stop.
        let begin_events = {
            let hooks = crate::hooks::AppHooks::new(&block);
            let mut branch = Branch::new(&mut state);
            begin_block(&mut branch, &block, &req, &hooks)?;
            let events = branch.take_events();
            branch.commit();
            events
        };
        let mut tx_results = Vec::with_capacity(req.txs.len());
        for tx in &req.txs {
            let out = run_tx(&mut state, tx, &ctx);
            let (code, codespace, log) = Self::tx_result(&out);
            // A success's data is the SDK's `TxMsgData` (each message's response), which
            // clients (cosmjs's `msgResponses`) decode; a failure carries none.
            let data = if code == 0 {
                cosmos_sdk_proto::cosmos::base::abci::v1beta1::TxMsgData {
                    msg_responses: out.msg_responses.clone(),
                    ..Default::default()
                }
                .encode_to_vec()
            } else {
                Vec::new()
            };
            tx_results.push(abci::ExecTxResult {
                code,
                codespace,
                log,
                data: data.into(),
                gas_wanted: out.gas_wanted as i64,
                gas_used: out.gas_used as i64,
                events: Self::abci_events(&out),
                ..Default::default()
            });
        }
        // End block: staking's validator-set changes (which consensus applies from H+2) and
        // matured unbondings. A failure here is the chain's, not a transaction's: stop.
        let (updates, events) = {
            let hooks = crate::hooks::AppHooks::new(&block);
            let mut branch = Branch::new(&mut state);
            let updates = staking::end_block(&mut branch, &block, &hooks)
                .map_err(|e| app_err(format!("staking end block: {e}")))?;
            let events = branch.take_events();
            branch.commit();
            (updates, events)
        };
        let prepared = self
            .store
            .prepare(req.height as u64, state.into_writes())
            .map_err(app_err)?;
        let app_hash = Bytes::from(prepared.root().to_vec());
        self.pending = Some((req.height, prepared, time));
        Ok(abci::ResponseFinalizeBlock {
            tx_results,
            app_hash,
            validator_updates: abci_updates(updates),
            events: abci_events(begin_events.into_iter().chain(events).collect()),
            ..Default::default()
        })
    }

    fn commit(&mut self) -> AppResult<abci::ResponseCommit> {
        let (height, prepared, time) = self
            .pending
            .take()
            .ok_or_else(|| app_err("Commit without FinalizeBlock"))?;
        if self.deferred {
            self.store.commit_deferred(prepared)
        } else {
            self.store.commit(prepared)
        }
        .map_err(app_err)?;
        self.checker.reset(Some(height as u64), time);
        self.queries.set_last_time(time);
        if let Some(s) = &self.snapshots {
            s.after_commit(&self.store, height as u64);
        }
        Ok(abci::ResponseCommit {
            retain_height: self.retain_height(height as u64)?,
        })
    }

    fn defer_durability(&mut self) -> AppResult<bool> {
        self.deferred = true;
        Ok(true)
    }

    fn make_durable(&mut self) -> AppResult<()> {
        self.store.make_durable().map_err(app_err)?;
        self.deferred = false;
        Ok(())
    }

    fn snapshots(&self) -> Option<Arc<dyn AppSnapshots>> {
        self.snapshots.clone().map(|s| s as Arc<dyn AppSnapshots>)
    }

    fn list_snapshots(&self) -> AppResult<abci::ResponseListSnapshots> {
        match &self.snapshots {
            Some(s) => s.list_snapshots(),
            None => Ok(abci::ResponseListSnapshots::default()),
        }
    }

    fn load_snapshot_chunk(
        &self,
        req: abci::RequestLoadSnapshotChunk,
    ) -> AppResult<abci::ResponseLoadSnapshotChunk> {
        match &self.snapshots {
            Some(s) => s.load_snapshot_chunk(req),
            None => Ok(abci::ResponseLoadSnapshotChunk::default()),
        }
    }

    fn offer_snapshot(
        &mut self,
        req: abci::RequestOfferSnapshot,
    ) -> AppResult<abci::ResponseOfferSnapshot> {
        use abci::response_offer_snapshot::Result as R;
        let answer = |r: R| Ok(abci::ResponseOfferSnapshot { result: r as i32 });
        let Some(snap) = req.snapshot else {
            return answer(R::Reject);
        };
        if snap.format != crate::snapshots::FORMAT {
            return answer(R::RejectFormat);
        }
        self.restoring = None;
        match Restoring::begin(
            &self.store,
            snap.height,
            snap.chunks,
            &snap.metadata,
            &req.app_hash,
        ) {
            Ok(r) => {
                if r.next_chunk() > 0 {
                    tracing::info!(
                        height = snap.height,
                        next_chunk = r.next_chunk(),
                        "resuming an unfinished restore"
                    );
                }
                self.restoring = Some(r);
                answer(R::Accept)
            }
            Err(SnapshotError::Invalid(_)) => answer(R::Reject),
            // State sync is for a node with no state: one that has some stops it.
            Err(SnapshotError::Store(keystone_store::Error::NotEmpty)) => answer(R::Abort),
            Err(e) => Err(app_err(e)),
        }
    }

    fn apply_snapshot_chunk(
        &mut self,
        req: abci::RequestApplySnapshotChunk,
    ) -> AppResult<abci::ResponseApplySnapshotChunk> {
        use abci::response_apply_snapshot_chunk::Result as R;
        let answer = |r: R, refetch: Vec<u32>, reject: Vec<String>| {
            Ok(abci::ResponseApplySnapshotChunk {
                result: r as i32,
                refetch_chunks: refetch,
                reject_senders: reject,
            })
        };
        let Some(restoring) = self.restoring.as_mut() else {
            return answer(R::Abort, vec![], vec![]);
        };
        // A chunk a resumed restore already holds (the engine starts again from 0).
        if req.index < restoring.next_chunk() {
            return answer(R::Accept, vec![], vec![]);
        }
        let senders = || {
            if req.sender.is_empty() {
                vec![]
            } else {
                vec![req.sender.clone()]
            }
        };
        match restoring.apply(req.index, &req.chunk).map_err(app_err)? {
            Applied::More => answer(R::Accept, vec![], vec![]),
            Applied::Refused(_) => answer(R::Retry, vec![req.index], senders()),
            Applied::WrongRoot(_) => answer(R::RejectSnapshot, vec![], vec![]),
            Applied::Done => {
                let Some(r) = self.restoring.take() else {
                    return answer(R::Abort, vec![], vec![]);
                };
                match r.finish().map_err(app_err)? {
                    Applied::Done => {
                        let version = self.latest()?;
                        self.checker.reset(version, Timestamp::default());
                        answer(R::Accept, vec![], vec![])
                    }
                    _ => {
                        self.store.abort_restore().map_err(app_err)?;
                        answer(R::RejectSnapshot, vec![], vec![])
                    }
                }
            }
        }
    }
}
