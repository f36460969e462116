//! Bursts: one query shape repeated back to back in one scope (a session, or a trace), the raw
//! material of the N+1 and redundant-query rules.
//!
//! Events are collected compactly (no SQL text per event) by [`Collector`], in parallel, then
//! ordered per scope by their position in the log and cut into bursts by [`bursts`]: a burst ends
//! at a gap longer than the window, or when more than `tolerance` other shapes interleave.

use crate::sql::fingerprint::{fnv1a64, Normalizer};
use crate::sql::lexer::{Lexer, TokenKind};
use crate::workload::{Event, EventKind};
use serde::Serialize;
use std::collections::{HashMap, HashSet};

/// One query, compactly (32 bytes: a 200 MB log's 1.2 million queries take 40 MB).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Compact {
    /// Position in the log: the block number in the high 32 bits, the order within the block
    /// in the low 32.
    pub pos: u64,
    /// Timestamp, epoch ms.
    pub ts_ms: i64,
    /// Shape (index into [`Collector::shape_ids`]).
    pub shape: u32,
    /// Scope (index into the collector's names).
    pub scope: u32,
    /// Hash of the statement's constant values and bind parameters (32 bits: it only tells
    /// repeats with the same values from repeats with others).
    pub values: u32,
    /// Duration, ms (0 when not logged).
    pub ms: f32,
}

/// Samples of real values kept per shape.
const SAMPLES: usize = 5;

/// Gathers compact events; one per thread, merged afterwards.
#[derive(Debug, Default)]
pub struct Collector {
    /// Scope names (session or trace ids).
    pub scopes: Vec<String>,
    scope_ids: HashMap<String, u32>,
    /// The events.
    pub events: Vec<Compact>,
    /// Fingerprint id of each shape index.
    pub shape_ids: Vec<u64>,
    /// Whether each shape index is a transaction boundary (BEGIN, COMMIT, ROLLBACK…).
    pub tx: Vec<bool>,
    shape_index: HashMap<u64, u32>,
    /// Normalized text per shape (by fingerprint id).
    pub shapes: HashMap<u64, String>,
    /// A few real statements per shape (SQL and bind parameters).
    pub samples: HashMap<u64, Vec<(String, Option<String>)>>,
    next_idx: HashMap<u64, u32>,
    norm: Normalizer,
    buf: String,
}

/// Hash of the constant values of `sql` and of its bind parameters.
pub fn values_hash(sql: &str, params: Option<&str>) -> u64 {
    let mut h = fnv1a64(params.unwrap_or("").as_bytes());
    for t in Lexer::new(sql) {
        if t.kind.is_literal() || t.kind == TokenKind::Param {
            h = h.rotate_left(5) ^ fnv1a64(t.text(sql).as_bytes());
        }
    }
    h
}

/// Whether a normalized statement starts or ends a transaction.
fn is_tx_boundary(normalized: &str) -> bool {
    let first = normalized.split([' ', ';']).next().unwrap_or("");
    matches!(
        first,
        "begin" | "commit" | "rollback" | "end" | "abort" | "start"
    ) || normalized.starts_with("prepare transaction")
}

impl Collector {
    /// The index of shape `fp` (text `normalized`), added when new.
    fn shape(&mut self, fp: u64, normalized: impl FnOnce() -> String) -> u32 {
        if let Some(&i) = self.shape_index.get(&fp) {
            return i;
        }
        let i = self.shape_ids.len() as u32;
        let text = normalized();
        self.tx.push(is_tx_boundary(&text));
        self.shape_ids.push(fp);
        self.shape_index.insert(fp, i);
        self.shapes.entry(fp).or_insert(text);
        i
    }

    fn scope(&mut self, name: &str) -> u32 {
        match self.scope_ids.get(name) {
            Some(&i) => i,
            None => {
                let i = self.scopes.len() as u32;
                self.scopes.push(name.to_string());
                self.scope_ids.insert(name.to_string(), i);
                i
            }
        }
    }

