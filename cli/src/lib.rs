//! The `keystone` command's library half: what the commands do, apart from argument parsing.
//!
//! What lives here: [`keys`] — BIP39 mnemonics, the Cosmos HD path `m/44'/118'/0'/0/0`
//! (so a mnemonic gives the same address as in gaiad or Keplr) and the `test` and `file`
//! keyrings; [`home`] (the home directory's files, `init`, config parsing); [`testnet`]
//! (`testnet init-files`); [`node`] (`start`: the engine over the built-in application, on
//! the wall clock, with the JSON-RPC ([`rpc`], subscriptions in [`events`]) and REST
//! ([`rest`]) servers, both behind [`guard`]'s limits and reading request lines as
//! CometBFT's Go server does ([`lenient`])); [`client`] and [`tx`] (the command line's RPC
//! client and transaction signing); [`armor`] (keys as `keys export` writes them); [`light`] (the light client of `light verify` and `query
//! state --prove`); [`genutil`] (`genesis gentx` and `collect-gentxs`); [`export`] (a
//! genesis document of the state at a height); [`rollback`] (one height back).
//!
//! What does not live here: consensus, storage and the network's transport (the engine and
//! `keystone-p2p`), and the application's rules (`keystone-app`).

pub mod armor;
pub mod client;
pub mod client_config;
pub mod events;
pub mod export;
pub mod genutil;
pub mod grpc;
pub mod guard;
pub mod home;
pub mod keys;
pub mod lenient;
pub mod light;
pub mod logs;
pub mod metrics;
pub mod node;
pub mod rest;
pub mod rollback;
pub mod rpc;
pub mod statesync;
pub mod testnet;
pub mod tx;
