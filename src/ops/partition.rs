//! `dbkit partition maintain`: find the partitioned tables, plan premake and retention for each,
//! run the preflight checks, and (with `--execute`) apply the steps.

use crate::db::partitions::{self, StepResult};
use crate::db::{ConnSpec, TargetRequest};
use crate::ddl::maintenance::{plan, MaintainOptions, PartitionedTable, Step};
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
    /// The partitions in bound order with their sizes and what the steps do to each, the ones
    /// to be created included (the HTML view draws them as a timeline).
    pub partitions: Vec<TimelineEntry>,
}

/// A partition on a table's timeline.
#[derive(Debug, Clone, Serialize)]
pub struct TimelineEntry {
    /// Its name.
    pub name: String,
    /// Its bound (`FOR VALUES FROM (…) TO (…)`, `DEFAULT`).
    pub bound: String,
    /// Its size, when it exists.
    pub bytes: Option<i64>,
    /// `kept`, `create`, `detach` or `drop`.
    pub fate: &'static str,
}

/// The timeline of `t`'s partitions once `steps` ran: existing partitions with their fate, the
/// created ones after them, the DEFAULT partition last.
pub fn timeline(t: &PartitionedTable, steps: &[Step]) -> Vec<TimelineEntry> {
    // Steps name partitions as the catalog does (unqualified).
    let step_for = |name: &str| {
        steps
            .iter()
            .find(|s| !s.action.starts_with("create") && s.partition == name)
    };
    let mut out: Vec<TimelineEntry> = t
        .partitions
        .iter()
        .filter(|p| p.bound != "DEFAULT")
        .map(|p| TimelineEntry {
            name: p.name.clone(),
            bound: p.bound.clone(),
            bytes: p.bytes,
            fate: step_for(&p.name).map_or("kept", |s| s.action),
        })
        .collect();
    for s in steps.iter().filter(|s| s.action.starts_with("create")) {
        let bound = s.sql[0]
            .find(" FOR VALUES ")
            .map(|i| s.sql[0][i + 1..].trim_end_matches(';').to_string())
            .unwrap_or_default();
        out.push(TimelineEntry {
            name: s.partition.clone(),
            bound,
            bytes: None,
            fate: "create",
        });
    }
    out.extend(
        t.partitions
            .iter()
            .filter(|p| p.bound == "DEFAULT")
            .map(|p| TimelineEntry {
                name: p.name.clone(),
                bound: p.bound.clone(),
                bytes: p.bytes,
                fate: "kept",
            }),
    );
    out
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

/// `dbkit partition maintain`: where, which tables, what to keep, and whether to apply it.
#[derive(Debug, Clone)]
pub struct MaintainRequest {
    /// The database.
    pub target: TargetRequest,
    /// Only this table (`schema.name` or `name`); every partitioned table when `None`.
    pub table: Option<String>,
    /// Premake, retention and time zone.
    pub options: MaintainOptions,
    /// Apply the steps (without it, only the plan).
    pub execute: bool,
    /// `lock_timeout` for each step (`5s`).
    pub lock_timeout: String,
}

impl MaintainReport {
    /// Whether an applied step failed (the run is then exit 2).
    pub fn failed(&self) -> bool {
        self.tables
            .iter()
            .flat_map(|t| &t.results)
            .any(|r| r.status == partitions::StepStatus::Failed)
    }
}

/// Plan (and with `execute`, apply) maintenance on every partitioned table, or only the one
/// asked for; `progress` hears each applied step.
pub async fn maintain(
    req: &MaintainRequest,
    progress: &dyn Fn(&StepResult),
) -> Result<MaintainReport, crate::Error> {
    let target = req.target.open().await?;
    let report = maintain_on(
        &target.spec,
        req.table.as_deref(),
        &req.options,
        req.execute,
        &req.lock_timeout,
        progress,
    )
    .await;
    drop(target);
    report
}

async fn maintain_on(
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
            partitions: timeline(&t, &steps),
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
    fn charts(&self) -> Vec<crate::view::Chart> {
        use crate::view::{Chart, ChartKind, ChartPoint, Tone};
        self.tables
            .iter()
            .filter(|t| !t.partitions.is_empty())
            .map(|t| Chart {
                id: format!("timeline-{}", t.table),
                title: format!(
                    "Partitions of {} in bound order, by size (green: to create, red: to detach or drop, grey: DEFAULT)",
                    t.table
                ),
                kind: ChartKind::Columns,
                marks: "target".into(),
                unit: "bytes".into(),
                points: t
                    .partitions
                    .iter()
                    .map(|p| {
                        let tone = match p.fate {
                            "create" => Tone::Good,
                            "detach" | "drop" => Tone::Bad,
                            _ if p.bound == "DEFAULT" => Tone::Dim,
                            _ => Tone::Plain,
                        };
                        let mut c = ChartPoint::new(p.name.clone(), p.bytes.unwrap_or(0) as f64).tone(tone);
                        c.text = Some(format!(
                            "{} · {} · {}",
                            p.bound,
                            p.bytes.map_or("not created yet".to_string(), |b| crate::view::human_bytes(b as f64)),
                            p.fate
                        ));
                        c
                    })
                    .collect(),
            })
            .collect()
    }
    fn summary(&self) -> String {
        let steps: usize = self.tables.iter().map(|t| t.steps.len()).sum();
        let failed = self
            .tables
            .iter()
            .flat_map(|t| &t.results)
            .filter(|r| r.status == partitions::StepStatus::Failed)
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
                    None => Cell::toned(r.status.as_str(), Tone::Good),
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

/// `dbkit partition convert`: the table, its key and interval, and whether to run it.
#[derive(Debug, Clone)]
pub struct ConvertRequest {
    /// The database.
    pub target: TargetRequest,
    /// `schema.name` or `name` (public).
    pub table: String,
    /// The partition key column.
    pub key: String,
    /// The partitions' width.
    pub interval: crate::ddl::partition::Interval,
    /// Future partitions to create ahead of now.
    pub premake: u32,
    /// Time zone of the bounds.
    pub timezone: String,
    /// Run (or resume) the conversion (without it, only the plan).
    pub execute: bool,
    /// `lock_timeout` for each step (`5s`).
    pub lock_timeout: String,
}

impl ConvertReport {
    /// Whether an executed step failed (the run is then exit 2; running again resumes).
    pub fn failed(&self) -> bool {
        self.results
            .iter()
            .any(|r| r.status == partitions::StepStatus::Failed)
    }
}

/// Plan (and with `execute`, run or resume) the conversion of a table into time partitions;
/// `progress` hears each executed step.
pub async fn convert(
    req: &ConvertRequest,
    progress: &dyn Fn(&StepResult),
) -> Result<ConvertReport, crate::Error> {
    let target = req.target.open().await?;
    let report = convert_on(&target.spec, req, progress).await;
    drop(target);
    report
}

async fn convert_on(
    spec: &ConnSpec,
    req: &ConvertRequest,
    progress: &dyn Fn(&StepResult),
) -> Result<ConvertReport, crate::Error> {
    let (table, key, interval, premake, timezone, execute, lock_timeout) = (
        req.table.as_str(),
        req.key.as_str(),
        req.interval,
        req.premake,
        req.timezone.as_str(),
        req.execute,
        req.lock_timeout.as_str(),
    );
    let (schema, name) = table.split_once('.').unwrap_or(("public", table));
    let mut conn = crate::db::connect(spec).await?;
    partitions::set_timezone(&mut conn, timezone).await?;
    let now = Civil::parse(&partitions::now(&mut conn).await?).map_err(crate::Error::Partition)?;
    let src = partitions::convert_source(&mut conn, schema, name).await?;
    let plan = crate::ddl::convert::plan(&src, key, interval, premake, now, timezone)?;
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
        let failed = self
            .results
            .iter()
            .any(|r| r.status == partitions::StepStatus::Failed);
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
                    None => Cell::toned(r.status.as_str(), Tone::Good),
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

/// Where `dbkit partition create` reads the table's definition.
#[derive(Debug, Clone)]
pub enum TableSource {
    /// A file holding the table's `CREATE TABLE` (and its `CREATE INDEX` statements).
    Schema(std::path::PathBuf),
    /// A live database (`None`: `DATABASE_URL` or the libpq environment).
    Live(Option<String>),
}

/// What `dbkit partition create` asks for: the options as a user writes them.
#[derive(Debug, Clone)]
pub struct CreateRequest {
    /// Where the table's definition comes from.
    pub source: TableSource,
    /// The table (`schema.table` or `table`).
    pub table: String,
    /// The partition key column.
    pub key: String,
    /// RANGE on time: `hour`, `day`, `week`, `month`, `quarter`, `year`.
    pub interval: Option<String>,
    /// RANGE on an integer: the width of each partition.
    pub step: Option<i64>,
    /// HASH: the number of partitions.
    pub modulus: Option<u32>,
    /// LIST: each partition's values, comma-separated, optionally named `name=a,b`.
    pub list: Vec<String>,
    /// First partition's start (a date or a number); today / 0 when absent.
    pub start: Option<String>,
    /// End, exclusive.
    pub end: Option<String>,
    /// Number of partitions from the start, instead of an end.
    pub premake: Option<u32>,
    /// Create a DEFAULT partition.
    pub default_partition: bool,
    /// Second level: `COLUMN:N` hash partitions under each partition.
    pub subpartition_hash: Option<String>,
    /// Tablespace of the partitions.
    pub tablespace: Option<String>,
    /// Zone of the bounds of a timestamptz key.
    pub timezone: Option<String>,
}

fn invalid(message: impl Into<String>) -> crate::Error {
    crate::ddl::partition::PartitionError::Invalid(message.into()).into()
}

/// A LIST value as SQL: numbers as they are, anything else as a quoted literal.
fn list_literal(v: &str) -> String {
    let t = v.trim();
    if t.parse::<f64>().is_ok_and(f64::is_finite) {
        t.to_string()
    } else {
        crate::sql::ident::quote_literal(t)
    }
}

/// The partitioning strategy a request describes.
pub fn strategy(req: &CreateRequest) -> Result<crate::ddl::partition::Strategy, crate::Error> {
    use crate::ddl::partition::{Interval, Strategy};
    if let Some(iv) = &req.interval {
        let iv: Interval = iv.parse()?;
        let start = match &req.start {
            Some(s) => Civil::parse(s)?,
            None => Civil::today(),
        }
        .floor(iv);
        let end = match (&req.end, req.premake) {
            (Some(e), _) => Civil::parse(e)?,
            (None, Some(n)) => (0..n).fold(start, |c, _| c.next(iv)),
            (None, None) => return Err(invalid("give --end or --premake")),
        };
        Ok(Strategy::TimeRange {
            interval: iv,
            start,
            end,
        })
    } else if let Some(step) = req.step {
        let int = |what: &str, v: &str| {
            v.trim()
                .parse::<i64>()
                .map_err(|_| invalid(format!("--{what} must be an integer, not '{v}'")))
        };
        let start = req.start.as_deref().map_or(Ok(0), |s| int("start", s))?;
        let end = match (&req.end, req.premake) {
            (Some(e), _) => int("end", e)?,
            (None, Some(n)) => step
                .checked_mul(i64::from(n))
                .and_then(|w| start.checked_add(w))
                .ok_or_else(|| invalid("--start + --step × --premake is out of range"))?,
            (None, None) => return Err(invalid("give --end or --premake")),
        };
        Ok(Strategy::IntRange { step, start, end })
    } else if let Some(m) = req.modulus {
        Ok(Strategy::Hash { modulus: m })
    } else if !req.list.is_empty() {
        Ok(Strategy::List {
            partitions: req
                .list
                .iter()
                .map(|l| match l.split_once('=') {
                    Some((name, vals)) => (
                        Some(name.trim().to_string()),
                        vals.split(',').map(list_literal).collect(),
                    ),
                    None => (None, l.split(',').map(list_literal).collect()),
                })
                .collect(),
        })
    } else {
        Err(invalid("choose a strategy: --interval (time range), --step (integer range), --list or --modulus (hash)"))
    }
}

/// `dbkit partition create`: the table's definition (from the schema file or the live table),
/// the strategy, and the generated, checked script. Nothing is run.
pub async fn create(
    req: &CreateRequest,
) -> Result<crate::ddl::partition::PartitionScript, crate::Error> {
    use crate::ddl::partition::{generate, PartitionOptions};
    use crate::ddl::table::TableDef;
    let def = match &req.source {
        TableSource::Schema(path) => {
            let text = crate::ops::explain::read_sql(path)?;
            crate::ddl::table::find(&text, &req.table).map_err(|e| crate::Error::Input {
                path: path.display().to_string(),
                message: e.to_string(),
            })?
        }
        TableSource::Live(url) => {
            let spec = ConnSpec::resolve(url.as_deref())?;
            let mut conn = crate::db::connect(&spec).await?;
            let (s, t) = req
                .table
                .split_once('.')
                .unwrap_or(("public", req.table.as_str()));
            let src = partitions::convert_source(&mut conn, s, t).await;
            crate::db::close(conn).await;
            TableDef::from_source(&src?)
        }
    };
    let sub_hash = match &req.subpartition_hash {
        Some(s) => {
            let bad = || invalid(format!("--subpartition-hash takes COLUMN:N, not '{s}'"));
            let (col, n) = s.rsplit_once(':').ok_or_else(bad)?;
            Some((col.to_string(), n.parse().map_err(|_| bad())?))
        }
        None => None,
    };
    let opts = PartitionOptions {
        key: req.key.clone(),
        strategy: strategy(req)?,
        default: req.default_partition,
        sub_hash,
        tablespace: req.tablespace.clone(),
        timezone: req.timezone.clone(),
    };
    Ok(generate(&def, &opts)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ddl::partition::Strategy;

    fn req() -> CreateRequest {
        CreateRequest {
            source: TableSource::Schema("t.sql".into()),
            table: "t".into(),
            key: "k".into(),
            interval: None,
            step: None,
            modulus: None,
            list: vec![],
            start: None,
            end: None,
            premake: None,
            default_partition: true,
            subpartition_hash: None,
            tablespace: None,
            timezone: None,
        }
    }

    #[test]
    fn strategies_from_the_options_users_write() {
        let r = CreateRequest {
            interval: Some("month".into()),
            start: Some("2024-01-15".into()),
            premake: Some(3),
            ..req()
        };
        match strategy(&r).unwrap() {
            Strategy::TimeRange { start, end, .. } => {
                assert_eq!((start.y, start.m, start.d), (2024, 1, 1));
                assert_eq!((end.y, end.m, end.d), (2024, 4, 1));
            }
            s => panic!("{s:?}"),
        }
        // Without --start, today: a real date, never a made-up one.
        let r = CreateRequest {
            interval: Some("day".into()),
            premake: Some(1),
            ..req()
        };
        let Strategy::TimeRange { start, .. } = strategy(&r).unwrap() else {
            panic!()
        };
        assert!(start.y >= 2025);
        let r = CreateRequest {
            list: vec!["a=1, x'y".into(), "inf,NaN".into()],
            ..req()
        };
        let Strategy::List { partitions } = strategy(&r).unwrap() else {
            panic!()
        };
        assert_eq!(partitions[0].0.as_deref(), Some("a"));
        assert_eq!(partitions[0].1, vec!["1".to_string(), "'x''y'".to_string()]);
        assert_eq!(
            partitions[1].1,
            vec!["'inf'".to_string(), "'NaN'".to_string()]
        );
        let r = CreateRequest {
            step: Some(i64::MAX),
            premake: Some(3),
            ..req()
        };
        assert!(strategy(&r)
            .unwrap_err()
            .to_string()
            .contains("out of range"));
        let e = strategy(&req()).unwrap_err().to_string();
        assert!(e.contains("choose a strategy"), "{e}");
        let r = CreateRequest {
            step: Some(10),
            start: Some("x".into()),
            premake: Some(1),
            ..req()
        };
        assert!(strategy(&r)
            .unwrap_err()
            .to_string()
            .contains("--start must be an integer"));
    }
}
