//! The `workload summary` report: each section of a [`Summary`] as rows, for the table,
//! markdown and JSON renderers; and the saved state a summary is merged from (`--save-state`,
//! `workload merge`).

use super::summary::{sqlstate_class, Checkpoints, Summary};
use super::top::{iso, ShapeRow, SortBy};
use crate::view::{fmt_ms, fmt_n, human_bytes, Cell, Report, Table};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Errors of one level, SQLSTATE and message shape.
#[derive(Debug, Clone, Serialize)]
pub struct ErrorRow {
    /// `ERROR`, `FATAL`, `PANIC`, `WARNING`.
    pub level: String,
    /// The SQLSTATE, when the log has it.
    pub sqlstate: String,
    /// Its class.
    pub class: String,
    /// The message with its values taken out.
    pub message: String,
    /// How many.
    pub count: u64,
    /// First seen (UTC, ISO 8601).
    pub first_seen: Option<String>,
    /// Last seen.
    pub last_seen: Option<String>,
    /// A real message.
    pub example_message: String,
    /// A statement that failed so.
    pub example_statement: Option<String>,
}

/// Lock waits on one object in one mode by one statement shape.
#[derive(Debug, Clone, Serialize)]
pub struct LockRow {
    /// What was waited for (`relation 16415 of database 5`, `transaction 7`…).
    pub object: String,
    /// The lock mode.
    pub mode: String,
    /// The waiting statement's shape.
    pub query: String,
    /// `still waiting` entries.
    pub waits: u64,
    /// `acquired` entries.
    pub acquired: u64,
    /// Longest wait reported, ms.
    pub max_wait_ms: f64,
    /// Time of the waits that ended, ms.
    pub acquired_wait_ms: f64,
    /// Waiting processes.
    pub waiting_pids: Vec<String>,
    /// Processes that held the lock.
    pub blocking_pids: Vec<String>,
}

/// Temporary files of one statement shape.
#[derive(Debug, Clone, Serialize)]
pub struct TempRow {
    /// The statement shape.
    pub query: String,
    /// Files.
    pub count: u64,
    /// Bytes in all.
    pub bytes: u64,
    /// Largest file.
    pub max_bytes: u64,
}

/// Autovacuum and autoanalyze of one table.
#[derive(Debug, Clone, Serialize)]
pub struct VacuumRow {
    /// `database.schema.table`.
    pub table: String,
    /// Vacuums.
    pub vacuums: u64,
    /// Analyzes.
    pub analyzes: u64,
    /// Dead tuples removed.
    pub removed: u64,
    /// Time of all runs, ms.
    pub elapsed_ms: u64,
    /// Longest run, ms.
    pub max_elapsed_ms: u64,
}

/// Connections and sessions.
#[derive(Debug, Clone, Serialize)]
pub struct SessionRow {
    /// Connections received.
    pub connections: u64,
    /// Sessions ended.
    pub sessions: u64,
    /// Most sessions open at once.
    pub peak_concurrent: i64,
    /// Mean session time, ms.
    pub mean_ms: Option<f64>,
    /// Longest session, ms.
    pub max_ms: u64,
    /// Sessions per user, most first.
    pub by_user: Vec<(String, u64)>,
    /// Per database.
    pub by_database: Vec<(String, u64)>,
    /// Per application.
    pub by_application: Vec<(String, u64)>,
    /// Connections per host.
    pub by_host: Vec<(String, u64)>,
}

/// Checkpoints: how many started, and what the log said of them.
#[derive(Debug, Clone, Serialize)]
pub struct CheckpointRow {
    /// Started.
    pub started: u64,
    /// Causes, completions, buffers, times, WAL distance, warnings.
    #[serde(flatten)]
    pub stats: Checkpoints,
}

/// One minute of load.
#[derive(Debug, Clone, Serialize)]
pub struct MinuteRow {
    /// Start of the minute (UTC, ISO 8601).
    pub minute: String,
    /// Queries.
    pub queries: u64,
    /// Their total time, ms.
    pub total_ms: f64,
    /// Errors.
    pub errors: u64,
}

