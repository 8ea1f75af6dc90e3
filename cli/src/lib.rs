//! The `keystone` command's library half: what the commands do, apart from argument parsing.
//!
//! What lives here now: [`keys`] — BIP39 mnemonics, the Cosmos HD path `m/44'/118'/0'/0/0`
//! (so a mnemonic gives the same address as in gaiad or Keplr) and the `test` keyring backend
//! (plain JSON files under `<home>/keyring-test/`, for localnets).
//!
//! What does not live here yet: the `file` (encrypted) keyring backend, node assembly for
//! `start`, `init`, genesis commands, transactions and queries (#3).

pub mod keys;
