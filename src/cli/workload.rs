//! `dbkit workload top|n-plus-one`: server logs and traces.

use super::{Ctx, Outcome};
use anyhow::Result;
use clap::{Args, Subcommand, ValueEnum};
use dbkit::analyze::workload::bursts::{bursts, BurstOptions, Collector};
use dbkit::analyze::workload::n_plus_one::NPlusOneReport;
use dbkit::analyze::workload::top::{SortBy, Top, TopReport};
use dbkit::ops::workload::{scan, ScanOptions};

/// Arguments of `dbkit workload`.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  dbkit workload top fixtures/logs/shop.log\n  dbkit workload top postgresql.csv.gz --sort p95 --limit 10"
)]
pub struct WorkloadArgs {
    #[command(subcommand)]
    command: WorkloadCommand,
}

#[derive(Debug, Args)]
struct Input {
    /// Log files (stderr, csvlog, jsonlog, trace JSON lines; gzip or zstd too); `-` is stdin.
    #[arg(required = true)]
    logs: Vec<String>,
    /// The log's format (detected when omitted).
    #[arg(long, value_enum)]
    log_format: Option<LogFormatArg>,
    /// log_line_prefix of a stderr log, as in postgresql.conf (detected when omitted).
    #[arg(long)]
    prefix: Option<String>,
    /// Worker threads (default: all cores).
    #[arg(long, default_value_t = 0)]
    threads: usize,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum LogFormatArg {
    Stderr,
    Csvlog,
    Jsonlog,
    Trace,
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
    #[command(
        after_help = "Example:\n  dbkit workload top fixtures/logs/shop.log --sort total --limit 20\n  dbkit workload top big.log.zst --format json | jq '.shapes[0]'"
    )]
    Top {
        #[command(flatten)]
        input: Input,
        /// Sort order.
        #[arg(long, value_enum, default_value_t = SortArg::Total)]
        sort: SortArg,
        /// Shapes to list.
        #[arg(long, default_value_t = 20)]
        limit: usize,
    },
    /// Find N+1 loops (one shape repeated with different values in a session or trace) and
    /// redundant repeats, with the batched rewrite.
    #[command(
        name = "n-plus-one",
        after_help = "Example:\n  dbkit workload n-plus-one fixtures/logs/shop.log\n  dbkit workload n-plus-one traces.jsonl --log-format trace --min-repeats 10\n\nFindings: n-plus-one, redundant-query (warnings; --fail-on warning makes them fail CI)."
    )]
    NPlusOne {
        #[command(flatten)]
        input: Input,
        /// A gap longer than this ends a burst (ms).
        #[arg(long, default_value_t = 1000)]
        window: i64,
        /// Repeats that make a burst.
        #[arg(long, default_value_t = 5)]
        min_repeats: usize,
        /// Other shapes allowed to interleave between two repeats.
        #[arg(long, default_value_t = 1)]
        tolerance: usize,
    },
}

fn scan_options(i: &Input) -> ScanOptions {
    ScanOptions {
        format: i.log_format.map(|f| format!("{f:?}").to_lowercase()),
        prefix: i.prefix.clone(),
        threads: i.threads,
    }
}

/// Run `dbkit workload …`.
pub fn run(args: &WorkloadArgs, ctx: &Ctx) -> Result<Outcome> {
    match &args.command {
        WorkloadCommand::Top { input, sort, limit } => {
            let scanned = scan(
                &input.logs,
                &scan_options(input),
                Top::default,
                |t, _, e| t.add(e),
            )?;
            let mut top = Top::default();
            for p in scanned.parts {
                top.merge(p);
            }
            let sort = match sort {
                SortArg::Total => SortBy::Total,
                SortArg::Mean => SortBy::Mean,
                SortArg::Calls => SortBy::Calls,
                SortArg::P95 => SortBy::P95,
                SortArg::Errors => SortBy::Errors,
            };
            ctx.emit(&TopReport::build(
                &input.logs,
                scanned.format.describe(),
                scanned.stats,
                &top,
                sort,
                *limit,
            ))
        }
        WorkloadCommand::NPlusOne {
            input,
            window,
            min_repeats,
            tolerance,
        } => {
            let scanned = scan(
                &input.logs,
                &scan_options(input),
                Collector::default,
                |c, seq, e| c.add(seq, e),
            )?;
            let mut all = Collector::default();
            for p in scanned.parts {
                all.merge(p);
            }
            let opts = BurstOptions {
                window_ms: *window,
                tolerance: *tolerance,
                min_repeats: (*min_repeats).max(2),
            };
            let found = bursts(&mut all, &opts);
            ctx.emit(&NPlusOneReport::build(
                &input.logs,
                scanned.format.describe(),
                scanned.stats,
                &all,
                found,
            ))
        }
    }
}
