//! `workload top`: per-fingerprint statistics over query events, mergeable across threads,
//! with memory bounded by the number of distinct shapes (not the number of queries).

use crate::sql::fingerprint::Normalizer;
use crate::workload::{Event, EventKind};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// A log-scale duration histogram: 32 buckets per power of two of microseconds (about 2%
/// precision), dense from the smallest bucket seen.
#[derive(Debug, Clone, Default, PartialEq, Serialize, serde::Deserialize)]
pub struct Histogram {
    counts: Vec<u32>,
    total: u64,
}

const SUB: f64 = 32.0;

fn bucket(ms: f64) -> usize {
    let us = (ms * 1000.0).max(1.0);
    (us.log2() * SUB) as usize
}

fn bucket_value_ms(b: usize) -> f64 {
    // Geometric middle of the bucket.
    2f64.powf((b as f64 + 0.5) / SUB) / 1000.0
}

impl Histogram {
    /// Count one duration.
    pub fn add(&mut self, ms: f64) {
        let b = bucket(ms).min(64 * 32);
        if b >= self.counts.len() {
            self.counts.resize(b + 1, 0);
        }
        self.counts[b] += 1;
        self.total += 1;
    }

    /// Add another histogram's counts.
    pub fn merge(&mut self, o: &Histogram) {
        if o.counts.len() > self.counts.len() {
            self.counts.resize(o.counts.len(), 0);
        }
        for (i, c) in o.counts.iter().enumerate() {
            self.counts[i] += c;
        }
        self.total += o.total;
    }

    /// The counts in readable buckets (upper bounds 1, 2, 5 × a power of ten, in ms), from the
    /// first non-empty bucket to the last: `(upper bound ms, count)`.
    pub fn coarse(&self) -> Vec<(f64, u64)> {
        let mut bounds = Vec::new();
        let mut p = 0.01;
        while p < 1e8 {
            bounds.extend([p, p * 2.0, p * 5.0]);
            p *= 10.0;
        }
        let mut out: Vec<(f64, u64)> = bounds.iter().map(|b| (*b, 0)).collect();
        for (i, c) in self.counts.iter().enumerate().filter(|(_, c)| **c > 0) {
            let v = bucket_value_ms(i);
            let k = bounds
                .iter()
                .position(|b| v <= *b)
                .unwrap_or(bounds.len() - 1);
            out[k].1 += u64::from(*c);
        }
        let first = out.iter().position(|(_, c)| *c > 0);
        let last = out.iter().rposition(|(_, c)| *c > 0);
        match (first, last) {
            (Some(f), Some(l)) => out[f..=l].to_vec(),
            _ => Vec::new(),
        }
    }

    /// The `q` quantile (0..1), ms.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        if self.total == 0 {
            return None;
        }
        let rank = ((q * self.total as f64).ceil() as u64).max(1);
        let mut seen = 0u64;
        for (i, c) in self.counts.iter().enumerate() {
            seen += *c as u64;
            if seen >= rank {
                return Some(bucket_value_ms(i));
            }
        }
        None
    }
}

#[cfg(test)]
mod histogram_tests {
    use super::Histogram;

    #[test]
    fn coarse_buckets_are_readable_and_keep_every_count() {
        let mut h = Histogram::default();
        for ms in [0.3, 0.4, 1.5, 1.9, 3.0, 40.0, 41.0, 45.0] {
            h.add(ms);
        }
        let c = h.coarse();
        assert_eq!(c.iter().map(|(_, n)| n).sum::<u64>(), 8);
        assert_eq!(c.first().unwrap(), &(0.5, 2));
        assert_eq!(c.last().unwrap(), &(50.0, 3));
        assert!(c.iter().any(|(b, n)| *b == 2.0 && *n == 2), "{c:?}");
        assert!(Histogram::default().coarse().is_empty());
    }
}

/// Sets that stop growing at a few entries (users, databases, applications of a shape).
const MAX_NAMES: usize = 16;

