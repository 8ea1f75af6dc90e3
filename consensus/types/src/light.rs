//! Light-client verification, CometBFT's rules: from a header already trusted, accept a newer
//! one on the validators' signatures alone — adjacent (the next height: its validators are the
//! ones the trusted header named as next, and +2/3 of them signed) or skipping (validators that
//! hold more than the trust level, 1/3 by default, of the trusted set's power signed it, and
//! +2/3 of its own set did), with bisection when a skip is too far. Pure: the caller fetches
//! light blocks and passes the time.
//!
//! Each failure names the step that failed ([`LightError`]), so a user can tell a node that
//! lies about a header from one that lies about its validators, and from a header that is
//! simply too far from the trusted one.

use crate::{Commit, Error, Hash, Header, Height, Time, ValidatorSet};
use std::collections::BTreeSet;

/// A signed header with the validator sets that make it checkable.
#[derive(Clone, Debug)]
pub struct LightBlock {
    /// The header.
    pub header: Header,
    /// The commit that signs it (the canonical one, from the next block, or a seen one).
    pub commit: Commit,
    /// The validators of this height (must hash to `header.validators_hash`).
    pub validators: ValidatorSet,
    /// The validators of the next height (must hash to `header.next_validators_hash`).
    pub next_validators: ValidatorSet,
}

/// How much a light client trusts.
#[derive(Clone, Copy, Debug)]
pub struct TrustOptions {
    /// A trusted header older than this is no longer a basis (the unbonding period bounds
    /// it: after that, its validators may have left and could sign anything unpunished).
    pub trusting_period_ms: u64,
    /// Fraction of the trusted set's power that must sign a skipped-to header (numerator,
    /// denominator); CometBFT's default is 1/3 — at least one honest validator.
    pub trust_level: (u64, u64),
    /// How far in the future a header's time may be.
    pub max_clock_drift_ms: u64,
}

impl Default for TrustOptions {
    fn default() -> Self {
        TrustOptions {
            // Two weeks: tendermint-rs's default, below the SDK's 21-day unbonding.
            trusting_period_ms: 14 * 24 * 3600 * 1000,
            trust_level: (1, 3),
            max_clock_drift_ms: 10_000,
        }
    }
}

/// Why a header was not accepted: the step that failed.
#[derive(Debug, thiserror::Error)]
pub enum LightError {
    /// The header is of another chain.
    #[error("header {height} is of chain {got:?}, not {want:?}")]
    ChainId {
        /// Height.
        height: Height,
        /// Its chain id.
        got: String,
        /// The trusted chain's.
        want: String,
    },
    /// The trusted header is older than the trusting period.
    #[error("trusted header {height} has expired (older than the trusting period)")]
    Expired {
        /// Its height.
        height: Height,
    },
    /// Heights must go up.
    #[error("header {untrusted} is not above the trusted header {trusted}")]
    NotNewer {
        /// Trusted height.
        trusted: Height,
        /// Offered height.
        untrusted: Height,
    },
    /// Times must go up and not be from the future.
    #[error("header {height} has a bad time: {why}")]
    Time {
        /// Height.
        height: Height,
        /// What is wrong.
        why: &'static str,
    },
    /// A validator set does not hash to what the header says.
    #[error("header {height}: the {which} set does not hash to the header's {which}_hash")]
    ValidatorsHash {
        /// Height.
        height: Height,
        /// `validators` or `next_validators`.
        which: &'static str,
    },
    /// The commit is not for this header.
    #[error("header {height}: the commit signs another block ({why})")]
    CommitMismatch {
        /// Height.
        height: Height,
        /// What differs.
        why: String,
    },
    /// The next height's validators are not the ones the trusted header named.
    #[error(
        "header {height}: its validators are not the next validators of trusted header {trusted}"
    )]
    NotNextValidators {
        /// Height.
        height: Height,
        /// Trusted height.
        trusted: Height,
    },
    /// Too little of the trusted set signed a skipped-to header (bisect).
    #[error("header {height}: validators with {signed} of the trusted set's {total} power signed it; more than {num}/{den} is needed")]
    NotEnoughTrust {
        /// Height.
        height: Height,
        /// Trusted power that signed.
        signed: i64,
        /// The trusted set's total power.
        total: i64,
        /// Trust level numerator.
        num: u64,
        /// Trust level denominator.
        den: u64,
    },
    /// Its own validators did not commit it (+2/3, valid signatures).
    #[error("header {height}: its commit does not verify: {source}")]
    Commit {
        /// Height.
        height: Height,
        /// Why.
        source: Error,
    },
}

/// Verify `untrusted` from `trusted` at time `now` (adjacent or skipping, whichever the
/// heights make it).
pub fn verify(
    trusted: &LightBlock,
    untrusted: &LightBlock,
    opts: &TrustOptions,
    now: Time,
) -> Result<(), LightError> {
    let (th, uh) = (trusted.header.height, untrusted.header.height);
    if untrusted.header.chain_id != trusted.header.chain_id {
        return Err(LightError::ChainId {
            height: uh,
            got: untrusted.header.chain_id.clone(),
            want: trusted.header.chain_id.clone(),
        });
    }
    if trusted.header.time.plus_millis(opts.trusting_period_ms) <= now {
        return Err(LightError::Expired { height: th });
    }
    if uh <= th {
        return Err(LightError::NotNewer {
            trusted: th,
            untrusted: uh,
        });
    }
    if untrusted.header.time <= trusted.header.time {
        return Err(LightError::Time {
            height: uh,
            why: "not after the trusted header's",
        });
    }
    if untrusted.header.time > now.plus_millis(opts.max_clock_drift_ms) {
        return Err(LightError::Time {
            height: uh,
            why: "in the future",
        });
    }
    check_self(untrusted)?;
    if uh == th + 1 {
        if untrusted.header.validators_hash != trusted.header.next_validators_hash {
            return Err(LightError::NotNextValidators {
                height: uh,
                trusted: th,
            });
        }
    } else {
        trusted_power_signed(&trusted.next_validators, untrusted, opts)?;
    }
    untrusted
        .validators
        .verify_commit(
            &untrusted.header.chain_id,
            &untrusted.commit.block_id,
            uh,
            &untrusted.commit,
        )
        .map_err(|source| LightError::Commit { height: uh, source })
}

