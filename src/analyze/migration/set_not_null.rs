//! `set-not-null`: SET NOT NULL scans the table under ACCESS EXCLUSIVE, unless a validated CHECK (col IS NOT NULL) proves it first (in this file, an earlier one or the history; PostgreSQL 12+).

use super::{Ctx, Hit, Rule, Stmt};
use crate::finding::RuleId;

/// The rule.
pub const RULE: Rule = Rule {
    id: RuleId::SetNotNull,
    check,
};

fn check(s: &Stmt, ctx: &Ctx) -> Option<Hit> {
    let t = s.altered_table()?;
    if !ctx.existing(&t) {
        return None;
    }
    for c in super::locks::subcommands(s) {
        let Some(at) = super::words::find(c, &["set", "not", "null"]) else {
            continue;
        };
        let col = c[..at]
            .iter()
            .rev()
            .find(|w| !matches!(w.as_str(), "column" | "alter"))
            .cloned()
            .unwrap_or_default();
        let table = ctx.schema.table(&t);
        if table
            .and_then(|x| x.column(&col))
            .is_some_and(|c| c.not_null)
        {
            continue;
        }
        let checks: Vec<&super::schema::Constraint> = table
            .map(|x| {
                x.constraints
                    .iter()
                    .filter(|k| k.not_null_of.as_deref() == Some(col.as_str()))
                    .collect()
            })
            .unwrap_or_default();
        if ctx.pg_version >= 12 && checks.iter().any(|k| k.valid) {
            continue;
        }
        let why = match checks.iter().find(|k| !k.valid) {
            Some(k) => format!(
                " (the CHECK {} proves it only once validated: it is still NOT VALID)",
                k.name
            ),
            None => String::new(),
        };
        return Some(Hit::from((
            format!("SET NOT NULL on {t}.{col} scans the whole table under an ACCESS EXCLUSIVE lock{why}"),
            format!("ALTER TABLE {t} ADD CONSTRAINT {col}_not_null CHECK ({col} IS NOT NULL) NOT VALID; then, in another transaction, ALTER TABLE {t} VALIDATE CONSTRAINT {col}_not_null; then SET NOT NULL (no scan) and drop the CHECK"),
        )));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::super::test_util::{fires, fires_after};

    const R: &str = "set-not-null";

    #[test]
    fn bad_fires_ok_does_not() {
        assert!(fires("ALTER TABLE t ALTER COLUMN c SET NOT NULL;", R));
        assert!(!fires("ALTER TABLE t ADD CONSTRAINT c_nn CHECK (c IS NOT NULL) NOT VALID;\nALTER TABLE t VALIDATE CONSTRAINT c_nn;\nALTER TABLE t ALTER COLUMN c SET NOT NULL;", R));
        assert!(!fires("ALTER TABLE t ADD CONSTRAINT c_nn CHECK (c IS NOT NULL);\nALTER TABLE t ALTER COLUMN c SET NOT NULL;", R));
    }

    #[test]
    fn the_history_counts() {
        let validated = "ALTER TABLE t ADD CONSTRAINT c_nn CHECK ((c IS NOT NULL)) NOT VALID;\nALTER TABLE t VALIDATE CONSTRAINT c_nn;";
        assert!(!fires_after(
            validated,
            "ALTER TABLE t ALTER COLUMN c SET NOT NULL;",
            R
        ));
        let pending = "CREATE TABLE t (c int);\nALTER TABLE t ADD CONSTRAINT c_nn CHECK (c IS NOT NULL) NOT VALID;";
        assert!(fires_after(
            pending,
            "ALTER TABLE t ALTER COLUMN c SET NOT NULL;",
            R
        ));
        assert!(!fires_after(
            "CREATE TABLE t (c int NOT NULL);",
            "ALTER TABLE t ALTER COLUMN c SET NOT NULL;",
            R
        ));
    }
}
