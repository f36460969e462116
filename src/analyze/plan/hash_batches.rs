//! `hash-batches`: a hash table that did not fit in memory (more than one batch), or grew to more
//! batches than planned.

use super::{work_mem_advice, PlanCtx, Rule};
use crate::finding::Finding;
use crate::finding::RuleId;

/// The rule.
pub const RULE: Rule = Rule {
    id: RuleId::HashBatches,
    check,
};

fn check(ctx: &PlanCtx, out: &mut Vec<Finding>) {
    for (i, n) in ctx.nodes.iter().enumerate() {
        if n.node_type != "Hash" {
            continue;
        }
        let Some(batches) = n.hash_batches else {
            continue;
        };
        let planned = n.original_hash_batches.unwrap_or(batches);
        if batches <= 1.0 && batches <= planned {
            continue;
        }
        let grew = batches > planned;
        let mem = n.peak_memory_usage_kb.unwrap_or(0.0);
        let shrink = if grew {
            "fix the row estimate of the hashed side (ANALYZE, CREATE STATISTICS) and hash fewer or narrower rows"
        } else {
            "hash fewer or narrower rows (filter earlier, select fewer columns), or raise hash_mem_multiplier"
        };
        let advice = work_mem_advice(mem * batches * 1.5, ctx.t.work_mem_max_mb, shrink);
        out.push(ctx.finding(
            RULE.id,
            RULE.id.severity(),
            Some(i),
            if grew {
                format!("{} used {batches:.0} batches, planned {planned:.0}: the hashed input was larger than estimated", n.label())
            } else {
                format!("{} used {batches:.0} batches (peak memory {mem:.0} kB per batch): it spilled to temp files", n.label())
            },
            serde_json::json!({ "batches": batches, "planned_batches": planned, "peak_memory_kb": mem }),
            Some(advice),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_util::{only, run};

    fn plan(b: u32, ob: u32) -> String {
        format!(
            r#"[{{"Plan": {{"Node Type": "Hash", "Hash Batches": {b}, "Original Hash Batches": {ob}, "Peak Memory Usage": 4000,
            "Actual Total Time": 10.0, "Actual Rows": 100000, "Actual Loops": 1, "Plan Rows": 100000}}, "Execution Time": 11}}]"#
        )
    }

    #[test]
    fn fires_on_batches() {
        assert_eq!(only(&run(&plan(8, 8)), "hash-batches").len(), 1);
        let f = run(&plan(8, 1));
        assert!(only(&f, "hash-batches")[0].message.contains("planned 1"));
        assert!(only(&run(&plan(1, 1)), "hash-batches").is_empty());
    }
}
