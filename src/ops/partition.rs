//! `dbkit partition maintain`: find the partitioned tables, plan premake and retention for each,
//! run the preflight checks, and (with `--execute`) apply the steps.

use crate::db::partitions::{self, StepResult};
use crate::db::ConnSpec;
use crate::ddl::maintenance::{plan, MaintainOptions, Step};
use crate::ddl::partition::Civil;
use crate::view::{Cell, Report, Table, Tone};
use serde::Serialize;

/// One table's plan.
#[derive(Debug, Clone, Serialize)]
pub struct TablePlan {
    /// Schema-qualified name.
    pub table: String,
    /// The steps (empty: nothing to do).
    pub steps: Vec<Step>,
    /// Why it is not maintained, if it is not.
    pub skipped: Option<String>,
    /// Results, when executed.
    pub results: Vec<StepResult>,
}

/// `dbkit partition maintain`.
#[derive(Debug, Clone, Serialize)]
pub struct MaintainReport {
    /// Where.
    pub target: String,
    /// The server's wall time used, in `timezone`.
    pub now: String,
    /// Zone of the bounds.
    pub timezone: String,
    /// Whether the steps were applied.
    pub executed: bool,
    /// Per table.
    pub tables: Vec<TablePlan>,
    /// Preflight warnings (long transactions, privileges).
    pub warnings: Vec<String>,
}

/// Plan (and with `execute`, apply) maintenance on every partitioned table, or only `only`.
pub async fn maintain(
    spec: &ConnSpec,
    only: Option<&str>,
    o: &MaintainOptions,
    execute: bool,
    lock_timeout: &str,
    progress: &dyn Fn(&StepResult),
) -> Result<MaintainReport, crate::Error> {
    let mut conn = crate::db::connect(spec).await?;
    partitions::set_timezone(&mut conn, &o.timezone).await?;
    let version = crate::db::explain::server_version_num(&mut conn).await?;
    let now_text = partitions::now(&mut conn).await?;
    let now = Civil::parse(&now_text).map_err(crate::Error::Partition)?;
    let mut warnings = Vec::new();
    for (pid, age, query) in partitions::long_transactions(&mut conn, 5).await? {
        warnings.push(format!("transaction of pid {pid} has been open {:.0} min ({query}): it would block ATTACH and DETACH", age / 60.0));
    }
    let mut opts = o.clone();
    opts.concurrent_detach = version >= 140000;
    let mut tables = Vec::new();
    for t in partitions::load(&mut conn).await? {
        let name = crate::sql::ident::quote_qualified(&[&t.schema, &t.name]);
        if only.is_some_and(|w| w != t.name && w != format!("{}.{}", t.schema, t.name)) {
            continue;
        }
        // Which new ranges already have rows in the DEFAULT partition: ask the server.
        let default = t
            .partitions
            .iter()
            .find(|p| p.bound == "DEFAULT")
            .map(|p| crate::sql::ident::quote_qualified(&[&t.schema, &p.name]));
        let draft = plan(&t, now, &opts, &|_, _| false);
        let mut moving = Vec::new();
        if let (Ok(steps), Some(d), Some(key)) = (&draft, &default, &t.key) {
            for s in steps.iter().filter(|s| s.action == "create") {
                let bounds = s.sql[0]
                    .split(" FOR VALUES FROM (")
                    .nth(1)
                    .unwrap_or_default();
                let (lo, rest) = bounds.split_once(") TO (").unwrap_or_default();
                let hi = rest.trim_end_matches(')');
                if partitions::has_rows(&mut conn, d, &crate::sql::ident::quote_ident(key), lo, hi)
                    .await?
                {
                    moving.push(lo.to_string());
                }
            }
        }
        let result = plan(&t, now, &opts, &|lo, _| moving.iter().any(|m| m == lo));
        let (steps, skipped) = match result {
            Ok(s) => (s, None),
            Err(e) => (Vec::new(), Some(e)),
        };
        if !steps.is_empty() && !partitions::may_maintain(&mut conn, &t.schema, &t.name).await? {
            warnings.push(format!("the current user does not own {name}: creating and detaching its partitions will fail"));
        }
        tables.push(TablePlan {
            table: name,
            steps,
            skipped,
            results: Vec::new(),
        });
    }
    if execute {
        for t in &mut tables {
            t.results = partitions::run_steps(&mut conn, &t.steps, lock_timeout, progress).await?;
        }
    }
    crate::db::close(conn).await;
    Ok(MaintainReport {
        target: spec.to_string(),
        now: now_text,
        timezone: o.timezone.clone(),
        executed: execute,
        tables,
        warnings,
    })
}

