//! `enum-add-value-in-transaction`: ALTER TYPE … ADD VALUE inside a transaction block fails before PostgreSQL 12; from 12 it runs, but the new value cannot be used until the transaction commits.

use super::{Ctx, Hit, Rule, Stmt};
use crate::finding::RuleId;

/// The rule.
pub const RULE: Rule = Rule {
    id: RuleId::EnumAddValueInTransaction,
    check,
};

fn check(s: &Stmt, ctx: &Ctx) -> Option<Hit> {
    if !s.in_transaction
        || ctx.pg_version >= 12
        || !s.starts(&["alter", "type"])
        || !s.has(&["add", "value"])
    {
        return None;
    }
    Some(Hit::from((
        format!("ALTER TYPE … ADD VALUE cannot run inside a transaction block on PostgreSQL {}: the migration fails", ctx.pg_version),
        "put it in a migration of its own that runs outside a transaction (or upgrade to PostgreSQL 12+)".to_string(),
    )))
}

#[cfg(test)]
mod tests {
    use super::super::test_util::{fires, fires_on};

    #[test]
    fn bad_fires_ok_does_not() {
        let r = "enum-add-value-in-transaction";
        assert!(fires_on("ALTER TYPE mood ADD VALUE 'meh';", r, 11));
        assert!(!fires("ALTER TYPE mood ADD VALUE 'meh';", r));
        assert!(!fires_on(
            "-- dbkit:no-transaction\nALTER TYPE mood ADD VALUE 'meh';",
            r,
            11
        ));
    }
}