/// Statistics of one shape.
#[derive(Debug, Clone, Default, Serialize, serde::Deserialize)]
pub struct ShapeStats {
    /// The normalized text.
    pub normalized: String,
    /// Queries (with or without a logged duration).
    pub calls: u64,
    /// Failed statements.
    pub errors: u64,
    /// Sum of durations, µs (whole numbers, so sums merge exactly in any order).
    pub total_us: u64,
    /// Queries that had a duration.
    pub timed: u64,
    /// Smallest duration.
    pub min_ms: f64,
    /// Largest duration.
    pub max_ms: f64,
    /// Durations.
    pub hist: Histogram,
    /// First seen, epoch ms.
    pub first_ms: i64,
    /// Last seen, epoch ms.
    pub last_ms: i64,
    /// Users seen.
    pub users: BTreeSet<String>,
    /// Databases seen.
    pub databases: BTreeSet<String>,
    /// Applications seen.
    pub applications: BTreeSet<String>,
    /// The slowest example: SQL, parameters, duration.
    pub example: Option<(String, Option<String>, f64)>,
}

impl ShapeStats {
    /// The `q` quantile of the durations (0..1), ms: within [min, max] always (the histogram's
    /// buckets are 2% wide, so its estimate alone could step outside), exact when every call
    /// took the same time (one call in particular) and for the fastest and slowest ranks.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        // No durations one by one (a pg_stat_statements row): no percentiles.
        if self.timed == 0 || self.hist.total == 0 {
            return None;
        }
        let rank = ((q * self.timed as f64).ceil() as u64).max(1);
        if self.min_ms == self.max_ms || rank == 1 {
            return Some(self.min_ms + 0.0);
        }
        if rank >= self.timed {
            return Some(self.max_ms + 0.0);
        }
        let v = self.hist.quantile(q)?;
        Some(v.clamp(self.min_ms, self.max_ms) + 0.0)
    }

    fn merge(&mut self, o: ShapeStats) {
        if self.normalized.is_empty() {
            self.normalized = o.normalized;
        }
        if self.timed == 0 || (o.timed > 0 && o.min_ms < self.min_ms) {
            self.min_ms = o.min_ms;
        }
        self.calls += o.calls;
        self.errors += o.errors;
        self.total_us += o.total_us;
        self.timed += o.timed;
        self.max_ms = self.max_ms.max(o.max_ms);
        self.hist.merge(&o.hist);
        if self.first_ms == 0 || (o.first_ms != 0 && o.first_ms < self.first_ms) {
            self.first_ms = o.first_ms;
        }
        self.last_ms = self.last_ms.max(o.last_ms);
        for (dst, src) in [
            (&mut self.users, o.users),
            (&mut self.databases, o.databases),
            (&mut self.applications, o.applications),
        ] {
            for v in src {
                keep_first(dst, v);
            }
        }
        match (&self.example, o.example) {
            (Some(a), Some(b)) if slower(&b, a) => self.example = Some(b),
            (None, b) => self.example = b,
            _ => {}
        }
    }
}

/// The aggregate of a set of events.
#[derive(Debug, Default, Serialize, serde::Deserialize)]
pub struct Top {
    /// Per fingerprint id.
    pub shapes: HashMap<u64, ShapeStats>,
    /// Load per minute: minute (epoch ms) → (queries, total µs).
    pub per_minute: BTreeMap<i64, (u64, u64)>,
    #[serde(skip)]
    norm: Normalizer,
    #[serde(skip)]
    buf: String,
}

fn note(set: &mut BTreeSet<String>, v: Option<&str>) {
    if let Some(v) = v {
        if !set.contains(v) && (set.len() < MAX_NAMES || set.last().is_some_and(|l| v < l.as_str()))
        {
            keep_first(set, v.to_string());
        }
    }
}

/// Add `v`, keeping the first [`MAX_NAMES`] in order: the same set whatever order values
/// come in, so aggregates merge the same in any order.
pub(crate) fn keep_first(set: &mut BTreeSet<String>, v: String) {
    set.insert(v);
    while set.len() > MAX_NAMES {
        set.pop_last();
    }
}

/// Whether example `a` is the one to keep over `b`: slower, or as slow and first in order
/// (so the example does not depend on the order events were read in).
fn slower(a: &(String, Option<String>, f64), b: &(String, Option<String>, f64)) -> bool {
    a.2 > b.2 || (a.2 == b.2 && (&a.0, &a.1) < (&b.0, &b.1))
}

/// A duration in ms as whole µs (logs write ms with three decimals).
pub(crate) fn us(ms: f64) -> u64 {
    if ms.is_finite() && ms > 0.0 {
        (ms * 1000.0).round() as u64
    } else {
        0
    }
}

