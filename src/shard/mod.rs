//! Sharding: the PostgreSQL-compatible key hash ([`hash`]); shard maps and the rebalance
//! planner build on it.

pub mod hash;

pub use hash::{partition_remainder, KeyValue};
