//! The one error type of this crate.

use crate::{Height, Round};

/// What can go wrong building, decoding or checking consensus data.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// A hash field did not have 32 bytes.
    #[error("hash must be 32 bytes, got {0}")]
    HashLength(usize),
    /// An address field did not have 20 bytes.
    #[error("address must be 20 bytes, got {0}")]
    AddressLength(usize),
    /// A public key was not a valid ed25519 point encoding.
    #[error("invalid ed25519 public key")]
    PublicKey,
    /// A signature did not have 64 bytes.
    #[error("signature must be 64 bytes, got {0}")]
    SignatureLength(usize),
    /// A signature did not verify against the signer's key.
    #[error("invalid signature from {0}")]
    BadSignature(crate::Address),
    /// A timestamp had nanoseconds outside 0..1e9.
    #[error("timestamp nanos out of range: {0}")]
    TimestampNanos(i32),
    /// A protobuf field was missing.
    #[error("missing field {0}")]
    MissingField(&'static str),
    /// A number did not fit the range CometBFT allows.
    #[error("{field} out of range: {value}")]
    OutOfRange {
        /// Which field.
        field: &'static str,
        /// The value found.
        value: i128,
    },
    /// An enum value was unknown.
    #[error("unknown {field} value {value}")]
    UnknownEnum {
        /// Which field.
        field: &'static str,
        /// The value found.
        value: i32,
    },
    /// Protobuf bytes did not decode.
    #[error("protobuf decode: {0}")]
    Decode(String),
    /// A validator set or update was malformed.
    #[error("invalid validator set: {0}")]
    ValidatorSet(String),
    /// A validator was not in the set.
    #[error("validator {0} not in the validator set")]
    UnknownValidator(crate::Address),
    /// A commit did not match what it should commit to.
    #[error("invalid commit: {0}")]
    InvalidCommit(String),
    /// A commit carried too little voting power.
    #[error("insufficient voting power in commit: got {got}, need more than {needed}")]
    InsufficientPower {
        /// Power that signed.
        got: i64,
        /// Two thirds of the total.
        needed: i64,
    },
    /// A block part was out of range or failed its Merkle proof.
    #[error("invalid block part {index}: {reason}")]
    InvalidPart {
        /// Index of the part.
        index: u32,
        /// Why it was refused.
        reason: &'static str,
    },
    /// Two votes are not evidence of equivocation.
    #[error("invalid evidence: {0}")]
    InvalidEvidence(String),
    /// A vote or proposal was for an unexpected height or round.
    #[error("unexpected height/round {height}/{round}")]
    UnexpectedHeightRound {
        /// Height found.
        height: Height,
        /// Round found.
        round: Round,
    },
}

/// `Result` with this crate's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

impl From<prost::DecodeError> for Error {
    fn from(e: prost::DecodeError) -> Self {
        Error::Decode(e.to_string())
    }
}

/// A protobuf `int64` height as a Keystone height (negative heights are refused).
pub(crate) fn height_from_proto(v: i64) -> Result<Height> {
    u64::try_from(v).map_err(|_| Error::OutOfRange {
        field: "height",
        value: v as i128,
    })
}

/// A protobuf `int32` round as a Keystone round (negative rounds are refused).
pub(crate) fn round_from_proto(v: i32) -> Result<Round> {
    u32::try_from(v).map_err(|_| Error::OutOfRange {
        field: "round",
        value: v as i128,
    })
}
