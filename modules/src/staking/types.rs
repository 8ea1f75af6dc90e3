//! staking's records, in the SDK's LCD JSON shape, and the validator's share arithmetic
//! (`x/staking/types/validator.go`).

use super::StakingError;
use crate::serde_util::{duration_secs, text, u64_vec_str, valoper};
use crate::{Address, Amount, Dec, ModuleError, Result, Timestamp};
use base64::Engine;
use serde::{Deserialize, Serialize};

/// Tokens per unit of consensus power (the SDK's default `PowerReduction`).
pub const POWER_REDUCTION: Amount = 1_000_000;

/// The value the SDK's `EditValidator` reads as "keep the current field".
pub const DO_NOT_MODIFY: &str = "[do-not-modify]";

/// Where a validator stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum BondStatus {
    /// Not in the set, not unbonding.
    #[serde(rename = "BOND_STATUS_UNBONDED")]
    Unbonded,
    /// Left the set; its stake is still slashable until the unbonding time.
    #[serde(rename = "BOND_STATUS_UNBONDING")]
    Unbonding,
    /// In the set.
    #[serde(rename = "BOND_STATUS_BONDED")]
    Bonded,
}

/// The type URL of the only consensus key type accepted.
pub const ED25519_TYPE_URL: &str = "/cosmos.crypto.ed25519.PubKey";

/// An ed25519 consensus public key, in JSON as the SDK's `Any`:
/// `{"@type": "/cosmos.crypto.ed25519.PubKey", "key": "<base64>"}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConsensusPubKey(pub [u8; 32]);

#[derive(Serialize, Deserialize)]
struct AnyPubKey {
    #[serde(rename = "@type")]
    type_url: String,
    key: String,
}

impl Serialize for ConsensusPubKey {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        AnyPubKey {
            type_url: ED25519_TYPE_URL.into(),
            key: base64::engine::general_purpose::STANDARD.encode(self.0),
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for ConsensusPubKey {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let any = AnyPubKey::deserialize(d)?;
        if any.type_url != ED25519_TYPE_URL {
            return Err(serde::de::Error::custom(format!(
                "consensus key type {} is not supported",
                any.type_url
            )));
        }
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(&any.key)
            .map_err(serde::de::Error::custom)?;
        let key: [u8; 32] = bytes
            .try_into()
            .map_err(|_| serde::de::Error::custom("an ed25519 key is 32 bytes"))?;
        Ok(ConsensusPubKey(key))
    }
}

/// A validator's description.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Description {
    /// Name.
    #[serde(default)]
    pub moniker: String,
    /// Optional identity signature (e.g. Keybase).
    #[serde(default)]
    pub identity: String,
    /// Website.
    #[serde(default)]
    pub website: String,
    /// Security contact.
    #[serde(default)]
    pub security_contact: String,
    /// Details.
    #[serde(default)]
    pub details: String,
}

impl Description {
    /// The SDK's length limits (`Description.EnsureLength`).
    pub fn ensure_length(&self) -> Result<()> {
        for (name, value, max) in [
            ("moniker", &self.moniker, 70),
            ("identity", &self.identity, 3000),
            ("website", &self.website, 140),
            ("security contact", &self.security_contact, 140),
            ("details", &self.details, 280),
        ] {
            if value.len() > max {
                return Err(ModuleError::InvalidRequest(format!(
                    "invalid {name} length; got: {}, max: {max}",
                    value.len()
                )));
            }
        }
        Ok(())
    }

    /// `self` with the fields of `new` that are not [`DO_NOT_MODIFY`], length-checked
    /// (`Description.UpdateDescription`).
    pub fn update(&self, new: &Description) -> Result<Description> {
        let pick = |new: &String, old: &String| {
            if new == DO_NOT_MODIFY {
                old.clone()
            } else {
                new.clone()
            }
        };
        let d = Description {
            moniker: pick(&new.moniker, &self.moniker),
            identity: pick(&new.identity, &self.identity),
            website: pick(&new.website, &self.website),
            security_contact: pick(&new.security_contact, &self.security_contact),
            details: pick(&new.details, &self.details),
        };
        d.ensure_length()?;
        Ok(d)
    }
}

