//! `fk-not-valid`: ADD FOREIGN KEY without NOT VALID locks both tables (SHARE ROW EXCLUSIVE) while it scans every row.

use super::{Ctx, Hit, Rule, Stmt};
use crate::finding::RuleId;

/// The rule.
pub const RULE: Rule = Rule {
    id: RuleId::FkNotValid,
    check,
};

fn check(s: &Stmt, ctx: &Ctx) -> Option<Hit> {
    let t = s.altered_table()?;
    if !(s.has(&["foreign", "key"]) || (s.has(&["add"]) && s.has(&["references"])))
        || s.has(&["not", "valid"])
        || !ctx.existing(&t)
    {
        return None;
    }
    Some(Hit::from((
        format!("adding a foreign key to {t} validates every row while both tables are locked against writes"),
        format!("{} NOT VALID; then, in another transaction: ALTER TABLE {t} VALIDATE CONSTRAINT <name>;", s.text.trim_end_matches(';')),
    )))
}

#[cfg(test)]
mod tests {
    use super::super::test_util::fires;

    #[test]
    fn bad_fires_ok_does_not() {
        assert!(fires(
            "ALTER TABLE t ADD CONSTRAINT t_u FOREIGN KEY (u) REFERENCES u (id);",
            "fk-not-valid"
        ));
        assert!(!fires(
            "ALTER TABLE t ADD CONSTRAINT t_u FOREIGN KEY (u) REFERENCES u (id) NOT VALID;",
            "fk-not-valid"
        ));
    }
}
