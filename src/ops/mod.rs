//! Orchestration: L2 logic combined with L3 I/O (explain a workload; later: verify index
//! advice, check a migration, move a shard). Progress goes through a callback, never stdout.

pub mod check;
pub mod explain;
pub mod index;
pub mod partition;
pub mod workload;
