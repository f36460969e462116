//! Reports of `dbkit plan analyze` and `dbkit plan show`.

use super::{analyze, fmt_ms, fmt_n};
use crate::config::Config;
use crate::finding::{Finding, Severity};
use crate::plan::{Node, Plan};
use crate::view::{Cell, Report, Table, Tone};
use serde::Serialize;

/// One plan's figures and findings.
#[derive(Debug, Clone, Serialize)]
pub struct PlanSummary {
    /// The input it came from.
    pub file: String,
    /// Its index in that input (a JSON array may hold several).
    pub index: usize,
    /// The root node's label.
    pub root: String,
    /// Nodes in the plan.
    pub nodes: usize,
    /// Planner total cost.
    pub total_cost: Option<f64>,
    /// Planning time, ms.
    pub planning_ms: Option<f64>,
    /// Execution time, ms.
    pub execution_ms: Option<f64>,
    /// Findings of this plan.
    pub findings: Vec<Finding>,
}

/// `dbkit plan analyze FILE...`.
#[derive(Debug, Clone, Serialize)]
pub struct PlanAnalyzeReport {
    /// Every plan read.
    pub plans: Vec<PlanSummary>,
    /// All findings, most severe first.
    pub findings: Vec<Finding>,
}

impl PlanAnalyzeReport {
    /// Analyze plans read from named inputs.
    pub fn build(inputs: &[(String, Vec<Plan>)], cfg: &Config) -> Self {
        let mut plans = Vec::new();
        let mut all = Vec::new();
        for (file, ps) in inputs {
            for (i, p) in ps.iter().enumerate() {
                let findings = analyze(p, cfg, Some(file));
                all.extend(findings.iter().cloned());
                plans.push(PlanSummary {
                    file: file.clone(),
                    index: i,
                    root: p.root.label(),
                    nodes: p.root.count(),
                    total_cost: p.root.total_cost,
                    planning_ms: p.planning_time_ms,
                    execution_ms: p.execution_time_ms,
                    findings,
                });
            }
        }
        all.sort_by_key(|f| std::cmp::Reverse(f.severity));
        PlanAnalyzeReport {
            plans,
            findings: all,
        }
    }
}

fn tone(s: Severity) -> Tone {
    match s {
        Severity::Error => Tone::Bad,
        Severity::Warning => Tone::Warn,
        Severity::Info => Tone::Dim,
    }
}

impl Report for PlanAnalyzeReport {
    fn kind(&self) -> &'static str {
        "plan-analyze"
    }
    fn summary(&self) -> String {
        let count = |s| self.findings.iter().filter(|f| f.severity == s).count();
        format!(
            "{} plan(s): {} error(s), {} warning(s), {} info",
            self.plans.len(),
            count(Severity::Error),
            count(Severity::Warning),
            count(Severity::Info)
        )
    }
    fn tables(&self) -> Vec<Table> {
        let mut t = Table::new(
            "Plans",
            &[
                "file",
                "#",
                "root",
                "nodes",
                "cost",
                "execution",
                "findings",
            ],
        );
        for p in &self.plans {
            t.row(vec![
                Cell::text(p.file.clone()),
                Cell::num(p.index + 1),
                Cell::text(p.root.clone()),
                Cell::num(p.nodes),
                Cell::num(p.total_cost.map(crate::view::fmt_n).unwrap_or_default()),
                Cell::num(p.execution_ms.map(fmt_ms).unwrap_or_default()),
                Cell::num(p.findings.len()),
            ]);
        }
        vec![t]
    }
    fn findings(&self) -> &[Finding] {
        &self.findings
    }
    fn findings_mut(&mut self) -> Option<&mut Vec<Finding>> {
        Some(&mut self.findings)
    }
}

