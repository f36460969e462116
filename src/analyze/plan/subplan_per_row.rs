//! `subplan-per-row`: a correlated subquery (a SubPlan) ran once per row of the query around it
//! and took a large share of the time — the N+1 pattern inside one statement, as
//! `nested-loop-many-loops` is for joins.

use super::{fmt_ms, fmt_n, PlanCtx, Rule};
use crate::finding::Finding;
use crate::finding::RuleId;

/// The rule.
pub const RULE: Rule = Rule {
    id: RuleId::SubplanPerRow,
    check,
};

fn check(ctx: &PlanCtx, out: &mut Vec<Finding>) {
    for (i, n) in ctx.nodes.iter().enumerate() {
        // A hashed SubPlan runs once and probes its hash table; InitPlans run once.
        if n.parent_relationship.as_deref() != Some("SubPlan")
            || n.subplan_name
                .as_deref()
                .is_some_and(|s| s.starts_with("hashed "))
        {
            continue;
        }
        let Some((loops, ms, share)) = ctx.costly_repeats(n) else {
            continue;
        };
        let name = n.subplan_name.as_deref().unwrap_or("SubPlan");
        out.push(ctx.finding(
            RULE.id,
            RULE.id.severity(),
            Some(i),
            format!(
                "{name} ran {} times, once per outer row ({} in all, {:.0}% of the query): {}",
                fmt_n(loops),
                fmt_ms(ms),
                share * 100.0,
                n.label().trim_start_matches(&format!("{name}: "))
            ),
            serde_json::json!({ "loops": loops, "subplan_ms": ms, "share": share, "subplan": name }),
            Some("rewrite the correlated subquery as a JOIN (LEFT JOIN when it may find nothing) or LEFT JOIN LATERAL (… LIMIT 1), so it runs once as a set; at least index its correlated column so each run is a cheap lookup".to_string()),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_util::{only, run};

    fn plan(name: &str, loops: u32, per_loop_ms: f64) -> String {
        format!(
            r#"[{{"Plan": {{"Node Type": "Seq Scan", "Relation Name": "orders", "Alias": "o", "Actual Total Time": 100.0, "Actual Rows": {loops}, "Actual Loops": 1, "Plan Rows": {loops},
            "Plans": [{{"Node Type": "Index Scan", "Parent Relationship": "SubPlan", "Subplan Name": "{name}", "Index Name": "customers_pkey",
              "Relation Name": "customers", "Alias": "c", "Actual Total Time": {per_loop_ms}, "Actual Rows": 1, "Actual Loops": {loops}, "Plan Rows": 1}}]}},
            "Execution Time": 100.0}}]"#
        )
    }

    #[test]
    fn fires_on_a_subplan_run_per_row_that_costs() {
        let f = run(&plan("SubPlan 1", 20000, 0.004));
        let s = only(&f, "subplan-per-row");
        assert_eq!(s.len(), 1, "{f:?}");
        assert_eq!(
            s[0].message,
            "SubPlan 1 ran 20,000 times, once per outer row (80.0 ms in all, 80% of the query): Index Scan using customers_pkey on customers c"
        );
        assert!(s[0].suggestion.as_deref().unwrap().contains("LATERAL"));
    }

    #[test]
    fn quiet_when_cheap_or_hashed() {
        // 2,000 runs of 1 µs: 2 ms in all.
        assert!(only(&run(&plan("SubPlan 1", 2000, 0.001)), "subplan-per-row").is_empty());
        assert!(only(
            &run(&plan("hashed SubPlan 1", 20000, 0.004)),
            "subplan-per-row"
        )
        .is_empty());
    }
}
