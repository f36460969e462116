//! `drop-column`: DROP COLUMN breaks every deployed query that still reads the column.

use super::{Ctx, Hit, Rule, Stmt};
use crate::finding::RuleId;

/// The rule.
pub const RULE: Rule = Rule {
    id: RuleId::DropColumn,
    check,
};

fn check(s: &Stmt, ctx: &Ctx) -> Option<Hit> {
    let t = s.altered_table()?;
    let at = s.find(&["drop", "column"]).or_else(|| {
        s.find(&["drop"]).filter(|&i| {
            !matches!(
                s.words.get(i + 1).map(String::as_str),
                Some("constraint" | "default" | "not" | "expression" | "identity")
            )
        })
    })?;
    let _ = at;
    if !ctx.existing(&t) {
        return None;
    }
    Some(Hit::from((
        format!("dropping a column of {t} breaks any running code that still selects or writes it"),
        "ship code that no longer uses the column first; then drop it in a later release"
            .to_string(),
    )))
}

#[cfg(test)]
mod tests {
    use super::super::test_util::fires;

    #[test]
    fn bad_fires_ok_does_not() {
        assert!(fires("ALTER TABLE t DROP COLUMN c;", "drop-column"));
        assert!(!fires("ALTER TABLE t DROP CONSTRAINT c;", "drop-column"));
    }
}
