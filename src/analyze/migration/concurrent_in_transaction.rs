//! `concurrent-in-transaction`: CONCURRENTLY cannot run inside a transaction block: the migration fails.

use super::{Ctx, Hit, Rule, Stmt};
use crate::finding::RuleId;

/// The rule.
pub const RULE: Rule = Rule {
    id: RuleId::ConcurrentInTransaction,
    check,
};

fn check(s: &Stmt, ctx: &Ctx) -> Option<Hit> {
    let _ = ctx;
    if !s.in_transaction || !s.has(&["concurrently"]) {
        return None;
    }
    Some((
        "a CONCURRENTLY statement inside a transaction fails (\"cannot run inside a transaction block\")".to_string(),
        "run this migration outside a transaction: mark the file with -- dbkit:no-transaction and configure the migration tool likewise".to_string(),
    ))
}

#[cfg(test)]
mod tests {
    use super::super::test_util::fires;

    #[test]
    fn bad_fires_ok_does_not() {
        assert!(fires(
            "CREATE INDEX CONCURRENTLY i ON t (a);",
            "concurrent-in-transaction"
        ));
        assert!(!fires(
            "-- dbkit:no-transaction\nCREATE INDEX CONCURRENTLY i ON t (a);",
            "concurrent-in-transaction"
        ));
    }
}
