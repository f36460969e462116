//! The shard map: a versioned TOML or JSON file users keep in git. Nodes (name, connection URL
//! without secrets or an environment variable naming one, capacity weight, zone, state),
//! shards (hash remainder, key range, key list or ring position; node; size and load when
//! known), colocation groups, the shard key per table. Loading, key lookup ([`ShardMap::locate`])
//! and validation ([`ShardMap::validate`]) live here; the rebalance planner builds on it.

use super::hash::{self, KeyValue};
use crate::finding::RuleId;
use crate::finding::{Finding, Location, Severity};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashMap};

pub use crate::mapfile::{parse_file, read_file, MapError};

/// How keys are assigned to shards.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Method {
    /// PostgreSQL-compatible hash partitioning: each shard holds `remainder` of `modulus`.
    #[default]
    Hash,
    /// Key ranges `[from, to)`.
    Range,
    /// Explicit key lists.
    List,
    /// A consistent-hash ring with virtual nodes per shard.
    Ring,
}

/// The sharding scheme of a map.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sharding {
    /// Hash, range, list or ring.
    #[serde(default)]
    pub method: Method,
    /// The shard key's PostgreSQL type: int, bigint, text or uuid.
    #[serde(default = "default_key_type")]
    pub key_type: String,
    /// Virtual nodes per shard on the ring (ring maps only).
    #[serde(default = "default_vnodes")]
    pub vnodes: u32,
}

fn default_key_type() -> String {
    "bigint".into()
}

fn default_vnodes() -> u32 {
    64
}

impl Default for Sharding {
    fn default() -> Self {
        Sharding {
            method: Method::Hash,
            key_type: default_key_type(),
            vnodes: default_vnodes(),
        }
    }
}

/// A node's life-cycle state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum NodeState {
    /// Holds shards and takes new ones.
    #[default]
    Active,
    /// Being emptied: the planner moves every shard off it.
    Draining,
    /// Just added: empty, takes shards.
    New,
}

/// One server holding shards.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Node {
    /// Unique name.
    pub name: String,
    /// Connection URL without a password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// An environment variable holding the connection URL (may hold secrets).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url_env: Option<String>,
    /// Capacity weight: a node of weight 2 should hold twice the data of a node of weight 1.
    #[serde(default = "one")]
    pub weight: f64,
    /// Availability zone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zone: Option<String>,
    /// Active, draining or new.
    #[serde(default)]
    pub state: NodeState,
}

fn one() -> f64 {
    1.0
}

/// A hash shard's share of the key space.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HashSlot {
    /// The modulus.
    pub modulus: u64,
    /// The remainder this shard holds.
    pub remainder: u64,
}

/// A range shard's keys: `from` inclusive, `to` exclusive; absent means unbounded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyRange {
    /// Lowest key (inclusive), or unbounded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// Upper bound (exclusive), or unbounded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
}

/// One shard.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Shard {
    /// Unique id.
    pub id: u64,
    /// The node holding it.
    pub node: String,
    /// The table this shard belongs to; absent for a shard group covering every sharded table.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table: Option<String>,
    /// Hash maps: the remainder held.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hash: Option<HashSlot>,
    /// Range maps: the key range held.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub range: Option<KeyRange>,
    /// List maps: the keys held.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub keys: Vec<String>,
    /// Size in bytes, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes: Option<u64>,
    /// Rows, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rows: Option<u64>,
    /// Load (any unit, e.g. queries per second), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load: Option<f64>,
}

/// Tables whose shards must live together.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Colocation {
    /// Group name.
    pub name: String,
    /// The tables.
    pub tables: Vec<String>,
}

/// A shard map.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShardMap {
    /// The map version; only goes up.
    pub version: u64,
    /// The sharding scheme.
    #[serde(default)]
    pub sharding: Sharding,
    /// Shard key column per table.
    #[serde(default)]
    pub tables: BTreeMap<String, String>,
    /// Colocation groups.
    #[serde(default)]
    pub colocation: Vec<Colocation>,
    /// The nodes.
    #[serde(default)]
    pub nodes: Vec<Node>,
    /// The shards.
    #[serde(default)]
    pub shards: Vec<Shard>,
}

