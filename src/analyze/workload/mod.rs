//! Workload analysis over query events: per-shape statistics ([`top`]) and the workload rule
//! family: bursts of one shape in one session ([`bursts`]) found as [`n_plus_one`] loops or
//! `redundant_query` repeats.

pub mod bursts;
pub mod n_plus_one;
pub(crate) mod redundant_query;
pub mod top;
