//! Moving a shard between nodes with PostgreSQL logical replication: the pure part. The names
//! a move gives its publication, slot, subscription and marker table; which shards move
//! together; the row filter that selects a hash, range or list slot of a plain table (checked
//! against PostgreSQL's own hash partitioning); the SQL of every step as text; the journal a
//! move keeps so a rerun resumes where it stopped; the map after the cutover; and the
//! comparison of the checksums both sides computed while verifying.
//!
//! Where a shard's rows live on a node is found as `shard inspect` finds it ([`Layout`]): its
//! own partition of the table, a `{table}_{id}` table, or a slot of a plain table.

use super::hash::HASH_PARTITION_SEED;
use super::map::{Method, Shard, ShardMap};
use crate::sql::ident::{quote_ident, quote_literal, quote_qualified};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// How the source node holds one table's part of the shard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Layout {
    /// A partition of the table whose bound is the shard's slot.
    Partition,
    /// A table `{table}_{shard id}` beside the table.
    ShardTable,
    /// Rows of a plain table holding several shards, selected by a row filter.
    Filtered,
}

/// One table's part of a moving shard.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Unit {
    /// The shard this part belongs to.
    pub shard: u64,
    /// The sharded table as the map names it.
    pub table: String,
    /// Its shard key column.
    pub key: String,
    /// The schema of the relation holding the rows.
    pub schema: String,
    /// The relation holding the rows (partition, `{table}_{id}` or the table itself).
    pub relation: String,
    /// The partitioned parent of a [`Layout::Partition`] unit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    /// How the rows are held.
    pub layout: Layout,
    /// The columns compared when verifying, in the source's order.
    #[serde(default)]
    pub columns: Vec<String>,
    /// The shard's rows of a [`Layout::Filtered`] unit, as a SQL condition on the table's
    /// columns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<String>,
}

impl Unit {
    /// `schema.relation`, quoted.
    pub fn qualified(&self) -> String {
        quote_qualified(&[&self.schema, &self.relation])
    }

    /// The rows of the shard: `FROM rel [WHERE filter]`.
    pub fn rows_sql(&self) -> String {
        match &self.filter {
            Some(f) => format!("{} WHERE {f}", self.qualified()),
            None => self.qualified(),
        }
    }

    /// The relation and the row filter, as a publication lists it.
    pub fn publication_item(&self) -> String {
        match &self.filter {
            Some(f) => format!("TABLE {} WHERE ({f})", self.qualified()),
            None => format!("TABLE {}", self.qualified()),
        }
    }
}

/// The names one move gives what it creates; derived from the shard and the map version at the
/// start, so a rerun finds them again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MoveNames {
    /// Publication on the source, subscription on the target and replication slot share it.
    pub base: String,
}

/// The schema dbkit keeps its move marker tables and the fence function in.
pub const DBKIT_SCHEMA: &str = "dbkit";

/// The trigger function that refuses writes to a moved shard's old copy.
pub const FENCE_FUNCTION: &str = "shard_moved";

impl MoveNames {
    /// The names of moving shard `shard` from map version `version`.
    pub fn new(shard: u64, version: u64) -> Self {
        MoveNames {
            base: format!("dbkit_move_s{shard}_v{version}"),
        }
    }

    /// The publication, subscription and slot name (one lower-case identifier).
    pub fn name(&self) -> &str {
        &self.base
    }

    /// The marker table: one row whose counter dbkit bumps on the source and waits for on the
    /// target, so "the target has replayed everything committed before" is exact.
    pub fn marker(&self) -> String {
        quote_qualified(&[DBKIT_SCHEMA, &self.base])
    }

    /// The fence trigger's name.
    pub fn fence(&self) -> String {
        format!("{}_fence", self.base)
    }
}

