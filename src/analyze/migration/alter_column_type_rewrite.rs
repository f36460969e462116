//! `alter-column-type-rewrite`: ALTER COLUMN … TYPE rewrites the table and its indexes under ACCESS EXCLUSIVE, except for the casts that do not (varchar(n) to a longer varchar or to text, numeric(p,s) to a larger p with the same s, varbit likewise, timestamp to timestamptz with UTC).

use super::{Ctx, Hit, Rule, Stmt};
use crate::finding::RuleId;

/// The rule.
pub const RULE: Rule = Rule {
    id: RuleId::AlterColumnTypeRewrite,
    check,
};

fn check(s: &Stmt, ctx: &Ctx) -> Option<Hit> {
    let t = s.altered_table()?;
    let at = s
        .find(&["type"])
        .filter(|&i| s.words[..i].iter().any(|w| w == "alter"))?;
    if !ctx.existing(&t) {
        return None;
    }
    let target: Vec<&str> = s.words[at + 1..]
        .iter()
        .map(String::as_str)
        .take_while(|w| !matches!(*w, "using" | "," | ";" | "collate"))
        .collect();
    // Targets that can be rewrite-free casts from a narrower type of the same family.
    let maybe_free = matches!(
        target.first(),
        Some(&"text") | Some(&"varchar") | Some(&"varbit")
    ) || (target.first() == Some(&"character")
        && target.get(1) == Some(&"varying"))
        || (matches!(target.first(), Some(&"numeric") | Some(&"decimal")) && target.len() > 1);
    if maybe_free && !s.has(&["using"]) {
        return None;
    }
    Some((
        format!("changing a column type of {t} to {} rewrites the table and rebuilds its indexes while every query on it waits", target.join(" ")),
        "no-rewrite casts: varchar(n) to varchar(m > n) or text, numeric(p,s) to numeric(q > p, s); otherwise add a new column, backfill in batches, and swap".to_string(),
    ))
}

#[cfg(test)]
mod tests {
    use super::super::test_util::fires;

    #[test]
    fn bad_fires_ok_does_not() {
        assert!(fires(
            "ALTER TABLE t ALTER COLUMN c TYPE bigint;",
            "alter-column-type-rewrite"
        ));
        assert!(!fires(
            "ALTER TABLE t ALTER COLUMN c TYPE text;",
            "alter-column-type-rewrite"
        ));
    }
}
