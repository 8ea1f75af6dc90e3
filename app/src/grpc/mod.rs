//! The Cosmos gRPC query paths, answered over ABCI `Query` as the SDK's baseapp does (path =
//! the gRPC method, data = the protobuf request, value = the protobuf response): what cosmjs's
//! `StargateClient` and cosmrs ask.
//!
//! One file per module: `auth` (`Account`, `Params`), `bank` (`Balance`, `AllBalances`,
//! `TotalSupply`, `SupplyOf`, `Params`), `staking` (`Validators`, `Validator`,
//! `ValidatorDelegations`, `Delegation`, `DelegatorDelegations`, `UnbondingDelegation`,
//! `DelegatorUnbondingDelegations`, `Redelegations`, `Pool`, `Params`), `distribution`
//! (`Params`, `ValidatorDistributionInfo`, `ValidatorOutstandingRewards`,
//! `ValidatorCommission`, `ValidatorSlashes`, `DelegationRewards`, `DelegationTotalRewards`,
//! `DelegatorValidators`, `DelegatorWithdrawAddress`, `CommunityPool`), `slashing` (`Params`,
//! `SigningInfo`, `SigningInfos`), `mint` (`Params`, `Inflation`, `AnnualProvisions`) and `tx`
//! (`cosmos.tx.v1beta1.Service/Simulate`). Every list is answered whole
//! (`pagination.next_key` empty, `total` set).
//!
//! LegacyDec fields go out in their protobuf form, the integer `value × 10^18` with no point
//! ([`keystone_modules::Dec::to_atomics_string`]), as the SDK's `LegacyDec.Marshal` writes
//! them — in `string` fields as that text, in `bytes` fields (mint's inflation, slashing's
//! fractions) as its ASCII bytes.
//!
//! Failures, all with codespace `sdk` (as baseapp reports a gRPC handler's error):
//! - request bytes that do not decode: code 18 (invalid request), what baseapp's
//!   `gRPCErrorToSDKError` makes of the codec's plain error;
//! - an address that does not parse: code 18 with `rpc error: code = InvalidArgument desc =
//!   invalid address: …`, what it makes of the handlers' `InvalidArgument` status;
//! - a missing record: code 38 (key not found), the code baseapp's `gRPCErrorToSDKError`
//!   gives a `NotFound` status, and a log that keeps the status text (`rpc error: code =
//!   NotFound desc = account … not found: key not found`) because cosmjs's `getAccount` tells
//!   "no such account" from a failure by matching `rpc error: code = NotFound`;
//! - any other refused argument (an unknown validator status): code 18 (invalid request),
//!   what baseapp gives an `InvalidArgument` status;
//! - a simulated transaction that fails: code 6 (unknown request), the `Unknown` status the
//!   SDK's tx service returns then (see `tx`);
//! - an unknown path: code 6 (unknown request);
//! - a state that cannot be read: code 1 under codespace `undefined`, as the SDK reports an
//!   unregistered error (with the reason in the log, which the SDK hides outside debug mode).

mod auth;
mod bank;
mod distribution;
mod mint;
mod slashing;
mod staking;
mod tx;

use crate::tx::Context;
use cosmos_sdk_proto::cosmos::base::query::v1beta1::PageResponse;
use cosmos_sdk_proto::cosmos::base::v1beta1::Coin as ProtoCoin;
use keystone_modules::{Address, Amount, ModuleError, State, Timestamp};
use keystone_proto::abci;
use keystone_proto::prost::bytes::Bytes;
use prost::Message;

/// A refused query: the ABCI code, codespace and log of the `ResponseQuery`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Failure {
    code: u32,
    codespace: &'static str,
    log: String,
    /// The gRPC status code and description the gateway reports it with (LCD routes rendered
    /// from these answers).
    status: (u32, String),
}

impl Failure {
    fn sdk(code: u32, log: String) -> Failure {
        Failure {
            code,
            codespace: "sdk",
            status: (13, log.clone()),
            log,
        }
    }
    fn with_status(mut self, code: u32, desc: impl std::fmt::Display) -> Failure {
        self.status = (code, desc.to_string());
        self
    }
    /// The gRPC status code and description.
    pub(crate) fn status(&self) -> (u32, &str) {
        (self.status.0, &self.status.1)
    }
    fn bad_request() -> Failure {
        Failure::sdk(
            18,
            "the request does not decode as its protobuf message: invalid request".into(),
        )
        .with_status(3, "the request does not decode as its protobuf message")
    }
    fn invalid_address(e: impl std::fmt::Display) -> Failure {
        Failure::invalid_argument(format!("invalid address: {e}"))
    }
    fn not_found(desc: impl std::fmt::Display) -> Failure {
        Failure::sdk(
            38,
            format!("rpc error: code = NotFound desc = {desc}: key not found"),
        )
        .with_status(5, desc)
    }
    fn invalid_argument(desc: impl std::fmt::Display) -> Failure {
        Failure::sdk(
            18,
            format!("rpc error: code = InvalidArgument desc = {desc}: invalid request"),
        )
        .with_status(3, desc)
    }
    fn unknown_path(path: &str) -> Failure {
        Failure::sdk(6, format!("unknown query path {path}: unknown request"))
            .with_status(12, format!("unknown query path {path}"))
    }
    /// An `Unknown` status, which baseapp reports as code 6 (unknown request).
    fn unknown(desc: impl std::fmt::Display) -> Failure {
        Failure::sdk(
            6,
            format!("rpc error: code = Unknown desc = {desc}: unknown request"),
        )
        .with_status(2, desc)
    }
}

