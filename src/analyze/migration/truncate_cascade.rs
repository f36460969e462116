//! `truncate-cascade`: TRUNCATE … CASCADE also empties every table that references it.

use super::{Ctx, Hit, Rule, Stmt};
use crate::finding::RuleId;

/// The rule.
pub const RULE: Rule = Rule {
    id: RuleId::TruncateCascade,
    check,
};

fn check(s: &Stmt, ctx: &Ctx) -> Option<Hit> {
    let _ = ctx;
    if !s.starts(&["truncate"]) || !s.has(&["cascade"]) {
        return None;
    }
    Some(Hit::from((
        "TRUNCATE … CASCADE empties every table with a foreign key to this one, and theirs"
            .to_string(),
        "truncate the tables by name, explicitly".to_string(),
    )))
}

#[cfg(test)]
mod tests {
    use super::super::test_util::fires;

    #[test]
    fn bad_fires_ok_does_not() {
        assert!(fires("TRUNCATE t CASCADE;", "truncate-cascade"));
        assert!(!fires("TRUNCATE t;", "truncate-cascade"));
    }
}
