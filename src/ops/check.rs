//! `dbkit check` on a database: apply the migration statement by statement in one transaction
//! and record what really happened (locks taken, tables rewritten), and plan the workload before
//! and after to catch plan regressions and broken queries. Rolled back unless asked to commit.

use crate::advise::WorkloadQuery;
use crate::analyze::plan_diff::{diff, ChangeKind};
use crate::config::Config;
use crate::db::hypo::HypoSession;
use crate::db::ConnSpec;
use crate::finding::RuleId;
use crate::finding::{Finding, Location, Severity};
use crate::sql::txn::{needs_no_transaction, transaction_control, Modelled, TxnControl, TxnModel};
use std::collections::HashMap;

/// How to observe.
#[derive(Debug, Clone)]
pub struct ObserveOptions {
    /// Commit the migration instead of rolling it back.
    pub commit: bool,
    /// Total cost increase that counts as a regression (0.2 = 20%); `None` uses the
    /// configuration's `[rules.plan] diff_cost_ratio`.
    pub max_cost_increase: Option<f64>,
    /// The user's configuration: the plan-regression thresholds of `[rules.plan]`.
    pub config: Config,
    /// Run statements whose effects survive the rollback (`setval`, dblink…).
    pub allow_side_effects: bool,
    /// The runner whose conventions say which part of a file is the forward migration (goose
    /// and dbmate down sections are not applied); `None`: recognised from the file's markers.
    pub runner: Option<crate::config::Runner>,
    /// The PostgreSQL version the static lock model is compared for.
    pub pg_version: u32,
}

impl Default for ObserveOptions {
    /// Roll back, the default configuration, no side effects, runners recognised, PostgreSQL 15.
    fn default() -> ObserveOptions {
        ObserveOptions {
            commit: false,
            max_cost_increase: None,
            config: Config::default(),
            allow_side_effects: false,
            runner: None,
            pg_version: 15,
        }
    }
}

/// What `dbkit check` asks for.
#[derive(Debug, Clone, Default)]
pub struct CheckRequest {
    /// Migration files, or directories whose `.sql` files are read in name order.
    pub paths: Vec<String>,
    /// Target PostgreSQL major version (`None`: dbkit.toml `[check] pg_version`, else 15).
    pub pg_version: Option<u32>,
    /// How to decide whether a file runs in a transaction (`None`: dbkit.toml `[check]
    /// transaction`, else `auto`).
    pub transaction: Option<crate::config::TxSetting>,
    /// The runner whose conventions apply (`None`: dbkit.toml `[check] runner`, else each
    /// file's markers).
    pub runner: Option<crate::config::Runner>,
    /// Migrations already applied (files or directories), read for the schema only.
    pub history: Vec<String>,
    /// A `pg_dump --schema-only` file (or any DDL), read for the schema only.
    pub schema: Option<String>,
    /// Also apply the migration on this database and observe it.
    pub database: Option<crate::db::TargetRequest>,
    /// Base schema files or directories applied on the database first.
    pub base: Vec<String>,
    /// Workload file planned before and after (see [`crate::ops::workload::load_queries`]).
    pub workload: Option<String>,
    /// Commit instead of rolling back.
    pub commit: bool,
    /// Cost increase that counts as a regression (0.2 = 20%); `None`: the configuration's.
    pub max_cost_increase: Option<f64>,
    /// Run statements whose effects survive the rollback.
    pub allow_side_effects: bool,
}

/// Errors of a check request that are about its input.
fn input(path: &str, message: impl Into<String>) -> crate::Error {
    crate::Error::Input {
        path: path.to_string(),
        message: message.into(),
    }
}

/// The `.sql` files named by `paths`: files as given, directories' `.sql` files in name order.
pub fn migration_files(paths: &[String]) -> Result<Vec<String>, crate::Error> {
    Ok(migration_files_and_downs(paths)?.0)
}

