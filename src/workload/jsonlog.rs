//! jsonlog (`log_destination = 'jsonlog'`, PostgreSQL 15+): one JSON object per line; also
//! CloudNativePG's instance logs, where the jsonlog record is nested under `record` in lines of
//! `logger: postgres` (its other loggers' lines are counted as other entries).

use super::prefix::Fields;
use super::stderr::{ChunkEdges, State};
use super::{parse_timestamp_utc, Event, ReadStats};
use serde::Deserialize;
use std::borrow::Cow;

/// A number written as a JSON number (jsonlog) or a string (CloudNativePG's records).
#[derive(Deserialize)]
#[serde(untagged)]
enum Num<'a> {
    Int(i64),
    #[serde(borrow)]
    Text(Cow<'a, str>),
}

impl Num<'_> {
    fn text(&self) -> Option<String> {
        match self {
            Num::Int(0) => None,
            Num::Int(n) => Some(n.to_string()),
            Num::Text(t) if t.is_empty() || t == "0" => None,
            Num::Text(t) => Some(t.to_string()),
        }
    }
}

/// One record: jsonlog's key names, with csvlog's column names (CloudNativePG's) as aliases.
#[derive(Deserialize)]
struct Line<'a> {
    #[serde(borrow, alias = "log_time")]
    timestamp: Option<Cow<'a, str>>,
    #[serde(borrow, alias = "user_name")]
    user: Option<Cow<'a, str>>,
    #[serde(borrow, alias = "database_name")]
    dbname: Option<Cow<'a, str>>,
    #[serde(borrow, alias = "process_id")]
    pid: Option<Num<'a>>,
    #[serde(borrow)]
    session_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    error_severity: Option<Cow<'a, str>>,
    #[serde(borrow)]
    message: Option<Cow<'a, str>>,
    #[serde(borrow)]
    detail: Option<Cow<'a, str>>,
    #[serde(borrow, alias = "query")]
    statement: Option<Cow<'a, str>>,
    #[serde(borrow)]
    application_name: Option<Cow<'a, str>>,
    #[serde(borrow, alias = "connection_from")]
    remote_host: Option<Cow<'a, str>>,
    #[serde(borrow, alias = "sql_state_code")]
    state_code: Option<Cow<'a, str>>,
    #[serde(borrow)]
    backend_type: Option<Cow<'a, str>>,
    #[serde(borrow)]
    query_id: Option<Num<'a>>,
    /// CloudNativePG: the PostgreSQL record inside the operator's line.
    #[serde(borrow)]
    record: Option<Box<Line<'a>>>,
}

/// A text field's value, `None` when absent or empty.
fn ne<'b>(v: &'b Option<Cow<'_, str>>) -> Option<&'b str> {
    v.as_deref().filter(|v| !v.is_empty())
}

/// Read a jsonlog chunk (it must start at a line boundary).
pub fn read_chunk(
    bytes: &[u8],
    stats: &mut ReadStats,
    sink: &mut dyn FnMut(Event<'_>),
) -> ChunkEdges {
    let mut state = State::default();
    let mut edges = ChunkEdges::default();
    super::json_lines(bytes, stats, |l: Line, stats| {
        let l = match l.record {
            Some(inner) => *inner,
            None => l,
        };
        if l.error_severity.is_none() {
            // Not a PostgreSQL record (CloudNativePG's own loggers).
            stats.other_entries += 1;
            return;
        }
        let pid = l.pid.as_ref().and_then(Num::text);
        let query_id = l.query_id.as_ref().and_then(Num::text);
        let fields = Fields {
            ts_ms: ne(&l.timestamp)
                .and_then(|t| parse_timestamp_utc(t.as_bytes()))
                .map(|(t, _)| t),
            pid: pid.as_deref(),
            session_id: ne(&l.session_id),
            user: ne(&l.user),
            database: ne(&l.dbname),
            application: ne(&l.application_name),
            host: ne(&l.remote_host),
            query_id: query_id.as_deref(),
            sqlstate: ne(&l.state_code),
            backend_type: ne(&l.backend_type),
        };
        let level = l.error_severity.as_deref().unwrap_or("LOG");
        let msg = l.message.as_deref().unwrap_or("");
        state.record(
            fields,
            level,
            msg.as_bytes(),
            l.detail.as_deref().map(str::as_bytes),
            l.statement.as_deref().map(str::as_bytes),
            stats,
            &mut edges,
            sink,
        );
    });
    state.finish(edges, sink)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jsonlog_lines() {
        let log = concat!(
            r#"{"timestamp":"2024-03-04 10:00:00.123 UTC","user":"app","dbname":"shop","pid":77,"session_id":"s1","error_severity":"LOG","message":"duration: 2.000 ms  statement: SELECT 1\nFROM t","application_name":"api"}"#,
            "\n",
            r#"{"timestamp":"2024-03-04 10:00:01.000 UTC","user":"app","dbname":"shop","pid":77,"session_id":"s1","error_severity":"ERROR","message":"boom","statement":"SELECT x"}"#,
            "\n",
            "not json\n"
        );
        let mut stats = ReadStats::default();
        let mut ev = Vec::new();
        read_chunk(log.as_bytes(), &mut stats, &mut |e| {
            ev.push((e.kind, e.sql.into_owned(), e.duration_ms))
        });
        assert_eq!(ev.len(), 2);
        assert_eq!(ev[0].1, "SELECT 1\nFROM t");
        assert_eq!(ev[1].0, crate::workload::EventKind::Error);
        assert_eq!(stats.skipped_lines, 1);
    }
}
