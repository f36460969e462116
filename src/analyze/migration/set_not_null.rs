//! `set-not-null`: SET NOT NULL scans the table under ACCESS EXCLUSIVE, unless a validated CHECK (col IS NOT NULL) proves it first.

use super::{Ctx, Hit, Rule, Stmt};
use crate::finding::RuleId;

/// The rule.
pub const RULE: Rule = Rule {
    id: RuleId::SetNotNull,
    check,
};

fn check(s: &Stmt, ctx: &Ctx) -> Option<Hit> {
    let t = s.altered_table()?;
    let at = s.find(&["set", "not", "null"])?;
    let col = s.words[..at]
        .iter()
        .rev()
        .find(|w| !matches!(w.as_str(), "column" | "alter"))
        .cloned()
        .unwrap_or_default();
    if !ctx.existing(&t) || ctx.not_null_checked.contains(&format!("{t}.{col}")) {
        return None;
    }
    Some((
        format!("SET NOT NULL on {t}.{col} scans the whole table under an ACCESS EXCLUSIVE lock"),
        format!("ALTER TABLE {t} ADD CONSTRAINT {col}_not_null CHECK ({col} IS NOT NULL) NOT VALID; ALTER TABLE {t} VALIDATE CONSTRAINT {col}_not_null; then SET NOT NULL (no scan) and drop the CHECK"),
    ))
}

#[cfg(test)]
mod tests {
    use super::super::test_util::fires;

    #[test]
    fn bad_fires_ok_does_not() {
        assert!(fires(
            "ALTER TABLE t ALTER COLUMN c SET NOT NULL;",
            "set-not-null"
        ));
        assert!(!fires("ALTER TABLE t ADD CONSTRAINT c_nn CHECK (c IS NOT NULL) NOT VALID;\nALTER TABLE t VALIDATE CONSTRAINT c_nn;\nALTER TABLE t ADD CONSTRAINT c_nn2 CHECK (c IS NOT NULL);\nALTER TABLE t ALTER COLUMN c SET NOT NULL;", "set-not-null"));
    }
}
