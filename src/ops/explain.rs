//! `dbkit explain`: explain one statement or a whole workload file with bounded concurrency,
//! run the plan rules on each plan, and rank the statements by time.

use crate::analyze::plan::analyze;
use crate::config::Config;
use crate::db::explain::ExplainOptions;
use crate::db::{connect, ConnSpec, DbError, TargetRequest};
use crate::finding::RuleId;
use crate::finding::{Finding, Location, Severity};
use crate::sql::{classify, split, StatementKind};
use crate::view::fmt_ms;
use crate::view::{Cell, Report, Table, Tone};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// Progress of a long run; the CLI draws a bar on a terminal. Never prints to stdout.
pub trait Progress: Send + Sync {
    /// `done` of `total` statements finished; `label` says which.
    fn update(&self, done: usize, total: usize, label: &str);
    /// The run is over.
    fn finish(&self) {}
}

/// No progress output.
pub struct NoProgress;
impl Progress for NoProgress {
    fn update(&self, _: usize, _: usize, _: &str) {}
}

/// What happened to one statement of an explain run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ItemStatus {
    /// Explained.
    Ok,
    /// Not explained: EXPLAIN cannot take it (DDL, utility, transaction control); the reason
    /// is in `error`.
    Skipped,
    /// Explaining it failed (the server's error is in `error`).
    Error,
}

impl ItemStatus {
    /// The lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            ItemStatus::Ok => "ok",
            ItemStatus::Skipped => "skipped",
            ItemStatus::Error => "error",
        }
    }
}

/// One explained statement.
#[derive(Debug, Clone, Serialize)]
pub struct ExplainItem {
    /// 0-based index in the input.
    pub index: usize,
    /// Line where the statement starts.
    pub line: usize,
    /// The statement.
    pub text: String,
    /// Fingerprint id (hex).
    pub fingerprint: String,
    /// The command (`SELECT`, `UPDATE`…).
    pub command: String,
    /// What happened.
    pub status: ItemStatus,
    /// Why it failed or was skipped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// `analyze`, `plan-only` or `generic-plan`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mode: Option<&'static str>,
    /// Execution time, ms (ANALYZE).
    pub execution_ms: Option<f64>,
    /// Planning time, ms.
    pub planning_ms: Option<f64>,
    /// Planner total cost.
    pub total_cost: Option<f64>,
    /// Findings of this statement's plan.
    pub findings: Vec<Finding>,
    /// Where the plan was saved (`--save`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub saved: Option<String>,
    /// The plan as PostgreSQL returned it (EXPLAIN JSON).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plan: Option<serde_json::Value>,
    /// The plan, read.
    #[serde(skip)]
    pub parsed: Option<crate::plan::Plan>,
}

/// `dbkit explain`'s report.
#[derive(Debug, Clone, Serialize)]
pub struct ExplainReport {
    /// Where the statements ran (no password).
    pub target: String,
    /// The input's name.
    pub file: String,
    /// Statements, slowest first (by execution time, else cost); errors last.
    pub statements: Vec<ExplainItem>,
    /// All findings, in the order of `statements`.
    pub findings: Vec<Finding>,
    /// One statement explained: its plan as `plan show` draws it (the tables print it before
    /// the findings; the JSON has `statements[0].plan`).
    #[serde(skip)]
    pub tree: Option<crate::analyze::plan::report::PlanShowReport>,
}

/// What to explain and how.
pub struct ExplainJob<'a> {
    /// Where.
    pub spec: &'a ConnSpec,
    /// The input's name (for locations).
    pub file: &'a str,
    /// The SQL text (one or many statements).
    pub sql: &'a str,
    /// EXPLAIN options.
    pub options: ExplainOptions,
    /// Connections used at once.
    pub concurrency: usize,
    /// Save each plan's JSON here.
    pub save: Option<PathBuf>,
    /// Rule thresholds.
    pub config: &'a Config,
}

