//! The engine in virtual time with a small durable application: blocks are produced with the
//! mempool's transactions, every header links to the last and carries the app hash and
//! results of the block before, commits verify, and a node dropped mid-height restarts from
//! its files and goes on with the same chain.

use keystone_consensus_core::TimeoutConfig;
use keystone_consensus_driver::block_store::BlockStore;
use keystone_consensus_driver::engine::{results_hash, Action, Engine, EngineConfig, Genesis};
use keystone_consensus_driver::mempool::{Mempool, MempoolConfig};
use keystone_consensus_driver::privval::{write_key_file, FilePrivVal};
use keystone_consensus_driver::wal::Wal;
use keystone_consensus_types::{
    sha256, Block, BlockId, Commit, HashedParams, Header, PrivateKey, Time, Validator, ValidatorSet,
};
use keystone_proto::abci;
use keystone_proto::prost::bytes::Bytes;
use keystone_proto::{AppResult, Application};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Durable toy app: app hash = sha256(previous hash ‖ txs); state in a JSON file on Commit.
struct FileApp {
    path: PathBuf,
    height: i64,
    hash: Vec<u8>,
    pending: Option<(i64, Vec<u8>)>,
    /// `decided_last_commit` of each FinalizeBlock this process saw, by height.
    last_commits: Vec<(i64, Option<abci::CommitInfo>)>,
}

impl FileApp {
    fn open(path: PathBuf) -> FileApp {
        let (height, hash) = match std::fs::read(&path) {
            Ok(b) => {
                let v: serde_json::Value = serde_json::from_slice(&b).expect("app state");
                (
                    v["height"].as_i64().expect("h"),
                    hex::decode(v["hash"].as_str().expect("hash")).expect("hex"),
                )
            }
            Err(_) => (0, Vec::new()),
        };
        FileApp {
            path,
            height,
            hash,
            pending: None,
            last_commits: Vec::new(),
        }
    }
}

impl Application for FileApp {
    fn info(&self, _: abci::RequestInfo) -> AppResult<abci::ResponseInfo> {
        Ok(abci::ResponseInfo {
            last_block_height: self.height,
            last_block_app_hash: Bytes::from(self.hash.clone()),
            ..Default::default()
        })
    }
    fn query(&self, _: abci::RequestQuery) -> AppResult<abci::ResponseQuery> {
        Ok(Default::default())
    }
    fn check_tx(&mut self, req: abci::RequestCheckTx) -> AppResult<abci::ResponseCheckTx> {
        Ok(abci::ResponseCheckTx {
            code: u32::from(req.tx.is_empty()),
            gas_wanted: 1,
            ..Default::default()
        })
    }
    fn init_chain(&mut self, _: abci::RequestInitChain) -> AppResult<abci::ResponseInitChain> {
        self.hash = sha256(b"genesis").0.to_vec();
        // A test may have the app choose the first validators (as gentxs make a chain do).
        let init = self.path.with_file_name("init_validators");
        let validators = match std::fs::read_to_string(init) {
            Ok(spec) => spec.lines().filter_map(|l| update(l.as_bytes())).collect(),
            Err(_) => Vec::new(),
        };
        std::fs::write(
            &self.path,
            serde_json::json!({"height": 0, "hash": hex::encode(&self.hash)}).to_string(),
        )
        .expect("write");
        Ok(abci::ResponseInitChain {
            app_hash: Bytes::from(self.hash.clone()),
            validators,
            ..Default::default()
        })
    }
    fn finalize_block(
        &mut self,
        req: abci::RequestFinalizeBlock,
    ) -> AppResult<abci::ResponseFinalizeBlock> {
        let mut acc = self.hash.clone();
        for tx in &req.txs {
            acc.extend_from_slice(tx);
        }
        let next = sha256(&acc).0.to_vec();
        self.pending = Some((req.height, next.clone()));
        self.last_commits
            .push((req.height, req.decided_last_commit.clone()));
        Ok(abci::ResponseFinalizeBlock {
            tx_results: req
                .txs
                .iter()
                .map(|t| abci::ExecTxResult {
                    code: 0,
                    gas_used: t.len() as i64,
                    ..Default::default()
                })
                .collect(),
            app_hash: Bytes::from(next),
            validator_updates: req.txs.iter().filter_map(|t| update(t)).collect(),
            ..Default::default()
        })
    }
    fn commit(&mut self) -> AppResult<abci::ResponseCommit> {
        let (h, hash) = self.pending.take().expect("finalized");
        std::fs::write(
            &self.path,
            serde_json::json!({"height": h, "hash": hex::encode(&hash)}).to_string(),
        )
        .expect("write");
        self.height = h;
        self.hash = hash;
        Ok(Default::default())
    }
}

