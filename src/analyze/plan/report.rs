//! Reports of `dbkit plan analyze` and `dbkit plan show`.

use super::{analyze, fmt_ms, fmt_n};
use crate::config::Config;
use crate::finding::{Finding, Severity};
use crate::plan::Plan;
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
    /// The nodes, depth first.
    pub nodes: Vec<NodeRow>,
    /// Findings.
    pub findings: Vec<Finding>,
}

impl PlanShowReport {
    /// Build the tree view of one plan.
    pub fn build(file: &str, plan: &Plan, cfg: &Config) -> Self {
        let findings = analyze(plan, cfg, Some(file));
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
            });
        });
        PlanShowReport {
            file: file.to_string(),
            planning_ms: plan.planning_time_ms,
            execution_ms: plan.execution_time_ms,
            nodes,
            findings,
        }
    }
}

impl Report for PlanShowReport {
    fn kind(&self) -> &'static str {
        "plan-show"
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
        );
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
        vec![t]
    }
    fn findings(&self) -> &[Finding] {
        &self.findings
    }
    fn findings_mut(&mut self) -> Option<&mut Vec<Finding>> {
        Some(&mut self.findings)
    }
}
