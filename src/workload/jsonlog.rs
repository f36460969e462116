//! jsonlog (`log_destination = 'jsonlog'`, PostgreSQL 15+): one JSON object per line.

use super::prefix::Fields;
use super::stderr::{ChunkEdges, State};
use super::{parse_timestamp, Event, ReadStats};
use serde::Deserialize;
use std::borrow::Cow;

#[derive(Deserialize)]
struct Line<'a> {
    #[serde(borrow)]
    timestamp: Option<Cow<'a, str>>,
    #[serde(borrow)]
    user: Option<Cow<'a, str>>,
    #[serde(borrow)]
    dbname: Option<Cow<'a, str>>,
    pid: Option<i64>,
    #[serde(borrow)]
    session_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    error_severity: Option<Cow<'a, str>>,
    #[serde(borrow)]
    message: Option<Cow<'a, str>>,
    #[serde(borrow)]
    detail: Option<Cow<'a, str>>,
    #[serde(borrow)]
    statement: Option<Cow<'a, str>>,
    #[serde(borrow)]
    application_name: Option<Cow<'a, str>>,
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
        let pid = l.pid.map(|p| p.to_string());
        let fields = Fields {
            ts_ms: l
                .timestamp
                .as_deref()
                .and_then(|t| parse_timestamp(t.as_bytes()))
                .map(|(t, _)| t),
            pid: pid.as_deref(),
            session_id: l.session_id.as_deref(),
            user: l.user.as_deref(),
            database: l.dbname.as_deref(),
            application: l.application_name.as_deref(),
            host: None,
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
