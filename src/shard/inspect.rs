//! `dbkit shard inspect`: what the live nodes hold, matched to the map. The database layer
//! reads each node's catalog ([`NodeLive`]); this module finds each shard's data there and
//! reports sizes, rows, the balance per node and what does not match the map.
//!
//! A shard's data on its node is found, per sharded table, as (first match wins):
//! 1. a partition of the table whose bound is the shard's (hash modulus and remainder, range
//!    or list), as with `PARTITION BY HASH` spread over nodes;
//! 2. a table named `{table}_{shard id}` in the table's schema (one table per shard);
//! 3. the plain table itself: all of it when the node holds one shard of the table, else the
//!    share of a sample of its keys that the map sends to the shard (application-level
//!    sharding, several shards in one table).

use super::map::{finding, HashSlot, KeyRange, Method, NodeState, Shard, ShardMap};
use crate::finding::RuleId;
use crate::finding::{Finding, Severity};
use crate::sql::bound::{BoundValue, PartitionBound};
use crate::view::{human_bytes, Cell, Report, Table, Tone};
use serde::Serialize;
use std::collections::BTreeMap;

/// What the database layer should read on one node.
#[derive(Debug, Clone)]
pub struct NodeRequest {
    /// The node's name in the map.
    pub node: String,
    /// One entry per sharded table.
    pub tables: Vec<TableRequest>,
}

/// One sharded table to read on a node.
#[derive(Debug, Clone)]
pub struct TableRequest {
    /// The table as the map names it (`orders` or `sales.orders`).
    pub table: String,
    /// The shard key column, sampled from a plain table to share its size among the node's
    /// shards and to find rows of shards the map places elsewhere.
    pub key: String,
}

/// A relation on a node: a partition of a sharded table or a `{table}_{n}` table.
#[derive(Debug, Clone, Default, Serialize)]
pub struct LiveRelation {
    /// Relation name (schema as the table's).
    pub name: String,
    /// The partition bound as PostgreSQL prints it; `None` for a table that is not a partition.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bound: Option<String>,
    /// `pg_total_relation_size` (a partitioned partition: the sum of its leaves).
    pub bytes: u64,
    /// Rows (planner estimate; live tuples when never analyzed).
    pub rows: u64,
}

/// One sharded table as a node holds it.
#[derive(Debug, Clone, Default, Serialize)]
pub struct LiveTable {
    /// The table as the map names it.
    pub table: String,
    /// The table exists on the node.
    pub present: bool,
    /// It is partitioned.
    pub partitioned: bool,
    /// It has no column named as the map's shard key.
    pub key_missing: bool,
    /// Its total size (with every partition).
    pub bytes: u64,
    /// Its rows (with every partition).
    pub rows: u64,
    /// Its partitions and the `{table}_{n}` tables beside it.
    pub relations: Vec<LiveRelation>,
    /// Shard keys sampled from a plain table (as text).
    #[serde(skip)]
    pub sample: Vec<String>,
}

/// One node as read, or why it could not be.
#[derive(Debug, Clone, Default)]
pub struct NodeLive {
    /// The node's name in the map.
    pub node: String,
    /// `server_version`, when reached.
    pub server_version: Option<String>,
    /// Why the node could not be read (connection or query error, secrets removed).
    pub error: Option<String>,
    /// What it holds.
    pub tables: Vec<LiveTable>,
}

/// One shard's live size.
#[derive(Debug, Clone, Serialize)]
pub struct ShardLive {
    /// Shard id.
    pub id: u64,
    /// The node the map places it on.
    pub node: String,
    /// Live bytes (sum over its tables); `None` when nothing of it was found.
    pub bytes: Option<u64>,
    /// Live rows.
    pub rows: Option<u64>,
    /// The bytes the map records.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub map_bytes: Option<u64>,
    /// Where each table's part was found (`orders: partition orders_p3`).
    pub found: Vec<String>,
}

