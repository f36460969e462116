//! `dbkit index advise`: candidates from the workload, verified with hypothetical indexes,
//! chosen greedily for the largest weighted saving (calls × cost saved) under budgets; and
//! `--apply`, which builds the chosen indexes concurrently, one at a time.

pub use crate::advise::select::AdviseOptions;
use crate::advise::select::{table_key, Observation, Selector};
use crate::advise::{candidates, Candidate, WorkloadQuery};
use crate::analyze::index::size;
use crate::catalog::Catalog;
use crate::db::hypo::HypoSession;
use crate::db::{ConnSpec, DbError};
use crate::ddl::index::IndexSpec;
use crate::finding::{Finding, Location, Severity};
use crate::sql::extract::References;
use crate::sql::{classify, StatementKind};
use crate::view::{Cell, Report, Table, Tone};
use serde::Serialize;

/// A query helped by a recommendation.
#[derive(Debug, Clone, Serialize)]
pub struct QueryGain {
    /// Fingerprint.
    pub fingerprint: String,
    /// The query (shortened).
    pub sql: String,
    /// Its weight.
    pub calls: u64,
    /// Planner cost before any recommendation.
    pub cost_before: f64,
    /// Planner cost with the recommendations up to and including this one.
    pub cost_after: f64,
}

/// One recommended (or unverified) index.
#[derive(Debug, Clone, Serialize)]
pub struct Recommendation {
    /// `CREATE INDEX CONCURRENTLY IF NOT EXISTS …;`
    pub ddl: String,
    /// The index itself.
    pub index: IndexSpec,
    /// Schema-qualified table.
    pub table: String,
    /// Candidate kind.
    pub kind: crate::advise::CandidateKind,
    /// Checked against the planner with a hypothetical index.
    pub verified: bool,
    /// Why not verified, or what was weighed (writes).
    pub note: Option<String>,
    /// Estimated size (HypoPG), bytes.
    pub size_bytes: Option<i64>,
    /// Weighted cost saved (calls × cost).
    pub weighted_saving: f64,
    /// The queries it helps.
    pub queries: Vec<QueryGain>,
    /// Why: the predicates and sorts it serves.
    pub why: Vec<String>,
}

/// `dbkit index advise`.
#[derive(Debug, Clone, Serialize)]
pub struct AdviseReport {
    /// Where (no password).
    pub target: String,
    /// Whether HypoPG verified the advice.
    pub hypopg: bool,
    /// Queries in the workload (distinct shapes).
    pub queries: usize,
    /// Queries that could be planned.
    pub planned: usize,
    /// Weighted cost of the workload before.
    pub cost_before: f64,
    /// Weighted cost with the recommended indexes.
    pub cost_after: f64,
    /// Verified recommendations, in the order chosen.
    pub recommendations: Vec<Recommendation>,
    /// Heuristic advice that could not be verified.
    pub unverified: Vec<Recommendation>,
    /// Candidates tried and not chosen, with why.
    pub rejected: Vec<(String, String)>,
    /// Queries that could not be planned, with the error (each is a `statement-failed` error
    /// finding too).
    pub errors: Vec<(String, String)>,
    /// pg_stat_statements entries left out as not the application's: catalog-only reads
    /// (dbkit's own among them), HypoPG calls, EXPLAIN/PREPARE of planning sessions.
    pub excluded: usize,
    /// One `missing-index` finding per recommendation.
    pub findings: Vec<Finding>,
    /// With `--apply`: what happened to each build.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub applied: Vec<crate::db::build::Applied>,
}

impl AdviseReport {
    /// Whether an `--apply` build did not end with a valid index.
    pub fn apply_failed(&self) -> bool {
        self.applied
            .iter()
            .any(|a| a.status != crate::db::build::BuildStatus::Built)
    }
}

/// What `dbkit index advise` asks for.
#[derive(Debug, Clone, Default)]
pub struct AdviseRequest {
    /// The database.
    pub target: crate::db::TargetRequest,
    /// A workload file ([`crate::ops::workload::load_queries`]); `None`: the server's
    /// pg_stat_statements.
    pub workload: Option<String>,
    /// Budgets.
    pub options: AdviseOptions,
    /// Build the verified indexes with this `lock_timeout` (`--apply`).
    pub apply: Option<String>,
}