impl Top {
    /// Count one event.
    pub fn add(&mut self, e: &Event<'_>) {
        if e.kind == EventKind::Entry {
            return;
        }
        let id = self.norm.normalize_into(&e.sql, &mut self.buf);
        let s = self.shapes.entry(id).or_default();
        if s.normalized.is_empty() {
            s.normalized = self.buf.clone();
        }
        if e.ts_ms != 0 {
            if s.first_ms == 0 || e.ts_ms < s.first_ms {
                s.first_ms = e.ts_ms;
            }
            s.last_ms = s.last_ms.max(e.ts_ms);
        }
        note(&mut s.users, e.user.as_deref());
        note(&mut s.databases, e.database.as_deref());
        note(&mut s.applications, e.application.as_deref());
        if e.kind == EventKind::Error {
            s.errors += 1;
            if s.example.is_none() {
                s.example = Some((
                    e.sql.to_string(),
                    e.params.as_deref().map(str::to_string),
                    0.0,
                ));
            }
            return;
        }
        s.calls += 1;
        if let Some(d) = e.duration_ms {
            if s.timed == 0 || d < s.min_ms {
                s.min_ms = d;
            }
            s.max_ms = s.max_ms.max(d);
            s.total_us += us(d);
            s.timed += 1;
            s.hist.add(d);
            let ex = (
                e.sql.to_string(),
                e.params.as_deref().map(str::to_string),
                d,
            );
            if s.example.as_ref().is_none_or(|x| slower(&ex, x)) {
                s.example = Some(ex);
            }
        } else if s.example.is_none() {
            s.example = Some((
                e.sql.to_string(),
                e.params.as_deref().map(str::to_string),
                0.0,
            ));
        }
        if e.ts_ms != 0 {
            let m = self
                .per_minute
                .entry(e.ts_ms - e.ts_ms.rem_euclid(60_000))
                .or_default();
            m.0 += 1;
            m.1 += us(e.duration_ms.unwrap_or(0.0));
        }
    }

    /// Count one pg_stat_statements row (calls, total, min and max; no percentiles, no times).
    pub fn add_pgss(&mut self, r: &crate::workload::pgss::PgssRow) {
        let id = self.norm.normalize_into(&r.query, &mut self.buf);
        let s = self.shapes.entry(id).or_default();
        if s.normalized.is_empty() {
            s.normalized = self.buf.clone();
        }
        note(&mut s.users, r.user.as_deref());
        note(&mut s.databases, r.database.as_deref());
        if r.calls == 0 {
            return;
        }
        let min = r.min_ms.unwrap_or(r.total_ms / r.calls as f64);
        if s.timed == 0 || min < s.min_ms {
            s.min_ms = min;
        }
        s.max_ms = s
            .max_ms
            .max(r.max_ms.unwrap_or(r.total_ms / r.calls as f64));
        s.calls += r.calls;
        s.timed += r.calls;
        s.total_us += us(r.total_ms);
        if s.example.is_none() {
            s.example = Some((r.query.clone(), None, r.total_ms / r.calls as f64));
        }
    }

    /// Merge another aggregate into this one.
    pub fn merge(&mut self, o: Top) {
        for (id, s) in o.shapes {
            self.shapes.entry(id).or_default().merge(s);
        }
        for (m, (c, t)) in o.per_minute {
            let e = self.per_minute.entry(m).or_default();
            e.0 += c;
            e.1 += t;
        }
    }
}

/// Sort orders of `workload top`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortBy {
    /// Total time.
    #[default]
    Total,
    /// Mean time.
    Mean,
    /// Calls.
    Calls,
    /// 95th percentile.
    P95,
    /// Errors.
    Errors,
}

/// One shape in the report.
#[derive(Debug, Clone, Serialize)]
pub struct ShapeRow {
    /// Fingerprint id (hex).
    pub fingerprint: String,
    /// Normalized text.
    pub normalized: String,
    /// Calls.
    pub calls: u64,
    /// Errors.
    pub errors: u64,
    /// Total ms.
    pub total_ms: f64,
    /// Share of all queries' time.
    pub share: f64,
    /// Mean ms (over calls with a duration).
    pub mean_ms: Option<f64>,
    /// Min ms.
    pub min_ms: Option<f64>,
    /// Max ms.
    pub max_ms: Option<f64>,
    /// Median ms.
    pub p50_ms: Option<f64>,
    /// 95th percentile ms.
    pub p95_ms: Option<f64>,
    /// 99th percentile ms.
    pub p99_ms: Option<f64>,
    /// First seen (UTC, ISO 8601).
    pub first_seen: Option<String>,
    /// Last seen.
    pub last_seen: Option<String>,
    /// Users.
    pub users: Vec<String>,
    /// Databases.
    pub databases: Vec<String>,
    /// Applications.
    pub applications: Vec<String>,
    /// The slowest real example.
    pub example: Option<Example>,
    /// Durations in readable buckets, `(upper bound ms, count)` (`Histogram::coarse`), for
    /// the HTML view's histograms.
    #[serde(skip)]
    pub durations: Vec<(f64, u64)>,
}

