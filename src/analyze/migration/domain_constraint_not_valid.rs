//! `domain-constraint-not-valid`: ALTER DOMAIN … ADD CONSTRAINT without NOT VALID checks every column of that domain in every table, holding a SHARE lock (writes blocked) on each table while it scans, inside the migration's transaction. (A later VALIDATE CONSTRAINT scans under SHARE too, on PostgreSQL 15: it only moves the scan to a transaction of its own.)

use super::{Ctx, Hit, Rule, Stmt};
use crate::finding::RuleId;

/// The rule.
pub const RULE: Rule = Rule {
    id: RuleId::DomainConstraintNotValid,
    check,
};

fn check(s: &Stmt, ctx: &Ctx) -> Option<Hit> {
    let _ = ctx;
    if !s.starts(&["alter", "domain"]) || !s.has(&["add"]) || s.has(&["not", "valid"]) {
        return None;
    }
    let d = s.name_after(&["domain"]).unwrap_or_default();
    Some(Hit::from((
        format!("ALTER DOMAIN {d} ADD CONSTRAINT checks every column of type {d} in every table, holding a SHARE lock on each table (its writes wait) for the scan"),
        format!("{} NOT VALID; (new values are checked at once) then ALTER DOMAIN {d} VALIDATE CONSTRAINT <name>; alone, in a quiet hour: its scan still blocks writes (SHARE) but holds nothing else", s.text.trim_end_matches(';')),
    )))
}

#[cfg(test)]
mod tests {
    use super::super::test_util::fires;

    #[test]
    fn bad_fires_ok_does_not() {
        let r = "domain-constraint-not-valid";
        assert!(fires(
            "ALTER DOMAIN positive ADD CONSTRAINT below_max CHECK (VALUE < 1000);",
            r
        ));
        assert!(!fires(
            "ALTER DOMAIN positive ADD CONSTRAINT below_max CHECK (VALUE < 1000) NOT VALID;",
            r
        ));
        assert!(!fires(
            "ALTER DOMAIN positive VALIDATE CONSTRAINT below_max;",
            r
        ));
    }
}
