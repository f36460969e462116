//! Application trace JSON lines: one query per line with `ts`, `duration_ms`, `sql` and optional
//! `trace_id`, `span_id`, `parent_id`, `session`, so N+1 can be found from traces too.

use super::{parse_timestamp, Event, ReadStats};
use serde::Deserialize;
use std::borrow::Cow;

#[derive(Deserialize)]
struct Line<'a> {
    ts: Option<serde_json::Value>,
    duration_ms: Option<f64>,
    #[serde(borrow)]
    sql: Cow<'a, str>,
    #[serde(borrow)]
    trace_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    session: Option<Cow<'a, str>>,
    #[serde(borrow)]
    params: Option<Cow<'a, str>>,
}

fn ts_ms(v: &serde_json::Value) -> i64 {
    match v {
        // Epoch seconds or milliseconds.
        serde_json::Value::Number(n) => {
            let f = n.as_f64().unwrap_or(0.0);
            if f > 1e11 {
                f as i64
            } else {
                (f * 1000.0) as i64
            }
        }
        serde_json::Value::String(s) => parse_timestamp(s.as_bytes()).map_or(0, |(t, _)| t),
        _ => 0,
    }
}

/// Read trace lines.
pub fn read_chunk(bytes: &[u8], stats: &mut ReadStats, sink: &mut dyn FnMut(Event<'_>)) {
    super::json_lines(bytes, stats, |l: Line, _| {
        let session = l
            .session
            .clone()
            .or_else(|| l.trace_id.clone())
            .unwrap_or(Cow::Borrowed(""));
        let mut e = Event::query(
            l.ts.as_ref().map_or(0, ts_ms),
            l.duration_ms,
            l.sql,
            session,
        );
        e.trace = l.trace_id;
        e.params = l.params;
        sink(e);
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trace_lines() {
        let log = concat!(
            r#"{"ts": "2024-03-04T10:00:00.5Z", "duration_ms": 1.5, "sql": "SELECT * FROM users WHERE id = 1", "trace_id": "t1", "span_id": "s1"}"#,
            "\n",
            r#"{"ts": 1709546400.5, "duration_ms": 0.5, "sql": "SELECT 2", "session": "web-1"}"#,
            "\n",
            "{\"broken\": \n"
        );
        let mut stats = ReadStats::default();
        let mut ev = Vec::new();
        read_chunk(log.as_bytes(), &mut stats, &mut |e| {
            ev.push((e.session.into_owned(), e.ts_ms, e.duration_ms))
        });
        assert_eq!(ev[0].0, "t1");
        assert_eq!(ev[0].1, 1_709_546_400_500);
        assert_eq!(ev[1], ("web-1".to_string(), 1_709_546_400_500, Some(0.5)));
        assert_eq!(stats.skipped_lines, 1);
    }
}