/// `dbkit workload summary` (and `workload merge`).
#[derive(Debug, Clone, Serialize)]
pub struct SummaryReport {
    /// The inputs (logs, or saved states).
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
    /// The costliest shapes.
    pub shapes: Vec<ShapeRow>,
    /// Errors and warnings, most first.
    pub errors: Vec<ErrorRow>,
    /// Lock waits, longest first.
    pub lock_waits: Vec<LockRow>,
    /// Temporary files, most bytes first.
    pub temp_files: Vec<TempRow>,
    /// Checkpoints.
    pub checkpoints: CheckpointRow,
    /// Autovacuum and autoanalyze, most time first.
    pub autovacuum: Vec<VacuumRow>,
    /// Connections and sessions.
    pub sessions: SessionRow,
    /// Load per minute.
    pub per_minute: Vec<MinuteRow>,
    /// Inputs read only in part.
    pub warnings: Vec<String>,
}

fn most(map: &BTreeMap<String, u64>) -> Vec<(String, u64)> {
    let mut v: Vec<(String, u64)> = map.iter().map(|(k, n)| (k.clone(), *n)).collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    v
}

impl SummaryReport {
    /// Build the report of a merged summary; `limit` cuts the shapes and each list.
    pub fn build(
        inputs: &[String],
        format: String,
        read: crate::workload::ReadStats,
        s: &Summary,
        limit: usize,
    ) -> Self {
        let (shapes, total_queries, total_errors, total_ms) = s.top.rows(SortBy::Total, limit);
        let when = |ms: i64| (ms != 0).then(|| iso(ms));
        let mut errors: Vec<ErrorRow> = s
            .errors
            .iter()
            .map(|(k, v)| {
                let mut parts = k.splitn(3, '\u{1f}');
                let level = parts.next().unwrap_or("").to_string();
                let sqlstate = parts.next().unwrap_or("").to_string();
                ErrorRow {
                    class: sqlstate_class(&sqlstate).to_string(),
                    level,
                    sqlstate,
                    message: parts.next().unwrap_or("").to_string(),
                    count: v.count,
                    first_seen: when(v.first_ms),
                    last_seen: when(v.last_ms),
                    example_message: v.example_message.clone(),
                    example_statement: v.example_statement.clone(),
                }
            })
            .collect();
        errors.sort_by(|a, b| b.count.cmp(&a.count).then(a.message.cmp(&b.message)));
        errors.truncate(limit);
        let mut lock_waits: Vec<LockRow> = s
            .locks
            .iter()
            .map(|(k, v)| {
                let mut parts = k.splitn(3, '\u{1f}');
                LockRow {
                    object: parts.next().unwrap_or("").to_string(),
                    mode: parts.next().unwrap_or("").to_string(),
                    query: parts.next().unwrap_or("").to_string(),
                    waits: v.waits,
                    acquired: v.acquired,
                    max_wait_ms: v.max_wait_ms,
                    acquired_wait_ms: v.acquired_wait_us as f64 / 1000.0,
                    waiting_pids: v.waiting_pids.iter().cloned().collect(),
                    blocking_pids: v.blocking_pids.iter().cloned().collect(),
                }
            })
            .collect();
        lock_waits.sort_by(|a, b| {
            b.max_wait_ms
                .total_cmp(&a.max_wait_ms)
                .then(a.object.cmp(&b.object))
                .then(a.query.cmp(&b.query))
        });
        lock_waits.truncate(limit);
        let mut temp_files: Vec<TempRow> = s
            .temp_files
            .values()
            .map(|t| TempRow {
                query: t.query.clone(),
                count: t.count,
                bytes: t.bytes,
                max_bytes: t.max_bytes,
            })
            .collect();
        temp_files.sort_by(|a, b| b.bytes.cmp(&a.bytes).then(a.query.cmp(&b.query)));
        temp_files.truncate(limit);
        let mut autovacuum: Vec<VacuumRow> = s
            .vacuum
            .iter()
            .map(|(t, v)| VacuumRow {
                table: t.clone(),
                vacuums: v.vacuums,
                analyzes: v.analyzes,
                removed: v.removed,
                elapsed_ms: v.elapsed_ms,
                max_elapsed_ms: v.max_elapsed_ms,
            })
            .collect();
        autovacuum.sort_by(|a, b| b.elapsed_ms.cmp(&a.elapsed_ms).then(a.table.cmp(&b.table)));
        autovacuum.truncate(limit);
        let c = &s.checkpoints;
        let ss = &s.sessions;
        SummaryReport {
            inputs: inputs.to_vec(),
            format,
            explained: read.explained_share(),
            read,
            total_queries,
            total_errors,
            total_ms,
            shapes_total: s.top.shapes.len(),
            shapes,
            errors,
            lock_waits,
            temp_files,
            checkpoints: CheckpointRow {
                started: c.causes.values().sum(),
                stats: c.clone(),
            },
            autovacuum,
            sessions: SessionRow {
                connections: ss.connections,
                sessions: ss.ended,
                peak_concurrent: s.peak_sessions(),
                mean_ms: (ss.ended > 0).then(|| ss.total_ms as f64 / ss.ended as f64),
                max_ms: ss.max_ms,
                by_user: most(&ss.by_user),
                by_database: most(&ss.by_database),
                by_application: most(&ss.by_application),
                by_host: most(&ss.by_host),
            },
            per_minute: {
                // Minutes with queries, with errors, or both.
                let mut minutes: BTreeMap<i64, (u64, u64, u64)> = BTreeMap::new();
                for (m, (q, t)) in &s.top.per_minute {
                    let e = minutes.entry(*m).or_default();
                    (e.0, e.1) = (*q, *t);
                }
                for (m, n) in &s.errors_per_minute {
                    minutes.entry(*m).or_default().2 = *n;
                }
                minutes
                    .into_iter()
                    .map(|(m, (queries, us, errors))| MinuteRow {
                        minute: iso(m),
                        queries,
                        total_ms: us as f64 / 1000.0,
                        errors,
                    })
                    .collect()
            },
            warnings: Vec::new(),
        }
    }
}

