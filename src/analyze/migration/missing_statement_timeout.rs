//! `missing-statement-timeout` (off by default: `[rules] enabled`): lock_timeout is set but statement_timeout is not, so a statement that got its lock can still hold it for as long as it runs.

use super::{Ctx, Hit, Rule, Stmt};
use crate::finding::RuleId;

/// The rule.
pub const RULE: Rule = Rule {
    id: RuleId::MissingStatementTimeout,
    check,
};

fn check(s: &Stmt, ctx: &Ctx) -> Option<Hit> {
    if !ctx.lock_timeout_set || ctx.statement_timeout_set {
        return None;
    }
    let _ = s;
    let l = ctx.strongest_write_lock()?;
    Some(Hit::from((
        format!("{l} with lock_timeout set but no statement_timeout: once the lock is granted, nothing bounds how long it is held"),
        "SET statement_timeout = '…'; (the longest this step may take) next to SET lock_timeout".to_string(),
    )))
}

#[cfg(test)]
mod tests {
    use super::super::test_util::findings;
    use super::super::Options;

    #[test]
    fn bad_fires_ok_does_not() {
        let o = Options::default();
        let f = |sql: &str| {
            findings(sql, &o)
                .iter()
                .any(|f| f.rule.as_str() == "missing-statement-timeout")
        };
        assert!(f(
            "SET lock_timeout = '2s';\nALTER TABLE t ADD COLUMN c int;"
        ));
        assert!(!f("SET lock_timeout = '2s';\nSET statement_timeout = '10s';\nALTER TABLE t ADD COLUMN c int;"));
        assert!(!f("ALTER TABLE t ADD COLUMN c int;"));
    }
}