/// `val:<seed>:<power>`: a validator update for the key with that seed byte.
fn update(tx: &[u8]) -> Option<abci::ValidatorUpdate> {
    let s = std::str::from_utf8(tx).ok()?.strip_prefix("val:")?;
    let (seed, power) = s.split_once(':')?;
    let key = PrivateKey::from_seed([seed.parse().ok()?; 32]);
    Some(abci::ValidatorUpdate {
        pub_key: Some(key.public_key().to_proto()),
        power: power.parse().ok()?,
    })
}

const CHAIN: &str = "engine-test";

fn genesis(key: &PrivateKey) -> Genesis {
    Genesis {
        chain_id: CHAIN.into(),
        time: Time::from_unix_millis(1_700_000_000_000),
        initial_height: 1,
        validators: ValidatorSet::new(vec![Validator::new(key.public_key(), 10)]).expect("set"),
        params: HashedParams::default(),
        consensus_params: None,
        app_state: b"{}".to_vec(),
    }
}

fn cfg() -> EngineConfig {
    let ms = Duration::from_millis;
    EngineConfig {
        timeouts: TimeoutConfig {
            propose: ms(300),
            propose_delta: ms(100),
            prevote: ms(100),
            prevote_delta: ms(50),
            precommit: ms(100),
            precommit_delta: ms(50),
            commit: ms(50),
        },
        max_block_tx_bytes: 1 << 20,
        max_block_gas: -1,
        evidence_max_age_blocks: 100_000,
        max_evidence_bytes: 1_048_576,
    }
}

fn open(dir: &Path) -> Engine<FileApp> {
    let key_path = dir.join("priv_validator_key.json");
    if !key_path.exists() {
        write_key_file(&key_path, &PrivateKey::from_seed([42; 32])).expect("key");
    }
    let privval =
        FilePrivVal::load(&key_path, &dir.join("priv_validator_state.json")).expect("privval");
    let key = PrivateKey::from_seed([42; 32]);
    let (wal, _) = Wal::open(&dir.join("cs.wal").join("wal")).expect("wal");
    Engine::new(
        genesis(&key),
        cfg(),
        FileApp::open(dir.join("app.json")),
        BlockStore::open(&dir.join("blockstore.redb")).expect("blocks"),
        wal,
        privval,
        Mempool::new(MempoolConfig::default()),
    )
}

/// Run the engine in virtual time until `height` is committed or `max_events` pass.
struct Clock {
    now_ms: i64,
    queue: BTreeMap<(i64, u64), Action>,
    seq: u64,
}

impl Clock {
    fn new() -> Clock {
        Clock {
            now_ms: 1_700_000_000_000,
            queue: BTreeMap::new(),
            seq: 0,
        }
    }
    fn push(&mut self, actions: Vec<Action>) {
        for a in actions {
            let after = match &a {
                Action::Timeout { after, .. } | Action::NextHeight { after } => {
                    after.as_millis() as i64
                }
                // One validator: nobody to tell.
                Action::Broadcast(_) => continue,
            };
            self.seq += 1;
            self.queue.insert((self.now_ms + after, self.seq), a);
        }
    }
    fn now(&self) -> Time {
        Time::from_unix_millis(self.now_ms)
    }
    fn run_until(&mut self, e: &mut Engine<FileApp>, height: u64, max_events: usize) {
        for _ in 0..max_events {
            if e.last_height().expect("height") >= height {
                return;
            }
            let Some(((t, _), a)) = self.queue.pop_first() else {
                panic!("nothing scheduled")
            };
            self.now_ms = t;
            let out = match a {
                Action::Timeout {
                    height, timeout, ..
                } => e.on_timeout(height, timeout, self.now()),
                Action::NextHeight { .. } => e.next_height(self.now()),
                Action::Broadcast(_) => continue,
            };
            self.push(out.expect("engine step"));
        }
        panic!("height {height} not reached");
    }
}

fn stored(e: &Engine<FileApp>, h: u64) -> (Block, BlockId, Commit) {
    let raw = e.blocks().block_proto(h).expect("read").expect("stored");
    let header = Header::from_proto(raw.header.as_ref().expect("header")).expect("header");
    let block = Block {
        header,
        data: keystone_consensus_types::Data {
            txs: raw.data.as_ref().map(|d| d.txs.clone()).unwrap_or_default(),
        },
        evidence: vec![],
        last_commit: raw
            .last_commit
            .as_ref()
            .filter(|c| c.height > 0)
            .map(|c| Commit::from_proto(c).expect("commit")),
    };
    (
        block,
        e.blocks().block_id(h).expect("read").expect("id"),
        e.blocks().commit(h).expect("read").expect("commit"),
    )
}

