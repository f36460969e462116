//! Logs that carry PostgreSQL's stderr lines inside another format, unwrapped into stderr lines
//! for the stderr reader:
//!
//! - syslog: BSD (`Dec  3 01:52:07 host postgres[123]: [5-1] …`), with an ISO timestamp
//!   (rsyslog's high-precision template), RFC 5424 (`<134>1 2024-12-03T01:52:07Z host postgres
//!   123 - - [5-1] …`) and Heroku's logplex (`… app[postgres.123]: [DATABASE] [5-1] …`). The
//!   `[n-m]` numbering joins a message's chunks (chunks of one message may be interleaved with
//!   other processes' lines), `#011` and other `#ooo` escapes are undone;
//! - cloud JSON lines: Cloud Logging (`textPayload`, `jsonPayload.message`) and Azure's
//!   diagnostic records (`properties.message`).
//!
//! Each unwrapped line starts with the envelope's timestamp and process id (`%m [%p] ` in
//! [`HEAD`]) unless its text already starts with a timestamp (Cloud SQL's textPayload holds the
//! whole stderr line), so the inner `log_line_prefix` is detected like a stderr log's.

use super::prefix::find;
use super::{parse_timestamp, ReadStats};
use serde::Deserialize;
use std::borrow::Cow;

/// Which envelope.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wrapper {
    /// syslog (BSD, ISO, RFC 5424) and Heroku logplex lines.
    Syslog,
    /// Cloud JSON lines (Cloud Logging, Azure diagnostics).
    Cloud,
}

/// The `log_line_prefix` head written before each unwrapped line that has none of its own.
pub const HEAD: &str = "%m [%p] ";

/// A syslog line taken apart.
#[derive(Debug, PartialEq)]
struct SyslogLine<'a> {
    ts_ms: i64,
    pid: &'a [u8],
    /// `[n-m]`: the message number and the chunk number.
    seq: Option<(u64, u32)>,
    text: &'a [u8],
}

const MONTHS: [&[u8; 3]; 12] = [
    b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec",
];

/// `Dec  3 01:52:07` (no year: the current one, or the last one for a month still to come).
fn bsd_timestamp(s: &[u8], year: i64, this_month: u32) -> Option<(i64, usize)> {
    if s.len() < 15 || s[3] != b' ' || s[6] != b' ' || s[9] != b':' || s[12] != b':' {
        return None;
    }
    let month = MONTHS.iter().position(|m| &s[..3] == *m)? as u32 + 1;
    let day = std::str::from_utf8(&s[4..6])
        .ok()?
        .trim()
        .parse::<u32>()
        .ok()?;
    let year = if month > this_month { year - 1 } else { year };
    let iso = format!(
        "{year:04}-{month:02}-{day:02} {}",
        std::str::from_utf8(&s[7..15]).ok()?
    );
    parse_timestamp(iso.as_bytes()).map(|(t, _)| (t, 15))
}

/// An ISO timestamp with its zone (`2024-12-03T01:52:07.123456+00:00`, `…Z`), in UTC.
fn iso_timestamp(s: &[u8]) -> Option<(i64, usize)> {
    let (t, mut used) = parse_timestamp(s)?;
    let mut offset_min = 0i64;
    match s.get(used) {
        Some(b'Z') => used += 1,
        Some(&sign @ (b'+' | b'-')) => {
            let d = |i: usize| {
                s.get(i)
                    .filter(|b| b.is_ascii_digit())
                    .map(|b| (b - b'0') as i64)
            };
            let h = d(used + 1)? * 10 + d(used + 2)?;
            let mut n = 3;
            if s.get(used + 3) == Some(&b':') {
                n += 1;
            }
            let m = d(used + n)? * 10 + d(used + n + 1)?;
            offset_min = (h * 60 + m) * if sign == b'+' { 1 } else { -1 };
            used += n + 2;
        }
        _ => {}
    }
    Some((t - offset_min * 60_000, used))
}

/// `[n-m] ` at the start of `s`.
fn numbering(s: &[u8]) -> Option<((u64, u32), usize)> {
    let inner = s.strip_prefix(b"[")?;
    let close = inner.iter().take(24).position(|&b| b == b']')?;
    let (n, m) = std::str::from_utf8(&inner[..close]).ok()?.split_once('-')?;
    let used = 1 + close + 1 + usize::from(inner.get(close + 1) == Some(&b' '));
    Some(((n.parse().ok()?, m.parse().ok()?), used))
}

