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
    if !ctx.existing(&t) {
        return None;
    }
    for c in super::locks::subcommands(s) {
        let has = |x: &str| c.iter().any(|w| w == x);
        if c.first().map(String::as_str) != Some("add") || !has("references") {
            continue;
        }
        let not_valid = super::words::has(c, &["not", "valid"]);
        let column = !has("foreign") && c.get(1).is_none_or(|w| w != "constraint");
        if column {
            // ADD COLUMN … REFERENCES: a column constraint cannot be NOT VALID.
            let col = c
                .get(if c.get(1).is_some_and(|w| w == "column") {
                    2
                } else {
                    1
                })
                .cloned()
                .unwrap_or_default();
            return Some(Hit::from((
                format!("adding column {col} to {t} with a foreign key validates it by scanning every row of {t} under the ADD COLUMN's ACCESS EXCLUSIVE lock"),
                format!("ALTER TABLE {t} ADD COLUMN {col} … (no REFERENCES); then ALTER TABLE {t} ADD CONSTRAINT {t}_{col}_fkey FOREIGN KEY ({col}) REFERENCES … NOT VALID; and VALIDATE CONSTRAINT in another transaction"),
            )));
        }
        if not_valid {
            continue;
        }
        return Some(Hit::from((
            format!("adding a foreign key to {t} validates every row while both tables are locked against writes"),
            format!("{} NOT VALID; then, in another transaction: ALTER TABLE {t} VALIDATE CONSTRAINT <name>;", s.text.trim_end_matches(';')),
        )));
    }
    None
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
