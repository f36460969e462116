//! `large-offset`: a Limit that reads and throws away many rows to honour an OFFSET.

use super::{fmt_n, PlanCtx, Rule};
use crate::finding::Finding;
use crate::finding::RuleId;

/// The rule.
pub const RULE: Rule = Rule {
    id: RuleId::LargeOffset,
    check,
};

fn check(ctx: &PlanCtx, out: &mut Vec<Finding>) {
    for (i, n) in ctx.nodes.iter().enumerate() {
        if n.node_type != "Limit" {
            continue;
        }
        let (Some(rows), Some(child)) = (n.actual_rows, n.children.first()) else {
            continue;
        };
        let Some(read) = child.actual_rows else {
            continue;
        };
        let discarded = read - rows;
        if discarded < ctx.t.large_offset_min_rows {
            continue;
        }
        out.push(ctx.finding(
            RULE.id,
            RULE.id.severity(),
            Some(i),
            format!(
                "Limit read {} rows to return {}: {} were discarded for the OFFSET",
                fmt_n(read),
                fmt_n(rows),
                fmt_n(discarded)
            ),
            serde_json::json!({ "rows_read": read, "rows_returned": rows, "rows_discarded": discarded }),
            Some("keyset pagination: WHERE (sort_key, id) > ($last_sort_key, $last_id) ORDER BY sort_key, id LIMIT n, with an index on (sort_key, id)".to_string()),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_util::{only, run};

    fn plan(child_rows: u32) -> String {
        format!(
            r#"[{{"Plan": {{"Node Type": "Limit", "Actual Total Time": 20.0, "Actual Rows": 20, "Actual Loops": 1, "Plan Rows": 20,
            "Plans": [{{"Node Type": "Index Scan", "Index Name": "i", "Relation Name": "t", "Actual Total Time": 19.0,
            "Actual Rows": {child_rows}, "Actual Loops": 1, "Plan Rows": {child_rows}}}]}}, "Execution Time": 20.0}}]"#
        )
    }

    #[test]
    fn fires_on_deep_pages_only() {
        assert_eq!(
            only(&run(&plan(50020)), "large-offset")[0].evidence["rows_discarded"],
            50000.0
        );
        assert!(only(&run(&plan(20)), "large-offset").is_empty());
    }
}