/// Take a syslog line apart: timestamp, host and ident with the pid, numbering, text.
fn syslog_line(line: &[u8], year: i64, this_month: u32) -> Option<SyslogLine<'_>> {
    let mut rest = line;
    let (ts_ms, pid);
    if rest.first() == Some(&b'<') {
        // RFC 5424: <PRI>1 TIMESTAMP HOST APP PROCID MSGID SD MSG
        let gt = rest.iter().take(6).position(|&b| b == b'>')?;
        rest = rest[gt + 1..].strip_prefix(b"1 ")?;
        let (t, used) = iso_timestamp(rest)?;
        ts_ms = t;
        let mut fields = rest[used..].trim_ascii_start().splitn(5, |&b| b == b' ');
        let (_host, _app) = (fields.next()?, fields.next()?);
        let procid = fields.next()?;
        let _msgid = fields.next()?;
        let msg = fields.next()?;
        // Structured data: `-` or `[…]` elements.
        let msg = match msg.first() {
            Some(b'-') => msg.get(2..).unwrap_or(b""),
            Some(b'[') if numbering(msg).is_none() => {
                let end = msg.iter().position(|&b| b == b']')?;
                msg.get(end + 2..).unwrap_or(b"")
            }
            _ => msg,
        };
        pid = trailing_digits(procid)?;
        rest = msg;
    } else {
        let (t, used) = match bsd_timestamp(rest, year, this_month) {
            Some(v) => v,
            // RFC 3339 only (a `T` between date and time): a stderr line's `%m` is not syslog.
            None if rest.get(10) == Some(&b'T') => iso_timestamp(rest)?,
            None => return None,
        };
        ts_ms = t;
        rest = rest[used..].strip_prefix(b" ")?;
        // `host ident[pid]: ` or Heroku's `app[postgres.123]: `: at most two words, the
        // ident right before the bracket.
        let colon = find(&rest[..rest.len().min(200)], b"]: ")?;
        let open = rest[..colon].iter().rposition(|&b| b == b'[')?;
        let words = &rest[..open];
        if open == 0
            || words.ends_with(b" ")
            || words.iter().filter(|&&b| b == b' ').count() > 1
            || rest[open + 1..colon].contains(&b' ')
        {
            return None;
        }
        pid = trailing_digits(&rest[open + 1..colon])?;
        rest = &rest[colon + 3..];
        // Heroku: a `[COLOR]` name of the database before the numbering.
        if let Some(inner) = rest.strip_prefix(b"[") {
            if let Some(close) = inner.iter().take(64).position(|&b| b == b']') {
                if inner[..close]
                    .iter()
                    .all(|b| b.is_ascii_uppercase() || *b == b'_')
                    && close > 0
                {
                    rest = inner[close + 1..]
                        .strip_prefix(b" ")
                        .unwrap_or(&inner[close + 1..]);
                }
            }
        }
    }
    let (seq, text) = match numbering(rest) {
        Some((seq, used)) => (Some(seq), &rest[used..]),
        None => (None, rest),
    };
    Some(SyslogLine {
        ts_ms,
        pid,
        seq,
        text,
    })
}

fn trailing_digits(s: &[u8]) -> Option<&[u8]> {
    let n = s.iter().rev().take_while(|b| b.is_ascii_digit()).count();
    (n > 0).then(|| &s[s.len() - n..])
}

/// Undo syslog's `#ooo` octal escapes of control characters (`#011` is a TAB).
fn unescape(s: &[u8]) -> Cow<'_, [u8]> {
    if !s.contains(&b'#') {
        return Cow::Borrowed(s);
    }
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        if s[i] == b'#'
            && i + 3 < s.len()
            && s[i + 1..i + 4].iter().all(|b| (b'0'..=b'7').contains(b))
        {
            let v = (s[i + 1] - b'0') as u32 * 64
                + (s[i + 2] - b'0') as u32 * 8
                + (s[i + 3] - b'0') as u32;
            if v < 32 || v == 127 {
                out.push(v as u8);
                i += 4;
                continue;
            }
        }
        out.push(s[i]);
        i += 1;
    }
    Cow::Owned(out)
}

/// Write the `%m [%p] ` head of an unwrapped line (`2024-03-04 10:00:00.123 UTC [77] `).
fn head(out: &mut Vec<u8>, ts_ms: i64, pid: &[u8]) {
    use std::io::Write;
    let (days, ms) = (ts_ms.div_euclid(86_400_000), ts_ms.rem_euclid(86_400_000));
    let (y, m, d) = crate::calendar::civil_from_days(days);
    let _ = write!(
        out,
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}.{:03} UTC [",
        ms / 3_600_000,
        ms / 60_000 % 60,
        ms / 1000 % 60,
        ms % 1000
    );
    out.extend_from_slice(pid);
    out.extend_from_slice(b"] ");
}