/// A real statement of a shape.
#[derive(Debug, Clone, Serialize)]
pub struct Example {
    /// As logged.
    pub sql: String,
    /// Its bind parameters.
    pub params: Option<String>,
    /// Its duration, ms.
    pub duration_ms: f64,
}

pub use crate::calendar::iso;

impl Top {
    /// The rows, sorted and cut to `limit`, and the grand totals (queries, errors, ms).
    pub fn rows(&self, sort: SortBy, limit: usize) -> (Vec<ShapeRow>, u64, u64, f64) {
        let calls: u64 = self.shapes.values().map(|s| s.calls).sum();
        let errors: u64 = self.shapes.values().map(|s| s.errors).sum();
        let total: f64 = self.shapes.values().map(|s| s.total_us).sum::<u64>() as f64 / 1000.0;
        let mut rows: Vec<ShapeRow> = self
            .shapes
            .iter()
            .map(|(id, s)| ShapeRow {
                fingerprint: format!("{id:016x}"),
                normalized: s.normalized.clone(),
                calls: s.calls,
                errors: s.errors,
                total_ms: s.total_us as f64 / 1000.0,
                share: if total > 0.0 {
                    s.total_us as f64 / 1000.0 / total
                } else {
                    0.0
                },
                mean_ms: (s.timed > 0).then(|| s.total_us as f64 / 1000.0 / s.timed as f64),
                min_ms: (s.timed > 0).then_some(s.min_ms),
                max_ms: (s.timed > 0).then_some(s.max_ms),
                p50_ms: s.quantile(0.5),
                p95_ms: s.quantile(0.95),
                p99_ms: s.quantile(0.99),
                first_seen: (s.first_ms != 0).then(|| iso(s.first_ms)),
                last_seen: (s.last_ms != 0).then(|| iso(s.last_ms)),
                users: s.users.iter().cloned().collect(),
                databases: s.databases.iter().cloned().collect(),
                applications: s.applications.iter().cloned().collect(),
                example: s.example.as_ref().map(|(sql, params, d)| Example {
                    sql: sql.clone(),
                    params: params.clone(),
                    duration_ms: *d,
                }),
                durations: s.hist.coarse(),
            })
            .collect();
        let key = |r: &ShapeRow| -> f64 {
            match sort {
                SortBy::Total => r.total_ms,
                SortBy::Mean => r.mean_ms.unwrap_or(0.0),
                SortBy::Calls => r.calls as f64,
                SortBy::P95 => r.p95_ms.unwrap_or(0.0),
                SortBy::Errors => r.errors as f64,
            }
        };
        rows.sort_by(|a, b| {
            key(b)
                .partial_cmp(&key(a))
                .unwrap_or(std::cmp::Ordering::Equal)
                .then(a.fingerprint.cmp(&b.fingerprint))
        });
        rows.truncate(limit);
        (rows, calls, errors, total)
    }
}

/// One minute of load.
#[derive(Debug, Clone, Serialize)]
pub struct Minute {
    /// Start of the minute (UTC, ISO 8601).
    pub minute: String,
    /// Queries.
    pub calls: u64,
    /// Their total time, ms.
    pub total_ms: f64,
}

/// `dbkit workload top`.
#[derive(Debug, Clone, Serialize)]
pub struct TopReport {
    /// The inputs.
    pub inputs: Vec<String>,
    /// The format read.
    pub format: String,
    /// What was read and skipped.
    pub read: crate::workload::ReadStats,
    /// The share of the lines read that were explained (0 to 1).
    pub explained: f64,
    /// Queries in all.
    pub total_queries: u64,
    /// Failed statements in all.
    pub total_errors: u64,
    /// Time of all queries, ms.
    pub total_ms: f64,
    /// Distinct shapes.
    pub shapes_total: usize,
    /// The sort order.
    pub sort: String,
    /// The top shapes.
    pub shapes: Vec<ShapeRow>,
    /// Load per minute.
    pub histogram: Vec<Minute>,
    /// Inputs read only in part.
    pub warnings: Vec<String>,
}