/// The shards that move with `id`: itself, and the per-table shards of its colocation group
/// holding the same slot on the same node.
pub fn colocated(map: &ShardMap, id: u64) -> Vec<&Shard> {
    let Some(me) = map.shards.iter().find(|s| s.id == id) else {
        return Vec::new();
    };
    let Some(table) = &me.table else {
        return vec![me];
    };
    let group: Vec<&String> = map
        .colocation
        .iter()
        .find(|g| g.tables.contains(table))
        .map(|g| g.tables.iter().collect())
        .unwrap_or_default();
    let mut out = vec![me];
    for s in &map.shards {
        if s.id != id
            && s.node == me.node
            && s.table.as_ref().is_some_and(|t| group.contains(&t))
            && s.hash == me.hash
            && s.range == me.range
            && s.keys == me.keys
        {
            out.push(s);
        }
    }
    out
}

/// The tables a shard holds rows of: its own, or every sharded table (with the key column).
pub fn tables_of(map: &ShardMap, s: &Shard) -> Vec<(String, String)> {
    map.tables
        .iter()
        .filter(|(t, _)| s.table.as_deref().is_none_or(|mine| mine == t.as_str()))
        .map(|(t, k)| (t.clone(), k.clone()))
        .collect()
}

/// `(schema, name)` of a map table; `default_schema` when it is not qualified.
pub fn split_table<'a>(table: &'a str, default_schema: &'a str) -> (&'a str, &'a str) {
    table.rsplit_once('.').unwrap_or((default_schema, table))
}

/// 2^64, for unsigned arithmetic on a signed `int8` hash.
const TWO_64: &str = "18446744073709551616";

/// PostgreSQL's `hash_combine64(0, h)` is `h` plus this constant (wrapping).
fn combine() -> u64 {
    super::hash::hash_combine64(0, 0)
}

/// The row filter selecting `shard`'s rows of a plain table by its key column `key` (with
/// `prefix`, e.g. `NEW.`, in a trigger): PostgreSQL's hash partitioning written with built-in
/// immutable functions and numeric arithmetic, as a publication row filter requires; a range or
/// a key list for the other methods. `None` for ring maps, which no filter can express.
pub fn slot_filter(map: &ShardMap, s: &Shard, key: &str, prefix: &str) -> Option<String> {
    let col = format!("{prefix}{}", quote_ident(key));
    let kt = map.sharding.key_type.to_ascii_lowercase();
    let literal = |v: &str| format!("{}::{}", quote_literal(v), cast_type(&kt));
    match map.sharding.method {
        Method::Hash => {
            let slot = s.hash?;
            let cond = format!(
                "{} = {}",
                hash_remainder(&kt, &col, slot.modulus)?,
                slot.remainder
            );
            // A NULL key hashes to 0 in PostgreSQL's partitioning.
            Some(if slot.remainder == 0 {
                format!("({col} IS NULL OR {cond})")
            } else {
                format!("({cond})")
            })
        }
        Method::Range => {
            let r = s.range.clone()?;
            let mut parts = Vec::new();
            if let Some(f) = &r.from {
                parts.push(format!("{col} >= {}", literal(f)));
            }
            if let Some(t) = &r.to {
                parts.push(format!("{col} < {}", literal(t)));
            }
            if parts.is_empty() {
                parts.push(format!("{col} IS NOT NULL"));
            }
            Some(format!("({})", parts.join(" AND ")))
        }
        Method::List => {
            if s.keys.is_empty() {
                return None;
            }
            let keys: Vec<String> = s.keys.iter().map(|k| literal(k)).collect();
            Some(format!("{col} IN ({})", keys.join(", ")))
        }
        Method::Ring => None,
    }
}

