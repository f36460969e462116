//! `set-tablespace`: ALTER TABLE / ALTER INDEX … SET TABLESPACE copies the relation's files under ACCESS EXCLUSIVE.

use super::{Ctx, Hit, Rule, Stmt};
use crate::finding::RuleId;

/// The rule.
pub const RULE: Rule = Rule {
    id: RuleId::SetTablespace,
    check,
};

fn check(s: &Stmt, ctx: &Ctx) -> Option<Hit> {
    if !(s.starts(&["alter", "table"])
        || s.starts(&["alter", "index"])
        || s.starts(&["alter", "materialized"]))
        || !s.has(&["set", "tablespace"])
    {
        return None;
    }
    if let Some(t) = s.altered_table() {
        if !ctx.existing(&t) {
            return None;
        }
    }
    let what = s.words.get(1).cloned().unwrap_or_default();
    Some(Hit::from((
        format!("SET TABLESPACE copies the whole {what} to the new tablespace while holding ACCESS EXCLUSIVE: every query on it waits"),
        "move it in a maintenance window, or use an online tool (pg_repack --tablespace)".to_string(),
    )))
}

#[cfg(test)]
mod tests {
    use super::super::test_util::fires;

    #[test]
    fn bad_fires_ok_does_not() {
        let r = "set-tablespace";
        assert!(fires("ALTER TABLE t SET TABLESPACE fast;", r));
        assert!(fires("ALTER INDEX t_pkey SET TABLESPACE fast;", r));
        assert!(!fires("CREATE TABLE t (a int) TABLESPACE fast;", r));
    }
}
