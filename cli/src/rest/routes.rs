//! The one table of REST routes. The router ([`super::router`]) registers exactly these rows
//! and the OpenAPI document ([`super::openapi::document`]) describes exactly these rows, so the
//! two cannot drift apart.
//!
//! Which routes take `prove=true`, and the state keys (README "State keys") each one proves:
//!
//! | route | keys |
//! |---|---|
//! | `auth/v1beta1/accounts/{address}` | `auth/accounts/<address>` |
//! | `bank/v1beta1/balances/{address}/by_denom?denom=D` | `bank/balances/<address>/<D>` (absent: a zero balance) |
//! | `staking/v1beta1/validators/{v}` | `staking/validators/<v>` |
//! | `staking/v1beta1/validators/{v}/delegations/{d}` | `staking/delegations/<d>/<v>`, `staking/validators/<v>` (the balance is shares × tokens ÷ delegator shares) |
//! | `staking/v1beta1/validators/{v}/delegations/{d}/unbonding_delegation` | `staking/unbonding/<d>/<v>` |
//! | `staking/v1beta1/pool` | `staking/params` (the bond denom), `bank/balances/<not_bonded_tokens_pool>/<denom>`, `bank/balances/<bonded_tokens_pool>/<denom>` |
//! | `staking/v1beta1/params`, `slashing/v1beta1/params`, `distribution/v1beta1/params`, `mint/v1beta1/params` | `<module>/params` |
//! | `slashing/v1beta1/signing_infos/{c}` | `slashing/signing_infos/<c>` |
//! | `distribution/v1beta1/community_pool` | `distribution/fee_pool` |
//! | `distribution/v1beta1/validators/{v}/commission` | `staking/validators/<v>`, `distribution/commission/<v>` |
//! | `distribution/v1beta1/validators/{v}/outstanding_rewards` | `staking/validators/<v>`, `distribution/outstanding/<v>` |
//! | `distribution/v1beta1/delegators/{d}/withdraw_address` | `distribution/withdraw_address/<d>` (absent: the delegator itself) |
//! | `mint/v1beta1/inflation`, `mint/v1beta1/annual_provisions` | `mint/minter` |
//!
//! Addresses in keys are in their canonical bech32 form whatever case the request used. Not
//! provable (400 with `prove=true`): lists (their completeness is not provable key by key),
//! rewards (computed from F1's records at query time), a validator's distribution info, a
//! delegator's validators, and the tx and tendermint services (blocks are proved by their
//! headers and commits; `GET /keystone/v1/state/{key}` proves any one key).

use super::{modules, ok, openapi, tendermint, tx, Call, Engine, Reply};
use keystone_modules::{auth, bank, distribution, mint, slashing, staking, Address};

/// HTTP method of a route.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    /// GET.
    Get,
    /// POST (JSON body).
    Post,
}

impl Method {
    /// Lower-case name, as OpenAPI keys operations.
    pub fn name(self) -> &'static str {
        match self {
            Method::Get => "get",
            Method::Post => "post",
        }
    }
}

/// What answers a route.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Handler {
    /// An application LCD route (`keystone_app::lcd`), the path and query passed as they came.
    Lcd,
    /// `auth/v1beta1/accounts/{address}`.
    Account,
    /// `bank/v1beta1/balances/{address}`.
    Balances,
    /// `bank/v1beta1/balances/{address}/by_denom`.
    BalanceByDenom,
    /// `keystone/v1/state/{key}`.
    StateKey,
    /// `openapi.json`.
    OpenApi,
    /// `tx/v1beta1/txs/{hash}`.
    GetTx,
    /// `GET tx/v1beta1/txs`.
    GetTxsEvent,
    /// `POST tx/v1beta1/txs`.
    BroadcastTx,
    /// `tx/v1beta1/simulate`.
    Simulate,
    /// `base/tendermint/v1beta1/node_info`.
    NodeInfo,
    /// `base/tendermint/v1beta1/syncing`.
    Syncing,
    /// `base/tendermint/v1beta1/blocks/latest`.
    LatestBlock,
    /// `base/tendermint/v1beta1/blocks/{height}`.
    BlockByHeight,
    /// `base/tendermint/v1beta1/validatorsets/latest`.
    LatestValidatorSet,
    /// `base/tendermint/v1beta1/validatorsets/{height}`.
    ValidatorSetByHeight,
    /// `tendermint/v1beta1/abci_query`.
    AbciQuery,
    /// `base/node/v1beta1/config`.
    NodeConfig,
    /// `tx/v1beta1/txs/block/{height}`.
    BlockWithTxs,
}

