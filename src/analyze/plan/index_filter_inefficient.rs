//! `index-filter-inefficient`: an index scan that fetches many rows only to throw most of them
//! away with a filter the index does not cover.

use super::{fmt_n, PlanCtx, Rule};
use crate::finding::Finding;
use crate::finding::RuleId;

/// The rule.
pub const RULE: Rule = Rule {
    id: RuleId::IndexFilterInefficient,
    check,
};

fn check(ctx: &PlanCtx, out: &mut Vec<Finding>) {
    for (i, n) in ctx.nodes.iter().enumerate() {
        if !matches!(
            n.node_type.as_str(),
            "Index Scan" | "Index Only Scan" | "Bitmap Heap Scan"
        ) {
            continue;
        }
        let (Some(filter), Some(rows)) = (n.filter.as_deref(), n.actual_rows) else {
            continue;
        };
        let removed = n.rows_removed_by_filter.unwrap_or(0.0) * n.loops();
        let fetched = removed + rows * n.loops();
        if removed < ctx.t.index_filter_min_removed_rows || fetched == 0.0 {
            continue;
        }
        let share = removed / fetched;
        if share < ctx.t.index_filter_min_removed {
            continue;
        }
        let keys = ctx.index_keys(i, filter);
        let cols = super::key_names(&keys);
        out.push(ctx.finding(
            RULE.id,
            RULE.id.severity(),
            Some(i),
            format!(
                "{} fetched {} rows and its filter {filter} removed {:.1}% of them",
                n.label(),
                fmt_n(fetched),
                share * 100.0
            ),
            serde_json::json!({ "rows_fetched": fetched, "rows_removed": removed, "removed_share": share, "columns": cols }),
            Some(if cols.is_empty() {
                "extend the index (or add one) so that it also covers the filter".to_string()
            } else {
                format!("an index whose columns also cover {} (after the equality columns of the index condition)", cols.join(", "))
            }),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_util::{only, run};

    fn plan(rows: u32, removed: u32) -> String {
        format!(
            r#"[{{"Plan": {{"Node Type": "Index Scan", "Index Name": "orders_user", "Relation Name": "orders",
            "Index Cond": "(user_id = 42)", "Filter": "(status = 'pending'::text)", "Rows Removed by Filter": {removed},
            "Actual Total Time": 5.0, "Actual Rows": {rows}, "Actual Loops": 1, "Plan Rows": 10}}, "Execution Time": 5.0}}]"#
        )
    }

    #[test]
    fn fires_when_the_filter_discards_most_fetched_rows() {
        let f = run(&plan(10, 9000));
        let x = only(&f, "index-filter-inefficient");
        assert_eq!(x.len(), 1);
        assert!(x[0].suggestion.as_deref().unwrap().contains("status"));
        assert!(only(&run(&plan(10, 90)), "index-filter-inefficient").is_empty());
        assert!(only(&run(&plan(9000, 1000)), "index-filter-inefficient").is_empty());
    }
}
