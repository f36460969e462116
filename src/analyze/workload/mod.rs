//! Workload analysis over query events: per-shape statistics ([`top`]) and the workload rule
//! family: bursts of one shape in one session ([`bursts`]) found as [`n_plus_one`] loops or
//! [`redundant_query`] repeats.

pub mod bursts;
pub mod n_plus_one;
pub mod redundant_query;
pub mod top;

/// The workload rules' catalogue entries.
pub fn rules(min_repeats: usize) -> Vec<super::RuleInfo> {
    vec![
        n_plus_one::info(min_repeats),
        redundant_query::info(min_repeats),
    ]
}
