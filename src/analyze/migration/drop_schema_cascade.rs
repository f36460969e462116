//! `drop-schema-cascade`: DROP SCHEMA … CASCADE drops every table, view and function in the schema, and every object elsewhere that depends on them.

use super::{Ctx, Hit, Rule, Stmt};
use crate::finding::RuleId;

/// The rule.
pub const RULE: Rule = Rule {
    id: RuleId::DropSchemaCascade,
    check,
};

fn check(s: &Stmt, ctx: &Ctx) -> Option<Hit> {
    let _ = ctx;
    if !s.starts(&["drop", "schema"]) || !s.has(&["cascade"]) {
        return None;
    }
    let name = s.name_after(&["schema"]).unwrap_or_default();
    Some(Hit::from((
        format!("DROP SCHEMA {name} CASCADE drops every object in it and everything elsewhere that depends on them (views, foreign keys, functions), silently"),
        "drop the objects you mean by name, then DROP SCHEMA without CASCADE (it fails if anything is left)".to_string(),
    )))
}

#[cfg(test)]
mod tests {
    use super::super::test_util::fires;

    #[test]
    fn bad_fires_ok_does_not() {
        assert!(fires("DROP SCHEMA staging CASCADE;", "drop-schema-cascade"));
        assert!(!fires("DROP SCHEMA staging;", "drop-schema-cascade"));
    }
}