fn check_chain(e: &Engine<FileApp>, upto: u64) {
    let key = PrivateKey::from_seed([42; 32]);
    let set = genesis(&key).validators;
    let mut last: Option<BlockId> = None;
    for h in 1..=upto {
        let (block, id, commit) = stored(e, h);
        assert_eq!(block.block_id(), id, "height {h}: the id is the block's");
        block
            .check_header_hashes()
            .expect("header hashes match the body");
        assert_eq!(
            block.header.last_block_id,
            last,
            "height {h} links to {}",
            h - 1
        );
        set.copy_increment((h - 1) as u32)
            .verify_commit(CHAIN, &id, h, &commit)
            .expect("commit verifies");
        if h > 1 {
            let prev = e.blocks().results(h - 1).expect("read").expect("results");
            assert_eq!(
                block.header.app_hash,
                prev.app_hash.to_vec(),
                "app hash of {h} is the state after {}",
                h - 1
            );
            assert_eq!(
                block.header.last_results_hash,
                results_hash(&prev.tx_results)
            );
            assert!(
                block.header.time > stored(e, h - 1).0.header.time,
                "BFT time moves forward"
            );
        }
        last = Some(id);
    }
}

#[test]
fn blocks_carry_mempool_txs_and_link_up() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut e = open(dir.path());
    let mut clock = Clock::new();
    clock.push(e.start(clock.now()).expect("start"));
    clock.run_until(&mut e, 2, 1000);
    for i in 0..5 {
        assert_eq!(
            e.check_tx(format!("tx{i}").into_bytes())
                .expect("mempool")
                .code,
            0
        );
    }
    clock.run_until(&mut e, 5, 1000);
    check_chain(&e, 5);
    let txs: usize = (1..=5).map(|h| stored(&e, h).0.data.txs.len()).sum();
    assert_eq!(txs, 5, "every admitted tx was committed exactly once");
    assert!(
        e.check_tx(b"tx0".to_vec()).is_err(),
        "a committed tx stays in the cache"
    );
    // The app hears who signed the previous block: nobody before the first, then the one
    // validator, with its power, precommitting the block (flag Commit).
    let seen = &e.app().last_commits;
    assert_eq!(seen[0].0, 1);
    assert!(seen[0].1.as_ref().expect("sent").votes.is_empty());
    let vals = e.validators_at(1).expect("read").expect("set");
    for (h, info) in &seen[1..] {
        let info = info.as_ref().expect("sent");
        assert_eq!(info.votes.len(), 1, "height {h}");
        let v = &info.votes[0];
        let val = v.validator.as_ref().expect("validator");
        assert_eq!(
            val.address.as_ref(),
            vals.validators()[0].address.0.as_slice()
        );
        assert_eq!(val.power, vals.validators()[0].voting_power);
        assert_eq!(
            v.block_id_flag,
            keystone_proto::types::BlockIdFlag::Commit as i32
        );
    }
}

#[test]
fn a_node_dropped_mid_height_restarts_and_continues_the_same_chain() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut clock = Clock::new();
    let mut e = open(dir.path());
    clock.push(e.start(clock.now()).expect("start"));
    clock.run_until(&mut e, 3, 1000);
    let before: Vec<BlockId> = (1..=3).map(|h| stored(&e, h).1).collect();
    // Crash at several points inside the next heights: drop everything in memory, reopen the
    // files, restart; pending timers are lost as in a real crash.
    for cut in [1usize, 2, 3, 5, 8] {
        for _ in 0..cut {
            let Some(((t, _), a)) = clock.queue.pop_first() else {
                break;
            };
            clock.now_ms = t;
            let out = match a {
                Action::Timeout {
                    height, timeout, ..
                } => e.on_timeout(height, timeout, clock.now()),
                Action::NextHeight { .. } => e.next_height(clock.now()),
                Action::Broadcast(_) => continue,
            };
            clock.push(out.expect("step"));
        }
        drop(e);
        clock.queue.clear();
        e = open(dir.path());
        clock.push(e.start(clock.now()).expect("restart"));
    }
    let target = e.last_height().expect("h") + 3;
    clock.run_until(&mut e, target, 2000);
    let after: Vec<BlockId> = (1..=3).map(|h| stored(&e, h).1).collect();
    assert_eq!(before, after, "committed blocks never change");
    check_chain(&e, target);
}