/// Commission rates.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommissionRates {
    /// The rate charged to delegators.
    pub rate: Dec,
    /// The most the rate may ever be.
    pub max_rate: Dec,
    /// The most the rate may rise in one change.
    pub max_change_rate: Dec,
}

impl CommissionRates {
    /// The SDK's `CommissionRates.Validate`, in its order.
    pub fn validate(&self) -> Result<()> {
        let err = |e: StakingError| Err(e.into());
        if self.max_rate.is_negative() {
            return err(StakingError::CommissionNegative);
        }
        if self.max_rate > Dec::one() {
            return err(StakingError::CommissionHuge);
        }
        if self.rate.is_negative() {
            return err(StakingError::CommissionNegative);
        }
        if self.rate > self.max_rate {
            return err(StakingError::CommissionGtMaxRate);
        }
        if self.max_change_rate.is_negative() {
            return err(StakingError::CommissionChangeRateNegative);
        }
        if self.max_change_rate > self.max_rate {
            return err(StakingError::CommissionChangeRateGtMaxRate);
        }
        Ok(())
    }
}

/// A validator's commission.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Commission {
    /// The rates.
    pub commission_rates: CommissionRates,
    /// When the rate last changed.
    pub update_time: Timestamp,
}

impl Commission {
    /// Whether the rate may change to `new_rate` at `block_time` (`ValidateNewRate`): once
    /// per 24 h, not negative, not above the max rate, not rising by more than the max
    /// change rate.
    pub fn validate_new_rate(&self, new_rate: Dec, block_time: &Timestamp) -> Result<()> {
        const DAY_NANOS: i128 = 24 * 3600 * 1_000_000_000;
        if block_time.nanos_since(&self.update_time) < DAY_NANOS {
            return Err(StakingError::CommissionUpdateTime.into());
        }
        if new_rate.is_negative() {
            return Err(StakingError::CommissionNegative.into());
        }
        if new_rate > self.commission_rates.max_rate {
            return Err(StakingError::CommissionGtMaxRate.into());
        }
        if new_rate.sub(self.commission_rates.rate)? > self.commission_rates.max_change_rate {
            return Err(StakingError::CommissionGtMaxChangeRate.into());
        }
        Ok(())
    }
}

/// A validator (the LCD's JSON).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Validator {
    /// The operator (`cosmosvaloper1…`; the same bytes as the operator's account).
    #[serde(rename = "operator_address", with = "valoper")]
    pub operator: Address,
    /// The consensus key.
    pub consensus_pubkey: ConsensusPubKey,
    /// Jailed validators are out of the power index and cannot bond.
    pub jailed: bool,
    /// Bonded, unbonding or unbonded.
    pub status: BondStatus,
    /// Tokens delegated (held in the bonded or the not-bonded pool by status).
    #[serde(with = "text")]
    pub tokens: Amount,
    /// Shares issued to delegators.
    pub delegator_shares: Dec,
    /// The description.
    pub description: Description,
    /// Height at which unbonding started (or ends, for the queue).
    #[serde(with = "text")]
    pub unbonding_height: u64,
    /// When unbonding completes (the epoch when it never started).
    pub unbonding_time: Timestamp,
    /// The commission.
    pub commission: Commission,
    /// The least self-delegation before the validator is jailed.
    #[serde(with = "text")]
    pub min_self_delegation: Amount,
    /// Holds on the unbonding (interchain security; always 0 here).
    #[serde(with = "text", default)]
    pub unbonding_on_hold_ref_count: i64,
    /// Ids of the unbonding operations of this validator.
    #[serde(with = "u64_vec_str", default)]
    pub unbonding_ids: Vec<u64>,
}

