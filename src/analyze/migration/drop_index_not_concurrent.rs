//! `drop-index-not-concurrent`: DROP INDEX without CONCURRENTLY takes an ACCESS EXCLUSIVE lock on the table.

use super::{Ctx, Hit, Rule, Stmt};
use crate::finding::RuleId;

/// The rule.
pub const RULE: Rule = Rule {
    id: RuleId::DropIndexNotConcurrent,
    check,
};

fn check(s: &Stmt, ctx: &Ctx) -> Option<Hit> {
    if !s.starts(&["drop", "index"]) || s.has(&["concurrently"]) {
        return None;
    }
    let name = s.name_after(&["index"]).unwrap_or_default();
    if ctx
        .schema
        .table_of_index(&name)
        .is_some_and(|t| !ctx.existing(t))
    {
        return None;
    }
    Some(Hit::from((
        format!("DROP INDEX {name} takes an ACCESS EXCLUSIVE lock on its table: every query on it waits"),
        format!("DROP INDEX CONCURRENTLY IF EXISTS {name}; (outside a transaction)"),
    )))
}

#[cfg(test)]
mod tests {
    use super::super::test_util::fires;

    #[test]
    fn bad_fires_ok_does_not() {
        assert!(fires("DROP INDEX i;", "drop-index-not-concurrent"));
        assert!(!fires(
            "DROP INDEX CONCURRENTLY i;",
            "drop-index-not-concurrent"
        ));
    }
}
