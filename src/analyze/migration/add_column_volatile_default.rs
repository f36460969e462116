//! `add-column-volatile-default`: ADD COLUMN with a volatile default (or any default before PostgreSQL 11) rewrites the table under ACCESS EXCLUSIVE.

use super::{Ctx, Hit, Rule, Stmt};
use crate::finding::RuleId;

/// The rule.
pub const RULE: Rule = Rule {
    id: RuleId::AddColumnVolatileDefault,
    check,
};

fn check(s: &Stmt, ctx: &Ctx) -> Option<Hit> {
    let t = s.altered_table()?;
    let at = s.find(&["add", "column"]).or_else(|| s.find(&["add"]))?;
    let def = s.words[at..].iter().position(|w| w == "default")? + at;
    if !ctx.existing(&t) {
        return None;
    }
    const VOLATILE: &[&str] = &[
        "random",
        "clock_timestamp",
        "timeofday",
        "gen_random_uuid",
        "uuid_generate_v4",
        "uuid_generate_v1",
        "nextval",
        "txid_current",
    ];
    let expr = &s.words[def + 1..];
    let volatile = expr.iter().find(|w| VOLATILE.contains(&w.as_str()));
    if volatile.is_none() && ctx.pg_version >= 11 {
        return None;
    }
    let why = match volatile {
        Some(f) => format!("its default calls {f}(), which is volatile"),
        None => format!("PostgreSQL {} rewrites for any default", ctx.pg_version),
    };
    Some((
        format!("ADD COLUMN on {t} rewrites the whole table under an ACCESS EXCLUSIVE lock: {why}"),
        "add the column without a default (or with a constant one), then backfill in batches and SET DEFAULT afterwards".to_string(),
    ))
}

#[cfg(test)]
mod tests {
    use super::super::test_util::fires;

    #[test]
    fn bad_fires_ok_does_not() {
        assert!(fires(
            "ALTER TABLE t ADD COLUMN c uuid DEFAULT gen_random_uuid();",
            "add-column-volatile-default"
        ));
        assert!(!fires(
            "ALTER TABLE t ADD COLUMN c timestamptz DEFAULT now();",
            "add-column-volatile-default"
        ));
    }
}
