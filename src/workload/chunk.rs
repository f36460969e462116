//! Cutting a log into blocks that parse independently and joining what pairs across their
//! edges: a block ends only at an entry boundary (never inside a multi-line statement, before a
//! DETAIL/STATEMENT/HINT/CONTEXT line, or inside a quoted csv field), each block is read by the
//! format's reader, and the statements and durations left open at block edges are joined in
//! block order afterwards. Pure: `ops::workload` reads the input and runs the blocks on all
//! cores.

use super::prefix::{split_level, Prefix};
use super::stderr::{ChunkEdges, PendingStatement};
use super::wrapped::{self, Wrapper};
use super::{csvlog, jsonlog, stderr, trace, Event, ReadStats, WorkloadError};
use std::collections::HashMap;

/// A log format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogFormat {
    /// stderr with this prefix.
    Stderr(Prefix),
    /// csvlog.
    Csvlog,
    /// jsonlog.
    Jsonlog,
    /// Application trace JSON lines.
    Trace,
    /// stderr lines inside syslog or cloud JSON lines; the prefix is the one the unwrapped
    /// lines are read with.
    Wrapped(Wrapper, Prefix),
}

impl LogFormat {
    /// A short name for reports.
    pub fn describe(&self) -> String {
        match self {
            LogFormat::Stderr(p) => format!("stderr (log_line_prefix '{}')", p.text()),
            LogFormat::Csvlog => "csvlog".to_string(),
            LogFormat::Jsonlog => "jsonlog".to_string(),
            LogFormat::Trace => "trace JSON lines".to_string(),
            LogFormat::Wrapped(w, p) => format!(
                "{} (log_line_prefix '{}')",
                match w {
                    Wrapper::Syslog => "syslog",
                    Wrapper::Cloud => "cloud JSON",
                },
                // The head dbkit writes before the unwrapped lines is not the server's.
                p.text()
                    .strip_prefix(wrapped::HEAD)
                    .filter(|inner| !inner.is_empty())
                    .unwrap_or(p.text())
            ),
        }
    }
}

/// A log format a user can name (`--log-format`); the stderr prefix is separate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FormatName {
    /// stderr (`log_destination = stderr`), with a `log_line_prefix`.
    Stderr,
    /// csvlog.
    Csvlog,
    /// jsonlog (PostgreSQL 15+).
    Jsonlog,
    /// Application trace JSON lines.
    Trace,
    /// syslog (BSD, RFC 5424) and Heroku logplex lines.
    Syslog,
    /// Cloud JSON lines around stderr lines (Cloud Logging, Azure diagnostics).
    Cloud,
}

/// Hears how far a log scan has read (the CLI draws a line on a terminal).
pub trait ScanProgress: Send + Sync {
    /// `read` bytes of the input `path` (as stored: compressed bytes for a compressed log) of
    /// `total` when its size is known.
    fn read(&self, path: &str, read: u64, total: Option<u64>);
    /// The scan is over.
    fn done(&self) {}
}

/// How to read.
#[derive(Clone, Default)]
pub struct ScanOptions {
    /// The format; detected when `None`.
    pub format: Option<FormatName>,
    /// `log_line_prefix` for stderr logs; detected when `None`.
    pub prefix: Option<String>,
    /// Worker threads (0: all cores).
    pub threads: usize,
    /// Told after each block.
    pub progress: Option<std::sync::Arc<dyn ScanProgress>>,
    /// The share of lines (0..1) below which a log is reported as read only in part
    /// (default `MIN_EXPLAINED`).
    pub min_explained: Option<f64>,
}

/// The share of a log's lines that must be explained before dbkit warns that it read it only
/// in part.
pub const MIN_EXPLAINED: f64 = 0.9;

impl std::fmt::Debug for ScanOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScanOptions")
            .field("format", &self.format)
            .field("prefix", &self.prefix)
            .field("threads", &self.threads)
            .field("progress", &self.progress.is_some())
            .field("min_explained", &self.min_explained)
            .finish()
    }
}

