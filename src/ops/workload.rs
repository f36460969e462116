//! Streaming a log through the readers on all cores: the input (a file, gzip or zstd, or stdin)
//! is read in blocks, each block cut at an entry boundary (never inside a multi-line statement,
//! a DETAIL/STATEMENT line or a quoted csv field), the blocks are parsed in parallel into
//! per-thread aggregates, and what pairs across block edges is joined in order afterwards.
//! Memory stays at a few blocks per thread, whatever the log's size.

use crate::workload::stderr::ChunkEdges;
use crate::workload::{Event, ReadStats};
use std::io::Read;
use std::sync::{mpsc, Arc, Mutex};

use crate::workload::chunk::{cut_point, join_edges, parse_block};
pub use crate::workload::chunk::{
    detect, FormatName, LogFormat, ScanOptions, ScanProgress, BLOCK, MAX_ENTRY,
};

/// Open an input: `-` is stdin; gzip, zstd, bzip2 and xz are recognised by their magic bytes.
pub fn open(path: &str) -> Result<Box<dyn Read + Send>, crate::Error> {
    Ok(open_counted(path)?.0)
}

/// A reader that counts the bytes read through it.
struct Counted<R> {
    inner: R,
    count: Arc<std::sync::atomic::AtomicU64>,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count
            .fetch_add(n as u64, std::sync::atomic::Ordering::Relaxed);
        Ok(n)
    }
}

/// An opened input: the decoded stream, the count of bytes read from it as stored, and its
/// stored size when known.
type Counting = (
    Box<dyn Read + Send>,
    Arc<std::sync::atomic::AtomicU64>,
    Option<u64>,
);

/// [`open`], with the count of bytes read from the file as stored and its size when known.
fn open_counted(path: &str) -> Result<Counting, crate::Error> {
    let io = |source| crate::Error::Io {
        path: path.to_string(),
        source,
    };
    let count = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let (raw, total): (Box<dyn Read + Send>, Option<u64>) = if path == "-" {
        (Box::new(std::io::stdin()), None)
    } else {
        let f = std::fs::File::open(path).map_err(io)?;
        let len = f.metadata().ok().map(|m| m.len());
        (Box::new(f), len)
    };
    let counted = Box::new(Counted {
        inner: raw,
        count: Arc::clone(&count),
    });
    Ok((decode(counted, path)?, count, total))
}

/// The decoded stream of an input: gzip, zstd, bzip2 and xz recognised by their magic bytes
/// (several concatenated streams read as one), a leading byte-order mark dropped. `path` names
/// the input in errors.
pub fn decode(
    mut raw: Box<dyn Read + Send>,
    path: &str,
) -> Result<Box<dyn Read + Send>, crate::Error> {
    let io = |source| crate::Error::Io {
        path: path.to_string(),
        source,
    };
    let mut magic = [0u8; 6];
    let mut n = 0;
    while n < 6 {
        match raw.read(&mut magic[n..]).map_err(io)? {
            0 => break,
            k => n += k,
        }
    }
    let head = std::io::Cursor::new(magic[..n].to_vec());
    let chained: Box<dyn Read + Send> = Box::new(head.chain(raw));
    if n >= 2 && magic[..2] == [0x1f, 0x8b] {
        return skip_bom(Box::new(flate2::read::MultiGzDecoder::new(chained))).map_err(io);
    }
    if n >= 4 && magic[..4] == [0x28, 0xb5, 0x2f, 0xfd] {
        let dec =
            ruzstd::decoding::StreamingDecoder::new(chained).map_err(|e| crate::Error::Io {
                path: path.to_string(),
                source: std::io::Error::new(std::io::ErrorKind::InvalidData, e.to_string()),
            })?;
        return skip_bom(Box::new(dec)).map_err(io);
    }
    if n >= 4 && magic[..3] == *b"BZh" && (b'1'..=b'9').contains(&magic[3]) {
        return skip_bom(Box::new(bzip2::read::MultiBzDecoder::new(chained))).map_err(io);
    }
    if n == 6 && magic == [0xfd, b'7', b'z', b'X', b'Z', 0] {
        return skip_bom(Box::new(lzma_rust2::XzReader::new(chained, true))).map_err(io);
    }
    skip_bom(chained).map_err(io)
}

