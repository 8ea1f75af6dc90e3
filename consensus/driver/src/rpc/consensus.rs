//! The consensus in progress: `consensus_state` (the height's round state in CometBFT's
//! summary form) and `broadcast_evidence` (a client's evidence into the pool).

use super::chain::internal;
use super::{Params, RpcError};
use crate::engine::Engine;
use keystone_consensus_core::Step;
use keystone_consensus_types::{DuplicateVoteEvidence, Vote, VoteType};
use keystone_proto::{types as pb, Application};
use serde_json::{json, Value};

/// CometBFT's `RoundStepType` for a core step (the "wait" steps are not states of their own
/// here: a core waiting for more votes is still in its step).
fn step_number(s: Step) -> u8 {
    match s {
        Step::Unstarted => 1,
        Step::Propose => 3,
        Step::Prevote => 4,
        Step::Precommit => 6,
        Step::Commit => 8,
    }
}

/// The first 6 bytes, uppercase hex (CometBFT's `Fingerprint`).
fn fingerprint(b: &[u8]) -> String {
    hex::encode_upper(&b[..b.len().min(6)])
}

/// A vote as CometBFT's `Vote.String()` summarises it (the form tendermint-rs parses).
fn summary(v: &Vote) -> String {
    let (code, name) = match v.vote_type {
        VoteType::Prevote => (1, "Prevote"),
        VoteType::Precommit => (2, "Precommit"),
    };
    let block = v.block_id.map(|b| b.hash.0.to_vec()).unwrap_or_default();
    let sig = v.signature.map(|s| s.0.to_vec()).unwrap_or_default();
    let time = super::shape::time(&v.timestamp.to_proto());
    format!(
        "Vote{{{}:{} {}/{:02}/{}({}) {} {} @ {}}}",
        v.validator_index,
        fingerprint(&v.validator_address.0),
        v.height,
        v.round,
        code,
        name,
        fingerprint(&block),
        fingerprint(&sig),
        time.as_str().unwrap_or_default(),
    )
}

pub(super) fn consensus_state<A: Application>(engine: &Engine<A>) -> Result<Value, RpcError> {
    let (core, started) = engine
        .round_state()
        .ok_or_else(|| internal("consensus has not started"))?;
    let state = core.state();
    let set = core.validators();
    let keeper = core.keeper();
    let total = keeper.total_power();
    let mut rounds: Vec<u32> = keeper.rounds().collect();
    rounds.sort_unstable();
    let votes_json = |round: u32, t: VoteType| -> (Vec<String>, String) {
        let votes = keeper.votes(round, t);
        let mut bits = String::new();
        let mut power = 0i64;
        let list = set
            .validators()
            .iter()
            .map(
                |val| match votes.iter().find(|v| v.validator_address == val.address) {
                    Some(v) => {
                        bits.push('x');
                        power += val.voting_power;
                        summary(v)
                    }
                    None => {
                        bits.push('_');
                        "nil-Vote".to_string()
                    }
                },
            )
            .collect();
        (list, format!("BA{{{}:{bits}}} {power}/{total}", set.len()))
    };
    let height_vote_set: Vec<Value> = rounds
        .iter()
        .map(|&r| {
            let (prevotes, prevote_bits) = votes_json(r, VoteType::Prevote);
            let (precommits, precommit_bits) = votes_json(r, VoteType::Precommit);
            json!({
                "round": r, "prevotes": prevotes, "prevotes_bit_array": prevote_bits,
                "precommits": precommits, "precommits_bit_array": precommit_bits,
            })
        })
        .collect();
    let hash_of = |v: Option<keystone_consensus_core::RoundValue>| {
        v.map(|rv| rv.value.hash.to_hex()).unwrap_or_default()
    };
    let proposal_hash = core
        .proposal(state.round)
        .map(|p| p.block_id.hash.to_hex())
        .unwrap_or_default();
    let proposer = core.proposer(state.round);
    let proposer_json = match &proposer {
        Some(p) => json!({
            "address": p.address.to_string(),
            "index": set.index_of(&p.address).map_or(-1, |i| i as i64),
        }),
        None => Value::Null,
    };
    Ok(json!({"round_state": {
        "height/round/step": format!("{}/{}/{}", state.height, state.round, step_number(state.step)),
        "start_time": super::shape::time(&started.to_proto()),
        "proposal_block_hash": proposal_hash,
        "locked_block_hash": hash_of(state.locked),
        "valid_block_hash": hash_of(state.valid),
        "height_vote_set": height_vote_set,
        "proposer": proposer_json,
    }}))
}

pub(super) fn broadcast_evidence<A: Application>(
    engine: &mut Engine<A>,
    p: &Params,
) -> Result<Value, RpcError> {
    let raw = p
        .value("evidence")
        .ok_or_else(|| RpcError::invalid_params("missing evidence"))?;
    let sum: pb::evidence::Sum = serde_json::from_value(raw.clone())
        .map_err(|e| RpcError::invalid_params(format!("evidence: {e}")))?;
    let pb::evidence::Sum::DuplicateVoteEvidence(d) = sum else {
        return Err(internal(
            "only duplicate vote evidence is accepted (light client attacks are not handled)",
        ));
    };
    let ev = DuplicateVoteEvidence::from_proto(&d).map_err(internal)?;
    let hash = ev.hash();
    engine
        .submit_evidence(ev)
        .map_err(|e| internal(format!("evidence was not added: {e}")))?;
    // CometBFT's `ResultBroadcastEvidence.Hash` is `[]byte`: base64 in JSON.
    Ok(json!({"hash": super::shape::b64(&hash.0)}))
}
