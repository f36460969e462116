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
use crate::ddl::index::{IndexSpec, Key, KeySpec};
use crate::finding::{Finding, Location, RuleId, Severity};
use crate::plan::{Node, Plan};
use crate::sql::extract::{Operand, Predicate};
use crate::sql::ident::{quote_ident, quote_qualified};
use std::rc::Rc;

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
    /// For each node: its parent's index.
    pub parents: Vec<Option<usize>>,
    /// The predicates of each filter text seen (partitions repeat the same filter thousands of
    /// times).
    filter_cache: std::cell::RefCell<std::collections::HashMap<String, Rc<[Predicate]>>>,
}

impl PlanCtx<'_> {
    /// [`index_keys`] of node `i`'s filter (or any condition text), the parse remembered per text.
    pub fn index_keys(&self, i: usize, filter: &str) -> Vec<KeySpec> {
        let cached = self.filter_cache.borrow().get(filter).cloned();
        let preds = cached.unwrap_or_else(|| {
            let p: Rc<[Predicate]> = filter_predicates(filter).into();
            self.filter_cache
                .borrow_mut()
                .insert(filter.to_string(), p.clone());
            p
        });
        let mut keys = index_keys(self.nodes[i], &preds);
        // A query that orders and limits: the sort keys after the equality keys let the index
        // return the rows in order, and the Limit stop early.
        if let Some(sort) = self.sort_under_limit(i) {
            let all_eq = preds
                .iter()
                .filter(|p| belongs(self.nodes[i], p.table.as_deref()))
                .all(is_equality);
            if all_eq {
                for k in sort_keys(self.nodes[i], &sort.sort_key) {
                    if !keys.iter().any(|x| x.key == k.key) {
                        keys.push(k);
                    }
                }
            }
        }
        keys
    }

    /// When node `n` ran many times and the runs add up to a meaningful share and amount of
    /// the query's time (the `nested_loop_*` thresholds): its loops, time in all, and share.
    /// The N+1 test of `nested-loop-many-loops` and `subplan-per-row`.
    pub fn costly_repeats(&self, n: &Node) -> Option<(f64, f64, f64)> {
        let loops = n.actual_loops.unwrap_or(0.0);
        let ms = n.inclusive_ms();
        let share = ms / self.plan.total_ms();
        (loops >= self.t.nested_loop_min_loops
            && share >= self.t.nested_loop_min_share
            && ms >= self.t.nested_loop_min_ms)
            .then_some((loops, ms, share))
    }

    /// The Sort whose rows a Limit takes, above node `i` through nodes that pass rows along
    /// unchanged (Gather Merge, Result, Incremental Sort's input…).
    fn sort_under_limit(&self, i: usize) -> Option<&Node> {
        let mut cur = self.parents[i]?;
        loop {
            let n = self.nodes[cur];
            match n.node_type.as_str() {
                "Sort" | "Incremental Sort" => {
                    let above_limit = self.parents[cur].is_some_and(|p| {
                        let mut p = p;
                        loop {
                            match self.nodes[p].node_type.as_str() {
                                "Limit" => return true,
                                "Gather Merge" | "Result" => match self.parents[p] {
                                    Some(q) => p = q,
                                    None => return false,
                                },
                                _ => return false,
                            }
                        }
                    });
                    return above_limit.then_some(n);
                }
                "Gather" | "Gather Merge" | "Result" => cur = self.parents[cur]?,
                _ => return None,
            }
        }
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
    struct Walk<'a> {
        nodes: Vec<&'a Node>,
        early: Vec<bool>,
        parents: Vec<Option<usize>>,
    }
    fn visit<'a>(n: &'a Node, early: bool, parent: Option<usize>, w: &mut Walk<'a>) {
        let me = w.nodes.len();
        w.nodes.push(n);
        w.early.push(early);
        w.parents.push(parent);
        for (i, c) in n.children.iter().enumerate() {
            visit(c, early || stops_early(n, i, c), Some(me), w);
        }
    }
    let mut w = Walk {
        nodes: Vec::new(),
        early: Vec::new(),
        parents: Vec::new(),
    };
    visit(&plan.root, false, None, &mut w);
    let ctx = PlanCtx {
        plan,
        nodes: w.nodes,
        stopped_early: w.early,
        parents: w.parents,
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

/// The relation a plan condition is read against: a name no plan's alias is (an outer alias
/// `t` in `s.id = t.customer_id` must stay another relation's).
const PLACEHOLDER: &str = "dbkit_scanned_relation";

/// The predicates of a condition as a plan prints it, columns qualified as written: read as
/// the WHERE clause of a query over a placeholder relation `PLACEHOLDER`, so an unqualified column
/// resolves to it and `p.customer_id` keeps its `p`.
pub fn filter_predicates(filter: &str) -> Vec<Predicate> {
    let sql = format!("SELECT 1 FROM {PLACEHOLDER} WHERE {filter}");
    match crate::sql::parse_statement(&sql) {
        Ok(stmt) => crate::sql::extract::extract(&stmt).predicates,
        Err(_) => Vec::new(),
    }
}

/// Whether a column qualified by `table` (as [`filter_predicates`] resolved it) is one of node
/// `n`'s relation: unqualified, or qualified by its alias or name.
fn belongs(n: &Node, table: Option<&str>) -> bool {
    match table {
        None | Some(PLACEHOLDER) => true,
        Some(t) => n.alias.as_deref() == Some(t) || n.relation_name.as_deref() == Some(t),
    }
}

fn is_equality(p: &Predicate) -> bool {
    matches!(p.op.as_str(), "=" | "IN" | "IS NULL" | "= ANY")
}

/// The index keys `preds` call for on node `n`'s relation, equality keys first: columns of
/// that relation only (a correlated `s.id = p.customer_id` on a scan of `s` gives `id`, never
/// `customer_id`); an expression key for `lower(email) = …` or `(body ->> 'n') = …`; nothing
/// for a column compared only with another column of the same row (no index serves `a < b`).
pub fn index_keys(n: &Node, preds: &[Predicate]) -> Vec<KeySpec> {
    let mut eq: Vec<KeySpec> = Vec::new();
    let mut other: Vec<KeySpec> = Vec::new();
    for p in preds {
        if !belongs(n, p.table.as_deref()) {
            continue;
        }
        if let Operand::Column { table, .. } = &p.operand {
            if belongs(n, table.as_deref()) {
                continue;
            }
        }
        let key = match &p.expression {
            Some(e) => Key::Expr(crate::advise::unqualify(e, &p.column)),
            None => Key::Column(p.column.clone()),
        };
        let spec = KeySpec {
            key,
            desc: false,
            nulls_first: None,
            opclass: None,
        };
        let target = if is_equality(p) { &mut eq } else { &mut other };
        if !target.iter().any(|k| k.key == spec.key) {
            target.push(spec);
        }
    }
    other.retain(|k| !eq.iter().any(|e| e.key == k.key));
    eq.extend(other);
    eq
}

/// The keys of a plan's `Sort Key` (`o.created_at DESC`) that are plain columns of node `n`'s
/// relation, in order, stopping at the first that is not (an index serves a prefix only).
fn sort_keys(n: &Node, keys: &[String]) -> Vec<KeySpec> {
    let mut out = Vec::new();
    for k in keys {
        let mut words = k.split_whitespace();
        let Some(col) = words.next() else { break };
        let rest: Vec<&str> = words.collect();
        let (table, column) = match col.rsplit_once('.') {
            Some((t, c)) => (Some(t), c),
            None => (None, col),
        };
        let plain = column
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !plain || !belongs(n, table) {
            break;
        }
        let desc = rest.first() == Some(&"DESC");
        let nulls_first = rest
            .iter()
            .position(|w| *w == "NULLS")
            .map(|i| rest.get(i + 1) == Some(&"FIRST"));
        out.push(KeySpec {
            key: Key::Column(column.to_string()),
            desc,
            nulls_first,
            opclass: None,
        });
    }
    out
}

/// Each index key as a message shows it: `status`, `lower(email)`, `created_at DESC`.
pub fn key_names(keys: &[KeySpec]) -> Vec<String> {
    keys.iter()
        .map(|k| {
            let mut s = match &k.key {
                Key::Column(c) => c.clone(),
                Key::Expr(e) => e.clone(),
            };
            if k.desc {
                s.push_str(" DESC");
            }
            s
        })
        .collect()
}

/// The keys as a message shows them: `status, lower(email), created_at DESC`.
pub fn keys_text(keys: &[KeySpec]) -> String {
    key_names(keys).join(", ")
}

/// The `CREATE INDEX` (dbkit's one generator, [`crate::ddl::index::IndexSpec`]) of a btree on
/// `keys` of a node's relation, when both are known.
pub fn index_ddl(n: &Node, keys: &[KeySpec]) -> Option<String> {
    if keys.is_empty() {
        return None;
    }
    let spec = IndexSpec {
        schema: n.schema.clone().unwrap_or_default(),
        table: n.relation_name.clone()?,
        method: "btree".into(),
        keys: keys.to_vec(),
        include: vec![],
        predicate: None,
    };
    Some(spec.create_sql())
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
    }

    fn keys(filter: &str, alias: &str) -> String {
        let n = Node {
            node_type: "Seq Scan".into(),
            relation_name: Some("customers".into()),
            alias: Some(alias.into()),
            ..Default::default()
        };
        keys_text(&index_keys(&n, &filter_predicates(filter)))
    }

    #[test]
    fn index_keys_are_the_scanned_relations_equality_first() {
        assert_eq!(
            keys(
                "((created_at < (now() - '2 days'::interval)) AND (status = 'pending'::text))",
                "customers"
            ),
            "status, created_at"
        );
        // A correlated SubPlan over `s`: its own column, never the outer one.
        assert_eq!(keys("(s.id = p.customer_id)", "s"), "id");
        assert_eq!(keys("(s.id = t.customer_id)", "s"), "id");
        // An expression index for a function or operator on the column.
        assert_eq!(
            keys("(lower(s.email) = 'a@b.c'::text)", "s"),
            "lower(email)"
        );
        assert_eq!(
            keys("((body ->> 'n'::text) = '5'::text)", "customers"),
            "body ->> 'n'::TEXT"
        );
        // Two columns of the same row compared: no index serves it.
        assert_eq!(keys("((s.a < s.b) AND (s.c = 3))", "s"), "c");
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
