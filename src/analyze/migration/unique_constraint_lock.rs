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
    if !ctx.existing(&t) {
        return None;
    }
    for c in super::locks::subcommands(s) {
        if c.first().map(String::as_str) != Some("add") {
            continue;
        }
        // The constraint's kind: after ADD, or after ADD CONSTRAINT name.
        let body: Vec<&str> = c.iter().map(String::as_str).collect();
        let k = match body.as_slice() {
            ["add", "constraint", _, k, ..] => *k,
            ["add", k, ..] => *k,
            _ => continue,
        };
        match k {
            "unique" | "primary" if !super::words::has(c, &["using", "index"]) => {
                return Some(Hit::from((
                    format!("adding a unique constraint or primary key to {t} builds its index while every query on the table waits"),
                    format!("CREATE UNIQUE INDEX CONCURRENTLY <name> ON {t} (…); then ALTER TABLE {t} ADD CONSTRAINT <name> UNIQUE USING INDEX <name>;"),
                )))
            }
            "exclude" => {
                return Some(Hit::from((
                    format!("adding an exclusion constraint to {t} builds its index and checks every row while every query on the table waits (there is no USING INDEX form for exclusion constraints)"),
                    format!("add it when {t} is empty or in a maintenance window, or enforce the rule with a unique index built CONCURRENTLY when equality is enough"),
                )))
            }
            _ => {}
        }
    }
    // A column added with an inline UNIQUE or PRIMARY KEY builds the index the same way.
    if s.added_columns()
        .iter()
        .any(|c| c.iter().any(|w| w == "unique") || super::words::has(c, &["primary", "key"]))
    {
        return Some(Hit::from((
            format!("adding a column with UNIQUE or PRIMARY KEY to {t} builds its index while every query on the table waits"),
            format!("add the column plain, CREATE UNIQUE INDEX CONCURRENTLY <name> ON {t} (…), then ALTER TABLE {t} ADD CONSTRAINT <name> UNIQUE USING INDEX <name>;"),
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
            "ALTER TABLE t ADD CONSTRAINT t_a_key UNIQUE (a);",
            "unique-constraint-lock"
        ));
        assert!(!fires(
            "ALTER TABLE t ADD CONSTRAINT t_a_key UNIQUE USING INDEX t_a_idx;",
            "unique-constraint-lock"
        ));
        let r = "unique-constraint-lock";
        assert!(fires("ALTER TABLE t ADD PRIMARY KEY (id);", r));
        assert!(fires(
            "ALTER TABLE t ADD CONSTRAINT t_excl EXCLUDE USING gist (during WITH &&);",
            r
        ));
        assert!(fires("ALTER TABLE t ADD COLUMN code text UNIQUE;", r));
        assert!(fires(
            "ALTER TABLE t ADD COLUMN id bigserial PRIMARY KEY;",
            r
        ));
        assert!(!fires("ALTER TABLE t ADD COLUMN code text;", r));
        assert!(!fires(
            "ALTER TABLE t ADD CONSTRAINT c CHECK (a > 0) NOT VALID;",
            r
        ));
    }
}
