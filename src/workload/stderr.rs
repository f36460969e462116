//! PostgreSQL stderr logs: entries (a prefixed line and its TAB continuation lines) turned into
//! query events. Understands `duration: … statement:`, `statement:` and `duration:` on separate
//! entries (log_statement with log_duration), extended-protocol `execute <name>:` with its
//! `DETAIL:  parameters:` line (`parse`/`bind` lines are not queries), and ERROR/FATAL with the
//! STATEMENT that failed.
//!
//! A chunk of a log is read on its own (several in parallel); what pairs across a chunk's edges
//! (a `statement:` near the end, its `duration:` at the start of the next) comes back in
//! [`ChunkEdges`] for the caller to join in order.

use super::prefix::{split_level, Prefix};
use super::{Event, EventKind, ReadStats};
use std::borrow::Cow;
use std::collections::HashMap;

/// A statement seen without its duration yet, owned so it can cross a chunk edge.
#[derive(Debug, Clone, PartialEq)]
pub struct PendingStatement {
    /// Session.
    pub session: String,
    /// Timestamp.
    pub ts_ms: i64,
    /// SQL.
    pub sql: String,
    /// User.
    pub user: Option<String>,
    /// Database.
    pub database: Option<String>,
    /// Application.
    pub application: Option<String>,
}

impl PendingStatement {
    /// As an event with the given duration.
    pub fn to_event(&self, duration_ms: Option<f64>) -> Event<'_> {
        let mut e = Event::query(
            self.ts_ms,
            duration_ms,
            Cow::Borrowed(&self.sql),
            Cow::Borrowed(&self.session),
        );
        e.user = self.user.as_deref().map(Cow::Borrowed);
        e.database = self.database.as_deref().map(Cow::Borrowed);
        e.application = self.application.as_deref().map(Cow::Borrowed);
        e
    }
}

/// What a chunk could not pair by itself.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChunkEdges {
    /// `duration:` entries seen before any statement of their session in this chunk:
    /// (session, duration ms).
    pub head_durations: Vec<(String, f64)>,
    /// Statements still waiting for a `duration:` at the end of the chunk, in log order.
    pub tail_statements: Vec<PendingStatement>,
    /// Sessions that logged a statement or duration in this chunk.
    pub touched: Vec<String>,
}

fn parse_ms(s: &[u8]) -> Option<(f64, usize)> {
    // "0.412 ms" — digits, optional fraction.
    let mut i = 0;
    let mut int: u64 = 0;
    while i < s.len() && s[i].is_ascii_digit() {
        int = int.wrapping_mul(10).wrapping_add((s[i] - b'0') as u64);
        i += 1;
    }
    if i == 0 {
        return None;
    }
    let mut v = int as f64;
    if i < s.len() && s[i] == b'.' {
        i += 1;
        let (mut frac, mut div) = (0u64, 1u64);
        while i < s.len() && s[i].is_ascii_digit() {
            if div < 1_000_000_000_000 {
                frac = frac * 10 + (s[i] - b'0') as u64;
                div *= 10;
            }
            i += 1;
        }
        v += frac as f64 / div as f64;
    }
    if s[i..].starts_with(b" ms") {
        Some((v, i + 3))
    } else {
        None
    }
}

/// `execute <name>: SQL` / `execute S_1/C_2: SQL` → SQL.
fn after_execute(msg: &[u8]) -> Option<&[u8]> {
    let rest = msg.strip_prefix(b"execute ")?;
    let colon = rest.iter().position(|&b| b == b':')?;
    let mut sql = &rest[colon + 1..];
    while let [b' ', t @ ..] = sql {
        sql = t;
    }
    Some(sql)
}

fn text(b: &[u8]) -> Cow<'_, str> {
    String::from_utf8_lossy(b)
}

/// The SQL of an entry: the message's first line and the continuation lines, TABs removed.
fn entry_sql<'a>(first: &'a [u8], cont: &[&'a [u8]]) -> Cow<'a, str> {
    if cont.is_empty() {
        return text(first);
    }
    let mut s = String::from_utf8_lossy(first).into_owned();
    for c in cont {
        s.push('\n');
        s.push_str(&String::from_utf8_lossy(c.strip_prefix(b"\t").unwrap_or(c)));
    }
    Cow::Owned(s)
}

/// Whether a LOG message is a statement's (`duration:`, `statement:`, `execute …:`).
fn is_statement_log(msg: &[u8]) -> bool {
    msg.starts_with(b"duration: ")
        || msg.starts_with(b"statement: ")
        || msg.starts_with(b"execute ")
}

/// One log entry, whatever the file format: prefix fields, severity, message, continuation lines.
pub(crate) struct Entry<'a> {
    pub(crate) fields: super::prefix::Fields<'a>,
    pub(crate) level: &'a str,
    pub(crate) msg: &'a [u8],
    pub(crate) cont: Vec<&'a [u8]>,
}

