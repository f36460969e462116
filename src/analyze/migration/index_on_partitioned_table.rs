//! `index-on-partitioned-table`: CREATE INDEX on a partitioned table builds it on every partition under SHARE locks (writes blocked everywhere until the last one is built), and PostgreSQL refuses CONCURRENTLY there. Known from the history, the schema or earlier in the file.

use super::{Ctx, Hit, Rule, Stmt};
use crate::finding::RuleId;

/// The rule.
pub const RULE: Rule = Rule {
    id: RuleId::IndexOnPartitionedTable,
    check,
};

fn check(s: &Stmt, ctx: &Ctx) -> Option<Hit> {
    if !(s.starts(&["create", "index"]) || s.starts(&["create", "unique", "index"])) {
        return None;
    }
    let on = s.find(&["on"])?;
    if s.words.get(on + 1).is_some_and(|w| w == "only") {
        return None;
    }
    let t = s.name_after(&["on"])?;
    if !ctx.schema.table(&t).is_some_and(|x| x.partitioned) {
        return None;
    }
    let concurrently = s.has(&["concurrently"]);
    if !concurrently && !ctx.existing(&t) {
        return None;
    }
    let what = if concurrently {
        format!("CREATE INDEX CONCURRENTLY on the partitioned table {t} fails: PostgreSQL cannot build an index on a partitioned table concurrently")
    } else {
        format!("CREATE INDEX on the partitioned table {t} builds it on every partition while holding SHARE locks: writes to all of them wait until the last build ends")
    };
    Some(Hit::from((
        what,
        format!("CREATE INDEX <name> ON ONLY {t} (…); (instant, invalid until complete) then for each partition CREATE INDEX CONCURRENTLY <part_name> ON <partition> (…); and ALTER INDEX <name> ATTACH PARTITION <part_name>;"),
    )))
}

#[cfg(test)]
mod tests {
    use super::super::test_util::{fires, fires_after};

    const R: &str = "index-on-partitioned-table";

    #[test]
    fn bad_fires_ok_does_not() {
        let h = "CREATE TABLE ev (id bigint, at timestamptz) PARTITION BY RANGE (at);\nCREATE TABLE ev_2024 PARTITION OF ev FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');";
        assert!(fires_after(
            h,
            "CREATE INDEX CONCURRENTLY ev_at ON ev (at);",
            R
        ));
        assert!(fires_after(h, "CREATE INDEX ev_at ON ev (at);", R));
        assert!(!fires_after(h, "CREATE INDEX ev_at ON ONLY ev (at);", R));
        assert!(!fires_after(
            h,
            "CREATE INDEX CONCURRENTLY ev_2024_at ON ev_2024 (at);",
            R
        ));
        assert!(!fires("CREATE INDEX CONCURRENTLY ev_at ON ev (at);", R));
        assert!(!fires_after(
            h,
            "CREATE INDEX ev_at ON ev (at);",
            "index-not-concurrent"
        ));
    }
}