/// A crash after a block was stored but before the application committed it: the
/// application restarts one height behind, and the handshake hands it the stored block.
#[test]
fn the_handshake_replays_a_block_the_app_did_not_commit() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut clock = Clock::new();
    let mut e = open(dir.path());
    clock.push(e.start(clock.now()).expect("start"));
    e.check_tx(b"hello".to_vec()).expect("mempool");
    clock.run_until(&mut e, 3, 1000);
    let app_file = dir.path().join("app.json");
    let at3 = std::fs::read(&app_file).expect("app state");
    clock.run_until(&mut e, 4, 1000);
    let results4 = e.blocks().results(4).expect("read").expect("results");
    drop(e);
    // The app lost its last commit.
    std::fs::write(&app_file, at3).expect("rewind the app");
    let mut e = open(dir.path());
    assert_eq!(
        e.app()
            .info(abci::RequestInfo::default())
            .expect("info")
            .last_block_height,
        3
    );
    clock.queue.clear();
    clock.push(e.start(clock.now()).expect("restart with replay"));
    // A single validator decides the next height within start: block 5 is built on the state
    // the replayed block 4 produced, which must be the state block 4 produced the first time.
    assert!(
        e.app()
            .info(abci::RequestInfo::default())
            .expect("info")
            .last_block_height
            >= 4
    );
    assert_eq!(stored(&e, 5).0.header.app_hash, results4.app_hash.to_vec());
    assert_eq!(
        e.blocks().results(4).expect("read").expect("results"),
        results4
    );
    clock.run_until(&mut e, 6, 1000);
    check_chain(&e, 6);
}

/// An external application restarted without its data: the handshake runs InitChain, then
/// hands it every stored block, and it reaches the same app hashes.
#[test]
fn an_app_that_lost_its_state_is_rebuilt_from_genesis_and_the_stored_blocks() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut clock = Clock::new();
    let mut e = open(dir.path());
    clock.push(e.start(clock.now()).expect("start"));
    e.check_tx(b"hello".to_vec()).expect("mempool");
    clock.run_until(&mut e, 4, 1000);
    let top = e.last_height().expect("h");
    let results = e.blocks().results(top).expect("read").expect("results");
    drop(e);
    std::fs::remove_file(dir.path().join("app.json")).expect("the app loses everything");
    let mut e = open(dir.path());
    clock.queue.clear();
    clock.push(e.start(clock.now()).expect("restart from genesis"));
    assert!(
        e.app()
            .info(abci::RequestInfo::default())
            .expect("info")
            .last_block_height
            >= top as i64
    );
    assert_eq!(
        e.blocks().results(top).expect("read").expect("results"),
        results,
        "the replayed blocks give the results they gave the first time"
    );
    clock.run_until(&mut e, top + 2, 1000);
    check_chain(&e, top + 2);
}

/// An application ahead of the block store is refused: continuing could fork.
#[test]
fn an_app_ahead_of_the_block_store_stops_the_node() {
    let dir = tempfile::tempdir().expect("tmp");
    std::fs::write(
        dir.path().join("app.json"),
        serde_json::json!({"height": 9, "hash": "00"}).to_string(),
    )
    .expect("write");
    let mut e = open(dir.path());
    let err = e
        .start(Time::from_unix_millis(1_700_000_000_000))
        .expect_err("refused");
    assert!(
        err.to_string().contains("ahead of the block store"),
        "{err}"
    );
}

/// The height whose block carries `tx`.
fn height_of(e: &Engine<FileApp>, tx: &[u8]) -> u64 {
    (1..=e.last_height().expect("h"))
        .find(|h| stored(e, *h).0.data.txs.iter().any(|t| t == tx))
        .expect("committed")
}

fn powers(e: &Engine<FileApp>, h: u64) -> Vec<i64> {
    e.validators_at(h)
        .expect("read")
        .expect("known")
        .validators()
        .iter()
        .map(|v| v.voting_power)
        .collect()
}