/// [`migration_files`], leaving out of each directory the down migrations of golang-migrate's
/// layout (`N_name.down.sql` beside `N_name.up.sql`), which are returned second: they undo the
/// migration and are not part of what deploys. Files named explicitly are always kept.
pub fn migration_files_and_downs(
    paths: &[String],
) -> Result<(Vec<String>, Vec<String>), crate::Error> {
    let io = |p: &String| {
        let p = p.clone();
        move |source| crate::Error::Io { path: p, source }
    };
    let mut out = Vec::new();
    let mut downs = Vec::new();
    for p in paths {
        let meta = std::fs::metadata(p).map_err(io(p))?;
        if meta.is_dir() {
            let mut files: Vec<String> = std::fs::read_dir(p)
                .map_err(io(p))?
                .filter_map(|e| e.ok())
                .map(|e| e.path())
                .filter(|x| x.extension().is_some_and(|e| e == "sql"))
                .map(|x| x.display().to_string())
                .collect();
            files.sort();
            let (down, up): (Vec<String>, Vec<String>) = files.into_iter().partition(|f| {
                f.strip_suffix(".down.sql")
                    .is_some_and(|stem| std::path::Path::new(&format!("{stem}.up.sql")).exists())
            });
            out.extend(up);
            downs.extend(down);
        } else {
            out.push(p.clone());
        }
    }
    Ok((out, downs))
}

/// Read migration files (each must split without a lexical problem).
fn read_migrations(paths: &[String]) -> Result<Vec<(String, String)>, crate::Error> {
    let mut files = Vec::new();
    for f in paths {
        let text = crate::ops::read_text(f)?;
        if let Some(p) = crate::sql::split(&text)
            .statements
            .iter()
            .find_map(|s| s.problem.clone())
        {
            return Err(input(f, format!("{p}: the file cannot be checked")));
        }
        files.push((f.clone(), text));
    }
    Ok(files)
}

/// `dbkit check`: the static rules over every migration file, and with a database the observed
/// locks, rewrites, constraints and the plan gate. The configuration's disabled rules are not
/// run; the caller applies the rest of it ([`Config::apply_to`]) to the report.
pub async fn run(
    req: &CheckRequest,
    cfg: &Config,
) -> Result<crate::analyze::migration::report::CheckReport, crate::Error> {
    let pg = req.pg_version.or(cfg.check.pg_version).unwrap_or(15);
    let (paths, downs) = migration_files_and_downs(&req.paths)?;
    if paths.is_empty() {
        return Err(input(
            &req.paths.join(", "),
            "nothing to check: no .sql files there",
        ));
    }
    let files = read_migrations(&paths)?;
    // The files being checked are not their own history (`--history migrations/` beside
    // `migrations/0042_new.sql` is the usual CI call).
    let checked: Vec<std::path::PathBuf> = files
        .iter()
        .filter_map(|(f, _)| std::fs::canonicalize(f).ok())
        .collect();
    let history_files: Vec<String> = migration_files(&req.history)?
        .into_iter()
        .filter(|h| std::fs::canonicalize(h).map_or(true, |c| !checked.contains(&c)))
        .collect();
    let history = read_migrations(&history_files)?;
    let schema = match &req.schema {
        Some(f) => read_migrations(std::slice::from_ref(f))?,
        None => Vec::new(),
    };
    // Flyway keeps per-script settings in `<script>.conf` beside it.
    let sidecars = files
        .iter()
        .filter_map(|(f, _)| {
            let conf = format!("{f}.conf");
            std::fs::read_to_string(&conf).ok().map(|t| (f.clone(), t))
        })
        .collect();
    let opts = crate::analyze::migration::Options {
        pg_version: pg,
        transaction: req
            .transaction
            .or(cfg.check.transaction)
            .unwrap_or_default(),
        runner: req.runner.or(cfg.check.runner),
        excluded: cfg.disabled_rules(),
        history,
        schema,
        sidecars,
    };
    let checked = crate::analyze::migration::check(&files, &opts);
    // A schema or history that defines no table was not understood: its verdicts would all be
    // "unknown", so say so instead.
    if let Some(f) = req.schema.as_ref().filter(|_| checked.schema_tables == 0) {
        return Err(input(f, "--schema: no CREATE TABLE or ALTER TABLE in it; pass the output of pg_dump --schema-only"));
    }
    if !opts.history.is_empty() && checked.known_tables == 0 {
        return Err(input(
            &req.history.join(", "),
            "--history: no CREATE TABLE or ALTER TABLE in these files; pass the migrations already applied",
        ));
    }
    let statements = checked.statements;
    let mut findings = checked.findings;
    if let Some(db) = &req.database {
        let workload = match &req.workload {
            Some(w) => crate::ops::workload::load_queries(w)?,
            None => Vec::new(),
        };
        let opts = ObserveOptions {
            commit: req.commit,
            max_cost_increase: req.max_cost_increase,
            config: cfg.clone(),
            allow_side_effects: req.allow_side_effects,
            runner: req.runner.or(cfg.check.runner),
            pg_version: pg,
        };
        let base = migration_files(&req.base)?
            .into_iter()
            .map(|b| Ok((b.clone(), crate::ops::read_text(&b)?)))
            .collect::<Result<Vec<_>, crate::Error>>()?;
        let target = db.open().await?;
        // A scratch cluster takes the base for good; a database of the user's only inside the
        // check's transaction, rolled back with it.
        let in_tx: &[(String, String)] = if target.scratch.is_some() {
            let mut conn = crate::db::connect(&target.spec).await?;
            for (b, text) in &base {
                crate::db::exec_script(&mut conn, b, text).await?;
            }
            crate::db::close(conn).await;
            &[]
        } else {
            &base
        };
        findings.extend(observe(&target.spec, in_tx, &files, &workload, &opts).await?);
    }
    Ok(crate::analyze::migration::report::CheckReport {
        files: files.into_iter().map(|(f, _)| f).collect(),
        statements,
        pg_version: pg,
        transactions: checked.plans,
        down_migrations: downs,
        // A rule that fires on statement after statement for the same cause is one finding.
        findings: crate::finding::collapse_repeats(findings),
    })
}

