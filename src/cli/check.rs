//! `dbkit check`: migration safety (static rules).

use super::{read_text, Ctx, Outcome};
use anyhow::{bail, Context, Result};
use clap::Args;
use dbkit::analyze::migration::report::CheckReport;

/// Arguments of `dbkit check`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  dbkit check fixtures/migrations/bad/
  dbkit check migrations/ --pg-version 12 --fail-on warning
  dbkit check db/migrate/0042_add_index.sql --format json

Directories are read in name order; earlier files are the base of later ones (tables they create
are new and empty). Files run in one transaction unless --no-transaction, a -- dbkit:no-transaction
marker, or their own BEGIN/COMMIT. Silence a rule on a statement with -- dbkit:ignore rule-id
[reason] on the line before it, or everywhere with [check] exclude = [...] in dbkit.toml.
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
    /// Workload queries (a .sql file, or a pg_stat_statements export) to plan before and after.
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

fn collect(paths: &[String]) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for p in paths {
        let meta = std::fs::metadata(p).with_context(|| p.clone())?;
        if meta.is_dir() {
            let mut files: Vec<String> = std::fs::read_dir(p)
                .with_context(|| p.clone())?
                .filter_map(|e| e.ok())
                .map(|e| e.path())
                .filter(|x| x.extension().is_some_and(|e| e == "sql"))
                .map(|x| x.display().to_string())
                .collect();
            files.sort();
            out.extend(files);
        } else {
            out.push(p.clone());
        }
    }
    Ok(out)
}

/// Run `dbkit check`.
pub fn run(args: &CheckArgs, ctx: &Ctx) -> Result<Outcome> {
    let cfg = ctx.config()?;
    let pg = args.pg_version.or(cfg.check.pg_version).unwrap_or(15);
    if let Some(f) = &cfg.check.fail_on {
        ctx.set_default_fail_on(
            f.parse()
                .map_err(|e: String| anyhow::anyhow!("dbkit.toml [check] fail_on: {e}"))?,
        );
    }
    let mut files = Vec::new();
    let paths = collect(&args.paths)?;
    if paths.is_empty() {
        bail!(
            "nothing to check: no .sql files in {}",
            args.paths.join(", ")
        );
    }
    for f in paths {
        let text = read_text(&f)?;
        if let Some(p) = dbkit::sql::split(&text)
            .statements
            .iter()
            .find_map(|s| s.problem.clone())
        {
            bail!("{f}: {p}: the file cannot be checked");
        }
        files.push((f, text));
    }
    let statements = files
        .iter()
        .map(|(_, t)| dbkit::sql::split(t).statements.len())
        .sum();
    let mut findings =
        dbkit::analyze::migration::check(&files, pg, args.no_transaction, &cfg.disabled_rules());
    if args.db.scratch || args.db.url.is_some() {
        let base = collect(&args.base)?;
        let workload = match &args.workload {
            Some(w) if w.ends_with(".sql") => dbkit::ops::index::workload_from_sql(&read_text(w)?),
            Some(w) => {
                dbkit::workload::pgss::parse_export(&std::fs::read(w).with_context(|| w.clone())?)
                    .with_context(|| w.clone())?
                    .into_iter()
                    .map(|r| dbkit::advise::WorkloadQuery {
                        fingerprint: dbkit::sql::fingerprint(&r.query).hex(),
                        sql: r.query,
                        calls: r.calls.max(1),
                    })
                    .collect()
            }
            None => Vec::new(),
        };
        let opts = dbkit::ops::check::ObserveOptions {
            commit: args.commit,
            max_cost_increase: args.max_cost_increase.map(|p| p / 100.0),
            config: cfg.clone(),
            allow_side_effects: args.allow_side_effects,
        };
        let base = base
            .iter()
            .map(|b| Ok((b.clone(), read_text(b)?)))
            .collect::<Result<Vec<_>>>()?;
        let rt = super::runtime()?;
        let observed = rt.block_on(async {
            let target = args.db.open().await?;
            // A scratch cluster takes the base for good; a database of the user's only inside
            // the check's transaction, rolled back with it.
            let in_tx: &[(String, String)] = if target.scratch.is_some() {
                let mut conn = dbkit::db::connect(&target.spec).await?;
                for (b, text) in &base {
                    dbkit::db::exec_script(&mut conn, b, text).await?;
                }
                dbkit::db::close(conn).await;
                &[]
            } else {
                &base
            };
            let f =
                dbkit::ops::check::observe(&target.spec, in_tx, &files, &workload, &opts).await?;
            drop(target);
            anyhow::Ok(f)
        })?;
        findings.extend(observed);
    }
    // In GitHub Actions, annotations are the default.
    let default = if std::env::var_os("GITHUB_ACTIONS").is_some() {
        dbkit::report::Format::Github
    } else {
        dbkit::report::Format::Table
    };
    ctx.emit_as(
        &mut CheckReport {
            files: files.into_iter().map(|(f, _)| f).collect(),
            statements,
            pg_version: pg,
            findings,
        },
        default,
    )
}
