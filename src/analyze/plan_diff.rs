//! Comparing two plans of the same query, node by node: scan types and indexes per relation,
//! join methods per set of joined relations, cost and time deltas, and findings that appeared or
//! went away. The CI regression gate builds on [`diff`] and [`PlanDiff::regressions`].

use super::plan::analyze;
use crate::config::Config;
use crate::finding::{Finding, Location, RuleId, Severity};
use crate::plan::{Node, Plan};
use crate::view::fmt_ms;
use crate::view::{Cell, Report, Table, Tone};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// The regression rule's id.
pub const RULE_ID: RuleId = RuleId::PlanRegression;

/// What kind of difference a [`Change`] is (serialized as the kebab-case names reports show).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ChangeKind {
    /// A relation is read by another scan type.
    ScanChanged,
    /// An index the before plan used is not used any more.
    IndexUnused,
    /// An index is used that was not before.
    IndexUsed,
    /// Two relations are joined by another method.
    JoinChanged,
    /// A relation appears only in the after plan.
    RelationAdded,
    /// A relation appears only in the before plan.
    RelationRemoved,
    /// The total estimated cost changed.
    Cost,
    /// The execution time changed.
    Time,
}

impl ChangeKind {
    /// The name reports show.
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::ScanChanged => "scan-changed",
            ChangeKind::IndexUnused => "index-unused",
            ChangeKind::IndexUsed => "index-used",
            ChangeKind::JoinChanged => "join-changed",
            ChangeKind::RelationAdded => "relation-added",
            ChangeKind::RelationRemoved => "relation-removed",
            ChangeKind::Cost => "cost",
            ChangeKind::Time => "time",
        }
    }
}

impl std::fmt::Display for ChangeKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One difference between the plans.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Change {
    /// What kind of difference.
    pub kind: ChangeKind,
    /// The relation (or joined relations) concerned.
    pub subject: String,
    /// Before.
    pub before: String,
    /// After.
    pub after: String,
    /// Whether this makes the plan worse.
    pub regression: bool,
}

/// The comparison of two plans.
#[derive(Debug, Clone, Serialize)]
pub struct PlanDiff {
    /// Root total cost before.
    pub cost_before: Option<f64>,
    /// Root total cost after.
    pub cost_after: Option<f64>,
    /// Execution time before, ms.
    pub time_before_ms: Option<f64>,
    /// Execution time after, ms.
    pub time_after_ms: Option<f64>,
    /// Node-level differences.
    pub changes: Vec<Change>,
    /// Findings of the after plan that the before plan did not have.
    pub new_findings: Vec<Finding>,
    /// Findings of the before plan that are gone.
    pub resolved_findings: Vec<Finding>,
}

impl PlanDiff {
    /// The changes that make the plan worse.
    pub fn regressions(&self) -> impl Iterator<Item = &Change> {
        self.changes.iter().filter(|c| c.regression)
    }
}

fn is_scan(n: &Node) -> bool {
    n.relation_name.is_some() && (n.node_type.contains("Scan") || n.node_type == "ModifyTable")
}

fn scan_key(n: &Node) -> String {
    let rel = n.relation_name.clone().unwrap_or_default();
    match &n.alias {
        Some(a) if *a != rel => format!("{rel} {a}"),
        _ => rel,
    }
}

fn scans(p: &Plan) -> BTreeMap<String, Vec<&Node>> {
    let mut m: BTreeMap<String, Vec<&Node>> = BTreeMap::new();
    p.root.walk(&mut |n, _| {
        if is_scan(n) && n.node_type != "Bitmap Index Scan" {
            m.entry(scan_key(n)).or_default().push(n);
        }
    });
    m
}

fn relations_below(n: &Node) -> BTreeSet<String> {
    let mut s = BTreeSet::new();
    n.walk(&mut |x, _| {
        if is_scan(x) {
            s.insert(scan_key(x));
        }
    });
    s
}