fn at(file: &str, line: usize, col: usize) -> Location {
    Location {
        file: Some(file.to_string()),
        line: Some(line),
        column: Some(col),
        node: None,
    }
}

fn not_run(file: &str, line: usize, col: usize, why: String, statement: &str) -> Finding {
    Finding {
        rule: RuleId::StatementNotRun,
        severity: Severity::Info,
        message: format!("not run on the database: {why}; its locks and rewrites are not observed"),
        location: at(file, line, col),
        evidence: serde_json::json!({ "statement": statement }),
        suggestion: None,
    }
}

/// Plan every workload query; a broken connection stops the check, a query that fails to plan
/// is left out.
async fn plan_workload(
    s: &mut HypoSession,
    workload: &[WorkloadQuery],
) -> Result<HashMap<usize, Result<crate::plan::Plan, String>>, crate::Error> {
    let mut out = HashMap::new();
    for (i, q) in workload.iter().enumerate() {
        match s.plan(&q.sql).await {
            Ok(j) => {
                if let Ok(mut p) = crate::plan::json::parse(&j) {
                    out.insert(i, Ok(p.remove(0)));
                }
            }
            Err(e) if e.is_fatal() => return Err(e.into()),
            Err(e) => {
                out.insert(i, Err(e.to_string()));
            }
        }
    }
    Ok(out)
}