/// `dbkit index advise`: the workload (from a file or pg_stat_statements), the verified
/// advice, and with `apply` the builds, each reported through `progress` as it ends.
pub async fn run_advise(
    req: &AdviseRequest,
    progress: &dyn Fn(&crate::db::build::Applied),
) -> Result<AdviseReport, crate::Error> {
    let file_workload = match &req.workload {
        Some(w) => Some(crate::ops::workload::load_queries(w)?),
        None => None,
    };
    let target = req.target.open().await?;
    let (workload, excluded) = match file_workload {
        Some(w) => (w, 0),
        None => {
            let all = WorkloadQuery::from_pgss(crate::db::pg_stat_statements(&target.spec).await?);
            let n = all.len();
            let own: Vec<WorkloadQuery> = all
                .into_iter()
                .filter(|q| !crate::advise::not_the_applications(&q.sql))
                .collect();
            let excluded = n - own.len();
            (own, excluded)
        }
    };
    let mut report = advise(&target.spec, workload, &req.options).await?;
    report.excluded = excluded;
    if let Some(lock_timeout) = &req.apply {
        report.applied = apply(
            &target.spec,
            &report.recommendations,
            lock_timeout,
            progress,
        )
        .await?;
    }
    Ok(report)
}

/// `dbkit index check`: the catalog of the target read in one connection, and the index
/// hygiene rules over it.
pub async fn check(
    target: &crate::db::TargetRequest,
    cfg: &crate::config::Config,
) -> Result<crate::analyze::index::report::IndexCheckReport, crate::Error> {
    let target = target.open().await?;
    let mut conn = crate::db::connect(&target.spec).await?;
    let cat = crate::db::catalog::load(&mut conn).await;
    crate::db::close(conn).await;
    Ok(crate::analyze::index::report::IndexCheckReport::build(
        &cat?, cfg,
    ))
}

fn plannable(sql: &str) -> bool {
    let c = classify(sql);
    match c.kind {
        StatementKind::Read => c.command != "COPY TO",
        StatementKind::Write => matches!(c.command.as_str(), "UPDATE" | "DELETE"),
        _ => false,
    }
}

fn short(s: &str) -> String {
    let s: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if s.chars().count() > 100 {
        s.chars().take(99).collect::<String>() + "…"
    } else {
        s
    }
}

/// Root cost of a plan, and whether it uses the index named `uses`.
fn cost_of(json: &str, uses: Option<&str>) -> Option<(f64, bool)> {
    let plans = crate::plan::json::parse(json).ok()?;
    let p = plans.first()?;
    let mut used = false;
    if let Some(name) = uses {
        p.root.walk(&mut |n, _| {
            if n.index_name.as_deref().is_some_and(|i| i.contains(name)) {
                used = true;
            }
        });
    }
    Some((p.root.total_cost.unwrap_or(0.0), used))
}

/// The queries of the workload that read `table` (by the parsed references).
fn touching(parsed: &[Option<References>], cat: &Catalog, table: &str) -> Vec<usize> {
    parsed
        .iter()
        .enumerate()
        .filter(|(_, r)| {
            r.as_ref().is_some_and(|r| {
                r.tables.iter().any(|t| {
                    cat.table(&t.name)
                        .is_some_and(|x| format!("{}.{}", x.schema, x.name) == table)
                })
            })
        })
        .map(|(i, _)| i)
        .collect()
}