/// One node's balance from live sizes.
#[derive(Debug, Clone, Serialize)]
pub struct NodeLiveBalance {
    /// Node name.
    pub node: String,
    /// Zone.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub zone: Option<String>,
    /// State.
    pub state: NodeState,
    /// Capacity weight.
    pub weight: f64,
    /// PostgreSQL version, when reached.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_version: Option<String>,
    /// Reached and read.
    pub reachable: bool,
    /// Shards the map places here.
    pub shards: usize,
    /// Live bytes of those shards.
    pub bytes: u64,
    /// Live rows of those shards.
    pub rows: u64,
    /// Capacity-weighted share of the total (draining nodes: 0).
    pub target: f64,
    /// `bytes / target - 1`; `None` when the target is 0 or a node was not read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deviation: Option<f64>,
}

/// The report of `dbkit shard inspect`.
#[derive(Debug, Serialize)]
pub struct InspectReport {
    /// The map file.
    pub map: String,
    /// The map version.
    pub version: u64,
    /// Allowed deviation from the target before a node is called imbalanced.
    pub threshold: f64,
    /// Per shard.
    pub shards: Vec<ShardLive>,
    /// Per node.
    pub nodes: Vec<NodeLiveBalance>,
    /// What does not match the map.
    pub findings: Vec<Finding>,
    /// The map with live sizes and rows filled in, version bumped (`--write-map`).
    #[serde(skip)]
    pub filled: ShardMap,
    /// Why the filled map was not written although asked (nodes that could not be read).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub write_refused: Option<String>,
}

/// Map sizes further than this from the live ones are called drifted.
const DRIFT: f64 = 0.25;

/// ... and differ by at least this many bytes (a few pages are noise).
const DRIFT_MIN_BYTES: u64 = 64 * 1024;

/// The tables a shard holds rows of: its own table, or every sharded table.
fn tables_of<'a>(map: &'a ShardMap, s: &'a Shard) -> Vec<&'a str> {
    match &s.table {
        Some(t) => vec![t.as_str()],
        None => map.tables.keys().map(String::as_str).collect(),
    }
}

/// What to read on each node of `map`.
pub fn requests(map: &ShardMap) -> Vec<NodeRequest> {
    map.nodes
        .iter()
        .map(|n| NodeRequest {
            node: n.name.clone(),
            tables: map
                .tables
                .iter()
                .map(|(t, key)| TableRequest {
                    table: t.clone(),
                    key: key.clone(),
                })
                .collect(),
        })
        .collect()
}

/// Whether a partition bound is exactly the shard's slot of the key space.
pub(crate) fn bound_is(map: &ShardMap, s: &Shard, bound: &PartitionBound) -> bool {
    let kt = map.sharding.key_type.as_str();
    let same = |a: &str, b: &str| super::map::compare(kt, a, b) == std::cmp::Ordering::Equal;
    match (map.sharding.method, bound) {
        (Method::Hash, PartitionBound::Hash { modulus, remainder }) => {
            s.hash
                == Some(HashSlot {
                    modulus: *modulus,
                    remainder: *remainder,
                })
        }
        (Method::Range, PartitionBound::Range { from, to }) if from.len() == 1 && to.len() == 1 => {
            let end = |v: &BoundValue, mine: &Option<String>| match (v, mine) {
                (BoundValue::MinValue | BoundValue::MaxValue, None) => true,
                (BoundValue::Value(x), Some(y)) => same(x, y),
                _ => false,
            };
            let r = s.range.clone().unwrap_or(KeyRange {
                from: None,
                to: None,
            });
            end(&from[0], &r.from) && end(&to[0], &r.to)
        }
        (Method::List, PartitionBound::List(values)) => {
            values.len() == s.keys.len()
                && values.iter().all(|v| {
                    v.as_deref()
                        .is_some_and(|v| s.keys.iter().any(|k| same(v, k)))
                })
        }
        _ => false,
    }
}

/// The part of one table that belongs to one shard, and where it was found.
struct Part {
    bytes: u64,
    rows: u64,
    found: String,
}