/// The stream without a leading UTF-8 byte-order mark.
fn skip_bom(mut r: Box<dyn Read + Send>) -> std::io::Result<Box<dyn Read + Send>> {
    let mut head = [0u8; 3];
    let mut n = 0;
    while n < 3 {
        match r.read(&mut head[n..])? {
            0 => break,
            k => n += k,
        }
    }
    let keep = if head[..n] == *crate::sql::span::BOM {
        0
    } else {
        n
    };
    Ok(Box::new(
        std::io::Cursor::new(head[..keep].to_vec()).chain(r),
    ))
}

/// The result of a scan: one aggregate per worker (and one for the edges), counters, format.
pub struct Scanned<A> {
    /// Aggregates to merge.
    pub parts: Vec<A>,
    /// What was read.
    pub stats: ReadStats,
    /// The format of the (first) input.
    pub format: LogFormat,
    /// Inputs read only in part, for stderr.
    pub warnings: Vec<String>,
}

/// Whether `path`, read as `format`, was explained well enough: an error when it gave no
/// statement and most of its lines were not understood (a wrong prefix or format), a warning
/// when fewer than `opts.min_explained` of its lines were explained or it logged no statement.
fn coverage(
    path: &str,
    format: &LogFormat,
    s: &ReadStats,
    opts: &ScanOptions,
) -> Result<Option<String>, crate::Error> {
    let min = opts
        .min_explained
        .unwrap_or(crate::workload::chunk::MIN_EXPLAINED);
    let share = s.explained_share();
    if s.lines == 0 {
        return Ok(None);
    }
    let hint = |what: &str| {
        let first = s
            .first_unexplained
            .as_ref()
            .map(|u| format!("; first line not understood: {}", u.line))
            .unwrap_or_default();
        let how = if opts.prefix.is_none() && opts.format.is_none() {
            "detected"
        } else {
            "as given"
        };
        format!(
            "{what}only {:.1}% of {} lines explained, read as {} ({how}){first}. Pass the server's log_line_prefix with --prefix '…' (SHOW log_line_prefix), or the format with --log-format stderr|csvlog|jsonlog|syslog|cloud|trace",
            share * 100.0,
            crate::view::fmt_n(s.lines as f64),
            format.describe(),
        )
    };
    if s.events == 0 && share < min {
        return Err(crate::Error::Input {
            path: path.to_string(),
            message: hint("no statement found: "),
        });
    }
    if share < min {
        return Ok(Some(format!("{path}: {}", hint(""))));
    }
    if s.events == 0 {
        return Ok(Some(format!(
            "{path}: {} entries read as {}, none of them a statement: the server logged no statements (log_min_duration_statement, log_statement) or this is not the format it was written in",
            crate::view::fmt_n(s.other_entries as f64),
            format.describe()
        )));
    }
    Ok(None)
}