impl TopReport {
    /// Build the report from a merged aggregate.
    pub fn build(
        inputs: &[String],
        format: String,
        read: crate::workload::ReadStats,
        top: &Top,
        sort: SortBy,
        limit: usize,
    ) -> Self {
        let (shapes, total_queries, total_errors, total_ms) = top.rows(sort, limit);
        TopReport {
            inputs: inputs.to_vec(),
            format,
            explained: read.explained_share(),
            read,
            total_queries,
            total_errors,
            total_ms,
            shapes_total: top.shapes.len(),
            sort: format!("{sort:?}").to_lowercase(),
            shapes,
            histogram: top
                .per_minute
                .iter()
                .map(|(m, (c, t))| Minute {
                    minute: iso(*m),
                    calls: *c,
                    total_ms: *t as f64 / 1000.0,
                })
                .collect(),
            warnings: Vec::new(),
        }
    }
}

/// Histograms of the durations of the first `n` shapes, for the HTML view.
pub fn duration_charts(shapes: &[ShapeRow], n: usize) -> Vec<crate::view::Chart> {
    use crate::view::{Chart, ChartKind};
    shapes
        .iter()
        .filter(|s| !s.durations.is_empty())
        .take(n)
        .enumerate()
        .map(|(i, s)| {
            let text: String = s.normalized.replace('\n', " ").chars().take(70).collect();
            Chart::of(
                &format!("durations-{}", i + 1),
                format!("Durations of #{}: {text}", i + 1),
                ChartKind::Histogram,
                "queries",
                s.durations
                    .iter()
                    .map(|(up, c)| (format!("≤ {}", crate::view::fmt_ms(*up)), *c as f64)),
            )
        })
        .collect()
}

/// The costliest shapes as bars of their total time (share in the text), for the HTML view.
pub fn shapes_chart(shapes: &[ShapeRow]) -> crate::view::Chart {
    use crate::view::{Chart, ChartKind, ChartPoint};
    Chart {
        id: "shapes".into(),
        title: "Costliest query shapes by total time".into(),
        kind: ChartKind::Bars,
        marks: "target".into(),
        unit: "ms".into(),
        points: shapes
            .iter()
            .take(15)
            .map(|s| {
                let mut p = ChartPoint::new(s.normalized.replace('\n', " "), s.total_ms);
                p.text = Some(format!(
                    "{} ({:.1}%, {} calls)",
                    crate::view::fmt_ms(s.total_ms),
                    s.share * 100.0,
                    crate::view::fmt_n(s.calls as f64)
                ));
                p
            })
            .collect(),
    }
}