    /// Record one event of block `seq` (errors are not queries the application loops over).
    pub fn add(&mut self, seq: u64, e: &Event<'_>) {
        if e.kind != EventKind::Query {
            return;
        }
        let fp = self.norm.normalize_into(&e.sql, &mut self.buf);
        let buf = std::mem::take(&mut self.buf);
        let shape = self.shape(fp, || buf.clone());
        self.buf = buf;
        let s = self.samples.entry(fp).or_default();
        if s.len() < SAMPLES {
            s.push((e.sql.to_string(), e.params.as_deref().map(str::to_string)));
        }
        let scope = self.scope(e.trace.as_deref().unwrap_or(&e.session));
        let idx = self.next_idx.entry(seq).or_insert(0);
        self.events.push(Compact {
            pos: (seq << 32) | u64::from(*idx),
            ts_ms: e.ts_ms,
            shape,
            scope,
            values: values_hash(&e.sql, e.params.as_deref()) as u32,
            ms: e.duration_ms.unwrap_or(0.0) as f32,
        });
        *idx = idx.wrapping_add(1);
    }

    /// Merge another collector (its scope and shape indexes are remapped).
    pub fn merge(&mut self, mut o: Collector) {
        let scopes: Vec<u32> = std::mem::take(&mut o.scopes)
            .iter()
            .map(|name| self.scope(name))
            .collect();
        let shapes: Vec<u32> = o
            .shape_ids
            .iter()
            .map(|fp| {
                let text = o.shapes.get(fp).cloned().unwrap_or_default();
                self.shape(*fp, || text)
            })
            .collect();
        self.events.reserve_exact(o.events.len());
        self.events.extend(o.events.drain(..).map(|mut e| {
            e.scope = scopes[e.scope as usize];
            e.shape = shapes[e.shape as usize];
            e
        }));
        for (fp, v) in o.samples {
            let s = self.samples.entry(fp).or_default();
            for x in v {
                if s.len() < SAMPLES {
                    s.push(x);
                }
            }
        }
    }
}

/// How bursts are cut.
#[derive(Debug, Clone, Copy)]
pub struct BurstOptions {
    /// A gap longer than this ends a burst, ms.
    pub window_ms: i64,
    /// Other shapes that may interleave between two repeats.
    pub tolerance: usize,
    /// Repeats that make a burst worth reporting.
    pub min_repeats: usize,
}

impl Default for BurstOptions {
    fn default() -> Self {
        BurstOptions::from(&crate::config::WorkloadThresholds::default())
    }
}

impl From<&crate::config::WorkloadThresholds> for BurstOptions {
    fn from(t: &crate::config::WorkloadThresholds) -> Self {
        BurstOptions {
            window_ms: t.window_ms,
            tolerance: t.tolerance,
            min_repeats: t.min_repeats,
        }
    }
}

/// A run of one shape in one scope.
#[derive(Debug, Clone, PartialEq)]
pub struct Burst {
    /// Scope index.
    pub scope: u32,
    /// Shape.
    pub fp: u64,
    /// Repeats.
    pub count: usize,
    /// Distinct value sets among them.
    pub distinct_values: usize,
    /// Sum of their durations, ms.
    pub total_ms: f64,
    /// Longest single one, ms.
    pub max_ms: f64,
    /// First, epoch ms.
    pub start_ms: i64,
    /// Last, epoch ms.
    pub end_ms: i64,
    /// The shape of the query just before the burst in the same scope.
    pub parent: Option<u64>,
}

/// Order each scope's events by log position and cut them into bursts of at least
/// `min_repeats`.
pub fn bursts(c: &mut Collector, o: &BurstOptions) -> Vec<Burst> {
    c.events.sort_unstable_by_key(|e| (e.scope, e.pos));
    let mut out = Vec::new();
    let events = &c.events;
    let mut i = 0;
    while i < events.len() {
        let scope = events[i].scope;
        let mut j = i;
        while j < events.len() && events[j].scope == scope {
            j += 1;
        }
        scan_scope(&events[i..j], &c.tx, &c.shape_ids, o, &mut out);
        i = j;
    }
    out
}

