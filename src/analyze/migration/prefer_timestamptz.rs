//! `prefer-timestamptz`: timestamp without time zone: instants are ambiguous across zones and DST.

use super::{Ctx, Hit, Rule, Stmt};
use crate::finding::RuleId;

/// The rule.
pub const RULE: Rule = Rule {
    id: RuleId::PreferTimestamptz,
    check,
};

fn check(s: &Stmt, ctx: &Ctx) -> Option<Hit> {
    let _ = ctx;
    if !(s.starts(&["create", "table"]) || s.altered_table().is_some()) {
        return None;
    }
    let hit = s.words.iter().enumerate().any(|(i, w)| {
        w == "timestamp"
            && !(s.words.get(i + 1).map(String::as_str) == Some("with")
                || (s.words.get(i + 1).map(String::as_str) == Some("(")
                    && s.words.get(i + 4).map(String::as_str) == Some("with")))
    });
    if !hit {
        return None;
    }
    Some(Hit::from(("a timestamp without time zone column: its values mean different instants in different zones".to_string(), "use timestamptz".to_string())))
}

#[cfg(test)]
mod tests {
    use super::super::test_util::fires;

    #[test]
    fn bad_fires_ok_does_not() {
        assert!(fires("CREATE TABLE t (a timestamp);", "prefer-timestamptz"));
        assert!(!fires(
            "CREATE TABLE t (a timestamptz, b timestamp with time zone);",
            "prefer-timestamptz"
        ));
    }
}
