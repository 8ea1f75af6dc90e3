//! bank: balances, total supply, `MsgSend` and `MsgMultiSend`, following Cosmos SDK v0.50
//! `x/bank`: per-denom send-enabled flags, module accounts that may not receive funds, and the
//! SDK's error codes and wording.
//!
//! State (readable and provable):
//! - `bank/balances/<bech32>/<denom>` → decimal amount (absent when zero)
//! - `bank/supply/<denom>` → decimal amount
//! - `bank/params` → [`Params`] (JSON)
//! - `bank/denom_metadata/<base denom>` → [`Metadata`] (JSON), from genesis

pub mod genesis;
pub mod state_key;

use crate::auth;
use crate::state::{get_json, get_string, put_json, State};
use crate::{Address, Amount, Coin, Coins, Event, ModuleError, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// A per-denom send-enabled flag.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendEnabled {
    /// The denom.
    pub denom: String,
    /// Whether it can be sent.
    pub enabled: bool,
}

/// bank params.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Params {
    /// Exceptions to the default.
    #[serde(default)]
    pub send_enabled: Vec<SendEnabled>,
    /// Whether denoms without an entry can be sent.
    pub default_send_enabled: bool,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            send_enabled: Vec::new(),
            default_send_enabled: true,
        }
    }
}

impl Params {
    fn is_send_enabled(&self, denom: &str) -> bool {
        self.send_enabled
            .iter()
            .find(|s| s.denom == denom)
            .map_or(self.default_send_enabled, |s| s.enabled)
    }
}

/// One unit of a denom's metadata (`uatom` at exponent 0, `atom` at 6).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DenomUnit {
    /// The unit's name.
    pub denom: String,
    /// Powers of ten of the base unit it holds.
    #[serde(default)]
    pub exponent: u32,
    /// Other names.
    #[serde(default)]
    pub aliases: Vec<String>,
}

/// A denom's metadata, the SDK's `bank.v1beta1.Metadata` (genesis `denom_metadata`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Metadata {
    /// A description.
    #[serde(default)]
    pub description: String,
    /// Its units.
    #[serde(default)]
    pub denom_units: Vec<DenomUnit>,
    /// The base denom (the one balances are kept in).
    pub base: String,
    /// The unit to display.
    #[serde(default)]
    pub display: String,
    /// Its name.
    #[serde(default)]
    pub name: String,
    /// Its ticker symbol.
    #[serde(default)]
    pub symbol: String,
    /// A URI of a document with more about it.
    #[serde(default)]
    pub uri: String,
    /// That document's hash.
    #[serde(default)]
    pub uri_hash: String,
}

/// The metadata of `base`, if genesis gave it.
pub fn denom_metadata(state: &(impl State + ?Sized), base: &str) -> Result<Option<Metadata>> {
    get_json(state, &state_key::denom_metadata(base))
}

/// Every denom's metadata, in base-denom order.
pub fn all_denom_metadata(state: &(impl State + ?Sized)) -> Result<Vec<Metadata>> {
    crate::state::scan_json(state, state_key::DENOM_METADATA)
}

/// Store `m` under its base denom.
pub fn set_denom_metadata(state: &mut (impl State + ?Sized), m: &Metadata) -> Result<()> {
    put_json(state, &state_key::denom_metadata(&m.base), m)
}

/// `MsgSend`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MsgSend {
    /// Sender (bech32).
    pub from_address: String,
    /// Recipient (bech32).
    pub to_address: String,
    /// What to send.
    pub amount: Vec<Coin>,
}

/// One side of a `MsgMultiSend`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InOut {
    /// The address (bech32).
    pub address: String,
    /// The coins.
    pub coins: Vec<Coin>,
}

/// `MsgMultiSend`: one input, many outputs (SDK v0.50 allows a single sender).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MsgMultiSend {
    /// Inputs.
    pub inputs: Vec<InOut>,
    /// Outputs.
    pub outputs: Vec<InOut>,
}

fn corrupt(key: &str, e: impl std::fmt::Display) -> ModuleError {
    ModuleError::Corrupt {
        key: key.into(),
        reason: e.to_string(),
    }
}