/// Read one chunk of a stderr log. `sink` gets every event in log order.
pub fn read_chunk<'a>(
    prefix: &Prefix,
    bytes: &'a [u8],
    stats: &mut ReadStats,
    sink: &mut dyn FnMut(Event<'_>),
) -> ChunkEdges {
    let mut edges = ChunkEdges::default();
    let mut state = State::default();
    let mut current: Option<Entry<'a>> = None;
    stats.bytes += bytes.len() as u64;
    for raw in bytes.split(|&b| b == b'\n') {
        if raw.is_empty() {
            continue;
        }
        stats.lines += 1;
        let line = raw.strip_suffix(b"\r").unwrap_or(raw);
        // A bare `\r` line is empty too (found by fuzzing: it indexed an empty line).
        let Some(&first) = line.first() else { continue };
        if first == b'\t' || first == b' ' {
            match current.as_mut() {
                Some(e) => e.cont.push(line),
                None => stats.unexplained(line),
            }
            continue;
        }
        match prefix.match_line(line) {
            Some((fields, end)) => {
                if let Some(e) = current.take() {
                    state.entry(e, stats, &mut edges, sink);
                }
                let (level, msg) = split_level(&line[end..]).unwrap_or(("LOG", &line[end..]));
                current = Some(Entry {
                    fields,
                    level,
                    msg,
                    cont: Vec::new(),
                });
            }
            None => stats.unexplained(line),
        }
    }
    if let Some(e) = current.take() {
        state.entry(e, stats, &mut edges, sink);
    }
    state.finish(edges, sink)
}

/// Pairs entries into events (shared by the stderr, csvlog and jsonlog readers).
#[derive(Default)]
pub(crate) struct State {
    /// log_statement entries waiting for their `duration:`, per session.
    pending: HashMap<String, PendingStatement>,
    pending_order: Vec<String>,
    /// Sessions whose statements this chunk has seen (a duration for any other is a head orphan).
    seen_sessions: std::collections::HashSet<String>,
    /// An execute waiting for its `DETAIL:  parameters:` line, with its duration.
    execute: Option<(PendingStatement, f64)>,
    /// An entry that is not a query (an error, a connection, a checkpoint…) waiting for its
    /// DETAIL and STATEMENT lines.
    held: Option<Held>,
}

/// An entry that is not a query, with what followed it.
struct Held {
    /// Who and when; `sql` is the message.
    p: PendingStatement,
    level: String,
    sqlstate: Option<String>,
    detail: Option<String>,
    statement: Option<String>,
}

fn held(e: &Entry<'_>, session: &str, sql: String) -> PendingStatement {
    let owned = |v: Option<&str>| v.map(str::to_string);
    PendingStatement {
        session: session.to_string(),
        ts_ms: e.fields.ts_ms.unwrap_or(0),
        sql,
        user: owned(e.fields.user),
        database: owned(e.fields.database),
        application: owned(e.fields.application),
    }
}

