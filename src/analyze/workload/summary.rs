//! `workload summary`: pgBadger's report in one streaming pass — the top query shapes ([`Top`])
//! and, from the log's other entries, errors by SQLSTATE and message shape, lock waits, temporary
//! files, checkpoints, autovacuum and autoanalyze, connections and sessions, and the per-minute
//! load. The aggregate merges across threads and across saved states (`--save-state`).

use super::top::{keep_first, us, Top};
use crate::sql::fingerprint::Normalizer;
use crate::workload::{Event, EventKind};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// Errors of one level, SQLSTATE and message shape.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ErrorStat {
    /// How many.
    pub count: u64,
    /// First seen, epoch ms.
    pub first_ms: i64,
    /// Last seen, epoch ms.
    pub last_ms: i64,
    /// A real message of this shape.
    pub example_message: String,
    /// A statement that failed so, when logged.
    pub example_statement: Option<String>,
}

/// Lock waits on one object, in one mode, by one statement shape.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LockStat {
    /// `still waiting` entries.
    pub waits: u64,
    /// `acquired` entries (the wait ended).
    pub acquired: u64,
    /// Longest wait reported, ms.
    pub max_wait_ms: f64,
    /// Sum of the waits that ended (`acquired … after`), µs.
    pub acquired_wait_us: u64,
    /// Waiting processes (up to 16).
    pub waiting_pids: BTreeSet<String>,
    /// Processes holding the lock (up to 16).
    pub blocking_pids: BTreeSet<String>,
}

/// Temporary files of one statement shape.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TempStat {
    /// The statement shape (normalized).
    pub query: String,
    /// Files.
    pub count: u64,
    /// Bytes in all.
    pub bytes: u64,
    /// Largest file, bytes.
    pub max_bytes: u64,
}

/// Checkpoints and restartpoints.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Checkpoints {
    /// Started, per cause (`time`, `wal`, `immediate force wait`…).
    pub causes: BTreeMap<String, u64>,
    /// Completed.
    pub completed: u64,
    /// Buffers written.
    pub buffers: u64,
    /// Write time, ms.
    pub write_ms: u64,
    /// Sync time, ms.
    pub sync_ms: u64,
    /// Total time, ms.
    pub total_ms: u64,
    /// WAL distance, kB.
    pub distance_kb: u64,
    /// `checkpoints are occurring too frequently` warnings.
    pub too_frequent: u64,
}

/// Autovacuum and autoanalyze of one table.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct VacuumStat {
    /// Automatic vacuums.
    pub vacuums: u64,
    /// Automatic analyzes.
    pub analyzes: u64,
    /// Dead tuples removed.
    pub removed: u64,
    /// Elapsed time of all runs, ms.
    pub elapsed_ms: u64,
    /// Longest run, ms.
    pub max_elapsed_ms: u64,
}

/// Connections and sessions.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Sessions {
    /// `connection received`.
    pub connections: u64,
    /// `connection authorized` per user.
    pub by_user: BTreeMap<String, u64>,
    /// Per database.
    pub by_database: BTreeMap<String, u64>,
    /// Per application.
    pub by_application: BTreeMap<String, u64>,
    /// `connection received` per host.
    pub by_host: BTreeMap<String, u64>,
    /// Ended sessions (`disconnection`).
    pub ended: u64,
    /// Their total time, ms.
    pub total_ms: u64,
    /// The longest, ms.
    pub max_ms: u64,
    /// Sessions starting and ending per millisecond (epoch ms), for the peak of concurrent
    /// sessions.
    pub deltas: BTreeMap<i64, (u64, u64)>,
}