/// The state keys behind an answer, from the request.
pub type KeyFn = fn(&Call) -> Result<Vec<String>, String>;

/// Whether and how a route's answer is proved.
#[derive(Clone, Copy)]
pub enum Prove {
    /// Not provable: `prove=true` is refused.
    No,
    /// These keys (described by the text, computed by the function).
    Keys(&'static str, KeyFn),
    /// The staking pool: the bond denom's balances of the two pool accounts.
    StakingPool,
    /// `keystone/v1/state/{key}`: the key itself (its own answer shape).
    StateKey,
}

impl Prove {
    /// How the documentation names the keys proved (`None`: not provable).
    pub fn keys_doc(&self) -> Option<&'static str> {
        match self {
            Prove::No => None,
            Prove::Keys(doc, _) => Some(doc),
            Prove::StakingPool => Some(
                "staking/params, bank/balances/<not_bonded_tokens_pool>/<bond denom>, bank/balances/<bonded_tokens_pool>/<bond denom>",
            ),
            Prove::StateKey => Some("the key itself"),
        }
    }
}

/// A query parameter or a body field: name, JSON type, description.
pub type Field = (&'static str, &'static str, &'static str);

/// One REST route.
pub struct Route {
    /// Method.
    pub method: Method,
    /// Path in the router's syntax (`{name}` a segment, `{*name}` the rest).
    pub path: &'static str,
    /// The OpenAPI tag (the service or module).
    pub tag: &'static str,
    /// One line on what it answers.
    pub summary: &'static str,
    /// What answers it.
    pub handler: Handler,
    /// Query parameters (besides paging and `prove`, which follow from the next fields).
    pub query: &'static [Field],
    /// The JSON body's top-level fields (POST).
    pub body: &'static [Field],
    /// The answer's top-level fields.
    pub response: &'static [Field],
    /// The list field paged with `pagination.*`, if any.
    pub paged: Option<&'static str>,
    /// `prove=true`.
    pub prove: Prove,
}

/// Answer one request.
pub(crate) async fn dispatch(engine: Engine, call: Call) -> Reply {
    let answer = match call.route.handler {
        Handler::Lcd => modules::lcd(&engine, &call).await,
        Handler::Account => modules::account(&engine, &call).await,
        Handler::Balances => modules::balances(&engine, &call).await,
        Handler::BalanceByDenom => modules::balance_by_denom(&engine, &call).await,
        Handler::StateKey => modules::state_key(&engine, &call).await,
        Handler::OpenApi => Ok(ok(openapi::document())),
        Handler::GetTx => tx::get_tx(&engine, &call).await,
        Handler::GetTxsEvent => tx::get_txs_event(&engine, &call).await,
        Handler::BroadcastTx => tx::broadcast(&engine, &call).await,
        Handler::Simulate => tx::simulate(&engine, &call).await,
        Handler::NodeInfo => tendermint::node_info(&engine).await,
        Handler::Syncing => tendermint::syncing(&engine).await,
        Handler::LatestBlock => tendermint::block(&engine, None).await,
        Handler::BlockByHeight => tendermint::block(&engine, Some(call.var("height"))).await,
        Handler::LatestValidatorSet => tendermint::validator_set(&engine, &call, None).await,
        Handler::ValidatorSetByHeight => {
            tendermint::validator_set(&engine, &call, Some(call.var("height"))).await
        }
        Handler::AbciQuery => tendermint::abci_query(&engine, &call).await,
        Handler::NodeConfig => {
            let c = call.node_config.answer();
            Ok(ok(serde_json::json!({
                "minimum_gas_price": c.minimum_gas_price,
                "pruning_keep_recent": c.pruning_keep_recent,
                "pruning_interval": c.pruning_interval,
                "halt_height": c.halt_height.to_string(),
            })))
        }
        Handler::BlockWithTxs => tx::block_with_txs(&engine, &call).await,
    };
    answer.unwrap_or_else(|e| e)
}

// Key functions: addresses parsed again into their canonical form (the route's own handler
// has already refused a malformed one before any key is asked for).

fn acc(call: &Call, var: &str) -> Result<Address, String> {
    call.var(var).parse().map_err(|e| format!("{e}"))
}
fn valoper(call: &Call, var: &str) -> Result<Address, String> {
    Address::from_valoper(call.var(var)).map_err(|e| format!("{e}"))
}
fn valcons(call: &Call, var: &str) -> Result<Address, String> {
    Address::from_bech32(call.var(var), keystone_modules::address::VALCONS_HRP)
        .map_err(|e| format!("{e}"))
}

fn account_key(c: &Call) -> Result<Vec<String>, String> {
    Ok(vec![auth::state_key::account(&acc(c, "address")?)])
}
fn balance_key(c: &Call) -> Result<Vec<String>, String> {
    let denom = c.query.get("denom").unwrap_or("");
    Ok(vec![bank::state_key::balance(&acc(c, "address")?, denom)])
}
fn validator_key(c: &Call) -> Result<Vec<String>, String> {
    Ok(vec![staking::state_key::validator(&valoper(
        c,
        "validator_addr",
    )?)])
}
fn delegation_keys(c: &Call) -> Result<Vec<String>, String> {
    let (v, d) = (valoper(c, "validator_addr")?, acc(c, "delegator_addr")?);
    Ok(vec![
        staking::state_key::delegation(&d, &v),
        staking::state_key::validator(&v),
    ])
}
fn unbonding_key(c: &Call) -> Result<Vec<String>, String> {
    let (v, d) = (valoper(c, "validator_addr")?, acc(c, "delegator_addr")?);
    Ok(vec![staking::state_key::unbonding(&d, &v)])
}
fn staking_params(_: &Call) -> Result<Vec<String>, String> {
    Ok(vec![staking::state_key::PARAMS.into()])
}
fn slashing_params(_: &Call) -> Result<Vec<String>, String> {
    Ok(vec![slashing::state_key::PARAMS.into()])
}
fn signing_info_key(c: &Call) -> Result<Vec<String>, String> {
    Ok(vec![slashing::state_key::signing_info(&valcons(
        c,
        "cons_address",
    )?)])
}
fn distribution_params(_: &Call) -> Result<Vec<String>, String> {
    Ok(vec![distribution::state_key::PARAMS.into()])
}
fn fee_pool(_: &Call) -> Result<Vec<String>, String> {
    Ok(vec![distribution::state_key::FEE_POOL.into()])
}
fn commission_keys(c: &Call) -> Result<Vec<String>, String> {
    let v = valoper(c, "validator_address")?;
    Ok(vec![
        staking::state_key::validator(&v),
        distribution::state_key::commission(&v),
    ])
}
fn outstanding_keys(c: &Call) -> Result<Vec<String>, String> {
    let v = valoper(c, "validator_address")?;
    Ok(vec![
        staking::state_key::validator(&v),
        distribution::state_key::outstanding(&v),
    ])
}
fn withdraw_address_key(c: &Call) -> Result<Vec<String>, String> {
    Ok(vec![distribution::state_key::withdraw_address(&acc(
        c,
        "delegator_address",
    )?)])
}
fn bank_params(_: &Call) -> Result<Vec<String>, String> {
    Ok(vec![keystone_modules::bank::state_key::PARAMS.into()])
}
fn auth_params(_: &Call) -> Result<Vec<String>, String> {
    Ok(vec![keystone_modules::auth::state_key::PARAMS.into()])
}
fn supply_key(call: &Call) -> Result<Vec<String>, String> {
    let denom = call.query.get("denom").unwrap_or_default();
    if denom.is_empty() {
        return Err("invalid denom".into());
    }
    Ok(vec![keystone_modules::bank::state_key::supply(denom)])
}
fn mint_params(_: &Call) -> Result<Vec<String>, String> {
    Ok(vec![mint::state_key::PARAMS.into()])
}
fn minter(_: &Call) -> Result<Vec<String>, String> {
    Ok(vec![mint::state_key::MINTER.into()])
}

const PAGINATION: Field = (
    "pagination",
    "object",
    "next_key (base64 cursor or null), total",
);
const NO_QUERY: &[Field] = &[];

const fn get(
    path: &'static str,
    tag: &'static str,
    summary: &'static str,
    handler: Handler,
    response: &'static [Field],
) -> Route {
    Route {
        method: Method::Get,
        path,
        tag,
        summary,
        handler,
        query: NO_QUERY,
        body: &[],
        response,
        paged: None,
        prove: Prove::No,
    }
}

const fn lcd(
    path: &'static str,
    tag: &'static str,
    summary: &'static str,
    response: &'static [Field],
) -> Route {
    get(path, tag, summary, Handler::Lcd, response)
}

const fn proved(mut r: Route, prove: Prove) -> Route {
    r.prove = prove;
    r
}

const fn paged(mut r: Route, field: &'static str) -> Route {
    r.paged = Some(field);
    r
}

const fn with_query(mut r: Route, query: &'static [Field]) -> Route {
    r.query = query;
    r
}

const fn post(
    path: &'static str,
    tag: &'static str,
    summary: &'static str,
    handler: Handler,
    body: &'static [Field],
    response: &'static [Field],
) -> Route {
    Route {
        method: Method::Post,
        path,
        tag,
        summary,
        handler,
        query: &[],
        body,
        response,
        paged: None,
        prove: Prove::No,
    }
}

const TX_RESPONSE: Field = (
    "tx_response",
    "object",
    "height, txhash, codespace, code, data (hex), raw_log, logs, info, gas_wanted, gas_used, tx (Any), timestamp, events",
);
const VALIDATOR_SET: &[Field] = &[
    ("block_height", "string", "the set's height"),
    (
        "validators",
        "array",
        "address (cosmosvalcons), pub_key (Any), voting_power, proposer_priority",
    ),
    PAGINATION,
];
const VALIDATOR_SET_QUERY: &[Field] = &[
    ("pagination.offset", "string", "validators to skip"),
    (
        "pagination.limit",
        "string",
        "validators per page (default 100, at most 100)",
    ),
];
const BLOCK: &[Field] = &[
    ("block_id", "object", "hash, part_set_header"),
    (
        "block",
        "object",
        "tendermint.types.Block: header, data, evidence, last_commit",
    ),
    (
        "sdk_block",
        "object",
        "the block with proposer_address as cosmosvalcons",
    ),
];
const DELEGATION_RESPONSES: &[Field] = &[
    ("delegation_responses", "array", "delegation, balance"),
    PAGINATION,
];
const UNBONDING_RESPONSES: &[Field] = &[
    (
        "unbonding_responses",
        "array",
        "unbonding delegations with their entries",
    ),
    PAGINATION,
];
const PARAMS: &[Field] = &[("params", "object", "the module's parameters")];

/// Every route served, in the order the OpenAPI document lists them.
pub static ROUTES: &[Route] = &[
    // cosmos.tx.v1beta1.Service
    with_query(
        get(
            "/cosmos/tx/v1beta1/txs",
            "tx",
            "Transactions matching an event query (CometBFT's tx_search)",
            Handler::GetTxsEvent,
            &[
                ("txs", "array", "the transactions (cosmos.tx.v1beta1.Tx)"),
                ("tx_responses", "array", "their results, as tx_response"),
                ("pagination", "object", "always null (deprecated in v0.50)"),
                ("total", "string", "how many match"),
            ],
        ),
        &[
            ("query", "string", "CometBFT event query, e.g. message.sender='cosmos1…' AND tx.height>5"),
            ("events", "string", "legacy: repeated type.attribute=value conditions, joined with AND when query is absent"),
            ("page", "string", "page number from 1 (default 1)"),
            ("limit", "string", "per page (default 100, at most 100)"),
            ("order_by", "string", "ORDER_BY_ASC (default) or ORDER_BY_DESC"),
        ],
    ),
    post(
        "/cosmos/tx/v1beta1/txs",
        "tx",
        "Broadcast a signed transaction (BROADCAST_MODE_SYNC or _ASYNC; v0.50 has no BLOCK mode)",
        Handler::BroadcastTx,
        &[
            ("tx_bytes", "string", "TxRaw bytes, base64"),
            ("mode", "string", "BROADCAST_MODE_SYNC or BROADCAST_MODE_ASYNC"),
        ],
        &[TX_RESPONSE],
    ),
    get(
        "/cosmos/tx/v1beta1/txs/{hash}",
        "tx",
        "A committed transaction by hash (hex)",
        Handler::GetTx,
        &[("tx", "object", "cosmos.tx.v1beta1.Tx"), TX_RESPONSE],
    ),
    with_query(
        get(
            "/cosmos/tx/v1beta1/txs/block/{height}",
            "tx",
            "A block and its transactions (GetBlockWithTxs)",
            Handler::BlockWithTxs,
            &[
                ("txs", "array", "the block's transactions (cosmos.tx.v1beta1.Tx), paged"),
                ("block_id", "object", "the block's id"),
                ("block", "object", "tendermint.types.Block"),
                PAGINATION,
            ],
        ),
        &[
            ("pagination.offset", "string", "transactions to skip"),
            ("pagination.limit", "string", "transactions per page (default 100)"),
        ],
    ),
    post(
        "/cosmos/tx/v1beta1/simulate",
        "tx",
        "Run a transaction on the latest state without committing it",
        Handler::Simulate,
        &[
            ("tx_bytes", "string", "TxRaw bytes, base64 (signatures are not checked)"),
            ("tx", "object", "deprecated: the transaction as JSON, when tx_bytes is absent"),
        ],
        &[
            ("gas_info", "object", "gas_wanted, gas_used"),
            ("result", "object", "data, log, events, msg_responses"),
        ],
    ),
    // cosmos.base.tendermint.v1beta1.Service
    get(
        "/cosmos/base/tendermint/v1beta1/node_info",
        "tendermint",
        "This node: its p2p self-description and application version",
        Handler::NodeInfo,
        &[
            ("default_node_info", "object", "tendermint.p2p.DefaultNodeInfo"),
            ("application_version", "object", "name, app_name, version, git_commit, build_tags, go_version, build_deps, cosmos_sdk_version"),
        ],
    ),
    get(
        "/cosmos/base/tendermint/v1beta1/syncing",
        "tendermint",
        "Whether the node is catching up",
        Handler::Syncing,
        &[("syncing", "boolean", "block sync still catching up")],
    ),
    get(
        "/cosmos/base/tendermint/v1beta1/blocks/latest",
        "tendermint",
        "The newest block",
        Handler::LatestBlock,
        BLOCK,
    ),
    get(
        "/cosmos/base/tendermint/v1beta1/blocks/{height}",
        "tendermint",
        "The block at a height",
        Handler::BlockByHeight,
        BLOCK,
    ),
    with_query(
        get(
            "/cosmos/base/tendermint/v1beta1/validatorsets/latest",
            "tendermint",
            "The validator set of the height in progress",
            Handler::LatestValidatorSet,
            VALIDATOR_SET,
        ),
        VALIDATOR_SET_QUERY,
    ),
    with_query(
        get(
            "/cosmos/base/tendermint/v1beta1/validatorsets/{height}",
            "tendermint",
            "The validator set of a height",
            Handler::ValidatorSetByHeight,
            VALIDATOR_SET,
        ),
        VALIDATOR_SET_QUERY,
    ),
    with_query(
        get(
            "/cosmos/base/tendermint/v1beta1/abci_query",
            "tendermint",
            "An ABCI query of the application, as CometBFT's abci_query",
            Handler::AbciQuery,
            &[
                ("code", "integer", "0, or the application's refusal"),
                ("log", "string", "the refusal's text"),
                ("info", "string", ""),
                ("index", "string", "int64"),
                ("key", "string", "base64"),
                ("value", "string", "base64: the answer's bytes"),
                ("proof_ops", "object", "ops: [{type, key, data}] (base64), with prove"),
                ("height", "string", "the height the answer was read at"),
                ("codespace", "string", ""),
            ],
        ),
        &[
            ("path", "string", "a gRPC method path, /store/key, …"),
            ("data", "string", "the request bytes, base64"),
            ("height", "string", "the state to read (default: the latest)"),
            ("prove", "boolean", "with a proof"),
        ],
    ),
    // auth, bank
    proved(
        get(
            "/cosmos/auth/v1beta1/accounts/{address}",
            "auth",
            "An account",
            Handler::Account,
            &[("account", "object", "BaseAccount as Any")],
        ),
        Prove::Keys("auth/accounts/<address>", account_key),
    ),
    paged(
        get(
            "/cosmos/bank/v1beta1/balances/{address}",
            "bank",
            "Every balance of an account",
            Handler::Balances,
            &[("balances", "array", "coins"), PAGINATION],
        ),
        "balances",
    ),
    proved(
        with_query(
            get(
                "/cosmos/bank/v1beta1/balances/{address}/by_denom",
                "bank",
                "One balance of an account (0 when it holds none)",
                Handler::BalanceByDenom,
                &[("balance", "object", "denom, amount")],
            ),
            &[("denom", "string", "the denom")],
        ),
        Prove::Keys("bank/balances/<address>/<denom>", balance_key),
    ),
    paged(
        lcd(
            "/cosmos/bank/v1beta1/supply",
            "bank",
            "The total supply of every denom",
            &[("supply", "array", "coins"), PAGINATION],
        ),
        "supply",
    ),
    proved(
        with_query(
            lcd(
                "/cosmos/bank/v1beta1/supply/by_denom",
                "bank",
                "The total supply of one denom",
                &[("amount", "object", "denom, amount")],
            ),
            &[("denom", "string", "the denom")],
        ),
        Prove::Keys("bank/supply/<denom>", supply_key),
    ),
    proved(
        lcd("/cosmos/bank/v1beta1/params", "bank", "Bank parameters", PARAMS),
        Prove::Keys("bank/params", bank_params),
    ),
    paged(
        lcd(
            "/cosmos/bank/v1beta1/spendable_balances/{address}",
            "bank",
            "What an account can spend (every balance: no coins are locked on this chain)",
            &[("balances", "array", "coins"), PAGINATION],
        ),
        "balances",
    ),
    paged(
        lcd(
            "/cosmos/bank/v1beta1/denoms_metadata",
            "bank",
            "Every denom's metadata (from genesis bank.denom_metadata)",
            &[("metadatas", "array", "bank.v1beta1.Metadata"), PAGINATION],
        ),
        "metadatas",
    ),
    lcd(
        "/cosmos/bank/v1beta1/denoms_metadata/{denom}",
        "bank",
        "One denom's metadata",
        &[("metadata", "object", "bank.v1beta1.Metadata")],
    ),
    proved(
        lcd("/cosmos/auth/v1beta1/params", "auth", "Auth parameters", PARAMS),
        Prove::Keys("auth/params", auth_params),
    ),
    lcd(
        "/cosmos/auth/v1beta1/module_accounts",
        "auth",
        "Every module account, in name order",
        &[("accounts", "array", "ModuleAccount as Any")],
    ),
    lcd(
        "/cosmos/auth/v1beta1/module_accounts/{name}",
        "auth",
        "A module account by its module's name",
        &[("account", "object", "ModuleAccount as Any")],
    ),
    get(
        "/cosmos/base/node/v1beta1/config",
        "node",
        "The node's app.toml settings (minimum gas price, pruning, halt height)",
        Handler::NodeConfig,
        &[
            ("minimum_gas_price", "string", "app.toml minimum-gas-prices"),
            ("pruning_keep_recent", "string", "app.toml pruning-keep-recent"),
            ("pruning_interval", "string", "app.toml pruning-interval"),
            ("halt_height", "string", "app.toml halt-height"),
        ],
    ),
    // staking
    paged(
        with_query(
            lcd(
                "/cosmos/staking/v1beta1/validators",
                "staking",
                "Validators",
                &[("validators", "array", "validators"), PAGINATION],
            ),
            &[("status", "string", "BOND_STATUS_BONDED, _UNBONDING or _UNBONDED (default: all)")],
        ),
        "validators",
    ),
    proved(
        lcd(
            "/cosmos/staking/v1beta1/validators/{validator_addr}",
            "staking",
            "A validator",
            &[("validator", "object", "the validator")],
        ),
        Prove::Keys("staking/validators/<validator_addr>", validator_key),
    ),
    paged(
        lcd(
            "/cosmos/staking/v1beta1/validators/{validator_addr}/delegations",
            "staking",
            "Delegations to a validator",
            DELEGATION_RESPONSES,
        ),
        "delegation_responses",
    ),
    proved(
        lcd(
            "/cosmos/staking/v1beta1/validators/{validator_addr}/delegations/{delegator_addr}",
            "staking",
            "One delegation",
            &[("delegation_response", "object", "delegation, balance")],
        ),
        Prove::Keys(
            "staking/delegations/<delegator_addr>/<validator_addr>, staking/validators/<validator_addr>",
            delegation_keys,
        ),
    ),
    proved(
        lcd(
            "/cosmos/staking/v1beta1/validators/{validator_addr}/delegations/{delegator_addr}/unbonding_delegation",
            "staking",
            "One unbonding delegation",
            &[("unbond", "object", "the unbonding delegation with its entries")],
        ),
        Prove::Keys(
            "staking/unbonding/<delegator_addr>/<validator_addr>",
            unbonding_key,
        ),
    ),
    paged(
        lcd(
            "/cosmos/staking/v1beta1/validators/{validator_addr}/unbonding_delegations",
            "staking",
            "Unbonding delegations from a validator",
            UNBONDING_RESPONSES,
        ),
        "unbonding_responses",
    ),
    paged(
        lcd(
            "/cosmos/staking/v1beta1/delegations/{delegator_addr}",
            "staking",
            "A delegator's delegations",
            DELEGATION_RESPONSES,
        ),
        "delegation_responses",
    ),
    paged(
        lcd(
            "/cosmos/staking/v1beta1/delegators/{delegator_addr}/unbonding_delegations",
            "staking",
            "A delegator's unbonding delegations",
            UNBONDING_RESPONSES,
        ),
        "unbonding_responses",
    ),
    paged(
        lcd(
            "/cosmos/staking/v1beta1/delegators/{delegator_addr}/redelegations",
            "staking",
            "A delegator's redelegations",
            &[
                ("redelegation_responses", "array", "redelegation, entries"),
                PAGINATION,
            ],
        ),
        "redelegation_responses",
    ),
    proved(
        lcd(
            "/cosmos/staking/v1beta1/pool",
            "staking",
            "Bonded and not bonded tokens",
            &[("pool", "object", "not_bonded_tokens, bonded_tokens")],
        ),
        Prove::StakingPool,
    ),
    proved(
        lcd("/cosmos/staking/v1beta1/params", "staking", "Staking parameters", PARAMS),
        Prove::Keys("staking/params", staking_params),
    ),
    // slashing
    proved(
        lcd("/cosmos/slashing/v1beta1/params", "slashing", "Slashing parameters", PARAMS),
        Prove::Keys("slashing/params", slashing_params),
    ),
    paged(
        lcd(
            "/cosmos/slashing/v1beta1/signing_infos",
            "slashing",
            "Every validator's signing info",
            &[("info", "array", "signing infos"), PAGINATION],
        ),
        "info",
    ),
    proved(
        lcd(
            "/cosmos/slashing/v1beta1/signing_infos/{cons_address}",
            "slashing",
            "A validator's signing info",
            &[("val_signing_info", "object", "the signing info")],
        ),
        Prove::Keys("slashing/signing_infos/<cons_address>", signing_info_key),
    ),
    // distribution
    proved(
        lcd(
            "/cosmos/distribution/v1beta1/params",
            "distribution",
            "Distribution parameters",
            PARAMS,
        ),
        Prove::Keys("distribution/params", distribution_params),
    ),
    proved(
        lcd(
            "/cosmos/distribution/v1beta1/community_pool",
            "distribution",
            "The community pool",
            &[("pool", "array", "decimal coins")],
        ),
        Prove::Keys("distribution/fee_pool", fee_pool),
    ),
    lcd(
        "/cosmos/distribution/v1beta1/validators/{validator_address}",
        "distribution",
        "A validator's commission and self-bond rewards",
        &[
            ("operator_address", "string", "the validator"),
            ("self_bond_rewards", "array", "decimal coins"),
            ("commission", "array", "decimal coins"),
        ],
    ),
    proved(
        lcd(
            "/cosmos/distribution/v1beta1/validators/{validator_address}/commission",
            "distribution",
            "A validator's accumulated commission",
            &[("commission", "object", "commission: decimal coins")],
        ),
        Prove::Keys(
            "staking/validators/<validator_address>, distribution/commission/<validator_address>",
            commission_keys,
        ),
    ),
    with_query(
        lcd(
            "/cosmos/distribution/v1beta1/validators/{validator_address}/slashes",
            "distribution",
            "A validator's slash events (the SDK's filter: on the event's period)",
            &[
                ("slashes", "array", "validator_period, fraction"),
                PAGINATION,
            ],
        ),
        &[
            ("starting_height", "string", "from"),
            ("ending_height", "string", "to"),
        ],
    ),
    proved(
        lcd(
            "/cosmos/distribution/v1beta1/validators/{validator_address}/outstanding_rewards",
            "distribution",
            "A validator's outstanding rewards",
            &[("rewards", "object", "rewards: decimal coins")],
        ),
        Prove::Keys(
            "staking/validators/<validator_address>, distribution/outstanding/<validator_address>",
            outstanding_keys,
        ),
    ),
    lcd(
        "/cosmos/distribution/v1beta1/delegators/{delegator_address}/rewards",
        "distribution",
        "A delegator's rewards from every validator",
        &[
            ("rewards", "array", "validator_address, reward"),
            ("total", "array", "decimal coins"),
        ],
    ),
    lcd(
        "/cosmos/distribution/v1beta1/delegators/{delegator_address}/rewards/{validator_address}",
        "distribution",
        "A delegator's rewards from one validator",
        &[("rewards", "array", "decimal coins")],
    ),
    lcd(
        "/cosmos/distribution/v1beta1/delegators/{delegator_address}/validators",
        "distribution",
        "The validators a delegator delegates to",
        &[("validators", "array", "cosmosvaloper addresses")],
    ),
    proved(
        lcd(
            "/cosmos/distribution/v1beta1/delegators/{delegator_address}/withdraw_address",
            "distribution",
            "Where a delegator's rewards go",
            &[("withdraw_address", "string", "an account")],
        ),
        Prove::Keys(
            "distribution/withdraw_address/<delegator_address>",
            withdraw_address_key,
        ),
    ),
    // mint
    proved(
        lcd("/cosmos/mint/v1beta1/params", "mint", "Mint parameters", PARAMS),
        Prove::Keys("mint/params", mint_params),
    ),
    proved(
        lcd(
            "/cosmos/mint/v1beta1/inflation",
            "mint",
            "Current inflation",
            &[("inflation", "string", "a decimal")],
        ),
        Prove::Keys("mint/minter", minter),
    ),
    proved(
        lcd(
            "/cosmos/mint/v1beta1/annual_provisions",
            "mint",
            "Current annual provisions",
            &[("annual_provisions", "string", "a decimal")],
        ),
        Prove::Keys("mint/minter", minter),
    ),
    // Keystone
    proved(
        with_query(
            get(
                "/keystone/v1/state/{*key}",
                "keystone",
                "Any state key's value at a height, with prove=true its ICS23 proof",
                Handler::StateKey,
                &[
                    ("key", "string", "the key"),
                    ("value", "string", "base64 (empty when absent)"),
                    ("height", "string", "the height read"),
                    ("app_hash", "string", "with prove: the app hash (hex) in the header of header_height"),
                    ("header_height", "string", "with prove: height + 1"),
                    ("proof", "string", "with prove: ICS23 CommitmentProof, protobuf, base64"),
                ],
            ),
            &[(
                "height",
                "string",
                "the height to read (default: the latest; with prove, the latest whose next header exists)",
            )],
        ),
        Prove::StateKey,
    ),
    get(
        "/openapi.json",
        "keystone",
        "This document",
        Handler::OpenApi,
        &[
            ("openapi", "string", "3.0.3"),
            ("paths", "object", "every route"),
        ],
    ),
];
