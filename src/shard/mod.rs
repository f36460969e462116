//! Sharding: the PostgreSQL-compatible key hash ([`hash`]), the shard map with key lookup and
//! validation ([`map`]), the rebalance planner ([`plan`]) with range split points
//! (`midpoint`), what the live nodes hold ([`inspect`]), and the reports ([`report`]).

pub mod export;
pub mod hash;
pub mod init;
pub mod inspect;
pub mod map;
pub(crate) mod midpoint;
pub mod moves;
pub mod plan;
pub mod report;
pub mod write;

pub use hash::{partition_remainder, KeyValue};
pub use map::{KeyLocation, ShardMap};
