//! `alter-column-type-rewrite`: ALTER COLUMN … TYPE rewrites the table and its indexes under ACCESS EXCLUSIVE, except for the casts that do not (varchar(n) to a longer varchar or to text, numeric(p,s) to a larger p with the same s, varbit likewise, cidr to inet, timestamp to timestamptz when the session time zone is UTC). With the current type known from the history or the schema the verdict is exact; without it, a target that is rewrite-free only from some types is a warning that says so.

use super::schema::SqlType;
use super::{Ctx, Hit, Rule, Stmt};
use crate::finding::{RuleId, Severity};

/// The rule.
pub const RULE: Rule = Rule {
    id: RuleId::AlterColumnTypeRewrite,
    check,
};

/// Whether changing `from` to `to` rewrites the table: `Some(true)` it does, `Some(false)` it
/// does not, `None` it depends on the session's TimeZone (timestamp ↔ timestamptz, PostgreSQL
/// 12+).
pub fn rewrites(from: &SqlType, to: &SqlType, pg: u32) -> Option<bool> {
    // An array of any other type is coerced element by element: a rewrite, even where the
    // element change alone is free (varchar(10)[] to varchar(20)[], text[] to varchar[] rewrite
    // on PostgreSQL 15; tests/check_rewrites_pg.rs).
    if from.array || to.array {
        return Some(from != to);
    }
    let (f, t) = (from.base.as_str(), to.base.as_str());
    let longer = |a: &[u32], b: &[u32]| match (a.first(), b.first()) {
        (_, None) => true,
        (Some(x), Some(y)) => y >= x,
        (None, Some(_)) => false,
    };
    let free = match (f, t) {
        _ if from == to => true,
        ("varchar", "varchar") | ("varbit", "varbit") => longer(&from.mods, &to.mods),
        ("varchar", "text") | ("text", "varchar") if to.mods.is_empty() => true,
        ("varchar" | "text", "text") => true,
        ("numeric", "numeric") => {
            to.mods.is_empty()
                || (from.mods.len() == to.mods.len()
                    && longer(&from.mods, &to.mods)
                    && from.mods.get(1) == to.mods.get(1))
        }
        ("cidr", "inet") | ("xml", "text") => true,
        ("timestamp", "timestamptz") | ("timestamptz", "timestamp")
            if pg >= 12 && from.mods == to.mods =>
        {
            return None
        }
        _ => false,
    };
    Some(!free)
}

/// Targets that can be rewrite-free from some other type.
fn maybe_free_target(t: &SqlType) -> bool {
    matches!(
        t.base.as_str(),
        "text" | "varchar" | "varbit" | "numeric" | "inet" | "timestamptz" | "timestamp"
    )
}

fn check(s: &Stmt, ctx: &Ctx) -> Option<Hit> {
    let t = s.altered_table()?;
    if !ctx.existing(&t) {
        return None;
    }
    for c in super::locks::subcommands(s) {
        let word = |i: usize| c.get(i).map(String::as_str).unwrap_or("");
        if word(0) != "alter" {
            continue;
        }
        let i = if word(1) == "column" { 2 } else { 1 };
        let col = word(i).to_string();
        let at = match (word(i + 1), word(i + 2), word(i + 3)) {
            ("type", ..) => i + 2,
            ("set", "data", "type") => i + 4,
            _ => continue,
        };
        let (to, _) = SqlType::read(&c[at.min(c.len())..]);
        let using = c.iter().any(|w| w == "using");
        let current = ctx
            .schema
            .table(&t)
            .and_then(|x| x.column(&col))
            .map(|c| c.sql_type.clone())
            .filter(|ty| !ty.base.is_empty());
        let fix = "no-rewrite changes: varchar(n) to varchar(m > n) or text, numeric(p,s) to numeric(q > p, s); otherwise add a new column, backfill it in batches, and swap".to_string();
        let hit = |message: String, severity: Option<Severity>| {
            Some(Hit {
                message,
                suggestion: fix.clone(),
                severity,
            })
        };
        match (current, using) {
            (_, true) => {
                return hit(format!("changing {t}.{col} to {to} with USING rewrites the table and rebuilds its indexes while every query on it waits"), None)
            }
            (Some(from), false) => match rewrites(&from, &to, ctx.pg_version) {
                Some(false) => continue,
                Some(true) => return hit(format!("changing {t}.{col} from {from} to {to} rewrites the table and rebuilds its indexes while every query on it waits"), None),
                None => match ctx.timezone_utc {
                    Some(true) => continue,
                    Some(false) => return hit(format!("changing {t}.{col} from {from} to {to} rewrites the table: the file sets a TimeZone other than UTC, so every value is converted"), None),
                    None => return hit(format!("changing {t}.{col} from {from} to {to} rewrites the table unless the migration's session TimeZone is UTC (SET TimeZone = 'UTC' before it makes it free)"), Some(Severity::Warning)),
                },
            },
            (None, false) if maybe_free_target(&to) => {
                return hit(format!("changing {t}.{col} to {to}: dbkit does not know the column's current type (pass --history or --schema), and that decides whether the table is rewritten under ACCESS EXCLUSIVE"), Some(Severity::Warning))
            }
            (None, false) => {
                return hit(format!("changing {t}.{col} to {to} rewrites the table and rebuilds its indexes while every query on it waits"), None)
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::super::test_util::{findings, fires, fires_after};
    use crate::finding::Severity;

    const R: &str = "alter-column-type-rewrite";

    #[test]
    fn bad_fires_ok_does_not() {
        assert!(fires("ALTER TABLE t ALTER COLUMN c TYPE bigint;", R));
        let f = findings(
            "ALTER TABLE t ALTER COLUMN c TYPE text;",
            &Default::default(),
        );
        assert_eq!(f[0].severity, Severity::Warning, "{f:?}");
        assert!(f[0].message.contains("current type"), "{}", f[0].message);
    }

    #[test]
    fn the_history_decides() {
        let h = "CREATE TABLE t (a bigint, b varchar(10), c numeric(10,2), d timestamp, e text);";
        assert!(fires_after(
            h,
            "ALTER TABLE t ALTER COLUMN a TYPE numeric(20,2);",
            R
        ));
        assert!(!fires_after(
            h,
            "ALTER TABLE t ALTER COLUMN b TYPE varchar(20);",
            R
        ));
        assert!(fires_after(
            h,
            "ALTER TABLE t ALTER COLUMN b TYPE varchar(5);",
            R
        ));
        assert!(!fires_after(
            h,
            "ALTER TABLE t ALTER COLUMN b TYPE text;",
            R
        ));
        assert!(!fires_after(
            h,
            "ALTER TABLE t ALTER COLUMN c TYPE numeric(12,2);",
            R
        ));
        assert!(fires_after(
            h,
            "ALTER TABLE t ALTER COLUMN c TYPE numeric(12,3);",
            R
        ));
        assert!(fires_after(
            h,
            "ALTER TABLE t ALTER COLUMN e TYPE varchar(30);",
            R
        ));
        assert!(fires_after(
            h,
            "ALTER TABLE t ALTER COLUMN b TYPE text USING trim(b);",
            R
        ));
        assert!(fires_after(
            h,
            "ALTER TABLE t ALTER COLUMN d TYPE timestamptz;",
            R
        ));
    }
}
