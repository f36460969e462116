//! Query-log events and their readers: PostgreSQL stderr logs with any `log_line_prefix`
//! ([`prefix`], `stderr`), csvlog and jsonlog (`csvlog`, `jsonlog`, CloudNativePG's too),
//! syslog, Heroku and cloud JSON envelopes around stderr lines ([`wrapped`]), application trace
//! JSON lines (`trace`). Readers take bytes and call a sink per event, borrowing the SQL where
//! they can, so a log of any size streams through without being held in memory.

pub(crate) mod chunk;
pub(crate) mod csvlog;
pub(crate) mod jsonlog;
pub mod pgss;
pub mod prefix;
pub(crate) mod stderr;
pub(crate) mod trace;
pub mod wrapped;

use std::borrow::Cow;

/// Errors of the workload readers.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WorkloadError {
    /// The log's format could not be recognised.
    #[error("{0}")]
    UnknownFormat(String),
    /// A `--prefix` that cannot be used.
    #[error("log_line_prefix '{prefix}': {message}")]
    BadPrefix {
        /// The prefix.
        prefix: String,
        /// What is wrong.
        message: String,
    },
}

/// What kind of event a log entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    /// A statement that ran (with or without a duration).
    Query,
    /// A statement that failed (ERROR/FATAL with its STATEMENT).
    Error,
    /// Any other log entry (a connection, a checkpoint, a lock wait, an error without its
    /// statement…): `error` holds its message (continuation lines included), `level`,
    /// `sqlstate` and `detail` what else the log said, `sql` the statement when logged.
    Entry,
}

/// One query (or failed query) seen in a log or trace.
#[derive(Debug, Clone, PartialEq)]
pub struct Event<'a> {
    /// Query or error.
    pub kind: EventKind,
    /// Milliseconds since the Unix epoch (0 when unknown).
    pub ts_ms: i64,
    /// Duration, when logged.
    pub duration_ms: Option<f64>,
    /// The SQL text.
    pub sql: Cow<'a, str>,
    /// Bind parameters (`$1 = '5', $2 = 'x'`) of an extended-protocol execute.
    pub params: Option<Cow<'a, str>>,
    /// Session scope: pid, session id or trace session.
    pub session: Cow<'a, str>,
    /// Trace id, when the source is a trace.
    pub trace: Option<Cow<'a, str>>,
    /// User name.
    pub user: Option<Cow<'a, str>>,
    /// Database name.
    pub database: Option<Cow<'a, str>>,
    /// Application name.
    pub application: Option<Cow<'a, str>>,
    /// The error message, for errors; the message, for other entries.
    pub error: Option<Cow<'a, str>>,
    /// The severity (`LOG`, `ERROR`, `FATAL`…), for errors and other entries.
    pub level: Option<Cow<'a, str>>,
    /// The SQLSTATE, when the log has it (csvlog, jsonlog, `%e`).
    pub sqlstate: Option<Cow<'a, str>>,
    /// The DETAIL line.
    pub detail: Option<Cow<'a, str>>,
}

impl<'a> Event<'a> {
    /// A query event with only the essentials set.
    pub fn query(
        ts_ms: i64,
        duration_ms: Option<f64>,
        sql: Cow<'a, str>,
        session: Cow<'a, str>,
    ) -> Self {
        Event {
            kind: EventKind::Query,
            ts_ms,
            duration_ms,
            sql,
            params: None,
            session,
            trace: None,
            user: None,
            database: None,
            application: None,
            error: None,
            level: None,
            sqlstate: None,
            detail: None,
        }
    }
}

/// The first line a reader could not explain: where it was and what it said.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Unexplained {
    /// The block of the input it was in (blocks are numbered in input order).
    #[serde(skip)]
    pub block: u64,
    /// The line, printable (escaped, cut to 200 characters).
    pub line: String,
}