/// A light block agrees with itself: its sets hash to its header's, its commit is for it.
pub fn check_self(b: &LightBlock) -> Result<(), LightError> {
    let h = b.header.height;
    if b.validators.hash() != b.header.validators_hash {
        return Err(LightError::ValidatorsHash {
            height: h,
            which: "validators",
        });
    }
    if b.next_validators.hash() != b.header.next_validators_hash {
        return Err(LightError::ValidatorsHash {
            height: h,
            which: "next_validators",
        });
    }
    if b.commit.height != h {
        return Err(LightError::CommitMismatch {
            height: h,
            why: format!("commit height {}", b.commit.height),
        });
    }
    let hash: Hash = b.header.hash();
    if b.commit.block_id.hash != hash {
        return Err(LightError::CommitMismatch {
            height: h,
            why: format!(
                "commit for {}, header hashes to {hash}",
                b.commit.block_id.hash
            ),
        });
    }
    Ok(())
}

/// More than the trust level of `trusted`'s power signed `untrusted`'s commit (each
/// validator counted once, its signature checked with the key the trusted set holds).
fn trusted_power_signed(
    trusted: &ValidatorSet,
    untrusted: &LightBlock,
    opts: &TrustOptions,
) -> Result<(), LightError> {
    let height = untrusted.header.height;
    let chain_id = &untrusted.header.chain_id;
    let mut seen = BTreeSet::new();
    let mut signed: i64 = 0;
    for i in 0..untrusted.commit.signatures.len() {
        let Some(vote) = untrusted.commit.vote(i) else {
            continue;
        };
        if vote.block_id.is_none() {
            continue;
        }
        let Some(v) = trusted.get_by_address(&vote.validator_address) else {
            continue;
        };
        if !seen.insert(v.address) {
            continue;
        }
        vote.verify(chain_id, &v.pub_key)
            .map_err(|source| LightError::Commit { height, source })?;
        signed += v.voting_power;
    }
    let (num, den) = opts.trust_level;
    let total = trusted.total_voting_power();
    if (signed as i128) * (den as i128) <= (total as i128) * (num as i128) {
        return Err(LightError::NotEnoughTrust {
            height,
            signed,
            total,
            num,
            den,
        });
    }
    Ok(())
}

/// One step a bisection took: `from` trusted, `to` verified from it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Step {
    /// The trusted height the step started from.
    pub from: Height,
    /// The height it verified.
    pub to: Height,
}

/// Why bisection stopped.
#[derive(Debug, thiserror::Error)]
pub enum BisectError<E: std::error::Error + 'static> {
    /// A light block could not be fetched.
    #[error("fetching light block {height}: {source}")]
    Fetch {
        /// Height.
        height: Height,
        /// Why.
        source: E,
    },
    /// A header failed verification (not for too little trust: that bisects).
    #[error("verifying header {to} from trusted header {from}: {source}")]
    Verify {
        /// Trusted height.
        from: Height,
        /// Offered height.
        to: Height,
        /// The step that failed.
        source: LightError,
    },
}

/// Verify the light block at `target` from `trusted`, skipping as far as trust allows and
/// bisecting otherwise (CometBFT's `VerifyNonAdjacent` loop): returns the verified block and
/// the steps taken.
pub fn bisect<E: std::error::Error + 'static>(
    trusted: LightBlock,
    target: Height,
    mut fetch: impl FnMut(Height) -> Result<LightBlock, E>,
    opts: &TrustOptions,
    now: Time,
) -> Result<(LightBlock, Vec<Step>), BisectError<E>> {
    let mut trusted = trusted;
    let mut steps = Vec::new();
    if target == trusted.header.height {
        return Ok((trusted, steps));
    }
    let get = |h: Height, fetch: &mut dyn FnMut(Height) -> Result<LightBlock, E>| {
        fetch(h).map_err(|source| BisectError::Fetch { height: h, source })
    };
    let mut goal = target;
    // Heights fetched but not yet verified, nearest last (the pivots of the bisection).
    let mut pending: Vec<LightBlock> = vec![get(goal, &mut fetch)?];
    while let Some(candidate) = pending.last().cloned() {
        let from = trusted.header.height;
        let to = candidate.header.height;
        match verify(&trusted, &candidate, opts, now) {
            Ok(()) => {
                steps.push(Step { from, to });
                pending.pop();
                trusted = candidate;
            }
            Err(LightError::NotEnoughTrust { .. }) if to > from + 1 => {
                goal = from + (to - from) / 2;
                pending.push(get(goal, &mut fetch)?);
            }
            Err(source) => return Err(BisectError::Verify { from, to, source }),
        }
    }
    Ok((trusted, steps))
}