impl Validator {
    /// A new, unbonded, empty validator (`NewValidator` + `SetInitialCommission`).
    pub fn new(
        operator: Address,
        pubkey: [u8; 32],
        description: Description,
        commission: Commission,
    ) -> Validator {
        Validator {
            operator,
            consensus_pubkey: ConsensusPubKey(pubkey),
            jailed: false,
            status: BondStatus::Unbonded,
            tokens: 0,
            delegator_shares: Dec::zero(),
            description,
            unbonding_height: 0,
            unbonding_time: Timestamp::EPOCH,
            commission,
            min_self_delegation: 1,
            unbonding_on_hold_ref_count: 0,
            unbonding_ids: Vec::new(),
        }
    }

    /// The consensus address: `sha256(key)[..20]`.
    pub fn cons_address(&self) -> Address {
        Address::from_ed25519_pubkey(&self.consensus_pubkey.0)
    }

    /// Bonded?
    pub fn is_bonded(&self) -> bool {
        self.status == BondStatus::Bonded
    }

    /// Unbonding?
    pub fn is_unbonding(&self) -> bool {
        self.status == BondStatus::Unbonding
    }

    /// Unbonded?
    pub fn is_unbonded(&self) -> bool {
        self.status == BondStatus::Unbonded
    }

    /// Shares without tokens: every share is worthless after a 100 % slash, and new
    /// delegations would be priced by a division by zero (`InvalidExRate`).
    pub fn invalid_ex_rate(&self) -> bool {
        self.tokens == 0 && self.delegator_shares.is_positive()
    }

    /// The power the validator would have if bonded: tokens / 10^6.
    pub fn potential_consensus_power(&self) -> Amount {
        self.tokens / POWER_REDUCTION
    }

    /// The power it has: the potential power if bonded, else 0.
    pub fn consensus_power(&self) -> Result<i64> {
        if !self.is_bonded() {
            return Ok(0);
        }
        i64::try_from(self.potential_consensus_power()).map_err(|_| {
            ModuleError::Math(format!(
                "consensus power of {} exceeds int64",
                self.operator.to_valoper()
            ))
        })
    }

    /// Tokens worth `shares`: `shares × tokens / delegator_shares`, rounded half to even.
    pub fn tokens_from_shares(&self, shares: Dec) -> Result<Dec> {
        shares.mul_int(self.tokens)?.quo(self.delegator_shares)
    }

    /// As [`Validator::tokens_from_shares`], truncated.
    pub fn tokens_from_shares_truncated(&self, shares: Dec) -> Result<Dec> {
        shares
            .mul_int(self.tokens)?
            .quo_truncate(self.delegator_shares)
    }

    /// As [`Validator::tokens_from_shares`], rounded up.
    pub fn tokens_from_shares_round_up(&self, shares: Dec) -> Result<Dec> {
        shares
            .mul_int(self.tokens)?
            .quo_round_up(self.delegator_shares)
    }

    /// Shares worth `amount` tokens: `delegator_shares × amount / tokens`, truncated
    /// (`ErrInsufficientShares` without tokens).
    pub fn shares_from_tokens(&self, amount: Amount) -> Result<Dec> {
        if self.tokens == 0 {
            return Err(StakingError::InsufficientShares.into());
        }
        self.delegator_shares.mul_int(amount)?.quo_int(self.tokens)
    }

    /// As [`Validator::shares_from_tokens`], through `QuoTruncate`.
    pub fn shares_from_tokens_truncated(&self, amount: Amount) -> Result<Dec> {
        if self.tokens == 0 {
            return Err(StakingError::InsufficientShares.into());
        }
        self.delegator_shares
            .mul_int(amount)?
            .quo_truncate(Dec::from_int(self.tokens))
    }

