//! The mempool against a small application whose verdicts the test controls, on the engine's
//! thread and on the mempool's own.

use keystone_consensus_driver::mempool::{
    checks, Mempool, MempoolConfig, MempoolError, SharedMempool,
};
use keystone_proto::{abci, AppChecker, AppResult, Application};
use std::collections::BTreeSet;
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

/// Accepts a tx unless it starts with "bad" or has been marked spent; counts its calls.
#[derive(Default)]
struct Toy {
    spent: BTreeSet<Vec<u8>>,
    checks: usize,
    rechecks: usize,
}

impl Application for Toy {
    fn info(&self, _: abci::RequestInfo) -> AppResult<abci::ResponseInfo> {
        Ok(Default::default())
    }
    fn query(&self, _: abci::RequestQuery) -> AppResult<abci::ResponseQuery> {
        Ok(Default::default())
    }
    fn check_tx(&mut self, req: abci::RequestCheckTx) -> AppResult<abci::ResponseCheckTx> {
        if req.r#type == abci::CheckTxType::Recheck as i32 {
            self.rechecks += 1;
        } else {
            self.checks += 1;
        }
        let bad = req.tx.starts_with(b"bad") || self.spent.contains(req.tx.as_ref());
        Ok(abci::ResponseCheckTx {
            code: u32::from(bad),
            gas_wanted: 10,
            ..Default::default()
        })
    }
    fn init_chain(&mut self, _: abci::RequestInitChain) -> AppResult<abci::ResponseInitChain> {
        Ok(Default::default())
    }
    fn finalize_block(
        &mut self,
        _: abci::RequestFinalizeBlock,
    ) -> AppResult<abci::ResponseFinalizeBlock> {
        Ok(Default::default())
    }
    fn commit(&mut self) -> AppResult<abci::ResponseCommit> {
        Ok(Default::default())
    }
}

fn tx(s: &str) -> Vec<u8> {
    s.as_bytes().to_vec()
}

#[test]
fn admits_dedups_and_reaps_in_order() {
    let mut app = Toy::default();
    let mut m = Mempool::new(MempoolConfig::default());
    for t in ["a", "bb", "ccc", "dddd"] {
        assert_eq!(m.check_tx(&mut app, tx(t)).expect("checked").code, 0);
    }
    assert!(matches!(
        m.check_tx(&mut app, tx("a")),
        Err(MempoolError::InCache)
    ));
    assert_eq!(app.checks, 4, "a cached tx is not checked again");
    assert_eq!(m.check_tx(&mut app, tx("bad1")).expect("checked").code, 1);
    assert_eq!(m.len(), 4);
    assert_eq!(m.bytes(), 10);
    assert_eq!(m.reap(6, -1), vec![tx("a"), tx("bb"), tx("ccc")]);
    assert_eq!(m.reap(-1, 25), vec![tx("a"), tx("bb")], "10 gas each");
    assert_eq!(m.reap(-1, -1).len(), 4);
    // A refused tx may be offered again later.
    assert_eq!(m.check_tx(&mut app, tx("bad1")).expect("checked").code, 1);
}

#[test]
fn bounds_are_enforced() {
    let mut app = Toy::default();
    let mut m = Mempool::new(MempoolConfig {
        max_txs: 2,
        max_bytes: 5,
        max_tx_bytes: 4,
        cache_size: 100,
        recheck: true,
    });
    assert!(matches!(
        m.check_tx(&mut app, tx("12345")),
        Err(MempoolError::TooLarge { max: 4, got: 5 })
    ));
    m.check_tx(&mut app, tx("aaa")).expect("fits");
    assert!(
        matches!(
            m.check_tx(&mut app, tx("bbb")),
            Err(MempoolError::Full { .. })
        ),
        "bytes"
    );
    m.check_tx(&mut app, tx("b")).expect("fits");
    assert!(
        matches!(
            m.check_tx(&mut app, tx("c")),
            Err(MempoolError::Full { .. })
        ),
        "count"
    );
}