/// Where a key lives.
#[derive(Debug, Clone, Serialize)]
pub struct KeyLocation {
    /// The key as given.
    pub key: String,
    /// The shard id.
    pub shard: u64,
    /// The node name.
    pub node: String,
    /// The table of a per-table shard.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub table: Option<String>,
    /// The node's zone.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub zone: Option<String>,
    /// The node's state.
    pub state: NodeState,
    /// The 64-bit row hash (hash and ring maps).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hash: Option<String>,
}

impl ShardMap {
    /// Reads a map from TOML or JSON text (JSON when it starts with `{`).
    pub fn parse(text: &str, path: &str) -> Result<ShardMap, MapError> {
        parse_file(text, path)
    }

    /// Reads a map file.
    pub fn load(path: &std::path::Path) -> Result<ShardMap, MapError> {
        let (text, p) = read_file(path)?;
        Self::parse(&text, &p)
    }

    /// The map as TOML.
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).unwrap_or_default()
    }

    fn node(&self, name: &str) -> Option<&Node> {
        self.nodes.iter().find(|n| n.name == name)
    }

    /// The shards holding `key` (one per table for per-table maps, else one).
    pub fn locate(&self, key: &str) -> Result<Vec<KeyLocation>, MapError> {
        self.locate_all(&[key])
    }

    /// [`ShardMap::locate`] for many keys, placing a ring map's shards on the ring once.
    pub fn locate_all<S: AsRef<str>>(&self, keys: &[S]) -> Result<Vec<KeyLocation>, MapError> {
        let each = self
            .locate_each(keys)
            .into_iter()
            .collect::<Result<Vec<_>, _>>()?;
        Ok(each.into_iter().flatten().collect())
    }

    /// Each key's shards, or why it has none, placing a ring map's shards on the ring once.
    pub fn locate_each<S: AsRef<str>>(
        &self,
        keys: &[S],
    ) -> Vec<Result<Vec<KeyLocation>, MapError>> {
        let ring = (self.sharding.method == Method::Ring).then(|| Ring::build(self));
        keys.iter()
            .map(|k| self.locate_in(k.as_ref(), ring.as_ref()))
            .collect()
    }

    fn locate_in(&self, key: &str, ring: Option<&Ring>) -> Result<Vec<KeyLocation>, MapError> {
        let kv = KeyValue::parse(&self.sharding.key_type, key)
            .map_err(|e| MapError::Key(e.to_string()))?;
        let row = hash::row_hash(std::slice::from_ref(&kv));
        let found: Vec<&Shard> = match self.sharding.method {
            Method::Hash => self
                .shards
                .iter()
                .filter(|s| {
                    s.hash
                        .is_some_and(|h| h.modulus > 0 && row % h.modulus == h.remainder)
                })
                .collect(),
            Method::Range => self
                .shards
                .iter()
                .filter(|s| {
                    s.range.as_ref().is_some_and(|r| {
                        let ge = r.from.as_deref().is_none_or(|f| {
                            compare(&self.sharding.key_type, key, f) != std::cmp::Ordering::Less
                        });
                        let lt = r.to.as_deref().is_none_or(|t| {
                            compare(&self.sharding.key_type, key, t) == std::cmp::Ordering::Less
                        });
                        ge && lt
                    })
                })
                .collect(),
            Method::List => self
                .shards
                .iter()
                .filter(|s| {
                    s.keys.iter().any(|k| {
                        compare(&self.sharding.key_type, key, k) == std::cmp::Ordering::Equal
                    })
                })
                .collect(),
            Method::Ring => ring.and_then(|r| r.lookup(row)).into_iter().collect(),
        };
        if found.is_empty() {
            return Err(MapError::Key(format!("no shard holds key {key:?}")));
        }
        Ok(found
            .into_iter()
            .map(|s| {
                let node = self.node(&s.node);
                KeyLocation {
                    key: key.to_string(),
                    shard: s.id,
                    node: s.node.clone(),
                    table: s.table.clone(),
                    zone: node.and_then(|n| n.zone.clone()),
                    state: node.map(|n| n.state).unwrap_or_default(),
                    hash: matches!(self.sharding.method, Method::Hash | Method::Ring)
                        .then(|| format!("{row:#018x}")),
                }
            })
            .collect())
    }
}

