//! `temp-io`: the query wrote a lot of temp files (sorts, hashes, materializations that did not
//! fit in memory).

use super::{PlanCtx, Rule};
use crate::finding::Finding;
use crate::finding::RuleId;

/// Block size PostgreSQL reports buffers in.
const BLOCK_BYTES: f64 = 8192.0;

/// The rule.
pub const RULE: Rule = Rule {
    id: RuleId::TempIo,
    check,
};

fn check(ctx: &PlanCtx, out: &mut Vec<Finding>) {
    // Buffers are inclusive of children: a node's own writes are its count minus its children's.
    let own = |n: &crate::plan::Node| {
        let mine = n.buffers.map_or(0, |b| b.temp_written);
        let kids: u64 = n
            .children
            .iter()
            .map(|c| c.buffers.map_or(0, |b| b.temp_written))
            .sum();
        mine.saturating_sub(kids)
    };
    let total: u64 = ctx.nodes.iter().map(|n| own(n)).sum();
    let mb = total as f64 * BLOCK_BYTES / 1_048_576.0;
    if mb < ctx.t.temp_io_min_mb {
        return;
    }
    let (idx, top) = ctx
        .nodes
        .iter()
        .enumerate()
        .max_by_key(|(_, n)| own(n))
        .map(|(i, n)| (i, *n))
        .unwrap_or((0, &ctx.plan.root));
    out.push(ctx.finding(
        RULE.id,
        RULE.id.severity(),
        Some(idx),
        format!(
            "the query wrote {mb:.0} MB of temp files; {} wrote {:.0} MB of it",
            top.label(),
            own(top) as f64 * BLOCK_BYTES / 1_048_576.0
        ),
        serde_json::json!({ "temp_written_mb": mb, "temp_written_blocks": total }),
        Some("more work_mem for this query (SET LOCAL work_mem), or less data into the sort/hash (filter earlier, select fewer columns)".to_string()),
    ));
}

#[cfg(test)]
mod tests {
    use super::super::test_util::{only, run};

    #[test]
    fn fires_on_large_temp_writes() {
        let p = |blocks: u32| {
            format!(
                r#"[{{"Plan": {{"Node Type": "Sort", "Temp Written Blocks": {blocks}, "Shared Hit Blocks": 0,
            "Actual Total Time": 500.0, "Actual Rows": 1, "Actual Loops": 1, "Plan Rows": 1,
            "Plans": [{{"Node Type": "Seq Scan", "Relation Name": "t", "Temp Written Blocks": 0, "Shared Hit Blocks": 10,
            "Actual Total Time": 100.0, "Actual Rows": 1, "Actual Loops": 1, "Plan Rows": 1}}]}}, "Execution Time": 500.0}}]"#
            )
        };
        let f = run(&p(12800));
        let t = only(&f, "temp-io");
        assert_eq!(
            t[0].message,
            "the query wrote 100 MB of temp files; Sort wrote 100 MB of it"
        );
        assert!(only(&run(&p(100)), "temp-io").is_empty());
    }
}