/// One message being put together from its chunks.
struct Open {
    pid: Vec<u8>,
    seq: u64,
    text: Vec<u8>,
    /// Whether a later line of the same process showed it has no more chunks.
    done: bool,
}

/// Unwrap a block of syslog lines into stderr lines. Lines that are not syslog lines are
/// counted as not explained.
fn unwrap_syslog(block: &[u8], stats: &mut ReadStats, out: &mut Vec<u8>) -> u64 {
    let today = crate::calendar::civil_from_days(crate::calendar::today_days());
    let mut open: std::collections::VecDeque<Open> = std::collections::VecDeque::new();
    let mut lines = 0u64;
    let flush = |open: &mut std::collections::VecDeque<Open>, out: &mut Vec<u8>, all: bool| {
        while open.front().is_some_and(|o| o.done || all) {
            if let Some(o) = open.pop_front() {
                out.extend_from_slice(&o.text);
                out.push(b'\n');
            }
        }
    };
    for raw in block.split(|&b| b == b'\n') {
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        if raw.is_empty() {
            continue;
        }
        lines += 1;
        let Some(l) = syslog_line(raw, today.0, today.1) else {
            stats.unexplained(raw);
            continue;
        };
        let text = unescape(l.text);
        let chunk = l.seq.map_or(1, |s| s.1);
        if chunk > 1 || (l.seq.is_none() && text.first() == Some(&b'\t')) {
            // A later chunk: a new line of the message when it starts with the TAB PostgreSQL
            // puts after each newline, else the rest of a line cut at syslog's length limit.
            let n = l.seq.map(|s| s.0);
            let target = open
                .iter_mut()
                .rev()
                .find(|o| o.pid == l.pid && n.is_none_or(|n| o.seq == n));
            match target {
                Some(o) => {
                    if text.first() == Some(&b'\t') {
                        o.text.push(b'\n');
                    }
                    o.text.extend_from_slice(&text);
                }
                None => stats.unexplained(raw),
            }
            continue;
        }
        for o in open.iter_mut().filter(|o| o.pid == l.pid) {
            o.done = true;
        }
        // Heroku writes two spaces after the numbering.
        let text = text.trim_ascii_start();
        let mut t = Vec::with_capacity(text.len() + 40);
        if parse_timestamp(text).is_none() {
            head(&mut t, l.ts_ms, l.pid);
        }
        t.extend_from_slice(text);
        open.push_back(Open {
            pid: l.pid.to_vec(),
            seq: l.seq.map_or(0, |s| s.0),
            text: t,
            done: false,
        });
        flush(&mut open, out, false);
    }
    flush(&mut open, out, true);
    lines
}

/// A cloud JSON line: the text of the log line and what the envelope knows.
#[derive(Deserialize)]
struct CloudLine<'a> {
    #[serde(borrow, default, rename = "textPayload")]
    text_payload: Option<Cow<'a, str>>,
    #[serde(borrow, default, rename = "jsonPayload")]
    json_payload: Option<Payload<'a>>,
    #[serde(borrow, default)]
    properties: Option<Payload<'a>>,
    #[serde(borrow, default, alias = "time")]
    timestamp: Option<Cow<'a, str>>,
}

/// The inner object of `jsonPayload` or Azure's `properties`.
#[derive(Deserialize)]
struct Payload<'a> {
    #[serde(borrow, default)]
    message: Option<Cow<'a, str>>,
    #[serde(borrow, default, rename = "errorLevel")]
    error_level: Option<Cow<'a, str>>,
    #[serde(default, rename = "processId")]
    process_id: Option<i64>,
}

