//! What happens on the chain, for subscribers: the node loop publishes every committed
//! height on a [`Bus`]; `broadcast_tx_commit` waits on it, and `/websocket` clients
//! `subscribe` with a CometBFT event query (`tm.event='NewBlock'`, `tm.event='Tx' AND
//! transfer.recipient='cosmos1…'`, …) and receive CometBFT v0.38's event messages:
//! `NewBlock`, `NewBlockHeader`, `NewBlockEvents` and `Tx`.
//!
//! Limits, as CometBFT's defaults: at most [`MAX_SUBSCRIPTIONS`] queries per connection and
//! [`MAX_CLIENTS`] connections; a client that falls more than [`BUFFER`] heights behind is
//! told so and disconnected rather than slowing the node.

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use keystone_consensus_driver::event_query::Query;
use keystone_consensus_driver::rpc::{shape, Params, RpcError};
use keystone_proto::abci;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use tokio::sync::broadcast;

/// Heights buffered per subscriber.
pub const BUFFER: usize = 100;
/// Queries per connection (CometBFT's `max_subscriptions_per_client`).
pub const MAX_SUBSCRIPTIONS: usize = 5;
/// WebSocket connections at once (CometBFT's `max_subscription_clients`).
pub const MAX_CLIENTS: usize = 100;

/// One committed height: the block, its id and what `FinalizeBlock` answered.
pub struct Committed {
    /// Its height.
    pub height: u64,
    /// `{block_id, block}` as the `block` method answers it.
    pub block: Value,
    /// The transactions, in block order.
    pub txs: Vec<Vec<u8>>,
    /// The application's answer.
    pub results: abci::ResponseFinalizeBlock,
}

impl Committed {
    /// The index and result of `tx` if this block holds it.
    pub fn tx(&self, tx: &[u8]) -> Option<(usize, &abci::ExecTxResult)> {
        let i = self.txs.iter().position(|t| t == tx)?;
        Some((i, self.results.tx_results.get(i)?))
    }

    /// Every event message of this height, each with the composite keys a query matches.
    fn messages(&self) -> Vec<(Value, BTreeMap<String, Vec<String>>)> {
        let mut out = Vec::new();
        let height = self.height.to_string();
        let mut block_keys = keys(&self.results.events);
        block_keys.insert("block.height".into(), vec![height.clone()]);
        let result = json!({
            "height": height,
            "tx_results": self.results.tx_results.iter().map(shape::exec_tx_result).collect::<Vec<_>>(),
            "events": shape::events(&self.results.events),
            "validator_updates": self.results.validator_updates.iter().map(shape::validator_update).collect::<Vec<_>>(),
            "consensus_param_updates": self.results.consensus_param_updates.as_ref().map(shape::consensus_params),
            "app_hash": shape::b64(&self.results.app_hash),
        });
        let kinds = [
            (
                "NewBlock",
                json!({"block": self.block["block"], "block_id": self.block["block_id"], "result_finalize_block": result}),
            ),
            (
                "NewBlockHeader",
                json!({"header": self.block["block"]["header"]}),
            ),
            (
                "NewBlockEvents",
                json!({"height": height, "events": shape::events(&self.results.events), "num_txs": self.txs.len().to_string()}),
            ),
        ];
        for (kind, value) in kinds {
            let mut k = block_keys.clone();
            k.insert("tm.event".into(), vec![kind.into()]);
            out.push((
                json!({"type": format!("tendermint/event/{kind}"), "value": value}),
                k,
            ));
        }
        for (i, (tx, r)) in self.txs.iter().zip(&self.results.tx_results).enumerate() {
            let mut k = keys(&r.events);
            k.insert("tm.event".into(), vec!["Tx".into()]);
            k.insert(
                "tx.hash".into(),
                vec![hex::encode_upper(keystone_consensus_types::sha256(tx).0)],
            );
            k.insert("tx.height".into(), vec![height.clone()]);
            let value = json!({"TxResult": {
                "height": height, "index": i, "tx": shape::b64(tx), "result": shape::exec_tx_result(r)
            }});
            out.push((json!({"type": "tendermint/event/Tx", "value": value}), k));
        }
        out
    }
}