/// The whole aggregate.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Summary {
    /// Query shapes.
    pub top: Top,
    /// Errors by `level \u{1f} sqlstate \u{1f} message shape`.
    pub errors: HashMap<String, ErrorStat>,
    /// Lock waits by `object \u{1f} mode \u{1f} statement shape`.
    pub locks: HashMap<String, LockStat>,
    /// Temporary files by statement fingerprint.
    pub temp_files: HashMap<u64, TempStat>,
    /// Checkpoints.
    pub checkpoints: Checkpoints,
    /// Autovacuum and autoanalyze by table.
    pub vacuum: BTreeMap<String, VacuumStat>,
    /// Connections and sessions.
    pub sessions: Sessions,
    /// Errors (failed statements, ERROR/FATAL/PANIC entries) per minute (epoch ms of the
    /// minute); the queries and their time per minute are the top shapes' (`top.per_minute`).
    pub errors_per_minute: BTreeMap<i64, u64>,
    #[serde(skip)]
    norm: Normalizer,
    #[serde(skip)]
    buf: String,
}

/// A message with its values taken out: numbers become `N`, quoted literals `'…'` (quoted
/// identifiers stay: they name the constraint or table).
pub fn message_shape(msg: &str) -> String {
    let first = msg.lines().next().unwrap_or("");
    let mut out = String::with_capacity(first.len());
    let mut chars = first.chars().peekable();
    let mut prev_word = false;
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() && !prev_word {
            while chars
                .peek()
                .is_some_and(|d| d.is_ascii_digit() || *d == '.')
            {
                chars.next();
            }
            out.push('N');
            prev_word = false;
            continue;
        }
        if c == '\'' {
            for d in chars.by_ref() {
                if d == '\'' {
                    break;
                }
            }
            out.push_str("'…'");
            prev_word = false;
            continue;
        }
        prev_word = c.is_alphanumeric() || c == '_';
        out.push(c);
    }
    if out.chars().count() > 200 {
        out = out.chars().take(199).collect::<String>() + "…";
    }
    out
}

/// The number at the start of `s` (digits and a dot); `None` when it is not a finite number
/// (a state with an infinity could not be read back: JSON has none).
fn number(s: &str) -> Option<f64> {
    let end = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    s[..end].parse::<f64>().ok().filter(|v| v.is_finite())
}

/// The number after `key` in `s`.
fn after(s: &str, key: &str) -> Option<f64> {
    number(&s[s.find(key)? + key.len()..])
}

/// The word after `key` in `s` (up to a space).
fn word_after<'a>(s: &'a str, key: &str) -> Option<&'a str> {
    let rest = &s[s.find(key)? + key.len()..];
    Some(rest.split(' ').next().unwrap_or(""))
}

/// `H:MM:SS.mmm` as ms.
fn session_time(s: &str) -> Option<f64> {
    let mut parts = s.split(':');
    let (h, m, sec) = (parts.next()?, parts.next()?, parts.next()?);
    Some(
        h.parse::<f64>().ok()? * 3_600_000.0
            + m.parse::<f64>().ok()? * 60_000.0
            + number(sec)? * 1000.0,
    )
}

fn count(map: &mut BTreeMap<String, u64>, key: &str) {
    if let Some(v) = map.get_mut(key) {
        *v += 1;
    } else if map.len() < 1000 {
        map.insert(key.to_string(), 1);
    } else {
        *map.entry("(others)".to_string()).or_default() += 1;
    }
}

fn note(set: &mut BTreeSet<String>, v: &str) {
    if !set.contains(v) {
        keep_first(set, v.to_string());
    }
}

impl Summary {
    /// Count one event.
    pub fn add(&mut self, e: &Event<'_>) {
        let minute = (e.ts_ms != 0).then(|| e.ts_ms - e.ts_ms.rem_euclid(60_000));
        match e.kind {
            EventKind::Query => self.top.add(e),
            EventKind::Error | EventKind::Entry => {
                if e.kind == EventKind::Error {
                    self.top.add(e);
                }
                let level = e.level.as_deref().unwrap_or("LOG");
                let failed = matches!(level, "ERROR" | "FATAL" | "PANIC");
                if let (true, Some(m)) = (failed, minute) {
                    *self.errors_per_minute.entry(m).or_default() += 1;
                }
                self.entry(e, level);
            }
        }
    }