/// Unwrap a block of cloud JSON lines into stderr lines.
fn unwrap_cloud(block: &[u8], stats: &mut ReadStats, out: &mut Vec<u8>) -> u64 {
    let mut lines = 0u64;
    for raw in block.split(|&b| b == b'\n') {
        if raw.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        lines += 1;
        let Ok(l) = serde_json::from_slice::<CloudLine<'_>>(raw) else {
            stats.unexplained(raw);
            continue;
        };
        let payload = l.json_payload.as_ref().or(l.properties.as_ref());
        let text = l
            .text_payload
            .as_deref()
            .or_else(|| payload.and_then(|p| p.message.as_deref()));
        let Some(text) = text.filter(|t| !t.trim().is_empty()) else {
            stats.other_entries += 1;
            continue;
        };
        let text = text.trim_end_matches(['\n', '\r']);
        if parse_timestamp(text.as_bytes()).is_none() {
            let ts = l
                .timestamp
                .as_deref()
                .and_then(|t| iso_timestamp(t.as_bytes()))
                .map_or(0, |(t, _)| t);
            let pid = payload
                .and_then(|p| p.process_id)
                .map_or_else(|| "0".to_string(), |p| p.to_string());
            head(out, ts, pid.as_bytes());
            if let Some(level) = payload.and_then(|p| p.error_level.as_deref()) {
                if super::prefix::split_level(text.as_bytes()).is_none() {
                    out.extend_from_slice(level.as_bytes());
                    out.extend_from_slice(b":  ");
                }
            }
        }
        // Continuation lines keep (or get) their leading TAB.
        for (i, part) in text.split('\n').enumerate() {
            if i > 0 {
                out.push(b'\n');
                if !part.starts_with(['\t', ' ']) {
                    out.push(b'\t');
                }
            }
            out.extend_from_slice(part.trim_end_matches('\r').as_bytes());
        }
        out.push(b'\n');
    }
    lines
}

/// Unwrap `block` into stderr lines (appended to `out`); returns the envelope lines read.
/// Lines that are not of the wrapper's format are counted in `stats` as not explained.
pub fn unwrap(w: Wrapper, block: &[u8], stats: &mut ReadStats, out: &mut Vec<u8>) -> u64 {
    match w {
        Wrapper::Syslog => unwrap_syslog(block, stats, out),
        Wrapper::Cloud => unwrap_cloud(block, stats, out),
    }
}

/// Whether `line` is a syslog line (for detection).
pub fn is_syslog(line: &[u8]) -> bool {
    syslog_line(line, 2000, 12).is_some()
}

/// Whether `line` is a cloud JSON envelope around a log line (for detection).
pub fn is_cloud(line: &[u8]) -> bool {
    serde_json::from_slice::<CloudLine<'_>>(line).is_ok_and(|l| {
        l.text_payload.is_some()
            || l.json_payload.is_some_and(|p| p.message.is_some())
            || l.properties.is_some_and(|p| p.message.is_some())
    })
}

