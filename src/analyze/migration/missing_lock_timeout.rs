//! `missing-lock-timeout`: a statement that takes a lock blocking writes (SHARE or stronger) on an existing table with no lock_timeout set before it: it queues behind long transactions and blocks everyone behind it.

use super::{Ctx, Hit, Rule, Stmt};
use crate::finding::RuleId;

/// The rule.
pub const RULE: Rule = Rule {
    id: RuleId::MissingLockTimeout,
    check,
};

fn check(s: &Stmt, ctx: &Ctx) -> Option<Hit> {
    if ctx.lock_timeout_set {
        return None;
    }
    let _ = s;
    let l = ctx.strongest_write_lock()?;
    let t = &l.table;
    Some(Hit::from((
        format!("{} lock on {t} with no lock_timeout: while a long transaction keeps it from being granted, {} queues behind it", l.mode, if l.mode.blocks_reads() { "every query" } else { "every write" }),
        "SET lock_timeout = '2s'; before it (and retry the migration when it times out)".to_string(),
    )))
}

#[cfg(test)]
mod tests {
    use super::super::test_util::fires;

    const R: &str = "missing-lock-timeout";

    #[test]
    fn bad_fires_ok_does_not() {
        assert!(fires("ALTER TABLE t ADD COLUMN c int;", R));
        assert!(fires(
            "ALTER TABLE t ADD CONSTRAINT f FOREIGN KEY (u) REFERENCES u (id) NOT VALID;",
            R
        ));
        assert!(!fires(
            "SET lock_timeout = '2s';\nALTER TABLE t ADD COLUMN c int;",
            R
        ));
        assert!(!fires("ALTER TABLE t VALIDATE CONSTRAINT f;", R));
        assert!(!fires(
            "ALTER TABLE t ALTER COLUMN c SET STATISTICS 500;",
            R
        ));
        assert!(!fires(
            "SELECT set_config('lock_timeout', '2s', false);\nALTER TABLE t ADD COLUMN c int;",
            R
        ));
    }

    #[test]
    fn zero_default_and_reset_leave_no_timeout() {
        // 0 disables the timeout (pg_dump files start with it); RESET and DEFAULT undo it.
        for sql in [
            "SET lock_timeout = 0;\nALTER TABLE t ADD COLUMN c int;",
            "SET lock_timeout = '0s';\nALTER TABLE t ADD COLUMN c int;",
            "SET lock_timeout = '2s';\nRESET lock_timeout;\nALTER TABLE t ADD COLUMN c int;",
            "SET lock_timeout = '2s';\nRESET ALL;\nALTER TABLE t ADD COLUMN c int;",
            "SET lock_timeout TO DEFAULT;\nALTER TABLE t ADD COLUMN c int;",
        ] {
            assert!(fires(sql, R), "{sql}");
        }
        assert!(!fires(
            "SET lock_timeout TO 1500;\nALTER TABLE t ADD COLUMN c int;",
            R
        ));
        assert!(!fires(
            "SET SESSION lock_timeout = '1min';\nALTER TABLE t ADD COLUMN c int;",
            R
        ));
    }
}