/// Apply `files` (name, text) on the database at `spec` and report what happened, all inside
/// one transaction of dbkit's that is rolled back unless `o.commit`. `base` files (the schema
/// the migration expects) run first in the same transaction.
///
/// The files' own transaction control is modelled ([`TxnModel`]), never sent; every statement
/// is one statement on the extended protocol; after each one the session must still be in
/// dbkit's transaction, or the check stops with an error.
pub async fn observe(
    spec: &ConnSpec,
    base: &[(String, String)],
    files: &[(String, String)],
    workload: &[WorkloadQuery],
    o: &ObserveOptions,
) -> Result<Vec<Finding>, crate::Error> {
    let mut s = HypoSession::open_plain(spec).await?;
    let mut out = Vec::new();
    for (file, text) in base {
        for st in crate::sql::split(text).statements {
            if let Some(c) = transaction_control(st.text) {
                return Err(crate::db::DbError::Query {
                    context: format!("{file}:{}", st.span.start.line),
                    message: format!("{} in a --base file: the base runs inside the check's transaction; remove it", c.command()),
                }
                .into());
            }
            s.execute(st.text).await.map_err(|e| match e {
                crate::db::DbError::Query { message, .. } => crate::db::DbError::Query {
                    context: format!("--base {file}:{}", st.span.start.line),
                    message,
                },
                other => other,
            })?;
        }
    }
    let before = plan_workload(&mut s, workload).await?;
    // The migration, statement by statement.
    'files: for (file, text) in files {
        let mut model = TxnModel::default();
        // Only the forward migration: not a goose or dbmate down section.
        let plan = crate::analyze::migration::txmode::plan(
            file,
            text,
            None,
            crate::config::TxSetting::Auto,
            o.runner,
        );
        for st in crate::sql::split(text).statements.into_iter().filter(|st| {
            plan.units
                .iter()
                .any(|u| st.span.start_byte >= u.start && st.span.start_byte < u.end)
        }) {
            let (line, col) = (st.span.start.line, st.span.start.column);
            if let Some(c) = transaction_control(st.text) {
                match model.apply(&c) {
                    Modelled::Send(stmts) => {
                        for x in stmts {
                            s.control(&x).await?;
                        }
                    }
                    Modelled::Skip(why) => {
                        if matches!(c, TxnControl::TwoPhase(_) | TxnControl::SetTransaction) {
                            out.push(not_run(file, line, col, why, st.text));
                        }
                    }
                    Modelled::Fail(message) => {
                        out.push(migration_error(file, line, col, &message, st.text));
                        break 'files;
                    }
                }
                continue;
            }
            if let Some(why) = needs_no_transaction(st.text) {
                out.push(not_run(file, line, col, why, st.text));
                continue;
            }
            let catalog = s.function_catalog(st.text).await?;
            let verdict = crate::sql::side_effects::assess(st.text, &catalog);
            if !verdict.effects.is_empty() && !o.allow_side_effects {
                out.push(Finding {
                    rule: RuleId::SideEffect,
                    severity: Severity::Warning,
                    message: format!(
                        "not run on the database: {}, which the rollback would not undo",
                        verdict.describe()
                    ),
                    location: at(file, line, col),
                    evidence: serde_json::json!({ "effects": verdict.effects, "statement": st.text }),
                    suggestion: Some("pass --allow-side-effects to run it in the check anyway".into()),
                });
                continue;
            }
            if !verdict.unknown.is_empty() {
                out.push(Finding {
                    rule: RuleId::UnknownFunction,
                    severity: Severity::Warning,
                    message: format!(
                        "runs {} whose effects dbkit cannot inspect; anything they do outside the transaction is not rolled back",
                        verdict.unknown.join(", ")
                    ),
                    location: at(file, line, col),
                    evidence: serde_json::json!({ "functions": verdict.unknown, "statement": st.text }),
                    suggestion: None,
                });
            }
            let files_before = s.relfilenodes().await?;
            let locks_before = s.locks().await?;
            let cons_before = s.constraints().await?;
            if let Err(e) = s.execute(st.text).await {
                if e.is_fatal() {
                    return Err(e.into());
                }
                out.push(migration_error(file, line, col, &e.to_string(), st.text));
                break 'files;
            }
            let locks_after = s.locks().await?;
            out.extend(lock_model_mismatch(
                file,
                line,
                col,
                st.text,
                &locks_before,
                &locks_after,
                o.pg_version,
            ));
            for (table, mode) in locks_after
                .into_iter()
                .filter(|l| !locks_before.contains(l))
            {
                let heavy = matches!(
                    mode.as_str(),
                    "AccessExclusiveLock" | "ExclusiveLock" | "ShareLock" | "ShareRowExclusiveLock"
                );
                out.push(Finding {
                    rule: RuleId::LockAcquired,
                    severity: if heavy { Severity::Warning } else { Severity::Info },
                    message: format!("took {mode} on {table}"),
                    location: at(file, line, col),
                    evidence: serde_json::json!({ "table": table, "mode": mode, "statement": st.text }),
                    suggestion: heavy.then(|| "keep it short: lock_timeout before it, nothing slow after it in the same transaction".to_string()),
                });
            }
            for (table, name, valid) in s
                .constraints()
                .await?
                .into_iter()
                .filter(|c| !cons_before.contains(c))
            {
                out.push(Finding {
                    rule: RuleId::ConstraintAdded,
                    severity: Severity::Info,
                    message: format!("constraint {name} on {table} is now {}", if valid { "validated" } else { "NOT VALID (existing rows unchecked)" }),
                    location: at(file, line, col),
                    evidence: serde_json::json!({ "table": table, "constraint": name, "validated": valid }),
                    suggestion: None,
                });
            }
            let after = s.relfilenodes().await?;
            for (table, node, rows) in &files_before {
                if let Some((_, new_node, _)) = after.iter().find(|(t, _, _)| t == table) {
                    if new_node != node {
                        out.push(Finding {
                            rule: RuleId::TableRewrite,
                            severity: Severity::Error,
                            message: format!("rewrote {table} ({rows:.0} rows) under an exclusive lock"),
                            location: at(file, line, col),
                            evidence: serde_json::json!({ "table": table, "rows": rows, "relfilenode_before": node, "relfilenode_after": new_node }),
                            suggestion: Some("use a change that does not rewrite (see dbkit check's static rules for the safe alternative)".into()),
                        });
                    }
                }
            }
        }
        for x in model.finish_file() {
            s.control(&x).await?;
        }
    }
    // The workload after.
    let mut cfg = o.config.clone();
    if let Some(m) = o.max_cost_increase {
        cfg.rules.plan.diff_cost_ratio = 1.0 + m;
    }
    for (i, q) in workload.iter().enumerate() {
        let short: String = q.sql.split_whitespace().collect::<Vec<_>>().join(" ");
        let planned_before = matches!(before.get(&i), Some(Ok(_)));
        match s.plan(&q.sql).await {
            Ok(j) => {
                let (Some(Ok(b)), Ok(mut a)) = (before.get(&i), crate::plan::json::parse(&j)) else { continue };
                let a = a.remove(0);
                let d = diff(b, &a, &cfg);
                // A join method change counts when it made the query costlier.
                let costlier = matches!((d.cost_before, d.cost_after), (Some(x), Some(y)) if y > x);
                for c in d.changes.iter().filter(|c| c.regression || (c.kind == ChangeKind::JoinChanged && costlier)) {
                    out.push(Finding {
                        rule: RuleId::PlanRegression,
                        severity: Severity::Error,
                        message: match c.kind {
                            ChangeKind::IndexUnused => format!("`{short}`: index {} on {} is no longer used", c.before, c.subject),
                            _ => format!("`{short}`: {} {} became {}", c.subject, c.before, c.after),
                        },
                        location: Location { node: Some(format!("workload query {}", i + 1)), ..Default::default() },
                        evidence: serde_json::json!({ "query": q.sql, "kind": c.kind, "before": c.before, "after": c.after, "cost_before": d.cost_before, "cost_after": d.cost_after }),
                        suggestion: Some("keep or replace the index this query used, or accept the regression knowingly with -- dbkit:ignore".into()),
                    });
                }
            }
            Err(e) if e.is_fatal() => return Err(e.into()),
            Err(e) if planned_before => out.push(Finding {
                rule: RuleId::QueryBroken,
                severity: Severity::Error,
                message: format!("`{short}` planned before the migration and fails after it: {e}"),
                location: Location { node: Some(format!("workload query {}", i + 1)), ..Default::default() },
                evidence: serde_json::json!({ "query": q.sql, "error": e.to_string() }),
                suggestion: Some("ship the application change first (expand/contract), or keep the old column or table until nothing uses it".into()),
            }),
            Err(_) => {}
        }
    }
    if o.commit {
        s.commit().await?;
    } else {
        s.close().await?;
    }
    Ok(out)
}

