//! Workload analysis over query events: per-shape statistics ([`top`]).

pub mod top;