/// The unqualified name of a map table (`sales.orders` → `orders`).
fn base_name(table: &str) -> &str {
    table.rsplit_once('.').map_or(table, |(_, t)| t)
}

/// Shares of a sampled plain table per shard id, and keys that belong elsewhere or nowhere.
struct SampleShares {
    per_shard: BTreeMap<u64, usize>,
    unlocated: usize,
    total: usize,
}

fn share_sample(map: &ShardMap, table: &str, keys: &[String]) -> SampleShares {
    let mut per_shard = BTreeMap::new();
    let mut unlocated = 0;
    for r in map.locate_each(keys) {
        match r {
            Ok(locs) => {
                let hit = locs
                    .iter()
                    .find(|l| l.table.as_deref().is_none_or(|t| t == table));
                match hit {
                    Some(l) => *per_shard.entry(l.shard).or_insert(0) += 1,
                    None => unlocated += 1,
                }
            }
            Err(_) => unlocated += 1,
        }
    }
    SampleShares {
        per_shard,
        unlocated,
        total: keys.len(),
    }
}

fn scale(v: u64, share: usize, total: usize) -> u64 {
    if total == 0 {
        0
    } else {
        (v as f64 * share as f64 / total as f64).round() as u64
    }
}

impl InspectReport {
    /// Matches what the nodes hold (`live`, one per node of the map) to `map`.
    pub fn build(path: &str, map: &ShardMap, live: &[NodeLive], threshold: f64) -> InspectReport {
        let mut findings = Vec::new();
        let by_node: BTreeMap<&str, &NodeLive> =
            live.iter().map(|n| (n.node.as_str(), n)).collect();
        for n in live {
            if let Some(e) = &n.error {
                findings.push(finding(
                    RuleId::ShardNodeUnreachable,
                    Severity::Error,
                    n.node.clone(),
                    format!("node {:?} could not be read: {e}", n.node),
                ));
            }
        }
        for n in live {
            for t in n.tables.iter().filter(|t| t.key_missing) {
                findings.push(finding(
                    RuleId::ShardKeyColumnMissing,
                    Severity::Error,
                    n.node.clone(),
                    format!(
                        "{} on node {:?} has no column {:?}, the map's shard key for it",
                        t.table,
                        n.node,
                        map.tables.get(&t.table).map_or("", String::as_str)
                    ),
                ));
            }
        }
        // Samples of plain tables, shared out per shard once per (node, table).
        let mut shares: BTreeMap<(&str, &str), SampleShares> = BTreeMap::new();
        for n in live {
            for t in &n.tables {
                if !t.sample.is_empty() {
                    shares.insert(
                        (n.node.as_str(), t.table.as_str()),
                        share_sample(map, &t.table, &t.sample),
                    );
                }
            }
        }
        let mut missing_tables = std::collections::BTreeSet::new();
        let mut shards = Vec::new();
        for s in &map.shards {
            let node = by_node.get(s.node.as_str());
            let mut parts: Vec<Option<Part>> = Vec::new();
            for table in tables_of(map, s) {
                let part = match node {
                    None => None,
                    Some(n) if n.error.is_some() => None,
                    Some(n) => {
                        let lt = n.tables.iter().find(|t| t.table == table);
                        let part = lt.and_then(|lt| Self::part(map, s, n, lt, &shares));
                        if part.is_none() {
                            if lt.is_some_and(|t| t.present) {
                                findings.push(finding(RuleId::ShardDataMissing, Severity::Warning, s.node.clone(),
                                    format!("shard {} of {table}: node {:?} has {table} but no partition with the shard's bound and no table {}_{}", s.id, s.node, base_name(table), s.id)));
                            } else if missing_tables.insert((s.node.clone(), table.to_string())) {
                                findings.push(finding(RuleId::ShardTableMissing, Severity::Error, s.node.clone(),
                                    format!("node {:?} holds shards of {table} by the map but has no table {table} (nor {}_<shard id> tables)", s.node, base_name(table))));
                            }
                        }
                        part
                    }
                };
                parts.push(part.map(|p| Part {
                    found: format!("{table}: {}", p.found),
                    ..p
                }));
            }
            let known: Vec<&Part> = parts.iter().flatten().collect();
            let (bytes, rows) = if known.is_empty() {
                (None, None)
            } else {
                (
                    Some(known.iter().map(|p| p.bytes).sum::<u64>()),
                    Some(known.iter().map(|p| p.rows).sum::<u64>()),
                )
            };
            if let (Some(live), Some(recorded)) = (bytes, s.bytes) {
                let base = live.max(recorded).max(1) as f64;
                let diff = live.abs_diff(recorded);
                if diff as f64 / base > DRIFT && diff >= DRIFT_MIN_BYTES {
                    let mut f = finding(
                        RuleId::ShardSizeDrift,
                        Severity::Info,
                        s.node.clone(),
                        format!(
                            "shard {}: the map records {}, the node holds {}",
                            s.id,
                            human_bytes(recorded as f64),
                            human_bytes(live as f64)
                        ),
                    );
                    f.suggestion = Some("refresh the map's sizes with dbkit shard inspect --write-map before planning".into());
                    findings.push(f);
                }
            }
            shards.push(ShardLive {
                id: s.id,
                node: s.node.clone(),
                bytes,
                rows,
                map_bytes: s.bytes,
                found: known.iter().map(|p| p.found.clone()).collect(),
            });
        }
        Self::misplaced(map, live, &shares, &mut findings);
        let nodes = Self::balance(map, live, &shards, threshold, path, &mut findings);
        let mut filled = map.clone();
        filled.version += 1;
        for (s, l) in filled.shards.iter_mut().zip(&shards) {
            if l.bytes.is_some() {
                s.bytes = l.bytes;
                s.rows = l.rows;
            }
        }
        InspectReport {
            map: path.to_string(),
            version: map.version,
            threshold,
            shards,
            nodes,
            findings,
            filled,
            write_refused: None,
        }
    }