impl From<ModuleError> for Failure {
    fn from(e: ModuleError) -> Failure {
        Failure {
            code: 1,
            codespace: "undefined",
            status: (13, e.to_string()),
            log: e.to_string(),
        }
    }
}

/// Answer the gRPC method `path` with protobuf request `data` from `state`, committed at
/// `height`. A simulation runs in `sim` (its mode is forced to [`crate::tx::Mode::Simulate`])
/// on a branch of `state` that is dropped: nothing it writes reaches `state`.
pub(crate) fn query<S: State>(
    state: &mut S,
    path: &str,
    data: &[u8],
    height: u64,
    sim: &Context<'_>,
) -> abci::ResponseQuery {
    let handled = match path.strip_prefix("/cosmos.tx.v1beta1.Service/") {
        Some(method) => tx::query(state, method, data, sim),
        None => module_query(&*state, path, data),
    };
    let height = i64::try_from(height).unwrap_or(i64::MAX);
    match handled.and_then(|v| v.ok_or_else(|| Failure::unknown_path(path))) {
        Ok(value) => abci::ResponseQuery {
            value: Bytes::from(value),
            height,
            ..Default::default()
        },
        Err(f) => abci::ResponseQuery {
            code: f.code,
            codespace: f.codespace.into(),
            log: f.log,
            height,
            ..Default::default()
        },
    }
}

/// A module's answer: `Ok(None)` when it has no such method.
type Handled = Result<Option<Vec<u8>>, Failure>;

/// A module query service's answer to `path` (every service but the tx service, which
/// simulates): the one implementation the gRPC server, `abci_query` and the LCD routes
/// rendered from it share.
fn module_query(state: &impl State, path: &str, data: &[u8]) -> Handled {
    if let Some(method) = path.strip_prefix("/cosmos.auth.v1beta1.Query/") {
        auth::query(state, method, data)
    } else if let Some(method) = path.strip_prefix("/cosmos.bank.v1beta1.Query/") {
        bank::query(state, method, data)
    } else if let Some(method) = path.strip_prefix("/cosmos.staking.v1beta1.Query/") {
        staking::query(state, method, data)
    } else if let Some(method) = path.strip_prefix("/cosmos.distribution.v1beta1.Query/") {
        distribution::query(state, method, data)
    } else if let Some(method) = path.strip_prefix("/cosmos.slashing.v1beta1.Query/") {
        slashing::query(state, method, data)
    } else if let Some(method) = path.strip_prefix("/cosmos.mint.v1beta1.Query/") {
        mint::query(state, method, data)
    } else {
        Ok(None)
    }
}

/// [`module_query`]'s answer to `req`, decoded: for the LCD routes rendered from it.
pub(crate) fn ask<Resp: Message + Default>(
    state: &impl State,
    path: &str,
    req: &impl Message,
) -> Result<Resp, Failure> {
    let bytes = module_query(state, path, &req.encode_to_vec())?
        .ok_or_else(|| Failure::unknown_path(path))?;
    Resp::decode(bytes.as_slice())
        .map_err(|e| Failure::sdk(1, format!("{path} answered bytes that do not decode: {e}")))
}

fn decode<T: Message + Default>(data: &[u8]) -> Result<T, Failure> {
    T::decode(data).map_err(|_| Failure::bad_request())
}

fn account(a: &str) -> Result<Address, Failure> {
    a.parse().map_err(Failure::invalid_address)
}

fn valoper(a: &str) -> Result<Address, Failure> {
    Address::from_bech32(a, keystone_modules::address::VALOPER_HRP)
        .map_err(Failure::invalid_address)
}

fn valcons(a: &str) -> Result<Address, Failure> {
    Address::from_bech32(a, keystone_modules::address::VALCONS_HRP)
        .map_err(Failure::invalid_address)
}

fn coin(denom: &str, amount: Amount) -> ProtoCoin {
    ProtoCoin {
        denom: denom.into(),
        amount: amount.to_string(),
    }
}

/// A whole list's pagination.
fn page(n: usize) -> Option<PageResponse> {
    Some(PageResponse {
        next_key: Vec::new(),
        total: n as u64,
    })
}

fn timestamp(t: &Timestamp) -> Option<cosmos_sdk_proto::Timestamp> {
    Some(cosmos_sdk_proto::Timestamp {
        seconds: t.seconds,
        // Below 10^9 by construction of `Timestamp`.
        nanos: i32::try_from(t.nanos).unwrap_or(0),
    })
}

fn duration(seconds: u64) -> Option<cosmos_sdk_proto::tendermint::google::protobuf::Duration> {
    Some(cosmos_sdk_proto::tendermint::google::protobuf::Duration {
        seconds: i64::try_from(seconds).unwrap_or(i64::MAX),
        nanos: 0,
    })
}

/// Encode a module's answer.
fn answer(m: &impl Message) -> Handled {
    Ok(Some(m.encode_to_vec()))
}