/// Cut one scope's events into bursts. A burst of shape S after parent P ends at a gap longer
/// than the window, when more than `tolerance` other shapes come between two repeats, when P
/// runs again (the application's next request), or at a transaction boundary.
fn scan_scope(ev: &[Compact], tx: &[bool], ids: &[u64], o: &BurstOptions, out: &mut Vec<Burst>) {
    let is_tx = |e: &Compact| tx.get(e.shape as usize).copied().unwrap_or(false);
    let mut k = 0;
    while k < ev.len() {
        let head = ev[k];
        if is_tx(&head) {
            k += 1;
            continue;
        }
        let parent = ev[..k]
            .iter()
            .rev()
            .find(|e| e.shape != head.shape && !is_tx(e))
            .map(|e| e.shape);
        let mut values: HashSet<u32> = HashSet::new();
        values.insert(head.values);
        let (mut count, mut total, mut max, mut last_ts) =
            (1usize, head.ms as f64, head.ms as f64, head.ts_ms);
        let mut others = 0usize;
        let mut next_start = k + 1;
        let mut m = k + 1;
        while m < ev.len() {
            let e = ev[m];
            if head.ts_ms != 0 && e.ts_ms - last_ts > o.window_ms {
                break;
            }
            if Some(e.shape) == parent || is_tx(&e) {
                break;
            }
            if e.shape == head.shape {
                count += 1;
                total += e.ms as f64;
                max = max.max(e.ms as f64);
                last_ts = e.ts_ms;
                values.insert(e.values);
                others = 0;
                next_start = m + 1;
            } else {
                others += 1;
                if others > o.tolerance {
                    break;
                }
            }
            m += 1;
        }
        if count >= o.min_repeats {
            let fp = |s: u32| ids.get(s as usize).copied().unwrap_or(0);
            out.push(Burst {
                scope: head.scope,
                fp: fp(head.shape),
                count,
                distinct_values: values.len(),
                total_ms: total,
                max_ms: max,
                start_ms: head.ts_ms,
                end_ms: last_ts,
                parent: parent.map(fp),
            });
            k = next_start;
        } else {
            k += 1;
        }
    }
}

/// One pattern in the report: a shape looped after the same parent, in one or many bursts.
#[derive(Debug, Clone, Serialize)]
pub struct BurstRow {
    /// `n-plus-one` or `redundant-query`.
    pub rule: crate::finding::RuleId,
    /// Fingerprint id of the looped shape.
    pub fingerprint: String,
    /// The looped shape.
    pub query: String,
    /// The query before the bursts (for `n-plus-one`, the same for the whole pattern).
    pub parent: Option<String>,
    /// Every query seen before one of the bursts (`redundant-query` groups its bursts by shape
    /// alone and lists their parents here).
    pub parents: Vec<String>,
    /// Bursts of this pattern.
    pub bursts: usize,
    /// Repeats over all bursts.
    pub repeats: usize,
    /// The longest burst.
    pub max_burst: usize,
    /// Sessions (or traces) it was seen in.
    pub sessions: usize,
    /// One of them.
    pub example_session: String,
    /// Total time of the repeats, ms.
    pub total_ms: f64,
    /// Time batching would save (all but one query per burst), ms.
    pub wasted_ms: f64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::borrow::Cow;

    fn collect(rows: &[(&str, i64, &str)]) -> Collector {
        let mut c = Collector::default();
        for (i, (session, ts, sql)) in rows.iter().enumerate() {
            // Timestamp 0 means "unknown" to the readers: start the test clock later.
            let e = Event::query(
                1_000_000 + *ts,
                Some(1.0),
                Cow::Borrowed(*sql),
                Cow::Borrowed(*session),
            );
            c.add(i as u64 / 3, &e);
        }
        c
    }

