//! The plan rule family: one file per rule, registered in [`RULES`]. Each rule reads a [`Plan`]
//! through a [`PlanCtx`] (nodes in depth-first order, thresholds, the input's name) and emits
//! findings in the shared shape; `evidence.node` is the node's depth-first index, so renderers
//! can show findings inline.

pub mod report;

mod estimates_only;
mod hash_batches;
mod hashagg_spill;
mod heap_fetches;
mod index_filter_inefficient;
mod jit_overhead;
mod large_offset;
mod lossy_bitmap;
mod nested_loop_many_loops;
mod row_misestimate;
mod seq_scan_filter;
mod sort_spill;
mod subplan_per_row;
mod temp_io;
mod trigger_time;
mod workers_not_launched;

use crate::config::{Config, PlanThresholds};
use crate::finding::{Finding, Location, RuleId, Severity};
use crate::plan::{Node, Plan};
use crate::sql::ident::{quote_ident, quote_qualified};

/// One plan rule: its registered id (severity, texts and thresholds are in the registry) and its
/// check.
pub struct Rule {
    /// The registered rule.
    pub id: RuleId,
    /// The check.
    pub check: fn(&PlanCtx, &mut Vec<Finding>),
}

/// Every plan rule, in the order they are reported.
pub const RULES: &[Rule] = &[
    estimates_only::RULE,
    seq_scan_filter::RULE,
    row_misestimate::RULE,
    sort_spill::RULE,
    hash_batches::RULE,
    hashagg_spill::RULE,
    nested_loop_many_loops::RULE,
    subplan_per_row::RULE,
    index_filter_inefficient::RULE,
    heap_fetches::RULE,
    lossy_bitmap::RULE,
    large_offset::RULE,
    workers_not_launched::RULE,
    jit_overhead::RULE,
    temp_io::RULE,
    trigger_time::RULE,
];

/// What a rule sees.
pub struct PlanCtx<'a> {
    /// The plan.
    pub plan: &'a Plan,
    /// Every node, depth first (index = `evidence.node`).
    pub nodes: Vec<&'a Node>,
    /// For each node: whether a node above it may have stopped it before it returned all its
    /// rows ([`stops_early`]), so fewer rows than estimated are not a misestimate.
    pub stopped_early: Vec<bool>,
    /// Thresholds.
    pub t: &'a PlanThresholds,
    /// The input's name, for locations.
    pub file: Option<&'a str>,
    /// Columns of each filter text seen (partitions repeat the same filter thousands of times).
    filter_cache: std::cell::RefCell<std::collections::HashMap<String, Vec<String>>>,
}

impl PlanCtx<'_> {
    /// [`filter_columns`], remembered per filter text.
    pub fn filter_columns(&self, filter: &str) -> Vec<String> {
        if let Some(c) = self.filter_cache.borrow().get(filter) {
            return c.clone();
        }
        let cols = filter_columns(filter);
        self.filter_cache
            .borrow_mut()
            .insert(filter.to_string(), cols.clone());
        cols
    }

    /// A finding about node `idx` (or the whole plan when `None`).
    pub fn finding(
        &self,
        rule: RuleId,
        severity: Severity,
        idx: Option<usize>,
        message: String,
        mut evidence: serde_json::Value,
        suggestion: Option<String>,
    ) -> Finding {
        if let (Some(i), Some(obj)) = (idx, evidence.as_object_mut()) {
            obj.insert("node".to_string(), serde_json::json!(i));
        }
        Finding {
            rule,
            severity,
            message,
            location: Location {
                file: self.file.map(str::to_string),
                node: idx.and_then(|i| self.nodes.get(i)).map(|n| n.label()),
                ..Default::default()
            },
            evidence,
            suggestion,
        }
    }
}

/// Run every enabled plan rule over `plan`.
pub fn analyze(plan: &Plan, cfg: &Config, file: Option<&str>) -> Vec<Finding> {
    fn visit<'a>(n: &'a Node, early: bool, nodes: &mut Vec<&'a Node>, flags: &mut Vec<bool>) {
        nodes.push(n);
        flags.push(early);
        for (i, c) in n.children.iter().enumerate() {
            visit(c, early || stops_early(n, i, c), nodes, flags);
        }
    }
    let (mut nodes, mut stopped_early) = (Vec::new(), Vec::new());
    visit(&plan.root, false, &mut nodes, &mut stopped_early);
    let ctx = PlanCtx {
        plan,
        nodes,
        stopped_early,
        t: &cfg.rules.plan,
        file,
        filter_cache: Default::default(),
    };
    let mut out = Vec::new();
    for r in RULES.iter().filter(|r| cfg.enabled(r.id)) {
        (r.check)(&ctx, &mut out);
    }
    out
}

/// Whether `parent` may stop pulling rows from its `i`-th child `child` before the child is
/// done: a Limit; a WindowAgg with a Run Condition; the inner side of a semi or anti nested
/// loop (one match is enough); either side of a Merge Join (it stops when the other side ends);
/// a SubPlan or InitPlan (EXISTS and ANY stop at the first match, a scalar one at the first row).
pub fn stops_early(parent: &Node, i: usize, child: &Node) -> bool {
    let semi_or_anti = matches!(parent.join_type.as_deref(), Some("Semi" | "Anti"));
    parent.node_type == "Limit"
        || (parent.node_type == "WindowAgg" && parent.run_condition.is_some())
        || (parent.node_type == "Nested Loop" && semi_or_anti && i == 1)
        || parent.node_type == "Merge Join"
        || (matches!(
            child.parent_relationship.as_deref(),
            Some("SubPlan" | "InitPlan")
        ) && !child.is_cte())
}

