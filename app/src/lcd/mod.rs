//! The Cosmos LCD (gRPC-gateway) GET routes of the modules, answered from state in the
//! gateway's JSON shapes (SDK v0.50): what the node's REST server serves, and what `keystone
//! query staking|slashing|distribution|mint …` prints (it asks the same routes over
//! `abci_query`, path = the LCD path, data = the URL query string).
//!
//! One file per module: `staking` (`/cosmos/staking/v1beta1/…`), `slashing`
//! (`/cosmos/slashing/v1beta1/…`), `distribution` (`/cosmos/distribution/v1beta1/…`),
//! `mint` (`/cosmos/mint/v1beta1/…`), `bank` (supply, params, spendable balances, denom
//! metadata) and `auth` (params, module accounts); each lists its routes. Newer routes are
//! rendered from the gRPC method's answer ([`ask`]), so the two cannot disagree. Errors carry the gRPC status
//! code the gateway would (3 InvalidArgument, 5 NotFound, 12 Unimplemented, 13 Internal) with
//! the SDK's wording; every list is answered whole (`pagination.next_key` null).

mod auth;
mod bank;
mod distribution;
mod mint;
mod slashing;
mod staking;

use keystone_modules::distribution::DistributionError;
use keystone_modules::staking::StakingError;
use keystone_modules::{Address, ModuleError, State};
use serde_json::Value;

/// A refused LCD request: the gRPC status code and message, as the gateway returns them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LcdError {
    /// gRPC status code (3, 5, 12, 13).
    pub code: u32,
    /// The message (`rpc error: code = NotFound desc = …`).
    pub message: String,
}

impl LcdError {
    fn new(code: u32, name: &str, desc: impl std::fmt::Display) -> LcdError {
        LcdError {
            code,
            message: format!("rpc error: code = {name} desc = {desc}"),
        }
    }
    fn invalid(desc: impl std::fmt::Display) -> LcdError {
        LcdError::new(3, "InvalidArgument", desc)
    }
    fn not_found(desc: impl std::fmt::Display) -> LcdError {
        LcdError::new(5, "NotFound", desc)
    }
    fn internal(desc: impl std::fmt::Display) -> LcdError {
        LcdError::new(13, "Internal", desc)
    }
    fn unknown_route(path: &str) -> LcdError {
        LcdError::new(12, "Unimplemented", format!("unknown route {path}"))
    }
}

/// The HTTP status the gateway answers a gRPC status `code` with.
pub fn http_status(code: u32) -> u16 {
    match code {
        3 => 400,
        5 => 404,
        12 => 501,
        _ => 500,
    }
}

type Result<T> = std::result::Result<T, LcdError>;

fn json<T: serde::Serialize>(v: &T) -> Result<Value> {
    serde_json::to_value(v).map_err(LcdError::internal)
}

/// A module's error: NotFound when a validator or delegation the route names does not exist
/// (with the module's — the SDK's — wording), Internal for anything else (storage, corrupt
/// records). The SDK's distribution queries return staking's unregistered errors there, which
/// its gateway reports as code 2 (Unknown); NotFound is what a client can act on, as for
/// staking's own routes.
fn module_error(e: ModuleError) -> LcdError {
    match &e {
        ModuleError::Staking {
            error: StakingError::NoValidatorFound | StakingError::NoDelegation,
            ..
        }
        | ModuleError::Distribution {
            error: DistributionError::NoValidatorExists | DistributionError::NoDelegationExists,
            ..
        } => LcdError::not_found(e),
        _ => LcdError::internal(e),
    }
}

fn account(a: &str) -> Result<Address> {
    a.parse().map_err(LcdError::invalid)
}

fn valoper(a: &str) -> Result<Address> {
    Address::from_bech32(a, keystone_modules::address::VALOPER_HRP).map_err(LcdError::invalid)
}

fn valcons(a: &str) -> Result<Address> {
    Address::from_bech32(a, keystone_modules::address::VALCONS_HRP).map_err(LcdError::invalid)
}

/// The answer of the gRPC method `path` to `req` — the one query implementation — for a route
/// that renders it; its failure as the gateway reports it.
fn ask<Resp: prost::Message + Default>(
    state: &impl State,
    path: &str,
    req: &impl prost::Message,
) -> Result<Resp> {
    crate::grpc::ask(state, path, req).map_err(|f| {
        let (code, desc) = f.status();
        match code {
            3 => LcdError::invalid(desc),
            5 => LcdError::not_found(desc),
            12 => LcdError::unknown_route(desc),
            _ => LcdError::internal(desc),
        }
    })
}

/// Coins as the gateway writes them.
fn coins_json(coins: &[cosmos_sdk_proto::cosmos::base::v1beta1::Coin]) -> Value {
    Value::Array(
        coins
            .iter()
            .map(|c| serde_json::json!({"denom": c.denom, "amount": c.amount}))
            .collect(),
    )
}

/// A gRPC answer's pagination as the gateway writes it (a whole list: no next key).
fn page_json(p: &Option<cosmos_sdk_proto::cosmos::base::query::v1beta1::PageResponse>) -> Value {
    page(p.as_ref().map_or(0, |p| p.total as usize))
}

/// A whole list: the gateway's pagination for an answer that fits in one page.
fn page(n: usize) -> Value {
    serde_json::json!({"next_key": null, "total": n.to_string()})
}

const STAKING: &str = "/cosmos/staking/v1beta1/";
const SLASHING: &str = "/cosmos/slashing/v1beta1/";
const DISTRIBUTION: &str = "/cosmos/distribution/v1beta1/";
const MINT: &str = "/cosmos/mint/v1beta1/";
const BANK: &str = "/cosmos/bank/v1beta1/";
const AUTH: &str = "/cosmos/auth/v1beta1/";

/// Whether `path` is one of the routes answered here.
pub fn handles(path: &str) -> bool {
    // Of bank and auth, only these: their balance and account routes are the REST server's.
    const OWN: [&str; 6] = [
        "/cosmos/bank/v1beta1/supply",
        "/cosmos/bank/v1beta1/params",
        "/cosmos/bank/v1beta1/spendable_balances/",
        "/cosmos/bank/v1beta1/denoms_metadata",
        "/cosmos/auth/v1beta1/params",
        "/cosmos/auth/v1beta1/module_accounts",
    ];
    [STAKING, SLASHING, DISTRIBUTION, MINT]
        .iter()
        .any(|prefix| path.starts_with(prefix))
        || OWN.iter().any(|route| path.starts_with(route))
}

/// Answer GET `path` with URL query `query` (`a=b&c=d`) from `state`.
pub fn get(state: &impl State, path: &str, query: &str) -> Result<Value> {
    // The segments after the module's prefix (a trailing slash is ignored, as the gateway
    // does).
    let route = |prefix: &str| -> Option<Vec<&str>> {
        let rest = path.strip_prefix(prefix)?;
        Some(rest.trim_end_matches('/').split('/').collect())
    };
    if let Some(parts) = route(STAKING) {
        return staking::get(state, &parts, path, query);
    }
    if let Some(parts) = route(SLASHING) {
        return slashing::get(state, &parts, path);
    }
    if let Some(parts) = route(DISTRIBUTION) {
        return distribution::get(state, &parts, path, query);
    }
    if let Some(parts) = route(MINT) {
        return mint::get(state, &parts, path);
    }
    if let Some(parts) = route(BANK) {
        return bank::get(state, &parts, path, query);
    }
    if let Some(parts) = route(AUTH) {
        return auth::get(state, &parts, path);
    }
    Err(LcdError::unknown_route(path))
}
