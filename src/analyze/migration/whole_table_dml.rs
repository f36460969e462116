//! `whole-table-dml`: an UPDATE or DELETE of a whole existing table (no WHERE, or a backfill whose only condition is `col IS NULL`) in a schema migration: every row locked until the statement (or the migration's transaction) ends, the table's size in dead rows, and a long replication lag.

use super::{Ctx, Hit, Rule, Stmt};
use crate::finding::RuleId;

/// The rule.
pub const RULE: Rule = Rule {
    id: RuleId::WholeTableDml,
    check,
};

fn check(s: &Stmt, ctx: &Ctx) -> Option<Hit> {
    let (verb, t) = if s.starts(&["update"]) {
        ("UPDATE", s.name_after(&["update"])?)
    } else if s.starts(&["delete", "from"]) {
        ("DELETE", s.name_after(&["from"])?)
    } else {
        return None;
    };
    if !ctx.existing(&t) {
        return None;
    }
    let how = match s.find(&["where"]) {
        None => "with no WHERE",
        Some(w) => {
            let cond: Vec<&str> = s.words[w + 1..]
                .iter()
                .map(String::as_str)
                .filter(|x| !matches!(*x, "(" | ")" | ";"))
                .take_while(|x| *x != "returning")
                .collect();
            let backfill = matches!(
                cond.as_slice(),
                [_, "is", "null"] | [_, ".", _, "is", "null"]
            );
            if !backfill || s.has(&["current", "of"]) {
                return None;
            }
            "whose only condition is IS NULL (a backfill of every row)"
        }
    };
    let tx = if s.in_transaction {
        " inside the migration's transaction: every row stays locked, and every lock the migration took stays held, until COMMIT"
    } else {
        ": one statement locks every row it changes until it ends"
    };
    Some(Hit::from((
        format!("{verb} of all of {t} {how}{tx}; it also leaves the table's size in dead rows for VACUUM"),
        "backfill outside the schema migration, in batches of a few thousand rows by primary key (UPDATE … WHERE id BETWEEN $1 AND $2), each its own transaction".to_string(),
    )))
}

#[cfg(test)]
mod tests {
    use super::super::test_util::fires;

    #[test]
    fn bad_fires_ok_does_not() {
        let r = "whole-table-dml";
        assert!(fires("UPDATE accounts SET plan = 'free';", r));
        assert!(fires(
            "UPDATE accounts SET plan = 'free' WHERE plan IS NULL;",
            r
        ));
        assert!(fires("DELETE FROM sessions;", r));
        assert!(!fires(
            "UPDATE accounts SET plan = 'free' WHERE id = 42;",
            r
        ));
        assert!(!fires(
            "UPDATE accounts SET plan = 'free' WHERE plan IS NULL AND id < 1000;",
            r
        ));
        assert!(!fires("CREATE TABLE s (a int);\nDELETE FROM s;", r));
    }
}