/// Block size handed to a worker.
pub const BLOCK: usize = 4 << 20;
/// An entry longer than this is skipped (counted), so one huge line cannot exhaust memory.
pub const MAX_ENTRY: usize = 16 << 20;

/// Decide the format from the first bytes (and `--format`/`--prefix`).
pub fn detect(sample: &[u8], opts: &ScanOptions) -> Result<LogFormat, WorkloadError> {
    let given = || opts.prefix.as_deref().map(Prefix::parse).transpose();
    let wrapped = |w: Wrapper| -> Result<LogFormat, WorkloadError> {
        let mut out = Vec::new();
        wrapped::unwrap(w, sample, &mut ReadStats::default(), &mut out);
        let prefix = match given()? {
            // The user's prefix is the one inside the envelope.
            Some(p) if !matches!(p.text().get(..2), Some("%m" | "%t" | "%n")) => {
                Prefix::parse(&format!("{}{}", wrapped::HEAD, p.text()))?
            }
            Some(p) => p,
            None => Prefix::detect(&out)?,
        };
        Ok(LogFormat::Wrapped(w, prefix))
    };
    match opts.format {
        Some(FormatName::Csvlog) => return Ok(LogFormat::Csvlog),
        Some(FormatName::Jsonlog) => return Ok(LogFormat::Jsonlog),
        Some(FormatName::Trace) => return Ok(LogFormat::Trace),
        Some(FormatName::Syslog) => return wrapped(Wrapper::Syslog),
        Some(FormatName::Cloud) => return wrapped(Wrapper::Cloud),
        Some(FormatName::Stderr) | None => {}
    }
    if let Some(p) = given()? {
        return Ok(LogFormat::Stderr(p));
    }
    if opts.format.is_none() {
        let lines: Vec<&[u8]> = sample
            .split(|&b| b == b'\n')
            .filter(|l| !l.iter().all(|b| b.is_ascii_whitespace()))
            .take(50)
            .collect();
        let first = lines.first().copied().unwrap_or(b"");
        let t = first.trim_ascii_start();
        if t.starts_with(b"{") {
            let probe = String::from_utf8_lossy(&t[..t.len().min(4096)]);
            if probe.contains("\"error_severity\"") {
                return Ok(LogFormat::Jsonlog);
            }
            // CloudNativePG: records under `record`, among the operator's own lines.
            if lines.iter().any(|l| {
                let l = String::from_utf8_lossy(&l[..l.len().min(4096)]);
                l.contains("\"record\"") && l.contains("\"logger\"")
            }) {
                return Ok(LogFormat::Jsonlog);
            }
            if lines.iter().any(|l| wrapped::is_cloud(l)) {
                return wrapped(Wrapper::Cloud);
            }
            return Ok(LogFormat::Trace);
        }
        // csvlog: a timestamp and a comma right after it (quoted or not).
        let unquoted = t.strip_prefix(b"\"").unwrap_or(t);
        if crate::workload::parse_timestamp(unquoted)
            .is_some_and(|(_, used)| unquoted[used..].iter().take(8).any(|&b| b == b','))
        {
            return Ok(LogFormat::Csvlog);
        }
        let syslog = lines.iter().filter(|l| wrapped::is_syslog(l)).count();
        if syslog * 2 > lines.len() {
            return wrapped(Wrapper::Syslog);
        }
    }
    Ok(LogFormat::Stderr(Prefix::detect(sample)?))
}

const CONT_LEVELS: &[&str] = &[
    "DETAIL",
    "STATEMENT",
    "HINT",
    "CONTEXT",
    "QUERY",
    "LOCATION",
];

