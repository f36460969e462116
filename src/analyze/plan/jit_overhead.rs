//! `jit-overhead`: JIT compilation took a large share of a query's execution time.

use super::{fmt_ms, PlanCtx, Rule};
use crate::finding::Finding;
use crate::finding::RuleId;

/// The rule.
pub const RULE: Rule = Rule {
    id: RuleId::JitOverhead,
    check,
};

fn check(ctx: &PlanCtx, out: &mut Vec<Finding>) {
    let (Some(jit), Some(exec)) = (ctx.plan.jit, ctx.plan.execution_time_ms) else {
        return;
    };
    if exec <= 0.0 || jit.total_ms / exec < ctx.t.jit_min_share {
        return;
    }
    out.push(ctx.finding(
        RULE.id,
        RULE.id.severity(),
        None,
        format!(
            "JIT took {} of {} execution time ({:.0}%) for {:.0} functions",
            fmt_ms(jit.total_ms),
            fmt_ms(exec),
            jit.total_ms / exec * 100.0,
            jit.functions
        ),
        serde_json::json!({ "jit_ms": jit.total_ms, "execution_ms": exec, "functions": jit.functions }),
        Some("SET jit = off; for this workload, or raise jit_above_cost so cheap queries are not compiled".to_string()),
    ));
}

#[cfg(test)]
mod tests {
    use super::super::test_util::{only, run};

    #[test]
    fn fires_when_jit_dominates() {
        let p = |jit: f64| {
            format!(
                r#"[{{"Plan": {{"Node Type": "Result", "Actual Total Time": 1.0, "Actual Rows": 1, "Actual Loops": 1, "Plan Rows": 1}},
            "Execution Time": 50.0, "JIT": {{"Functions": 8, "Timing": {{"Total": {jit}}}}}}}]"#
            )
        };
        assert_eq!(only(&run(&p(40.0)), "jit-overhead").len(), 1);
        assert!(only(&run(&p(2.0)), "jit-overhead").is_empty());
    }
}
