//! The query connection of [`crate::App`]: `Info` and `Query` answered from the store's last
//! committed version, on whatever thread asks. It shares the store with the application and
//! nothing else mutable but the last block's time (where `Simulate` runs), so the node's RPC,
//! REST and gRPC servers read while a block executes.

use crate::application::app_err;
use crate::store_state::{StoreState, Writes};
use crate::tx::{Context, Mode};
use keystone_modules::Timestamp;
use keystone_proto::abci;
use keystone_proto::prost::bytes::Bytes;
use keystone_proto::prost::Message;
use keystone_proto::{AppReader, AppResult};
use keystone_store::Store;
use std::sync::{Arc, Mutex, PoisonError};

/// The application's query side.
pub struct Queries {
    store: Arc<Store>,
    chain_id: String,
    /// The last block's time, set at each commit.
    last_time: Mutex<Timestamp>,
}

impl Queries {
    pub(crate) fn new(store: Arc<Store>, chain_id: &str) -> Self {
        Queries {
            store,
            chain_id: chain_id.into(),
            last_time: Mutex::new(Timestamp::EPOCH),
        }
    }

    pub(crate) fn set_last_time(&self, t: Timestamp) {
        // A poisoned lock held only a copyable time: the value is still whole.
        *self
            .last_time
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = t;
    }

    fn last_time(&self) -> Timestamp {
        *self
            .last_time
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn latest(&self) -> AppResult<Option<u64>> {
        self.store.latest_version().map_err(app_err)
    }
}

impl AppReader for Queries {
    fn info(&self, _req: abci::RequestInfo) -> AppResult<abci::ResponseInfo> {
        let (height, hash) = match self.latest()? {
            None => (0, Vec::new()),
            Some(v) => (v as i64, self.store.root_hash(v).map_err(app_err)?.to_vec()),
        };
        Ok(abci::ResponseInfo {
            data: "keystone".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            app_version: 0,
            last_block_height: height,
            last_block_app_hash: Bytes::from(hash),
        })
    }

    fn query(&self, req: abci::RequestQuery) -> AppResult<abci::ResponseQuery> {
        let fail = |code: u32, log: String| abci::ResponseQuery {
            code,
            log,
            codespace: "sdk".into(),
            ..Default::default()
        };
        if req.path.starts_with("/cosmos.") {
            let Some(latest) = self.latest()? else {
                return Ok(fail(26, "no committed state yet: invalid height".into()));
            };
            // The state the request asks for (gRPC's `x-cosmos-block-height`, `abci_query`'s
            // height), the latest when it names none; the SDK's refusal for a future one.
            let version = match u64::try_from(req.height) {
                Ok(h) if h > latest => {
                    return Ok(fail(
                        26,
                        format!("cannot query with height in the future; please provide a valid height: invalid height (latest {latest}, asked {h})"),
                    ))
                }
                Ok(h) if h > 0 => h,
                _ => latest,
            };
            // A view of that committed state for this query alone: a simulation writes only
            // on a branch of it, and the view itself is dropped with the answer.
            let mut state = StoreState::new(&self.store, Some(version), Writes::new());
            // Where `Simulate` runs: the block after that state, at the last block's time,
            // as `CheckTx`.
            let sim = Context {
                chain_id: &self.chain_id,
                height: version + 1,
                mode: Mode::Simulate,
                min_gas_prices: &[],
                time: self.last_time(),
                verified: None,
            };
            return Ok(crate::grpc::query(
                &mut state, &req.path, &req.data, version, &sim,
            ));
        }
        if crate::lcd::handles(&req.path) {
            let Some(latest) = self.latest()? else {
                return Ok(fail(26, "no committed state yet: invalid height".into()));
            };
            let state = StoreState::new(&self.store, Some(latest), Writes::new());
            let query = String::from_utf8_lossy(&req.data);
            return Ok(match crate::lcd::get(&state, &req.path, &query) {
                Ok(v) => abci::ResponseQuery {
                    value: Bytes::from(v.to_string().into_bytes()),
                    height: latest as i64,
                    ..Default::default()
                },
                // The gRPC status code, under its own codespace: these routes answer as the
                // gateway does.
                Err(e) => abci::ResponseQuery {
                    code: e.code,
                    codespace: "grpc".into(),
                    log: e.message,
                    height: latest as i64,
                    ..Default::default()
                },
            });
        }
        if req.path != "/store/key" {
            return Ok(fail(
                6,
                format!("unknown query path {}: unknown request", req.path),
            ));
        }
        let Some(latest) = self.latest()? else {
            return Ok(fail(26, "no committed state yet: invalid height".into()));
        };
        let height = if req.height <= 0 {
            latest
        } else {
            req.height as u64
        };
        if height > latest {
            return Ok(fail(
                26,
                format!("height {height} is in the future (latest {latest}): invalid height"),
            ));
        }
        let key = req.data.to_vec();
        let (value, proof_ops) = if req.prove {
            match self.store.get_with_proof(&key, height) {
                Ok((value, proof)) => (
                    value,
                    Some(keystone_proto::crypto::ProofOps {
                        ops: vec![keystone_proto::crypto::ProofOp {
                            r#type: "ics23:jmt".into(),
                            key: key.clone(),
                            data: proof.encode_to_vec(),
                        }],
                    }),
                ),
                Err(e) => return Ok(fail(26, format!("{e}: invalid height"))),
            }
        } else {
            match self.store.get(&key, height) {
                Ok(v) => (v, None),
                Err(e) => return Ok(fail(26, format!("{e}: invalid height"))),
            }
        };
        Ok(abci::ResponseQuery {
            key: Bytes::from(key),
            value: Bytes::from(value.unwrap_or_default()),
            proof_ops,
            height: height as i64,
            ..Default::default()
        })
    }
}
