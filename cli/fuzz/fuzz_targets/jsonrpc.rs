//! JSON-RPC requests as the server reads them: a body (one request or a batch), each
//! request's params for its method by name or position, every argument read with the type
//! CometBFT gives it, and `tx_search`/`block_search` queries.
#![no_main]

use keystone_consensus_driver::event_query::Query;
use keystone_consensus_driver::rpc::{Bytes, Params};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

const METHODS: [&str; 12] = [
    "block", "tx_search", "abci_query", "validators", "blockchain", "tx", "broadcast_tx_sync",
    "block_search", "commit", "genesis_chunked", "unconfirmed_txs", "check_tx",
];

fn read_all(p: &Params) {
    for name in ["height", "page", "per_page", "minHeight", "maxHeight", "limit", "chunk"] {
        let _ = p.int(name);
    }
    for name in ["query", "order_by", "path"] {
        if let Ok(Some(q)) = p.string(name) {
            let _ = q.parse::<Query>();
        }
    }
    let _ = p.bool("prove");
    for name in ["tx", "hash", "data"] {
        let _ = p.bytes(name, Bytes::Base64);
        let _ = p.bytes(name, Bytes::Hex);
    }
}

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = text.parse::<Query>();
    }
    let Ok(body) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let requests = match &body {
        Value::Array(items) => items.iter().take(100).collect::<Vec<_>>(),
        one => vec![one],
    };
    for r in requests {
        let method = r["method"].as_str().unwrap_or(METHODS[0]);
        for m in [method].into_iter().chain(METHODS) {
            if let Ok(p) = Params::from_json(m, r.get("params")) {
                read_all(&p);
            }
        }
    }
});
