//! `missing-lock-timeout`: a statement that takes ACCESS EXCLUSIVE or SHARE on an existing table with no lock_timeout set before it: it queues behind long transactions and blocks everyone behind it.

use super::{Ctx, Hit, Rule, Stmt};
use crate::finding::RuleId;

/// The rule.
pub const RULE: Rule = Rule {
    id: RuleId::MissingLockTimeout,
    check,
};

fn check(s: &Stmt, ctx: &Ctx) -> Option<Hit> {
    let (lock, t) = crate::analyze::migration::heavy_lock(s)?;
    if ctx.lock_timeout_set || !ctx.existing(&t) {
        return None;
    }
    Some((
        format!("{lock} lock on {t} with no lock_timeout: if a long transaction holds {t}, this waits, and every query on {t} queues behind it"),
        "SET lock_timeout = '2s'; before it (and retry the migration when it times out)".to_string(),
    ))
}

#[cfg(test)]
mod tests {
    use super::super::test_util::fires;

    #[test]
    fn bad_fires_ok_does_not() {
        assert!(fires(
            "ALTER TABLE t ADD COLUMN c int;",
            "missing-lock-timeout"
        ));
        assert!(!fires(
            "SET lock_timeout = '2s';\nALTER TABLE t ADD COLUMN c int;",
            "missing-lock-timeout"
        ));
    }
}
