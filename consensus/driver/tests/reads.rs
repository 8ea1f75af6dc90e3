//! Reads and CheckTx never wait for consensus: while the node's one thread is held inside the
//! application's FinalizeBlock, `status`, `block`, `abci_query` and `num_unconfirmed_txs`
//! are answered from the node's read view on another thread, from the last committed
//! state, and a client's transaction is checked on the mempool's thread through the
//! application's mempool connection and admitted; a `Request::Call` for the same method,
//! which goes to the node's thread, is not answered until the block is done.

use keystone_consensus_core::TimeoutConfig;
use keystone_consensus_driver::block_store::BlockStore;
use keystone_consensus_driver::engine::{Engine, EngineConfig, Genesis};
use keystone_consensus_driver::mempool::{Mempool, MempoolConfig};
use keystone_consensus_driver::node::run::{self, Event};
use keystone_consensus_driver::node::{Node, Request};
use keystone_consensus_driver::privval::{write_key_file, FilePrivVal};
use keystone_consensus_driver::rpc::{self, NodeContext, Params, ReadView};
use keystone_consensus_driver::switch::Switch;
use keystone_consensus_driver::wal::Wal;
use keystone_consensus_types::{sha256, HashedParams, PrivateKey, Time, Validator, ValidatorSet};
use keystone_p2p::NodeInfo;
use keystone_proto::abci;
use keystone_proto::prost::bytes::Bytes;
use keystone_proto::{AppChecker, AppReader, AppResult, Application};
use serde_json::{json, Value};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The height whose FinalizeBlock waits for the test to open the gate.
const GATED: i64 = 3;
/// The height the node stops at.
const STOP: u64 = 5;

/// Committed height and hash, shared with the query connection.
#[derive(Default)]
struct Committed {
    height: i64,
    hash: Vec<u8>,
}

struct Reader(Arc<Mutex<Committed>>);

impl AppReader for Reader {
    fn info(&self, _: abci::RequestInfo) -> AppResult<abci::ResponseInfo> {
        let c = self.0.lock().expect("no panics while held");
        Ok(abci::ResponseInfo {
            last_block_height: c.height,
            last_block_app_hash: Bytes::from(c.hash.clone()),
            ..Default::default()
        })
    }
    fn query(&self, req: abci::RequestQuery) -> AppResult<abci::ResponseQuery> {
        let c = self.0.lock().expect("no panics while held");
        Ok(abci::ResponseQuery {
            key: req.data,
            value: Bytes::from(format!("committed at {}", c.height)),
            height: c.height,
            ..Default::default()
        })
    }
}

/// The mempool connection: admits anything but `bad`, counting its calls.
#[derive(Default)]
struct Checker(Mutex<u32>);

impl AppChecker for Checker {
    fn check_tx(&self, req: abci::RequestCheckTx) -> AppResult<abci::ResponseCheckTx> {
        *self.0.lock().expect("no panics while held") += 1;
        Ok(abci::ResponseCheckTx {
            code: u32::from(req.tx.as_ref() == b"bad"),
            ..Default::default()
        })
    }
}

/// App hash = sha256(previous ‖ height); FinalizeBlock of [`GATED`] tells the test it has
/// begun, then waits for the gate.
struct GatedApp {
    committed: Arc<Mutex<Committed>>,
    checker: Arc<Checker>,
    pending: Option<(i64, Vec<u8>)>,
    entered: Sender<()>,
    gate: Receiver<()>,
}