fn names(v: &[(String, u64)]) -> String {
    v.iter()
        .take(5)
        .map(|(k, n)| format!("{k} ({})", fmt_n(*n as f64)))
        .collect::<Vec<_>>()
        .join(", ")
}

fn one_line(s: &str, max: usize) -> String {
    let s = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if s.chars().count() > max {
        s.chars().take(max - 1).collect::<String>() + "…"
    } else {
        s
    }
}

impl Report for SummaryReport {
    fn charts(&self) -> Vec<crate::view::Chart> {
        use crate::view::{Chart, ChartKind};
        let minutes = |f: fn(&MinuteRow) -> f64| {
            self.per_minute
                .iter()
                .map(move |m| (m.minute.clone(), f(m)))
                .collect::<Vec<_>>()
        };
        let mut charts = vec![
            Chart::of(
                "queries-per-minute",
                "Queries per minute",
                ChartKind::Columns,
                "",
                minutes(|m| m.queries as f64),
            ),
            Chart::of(
                "time-per-minute",
                "Query time per minute",
                ChartKind::Columns,
                "ms",
                minutes(|m| m.total_ms),
            ),
            Chart::of(
                "errors-per-minute",
                "Errors per minute",
                ChartKind::Columns,
                "",
                minutes(|m| m.errors as f64),
            ),
            super::top::shapes_chart(&self.shapes),
        ];
        charts.extend(super::top::duration_charts(&self.shapes, 5));
        if !self.errors.is_empty() {
            charts.push(Chart::of(
                "errors",
                "Errors and warnings by SQLSTATE",
                ChartKind::Bars,
                "",
                self.errors
                    .iter()
                    .take(12)
                    .map(|e| (format!("{} {}", e.sqlstate, e.class), e.count as f64)),
            ));
        }
        if !self.temp_files.is_empty() {
            charts.push(Chart::of(
                "temp-files",
                "Temporary files by query",
                ChartKind::Bars,
                "bytes",
                self.temp_files
                    .iter()
                    .take(12)
                    .map(|t| (t.query.replace('\n', " "), t.bytes as f64)),
            ));
        }
        if !self.lock_waits.is_empty() {
            charts.push(Chart::of(
                "lock-waits",
                "Longest lock waits",
                ChartKind::Bars,
                "ms",
                self.lock_waits
                    .iter()
                    .take(12)
                    .map(|l| (format!("{} {}", l.mode, l.object), l.max_wait_ms)),
            ));
        }
        if !self.checkpoints.stats.causes.is_empty() {
            charts.push(Chart::of(
                "checkpoints",
                "Checkpoints by cause",
                ChartKind::Bars,
                "",
                self.checkpoints
                    .stats
                    .causes
                    .iter()
                    .map(|(cause, n)| (cause.clone(), *n as f64)),
            ));
        }
        for (id, what, list) in [
            ("connections-user", "user", &self.sessions.by_user),
            (
                "connections-database",
                "database",
                &self.sessions.by_database,
            ),
            (
                "connections-application",
                "application",
                &self.sessions.by_application,
            ),
            ("connections-host", "host", &self.sessions.by_host),
        ] {
            if !list.is_empty() {
                charts.push(Chart::of(
                    id,
                    format!("Connections by {what}"),
                    ChartKind::Bars,
                    "",
                    list.iter().take(12).map(|(k, n)| (k.clone(), *n as f64)),
                ));
            }
        }
        if !self.autovacuum.is_empty() {
            charts.push(Chart::of(
                "autovacuum",
                "Autovacuum and autoanalyze time by table",
                ChartKind::Bars,
                "ms",
                self.autovacuum
                    .iter()
                    .take(12)
                    .map(|v| (v.table.clone(), v.elapsed_ms as f64)),
            ));
        }
        charts
    }
    fn kind(&self) -> &'static str {
        "workload-summary"
    }
    fn summary(&self) -> String {
        format!(
            "{} queries ({} shapes), {} errors and warnings, {} lock waits, {} temporary files, {} checkpoints, {} autovacuum/analyze runs, {} sessions, from {} ({} lines, {:.1}% explained)",
            fmt_n(self.total_queries as f64),
            fmt_n(self.shapes_total as f64),
            fmt_n(self.errors.iter().map(|e| e.count).sum::<u64>() as f64),
            fmt_n(self.lock_waits.iter().map(|l| l.waits).sum::<u64>() as f64),
            fmt_n(self.temp_files.iter().map(|t| t.count).sum::<u64>() as f64),
            fmt_n(self.checkpoints.started as f64),
            fmt_n(self.autovacuum.iter().map(|v| v.vacuums + v.analyzes).sum::<u64>() as f64),
            fmt_n(self.sessions.sessions as f64),
            self.format,
            fmt_n(self.read.lines as f64),
            self.read.explained_share() * 100.0
        )
    }
    fn warnings(&self) -> Vec<String> {
        self.warnings.clone()
    }
    fn tables(&self) -> Vec<Table> {
        let ms = |v: Option<f64>| v.map(fmt_ms).unwrap_or_default();
        let mut out = Vec::new();
        let mut t = Table::new(
            "Top shapes by total time",
            &["calls", "total", "mean", "p95", "errors", "query"],
        )
        .droppable(&["p95", "errors"]);
        for r in &self.shapes {
            t.row(vec![
                Cell::num(fmt_n(r.calls as f64)),
                Cell::num(fmt_ms(r.total_ms)),
                Cell::num(ms(r.mean_ms)),
                Cell::num(ms(r.p95_ms)),
                Cell::num(fmt_n(r.errors as f64)),
                Cell::text(one_line(&r.normalized, 200)),
            ]);
        }
        out.push(t);
        if !self.errors.is_empty() {
            let mut t = Table::new(
                "Errors and warnings",
                &["count", "level", "sqlstate", "message", "last seen"],
            )
            .droppable(&["last seen", "sqlstate"]);
            for e in &self.errors {
                t.row(vec![
                    Cell::num(fmt_n(e.count as f64)),
                    Cell::text(e.level.clone()),
                    Cell::text(e.sqlstate.clone()),
                    Cell::text(one_line(&e.message, 200)),
                    Cell::text(e.last_seen.clone().unwrap_or_default()),
                ]);
            }
            out.push(t);
        }
        if !self.lock_waits.is_empty() {
            let mut t = Table::new(
                "Lock waits",
                &["waits", "longest", "mode", "on", "blocked by", "query"],
            )
            .droppable(&["blocked by"]);
            for l in &self.lock_waits {
                t.row(vec![
                    Cell::num(fmt_n(l.waits.max(l.acquired) as f64)),
                    Cell::num(fmt_ms(l.max_wait_ms)),
                    Cell::text(l.mode.clone()),
                    Cell::text(l.object.clone()),
                    Cell::text(l.blocking_pids.join(", ")),
                    Cell::text(one_line(&l.query, 160)),
                ]);
            }
            out.push(t);
        }
        if !self.temp_files.is_empty() {
            let mut t = Table::new("Temporary files", &["files", "bytes", "largest", "query"]);
            for r in &self.temp_files {
                t.row(vec![
                    Cell::num(fmt_n(r.count as f64)),
                    Cell::num(human_bytes(r.bytes as f64)),
                    Cell::num(human_bytes(r.max_bytes as f64)),
                    Cell::text(one_line(&r.query, 200)),
                ]);
            }
            out.push(t);
        }
        if !self.autovacuum.is_empty() {
            let mut t = Table::new(
                "Autovacuum and autoanalyze",
                &["table", "vacuums", "analyzes", "removed", "time", "longest"],
            );
            for v in &self.autovacuum {
                t.row(vec![
                    Cell::text(v.table.clone()),
                    Cell::num(fmt_n(v.vacuums as f64)),
                    Cell::num(fmt_n(v.analyzes as f64)),
                    Cell::num(fmt_n(v.removed as f64)),
                    Cell::num(fmt_ms(v.elapsed_ms as f64)),
                    Cell::num(fmt_ms(v.max_elapsed_ms as f64)),
                ]);
            }
            out.push(t);
        }
        let started = self.checkpoints.started;
        let c = &self.checkpoints.stats;
        let causes = c
            .causes
            .iter()
            .map(|(k, n)| format!("{k} ({n})"))
            .collect::<Vec<_>>()
            .join(", ");
        let s = &self.sessions;
        out.push(Table::properties(
            "Checkpoints and sessions",
            [
                (
                    "checkpoints",
                    format!("{started} started ({causes}), {} completed", c.completed),
                ),
                (
                    "checkpoint writes",
                    format!(
                        "{} buffers, write {}, sync {}, total {}, {} of WAL",
                        fmt_n(c.buffers as f64),
                        fmt_ms(c.write_ms as f64),
                        fmt_ms(c.sync_ms as f64),
                        fmt_ms(c.total_ms as f64),
                        human_bytes(c.distance_kb as f64 * 1024.0)
                    ),
                ),
                ("too frequent", fmt_n(c.too_frequent as f64)),
                ("connections", fmt_n(s.connections as f64)),
                (
                    "sessions",
                    format!(
                        "{} ended, peak {} at once, mean {}, longest {}",
                        fmt_n(s.sessions as f64),
                        s.peak_concurrent,
                        ms(s.mean_ms),
                        fmt_ms(s.max_ms as f64)
                    ),
                ),
                ("users", names(&s.by_user)),
                ("databases", names(&s.by_database)),
                ("applications", names(&s.by_application)),
                ("hosts", names(&s.by_host)),
            ],
        ));
        let mut busiest: Vec<&MinuteRow> = self.per_minute.iter().collect();
        busiest.sort_by(|a, b| {
            b.total_ms
                .total_cmp(&a.total_ms)
                .then(a.minute.cmp(&b.minute))
        });
        let mut t = Table::new("Busiest minutes", &["minute", "queries", "time", "errors"]);
        for m in busiest.into_iter().take(10) {
            t.row(vec![
                Cell::text(m.minute.clone()),
                Cell::num(fmt_n(m.queries as f64)),
                Cell::num(fmt_ms(m.total_ms)),
                Cell::num(fmt_n(m.errors as f64)),
            ]);
        }
        out.push(t);
        out
    }
}

/// What `--save-state` writes: a summary with what it was read from, to merge with others.
#[derive(Debug, Serialize, Deserialize)]
pub struct SavedState {
    /// Always [`STATE_KIND`].
    pub kind: String,
    /// [`STATE_VERSION`].
    pub version: u32,
    /// The logs read.
    pub inputs: Vec<String>,
    /// Their format.
    pub format: String,
    /// What was read.
    pub read: crate::workload::ReadStats,
    /// The aggregate.
    pub summary: Summary,
}

/// The `kind` of a saved state.
pub const STATE_KIND: &str = "dbkit-workload-state";
/// The version of the saved state's layout; a state of another version is refused.
pub const STATE_VERSION: u32 = 1;