fn joins(p: &Plan) -> BTreeMap<String, String> {
    let mut m = BTreeMap::new();
    p.root.walk(&mut |n, _| {
        if matches!(
            n.node_type.as_str(),
            "Nested Loop" | "Hash Join" | "Merge Join"
        ) {
            let rels: Vec<String> = relations_below(n).into_iter().collect();
            m.insert(rels.join(" ⋈ "), n.label());
        }
    });
    m
}

/// Indexes used by a relation's scans, including through bitmap index scans below them.
fn indexes(n: &Node) -> BTreeSet<String> {
    let mut s = BTreeSet::new();
    n.walk(&mut |x, _| {
        if let Some(i) = &x.index_name {
            s.insert(i.clone());
        }
    });
    s
}

fn scan_rank(t: &str) -> u8 {
    match t {
        "Seq Scan" => 0,
        "Bitmap Heap Scan" => 1,
        "Index Scan" => 2,
        "Index Only Scan" => 3,
        _ => 1,
    }
}

/// Compare `before` and `after`, two plans of the same query.
pub fn diff(before: &Plan, after: &Plan, cfg: &Config) -> PlanDiff {
    let mut changes = Vec::new();
    let (sb, sa) = (scans(before), scans(after));
    for (rel, b_nodes) in &sb {
        let Some(a_nodes) = sa.get(rel) else {
            changes.push(Change {
                kind: ChangeKind::RelationRemoved,
                subject: rel.clone(),
                before: b_nodes[0].node_type.clone(),
                after: String::new(),
                regression: false,
            });
            continue;
        };
        let (b, a) = (b_nodes[0], a_nodes[0]);
        if b.node_type != a.node_type {
            changes.push(Change {
                kind: ChangeKind::ScanChanged,
                subject: rel.clone(),
                before: b.label(),
                after: a.label(),
                regression: scan_rank(&a.node_type) < scan_rank(&b.node_type)
                    && a.node_type == "Seq Scan",
            });
        }
        let ib: BTreeSet<String> = b_nodes.iter().flat_map(|n| indexes(n)).collect();
        let ia: BTreeSet<String> = a_nodes.iter().flat_map(|n| indexes(n)).collect();
        for gone in ib.difference(&ia) {
            changes.push(Change {
                kind: ChangeKind::IndexUnused,
                subject: rel.clone(),
                before: gone.clone(),
                after: String::new(),
                regression: true,
            });
        }
        for new in ia.difference(&ib) {
            changes.push(Change {
                kind: ChangeKind::IndexUsed,
                subject: rel.clone(),
                before: String::new(),
                after: new.clone(),
                regression: false,
            });
        }
    }
    for (rel, a_nodes) in &sa {
        if !sb.contains_key(rel) {
            changes.push(Change {
                kind: ChangeKind::RelationAdded,
                subject: rel.clone(),
                before: String::new(),
                after: a_nodes[0].node_type.clone(),
                regression: false,
            });
        }
    }
    let (jb, ja) = (joins(before), joins(after));
    for (rels, b) in &jb {
        if let Some(a) = ja.get(rels) {
            if a != b {
                changes.push(Change {
                    kind: ChangeKind::JoinChanged,
                    subject: rels.clone(),
                    before: b.clone(),
                    after: a.clone(),
                    regression: false,
                });
            }
        }
    }
    let t = &cfg.rules.plan;
    let (cb, ca) = (before.root.total_cost, after.root.total_cost);
    if let (Some(cb), Some(ca)) = (cb, ca) {
        if cb > 0.0 && ca / cb >= t.diff_cost_ratio {
            changes.push(Change {
                kind: ChangeKind::Cost,
                subject: "total cost".to_string(),
                before: format!("{cb:.0}"),
                after: format!("{ca:.0}"),
                regression: true,
            });
        }
    }
    let (tb, ta) = (before.execution_time_ms, after.execution_time_ms);
    if let (Some(tb), Some(ta)) = (tb, ta) {
        if tb > 0.0 && ta / tb >= t.diff_time_ratio {
            changes.push(Change {
                kind: ChangeKind::Time,
                subject: "execution time".to_string(),
                before: fmt_ms(tb),
                after: fmt_ms(ta),
                regression: true,
            });
        }
    }
    let fb = analyze(before, cfg, None);
    let fa = analyze(after, cfg, None);
    let key = |f: &Finding| (f.rule, f.location.node.clone());
    let kb: BTreeSet<_> = fb.iter().map(key).collect();
    let ka: BTreeSet<_> = fa.iter().map(key).collect();
    PlanDiff {
        cost_before: cb,
        cost_after: ca,
        time_before_ms: tb,
        time_after_ms: ta,
        changes,
        new_findings: fa
            .iter()
            .filter(|f| !kb.contains(&key(f)))
            .cloned()
            .collect(),
        resolved_findings: fb
            .iter()
            .filter(|f| !ka.contains(&key(f)))
            .cloned()
            .collect(),
    }
}