/// Advise indexes for `workload` on the database at `spec`.
pub async fn advise(
    spec: &ConnSpec,
    workload: Vec<WorkloadQuery>,
    opts: &AdviseOptions,
) -> Result<AdviseReport, crate::Error> {
    let mut conn = crate::db::connect(spec).await?;
    let t = std::time::Instant::now();
    let cat = crate::db::catalog::load(&mut conn).await?;
    tracing::info!(
        tables = cat.tables.len(),
        ms = t.elapsed().as_millis() as u64,
        "catalog read"
    );
    crate::db::close(conn).await;
    let parsed: Vec<Option<References>> = workload
        .iter()
        .map(|q| {
            if plannable(&q.sql) {
                crate::sql::parse_statement(&q.sql)
                    .ok()
                    .map(|s| crate::sql::extract::extract(&s))
            } else {
                None
            }
        })
        .collect();
    let cands = candidates(&cat, &workload, &parsed);
    tracing::info!(
        queries = workload.len(),
        candidates = cands.len(),
        "verifying index candidates with hypothetical indexes"
    );
    let mut session = HypoSession::open(spec).await?;
    // Baseline costs.
    let mut current: Vec<Option<f64>> = vec![None; workload.len()];
    let mut errors = Vec::new();
    for (i, q) in workload.iter().enumerate() {
        crate::progress("planning the workload, query", i, workload.len());
        if parsed[i].is_none() {
            continue;
        }
        match session.plan(&q.sql).await {
            Ok(j) => current[i] = cost_of(&j, None).map(|c| c.0),
            // A broken connection is the end of the run, not a query's error.
            Err(e) if e.is_fatal() => return Err(e.into()),
            Err(e) => errors.push((short(&q.sql), e.to_string())),
        }
    }
    crate::progress(
        "planning the workload, query",
        workload.len(),
        workload.len(),
    );
    let before: Vec<Option<f64>> = current.clone();
    let mut recommendations = Vec::new();
    let mut unverified = Vec::new();
    let (verifiable, heuristic): (Vec<Candidate>, Vec<Candidate>) = cands
        .into_iter()
        .partition(|c| c.unverifiable.is_none() && session.hypopg);
    for c in heuristic {
        let note = c
            .unverifiable
            .clone()
            .or_else(|| session.hypopg_note.clone());
        unverified.push(Recommendation {
            ddl: c.spec.create_sql(),
            index: c.spec.clone(),
            table: table_key(&c),
            kind: c.kind,
            verified: false,
            note: Some(format!("unverified: {}", note.unwrap_or_default())),
            size_bytes: None,
            weighted_saving: c.queries.iter().map(|&i| workload[i].calls as f64).sum(),
            queries: c
                .queries
                .iter()
                .map(|&i| QueryGain {
                    fingerprint: workload[i].fingerprint.clone(),
                    sql: short(&workload[i].sql),
                    calls: workload[i].calls,
                    cost_before: before[i].unwrap_or(0.0),
                    cost_after: before[i].unwrap_or(0.0),
                })
                .collect(),
            why: c.why.clone(),
        });
    }
    // Greedy selection (advise::select) with the costs HypoPG's hypothetical indexes give.
    let write_ratio = verifiable
        .iter()
        .filter_map(|c| {
            let t = cat.table(&table_key(c))?;
            let reads = (t.seq_scan + t.idx_scan).max(1) as f64;
            Some((
                table_key(c),
                t.writes() as f64 / (t.writes() as f64 + reads),
            ))
        })
        .collect();
    let mut sel = Selector::new(
        verifiable,
        workload.iter().map(|q| q.calls).collect(),
        current,
        write_ratio,
        opts.clone(),
    );
    while sel.wants_more() {
        for i in sel.pending() {
            let c = sel.candidate(i).clone();
            let obs = match session.create(&c.spec.create_sql_plain()).await {
                Err(e) if e.is_fatal() => return Err(e.into()),
                Err(e) => Observation::Failed(e.to_string()),
                Ok((oid, name)) => {
                    let size_bytes = session.size(oid).await.unwrap_or(0);
                    let mut plans = Vec::new();
                    for qi in touching(&parsed, &cat, &table_key(&c)) {
                        if sel.current_cost(qi).is_none() {
                            continue;
                        }
                        match session.plan(&workload[qi].sql).await {
                            Err(e) if e.is_fatal() => return Err(e.into()),
                            Err(_) => {}
                            Ok(j) => {
                                if let Some((cost, used)) = cost_of(&j, Some(&name)) {
                                    plans.push((qi, cost, used));
                                }
                            }
                        }
                    }
                    session.drop_index(oid).await?;
                    Observation::Planned { size_bytes, plans }
                }
            };
            sel.observe(i, obs);
        }
        let Some(chosen) = sel.pick() else { break };
        let c = chosen.candidate;
        // Keep it (hypothetically) for the next rounds.
        session.create(&c.spec.create_sql_plain()).await?;
        let tk = table_key(&c);
        let note = cat
            .table(&tk)
            .filter(|t| t.writes() > (t.seq_scan + t.idx_scan))
            .map(|t| {
                format!(
                    "{} writes since the stats reset: each write also updates this index",
                    t.writes()
                )
            });
        recommendations.push(Recommendation {
            ddl: c.spec.create_sql(),
            index: c.spec.clone(),
            table: tk,
            kind: c.kind,
            verified: true,
            note,
            size_bytes: Some(chosen.size_bytes),
            weighted_saving: chosen.saving,
            queries: chosen
                .gains
                .iter()
                .map(|&(qi, cost)| QueryGain {
                    fingerprint: workload[qi].fingerprint.clone(),
                    sql: short(&workload[qi].sql),
                    calls: workload[qi].calls,
                    cost_before: before[qi].unwrap_or(0.0),
                    cost_after: cost,
                })
                .collect(),
            why: c.why.clone(),
        });
    }
    let cost_before = sel.cost_before();
    let (cost_after, _, rejected) = sel.finish();
    let hypopg = session.hypopg;
    session.close().await?;
    let failed = errors.iter().map(|(sql, e)| {
        Finding::new(
            crate::finding::RuleId::StatementFailed,
            format!("could not plan {sql}: {e}"),
        )
        .with_evidence(serde_json::json!({ "query": sql, "error": e }))
        .with_suggestion(
            "fix or remove the query from the workload; the other queries were advised without it",
        )
    });
    let findings = recommendations
        .iter()
        .map(|r| Finding {
            rule: crate::finding::RuleId::MissingIndex,
            severity: Severity::Warning,
            message: format!(
                "{} would cut the weighted cost of {} quer{} by {:.0} ({} estimated)",
                r.ddl,
                r.queries.len(),
                if r.queries.len() == 1 { "y" } else { "ies" },
                r.weighted_saving,
                size(r.size_bytes.unwrap_or(0))
            ),
            location: Location { node: Some(r.table.clone()), ..Default::default() },
            evidence: serde_json::json!({ "queries": r.queries, "size_bytes": r.size_bytes, "why": r.why }),
            suggestion: Some(r.ddl.clone()),
        })
        .chain(failed)
        .collect();
    Ok(AdviseReport {
        target: spec.to_string(),
        hypopg,
        queries: workload.len(),
        planned: before.iter().filter(|c| c.is_some()).count(),
        cost_before,
        cost_after,
        recommendations,
        unverified,
        rejected,
        errors,
        excluded: 0,
        findings,
        applied: Vec::new(),
    })
}

