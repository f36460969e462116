//! `unique-constraint-lock`: ADD UNIQUE / PRIMARY KEY without USING INDEX builds the index under ACCESS EXCLUSIVE.

use super::{Ctx, Hit, Rule, Stmt};
use crate::finding::RuleId;

/// The rule.
pub const RULE: Rule = Rule {
    id: RuleId::UniqueConstraintLock,
    check,
};

fn check(s: &Stmt, ctx: &Ctx) -> Option<Hit> {
    let t = s.altered_table()?;
    if !s.has(&["add"])
        || !(s.has(&["unique"]) || s.has(&["primary", "key"]))
        || s.has(&["using", "index"])
        || !ctx.existing(&t)
    {
        return None;
    }
    Some(Hit::from((
        format!("adding a unique constraint or primary key to {t} builds its index while every query on the table waits"),
        format!("CREATE UNIQUE INDEX CONCURRENTLY <name> ON {t} (…); then ALTER TABLE {t} ADD CONSTRAINT <name> UNIQUE USING INDEX <name>;"),
    )))
}

#[cfg(test)]
mod tests {
    use super::super::test_util::fires;

    #[test]
    fn bad_fires_ok_does_not() {
        assert!(fires(
            "ALTER TABLE t ADD CONSTRAINT t_a_key UNIQUE (a);",
            "unique-constraint-lock"
        ));
        assert!(!fires(
            "ALTER TABLE t ADD CONSTRAINT t_a_key UNIQUE USING INDEX t_a_idx;",
            "unique-constraint-lock"
        ));
    }
}
