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
    if !s.in_transaction || crate::sql::txn::needs_no_transaction(&s.text).is_none() {
        return None;
    }
    Some(Hit::from((
        format!("{} (the file runs in a transaction: see the file's transaction mode in the report)", crate::sql::txn::needs_no_transaction(&s.text).unwrap_or_default()),
        "run this migration outside a transaction: mark the file with -- dbkit:no-transaction and configure the migration tool likewise".to_string(),
    )))
}

#[cfg(test)]
mod tests {
    use super::super::test_util::{findings, fires};
    use super::super::{txmode::TxSetting, Options};

    #[test]
    fn bad_fires_ok_does_not() {
        let always = Options {
            transaction: TxSetting::Always,
            ..Options::default()
        };
        assert!(findings("CREATE INDEX CONCURRENTLY i ON t (a);", &always)
            .iter()
            .any(|f| f.rule.as_str() == "concurrent-in-transaction"));
        // auto: a file with CONCURRENTLY and no marker is taken to run outside a transaction.
        assert!(!fires(
            "CREATE INDEX CONCURRENTLY i ON t (a);",
            "concurrent-in-transaction"
        ));
        // goose runs the file in a transaction unless told not to.
        assert!(fires(
            "-- +goose Up\nCREATE INDEX CONCURRENTLY i ON t (a);",
            "concurrent-in-transaction"
        ));
        assert!(fires(
            "BEGIN;\nCREATE INDEX CONCURRENTLY i ON t (a);\nCOMMIT;",
            "concurrent-in-transaction"
        ));
        assert!(!fires(
            "-- dbkit:no-transaction\nCREATE INDEX CONCURRENTLY i ON t (a);",
            "concurrent-in-transaction"
        ));
    }
}
