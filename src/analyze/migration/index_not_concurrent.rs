//! `index-not-concurrent`: CREATE INDEX without CONCURRENTLY on an existing table blocks writes (SHARE lock) for the whole build.

use super::{Ctx, Hit, Rule, Stmt};
use crate::finding::Severity;

/// The rule.
pub const RULE: Rule = Rule {
    id: "index-not-concurrent",
    severity: Severity::Error,
    description: "CREATE INDEX without CONCURRENTLY on an existing table blocks writes (SHARE lock) for the whole build",
    check,
};

fn check(s: &Stmt, ctx: &Ctx) -> Option<Hit> {
    if !(s.starts(&["create", "index"]) || s.starts(&["create", "unique", "index"]))
        || s.has(&["concurrently"])
    {
        return None;
    }
    let t = s.name_after(&["on"])?;
    if !ctx.existing(&t) {
        return None;
    }
    Some((
        format!("CREATE INDEX on {t} takes a SHARE lock: inserts, updates and deletes wait until the index is built"),
        format!("{}; (outside a transaction; a failed build leaves an invalid index to drop)", s.text.replacen("INDEX", "INDEX CONCURRENTLY", 1).replacen("index", "index concurrently", 1)),
    ))
}

#[cfg(test)]
mod tests {
    use super::super::test_util::fires;

    #[test]
    fn bad_fires_ok_does_not() {
        assert!(fires("CREATE INDEX i ON t (a);", "index-not-concurrent"));
        assert!(!fires(
            "CREATE INDEX CONCURRENTLY i ON t (a);",
            "index-not-concurrent"
        ));
    }
}