/// Where to cut `buf` so the first part ends at an entry boundary (`None`: no boundary yet).
pub fn cut_point(buf: &[u8], format: &LogFormat, eof: bool) -> Option<usize> {
    if eof {
        return Some(buf.len());
    }
    match format {
        LogFormat::Stderr(prefix) => {
            // Scan back over line starts; a boundary is a line that starts a new entry.
            let mut end = buf.len();
            while let Some(nl) = buf[..end].iter().rposition(|&b| b == b'\n') {
                let start = nl + 1;
                let line_end = buf[start..]
                    .iter()
                    .position(|&b| b == b'\n')
                    .map_or(buf.len(), |p| start + p);
                let line = &buf[start..line_end];
                let is_cont = matches!(line.first(), Some(b'\t' | b' '))
                    || match prefix.match_line(line) {
                        Some((_, at)) => {
                            split_level(&line[at..]).is_some_and(|(l, _)| CONT_LEVELS.contains(&l))
                        }
                        // An incomplete last line cannot be judged; cut before the line above.
                        None => line_end == buf.len(),
                    };
                if !is_cont && start > 0 {
                    return Some(start);
                }
                end = nl;
            }
            None
        }
        LogFormat::Csvlog => {
            // Forward: the last newline outside quotes (the block starts at a record boundary).
            let mut quoted = false;
            let mut last = None;
            for (i, &b) in buf.iter().enumerate() {
                match b {
                    b'"' => quoted = !quoted,
                    b'\n' if !quoted => last = Some(i + 1),
                    _ => {}
                }
            }
            last
        }
        LogFormat::Jsonlog | LogFormat::Trace | LogFormat::Wrapped(Wrapper::Cloud, _) => {
            buf.iter().rposition(|&b| b == b'\n').map(|p| p + 1)
        }
        LogFormat::Wrapped(w, _) => {
            // Before a line that starts a message, leaving the last (maybe partial) line.
            let mut end = buf.iter().rposition(|&b| b == b'\n')?;
            while let Some(nl) = buf[..end].iter().rposition(|&b| b == b'\n') {
                if wrapped::starts_message(*w, &buf[nl + 1..end]) {
                    return Some(nl + 1);
                }
                end = nl;
            }
            None
        }
    }
}

