//! `prefer-identity`: serial columns: identity columns are the standard, with the sequence owned and permissions simpler.

use super::{Ctx, Hit, Rule, Stmt};
use crate::finding::RuleId;

/// The rule.
pub const RULE: Rule = Rule {
    id: RuleId::PreferIdentity,
    check,
};

fn check(s: &Stmt, ctx: &Ctx) -> Option<Hit> {
    let _ = ctx;
    if !(s.starts(&["create", "table"]) || s.altered_table().is_some()) {
        return None;
    }
    if !s.words.iter().any(|w| {
        matches!(
            w.as_str(),
            "serial" | "bigserial" | "smallserial" | "serial4" | "serial8"
        )
    }) {
        return None;
    }
    Some(Hit::from(("a serial column: its sequence is a separate object with its own permissions and ownership quirks".to_string(), "use bigint GENERATED ALWAYS AS IDENTITY".to_string())))
}

#[cfg(test)]
mod tests {
    use super::super::test_util::fires;

    #[test]
    fn bad_fires_ok_does_not() {
        assert!(fires("CREATE TABLE t (id bigserial);", "prefer-identity"));
        assert!(!fires(
            "CREATE TABLE t (id bigint GENERATED ALWAYS AS IDENTITY);",
            "prefer-identity"
        ));
    }
}
