//! EXPLAIN plans: one typed model for JSON and text input, from PostgreSQL 12 to 17, plus the
//! derived figures plan readers need (inclusive and exclusive time with loops accounted for,
//! row misestimates, buffers).
//!
//! Input forms: EXPLAIN in every format (text, JSON, YAML, XML), as psql prints it in any
//! setting, as GUI clients copy it, and as auto_explain logs it (`paste` takes the wrappers
//! apart). Unknown fields are ignored; fields a version does not have are `None`.
//!
//! Per-loop and total figures follow PostgreSQL's explain.c: times, rows and rows removed are
//! averages per loop (multiply by loops for the node's total); buffers, heap fetches, heap
//! blocks, sort space and hash figures are totals over all loops (never multiplied); workers
//! planned and launched are counts for the Gather.

pub(crate) mod json;
pub(crate) mod paste;
pub(crate) mod scan;
pub(crate) mod text;
mod tokens;
mod wrapped;
pub(crate) mod xml;
pub(crate) mod yaml;

use serde::Serialize;

/// Plan reading errors; each names the position.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    /// Nothing that looks like a plan.
    #[error("no plan found: {0}")]
    Empty(String),
    /// JSON that does not parse.
    #[error("invalid EXPLAIN JSON at line {line}, column {column}: {message}")]
    Json {
        /// 1-based line in the (unwrapped) JSON.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What is wrong.
        message: String,
    },
    /// JSON that parses but is not an EXPLAIN plan.
    #[error("not an EXPLAIN plan at {path}: {message}")]
    Shape {
        /// A JSON path (`[0].Plan.Plans[1]`).
        path: String,
        /// What is wrong.
        message: String,
    },
    /// Text format that cannot be read.
    #[error("cannot read the text plan at line {line}: {message}")]
    Text {
        /// 1-based line.
        line: usize,
        /// What is wrong.
        message: String,
    },
}

/// Buffer counters of a node (inclusive of its children, as PostgreSQL reports them).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Buffers {
    /// Shared blocks found in cache.
    pub shared_hit: u64,
    /// Shared blocks read.
    pub shared_read: u64,
    /// Shared blocks dirtied.
    pub shared_dirtied: u64,
    /// Shared blocks written.
    pub shared_written: u64,
    /// Local blocks hit.
    pub local_hit: u64,
    /// Local blocks read.
    pub local_read: u64,
    /// Temp blocks read.
    pub temp_read: u64,
    /// Temp blocks written.
    pub temp_written: u64,
}

/// WAL a node generated (`WAL: records=… fpi=… bytes=…`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Wal {
    /// WAL records.
    pub records: u64,
    /// Full-page images.
    pub fpi: u64,
    /// Bytes.
    pub bytes: u64,
}

