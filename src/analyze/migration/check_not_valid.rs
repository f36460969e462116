//! `check-not-valid`: ADD CHECK without NOT VALID holds ACCESS EXCLUSIVE while it scans every row.

use super::{Ctx, Hit, Rule, Stmt};
use crate::finding::RuleId;

/// The rule.
pub const RULE: Rule = Rule {
    id: RuleId::CheckNotValid,
    check,
};

fn check(s: &Stmt, ctx: &Ctx) -> Option<Hit> {
    let t = s.altered_table()?;
    if !s.has(&["add"])
        || !s.has(&["check"])
        || s.has(&["not", "valid"])
        || s.has(&["column"])
        || !ctx.existing(&t)
    {
        return None;
    }
    Some(Hit::from((
        format!("adding a CHECK to {t} scans every row under an ACCESS EXCLUSIVE lock"),
        format!("{} NOT VALID; then: ALTER TABLE {t} VALIDATE CONSTRAINT <name>; (SHARE UPDATE EXCLUSIVE: writes go on)", s.text.trim_end_matches(';')),
    )))
}

#[cfg(test)]
mod tests {
    use super::super::test_util::fires;

    #[test]
    fn bad_fires_ok_does_not() {
        assert!(fires(
            "ALTER TABLE t ADD CONSTRAINT c CHECK (a > 0);",
            "check-not-valid"
        ));
        assert!(!fires(
            "ALTER TABLE t ADD CONSTRAINT c CHECK (a > 0) NOT VALID;",
            "check-not-valid"
        ));
    }
}
