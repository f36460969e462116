//! Running one step: its resolved arguments become the request of the dbkit operation it
//! names (the same request the CLI builds), the operation runs through `ops` (for real, or in
//! its plan-only mode in a dry run), and its report becomes the step's result: a JSON object
//! with the fields the kind declares ([`super::kinds`]) and the statements it ran or would run.
//! Also each kind's done-condition, re-checked when a run resumes past a finished step.

use crate::db::{ConnSpec, TargetRequest};
use crate::finding::{Finding, Severity};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

/// What a step did (or, in a dry run, would do).
#[derive(Debug, Clone, Default)]
pub struct Done {
    /// The result later steps reference.
    pub result: Value,
    /// One line.
    pub summary: String,
    /// The statements it ran or would run.
    pub sql: Vec<String>,
    /// The findings of the operation's report.
    pub findings: Vec<Finding>,
    /// The connection of the server it worked on (for the WAL position at its end).
    pub server: Option<ConnSpec>,
    /// Whether it ran (false: a dry run showed what it would do).
    pub ran: bool,
}

/// A step's resolved arguments.
pub struct Args<'a> {
    step: &'a str,
    map: &'a Map<String, Value>,
}

fn bad(step: &str, message: impl Into<String>) -> crate::Error {
    crate::Error::Input {
        path: format!("step {step}"),
        message: message.into(),
    }
}

impl<'a> Args<'a> {
    /// Arguments of `step`.
    pub fn new(step: &'a str, map: &'a Map<String, Value>) -> Args<'a> {
        Args { step, map }
    }
    fn err(&self, m: impl Into<String>) -> crate::Error {
        bad(self.step, m)
    }
    /// Text; empty text counts as not given (an input defaulting to "").
    fn str(&self, k: &str) -> Option<String> {
        self.map
            .get(k)
            .and_then(|v| v.as_str())
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    }
    fn need(&self, k: &str) -> Result<String, crate::Error> {
        self.str(k)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| self.err(format!("`{k}` is empty")))
    }
    fn int(&self, k: &str) -> Option<i64> {
        self.map.get(k).and_then(Value::as_i64)
    }
    fn num(&self, k: &str) -> Option<f64> {
        self.map.get(k).and_then(Value::as_f64)
    }
    fn flag(&self, k: &str) -> bool {
        self.map.get(k).and_then(Value::as_bool).unwrap_or(false)
    }
    fn list(&self, k: &str) -> Vec<String> {
        match self.map.get(k) {
            Some(Value::Array(a)) => a
                .iter()
                .filter_map(|v| v.as_str().filter(|s| !s.is_empty()).map(str::to_string))
                .collect(),
            Some(Value::String(s)) if !s.is_empty() => vec![s.clone()],
            _ => Vec::new(),
        }
    }
    fn table(&self, k: &str) -> BTreeMap<String, String> {
        match self.map.get(k) {
            Some(Value::Object(m)) => m
                .iter()
                .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_string())))
                .collect(),
            _ => BTreeMap::new(),
        }
    }
    fn path(&self, k: &str) -> Option<PathBuf> {
        self.str(k).filter(|s| !s.is_empty()).map(PathBuf::from)
    }
    fn url(&self) -> Option<String> {
        self.str("url").filter(|s| !s.is_empty())
    }
    fn target(&self) -> TargetRequest {
        TargetRequest {
            url: self.url(),
            scratch: None,
        }
    }
    fn spec(&self) -> Result<ConnSpec, crate::Error> {
        Ok(ConnSpec::resolve(self.url().as_deref())?)
    }
    fn count(&self, k: &str, default: u32) -> Result<u32, crate::Error> {
        match self.int(k) {
            None => Ok(default),
            Some(n) => {
                u32::try_from(n).map_err(|_| self.err(format!("`{k}` = {n} is out of range")))
            }
        }
    }
    fn millis(&self, k: &str, default: u64) -> Result<Duration, crate::Error> {
        match self.int(k) {
            None => Ok(Duration::from_millis(default)),
            Some(n) if n > 0 => Ok(Duration::from_millis(n as u64)),
            Some(n) => Err(self.err(format!("`{k}` = {n} must be positive"))),
        }
    }
}

fn counts(findings: &[Finding]) -> (usize, usize) {
    (
        findings
            .iter()
            .filter(|f| f.severity == Severity::Error)
            .count(),
        findings
            .iter()
            .filter(|f| f.severity == Severity::Warning)
            .count(),
    )
}