pub use crate::view::{fmt_ms, fmt_n};

/// The relation a node scans, quoted for SQL (`public.orders`).
pub fn relation_sql(n: &Node) -> Option<String> {
    let r = n.relation_name.as_deref()?;
    Some(match n.schema.as_deref() {
        Some(s) => quote_qualified(&[s, r]),
        None => quote_ident(r),
    })
}

/// The columns a filter condition tests, equality columns first (index column order).
pub fn filter_columns(filter: &str) -> Vec<String> {
    let sql = format!("SELECT 1 FROM t WHERE {filter}");
    let Ok(stmt) = crate::sql::parse_statement(&sql) else {
        return Vec::new();
    };
    let refs = crate::sql::extract::extract(&stmt);
    let mut eq: Vec<String> = Vec::new();
    let mut other: Vec<String> = Vec::new();
    for p in refs.predicates {
        let target = if p.op == "=" || p.op == "IN" || p.op == "IS NULL" {
            &mut eq
        } else {
            &mut other
        };
        if !target.contains(&p.column) {
            target.push(p.column);
        }
    }
    other.retain(|c| !eq.contains(c));
    eq.extend(other);
    eq
}

/// The `CREATE INDEX` (dbkit's one generator, [`crate::ddl::index::IndexSpec`]) of a btree on
/// `cols` of a node's relation, when both are known.
pub fn index_ddl(n: &Node, cols: &[String]) -> Option<String> {
    if cols.is_empty() {
        return None;
    }
    let table = n.relation_name.as_deref()?;
    let cols: Vec<&str> = cols.iter().map(String::as_str).collect();
    let schema = n.schema.as_deref().unwrap_or("");
    Some(crate::ddl::index::IndexSpec::btree(schema, table, &cols).create_sql())
}

/// What to do about an operation that needed about `kb` kilobytes of memory and spilled: a
/// `work_mem` for this query only (rounded up to a power of two in MB) when it is at most
/// `max_mb`; past it, raising work_mem is not the fix (every sort and hash of every connection
/// may take that much) and the advice is to shrink the operation. `shrink` says how.
pub fn work_mem_advice(kb: f64, max_mb: f64, shrink: &str) -> String {
    let wm = work_mem_for(kb);
    let mb = wm
        .trim_end_matches("MB")
        .parse::<f64>()
        .unwrap_or(f64::INFINITY);
    if mb <= max_mb.max(1.0) {
        format!("SET LOCAL work_mem = '{wm}' in this query's transaction (or SET work_mem for the session; not globally), or {shrink}")
    } else {
        format!("{shrink}: it needs about {wm} of memory, more than work_mem should be (over {max_mb:.0}MB, every sort and hash of every connection may take it)")
    }
}

/// A `work_mem` setting that fits `kb` kilobytes of data (rounded up to a power of two in MB).
pub fn work_mem_for(kb: f64) -> String {
    let mb = (kb / 1024.0).max(1.0);
    // Bounded: a plan may claim any size (fuzzing found `Disk: 9423333333333333333333kB`, whose
    // doubling loop once wrapped to 0 and never ended). Past 2 TB the figure means nothing.
    let p = (0..=21)
        .map(|e| 1u64 << e)
        .find(|&p| p as f64 >= mb)
        .unwrap_or(1 << 21);
    format!("{p}MB")
}

#[cfg(test)]
pub(crate) mod test_util {
    //! Small plans for the rule tests, built the way EXPLAIN (ANALYZE, FORMAT JSON) writes them.
    use crate::config::Config;
    use crate::finding::Finding;

    /// Analyze one JSON plan with the default thresholds.
    pub fn run(json: &str) -> Vec<Finding> {
        let plans = crate::plan::json::parse(json).expect("test plan parses");
        super::analyze(&plans[0], &Config::default(), Some("t.json"))
    }

    /// The findings of one rule.
    pub fn only<'a>(f: &'a [Finding], rule: &str) -> Vec<&'a Finding> {
        f.iter().filter(|x| x.rule == rule).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helpers() {
        assert_eq!(fmt_n(100000.0), "100,000");
        assert_eq!(fmt_n(999.0), "999");
        assert_eq!(
            work_mem_advice(4128.0, 256.0, "an index"),
            "SET LOCAL work_mem = '8MB' in this query's transaction (or SET work_mem for the session; not globally), or an index"
        );
        let big = work_mem_advice(2e6, 256.0, "filter earlier");
        assert!(
            big.starts_with("filter earlier: it needs about 2048MB"),
            "{big}"
        );
        assert!(!big.contains("SET"), "{big}");
        assert_eq!(work_mem_for(4128.0), "8MB");
        assert_eq!(work_mem_for(100.0), "1MB");
        // Absurd sizes end (they once looped forever) and are capped.
        assert_eq!(work_mem_for(9.4e26), "2097152MB");
        assert_eq!(work_mem_for(f64::INFINITY), "2097152MB");
        assert_eq!(work_mem_for(f64::NAN), "1MB");
        assert_eq!(
            filter_columns(
                "((created_at < (now() - '2 days'::interval)) AND (status = 'pending'::text))"
            ),
            vec!["status", "created_at"]
        );
    }

    #[test]
    fn every_rule_is_registered_once_with_a_kebab_id() {
        let mut ids: Vec<&str> = RULES.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids.len(), 16);
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), 16);
        assert!(ids
            .iter()
            .all(|i| i.chars().all(|c| c.is_ascii_lowercase() || c == '-')));
    }
}
