//! Errors as the Cosmos SDK reports them: a codespace, a code and a message, so that clients
//! (cosmjs, cosmrs) see what they see from gaiad.

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
            ModuleError::State(_) | ModuleError::Corrupt { .. } => "keystone",
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
            ModuleError::State(_) => 1,
            ModuleError::Corrupt { .. } => 2,
        }
    }
}

/// `Result` with [`ModuleError`].
pub type Result<T> = std::result::Result<T, ModuleError>;