/// One plan node. Figures PostgreSQL reports per loop stay per loop; see the methods for totals.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Node {
    /// `Seq Scan`, `Index Scan`, `Hash Join`, `Aggregate`…
    pub node_type: String,
    /// Parallel-aware (`Parallel Seq Scan`).
    pub parallel_aware: bool,
    /// `Outer`, `Inner`, `InitPlan`, `SubPlan`, `Member`…
    pub parent_relationship: Option<String>,
    /// The name of an InitPlan/SubPlan.
    pub subplan_name: Option<String>,
    /// `Inner`, `Left`, `Anti`, `Semi`…
    pub join_type: Option<String>,
    /// Aggregate strategy: `Plain`, `Sorted`, `Hashed`, `Mixed`.
    pub strategy: Option<String>,
    /// Aggregate mode: `Partial` or `Finalize` (`Simple` is left out).
    pub partial_mode: Option<String>,
    /// ModifyTable's operation: `Insert`, `Update`, `Delete`, `Merge`.
    pub operation: Option<String>,
    /// Scanned relation.
    pub relation_name: Option<String>,
    /// Its schema (VERBOSE).
    pub schema: Option<String>,
    /// Alias in the query.
    pub alias: Option<String>,
    /// Index used.
    pub index_name: Option<String>,
    /// Scan direction for index scans.
    pub scan_direction: Option<String>,
    /// Planner startup cost.
    pub startup_cost: Option<f64>,
    /// Planner total cost.
    pub total_cost: Option<f64>,
    /// Estimated rows per loop.
    pub plan_rows: Option<f64>,
    /// Estimated row width.
    pub plan_width: Option<u64>,
    /// Actual startup time per loop, ms.
    pub actual_startup_time: Option<f64>,
    /// Actual total time per loop, ms.
    pub actual_total_time: Option<f64>,
    /// Actual rows per loop.
    pub actual_rows: Option<f64>,
    /// Loops.
    pub actual_loops: Option<f64>,
    /// False when ANALYZE ran and the node never executed.
    pub executed: bool,
    /// `Filter`.
    pub filter: Option<String>,
    /// `Rows Removed by Filter` (per loop).
    pub rows_removed_by_filter: Option<f64>,
    /// `Index Cond`.
    pub index_cond: Option<String>,
    /// `Recheck Cond`.
    pub recheck_cond: Option<String>,
    /// `Rows Removed by Index Recheck` (per loop).
    pub rows_removed_by_index_recheck: Option<f64>,
    /// `Join Filter`.
    pub join_filter: Option<String>,
    /// `Rows Removed by Join Filter` (per loop).
    pub rows_removed_by_join_filter: Option<f64>,
    /// `Hash Cond`.
    pub hash_cond: Option<String>,
    /// `Merge Cond`.
    pub merge_cond: Option<String>,
    /// `One-Time Filter` (Result): evaluated once; false skips the subtree.
    pub one_time_filter: Option<String>,
    /// `Run Condition` (WindowAgg, PostgreSQL 15+): the window stops once it turns false, so
    /// fewer rows come out than were estimated, by design.
    pub run_condition: Option<String>,
    /// `Group Key`.
    pub group_key: Vec<String>,
    /// `Presorted Key` (Incremental Sort): the leading sort keys the input is already sorted on.
    pub presorted_key: Vec<String>,
    /// `Cache Key` (Memoize).
    pub cache_key: Option<String>,
    /// Memoize cache hits, misses, evictions and overflows: totals over all loops.
    pub cache_hits: Option<f64>,
    /// See [`Node::cache_hits`].
    pub cache_misses: Option<f64>,
    /// See [`Node::cache_hits`].
    pub cache_evictions: Option<f64>,
    /// See [`Node::cache_hits`].
    pub cache_overflows: Option<f64>,
    /// `Planned Partitions` of a HashAggregate: the planner expected it to spill.
    pub planned_partitions: Option<f64>,
    /// `HashAgg Batches` (text: `Batches:` on an aggregate): more than 1 means it spilled to disk.
    pub hashagg_batches: Option<f64>,
    /// `Disk Usage` of a HashAggregate that spilled, kB.
    pub disk_usage_kb: Option<f64>,
    /// Time reading blocks (`track_io_timing`), ms, inclusive, all loops.
    pub io_read_ms: Option<f64>,
    /// Time writing blocks, ms, inclusive, all loops.
    pub io_write_ms: Option<f64>,
    /// `Heap Fetches` (index-only scans): a total over all loops, as PostgreSQL prints it.
    pub heap_fetches: Option<f64>,
    /// `Heap Blocks: exact=`: a total over all loops.
    pub exact_heap_blocks: Option<f64>,
    /// `Heap Blocks: lossy=`: a total over all loops.
    pub lossy_heap_blocks: Option<f64>,
    /// `Sort Key`.
    pub sort_key: Vec<String>,
    /// `Sort Method` (`quicksort`, `external merge`, `top-N heapsort`).
    pub sort_method: Option<String>,
    /// `Sort Space Used`, kB.
    pub sort_space_used_kb: Option<f64>,
    /// `Sort Space Type`: `Memory` or `Disk`.
    pub sort_space_type: Option<String>,
    /// Hash buckets.
    pub hash_buckets: Option<f64>,
    /// Hash batches (actual).
    pub hash_batches: Option<f64>,
    /// Hash batches planned.
    pub original_hash_batches: Option<f64>,
    /// Peak memory of a Hash, a HashAggregate or a Memoize, kB.
    pub peak_memory_usage_kb: Option<f64>,
    /// Parallel workers planned.
    pub workers_planned: Option<f64>,
    /// Parallel workers launched.
    pub workers_launched: Option<f64>,
    /// Buffers (when BUFFERS was on).
    pub buffers: Option<Buffers>,
    /// WAL records, full-page images and bytes the node generated (WAL, PostgreSQL 13+),
    /// inclusive, totals over all loops.
    pub wal: Option<Wal>,
    /// Output columns (VERBOSE).
    pub output: Vec<String>,
    /// Runs in parallel workers (below a Gather): its loops ran at the same time, so its time is
    /// not multiplied by them.
    pub in_parallel: bool,
    /// For a CTE Scan: the time of the CTE it read (the CTE runs as the scan pulls rows, so its
    /// time is inside the scan's), ms; subtracted from the scan's exclusive time. Derived.
    pub cte_ms: f64,
    /// Child nodes.
    pub children: Vec<Node>,
}