/// The result object: the kind's fields, then the common ones.
fn result(mut fields: Map<String, Value>, summary: &str, findings: &[Finding]) -> Value {
    let (e, w) = counts(findings);
    fields.insert("summary".into(), json!(summary));
    fields.insert(
        "findings".into(),
        serde_json::to_value(findings).unwrap_or(Value::Null),
    );
    fields.insert("errors".into(), json!(e));
    fields.insert("warnings".into(), json!(w));
    Value::Object(fields)
}

fn obj(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

fn to_value<T: serde::Serialize>(v: &T) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

fn done(fields: Value, summary: String, findings: Vec<Finding>, sql: Vec<String>) -> Done {
    Done {
        result: result(obj(fields), &summary, &findings),
        summary,
        sql,
        findings,
        server: None,
        ran: true,
    }
}

/// An explain step's progress as the library's progress events (a bar on a terminal).
struct EventProgress;

impl crate::ops::explain::Progress for EventProgress {
    fn update(&self, done: usize, total: usize, _label: &str) {
        crate::progress("explaining, statement", done, total);
    }
}

/// Whether a statement has a `RETURNING` clause (the keyword outside strings and comments).
fn has_returning(sql: &str) -> bool {
    use crate::sql::lexer::{Lexer, TokenKind};
    Lexer::new(sql)
        .any(|t| t.kind == TokenKind::Word && t.text(sql).eq_ignore_ascii_case("returning"))
}

/// The table part of `schema.name` (public when unqualified).
fn split_table(t: &str) -> (String, String) {
    match t.split_once('.') {
        Some((s, n)) => (s.to_string(), n.to_string()),
        None => ("public".to_string(), t.to_string()),
    }
}

/// Run step kind `kind` with `args`; `execute` false runs a changing kind in its plan-only
/// mode (or only describes it). `config` is the user's dbkit.toml.
pub async fn run_kind(
    kind: &str,
    a: &Args<'_>,
    execute: bool,
    config: &crate::config::Config,
) -> Result<Done, crate::Error> {
    use crate::ops;
    match kind {
        "note" => {
            let text = a.need("text")?;
            Ok(done(json!({ "text": text }), text.clone(), vec![], vec![]))
        }
        "explain" => {
            let source = match (a.str("sql"), a.path("file")) {
                (Some(s), _) => ops::explain::SqlSource::Text(s),
                (None, Some(f)) => ops::explain::SqlSource::File(f),
                (None, None) => return Err(a.err("explain needs `sql` or `file`")),
            };
            let mut options = crate::db::explain::ExplainOptions {
                analyze: a
                    .map
                    .get("analyze")
                    .and_then(Value::as_bool)
                    .unwrap_or(true),
                ..Default::default()
            };
            if let Some(t) = a.str("timeout") {
                options.timeout = crate::calendar::parse_duration(&t)
                    .map_err(|e| a.err(format!("`timeout`: {e}")))?;
            }
            let req = ops::explain::ExplainRequest {
                target: a.target(),
                source,
                options,
                concurrency: 1,
                save: None,
            };
            let r = ops::explain::explain(&req, config, &EventProgress).await?;
            let mut all_idx: Vec<String> = Vec::new();
            let mut all_seq: Vec<String> = Vec::new();
            let (mut ms, mut cost, mut failed) = (0.0, 0.0, 0);
            let statements: Vec<Value> = r
                .statements
                .iter()
                .map(|s| {
                    let (mut idx, mut seq) = (Vec::new(), Vec::new());
                    if let Some(p) = &s.parsed {
                        p.root.walk(&mut |n, _| {
                            if let Some(i) = &n.index_name {
                                idx.push(i.clone());
                            }
                            if n.node_type.contains("Seq Scan") {
                                if let Some(r) = &n.relation_name {
                                    seq.push(r.clone());
                                }
                            }
                        });
                    }
                    ms += s.execution_ms.unwrap_or(0.0);
                    cost += s.total_cost.unwrap_or(0.0);
                    if s.error.is_some() {
                        failed += 1;
                    }
                    for i in &idx {
                        if !all_idx.contains(i) {
                            all_idx.push(i.clone());
                        }
                    }
                    for t in &seq {
                        if !all_seq.contains(t) {
                            all_seq.push(t.clone());
                        }
                    }
                    json!({
                        "text": crate::secret::excerpt(&s.text, 500), "line": s.line,
                        "status": to_value(&s.status), "execution_ms": s.execution_ms,
                        "total_cost": s.total_cost, "indexes": idx, "seq_scans": seq,
                        "error": s.error,
                    })
                })
                .collect();
            let summary = format!(
                "{} statement(s) explained, {failed} failed; indexes used: {}",
                r.statements.len(),
                if all_idx.is_empty() {
                    "none".to_string()
                } else {
                    all_idx.join(", ")
                }
            );
            let mut d = done(
                json!({"statements": statements, "failed": failed, "indexes": all_idx,
                       "seq_scans": all_seq, "total_ms": ms, "total_cost": cost}),
                summary,
                r.findings.clone(),
                vec![],
            );
            d.server = Some(a.spec()?);
            Ok(d)
        }
        "index.advise" => {
            let req = ops::index::AdviseRequest {
                target: a.target(),
                workload: a.str("workload"),
                options: ops::index::AdviseOptions {
                    max_indexes: a.count("max_indexes", 10)? as usize,
                    max_per_table: a.count("max_per_table", 3)? as usize,
                    max_size_bytes: a.num("max_size_mb").map(|m| (m * 1_048_576.0) as i64),
                    ..Default::default()
                },
                apply: None,
            };
            let r = ops::index::run_advise(&req, &|_| {}).await?;
            let pct = |before: f64, after: f64| {
                if before > 0.0 {
                    ((1.0 - after / before) * 1000.0).round() / 10.0
                } else {
                    0.0
                }
            };
            let rec = |x: &ops::index::Recommendation| {
                let before: f64 = x
                    .queries
                    .iter()
                    .map(|q| q.cost_before * q.calls as f64)
                    .sum();
                let mut v = obj(to_value(x));
                v.insert("name".into(), json!(x.index.name()));
                v.insert(
                    "saving_pct".into(),
                    json!(pct(before, before - x.weighted_saving)),
                );
                Value::Object(v)
            };
            let recs: Vec<Value> = r.recommendations.iter().map(rec).collect();
            let unverified: Vec<Value> = r.unverified.iter().map(rec).collect();
            let saving = pct(r.cost_before, r.cost_after);
            let summary = crate::view::Report::summary(&r);
            let mut d = done(
                json!({"recommendations": recs, "unverified": unverified,
                       "count": r.recommendations.len(), "hypopg": r.hypopg,
                       "cost_before": r.cost_before, "cost_after": r.cost_after,
                       "saving_pct": saving, "queries": r.queries}),
                summary,
                r.findings.clone(),
                vec![],
            );
            d.server = Some(a.spec()?);
            Ok(d)
        }
        "index.apply" => {
            let specs = index_specs(a)?;
            let sql: Vec<String> = specs.iter().map(|s| s.create_sql()).collect();
            let spec = a.spec()?;
            if !execute {
                let names: Vec<String> = specs.iter().map(|s| s.name()).collect();
                let mut d = done(
                    json!({"applied": [], "built": [], "failed": 0}),
                    format!(
                        "would build {} index(es): {}",
                        specs.len(),
                        names.join(", ")
                    ),
                    vec![],
                    sql,
                );
                d.ran = false;
                return Ok(d);
            }
            let lock_timeout = a.str("lock_timeout").unwrap_or_else(|| "5s".into());
            let retries = a.count("retries", 1)?;
            let applied =
                ops::index::apply_with_retries(&spec, &specs, &lock_timeout, retries, &|x| {
                    tracing::info!(ddl = %x.ddl, status = %x.status, "index build");
                })
                .await?;
            let built: Vec<String> = applied
                .iter()
                .filter(|x| x.status == crate::db::build::BuildStatus::Built)
                .map(|x| x.name.clone())
                .collect();
            let failed = applied.len() - built.len();
            let summary = format!(
                "{} of {} index(es) built{}",
                built.len(),
                applied.len(),
                if failed > 0 {
                    format!(", {failed} failed (invalid builds dropped)")
                } else {
                    String::new()
                }
            );
            let mut d = done(
                json!({"applied": to_value(&applied), "built": built, "failed": failed}),
                summary,
                vec![],
                sql,
            );
            d.server = Some(spec);
            Ok(d)
        }
        "partition.create" => {
            let source = match (a.path("schema"), a.url()) {
                (Some(p), _) => ops::partition::TableSource::Schema(p),
                (None, u) => ops::partition::TableSource::Live(u),
            };
            let req = ops::partition::CreateRequest {
                source,
                table: a.need("table")?,
                key: a.need("key")?,
                interval: a.str("interval"),
                step: a.int("step"),
                modulus: a.int("modulus").map(|m| m as u32),
                list: vec![],
                start: a.str("start"),
                end: a.str("end"),
                premake: a.int("premake").map(|m| m as u32),
                default_partition: a.flag("default_partition"),
                subpartition_hash: None,
                tablespace: None,
                timezone: a.str("timezone"),
            };
            let s = ops::partition::create(&req).await?;
            let summary = format!("{} partition(s) of {}", s.partitions.len(), s.table);
            Ok(done(
                json!({"sql": s.script, "partitions": s.partitions.len(), "table": s.table}),
                summary,
                vec![],
                vec![s.script.clone()],
            ))
        }
        "partition.convert" => {
            // `check_only`: the conversion's plan and SQL, even in an executed run (for review).
            let check_only = a.flag("check_only");
            let execute = execute && !check_only;
            let table = a.need("table")?;
            let (schema, name) = split_table(&table);
            let spec = a.spec()?;
            if execute && crate::db::steps::is_partitioned(&spec, &schema, &name).await? {
                // Converted by an earlier attempt whose end was not journaled.
                let mut d = done(
                    json!({"table": table, "boundary": "", "steps": 0, "sql": [], "partitioned": true}),
                    format!("{table} is already partitioned"),
                    vec![],
                    vec![],
                );
                d.server = Some(spec);
                return Ok(d);
            }
            let req = ops::partition::ConvertRequest {
                target: a.target(),
                table: table.clone(),
                key: a.need("key")?,
                interval: a.need("interval")?.parse()?,
                premake: a.count("premake", 3)?,
                timezone: a.str("timezone").unwrap_or_else(|| "UTC".into()),
                execute,
                lock_timeout: a.str("lock_timeout").unwrap_or_else(|| "5s".into()),
            };
            let r = ops::partition::convert(&req, &|s| {
                tracing::info!(partition = %s.partition, status = ?s.status, "convert step");
            })
            .await?;
            if r.failed() {
                return Err(a.err(format!(
                    "a conversion step failed: {}",
                    r.results
                        .iter()
                        .filter_map(|x| x.error.clone())
                        .collect::<Vec<_>>()
                        .join("; ")
                )));
            }
            let sql: Vec<String> = r
                .plan
                .steps
                .iter()
                .flat_map(|s| s.sql.iter().cloned())
                .collect();
            let summary = format!(
                "{} {table} into partitions in {} step(s) (old rows before {})",
                if execute {
                    "converted"
                } else {
                    "would convert"
                },
                r.plan.steps.len(),
                r.plan.boundary
            );
            let mut d = done(
                json!({"table": table, "boundary": r.plan.boundary, "steps": r.plan.steps.len(),
                       "sql": sql, "partitioned": execute}),
                summary,
                vec![],
                sql,
            );
            d.ran = execute || check_only;
            d.server = Some(spec);
            Ok(d)
        }
        "partition.maintain" => {
            // `check_only`: the plan, even in an executed run (nothing left to do?).
            let execute = execute && !a.flag("check_only");
            let (r, spec) = maintain(a, execute).await?;
            if r.failed() {
                return Err(a.err("a maintenance step failed (see the partition maintain report)"));
            }
            let steps: Vec<&crate::ddl::maintenance::Step> =
                r.tables.iter().flat_map(|t| &t.steps).collect();
            let n = |act: &str| steps.iter().filter(|s| s.action.starts_with(act)).count();
            let sql: Vec<String> = steps.iter().flat_map(|s| s.sql.iter().cloned()).collect();
            let summary = format!(
                "{} {} step(s) on {} table(s): {} create, {} detach, {} drop",
                if execute { "ran" } else { "would run" },
                steps.len(),
                r.tables.len(),
                n("create"),
                n("detach"),
                n("drop")
            );
            let mut d = done(
                json!({"steps": steps.len(), "created": n("create"), "detached": n("detach"),
                       "dropped": n("drop"), "failed": 0, "sql": sql,
                       "tables": to_value(&r.tables)}),
                summary,
                vec![],
                sql,
            );
            d.ran = execute || a.flag("check_only");
            d.server = Some(spec);
            for w in r.warnings {
                d.summary.push_str(&format!("; {w}"));
            }
            Ok(d)
        }
        "check" => {
            let database = if a.flag("scratch") {
                Some(TargetRequest {
                    url: None,
                    scratch: Some(crate::db::ScratchLoad::default()),
                })
            } else {
                a.url().map(|u| TargetRequest {
                    url: Some(u),
                    scratch: None,
                })
            };
            let observed = database.is_some();
            let req = ops::check::CheckRequest {
                paths: a.list("paths"),
                pg_version: a.int("pg_version").map(|v| v as u32),
                history: a.list("history"),
                schema: a.str("schema"),
                database,
                base: a.list("base"),
                workload: a.str("workload"),
                max_cost_increase: a.num("max_cost_increase"),
                ..Default::default()
            };
            let mut r = ops::check::run(&req, config).await?;
            config.apply_to(&mut r);
            let regressions = r
                .findings
                .iter()
                .filter(|f| f.rule.family() == crate::finding::Family::PlanDiff)
                .count();
            let summary = crate::view::Report::summary(&r);
            Ok(done(
                json!({"files": r.files.len(), "regressions": regressions, "observed": observed}),
                summary,
                r.findings.clone(),
                vec![],
            ))
        }
        "shard.inspect" => {
            let req = ops::shard::InspectRequest {
                map: a.need("map")?.into(),
                urls: a.table("urls"),
                threshold: a.num("threshold").unwrap_or(0.1),
                sample_rows: 10_000,
                timeout: Duration::from_secs(60),
                // Writing the map is a change: only when executing.
                write_map: a.path("write_map").filter(|_| execute),
                allow_partial: false,
            };
            let r = ops::shard::inspect(&req).await?;
            let unread: Vec<String> = r
                .nodes
                .iter()
                .filter(|n| !n.reachable)
                .map(|n| n.node.clone())
                .collect();
            if let Some(why) = &r.write_refused {
                return Err(a.err(format!("the map with live sizes was not written: {why}")));
            }
            let summary = format!(
                "{} node(s) read{}, {} finding(s)",
                r.nodes.len() - unread.len(),
                if unread.is_empty() {
                    String::new()
                } else {
                    format!(", unreachable: {}", unread.join(", "))
                },
                r.findings.len()
            );
            Ok(done(
                json!({"nodes": r.nodes.len(), "unread": unread,
                       "map_written": a.str("write_map").filter(|_| execute)}),
                summary,
                r.findings.clone(),
                vec![],
            ))
        }
        "shard.plan" => {
            let req = plan_request(a)?;
            let r = ops::shard::plan(&req)?;
            let moves: Vec<Value> = r
                .plan
                .moves
                .iter()
                .map(|m| json!({"shards": m.shards, "from": m.from, "to": m.to, "bytes": m.bytes}))
                .collect();
            let bytes: u64 = r.plan.moves.iter().map(|m| m.bytes).sum();
            let summary = crate::view::Report::summary(&r);
            Ok(done(
                json!({"moves": moves, "move_count": r.plan.moves.len(),
                       "splits": r.plan.splits.len(), "version": r.version,
                       "new_version": r.new_version, "bytes_moved": bytes}),
                summary,
                r.plan.findings.clone(),
                vec![],
            ))
        }
        "shard.move" => {
            let mut req = ops::shard_move::MoveRequest::new(
                a.need("map")?.into(),
                a.int("shard")
                    .and_then(|s| u64::try_from(s).ok())
                    .ok_or_else(|| a.err("`shard` must be a shard id"))?,
                ops::shard_move::Action::To(a.need("to")?),
            );
            req.execute = execute;
            req.urls = a.table("urls");
            req.max_pause = a.millis("max_pause_ms", 1000)?;
            req.drop_source = a.flag("drop_source");
            let r = ops::shard_move::run_move(&req).await?;
            let sql: Vec<String> = r
                .steps
                .iter()
                .flat_map(|s| {
                    s.statements.iter().map(|x| {
                        format!(
                            "-- on {}\n{}",
                            crate::sql::ident::comment_text(&x.node),
                            x.sql
                        )
                    })
                })
                .collect();
            let finished = r.state == "done";
            if execute && !finished {
                return Err(a.err(format!(
                    "the move of shard {} stopped in state {:?} (rerun to resume)",
                    r.shard, r.state
                )));
            }
            let verified = r.verify.as_ref().is_some_and(|v| v.differences.is_empty());
            let summary = format!(
                "shard {} {} {} → {}{}",
                r.shard,
                if execute { "moved" } else { "would move" },
                r.from,
                r.to,
                r.pause_ms
                    .map(|p| format!(", writes paused {p} ms"))
                    .unwrap_or_default()
            );
            let mut d = done(
                json!({"done": finished, "verified": verified, "from": r.from, "to": r.to,
                       "pause_ms": r.pause_ms}),
                summary,
                r.findings.clone(),
                sql,
            );
            d.ran = execute;
            Ok(d)
        }
        "shard.rebalance" => {
            let req = ops::shard_rebalance::RebalanceRequest {
                plan: plan_request(a)?,
                execute,
                max_concurrent_moves: a.count("max_concurrent_moves", 1)?.max(1) as usize,
                urls: a.table("urls"),
                max_pause: a.millis("max_pause_ms", 1000)?,
                drop_source: a.flag("drop_source"),
            };
            let r = ops::shard_rebalance::rebalance(&req).await?;
            let done_n = r
                .moves
                .iter()
                .filter(|m| m.status.starts_with("done"))
                .count();
            if execute && !r.complete {
                let why: Vec<String> = r
                    .moves
                    .iter()
                    .filter(|m| !m.status.starts_with("done"))
                    .map(|m| format!("{} → {}: {}", m.planned.from, m.planned.to, m.status))
                    .collect();
                return Err(a.err(format!(
                    "the rebalance did not finish ({}); rerun to resume",
                    why.join("; ")
                )));
            }
            let summary = crate::view::Report::summary(&r);
            let mut d = done(
                json!({"moves": r.moves.len(), "done": done_n,
                       "verified": r.findings.iter().all(|f| f.severity < Severity::Error),
                       "finished": r.complete}),
                summary,
                r.findings.clone(),
                vec![],
            );
            d.ran = execute;
            Ok(d)
        }
        "shard.export" => {
            let engine = match a.need("engine")?.as_str() {
                "postgres_fdw" | "postgres-fdw" | "fdw" => ops::shard::Engine::PostgresFdw,
                "plproxy" => ops::shard::Engine::Plproxy,
                "citus" => ops::shard::Engine::Citus,
                other => {
                    return Err(a.err(format!(
                        "unknown engine {other:?} (postgres_fdw, plproxy or citus)"
                    )))
                }
            };
            let output = a.path("output");
            let r = ops::shard::export(&ops::shard::ExportRequest {
                map: a.need("map")?.into(),
                engine,
                urls: a.table("urls"),
                cluster: a.str("cluster").unwrap_or_else(|| "dbkit".into()),
                output: if execute { output.clone() } else { None },
            })
            .await?;
            let out = output.map(|p| p.display().to_string()).unwrap_or_default();
            let mut d = done(
                json!({"sql": r.export.coordinator, "output": out}),
                format!(
                    "{} {} SQL for map version {} {}",
                    if execute { "wrote" } else { "would write" },
                    r.export.engine,
                    r.version,
                    out
                ),
                vec![],
                vec![r.export.coordinator.clone()],
            );
            d.ran = execute;
            Ok(d)
        }
        "route.probe" => {
            let r = ops::route::probe(std::path::Path::new(&a.need("map")?)).await?;
            let servers: Vec<Value> = r
                .servers
                .iter()
                .map(|s| {
                    json!({"name": s.name, "role": to_value(&s.role), "reachable": s.role.is_some(),
                                "lag_ms": s.lag_ms, "lag_bytes": s.lag_bytes, "admitted": s.in_pool,
                                "reason": s.reason})
                })
                .collect();
            let admitted = r.servers.iter().filter(|s| s.in_pool).count();
            let max_lag = r.servers.iter().filter_map(|s| s.lag_ms).max();
            let summary = format!(
                "{admitted} of {} server(s) take traffic; largest replica lag {}",
                r.servers.len(),
                max_lag.map_or("unknown".to_string(), |l| format!("{l} ms"))
            );
            Ok(done(
                json!({"servers": servers, "admitted": admitted, "max_lag_ms": max_lag}),
                summary,
                r.findings.clone(),
                vec![],
            ))
        }
        "route.export" => {
            let tool = a.need("tool")?;
            let tool = [
                crate::routing::export::Tool::Pgcat,
                crate::routing::export::Tool::Pgdog,
                crate::routing::export::Tool::Pgbouncer,
                crate::routing::export::Tool::Haproxy,
            ]
            .into_iter()
            .find(|t| t.name() == tool)
            .ok_or_else(|| {
                a.err(format!(
                    "unknown tool {tool:?} (pgcat, pgdog, pgbouncer or haproxy)"
                ))
            })?;
            let output = a.path("output");
            let r = ops::route::export(&ops::route::ExportRequest {
                map: a.need("map")?.into(),
                tool,
                listen_port: a.int("listen_port").and_then(|p| u16::try_from(p).ok()),
                output: if execute { output.clone() } else { None },
            })?;
            let out = output.map(|p| p.display().to_string()).unwrap_or_default();
            let mut d = done(
                json!({"config": r.config, "output": out}),
                format!(
                    "{} the {} configuration {}",
                    if execute { "wrote" } else { "would write" },
                    tool.name(),
                    out
                ),
                vec![],
                vec![],
            );
            d.ran = execute;
            Ok(d)
        }
        "sql" => {
            let sql = a.need("sql")?;
            let one = crate::sql::split(&sql);
            let statements: Vec<_> = one
                .statements
                .iter()
                .filter(|s| !s.text.trim().is_empty())
                .collect();
            if statements.len() != 1 {
                return Err(a.err(format!(
                    "a sql step runs one statement; this holds {}",
                    statements.len()
                )));
            }
            if crate::sql::txn::transaction_control(&sql).is_some() {
                return Err(a.err(
                    "a sql step runs one statement on its own connection, which is closed after it: transaction control (BEGIN, COMMIT, SET TRANSACTION…) has no effect there",
                ));
            }
            let spec = a.spec()?;
            let read_only = a.flag("read_only");
            let kind = crate::sql::classify(&sql);
            // A query, or a write with RETURNING: its rows are read (through a CTE).
            let returns_rows = kind.kind == crate::sql::StatementKind::Read
                || (kind.kind == crate::sql::StatementKind::Write && has_returning(&sql));
            if !execute && !read_only {
                let mut d = done(
                    json!({"rows": [], "count": 0, "affected": 0}),
                    "would run the statement".into(),
                    vec![],
                    vec![sql],
                );
                d.ran = false;
                return Ok(d);
            }
            if let Some(check) = a.str("done") {
                if crate::db::steps::query_true(&spec, &check).await? {
                    let mut d = done(
                        json!({"rows": [], "count": 0, "affected": 0}),
                        "already done (its `done` query is true)".into(),
                        vec![],
                        vec![],
                    );
                    d.server = Some(spec);
                    return Ok(d);
                }
            }
            let ran = crate::db::steps::run_statement(
                &spec,
                &sql,
                returns_rows,
                read_only,
                a.str("timeout").as_deref(),
                1000,
            )
            .await?;
            if let Some(want) = a.int("expect_rows") {
                if ran.affected as i64 != want {
                    return Err(a.err(format!(
                        "expected {want} row(s), the statement {} {}",
                        if returns_rows { "returned" } else { "changed" },
                        ran.affected
                    )));
                }
            }
            let summary = if returns_rows {
                format!(
                    "{} row(s){}",
                    ran.rows.len(),
                    if ran.truncated {
                        " (first 1000 kept)"
                    } else {
                        ""
                    }
                )
            } else {
                format!("ran ({} row(s) changed)", ran.affected)
            };
            let mut d = done(
                json!({"rows": ran.rows, "count": ran.rows.len(), "affected": ran.affected}),
                summary,
                vec![],
                vec![sql],
            );
            d.server = Some(spec);
            Ok(d)
        }
        other => Err(crate::Error::Internal(format!(
            "step kind {other} has no runner"
        ))),
    }
}

async fn maintain(
    a: &Args<'_>,
    execute: bool,
) -> Result<(crate::ops::partition::MaintainReport, ConnSpec), crate::Error> {
    let req = crate::ops::partition::MaintainRequest {
        target: a.target(),
        table: a.str("table"),
        options: crate::ddl::maintenance::MaintainOptions {
            premake: a.count("premake", 4)?,
            // 0 (an input's default): keep every partition.
            retention_days: a.num("retention_days").filter(|d| *d > 0.0),
            drop: a.flag("drop"),
            concurrent_detach: true,
            timezone: a.str("timezone").unwrap_or_else(|| "UTC".into()),
        },
        execute,
        lock_timeout: a.str("lock_timeout").unwrap_or_else(|| "5s".into()),
    };
    let r = crate::ops::partition::maintain(&req, &|s| {
        tracing::info!(partition = %s.partition, status = ?s.status, "maintenance step");
    })
    .await?;
    Ok((r, a.spec()?))
}

fn plan_request(a: &Args<'_>) -> Result<crate::ops::shard::PlanRequest, crate::Error> {
    use crate::shard::plan::Strategy;
    let strategy = match a.str("strategy").as_deref() {
        None | Some("size") => Strategy::BySize,
        Some("count") => Strategy::ByCount,
        Some("load") => Strategy::ByLoad,
        Some(other) => {
            return Err(a.err(format!("unknown strategy {other:?} (size, count or load)")))
        }
    };
    Ok(crate::ops::shard::PlanRequest {
        map: a.need("map")?.into(),
        strategy,
        threshold: a.num("threshold").unwrap_or(0.1),
        drain: a.list("drain"),
        add: a
            .list("add")
            .iter()
            .map(|n| crate::ops::shard::parse_added_node(n))
            .collect::<Result<_, _>>()?,
        no_split: a.flag("no_split"),
        write_map: a.path("write_map"),
    })
}

/// The indexes of an `index.apply` step: recommendations of `index.advise` (objects with an
/// `index`), index definitions, at most `max`.
fn index_specs(a: &Args<'_>) -> Result<Vec<crate::ddl::index::IndexSpec>, crate::Error> {
    let items =
        match a.map.get("indexes") {
            Some(Value::Array(v)) => v.clone(),
            Some(v @ Value::Object(_)) => vec![v.clone()],
            _ => return Err(a.err(
                "`indexes` must be a list of recommendations (\"${steps.advise.recommendations}\")",
            )),
        };
    let max = a.int("max").map_or(usize::MAX, |m| m.max(0) as usize);
    items
        .iter()
        .filter(|v| v.get("verified").and_then(Value::as_bool) != Some(false))
        .take(max)
        .map(|v| {
            let spec = v.get("index").unwrap_or(v);
            let spec: crate::ddl::index::IndexSpec =
                serde_json::from_value(spec.clone()).map_err(|e| {
                    a.err(format!(
                        "an item of `indexes` is not an index recommendation: {e}"
                    ))
                })?;
            if !["btree", "hash", "gin", "gist", "brin", "spgist"].contains(&spec.method.as_str()) {
                return Err(a.err(format!("unknown index method {:?}", spec.method)));
            }
            Ok(spec)
        })
        .collect()
}

/// Whether a step that finished in an earlier attempt still holds (re-checked on resume):
/// its index is still valid, its table still partitioned, its shard still where it went, its
/// file still there, its `done` query still true. `Ok(None)`: nothing to re-check (the step
/// changes nothing, or keeps no checkable trace); `Ok(Some(why))`: it no longer holds.
pub async fn recheck(
    kind: &str,
    a: &Args<'_>,
    result: &Value,
) -> Result<Option<String>, crate::Error> {
    if a.flag("check_only") {
        return Ok(None);
    }
    match kind {
        "index.apply" => {
            let spec = a.spec()?;
            let applied = result.get("applied").and_then(Value::as_array);
            for x in applied.into_iter().flatten() {
                if x.get("status").and_then(Value::as_str) != Some("built") {
                    continue;
                }
                let name = x.get("name").and_then(Value::as_str).unwrap_or_default();
                let schema = x.get("schema").and_then(Value::as_str).unwrap_or_default();
                if !crate::db::steps::index_valid(&spec, schema, name).await? {
                    return Ok(Some(format!("index {name} is no longer there and valid")));
                }
            }
            Ok(None)
        }
        "partition.convert" => {
            let (schema, name) = split_table(&a.need("table")?);
            if crate::db::steps::is_partitioned(&a.spec()?, &schema, &name).await? {
                Ok(None)
            } else {
                Ok(Some(format!("{schema}.{name} is not partitioned")))
            }
        }
        "partition.maintain" => {
            let (r, _) = maintain(a, false).await?;
            let left: usize = r
                .tables
                .iter()
                .flat_map(|t| &t.steps)
                .filter(|s| s.action.starts_with("create"))
                .count();
            Ok((left > 0).then(|| format!("{left} partition(s) to create again")))
        }
        "shard.move" => {
            let map = crate::ops::shard::load_valid(std::path::Path::new(&a.need("map")?), 0.1)?;
            let shard = a.int("shard").unwrap_or(-1);
            let to = a.need("to")?;
            let at = map
                .shards
                .iter()
                .find(|s| s.id as i64 == shard)
                .map(|s| s.node.clone());
            Ok((at.as_deref() != Some(to.as_str()))
                .then(|| format!("the map places shard {shard} on {}", at.unwrap_or_default())))
        }
        "shard.export" | "route.export" => {
            let out = a.need("output")?;
            Ok((!std::path::Path::new(&out).exists()).then(|| format!("{out} is gone")))
        }
        "sql" => match a.str("done") {
            Some(check) => Ok((!crate::db::steps::query_true(&a.spec()?, &check).await?)
                .then(|| "its `done` query is no longer true".to_string())),
            None => Ok(None),
        },
        _ => Ok(None),
    }
}
