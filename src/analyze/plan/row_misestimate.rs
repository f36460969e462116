//! `row-misestimate`: the planner's row estimate is off by a large factor (per loop), which makes
//! it pick join methods and orders for the wrong sizes.

use super::{fmt_n, relation_sql, PlanCtx, Rule};
use crate::finding::RuleId;
use crate::finding::{Finding, Severity};

/// The rule.
pub const RULE: Rule = Rule {
    id: RuleId::RowMisestimate,
    check,
};

fn check(ctx: &PlanCtx, out: &mut Vec<Finding>) {
    for (i, n) in ctx.nodes.iter().enumerate() {
        // ModifyTable returns no rows without RETURNING (and its input's rows with it): its
        // estimate is not a row count to compare; the nodes below it carry the real one. A
        // WindowAgg with a Run Condition stops once it turns false, and a Result whose One-Time
        // Filter was false returns nothing: fewer rows than planned by design.
        if n.node_type == "ModifyTable"
            || (n.run_condition.is_some() || n.one_time_filter.is_some())
                && n.actual_rows.unwrap_or(0.0) < n.plan_rows.unwrap_or(0.0)
        {
            continue;
        }
        let Some((factor, under)) = n.misestimate() else {
            continue;
        };
        // Below a Limit (or another node that stops early) a node is stopped once enough rows
        // are out: fewer rows than planned is expected there, not a misestimate.
        if !under && ctx.stopped_early[i] {
            continue;
        }
        let (actual, planned) = (n.actual_rows.unwrap_or(0.0), n.plan_rows.unwrap_or(0.0));
        if actual.max(planned) < ctx.t.misestimate_min_rows || factor < ctx.t.misestimate_warning {
            continue;
        }
        let severity = if factor >= ctx.t.misestimate_error {
            Severity::Error
        } else {
            Severity::Warning
        };
        let suggestion = match relation_sql(n) {
            Some(rel) => format!(
                "refresh statistics (ANALYZE {rel};); if the columns are correlated, CREATE STATISTICS ON <columns> FROM {rel}; or raise the columns' statistics target"
            ),
            None => "check the statistics of the tables below this node (ANALYZE; CREATE STATISTICS for correlated columns)".to_string(),
        };
        out.push(ctx.finding(
            RULE.id,
            severity,
            Some(i),
            format!(
                "{} estimated {} rows per loop, got {} ({:.0}x {}-estimate)",
                n.label(),
                fmt_n(planned),
                fmt_n(actual),
                factor,
                if under { "under" } else { "over" }
            ),
            serde_json::json!({ "estimated_rows": planned, "actual_rows": actual, "factor": factor,
                "direction": if under { "under" } else { "over" }, "loops": n.loops() }),
            Some(suggestion),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_util::{only, run};
    use crate::finding::Severity;

    fn plan(est: u64, act: u64) -> String {
        format!(
            r#"[{{"Plan": {{"Node Type": "Seq Scan", "Relation Name": "t", "Plan Rows": {est},
            "Actual Total Time": 3.0, "Actual Rows": {act}, "Actual Loops": 1}}, "Execution Time": 3.1}}]"#
        )
    }

    #[test]
    fn warning_at_10x_error_at_100x() {
        let f = run(&plan(100, 5000));
        let m = only(&f, "row-misestimate");
        assert_eq!(m[0].severity, Severity::Warning);
        assert_eq!(
            m[0].message,
            "Seq Scan on t estimated 100 rows per loop, got 5,000 (50x under-estimate)"
        );
        let f = run(&plan(200_000, 1000));
        assert_eq!(only(&f, "row-misestimate")[0].severity, Severity::Error);
    }

    #[test]
    fn quiet_on_a_modify_table_without_returning() {
        let f = run(
            r#"[{"Plan": {"Node Type": "ModifyTable", "Operation": "Update", "Relation Name": "t", "Plan Rows": 50000,
            "Actual Total Time": 90.0, "Actual Rows": 0, "Actual Loops": 1,
            "Plans": [{"Node Type": "Seq Scan", "Relation Name": "t", "Plan Rows": 50000, "Actual Total Time": 20.0,
            "Actual Rows": 50000, "Actual Loops": 1}]}, "Execution Time": 90.0}]"#,
        );
        assert!(only(&f, "row-misestimate").is_empty(), "{f:?}");
    }

    #[test]
    fn quiet_below_a_limit_that_stopped_early() {
        let f = run(
            r#"[{"Plan": {"Node Type": "Limit", "Plan Rows": 10, "Actual Total Time": 1.0, "Actual Rows": 10, "Actual Loops": 1,
            "Plans": [{"Node Type": "Sort", "Plan Rows": 2796, "Actual Total Time": 1.0, "Actual Rows": 10, "Actual Loops": 1}]},
            "Execution Time": 1.0}]"#,
        );
        assert!(only(&f, "row-misestimate").is_empty(), "{f:?}");
    }

    #[test]
    fn quiet_when_close_or_tiny() {
        assert!(only(&run(&plan(1000, 3000)), "row-misestimate").is_empty());
        assert!(only(&run(&plan(1, 50)), "row-misestimate").is_empty());
    }
}