/// The remainder PostgreSQL's `PARTITION BY HASH (col)` with `modulus` gives a row, as SQL
/// over built-in immutable functions and numeric arithmetic (`col` already quoted); `None` for a
/// key type dbkit cannot hash.
pub fn hash_remainder(key_type: &str, col: &str, modulus: u64) -> Option<String> {
    let h = match super::hash::KeyKind::of(key_type).ok()? {
        super::hash::KeyKind::Int4 => {
            format!("hashint4extended({col}::int4, {HASH_PARTITION_SEED})")
        }
        super::hash::KeyKind::Int8 => {
            format!("hashint8extended({col}::int8, {HASH_PARTITION_SEED})")
        }
        super::hash::KeyKind::Text => {
            format!("hashtextextended({col}::text, {HASH_PARTITION_SEED})")
        }
        super::hash::KeyKind::Uuid => {
            format!("uuid_hash_extended({col}::uuid, {HASH_PARTITION_SEED})")
        }
    };
    Some(format!(
        "(({h})::numeric + {} + {TWO_64}) % {TWO_64} % {modulus}",
        combine()
    ))
}

fn cast_type(kt: &str) -> &'static str {
    match kt {
        "int" | "integer" | "int4" | "serial" => "int4",
        "smallint" | "int2" => "int2",
        "bigint" | "int8" | "bigserial" => "int8",
        "uuid" => "uuid",
        _ => "text",
    }
}

/// The map after the cutover: the shards on `to`, the version bumped.
pub fn moved_map(map: &ShardMap, shards: &[u64], to: &str) -> ShardMap {
    let mut m = map.clone();
    for s in &mut m.shards {
        if shards.contains(&s.id) {
            s.node = to.to_string();
        }
    }
    m.version += 1;
    m
}

/// The steps of a move, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Step {
    /// Both nodes reachable and able to replicate; the shard's tables replicable.
    Preflight,
    /// The shard's tables created on the target without secondary indexes.
    Schema,
    /// Publication, subscription, initial copy, streaming.
    Copy,
    /// Secondary indexes built on the target, then ANALYZE.
    Indexes,
    /// Row counts and checksums compared per chunk while writes continue.
    Verify,
    /// Writes paused, the target caught up, the old copy fenced, the map written.
    Cutover,
    /// Subscription, slot, publication and marker dropped; the old copy renamed or dropped.
    Cleanup,
}

impl Step {
    /// Every step in order.
    pub const ALL: [Step; 7] = [
        Step::Preflight,
        Step::Schema,
        Step::Copy,
        Step::Indexes,
        Step::Verify,
        Step::Cutover,
        Step::Cleanup,
    ];

    /// The kebab-case name.
    pub fn name(self) -> &'static str {
        match self {
            Step::Preflight => "preflight",
            Step::Schema => "schema",
            Step::Copy => "copy",
            Step::Indexes => "indexes",
            Step::Verify => "verify",
            Step::Cutover => "cutover",
            Step::Cleanup => "cleanup",
        }
    }
}

/// Where a move is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MoveState {
    /// Started and not finished: a rerun resumes it, `--abort` undoes it (before the cutover).
    Running,
    /// Cut over and cleaned up.
    Done,
    /// Undone by `--abort`.
    Aborted,
}

/// One step as the journal records it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepRecord {
    /// The step.
    pub step: Step,
    /// When it started (RFC 3339, UTC).
    pub started: String,
    /// When it finished, if it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished: Option<String>,
    /// What it did, in a line.
    #[serde(default)]
    pub summary: String,
}

/// The journal of one move: a JSON file beside the map (`<map>.moves/shard-<id>.json`),
/// rewritten atomically after every step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Journal {
    /// The shard named on the command line.
    pub shard: u64,
    /// Every shard moving (the colocated ones too).
    pub shards: Vec<u64>,
    /// The source node.
    pub from: String,
    /// The target node.
    pub to: String,
    /// The map version when the move started.
    pub map_version: u64,
    /// The names of what the move creates.
    pub names: MoveNames,
    /// Running, done or aborted.
    pub state: MoveState,
    /// The tables' parts moving.
    #[serde(default)]
    pub units: Vec<Unit>,
    /// Relations the move created on the target (dropped by `--abort`).
    #[serde(default)]
    pub created: Vec<String>,
    /// The steps started, in order.
    #[serde(default)]
    pub steps: Vec<StepRecord>,
    /// The source's WAL position the initial copy's snapshot stands at: the subscription
    /// starts there. Saved before the copy commits on the target.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub copy_lsn: Option<String>,
    /// The write pause of the cutover, in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pause_ms: Option<u64>,
    /// The map version the cutover wrote.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_version: Option<u64>,
    /// Earlier moves of this shard, most recent last (`--reverse` reads the last).
    #[serde(default)]
    pub history: Vec<PastMove>,
}