/// `CREATE [TEMP|UNLOGGED] TABLE … AS query` or `CREATE MATERIALIZED VIEW … AS query`: the
/// DDL EXPLAIN takes. The `AS` is the first one outside parentheses, followed by a query.
pub(crate) fn is_create_as(sql: &str) -> bool {
    use crate::sql::lexer::{Lexer, TokenKind};
    let mut words = Vec::new();
    let mut depth = 0usize;
    let mut after_as = false;
    for t in Lexer::new(sql) {
        match t.kind {
            TokenKind::Whitespace | TokenKind::LineComment | TokenKind::BlockComment => continue,
            TokenKind::LParen if after_as => return true,
            TokenKind::LParen => depth += 1,
            TokenKind::RParen => depth = depth.saturating_sub(1),
            TokenKind::Word => {
                let w = t.text(sql).to_ascii_lowercase();
                if after_as {
                    return matches!(
                        w.as_str(),
                        "select" | "with" | "values" | "table" | "execute"
                    );
                }
                if depth == 0 && w == "as" {
                    let head: Vec<&str> = words.iter().map(String::as_str).collect();
                    let creates = head.first() == Some(&"create")
                        && (head.contains(&"table")
                            || head.windows(2).any(|p| p == ["materialized", "view"]));
                    if !creates {
                        return false;
                    }
                    after_as = true;
                    continue;
                }
                if words.len() < 8 {
                    words.push(w);
                }
            }
            _ if after_as => return false,
            _ => {}
        }
    }
    false
}

/// Why EXPLAIN cannot take a statement, if it cannot.
fn not_explainable(sql: &str) -> Option<String> {
    let c = classify(sql);
    let ok = match c.kind {
        StatementKind::Read => c.command != "COPY TO",
        StatementKind::Write => c.command != "TRUNCATE" && c.command != "COPY FROM",
        StatementKind::Ddl => c.command == "SELECT INTO" || is_create_as(sql),
        _ => matches!(c.command.as_str(), "EXECUTE" | "DECLARE"),
    };
    (!ok).then(|| {
        format!(
            "EXPLAIN cannot take {} statements (only SELECT, INSERT, UPDATE, DELETE, MERGE, VALUES, EXECUTE, DECLARE, CREATE TABLE AS, CREATE MATERIALIZED VIEW AS)",
            if c.command.is_empty() { "empty" } else { &c.command }
        )
    })
}

/// Where the SQL to explain comes from.
#[derive(Debug, Clone)]
pub enum SqlSource {
    /// Text given directly (named "(command line)" in locations).
    Text(String),
    /// A file of one or many statements (`-` is stdin).
    File(PathBuf),
}

/// A whole `dbkit explain` run: the database, the SQL and how to explain it.
#[derive(Debug, Clone)]
pub struct ExplainRequest {
    /// The database (a scratch cluster is started and loaded when asked).
    pub target: TargetRequest,
    /// The statement(s).
    pub source: SqlSource,
    /// EXPLAIN options.
    pub options: ExplainOptions,
    /// Connections used at once.
    pub concurrency: usize,
    /// Save each plan's JSON here.
    pub save: Option<PathBuf>,
}

/// Open the target, read the SQL and explain every statement ([`run`]); a scratch cluster is
/// stopped when the report is ready.
pub async fn explain(
    req: &ExplainRequest,
    config: &Config,
    progress: &dyn Progress,
) -> Result<ExplainReport, crate::Error> {
    let (file, sql) = match &req.source {
        SqlSource::Text(s) => ("(command line)".to_string(), s.clone()),
        SqlSource::File(f) => (f.display().to_string(), read_sql(f)?),
    };
    let target = req.target.open().await?;
    let job = ExplainJob {
        spec: &target.spec,
        file: &file,
        sql: &sql,
        options: req.options.clone(),
        concurrency: req.concurrency,
        save: req.save.clone(),
        config,
    };
    let report = run(job, progress).await;
    drop(target);
    report
}

