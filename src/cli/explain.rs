//! `dbkit explain`: EXPLAIN (ANALYZE, BUFFERS) safely, inside a rolled-back transaction.

use super::status::StatusLine;
use super::{runtime, Ctx, DbArgs, Outcome};
use anyhow::{bail, Context, Result};
use clap::Args;
use dbkit::db::explain::ExplainOptions;
use dbkit::ops::explain::{explain, ExplainRequest, Progress, SqlSource};
use std::path::PathBuf;
use std::time::Duration;

/// Arguments of `dbkit explain`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  dbkit explain --scratch --schema fixtures/shop/schema.sql \\
      --seed fixtures/shop/seed.sql --workload fixtures/shop/workload.sql
  dbkit explain \"SELECT * FROM orders WHERE user_id = 42\" \\
      --url postgres://app@db/shop
  dbkit explain \"SELECT * FROM orders WHERE id = \\$1\" --param 7 \\
      --url postgres://app@db/shop
  dbkit explain --file fixtures/shop/workload.sql --no-analyze --save plans/ \\
      --scratch --schema fixtures/shop/schema.sql

Every statement runs inside a transaction that is always rolled back, with statement_timeout set.
Statements whose effects a rollback does not undo (setval, dblink, pg_stat_reset, slots…) are only
planned unless --allow-side-effects. Exit codes: 0 ok, 1 findings at or above --fail-on, 2 a
statement failed or the connection was lost.")]
pub struct ExplainArgs {
    /// The SQL to explain (or use --file / --workload).
    sql: Option<String>,
    /// A file with the statement(s) to explain.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["sql", "workload"])]
    file: Option<PathBuf>,
    /// A workload file: explain every statement, rank them by time.
    #[arg(long, value_name = "FILE", conflicts_with = "sql")]
    workload: Option<PathBuf>,
    #[command(flatten)]
    db: DbArgs,
    /// Plan without executing (no ANALYZE).
    #[arg(long)]
    no_analyze: bool,
    /// statement_timeout per statement: 30s, 500ms, 2m (a bare number is seconds).
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    timeout: Duration,
    /// A value for $1, $2… (repeat in order).
    #[arg(long = "param", value_name = "VALUE")]
    params: Vec<String>,
    /// Connections used at once for a workload.
    #[arg(long, default_value_t = 2)]
    concurrency: usize,
    /// Write each plan's JSON into this directory.
    #[arg(long, value_name = "DIR")]
    save: Option<PathBuf>,
    /// Execute statements whose effects survive the rollback (setval, dblink, pg_stat_reset,
    /// pg_terminate_backend, replication slots…) under ANALYZE; without it they are only
    /// planned.
    #[arg(long)]
    allow_side_effects: bool,
}

pub(super) fn parse_duration(s: &str) -> Result<Duration, String> {
    dbkit::calendar::parse_duration(s)
}

/// A progress bar of the statements explained, on the status line.
struct Bar {
    line: StatusLine,
}

impl Progress for Bar {
    fn update(&self, done: usize, total: usize, label: &str) {
        if total == 0 {
            return;
        }
        let width = 30;
        let filled = done.min(total) * width / total;
        self.line.draw(&format!(
            "[{}{}] {done}/{total} {label}",
            "#".repeat(filled),
            " ".repeat(width - filled)
        ));
    }
    fn finish(&self) {
        self.line.clear();
    }
}

/// Run `dbkit explain`.
pub fn run(args: &ExplainArgs, ctx: &Ctx) -> Result<Outcome> {
    let cfg = ctx.config()?;
    let source = match (&args.sql, &args.file, &args.workload) {
        (Some(s), _, _) => SqlSource::Text(s.clone()),
        (None, Some(f), _) | (None, None, Some(f)) => SqlSource::File(f.clone()),
        (None, None, None) => bail!("give the SQL to explain, --file FILE or --workload FILE"),
    };
    let req = ExplainRequest {
        target: args.db.request(),
        source,
        options: ExplainOptions {
            analyze: !args.no_analyze,
            timeout: args.timeout,
            params: args.params.clone(),
            allow_side_effects: args.allow_side_effects,
        },
        concurrency: args.concurrency,
        save: args.save.clone(),
    };
    let bar = Bar {
        line: StatusLine::on_stderr(),
    };
    let mut report = runtime()?
        .block_on(explain(&req, &cfg, &bar))
        .context("explain")?;
    let outcome = ctx.emit(&mut report)?;
    // A statement that failed on the server is a runtime error: exit 2 after the report.
    let failed = report.failed_lines();
    if !failed.is_empty() {
        let lines: Vec<String> = failed.iter().map(|l| format!("line {l}")).collect();
        bail!(
            "{} statement(s) failed ({}); their errors are in the report",
            failed.len(),
            lines.join(", ")
        );
    }
    Ok(outcome)
}

#[cfg(test)]
mod tests {
    use super::parse_duration;
    use std::time::Duration;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("5"), Ok(Duration::from_secs(5)));
        assert!(parse_duration("5h").is_err());
        assert!(parse_duration("fast").is_err());
    }
}
