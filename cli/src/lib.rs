//! The `keystone` command's library half: what the commands do, apart from argument parsing.
//!
//! What lives here now: [`keys`] — BIP39 mnemonics, the Cosmos HD path `m/44'/118'/0'/0/0`
//! (so a mnemonic gives the same address as in gaiad or Keplr) and the `test` keyring backend
//! (plain JSON files under `<home>/keyring-test/`, for localnets).
//!
//! Also [`home`] (the home directory's files, `init`, config parsing) and [`node`] (`start`:
//! the engine over the built-in application, on the wall clock).
//!
//! What does not live here yet: the `file` (encrypted) keyring backend, the RPC and REST
//! servers, transactions and queries from the command line (#3), and the network (#4).

pub mod client;
pub mod home;
pub mod keys;
pub mod node;
pub mod rest;
pub mod rpc;
pub mod tx;
