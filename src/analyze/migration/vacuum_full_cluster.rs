//! `vacuum-full-cluster`: VACUUM FULL and CLUSTER rewrite the table under ACCESS EXCLUSIVE (`VACUUM (FULL FALSE)` is a plain VACUUM).

use super::{Ctx, Hit, Rule, Stmt};
use crate::finding::RuleId;

/// The rule.
pub const RULE: Rule = Rule {
    id: RuleId::VacuumFullCluster,
    check,
};

fn check(s: &Stmt, ctx: &Ctx) -> Option<Hit> {
    let _ = ctx;
    if !(super::locks::is_vacuum_full(s) || s.starts(&["cluster"])) {
        return None;
    }
    Some(Hit::from((
        "VACUUM FULL / CLUSTER rewrite the whole table while every query on it waits".to_string(),
        "plain VACUUM (no lock on reads and writes), or pg_repack for an online rewrite"
            .to_string(),
    )))
}

#[cfg(test)]
mod tests {
    use super::super::test_util::fires;

    #[test]
    fn bad_fires_ok_does_not() {
        let r = "vacuum-full-cluster";
        assert!(fires("VACUUM FULL t;", r));
        assert!(fires("VACUUM (VERBOSE, FULL) t;", r));
        assert!(fires("CLUSTER t USING t_pkey;", r));
        assert!(!fires("VACUUM ANALYZE t;", r));
        assert!(!fires("VACUUM (FULL FALSE, ANALYZE) t;", r));
    }
}
