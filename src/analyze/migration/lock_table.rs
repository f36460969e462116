//! `lock-table`: an explicit LOCK TABLE in a migration holds its lock until the transaction ends; without lock_timeout it also queues behind long transactions and blocks everyone behind it.

use super::{Ctx, Hit, Rule, Stmt};
use crate::finding::RuleId;

/// The rule.
pub const RULE: Rule = Rule {
    id: RuleId::LockTable,
    check,
};

fn check(s: &Stmt, ctx: &Ctx) -> Option<Hit> {
    if !s.starts(&["lock"]) {
        return None;
    }
    let l = super::locks::locks(s, ctx.pg_version);
    let what = super::locks::describe(&l).unwrap_or_else(|| "a lock".to_string());
    let timeout = if ctx.lock_timeout_set || s.has(&["nowait"]) {
        ""
    } else {
        ", and with no lock_timeout (or NOWAIT) it waits behind every running transaction while all later queries queue behind it"
    };
    Some(Hit::from((
        format!("LOCK takes {what} until the transaction ends{timeout}"),
        "let each statement take the lock it needs; if the lock is really needed, SET lock_timeout first (or LOCK … NOWAIT) and keep the transaction short".to_string(),
    )))
}

#[cfg(test)]
mod tests {
    use super::super::test_util::{findings, fires};

    #[test]
    fn bad_fires_ok_does_not() {
        assert!(fires(
            "LOCK TABLE t IN ACCESS EXCLUSIVE MODE;",
            "lock-table"
        ));
        let f = findings(
            "SET lock_timeout = '1s';\nLOCK t IN SHARE MODE;",
            &Default::default(),
        );
        let m = &f
            .iter()
            .find(|f| f.rule.as_str() == "lock-table")
            .unwrap()
            .message;
        assert!(
            m.contains("SHARE on t") && !m.contains("no lock_timeout"),
            "{m}"
        );
        assert!(!fires("SELECT * FROM locks;", "lock-table"));
    }
}
