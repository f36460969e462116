//! `unused-index`: an index never scanned since the statistics were reset, that enforces
//! nothing — it only costs writes and space.

use super::{index_finding, qualified, size, Rule};
use crate::catalog::Catalog;
use crate::config::IndexThresholds;
use crate::finding::RuleId;
use crate::finding::{Finding, Severity};

/// The rule.
pub const RULE: Rule = Rule {
    id: RuleId::UnusedIndex,
    check,
};

fn check(cat: &Catalog, t: &IndexThresholds, out: &mut Vec<Finding>) {
    let age = cat.stats_age_days.unwrap_or(0.0);
    let since = cat
        .stats_since
        .clone()
        .unwrap_or_else(|| "the statistics reset".to_string());
    for ix in cat
        .indexes
        .iter()
        .filter(|i| i.valid && i.scans == 0 && !i.enforces_something())
    {
        let writes = cat
            .tables
            .iter()
            .find(|x| x.schema == ix.schema && x.name == ix.table)
            .map_or(0, |x| x.writes());
        let severity = if age >= t.unused_min_days {
            RULE.id.severity()
        } else {
            Severity::Info
        };
        out.push(index_finding(
            RULE.id,
            severity,
            ix,
            format!(
                "index {} on {} has had no scans in {age:.1} days (since {since}); {} and {writes} table writes to maintain",
                qualified(&ix.schema, &ix.name),
                qualified(&ix.schema, &ix.table),
                size(ix.size_bytes)
            ),
            serde_json::json!({ "scans": 0, "stats_age_days": age, "stats_since": since, "size_bytes": ix.size_bytes, "table_writes": writes }),
            format!(
                "{} (check replicas first: their scans are not counted here)",
                crate::ddl::index::drop_sql(&ix.schema, &ix.name)
            ),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_util::{cat, ix};
    use super::*;

    #[test]
    fn unused_and_not_enforcing() {
        let mut unused = ix("t_a", "t", &["a"]);
        unused.scans = 0;
        let mut uniq = ix("t_u", "t", &["u"]);
        uniq.scans = 0;
        uniq.unique = true;
        let mut out = Vec::new();
        let mut c = cat(vec![unused, uniq, ix("t_b", "t", &["b"])]);
        check(&c, &IndexThresholds::default(), &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].severity, Severity::Warning);
        assert!(out[0].message.contains("30.0 days"), "{}", out[0].message);
        c.stats_age_days = Some(0.5);
        let mut out = Vec::new();
        check(&c, &IndexThresholds::default(), &mut out);
        assert_eq!(
            out[0].severity,
            Severity::Info,
            "too little history for a warning"
        );
    }
}