    fn entry(&mut self, e: &Event<'_>, level: &str) {
        let msg = e.error.as_deref().unwrap_or("");
        let sql = (!e.sql.is_empty()).then_some(&*e.sql);
        if matches!(level, "ERROR" | "FATAL" | "PANIC" | "WARNING") {
            let key = format!(
                "{level}\u{1f}{}\u{1f}{}",
                e.sqlstate.as_deref().unwrap_or(""),
                message_shape(msg)
            );
            let one = ErrorStat {
                count: 1,
                first_ms: e.ts_ms,
                last_ms: e.ts_ms,
                example_message: msg.lines().next().unwrap_or("").to_string(),
                example_statement: sql.map(str::to_string),
            };
            merge_error(self.errors.entry(key).or_default(), one);
            if level == "WARNING" && msg.starts_with("checkpoints are occurring too frequently") {
                self.checkpoints.too_frequent += 1;
            }
            return;
        }
        if let Some(rest) = msg.strip_prefix("process ") {
            self.lock(e, rest, sql);
        } else if let Some(rest) = msg.strip_prefix("temporary file: ") {
            let bytes = after(rest, "size ").unwrap_or(0.0) as u64;
            let shape = sql.unwrap_or("(statement not logged)");
            let fp = self.norm.normalize_into(shape, &mut self.buf);
            let s = self.temp_files.entry(fp).or_default();
            if s.query.is_empty() {
                s.query = self.buf.clone();
            }
            s.count += 1;
            s.bytes += bytes;
            s.max_bytes = s.max_bytes.max(bytes);
        } else if let Some(rest) = msg
            .strip_prefix("checkpoint starting: ")
            .or_else(|| msg.strip_prefix("restartpoint starting: "))
        {
            *self
                .checkpoints
                .causes
                .entry(rest.trim().to_string())
                .or_default() += 1;
        } else if msg.starts_with("checkpoint complete: ")
            || msg.starts_with("restartpoint complete: ")
        {
            let c = &mut self.checkpoints;
            c.completed += 1;
            c.buffers += after(msg, "wrote ").unwrap_or(0.0) as u64;
            let ms = |k: &str| us(after(msg, k).unwrap_or(0.0));
            c.write_ms += ms("write=");
            c.sync_ms += ms("sync=");
            c.total_ms += ms("total=");
            c.distance_kb += after(msg, "distance=").unwrap_or(0.0) as u64;
        } else if msg.starts_with("checkpoints are occurring too frequently") {
            self.checkpoints.too_frequent += 1;
        } else if let Some(rest) = msg
            .strip_prefix("automatic vacuum of table \"")
            .or_else(|| msg.strip_prefix("automatic aggressive vacuum of table \""))
            .or_else(|| {
                msg.strip_prefix("automatic aggressive vacuum to prevent wraparound of table \"")
            })
        {
            let table = rest.split('"').next().unwrap_or("");
            let removed = after(rest, "tuples: ").unwrap_or(0.0) as u64;
            let elapsed = us(after(rest, "elapsed: ").unwrap_or(0.0));
            let v = self.vacuum.entry(table.to_string()).or_default();
            v.vacuums += 1;
            v.removed += removed;
            v.elapsed_ms += elapsed;
            v.max_elapsed_ms = v.max_elapsed_ms.max(elapsed);
        } else if let Some(rest) = msg.strip_prefix("automatic analyze of table \"") {
            let table = rest.split('"').next().unwrap_or("");
            let elapsed = us(after(rest, "elapsed: ").unwrap_or(0.0));
            let v = self.vacuum.entry(table.to_string()).or_default();
            v.analyzes += 1;
            v.elapsed_ms += elapsed;
            v.max_elapsed_ms = v.max_elapsed_ms.max(elapsed);
        } else if let Some(rest) = msg.strip_prefix("connection received: ") {
            self.sessions.connections += 1;
            if let Some(h) = word_after(rest, "host=") {
                count(&mut self.sessions.by_host, h);
            }
        } else if let Some(rest) = msg.strip_prefix("connection authorized: ") {
            let s = &mut self.sessions;
            if let Some(u) = word_after(rest, "user=") {
                count(&mut s.by_user, u);
            }
            if let Some(d) = word_after(rest, "database=") {
                count(&mut s.by_database, d);
            }
            let app = rest
                .find("application_name=")
                .map(|i| &rest[i + "application_name=".len()..])
                .map(|a| a.split(" SSL ").next().unwrap_or(a).trim());
            if let Some(a) = app {
                count(&mut s.by_application, a);
            }
        } else if let Some(rest) = msg.strip_prefix("disconnection: session time: ") {
            let ms = session_time(rest.split(' ').next().unwrap_or(""))
                .unwrap_or(0.0)
                .round() as u64;
            let s = &mut self.sessions;
            s.ended += 1;
            s.total_ms += ms;
            s.max_ms = s.max_ms.max(ms);
            if e.ts_ms != 0 {
                let end = e.ts_ms;
                let start = e.ts_ms - ms as i64;
                s.deltas.entry(start).or_default().0 += 1;
                s.deltas.entry(end).or_default().1 += 1;
            }
        }
    }

