//! `set-logged-unlogged`: ALTER TABLE … SET LOGGED / SET UNLOGGED rewrites the table (and writes all of it to WAL for LOGGED) under ACCESS EXCLUSIVE.

use super::{Ctx, Hit, Rule, Stmt};
use crate::finding::RuleId;

/// The rule.
pub const RULE: Rule = Rule {
    id: RuleId::SetLoggedUnlogged,
    check,
};

fn check(s: &Stmt, ctx: &Ctx) -> Option<Hit> {
    let t = s.altered_table()?;
    if !ctx.existing(&t) {
        return None;
    }
    let c = super::locks::subcommands(s)
        .into_iter()
        .find(|c| c.len() == 2 && c[0] == "set" && (c[1] == "logged" || c[1] == "unlogged"))?;
    Some(Hit::from((
        format!("SET {} rewrites {t} under an ACCESS EXCLUSIVE lock{}", c[1].to_uppercase(), if c[1] == "logged" { ", writing the whole table to WAL (and to every replica)" } else { "; an unlogged table is emptied after a crash and is not replicated" }),
        "do it in a maintenance window, or create a new table with the wanted persistence and copy in batches".to_string(),
    )))
}

#[cfg(test)]
mod tests {
    use super::super::test_util::fires;

    #[test]
    fn bad_fires_ok_does_not() {
        let r = "set-logged-unlogged";
        assert!(fires("ALTER TABLE t SET LOGGED;", r));
        assert!(fires("ALTER TABLE t SET UNLOGGED;", r));
        assert!(!fires(
            "CREATE UNLOGGED TABLE t (a int);\nALTER TABLE t SET LOGGED;",
            r
        ));
        assert!(!fires("ALTER TABLE t SET (fillfactor = 70);", r));
    }
}
