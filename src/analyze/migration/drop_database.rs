//! `drop-database`: DROP DATABASE in a migration deletes every table of that database for good (and cannot run in a transaction block).

use super::{Ctx, Hit, Rule, Stmt};
use crate::finding::RuleId;

/// The rule.
pub const RULE: Rule = Rule {
    id: RuleId::DropDatabase,
    check,
};

fn check(s: &Stmt, ctx: &Ctx) -> Option<Hit> {
    let _ = ctx;
    if !s.starts(&["drop", "database"]) {
        return None;
    }
    let name = s.name_after(&["database"]).unwrap_or_default();
    Some(Hit::from((
        format!("DROP DATABASE {name} deletes the whole database and every table in it, with no way back but a backup"),
        "drop databases by hand, after a backup, not from a schema migration".to_string(),
    )))
}

#[cfg(test)]
mod tests {
    use super::super::test_util::fires;

    #[test]
    fn bad_fires_ok_does_not() {
        assert!(fires("DROP DATABASE IF EXISTS legacy;", "drop-database"));
        assert!(!fires("DROP TABLE legacy;", "drop-database"));
    }
}