    /// `process P still waiting for MODE on OBJECT after X ms` / `process P acquired MODE on
    /// OBJECT after X ms`, with the holders in the DETAIL line.
    fn lock(&mut self, e: &Event<'_>, rest: &str, sql: Option<&str>) {
        let Some((pid, what)) = rest.split_once(' ') else {
            return;
        };
        let (waiting, what) = if let Some(w) = what.strip_prefix("still waiting for ") {
            (true, w)
        } else if let Some(w) = what.strip_prefix("acquired ") {
            (false, w)
        } else {
            return;
        };
        let Some((mode, object)) = what.split_once(" on ") else {
            return;
        };
        let (object, ms) = match object.rsplit_once(" after ") {
            Some((o, t)) => (o, number(t).unwrap_or(0.0)),
            None => (object, 0.0),
        };
        let shape = match sql {
            Some(q) => {
                self.norm.normalize_into(q, &mut self.buf);
                self.buf.clone()
            }
            None => String::new(),
        };
        let s = self
            .locks
            .entry(format!("{object}\u{1f}{mode}\u{1f}{shape}"))
            .or_default();
        if waiting {
            s.waits += 1;
        } else {
            s.acquired += 1;
            s.acquired_wait_us += us(ms);
        }
        s.max_wait_ms = s.max_wait_ms.max(ms);
        note(&mut s.waiting_pids, pid);
        if let Some(d) = e.detail.as_deref() {
            let holders = d
                .strip_prefix("Process holding the lock: ")
                .or_else(|| d.strip_prefix("Processes holding the lock: "))
                .and_then(|h| h.split('.').next());
            for p in holders.into_iter().flat_map(|h| h.split(", ")) {
                note(&mut s.blocking_pids, p.trim());
            }
        }
    }

    /// Merge another aggregate into this one.
    pub fn merge(&mut self, o: Summary) {
        self.top.merge(o.top);
        for (k, v) in o.errors {
            merge_error(self.errors.entry(k).or_default(), v);
        }
        for (k, v) in o.locks {
            let s = self.locks.entry(k).or_default();
            s.waits += v.waits;
            s.acquired += v.acquired;
            s.acquired_wait_us += v.acquired_wait_us;
            s.max_wait_ms = s.max_wait_ms.max(v.max_wait_ms);
            for p in &v.waiting_pids {
                note(&mut s.waiting_pids, p);
            }
            for p in &v.blocking_pids {
                note(&mut s.blocking_pids, p);
            }
        }
        for (k, v) in o.temp_files {
            let s = self.temp_files.entry(k).or_default();
            if s.query.is_empty() {
                s.query = v.query;
            }
            s.count += v.count;
            s.bytes += v.bytes;
            s.max_bytes = s.max_bytes.max(v.max_bytes);
        }
        let (c, oc) = (&mut self.checkpoints, o.checkpoints);
        for (k, n) in oc.causes {
            *c.causes.entry(k).or_default() += n;
        }
        c.completed += oc.completed;
        c.buffers += oc.buffers;
        c.write_ms += oc.write_ms;
        c.sync_ms += oc.sync_ms;
        c.total_ms += oc.total_ms;
        c.distance_kb += oc.distance_kb;
        c.too_frequent += oc.too_frequent;
        for (k, v) in o.vacuum {
            let s = self.vacuum.entry(k).or_default();
            s.vacuums += v.vacuums;
            s.analyzes += v.analyzes;
            s.removed += v.removed;
            s.elapsed_ms += v.elapsed_ms;
            s.max_elapsed_ms = s.max_elapsed_ms.max(v.max_elapsed_ms);
        }
        let (s, os) = (&mut self.sessions, o.sessions);
        s.connections += os.connections;
        for (dst, src) in [
            (&mut s.by_user, os.by_user),
            (&mut s.by_database, os.by_database),
            (&mut s.by_application, os.by_application),
            (&mut s.by_host, os.by_host),
        ] {
            for (k, n) in src {
                *dst.entry(k).or_default() += n;
            }
        }
        s.ended += os.ended;
        s.total_ms += os.total_ms;
        s.max_ms = s.max_ms.max(os.max_ms);
        for (k, (a, b)) in os.deltas {
            let d = s.deltas.entry(k).or_default();
            d.0 += a;
            d.1 += b;
        }
        for (m, n) in o.errors_per_minute {
            *self.errors_per_minute.entry(m).or_default() += n;
        }
    }