    /// Add delegated tokens, issuing shares at the current rate (1:1 for the first
    /// delegation); returns the shares issued (`AddTokensFromDel`).
    pub fn add_tokens_from_del(&mut self, amount: Amount) -> Result<Dec> {
        let issued = if self.delegator_shares.is_zero() {
            Dec::from_int(amount)
        } else {
            self.shares_from_tokens(amount)?
        };
        let tokens = self
            .tokens
            .checked_add(amount)
            .ok_or_else(|| ModuleError::Math("validator tokens overflow".into()))?;
        let shares = self.delegator_shares.add(issued)?;
        self.tokens = tokens;
        self.delegator_shares = shares;
        Ok(issued)
    }

    /// Remove tokens without touching shares (a slash).
    pub fn remove_tokens(&mut self, amount: Amount) -> Result<()> {
        self.tokens = self.tokens.checked_sub(amount).ok_or_else(|| {
            ModuleError::Internal(format!(
                "should not happen: only have {} tokens, trying to remove {amount}",
                self.tokens
            ))
        })?;
        Ok(())
    }

    /// Remove delegator shares, returning the tokens they were worth, truncated; the last
    /// shares take every remaining token (`RemoveDelShares`).
    pub fn remove_del_shares(&mut self, shares: Dec) -> Result<Amount> {
        let remaining = self.delegator_shares.sub(shares)?;
        let issued = if remaining.is_zero() {
            self.tokens
        } else {
            self.tokens_from_shares(shares)?.truncate_int()?
        };
        self.tokens = self.tokens.checked_sub(issued).ok_or_else(|| {
            ModuleError::Internal(
                "attempting to remove more tokens than available in validator".into(),
            )
        })?;
        self.delegator_shares = remaining;
        Ok(issued)
    }
}

/// A delegation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delegation {
    /// The delegator.
    #[serde(rename = "delegator_address", with = "text")]
    pub delegator: Address,
    /// The validator.
    #[serde(rename = "validator_address", with = "valoper")]
    pub validator: Address,
    /// Its shares of the validator.
    pub shares: Dec,
}

/// One unbonding of a delegation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnbondingDelegationEntry {
    /// Height the unbonding began.
    #[serde(with = "text")]
    pub creation_height: u64,
    /// When the tokens are paid out.
    pub completion_time: Timestamp,
    /// Tokens at the start.
    #[serde(with = "text")]
    pub initial_balance: Amount,
    /// Tokens left to pay (less after slashes).
    #[serde(with = "text")]
    pub balance: Amount,
    /// Its unbonding id.
    #[serde(with = "text")]
    pub unbonding_id: u64,
    /// Holds (interchain security; always 0 here).
    #[serde(with = "text", default)]
    pub unbonding_on_hold_ref_count: i64,
}

impl UnbondingDelegationEntry {
    /// Complete at `now`?
    pub fn is_mature(&self, now: &Timestamp) -> bool {
        self.completion_time <= *now
    }
}

/// The unbondings of one (delegator, validator).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnbondingDelegation {
    /// The delegator.
    #[serde(rename = "delegator_address", with = "text")]
    pub delegator: Address,
    /// The validator.
    #[serde(rename = "validator_address", with = "valoper")]
    pub validator: Address,
    /// The entries, oldest first.
    pub entries: Vec<UnbondingDelegationEntry>,
}

impl UnbondingDelegation {
    /// Add an entry, or grow the one with the same creation height and completion time
    /// (`UnbondingDelegation.AddEntry`); true if a new entry was added.
    pub fn add_entry(
        &mut self,
        height: u64,
        completion: Timestamp,
        balance: Amount,
        id: u64,
    ) -> Result<bool> {
        if let Some(e) = self
            .entries
            .iter_mut()
            .find(|e| e.creation_height == height && e.completion_time == completion)
        {
            let grow = |a: Amount| {
                a.checked_add(balance)
                    .ok_or_else(|| ModuleError::Math("unbonding balance overflows".into()))
            };
            e.balance = grow(e.balance)?;
            e.initial_balance = grow(e.initial_balance)?;
            return Ok(false);
        }
        self.entries.push(UnbondingDelegationEntry {
            creation_height: height,
            completion_time: completion,
            initial_balance: balance,
            balance,
            unbonding_id: id,
            unbonding_on_hold_ref_count: 0,
        });
        Ok(true)
    }
}

