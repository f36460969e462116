//! The reports of `dbkit shard locate` and `dbkit shard validate`.

use super::map::{KeyLocation, ShardMap};
use crate::finding::Finding;
use crate::view::{Cell, Report, Table, Tone};
use serde::Serialize;

/// Where each key lives.
#[derive(Debug, Serialize)]
pub struct LocateReport {
    /// The map file.
    pub map: String,
    /// The map version.
    pub version: u64,
    /// One row per key and table.
    pub locations: Vec<KeyLocation>,
}

impl Report for LocateReport {
    fn kind(&self) -> &'static str {
        "shard-locate"
    }
    fn summary(&self) -> String {
        format!(
            "{} (version {}): {} location(s)",
            self.map,
            self.version,
            self.locations.len()
        )
    }
    fn tables(&self) -> Vec<Table> {
        let mut t = Table::new(
            "Locations",
            &["key", "shard", "table", "node", "zone", "state", "hash"],
        );
        for l in &self.locations {
            t.row(vec![
                Cell::text(l.key.clone()),
                Cell::num(l.shard),
                Cell::text(l.table.clone().unwrap_or_default()),
                Cell::text(l.node.clone()),
                Cell::text(l.zone.clone().unwrap_or_default()),
                Cell::text(format!("{:?}", l.state).to_lowercase()),
                Cell::toned(l.hash.clone().unwrap_or_default(), Tone::Dim),
            ]);
        }
        vec![t]
    }
}

/// Per node: shards, bytes, weight.
#[derive(Debug, Serialize)]
pub struct NodeSummary {
    /// Node name.
    pub node: String,
    /// Zone.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub zone: Option<String>,
    /// State.
    pub state: String,
    /// Capacity weight.
    pub weight: f64,
    /// Shards held.
    pub shards: usize,
    /// Bytes held (known sizes only).
    pub bytes: u64,
}

/// What is wrong with a map, and its shape per node.
#[derive(Debug, Serialize)]
pub struct ValidateReport {
    /// The map file.
    pub map: String,
    /// The map version.
    pub version: u64,
    /// Per node.
    pub nodes: Vec<NodeSummary>,
    /// The findings.
    pub findings: Vec<Finding>,
}

impl ValidateReport {
    /// Validates `map` (read from `path`).
    pub fn build(path: &str, map: &ShardMap) -> ValidateReport {
        let nodes = map
            .nodes
            .iter()
            .map(|n| {
                let held = map.shards.iter().filter(|s| s.node == n.name);
                NodeSummary {
                    node: n.name.clone(),
                    zone: n.zone.clone(),
                    state: format!("{:?}", n.state).to_lowercase(),
                    weight: n.weight,
                    shards: held.clone().count(),
                    bytes: held.filter_map(|s| s.bytes).sum(),
                }
            })
            .collect();
        ValidateReport {
            map: path.to_string(),
            version: map.version,
            nodes,
            findings: map.validate(),
        }
    }
}