/// Counters of what a reader saw and could not use.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ReadStats {
    /// Lines read.
    pub lines: u64,
    /// Bytes read.
    pub bytes: u64,
    /// Lines that matched no entry (unknown prefix, garbage, cut lines).
    pub skipped_lines: u64,
    /// Log entries that were not queries (connections, checkpoints…).
    pub other_entries: u64,
    /// Queries and failed statements read.
    #[serde(default)]
    pub events: u64,
    /// The first line that matched no entry.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_unexplained: Option<Unexplained>,
}

/// Each non-blank line of `bytes` read as a JSON `T`, counted in `stats` (bytes, lines, and the
/// lines that are not a `T` as skipped), handed to `f` with the counters.
pub(crate) fn json_lines<'a, T: serde::Deserialize<'a>>(
    bytes: &'a [u8],
    stats: &mut ReadStats,
    mut f: impl FnMut(T, &mut ReadStats),
) {
    stats.bytes += bytes.len() as u64;
    for raw in bytes.split(|&b| b == b'\n') {
        if raw.iter().all(|b| b.is_ascii_whitespace()) {
            continue;
        }
        stats.lines += 1;
        match serde_json::from_slice::<T>(raw) {
            Ok(line) => f(line, stats),
            Err(_) => stats.unexplained(raw),
        }
    }
}

impl ReadStats {
    /// Add another reader's counters.
    pub fn add(&mut self, o: &ReadStats) {
        self.lines += o.lines;
        self.bytes += o.bytes;
        self.skipped_lines += o.skipped_lines;
        self.other_entries += o.other_entries;
        self.events += o.events;
        if let Some(u) = &o.first_unexplained {
            if self
                .first_unexplained
                .as_ref()
                .is_none_or(|mine| u.block < mine.block)
            {
                self.first_unexplained = Some(u.clone());
            }
        }
    }

    /// Count a line that matched no entry (keeping the first one seen, printable).
    pub fn unexplained(&mut self, line: &[u8]) {
        self.skipped_lines += 1;
        if self.first_unexplained.is_none() {
            self.first_unexplained = Some(Unexplained {
                block: 0,
                line: crate::view::printable_cut(line, 200),
            });
        }
    }

    /// The share of lines explained (1 for an empty input).
    pub fn explained_share(&self) -> f64 {
        if self.lines == 0 {
            1.0
        } else {
            (self.lines.saturating_sub(self.skipped_lines)) as f64 / self.lines as f64
        }
    }
}

pub use crate::calendar::days_from_civil;

/// The offset from UTC of a zone as PostgreSQL writes it after a timestamp, minutes: numeric
/// (`+03`, `-0530`, `+05:30`) or a common unambiguous abbreviation (`UTC`, `CEST`, `EST`,
/// `JST`…). `None` for a name not known (the time is then read as it stands).
pub fn zone_offset_min(zone: &[u8]) -> Option<i64> {
    if let [sign @ (b'+' | b'-'), rest @ ..] = zone {
        let digits: Vec<i64> = rest
            .iter()
            .filter(|b| b.is_ascii_digit())
            .map(|b| (b - b'0') as i64)
            .collect();
        let (h, m) = match digits[..] {
            [h] => (h, 0),
            [h1, h2] => (h1 * 10 + h2, 0),
            [h1, h2, m1, m2] => (h1 * 10 + h2, m1 * 10 + m2),
            _ => return None,
        };
        let v = h * 60 + m;
        return Some(if *sign == b'-' { -v } else { v });
    }
    Some(match zone {
        b"UTC" | b"GMT" | b"Z" | b"UCT" | b"WET" => 0,
        b"BST" | b"WEST" | b"CET" | b"MET" => 60,
        b"CEST" | b"MEST" | b"EET" | b"SAST" => 120,
        b"EEST" | b"MSK" => 180,
        b"EST" => -300,
        b"EDT" => -240,
        b"CST" => -360,
        b"CDT" => -300,
        b"MST" => -420,
        b"MDT" => -360,
        b"PST" => -480,
        b"PDT" => -420,
        b"AKST" => -540,
        b"AKDT" => -480,
        b"HST" => -600,
        b"JST" | b"KST" => 540,
        b"AEST" => 600,
        b"AEDT" => 660,
        b"NZST" => 720,
        b"NZDT" => 780,
        _ => return None,
    })
}

