//! mint's state keys (public API: clients prove them).

/// The mint params (JSON).
pub const PARAMS: &str = "mint/params";

/// The minter: the current inflation and annual provisions (JSON).
pub const MINTER: &str = "mint/minter";