/// Explain every statement of the job.
pub async fn run(
    job: ExplainJob<'_>,
    progress: &dyn Progress,
) -> Result<ExplainReport, crate::Error> {
    let sp = split(job.sql);
    let stmts: Vec<(usize, usize, String)> = sp
        .statements
        .iter()
        .map(|s| (s.index, s.span.start.line, s.text.to_string()))
        .collect();
    if let Some(dir) = &job.save {
        std::fs::create_dir_all(dir).map_err(|source| crate::Error::Io {
            path: dir.display().to_string(),
            source,
        })?;
    }
    let total = stmts.len();
    let queue = Arc::new(Mutex::new(
        stmts
            .clone()
            .into_iter()
            .collect::<std::collections::VecDeque<_>>(),
    ));
    let results: Arc<Mutex<Vec<ExplainItem>>> = Arc::new(Mutex::new(Vec::with_capacity(total)));
    let workers = job.concurrency.clamp(1, total.max(1));
    // Connect first so a bad target is one clear error, not one per statement.
    let mut conns = Vec::with_capacity(workers);
    for _ in 0..workers {
        conns.push(connect(job.spec).await?);
    }
    let done = std::sync::atomic::AtomicUsize::new(0);
    // The first broken connection stops every worker: one clear error, not one per statement.
    let fatal: Mutex<Option<crate::Error>> = Mutex::new(None);
    let mut workers_futs = Vec::new();
    for mut conn in conns {
        let queue = Arc::clone(&queue);
        let results = Arc::clone(&results);
        let opts = job.options.clone();
        let (done, fatal) = (&done, &fatal);
        let target = job.spec.to_string();
        workers_futs.push(async move {
            loop {
                if fatal.lock().map_or(true, |f| f.is_some()) {
                    break;
                }
                let next = queue.lock().ok().and_then(|mut q| q.pop_front());
                let Some((index, line, text)) = next else {
                    break;
                };
                let mut raw = Raw {
                    index,
                    line,
                    text,
                    result: Err(String::new()),
                    skipped: false,
                    findings: Vec::new(),
                };
                match not_explainable(&raw.text) {
                    Some(why) => {
                        raw.result = Err(why);
                        raw.skipped = true;
                    }
                    None => {
                        let outcome = async {
                            let (o, findings) =
                                guard_side_effects(&mut conn, &raw.text, &opts, job.file, line)
                                    .await?;
                            raw.findings = findings;
                            crate::db::explain::explain(&mut conn, &raw.text, &o).await
                        }
                        .await;
                        match outcome {
                            Err(e) if e.is_fatal() => {
                                let context = format!(
                                    "{target}: statement {} ({}:{line})",
                                    index + 1,
                                    job.file
                                );
                                let e = match e {
                                    DbError::Lost { message, .. } => {
                                        DbError::Lost { context, message }
                                    }
                                    DbError::TransactionLost { message, .. } => {
                                        DbError::TransactionLost { context, message }
                                    }
                                    other => other,
                                };
                                if let Ok(mut f) = fatal.lock() {
                                    f.get_or_insert(crate::Error::Db(e));
                                }
                                break;
                            }
                            r => raw.result = r.map_err(|e| e.to_string()),
                        }
                    }
                }
                let label = format!("statement {} (line {})", raw.index + 1, raw.line);
                if let Ok(mut r) = results.lock() {
                    r.push(to_item(raw));
                }
                let n = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
                progress.update(n, total, &label);
            }
            crate::db::close(conn).await;
        });
    }
    // Run the workers concurrently on this task (they borrow the progress reporter).
    join_all(workers_futs).await;
    progress.finish();
    match fatal.into_inner() {
        Ok(Some(e)) => return Err(e),
        Ok(None) => {}
        Err(_) => return Err(crate::Error::Internal("an explain worker panicked".into())),
    }
    let mut items = match Arc::try_unwrap(results).map(Mutex::into_inner) {
        Ok(Ok(items)) => items,
        _ => {
            return Err(crate::Error::Internal(
                "the explain results could not be collected (a worker panicked)".into(),
            ))
        }
    };
    for it in &mut items {
        finish_item(it, &job);
        failure_finding(it, &job);
    }
    items.sort_by(|a, b| {
        let key = |i: &ExplainItem| {
            (
                i.status != ItemStatus::Ok,
                -(i.execution_ms.or(i.total_cost).unwrap_or(0.0)),
            )
        };
        let (ka, kb) = (key(a), key(b));
        ka.0.cmp(&kb.0)
            .then(ka.1.partial_cmp(&kb.1).unwrap_or(std::cmp::Ordering::Equal))
            .then(a.index.cmp(&b.index))
    });
    let findings = items
        .iter()
        .flat_map(|i| i.findings.iter().cloned())
        .collect();
    let tree = match items.as_slice() {
        [one] => one.parsed.as_ref().map(|p| {
            let mut p = p.clone();
            p.query_text = Some(one.text.trim().to_string());
            crate::analyze::plan::report::PlanShowReport::build(job.file, &p, job.config, false)
        }),
        _ => None,
    };
    Ok(ExplainReport {
        target: job.spec.to_string(),
        file: job.file.to_string(),
        statements: items,
        findings,
        tree,
    })
}

