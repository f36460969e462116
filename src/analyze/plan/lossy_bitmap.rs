//! `lossy-bitmap`: a bitmap heap scan whose bitmap did not fit in `work_mem` and degraded to
//! whole pages, so every row of those pages was rechecked.

use super::{fmt_n, PlanCtx, Rule};
use crate::finding::Finding;
use crate::finding::RuleId;

/// The rule.
pub const RULE: Rule = Rule {
    id: RuleId::LossyBitmap,
    check,
};

fn check(ctx: &PlanCtx, out: &mut Vec<Finding>) {
    for (i, n) in ctx.nodes.iter().enumerate() {
        if n.node_type != "Bitmap Heap Scan" {
            continue;
        }
        let lossy = n.lossy_heap_blocks.unwrap_or(0.0);
        if lossy <= 0.0 {
            continue;
        }
        let exact = n.exact_heap_blocks.unwrap_or(0.0);
        let rechecked = n.rows_removed_by_index_recheck.unwrap_or(0.0) * n.loops();
        out.push(ctx.finding(
            RULE.id,
            RULE.id.severity(),
            Some(i),
            format!(
                "{} had {} lossy heap blocks (of {}); the recheck removed {} rows",
                n.label(),
                fmt_n(lossy),
                fmt_n(lossy + exact),
                fmt_n(rechecked)
            ),
            serde_json::json!({ "lossy_blocks": lossy, "exact_blocks": exact, "rows_removed_by_recheck": rechecked }),
            Some("raise work_mem for this query so the bitmap stays exact, or a more selective index".to_string()),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_util::{only, run};

    #[test]
    fn fires_on_lossy_blocks() {
        let p = |lossy: u32| {
            format!(
                r#"[{{"Plan": {{"Node Type": "Bitmap Heap Scan", "Relation Name": "t", "Exact Heap Blocks": 100,
            "Lossy Heap Blocks": {lossy}, "Rows Removed by Index Recheck": 5000, "Actual Total Time": 5.0, "Actual Rows": 100,
            "Actual Loops": 1, "Plan Rows": 100}}, "Execution Time": 5.0}}]"#
            )
        };
        assert_eq!(only(&run(&p(900)), "lossy-bitmap").len(), 1);
        assert!(only(&run(&p(0)), "lossy-bitmap").is_empty());
    }
}