/// The naive set for comparison: one single-column btree on every filtered column. Returns the
/// number of indexes and the workload's weighted cost with them (hypothetically).
pub async fn naive_cost(
    spec: &ConnSpec,
    workload: &[WorkloadQuery],
) -> Result<(usize, f64), crate::Error> {
    let mut conn = crate::db::connect(spec).await?;
    let cat = crate::db::catalog::load(&mut conn).await?;
    crate::db::close(conn).await;
    let mut session = HypoSession::open(spec).await?;
    let mut cols = std::collections::BTreeSet::new();
    for q in workload.iter().filter(|q| plannable(&q.sql)) {
        let Ok(st) = crate::sql::parse_statement(&q.sql) else {
            continue;
        };
        for p in crate::sql::extract::extract(&st).predicates {
            if p.expression.is_some() {
                continue;
            }
            if let Some(t) = p.table.as_deref().and_then(|t| cat.table(t)) {
                if t.column(&p.column).is_some() {
                    cols.insert((t.schema.clone(), t.name.clone(), p.column.clone()));
                }
            }
        }
    }
    let mut n = 0;
    for (schema, table, col) in &cols {
        let spec = crate::ddl::index::IndexSpec {
            schema: schema.clone(),
            table: table.clone(),
            method: "btree".into(),
            keys: vec![crate::ddl::index::KeySpec::column(col)],
            include: vec![],
            predicate: None,
        };
        if session.create(&spec.create_sql_plain()).await.is_ok() {
            n += 1;
        }
    }
    let mut total = 0.0;
    for q in workload.iter().filter(|q| plannable(&q.sql)) {
        match session.plan(&q.sql).await {
            Ok(j) => total += cost_of(&j, None).map_or(0.0, |c| c.0) * q.calls as f64,
            Err(e) if e.is_fatal() => return Err(e.into()),
            Err(_) => {}
        }
    }
    session.close().await?;
    Ok((n, total))
}