/// Whether a block may be cut before `line`: it starts a message (no later chunk).
pub fn starts_message(w: Wrapper, line: &[u8]) -> bool {
    match w {
        Wrapper::Cloud => true,
        Wrapper::Syslog => syslog_line(line, 2000, 12)
            .is_some_and(|l| l.seq.is_none_or(|s| s.1 <= 1) && l.text.first() != Some(&b'\t')),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unwrapped(w: Wrapper, log: &str) -> (String, ReadStats) {
        let mut stats = ReadStats::default();
        let mut out = Vec::new();
        unwrap(w, log.as_bytes(), &mut stats, &mut out);
        (String::from_utf8(out).unwrap(), stats)
    }

    #[test]
    fn bsd_syslog_with_chunks_interleaved() {
        let log = "Dec  1 01:52:07 db1 postgres[101]: [5-1] user=app,db=shop LOG:  duration: 1.5 ms  statement: SELECT a\n\
                   Dec  1 01:52:07 db1 postgres[202]: [9-1] user=app,db=shop LOG:  duration: 2.0 ms  statement: SELECT 2\n\
                   Dec  1 01:52:07 db1 postgres[101]: [5-2] #011FROM t\n\
                   Dec  1 01:52:07 db1 postgres[101]: [5-3] #011WHERE x = 'a long line cut \n\
                   Dec  1 01:52:07 db1 postgres[101]: [5-4] by syslog'\n\
                   not syslog\n";
        let (out, stats) = unwrapped(Wrapper::Syslog, log);
        let lines: Vec<&str> = out.lines().collect();
        assert!(
            lines[0]
                .ends_with("[101] user=app,db=shop LOG:  duration: 1.5 ms  statement: SELECT a"),
            "{out}"
        );
        assert!(lines[0].contains("-12-01 01:52:07.000 UTC"), "{out}");
        assert_eq!(lines[1], "\tFROM t");
        assert_eq!(lines[2], "\tWHERE x = 'a long line cut by syslog'");
        assert!(lines[3]
            .ends_with("[202] user=app,db=shop LOG:  duration: 2.0 ms  statement: SELECT 2"));
        assert_eq!(stats.skipped_lines, 1);
        assert_eq!(stats.first_unexplained.unwrap().line, "\"not syslog\"");
    }

    #[test]
    fn rfc5424_iso_and_heroku() {
        let (out, _) = unwrapped(
            Wrapper::Syslog,
            "<134>1 2024-12-03T01:52:07.250+01:00 db1 postgres 4242 - - [3-1] LOG:  duration: 1 ms  statement: SELECT 1\n\
             2024-12-03T01:52:07.123456+00:00 app[postgres.777]: [DATABASE] [9-1] sql_error_code = 00000 LOG:  duration: 2 ms  statement: SELECT 2\n\
             2024-12-03T01:52:07.5Z db1 postgres[9]: [1-1] LOG:  checkpoint starting: time\n",
        );
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(
            lines[0],
            "2024-12-03 00:52:07.250 UTC [4242] LOG:  duration: 1 ms  statement: SELECT 1"
        );
        assert_eq!(lines[1], "2024-12-03 01:52:07.123 UTC [777] sql_error_code = 00000 LOG:  duration: 2 ms  statement: SELECT 2");
        assert_eq!(
            lines[2],
            "2024-12-03 01:52:07.500 UTC [9] LOG:  checkpoint starting: time"
        );
    }

    #[test]
    fn heroku_key_value_lines_are_detected() {
        let log = "2023-01-19T22:46:49.000000+00:00 app[postgres.1234]: [DATABASE] [12-1]  sql_error_code = 00000 time_ms = \"2023-01-19 22:46:49.115 UTC\" pid=\"1234\" proc_start_time=\"2023-01-19 22:45:57 UTC\" session_id=\"63c9c7e5.4d2\" vtid=\"4/119\" tid=\"0\" log_line=\"5\" database=\"shop\" connection_source=\"127.0.0.1(38908)\" user=\"app\" application_name=\"psql\" LOG:  duration: 0.435 ms  statement: SELECT 1;\n";
        let opts = crate::workload::chunk::ScanOptions::default();
        let f = crate::workload::chunk::detect(log.as_bytes(), &opts).unwrap();
        assert!(
            f.describe()
                .starts_with("syslog (log_line_prefix 'sql_error_code = %e time_ms"),
            "{}",
            f.describe()
        );
        let mut got = Vec::new();
        crate::workload::chunk::parse_block(
            &f,
            log.as_bytes(),
            &mut ReadStats::default(),
            &mut |e| {
                got.push((
                    e.sql.into_owned(),
                    e.user.map(|u| u.into_owned()),
                    e.session.into_owned(),
                ))
            },
        );
        assert_eq!(
            got,
            vec![(
                "SELECT 1;".to_string(),
                Some("app".to_string()),
                "63c9c7e5.4d2".to_string()
            )]
        );
    }

    #[test]
    fn cloud_envelopes() {
        let log = concat!(
            r#"{"textPayload":"2024-12-03 01:52:07.123 UTC [5]: [1-1] db=shop,user=app LOG:  duration: 1.000 ms  statement: SELECT a\n\tFROM t","timestamp":"2024-12-03T01:52:07.123Z"}"#,
            "\n",
            r#"{"time":"2024-12-03T01:52:08.000Z","category":"PostgreSQLLogs","properties":{"errorLevel":"LOG","processId":77,"message":"duration: 2.000 ms  statement: SELECT 2"}}"#,
            "\n",
            r#"{"jsonPayload":{"message":"2024-12-03 01:52:09 UTC-65a1.4d-LOG:  duration: 3 ms  statement: SELECT 3"}}"#,
            "\n{\"other\":1}\n{broken\n"
        );
        let (out, stats) = unwrapped(Wrapper::Cloud, log);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines[0], "2024-12-03 01:52:07.123 UTC [5]: [1-1] db=shop,user=app LOG:  duration: 1.000 ms  statement: SELECT a");
        assert_eq!(lines[1], "\tFROM t");
        assert_eq!(
            lines[2],
            "2024-12-03 01:52:08.000 UTC [77] LOG:  duration: 2.000 ms  statement: SELECT 2"
        );
        assert_eq!(
            lines[3],
            "2024-12-03 01:52:09 UTC-65a1.4d-LOG:  duration: 3 ms  statement: SELECT 3"
        );
        assert_eq!((stats.other_entries, stats.skipped_lines), (1, 1));
    }
}
