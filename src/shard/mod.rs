//! Sharding: the PostgreSQL-compatible key hash ([`hash`]), the shard map with key lookup and
//! validation ([`map`]), and their reports ([`report`]).

pub mod hash;
pub mod inspect;
pub mod map;
pub mod plan;
pub mod report;

pub use hash::{partition_remainder, KeyValue};
pub use map::{KeyLocation, ShardMap};