    /// Shard `s`'s part of table `lt` on node `n`.
    fn part(
        map: &ShardMap,
        s: &Shard,
        n: &NodeLive,
        lt: &LiveTable,
        shares: &BTreeMap<(&str, &str), SampleShares>,
    ) -> Option<Part> {
        let named = format!("{}_{}", base_name(&lt.table), s.id);
        let rel = lt
            .relations
            .iter()
            .find(|r| {
                r.bound
                    .as_deref()
                    .and_then(PartitionBound::parse)
                    .is_some_and(|b| bound_is(map, s, &b))
            })
            .map(|r| (r, "partition"))
            .or_else(|| {
                lt.relations
                    .iter()
                    .find(|r| r.bound.is_none() && r.name == named)
                    .map(|r| (r, "table"))
            });
        if let Some((r, how)) = rel {
            return Some(Part {
                bytes: r.bytes,
                rows: r.rows,
                found: format!("{how} {}", r.name),
            });
        }
        if !lt.present || lt.partitioned {
            return None;
        }
        if let Some(sh) = shares.get(&(n.node.as_str(), lt.table.as_str())) {
            let mine = sh.per_shard.get(&s.id).copied().unwrap_or(0);
            return Some(Part {
                bytes: scale(lt.bytes, mine, sh.total),
                rows: scale(lt.rows, mine, sh.total),
                found: format!("{mine} of {} sampled keys", sh.total),
            });
        }
        // Not sampled (empty, or sampling off): all of it for the node's only shard of the
        // table, else an equal share each.
        let here = requests_here(map, &n.node, &lt.table).max(1);
        Some(Part {
            bytes: lt.bytes / here as u64,
            rows: lt.rows / here as u64,
            found: if here == 1 {
                format!("all of {}", base_name(&lt.table))
            } else {
                format!("1/{here} of {} (not sampled)", base_name(&lt.table))
            },
        })
    }

