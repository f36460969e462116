//! `prefer-bigint-key`: an int/serial primary key runs out at 2,147,483,647.

use super::{Ctx, Hit, Rule, Stmt};
use crate::finding::RuleId;

/// The rule.
pub const RULE: Rule = Rule {
    id: RuleId::PreferBigintKey,
    check,
};

fn check(s: &Stmt, ctx: &Ctx) -> Option<Hit> {
    let _ = ctx;
    if !s.starts(&["create", "table"]) {
        return None;
    }
    let w = &s.words;
    let hit = w.iter().enumerate().any(|(i, x)| {
        matches!(
            x.as_str(),
            "int" | "integer" | "int4" | "serial" | "serial4"
        ) && w[i + 1..]
            .iter()
            .take_while(|y| y.as_str() != ",")
            .any(|y| y == "primary")
    });
    if !hit {
        return None;
    }
    Some(Hit::from(("a 32-bit integer primary key: it runs out at 2,147,483,647 rows, and widening it later rewrites the table".to_string(), "use bigint (GENERATED ALWAYS AS IDENTITY)".to_string())))
}

#[cfg(test)]
mod tests {
    use super::super::test_util::fires;

    #[test]
    fn bad_fires_ok_does_not() {
        assert!(fires(
            "CREATE TABLE t (id int PRIMARY KEY);",
            "prefer-bigint-key"
        ));
        assert!(!fires(
            "CREATE TABLE t (id bigint PRIMARY KEY);",
            "prefer-bigint-key"
        ));
    }
}