/// Composite keys of `events`: `type.attribute` → values, in event order.
fn keys(events: &[abci::Event]) -> BTreeMap<String, Vec<String>> {
    let mut m: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for e in events {
        for a in &e.attributes {
            m.entry(format!("{}.{}", e.r#type, a.key))
                .or_default()
                .push(a.value.clone());
        }
    }
    m
}

/// Committed heights, fanned out to whoever listens.
#[derive(Clone)]
pub struct Bus {
    tx: broadcast::Sender<Arc<Committed>>,
    clients: Arc<AtomicUsize>,
}

impl Default for Bus {
    fn default() -> Self {
        Bus {
            tx: broadcast::channel(BUFFER).0,
            clients: Arc::new(AtomicUsize::new(0)),
        }
    }
}

impl Bus {
    /// Listen from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Committed>> {
        self.tx.subscribe()
    }

    /// Whether anyone listens (the node skips building what nobody reads).
    pub fn listened(&self) -> bool {
        self.tx.receiver_count() > 0
    }

    /// Announce a committed height.
    pub fn publish(&self, c: Committed) {
        let _ = self.tx.send(Arc::new(c));
    }
}

/// `GET /websocket`: upgrade, then serve JSON-RPC over the socket.
pub async fn websocket(State(s): State<crate::rpc::Shared>, ws: WebSocketUpgrade) -> Response {
    let slot = Slot(s.events.clients.clone());
    if slot.0.fetch_add(1, Ordering::SeqCst) >= MAX_CLIENTS {
        return (
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            "too many websocket clients",
        )
            .into_response();
    }
    ws.max_message_size(1024 * 1024)
        .on_upgrade(move |socket| async move {
            serve(s, socket).await;
            drop(slot);
        })
}

/// One counted WebSocket client: released when dropped, also when the upgrade never
/// completes (the callback holding it is dropped unrun).
struct Slot(Arc<AtomicUsize>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

fn reply(id: &Value, result: Result<Value, RpcError>) -> Message {
    let v = match result {
        Ok(r) => json!({"jsonrpc": "2.0", "id": id, "result": r}),
        Err(e) => json!({"jsonrpc": "2.0", "id": id, "error": e.to_json()}),
    };
    Message::Text(v.to_string().into())
}

/// One connection: requests in, answers and subscribed events out.
async fn serve(s: crate::rpc::Shared, mut socket: WebSocket) {
    // Query text → (its parsed form, the id of the subscribe request that made it).
    let mut subs: BTreeMap<String, (Query, Value)> = BTreeMap::new();
    let mut committed = s.events.subscribe();
    loop {
        tokio::select! {
            msg = socket.recv() => {
                let Some(Ok(msg)) = msg else { return };
                let text = match msg {
                    Message::Text(t) => t.to_string(),
                    Message::Binary(b) => String::from_utf8_lossy(&b).into_owned(),
                    Message::Close(_) => return,
                    _ => continue,
                };
                let out = request(&s, &mut subs, &text).await;
                if socket.send(out).await.is_err() {
                    return;
                }
            }
            block = committed.recv() => {
                let block = match block {
                    Ok(b) => b,
                    Err(broadcast::error::RecvError::Lagged(n)) => {
                        let e = RpcError::internal(format!("subscription was cancelled: client is {n} heights behind"));
                        for (_, id) in subs.values() {
                            let _ = socket.send(reply(id, Err(e.clone()))).await;
                        }
                        return;
                    }
                    Err(broadcast::error::RecvError::Closed) => return,
                };
                if subs.is_empty() {
                    continue;
                }
                for (data, keys) in block.messages() {
                    for (text, (q, id)) in &subs {
                        if q.matches(&keys) {
                            let events: BTreeMap<&String, &Vec<String>> = keys.iter().collect();
                            let msg = reply(id, Ok(json!({"query": text, "data": data, "events": events})));
                            if socket.send(msg).await.is_err() {
                                return;
                            }
                        }
                    }
                }
            }
        }
    }
}

/// One JSON-RPC request over the socket: (un)subscriptions here, every other method as
/// over HTTP.
async fn request(
    s: &crate::rpc::Shared,
    subs: &mut BTreeMap<String, (Query, Value)>,
    text: &str,
) -> Message {
    let req: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => return reply(&Value::Null, Err(RpcError::parse(e.to_string()))),
    };
    let id = req.get("id").cloned().unwrap_or(Value::Null);
    let Some(method) = req.get("method").and_then(Value::as_str) else {
        return reply(&id, Err(RpcError::invalid_request("missing method")));
    };
    let p = match Params::from_json(method, req.get("params")) {
        Ok(p) => p,
        Err(e) => return reply(&id, Err(e)),
    };
    let result = match method {
        "subscribe" => subscribe(subs, &p, &id),
        "unsubscribe" => match p.string("query") {
            Ok(Some(q)) if subs.remove(&q).is_some() => Ok(json!({})),
            Ok(_) => Err(RpcError::internal("subscription not found")),
            Err(e) => Err(e),
        },
        "unsubscribe_all" => {
            if subs.is_empty() {
                Err(RpcError::internal("subscription not found"))
            } else {
                subs.clear();
                Ok(json!({}))
            }
        }
        _ => crate::rpc::dispatch(s, method, p).await,
    };
    reply(&id, result)
}

fn subscribe(
    subs: &mut BTreeMap<String, (Query, Value)>,
    p: &Params,
    id: &Value,
) -> Result<Value, RpcError> {
    let text = p
        .string("query")?
        .ok_or_else(|| RpcError::invalid_params("missing query"))?;
    let q: Query = text
        .parse()
        .map_err(|e| RpcError::internal(format!("failed to parse query: {e}")))?;
    if subs.contains_key(&text) {
        return Err(RpcError::internal("already subscribed"));
    }
    if subs.len() >= MAX_SUBSCRIPTIONS {
        return Err(RpcError::internal(format!(
            "max_subscriptions_per_client {MAX_SUBSCRIPTIONS} reached"
        )));
    }
    subs.insert(text, (q, id.clone()));
    Ok(json!({}))
}