/// Await futures concurrently on the current task (no spawning: they borrow the job).
async fn join_all<F: std::future::Future<Output = ()>>(futs: Vec<F>) {
    let mut futs: Vec<std::pin::Pin<Box<F>>> = futs.into_iter().map(Box::pin).collect();
    std::future::poll_fn(move |cx| {
        futs.retain_mut(|f| f.as_mut().poll(cx).is_pending());
        if futs.is_empty() {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    })
    .await
}

/// One statement's outcome before its plan is analyzed.
struct Raw {
    index: usize,
    line: usize,
    text: String,
    result: Result<crate::db::explain::Explained, String>,
    skipped: bool,
    findings: Vec<Finding>,
}

/// Under ANALYZE, decide from the statement and the functions it calls (read from the
/// catalog) whether it may run: effects that survive the rollback make it plan-only unless
/// `allow_side_effects`; functions dbkit cannot inspect are a warning.
async fn guard_side_effects(
    conn: &mut sqlx::PgConnection,
    sql: &str,
    opts: &ExplainOptions,
    file: &str,
    line: usize,
) -> Result<(ExplainOptions, Vec<Finding>), DbError> {
    let mut o = opts.clone();
    if !opts.analyze {
        return Ok((o, Vec::new()));
    }
    let catalog = crate::db::explain::function_catalog(conn, sql).await?;
    let verdict = crate::sql::side_effects::assess(sql, &catalog);
    let mut out = Vec::new();
    let at = Location {
        file: Some(file.to_string()),
        line: Some(line),
        ..Default::default()
    };
    if !verdict.effects.is_empty() {
        let (message, suggestion) = if opts.allow_side_effects {
            (
                format!(
                    "executed with --allow-side-effects: {}; the rollback does not undo this",
                    verdict.describe()
                ),
                None,
            )
        } else {
            o.analyze = false;
            (
                format!(
                    "not executed: {}, which the rollback would not undo; planned without ANALYZE",
                    verdict.describe()
                ),
                Some(
                    "pass --allow-side-effects to execute it under EXPLAIN ANALYZE anyway"
                        .to_string(),
                ),
            )
        };
        out.push(Finding {
            rule: RuleId::SideEffect,
            severity: Severity::Warning,
            message,
            location: at.clone(),
            evidence: serde_json::json!({ "effects": verdict.effects, "executed": o.analyze }),
            suggestion,
        });
    }
    if o.analyze && !verdict.unknown.is_empty() {
        out.push(Finding {
            rule: RuleId::UnknownFunction,
            severity: Severity::Warning,
            message: format!(
                "EXPLAIN ANALYZE executed {} whose effects dbkit cannot inspect; anything they do outside the transaction is not rolled back",
                verdict.unknown.join(", ")
            ),
            location: at,
            evidence: serde_json::json!({ "functions": verdict.unknown }),
            suggestion: Some("use --no-analyze to plan only, or check what the functions do".into()),
        });
    }
    Ok((o, out))
}

fn to_item(raw: Raw) -> ExplainItem {
    let Raw {
        index,
        line,
        text,
        result: r,
        skipped,
        findings,
    } = raw;
    let fp = crate::sql::fingerprint(&text);
    let command = classify(&text).command;
    let mut item = ExplainItem {
        index,
        line,
        fingerprint: fp.hex(),
        command,
        status: ItemStatus::Ok,
        error: None,
        mode: None,
        execution_ms: None,
        planning_ms: None,
        total_cost: None,
        findings,
        saved: None,
        plan: None,
        parsed: None,
        text,
    };
    match r {
        Ok(e) => {
            item.mode = Some(e.mode);
            item.plan = serde_json::from_str(&e.json).ok();
        }
        Err(msg) => {
            item.status = if skipped {
                ItemStatus::Skipped
            } else {
                ItemStatus::Error
            };
            item.error = Some(msg);
        }
    }
    item
}

/// Why `dbkit explain` got a plan without ANALYZE figures and what gets them: never "run
/// `dbkit explain`", which the user is running.
fn estimates_only_advice(mode: Option<&str>, options: &ExplainOptions) -> String {
    match mode {
        Some("generic-plan") => "the statement has parameters ($1…) and no --param values, so it was planned generically: give one --param per parameter to run it with ANALYZE".to_string(),
        _ if !options.analyze => "run it without --no-analyze to get actual rows and times (it runs inside a transaction that is rolled back)".to_string(),
        _ => "it calls something a rollback does not undo, so it was planned only: explain it on a scratch copy (--scratch), or pass --allow-side-effects if that effect is acceptable here".to_string(),
    }
}

/// A statement that failed is an error finding with the server's message.
fn failure_finding(item: &mut ExplainItem, job: &ExplainJob) {
    if item.status == ItemStatus::Error {
        let message = item.error.as_deref().unwrap_or("failed");
        item.findings.push(
            Finding::new(
                RuleId::StatementFailed,
                format!("statement {} failed: {message}", item.index + 1),
            )
            .at(Location {
                file: Some(job.file.to_string()),
                line: Some(item.line),
                ..Default::default()
            })
            .with_evidence(serde_json::json!({ "statement": item.index + 1, "error": message })),
        );
    }
}

fn finish_item(item: &mut ExplainItem, job: &ExplainJob) {
    let Some(plan_json) = &item.plan else { return };
    let text = plan_json.to_string();
    match crate::plan::json::parse(&text) {
        Ok(plans) => {
            if let Some(p) = plans.first() {
                item.execution_ms = p.execution_time_ms;
                item.planning_ms = p.planning_time_ms;
                item.total_cost = p.root.total_cost;
                let mut f = analyze(p, job.config, Some(job.file));
                for x in &mut f {
                    x.location.line = Some(item.line);
                    if x.rule == RuleId::EstimatesOnly {
                        x.suggestion = Some(estimates_only_advice(item.mode, &job.options));
                    }
                }
                item.findings.extend(f);
            }
            item.parsed = plans.into_iter().next();
        }
        Err(e) => {
            item.status = ItemStatus::Error;
            item.error = Some(e.to_string());
        }
    }
    if let Some(dir) = &job.save {
        let path = dir.join(format!("{:03}-{}.json", item.index + 1, item.fingerprint));
        match std::fs::write(
            &path,
            serde_json::to_string_pretty(plan_json).unwrap_or(text),
        ) {
            Ok(()) => item.saved = Some(path.display().to_string()),
            Err(e) => item.error = Some(format!("saving {}: {e}", path.display())),
        }
    }
}

impl ExplainReport {
    /// The lines of the statements that failed on the server (a run with any is exit 2).
    pub fn failed_lines(&self) -> Vec<usize> {
        self.statements
            .iter()
            .filter(|s| s.status == ItemStatus::Error)
            .map(|s| s.line)
            .collect()
    }
}

impl Report for ExplainReport {
    fn kind(&self) -> &'static str {
        "explain"
    }
    fn view_data(&self) -> Option<serde_json::Value> {
        // Each statement's plan as the tree `plan show` draws (empty when it has none).
        let trees: Vec<Vec<crate::analyze::plan::report::NodeRow>> = self
            .statements
            .iter()
            .map(|s| match &s.parsed {
                Some(p) => crate::analyze::plan::report::node_rows(p, &s.findings, false),
                None => Vec::new(),
            })
            .collect();
        Some(serde_json::json!({ "trees": trees }))
    }
    fn summary(&self) -> String {
        let ok = self
            .statements
            .iter()
            .filter(|s| s.status == ItemStatus::Ok)
            .count();
        // `+ 0.0`: an empty float sum is -0.0, which would print as "-0.0 ms".
        let total: f64 = self
            .statements
            .iter()
            .filter_map(|s| s.execution_ms)
            .sum::<f64>()
            + 0.0;
        let mut s = format!(
            "{}: {} statement(s) explained on {}, {} failed or skipped; {} in all; {} finding(s)",
            self.file,
            ok,
            self.target,
            self.statements.len() - ok,
            fmt_ms(total),
            self.findings.len()
        );
        let index_advice = self.findings.iter().any(|f| {
            matches!(
                f.rule,
                RuleId::SeqScanFilter | RuleId::IndexFilterInefficient
            )
        });
        if index_advice {
            let file = if self.file.starts_with('(') || self.file == "-" {
                "FILE"
            } else {
                self.file.as_str()
            };
            s.push_str(&format!(
                ". Index suggestions are per plan: `dbkit index advise --workload {file}` weighs them over the whole workload and verifies each with the planner (HypoPG) before you build it"
            ));
        }
        s
    }
    fn tables(&self) -> Vec<Table> {
        if let Some(tree) = &self.tree {
            return tree.tables();
        }
        let mut t = Table::new(
            "Statements, slowest first",
            &["#", "line", "time", "cost", "findings", "statement"],
        );
        for s in &self.statements {
            let findings = if s.status != ItemStatus::Ok {
                Cell::toned(
                    format!(
                        "{}: {}",
                        s.status.as_str(),
                        s.error.as_deref().unwrap_or("")
                    ),
                    if s.status == ItemStatus::Error {
                        Tone::Bad
                    } else {
                        Tone::Dim
                    },
                )
            } else if s.findings.is_empty() {
                Cell::toned("-", Tone::Good)
            } else {
                // A count: the findings themselves are listed once, below, by statement.
                Cell::toned(s.findings.len().to_string(), Tone::Warn)
            };
            let one_line: String = s.text.split_whitespace().collect::<Vec<_>>().join(" ");
            let short: String = if one_line.chars().count() > 80 {
                one_line.chars().take(79).collect::<String>() + "…"
            } else {
                one_line
            };
            t.row(vec![
                Cell::num(s.index + 1),
                Cell::num(s.line),
                Cell::num(s.execution_ms.map(fmt_ms).unwrap_or_default()),
                Cell::num(s.total_cost.map(crate::view::fmt_n).unwrap_or_default()),
                findings,
                Cell::text(short),
            ]);
        }
        vec![t]
    }
    fn findings(&self) -> &[Finding] {
        &self.findings
    }
    fn findings_mut(&mut self) -> Option<&mut Vec<Finding>> {
        Some(&mut self.findings)
    }
}

/// Read a SQL file for `--workload`/`--file` ([`crate::ops::read_text`]).
pub fn read_sql(path: &Path) -> Result<String, crate::Error> {
    crate::ops::read_text(&path.display().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_table_as_is_explainable_other_ddl_is_not() {
        for ok in [
            "CREATE TABLE t AS SELECT 1",
            "create temp table if not exists \"T x\" (a) with (fillfactor = 70) as (select 1)",
            "CREATE UNLOGGED TABLE t AS WITH x AS (SELECT 1) SELECT * FROM x",
            "CREATE MATERIALIZED VIEW mv AS VALUES (1)",
            "CREATE TABLE t AS TABLE other",
            "SELECT 1",
        ] {
            assert_eq!(not_explainable(ok), None, "{ok}");
        }
        for bad in [
            "CREATE TABLE t (a int)",
            "CREATE TABLE t (a int CHECK (a > 0)) ",
            "CREATE VIEW v AS SELECT 1",
            "ALTER TABLE t ADD COLUMN a int",
            "TRUNCATE t",
        ] {
            let why = not_explainable(bad).unwrap_or_else(|| panic!("{bad}"));
            assert!(why.starts_with("EXPLAIN cannot take"), "{why}");
        }
    }
}
