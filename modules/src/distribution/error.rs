//! The distribution errors registered by Cosmos SDK v0.50 `x/distribution/types/errors.go`,
//! with their codes and wording (codespace `distribution`).

use crate::ModuleError;

/// A registered distribution error. The code is the discriminant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum DistributionError {
    /// 2
    EmptyDelegatorAddr = 2,
    /// 3
    EmptyWithdrawAddr = 3,
    /// 4
    EmptyValidatorAddr = 4,
    /// 5
    EmptyDelegationDistInfo = 5,
    /// 6
    NoValidatorDistInfo = 6,
    /// 7
    NoValidatorCommission = 7,
    /// 8
    SetWithdrawAddrDisabled = 8,
    /// 9
    BadDistribution = 9,
    /// 10
    InvalidProposalAmount = 10,
    /// 11
    EmptyProposalRecipient = 11,
    /// 12
    NoValidatorExists = 12,
    /// 13
    NoDelegationExists = 13,
    /// 14
    InvalidProposalContent = 14,
}

impl DistributionError {
    /// The ABCI code.
    pub fn code(self) -> u32 {
        self as u32
    }

    /// The SDK's message.
    pub fn message(self) -> &'static str {
        use DistributionError::*;
        match self {
            EmptyDelegatorAddr => "delegator address is empty",
            EmptyWithdrawAddr => "withdraw address is empty",
            EmptyValidatorAddr => "validator address is empty",
            EmptyDelegationDistInfo => "no delegation distribution info",
            NoValidatorDistInfo => "no validator distribution info",
            NoValidatorCommission => "no validator commission to withdraw",
            SetWithdrawAddrDisabled => "set withdraw address disabled",
            BadDistribution => "community pool does not have sufficient coins to distribute",
            InvalidProposalAmount => "invalid community pool spend proposal amount",
            EmptyProposalRecipient => "invalid community pool spend proposal recipient",
            NoValidatorExists => "validator does not exist",
            NoDelegationExists => "delegation does not exist",
            InvalidProposalContent => "invalid proposal content",
        }
    }

    /// The message with `context` in front, as `errorsmod.Wrap` prints it.
    pub fn wrapped_message(self, context: &Option<String>) -> String {
        match context {
            Some(c) => format!("{c}: {}", self.message()),
            None => self.message().to_string(),
        }
    }

    /// The error with `context` in front (the SDK's `errorsmod.Wrap`).
    pub fn wrap(self, context: impl Into<String>) -> ModuleError {
        ModuleError::Distribution {
            error: self,
            context: Some(context.into()),
        }
    }
}

impl From<DistributionError> for ModuleError {
    fn from(error: DistributionError) -> ModuleError {
        ModuleError::Distribution {
            error,
            context: None,
        }
    }
}