/// Build the recommended indexes (see [`crate::db::build::build_indexes`]).
pub async fn apply(
    spec: &ConnSpec,
    recs: &[Recommendation],
    lock_timeout: &str,
    progress: &dyn Fn(&crate::db::build::Applied),
) -> Result<Vec<crate::db::build::Applied>, DbError> {
    let specs: Vec<IndexSpec> = recs
        .iter()
        .filter(|r| r.verified)
        .map(|r| r.index.clone())
        .collect();
    crate::db::build::build_indexes(spec, &specs, lock_timeout, progress).await
}

/// One index built by [`apply_with_retries`].
#[derive(Debug, Clone, Serialize)]
pub struct AppliedIndex {
    /// The statement.
    pub ddl: String,
    /// The index's schema.
    pub schema: String,
    /// The index's name.
    pub name: String,
    /// What happened at the last try.
    pub status: crate::db::build::BuildStatus,
    /// Seconds over all tries.
    pub seconds: f64,
    /// Tries it took.
    pub tries: u32,
    /// The last error.
    pub error: Option<String>,
}

/// Build `specs` one at a time with `CREATE INDEX CONCURRENTLY` under `lock_timeout`; a build
/// that fails (its invalid leftover dropped) or cannot take its lock within `lock_timeout` is
/// tried again up to `retries` more times, after 0.5 s, 1 s, 1.5 s… (a build refused for any
/// other reason is not).
pub async fn apply_with_retries(
    spec: &ConnSpec,
    specs: &[IndexSpec],
    lock_timeout: &str,
    retries: u32,
    progress: &dyn Fn(&crate::db::build::Applied),
) -> Result<Vec<AppliedIndex>, DbError> {
    use crate::db::build::BuildStatus;
    let mut out = Vec::new();
    for s in specs {
        let mut tries = 0;
        let mut seconds = 0.0;
        loop {
            tries += 1;
            let a = crate::db::build::build_indexes(
                spec,
                std::slice::from_ref(s),
                lock_timeout,
                progress,
            )
            .await?
            .into_iter()
            .next();
            let Some(a) = a else { break };
            seconds += a.seconds;
            let lock_wait = a
                .error
                .as_deref()
                .is_some_and(|e| e.contains("lock timeout"));
            let again =
                a.status == BuildStatus::Failed || (a.status == BuildStatus::Error && lock_wait);
            if again && tries <= retries {
                tokio::time::sleep(std::time::Duration::from_millis(500 * u64::from(tries))).await;
                continue;
            }
            out.push(AppliedIndex {
                ddl: a.ddl,
                schema: s.schema.clone(),
                name: s.name(),
                status: a.status,
                seconds,
                tries,
                error: a.error,
            });
            break;
        }
    }
    Ok(out)
}