/// A stored amount (a decimal string) at `key`.
fn parse_amount(key: &str, v: &[u8]) -> Result<Amount> {
    std::str::from_utf8(v)
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| corrupt(key, "not a decimal amount"))
}

fn read_amount(state: &(impl State + ?Sized), key: &str) -> Result<Amount> {
    match get_string(state, key)? {
        None => Ok(0),
        Some(s) => s.parse().map_err(|e| corrupt(key, e)),
    }
}

fn write_amount(state: &mut (impl State + ?Sized), key: String, amount: Amount) {
    if amount == 0 {
        state.delete(key.as_bytes());
    } else {
        state.put(key.into_bytes(), amount.to_string().into_bytes());
    }
}

/// The balance of `denom` at `address`.
pub fn balance(state: &(impl State + ?Sized), address: &Address, denom: &str) -> Result<Amount> {
    read_amount(state, &state_key::balance(address, denom))
}

/// Every balance of `address`, sorted by denom.
pub fn all_balances(state: &(impl State + ?Sized), address: &Address) -> Result<Coins> {
    let prefix = state_key::balances(address);
    let mut list = Vec::new();
    for (k, v) in state.prefix(prefix.as_bytes())? {
        let key = String::from_utf8_lossy(&k).into_owned();
        let amount = parse_amount(&key, &v)?;
        list.push(Coin {
            denom: key[prefix.len()..].to_string(),
            amount,
        });
    }
    Coins::from_list(list)
}

/// The total supply of `denom`.
pub fn supply_of(state: &(impl State + ?Sized), denom: &str) -> Result<Amount> {
    read_amount(state, &state_key::supply(denom))
}

/// The total supply of every denom.
pub fn total_supply(state: &(impl State + ?Sized)) -> Result<Coins> {
    let mut list = Vec::new();
    for (k, v) in state.prefix(state_key::SUPPLY.as_bytes())? {
        let key = String::from_utf8_lossy(&k).into_owned();
        let amount = parse_amount(&key, &v)?;
        list.push(Coin {
            denom: key[state_key::SUPPLY.len()..].to_string(),
            amount,
        });
    }
    Coins::from_list(list)
}

/// The bank params.
pub fn params(state: &(impl State + ?Sized)) -> Result<Params> {
    Ok(get_json(state, state_key::PARAMS)?.unwrap_or_default())
}

/// Store the bank params.
pub fn set_params(state: &mut (impl State + ?Sized), p: &Params) -> Result<()> {
    put_json(state, state_key::PARAMS, p)
}

fn sub_balance(state: &mut (impl State + ?Sized), address: &Address, coin: &Coin) -> Result<()> {
    let have = balance(state, address, &coin.denom)?;
    let left = have.checked_sub(coin.amount).ok_or_else(|| {
        ModuleError::InsufficientFunds(format!(
            "spendable balance {have}{} is smaller than {coin}",
            coin.denom
        ))
    })?;
    write_amount(state, state_key::balance(address, &coin.denom), left);
    Ok(())
}

fn add_balance(state: &mut (impl State + ?Sized), address: &Address, coin: &Coin) -> Result<()> {
    let have = balance(state, address, &coin.denom)?;
    let sum = have
        .checked_add(coin.amount)
        .ok_or_else(|| ModuleError::InvalidCoins(format!("balance of {} overflows", coin.denom)))?;
    write_amount(state, state_key::balance(address, &coin.denom), sum);
    Ok(())
}

/// Move `coins` from `from` to `to`. Checks send-enabled and blocked recipients; creates the
/// recipient's account if new. Leaves `state` partly written on error: run it on a branch.
pub fn send(
    state: &mut (impl State + ?Sized),
    from: &Address,
    to: &Address,
    coins: &Coins,
    blocked: &BTreeSet<Address>,
) -> Result<()> {
    let p = params(state)?;
    for c in coins.iter() {
        if !p.is_send_enabled(&c.denom) {
            return Err(ModuleError::SendDisabled(c.denom));
        }
    }
    if blocked.contains(to) {
        return Err(ModuleError::Unauthorized(format!(
            "{to} is not allowed to receive funds"
        )));
    }
    move_coins(state, from, to, coins)
}