/// A table the static lock model names for `sql` on which pg_locks shows another mode (ROW
/// EXCLUSIVE and stronger; names compared without their schema). Tables the model cannot name
/// (an index's table, a domain's tables) and tables it does not name are left alone.
fn lock_model_mismatch(
    file: &str,
    line: usize,
    col: usize,
    sql: &str,
    before: &[(String, String)],
    after: &[(String, String)],
    pg: u32,
) -> Vec<Finding> {
    use crate::analyze::migration::locks::{locks_of_sql, LockMode};
    use crate::analyze::migration::schema::short;
    let observed = |table: &str| {
        after
            .iter()
            .filter(|l| !before.contains(l) && short(&l.0) == table)
            .filter_map(|l| LockMode::from_pg_locks(&l.1))
            .max()
    };
    locks_of_sql(sql, pg)
        .into_iter()
        .filter(|l| l.via_index.is_none() && !l.table.contains(' '))
        .filter(|l| l.mode >= LockMode::RowExclusive)
        .filter_map(|l| {
            observed(short(&l.table))
                .filter(|m| *m >= LockMode::RowExclusive && *m != l.mode)
                .map(|m| (l, m))
        })
        .map(|(l, m)| Finding {
            rule: RuleId::LockModelMismatch,
            severity: RuleId::LockModelMismatch.severity(),
            message: format!(
                "took {m} on {}, where dbkit's lock model says {}: the observed lock is the one to trust",
                l.table, l.mode
            ),
            location: at(file, line, col),
            evidence: serde_json::json!({ "table": l.table, "observed": m.as_str(), "model": l.mode.as_str(), "statement": sql }),
            suggestion: Some("report the statement and the server version so the model learns it".into()),
        })
        .collect()
}

