//! `prefer-jsonb`: json columns: jsonb is indexable (GIN), compares and de-duplicates keys.

use super::{Ctx, Hit, Rule, Stmt};
use crate::finding::RuleId;

/// The rule.
pub const RULE: Rule = Rule {
    id: RuleId::PreferJsonb,
    check,
};

fn check(s: &Stmt, ctx: &Ctx) -> Option<Hit> {
    let _ = ctx;
    if !(s.starts(&["create", "table"]) || s.altered_table().is_some()) {
        return None;
    }
    if !s.words.iter().any(|w| w == "json") {
        return None;
    }
    Some(Hit::from((
        "a json column: it cannot be indexed with GIN and keeps duplicate keys and whitespace"
            .to_string(),
        "use jsonb".to_string(),
    )))
}

#[cfg(test)]
mod tests {
    use super::super::test_util::fires;

    #[test]
    fn bad_fires_ok_does_not() {
        assert!(fires("CREATE TABLE t (a json);", "prefer-jsonb"));
        assert!(!fires("CREATE TABLE t (a jsonb);", "prefer-jsonb"));
    }
}
