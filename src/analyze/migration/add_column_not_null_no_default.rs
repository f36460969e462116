//! `add-column-not-null-no-default`: ADD COLUMN … NOT NULL without a default fails on a table that has rows (a generated or identity column fills itself and is not this).

use super::{Ctx, Hit, Rule, Stmt};
use crate::finding::RuleId;

/// The rule.
pub const RULE: Rule = Rule {
    id: RuleId::AddColumnNotNullNoDefault,
    check,
};

fn check(s: &Stmt, ctx: &Ctx) -> Option<Hit> {
    let t = s.altered_table()?;
    if !ctx.existing(&t) {
        return None;
    }
    let bad = s.added_columns().into_iter().any(|c| {
        super::words::has(c, &["not", "null"])
            && !c.iter().any(|w| {
                matches!(
                    w.as_str(),
                    "default"
                        | "generated"
                        | "serial"
                        | "bigserial"
                        | "smallserial"
                        | "serial4"
                        | "serial8"
                        | "serial2"
                )
            })
    });
    if !bad {
        return None;
    }
    Some(Hit::from((
        format!("ADD COLUMN … NOT NULL without a default on {t} fails as soon as the table has a row"),
        "add it with a DEFAULT (constant: no rewrite from PostgreSQL 11), or nullable, backfill, then SET NOT NULL behind a validated CHECK".to_string(),
    )))
}

#[cfg(test)]
mod tests {
    use super::super::test_util::fires;

    #[test]
    fn bad_fires_ok_does_not() {
        let r = "add-column-not-null-no-default";
        assert!(fires("ALTER TABLE t ADD COLUMN c int NOT NULL;", r));
        assert!(!fires(
            "ALTER TABLE t ADD COLUMN c int NOT NULL DEFAULT 0;",
            r
        ));
        assert!(!fires(
            "ALTER TABLE t ADD COLUMN total int NOT NULL GENERATED ALWAYS AS (a + b) STORED;",
            r
        ));
        assert!(!fires(
            "ALTER TABLE t ADD COLUMN id bigint NOT NULL GENERATED ALWAYS AS IDENTITY;",
            r
        ));
        assert!(!fires(
            "ALTER TABLE t ADD CONSTRAINT c CHECK (a IS NOT NULL) NOT VALID;",
            r
        ));
    }
}
