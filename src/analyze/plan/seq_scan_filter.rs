//! `seq-scan-filter`: a Seq Scan over a large relation whose filter removes most of the rows it
//! reads — the classic missing index.

use super::{fmt_n, index_ddl, keys_text, PlanCtx, Rule};
use crate::finding::Finding;
use crate::finding::RuleId;

/// The rule.
pub const RULE: Rule = Rule {
    id: RuleId::SeqScanFilter,
    check,
};

fn check(ctx: &PlanCtx, out: &mut Vec<Finding>) {
    for (i, n) in ctx.nodes.iter().enumerate() {
        if n.node_type != "Seq Scan" || n.actual_rows.is_none() {
            continue;
        }
        let Some(filter) = n.filter.as_deref() else {
            continue;
        };
        let read = n.rows_read();
        let removed = n.rows_removed_by_filter.unwrap_or(0.0) * n.loops();
        if read < ctx.t.seq_scan_min_rows || read == 0.0 {
            continue;
        }
        let share = removed / read;
        if share < ctx.t.seq_scan_min_removed {
            continue;
        }
        let keys = ctx.index_keys(i, filter);
        let cols = keys_text(&keys);
        let columns = super::key_names(&keys);
        let ddl = index_ddl(n, &keys);
        let suggestion = match (&ddl, keys.is_empty()) {
            (Some(d), _) => format!("an index on {cols}: {d}"),
            (None, false) => format!("an index on {cols}"),
            (None, true) => "an index matching the filter condition".to_string(),
        };
        out.push(ctx.finding(
            RULE.id,
            RULE.id.severity(),
            Some(i),
            format!(
                "{} read {} rows and removed {:.1}% by filter {filter}",
                n.label(),
                fmt_n(read),
                share * 100.0
            ),
            serde_json::json!({ "rows_scanned": read, "rows_removed": removed, "removed_share": share,
                "columns": columns, "time_ms": n.inclusive_ms() }),
            Some(suggestion),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_util::{only, run};

    fn plan(rows: u64, removed: u64) -> String {
        format!(
            r#"[{{"Plan": {{"Node Type": "Seq Scan", "Relation Name": "orders", "Schema": "public", "Alias": "o",
            "Plan Rows": 3000, "Actual Total Time": 30.0, "Actual Rows": {rows}, "Actual Loops": 1,
            "Filter": "(status = 'pending'::text)", "Rows Removed by Filter": {removed}}}, "Execution Time": 31.0}}]"#
        )
    }

    #[test]
    fn fires_on_a_selective_filter_over_many_rows() {
        let f = run(&plan(3000, 97000));
        let s = only(&f, "seq-scan-filter");
        assert_eq!(s.len(), 1);
        assert_eq!(
            s[0].message,
            "Seq Scan on public.orders o read 100,000 rows and removed 97.0% by filter (status = 'pending'::text)"
        );
        assert!(s[0]
            .suggestion
            .as_deref()
            .unwrap()
            .ends_with("CREATE INDEX CONCURRENTLY IF NOT EXISTS orders_status_idx ON public.orders USING btree (status);"));
        assert_eq!(s[0].evidence["rows_scanned"], 100000.0);
    }

    #[test]
    fn a_query_that_orders_and_limits_gets_the_sort_key_after_the_equality_columns() {
        let f = run(
            r#"[{"Plan": {"Node Type": "Limit", "Plan Rows": 50, "Actual Total Time": 40.0, "Actual Rows": 50, "Actual Loops": 1,
            "Plans": [{"Node Type": "Sort", "Sort Key": ["o.created_at DESC"], "Plan Rows": 3000, "Actual Total Time": 40.0,
              "Actual Rows": 50, "Actual Loops": 1,
              "Plans": [{"Node Type": "Seq Scan", "Relation Name": "orders", "Schema": "public", "Alias": "o", "Plan Rows": 3000,
                "Actual Total Time": 30.0, "Actual Rows": 3000, "Actual Loops": 1,
                "Filter": "(o.status = 'pending'::text)", "Rows Removed by Filter": 97000}]}]}, "Execution Time": 41.0}]"#,
        );
        let s = only(&f, "seq-scan-filter");
        assert!(
            s[0].suggestion
                .as_deref()
                .unwrap()
                .ends_with("ON public.orders USING btree (status, created_at DESC);"),
            "{:?}",
            s[0].suggestion
        );
        // A range filter comes first in the index: the sort key would not help, so it is left out.
        let f = run(&plan(3000, 97000).replace("(status = 'pending'::text)", "(total > 100)"));
        assert!(only(&f, "seq-scan-filter")[0]
            .suggestion
            .as_deref()
            .unwrap()
            .ends_with("USING btree (total);"));
    }

    #[test]
    fn quiet_on_small_tables_and_unselective_filters() {
        assert!(only(&run(&plan(30, 970)), "seq-scan-filter").is_empty());
        assert!(only(&run(&plan(50000, 50000)), "seq-scan-filter").is_empty());
    }
}