/// JIT figures of a plan.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Jit {
    /// Functions compiled.
    pub functions: f64,
    /// Total JIT time, ms.
    pub total_ms: f64,
}

/// A trigger's line of EXPLAIN ANALYZE: its time and calls over the whole statement.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Trigger {
    /// The trigger's name (`RI_ConstraintTrigger_a_16430`), when printed (JSON, VERBOSE text).
    pub name: Option<String>,
    /// The constraint it enforces (`orders_customer_id_fkey`) for constraint triggers.
    pub constraint: Option<String>,
    /// The table it fired on, when printed.
    pub relation: Option<String>,
    /// Time in all calls, ms.
    pub time_ms: f64,
    /// Calls.
    pub calls: f64,
}

/// A whole plan: the root node and the statement-level figures.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Plan {
    /// The root node.
    pub root: Node,
    /// Planning time, ms.
    pub planning_time_ms: Option<f64>,
    /// Execution time, ms (ANALYZE).
    pub execution_time_ms: Option<f64>,
    /// JIT figures.
    pub jit: Option<Jit>,
    /// Non-default planner settings (SETTINGS).
    pub settings: Vec<(String, String)>,
    /// Trigger time, ms, summed.
    pub trigger_time_ms: Option<f64>,
    /// Each trigger's figures.
    pub triggers: Vec<Trigger>,
    /// The statement, when the input carries it (auto_explain's `Query Text`, an `EXPLAIN …`
    /// typed before a pasted plan).
    pub query_text: Option<String>,
}

impl Node {
    /// Loops, at least 1.
    pub fn loops(&self) -> f64 {
        self.actual_loops.unwrap_or(1.0).max(1.0)
    }

    /// Whether ANALYZE figures are present.
    pub fn analyzed(&self) -> bool {
        self.actual_total_time.is_some() || self.actual_rows.is_some() || !self.executed
    }

    /// Time spent in this node and below, all loops, ms. Loops of parallel workers ran at the
    /// same time, so a node below a Gather counts its per-loop (per-process) time once.
    pub fn inclusive_ms(&self) -> f64 {
        let per_loop = self.actual_total_time.unwrap_or(0.0);
        if self.in_parallel {
            per_loop
        } else {
            per_loop * self.loops()
        }
    }

    /// Time spent in this node alone, all loops, ms (never below zero). InitPlans and SubPlans
    /// run inside the node that uses their result, so their time is inside its time and is
    /// subtracted; a CTE's time is inside the CTE Scans that read it ([`Node::cte_ms`]), not
    /// inside the node it hangs under. So the exclusive times of a plan add up to its root's time.
    pub fn exclusive_ms(&self) -> f64 {
        let children: f64 = self
            .children
            .iter()
            .filter(|c| !c.is_cte())
            .map(Node::inclusive_ms)
            .sum();
        (self.inclusive_ms() - children - self.cte_ms).max(0.0)
    }

    /// Whether this node is a CTE's plan (`CTE name`), hung under the node that owns the CTE.
    pub fn is_cte(&self) -> bool {
        self.parent_relationship.as_deref() == Some("InitPlan")
            && self
                .subplan_name
                .as_deref()
                .is_some_and(|n| n.starts_with("CTE "))
    }

    /// Actual rows, all loops.
    pub fn total_rows(&self) -> f64 {
        self.actual_rows.unwrap_or(0.0) * self.loops()
    }

    /// Rows the node read before its filter removed some: rows returned plus removed, all loops.
    pub fn rows_read(&self) -> f64 {
        (self.actual_rows.unwrap_or(0.0) + self.rows_removed_by_filter.unwrap_or(0.0))
            * self.loops()
    }

    /// How far the row estimate is off, per loop, as a factor ≥ 1, and whether rows were
    /// under-estimated (more actual rows than planned). `None` without ANALYZE data.
    pub fn misestimate(&self) -> Option<(f64, bool)> {
        let actual = self.actual_rows?;
        let planned = self.plan_rows?;
        if !self.executed {
            return None;
        }
        let (a, p) = (actual.max(1.0), planned.max(1.0));
        Some(if a >= p {
            (a / p, true)
        } else {
            (p / a, false)
        })
    }

