//! The slashing errors registered by Cosmos SDK v0.50 `x/slashing/types/errors.go`, with
//! their codes and wording (codespace `slashing`).

use crate::ModuleError;

/// A registered slashing error. The code is the discriminant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum SlashingError {
    /// 2
    NoValidatorForAddress = 2,
    /// 3
    BadValidatorAddr = 3,
    /// 4
    ValidatorJailed = 4,
    /// 5
    ValidatorNotJailed = 5,
    /// 6
    MissingSelfDelegation = 6,
    /// 7
    SelfDelegationTooLowToUnjail = 7,
    /// 8
    NoSigningInfoFound = 8,
    /// 9
    ValidatorTombstoned = 9,
    /// 10
    InvalidSigner = 10,
}

impl SlashingError {
    /// The ABCI code.
    pub fn code(self) -> u32 {
        self as u32
    }

    /// The SDK's message.
    pub fn message(self) -> &'static str {
        use SlashingError::*;
        match self {
            NoValidatorForAddress => "address is not associated with any known validator",
            BadValidatorAddr => "validator does not exist for that address",
            ValidatorJailed => "validator still jailed; cannot be unjailed",
            ValidatorNotJailed => "validator not jailed; cannot be unjailed",
            MissingSelfDelegation => "validator has no self-delegation; cannot be unjailed",
            SelfDelegationTooLowToUnjail => {
                "validator's self delegation less than minimum; cannot be unjailed"
            }
            NoSigningInfoFound => "no validator signing info found",
            ValidatorTombstoned => "validator already tombstoned",
            InvalidSigner => "expected authority account as only signer for proposal message",
        }
    }

    /// The error with `context` in front (the SDK's `errorsmod.Wrap`).
    pub fn wrap(self, context: impl Into<String>) -> ModuleError {
        ModuleError::Slashing {
            error: self,
            context: Some(context.into()),
        }
    }
}

impl From<SlashingError> for ModuleError {
    fn from(error: SlashingError) -> ModuleError {
        ModuleError::Slashing {
            error,
            context: None,
        }
    }
}