    /// Data of shards the map places elsewhere: non-empty partitions or `{table}_{id}` tables,
    /// and sampled keys, on the wrong node; sampled keys no shard holds.
    fn misplaced(
        map: &ShardMap,
        live: &[NodeLive],
        shares: &BTreeMap<(&str, &str), SampleShares>,
        findings: &mut Vec<Finding>,
    ) {
        for n in live {
            for lt in &n.tables {
                for r in lt.relations.iter().filter(|r| r.rows > 0) {
                    let bound = r.bound.as_deref().and_then(PartitionBound::parse);
                    let owner = map.shards.iter().find(|s| {
                        tables_of(map, s).contains(&lt.table.as_str())
                            && match &bound {
                                Some(b) => bound_is(map, s, b),
                                None => r.name == format!("{}_{}", base_name(&lt.table), s.id),
                            }
                    });
                    if let Some(s) = owner.filter(|s| s.node != n.node) {
                        findings.push(finding(RuleId::ShardDataMisplaced, Severity::Warning, n.node.clone(),
                            format!("{} on node {:?} holds ~{} rows of shard {}, which the map places on {:?} (a move not cleaned up, or a stale map)", r.name, n.node, r.rows, s.id, s.node)));
                    }
                }
                let Some(sh) = shares.get(&(n.node.as_str(), lt.table.as_str())) else {
                    continue;
                };
                for (id, count) in &sh.per_shard {
                    let Some(s) = map.shards.iter().find(|s| s.id == *id) else {
                        continue;
                    };
                    if s.node != n.node {
                        findings.push(finding(RuleId::ShardDataMisplaced, Severity::Warning, n.node.clone(),
                            format!("{} of {} sampled keys of {} on node {:?} (~{} rows) belong to shard {}, which the map places on {:?}", count, sh.total, lt.table, n.node, scale(lt.rows, *count, sh.total), s.id, s.node)));
                    }
                }
                if sh.unlocated > 0 {
                    findings.push(finding(RuleId::ShardKeyUnmapped, Severity::Warning, n.node.clone(),
                        format!("{} of {} sampled keys of {} on node {:?} are in no shard of the map (or not readable as {})", sh.unlocated, sh.total, lt.table, n.node, map.sharding.key_type)));
                }
            }
        }
    }

    /// Live bytes per node against each node's capacity-weighted target.
    fn balance(
        map: &ShardMap,
        live: &[NodeLive],
        shards: &[ShardLive],
        threshold: f64,
        path: &str,
        findings: &mut Vec<Finding>,
    ) -> Vec<NodeLiveBalance> {
        let total: u64 = shards.iter().filter_map(|s| s.bytes).sum();
        let all_read = live.iter().all(|n| n.error.is_none()) && live.len() == map.nodes.len();
        let total_w: f64 = map
            .nodes
            .iter()
            .filter(|n| n.state != NodeState::Draining)
            .map(|n| n.weight)
            .sum();
        map.nodes
            .iter()
            .map(|n| {
                let l = live.iter().find(|l| l.node == n.name);
                let mine = shards.iter().filter(|s| s.node == n.name);
                let bytes: u64 = mine.clone().filter_map(|s| s.bytes).sum();
                let target = if n.state == NodeState::Draining || total_w <= 0.0 {
                    0.0
                } else {
                    total as f64 * n.weight / total_w
                };
                let deviation = (all_read && target > 0.0).then(|| bytes as f64 / target - 1.0);
                if let Some(d) = deviation.filter(|d| d.abs() > threshold) {
                    let mut f = finding(RuleId::ShardNodeImbalanced, Severity::Warning, n.name.clone(),
                        format!("node {:?} holds {} against a target of {} ({:+.1}%, threshold {:.0}%)", n.name, human_bytes(bytes as f64), human_bytes(target), d * 100.0, threshold * 100.0));
                    f.suggestion = Some(format!("dbkit shard inspect --map {path} --write-map live.toml && dbkit shard plan --map live.toml"));
                    findings.push(f);
                }
                NodeLiveBalance {
                    node: n.name.clone(),
                    zone: n.zone.clone(),
                    state: n.state,
                    weight: n.weight,
                    server_version: l.and_then(|l| l.server_version.clone()),
                    reachable: l.is_some_and(|l| l.error.is_none()),
                    shards: mine.clone().count(),
                    bytes,
                    rows: mine.filter_map(|s| s.rows).sum(),
                    target,
                    deviation,
                }
            })
            .collect()
    }
}

