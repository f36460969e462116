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
}
