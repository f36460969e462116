//! `estimates-only` (info): the plan has no ANALYZE data, so time and row-accuracy rules were
//! skipped.

use super::{PlanCtx, Rule};
use crate::finding::Finding;
use crate::finding::RuleId;

/// The rule.
pub const RULE: Rule = Rule {
    id: RuleId::EstimatesOnly,
    check,
};

fn check(ctx: &PlanCtx, out: &mut Vec<Finding>) {
    if ctx.plan.analyzed() {
        return;
    }
    out.push(ctx.finding(
        RULE.id,
        RULE.id.severity(),
        None,
        match ctx.plan.root.total_cost {
            Some(c) => format!(
                "the plan has estimates only (total cost {c:.0}); rules that need actual times and rows were skipped"
            ),
            None => "the plan has neither actual figures nor costs (EXPLAIN with COSTS OFF); only its shape was read".to_string(),
        },
        serde_json::json!({ "total_cost": ctx.plan.root.total_cost }),
        Some("run EXPLAIN (ANALYZE, BUFFERS) — `dbkit explain` does it inside a rolled-back transaction".to_string()),
    ));
}

#[cfg(test)]
mod tests {
    use super::super::test_util::{only, run};

    #[test]
    fn fires_without_analyze_and_not_with_it() {
        let f = run(
            r#"[{"Plan": {"Node Type": "Seq Scan", "Relation Name": "t", "Total Cost": 35.5, "Plan Rows": 2550}}]"#,
        );
        assert_eq!(only(&f, "estimates-only").len(), 1);
        assert_eq!(f.len(), 1, "no other rule fires on estimates: {f:?}");
        let f = run(
            r#"[{"Plan": {"Node Type": "Seq Scan", "Relation Name": "t", "Total Cost": 35.5, "Plan Rows": 2550,
            "Actual Total Time": 0.5, "Actual Rows": 2550, "Actual Loops": 1}, "Execution Time": 0.6}]"#,
        );
        assert!(only(&f, "estimates-only").is_empty());
    }
}
