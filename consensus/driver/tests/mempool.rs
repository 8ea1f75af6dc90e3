//! The mempool against a small application whose verdicts the test controls.

use keystone_consensus_driver::mempool::{Mempool, MempoolConfig, MempoolError};
use keystone_proto::{abci, AppResult, Application};
use std::collections::BTreeSet;

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