/// `dbkit plan diff BEFORE AFTER`.
#[derive(Debug, Clone, Serialize)]
pub struct PlanDiffReport {
    /// The before input.
    pub before: String,
    /// The after input.
    pub after: String,
    /// The comparison.
    pub diff: PlanDiff,
    /// `plan-regression` findings (one per regression) and the after plan's new findings.
    pub findings: Vec<Finding>,
    /// The before plan's nodes, depth first (the HTML view draws both trees side by side).
    pub before_nodes: Vec<super::plan::report::NodeRow>,
    /// The after plan's nodes.
    pub after_nodes: Vec<super::plan::report::NodeRow>,
    /// Ids of the before plan's nodes a change is about (they read a relation it names).
    pub changed_before: Vec<usize>,
    /// Ids of the after plan's nodes a change is about.
    pub changed_after: Vec<usize>,
}

/// The words of a label or subject: identifiers, dotted names split too.
fn words(s: &str) -> impl Iterator<Item = &str> {
    s.split(|c: char| !(c.is_alphanumeric() || c == '_' || c == '.'))
        .flat_map(|w| std::iter::once(w).chain(w.rsplit('.').take(1)))
        .filter(|w| w.len() > 1)
}

/// Ids of `nodes` that read a relation one of the node-level `changes` names.
fn changed_nodes(nodes: &[super::plan::report::NodeRow], changes: &[Change]) -> Vec<usize> {
    let subjects: BTreeSet<&str> = changes
        .iter()
        .filter(|c| !matches!(c.kind, ChangeKind::Cost | ChangeKind::Time))
        .flat_map(|c| words(&c.subject))
        .collect();
    nodes
        .iter()
        .filter(|n| n.label.contains(" on ") && words(&n.label).any(|w| subjects.contains(w)))
        .map(|n| n.id)
        .collect()
}

impl PlanDiffReport {
    /// Compare two plans read from the named inputs.
    pub fn build(
        before_name: &str,
        before: &Plan,
        after_name: &str,
        after: &Plan,
        cfg: &Config,
    ) -> Self {
        let d = diff(before, after, cfg);
        let mut findings: Vec<Finding> = d
            .regressions()
            .map(|c| Finding {
                rule: RULE_ID,
                severity: Severity::Error,
                message: match c.kind {
                    ChangeKind::IndexUnused => format!("{}: index {} is no longer used", c.subject, c.before),
                    _ => format!("{}: {} became {}", c.subject, c.before, c.after),
                },
                location: Location { file: Some(after_name.to_string()), node: Some(c.subject.clone()), ..Default::default() },
                evidence: serde_json::json!({ "kind": c.kind, "before": c.before, "after": c.after }),
                suggestion: Some("compare the two plans (dbkit plan show) and check the indexes and statistics the change touched".to_string()),
            })
            .collect();
        findings.extend(d.new_findings.iter().cloned().map(|mut f| {
            f.location.file = Some(after_name.to_string());
            f
        }));
        let before_nodes = super::plan::report::node_rows(
            before,
            &super::plan::analyze(before, cfg, Some(before_name)),
            false,
        );
        let after_nodes = super::plan::report::node_rows(
            after,
            &super::plan::analyze(after, cfg, Some(after_name)),
            false,
        );
        let changed_before = changed_nodes(&before_nodes, &d.changes);
        let changed_after = changed_nodes(&after_nodes, &d.changes);
        PlanDiffReport {
            before: before_name.to_string(),
            after: after_name.to_string(),
            diff: d,
            findings,
            changed_before,
            changed_after,
            before_nodes,
            after_nodes,
        }
    }
}

