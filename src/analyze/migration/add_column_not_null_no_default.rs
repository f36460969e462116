//! `add-column-not-null-no-default`: ADD COLUMN … NOT NULL without a default fails on a table that has rows.

use super::{Ctx, Hit, Rule, Stmt};
use crate::finding::RuleId;

/// The rule.
pub const RULE: Rule = Rule {
    id: RuleId::AddColumnNotNullNoDefault,
    check,
};

fn check(s: &Stmt, ctx: &Ctx) -> Option<Hit> {
    let t = s.altered_table()?;
    let at = s.find(&["add", "column"]).or_else(|| s.find(&["add"]))?;
    let rest = &s.words[at..];
    let nn = rest.windows(2).any(|w| w[0] == "not" && w[1] == "null");
    if !nn
        || rest.iter().any(|w| w == "default")
        || rest.iter().any(|w| w == "constraint" || w == "check")
        || !ctx.existing(&t)
    {
        return None;
    }
    Some((
        format!("ADD COLUMN … NOT NULL without a default on {t} fails as soon as the table has a row"),
        "add it with a DEFAULT (constant: no rewrite from PostgreSQL 11), or nullable, backfill, then SET NOT NULL behind a validated CHECK".to_string(),
    ))
}

#[cfg(test)]
mod tests {
    use super::super::test_util::fires;

    #[test]
    fn bad_fires_ok_does_not() {
        assert!(fires(
            "ALTER TABLE t ADD COLUMN c int NOT NULL;",
            "add-column-not-null-no-default"
        ));
        assert!(!fires(
            "ALTER TABLE t ADD COLUMN c int NOT NULL DEFAULT 0;",
            "add-column-not-null-no-default"
        ));
    }
}