impl Report for ValidateReport {
    fn kind(&self) -> &'static str {
        "shard-validate"
    }
    fn summary(&self) -> String {
        format!(
            "{} (version {}): {} node(s), {} shard(s), {} finding(s)",
            self.map,
            self.version,
            self.nodes.len(),
            self.nodes.iter().map(|n| n.shards).sum::<usize>(),
            self.findings.len()
        )
    }
    fn tables(&self) -> Vec<Table> {
        let mut t = Table::new(
            "Nodes",
            &["node", "zone", "state", "weight", "shards", "bytes"],
        );
        for n in &self.nodes {
            t.row(vec![
                Cell::text(n.node.clone()),
                Cell::text(n.zone.clone().unwrap_or_default()),
                Cell::text(n.state.clone()),
                Cell::num(n.weight),
                Cell::num(n.shards),
                Cell::num(n.bytes),
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

/// A rebalance plan for a map file.
#[derive(Debug, Serialize)]
pub struct PlanReport {
    /// The map file.
    pub map: String,
    /// The map version planned from.
    pub version: u64,
    /// The version of the map the plan produces.
    pub new_version: u64,
    /// The plan.
    #[serde(flatten)]
    pub plan: super::plan::Plan,
}

fn gb(strategy: super::plan::Strategy, w: f64) -> String {
    match strategy {
        super::plan::Strategy::BySize => crate::view::human_bytes(w),
        _ => format!("{w:.1}"),
    }
}

impl Report for PlanReport {
    fn kind(&self) -> &'static str {
        "shard-plan"
    }
    fn charts(&self) -> Vec<crate::view::Chart> {
        use crate::view::{Chart, ChartKind, ChartPoint};
        let unit = match self.plan.strategy {
            super::plan::Strategy::BySize => "bytes",
            _ => "",
        };
        let bars = |id: &str, title: &str, after: bool| Chart {
            id: id.into(),
            title: title.into(),
            kind: ChartKind::Bars,
            marks: "target".into(),
            unit: unit.into(),
            points: self
                .plan
                .nodes
                .iter()
                .map(|n| {
                    let v = if after { n.after } else { n.before };
                    let off = if n.target > 0.0 {
                        v / n.target - 1.0
                    } else {
                        0.0
                    };
                    let mut p = ChartPoint::new(n.node.clone(), v).tone(
                        if off.abs() > self.plan.threshold {
                            Tone::Bad
                        } else {
                            Tone::Good
                        },
                    );
                    p.mark = Some(n.target);
                    p.text = Some(format!(
                        "{} ({:+.0}% of target)",
                        gb(self.plan.strategy, v),
                        off * 100.0
                    ));
                    p
                })
                .collect(),
        };
        // The flow: what moves from which node to which, summed per pair, in plan order.
        let mut flows: Vec<((String, String), f64, usize)> = Vec::new();
        for m in &self.plan.moves {
            let pair = (m.from.clone(), m.to.clone());
            match flows.iter_mut().find(|f| f.0 == pair) {
                Some(f) => {
                    f.1 += m.weight;
                    f.2 += m.shards.len();
                }
                None => flows.push((pair, m.weight, m.shards.len())),
            }
        }
        let flow = Chart {
            id: "flow".into(),
            title: "What moves from node to node".into(),
            kind: ChartKind::Flow,
            marks: "target".into(),
            unit: unit.into(),
            points: flows
                .into_iter()
                .map(|((from, to), w, n)| {
                    let mut p = ChartPoint::new(from, w);
                    p.to = Some(to);
                    p.text = Some(format!("{} in {n} shard(s)", gb(self.plan.strategy, w)));
                    p
                })
                .collect(),
        };
        vec![
            bars(
                "before",
                "Load per node before the plan (dashed: capacity-weighted target)",
                false,
            ),
            bars(
                "after",
                "Load per node after the plan (dashed: capacity-weighted target)",
                true,
            ),
            flow,
        ]
    }
    fn summary(&self) -> String {
        let p = &self.plan;
        format!(
            "{} (version {} -> {}): {} split(s), {} move(s), {} moved (lower bound {}; greedy most-to-least-loaded: {} in {} moves{}); {}",
            self.map,
            self.version,
            self.new_version,
            p.splits.len(),
            p.moves.len(),
            gb(p.strategy, p.moved),
            gb(p.strategy, p.lower_bound),
            gb(p.strategy, p.greedy_moved),
            p.greedy_moves,
            if p.greedy_balanced { "" } else { ", not balanced" },
            if p.balanced { "balanced" } else { "NOT balanced" }
        )
    }
    fn tables(&self) -> Vec<Table> {
        let p = &self.plan;
        let mut out = Vec::new();
        if !p.splits.is_empty() {
            let mut t = Table::new("Splits (before the moves)", &["shards", "into", "how"]);
            for s in &p.splits {
                t.row(vec![
                    Cell::text(ids(&s.shards)),
                    Cell::text(ids(&s.into)),
                    Cell::text(s.how.clone()),
                ]);
            }
            out.push(t);
        }
        let mut t = Table::new("Moves", &["#", "shards", "from", "to", "bytes"]);
        for m in &p.moves {
            t.row(vec![
                Cell::num(m.seq),
                Cell::text(ids(&m.shards)),
                Cell::text(m.from.clone()),
                Cell::text(m.to.clone()),
                Cell::text(crate::view::human_bytes(m.bytes as f64)),
            ]);
        }
        out.push(t);
        let mut n = Table::new(
            "Nodes",
            &["node", "weight", "target", "before", "after", "deviation"],
        );
        for b in &p.nodes {
            let tone = if b.deviation.abs() <= p.threshold + 1e-9 {
                Tone::Good
            } else {
                Tone::Bad
            };
            n.row(vec![
                Cell::text(b.node.clone()),
                Cell::num(b.weight),
                Cell::text(gb(p.strategy, b.target)),
                Cell::text(gb(p.strategy, b.before)),
                Cell::text(gb(p.strategy, b.after)),
                Cell::toned(format!("{:+.1}%", b.deviation * 100.0), tone),
            ]);
        }
        out.push(n);
        out
    }
    fn findings(&self) -> &[Finding] {
        &self.plan.findings
    }
}

fn ids(v: &[u64]) -> String {
    v.iter().map(u64::to_string).collect::<Vec<_>>().join(", ")
}
