//! `nested-loop-many-loops`: the inner side of a nested loop ran many times and took a large
//! share of the time — the N+1 pattern inside one plan.

use super::{fmt_ms, fmt_n, PlanCtx, Rule};
use crate::finding::Finding;
use crate::finding::RuleId;

/// The rule.
pub const RULE: Rule = Rule {
    id: RuleId::NestedLoopManyLoops,
    check,
};

fn check(ctx: &PlanCtx, out: &mut Vec<Finding>) {
    for (i, n) in ctx.nodes.iter().enumerate() {
        if n.node_type != "Nested Loop" || n.children.len() < 2 {
            continue;
        }
        let inner = &n.children[1];
        let Some((loops, inner_ms, share)) = ctx.costly_repeats(inner) else {
            continue;
        };
        let inner_idx = ctx.nodes.iter().position(|x| std::ptr::eq(*x, inner));
        out.push(ctx.finding(
            RULE.id,
            RULE.id.severity(),
            Some(i),
            format!(
                "{} ran its inner {} {} times ({} in all, {:.0}% of the query)",
                n.label(),
                inner.label(),
                fmt_n(loops),
                fmt_ms(inner_ms),
                share * 100.0
            ),
            serde_json::json!({ "loops": loops, "inner_ms": inner_ms, "inner_node": inner_idx, "share": share }),
            Some("let the planner hash or merge the two sides (check the outer side's row estimate; an index on the inner join key makes each loop cheap), or fetch the inner rows in one batch".to_string()),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_util::{only, run};

    fn plan(loops: u32, inner_ms: f64) -> String {
        format!(
            r#"[{{"Plan": {{"Node Type": "Nested Loop", "Join Type": "Inner", "Actual Total Time": 100.0, "Actual Rows": 5000, "Actual Loops": 1, "Plan Rows": 10,
            "Plans": [
              {{"Node Type": "Seq Scan", "Relation Name": "a", "Actual Total Time": 5.0, "Actual Rows": {loops}, "Actual Loops": 1, "Plan Rows": 10}},
              {{"Node Type": "Index Scan", "Index Name": "b_pkey", "Relation Name": "b", "Actual Total Time": {inner_ms}, "Actual Rows": 1, "Actual Loops": {loops}, "Plan Rows": 1}}
            ]}}, "Execution Time": 100.0}}]"#
        )
    }

    #[test]
    fn fires_on_many_costly_loops() {
        let f = run(&plan(5000, 0.018));
        let n = only(&f, "nested-loop-many-loops");
        assert_eq!(n.len(), 1);
        assert_eq!(n[0].message, "Nested Loop ran its inner Index Scan using b_pkey on b 5,000 times (90.0 ms in all, 90% of the query)");
        assert!(only(&run(&plan(500, 0.18)), "nested-loop-many-loops").is_empty());
        assert!(only(&run(&plan(5000, 0.0001)), "nested-loop-many-loops").is_empty());
    }

    #[test]
    fn quiet_on_a_fast_query_with_cheap_probes() {
        // 3,000 index probes of 0.8 µs: 80% of a 3 ms query, but 2.4 ms in all.
        let p = r#"[{"Plan": {"Node Type": "Nested Loop", "Join Type": "Inner", "Actual Total Time": 3.0, "Actual Rows": 3000, "Actual Loops": 1, "Plan Rows": 10,
            "Plans": [
              {"Node Type": "Seq Scan", "Relation Name": "a", "Actual Total Time": 0.5, "Actual Rows": 3000, "Actual Loops": 1, "Plan Rows": 10},
              {"Node Type": "Index Scan", "Index Name": "b_pkey", "Relation Name": "b", "Actual Total Time": 0.0008, "Actual Rows": 1, "Actual Loops": 3000, "Plan Rows": 1}
            ]}, "Execution Time": 3.0}]"#;
        assert!(only(&run(p), "nested-loop-many-loops").is_empty());
    }
}
