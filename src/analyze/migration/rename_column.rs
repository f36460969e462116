//! `rename-column`: RENAME COLUMN breaks deployed code that uses the old name.

use super::{Ctx, Hit, Rule, Stmt};
use crate::finding::RuleId;

/// The rule.
pub const RULE: Rule = Rule {
    id: RuleId::RenameColumn,
    check,
};

fn check(s: &Stmt, ctx: &Ctx) -> Option<Hit> {
    let t = s.altered_table()?;
    // RENAME COLUMN a TO b, or RENAME a TO b (not RENAME TO, not RENAME CONSTRAINT).
    let renames_column = s.has(&["rename", "column"])
        || (s.has(&["rename"])
            && s.has(&["to"])
            && !s.has(&["rename", "to"])
            && !s.has(&["rename", "constraint"]));
    if !renames_column {
        return None;
    }
    if !ctx.existing(&t) {
        return None;
    }
    Some(Hit::from((
        format!("renaming a column of {t} breaks running code that uses the old name"),
        "add the new column, write both, backfill, move readers, then drop the old one (or use a view)".to_string(),
    )))
}

#[cfg(test)]
mod tests {
    use super::super::test_util::fires;

    #[test]
    fn bad_fires_ok_does_not() {
        assert!(fires(
            "ALTER TABLE t RENAME COLUMN a TO b;",
            "rename-column"
        ));
        assert!(!fires(
            "ALTER TABLE t RENAME CONSTRAINT a TO b;",
            "rename-column"
        ));
    }
}
