//! `workers-not-launched`: a parallel plan got fewer workers than it planned for.

use super::{PlanCtx, Rule};
use crate::finding::Finding;
use crate::finding::RuleId;

/// The rule.
pub const RULE: Rule = Rule {
    id: RuleId::WorkersNotLaunched,
    check,
};

fn check(ctx: &PlanCtx, out: &mut Vec<Finding>) {
    for (i, n) in ctx.nodes.iter().enumerate() {
        let (Some(planned), Some(launched)) = (n.workers_planned, n.workers_launched) else {
            continue;
        };
        if launched >= planned {
            continue;
        }
        out.push(ctx.finding(
            RULE.id,
            RULE.id.severity(),
            Some(i),
            format!("{} planned {planned:.0} parallel workers and launched {launched:.0}", n.label()),
            serde_json::json!({ "workers_planned": planned, "workers_launched": launched }),
            Some("raise max_parallel_workers / max_worker_processes, or run fewer parallel queries at once".to_string()),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_util::{only, run};

    #[test]
    fn fires_when_short_of_workers() {
        let p = |l: u32| {
            format!(
                r#"[{{"Plan": {{"Node Type": "Gather", "Workers Planned": 2, "Workers Launched": {l},
            "Actual Total Time": 5.0, "Actual Rows": 1, "Actual Loops": 1, "Plan Rows": 1}}, "Execution Time": 5.0}}]"#
            )
        };
        assert_eq!(
            only(&run(&p(0)), "workers-not-launched")[0].message,
            "Gather planned 2 parallel workers and launched 0"
        );
        assert!(only(&run(&p(2)), "workers-not-launched").is_empty());
    }
}
