//! `sort-spill`: a sort that did not fit in `work_mem` and went to disk.

use super::{fmt_ms, work_mem_advice, PlanCtx, Rule};
use crate::finding::Finding;
use crate::finding::RuleId;

/// The rule.
pub const RULE: Rule = Rule {
    id: RuleId::SortSpill,
    check,
};

fn check(ctx: &PlanCtx, out: &mut Vec<Finding>) {
    for (i, n) in ctx.nodes.iter().enumerate() {
        if !n.node_type.contains("Sort") {
            continue;
        }
        let disk = n.sort_space_type.as_deref() == Some("Disk")
            || n.sort_method
                .as_deref()
                .is_some_and(|m| m.starts_with("external"));
        if !disk {
            continue;
        }
        let kb = n.sort_space_used_kb.unwrap_or(0.0);
        // An in-memory sort needs more room than the same data on disk; allow about three times.
        let advice = work_mem_advice(
            kb * 3.0,
            ctx.t.work_mem_max_mb,
            &format!(
                "an index that returns the rows in order ({})",
                n.sort_key.join(", ")
            ),
        );
        out.push(ctx.finding(
            RULE.id,
            RULE.id.severity(),
            Some(i),
            format!(
                "{} spilled {:.0} kB to disk ({}, {})",
                n.label(),
                kb,
                n.sort_method.as_deref().unwrap_or("external"),
                fmt_ms(n.inclusive_ms())
            ),
            serde_json::json!({ "disk_kb": kb, "sort_method": n.sort_method, "sort_key": n.sort_key }),
            Some(advice),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_util::{only, run};

    #[test]
    fn fires_on_external_merge_only() {
        let f = run(
            r#"[{"Plan": {"Node Type": "Sort", "Sort Key": ["a"], "Sort Method": "external merge", "Sort Space Used": 4128,
            "Sort Space Type": "Disk", "Actual Total Time": 40.0, "Actual Rows": 100000, "Actual Loops": 1, "Plan Rows": 100000},
            "Execution Time": 41.0}]"#,
        );
        let s = only(&f, "sort-spill");
        assert_eq!(s.len(), 1);
        assert!(
            s[0].suggestion
                .as_deref()
                .unwrap()
                .starts_with("SET LOCAL work_mem = '16MB'"),
            "{:?}",
            s[0].suggestion
        );
        let f = run(
            r#"[{"Plan": {"Node Type": "Sort", "Sort Method": "quicksort", "Sort Space Used": 25,
            "Sort Space Type": "Memory", "Actual Total Time": 1.0, "Actual Rows": 100, "Actual Loops": 1, "Plan Rows": 100},
            "Execution Time": 1.0}]"#,
        );
        assert!(only(&f, "sort-spill").is_empty());
    }
}