    /// A short label: `Seq Scan on orders o`, `Index Scan using i on t`, `Hash Join`.
    pub fn label(&self) -> String {
        let mut s = String::new();
        if self.parallel_aware {
            s.push_str("Parallel ");
        }
        if let Some(m) = self.partial_mode.as_deref().filter(|m| *m != "Simple") {
            s.push_str(m);
            s.push(' ');
        }
        s.push_str(self.full_type());
        if let Some(j) = &self.join_type {
            if j != "Inner" && self.node_type.ends_with("Join") {
                s = s.replacen(" Join", &format!(" {j} Join"), 1);
            } else if j != "Inner" && self.node_type == "Nested Loop" {
                s.push_str(&format!(" {j} Join"));
            }
        }
        if let Some(i) = &self.index_name {
            s.push_str(&format!(" using {i}"));
        }
        if let Some(r) = &self.relation_name {
            s.push_str(" on ");
            if let Some(sc) = &self.schema {
                s.push_str(&format!("{sc}."));
            }
            s.push_str(r);
            if let Some(a) = &self.alias {
                if a != r {
                    s.push_str(&format!(" {a}"));
                }
            }
        }
        if let Some(n) = &self.subplan_name {
            s = format!("{n}: {s}");
        }
        s
    }

    /// Take one group line of an Incremental Sort (`Full-sort Groups`, `Pre-sorted Groups`):
    /// its sort methods and peak space. The node keeps the method of the first group and the
    /// largest peak, on disk when any group spilled.
    pub(crate) fn add_sort_group(
        &mut self,
        methods: &str,
        peak_memory_kb: Option<f64>,
        peak_disk_kb: Option<f64>,
    ) {
        if self.sort_method.is_none() && !methods.is_empty() {
            self.sort_method = Some(methods.to_string());
        }
        let (kind, kb) = match (peak_disk_kb, peak_memory_kb) {
            (Some(d), _) if d > 0.0 => ("Disk", d),
            (_, Some(m)) => ("Memory", m),
            _ => return,
        };
        let on_disk = self.sort_space_type.as_deref() == Some("Disk");
        if kind == "Disk" && !on_disk {
            self.sort_space_used_kb = None;
        }
        if kind == "Disk" || !on_disk {
            self.sort_space_type = Some(kind.to_string());
            self.sort_space_used_kb = Some(self.sort_space_used_kb.unwrap_or(0.0).max(kb));
        }
    }

    /// The node type as PostgreSQL's text format names it: `HashAggregate`, `GroupAggregate`,
    /// `HashSetOp`, `Update` for a ModifyTable; otherwise [`Node::node_type`].
    pub fn full_type(&self) -> &str {
        match (self.node_type.as_str(), self.strategy.as_deref()) {
            ("Aggregate", Some("Hashed")) => "HashAggregate",
            ("Aggregate", Some("Sorted")) => "GroupAggregate",
            ("Aggregate", Some("Mixed")) => "MixedAggregate",
            ("SetOp", Some("Hashed")) => "HashSetOp",
            ("ModifyTable", _) => self.operation.as_deref().unwrap_or("ModifyTable"),
            (t, _) => t,
        }
    }

    /// Visit this node and every descendant, depth first, with their depth.
    pub fn walk<'a>(&'a self, f: &mut dyn FnMut(&'a Node, usize)) {
        fn go<'a>(n: &'a Node, depth: usize, f: &mut dyn FnMut(&'a Node, usize)) {
            f(n, depth);
            for c in &n.children {
                go(c, depth + 1, f);
            }
        }
        go(self, 0, f);
    }

    /// The number of nodes in this subtree.
    pub fn count(&self) -> usize {
        let mut n = 0;
        self.walk(&mut |_, _| n += 1);
        n
    }
}

