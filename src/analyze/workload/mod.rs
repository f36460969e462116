//! Workload analysis over query events: per-shape statistics ([`top`]) and the workload rule
//! family: bursts of one shape in one session ([`bursts`]) found as [`n_plus_one`] loops or
//! `redundant_query` repeats; and pgBadger's other sections of a log ([`summary`]).

pub mod bursts;
pub mod n_plus_one;
pub(crate) mod redundant_query;
pub mod summary;
pub mod summary_report;
pub mod top;
