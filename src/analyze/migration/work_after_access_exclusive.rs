//! `work-after-access-exclusive`: more statements in the same transaction after one that took ACCESS EXCLUSIVE: the lock is held until COMMIT.

use super::{Ctx, Hit, Rule, Stmt};
use crate::finding::RuleId;

/// The rule.
pub const RULE: Rule = Rule {
    id: RuleId::WorkAfterAccessExclusive,
    check,
};

fn check(s: &Stmt, ctx: &Ctx) -> Option<Hit> {
    let held = ctx.after_access_exclusive.as_ref()?;
    if !s.in_transaction {
        return None;
    }
    Some((
        format!("this runs while the transaction still holds ACCESS EXCLUSIVE on {held}: everything on {held} waits for it too"),
        "take the ACCESS EXCLUSIVE step last in its transaction, or give it its own migration".to_string(),
    ))
}

#[cfg(test)]
mod tests {
    use super::super::test_util::fires;

    #[test]
    fn bad_fires_ok_does_not() {
        assert!(fires(
            "ALTER TABLE t ADD COLUMN c int;\nUPDATE u SET a = 1;",
            "work-after-access-exclusive"
        ));
        assert!(!fires(
            "ALTER TABLE t ADD COLUMN c int;",
            "work-after-access-exclusive"
        ));
    }
}