/// What explain.depesz and PEV2 show under a node, one `Key: value` line each, in PostgreSQL's
/// order: conditions, keys, sort and hash figures, cache, rows removed, heap, workers, buffers,
/// I/O timings; `Output` only when `verbose`. Per-loop figures say so when the node looped.
pub fn node_details(n: &Node, verbose: bool) -> Vec<String> {
    let mut d = Vec::new();
    let loops = n.loops();
    let removed = |what: &str, v: Option<f64>, d: &mut Vec<String>| {
        if let Some(v) = v.filter(|v| *v > 0.0) {
            d.push(if loops > 1.0 {
                format!(
                    "Rows Removed by {what}: {} per loop ({} in all)",
                    fmt_n(v),
                    fmt_n(v * loops)
                )
            } else {
                format!("Rows Removed by {what}: {}", fmt_n(v))
            });
        }
    };
    let text = |k: &str, v: &Option<String>, d: &mut Vec<String>| {
        if let Some(v) = v {
            d.push(format!("{k}: {v}"));
        }
    };
    let list = |k: &str, v: &[String], d: &mut Vec<String>| {
        if !v.is_empty() {
            d.push(format!("{k}: {}", v.join(", ")));
        }
    };
    text("Cache Key", &n.cache_key, &mut d);
    text("One-Time Filter", &n.one_time_filter, &mut d);
    text("Run Condition", &n.run_condition, &mut d);
    list("Group Key", &n.group_key, &mut d);
    list("Sort Key", &n.sort_key, &mut d);
    list("Presorted Key", &n.presorted_key, &mut d);
    text("Index Cond", &n.index_cond, &mut d);
    text("Recheck Cond", &n.recheck_cond, &mut d);
    removed("Index Recheck", n.rows_removed_by_index_recheck, &mut d);
    text("Hash Cond", &n.hash_cond, &mut d);
    text("Merge Cond", &n.merge_cond, &mut d);
    text("Join Filter", &n.join_filter, &mut d);
    removed("Join Filter", n.rows_removed_by_join_filter, &mut d);
    text("Filter", &n.filter, &mut d);
    removed("Filter", n.rows_removed_by_filter, &mut d);
    if let Some(m) = &n.sort_method {
        let space = match (&n.sort_space_type, n.sort_space_used_kb) {
            (Some(t), Some(kb)) => format!("  {t}: {} kB", fmt_n(kb)),
            _ => String::new(),
        };
        d.push(format!("Sort Method: {m}{space}"));
    }
    if let Some(b) = n.hash_buckets {
        let mut s = format!("Buckets: {}", fmt_n(b));
        if let Some(batches) = n.hash_batches {
            s.push_str(&format!("  Batches: {}", fmt_n(batches)));
            if let Some(o) = n.original_hash_batches.filter(|o| *o != batches) {
                s.push_str(&format!(" (planned {})", fmt_n(o)));
            }
        }
        if let Some(m) = n.peak_memory_usage_kb {
            s.push_str(&format!("  Memory: {} kB", fmt_n(m)));
        }
        d.push(s);
    }
    if n.hashagg_batches.is_some() || n.planned_partitions.is_some() {
        let mut s = Vec::new();
        if let Some(p) = n.planned_partitions {
            s.push(format!("Planned Partitions: {}", fmt_n(p)));
        }
        if let Some(b) = n.hashagg_batches {
            s.push(format!("Batches: {}", fmt_n(b)));
        }
        if let Some(m) = n.peak_memory_usage_kb {
            s.push(format!("Memory: {} kB", fmt_n(m)));
        }
        if let Some(k) = n.disk_usage_kb {
            s.push(format!("Disk: {} kB", fmt_n(k)));
        }
        d.push(s.join("  "));
    }
    if let Some(h) = n.cache_hits {
        let f = |v: Option<f64>| fmt_n(v.unwrap_or(0.0));
        d.push(format!(
            "Hits: {}  Misses: {}  Evictions: {}  Overflows: {}  Memory: {} kB",
            fmt_n(h),
            f(n.cache_misses),
            f(n.cache_evictions),
            f(n.cache_overflows),
            f(n.peak_memory_usage_kb)
        ));
    }
    if let Some(h) = n.heap_fetches {
        d.push(format!("Heap Fetches: {} (in all)", fmt_n(h)));
    }
    if n.exact_heap_blocks.is_some() || n.lossy_heap_blocks.is_some() {
        d.push(format!(
            "Heap Blocks: exact={} lossy={}",
            fmt_n(n.exact_heap_blocks.unwrap_or(0.0)),
            fmt_n(n.lossy_heap_blocks.unwrap_or(0.0))
        ));
    }
    if let Some(p) = n.workers_planned {
        d.push(match n.workers_launched {
            Some(l) => format!("Workers Planned: {}  Launched: {}", fmt_n(p), fmt_n(l)),
            None => format!("Workers Planned: {}", fmt_n(p)),
        });
    }
    if let Some(b) = n.buffers {
        let mut parts = Vec::new();
        let mut group = |name: &str, kv: &[(&str, u64)]| {
            let kv: Vec<String> = kv
                .iter()
                .filter(|(_, v)| *v > 0)
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            if !kv.is_empty() {
                parts.push(format!("{name} {}", kv.join(" ")));
            }
        };
        group(
            "shared",
            &[
                ("hit", b.shared_hit),
                ("read", b.shared_read),
                ("dirtied", b.shared_dirtied),
                ("written", b.shared_written),
            ],
        );
        group("local", &[("hit", b.local_hit), ("read", b.local_read)]);
        group(
            "temp",
            &[("read", b.temp_read), ("written", b.temp_written)],
        );
        // The table's column has shared hit/read; the line is for what it does not show.
        let more = b.shared_dirtied
            + b.shared_written
            + b.local_hit
            + b.local_read
            + b.temp_read
            + b.temp_written;
        if more > 0 {
            d.push(format!("Buffers: {}", parts.join(", ")));
        }
    }
    if let Some(w) = n.wal {
        d.push(format!(
            "WAL: {} records, {} full-page images, {}",
            fmt_n(w.records as f64),
            fmt_n(w.fpi as f64),
            crate::view::human_bytes(w.bytes as f64)
        ));
    }
    if n.io_read_ms.is_some() || n.io_write_ms.is_some() {
        d.push(format!(
            "I/O Timings: read={} write={}",
            fmt_ms(n.io_read_ms.unwrap_or(0.0)),
            fmt_ms(n.io_write_ms.unwrap_or(0.0))
        ));
    }
    if verbose {
        list("Output", &n.output, &mut d);
    }
    d
}