fn migration_error(file: &str, line: usize, col: usize, message: &str, statement: &str) -> Finding {
    Finding {
        rule: RuleId::MigrationError,
        severity: Severity::Error,
        message: format!("the statement fails: {message}"),
        location: at(file, line, col),
        evidence: serde_json::json!({ "statement": statement }),
        suggestion: Some(
            "fix the statement; nothing after it was checked against the database".into(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::lock_model_mismatch;

    fn l(t: &str, m: &str) -> (String, String) {
        (t.to_string(), m.to_string())
    }

    #[test]
    fn a_lock_other_than_the_model_says_is_a_finding() {
        let sql = "ALTER TABLE public.t VALIDATE CONSTRAINT c";
        // The model: SHARE UPDATE EXCLUSIVE on t. Observed the same: nothing.
        let same = [
            l("t", "ShareUpdateExclusiveLock"),
            l("u", "AccessShareLock"),
        ];
        assert!(lock_model_mismatch("m.sql", 1, 1, sql, &[], &same, 15).is_empty());
        // Observed ACCESS EXCLUSIVE: a finding naming both.
        let other = [l("t", "AccessExclusiveLock")];
        let f = lock_model_mismatch("m.sql", 1, 1, sql, &[], &other, 15);
        assert_eq!(f.len(), 1);
        assert!(
            f[0].message.contains("ACCESS EXCLUSIVE")
                && f[0].message.contains("SHARE UPDATE EXCLUSIVE"),
            "{}",
            f[0].message
        );
        // A lock held before the statement is not the statement's.
        assert!(lock_model_mismatch("m.sql", 1, 1, sql, &other, &other, 15).is_empty());
        // Tables the model names only by description are not compared.
        assert!(lock_model_mismatch(
            "m.sql",
            1,
            1,
            "DROP INDEX i",
            &[],
            &[l("t", "ShareLock")],
            15
        )
        .is_empty());
    }
}