    #[test]
    fn loops_are_found_per_session_with_their_parent() {
        let mut rows = vec![("a", 0, "SELECT * FROM orders WHERE user_id = 7")];
        let children = [
            "SELECT * FROM order_items WHERE order_id = 1",
            "SELECT * FROM order_items WHERE order_id = 2",
        ];
        for i in 0..6 {
            rows.push(("a", 10 + i, children[i as usize % 2]));
            rows.push(("b", 10 + i, "SELECT 1")); // another session interleaves freely
        }
        let mut c = collect(&rows);
        let b = bursts(&mut c, &BurstOptions::default());
        let order_items: Vec<&Burst> = b
            .iter()
            .filter(|x| c.shapes[&x.fp].contains("order_items"))
            .collect();
        assert_eq!(order_items.len(), 1);
        assert_eq!(order_items[0].count, 6);
        assert_eq!(order_items[0].distinct_values, 2);
        assert!(c.shapes[&order_items[0].parent.unwrap()].contains("from orders"));
        // Session b's identical SELECT 1s are a burst too (redundant).
        assert!(b
            .iter()
            .any(|x| c.scopes[x.scope as usize] == "b" && x.distinct_values == 1));
    }

    #[test]
    fn gaps_and_interleaving_end_a_burst() {
        let mut rows = Vec::new();
        for i in 0..4 {
            rows.push(("a", i * 10, "SELECT * FROM t WHERE id = 1"));
        }
        rows.push(("a", 5000, "SELECT * FROM t WHERE id = 2")); // after the window
        let mut c = collect(&rows);
        assert!(bursts(&mut c, &BurstOptions::default()).is_empty());
        let mut rows = Vec::new();
        for i in 0..6 {
            rows.push(("a", i, "SELECT * FROM t WHERE id = 1"));
            rows.push(("a", i, "SELECT * FROM u WHERE id = 1"));
            rows.push(("a", i, "SELECT * FROM v WHERE id = 1"));
        }
        let mut c = collect(&rows);
        assert!(
            bursts(&mut c, &BurstOptions::default()).is_empty(),
            "two other shapes between repeats"
        );
    }

    #[test]
    fn a_burst_ends_when_its_parent_runs_again_or_a_transaction_ends() {
        // Each request: one parent query, then seven children; five requests back to back.
        let mut rows = Vec::new();
        for r in 0..5 {
            rows.push((
                "a",
                r * 20,
                format!("SELECT * FROM orders WHERE user_id = {r}"),
            ));
            for i in 0..7 {
                rows.push((
                    "a",
                    r * 20 + 1 + i,
                    format!("SELECT * FROM items WHERE order_id = {i}"),
                ));
            }
        }
        let rows: Vec<(&str, i64, &str)> =
            rows.iter().map(|(s, t, q)| (*s, *t, q.as_str())).collect();
        let mut c = collect(&rows);
        let b = bursts(&mut c, &BurstOptions::default());
        assert_eq!(b.len(), 5, "{b:?}");
        assert!(b.iter().all(|x| x.count == 7));
        // A transaction boundary ends a burst too.
        let mut rows = Vec::new();
        for t in 0..3 {
            rows.push(("a", t * 20, "BEGIN".to_string()));
            for i in 0..6 {
                rows.push((
                    "a",
                    t * 20 + 1 + i,
                    format!("SELECT * FROM items WHERE order_id = {i}"),
                ));
            }
            rows.push(("a", t * 20 + 8, "COMMIT".to_string()));
        }
        let rows: Vec<(&str, i64, &str)> =
            rows.iter().map(|(s, t, q)| (*s, *t, q.as_str())).collect();
        let mut c = collect(&rows);
        let b = bursts(&mut c, &BurstOptions::default());
        assert_eq!(b.iter().map(|x| x.count).collect::<Vec<_>>(), vec![6, 6, 6]);
        assert!(b.iter().all(|x| x.parent.is_none()), "BEGIN is no parent");
    }
}
