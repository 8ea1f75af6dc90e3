//! Errors as the Cosmos SDK reports them: a codespace, a code and a message, so that clients
//! (cosmjs, cosmrs) see what they see from gaiad.

use crate::slashing::SlashingError;
use crate::staking::StakingError;

fn staking_message(error: &StakingError, context: &Option<String>) -> String {
    match context {
        Some(c) => format!("{c}: {}", error.message()),
        None => error.message().to_string(),
    }
}

fn slashing_message(error: &SlashingError, context: &Option<String>) -> String {
    match context {
        Some(c) => format!("{c}: {}", error.message()),
        None => error.message().to_string(),
    }
}

/// A module error with its ABCI codespace and code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ModuleError {
    /// sdk 2: the tx could not be decoded.
    #[error("{0}: tx parse error")]
    TxDecode(String),
    /// sdk 4: unauthorized.
    #[error("{0}: unauthorized")]
    Unauthorized(String),
    /// sdk 5: insufficient funds.
    #[error("{0}: insufficient funds")]
    InsufficientFunds(String),
    /// sdk 7: invalid address.
    #[error("{0}: invalid address")]
    InvalidAddress(String),
    /// sdk 10: invalid coins.
    #[error("{0}: invalid coins")]
    InvalidCoins(String),
    /// sdk 18: invalid request.
    #[error("{0}: invalid request")]
    InvalidRequest(String),
    /// sdk 38: not found.
    #[error("{0}: not found")]
    NotFound(String),
    /// bank 2: no inputs.
    #[error("no inputs to send transaction")]
    NoInputs,
    /// bank 3: no outputs.
    #[error("no outputs to send transaction")]
    NoOutputs,
    /// bank 4: inputs and outputs differ.
    #[error("sum inputs != sum outputs")]
    InputOutputMismatch,
    /// bank 5: sending a denom is disabled.
    #[error("{0} transfers are currently disabled")]
    SendDisabled(String),
    /// bank 9: more than one sender.
    #[error("multiple senders not allowed")]
    MultipleSenders,
    /// A staking error (codespace `staking`), optionally wrapped with context as the SDK's
    /// `errorsmod.Wrap` does: the message is `"<context>: <error>"`.
    #[error("{}", staking_message(error, context))]
    Staking {
        /// The registered error.
        error: StakingError,
        /// What `Wrap`/`Wrapf` added in front, if anything.
        context: Option<String>,
    },
    /// A slashing error (codespace `slashing`), optionally wrapped with context as the SDK's
    /// `errorsmod.Wrap` does: the message is `"<context>: <error>"`.
    #[error("{}", slashing_message(error, context))]
    Slashing {
        /// The registered error.
        error: SlashingError,
        /// What `Wrap`/`Wrapf` added in front, if anything.
        context: Option<String>,
    },
    /// A distribution error (codespace `distribution`), optionally wrapped with context as
    /// the SDK's `errorsmod.Wrap` does: the message is `"<context>: <error>"`.
    #[error("{}", error.wrapped_message(context))]
    Distribution {
        /// The registered error.
        error: crate::distribution::DistributionError,
        /// What `Wrap`/`Wrapf` added in front, if anything.
        context: Option<String>,
    },
    /// An unregistered error (Go's `fmt.Errorf`, a gRPC status): the SDK reports these with
    /// codespace `undefined` and code 1.
    #[error("{0}")]
    Internal(String),
    /// Exact arithmetic that left its range (the SDK panics there).
    #[error("{0}")]
    Math(String),
    /// The state below failed (storage I/O): not the transaction's fault.
    #[error("state: {0}")]
    State(String),
    /// Stored bytes that do not decode.
    #[error("corrupt state at {key}: {reason}")]
    Corrupt {
        /// The key.
        key: String,
        /// What is wrong.
        reason: String,
    },
}

impl ModuleError {
    /// The ABCI codespace.
    pub fn codespace(&self) -> &'static str {
        match self {
            ModuleError::NoInputs
            | ModuleError::NoOutputs
            | ModuleError::InputOutputMismatch
            | ModuleError::SendDisabled(_)
            | ModuleError::MultipleSenders => "bank",
            ModuleError::Staking { .. } => "staking",
            ModuleError::Slashing { .. } => "slashing",
            ModuleError::Distribution { .. } => "distribution",
            ModuleError::Internal(_) => "undefined",
            ModuleError::State(_) | ModuleError::Corrupt { .. } | ModuleError::Math(_) => {
                "keystone"
            }
            _ => "sdk",
        }
    }

    /// The ABCI code.
    pub fn code(&self) -> u32 {
        match self {
            ModuleError::TxDecode(_) => 2,
            ModuleError::Unauthorized(_) => 4,
            ModuleError::InsufficientFunds(_) => 5,
            ModuleError::InvalidAddress(_) => 7,
            ModuleError::InvalidCoins(_) => 10,
            ModuleError::InvalidRequest(_) => 18,
            ModuleError::NotFound(_) => 38,
            ModuleError::NoInputs => 2,
            ModuleError::NoOutputs => 3,
            ModuleError::InputOutputMismatch => 4,
            ModuleError::SendDisabled(_) => 5,
            ModuleError::MultipleSenders => 9,
            ModuleError::Staking { error, .. } => error.code(),
            ModuleError::Slashing { error, .. } => error.code(),
            ModuleError::Distribution { error, .. } => error.code(),
            ModuleError::Internal(_) => 1,
            ModuleError::State(_) => 1,
            ModuleError::Corrupt { .. } => 2,
            ModuleError::Math(_) => 3,
        }
    }
}

/// `Result` with [`ModuleError`].
pub type Result<T> = std::result::Result<T, ModuleError>;
