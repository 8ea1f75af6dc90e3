//! Why a transaction failed, as an ABCI result reports it: codespace, code and log, worded as
//! the Cosmos SDK words them (clients match on these).

use keystone_modules::ModuleError;

/// A failed transaction.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TxError {
    /// sdk 2: undecodable bytes or an unknown message type.
    #[error("{0}: tx parse error")]
    Decode(String),
    /// sdk 4: a signature that does not verify, or signers that do not match.
    #[error("{0}: unauthorized")]
    Unauthorized(String),
    /// sdk 8: a public key that is not the signer's.
    #[error("{0}: invalid pubkey")]
    InvalidPubKey(String),
    /// sdk 9: the signer has no account.
    #[error("account {0} not found: unknown address")]
    UnknownAddress(String),
    /// sdk 11: the transaction used more gas than its limit.
    #[error(
        "out of gas in location: {location}; gasWanted: {wanted}, gasUsed: {used}: out of gas"
    )]
    OutOfGas {
        /// What was being charged.
        location: String,
        /// The limit.
        wanted: u64,
        /// Gas used when it ran out.
        used: u64,
    },
    /// sdk 12: memo too long.
    #[error("maximum number of characters is {max} but received {got} characters: memo too large")]
    MemoTooLarge {
        /// Limit.
        max: u64,
        /// Found.
        got: u64,
    },
    /// sdk 13: fee below the node's minimum gas prices.
    #[error("insufficient fees; got: {got} required: {required}: insufficient fee")]
    InsufficientFee {
        /// Offered.
        got: String,
        /// Needed.
        required: String,
    },
    /// sdk 14: too many signatures.
    #[error("signatures: {got}, limit: {max}: too many signatures")]
    TooManySignatures {
        /// Limit.
        max: u64,
        /// Found.
        got: u64,
    },
    /// sdk 15: no signatures.
    #[error("no signatures supplied")]
    NoSignatures,
    /// sdk 21: the transaction is larger than allowed.
    #[error("tx size {got} exceeds the limit {max}: tx too large")]
    TooLarge {
        /// Limit.
        max: usize,
        /// Found.
        got: usize,
    },
    /// sdk 30: past its timeout height.
    #[error("block height: {height}, timeout height: {timeout}: tx timeout height")]
    TimeoutHeight {
        /// Current height.
        height: u64,
        /// The tx's timeout height.
        timeout: u64,
    },
    /// sdk 32: the sequence is not the account's.
    #[error(
        "account sequence mismatch, expected {expected}, got {got}: incorrect account sequence"
    )]
    WrongSequence {
        /// The account's sequence.
        expected: u64,
        /// The tx's.
        got: u64,
    },
    /// A module rejected a message (its own codespace and code).
    #[error("{0}")]
    Module(#[from] ModuleError),
}

impl TxError {
    /// ABCI codespace.
    pub fn codespace(&self) -> &'static str {
        match self {
            TxError::Module(e) => e.codespace(),
            _ => "sdk",
        }
    }

    /// ABCI code.
    pub fn code(&self) -> u32 {
        match self {
            TxError::Decode(_) => 2,
            TxError::Unauthorized(_) => 4,
            TxError::InvalidPubKey(_) => 8,
            TxError::UnknownAddress(_) => 9,
            TxError::OutOfGas { .. } => 11,
            TxError::MemoTooLarge { .. } => 12,
            TxError::InsufficientFee { .. } => 13,
            TxError::TooManySignatures { .. } => 14,
            TxError::NoSignatures => 15,
            TxError::TooLarge { .. } => 21,
            TxError::TimeoutHeight { .. } => 30,
            TxError::WrongSequence { .. } => 32,
            TxError::Module(e) => e.code(),
        }
    }
}
