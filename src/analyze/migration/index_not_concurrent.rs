//! `index-not-concurrent`: CREATE INDEX without CONCURRENTLY on an existing table blocks writes (SHARE lock) for the whole build.

use super::{Ctx, Hit, Rule, Stmt};
use crate::finding::RuleId;

/// The rule.
pub const RULE: Rule = Rule {
    id: RuleId::IndexNotConcurrent,
    check,
};

fn check(s: &Stmt, ctx: &Ctx) -> Option<Hit> {
    if !(s.starts(&["create", "index"]) || s.starts(&["create", "unique", "index"]))
        || s.has(&["concurrently"])
    {
        return None;
    }
    let t = s.name_after(&["on"])?;
    // A partitioned table has its own rule (CONCURRENTLY is no fix there).
    if !ctx.existing(&t) || ctx.schema.table(&t).is_some_and(|x| x.partitioned) {
        return None;
    }
    Some(Hit::from((
        format!("CREATE INDEX on {t} takes a SHARE lock: inserts, updates and deletes wait until the index is built"),
        format!("{}; (outside a transaction; a failed build leaves an invalid index to drop)", concurrently(&s.text)),
    )))
}

/// The statement with CONCURRENTLY after its INDEX keyword (the first whole word, any case).
fn concurrently(sql: &str) -> String {
    let mut out = Vec::new();
    let mut done = false;
    for w in sql.split(' ') {
        out.push(w.to_string());
        if !done && w.eq_ignore_ascii_case("index") {
            out.push("CONCURRENTLY".to_string());
            done = true;
        }
    }
    out.join(" ")
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_keyword_not_a_name() {
        assert_eq!(
            super::concurrently("create index my_index on t (a)"),
            "create index CONCURRENTLY my_index on t (a)"
        );
    }

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