impl Plan {
    /// Derive what the parsers cannot see node by node (which nodes run in parallel workers).
    pub fn finish(mut self) -> Self {
        fn mark(n: &mut Node, parallel: bool) {
            n.in_parallel = parallel;
            let below = parallel || matches!(n.node_type.as_str(), "Gather" | "Gather Merge");
            for c in &mut n.children {
                mark(c, below);
            }
        }
        mark(&mut self.root, false);
        // Each CTE's time goes to the CTE Scans that read it, in plan order, as far as it goes.
        let mut ctes: Vec<(String, f64)> = Vec::new();
        self.root.walk(&mut |n, _| {
            if n.is_cte() {
                if let Some(name) = n
                    .subplan_name
                    .as_deref()
                    .and_then(|s| s.strip_prefix("CTE "))
                {
                    ctes.push((name.to_string(), n.inclusive_ms()));
                }
            }
        });
        if !ctes.is_empty() {
            fn assign(n: &mut Node, ctes: &mut [(String, f64)]) {
                if n.node_type == "CTE Scan" {
                    if let Some(c) = ctes
                        .iter_mut()
                        .find(|(name, _)| Some(name.as_str()) == n.relation_name.as_deref())
                    {
                        let take = c.1.min(n.inclusive_ms());
                        n.cte_ms = take;
                        c.1 -= take;
                    }
                }
                for c in &mut n.children {
                    assign(c, ctes);
                }
            }
            assign(&mut self.root, &mut ctes);
        }
        self
    }

    /// Whether the plan carries ANALYZE data.
    pub fn analyzed(&self) -> bool {
        self.execution_time_ms.is_some() || self.root.actual_total_time.is_some()
    }

    /// The total time to share node times against: execution time, else the root's time and
    /// the triggers' (which run outside the plan tree).
    pub fn total_ms(&self) -> f64 {
        self.execution_time_ms
            .unwrap_or_else(|| self.root.inclusive_ms() + self.trigger_time_ms.unwrap_or(0.0))
            .max(f64::MIN_POSITIVE)
    }
}

/// Read plans from any supported input: the text, JSON, YAML or XML format, bare or as psql
/// prints it in any setting, as GUI clients copy it, or auto_explain entries of a server log.
pub fn parse(input: &str) -> Result<Vec<Plan>, PlanError> {
    let input = input.strip_prefix('\u{feff}').unwrap_or(input);
    let trimmed = input.trim_start();
    if trimmed.is_empty() {
        return Err(PlanError::Empty("the input is empty".to_string()));
    }
    let mut plans = Vec::new();
    for entry in paste::unwrap(input) {
        let mut got = match entry.body {
            // JSON that never names a "Plan" is not EXPLAIN output, whatever the JSON reader says.
            paste::Body::Json(j) => json::parse(&j).map_err(|e| {
                if j.contains("\"Plan\"") {
                    e
                } else {
                    PlanError::Empty(format!(
                        "expected EXPLAIN output: the text format (`Seq Scan on t  (cost=…)`) or JSON (`[{{\"Plan\": …}}]`, EXPLAIN (FORMAT JSON)); the input starts with '{}'",
                        text::truncate(trimmed.lines().next().unwrap_or(""), 40)
                    ))
                }
            })?,
            paste::Body::Yaml(y) => yaml::parse(&y)?,
            paste::Body::Xml(x) => xml::parse(&x)?,
            paste::Body::Text(lines) => vec![text::parse_lines(lines)?],
        };
        for p in &mut got {
            if p.query_text.is_none() {
                p.query_text.clone_from(&entry.query_text);
            }
            if p.execution_time_ms.is_none() && p.analyzed() {
                p.execution_time_ms = entry.duration_ms;
            }
        }
        plans.extend(got);
    }
    if plans.is_empty() {
        return Err(PlanError::Empty(
            "no plan found (expected EXPLAIN output in the text, JSON, YAML or XML format)"
                .to_string(),
        ));
    }
    Ok(plans)
}

/// Run `f` on a thread with a stack large enough for plans nested [`json::MAX_DEPTH`] levels
/// deep (the readers and the value they build recurse once or twice per level).
pub(crate) fn with_large_stack<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|s| {
        let reader = std::thread::Builder::new()
            .name("dbkit-plan-reader".to_string())
            .stack_size(256 << 20)
            .spawn_scoped(s, f)
            .unwrap_or_else(|e| panic!("cannot start the plan reader thread: {e}"));
        match reader.join() {
            Ok(v) => v,
            Err(p) => std::panic::resume_unwind(p),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn input_that_is_not_a_plan_says_what_was_expected() {
        for junk in ["[1, 2] hello", "{\"a\": 1}", "[not json"] {
            let e = parse(junk).unwrap_err().to_string();
            assert!(e.contains("expected EXPLAIN output"), "{junk}: {e}");
            assert!(!e.contains("trailing characters"), "{junk}: {e}");
        }
        // A plan cut short is still JSON that names a Plan: the JSON reader's own words.
        let e = parse("[{\"Plan\": {\"Node Type\": 3")
            .unwrap_err()
            .to_string();
        assert!(e.contains("invalid EXPLAIN JSON"), "{e}");
    }
}
