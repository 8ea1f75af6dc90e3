//! The staking errors registered by Cosmos SDK v0.50 `x/staking/types/errors.go`, with their
//! codes and wording (codespace `staking`).

use crate::ModuleError;

/// A registered staking error. The code is the discriminant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum StakingError {
    /// 2
    EmptyValidatorAddr = 2,
    /// 3
    NoValidatorFound = 3,
    /// 4
    ValidatorOwnerExists = 4,
    /// 5
    ValidatorPubKeyExists = 5,
    /// 6
    ValidatorPubKeyTypeNotSupported = 6,
    /// 7
    ValidatorJailed = 7,
    /// 8
    BadRemoveValidator = 8,
    /// 9
    CommissionNegative = 9,
    /// 10
    CommissionHuge = 10,
    /// 11
    CommissionGtMaxRate = 11,
    /// 12
    CommissionUpdateTime = 12,
    /// 13
    CommissionChangeRateNegative = 13,
    /// 14
    CommissionChangeRateGtMaxRate = 14,
    /// 15
    CommissionGtMaxChangeRate = 15,
    /// 16
    SelfDelegationBelowMinimum = 16,
    /// 17
    MinSelfDelegationDecreased = 17,
    /// 18
    EmptyDelegatorAddr = 18,
    /// 19
    NoDelegation = 19,
    /// 20
    BadDelegatorAddr = 20,
    /// 21
    NoDelegatorForAddress = 21,
    /// 22
    InsufficientShares = 22,
    /// 23
    DelegationValidatorEmpty = 23,
    /// 24
    NotEnoughDelegationShares = 24,
    /// 25
    NotMature = 25,
    /// 26
    NoUnbondingDelegation = 26,
    /// 27
    MaxUnbondingDelegationEntries = 27,
    /// 28
    NoRedelegation = 28,
    /// 29
    SelfRedelegation = 29,
    /// 30
    TinyRedelegationAmount = 30,
    /// 31
    BadRedelegationDst = 31,
    /// 32
    TransitiveRedelegation = 32,
    /// 33
    MaxRedelegationEntries = 33,
    /// 34
    DelegatorShareExRateInvalid = 34,
    /// 39
    EmptyValidatorPubKey = 39,
    /// 40
    CommissionLtMinRate = 40,
    /// 41
    UnbondingNotFound = 41,
    /// 42
    UnbondingOnHoldRefCountNegative = 42,
}

impl StakingError {
    /// The ABCI code.
    pub fn code(self) -> u32 {
        self as u32
    }

    /// The SDK's message.
    pub fn message(self) -> &'static str {
        use StakingError::*;
        match self {
            EmptyValidatorAddr => "empty validator address",
            NoValidatorFound => "validator does not exist",
            ValidatorOwnerExists => "validator already exist for this operator address; must use new validator operator address",
            ValidatorPubKeyExists => "validator already exist for this pubkey; must use new validator pubkey",
            ValidatorPubKeyTypeNotSupported => "validator pubkey type is not supported",
            ValidatorJailed => "validator for this address is currently jailed",
            BadRemoveValidator => "failed to remove validator",
            CommissionNegative => "commission must be positive",
            CommissionHuge => "commission cannot be more than 100%",
            CommissionGtMaxRate => "commission cannot be more than the max rate",
            CommissionUpdateTime => "commission cannot be changed more than once in 24h",
            CommissionChangeRateNegative => "commission change rate must be positive",
            CommissionChangeRateGtMaxRate => "commission change rate cannot be more than the max rate",
            CommissionGtMaxChangeRate => "commission cannot be changed more than max change rate",
            SelfDelegationBelowMinimum => "validator's self delegation must be greater than their minimum self delegation",
            MinSelfDelegationDecreased => "minimum self delegation cannot be decrease",
            EmptyDelegatorAddr => "empty delegator address",
            NoDelegation => "no delegation for (address, validator) tuple",
            BadDelegatorAddr => "delegator does not exist with address",
            NoDelegatorForAddress => "delegator does not contain delegation",
            InsufficientShares => "insufficient delegation shares",
            DelegationValidatorEmpty => "cannot delegate to an empty validator",
            NotEnoughDelegationShares => "not enough delegation shares",
            NotMature => "entry not mature",
            NoUnbondingDelegation => "no unbonding delegation found",
            MaxUnbondingDelegationEntries => "too many unbonding delegation entries for (delegator, validator) tuple",
            NoRedelegation => "no redelegation found",
            SelfRedelegation => "cannot redelegate to the same validator",
            TinyRedelegationAmount => "too few tokens to redelegate (truncates to zero tokens)",
            BadRedelegationDst => "redelegation destination validator not found",
            TransitiveRedelegation => "redelegation to this validator already in progress; first redelegation to this validator must complete before next redelegation",
            MaxRedelegationEntries => "too many redelegation entries for (delegator, src-validator, dst-validator) tuple",
            DelegatorShareExRateInvalid => "cannot delegate to validators with invalid (zero) ex-rate",
            EmptyValidatorPubKey => "empty validator public key",
            CommissionLtMinRate => "commission cannot be less than min rate",
            UnbondingNotFound => "unbonding operation not found",
            UnbondingOnHoldRefCountNegative => "cannot un-hold unbonding operation that is not on hold",
        }
    }

    /// The error with `context` in front (the SDK's `errorsmod.Wrap`).
    pub fn wrap(self, context: impl Into<String>) -> ModuleError {
        ModuleError::Staking {
            error: self,
            context: Some(context.into()),
        }
    }
}

impl From<StakingError> for ModuleError {
    fn from(error: StakingError) -> ModuleError {
        ModuleError::Staking {
            error,
            context: None,
        }
    }
}
