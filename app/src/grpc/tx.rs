//! `cosmos.tx.v1beta1.Service`: `Simulate`, what cosmjs's `SigningStargateClient` asks for
//! `fee: "auto"` (a transaction whose signatures are empty and whose signer infos carry the
//! key and sequence).
//!
//! The transaction runs through the pipeline in [`Mode::Simulate`] (see `crate::tx`: no
//! signature check, no gas limit, an empty signature charged as a real one) on a branch of the
//! state it is given, which is dropped: a simulation never writes. The caller (`App::query`)
//! gives it the latest committed state, so a simulation sees what `Account` queries see — the
//! SDK simulates on its check state, which also holds the mempool's transactions.
//!
//! The answer is the SDK v0.50's: `gas_info` (`gas_wanted` is the unlimited meter's limit,
//! `u64::MAX`, as the SDK reports; `gas_used` what the run used) and `result` (`data` the
//! `TxMsgData` of the messages' responses, an empty `log`, the ante chain's and the messages'
//! events, unindexed, and `msg_responses`). A transaction that fails answers as baseapp
//! answers the tx service's error: the `Unknown` status `<error> With gas wanted: '…' and gas
//! used: '…' ` (x/auth/tx/service.go), reported as code 6 — with a failing message's error
//! wrapped as the SDK's `runMsgs` wraps it (`failed to execute message; message index: N: …`).

use super::{answer, decode, Failure, Handled};
use crate::tx::{run_tx, Context, Mode, TxOutcome};
use cosmos_sdk_proto::cosmos::base::abci::v1beta1 as abcipb;
use cosmos_sdk_proto::cosmos::tx::v1beta1::{SimulateRequest, SimulateResponse};
use cosmos_sdk_proto::tendermint::abci::{Event, EventAttribute};
use keystone_modules::state::Branch;
use keystone_modules::State;
use prost::Message;

/// Answer `method` of the tx service.
pub(super) fn query<S: State>(
    state: &mut S,
    method: &str,
    data: &[u8],
    sim: &Context<'_>,
) -> Handled {
    match method {
        "Simulate" => simulate(state, data, sim),
        _ => Ok(None),
    }
}

fn simulate<S: State>(state: &mut S, data: &[u8], sim: &Context<'_>) -> Handled {
    let q: SimulateRequest = decode(data)?;
    // The deprecated `tx` field is read when `tx_bytes` is empty, as the SDK reads it: the
    // `Tx` re-encoded (its wire form is a `TxRaw`'s).
    #[allow(deprecated)]
    let tx_bytes = match (q.tx_bytes.is_empty(), q.tx) {
        (false, _) => q.tx_bytes,
        (true, Some(tx)) => tx.encode_to_vec(),
        (true, None) => {
            return Err(Failure::invalid_argument("empty txBytes is not allowed"));
        }
    };
    let ctx = Context {
        mode: Mode::Simulate,
        ..sim.clone()
    };
    let out = {
        // Dropped without `commit`: the run's writes go nowhere.
        let mut scratch = Branch::new(state);
        run_tx(&mut scratch, &tx_bytes, &ctx)
    };
    if let Err(e) = &out.result {
        let error = match out.failed_msg {
            Some(i) => format!("failed to execute message; message index: {i}: {e}"),
            None => e.to_string(),
        };
        return Err(Failure::unknown(format!(
            "{error} With gas wanted: '{}' and gas used: '{}' ",
            out.gas_wanted, out.gas_used
        )));
    }
    answer(&SimulateResponse {
        gas_info: Some(abcipb::GasInfo {
            gas_wanted: out.gas_wanted,
            gas_used: out.gas_used,
        }),
        result: Some(result(out)),
    })
}

/// The SDK's `Result` of a run that succeeded.
#[allow(deprecated)] // `Result.data` and `TxMsgData.data`: deprecated, still in the wire form
fn result(out: TxOutcome) -> abcipb::Result {
    let events = out
        .events
        .into_iter()
        .map(|e| Event {
            r#type: e.kind,
            attributes: e
                .attributes
                .into_iter()
                // Indexing is FinalizeBlock's business; a simulation's events are not marked.
                .map(|(key, value)| EventAttribute {
                    key,
                    value,
                    index: false,
                })
                .collect(),
        })
        .collect();
    // v0.50's `data` is the `TxMsgData` of the responses (its own deprecated `data` empty).
    let data = abcipb::TxMsgData {
        data: Vec::new(),
        msg_responses: out.msg_responses.clone(),
    }
    .encode_to_vec();
    abcipb::Result {
        data,
        log: String::new(),
        events,
        msg_responses: out.msg_responses,
    }
}