/// Validator updates returned by `FinalizeBlock` at H are the `next_validators_hash` of H+1
/// and sign from H+2 (CometBFT's rule); the sets survive a restart.
#[test]
fn validator_updates_take_effect_two_heights_later() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut clock = Clock::new();
    let mut e = open(dir.path());
    clock.push(e.start(clock.now()).expect("start"));
    clock.run_until(&mut e, 2, 1000);
    e.check_tx(b"val:42:25".to_vec()).expect("mempool");
    let h = e.last_height().expect("h") + 1;
    clock.run_until(&mut e, h + 3, 2000);
    assert_eq!(height_of(&e, b"val:42:25"), h);
    assert_eq!(powers(&e, h + 1), vec![10], "unchanged at H+1");
    assert_eq!(powers(&e, h + 2), vec![25], "changed from H+2");
    let set2 = e.validators_at(h + 2).expect("read").expect("known");
    assert_eq!(
        stored(&e, h).0.header.next_validators_hash,
        e.validators_at(h + 1).expect("r").expect("k").hash()
    );
    assert_eq!(stored(&e, h + 1).0.header.next_validators_hash, set2.hash());
    assert_eq!(stored(&e, h + 2).0.header.validators_hash, set2.hash());
    let (_, id, commit) = stored(&e, h + 2);
    set2.verify_commit(CHAIN, &id, h + 2, &commit)
        .expect("the new power signs H+2");

    // A second validator that never signs (1 of 26: the chain goes on, with rounds it
    // should have proposed timing out), then its removal.
    e.check_tx(b"val:7:1".to_vec()).expect("mempool");
    let target = e.last_height().expect("h") + 4;
    clock.run_until(&mut e, target, 20_000);
    let added = height_of(&e, b"val:7:1");
    assert_eq!(powers(&e, added + 2), vec![25, 1]);
    e.check_tx(b"val:7:0".to_vec()).expect("mempool");
    let target = e.last_height().expect("h") + 4;
    clock.run_until(&mut e, target, 20_000);
    let removed = height_of(&e, b"val:7:0");
    assert_eq!(powers(&e, removed + 1), vec![25, 1]);
    assert_eq!(powers(&e, removed + 2), vec![25]);

    // Every block's commit verifies against the recorded set of its height, after a restart.
    let top = e.last_height().expect("h");
    let before: Vec<_> = (1..=top + 2)
        .map(|h| e.validators_at(h).expect("r"))
        .collect();
    drop(e);
    clock.queue.clear();
    let mut e = open(dir.path());
    clock.push(e.start(clock.now()).expect("restart"));
    let after: Vec<_> = (1..=top + 2)
        .map(|h| e.validators_at(h).expect("r"))
        .collect();
    assert_eq!(before, after, "the sets are durable");
    clock.run_until(&mut e, top + 3, 20_000);
    for h in 1..=top + 3 {
        let (block, id, commit) = stored(&e, h);
        let set = e.validators_at(h).expect("r").expect("k");
        assert_eq!(block.header.validators_hash, set.hash(), "height {h}");
        set.verify_commit(CHAIN, &id, h, &commit)
            .unwrap_or_else(|err| panic!("commit {h}: {err}"));
    }
}

/// The validators InitChain returns (a chain started from gentxs) replace the genesis
/// document's, which may then be empty.
#[test]
fn init_chain_validators_replace_the_genesis_set() {
    let dir = tempfile::tempdir().expect("tmp");
    std::fs::write(dir.path().join("init_validators"), "val:42:5\n").expect("write");
    let mut e = open(dir.path());
    let mut clock = Clock::new();
    clock.push(e.start(clock.now()).expect("start"));
    clock.run_until(&mut e, 3, 1000);
    assert_eq!(powers(&e, 1), vec![5]);
    assert_eq!(powers(&e, 4), vec![5]);
}

/// A chain whose set does not change still records it every
/// `VALIDATOR_SET_CHECKPOINT` heights (so loading a set stays cheap), and the record is
/// exactly what the loading rule gives without it.
#[test]
fn a_quiet_chain_records_its_set_at_each_checkpoint() {
    use keystone_consensus_driver::engine::VALIDATOR_SET_CHECKPOINT;
    let dir = tempfile::tempdir().expect("tmp");
    let mut clock = Clock::new();
    let mut e = open(dir.path());
    clock.push(e.start(clock.now()).expect("start"));
    let cp = VALIDATOR_SET_CHECKPOINT;
    clock.run_until(&mut e, cp, 100 * cp as usize);
    let (at, recorded) = e
        .blocks()
        .validator_set_at(cp + 5)
        .expect("read")
        .expect("recorded");
    assert_eq!(at, cp, "recorded at the checkpoint");
    let genesis = genesis(&PrivateKey::from_seed([42; 32])).validators;
    assert_eq!(recorded, genesis.copy_increment((cp - 1) as u32));
    assert_eq!(
        e.validators_at(cp + 2).expect("read").expect("known"),
        genesis.copy_increment((cp + 1) as u32)
    );
}
