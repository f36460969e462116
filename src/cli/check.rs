//! `dbkit check`: migration safety (static rules).

use super::{Ctx, Outcome};
use anyhow::Result;
use clap::Args;

/// Arguments of `dbkit check`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  dbkit check fixtures/migrations/ok/
  dbkit check fixtures/migrations/bad/                    # exit 1
  dbkit check fixtures/migrations/ok/ --pg-version 12 --fail-on warning
  dbkit check fixtures/migrations/bad/001_blocking_index.sql \\
      --format json                                       # exit 1

Directories are read in name order; earlier files are the base of later ones (tables they create
are new and empty). Files run in one transaction unless --no-transaction, a -- dbkit:no-transaction
marker, or their own BEGIN/COMMIT. Silence a rule on a statement with -- dbkit:ignore rule-id
[reason] on the line before it, or everywhere with [rules] disabled = [...] in dbkit.toml.
Exit codes: 0 clean, 1 findings at or above --fail-on, 2 a file could not be read or split.")]
pub struct CheckArgs {
    /// Migration files or directories of .sql files.
    #[arg(required = true)]
    paths: Vec<String>,
    /// Target PostgreSQL major version (verdicts that depend on it change).
    #[arg(long)]
    pg_version: Option<u32>,
    /// Files do not run in a transaction.
    #[arg(long)]
    no_transaction: bool,
    /// Also apply the migration on a database (--scratch, or --url to a throw-away one) and
    /// report observed locks and rewrites; with --workload, plan regressions and broken queries.
    #[command(flatten)]
    db: super::DbArgs,
    /// A base schema (file or directory) to apply on the database first.
    #[arg(long, value_name = "FILE|DIR")]
    base: Vec<String>,
    /// Workload queries (a .sql file, a server log or trace, or a pg_stat_statements export) to
    /// plan before and after.
    #[arg(long, value_name = "FILE")]
    workload: Option<String>,
    /// Commit the migration on the database (default: roll back).
    #[arg(long)]
    commit: bool,
    /// Total cost increase that counts as a plan regression, percent (default: dbkit.toml
    /// [rules.plan] diff_cost_ratio, 1.2 = 20%).
    #[arg(long, value_name = "PERCENT")]
    max_cost_increase: Option<f64>,
    /// With a database: also run statements whose effects survive the rollback (setval,
    /// dblink, pg_stat_reset…); without it they are reported and not run.
    #[arg(long)]
    allow_side_effects: bool,
}

/// Run `dbkit check`.
pub fn run(args: &CheckArgs, ctx: &Ctx) -> Result<Outcome> {
    let cfg = ctx.config()?;
    if let Some(f) = cfg.check.fail_on {
        ctx.set_default_fail_on(f);
    }
    let req = dbkit::ops::check::CheckRequest {
        paths: args.paths.clone(),
        pg_version: args.pg_version,
        no_transaction: args.no_transaction,
        database: (args.db.scratch || args.db.url.is_some()).then(|| args.db.request()),
        base: args.base.clone(),
        workload: args.workload.clone(),
        commit: args.commit,
        max_cost_increase: args.max_cost_increase.map(|p| p / 100.0),
        allow_side_effects: args.allow_side_effects,
    };
    let mut report = super::runtime()?.block_on(dbkit::ops::check::run(&req, &cfg))?;
    // In GitHub Actions, annotations are the default.
    let default = if std::env::var_os("GITHUB_ACTIONS").is_some() {
        dbkit::report::Format::Github
    } else {
        dbkit::report::Format::Table
    };
    ctx.emit_as(&mut report, default)
}
