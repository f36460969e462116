//! `dbkit workload top|summary|merge|n-plus-one`: server logs and traces.

use super::status::StatusLine;
use super::{runtime, Ctx, DbArgs, Outcome};
use anyhow::Result;
use clap::{Args, Subcommand, ValueEnum};
use dbkit::analyze::workload::bursts::BurstOptions;
use dbkit::analyze::workload::top::SortBy;
use dbkit::ops::workload::{
    FormatName, ScanOptions, ScanProgress, Summarized, TopRequest, TopSource,
};
use dbkit::view::{fmt_ms, human_bytes};
use std::io::IsTerminal;

/// Arguments of `dbkit workload`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  dbkit workload top fixtures/logs/app.log
  dbkit workload top fixtures/logs/app.log.zst --sort p95 --limit 10
  dbkit workload summary fixtures/logs/real/syslog-bsd.log")]
pub struct WorkloadArgs {
    #[command(subcommand)]
    command: WorkloadCommand,
}

#[derive(Debug, Args)]
struct Input {
    /// Log files (stderr, csvlog, jsonlog, syslog, cloud JSON, trace JSON lines; gzip, zstd,
    /// bzip2 or xz too); `-` is stdin.
    #[arg(required = true)]
    logs: Vec<String>,
    #[command(flatten)]
    common: InputOptions,
}

#[derive(Debug, Args)]
struct InputOptions {
    /// The log's format (detected when omitted).
    #[arg(long, value_enum)]
    log_format: Option<LogFormatArg>,
    /// log_line_prefix of a stderr log, as in postgresql.conf (detected when omitted).
    #[arg(long)]
    prefix: Option<String>,
    /// Worker threads (default: all cores).
    #[arg(long, default_value_t = 0)]
    threads: usize,
    /// Warn when less than this share of a log's lines is understood, percent.
    #[arg(long, value_name = "PCT", default_value_t = 90.0,
          value_parser = percent)]
    min_explained: f64,
}