/// One node row of `plan show`.
#[derive(Debug, Clone, Serialize)]
pub struct NodeRow {
    /// Depth-first index (matches `evidence.node` of findings).
    pub id: usize,
    /// Depth in the tree.
    pub depth: usize,
    /// `Seq Scan on orders o`.
    pub label: String,
    /// Time in this node and below, all loops, ms.
    pub inclusive_ms: Option<f64>,
    /// Time in this node alone, all loops, ms.
    pub exclusive_ms: Option<f64>,
    /// Exclusive time as a share of the total.
    pub share: Option<f64>,
    /// Estimated rows per loop.
    pub plan_rows: Option<f64>,
    /// Actual rows per loop.
    pub actual_rows: Option<f64>,
    /// Loops.
    pub loops: Option<f64>,
    /// Misestimate factor (≥ 1) and direction (`under`/`over`).
    pub misestimate: Option<(f64, &'static str)>,
    /// Shared buffers hit + read (inclusive).
    pub shared_hit: Option<u64>,
    /// Shared buffers read (inclusive).
    pub shared_read: Option<u64>,
    /// False when the node never executed.
    pub executed: bool,
    /// Rule ids of the findings on this node.
    pub rules: Vec<String>,
    /// Conditions, keys and figures under the node ([`node_details`]).
    pub details: Vec<String>,
}

/// `dbkit plan show FILE`: the tree, as explain.depesz shows it.
#[derive(Debug, Clone, Serialize)]
pub struct PlanShowReport {
    /// The input.
    pub file: String,
    /// Planning time, ms.
    pub planning_ms: Option<f64>,
    /// Execution time, ms.
    pub execution_ms: Option<f64>,
    /// The statement, when the input carries it.
    pub query_text: Option<String>,
    /// Trigger times (after the tree, as PostgreSQL prints them).
    pub triggers: Vec<crate::plan::Trigger>,
    /// The nodes, depth first.
    pub nodes: Vec<NodeRow>,
    /// Findings.
    pub findings: Vec<Finding>,
}

/// The plan's nodes depth first, each with its figures and the rules of `findings` that point
/// at it (`evidence.node`); `verbose` adds each node's Output columns.
pub fn node_rows(plan: &Plan, findings: &[Finding], verbose: bool) -> Vec<NodeRow> {
    let analyzed = plan.analyzed();
    let total = plan.total_ms();
    let mut nodes = Vec::new();
    plan.root.walk(&mut |n, depth| {
        let id = nodes.len();
        let rules = findings
            .iter()
            .filter(|f| f.evidence.get("node").and_then(|v| v.as_u64()) == Some(id as u64))
            .map(|f| f.rule.to_string())
            .collect();
        nodes.push(NodeRow {
            id,
            depth,
            label: n.label(),
            inclusive_ms: analyzed.then(|| n.inclusive_ms()),
            exclusive_ms: analyzed.then(|| n.exclusive_ms()),
            share: analyzed.then(|| n.exclusive_ms() / total),
            plan_rows: n.plan_rows,
            actual_rows: n.actual_rows,
            loops: n.actual_loops,
            misestimate: n
                .misestimate()
                .map(|(f, under)| (f, if under { "under" } else { "over" })),
            shared_hit: n.buffers.map(|b| b.shared_hit),
            shared_read: n.buffers.map(|b| b.shared_read),
            executed: n.executed,
            rules,
            details: node_details(n, verbose),
        });
    });
    nodes
}

impl PlanShowReport {
    /// Build the tree view of one plan; `verbose` adds each node's Output columns.
    pub fn build(file: &str, plan: &Plan, cfg: &Config, verbose: bool) -> Self {
        let findings = analyze(plan, cfg, Some(file));
        let nodes = node_rows(plan, &findings, verbose);
        PlanShowReport {
            file: file.to_string(),
            planning_ms: plan.planning_time_ms,
            execution_ms: plan.execution_time_ms,
            query_text: plan.query_text.clone(),
            triggers: plan.triggers.clone(),
            nodes,
            findings,
        }
    }
}

impl Report for PlanShowReport {
    fn kind(&self) -> &'static str {
        "plan-show"
    }
    fn charts(&self) -> Vec<crate::view::Chart> {
        use crate::view::{Chart, ChartKind, ChartPoint};
        let mut worst: Vec<&NodeRow> = self
            .nodes
            .iter()
            .filter(|n| n.exclusive_ms.is_some_and(|ms| ms > 0.0))
            .collect();
        if worst.is_empty() {
            return Vec::new();
        }
        worst.sort_by(|a, b| {
            b.exclusive_ms
                .unwrap_or(0.0)
                .total_cmp(&a.exclusive_ms.unwrap_or(0.0))
        });
        let points = worst
            .iter()
            .take(8)
            .map(|n| {
                let share = n.share.unwrap_or(0.0);
                let ms = n.exclusive_ms.unwrap_or(0.0);
                let mut p =
                    ChartPoint::new(format!("#{} {}", n.id, n.label), ms).tone(if share >= 0.2 {
                        Tone::Bad
                    } else if share >= 0.1 {
                        Tone::Warn
                    } else {
                        Tone::Plain
                    });
                p.text = Some(format!("{} ({:.0}%)", fmt_ms(ms), share * 100.0));
                p
            })
            .collect();
        vec![Chart {
            id: "worst-nodes".into(),
            title: "Where the time goes: nodes by their own time".into(),
            kind: ChartKind::Bars,
            marks: "target".into(),
            unit: "ms".into(),
            points,
        }]
    }
    fn summary(&self) -> String {
        match (self.execution_ms, self.planning_ms) {
            (Some(e), p) => format!(
                "{}: execution {}, planning {}, {} nodes, {} finding(s)",
                self.file,
                fmt_ms(e),
                p.map(fmt_ms).unwrap_or_else(|| "?".to_string()),
                self.nodes.len(),
                self.findings.len()
            ),
            (None, _) => format!(
                "{}: estimates only, {} nodes, {} finding(s)",
                self.file,
                self.nodes.len(),
                self.findings.len()
            ),
        }
    }
    fn tables(&self) -> Vec<Table> {
        let mut tables = Vec::new();
        if let Some(q) = &self.query_text {
            let mut t = Table::new("Statement", &["query"]).tall();
            t.row(vec![Cell::text(q.clone())]);
            tables.push(t);
        }
        let mut t = Table::new(
            "Plan",
            &[
                "#",
                "exclusive",
                "inclusive",
                "share",
                "rows est→act",
                "misestimate",
                "loops",
                "buffers hit/read",
                "node",
            ],
        )
        .droppable(&["buffers hit/read", "misestimate", "inclusive"])
        .tall();
        for n in &self.nodes {
            let share = n.share.unwrap_or(0.0);
            let share_tone = if share >= 0.5 {
                Tone::Bad
            } else if share >= 0.1 {
                Tone::Warn
            } else {
                Tone::Plain
            };
            let rows = match (n.plan_rows, n.actual_rows) {
                (Some(p), Some(a)) => format!("{} → {}", fmt_n(p), fmt_n(a)),
                (Some(p), None) => fmt_n(p),
                _ => String::new(),
            };
            let mis = match n.misestimate {
                Some((f, dir)) if f >= 2.0 => Cell::toned(
                    format!("{}{f:.0}x", if dir == "under" { "↓" } else { "↑" }),
                    if f >= 100.0 {
                        Tone::Bad
                    } else if f >= 10.0 {
                        Tone::Warn
                    } else {
                        Tone::Plain
                    },
                ),
                _ => Cell::text(""),
            };
            let mut label = format!(
                "{}{}{}",
                "  ".repeat(n.depth),
                if n.depth > 0 { "→ " } else { "" },
                n.label
            );
            if !n.executed {
                label.push_str(" (never executed)");
            }
            if !n.rules.is_empty() {
                label.push_str(&format!("  [{}]", n.rules.join(", ")));
            }
            let pad = "  ".repeat(n.depth) + if n.depth > 0 { "     " } else { "  " };
            for d in &n.details {
                label.push('\n');
                label.push_str(&pad);
                label.push_str(d);
            }
            let severity = self
                .findings
                .iter()
                .filter(|f| f.evidence.get("node").and_then(|v| v.as_u64()) == Some(n.id as u64))
                .map(|f| f.severity)
                .max();
            t.row(vec![
                Cell::num(n.id),
                Cell::num(n.exclusive_ms.map(fmt_ms).unwrap_or_default()),
                Cell::num(n.inclusive_ms.map(fmt_ms).unwrap_or_default()),
                Cell {
                    text: n
                        .share
                        .map(|s| format!("{:.1}%", s * 100.0))
                        .unwrap_or_default(),
                    tone: share_tone,
                    numeric: true,
                },
                Cell::num(rows),
                mis,
                Cell::num(n.loops.map(fmt_n).unwrap_or_default()),
                Cell::num(match (n.shared_hit, n.shared_read) {
                    (Some(h), Some(r)) => format!("{}/{}", fmt_n(h as f64), fmt_n(r as f64)),
                    _ => String::new(),
                }),
                match severity {
                    Some(s) => Cell::toned(label, tone(s)),
                    None => Cell::text(label),
                },
            ]);
        }
        tables.push(t);
        if !self.triggers.is_empty() {
            let mut t = Table::new("Triggers", &["trigger", "relation", "time", "calls"]);
            for tr in &self.triggers {
                let name = match (&tr.constraint, &tr.name) {
                    (Some(c), _) => format!("for constraint {c}"),
                    (None, Some(n)) => n.clone(),
                    _ => "trigger".to_string(),
                };
                t.row(vec![
                    Cell::text(name),
                    Cell::text(tr.relation.clone().unwrap_or_default()),
                    Cell::num(fmt_ms(tr.time_ms)),
                    Cell::num(fmt_n(tr.calls)),
                ]);
            }
            tables.push(t);
        }
        tables
    }
    fn findings(&self) -> &[Finding] {
        &self.findings
    }
    fn findings_mut(&mut self) -> Option<&mut Vec<Finding>> {
        Some(&mut self.findings)
    }
}