impl Report for AdviseReport {
    fn kind(&self) -> &'static str {
        "index-advise"
    }
    fn charts(&self) -> Vec<crate::view::Chart> {
        use crate::view::{Chart, ChartKind, ChartPoint, Tone};
        let gain = |before: f64, after: f64| {
            let pct = if before > 0.0 {
                (1.0 - after / before) * 100.0
            } else {
                0.0
            };
            format!("{before:.0} → {after:.0} (−{pct:.0}%)")
        };
        let mut total = ChartPoint::new("the workload", self.cost_after).tone(Tone::Good);
        total.mark = Some(self.cost_before);
        total.text = Some(gain(self.cost_before, self.cost_after));
        let mut charts = vec![Chart {
            id: "workload-cost".into(),
            title: "Weighted planner cost of the workload with the indexes (dashed: without)"
                .into(),
            kind: ChartKind::Bars,
            marks: "before".into(),
            unit: "".into(),
            points: vec![total],
        }];
        for (i, r) in self.recommendations.iter().enumerate() {
            charts.push(Chart {
                id: format!("recommendation-{}", i + 1),
                title: format!(
                    "{}: planner cost of the queries it serves (dashed: before)",
                    r.index.name()
                ),
                kind: ChartKind::Bars,
                marks: "before".into(),
                unit: "".into(),
                points: r
                    .queries
                    .iter()
                    .map(|q| {
                        let mut p = ChartPoint::new(q.sql.clone(), q.cost_after).tone(Tone::Good);
                        p.mark = Some(q.cost_before);
                        p.text = Some(gain(q.cost_before, q.cost_after));
                        p
                    })
                    .collect(),
            });
        }
        charts
    }
    fn summary(&self) -> String {
        let pct = if self.cost_before > 0.0 {
            (1.0 - self.cost_after / self.cost_before) * 100.0
        } else {
            0.0
        };
        let mut s = format!(
            "{} recommended index(es){}: weighted cost {} → {} ({pct:.0}% less) over {} queries ({} planned); {} unverified",
            self.recommendations.len(),
            if self.hypopg { " verified with HypoPG" } else { "" },
            crate::view::fmt_n(self.cost_before),
            crate::view::fmt_n(self.cost_after),
            self.queries,
            self.planned,
            self.unverified.len()
        );
        if !self.errors.is_empty() {
            s.push_str(&format!(
                "; {} quer{} could not be planned",
                self.errors.len(),
                if self.errors.len() == 1 { "y" } else { "ies" }
            ));
        }
        if self.excluded > 0 {
            s.push_str(&format!(
                "; {} pg_stat_statements entr{} left out as not the application's (catalog reads, dbkit's own planning)",
                self.excluded,
                if self.excluded == 1 { "y" } else { "ies" }
            ));
        }
        s
    }
    fn tables(&self) -> Vec<Table> {
        let mut t = Table::new(
            "Recommendations",
            &[
                "#",
                "index",
                "size",
                "saving",
                "queries (cost before → after)",
                "why",
            ],
        );
        for (i, r) in self
            .recommendations
            .iter()
            .chain(&self.unverified)
            .enumerate()
        {
            let q: Vec<String> = r
                .queries
                .iter()
                .take(3)
                .map(|g| {
                    format!(
                        "{} → {} ×{}",
                        crate::view::fmt_n(g.cost_before),
                        crate::view::fmt_n(g.cost_after),
                        g.calls
                    )
                })
                .collect();
            t.row(vec![
                Cell::num(i + 1),
                if r.verified {
                    Cell::text(r.ddl.clone())
                } else {
                    Cell::toned(
                        format!("{} [{}]", r.ddl, r.note.clone().unwrap_or_default()),
                        Tone::Dim,
                    )
                },
                Cell::num(r.size_bytes.map(size).unwrap_or_default()),
                Cell::num(if r.verified {
                    format!("{:.0}", r.weighted_saving)
                } else {
                    String::new()
                }),
                Cell::text(q.join("; ")),
                Cell::text(r.why.join("; ")),
            ]);
        }
        let mut tables = vec![t];
        if !self.errors.is_empty() {
            let mut e = Table::new("Queries that could not be planned", &["query", "error"]);
            for (sql, err) in &self.errors {
                e.row(vec![
                    Cell::text(sql.clone()),
                    Cell::toned(err.clone(), Tone::Bad),
                ]);
            }
            tables.push(e);
        }
        tables
    }
    fn findings(&self) -> &[Finding] {
        &self.findings
    }
    fn findings_mut(&mut self) -> Option<&mut Vec<Finding>> {
        Some(&mut self.findings)
    }
}