#[test]
fn update_drops_committed_and_rechecks_the_rest() {
    let mut app = Toy::default();
    let mut m = Mempool::new(MempoolConfig::default());
    for t in ["a", "b", "c"] {
        m.check_tx(&mut app, tx(t)).expect("checked");
    }
    // Block commits "a"; the new state also invalidates "c".
    app.spent.insert(tx("c"));
    m.update(&mut app, &[tx("a")]).expect("update");
    assert_eq!(m.reap(-1, -1), vec![tx("b")]);
    assert_eq!(app.rechecks, 2);
    assert!(
        matches!(m.check_tx(&mut app, tx("a")), Err(MempoolError::InCache)),
        "committed stays cached"
    );
    app.spent.clear();
    assert_eq!(
        m.check_tx(&mut app, tx("c")).expect("checked").code,
        0,
        "dropped on recheck, may return"
    );
}

#[test]
fn the_cache_forgets_the_oldest() {
    let mut app = Toy::default();
    let mut m = Mempool::new(MempoolConfig {
        cache_size: 2,
        ..MempoolConfig::default()
    });
    for t in ["x1", "x2", "x3"] {
        m.check_tx(&mut app, tx(t)).expect("checked");
    }
    m.update(&mut app, &[tx("x1"), tx("x2"), tx("x3")])
        .expect("update");
    // Only the two most recent hashes are remembered.
    assert!(m.check_tx(&mut app, tx("x1")).is_ok());
    assert!(matches!(
        m.check_tx(&mut app, tx("x3")),
        Err(MempoolError::InCache)
    ));
}

/// A mempool connection whose recheck of one chosen transaction waits for the test.
#[derive(Default)]
struct HeldChecker {
    spent: Mutex<BTreeSet<Vec<u8>>>,
    /// Every call: the transaction and whether it was a recheck.
    calls: Mutex<Vec<(Vec<u8>, bool)>>,
    /// The transaction whose recheck waits, who hears that it is waiting, and the release.
    hold: Mutex<Option<Hold>>,
}

/// A recheck to hold: of this transaction; tell the first channel, wait for the second.
type Hold = (Vec<u8>, mpsc::Sender<()>, mpsc::Receiver<()>);

impl AppChecker for HeldChecker {
    fn check_tx(&self, req: abci::RequestCheckTx) -> AppResult<abci::ResponseCheckTx> {
        let recheck = req.r#type == abci::CheckTxType::Recheck as i32;
        self.calls
            .lock()
            .expect("no panics while held")
            .push((req.tx.to_vec(), recheck));
        if recheck {
            let mut hold = self.hold.lock().expect("no panics while held");
            if hold.as_ref().is_some_and(|(t, _, _)| t == req.tx.as_ref()) {
                if let Some((_, waiting, release)) = hold.take() {
                    drop(hold);
                    let _ = waiting.send(());
                    let _ = release.recv_timeout(Duration::from_secs(60));
                }
            }
        }
        let spent = self
            .spent
            .lock()
            .expect("no panics while held")
            .contains(req.tx.as_ref());
        Ok(abci::ResponseCheckTx {
            code: u32::from(spent || req.tx.starts_with(b"bad")),
            gas_wanted: 10,
            ..Default::default()
        })
    }
}

type Answer = mpsc::Receiver<Result<abci::ResponseCheckTx, MempoolError>>;

/// Offer a client's `t` to the mempool's thread; its answer arrives on the receiver.
fn offer(m: &SharedMempool, t: Vec<u8>) -> Answer {
    let (answer_tx, answer) = mpsc::channel();
    let offered = m.offer(
        t,
        Box::new(move |r| {
            let _ = answer_tx.send(r);
        }),
    );
    assert!(offered.is_ok(), "the mempool's thread runs");
    answer
}

fn answered(a: &Answer) -> abci::ResponseCheckTx {
    a.recv_timeout(Duration::from_secs(30))
        .expect("answered")
        .expect("checked")
}

