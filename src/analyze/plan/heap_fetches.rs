//! `heap-fetches`: an index-only scan that still visits the heap for many rows because the
//! visibility map is stale.

use super::{fmt_n, relation_sql, PlanCtx, Rule};
use crate::finding::Finding;
use crate::finding::RuleId;

/// The rule.
pub const RULE: Rule = Rule {
    id: RuleId::HeapFetches,
    check,
};

fn check(ctx: &PlanCtx, out: &mut Vec<Finding>) {
    for (i, n) in ctx.nodes.iter().enumerate() {
        if n.node_type != "Index Only Scan" {
            continue;
        }
        // PostgreSQL prints Heap Fetches as the total over all loops (not per loop, unlike the
        // rows removed by a filter).
        let fetches = n.heap_fetches.unwrap_or(0.0);
        if fetches < ctx.t.heap_fetches_min {
            continue;
        }
        let rows = n.total_rows();
        let rel = relation_sql(n).unwrap_or_else(|| "the table".to_string());
        out.push(ctx.finding(
            RULE.id,
            RULE.id.severity(),
            Some(i),
            format!(
                "{} made {} heap fetches for {} rows: the visibility map is not up to date",
                n.label(),
                fmt_n(fetches),
                fmt_n(rows)
            ),
            serde_json::json!({ "heap_fetches": fetches, "rows": rows }),
            Some(format!("VACUUM {rel}; and check that autovacuum keeps up with it (autovacuum_vacuum_scale_factor)")),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_util::{only, run};

    fn plan(fetches: u32) -> String {
        format!(
            r#"[{{"Plan": {{"Node Type": "Index Only Scan", "Index Name": "i", "Relation Name": "t", "Heap Fetches": {fetches},
            "Actual Total Time": 5.0, "Actual Rows": 10000, "Actual Loops": 1, "Plan Rows": 10000}}, "Execution Time": 5.0}}]"#
        )
    }

    #[test]
    fn fires_on_many_heap_fetches() {
        let f = run(&plan(9000));
        assert_eq!(
            only(&f, "heap-fetches")[0]
                .suggestion
                .as_deref()
                .unwrap()
                .split(';')
                .next(),
            Some("VACUUM t")
        );
        assert!(only(&run(&plan(0)), "heap-fetches").is_empty());
    }

    #[test]
    fn heap_fetches_are_a_total_not_per_loop() {
        // 20,000 fetches over 20,000 loops is 20,000 fetches, not 400,000,000.
        let p = r#"[{"Plan": {"Node Type": "Index Only Scan", "Index Name": "i", "Relation Name": "t", "Heap Fetches": 20000,
            "Actual Total Time": 0.01, "Actual Rows": 1, "Actual Loops": 20000, "Plan Rows": 1}, "Execution Time": 300.0}]"#;
        let f = run(p);
        let hf = only(&f, "heap-fetches");
        assert_eq!(hf.len(), 1);
        assert_eq!(hf[0].evidence["heap_fetches"], 20000.0);
        assert!(
            hf[0].message.contains("20,000 heap fetches"),
            "{}",
            hf[0].message
        );
    }
}
