//! `reindex-not-concurrent`: REINDEX without CONCURRENTLY (table, index, schema, database) blocks writes to the table (SHARE) and reads that would use the index (ACCESS EXCLUSIVE on it) for the whole rebuild.

use super::{Ctx, Hit, Rule, Stmt};
use crate::finding::RuleId;

/// The rule.
pub const RULE: Rule = Rule {
    id: RuleId::ReindexNotConcurrent,
    check,
};

fn check(s: &Stmt, ctx: &Ctx) -> Option<Hit> {
    if !s.starts(&["reindex"]) || s.has(&["concurrently"]) {
        return None;
    }
    if s.has(&["system"]) {
        return None;
    }
    let what = super::locks::describe(&super::locks::locks(s, ctx.pg_version)).unwrap_or_default();
    let fix = if ctx.pg_version >= 12 {
        "REINDEX … CONCURRENTLY (PostgreSQL 12+), outside a transaction block".to_string()
    } else {
        "build a replacement with CREATE INDEX CONCURRENTLY, then DROP INDEX CONCURRENTLY the old one and rename".to_string()
    };
    Some(Hit::from((
        format!("REINDEX takes {what} for the whole rebuild: writes wait, and so do reads that use the index"),
        fix,
    )))
}

#[cfg(test)]
mod tests {
    use super::super::test_util::fires;

    #[test]
    fn bad_fires_ok_does_not() {
        let r = "reindex-not-concurrent";
        assert!(fires("REINDEX TABLE t;", r));
        assert!(fires("REINDEX INDEX t_pkey;", r));
        assert!(fires("REINDEX (VERBOSE) DATABASE app;", r));
        assert!(!fires("REINDEX TABLE CONCURRENTLY t;", r));
        assert!(!fires("REINDEX (VERBOSE) INDEX CONCURRENTLY t_pkey;", r));
    }
}
