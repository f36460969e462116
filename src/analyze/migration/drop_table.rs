//! `drop-table`: DROP TABLE loses data and breaks code that still uses the table.

use super::{Ctx, Hit, Rule, Stmt};
use crate::finding::RuleId;

/// The rule.
pub const RULE: Rule = Rule {
    id: RuleId::DropTable,
    check,
};

fn check(s: &Stmt, ctx: &Ctx) -> Option<Hit> {
    if !s.starts(&["drop", "table"]) {
        return None;
    }
    let t = s.name_after(&["table"]).unwrap_or_default();
    if !ctx.existing(&t) {
        return None;
    }
    Some(Hit::from((
        format!("DROP TABLE {t} deletes its data and breaks any running code that uses it"),
        "stop using the table in a release first; consider renaming it and dropping it later"
            .to_string(),
    )))
}

#[cfg(test)]
mod tests {
    use super::super::test_util::fires;

    #[test]
    fn bad_fires_ok_does_not() {
        assert!(fires("DROP TABLE t;", "drop-table"));
        assert!(!fires(
            "CREATE TABLE tmp (a int);\nDROP TABLE tmp;",
            "drop-table"
        ));
    }
}