impl Report for PlanDiffReport {
    fn kind(&self) -> &'static str {
        "plan-diff"
    }
    fn summary(&self) -> String {
        let r = self.diff.regressions().count();
        let cost = match (self.diff.cost_before, self.diff.cost_after) {
            (Some(b), Some(a)) => format!("cost {b:.0} → {a:.0}"),
            _ => "cost unknown".to_string(),
        };
        let time = match (self.diff.time_before_ms, self.diff.time_after_ms) {
            (Some(b), Some(a)) => format!(", time {} → {}", fmt_ms(b), fmt_ms(a)),
            _ => String::new(),
        };
        format!(
            "{} → {}: {cost}{time}; {} change(s), {r} regression(s), {} new finding(s), {} resolved",
            self.before,
            self.after,
            self.diff.changes.len(),
            self.diff.new_findings.len(),
            self.diff.resolved_findings.len()
        )
    }
    fn tables(&self) -> Vec<Table> {
        let mut t = Table::new(
            "Changes",
            &["kind", "subject", "before", "after", "regression"],
        );
        for c in &self.diff.changes {
            t.row(vec![
                Cell::text(c.kind.as_str()),
                Cell::text(c.subject.clone()),
                Cell::text(c.before.clone()),
                Cell::text(c.after.clone()),
                if c.regression {
                    Cell::toned("yes", Tone::Bad)
                } else {
                    Cell::toned("no", Tone::Dim)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn p(json: &str) -> Plan {
        crate::plan::json::parse(json).unwrap().remove(0)
    }

    const BEFORE: &str = r#"[{"Plan": {"Node Type": "Nested Loop", "Join Type": "Inner", "Total Cost": 20.0,
        "Plans": [
          {"Node Type": "Index Scan", "Index Name": "orders_user_id", "Relation Name": "orders", "Alias": "o", "Total Cost": 8.0},
          {"Node Type": "Index Scan", "Index Name": "users_pkey", "Relation Name": "users", "Alias": "u", "Total Cost": 8.0}
        ]}}]"#;
    const AFTER: &str = r#"[{"Plan": {"Node Type": "Hash Join", "Join Type": "Inner", "Total Cost": 2500.0,
        "Plans": [
          {"Node Type": "Seq Scan", "Relation Name": "orders", "Alias": "o", "Total Cost": 2041.0},
          {"Node Type": "Hash", "Plans": [{"Node Type": "Index Scan", "Index Name": "users_pkey", "Relation Name": "users", "Alias": "u", "Total Cost": 8.0}]}
        ]}}]"#;

    #[test]
    fn index_scan_to_seq_scan_is_a_regression() {
        let d = diff(&p(BEFORE), &p(AFTER), &Config::default());
        let kinds: Vec<(&str, bool)> = d
            .changes
            .iter()
            .map(|c| (c.kind.as_str(), c.regression))
            .collect();
        assert_eq!(
            kinds,
            vec![
                ("scan-changed", true),
                ("index-unused", true),
                ("join-changed", false),
                ("cost", true)
            ]
        );
        assert_eq!(
            d.changes[0].before,
            "Index Scan using orders_user_id on orders o"
        );
        assert_eq!(d.changes[2].after, "Hash Join");
        assert_eq!(d.regressions().count(), 3);
    }

    #[test]
    fn the_same_plan_has_no_changes_and_the_reverse_is_no_regression() {
        let d = diff(&p(BEFORE), &p(BEFORE), &Config::default());
        assert!(d.changes.is_empty());
        let d = diff(&p(AFTER), &p(BEFORE), &Config::default());
        assert_eq!(d.regressions().count(), 0, "{:?}", d.changes);
        let r = PlanDiffReport::build("a", &p(BEFORE), "b", &p(AFTER), &Config::default());
        assert_eq!(r.findings.iter().filter(|f| f.rule == RULE_ID).count(), 3);
    }
}