/// A percentage from 0 to 100.
fn percent(s: &str) -> Result<f64, String> {
    match s.trim_end_matches('%').parse::<f64>() {
        Ok(v) if (0.0..=100.0).contains(&v) => Ok(v),
        _ => Err(format!("'{s}' is not a percentage from 0 to 100")),
    }
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
enum LogFormatArg {
    Stderr,
    Csvlog,
    Jsonlog,
    /// syslog (BSD, RFC 5424) and Heroku logplex lines.
    Syslog,
    /// Cloud JSON lines around stderr lines (Cloud Logging, Azure diagnostics).
    Cloud,
    Trace,
    /// A pg_stat_statements export (CSV with a header, or a JSON array), for `top`.
    Pgss,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum MergeReport {
    /// The `workload summary` report.
    Summary,
    /// The `workload top` report.
    Top,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum SortArg {
    Total,
    Mean,
    Calls,
    P95,
    Errors,
}

#[derive(Debug, Subcommand)]
enum WorkloadCommand {
    /// The query shapes that cost the most: calls, total/mean/percentiles, errors, examples.
    #[command(after_help = "Examples:
  dbkit workload top fixtures/logs/app.log --sort total --limit 20
  dbkit workload top fixtures/logs/app.log.zst --format json | jq '.shapes[0]'
  dbkit workload top --url postgres://app@db/shop   # live pg_stat_statements
  dbkit workload top fixtures/logs/pgss.csv --log-format pgss   # an export

Logs may be gzip, zstd, bzip2 or xz compressed. A pg_stat_statements export is CSV with a header
or a JSON array (--log-format pgss). --save-state FILE also writes the aggregate for `workload
merge`.")]
    Top {
        /// Log files (stderr, csvlog, jsonlog, syslog, cloud JSON, trace JSON lines,
        /// pg_stat_statements exports; gzip, zstd, bzip2 or xz too); `-` is stdin. None with --url/--scratch: pg_stat_statements live.
        #[arg(required_unless_present_any = ["url", "scratch"])]
        logs: Vec<String>,
        #[command(flatten)]
        input: InputOptions,
        #[command(flatten)]
        db: DbArgs,
        /// Sort order.
        #[arg(long, value_enum, default_value_t = SortArg::Total)]
        sort: SortArg,
        /// Shapes to list.
        #[arg(long, default_value_t = 20)]
        limit: usize,
        /// Also write the aggregate to FILE, to merge with other servers' (`workload merge`).
        #[arg(long, value_name = "FILE")]
        save_state: Option<std::path::PathBuf>,
    },
    /// pgBadger's whole report in one pass: top shapes, errors by SQLSTATE, lock waits,
    /// temporary files, checkpoints, autovacuum, connections and sessions, load per minute.
    #[command(after_help = "Examples:
  dbkit workload summary fixtures/logs/real/debian.log
  dbkit workload summary fixtures/logs/real/csvlog.csv --format json \\
      | jq .errors
  dbkit workload summary fixtures/logs/real/rds.log \\
      --save-state /tmp/dbkit-rds.state.gz

Sections need the server to log them: log_min_duration_statement (queries), log_lock_waits,
log_temp_files = 0, log_checkpoints, log_autovacuum_min_duration = 0, log_connections,
log_disconnections.")]
    Summary {
        #[command(flatten)]
        input: Input,
        /// Rows per section.
        #[arg(long, default_value_t = 20)]
        limit: usize,
        /// Also write the aggregate to FILE, to merge with other servers' (`workload merge`).
        #[arg(long, value_name = "FILE")]
        save_state: Option<std::path::PathBuf>,
    },
    /// Merge the states saved by `top`/`summary --save-state` on many servers into one report,
    /// the same as if their logs had been read together.
    #[command(after_help = "Examples:
  # on each server (from cron), then centrally:
  dbkit workload summary fixtures/logs/real/debian.log \\
      --save-state /tmp/dbkit-db1.state.gz
  dbkit workload summary fixtures/logs/real/rds.log \\
      --save-state /tmp/dbkit-db2.state.gz
  dbkit workload merge /tmp/dbkit-db1.state.gz /tmp/dbkit-db2.state.gz
  dbkit workload merge /tmp/dbkit-db*.state.gz --report top --sort p95 \\
      --format json")]
    Merge {
        /// Saved states (`--save-state` files).
        #[arg(required = true)]
        states: Vec<String>,
        /// Which report.
        #[arg(long, value_enum, default_value_t = MergeReport::Summary)]
        report: MergeReport,
        /// Sort order of the top report.
        #[arg(long, value_enum, default_value_t = SortArg::Total)]
        sort: SortArg,
        /// Rows per section (shapes for the top report).
        #[arg(long, default_value_t = 20)]
        limit: usize,
        /// Also write the merged state to FILE (merging is associative: states of states merge
        /// like the originals).
        #[arg(long, value_name = "FILE")]
        save_state: Option<std::path::PathBuf>,
    },
    /// Find N+1 loops (one shape repeated with different values in a session or trace) and
    /// redundant repeats, with the batched rewrite.
    #[command(
        name = "n-plus-one",
        after_help = "Examples:
  dbkit workload n-plus-one fixtures/logs/app.log
  dbkit workload n-plus-one fixtures/logs/traces.jsonl --log-format trace \\
      --min-repeats 10

Findings: n-plus-one, redundant-query (warnings; --fail-on warning makes them fail CI)."
    )]
    NPlusOne {
        #[command(flatten)]
        input: Input,
        /// A gap longer than this ends a burst, ms (default: dbkit.toml [rules.workload]
        /// window_ms, 1000).
        #[arg(long, value_name = "MS")]
        window: Option<i64>,
        /// Repeats that make a burst (default: [rules.workload] min_repeats, 5).
        #[arg(long, value_name = "N")]
        min_repeats: Option<usize>,
        /// Other shapes allowed to interleave between two repeats (default: [rules.workload]
        /// tolerance, 1).
        #[arg(long, value_name = "N")]
        tolerance: Option<usize>,
    },
}

/// How much of a log was read, how fast, and how long is left, on the status line.
struct ReadLine {
    start: std::time::Instant,
    line: StatusLine,
}

impl ScanProgress for ReadLine {
    fn read(&self, path: &str, read: u64, total: Option<u64>) {
        let secs = self.start.elapsed().as_secs_f64().max(1e-3);
        let rate = read as f64 / secs;
        let of = match total {
            Some(t) if t > 0 => format!(
                " of {} ({:.0}%), {} left",
                human_bytes(t as f64),
                read as f64 * 100.0 / t as f64,
                fmt_ms(t.saturating_sub(read) as f64 / rate.max(1.0) * 1000.0)
            ),
            _ => String::new(),
        };
        self.line.draw(&format!(
            "reading {path}: {}{of}, {}/s",
            human_bytes(read as f64),
            human_bytes(rate)
        ));
    }
    fn done(&self) {
        self.line.clear();
    }
}

fn scan_options(i: &InputOptions) -> ScanOptions {
    let progress: Option<std::sync::Arc<dyn ScanProgress>> =
        std::io::stderr().is_terminal().then(|| {
            std::sync::Arc::new(ReadLine {
                start: std::time::Instant::now(),
                line: StatusLine::on_stderr(),
            }) as std::sync::Arc<dyn ScanProgress>
        });
    ScanOptions {
        progress,
        format: i.log_format.and_then(|f| match f {
            LogFormatArg::Stderr => Some(FormatName::Stderr),
            LogFormatArg::Csvlog => Some(FormatName::Csvlog),
            LogFormatArg::Jsonlog => Some(FormatName::Jsonlog),
            LogFormatArg::Trace => Some(FormatName::Trace),
            LogFormatArg::Syslog => Some(FormatName::Syslog),
            LogFormatArg::Cloud => Some(FormatName::Cloud),
            LogFormatArg::Pgss => None,
        }),
        prefix: i.prefix.clone(),
        threads: i.threads,
        min_explained: Some(i.min_explained / 100.0),
    }
}

fn sort_by(s: SortArg) -> SortBy {
    match s {
        SortArg::Total => SortBy::Total,
        SortArg::Mean => SortBy::Mean,
        SortArg::Calls => SortBy::Calls,
        SortArg::P95 => SortBy::P95,
        SortArg::Errors => SortBy::Errors,
    }
}

/// Run `dbkit workload …`.
pub fn run(args: &WorkloadArgs, ctx: &Ctx) -> Result<Outcome> {
    match &args.command {
        WorkloadCommand::Top {
            logs,
            input,
            db: _,
            sort,
            limit,
            save_state: Some(state),
        } => {
            if logs.is_empty() || input.log_format == Some(LogFormatArg::Pgss) {
                anyhow::bail!("--save-state needs logs to read (not a live server or a pg_stat_statements export)");
            }
            let s = Summarized::read(logs, &scan_options(input))?;
            s.save(state)?;
            ctx.emit(&mut s.top_report(sort_by(*sort), *limit))
        }
        WorkloadCommand::Summary {
            input,
            limit,
            save_state,
        } => {
            if input.common.log_format == Some(LogFormatArg::Pgss) {
                anyhow::bail!("a pg_stat_statements export has no log entries: use workload top --log-format pgss");
            }
            let s = Summarized::read(&input.logs, &scan_options(&input.common))?;
            if let Some(state) = save_state {
                s.save(state)?;
            }
            ctx.emit(&mut s.report(*limit))
        }
        WorkloadCommand::Merge {
            states,
            report,
            sort,
            limit,
            save_state,
        } => {
            let s = Summarized::merge(states)?;
            if let Some(state) = save_state {
                s.save(state)?;
            }
            match report {
                MergeReport::Summary => ctx.emit(&mut s.report(*limit)),
                MergeReport::Top => ctx.emit(&mut s.top_report(sort_by(*sort), *limit)),
            }
        }
        WorkloadCommand::Top {
            logs,
            input,
            db,
            sort,
            limit,
            save_state: None,
        } => {
            let source = if logs.is_empty() {
                TopSource::Live(db.request())
            } else if input.log_format == Some(LogFormatArg::Pgss) {
                TopSource::PgssExports(logs.clone())
            } else {
                TopSource::Logs(logs.clone(), scan_options(input))
            };
            let req = TopRequest {
                source,
                sort: sort_by(*sort),
                limit: *limit,
            };
            ctx.emit(&mut runtime()?.block_on(dbkit::ops::workload::top(&req))?)
        }
        WorkloadCommand::NPlusOne {
            input,
            window,
            min_repeats,
            tolerance,
        } => {
            if input.common.log_format == Some(LogFormatArg::Pgss) {
                anyhow::bail!("pg_stat_statements has no sessions or order: n-plus-one needs a log or a trace");
            }
            let t = ctx.config()?.rules.workload;
            let opts = BurstOptions {
                window_ms: window.unwrap_or(t.window_ms),
                tolerance: tolerance.unwrap_or(t.tolerance),
                min_repeats: min_repeats.unwrap_or(t.min_repeats).max(2),
            };
            ctx.emit(&mut dbkit::ops::workload::n_plus_one(
                &input.logs,
                &scan_options(&input.common),
                &opts,
            )?)
        }
    }
}
