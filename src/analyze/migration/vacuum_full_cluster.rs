//! `vacuum-full-cluster`: VACUUM FULL and CLUSTER rewrite the table under ACCESS EXCLUSIVE.

use super::{Ctx, Hit, Rule, Stmt};
use crate::finding::RuleId;

/// The rule.
pub const RULE: Rule = Rule {
    id: RuleId::VacuumFullCluster,
    check,
};

fn check(s: &Stmt, ctx: &Ctx) -> Option<Hit> {
    let _ = ctx;
    if !(s.starts(&["vacuum", "full"])
        || s.starts(&["cluster"])
        || (s.starts(&["vacuum"]) && s.has(&["full"])))
    {
        return None;
    }
    Some((
        "VACUUM FULL / CLUSTER rewrite the whole table while every query on it waits".to_string(),
        "plain VACUUM (no lock on reads and writes), or pg_repack for an online rewrite"
            .to_string(),
    ))
}

#[cfg(test)]
mod tests {
    use super::super::test_util::fires;

    #[test]
    fn bad_fires_ok_does_not() {
        assert!(fires("VACUUM FULL t;", "vacuum-full-cluster"));
        assert!(!fires("VACUUM ANALYZE t;", "vacuum-full-cluster"));
    }
}