impl Application for GatedApp {
    fn reader(&self) -> Option<Arc<dyn AppReader>> {
        Some(Arc::new(Reader(self.committed.clone())))
    }
    fn info(&self, req: abci::RequestInfo) -> AppResult<abci::ResponseInfo> {
        Reader(self.committed.clone()).info(req)
    }
    fn query(&self, req: abci::RequestQuery) -> AppResult<abci::ResponseQuery> {
        Reader(self.committed.clone()).query(req)
    }
    fn checker(&self) -> Option<Arc<dyn AppChecker>> {
        Some(self.checker.clone())
    }
    fn check_tx(&mut self, req: abci::RequestCheckTx) -> AppResult<abci::ResponseCheckTx> {
        self.checker.check_tx(req)
    }
    fn init_chain(&mut self, _: abci::RequestInitChain) -> AppResult<abci::ResponseInitChain> {
        let hash = sha256(b"genesis").0.to_vec();
        self.committed.lock().expect("no panics while held").hash = hash.clone();
        Ok(abci::ResponseInitChain {
            app_hash: Bytes::from(hash),
            ..Default::default()
        })
    }
    fn finalize_block(
        &mut self,
        req: abci::RequestFinalizeBlock,
    ) -> AppResult<abci::ResponseFinalizeBlock> {
        if req.height == GATED {
            let _ = self.entered.send(());
            let _ = self.gate.recv();
        }
        let mut acc = self
            .committed
            .lock()
            .expect("no panics while held")
            .hash
            .clone();
        acc.extend_from_slice(&req.height.to_be_bytes());
        let next = sha256(&acc).0.to_vec();
        self.pending = Some((req.height, next.clone()));
        Ok(abci::ResponseFinalizeBlock {
            tx_results: vec![abci::ExecTxResult::default(); req.txs.len()],
            app_hash: Bytes::from(next),
            ..Default::default()
        })
    }
    fn commit(&mut self) -> AppResult<abci::ResponseCommit> {
        let (height, hash) = self.pending.take().expect("FinalizeBlock came first");
        *self.committed.lock().expect("no panics while held") = Committed { height, hash };
        Ok(Default::default())
    }
}

fn engine(dir: &std::path::Path, app: GatedApp) -> Engine<GatedApp> {
    let key = PrivateKey::from_seed([7; 32]);
    let key_path = dir.join("priv_validator_key.json");
    write_key_file(&key_path, &key).expect("key file");
    let privval =
        FilePrivVal::load(&key_path, &dir.join("priv_validator_state.json")).expect("privval");
    let (wal, _) = Wal::open(&dir.join("cs.wal").join("wal")).expect("wal");
    let genesis = Genesis {
        chain_id: "reads-test".into(),
        time: Time::from_unix_millis(1_700_000_000_000),
        initial_height: 1,
        validators: ValidatorSet::new(vec![Validator::new(key.public_key(), 10)]).expect("set"),
        params: HashedParams::default(),
        consensus_params: None,
        app_state: b"{}".to_vec(),
    };
    let ms = Duration::from_millis;
    let cfg = EngineConfig {
        timeouts: TimeoutConfig {
            propose: ms(300),
            propose_delta: ms(100),
            prevote: ms(100),
            prevote_delta: ms(50),
            precommit: ms(100),
            precommit_delta: ms(50),
            commit: ms(10),
        },
        max_block_tx_bytes: 1 << 20,
        max_block_gas: -1,
        evidence_max_age_blocks: 100_000,
        max_evidence_bytes: 1_048_576,
    };
    Engine::new(
        genesis,
        cfg,
        app,
        BlockStore::open(&dir.join("blockstore.redb")).expect("block store"),
        wal,
        privval,
        Mempool::new(MempoolConfig::default()),
    )
}

/// `method` read on a thread of its own; `None` if it took longer than `within`.
fn read_within(
    view: &ReadView,
    method: &'static str,
    p: Params,
    within: Duration,
) -> Option<Value> {
    let (tx, rx) = mpsc::channel();
    let view = view.clone();
    std::thread::spawn(move || {
        let _ = tx.send(rpc::read(&view, method, &p));
    });
    rx.recv_timeout(within)
        .ok()
        .map(|r| r.expect("the read succeeds"))
}

