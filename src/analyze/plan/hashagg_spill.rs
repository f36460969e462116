//! `hashagg-spill`: a HashAggregate that did not fit in `work_mem × hash_mem_multiplier` and
//! wrote its groups to disk in batches (PostgreSQL 13+), or that the planner planned to.

use super::{fmt_ms, fmt_n, work_mem_advice, PlanCtx, Rule};
use crate::finding::Finding;
use crate::finding::RuleId;

/// The rule.
pub const RULE: Rule = Rule {
    id: RuleId::HashaggSpill,
    check,
};

fn check(ctx: &PlanCtx, out: &mut Vec<Finding>) {
    // The planner's hash_mem_multiplier when the plan lists it (SETTINGS), else the default.
    let multiplier = ctx
        .plan
        .settings
        .iter()
        .find(|(k, _)| k == "hash_mem_multiplier")
        .and_then(|(_, v)| v.parse::<f64>().ok())
        .filter(|m| *m >= 1.0)
        .unwrap_or(2.0);
    for (i, n) in ctx.nodes.iter().enumerate() {
        if n.node_type != "Aggregate" || !matches!(n.strategy.as_deref(), Some("Hashed" | "Mixed"))
        {
            continue;
        }
        let batches = n.hashagg_batches.unwrap_or(0.0);
        let disk = n.disk_usage_kb.unwrap_or(0.0);
        let planned = n.planned_partitions.unwrap_or(0.0);
        let spilled = batches > 1.0 || disk > 0.0;
        // Planned Partitions alone counts only without ANALYZE: with it, Batches tells.
        if !spilled && (planned <= 0.0 || n.analyzed()) {
            continue;
        }
        let mem = n.peak_memory_usage_kb.unwrap_or(0.0);
        // The groups took the memory used plus what went to disk; the hash table needs about half
        // again over the spilled form, and work_mem is multiplied by hash_mem_multiplier.
        let need_kb = (mem + disk * 1.5) / multiplier;
        let advice = work_mem_advice(
            need_kb,
            ctx.t.work_mem_max_mb,
            "aggregate fewer rows (filter earlier, pre-aggregate in a subquery), or raise hash_mem_multiplier",
        );
        let message = if spilled {
            format!(
                "{} spilled to disk: {} batches, {} kB written, peak memory {} kB ({})",
                n.label(),
                fmt_n(batches),
                fmt_n(disk),
                fmt_n(mem),
                fmt_ms(n.inclusive_ms())
            )
        } else {
            format!(
                "{} is planned to spill to disk in {} partitions",
                n.label(),
                fmt_n(planned)
            )
        };
        out.push(ctx.finding(
            RULE.id,
            RULE.id.severity(),
            Some(i),
            message,
            serde_json::json!({ "batches": batches, "disk_kb": disk, "peak_memory_kb": mem,
                "planned_partitions": planned, "hash_mem_multiplier": multiplier, "group_key": n.group_key }),
            Some(if spilled {
                advice
            } else {
                "raise work_mem (or hash_mem_multiplier) for this query, or aggregate fewer rows; EXPLAIN ANALYZE shows how much it spills".to_string()
            }),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_util::{only, run};

    fn plan(batches: u32, disk: u32, extra: &str) -> String {
        format!(
            r#"[{{"Plan": {{"Node Type": "Aggregate", "Strategy": "Hashed", "Partial Mode": "Simple", "Group Key": ["customer_id", "status"],
            "Planned Partitions": 4, "HashAgg Batches": {batches}, "Peak Memory Usage": 137, "Disk Usage": {disk},
            "Actual Total Time": 37.7, "Actual Rows": 3980, "Actual Loops": 1, "Plan Rows": 6000,
            "Plans": [{{"Node Type": "Seq Scan", "Relation Name": "orders", "Actual Total Time": 6.6, "Actual Rows": 60000, "Actual Loops": 1, "Plan Rows": 60000}}]}},
            "Execution Time": 38.5{extra}}}]"#
        )
    }

    #[test]
    fn fires_when_it_spilled_with_the_work_mem_that_fits() {
        let f = run(&plan(9, 1728, ""));
        let h = only(&f, "hashagg-spill");
        assert_eq!(h.len(), 1, "{f:?}");
        assert_eq!(
            h[0].message,
            "HashAggregate spilled to disk: 9 batches, 1,728 kB written, peak memory 137 kB (37.7 ms)"
        );
        // (137 + 1728 × 1.5) / 2 ≈ 1.3 MB → 2MB.
        assert!(
            h[0].suggestion
                .as_deref()
                .unwrap()
                .starts_with("SET LOCAL work_mem = '2MB'"),
            "{:?}",
            h[0].suggestion
        );
        // With hash_mem_multiplier = 8 in the plan's settings, 1MB does.
        let f = run(&plan(
            9,
            1728,
            r#", "Settings": {"hash_mem_multiplier": "8"}"#,
        ));
        assert!(only(&f, "hashagg-spill")[0]
            .suggestion
            .as_deref()
            .unwrap()
            .starts_with("SET LOCAL work_mem = '1MB'"));
    }

    #[test]
    fn quiet_when_it_fit_in_memory() {
        let f = run(&plan(1, 0, ""));
        assert!(only(&f, "hashagg-spill").is_empty(), "{f:?}");
    }

    #[test]
    fn planned_partitions_count_without_analyze() {
        let f = run(
            r#"[{"Plan": {"Node Type": "Aggregate", "Strategy": "Hashed", "Planned Partitions": 4, "Plan Rows": 6000,
            "Plans": [{"Node Type": "Seq Scan", "Relation Name": "orders", "Plan Rows": 60000}]}}]"#,
        );
        let h = only(&f, "hashagg-spill");
        assert_eq!(h.len(), 1, "{f:?}");
        assert_eq!(
            h[0].message,
            "HashAggregate is planned to spill to disk in 4 partitions"
        );
    }
}