/// Compares two keys as the map's key type (numbers numerically, uuids by bytes, text by
/// bytes as PostgreSQL's C collation does). Unparsable numbers sort as text.
pub fn compare(key_type: &str, a: &str, b: &str) -> std::cmp::Ordering {
    match (KeyValue::parse(key_type, a), KeyValue::parse(key_type, b)) {
        (Ok(KeyValue::Int4(x)), Ok(KeyValue::Int4(y))) => x.cmp(&y),
        (Ok(KeyValue::Int8(x)), Ok(KeyValue::Int8(y))) => x.cmp(&y),
        (Ok(KeyValue::Uuid(x)), Ok(KeyValue::Uuid(y))) => x.cmp(&y),
        _ => a.as_bytes().cmp(b.as_bytes()),
    }
}

/// A consistent-hash ring: `vnodes` points per shard, a key goes to the first point at or
/// after its hash (wrapping).
pub struct Ring<'a> {
    points: Vec<(u64, &'a Shard)>,
}

impl<'a> Ring<'a> {
    /// Places every shard of `map` on the ring.
    pub fn build(map: &'a ShardMap) -> Ring<'a> {
        let mut points = Vec::with_capacity(map.shards.len() * map.sharding.vnodes as usize);
        for s in &map.shards {
            for v in 0..map.sharding.vnodes.max(1) {
                let label = format!("{}#{v}", s.id);
                points.push((
                    hash::hash_bytes_extended(label.as_bytes(), hash::HASH_PARTITION_SEED),
                    s,
                ));
            }
        }
        points.sort_by_key(|(p, s)| (*p, s.id));
        Ring { points }
    }

    /// The shard owning a key hash.
    pub fn lookup(&self, h: u64) -> Option<&'a Shard> {
        if self.points.is_empty() {
            return None;
        }
        let i = self.points.partition_point(|(p, _)| *p < h);
        Some(self.points[i % self.points.len()].1)
    }
}

/// Whether a connection string carries a password (URI userinfo or a `password=` keyword).
pub fn has_password(url: &str) -> bool {
    if let Some(rest) = url
        .strip_prefix("postgres://")
        .or_else(|| url.strip_prefix("postgresql://"))
    {
        let authority = rest.split(['/', '?']).next().unwrap_or("");
        if let Some((userinfo, _)) = authority.rsplit_once('@') {
            if userinfo.contains(':') {
                return true;
            }
        }
        return rest.contains("password=");
    }
    url.split_whitespace()
        .any(|kv| kv.trim_start().to_ascii_lowercase().starts_with("password"))
}

/// A shard-map finding located at a node (or shard) name.
pub(crate) fn finding(rule: RuleId, severity: Severity, node: String, message: String) -> Finding {
    Finding {
        rule,
        severity,
        message,
        location: Location {
            node: Some(node),
            ..Default::default()
        },
        evidence: serde_json::Value::Null,
        suggestion: None,
    }
}

/// The largest modulus product up to which hash coverage is checked residue by residue.
const COVERAGE_LIMIT: u64 = 1 << 22;

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

