//! `dbkit index check|advise`: index hygiene and index advice.

use super::{runtime, Ctx, DbArgs, Outcome};
use anyhow::Result;
use clap::{Args, Subcommand};

/// Arguments of `dbkit index`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  dbkit index check --url postgres://app@db/shop
  dbkit index check --scratch --schema fixtures/shop/schema.sql --format json")]
pub struct IndexArgs {
    #[command(subcommand)]
    command: IndexCommand,
}

#[derive(Debug, Subcommand)]
enum IndexCommand {
    /// Findings on existing indexes: duplicate, redundant, unused, invalid, and foreign keys
    /// without an index.
    #[command(after_help = "Example:
  dbkit index check --url postgres://app@db/shop --fail-on warning

Findings: duplicate-index, redundant-index, unused-index, invalid-index, fk-missing-index.")]
    Check {
        #[command(flatten)]
        db: DbArgs,
    },
    /// Recommend the indexes that pay for themselves across a workload, verified with
    /// hypothetical indexes (HypoPG), as safe DDL.
    #[command(after_help = "Examples:
  dbkit index advise --scratch --schema fixtures/shop/schema.sql \\
      --seed fixtures/shop/seed.sql --workload fixtures/shop/workload.sql
  dbkit index advise --url postgres://app@db/shop --workload postgresql.log \\
      --max-indexes 5
  dbkit index advise --url postgres://app@db/shop --from-pg-stat-statements
  dbkit index advise --url postgres://app@db/shop --workload q.sql --apply

Printing is the default; --apply builds the verified indexes with CREATE INDEX CONCURRENTLY, one
at a time, with lock_timeout. Findings: missing-index.")]
    Advise {
        #[command(flatten)]
        db: DbArgs,
        /// The workload: a SQL file (each statement once per occurrence) or a server log / trace.
        #[arg(
            long,
            value_name = "FILE",
            required_unless_present = "from_pg_stat_statements"
        )]
        workload: Option<String>,
        /// Take the workload from the server's pg_stat_statements (calls as weights).
        #[arg(long)]
        from_pg_stat_statements: bool,
        /// Indexes to recommend at most.
        #[arg(long, default_value_t = 10)]
        max_indexes: usize,
        /// Indexes per table at most.
        #[arg(long, default_value_t = 3)]
        max_per_table: usize,
        /// Total size of the recommendations at most, in MB.
        #[arg(long)]
        max_size_mb: Option<f64>,
        /// Build the verified indexes now (CREATE INDEX CONCURRENTLY, one at a time).
        #[arg(long)]
        apply: bool,
        /// lock_timeout for --apply.
        #[arg(long, default_value = "5s")]
        lock_timeout: String,
    },
}

/// Run `dbkit index …`.
pub fn run(args: &IndexArgs, ctx: &Ctx) -> Result<Outcome> {
    let cfg = ctx.config()?;
    match &args.command {
        IndexCommand::Advise {
            db,
            workload,
            from_pg_stat_statements: _,
            max_indexes,
            max_per_table,
            max_size_mb,
            apply,
            lock_timeout,
        } => {
            let req = dbkit::ops::index::AdviseRequest {
                target: db.request(),
                workload: workload.clone(),
                options: dbkit::ops::index::AdviseOptions {
                    max_indexes: *max_indexes,
                    max_per_table: *max_per_table,
                    max_size_bytes: max_size_mb.map(|m| (m * 1_048_576.0) as i64),
                    ..Default::default()
                },
                apply: apply.then(|| lock_timeout.clone()),
            };
            let progress = |a: &dbkit::db::build::Applied| {
                let err = a.error.as_deref().map(|e| format!(": {e}"));
                eprintln!(
                    "dbkit: {} {} ({:.1} s){}",
                    a.status,
                    a.ddl,
                    a.seconds,
                    err.unwrap_or_default()
                );
            };
            let mut report = runtime()?.block_on(dbkit::ops::index::run_advise(&req, &progress))?;
            let failed = report.apply_failed();
            let outcome = ctx.emit(&mut report)?;
            if failed {
                anyhow::bail!("an index build failed (see the report)");
            }
            Ok(outcome)
        }
        IndexCommand::Check { db } => {
            let mut report = runtime()?.block_on(dbkit::ops::index::check(&db.request(), &cfg))?;
            ctx.emit(&mut report)
        }
    }
}
