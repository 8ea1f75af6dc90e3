//! Command groups too big for `main.rs`: each file holds a group's clap definitions and what
//! its commands do.

pub(crate) mod genesis;
pub(crate) mod operator;
pub(crate) mod query;
pub(crate) mod snapshots;
pub(crate) mod tx;