impl ShardMap {
    /// Everything wrong with the map: duplicate ids or node names, shards on unknown nodes,
    /// overlapping or missing key space, broken colocation, passwords in URLs, shards that do
    /// not fit the method. Messages never contain a URL.
    pub fn validate(&self) -> Vec<Finding> {
        let mut out = Vec::new();
        let mut names = BTreeSet::new();
        for n in &self.nodes {
            if !names.insert(n.name.as_str()) {
                out.push(finding(
                    RuleId::ShardMapDuplicateNode,
                    Severity::Error,
                    n.name.clone(),
                    format!("node {:?} is defined more than once", n.name),
                ));
            }
            if n.url.as_deref().is_some_and(has_password) {
                out.push(finding(RuleId::ShardMapSecretInUrl, Severity::Error, n.name.clone(),
                    format!("node {:?}: the url contains a password; keep the map secret-free and name an environment variable with url_env", n.name)));
            }
            if !(n.weight.is_finite() && n.weight > 0.0) {
                out.push(finding(
                    RuleId::ShardMapBadWeight,
                    Severity::Error,
                    n.name.clone(),
                    format!(
                        "node {:?}: weight {} must be a positive number",
                        n.name, n.weight
                    ),
                ));
            }
        }
        let mut ids = BTreeSet::new();
        for s in &self.shards {
            let at = format!("shard {}", s.id);
            if !ids.insert(s.id) {
                out.push(finding(
                    RuleId::ShardMapDuplicateId,
                    Severity::Error,
                    at.clone(),
                    format!("shard id {} is used more than once", s.id),
                ));
            }
            if !names.contains(s.node.as_str()) {
                out.push(finding(
                    RuleId::ShardMapUnknownNode,
                    Severity::Error,
                    at.clone(),
                    format!(
                        "shard {} is on node {:?}, which the map does not define",
                        s.id, s.node
                    ),
                ));
            }
            if let Some(t) = &s.table {
                if !self.tables.is_empty() && !self.tables.contains_key(t) {
                    out.push(finding(
                        RuleId::ShardMapUnknownTable,
                        Severity::Error,
                        at.clone(),
                        format!(
                            "shard {} belongs to table {t:?}, which has no shard key in [tables]",
                            s.id
                        ),
                    ));
                }
            }
            let shape_ok = match self.sharding.method {
                Method::Hash => s
                    .hash
                    .is_some_and(|h| h.modulus > 0 && h.remainder < h.modulus),
                Method::Range => s.range.is_some(),
                Method::List => !s.keys.is_empty(),
                Method::Ring => true,
            };
            if !shape_ok {
                out.push(finding(RuleId::ShardMapBadShard, Severity::Error, at.clone(), format!(
                    "shard {} does not fit a {:?} map (hash needs hash = {{ modulus, remainder < modulus }}, range needs range, list needs keys)",
                    s.id, self.sharding.method
                )));
            }
            for k in s.keys.iter().chain(
                s.range
                    .iter()
                    .flat_map(|r| r.from.iter().chain(r.to.iter())),
            ) {
                if let Err(e) = KeyValue::parse(&self.sharding.key_type, k) {
                    out.push(finding(
                        RuleId::ShardMapBadKey,
                        Severity::Error,
                        at.clone(),
                        format!("shard {}: {e}", s.id),
                    ));
                }
            }
        }
        // Coverage per table (None = shard groups covering every table).
        let mut by_table: BTreeMap<Option<&str>, Vec<&Shard>> = BTreeMap::new();
        for s in &self.shards {
            by_table.entry(s.table.as_deref()).or_default().push(s);
        }
        for (table, shards) in &by_table {
            let scope = table.map_or("the map".to_string(), |t| format!("table {t}"));
            match self.sharding.method {
                Method::Hash => self.check_hash_coverage(&scope, shards, &mut out),
                Method::Range => self.check_range_coverage(&scope, shards, &mut out),
                Method::List => {
                    let mut seen: HashMap<&str, u64> = HashMap::new();
                    for s in shards {
                        for k in &s.keys {
                            if let Some(other) = seen.insert(k, s.id) {
                                out.push(finding(
                                    RuleId::ShardMapOverlap,
                                    Severity::Error,
                                    scope.clone(),
                                    format!(
                                        "{scope}: key {k:?} is listed in shards {other} and {}",
                                        s.id
                                    ),
                                ));
                            }
                        }
                    }
                }
                Method::Ring => {}
            }
        }
        self.check_colocation(&mut out);
        out
    }