/// The mempool's thread: clients' and peers' transactions are checked there and gossiped
/// (a peer's not back to it); after a commit the recheck runs there, the proposer meanwhile
/// reaps what is held instead of waiting, and a new transaction is checked only after the
/// recheck (against the state the held ones leave).
#[test]
fn the_mempool_thread_checks_rechecks_and_never_holds_up_a_proposal() {
    let checker = Arc::new(HeldChecker::default());
    let m = SharedMempool::new(
        Mempool::new(MempoolConfig::default()),
        Some(checker.clone()),
    );
    let (gossiped_tx, gossiped) = mpsc::channel::<(Option<String>, Vec<Vec<u8>>)>();
    let gossip: checks::TxGossip = Box::new(move |except, txs| {
        let _ = gossiped_tx.send((except.map(str::to_owned), txs));
    });
    let running = checks::start(&m, gossip)
        .expect("thread")
        .expect("the app has a mempool connection");
    assert!(m.threaded());

    for t in ["a", "b", "c"] {
        assert_eq!(answered(&offer(&m, tx(t))).code, 0);
    }
    let mut sent = Vec::new();
    while sent.len() < 3 {
        let (except, txs) = gossiped
            .recv_timeout(Duration::from_secs(30))
            .expect("gossiped");
        assert_eq!(except, None, "a client's transactions go to every peer");
        sent.extend(txs);
    }
    assert_eq!(sent, vec![tx("a"), tx("b"), tx("c")]);
    m.offer_from_peer("peer1", vec![tx("d"), tx("bad")])
        .expect("the mempool's thread runs");
    let (except, txs) = gossiped
        .recv_timeout(Duration::from_secs(30))
        .expect("gossiped");
    assert_eq!(except.as_deref(), Some("peer1"), "not back to the sender");
    assert_eq!(txs, vec![tx("d")], "only what was admitted");
    assert_eq!(m.reap(-1, -1), vec![tx("a"), tx("b"), tx("c"), tx("d")]);

    // A block commits "a" and spends "c"; the recheck of "b" waits for the test.
    let (waiting_tx, waiting) = mpsc::channel();
    let (release, release_rx) = mpsc::channel();
    *checker.hold.lock().expect("no panics while held") = Some((tx("b"), waiting_tx, release_rx));
    checker
        .spent
        .lock()
        .expect("no panics while held")
        .insert(tx("c"));
    let mut app = Toy::default();
    {
        let paused = m.pause();
        m.update(&paused, &mut app, &[tx("a")]).expect("update");
    }
    assert_eq!(app.rechecks, 0, "not rechecked on the engine's thread");
    waiting
        .recv_timeout(Duration::from_secs(30))
        .expect("the mempool's thread rechecks");
    // The proposer does not wait for the recheck: it reaps what is held, in order.
    assert_eq!(m.reap(-1, -1), vec![tx("b"), tx("c"), tx("d")]);
    assert_eq!(m.rechecks_pending(), 2, "c and d wait behind b");
    // A new transaction waits for the recheck.
    let e = offer(&m, tx("e"));
    assert!(
        e.recv_timeout(Duration::from_millis(200)).is_err(),
        "checked before the recheck finished"
    );
    release.send(()).expect("the recheck waits");
    assert_eq!(answered(&e).code, 0);
    assert_eq!(
        m.reap(-1, -1),
        vec![tx("b"), tx("d"), tx("e")],
        "c was spent"
    );
    let calls = checker.calls.lock().expect("no panics while held").clone();
    let after_commit: Vec<(Vec<u8>, bool)> = calls[calls.len() - 4..].to_vec();
    assert_eq!(
        after_commit,
        vec![
            (tx("b"), true),
            (tx("c"), true),
            (tx("d"), true),
            (tx("e"), false)
        ]
    );

    // The queue is bounded in bytes: past it a client hears the mempool is full.
    let big = vec![b'x'; checks::QUEUE_BYTES + 1];
    assert!(matches!(
        offer(&m, big).recv_timeout(Duration::from_secs(30)),
        Ok(Err(MempoolError::Busy { .. }))
    ));

    drop(running);
    assert!(matches!(
        offer(&m, tx("f")).recv_timeout(Duration::from_secs(30)),
        Ok(Err(MempoolError::Stopping))
    ));
}

#[test]
fn without_recheck_a_commit_only_removes_the_block() {
    let mut app = Toy::default();
    let mut m = Mempool::new(MempoolConfig {
        recheck: false,
        ..MempoolConfig::default()
    });
    for t in ["a", "b", "c"] {
        m.check_tx(&mut app, tx(t)).expect("checked");
    }
    app.spent.insert(tx("c"));
    m.update(&mut app, &[tx("a")]).expect("update");
    assert_eq!(app.rechecks, 0);
    assert_eq!(
        m.reap(-1, -1),
        vec![tx("b"), tx("c")],
        "c stays unrechecked"
    );
}
