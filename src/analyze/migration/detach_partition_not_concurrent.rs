//! `detach-partition-not-concurrent`: DETACH PARTITION without CONCURRENTLY (PostgreSQL 14+) takes ACCESS EXCLUSIVE on the parent.

use super::{Ctx, Hit, Rule, Stmt};
use crate::finding::RuleId;

/// The rule.
pub const RULE: Rule = Rule {
    id: RuleId::DetachPartitionNotConcurrent,
    check,
};

fn check(s: &Stmt, ctx: &Ctx) -> Option<Hit> {
    let t = s.altered_table()?;
    if !s.has(&["detach", "partition"])
        || s.has(&["concurrently"])
        || s.has(&["finalize"])
        || ctx.pg_version < 14
    {
        return None;
    }
    Some(Hit::from((
        format!("DETACH PARTITION on {t} takes an ACCESS EXCLUSIVE lock on the partitioned table"),
        format!("{} CONCURRENTLY; (PostgreSQL 14+, outside a transaction, not with a DEFAULT partition)", s.text.trim_end_matches(';')),
    )))
}

#[cfg(test)]
mod tests {
    use super::super::test_util::fires;

    #[test]
    fn bad_fires_ok_does_not() {
        assert!(fires(
            "ALTER TABLE t DETACH PARTITION t_2020;",
            "detach-partition-not-concurrent"
        ));
        assert!(!fires(
            "-- dbkit:no-transaction\nALTER TABLE t DETACH PARTITION t_2020 CONCURRENTLY;",
            "detach-partition-not-concurrent"
        ));
    }
}