/// A finished or aborted move, kept in the journal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PastMove {
    /// From node.
    pub from: String,
    /// To node.
    pub to: String,
    /// Done or aborted.
    pub state: MoveState,
    /// The map version it wrote.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_version: Option<u64>,
    /// When it ended.
    pub ended: String,
}

impl Journal {
    /// A new journal for moving `shards` from `from` to `to` at map version `version`.
    pub fn new(shard: u64, shards: Vec<u64>, from: &str, to: &str, version: u64) -> Self {
        Journal {
            shard,
            shards,
            from: from.to_string(),
            to: to.to_string(),
            map_version: version,
            names: MoveNames::new(shard, version),
            state: MoveState::Running,
            units: Vec::new(),
            created: Vec::new(),
            steps: Vec::new(),
            copy_lsn: None,
            pause_ms: None,
            new_version: None,
            history: Vec::new(),
        }
    }

    /// Read a journal from its JSON bytes (a leading byte-order mark is skipped); the error
    /// says what is wrong.
    pub fn from_bytes(bytes: &[u8]) -> Result<Journal, String> {
        let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        let j: Journal = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
        if j.shards.is_empty() || !j.shards.contains(&j.shard) {
            return Err(format!(
                "the journal's shards {:?} do not include its shard {}",
                j.shards, j.shard
            ));
        }
        if j.names != MoveNames::new(j.shard, j.map_version) {
            return Err(format!(
                "the journal names {:?}, not the names of shard {} at version {}",
                j.names.base, j.shard, j.map_version
            ));
        }
        Ok(j)
    }

    /// Whether `step` finished.
    pub fn done(&self, step: Step) -> bool {
        self.steps
            .iter()
            .any(|r| r.step == step && r.finished.is_some())
    }

    /// Whether the cutover happened (the target holds the shard).
    pub fn cut_over(&self) -> bool {
        self.done(Step::Cutover)
    }

    /// Record the start of `step` (once).
    pub fn start(&mut self, step: Step, now: &str) {
        if !self.steps.iter().any(|r| r.step == step) {
            self.steps.push(StepRecord {
                step,
                started: now.to_string(),
                finished: None,
                summary: String::new(),
            });
        }
    }

    /// Record the end of `step` with a summary.
    pub fn finish(&mut self, step: Step, now: &str, summary: String) {
        self.start(step, now);
        if let Some(r) = self.steps.iter_mut().find(|r| r.step == step) {
            r.finished = Some(now.to_string());
            r.summary = summary;
        }
    }

    /// Close this move (done or aborted) into the history, ready for the next.
    pub fn close(&mut self, state: MoveState, now: &str) {
        self.state = state;
        self.history.push(PastMove {
            from: self.from.clone(),
            to: self.to.clone(),
            state,
            new_version: self.new_version,
            ended: now.to_string(),
        });
    }
}

/// One chunk's count and order-independent checksum on one side.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
pub struct Chunk {
    /// Rows.
    pub rows: i64,
    /// Sum of the rows' 64-bit hashes, modulo 2^64 (as text on the server, here wrapped).
    pub sum: u64,
}

/// The chunks whose counts or checksums differ between the two sides (a chunk missing on one
/// side is an empty chunk there).
pub fn differing_chunks(a: &BTreeMap<i32, Chunk>, b: &BTreeMap<i32, Chunk>) -> Vec<i32> {
    let mut keys: Vec<i32> = a.keys().chain(b.keys()).copied().collect();
    keys.sort_unstable();
    keys.dedup();
    keys.into_iter()
        .filter(|k| a.get(k).copied().unwrap_or_default() != b.get(k).copied().unwrap_or_default())
        .collect()
}