/// Shards of `table` the map places on `node`.
fn requests_here(map: &ShardMap, node: &str, table: &str) -> usize {
    map.shards
        .iter()
        .filter(|s| s.node == node && tables_of(map, s).contains(&table))
        .count()
}

impl Report for InspectReport {
    fn kind(&self) -> &'static str {
        "shard-inspect"
    }
    fn summary(&self) -> String {
        let reached = self.nodes.iter().filter(|n| n.reachable).count();
        let total: u64 = self.shards.iter().filter_map(|s| s.bytes).sum();
        format!(
            "{} (version {}): {}/{} node(s) read, {} shard(s), {} live, {} finding(s)",
            self.map,
            self.version,
            reached,
            self.nodes.len(),
            self.shards.len(),
            human_bytes(total as f64),
            self.findings.len()
        )
    }
    fn tables(&self) -> Vec<Table> {
        let mut s = Table::new(
            "Shards",
            &["shard", "node", "rows", "bytes", "in map", "found as"],
        );
        for sh in &self.shards {
            let live = sh
                .bytes
                .map(|b| human_bytes(b as f64))
                .unwrap_or_else(|| "?".into());
            let drift = match (sh.bytes, sh.map_bytes) {
                (Some(l), Some(m))
                    if (l as f64 - m as f64).abs() / (l.max(m).max(1) as f64) > DRIFT =>
                {
                    Tone::Warn
                }
                _ => Tone::Plain,
            };
            s.row(vec![
                Cell::num(sh.id),
                Cell::text(sh.node.clone()),
                Cell::text(sh.rows.map(|r| r.to_string()).unwrap_or_else(|| "?".into())),
                Cell::toned(
                    live,
                    if sh.bytes.is_none() {
                        Tone::Bad
                    } else {
                        Tone::Plain
                    },
                ),
                Cell::toned(
                    sh.map_bytes
                        .map(|b| human_bytes(b as f64))
                        .unwrap_or_default(),
                    drift,
                ),
                Cell::toned(sh.found.join("; "), Tone::Dim),
            ]);
        }
        let mut n = Table::new(
            "Nodes",
            &[
                "node",
                "zone",
                "state",
                "weight",
                "server",
                "shards",
                "rows",
                "bytes",
                "target",
                "deviation",
            ],
        );
        for b in &self.nodes {
            let dev = match b.deviation {
                Some(d) => Cell::toned(
                    format!("{:+.1}%", d * 100.0),
                    if d.abs() <= self.threshold {
                        Tone::Good
                    } else {
                        Tone::Bad
                    },
                ),
                None => Cell::text(""),
            };
            n.row(vec![
                Cell::text(b.node.clone()),
                Cell::text(b.zone.clone().unwrap_or_default()),
                Cell::text(format!("{:?}", b.state).to_lowercase()),
                Cell::num(b.weight),
                if b.reachable {
                    Cell::text(b.server_version.clone().unwrap_or_default())
                } else {
                    Cell::toned("unreachable", Tone::Bad)
                },
                Cell::num(b.shards),
                Cell::text(if b.reachable {
                    b.rows.to_string()
                } else {
                    "?".into()
                }),
                Cell::text(if b.reachable {
                    human_bytes(b.bytes as f64)
                } else {
                    "?".into()
                }),
                Cell::text(human_bytes(b.target)),
                dev,
            ]);
        }
        vec![s, n]
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

    fn map(text: &str) -> ShardMap {
        ShardMap::parse(text, "t.toml").unwrap()
    }

    const HASH: &str = r#"
version = 1
[tables]
orders = "customer_id"
[[nodes]]
name = "a"
[[nodes]]
name = "b"
[[shards]]
id = 0
node = "a"
hash = { modulus = 4, remainder = 0 }
bytes = 1000
[[shards]]
id = 1
node = "a"
hash = { modulus = 4, remainder = 1 }
[[shards]]
id = 2
node = "b"
hash = { modulus = 4, remainder = 2 }
[[shards]]
id = 3
node = "b"
hash = { modulus = 4, remainder = 3 }
"#;

    fn rel(name: &str, bound: Option<&str>, bytes: u64, rows: u64) -> LiveRelation {
        LiveRelation {
            name: name.into(),
            bound: bound.map(str::to_string),
            bytes,
            rows,
        }
    }

    fn partitioned(node: &str, rels: Vec<LiveRelation>) -> NodeLive {
        NodeLive {
            node: node.into(),
            server_version: Some("15.8".into()),
            error: None,
            tables: vec![LiveTable {
                table: "orders".into(),
                present: true,
                partitioned: true,
                bytes: rels.iter().map(|r| r.bytes).sum(),
                rows: rels.iter().map(|r| r.rows).sum(),
                relations: rels,
                ..Default::default()
            }],
        }
    }

    fn hb(m: u64, r: u64) -> Option<String> {
        Some(format!("FOR VALUES WITH (modulus {m}, remainder {r})"))
    }

    #[test]
    fn partitions_are_matched_by_bound_and_balance_is_reported() {
        let m = map(HASH);
        let live = vec![
            partitioned(
                "a",
                vec![
                    rel("orders_p0", hb(4, 0).as_deref(), 4000, 40),
                    rel("orders_p1", hb(4, 1).as_deref(), 4000, 40),
                ],
            ),
            partitioned(
                "b",
                vec![
                    rel("orders_p2", hb(4, 2).as_deref(), 1000, 10),
                    rel("orders_p3", hb(4, 3).as_deref(), 1000, 10),
                    // Shard 1's bound, on the wrong node, with rows.
                    rel("orders_old1", hb(4, 1).as_deref(), 500, 5),
                ],
            ),
        ];
        let r = InspectReport::build("t.toml", &m, &live, 0.1);
        assert_eq!(r.shards[0].bytes, Some(4000));
        assert_eq!(r.shards[0].found, vec!["orders: partition orders_p0"]);
        assert_eq!(r.shards[3].rows, Some(10));
        assert_eq!(r.nodes[0].bytes, 8000);
        assert_eq!(r.nodes[0].target, 5000.0);
        assert!((r.nodes[0].deviation.unwrap() - 0.6).abs() < 1e-9);
        let rules: Vec<&str> = r.findings.iter().map(|f| f.rule.as_str()).collect();
        assert_eq!(
            rules
                .iter()
                .filter(|r| **r == "shard-node-imbalanced")
                .count(),
            2
        );
        assert!(r.findings.iter().any(|f| f.rule == "shard-data-misplaced"
            && f.message.contains("orders_old1")
            && f.message.contains("shard 1")));
        assert_eq!(r.filled.version, 2);
        assert_eq!(r.filled.shards[1].bytes, Some(4000));
        // Map says 1000 bytes for shard 0, live 4000: small sizes are not called drift.
        assert!(!rules.contains(&"shard-size-drift"));
    }

    #[test]
    fn named_tables_plain_tables_samples_and_unreachable_nodes() {
        let m = map(HASH);
        // Node a: one table per shard (orders_0, orders_1), no base table.
        let a = NodeLive {
            node: "a".into(),
            server_version: Some("15.8".into()),
            error: None,
            tables: vec![LiveTable {
                table: "orders".into(),
                relations: vec![
                    rel("orders_0", None, 3000, 30),
                    rel("orders_1", None, 1000, 10),
                ],
                ..Default::default()
            }],
        };
        // Node b: a plain table with both shards' rows; the sample decides the shares.
        let keys: Vec<String> = (0..400).map(|k| k.to_string()).collect();
        let located = m.locate_all(&keys).unwrap();
        let on_b: Vec<String> = located
            .iter()
            .filter(|l| l.node == "b")
            .map(|l| l.key.clone())
            .collect();
        let twos = located.iter().filter(|l| l.shard == 2).count();
        let mut sample = on_b.clone();
        sample.push("not-a-number".into());
        let b = NodeLive {
            node: "b".into(),
            server_version: Some("15.8".into()),
            error: None,
            tables: vec![LiveTable {
                table: "orders".into(),
                present: true,
                partitioned: false,
                bytes: 100_000,
                rows: 1000,
                sample,
                ..Default::default()
            }],
        };
        let r = InspectReport::build("t.toml", &m, &[a.clone(), b], 0.1);
        assert_eq!(r.shards[0].found, vec!["orders: table orders_0"]);
        assert_eq!(r.shards[1].bytes, Some(1000));
        let n = on_b.len() + 1;
        assert_eq!(r.shards[2].bytes, Some(scale(100_000, twos, n)));
        assert_eq!(
            r.shards[2].found,
            vec![format!("orders: {twos} of {n} sampled keys")]
        );
        assert!(r
            .findings
            .iter()
            .any(|f| f.rule == "shard-key-unmapped" && f.message.starts_with("1 of")));

        let down = NodeLive {
            node: "b".into(),
            error: Some("connection refused".into()),
            ..Default::default()
        };
        let r = InspectReport::build("t.toml", &m, &[a, down], 0.1);
        assert_eq!(r.shards[2].bytes, None);
        assert!(r.nodes.iter().all(|n| n.deviation.is_none()));
        assert!(r
            .findings
            .iter()
            .any(|f| f.rule == "shard-node-unreachable" && f.severity == Severity::Error));
        // Shards not found keep the map's sizes in the filled map.
        assert_eq!(r.filled.shards[2].bytes, None);
        assert_eq!(r.filled.shards[0].bytes, Some(3000));
    }

    #[test]
    fn missing_tables_and_partitions_are_findings() {
        let m = map(HASH);
        let a = partitioned("a", vec![rel("orders_p0", hb(4, 0).as_deref(), 10, 1)]);
        let b = NodeLive {
            node: "b".into(),
            server_version: Some("15.8".into()),
            error: None,
            tables: vec![LiveTable {
                table: "orders".into(),
                ..Default::default()
            }],
        };
        let r = InspectReport::build("t.toml", &m, &[a, b], 0.1);
        let count = |rule: &str| r.findings.iter().filter(|f| f.rule == rule).count();
        assert_eq!(count("shard-data-missing"), 1, "{:?}", r.findings);
        assert_eq!(count("shard-table-missing"), 1, "{:?}", r.findings);
    }

    #[test]
    fn range_and_list_bounds_match_by_value() {
        let m = map(r#"
version = 1
[sharding]
method = "range"
key_type = "int"
[tables]
t = "k"
[[nodes]]
name = "a"
[[shards]]
id = 1
node = "a"
range = { to = "100" }
[[shards]]
id = 2
node = "a"
range = { from = "100" }
"#);
        let b1 = PartitionBound::parse("FOR VALUES FROM (MINVALUE) TO (100)").unwrap();
        let b2 = PartitionBound::parse("FOR VALUES FROM (100) TO (MAXVALUE)").unwrap();
        assert!(bound_is(&m, &m.shards[0], &b1));
        assert!(!bound_is(&m, &m.shards[0], &b2));
        assert!(bound_is(&m, &m.shards[1], &b2));
        let l = map(r#"
version = 1
[sharding]
method = "list"
key_type = "text"
[tables]
t = "k"
[[nodes]]
name = "a"
[[shards]]
id = 1
node = "a"
keys = ["eu", "uk"]
"#);
        let yes = PartitionBound::parse("FOR VALUES IN ('uk', 'eu')").unwrap();
        let no = PartitionBound::parse("FOR VALUES IN ('uk', NULL)").unwrap();
        assert!(bound_is(&l, &l.shards[0], &yes));
        assert!(!bound_is(&l, &l.shards[0], &no));
    }
}