impl State {
    /// End of input: emit what is held and hand back the unpaired statements.
    pub(crate) fn finish(
        mut self,
        mut edges: ChunkEdges,
        sink: &mut dyn FnMut(Event<'_>),
    ) -> ChunkEdges {
        self.flush(sink);
        let mut pending = std::mem::take(&mut self.pending);
        edges.tail_statements = self
            .pending_order
            .iter()
            .filter_map(|s| pending.remove(s))
            .collect();
        edges.touched = self.seen_sessions.into_iter().collect();
        edges
    }

    /// Emit what is held (an execute without parameters).
    pub(crate) fn flush(&mut self, sink: &mut dyn FnMut(Event<'_>)) {
        if let Some((p, dur)) = self.execute.take() {
            sink(p.to_event(Some(dur)));
        }
        if let Some(h) = self.held.take() {
            let mut ev = h.p.to_event(None);
            let failed = matches!(h.level.as_str(), "ERROR" | "FATAL" | "PANIC");
            ev.kind = match (&h.statement, failed) {
                (Some(_), true) => EventKind::Error,
                _ => EventKind::Entry,
            };
            ev.error = Some(Cow::Borrowed(&h.p.sql));
            ev.sql = Cow::Borrowed(h.statement.as_deref().unwrap_or(""));
            ev.level = Some(Cow::Borrowed(&h.level));
            ev.sqlstate = h.sqlstate.as_deref().map(Cow::Borrowed);
            ev.detail = h.detail.as_deref().map(Cow::Borrowed);
            sink(ev);
        }
    }

    /// Handle a structured record (csvlog, jsonlog): its message, the extended protocol's
    /// parameters (`detail`) and, for an error, the statement that failed.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn record(
        &mut self,
        fields: super::prefix::Fields<'_>,
        level: &str,
        msg: &[u8],
        detail: Option<&[u8]>,
        statement: Option<&[u8]>,
        stats: &mut ReadStats,
        edges: &mut ChunkEdges,
        sink: &mut dyn FnMut(Event<'_>),
    ) {
        self.entry(
            Entry {
                fields: fields.clone(),
                level,
                msg,
                cont: Vec::new(),
            },
            stats,
            edges,
            sink,
        );
        if let Some(d) = detail.filter(|d| !d.is_empty()) {
            self.entry(
                Entry {
                    fields: fields.clone(),
                    level: "DETAIL",
                    msg: d,
                    cont: Vec::new(),
                },
                stats,
                edges,
                sink,
            );
        }
        {
            if let Some(q) = statement.filter(|q| !q.is_empty()) {
                self.entry(
                    Entry {
                        fields,
                        level: "STATEMENT",
                        msg: q,
                        cont: Vec::new(),
                    },
                    stats,
                    edges,
                    sink,
                );
            }
        }
    }

    /// Handle one entry.
    pub(crate) fn entry(
        &mut self,
        e: Entry<'_>,
        stats: &mut ReadStats,
        edges: &mut ChunkEdges,
        sink: &mut dyn FnMut(Event<'_>),
    ) {
        let session: &str = e.fields.session_id.or(e.fields.pid).unwrap_or("");
        let ts = e.fields.ts_ms.unwrap_or(0);
        // DETAIL parameters complete a held execute; DETAIL and STATEMENT lines complete a
        // held entry of the same session.
        let held_here = |h: &Option<Held>| h.as_ref().is_some_and(|h| h.p.session == session);
        match e.level {
            "DETAIL" => {
                if let Some(params) = e.msg.strip_prefix(b"parameters: ") {
                    match self.execute.take() {
                        Some((p, dur)) if p.session == session => {
                            let mut ev = p.to_event(Some(dur));
                            ev.params = Some(entry_sql(params, &e.cont));
                            sink(ev);
                            return;
                        }
                        other => self.execute = other,
                    }
                }
                if held_here(&self.held) {
                    if let Some(h) = self.held.as_mut() {
                        h.detail = Some(entry_sql(e.msg, &e.cont).into_owned());
                    }
                }
                return;
            }
            "STATEMENT" => {
                if held_here(&self.held) {
                    if let Some(h) = self.held.as_mut() {
                        h.statement = Some(entry_sql(e.msg, &e.cont).into_owned());
                    }
                }
                return;
            }
            "HINT" | "CONTEXT" | "QUERY" | "LOCATION" => return,
            _ => {}
        }
        self.flush(sink);
        if e.level != "LOG" || !is_statement_log(e.msg) {
            stats.other_entries += 1;
            self.held = Some(Held {
                p: held(&e, session, entry_sql(e.msg, &e.cont).into_owned()),
                level: e.level.to_string(),
                sqlstate: e.fields.sqlstate.map(str::to_string),
                detail: None,
                statement: None,
            });
            return;
        }
        let msg = e.msg;
        if let Some(rest) = msg.strip_prefix(b"duration: ") {
            let Some((dur, used)) = parse_ms(rest) else {
                stats.other_entries += 1;
                return;
            };
            // Two spaces before `statement:` as PostgreSQL writes it, one in some rewritten logs.
            let after = rest[used..].trim_ascii_start();
            if after.is_empty() {
                // log_duration: pairs with this session's pending statement.
                match self.pending.remove(session) {
                    Some(p) => sink(p.to_event(Some(dur))),
                    None if !self.seen_sessions.contains(session) => {
                        edges.head_durations.push((session.to_string(), dur))
                    }
                    None => stats.other_entries += 1,
                }
                self.seen_sessions.insert(session.to_string());
                return;
            }
            self.seen_sessions.insert(session.to_string());
            if let Some(sql) = after.strip_prefix(b"statement: ") {
                let mut ev = Event::query(
                    ts,
                    Some(dur),
                    entry_sql(sql, &e.cont),
                    Cow::Borrowed(session),
                );
                ev.user = e.fields.user.map(Cow::Borrowed);
                ev.database = e.fields.database.map(Cow::Borrowed);
                ev.application = e.fields.application.map(Cow::Borrowed);
                sink(ev);
            } else if let Some(sql) = after_execute(after) {
                self.execute = Some((held(&e, session, entry_sql(sql, &e.cont).into_owned()), dur));
            } else {
                // parse/bind steps and others: not queries.
                stats.other_entries += 1;
            }
            return;
        }
        let stmt = msg
            .strip_prefix(b"statement: ")
            .or_else(|| after_execute(msg));
        if let Some(sql) = stmt {
            self.seen_sessions.insert(session.to_string());
            let p = held(&e, session, entry_sql(sql, &e.cont).into_owned());
            if let Some(prev) = self.pending.insert(session.to_string(), p) {
                // The previous statement never got a duration (log_duration off).
                sink(prev.to_event(None));
            } else {
                self.pending_order.push(session.to_string());
            }
            return;
        }
        stats.other_entries += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq)]
    struct Ev {
        kind: EventKind,
        dur: Option<f64>,
        sql: String,
        session: String,
        params: Option<String>,
        error: Option<String>,
    }

    fn read(log: &str) -> (Vec<Ev>, ReadStats, ChunkEdges) {
        let p = Prefix::parse("%m [%p] %q%u@%d ").unwrap();
        let mut out = Vec::new();
        let mut stats = ReadStats::default();
        let edges = read_chunk(&p, log.as_bytes(), &mut stats, &mut |e| {
            if e.kind == EventKind::Entry {
                return;
            }
            out.push(Ev {
                kind: e.kind,
                dur: e.duration_ms,
                sql: e.sql.into_owned(),
                session: e.session.into_owned(),
                params: e.params.map(|p| p.into_owned()),
                error: e.error.map(|p| p.into_owned()),
            })
        });
        (out, stats, edges)
    }

    const T: &str = "2024-03-04 10:00:00.123 UTC";

    #[test]
    fn duration_statement_lines_and_multiline() {
        let log = format!(
            "{T} [1] app@shop LOG:  duration: 0.412 ms  statement: SELECT 1\n\
             {T} [2] app@shop LOG:  duration: 12.5 ms  statement: SELECT o.id\n\tFROM orders o\n\tWHERE o.id = 5\n\
             {T} [9] LOG:  checkpoint starting: time\n"
        );
        let (ev, stats, _) = read(&log);
        assert_eq!(ev.len(), 2);
        assert_eq!(ev[0].dur, Some(0.412));
        assert_eq!(ev[1].sql, "SELECT o.id\nFROM orders o\nWHERE o.id = 5");
        assert_eq!(ev[1].session, "2");
        assert_eq!(stats.other_entries, 1);
        assert_eq!(stats.lines, 5);
    }

    #[test]
    fn extended_protocol_with_parameters() {
        let log = format!(
            "{T} [7] app@shop LOG:  duration: 0.050 ms  parse <unnamed>: SELECT * FROM users WHERE id = $1\n\
             {T} [7] app@shop LOG:  duration: 0.020 ms  bind <unnamed>: SELECT * FROM users WHERE id = $1\n\
             {T} [7] app@shop DETAIL:  parameters: $1 = '42'\n\
             {T} [7] app@shop LOG:  duration: 0.300 ms  execute <unnamed>: SELECT * FROM users WHERE id = $1\n\
             {T} [7] app@shop DETAIL:  parameters: $1 = '42'\n\
             {T} [7] app@shop LOG:  duration: 0.100 ms  execute S_1/C_2: SELECT 2\n"
        );
        let (ev, _, _) = read(&log);
        assert_eq!(ev.len(), 2, "{ev:?}");
        assert_eq!(ev[0].params.as_deref(), Some("$1 = '42'"));
        assert_eq!(ev[0].dur, Some(0.3));
        assert_eq!(ev[1].sql, "SELECT 2");
    }

    #[test]
    fn errors_with_their_statement() {
        let log = format!(
            "{T} [3] app@shop ERROR:  duplicate key value violates unique constraint \"users_email_key\"\n\
             {T} [3] app@shop DETAIL:  Key (email)=(a@b.c) already exists.\n\
             {T} [3] app@shop STATEMENT:  INSERT INTO users (email) VALUES ('a@b.c')\n"
        );
        let (ev, _, _) = read(&log);
        assert_eq!(ev.len(), 1);
        assert_eq!(ev[0].kind, EventKind::Error);
        assert_eq!(ev[0].sql, "INSERT INTO users (email) VALUES ('a@b.c')");
        assert!(ev[0].error.as_deref().unwrap().starts_with("duplicate key"));
    }

    #[test]
    fn statement_and_duration_on_separate_entries_interleaved() {
        let log = format!(
            "{T} [1] app@shop LOG:  statement: SELECT 1\n\
             {T} [2] app@shop LOG:  statement: SELECT 2\n\
             {T} [2] app@shop LOG:  duration: 2.000 ms\n\
             {T} [1] app@shop LOG:  duration: 1.000 ms\n\
             {T} [4] app@shop LOG:  duration: 4.000 ms\n\
             {T} [3] app@shop LOG:  statement: SELECT 3\n"
        );
        let (ev, _, edges) = read(&log);
        let got: Vec<(&str, Option<f64>)> = ev.iter().map(|e| (e.sql.as_str(), e.dur)).collect();
        assert_eq!(got, vec![("SELECT 2", Some(2.0)), ("SELECT 1", Some(1.0))]);
        assert_eq!(edges.head_durations, vec![("4".to_string(), 4.0)]);
        assert_eq!(edges.tail_statements.len(), 1);
        assert_eq!(edges.tail_statements[0].sql, "SELECT 3");
    }

    #[test]
    fn other_entries_come_with_their_detail_and_statement() {
        let p = Prefix::parse("%m [%p] %q%u@%d ").unwrap();
        let log = format!(
            "{T} [5] app@shop LOG:  process 5 still waiting for ShareLock on transaction 7 after 1000.1 ms\n\
             {T} [5] app@shop DETAIL:  Process holding the lock: 6. Wait queue: 5.\n\
             {T} [5] app@shop STATEMENT:  UPDATE t SET a = 1\n\
             {T} [9] LOG:  automatic vacuum of table \"shop.public.t\": index scans: 0\n\
             \tpages: 0 removed, 5 remain\n\
             {T} [3] app@shop FATAL:  password authentication failed for user \"app\"\n"
        );
        let mut got = Vec::new();
        read_chunk(&p, log.as_bytes(), &mut ReadStats::default(), &mut |e| {
            got.push((
                e.kind,
                e.level.map(|l| l.into_owned()),
                e.error.map(|m| m.into_owned()),
                e.detail.map(|d| d.into_owned()),
                e.sql.into_owned(),
            ))
        });
        assert_eq!(got.len(), 3, "{got:?}");
        assert_eq!(got[0].0, EventKind::Entry);
        assert!(got[0].2.as_deref().unwrap().contains("still waiting"));
        assert_eq!(
            got[0].3.as_deref(),
            Some("Process holding the lock: 6. Wait queue: 5.")
        );
        assert_eq!(got[0].4, "UPDATE t SET a = 1");
        assert_eq!(got[1].2.as_deref(), Some("automatic vacuum of table \"shop.public.t\": index scans: 0\npages: 0 removed, 5 remain"));
        assert_eq!(
            (got[2].0, got[2].1.as_deref()),
            (EventKind::Entry, Some("FATAL"))
        );
    }

    #[test]
    fn garbage_and_cut_lines_are_counted_not_fatal() {
        let log = format!(
            "\u{1}\u{2}garbage\n{T} [1] app@shop LOG:  duration: 1.0 ms  statem\n{T} [1] app@sh"
        );
        let (ev, stats, _) = read(&log);
        assert!(ev.is_empty());
        assert_eq!(stats.skipped_lines, 2);
        assert_eq!(stats.other_entries, 1);
    }
}
