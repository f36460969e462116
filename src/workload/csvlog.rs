//! csvlog (`log_destination = 'csvlog'`, PostgreSQL 13 to 17): one CSV record per entry, fields
//! quoted with `""` escapes and free to hold newlines. Errors carry their statement in the
//! `query` column; extended-protocol parameters are in `detail`.

use super::prefix::Fields;
use super::stderr::{ChunkEdges, State};
use super::{parse_timestamp_utc, Event, ReadStats};

// Column positions (PostgreSQL 13+; 14 added backend_type, leader_pid, query_id at the end).
const LOG_TIME: usize = 0;
const USER: usize = 1;
const DATABASE: usize = 2;
const PID: usize = 3;
const SESSION_ID: usize = 5;
const HOST: usize = 4;
const SEVERITY: usize = 11;
const SQLSTATE: usize = 12;
const BACKEND_TYPE: usize = 23;
const QUERY_ID: usize = 25;
const MESSAGE: usize = 13;
const DETAIL: usize = 14;
const QUERY: usize = 19;
const APPLICATION: usize = 22;

/// Split `bytes` into CSV records (each a list of unescaped fields). A record cut off at the end
/// (an unclosed quote) is counted as skipped.
pub fn records(
    bytes: &[u8],
    stats: &mut ReadStats,
    mut f: impl FnMut(&[std::borrow::Cow<'_, [u8]>]),
) {
    let mut i = 0;
    let n = bytes.len();
    let mut fields: Vec<std::borrow::Cow<'_, [u8]>> = Vec::with_capacity(26);
    while i < n {
        fields.clear();
        let rec_start = i;
        let mut ok = true;
        loop {
            if i < n && bytes[i] == b'"' {
                // Quoted field.
                let start = i + 1;
                let mut j = start;
                let mut owned: Option<Vec<u8>> = None;
                loop {
                    if j >= n {
                        ok = false;
                        break;
                    }
                    if bytes[j] == b'"' {
                        if j + 1 < n && bytes[j + 1] == b'"' {
                            let o = owned.get_or_insert_with(|| bytes[start..j].to_vec());
                            o.push(b'"');
                            j += 2;
                            continue;
                        }
                        break;
                    }
                    if let Some(o) = owned.as_mut() {
                        o.push(bytes[j]);
                    }
                    j += 1;
                }
                if !ok {
                    i = n;
                    break;
                }
                fields.push(match owned {
                    Some(o) => std::borrow::Cow::Owned(o),
                    None => std::borrow::Cow::Borrowed(&bytes[start..j]),
                });
                i = j + 1;
            } else {
                let start = i;
                while i < n && bytes[i] != b',' && bytes[i] != b'\n' {
                    i += 1;
                }
                fields.push(std::borrow::Cow::Borrowed(&bytes[start..i]));
            }
            if i < n && bytes[i] == b',' {
                i += 1;
                continue;
            }
            if i < n && bytes[i] == b'\r' {
                i += 1;
            }
            if i < n && bytes[i] == b'\n' {
                i += 1;
            }
            break;
        }
        let lines = bytes[rec_start..i]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            .max(1) as u64;
        stats.lines += lines;
        if !ok {
            stats.unexplained(&bytes[rec_start..]);
            stats.skipped_lines += lines - 1;
            break;
        }
        f(&fields);
    }
}

/// Read a csvlog chunk (it must start at a record boundary).
pub fn read_chunk(
    bytes: &[u8],
    stats: &mut ReadStats,
    sink: &mut dyn FnMut(Event<'_>),
) -> ChunkEdges {
    stats.bytes += bytes.len() as u64;
    let mut state = State::default();
    let mut edges = ChunkEdges::default();
    let mut local = ReadStats::default();
    let mut rec_stats = ReadStats::default();
    records(bytes, &mut rec_stats, |rec| {
        if rec.len() <= MESSAGE {
            let joined: Vec<u8> = rec.join(&b","[..]);
            local.unexplained(&joined);
            return;
        }
        let s = |i: usize| {
            rec.get(i)
                .and_then(|v| std::str::from_utf8(v).ok())
                .filter(|v| !v.is_empty())
        };
        let fields = Fields {
            ts_ms: rec
                .get(LOG_TIME)
                .and_then(|t| parse_timestamp_utc(t))
                .map(|(t, _)| t),
            pid: s(PID),
            session_id: s(SESSION_ID),
            user: s(USER),
            database: s(DATABASE),
            application: s(APPLICATION),
            host: s(HOST),
            query_id: s(QUERY_ID),
            sqlstate: s(SQLSTATE),
            backend_type: s(BACKEND_TYPE),
        };
        let level = s(SEVERITY).unwrap_or("LOG");
        state.record(
            fields,
            level,
            &rec[MESSAGE],
            rec.get(DETAIL).map(|d| &d[..]),
            rec.get(QUERY).map(|q| &q[..]),
            &mut local,
            &mut edges,
            sink,
        );
    });
    local.add(&rec_stats);
    stats.add(&local);
    state.finish(edges, sink)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::EventKind;

    #[test]
    fn records_with_quotes_and_newlines() {
        let log = concat!(
            "2024-03-04 10:00:00.123 UTC,\"app\",\"shop\",77,\"10.0.0.1:5000\",65e5c8a0.4d,3,\"SELECT\",2024-03-04 09:59:00 UTC,3/5,0,LOG,00000,",
            "\"duration: 1.500 ms  statement: SELECT 'a,b', \"\"q\"\"\nFROM t\",,,,,,,,,\"psql\",\"client backend\",,0\n",
            "2024-03-04 10:00:01.000 UTC,\"app\",\"shop\",77,\"10.0.0.1:5000\",65e5c8a0.4d,4,\"INSERT\",2024-03-04 09:59:00 UTC,3/6,0,ERROR,23505,",
            "\"duplicate key value\",\"Key (id)=(1) already exists.\",,,,,\"INSERT INTO t VALUES (1)\",,,\"psql\",\"client backend\",,0\n",
            "2024-03-04 10:00:02.000 UTC,\"app\",\"shop\",77,\"10.0.0.1:5000\",65e5c8a0.4d,5,\"SELECT\",2024-03-04 09:59:00 UTC,3/7,0,LOG,00000,",
            "\"duration: 0.200 ms  execute <unnamed>: SELECT $1\",\"parameters: $1 = '5'\",,,,,,,,\"psql\",\"client backend\",,0\n",
            "2024-03-04 10:00:03.000 UTC,\"app\",\"shop\",77,\"cut"
        );
        let mut stats = ReadStats::default();
        let mut ev = Vec::new();
        read_chunk(log.as_bytes(), &mut stats, &mut |e| {
            ev.push((
                e.kind,
                e.sql.into_owned(),
                e.duration_ms,
                e.params.map(|p| p.into_owned()),
                e.session.into_owned(),
                e.application.map(|a| a.into_owned()),
            ))
        });
        assert_eq!(ev.len(), 3, "{ev:?}");
        assert_eq!(ev[0].1, "SELECT 'a,b', \"q\"\nFROM t");
        assert_eq!(ev[0].2, Some(1.5));
        assert_eq!(ev[0].4, "65e5c8a0.4d", "the session id is the scope");
        assert_eq!(ev[0].5.as_deref(), Some("psql"));
        assert_eq!(ev[1].0, EventKind::Error);
        assert_eq!(ev[1].1, "INSERT INTO t VALUES (1)");
        assert_eq!(ev[2].3.as_deref(), Some("$1 = '5'"));
        assert_eq!(stats.skipped_lines, 1, "the cut record");
    }
}
