//! `redundant-query`: the same statement with the same values run again and again in a burst —
//! the application asks for what it already has.

use super::bursts::BurstRow;
use crate::finding::{Finding, Location, RuleId, Severity};
use crate::view::{fmt_ms, fmt_n};

/// The rule's id.
pub const ID: RuleId = RuleId::RedundantQuery;

/// The finding for a pattern of identical repeats.
pub fn finding(row: &BurstRow, location: Location, evidence: serde_json::Value) -> Finding {
    let after = match row.parents.len() {
        0 => String::new(),
        n => {
            let shown: Vec<String> = row
                .parents
                .iter()
                .take(3)
                .map(|p| format!("`{p}`"))
                .collect();
            let more = if n > 3 {
                format!(" and {} more", n - 3)
            } else {
                String::new()
            };
            format!(" after {}{more}", shown.join(", "))
        }
    };
    Finding {
        rule: ID,
        severity: Severity::Warning,
        message: format!(
            "`{}` ran {} times with identical values in {} burst(s){after} (longest {}, {} session(s)): {} in all",
            row.query,
            fmt_n(row.repeats as f64),
            fmt_n(row.bursts as f64),
            row.max_burst,
            row.sessions,
            fmt_ms(row.total_ms)
        ),
        location,
        evidence,
        suggestion: Some("run it once and reuse the result (memoize it for the request, or cache it)".to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_names_repeats_bursts_and_sessions() {
        let row = BurstRow {
            rule: ID,
            fingerprint: "1".into(),
            query: "select 1".into(),
            parent: None,
            parents: vec!["select 2".into()],
            bursts: 2,
            repeats: 12,
            max_burst: 7,
            sessions: 1,
            example_session: "77".into(),
            total_ms: 6.0,
            wasted_ms: 5.0,
        };
        let f = finding(&row, Location::default(), serde_json::json!({}));
        assert_eq!(f.message, "`select 1` ran 12 times with identical values in 2 burst(s) after `select 2` (longest 7, 1 session(s)): 6.0 ms in all");
    }
}