impl crate::view::Report for TopReport {
    fn charts(&self) -> Vec<crate::view::Chart> {
        use crate::view::{Chart, ChartKind};
        vec![
            Chart::of(
                "time-per-minute",
                "Query time per minute",
                ChartKind::Columns,
                "ms",
                self.histogram
                    .iter()
                    .map(|m| (m.minute.clone(), m.total_ms)),
            ),
            Chart::of(
                "queries-per-minute",
                "Queries per minute",
                ChartKind::Columns,
                "",
                self.histogram
                    .iter()
                    .map(|m| (m.minute.clone(), m.calls as f64)),
            ),
            shapes_chart(&self.shapes),
        ]
        .into_iter()
        .chain(duration_charts(&self.shapes, 5))
        .collect()
    }
    fn kind(&self) -> &'static str {
        "workload-top"
    }
    fn summary(&self) -> String {
        format!(
            "{} queries ({} shapes), {} errors, {} in all, from {} ({} lines, {:.1}% explained)",
            crate::view::fmt_n(self.total_queries as f64),
            crate::view::fmt_n(self.shapes_total as f64),
            crate::view::fmt_n(self.total_errors as f64),
            crate::view::fmt_ms(self.total_ms),
            self.format,
            crate::view::fmt_n(self.read.lines as f64),
            self.read.explained_share() * 100.0
        )
    }
    fn warnings(&self) -> Vec<String> {
        self.warnings.clone()
    }
    fn tables(&self) -> Vec<crate::view::Table> {
        use crate::view::{Cell, Table};
        let ms = |v: Option<f64>| v.map(crate::view::fmt_ms).unwrap_or_default();
        let mut t = Table::new(
            format!("Top shapes by {}", self.sort),
            &[
                "fingerprint",
                "calls",
                "total",
                "share",
                "mean",
                "p95",
                "p99",
                "max",
                "errors",
                "query",
            ],
        )
        .droppable(&["p99", "max", "share", "errors", "p95", "fingerprint"]);
        for r in &self.shapes {
            let q: String = r
                .normalized
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ");
            let q = if q.chars().count() > 300 {
                q.chars().take(299).collect::<String>() + "…"
            } else {
                q
            };
            t.row(vec![
                Cell::text(r.fingerprint.clone()),
                Cell::num(crate::view::fmt_n(r.calls as f64)),
                Cell::num(crate::view::fmt_ms(r.total_ms)),
                Cell::num(format!("{:.1}%", r.share * 100.0)),
                Cell::num(ms(r.mean_ms)),
                Cell::num(ms(r.p95_ms)),
                Cell::num(ms(r.p99_ms)),
                Cell::num(ms(r.max_ms)),
                Cell::num(crate::view::fmt_n(r.errors as f64)),
                Cell::text(q),
            ]);
        }
        vec![t]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::borrow::Cow;

    fn ev(sql: &str, d: Option<f64>, ts: i64) -> Event<'static> {
        Event::query(ts, d, Cow::Owned(sql.to_string()), Cow::Borrowed("1"))
    }

    #[test]
    fn histogram_quantiles_within_a_few_percent() {
        let mut h = Histogram::default();
        for i in 1..=1000 {
            h.add(i as f64);
        }
        for (q, want) in [(0.5, 500.0), (0.95, 950.0), (0.99, 990.0)] {
            let got = h.quantile(q).unwrap();
            assert!((got - want).abs() / want < 0.03, "q{q}: {got}");
        }
    }

    #[test]
    fn aggregates_merge_like_one_pass() {
        let events = [
            ev("SELECT * FROM t WHERE id = 1", Some(2.0), 60_000),
            ev("select * from t where id = 2", Some(4.0), 61_000),
            ev("SELECT 1", Some(1.0), 125_000),
            ev("SELECT * FROM t WHERE id = 3", None, 126_000),
        ];
        let mut one = Top::default();
        events.iter().for_each(|e| one.add(e));
        let (mut a, mut b) = (Top::default(), Top::default());
        events[..2].iter().for_each(|e| a.add(e));
        events[2..].iter().for_each(|e| b.add(e));
        a.merge(b);
        let (r1, c1, _, t1) = one.rows(SortBy::Total, 10);
        let (r2, c2, _, t2) = a.rows(SortBy::Total, 10);
        assert_eq!((c1, t1), (c2, t2));
        assert_eq!(c1, 4);
        assert_eq!(r1[0].calls, 3);
        assert_eq!(r1[0].mean_ms, Some(3.0));
        assert_eq!(r1[0].example.as_ref().unwrap().duration_ms, 4.0);
        assert_eq!(r2[0].normalized, "select * from t where id = $1");
        assert_eq!(
            r1[0].first_seen.as_deref(),
            Some("1970-01-01T00:01:00.000Z")
        );
        assert_eq!(one.per_minute.get(&60_000), Some(&(2, 6000)));
    }

    #[test]
    fn percentiles_stay_within_min_and_max() {
        let mut top = Top::default();
        top.add(&ev("SELECT pg_sleep(0.6)", Some(601.979), 1));
        for (i, d) in [1.001, 1.002, 1.003, 50.0].iter().enumerate() {
            top.add(&ev(&format!("SELECT {i} FROM t"), Some(*d), 1));
        }
        top.add(&ev("SELECT 9 FROM t", Some(0.0), 1));
        let (rows, ..) = top.rows(SortBy::Total, 10);
        let one = rows.iter().find(|r| r.calls == 1).unwrap();
        assert_eq!(
            (one.p50_ms, one.p95_ms, one.p99_ms),
            (Some(601.979), Some(601.979), Some(601.979))
        );
        let many = rows.iter().find(|r| r.calls == 5).unwrap();
        for p in [many.p50_ms, many.p95_ms, many.p99_ms] {
            let p = p.unwrap();
            assert!((0.0..=50.0).contains(&p), "{p}");
            assert!(p.is_sign_positive());
        }
        assert_eq!(many.p99_ms, Some(50.0));
    }

    #[test]
    fn iso_dates() {
        assert_eq!(iso(1_709_546_400_123), "2024-03-04T10:00:00.123Z");
    }
}
