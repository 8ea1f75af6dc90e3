//! The consensus params as the application keeps them (the SDK's `x/consensus` store): set
//! from `InitChain`, read where a module needs them — today the evidence age limits, which
//! decide whether a double sign is still punished.
//!
//! State: `consensus/params` → the protobuf `tendermint.types.ConsensusParams` (the SDK
//! stores the same message).

use keystone_modules::{ModuleError, State};
use keystone_proto::prost::Message;
use keystone_proto::types::{ConsensusParams, EvidenceParams};
use keystone_proto::AppResult;

/// Where they are stored.
pub(crate) const KEY: &[u8] = b"consensus/params";

/// CometBFT v0.38's default evidence limits: 100 000 blocks and 48 hours.
const DEFAULT_MAX_AGE_BLOCKS: i64 = 100_000;
const DEFAULT_MAX_AGE_SECS: i64 = 48 * 3600;

/// What InitChain without params means: CometBFT's defaults (only the evidence part is read).
pub(crate) fn cometbft_defaults() -> ConsensusParams {
    ConsensusParams {
        evidence: Some(EvidenceParams {
            max_age_num_blocks: DEFAULT_MAX_AGE_BLOCKS,
            max_age_duration: Some(keystone_proto::tm::google::protobuf::Duration {
                seconds: DEFAULT_MAX_AGE_SECS,
                nanos: 0,
            }),
            max_bytes: 1_048_576,
        }),
        ..Default::default()
    }
}

/// Store `params`.
pub(crate) fn set(state: &mut dyn State, params: &ConsensusParams) {
    state.put(KEY.to_vec(), params.encode_to_vec());
}

/// `(max_age_num_blocks, max_age_duration in whole seconds)` of the stored params (the
/// defaults where a part is missing).
pub(crate) fn evidence_max_age(state: &dyn State) -> AppResult<(u64, i64)> {
    let corrupt = |e: String| crate::application::app_err(ModuleError::Internal(e));
    let params = match state.get(KEY).map_err(crate::application::app_err)? {
        Some(raw) => ConsensusParams::decode(raw.as_slice())
            .map_err(|e| corrupt(format!("stored consensus params: {e}")))?,
        None => cometbft_defaults(),
    };
    let Some(e) = params.evidence else {
        return Ok((DEFAULT_MAX_AGE_BLOCKS as u64, DEFAULT_MAX_AGE_SECS));
    };
    let secs = e
        .max_age_duration
        .map_or(DEFAULT_MAX_AGE_SECS, |d| d.seconds);
    Ok((e.max_age_num_blocks.max(0) as u64, secs))
}

#[cfg(test)]
mod tests {
    use super::*;
    use keystone_modules::MemState;

    #[test]
    fn evidence_limits_come_from_the_stored_params_or_the_defaults() {
        let mut s = MemState::default();
        assert_eq!(
            evidence_max_age(&s).expect("read"),
            (100_000, 172_800),
            "CometBFT's defaults before InitChain stored any"
        );
        let mut p = cometbft_defaults();
        if let Some(e) = p.evidence.as_mut() {
            e.max_age_num_blocks = 7;
            e.max_age_duration = Some(keystone_proto::tm::google::protobuf::Duration {
                seconds: 30,
                nanos: 0,
            });
        }
        set(&mut s, &p);
        assert_eq!(evidence_max_age(&s).expect("read"), (7, 30));
        s.put(KEY.to_vec(), b"\xff\xff".to_vec());
        assert!(evidence_max_age(&s).is_err(), "corrupt bytes are an error");
    }
}
