//! Cutting a log into blocks that parse independently and joining what pairs across their
//! edges: a block ends only at an entry boundary (never inside a multi-line statement, before a
//! DETAIL/STATEMENT/HINT/CONTEXT line, or inside a quoted csv field), each block is read by the
//! format's reader, and the statements and durations left open at block edges are joined in
//! block order afterwards. Pure: `ops::workload` reads the input and runs the blocks on all
//! cores.

use super::prefix::{split_level, Prefix};
use super::stderr::{ChunkEdges, PendingStatement};
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
}

impl LogFormat {
    /// A short name for reports.
    pub fn describe(&self) -> String {
        match self {
            LogFormat::Stderr(p) => format!("stderr (log_line_prefix '{}')", p.text()),
            LogFormat::Csvlog => "csvlog".to_string(),
            LogFormat::Jsonlog => "jsonlog".to_string(),
            LogFormat::Trace => "trace JSON lines".to_string(),
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
}

impl std::fmt::Debug for ScanOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScanOptions")
            .field("format", &self.format)
            .field("prefix", &self.prefix)
            .field("threads", &self.threads)
            .field("progress", &self.progress.is_some())
            .finish()
    }
}

/// Block size handed to a worker.
pub const BLOCK: usize = 4 << 20;
/// An entry longer than this is skipped (counted), so one huge line cannot exhaust memory.
pub const MAX_ENTRY: usize = 16 << 20;

/// Decide the format from the first bytes (and `--format`/`--prefix`).
pub fn detect(sample: &[u8], opts: &ScanOptions) -> Result<LogFormat, WorkloadError> {
    match opts.format {
        Some(FormatName::Csvlog) => return Ok(LogFormat::Csvlog),
        Some(FormatName::Jsonlog) => return Ok(LogFormat::Jsonlog),
        Some(FormatName::Trace) => return Ok(LogFormat::Trace),
        Some(FormatName::Stderr) | None => {}
    }
    if let Some(p) = &opts.prefix {
        return Ok(LogFormat::Stderr(Prefix::parse(p)?));
    }
    if opts.format.is_none() {
        let first = sample
            .split(|&b| b == b'\n')
            .find(|l| !l.iter().all(|b| b.is_ascii_whitespace()))
            .unwrap_or(b"");
        let t = first.trim_ascii_start();
        if t.starts_with(b"{") {
            let probe = String::from_utf8_lossy(&t[..t.len().min(4096)]);
            return Ok(if probe.contains("\"error_severity\"") {
                LogFormat::Jsonlog
            } else {
                LogFormat::Trace
            });
        }
        if crate::workload::parse_timestamp(t)
            .is_some_and(|(_, used)| t[used..].iter().take(8).any(|&b| b == b','))
        {
            return Ok(LogFormat::Csvlog);
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
                let is_cont = line.first() == Some(&b'\t')
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
        LogFormat::Jsonlog | LogFormat::Trace => {
            buf.iter().rposition(|&b| b == b'\n').map(|p| p + 1)
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