/// Move `coins` from `from` to `to` without the send-enabled and blocked-recipient checks:
/// the SDK keeper's `SendCoins`, which modules use for their own accounts (staking's pools).
/// Creates the recipient's account if new; emits what [`send`] emits.
pub fn move_coins(
    state: &mut (impl State + ?Sized),
    from: &Address,
    to: &Address,
    coins: &Coins,
) -> Result<()> {
    move_balances(state, from, to, coins)?;
    auth::ensure_account(state, to)?;
    // The SDK's bank keeper emits these four for every send, fees included.
    emit_spent_received(state, from, to, coins);
    let (from, to, amount) = (from.to_string(), to.to_string(), coins.to_string());
    state.emit(Event::new(
        "transfer",
        [
            ("recipient", to),
            ("sender", from.clone()),
            ("amount", amount),
        ],
    ));
    state.emit(Event::new("message", [("sender", from)]));
    Ok(())
}

/// Move `coins` from a delegator's account into a staking pool (the SDK's `DelegateCoins`):
/// no send-enabled check, and only `coin_spent`/`coin_received` events.
pub fn delegate_coins(
    state: &mut (impl State + ?Sized),
    delegator: &Address,
    pool: &Address,
    coins: &Coins,
) -> Result<()> {
    for c in coins.iter() {
        let have = balance(state, delegator, &c.denom)?;
        if have < c.amount {
            return Err(ModuleError::InsufficientFunds(format!(
                "failed to delegate; {have}{} is smaller than {coins}",
                c.denom
            )));
        }
    }
    move_balances(state, delegator, pool, coins)?;
    emit_spent_received(state, delegator, pool, coins);
    Ok(())
}

/// Move `coins` from a staking pool back to a delegator (the SDK's `UndelegateCoins`): no
/// send-enabled check, and only `coin_spent`/`coin_received` events.
pub fn undelegate_coins(
    state: &mut (impl State + ?Sized),
    pool: &Address,
    delegator: &Address,
    coins: &Coins,
) -> Result<()> {
    move_balances(state, pool, delegator, coins)?;
    auth::ensure_account(state, delegator)?;
    emit_spent_received(state, pool, delegator, coins);
    Ok(())
}

/// Take `coins` from `from`'s balances and add them to `to`'s (no checks, no events).
fn move_balances(
    state: &mut (impl State + ?Sized),
    from: &Address,
    to: &Address,
    coins: &Coins,
) -> Result<()> {
    for c in coins.iter() {
        sub_balance(state, from, &c)?;
        add_balance(state, to, &c)?;
    }
    Ok(())
}

fn emit_spent_received(
    state: &mut (impl State + ?Sized),
    from: &Address,
    to: &Address,
    coins: &Coins,
) {
    let (from, to, amount) = (from.to_string(), to.to_string(), coins.to_string());
    state.emit(Event::new(
        "coin_spent",
        [("spender", from.as_str()), ("amount", amount.as_str())],
    ));
    state.emit(Event::new(
        "coin_received",
        [("receiver", to), ("amount", amount)],
    ));
}

/// Create `coins` in `to` (a module account), raising the supply.
pub fn mint(state: &mut (impl State + ?Sized), to: &Address, coins: &Coins) -> Result<()> {
    for c in coins.iter() {
        let supply = supply_of(state, &c.denom)?
            .checked_add(c.amount)
            .ok_or_else(|| ModuleError::InvalidCoins(format!("supply of {} overflows", c.denom)))?;
        add_balance(state, to, &c)?;
        write_amount(state, state_key::supply(&c.denom), supply);
    }
    let (to, amount) = (to.to_string(), coins.to_string());
    state.emit(Event::new(
        "coin_received",
        [("receiver", to.as_str()), ("amount", amount.as_str())],
    ));
    state.emit(Event::new("coinbase", [("minter", to), ("amount", amount)]));
    Ok(())
}