/// Keys whose row hash differs between the sides, or that one side lacks: `(key, in source,
/// in target)`.
pub fn differing_rows(
    a: &BTreeMap<String, String>,
    b: &BTreeMap<String, String>,
) -> Vec<(String, bool, bool)> {
    let mut out = Vec::new();
    for (k, h) in a {
        match b.get(k) {
            Some(h2) if h2 == h => {}
            Some(_) => out.push((k.clone(), true, true)),
            None => out.push((k.clone(), true, false)),
        }
    }
    for k in b.keys() {
        if !a.contains_key(k) {
            out.push((k.clone(), false, true));
        }
    }
    out
}

/// A libpq connection string (`host=… port=…`) with every value quoted as libpq reads it;
/// the password is included only when `password` is given.
pub fn conninfo(pairs: &[(&str, Option<String>)]) -> String {
    pairs
        .iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| (k, v)))
        .map(|(k, v)| {
            let mut q = String::from("'");
            for c in v.chars() {
                if c == '\'' || c == '\\' {
                    q.push('\\');
                }
                q.push(c);
            }
            q.push('\'');
            format!("{k}={q}")
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shard::hash::{partition_remainder, KeyValue};

    fn map(text: &str) -> ShardMap {
        crate::mapfile::parse_file(text, "m.toml").unwrap()
    }

    const COLO: &str = r#"
version = 3
[tables]
customers = "id"
orders = "customer_id"
events = "id"
[[colocation]]
name = "c"
tables = ["customers", "orders"]
[[nodes]]
name = "a"
[[nodes]]
name = "b"
[[shards]]
id = 1
node = "a"
table = "customers"
hash = { modulus = 2, remainder = 0 }
[[shards]]
id = 2
node = "a"
table = "orders"
hash = { modulus = 2, remainder = 0 }
[[shards]]
id = 3
node = "a"
table = "events"
hash = { modulus = 2, remainder = 0 }
[[shards]]
id = 4
node = "b"
table = "orders"
hash = { modulus = 2, remainder = 1 }
"#;

    #[test]
    fn colocated_shards_move_together() {
        let m = map(COLO);
        let ids = |id| colocated(&m, id).iter().map(|s| s.id).collect::<Vec<_>>();
        assert_eq!(ids(1), [1, 2]);
        assert_eq!(ids(2), [2, 1]);
        assert_eq!(ids(3), [3]);
        assert_eq!(ids(4), [4]);
        assert!(ids(9).is_empty());
        let t = tables_of(&m, &m.shards[1]);
        assert_eq!(t, [("orders".to_string(), "customer_id".to_string())]);
    }

    #[test]
    fn moved_map_bumps_the_version() {
        let m = map(COLO);
        let n = moved_map(&m, &[1, 2], "b");
        assert_eq!(n.version, 4);
        assert_eq!(n.shards[0].node, "b");
        assert_eq!(n.shards[1].node, "b");
        assert_eq!(n.shards[2].node, "a");
    }

    #[test]
    fn hash_filter_is_postgres_partitioning_in_numeric() {
        // Evaluate the filter's arithmetic here with the hash dbkit computes, for many keys:
        // it must select exactly the keys PostgreSQL's partitioning sends to the remainder.
        let m = map(COLO);
        let f = slot_filter(&m, &m.shards[3], "customer_id", "").unwrap();
        assert!(f.contains("hashint8extended(customer_id::int8, 8816678312871386365)"));
        assert!(f.ends_with("% 2 = 1)"), "{f}");
        for k in -500i64..500 {
            let h = KeyValue::Int8(k)
                .hash_extended(HASH_PARTITION_SEED)
                .unwrap() as i64;
            let num = (h as i128 + combine() as i128 + (1i128 << 64)) % (1i128 << 64);
            let rem = (num % 7) as u64;
            assert_eq!(rem, partition_remainder(&[KeyValue::Int8(k)], 7), "{k}");
        }
        let f0 = slot_filter(&m, &m.shards[0], "id", "NEW.").unwrap();
        assert!(f0.starts_with("(NEW.id IS NULL OR"), "{f0}");
    }

    #[test]
    fn range_and_list_filters_quote_values() {
        let m = map(r#"
version = 1
[sharding]
method = "range"
key_type = "text"
[tables]
t = "k"
[[nodes]]
name = "a"
[[shards]]
id = 0
node = "a"
range = { from = "a'b", to = "m" }
[[shards]]
id = 1
node = "a"
range = { from = "m" }
"#);
        assert_eq!(
            slot_filter(&m, &m.shards[0], "K y", "").unwrap(),
            "(\"K y\" >= 'a''b'::text AND \"K y\" < 'm'::text)"
        );
        assert_eq!(
            slot_filter(&m, &m.shards[1], "k", "").unwrap(),
            "(k >= 'm'::text)"
        );
        let mut l = m.clone();
        l.sharding.method = Method::List;
        l.shards[0].keys = vec!["x".into(), "y\\".into()];
        assert_eq!(
            slot_filter(&l, &l.shards[0], "k", "").unwrap(),
            "k IN ('x'::text, E'y\\\\'::text)"
        );
    }

    #[test]
    fn journal_records_steps_and_history() {
        let mut j = Journal::new(3, vec![3], "a", "b", 7);
        assert_eq!(j.names.name(), "dbkit_move_s3_v7");
        assert_eq!(j.names.marker(), "dbkit.dbkit_move_s3_v7");
        j.start(Step::Preflight, "t0");
        assert!(!j.done(Step::Preflight));
        j.finish(Step::Preflight, "t1", "ok".into());
        assert!(j.done(Step::Preflight));
        assert!(!j.cut_over());
        j.close(MoveState::Done, "t2");
        assert_eq!(j.history.len(), 1);
        let text = serde_json::to_string(&j).unwrap();
        assert_eq!(Journal::from_bytes(text.as_bytes()).unwrap(), j);
        let bom = format!("\u{feff}{text}");
        assert_eq!(Journal::from_bytes(bom.as_bytes()).unwrap(), j);
        assert!(Journal::from_bytes(&text.as_bytes()[..text.len() / 2]).is_err());
        assert!(Journal::from_bytes(b"\xff\xfe").is_err());
        let renamed = text.replace("dbkit_move_s3_v7", "dbkit_move_s3_v6");
        assert!(Journal::from_bytes(renamed.as_bytes())
            .unwrap_err()
            .contains("names"));
    }

    #[test]
    fn chunk_and_row_differences() {
        let c = |rows, sum| Chunk { rows, sum };
        let a = BTreeMap::from([(0, c(2, 5)), (1, c(1, 1)), (3, c(1, 9))]);
        let b = BTreeMap::from([(0, c(2, 5)), (1, c(1, 2)), (2, c(1, 1))]);
        assert_eq!(differing_chunks(&a, &b), [1, 2, 3]);
        let s = |v: &[(&str, &str)]| {
            v.iter()
                .map(|(k, h)| (k.to_string(), h.to_string()))
                .collect::<BTreeMap<_, _>>()
        };
        let d = differing_rows(&s(&[("1", "a"), ("2", "b")]), &s(&[("2", "c"), ("3", "d")]));
        assert_eq!(
            d,
            [
                ("1".to_string(), true, false),
                ("2".to_string(), true, true),
                ("3".to_string(), false, true)
            ]
        );
    }

    #[test]
    fn conninfo_quotes_values() {
        let c = conninfo(&[
            ("host", Some("/tmp/x y".into())),
            ("port", Some("5432".into())),
            ("password", None),
            ("dbname", Some("it's\\".into())),
        ]);
        assert_eq!(c, "host='/tmp/x y' port='5432' dbname='it\\'s\\\\'");
    }
}
