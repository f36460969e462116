//! `rename-table`: RENAME TO breaks deployed code that uses the old table name.

use super::{Ctx, Hit, Rule, Stmt};
use crate::finding::RuleId;

/// The rule.
pub const RULE: Rule = Rule {
    id: RuleId::RenameTable,
    check,
};

fn check(s: &Stmt, ctx: &Ctx) -> Option<Hit> {
    let t = s.altered_table()?;
    if !s.has(&["rename", "to"]) || !ctx.existing(&t) {
        return None;
    }
    Some(Hit::from((
        format!("renaming {t} breaks running code that uses its old name"),
        format!("rename it and leave a view with the old name until every reader moved: CREATE VIEW {t} AS SELECT * FROM <new name>;"),
    )))
}

#[cfg(test)]
mod tests {
    use super::super::test_util::fires;

    #[test]
    fn bad_fires_ok_does_not() {
        assert!(fires("ALTER TABLE t RENAME TO t2;", "rename-table"));
        assert!(!fires("ALTER TABLE t ADD COLUMN c int;", "rename-table"));
    }
}