/// Read every input and feed each event to `add` on an aggregate made by `new`, in parallel.
/// Events of one session reach `add` in log order only within a block; aggregates must not rely
/// on order across blocks (use block numbers carried by `add`'s second argument when they do).
pub fn scan<A, N, F>(
    inputs: &[String],
    opts: &ScanOptions,
    new: N,
    add: F,
) -> Result<Scanned<A>, crate::Error>
where
    A: Send,
    N: Fn() -> A + Sync,
    F: Fn(&mut A, u64, &Event<'_>) + Sync,
{
    if inputs.is_empty() {
        return Err(crate::Error::Input {
            path: "(no input)".to_string(),
            message: "no log or trace to read".to_string(),
        });
    }
    let threads = if opts.threads == 0 {
        std::thread::available_parallelism().map_or(2, |n| n.get())
    } else {
        opts.threads
    };
    let mut parts = Vec::new();
    let mut stats = ReadStats::default();
    let mut first_format = None;
    let mut warnings = Vec::new();
    let mut seq_base = 0u64;
    let report = |path: &str, count: &std::sync::atomic::AtomicU64, total: Option<u64>| {
        if let Some(p) = &opts.progress {
            p.read(
                path,
                count.load(std::sync::atomic::Ordering::Relaxed),
                total,
            );
        }
    };
    for path in inputs {
        let (mut input, count, total) = open_counted(path)?;
        let io = |source| crate::Error::Io {
            path: path.clone(),
            source,
        };
        // Read a first block for detection.
        let mut buf = Vec::with_capacity(BLOCK + 65536);
        fill(&mut input, &mut buf, BLOCK).map_err(io)?;
        let format = detect(&buf[..buf.len().min(1 << 20)], opts)?;
        let (tx, rx) = mpsc::sync_channel::<(u64, Vec<u8>)>(threads * 2);
        let rx = Arc::new(Mutex::new(rx));
        let edges: Mutex<Vec<(u64, ChunkEdges)>> = Mutex::new(Vec::new());
        let worker_stats: Mutex<ReadStats> = Mutex::new(ReadStats::default());
        let result: Result<Vec<A>, crate::Error> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..threads)
                .map(|_| {
                    let rx = Arc::clone(&rx);
                    let (new, add, format, edges, worker_stats) =
                        (&new, &add, &format, &edges, &worker_stats);
                    s.spawn(move || {
                        let mut agg = new();
                        let mut local = ReadStats::default();
                        let mut here_events = 0u64;
                        loop {
                            let msg = rx.lock().ok().and_then(|r| r.recv().ok());
                            let Some((seq, block)) = msg else { break };
                            let mut here = ReadStats::default();
                            let e = parse_block(format, &block, &mut here, &mut |ev| {
                                if ev.kind != crate::workload::EventKind::Entry {
                                    here_events += 1;
                                }
                                add(&mut agg, seq, &ev)
                            });
                            here.events += std::mem::take(&mut here_events);
                            if let Some(u) = here.first_unexplained.as_mut() {
                                u.block = seq;
                            }
                            local.add(&here);
                            if let Ok(mut v) = edges.lock() {
                                v.push((seq, e));
                            }
                        }
                        if let Ok(mut w) = worker_stats.lock() {
                            w.add(&local);
                        }
                        agg
                    })
                })
                .collect();
            // Producer: cut blocks at entry boundaries and hand them out.
            let mut seq = seq_base;
            let mut eof = false;
            let mut skipped = 0u64;
            loop {
                if !eof && buf.len() < BLOCK {
                    let before = buf.len();
                    fill(&mut input, &mut buf, BLOCK).map_err(io)?;
                    eof = buf.len() == before;
                }
                if buf.is_empty() {
                    break;
                }
                match cut_point(&buf, &format, eof) {
                    Some(cut) => {
                        let rest = buf.split_off(cut);
                        let block = std::mem::replace(&mut buf, rest);
                        if tx.send((seq, block)).is_err() {
                            break;
                        }
                        seq += 1;
                        report(path, &count, total);
                    }
                    None if buf.len() > MAX_ENTRY => {
                        // One entry larger than MAX_ENTRY: drop it through its end of line.
                        skipped += 1;
                        loop {
                            if let Some(nl) = buf.iter().position(|&b| b == b'\n') {
                                buf.drain(..=nl);
                                break;
                            }
                            buf.clear();
                            fill(&mut input, &mut buf, BLOCK).map_err(io)?;
                            if buf.is_empty() {
                                eof = true;
                                break;
                            }
                        }
                    }
                    None => {
                        if eof {
                            break;
                        }
                        // Need more bytes for a boundary: read on.
                        let before = buf.len();
                        fill(&mut input, &mut buf, before + BLOCK).map_err(io)?;
                        eof = buf.len() == before;
                    }
                }
            }
            drop(tx);
            seq_base = seq;
            // A worker that panicked lost its counts: the scan fails rather than report less.
            let mut aggs: Vec<A> = Vec::new();
            for h in handles {
                aggs.push(h.join().map_err(|e| {
                    let why = e
                        .downcast_ref::<&str>()
                        .map(|s| s.to_string())
                        .or_else(|| e.downcast_ref::<String>().cloned())
                        .unwrap_or_else(|| "unknown panic".to_string());
                    crate::Error::Input {
                        path: path.clone(),
                        message: format!("a reader thread failed ({why}); nothing is reported rather than partial counts"),
                    }
                })?);
            }
            if let Ok(mut w) = worker_stats.lock() {
                w.skipped_lines += skipped;
                w.lines += skipped;
            }
            Ok(aggs)
        });
        let mut aggs = result?;
        let mut here = worker_stats
            .into_inner()
            .map_err(|_| crate::Error::Internal("a reader thread panicked".into()))?;
        // Join statements and durations across block edges, in order.
        let edges = edges
            .into_inner()
            .map_err(|_| crate::Error::Internal("a reader thread panicked".into()))?;
        let mut joined = new();
        let mut joined_events = 0u64;
        join_edges(edges, &mut here, &mut |seq, e| {
            joined_events += 1;
            add(&mut joined, seq, e)
        });
        here.events += joined_events;
        warnings.extend(coverage(path, &format, &here, opts)?);
        stats.add(&here);
        aggs.push(joined);
        parts.extend(aggs);
        first_format.get_or_insert(format);
    }
    if let Some(p) = &opts.progress {
        p.done();
    }
    Ok(Scanned {
        parts,
        stats,
        warnings,
        format: first_format
            .ok_or_else(|| crate::Error::Internal("no input was read".to_string()))?,
    })
}