/// One redelegation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RedelegationEntry {
    /// Height it began.
    #[serde(with = "text")]
    pub creation_height: u64,
    /// When it stops being slashable for the source validator's faults.
    pub completion_time: Timestamp,
    /// Tokens moved.
    #[serde(with = "text")]
    pub initial_balance: Amount,
    /// Shares created at the destination.
    pub shares_dst: Dec,
    /// Its unbonding id.
    #[serde(with = "text")]
    pub unbonding_id: u64,
    /// Holds (interchain security; always 0 here).
    #[serde(with = "text", default)]
    pub unbonding_on_hold_ref_count: i64,
}

impl RedelegationEntry {
    /// Complete at `now`?
    pub fn is_mature(&self, now: &Timestamp) -> bool {
        self.completion_time <= *now
    }
}

/// The redelegations of one (delegator, source, destination).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Redelegation {
    /// The delegator.
    #[serde(rename = "delegator_address", with = "text")]
    pub delegator: Address,
    /// The source validator.
    #[serde(rename = "validator_src_address", with = "valoper")]
    pub src: Address,
    /// The destination validator.
    #[serde(rename = "validator_dst_address", with = "valoper")]
    pub dst: Address,
    /// The entries, oldest first.
    pub entries: Vec<RedelegationEntry>,
}

/// staking params, with the SDK's defaults.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Params {
    /// How long unbonding takes, in seconds (JSON `"1814400s"`).
    #[serde(with = "duration_secs")]
    pub unbonding_time: u64,
    /// Most validators in the set.
    pub max_validators: u32,
    /// Most unbonding or redelegation entries per pair (triplet).
    pub max_entries: u32,
    /// Historical headers kept (for IBC; not used here).
    pub historical_entries: u32,
    /// The staking token.
    pub bond_denom: String,
    /// The lowest commission rate a validator may set.
    pub min_commission_rate: Dec,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            unbonding_time: 1_814_400,
            max_validators: 100,
            max_entries: 7,
            historical_entries: 10_000,
            bond_denom: "stake".into(),
            min_commission_rate: Dec::zero(),
        }
    }
}

impl Params {
    /// The SDK's `Params.Validate`.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(ModuleError::InvalidRequest(m));
        if self.unbonding_time == 0 {
            return bad(format!(
                "unbonding time must be positive: {}",
                self.unbonding_time
            ));
        }
        if i64::try_from(self.unbonding_time).is_err() {
            return bad(format!("unbonding time too large: {}", self.unbonding_time));
        }
        if self.max_validators == 0 {
            return bad("max validators must be positive".into());
        }
        if self.max_entries == 0 {
            return bad("max entries must be positive".into());
        }
        if self.bond_denom.trim().is_empty() {
            return bad("bond denom cannot be blank".into());
        }
        if !crate::coin::valid_denom(&self.bond_denom) {
            return bad(format!("invalid denom: {}", self.bond_denom));
        }
        if self.min_commission_rate.is_negative() {
            return bad(format!(
                "minimum commission rate cannot be negative: {}",
                self.min_commission_rate
            ));
        }
        if self.min_commission_rate > Dec::one() {
            return bad(format!(
                "minimum commission rate cannot be greater than 100%: {}",
                self.min_commission_rate
            ));
        }
        Ok(())
    }
}

/// A change of the validator set for consensus: a power of 0 removes the validator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ValidatorUpdate {
    /// The ed25519 consensus key.
    pub pub_key: [u8; 32],
    /// The new power.
    pub power: i64,
}
