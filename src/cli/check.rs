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
  dbkit check fixtures/migrations/corpus/089_type_bigint_to_numeric_bad.sql \\
      --history fixtures/migrations/corpus/history/       # exit 1
  dbkit check fixtures/migrations/corpus/006_goose_no_tx_ok.sql --runner goose

Directories are read in name order; tables a file creates are new and empty in that file and
existing tables in the files after it (and in --history). How a file runs (--transaction auto):
its own BEGIN/COMMIT; -- dbkit:no-transaction; the runner's markers (-- +goose NO TRANSACTION,
-- migrate:up transaction:false, -- atlas:txmode none, Liquibase changesets); a statement that
cannot run in a transaction (CREATE INDEX CONCURRENTLY…) takes the file outside one; otherwise
one transaction. The report says, per file, which mode and why. Silence a rule on a statement
with -- dbkit:ignore rule-id [reason] on the line before it, or everywhere with [rules]
disabled = [...] in dbkit.toml.
Exit codes: 0 clean, 1 findings at or above --fail-on, 2 a file could not be read or split.")]
pub struct CheckArgs {
    /// Migration files or directories of .sql files.
    #[arg(required = true)]
    paths: Vec<String>,
    /// Target PostgreSQL major version (verdicts that depend on it change).
    #[arg(long)]
    pg_version: Option<u32>,
    /// How to decide whether each file runs in a transaction: auto (the runner's markers, then
    /// the statements), always, never [default: dbkit.toml [check] transaction, else auto].
    #[arg(long, value_name = "auto|always|never")]
    transaction: Option<dbkit::config::TxSetting>,
    /// The same as --transaction never.
    #[arg(long, conflicts_with = "transaction")]
    no_transaction: bool,
    /// The migration runner whose conventions apply: rails, django, flyway, liquibase, goose,
    /// dbmate, golang-migrate, sqitch, atlas, psql [default: dbkit.toml [check] runner, else
    /// recognised from each file's markers].
    #[arg(long, value_name = "RUNNER")]
    runner: Option<dbkit::config::Runner>,
    /// Migrations already applied (files or directories), read for the schema only: column
    /// types, constraints and their validity, indexes, partitioned tables.
    #[arg(long, value_name = "FILE|DIR")]
    history: Vec<String>,
    /// Also apply the migration on this database (a throw-away one: the check runs inside a
    /// transaction it rolls back) and report observed locks and rewrites; with --workload, plan
    /// regressions and broken queries. Without --url or --scratch the check is static
    /// (DATABASE_URL is not used).
    #[arg(long, value_name = "URL", conflicts_with = "scratch")]
    url: Option<String>,
    /// Also apply the migration on a throw-away local cluster and observe it.
    #[arg(long)]
    scratch: bool,
    /// The schema the migration runs against (a pg_dump --schema-only, or any DDL): read for the
    /// static rules like --history, and with --scratch loaded first.
    #[arg(long, value_name = "FILE")]
    schema: Option<std::path::PathBuf>,
    /// With --scratch: a data script to load after the schema.
    #[arg(long, value_name = "FILE", requires = "scratch")]
    seed: Option<std::path::PathBuf>,
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
        transaction: if args.no_transaction {
            Some(dbkit::config::TxSetting::Never)
        } else {
            args.transaction
        },
        runner: args.runner,
        history: args.history.clone(),
        schema: args.schema.as_ref().map(|p| p.display().to_string()),
        database: (args.scratch || args.url.is_some()).then(|| dbkit::db::TargetRequest {
            url: args.url.clone(),
            scratch: args.scratch.then(|| dbkit::db::ScratchLoad {
                schema: args.schema.clone(),
                seed: args.seed.clone(),
                port: None,
                settings: Vec::new(),
            }),
        }),
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