/// [`parse_timestamp`], then a zone after a space (`UTC`, `+03`, `CEST`): the time in UTC when
/// the zone is known ([`zone_offset_min`]), as written otherwise. Returns the value and the
/// bytes used (the zone included).
pub fn parse_timestamp_utc(s: &[u8]) -> Option<(i64, usize)> {
    let (t, used) = parse_timestamp(s)?;
    let Some(zone) = s[used..].strip_prefix(b" ") else {
        return Some((t, used));
    };
    let n = zone
        .iter()
        .position(|b| !(b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b':')))
        .unwrap_or(zone.len());
    match zone_offset_min(&zone[..n]) {
        Some(off) => Some((t - off * 60_000, used + 1 + n)),
        None => Some((t, used)),
    }
}

/// Parse `YYYY-MM-DD HH:MM:SS[.fff]` (a zone after it is not read: see [`parse_timestamp_utc`])
/// to epoch milliseconds. Returns the value and the bytes used.
pub fn parse_timestamp(s: &[u8]) -> Option<(i64, usize)> {
    if s.len() < 19
        || s[4] != b'-'
        || s[7] != b'-'
        || (s[10] != b' ' && s[10] != b'T')
        || s[13] != b':'
        || s[16] != b':'
    {
        return None;
    }
    let num = |a: usize, b: usize| -> Option<i64> {
        let mut v = 0i64;
        for &c in &s[a..b] {
            if !c.is_ascii_digit() {
                return None;
            }
            v = v * 10 + (c - b'0') as i64;
        }
        Some(v)
    };
    let (y, mo, d) = (num(0, 4)?, num(5, 7)?, num(8, 10)?);
    let (h, mi, se) = (num(11, 13)?, num(14, 16)?, num(17, 19)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) {
        return None;
    }
    let mut ms = 0i64;
    let mut used = 19;
    if s.len() > 20 && s[19] == b'.' {
        let mut i = 20;
        let mut scale = 100;
        while i < s.len() && s[i].is_ascii_digit() {
            if scale >= 1 {
                ms += (s[i] - b'0') as i64 * scale;
                scale /= 10;
            }
            i += 1;
        }
        used = i;
    }
    let days = days_from_civil(y, mo as u32, d as u32);
    Some(((((days * 24 + h) * 60 + mi) * 60 + se) * 1000 + ms, used))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps() {
        let (t, used) = parse_timestamp(b"2024-03-04 10:00:00.123 UTC").unwrap();
        assert_eq!(used, 23);
        assert_eq!(t, 1_709_546_400_123);
        assert_eq!(parse_timestamp(b"1970-01-01 00:00:01").unwrap().0, 1000);
        assert!(parse_timestamp(b"2024-13-04 10:00:00").is_none());
        assert!(parse_timestamp(b"garbage").is_none());
        let utc = parse_timestamp_utc(b"2024-03-04 10:00:00.123 UTC")
            .unwrap()
            .0;
        assert_eq!(utc, 1_709_546_400_123);
        for (zone, hours_ahead) in [
            ("CET", 1.0),
            ("CEST", 2.0),
            ("EST", -5.0),
            ("EDT", -4.0),
            ("CST", -6.0),
            ("+03", 3.0),
            ("-0530", -5.5),
            ("+05:30", 5.5),
        ] {
            let s = format!("2024-03-04 10:00:00.123 {zone}");
            let t = parse_timestamp_utc(s.as_bytes()).unwrap().0;
            assert_eq!(utc - t, (hours_ahead * 3_600_000.0) as i64, "{zone}");
        }
        // A zone not known is read as written.
        assert_eq!(
            parse_timestamp_utc(b"2024-03-04 10:00:00.123 XYZT")
                .unwrap()
                .0,
            utc
        );
    }
}