#[test]
fn reads_are_answered_while_the_node_is_inside_finalize_block() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (entered_tx, entered) = mpsc::channel();
    let (open_gate, gate) = mpsc::channel();
    let checker = Arc::new(Checker::default());
    let app = GatedApp {
        committed: Arc::default(),
        checker: checker.clone(),
        pending: None,
        entered: entered_tx,
        gate,
    };
    let key = PrivateKey::from_seed([1; 32]);
    let context = NodeContext {
        info: NodeInfo::new(&key.public_key(), "reads-test", "", "reads", &[]),
        rpc_address: "tcp://127.0.0.1:0".into(),
        genesis: json!({}),
        peers: Vec::new(),
        listening: false,
        catching_up: false,
    };
    let node: Node<GatedApp, Switch> = Node::new(
        engine(dir.path(), app),
        None,
        context,
        std::time::Instant::now(),
    );
    let view = node.reads();
    let (events_tx, events) = mpsc::channel();
    let running = std::thread::spawn(move || run::run(node, events, Some(STOP), |_, _, _| {}));

    entered
        .recv_timeout(Duration::from_secs(60))
        .expect("the node reached the gated FinalizeBlock");
    // The node's thread is inside FinalizeBlock of height 3 until the gate opens; the
    // application's state is that of height 2.
    let within = Duration::from_secs(10);
    let status = read_within(&view, "status", Params::default(), within)
        .expect("status is answered while a block executes");
    // As in CometBFT, a decided block is stored before it is executed.
    assert_eq!(status["sync_info"]["latest_block_height"], "3");
    let block = read_within(
        &view,
        "block",
        Params::default().with("height", json!("2")),
        within,
    )
    .expect("block is answered while a block executes");
    assert_eq!(block["block"]["header"]["height"], "2");
    let query = read_within(
        &view,
        "abci_query",
        Params::default().with("data", json!("6b6579")),
        within,
    )
    .expect("abci_query is answered while a block executes");
    assert_eq!(query["response"]["height"], "2");
    assert_eq!(query["response"]["key"], "a2V5");
    let mempool = read_within(&view, "num_unconfirmed_txs", Params::default(), within)
        .expect("num_unconfirmed_txs is answered while a block executes");
    assert_eq!(mempool["n_txs"], "0");

    // A client's transactions are checked and admitted meanwhile, by the mempool's thread.
    assert!(
        view.mempool().threaded(),
        "the node runs its mempool thread"
    );
    let checks_before = *checker.0.lock().expect("no panics while held");
    for (tx, code) in [(b"key=value".to_vec(), 0), (b"bad".to_vec(), 1)] {
        let (answer_tx, answer) = mpsc::channel();
        let offered = view.mempool().offer(
            tx,
            Box::new(move |r| {
                let _ = answer_tx.send(r);
            }),
        );
        assert!(
            offered.is_ok(),
            "the mempool's thread takes the transaction"
        );
        let res = answer
            .recv_timeout(within)
            .expect("CheckTx is answered while a block executes")
            .expect("checked");
        assert_eq!(res.code, code);
    }
    assert_eq!(
        *checker.0.lock().expect("no panics while held"),
        checks_before + 2,
        "checked through the mempool connection"
    );
    let mempool = read_within(&view, "num_unconfirmed_txs", Params::default(), within)
        .expect("num_unconfirmed_txs");
    assert_eq!(
        mempool["n_txs"], "1",
        "the good transaction waits in the mempool"
    );

    // The same question through the node's thread waits for the block.
    let (reply_tx, reply) = mpsc::channel();
    events_tx
        .send(Event::Rpc(Request::Call(
            "status".into(),
            Params::default(),
            Box::new(move |r| {
                let _ = reply_tx.send(r);
            }),
        )))
        .expect("the node is running");
    assert!(
        reply.recv_timeout(Duration::from_millis(300)).is_err(),
        "the node's thread answered while it was inside FinalizeBlock"
    );

    open_gate.send(()).expect("the app waits at the gate");
    let answered = reply
        .recv_timeout(Duration::from_secs(30))
        .expect("answered once the block is done")
        .expect("status");
    assert!(
        answered["sync_info"]["latest_block_height"]
            .as_str()
            .and_then(|h| h.parse::<u64>().ok())
            .is_some_and(|h| h >= 3),
        "{answered}"
    );
    running
        .join()
        .expect("the node thread ends")
        .expect("the node stops");
    let status = read_within(&view, "status", Params::default(), within).expect("status");
    assert_eq!(status["sync_info"]["latest_block_height"], STOP.to_string());
    // The transaction admitted during height 3's execution is in a later block, once.
    let mut found = Vec::new();
    for h in 4..=STOP {
        let block = read_within(
            &view,
            "block",
            Params::default().with("height", json!(h.to_string())),
            within,
        )
        .expect("block");
        if block["block"]["data"]["txs"] == json!(["a2V5PXZhbHVl"]) {
            found.push(h);
        }
    }
    assert_eq!(found.len(), 1, "in exactly one block: {found:?}");
    assert_eq!(
        view.mempool().len(),
        0,
        "committed transactions leave the mempool"
    );
}