    fn check_hash_coverage(&self, scope: &str, shards: &[&Shard], out: &mut Vec<Finding>) {
        let slots: Vec<(HashSlot, u64)> = shards
            .iter()
            .filter_map(|s| {
                s.hash
                    .filter(|h| h.modulus > 0 && h.remainder < h.modulus)
                    .map(|h| (h, s.id))
            })
            .collect();
        if slots.is_empty() {
            return;
        }
        let lcm = slots.iter().try_fold(1u64, |l, (h, _)| {
            let m = l / gcd(l, h.modulus) * h.modulus;
            (m <= COVERAGE_LIMIT).then_some(m)
        });
        let Some(lcm) = lcm else {
            out.push(finding(RuleId::ShardMapCoverageUnchecked, Severity::Info, scope.to_string(),
                format!("{scope}: the moduli are too varied to check coverage (lcm above {COVERAGE_LIMIT})")));
            return;
        };
        let (mut gaps, mut overlaps) = (Vec::new(), Vec::new());
        for r in 0..lcm {
            let holders: Vec<u64> = slots
                .iter()
                .filter(|(h, _)| r % h.modulus == h.remainder)
                .map(|(_, id)| *id)
                .collect();
            match holders.len() {
                0 => gaps.push(r),
                1 => {}
                _ => overlaps.push((r, holders)),
            }
        }
        if !gaps.is_empty() {
            let shown: Vec<String> = gaps.iter().take(8).map(u64::to_string).collect();
            out.push(finding(
                RuleId::ShardMapGap,
                Severity::Error,
                scope.to_string(),
                format!(
                    "{scope}: {} of {lcm} hash remainders (modulus {lcm}) belong to no shard: {}{}",
                    gaps.len(),
                    shown.join(", "),
                    if gaps.len() > 8 { ", …" } else { "" }
                ),
            ));
        }
        let mut reported = BTreeSet::new();
        for (r, holders) in overlaps {
            if reported.insert(holders.clone()) && reported.len() <= 8 {
                out.push(finding(
                    RuleId::ShardMapOverlap,
                    Severity::Error,
                    scope.to_string(),
                    format!(
                        "{scope}: shards {} all hold hash remainder {r} of {lcm}",
                        holders
                            .iter()
                            .map(u64::to_string)
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ));
            }
        }
    }

    fn check_range_coverage(&self, scope: &str, shards: &[&Shard], out: &mut Vec<Finding>) {
        let kt = &self.sharding.key_type;
        let mut ranges: Vec<(&KeyRange, u64)> = shards
            .iter()
            .filter_map(|s| s.range.as_ref().map(|r| (r, s.id)))
            .collect();
        let lower = |a: &Option<String>, b: &Option<String>| match (a, b) {
            (None, None) => std::cmp::Ordering::Equal,
            (None, _) => std::cmp::Ordering::Less,
            (_, None) => std::cmp::Ordering::Greater,
            (Some(x), Some(y)) => compare(kt, x, y),
        };
        ranges.sort_by(|a, b| lower(&a.0.from, &b.0.from).then(a.1.cmp(&b.1)));
        let Some(first) = ranges.first() else { return };
        if let Some(f) = &first.0.from {
            out.push(finding(
                RuleId::ShardMapGap,
                Severity::Error,
                scope.to_string(),
                format!(
                    "{scope}: keys below {f:?} belong to no shard (shard {} starts there)",
                    first.1
                ),
            ));
        }
        for w in ranges.windows(2) {
            let ((a, aid), (b, bid)) = (w[0], w[1]);
            let Some(end) = &a.to else {
                out.push(finding(
                    RuleId::ShardMapOverlap,
                    Severity::Error,
                    scope.to_string(),
                    format!("{scope}: shard {aid} is unbounded above and overlaps shard {bid}"),
                ));
                continue;
            };
            let start = b.from.as_deref().unwrap_or("");
            match compare(kt, end, start) {
                std::cmp::Ordering::Less => out.push(finding(RuleId::ShardMapGap, Severity::Error, scope.to_string(),
                    format!("{scope}: keys from {end:?} to {start:?} belong to no shard (between shards {aid} and {bid})"))),
                std::cmp::Ordering::Greater => out.push(finding(RuleId::ShardMapOverlap, Severity::Error, scope.to_string(),
                    format!("{scope}: shards {aid} and {bid} overlap from {start:?} to {end:?}"))),
                std::cmp::Ordering::Equal => {}
            }
        }
        if let Some((last, id)) = ranges.last() {
            if let Some(t) = &last.to {
                out.push(finding(
                    RuleId::ShardMapGap,
                    Severity::Error,
                    scope.to_string(),
                    format!(
                        "{scope}: keys from {t:?} up belong to no shard (shard {id} ends there)"
                    ),
                ));
            }
        }
    }

    /// Per-table shards of colocated tables holding the same key space must be on one node.
    fn check_colocation(&self, out: &mut Vec<Finding>) {
        for g in &self.colocation {
            let mut slots: BTreeMap<String, BTreeMap<&str, Vec<u64>>> = BTreeMap::new();
            for s in &self.shards {
                let Some(t) = s.table.as_deref() else {
                    continue;
                };
                if !g.tables.iter().any(|x| x == t) {
                    continue;
                }
                let slot = serde_json::to_string(&(&s.hash, &s.range, &s.keys)).unwrap_or_default();
                slots
                    .entry(slot)
                    .or_default()
                    .entry(s.node.as_str())
                    .or_default()
                    .push(s.id);
            }
            for nodes in slots.values() {
                if nodes.len() > 1 {
                    let parts: Vec<String> = nodes
                        .iter()
                        .map(|(n, ids)| {
                            format!(
                                "{} on {n}",
                                ids.iter().map(u64::to_string).collect::<Vec<_>>().join("+")
                            )
                        })
                        .collect();
                    out.push(finding(RuleId::ShardMapColocationBroken, Severity::Error, format!("group {}", g.name), format!(
                        "colocation group {:?}: shards of the same key space are on different nodes ({})",
                        g.name, parts.join(", "))));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAP: &str = r#"
version = 3
[sharding]
method = "hash"
key_type = "bigint"
[tables]
customers = "id"
orders = "customer_id"
[[colocation]]
name = "customer"
tables = ["customers", "orders"]
[[nodes]]
name = "a"
url = "postgres://app@10.0.0.1/shop"
[[nodes]]
name = "b"
url_env = "SHARD_B_URL"
weight = 2
[[shards]]
id = 1
node = "a"
hash = { modulus = 2, remainder = 0 }
[[shards]]
id = 2
node = "b"
hash = { modulus = 4, remainder = 1 }
[[shards]]
id = 3
node = "b"
hash = { modulus = 4, remainder = 3 }
"#;

    fn rules(m: &ShardMap) -> Vec<String> {
        m.validate()
            .into_iter()
            .map(|f| f.rule.to_string())
            .collect()
    }

    #[test]
    fn a_good_map_validates_and_locates() {
        let m = ShardMap::parse(MAP, "m.toml").unwrap();
        assert!(m.validate().is_empty(), "{:?}", m.validate());
        let loc = m.locate("42").unwrap();
        assert_eq!(loc.len(), 1);
        let r = hash::partition_remainder(&[KeyValue::Int8(42)], 4);
        let want = match r {
            0 | 2 => 1,
            1 => 2,
            _ => 3,
        };
        assert_eq!(loc[0].shard, want);
        assert!(m.locate("forty-two").is_err());
    }

    #[test]
    fn gaps_overlaps_unknown_nodes_duplicates_and_secrets_are_found() {
        let bad = MAP
            .replace("remainder = 3", "remainder = 1")
            .replace(
                "node = \"b\"\nhash = { modulus = 4, remainder = 1 }",
                "node = \"zz\"\nhash = { modulus = 4, remainder = 1 }",
            )
            .replace("postgres://app@10.0.0.1", "postgres://app:hunter2@10.0.0.1")
            .replace("id = 3", "id = 2");
        let m = ShardMap::parse(&bad, "m.toml").unwrap();
        let r = rules(&m);
        for want in [
            "shard-map-gap",
            "shard-map-overlap",
            "shard-map-unknown-node",
            "shard-map-duplicate-id",
            "shard-map-secret-in-url",
        ] {
            assert!(r.iter().any(|x| x == want), "{want} missing from {r:?}");
        }
        assert!(m.validate().iter().all(|f| !f.message.contains("hunter2")));
    }

    #[test]
    fn range_maps_find_gaps_and_overlaps() {
        let m = ShardMap::parse(
            r#"
version = 1
sharding = { method = "range", key_type = "int" }
[[nodes]]
name = "a"
[[shards]]
id = 1
node = "a"
range = { to = "100" }
[[shards]]
id = 2
node = "a"
range = { from = "200", to = "300" }
[[shards]]
id = 3
node = "a"
range = { from = "250" }
"#,
            "r.toml",
        )
        .unwrap();
        let msgs: Vec<String> = m
            .validate()
            .into_iter()
            .map(|f| format!("{}: {}", f.rule, f.message))
            .collect();
        assert!(
            msgs.iter()
                .any(|m| m.starts_with("shard-map-gap") && m.contains("\"100\" to \"200\"")),
            "{msgs:?}"
        );
        assert!(
            msgs.iter()
                .any(|m| m.starts_with("shard-map-overlap") && m.contains("2 and 3")),
            "{msgs:?}"
        );
        assert_eq!(m.locate("99").unwrap()[0].shard, 1);
        assert_eq!(m.locate("260").unwrap()[0].shard, 2);
        assert!(m.locate("150").is_err());
    }

    #[test]
    fn colocation_broken_is_found() {
        let m = ShardMap::parse(
            r#"
version = 1
[tables]
customers = "id"
orders = "customer_id"
[[colocation]]
name = "customer"
tables = ["customers", "orders"]
[[nodes]]
name = "a"
[[nodes]]
name = "b"
[[shards]]
id = 1
table = "customers"
node = "a"
hash = { modulus = 1, remainder = 0 }
[[shards]]
id = 2
table = "orders"
node = "b"
hash = { modulus = 1, remainder = 0 }
"#,
            "c.toml",
        )
        .unwrap();
        assert_eq!(rules(&m), ["shard-map-colocation-broken"]);
    }

    #[test]
    fn ring_lookup_is_stable_and_spreads() {
        let mut text = String::from(
            "version = 1\nsharding = { method = \"ring\", vnodes = 64 }\n[[nodes]]\nname = \"a\"\n",
        );
        for id in 0..4 {
            text.push_str(&format!("[[shards]]\nid = {id}\nnode = \"a\"\n"));
        }
        let m = ShardMap::parse(&text, "ring.toml").unwrap();
        let mut counts = [0usize; 4];
        for k in 0..4000 {
            counts[m.locate(&k.to_string()).unwrap()[0].shard as usize] += 1;
        }
        assert!(counts.iter().all(|&c| c > 600), "{counts:?}");
        assert_eq!(
            m.locate("7").unwrap()[0].shard,
            m.locate("7").unwrap()[0].shard
        );
    }

    #[test]
    fn bad_files_get_positions_not_panics() {
        let e = ShardMap::parse("version = \n", "x.toml")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("x.toml:") && e.contains("line 1"), "{e}");
        let e = ShardMap::parse("{\"version\": 1, \"nodes\": [", "x.json")
            .unwrap_err()
            .to_string();
        assert!(e.contains("line 1"), "{e}");
        assert!(ShardMap::parse("version = 1\nbogus = 2\n", "x.toml")
            .unwrap_err()
            .to_string()
            .contains("bogus"));
    }

    #[test]
    fn password_detection() {
        assert!(has_password("postgres://u:p@h/db"));
        assert!(has_password("host=h password=x dbname=d"));
        assert!(has_password("postgresql://h/db?password=x"));
        assert!(!has_password("postgres://u@h/db"));
        assert!(!has_password("host=h user=u"));
    }
}