/// Destroy `coins` held by `from`, lowering the supply.
pub fn burn(state: &mut (impl State + ?Sized), from: &Address, coins: &Coins) -> Result<()> {
    for c in coins.iter() {
        sub_balance(state, from, &c)?;
        let supply = supply_of(state, &c.denom)?
            .checked_sub(c.amount)
            .ok_or_else(|| corrupt(&state_key::supply(&c.denom), "supply below a held balance"))?;
        write_amount(state, state_key::supply(&c.denom), supply);
    }
    let (from, amount) = (from.to_string(), coins.to_string());
    state.emit(Event::new(
        "coin_spent",
        [("spender", from.as_str()), ("amount", amount.as_str())],
    ));
    state.emit(Event::new("burn", [("burner", from), ("amount", amount)]));
    Ok(())
}

fn positive_coins(list: &[Coin]) -> Result<Coins> {
    let coins = Coins::from_list(list.to_vec())?;
    if coins.is_empty() {
        return Err(ModuleError::InvalidCoins(
            "must send a positive amount".into(),
        ));
    }
    Ok(coins)
}

impl MsgSend {
    /// Checks that need no state: addresses and amounts.
    pub fn validate_basic(&self) -> Result<(Address, Address, Coins)> {
        let from: Address = self.from_address.parse().map_err(|_| {
            ModuleError::InvalidAddress(format!("invalid from address: {}", self.from_address))
        })?;
        let to: Address = self.to_address.parse().map_err(|_| {
            ModuleError::InvalidAddress(format!("invalid to address: {}", self.to_address))
        })?;
        Ok((from, to, positive_coins(&self.amount)?))
    }

    /// Execute.
    pub fn execute(
        &self,
        state: &mut (impl State + ?Sized),
        blocked: &BTreeSet<Address>,
    ) -> Result<()> {
        let (from, to, coins) = self.validate_basic()?;
        send(state, &from, &to, &coins, blocked)
    }
}

/// A checked `MsgMultiSend`: the sender, the total, and each recipient with its coins.
pub type CheckedMultiSend = (Address, Coins, Vec<(Address, Coins)>);

impl MsgMultiSend {
    /// Checks that need no state: one input, some outputs, equal sums, valid addresses.
    pub fn validate_basic(&self) -> Result<CheckedMultiSend> {
        let input = match self.inputs.as_slice() {
            [] => return Err(ModuleError::NoInputs),
            [one] => one,
            _ => return Err(ModuleError::MultipleSenders),
        };
        if self.outputs.is_empty() {
            return Err(ModuleError::NoOutputs);
        }
        let from: Address = input.address.parse()?;
        let total_in = positive_coins(&input.coins)?;
        let mut total_out = Coins::new();
        let mut outs = Vec::new();
        for o in &self.outputs {
            let to: Address = o.address.parse()?;
            let coins = positive_coins(&o.coins)?;
            total_out = total_out.checked_add(&coins)?;
            outs.push((to, coins));
        }
        if total_in != total_out {
            return Err(ModuleError::InputOutputMismatch);
        }
        Ok((from, total_in, outs))
    }

    /// Execute.
    pub fn execute(
        &self,
        state: &mut (impl State + ?Sized),
        blocked: &BTreeSet<Address>,
    ) -> Result<()> {
        let (from, _, outs) = self.validate_basic()?;
        for (to, coins) in outs {
            send(state, &from, &to, &coins, blocked)?;
        }
        Ok(())
    }
}

/// Supply equals the sum of all balances: the bank's conservation invariant.
pub fn check_supply_invariant(state: &(impl State + ?Sized)) -> Result<bool> {
    let mut sum = Coins::new();
    for (k, v) in state.prefix(b"bank/balances/")? {
        let key = String::from_utf8_lossy(&k).into_owned();
        let denom = key.rsplit('/').next().unwrap_or_default().to_string();
        let amount = parse_amount(&key, &v)?;
        sum = sum.checked_add(&Coins::from_list(vec![Coin { denom, amount }])?)?;
    }
    Ok(sum == total_supply(state)?)
}

#[cfg(test)]
mod tests;