/// Parse one block with the format's reader.
pub fn parse_block(
    format: &LogFormat,
    block: &[u8],
    stats: &mut ReadStats,
    sink: &mut dyn FnMut(Event<'_>),
) -> ChunkEdges {
    match format {
        LogFormat::Stderr(p) => stderr::read_chunk(p, block, stats, sink),
        LogFormat::Csvlog => csvlog::read_chunk(block, stats, sink),
        LogFormat::Jsonlog => jsonlog::read_chunk(block, stats, sink),
        LogFormat::Trace => {
            trace::read_chunk(block, stats, sink);
            ChunkEdges::default()
        }
        LogFormat::Wrapped(w, p) => {
            let mut outer = ReadStats::default();
            let mut lines = Vec::with_capacity(block.len() + block.len() / 4);
            let read = wrapped::unwrap(*w, block, &mut outer, &mut lines);
            let mut inner = ReadStats::default();
            let edges = stderr::read_chunk(p, &lines, &mut inner, sink);
            outer.lines = read;
            outer.bytes = block.len() as u64;
            outer.other_entries += inner.other_entries;
            outer.events += inner.events;
            outer.skipped_lines = (outer.skipped_lines + inner.skipped_lines).min(read);
            if outer.first_unexplained.is_none() {
                outer.first_unexplained = inner.first_unexplained;
            }
            stats.add(&outer);
            edges
        }
    }
}

/// Join what block edges left open, in block order: a statement at the end of one block and
/// its duration at the start of a later one become one event; statements never completed are
/// events without a duration; a duration with no statement before it is counted as another
/// entry. Each event goes to `add` with the block number of its statement.
pub fn join_edges(
    mut edges: Vec<(u64, ChunkEdges)>,
    stats: &mut ReadStats,
    add: &mut dyn FnMut(u64, &Event<'_>),
) {
    edges.sort_by_key(|(seq, _)| *seq);
    let mut pending: HashMap<String, (u64, PendingStatement)> = HashMap::new();
    for (seq, e) in edges {
        for (session, dur) in &e.head_durations {
            match pending.remove(session) {
                Some((s, p)) => add(s, &p.to_event(Some(*dur))),
                None => stats.other_entries += 1,
            }
        }
        for session in &e.touched {
            if let Some((s, p)) = pending.remove(session) {
                add(s, &p.to_event(None));
            }
        }
        for p in e.tail_statements {
            if let Some((s, old)) = pending.insert(p.session.clone(), (seq, p)) {
                add(s, &old.to_event(None));
            }
        }
    }
    // In block order, so the result does not depend on the map's iteration order.
    let mut rest: Vec<(u64, PendingStatement)> = pending.into_values().collect();
    rest.sort_by_key(|(s, _)| *s);
    for (s, p) in rest {
        add(s, &p.to_event(None));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_are_told_apart_from_their_first_lines() {
        let d = |s: &str| {
            detect(s.as_bytes(), &ScanOptions::default())
                .unwrap()
                .describe()
        };
        // csvlog with the timestamp quoted (as some exporters write it) or not.
        assert_eq!(
            d("\"2024-03-04 10:00:00.123 UTC\",\"app\",\"shop\",77\n"),
            "csvlog"
        );
        assert_eq!(
            d("2024-03-04 10:00:00.123 UTC,\"app\",\"shop\",77\n"),
            "csvlog"
        );
        assert_eq!(
            d("{\"timestamp\":\"x\",\"error_severity\":\"LOG\"}\n"),
            "jsonlog"
        );
        assert_eq!(
            d("{\"level\":\"info\",\"logger\":\"setup\",\"msg\":\"start\"}\n{\"logger\":\"postgres\",\"record\":{\"error_severity\":\"LOG\"}}\n"),
            "jsonlog"
        );
        assert_eq!(
            d("{\"ts\": 1, \"sql\": \"SELECT 1\"}\n"),
            "trace JSON lines"
        );
        assert_eq!(
            d("{\"textPayload\":\"2024-03-04 10:00:00.123 UTC [5] LOG:  duration: 1 ms  statement: SELECT 1\"}\n"),
            "cloud JSON (log_line_prefix '%m [%p] ')"
        );
        assert_eq!(
            d("Mar  4 10:00:00 db postgres[5]: [1-1] user=a,db=b,app=c,client=d LOG:  duration: 1 ms  statement: SELECT 1\n"),
            "syslog (log_line_prefix 'user=%u,db=%d,app=%a,client=%h ')"
        );
        // A stderr line whose prefix looks like syslog's `[pid]: ` is not syslog.
        assert_eq!(
            d("2024-03-04 10:00:00 EST [5]: [1-1] user=a,db=b,app=c,client=d LOG:  x\n"),
            "stderr (log_line_prefix '%t [%p]: [%l-1] user=%u,db=%d,app=%a,client=%h ')"
        );
    }

    #[test]
    fn cuts_never_split_an_entry() {
        let p = Prefix::parse("%m [%p] %q%u@%d ").unwrap();
        let f = LogFormat::Stderr(p);
        let t = "2024-03-04 10:00:00.123 UTC";
        let log = format!(
            "{t} [1] a@b LOG:  duration: 1 ms  statement: SELECT 1\n{t} [2] a@b ERROR:  x\n{t} [2] a@b STATEMENT:  SELECT 2\n\tFROM t\n{t} [3] a@b LOG:  dur"
        );
        let cut = cut_point(log.as_bytes(), &f, false).unwrap();
        assert!(
            log[cut..].starts_with(&format!("{t} [3] a@b LOG")),
            "the partial line is carried"
        );
        let log = format!("{t} [1] a@b LOG:  duration: 1 ms  statement: SELECT 1\n{t} [2] a@b ERROR:  x\n{t} [2] a@b STATEMENT:  SELECT 2\n\tFROM t\n\tWHE");
        let cut = cut_point(log.as_bytes(), &f, false).unwrap();
        assert!(
            log[cut..].starts_with(&format!("{t} [2] a@b ERROR")),
            "{}",
            &log[cut..]
        );
        assert_eq!(
            cut_point(b"{\"a\":1}\n{\"b\"", &LogFormat::Trace, false),
            Some(8)
        );
        assert_eq!(
            cut_point(b"1,\"a\nb\",c\n2,\"x", &LogFormat::Csvlog, false),
            Some(10)
        );
    }
}