impl Report for MaintainReport {
    fn kind(&self) -> &'static str {
        "partition-maintain"
    }
    fn summary(&self) -> String {
        let steps: usize = self.tables.iter().map(|t| t.steps.len()).sum();
        let failed = self
            .tables
            .iter()
            .flat_map(|t| &t.results)
            .filter(|r| r.status == "failed")
            .count();
        format!(
            "{} partitioned table(s), {steps} step(s) {} at {} {}{}{}",
            self.tables.len(),
            if self.executed {
                "applied"
            } else {
                "planned (dry run; --execute applies them)"
            },
            self.now,
            self.timezone,
            if failed > 0 {
                format!(", {failed} FAILED")
            } else {
                String::new()
            },
            if self.warnings.is_empty() {
                String::new()
            } else {
                format!("; {} warning(s)", self.warnings.len())
            }
        )
    }
    fn tables(&self) -> Vec<Table> {
        let mut t = Table::new(
            "Maintenance",
            &["table", "action", "partition", "reason", "status"],
        );
        for tp in &self.tables {
            if let Some(s) = &tp.skipped {
                t.row(vec![
                    Cell::text(tp.table.clone()),
                    Cell::toned("skip", Tone::Dim),
                    Cell::text(""),
                    Cell::text(s.clone()),
                    Cell::text(""),
                ]);
            }
            for (i, s) in tp.steps.iter().enumerate() {
                let status = tp.results.get(i).map(|r| match &r.error {
                    Some(e) => Cell::toned(format!("failed: {e}"), Tone::Bad),
                    None => Cell::toned(r.status, Tone::Good),
                });
                t.row(vec![
                    Cell::text(tp.table.clone()),
                    Cell::text(s.action),
                    Cell::text(s.partition.clone()),
                    Cell::text(s.reason.clone()),
                    status.unwrap_or_else(|| Cell::toned("planned", Tone::Dim)),
                ]);
            }
        }
        let mut out = vec![t];
        if !self.warnings.is_empty() {
            let mut w = Table::new("Preflight", &["warning"]);
            for x in &self.warnings {
                w.row(vec![Cell::toned(x.clone(), Tone::Warn)]);
            }
            out.push(w);
        }
        out
    }
    fn script(&self) -> Option<String> {
        let steps = self.tables.iter().flat_map(|t| &t.steps).map(|st| {
            (
                st.partition.as_str(),
                st.reason.as_str(),
                st.sql.as_slice(),
                st.transaction,
            )
        });
        Some(render_steps(
            &format!("dbkit partition maintain at {} {}", self.now, self.timezone),
            steps,
        ))
    }
}

/// `dbkit partition convert`.
#[derive(Debug, Clone, Serialize)]
pub struct ConvertReport {
    /// Where.
    pub target: String,
    /// The plan.
    pub plan: crate::ddl::convert::ConvertPlan,
    /// Whether it ran.
    pub executed: bool,
    /// Step results, when executed.
    pub results: Vec<StepResult>,
    /// Preflight warnings.
    pub warnings: Vec<String>,
}

