//! `refresh-matview-not-concurrent`: REFRESH MATERIALIZED VIEW without CONCURRENTLY holds ACCESS EXCLUSIVE on the view for the whole refresh: every query that reads it waits.

use super::{Ctx, Hit, Rule, Stmt};
use crate::finding::RuleId;

/// The rule.
pub const RULE: Rule = Rule {
    id: RuleId::RefreshMatviewNotConcurrent,
    check,
};

fn check(s: &Stmt, ctx: &Ctx) -> Option<Hit> {
    if !s.starts(&["refresh", "materialized", "view"]) || s.has(&["concurrently"]) {
        return None;
    }
    let v = s.name_after(&["view"])?;
    // WITH NO DATA empties it (instant, but it is unreadable afterwards).
    if !ctx.existing(&v) || s.has(&["no", "data"]) {
        return None;
    }
    Some(Hit::from((
        format!("REFRESH MATERIALIZED VIEW {v} holds ACCESS EXCLUSIVE on it for the whole refresh: every query that reads {v} waits until the query behind it has run again"),
        format!("REFRESH MATERIALIZED VIEW CONCURRENTLY {v}; (it needs a unique index on {v}; it takes EXCLUSIVE, which lets reads go on while it runs)"),
    )))
}

#[cfg(test)]
mod tests {
    use super::super::test_util::fires;

    #[test]
    fn bad_fires_ok_does_not() {
        let r = "refresh-matview-not-concurrent";
        assert!(fires("REFRESH MATERIALIZED VIEW totals;", r));
        assert!(!fires("REFRESH MATERIALIZED VIEW CONCURRENTLY totals;", r));
        assert!(!fires("REFRESH MATERIALIZED VIEW totals WITH NO DATA;", r));
    }
}