/// Read until `buf` holds `want` bytes or the input ends.
fn fill(input: &mut Box<dyn Read + Send>, buf: &mut Vec<u8>, want: usize) -> std::io::Result<()> {
    let mut chunk = [0u8; 64 * 1024];
    while buf.len() < want {
        match input.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// An aggregate a scan builds per worker and merges at the end.
pub trait Aggregate: Default + Send {
    /// Feed one event (`seq` is the block number, for aggregates that need log order).
    fn add(&mut self, seq: u64, e: &Event<'_>);
    /// Fold another worker's aggregate into this one.
    fn merge(&mut self, other: Self);
}

impl Aggregate for crate::analyze::workload::top::Top {
    fn add(&mut self, _seq: u64, e: &Event<'_>) {
        crate::analyze::workload::top::Top::add(self, e)
    }
    fn merge(&mut self, other: Self) {
        crate::analyze::workload::top::Top::merge(self, other)
    }
}

impl Aggregate for crate::analyze::workload::summary::Summary {
    fn add(&mut self, _seq: u64, e: &Event<'_>) {
        crate::analyze::workload::summary::Summary::add(self, e)
    }
    fn merge(&mut self, other: Self) {
        crate::analyze::workload::summary::Summary::merge(self, other)
    }
}

impl Aggregate for crate::analyze::workload::bursts::Collector {
    fn add(&mut self, seq: u64, e: &Event<'_>) {
        crate::analyze::workload::bursts::Collector::add(self, seq, e)
    }
    fn merge(&mut self, other: Self) {
        crate::analyze::workload::bursts::Collector::merge(self, other)
    }
}

/// A scan's aggregates merged into one.
pub struct Merged<A> {
    /// The aggregate.
    pub all: A,
    /// What was read.
    pub stats: ReadStats,
    /// The format of the (first) input.
    pub format: LogFormat,
    /// Inputs read only in part, for stderr.
    pub warnings: Vec<String>,
}

/// [`scan`] into one aggregate: the workers' parts merged.
pub fn scan_merged<A: Aggregate>(
    inputs: &[String],
    opts: &ScanOptions,
) -> Result<Merged<A>, crate::Error> {
    let scanned = scan(inputs, opts, A::default, |a, seq, e| a.add(seq, e))?;
    let mut all = A::default();
    for p in scanned.parts {
        all.merge(p);
    }
    Ok(Merged {
        all,
        stats: scanned.stats,
        format: scanned.format,
        warnings: scanned.warnings,
    })
}

/// Where `dbkit workload top` reads.
#[derive(Debug, Clone)]
pub enum TopSource {
    /// Server logs or traces (gzip or zstd too; `-` is stdin), read with these options.
    Logs(Vec<String>, ScanOptions),
    /// pg_stat_statements exports (CSV with a header, or JSON arrays).
    PgssExports(Vec<String>),
    /// The live pg_stat_statements view of a database.
    Live(crate::db::TargetRequest),
}

/// What `dbkit workload top` asks for.
#[derive(Debug, Clone)]
pub struct TopRequest {
    /// The input.
    pub source: TopSource,
    /// Order of the shapes.
    pub sort: crate::analyze::workload::top::SortBy,
    /// Shapes to list.
    pub limit: usize,
}

/// `dbkit workload top`: the costliest query shapes of logs, exports or a live server.
pub async fn top(
    req: &TopRequest,
) -> Result<crate::analyze::workload::top::TopReport, crate::Error> {
    use crate::analyze::workload::top::{Top, TopReport};
    let pgss = |rows: Vec<crate::workload::pgss::PgssRow>| {
        let mut top = Top::default();
        rows.iter().for_each(|r| top.add_pgss(r));
        top
    };
    let mut warnings = Vec::new();
    let (top, format, stats, names) = match &req.source {
        TopSource::Logs(logs, opts) => {
            let m = scan_merged::<Top>(logs, opts)?;
            warnings = m.warnings;
            (m.all, m.format.describe(), m.stats, logs.clone())
        }
        TopSource::PgssExports(files) => (
            pgss(read_pgss_exports(files)?),
            "pg_stat_statements".to_string(),
            ReadStats::default(),
            files.clone(),
        ),
        TopSource::Live(target) => {
            let target = target.open().await?;
            let rows = crate::db::pg_stat_statements(&target.spec).await?;
            (
                pgss(rows),
                "pg_stat_statements".to_string(),
                ReadStats::default(),
                vec!["pg_stat_statements".to_string()],
            )
        }
    };
    let mut report = TopReport::build(&names, format, stats, &top, req.sort, req.limit);
    report.warnings = warnings;
    Ok(report)
}

/// A summary read from logs, or merged from saved states.
pub struct Summarized {
    /// The inputs.
    pub inputs: Vec<String>,
    /// Their format.
    pub format: String,
    /// What was read.
    pub read: ReadStats,
    /// The aggregate.
    pub summary: crate::analyze::workload::summary::Summary,
    /// Inputs read only in part.
    pub warnings: Vec<String>,
}

impl Summarized {
    /// Read `logs` in one streaming pass into every section.
    pub fn read(logs: &[String], opts: &ScanOptions) -> Result<Self, crate::Error> {
        let m = scan_merged::<crate::analyze::workload::summary::Summary>(logs, opts)?;
        Ok(Summarized {
            inputs: logs.to_vec(),
            format: m.format.describe(),
            read: m.stats,
            summary: m.all,
            warnings: m.warnings,
        })
    }

    /// Merge saved states (any number, any order: the result is the same).
    pub fn merge(states: &[String]) -> Result<Self, crate::Error> {
        use crate::analyze::workload::summary_report::{SavedState, STATE_KIND, STATE_VERSION};
        if states.is_empty() {
            return Err(crate::Error::Input {
                path: "(no input)".to_string(),
                message: "no saved state to merge".to_string(),
            });
        }
        let mut out = Summarized {
            inputs: Vec::new(),
            format: String::new(),
            read: ReadStats::default(),
            summary: Default::default(),
            warnings: Vec::new(),
        };
        let mut formats = std::collections::BTreeSet::new();
        for path in states {
            let bad = |message: String| crate::Error::Input {
                path: path.clone(),
                message,
            };
            let s: SavedState = serde_json::from_reader(std::io::BufReader::new(open(path)?))
                .map_err(|e| {
                    bad(format!(
                        "not a dbkit workload state (written by --save-state): {e}"
                    ))
                })?;
            if s.kind != STATE_KIND || s.version != STATE_VERSION {
                return Err(bad(format!(
                    "a {} version {} state; this dbkit reads {STATE_KIND} version {STATE_VERSION}",
                    s.kind, s.version
                )));
            }
            out.inputs.extend(s.inputs);
            formats.insert(s.format);
            out.read.add(&s.read);
            out.summary.merge(s.summary);
        }
        out.inputs.sort();
        out.format = formats.into_iter().collect::<Vec<_>>().join(", ");
        Ok(out)
    }

    /// Write the state to `path` (gzip-compressed JSON; `workload merge` reads it back).
    pub fn save(&self, path: &std::path::Path) -> Result<(), crate::Error> {
        use crate::analyze::workload::summary_report::{STATE_KIND, STATE_VERSION};
        use std::io::Write;
        let io = |source| crate::Error::Io {
            path: path.display().to_string(),
            source,
        };
        // Serialized by reference: the summary is not copied.
        #[derive(serde::Serialize)]
        struct Ref<'a> {
            kind: &'a str,
            version: u32,
            inputs: &'a [String],
            format: &'a str,
            read: &'a ReadStats,
            summary: &'a crate::analyze::workload::summary::Summary,
        }
        let tmp = path.with_extension("tmp");
        let file = std::fs::File::create(&tmp).map_err(io)?;
        let mut gz = flate2::write::GzEncoder::new(
            std::io::BufWriter::new(file),
            flate2::Compression::fast(),
        );
        serde_json::to_writer(
            &mut gz,
            &Ref {
                kind: STATE_KIND,
                version: STATE_VERSION,
                inputs: &self.inputs,
                format: &self.format,
                read: &self.read,
                summary: &self.summary,
            },
        )
        .map_err(|e| io(std::io::Error::other(e)))?;
        gz.finish().and_then(|mut w| w.flush()).map_err(io)?;
        std::fs::rename(&tmp, path).map_err(io)
    }

    /// The summary report, `limit` rows per section.
    pub fn report(&self, limit: usize) -> crate::analyze::workload::summary_report::SummaryReport {
        let mut r = crate::analyze::workload::summary_report::SummaryReport::build(
            &self.inputs,
            self.format.clone(),
            self.read.clone(),
            &self.summary,
            limit,
        );
        r.warnings = self.warnings.clone();
        r
    }

    /// The `top` report of the same aggregate.
    pub fn top_report(
        &self,
        sort: crate::analyze::workload::top::SortBy,
        limit: usize,
    ) -> crate::analyze::workload::top::TopReport {
        let mut r = crate::analyze::workload::top::TopReport::build(
            &self.inputs,
            self.format.clone(),
            self.read.clone(),
            &self.summary.top,
            sort,
            limit,
        );
        r.warnings = self.warnings.clone();
        r
    }
}

/// `dbkit workload n-plus-one`: the logs read in session order, bursts of one shape found
/// under `opts`, and the N+1 and redundant-query patterns with their rewrites.
pub fn n_plus_one(
    logs: &[String],
    scan: &ScanOptions,
    opts: &crate::analyze::workload::bursts::BurstOptions,
) -> Result<crate::analyze::workload::n_plus_one::NPlusOneReport, crate::Error> {
    use crate::analyze::workload::bursts::{bursts, Collector};
    let Merged {
        mut all,
        stats,
        format,
        warnings,
    } = scan_merged::<Collector>(logs, scan)?;
    let found = bursts(&mut all, opts);
    let mut report = crate::analyze::workload::n_plus_one::NPlusOneReport::build(
        logs,
        format.describe(),
        stats,
        &all,
        found,
    );
    report.warnings = warnings;
    Ok(report)
}

/// The rows of pg_stat_statements exports (CSV with a header, or JSON arrays; gzip or zstd
/// too; `-` is stdin), in order. An unreadable file is an error naming it.
pub fn read_pgss_exports(
    paths: &[String],
) -> Result<Vec<crate::workload::pgss::PgssRow>, crate::Error> {
    let mut all = Vec::new();
    for path in paths {
        let mut bytes = Vec::new();
        open(path)?
            .read_to_end(&mut bytes)
            .map_err(|source| crate::Error::Io {
                path: path.clone(),
                source,
            })?;
        all.extend(crate::workload::pgss::parse_export(&bytes).map_err(|e| {
            crate::Error::Input {
                path: path.clone(),
                message: e.to_string(),
            }
        })?);
    }
    Ok(all)
}

/// The weighted queries of a workload file, whatever it holds: a `.sql` file is SQL (each
/// distinct shape weighted by its repeats); otherwise a server log or a trace gives its shapes
/// with their calls and slowest real example, a pg_stat_statements export (CSV with a header,
/// or a JSON array) its rows, and anything else is read as SQL. A file recognised as a log that
/// then fails to read is an error, never a silent fallback.
pub fn load_queries(path: &str) -> Result<Vec<crate::advise::WorkloadQuery>, crate::Error> {
    use crate::advise::WorkloadQuery;
    let read_sql = || Ok(WorkloadQuery::from_sql(&crate::ops::read_text(path)?));
    if path.ends_with(".sql") {
        return read_sql();
    }
    // Sniff the decoded head (gzip, zstd and a BOM handled as for logs).
    let mut head = Vec::new();
    fill(&mut open(path)?, &mut head, 1 << 20).map_err(|source| crate::Error::Io {
        path: path.to_string(),
        source,
    })?;
    if detect(&head, &ScanOptions::default()).is_ok() {
        let m = scan_merged::<crate::analyze::workload::top::Top>(
            &[path.to_string()],
            &ScanOptions::default(),
        )?;
        for w in &m.warnings {
            tracing::warn!("{w}");
        }
        let (rows, ..) = m
            .all
            .rows(crate::analyze::workload::top::SortBy::Total, usize::MAX);
        return Ok(rows
            .into_iter()
            .filter_map(|r| {
                r.example.map(|e| WorkloadQuery {
                    fingerprint: r.fingerprint,
                    sql: e.sql,
                    calls: r.calls.max(1),
                })
            })
            .collect());
    }
    if crate::workload::pgss::looks_like_export(&head) {
        return Ok(WorkloadQuery::from_pgss(read_pgss_exports(&[
            path.to_string()
        ])?));
    }
    read_sql()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Default)]
    struct Heard {
        reads: Mutex<Vec<(String, u64, Option<u64>)>>,
        done: std::sync::atomic::AtomicBool,
    }

    impl ScanProgress for Heard {
        fn read(&self, path: &str, read: u64, total: Option<u64>) {
            self.reads
                .lock()
                .unwrap()
                .push((path.to_string(), read, total));
        }
        fn done(&self) {
            self.done.store(true, std::sync::atomic::Ordering::Relaxed);
        }
    }

    #[test]
    fn a_scan_says_how_far_it_read_in_stored_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let t = "2024-03-04 10:00:00.123 UTC";
        let mut log = String::new();
        // Over two blocks, so progress is heard more than once.
        let mut i = 0;
        while log.len() < BLOCK * 2 + 1000 {
            log.push_str(&format!(
                "{t} [1] a@b LOG:  duration: 1.5 ms  statement: SELECT * FROM t WHERE a = {i}\n"
            ));
            i += 1;
        }
        let path = dir.path().join("pg.log");
        std::fs::write(&path, &log).unwrap();
        let heard = Arc::new(Heard::default());
        let opts = ScanOptions {
            progress: Some(heard.clone() as Arc<dyn ScanProgress>),
            threads: 2,
            ..Default::default()
        };
        let p = path.display().to_string();
        let stats =
            scan_merged::<crate::analyze::workload::top::Top>(std::slice::from_ref(&p), &opts)
                .unwrap()
                .stats;
        assert_eq!(stats.lines as usize, i);
        let reads = heard.reads.lock().unwrap();
        assert!(reads.len() >= 2, "{reads:?}");
        let last = reads.last().unwrap();
        assert_eq!(last, &(p, log.len() as u64, Some(log.len() as u64)));
        assert!(reads.windows(2).all(|w| w[0].1 <= w[1].1));
        assert!(heard.done.load(std::sync::atomic::Ordering::Relaxed));
    }

    #[test]
    fn workload_files_are_read_whatever_they_hold() {
        let dir = tempfile::tempdir().unwrap();
        let w = |name: &str, text: &str| {
            let p = dir.path().join(name);
            std::fs::write(&p, text).unwrap();
            p.display().to_string()
        };
        let sql = w(
            "q.sql",
            "SELECT 1 FROM t WHERE a = 1;\nSELECT 1 FROM t WHERE a = 2;\nSELECT 2;\n",
        );
        let q = load_queries(&sql).unwrap();
        assert_eq!(q.iter().map(|q| q.calls).collect::<Vec<_>>(), vec![2, 1]);
        // SQL without the extension is still SQL.
        let txt = w("q.txt", "SELECT 1 FROM t WHERE a = 1;\n");
        assert_eq!(load_queries(&txt).unwrap().len(), 1);
        let t = "2024-03-04 10:00:00.123 UTC";
        let log = w(
            "pg.log",
            &format!(
                "{t} [1] a@b LOG:  duration: 1.5 ms  statement: SELECT * FROM t WHERE a = 1\n\
                 {t} [1] a@b LOG:  duration: 2.5 ms  statement: SELECT * FROM t WHERE a = 2\n\
                 {t} [1] a@b LOG:  duration: 0.5 ms  statement: SELECT now()\n"
            ),
        );
        let q = load_queries(&log).unwrap();
        assert_eq!(q.len(), 2, "{q:?}");
        assert_eq!(q[0].calls, 2);
        assert!(q[0].sql.contains("a = 2"), "the slowest example: {q:?}");
        let csv = w(
            "pgss.csv",
            "query,calls,total_exec_time\n\"SELECT * FROM t WHERE a = $1\",40,12.5\n",
        );
        let q = load_queries(&csv).unwrap();
        assert_eq!((q.len(), q[0].calls), (1, 40));
        let json = w("pgss.json", "[{\"query\": \"SELECT 1\", \"calls\": 3}]");
        assert_eq!(load_queries(&json).unwrap()[0].calls, 3);
        // A broken export is an error naming the file, not SQL.
        let bad = w("bad.json", "[{\"query\": \"SELECT 1\", \"calls\": 3}");
        let e = load_queries(&bad).unwrap_err().to_string();
        assert!(e.contains("bad.json"), "{e}");
        let missing = load_queries(&dir.path().join("nope.log").display().to_string());
        assert!(missing.is_err());
    }
}