/// Plan (and with `execute`, run or resume) the conversion of `table` into time partitions.
#[allow(clippy::too_many_arguments)]
pub async fn convert(
    spec: &ConnSpec,
    table: &str,
    key: &str,
    interval: crate::ddl::partition::Interval,
    premake: u32,
    timezone: &str,
    execute: bool,
    lock_timeout: &str,
    progress: &dyn Fn(&StepResult),
) -> Result<ConvertReport, crate::Error> {
    let (schema, name) = table.split_once('.').unwrap_or(("public", table));
    let mut conn = crate::db::connect(spec).await?;
    partitions::set_timezone(&mut conn, timezone).await?;
    let now = Civil::parse(&partitions::now(&mut conn).await?).map_err(crate::Error::Partition)?;
    let src = partitions::convert_source(&mut conn, schema, name).await?;
    let plan = crate::ddl::convert::plan(&src, key, interval, premake, now, timezone)
        .map_err(|m| crate::Error::Partition(crate::ddl::partition::PartitionError::Invalid(m)))?;
    let mut warnings = Vec::new();
    for (pid, age, query) in partitions::long_transactions(&mut conn, 5).await? {
        warnings.push(format!("transaction of pid {pid} has been open {:.0} min ({query}): the swap would wait for it", age / 60.0));
    }
    let results = if execute {
        partitions::run_convert(&mut conn, &plan.steps, lock_timeout, progress).await?
    } else {
        Vec::new()
    };
    crate::db::close(conn).await;
    Ok(ConvertReport {
        target: spec.to_string(),
        plan,
        executed: execute,
        results,
        warnings,
    })
}

impl Report for ConvertReport {
    fn kind(&self) -> &'static str {
        "partition-convert"
    }
    fn summary(&self) -> String {
        let failed = self.results.iter().any(|r| r.status == "failed");
        format!(
            "{}: {} step(s) to a partitioned table (the old table keeps everything before {}); {}",
            self.plan.table,
            self.plan.steps.len(),
            self.plan.boundary,
            if !self.executed {
                "dry run: --execute runs it (and resumes a stopped run)"
            } else if failed {
                "a step FAILED"
            } else {
                "done"
            }
        )
    }
    fn tables(&self) -> Vec<Table> {
        let mut t = Table::new("Steps", &["#", "step", "what", "status"]);
        for (i, s) in self.plan.steps.iter().enumerate() {
            let status = self
                .results
                .iter()
                .find(|r| r.partition == s.name)
                .map(|r| match &r.error {
                    Some(e) => Cell::toned(format!("failed: {e}"), Tone::Bad),
                    None => Cell::toned(r.status, Tone::Good),
                });
            t.row(vec![
                Cell::num(i + 1),
                Cell::text(s.name.clone()),
                Cell::text(s.what.clone()),
                status.unwrap_or_else(|| Cell::toned("planned", Tone::Dim)),
            ]);
        }
        let mut n = Table::new("Foreign keys, views, triggers, timing", &["note"]);
        for x in self.plan.notes.iter().chain(&self.warnings) {
            n.row(vec![Cell::text(x.clone())]);
        }
        vec![t, n]
    }
    fn script(&self) -> Option<String> {
        let steps = self.plan.steps.iter().map(|st| {
            (
                st.name.as_str(),
                st.what.as_str(),
                st.sql.as_slice(),
                st.transaction,
            )
        });
        Some(render_steps(
            &format!("dbkit partition convert {}", self.plan.table),
            steps,
        ))
    }
}

/// Steps as one reviewable script: a comment per step, transactional steps in BEGIN/COMMIT.
fn render_steps<'a>(
    title: &str,
    steps: impl Iterator<Item = (&'a str, &'a str, &'a [String], bool)>,
) -> String {
    use crate::sql::ident::comment_text;
    let mut s = format!("-- {}\n", comment_text(title));
    for (name, why, sql, transaction) in steps {
        s.push_str(&format!(
            "-- {}: {}\n",
            comment_text(name),
            comment_text(why)
        ));
        if transaction {
            s.push_str("BEGIN;\n");
        }
        for x in sql {
            s.push_str(x);
            s.push_str(";\n");
        }
        if transaction {
            s.push_str("COMMIT;\n");
        }
    }
    s
}