    /// The most sessions open at once, from the ended sessions' start and end to the
    /// millisecond (a session starting in the millisecond another ends counts as overlapping).
    pub fn peak_sessions(&self) -> i64 {
        let mut open = 0i64;
        let mut peak = 0i64;
        for (starts, ends) in self.sessions.deltas.values() {
            open += *starts as i64;
            peak = peak.max(open);
            open -= *ends as i64;
        }
        peak
    }
}

/// Fold `v` into `s`: the examples are those of the earliest error (then the first in order), so
/// the result does not depend on the order of merging.
fn merge_error(s: &mut ErrorStat, v: ErrorStat) {
    let earlier = s.count == 0
        || (v.first_ms, &v.example_message, &v.example_statement)
            < (s.first_ms, &s.example_message, &s.example_statement);
    if earlier {
        s.first_ms = v.first_ms;
        s.example_message = v.example_message;
        s.example_statement = v.example_statement;
    }
    s.last_ms = s.last_ms.max(v.last_ms);
    s.count += v.count;
}

/// The class of a SQLSTATE (its first two characters).
pub fn sqlstate_class(code: &str) -> &'static str {
    match code.get(..2).unwrap_or("") {
        "00" => "successful completion",
        "01" => "warning",
        "08" => "connection exception",
        "0A" => "feature not supported",
        "22" => "data exception",
        "23" => "integrity constraint violation",
        "25" => "invalid transaction state",
        "28" => "invalid authorization specification",
        "3D" => "invalid catalog name",
        "40" => "transaction rollback",
        "42" => "syntax error or access rule violation",
        "53" => "insufficient resources",
        "54" => "program limit exceeded",
        "55" => "object not in prerequisite state",
        "57" => "operator intervention",
        "58" => "system error",
        "P0" => "PL/pgSQL error",
        "XX" => "internal error",
        "" => "",
        _ => "other",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::borrow::Cow;

    fn entry(level: &'static str, msg: &'static str, ts: i64) -> Event<'static> {
        let mut e = Event::query(ts, None, Cow::Borrowed(""), Cow::Borrowed("7"));
        e.kind = EventKind::Entry;
        e.level = Some(Cow::Borrowed(level));
        e.error = Some(Cow::Borrowed(msg));
        e
    }

    #[test]
    fn a_summary_with_absurd_figures_saves_and_reads_back() {
        let mut s = Summary::default();
        let huge = format!(
            "process 1 acquired ShareLock on transaction 7 after 1{} ms",
            "0".repeat(400)
        );
        let leaked: &'static str = Box::leak(huge.into_boxed_str());
        s.add(&entry("LOG", leaked, 60_000));
        let json = serde_json::to_string(&s).unwrap();
        let back: Summary = serde_json::from_str(&json).unwrap();
        assert_eq!(back.locks.len(), 1);
    }

    #[test]
    fn message_shapes_take_the_values_out() {
        assert_eq!(
            message_shape("duplicate key value violates unique constraint \"items_pkey\""),
            "duplicate key value violates unique constraint \"items_pkey\""
        );
        assert_eq!(
            message_shape("invalid input syntax for type integer: 'abc' at 12"),
            "invalid input syntax for type integer: '…' at N"
        );
        assert_eq!(
            message_shape("relation t2 does not exist"),
            "relation t2 does not exist"
        );
    }

    #[test]
    fn sections_from_real_messages() {
        let mut s = Summary::default();
        s.add(&entry("LOG", "checkpoint starting: time", 60_000));
        s.add(&entry("LOG", "checkpoint complete: wrote 84 buffers (1.0%); 0 WAL file(s) added, 0 removed, 0 recycled; write=0.002 s, sync=0.001 s, total=0.003 s; sync files=0, longest=0.000 s, average=0.000 s; distance=167 kB, estimate=167 kB", 61_000));
        s.add(&entry("LOG", "automatic vacuum of table \"shop.public.items\": index scans: 0\npages: 0 removed, 5 remain, 5 scanned (100.00% of total)\ntuples: 120 removed, 100 remain, 0 are dead but not yet removable\nsystem usage: CPU: user: 0.00 s, system: 0.00 s, elapsed: 0.25 s", 62_000));
        s.add(&entry("LOG", "automatic analyze of table \"shop.public.items\"\navg read rate: 0.000 MB/s\nsystem usage: CPU: user: 0.00 s, system: 0.00 s, elapsed: 0.05 s", 63_000));
        s.add(&entry(
            "LOG",
            "connection received: host=10.0.0.5 port=5000",
            64_000,
        ));
        s.add(&entry(
            "LOG",
            "connection authorized: user=app database=shop application_name=my api",
            64_000,
        ));
        s.add(&entry("LOG", "disconnection: session time: 0:01:00.500 user=app database=shop host=10.0.0.5 port=5000", 125_000));
        s.add(&entry(
            "FATAL",
            "password authentication failed for user \"bob\"",
            70_000,
        ));
        let mut lock = entry("LOG", "process 13851 still waiting for RowExclusiveLock on relation 16415 of database 5 after 100.224 ms at character 8", 80_000);
        lock.detail = Some(Cow::Borrowed(
            "Process holding the lock: 13849. Wait queue: 13851.",
        ));
        lock.sql = Cow::Borrowed("UPDATE items SET price = 0 WHERE id = 9");
        s.add(&lock);
        let mut temp = entry(
            "LOG",
            "temporary file: path \"base/pgsql_tmp/pgsql_tmp1.0\", size 286720",
            90_000,
        );
        temp.sql = Cow::Borrowed("SELECT * FROM t ORDER BY 1");
        s.add(&temp);

        assert_eq!(s.checkpoints.causes.get("time"), Some(&1));
        assert_eq!((s.checkpoints.completed, s.checkpoints.buffers), (1, 84));
        assert_eq!(s.checkpoints.total_ms, 3);
        assert_eq!(s.checkpoints.distance_kb, 167);
        let v = &s.vacuum["shop.public.items"];
        assert_eq!((v.vacuums, v.analyzes, v.removed), (1, 1, 120));
        assert_eq!(v.elapsed_ms, 300);
        assert_eq!(s.sessions.by_application.get("my api"), Some(&1));
        assert_eq!(s.sessions.by_host.get("10.0.0.5"), Some(&1));
        assert_eq!(s.sessions.max_ms, 60_500);
        assert_eq!(s.peak_sessions(), 1);
        assert_eq!(s.errors.len(), 1);
        assert_eq!(s.errors_per_minute[&60_000], 1);
        let (k, l) = s.locks.iter().next().unwrap();
        assert_eq!(k, "relation 16415 of database 5\u{1f}RowExclusiveLock\u{1f}update items set price = $1 where id = $2");
        assert_eq!(l.max_wait_ms, 100.224);
        assert!(l.blocking_pids.contains("13849") && l.waiting_pids.contains("13851"));
        let t = s.temp_files.values().next().unwrap();
        assert_eq!((t.count, t.bytes), (1, 286_720));
    }
}
