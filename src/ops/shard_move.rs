//! `dbkit shard move` and `dbkit shard verify`: moving a shard to another node online with
//! PostgreSQL logical replication, step by step, with a journal so a rerun resumes where a
//! crash stopped it, `--abort` undoing a move that did not cut over, and `--reverse` moving
//! it back after one that did.
//!
//! Steps (`shard::moves::Step`): preflight, schema, copy, indexes, verify, cutover, cleanup.
//! The journal is a JSON file beside the map, `<map>.moves/shard-<id>.json`, rewritten
//! atomically after every step; the servers' own state (publication, subscription, fence) is
//! what each step's done-check reads, so a journal one step behind is caught up, never
//! trusted blindly. Without `execute` nothing is changed: the report lists every step and the
//! SQL it would run on each node.

use crate::db::initial_copy as ic;
use crate::db::logical::{self as lg, CopyState};
use crate::db::{close, connect, exec, ConnSpec, DbError};
use crate::finding::{Finding, RuleId};
use crate::shard::map::ShardMap;
use crate::shard::moves::{self, Journal, Layout, MoveState, Step, Unit};
use crate::sql::ident::{quote_ident, quote_literal, quote_qualified};
use crate::view::{Cell, Report, Table};
use serde::Serialize;
use sqlx::PgConnection;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// What to do with the shard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Move it to this node (or resume the move in progress).
    To(String),
    /// Move it back where the last finished move took it from.
    Reverse,
    /// Undo the move in progress (before its cutover).
    Abort,
}

/// What `dbkit shard move` asks for.
#[derive(Debug, Clone)]
pub struct MoveRequest {
    /// The shard map.
    pub map: PathBuf,
    /// The shard (its colocated shards move with it).
    pub shard: u64,
    /// Where to.
    pub action: Action,
    /// Change the servers; otherwise print the steps and their SQL.
    pub execute: bool,
    /// Write the new map here instead of over `map`.
    pub write_map: Option<PathBuf>,
    /// Connection URLs per node, over the map's.
    pub urls: BTreeMap<String, String>,
    /// The longest write pause the cutover may take; it releases and retries when it would
    /// take longer.
    pub max_pause: Duration,
    /// Cutover attempts before giving up (the move stays resumable).
    pub attempts: u32,
    /// Drop the source's copy at the cleanup instead of keeping it renamed and fenced.
    pub drop_source: bool,
    /// Stop after this step (the move resumes from the next on a rerun).
    pub stop_after: Option<Step>,
    /// How long to wait for the target to catch up outside the cutover.
    pub catch_up: Duration,
    /// Count both copies with writes paused: `Some(true)` always, `Some(false)` never, `None`
    /// when counting takes under half of `max_pause` (timed just before).
    pub cutover_counts: Option<bool>,
}

impl MoveRequest {
    /// A request with the defaults of the CLI.
    pub fn new(map: PathBuf, shard: u64, action: Action) -> Self {
        MoveRequest {
            map,
            shard,
            action,
            execute: false,
            write_map: None,
            urls: BTreeMap::new(),
            max_pause: Duration::from_secs(1),
            attempts: 10,
            drop_source: false,
            stop_after: None,
            catch_up: Duration::from_secs(120),
            cutover_counts: None,
        }
    }
}

/// A statement of a step, on one node.
#[derive(Debug, Clone, Serialize)]
pub struct NodeSql {
    /// `source` or `target`, with the node's name.
    pub node: String,
    /// The statement (a password in a connection string shown as `***`).
    pub sql: String,
}

/// One step as run (or as it would run).
#[derive(Debug, Clone, Serialize)]
pub struct StepOut {
    /// The step's name.
    pub step: &'static str,
    /// `done`, `done before` (resumed past it), `would run`, `not reached`.
    pub status: String,
    /// What it did or would do.
    pub summary: String,
    /// Milliseconds it took.
    pub ms: u64,
    /// The statements, per node.
    pub statements: Vec<NodeSql>,
}

/// What verification compared.
#[derive(Debug, Clone, Default, Serialize)]
pub struct VerifyOutcome {
    /// Rows compared on the source.
    pub rows: i64,
    /// Chunks compared per table.
    pub chunks: i32,
    /// Chunks that differed at the first comparison (writes in flight).
    pub differed_first: usize,
    /// Rows compared one by one.
    pub rows_rechecked: usize,
    /// Rows that still differed after every re-check (also findings).
    pub differences: Vec<RowDifference>,
    /// How long the target took to replay the source's changes, in milliseconds.
    pub lag_ms: u64,
}

/// A row that differs between the nodes.
#[derive(Debug, Clone, Serialize)]
pub struct RowDifference {
    /// The table.
    pub table: String,
    /// The row's key (its replica identity or primary key as a record's text, `(42,7)`).
    pub key: String,
    /// The source has it.
    pub on_source: bool,
    /// The target has it.
    pub on_target: bool,
}

/// The report of `dbkit shard move`.
#[derive(Debug, Clone, Serialize)]
pub struct MoveReport {
    /// The map file.
    pub map: String,
    /// The shard asked for.
    pub shard: u64,
    /// Every shard moving (with the colocated ones).
    pub shards: Vec<u64>,
    /// From node.
    pub from: String,
    /// To node.
    pub to: String,
    /// `move`, `reverse` or `abort`.
    pub action: &'static str,
    /// Whether anything was changed.
    pub executed: bool,
    /// `dry run`, `running` (stopped before the end; rerun to resume), `done`, `aborted`.
    pub state: String,
    /// The steps.
    pub steps: Vec<StepOut>,
    /// The tables' parts moving.
    pub units: Vec<Unit>,
    /// The shard's size on the source (bytes).
    pub bytes: u64,
    /// Its rows (estimate).
    pub rows: u64,
    /// The initial copy at its end.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub copy: Option<CopyState>,
    /// Verification.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verify: Option<VerifyOutcome>,
    /// The cutover's write pause in milliseconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pause_ms: Option<u64>,
    /// Cutover attempts that released because they would have paused writes too long.
    pub cutover_retries: u32,
    /// The map version written at the cutover.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new_version: Option<u64>,
    /// Where the new map was written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub map_written: Option<String>,
    /// The journal file.
    pub journal: String,
    /// Things to know (defaults left out, foreign keys, what stays on the source).
    pub notes: Vec<String>,
    /// Rows that differ.
    pub findings: Vec<Finding>,
}

/// The journal file of `shard` for `map`: `<map>.moves/shard-<id>.json`.
pub fn journal_path(map: &Path, shard: u64) -> PathBuf {
    let name = map
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "map".into());
    map.with_file_name(format!("{name}.moves"))
        .join(format!("shard-{shard}.json"))
}

fn input(path: &Path, message: String) -> crate::Error {
    crate::Error::Input {
        path: path.display().to_string(),
        message,
    }
}

/// Read a move journal (`None` when there is none).
pub fn read_journal(path: &Path) -> Result<Option<Journal>, crate::Error> {
    match std::fs::read(path) {
        Ok(b) => Journal::from_bytes(&b)
            .map(Some)
            .map_err(|e| input(path, format!("not a dbkit move journal: {e}"))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(crate::Error::Io {
            path: path.display().to_string(),
            source,
        }),
    }
}

fn save_journal(path: &Path, j: &Journal) -> Result<(), crate::Error> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|source| crate::Error::Io {
            path: dir.display().to_string(),
            source,
        })?;
    }
    let text = serde_json::to_vec_pretty(j).map_err(|e| crate::Error::Internal(e.to_string()))?;
    super::shard::write_atomically(path, &text)
}

fn now() -> String {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    crate::calendar::iso(ms)
}

fn spec_of(
    map: &ShardMap,
    urls: &BTreeMap<String, String>,
    node: &str,
) -> Result<ConnSpec, crate::Error> {
    let spec = match urls.get(node) {
        Some(u) => ConnSpec::resolve(Some(u))?,
        None => {
            let n = map.nodes.iter().find(|n| n.name == node);
            ConnSpec::for_server(
                n.and_then(|n| n.url.as_deref()),
                n.and_then(|n| n.url_env.as_deref()),
            )?
        }
    };
    let mut spec = spec;
    spec.application_name = Some("dbkit shard move".into());
    Ok(spec)
}

/// The source's connection string as the target's subscription uses it, and as shown.
fn conninfo(spec: &ConnSpec) -> (String, String) {
    let pairs = |pw: Option<String>| {
        moves::conninfo(&[
            ("host", spec.host.clone()),
            ("port", spec.port.map(|p| p.to_string())),
            ("user", spec.user.clone()),
            ("password", pw),
            ("dbname", spec.dbname.clone()),
            ("sslmode", spec.sslmode.clone()),
            ("sslrootcert", spec.sslrootcert.clone()),
            ("application_name", Some("dbkit_move".to_string())),
        ])
    };
    let real = pairs(spec.password.as_ref().map(|p| p.expose().to_string()));
    let shown = pairs(spec.password.as_ref().map(|_| "***".to_string()));
    (real, shown)
}

/// A running move: the request, the map, the journal and the two connections.
struct Mover<'a> {
    req: &'a MoveRequest,
    map: ShardMap,
    journal: Journal,
    journal_path: PathBuf,
    src_spec: ConnSpec,
    dst_spec: ConnSpec,
    src: PgConnection,
    dst: PgConnection,
    /// The source's current schema (of unqualified map tables).
    schema: String,
    report: MoveReport,
}

fn db(spec: &ConnSpec) -> impl Fn(DbError) -> crate::Error + '_ {
    move |e| {
        let msg = spec.scrub(&e.to_string());
        crate::Error::Db(DbError::Query {
            context: spec.endpoint(),
            message: msg,
        })
    }
}

impl Mover<'_> {
    fn src(&mut self) -> &mut PgConnection {
        &mut self.src
    }

    fn dst(&mut self) -> &mut PgConnection {
        &mut self.dst
    }

    fn both(&mut self) -> (&mut PgConnection, &mut PgConnection) {
        (&mut self.src, &mut self.dst)
    }

    async fn catch_up(&mut self) -> Result<Duration, crate::Error> {
        let ds = self.dst_spec.clone();
        let names = self.journal.names.clone();
        let limit = self.req.catch_up;
        let (s, d) = self.both();
        lg::catch_up(s, d, &names, limit).await.map_err(db(&ds))
    }

    /// Hold (or release) the node-wide lock dbkit takes around its DDL there, so moves running
    /// at once (a rebalance) never race creating the same schema, parent table or function.
    async fn ddl_lock(&mut self, target: bool, hold: bool) -> Result<(), crate::Error> {
        if !self.req.execute {
            return Ok(());
        }
        let f = if hold {
            "pg_advisory_lock"
        } else {
            "pg_advisory_unlock"
        };
        let sql = format!("SELECT {f}(hashtext('dbkit shard move ddl')::int8)::text");
        let (spec, conn) = if target {
            (self.dst_spec.clone(), &mut self.dst)
        } else {
            (self.src_spec.clone(), &mut self.src)
        };
        sqlx::query(&sql)
            .fetch_one(&mut *conn)
            .await
            .map(|_| ())
            .map_err(|e| db(&spec)(crate::db::query_error("the DDL lock", &e)))
    }

    fn sql(&mut self, step: usize, target: bool, sql: String) {
        let node = if target {
            format!("target {}", self.journal.to)
        } else {
            format!("source {}", self.journal.from)
        };
        self.report.steps[step]
            .statements
            .push(NodeSql { node, sql });
    }

    fn save(&self) -> Result<(), crate::Error> {
        if self.req.execute {
            save_journal(&self.journal_path, &self.journal)
        } else {
            Ok(())
        }
    }

    /// Run `sql` on a node (or only record it in a dry run).
    async fn run(
        &mut self,
        step: usize,
        target: bool,
        sql: String,
        shown: Option<String>,
    ) -> Result<(), crate::Error> {
        self.sql(step, target, shown.unwrap_or_else(|| sql.clone()));
        if !self.req.execute {
            return Ok(());
        }
        let what = format!("{} step", Step::ALL[step].name());
        if target {
            let spec = self.dst_spec.clone();
            lg::run(self.dst(), &what, &sql).await.map_err(db(&spec))?;
        } else {
            let spec = self.src_spec.clone();
            lg::run(self.src(), &what, &sql).await.map_err(db(&spec))?;
        }
        Ok(())
    }
}

/// Connect to both nodes: the source (its current schema read, then names qualified) and the
/// target, where the move's advisory lock keeps a second dbkit off the same move.
async fn connect_both(
    src_spec: &ConnSpec,
    dst_spec: &ConnSpec,
    lock: &str,
    map: &Path,
    shard: u64,
) -> Result<(PgConnection, PgConnection, String), crate::Error> {
    let mut s = connect(src_spec).await.map_err(db(src_spec))?;
    let schema = lg::current_schema(&mut s).await.map_err(db(src_spec))?;
    lg::qualify_names(&mut s).await.map_err(db(src_spec))?;
    let mut d = connect(dst_spec).await.map_err(db(dst_spec))?;
    let got: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock(hashtext($1)::int8)")
        .bind(lock)
        .fetch_one(&mut d)
        .await
        .map_err(|e| db(dst_spec)(crate::db::query_error("taking the move's lock", &e)))?;
    if !got {
        close(s).await;
        close(d).await;
        return Err(input(
            map,
            format!("another dbkit is running the move of shard {shard} (it holds the advisory lock on the target); wait for it, or stop it first"),
        ));
    }
    Ok((s, d, schema))
}

/// One writer of map files at a time in this process.
static MAP_WRITE: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn step_index(s: Step) -> usize {
    Step::ALL.iter().position(|x| *x == s).unwrap_or(0)
}

/// `dbkit shard move`: run (or, without `execute`, show) the move of a shard.
pub async fn run_move(req: &MoveRequest) -> Result<MoveReport, crate::Error> {
    let map = super::shard::load_valid(&req.map, 0.1)?;
    let jpath = journal_path(&req.map, req.shard);
    let old = read_journal(&jpath)?;
    let Some(shard) = map.shards.iter().find(|s| s.id == req.shard) else {
        return Err(input(
            &req.map,
            format!("the map has no shard {}", req.shard),
        ));
    };
    let shard_node = shard.node.clone();
    let running = old.as_ref().filter(|j| j.state == MoveState::Running);
    let (journal, action) = match (&req.action, running) {
        (Action::Abort, Some(j)) => {
            if j.cut_over() {
                return Err(input(&req.map, format!(
                    "the move of shard {} to {} has cut over (map version {}): it cannot be aborted; rerun it to finish the cleanup, then --reverse to move the shard back",
                    req.shard, j.to, j.new_version.unwrap_or(j.map_version + 1)
                )));
            }
            (j.clone(), "abort")
        }
        (Action::Abort, None) => {
            return Err(input(&req.map, format!(
                "no move of shard {} is in progress ({} has none): nothing to abort",
                req.shard,
                jpath.display()
            )))
        }
        (Action::To(to), Some(j)) if &j.to != to => {
            return Err(input(&req.map, format!(
                "a move of shard {} from {} to {} is in progress: rerun it (--to {}) or --abort it first",
                req.shard, j.from, j.to, j.to
            )))
        }
        (Action::Reverse, Some(j)) => {
            return Err(input(&req.map, format!(
                "a move of shard {} from {} to {} is in progress: finish it (rerun with --to {}) or --abort it",
                req.shard, j.from, j.to, j.to
            )))
        }
        (_, Some(j)) => (j.clone(), "move"),
        (action, None) => {
            let (to, name) = match action {
                Action::To(to) => (to.clone(), "move"),
                _ => {
                    let last = old
                        .as_ref()
                        .and_then(|j| j.history.iter().rev().find(|h| h.state == MoveState::Done))
                        .ok_or_else(|| input(&req.map, format!(
                            "shard {} has no finished move to reverse ({} records none)",
                            req.shard,
                            jpath.display()
                        )))?;
                    if last.to != shard_node {
                        return Err(input(&req.map, format!(
                            "the last move of shard {} went to {}, but the map now places it on {}: move it with --to",
                            req.shard, last.to, shard_node
                        )));
                    }
                    (last.from.clone(), "reverse")
                }
            };
            if !map.nodes.iter().any(|n| n.name == to) {
                return Err(input(&req.map, format!("--to {to:?}: the map has no such node")));
            }
            if to == shard_node {
                return Err(input(&req.map, format!("shard {} is already on {to}", req.shard)));
            }
            let shards: Vec<u64> = moves::colocated(&map, req.shard).iter().map(|s| s.id).collect();
            let mut j = Journal::new(req.shard, shards, &shard_node, &to, map.version);
            if let Some(o) = &old {
                j.history = o.history.clone();
            }
            (j, name)
        }
    };
    if action == "move" && !journal.cut_over() && shard_node != journal.from {
        return Err(input(&req.map, format!(
            "the journal's move of shard {} starts from {}, but the map places the shard on {}: the map was changed during the move; --abort it",
            req.shard, journal.from, shard_node
        )));
    }
    let src_spec = spec_of(&map, &req.urls, &journal.from)?;
    let dst_spec = spec_of(&map, &req.urls, &journal.to)?;
    let report = MoveReport {
        map: req.map.display().to_string(),
        shard: req.shard,
        shards: journal.shards.clone(),
        from: journal.from.clone(),
        to: journal.to.clone(),
        action,
        executed: req.execute,
        state: if req.execute {
            "running".into()
        } else {
            "dry run".into()
        },
        steps: Step::ALL
            .iter()
            .map(|s| StepOut {
                step: s.name(),
                status: "not reached".into(),
                summary: String::new(),
                ms: 0,
                statements: Vec::new(),
            })
            .collect(),
        units: Vec::new(),
        bytes: 0,
        rows: 0,
        copy: None,
        verify: None,
        pause_ms: journal.pause_ms,
        cutover_retries: 0,
        new_version: journal.new_version,
        map_written: None,
        journal: jpath.display().to_string(),
        notes: Vec::new(),
        findings: Vec::new(),
    };
    let (src, dst, schema) = connect_both(
        &src_spec,
        &dst_spec,
        journal.names.name(),
        &req.map,
        req.shard,
    )
    .await?;
    let mut m = Mover {
        req,
        map,
        journal,
        journal_path: jpath,
        src_spec,
        dst_spec,
        src,
        dst,
        schema,
        report,
    };
    let result = if action == "abort" {
        abort(&mut m).await
    } else {
        drive(&mut m).await
    };
    let Mover {
        src,
        dst,
        journal,
        mut report,
        ..
    } = m;
    close(src).await;
    close(dst).await;
    result?;
    report.units = journal.units.clone();
    report.pause_ms = journal.pause_ms;
    report.new_version = journal.new_version;
    if req.execute {
        report.state = match journal.state {
            MoveState::Running => "running".into(),
            MoveState::Done => "done".into(),
            MoveState::Aborted => "aborted".into(),
        };
    }
    Ok(report)
}

async fn drive(m: &mut Mover<'_>) -> Result<(), crate::Error> {
    for step in Step::ALL {
        let i = step_index(step);
        let started = Instant::now();
        if m.req.execute && m.journal.done(step) && step != Step::Preflight && step != Step::Verify
        {
            m.report.steps[i].status = "done before".into();
            m.report.steps[i].summary = m
                .journal
                .steps
                .iter()
                .find(|r| r.step == step)
                .map(|r| r.summary.clone())
                .unwrap_or_default();
            continue;
        }
        if m.journal.cut_over() && matches!(step, Step::Preflight | Step::Verify) {
            m.report.steps[i].status = "done before".into();
            continue;
        }
        if m.req.execute {
            m.journal.start(step, &now());
            m.save()?;
        }
        let summary = match step {
            Step::Preflight => preflight(m, i).await?,
            Step::Schema => schema(m, i).await?,
            Step::Copy => copy(m, i).await?,
            Step::Indexes => indexes(m, i).await?,
            Step::Verify => verify_step(m, i).await?,
            Step::Cutover => cutover(m, i).await?,
            Step::Cleanup => cleanup(m, i).await?,
        };
        let r = &mut m.report.steps[i];
        r.status = if m.req.execute {
            "done".into()
        } else {
            "would run".into()
        };
        r.summary = summary.clone();
        r.ms = started.elapsed().as_millis() as u64;
        if !m.report.findings.is_empty() {
            // Rows differ: the step is not done, and the move goes no further.
            r.status = "rows differ".into();
            break;
        }
        if m.req.execute {
            m.journal.finish(step, &now(), summary);
            if step == Step::Cleanup {
                m.journal.close(MoveState::Done, &now());
            }
            m.save()?;
            tracing::info!(step = step.name(), shard = m.req.shard, "move step done");
        }
        if m.req.stop_after == Some(step) {
            break;
        }
    }
    Ok(())
}

fn layout_name(l: Layout) -> &'static str {
    match l {
        Layout::Partition => "partition",
        Layout::ShardTable => "shard table",
        Layout::Filtered => "rows of a shared table",
    }
}

async fn preflight(m: &mut Mover<'_>, i: usize) -> Result<String, crate::Error> {
    let ss = m.src_spec.clone();
    let ds = m.dst_spec.clone();
    let src_facts = lg::node_facts(m.src()).await.map_err(db(&ss))?;
    let dst_facts = lg::node_facts(m.dst()).await.map_err(db(&ds))?;
    let mut problems = Vec::new();
    let mut units = Vec::new();
    let map = m.map.clone();
    for id in m.journal.shards.clone() {
        let Some(shard) = map.shards.iter().find(|s| s.id == id) else {
            continue;
        };
        for (table, key) in moves::tables_of(&map, shard) {
            match lg::find_unit(&mut m.src, &map, shard, &table, &key, &m.schema).await.map_err(db(&ss))? {
                Some(u) => units.push(u),
                None => problems.push(format!(
                    "shard {id}'s rows of {table} are not on {}: no partition with the shard's bound, no {}_{id} table, and no plain table {table} (or a ring map, which no row filter expresses)",
                    m.journal.from,
                    moves::split_table(&table, "").1
                )),
            }
        }
    }
    if src_facts.wal_level != "logical" {
        problems.push(format!(
            "wal_level is {} on {}: logical replication needs wal_level = logical (ALTER SYSTEM SET wal_level = logical, then restart)",
            src_facts.wal_level, m.journal.from
        ));
    }
    let slot_name = m.journal.names.base.clone();
    let have_slot = lg::slot(m.src(), &slot_name)
        .await
        .map_err(db(&ss))?
        .is_some();
    // One slot and one WAL sender for the subscription: dbkit copies the rows itself.
    let need = if have_slot { 0 } else { 1 };
    if src_facts.free_slots < need {
        problems.push(format!(
            "{} has {} free replication slot(s); the move needs {need} (for the subscription): raise max_replication_slots",
            m.journal.from, src_facts.free_slots
        ));
    }
    if src_facts.free_senders < need {
        problems.push(format!(
            "{} has {} free WAL sender(s); the move needs {need}: raise max_wal_senders",
            m.journal.from, src_facts.free_senders
        ));
    }
    if !src_facts.replication {
        problems.push(format!(
            "the user connecting to {} has neither REPLICATION nor superuser: the target's subscription cannot stream from it (ALTER ROLE … REPLICATION)",
            m.journal.from
        ));
    }
    if !dst_facts.superuser {
        problems.push(format!(
            "the user connecting to {} is not a superuser: PostgreSQL 15 lets only superusers create subscriptions",
            m.journal.to
        ));
    }
    let filtered = units.iter().any(|u| u.layout == Layout::Filtered);
    if src_facts.version_num < 100000 || dst_facts.version_num < 100000 {
        problems.push("logical replication needs PostgreSQL 10 or later on both nodes".into());
    } else if filtered && (src_facts.version_num < 150000 || dst_facts.version_num < 150000) {
        problems.push("a shard held in a shared plain table moves with a publication row filter, which needs PostgreSQL 15 or later on both nodes".into());
    }
    if src_facts.version_num / 10000 != dst_facts.version_num / 10000 {
        m.report.notes.push(format!(
            "the nodes run different majors ({} and {}): logical replication works across majors; the copy is sent as text",
            src_facts.version_num / 10000,
            dst_facts.version_num / 10000
        ));
    }
    let (mut bytes, mut rows) = (0, 0);
    for u in &units {
        if let Some(p) = lg::replica_identity_problem(m.src(), u)
            .await
            .map_err(db(&ss))?
        {
            problems.push(p);
        }
        let (b, r) = lg::unit_size(m.src(), u).await.map_err(db(&ss))?;
        let share = match (
            u.layout,
            m.map
                .shards
                .iter()
                .find(|s| s.id == u.shard)
                .and_then(|s| s.hash),
        ) {
            (Layout::Filtered, Some(h)) => h.modulus.max(1),
            _ => 1,
        };
        bytes += b / share;
        rows += r / share;
        // What is already on the target where the shard's rows go (once the schema step ran,
        // what is there is the move's own).
        if m.journal.created.contains(&u.qualified()) || m.journal.done(Step::Schema) {
            continue;
        }
        match u.layout {
            Layout::Partition | Layout::ShardTable => {
                if lg::exists(m.dst(), &u.schema, &u.relation)
                    .await
                    .map_err(db(&ds))?
                {
                    problems.push(format!(
                        "{} already has a relation {}: the shard's copy would go there; rename or drop it first",
                        m.journal.to,
                        u.qualified()
                    ));
                }
            }
            Layout::Filtered => {
                let (schema, rel) = (u.schema.clone(), u.relation.clone());
                if lg::exists(m.dst(), &schema, &rel).await.map_err(db(&ds))?
                    && lg::any_row(
                        m.dst(),
                        "looking for the shard's rows on the target",
                        &u.rows_sql(),
                    )
                    .await
                    .map_err(db(&ds))?
                    && !lg::has_old_fence(m.dst(), u).await.map_err(db(&ds))?
                {
                    problems.push(format!(
                        "{} already holds rows of shard {} in {}: they would collide with the copy; delete them (after checking them) first",
                        m.journal.to,
                        u.shard,
                        u.qualified()
                    ));
                }
            }
        }
    }
    m.report.bytes = bytes;
    m.report.rows = rows;
    m.sql(
        i,
        false,
        "-- reads: server settings, roles, the shard's relations, replica identity, sizes".into(),
    );
    if !problems.is_empty() {
        return Err(input(
            &m.req.map,
            format!(
                "shard {} cannot move from {} to {}:\n  - {}",
                m.req.shard,
                m.journal.from,
                m.journal.to,
                problems.join("\n  - ")
            ),
        ));
    }
    m.journal.units = units;
    m.report.units = m.journal.units.clone();
    m.report.notes.push(
        "free disk on the target cannot be read through SQL: make sure it holds the shard's size with room to spare".into(),
    );
    Ok(format!(
        "{} table part(s) ({}), {} and about {} rows to copy; wal_level logical, {} free slot(s) on {}",
        m.journal.units.len(),
        m.journal
            .units
            .iter()
            .map(|u| format!("{} as {}", u.qualified(), layout_name(u.layout)))
            .collect::<Vec<_>>()
            .join(", "),
        crate::view::human_bytes(bytes as f64),
        rows,
        src_facts.free_slots,
        m.journal.from
    ))
}

async fn schema(m: &mut Mover<'_>, i: usize) -> Result<String, crate::Error> {
    m.ddl_lock(true, true).await?;
    let r = schema_locked(m, i).await;
    m.ddl_lock(true, false).await?;
    r
}

async fn schema_locked(m: &mut Mover<'_>, i: usize) -> Result<String, crate::Error> {
    let ss = m.src_spec.clone();
    let ds = m.dst_spec.clone();
    let mut made = Vec::new();
    let mut schemas: Vec<String> = m.journal.units.iter().map(|u| u.schema.clone()).collect();
    schemas.dedup();
    for s in schemas {
        m.run(
            i,
            true,
            format!("CREATE SCHEMA IF NOT EXISTS {}", quote_ident(&s)),
            None,
        )
        .await?;
    }
    for u in m.journal.units.clone() {
        let rel = u.qualified();
        match u.layout {
            Layout::Partition => {
                let parent = quote_qualified(&[&u.schema, u.parent.as_deref().unwrap_or_default()]);
                let parent_name = u.parent.clone().unwrap_or_default();
                if create_missing(m, i, &u.schema, &parent_name).await? {
                    made.push(parent.clone());
                }
                let bound = lg::partition_bound(m.src(), &rel).await.map_err(db(&ss))?;
                if m.req.execute {
                    for old in lg::fenced_partitions(m.dst(), &u, &bound)
                        .await
                        .map_err(db(&ds))?
                    {
                        m.run(
                            i,
                            true,
                            format!("ALTER TABLE {parent} DETACH PARTITION {old}"),
                            None,
                        )
                        .await?;
                        m.report.notes.push(format!(
                            "{old} on {} (a fenced copy an earlier move left) was detached to make room; it is kept",
                            m.journal.to
                        ));
                    }
                }
                // A table of its own until the indexes step attaches it: the copy then maintains
                // only its primary key, not the indexes the target's parent would cascade.
                if create_missing(m, i, &u.schema, &u.relation).await? {
                    made.push(rel.clone());
                }
            }
            Layout::ShardTable | Layout::Filtered => {
                if create_missing(m, i, &u.schema, &u.relation).await? {
                    made.push(rel.clone());
                } else if u.layout == Layout::Filtered
                    && m.req.execute
                    && lg::has_old_fence(m.dst(), &u).await.map_err(db(&ds))?
                {
                    let n = lg::delete_rows(m.dst(), &u).await.map_err(db(&ds))?;
                    lg::drop_old_fences(m.dst(), &u).await.map_err(db(&ds))?;
                    m.report.notes.push(format!(
                        "{n} stale row(s) of shard {} in {rel} on {} (fenced by an earlier move) were deleted before the copy",
                        u.shard, m.journal.to
                    ));
                }
            }
        }
        m.save()?;
    }
    for sql in lg::marker_sql(&m.journal.names, false) {
        m.run(i, true, sql, None).await?;
    }
    Ok(if made.is_empty() {
        "the shard's tables were already on the target".into()
    } else {
        format!(
            "created {} on {} (primary keys and constraints; secondary indexes after the copy)",
            made.join(", "),
            m.journal.to
        )
    })
}

/// Create `schema.name` on the target from the source's definition unless it is there;
/// whether it was created.
async fn create_missing(
    m: &mut Mover<'_>,
    i: usize,
    schema: &str,
    name: &str,
) -> Result<bool, crate::Error> {
    let ds = m.dst_spec.clone();
    let ss = m.src_spec.clone();
    if lg::exists(m.dst(), schema, name).await.map_err(db(&ds))? {
        return Ok(false);
    }
    let rel = quote_qualified(&[schema, name]);
    let def = lg::table_def(m.src(), &rel, &rel).await.map_err(db(&ss))?;
    for d in &def.dropped_defaults {
        m.report.notes.push(format!(
            "{rel}: the column default {d} calls a sequence that is not on the target; it was left out there (set it, or generate keys outside the nodes)"
        ));
    }
    m.run(i, true, def.create, None).await?;
    m.journal.created.push(rel);
    Ok(true)
}

async fn copy(m: &mut Mover<'_>, i: usize) -> Result<String, crate::Error> {
    let ss = m.src_spec.clone();
    let ds = m.dst_spec.clone();
    let names = m.journal.names.clone();
    m.ddl_lock(false, true).await?;
    for sql in lg::marker_sql(&names, true) {
        m.run(i, false, sql, None).await?;
    }
    m.ddl_lock(false, false).await?;
    if !m.req.execute
        || !lg::has_publication(m.src(), names.name())
            .await
            .map_err(db(&ss))?
    {
        m.run(
            i,
            false,
            lg::publication_sql(&m.journal.units, &names),
            None,
        )
        .await?;
    }
    if !m.req.execute
        || lg::slot(m.src(), names.name())
            .await
            .map_err(db(&ss))?
            .is_none()
    {
        m.run(i, false, ic::create_slot_sql(names.name()), None)
            .await?;
    }
    let subscription = if m.req.execute {
        ic::subscription_enabled(m.dst(), names.name())
            .await
            .map_err(db(&ds))?
    } else {
        None
    };
    let start = Instant::now();
    let summary;
    let mut state = CopyState::default();
    match subscription {
        None => {
            let (piped, pause, binary) = copy_at_snapshot(m, i).await?;
            if !m.req.execute {
                return Ok(format!(
                    "publish {} on {} and create its slot; pause writes to them for a moment to take a snapshot at a known WAL position, COPY the rows as of that snapshot ({}) into the target, subscribe there without a copy and start streaming at that position",
                    m.journal.units.iter().map(Unit::qualified).collect::<Vec<_>>().join(", "),
                    m.journal.from,
                    if binary { "binary" } else { "text" },
                ));
            }
            state.rows = piped.rows;
            state.bytes = piped.bytes;
            summary = format!(
                "copied {} rows ({:.0} MB, {}) in {:.1} s after a {} ms write pause for the snapshot; ",
                piped.rows,
                piped.bytes as f64 / 1e6,
                if binary { "binary" } else { "text" },
                start.elapsed().as_secs_f64(),
                pause.as_millis()
            );
            start_stream(m, i).await?;
        }
        Some(false) => {
            summary = "the copy had committed; ".into();
            start_stream(m, i).await?;
        }
        Some(true) => {
            // Started before: wait for any table copy a subscription of an older dbkit runs,
            // stopping at the first error it reports.
            let errors0 = lg::subscription_errors(m.dst(), names.name())
                .await
                .map_err(db(&ds))?;
            loop {
                let st = lg::copy_state(m.dst(), names.name())
                    .await
                    .map_err(db(&ds))?;
                if st.ready == st.tables {
                    break;
                }
                let errors = lg::subscription_errors(m.dst(), names.name())
                    .await
                    .map_err(db(&ds))?;
                if errors > errors0 {
                    return Err(input(&m.req.map, format!(
                        "the subscription on {} reported an error while copying: see the target's server log; rerun to keep waiting, or --abort",
                        m.journal.to
                    )));
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            summary = "streaming before; ".into();
        }
    }
    state.tables = m.journal.units.len() + 1;
    state.ready = state.tables;
    let lag = lg::slot_lag(m.src(), names.name()).await.map_err(db(&ss))?;
    // How far behind in time: the marker's round trip through the stream.
    let behind = m.catch_up().await?;
    state.lag_bytes = lag.unwrap_or(0).max(0) as u64;
    state.lag_ms = behind.as_millis() as u64;
    m.report.copy = Some(state);
    Ok(format!(
        "{summary}streaming, {} bytes and {} ms behind",
        lag.unwrap_or(0),
        behind.as_millis()
    ))
}

/// The initial copy: the shard's rows (and the move's marker) read at a snapshot taken with
/// writes paused for a moment, so its WAL position is exact (`db::initial_copy`), piped into
/// the target inside one transaction that also creates the subscription (disabled). The
/// position is saved in the journal before that transaction commits. Returns what was piped,
/// the write pause, and whether the copy was binary.
async fn copy_at_snapshot(
    m: &mut Mover<'_>,
    i: usize,
) -> Result<(ic::Piped, Duration, bool), crate::Error> {
    let ss = m.src_spec.clone();
    let ds = m.dst_spec.clone();
    let names = m.journal.names.clone();
    let same_major = m
        .report
        .notes
        .iter()
        .all(|n| !n.contains("different majors"));
    // What is copied: every unit, then the marker.
    let mut rels: Vec<(String, Option<String>)> = m
        .journal
        .units
        .iter()
        .map(|u| (u.qualified(), u.filter.clone()))
        .collect();
    rels.push((names.marker(), None));
    let mut columns = Vec::new();
    let mut binary = same_major;
    for (rel, _) in &rels {
        let cols = if m.req.execute {
            ic::copy_columns(m.src(), rel).await.map_err(db(&ss))?
        } else {
            ic::CopyColumns {
                names: vec!["…".into()],
                builtin_types: true,
            }
        };
        binary &= cols.builtin_types;
        columns.push(cols.names);
    }
    let lock_ms = (m.req.max_pause.as_millis() as u64 / 4).clamp(10, 2000);
    let locked: Vec<String> = rels.iter().map(|(r, _)| r.clone()).collect();
    for sql in ic::export_snapshot_sql(&locked, lock_ms) {
        m.sql(i, false, sql);
    }
    m.sql(i, false, "-- a second session: BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SET TRANSACTION SNAPSHOT '<the exported one>'; then COMMIT here (writes resume)".into());
    m.sql(i, true, "BEGIN".into());
    let mut pipes = Vec::new();
    for ((rel, filter), cols) in rels.iter().zip(&columns) {
        let out = ic::copy_out_sql(rel, filter.as_deref(), cols, binary);
        let inn = ic::copy_in_sql(rel, cols, binary);
        m.sql(i, false, out.clone());
        m.sql(i, true, inn.clone());
        pipes.push((out, inn));
    }
    let (real, shown) = conninfo(&m.src_spec);
    m.sql(i, true, lg::subscription_sql(&names, &shown, binary));
    m.sql(i, true, "COMMIT".into());
    for sql in ic::start_subscription_sql(names.name(), "<the snapshot's WAL position>") {
        m.sql(i, true, sql);
    }
    if !m.req.execute {
        return Ok((ic::Piped::default(), Duration::ZERO, binary));
    }

    let mut reader = connect(&ss).await.map_err(db(&ss))?;
    let result = async {
        if !binary {
            // Text is printed by one server and read by the other: the same date, interval and
            // bytea styles on both (an interval printed in sql_standard style reads back
            // differently in postgres style).
            lg::stable_text(&mut reader).await.map_err(db(&ss))?;
            lg::stable_text(m.dst()).await.map_err(db(&ds))?;
        }
        let mut snap = None;
        for attempt in 1..=m.req.attempts.max(1) {
            if attempt > 1 {
                tokio::time::sleep(Duration::from_millis(200 * u64::from(attempt.min(10)))).await;
            }
            snap = ic::export_snapshot(m.src(), &locked, lock_ms)
                .await
                .map_err(db(&ss))?;
            if snap.is_some() {
                break;
            }
            tracing::warn!(attempt, "the snapshot's lock did not come within {lock_ms} ms");
        }
        let Some(snap) = snap else {
            return Err(input(&m.req.map, format!(
                "the copy's snapshot needs a moment with no write to the shard's tables, and their SHARE lock did not come within {lock_ms} ms in {} attempt(s) (a long transaction writing them?); nothing was copied: rerun later",
                m.req.attempts.max(1)
            )));
        };
        let imported = ic::import_snapshot(&mut reader, &snap.id).await;
        let pause = ic::release(m.src(), &snap).await.map_err(db(&ss))?;
        imported.map_err(db(&ss))?;
        tracing::info!(pause_ms = pause.as_millis() as u64, lsn = %snap.lsn, "snapshot taken; copying");
        m.journal.copy_lsn = Some(snap.lsn.clone());
        m.save()?;
        lg::run(m.dst(), "the copy", "BEGIN").await.map_err(db(&ds))?;
        let total = m.report.rows.max(1);
        let label = format!("copying shard {}", m.req.shard);
        let mut done = ic::Piped::default();
        let units = m.journal.units.len();
        let copied = async {
            for (n, (out, inn)) in pipes.iter().enumerate() {
                let before = done.rows;
                let mut progress = |messages: u64, _bytes: u64| {
                    crate::progress(&label, (before + messages).min(total) as usize, total as usize)
                };
                let p = ic::pipe(&mut reader, &mut m.dst, out, inn, &mut progress).await?;
                if n < units {
                    // (the last one is the marker)
                    done.rows += p.rows;
                    done.bytes += p.bytes;
                }
            }
            lg::run(&mut m.dst, "subscribing", &lg::subscription_sql(&names, &real, binary)).await?;
            lg::run(&mut m.dst, "the copy", "COMMIT").await
        }
        .await;
        if let Err(e) = copied {
            let _ = exec(m.dst(), "ROLLBACK").await;
            return Err(db(&ds)(e));
        }
        Ok((done, pause))
    }
    .await;
    let _ = exec(&mut reader, "COMMIT").await;
    close(reader).await;
    let (piped, pause) = result?;
    Ok((piped, pause, binary))
}

/// Start the subscription created disabled by [`copy_at_snapshot`] at the WAL position its
/// snapshot stood at (from the journal).
async fn start_stream(m: &mut Mover<'_>, i: usize) -> Result<(), crate::Error> {
    let ds = m.dst_spec.clone();
    let Some(lsn) = m.journal.copy_lsn.clone() else {
        return Err(input(&m.req.map, format!(
            "subscription {} on {} is disabled and the journal has no WAL position to start it at: --abort the move and start again",
            m.journal.names.name(),
            m.journal.to
        )));
    };
    for sql in ic::start_subscription_sql(m.journal.names.name(), &lsn) {
        if !m.report.steps[i].statements.iter().any(|s| s.sql == sql) {
            m.sql(i, true, sql.clone());
        }
        lg::run(m.dst(), "starting the subscription", &sql)
            .await
            .map_err(db(&ds))?;
    }
    Ok(())
}

/// An index definition as `pg_get_indexdef` prints it, without the index's name (PostgreSQL
/// picks a free one: the source's name may be taken on the target by an old copy), built
/// `CONCURRENTLY` when asked: `CREATE INDEX i ON t …` → `CREATE INDEX CONCURRENTLY ON t …`.
fn unnamed(def: &str, concurrent: bool) -> String {
    for p in ["CREATE UNIQUE INDEX ", "CREATE INDEX "] {
        let Some(rest) = def.strip_prefix(p) else {
            continue;
        };
        // The name: a quoted identifier ("" inside) or a bare word.
        let after = if let Some(q) = rest.strip_prefix('"') {
            let mut i = 0;
            let b = q.as_bytes();
            loop {
                match b.get(i) {
                    Some(b'"') if b.get(i + 1) == Some(&b'"') => i += 2,
                    Some(b'"') => break &q[i + 1..],
                    Some(_) => i += 1,
                    None => return def.to_string(),
                }
            }
        } else {
            rest.split_once(' ').map_or("", |(_, r)| r)
        };
        let Some(on) = after.trim_start().strip_prefix("ON ") else {
            return def.to_string();
        };
        let c = if concurrent { "CONCURRENTLY " } else { "" };
        return format!("{p}{c}ON {on}");
    }
    def.to_string()
}

/// An index definition without its name, to compare the two nodes' indexes.
fn index_shape(def: &str) -> String {
    let unique = def.starts_with("CREATE UNIQUE");
    let tail = def.split_once(" USING ").map_or(def, |(_, t)| t);
    let on = def
        .split_once(" ON ")
        .map(|(_, r)| {
            r.split(" USING ")
                .next()
                .unwrap_or(r)
                .trim_start_matches("ONLY ")
                .to_string()
        })
        .unwrap_or_default();
    format!("{unique}|{on}|{tail}")
}

/// Attach the copied partition to the target's parent (its indexes, built first, match the
/// parent's and are attached rather than built again).
async fn attach(m: &mut Mover<'_>, i: usize, u: &Unit) -> Result<(), crate::Error> {
    let ss = m.src_spec.clone();
    let ds = m.dst_spec.clone();
    let rel = u.qualified();
    let parent = quote_qualified(&[&u.schema, u.parent.as_deref().unwrap_or_default()]);
    if m.req.execute && lg::is_partition(m.dst(), &rel).await.map_err(db(&ds))? {
        return Ok(());
    }
    let bound = lg::partition_bound(m.src(), &rel).await.map_err(db(&ss))?;
    m.run(
        i,
        true,
        format!("ALTER TABLE {parent} ATTACH PARTITION {rel} {bound}"),
        None,
    )
    .await
}

async fn indexes(m: &mut Mover<'_>, i: usize) -> Result<String, crate::Error> {
    let ss = m.src_spec.clone();
    let ds = m.dst_spec.clone();
    let mut built = 0;
    let mut fks = Vec::new();
    for u in m.journal.units.clone() {
        let rel = u.qualified();
        let mut rels = vec![(rel.clone(), true)];
        if let Some(p) = &u.parent {
            rels.push((quote_qualified(&[&u.schema, p]), false));
        }
        for (r, concurrent) in rels {
            let src = lg::table_def(m.src(), &r, &r).await.map_err(db(&ss))?;
            let have: Vec<String> = if m.req.execute && m.journal.created.contains(&r)
                || u.layout == Layout::Partition
            {
                lg::qualify_names(m.dst()).await.map_err(db(&ds))?;
                let d = lg::table_def(m.dst(), &r, &r).await.map_err(db(&ds));
                exec(m.dst(), "RESET search_path").await.ok();
                match d {
                    Ok(d) => d.indexes.iter().map(|x| index_shape(x)).collect(),
                    Err(_) => Vec::new(),
                }
            } else {
                Vec::new()
            };
            let ours = m.journal.created.contains(&r);
            if !ours && u.layout == Layout::Filtered {
                continue; // the target's own table keeps its own indexes
            }
            for def in &src.indexes {
                if have.contains(&index_shape(def)) {
                    continue;
                }
                let sql = unnamed(def, concurrent);
                m.run(i, true, sql, None).await?;
                built += 1;
            }
            if concurrent && ours {
                fks.extend(src.foreign_keys.clone());
            }
            if concurrent && u.layout == Layout::Partition {
                m.ddl_lock(true, true).await?;
                attach(m, i, &u).await?;
            }
        }
        if u.layout == Layout::Partition {
            m.ddl_lock(true, false).await?;
        }
        m.run(i, true, format!("ANALYZE {rel}"), None).await?;
    }
    for fk in &fks {
        m.report.notes.push(format!(
            "foreign key not recreated on the target (add it there when the referenced rows are on that node): {fk}"
        ));
    }
    Ok(format!(
        "{built} secondary index(es) built on {}; ANALYZE run",
        m.journal.to
    ))
}

/// Compare the shard's rows on both nodes while writes continue: counts and checksums per
/// chunk after the target replayed the source's changes, differing chunks again after a
/// catch-up, then row by row, each differing row re-checked after a catch-up.
async fn verify_units(
    src: &mut PgConnection,
    dst: &mut PgConnection,
    units: &[Unit],
    names: &moves::MoveNames,
    catch_up: Duration,
) -> Result<VerifyOutcome, DbError> {
    lg::stable_text(src).await?;
    lg::stable_text(dst).await?;
    let mut out = VerifyOutcome {
        chunks: lg::CHUNKS,
        ..Default::default()
    };
    for u in units {
        let lag = lg::catch_up(src, dst, names, catch_up).await?;
        out.lag_ms = out.lag_ms.max(lag.as_millis() as u64);
        let (a, b) = tokio::join!(lg::chunk_sums(src, u, None), lg::chunk_sums(dst, u, None));
        let (a, b) = (a?, b?);
        out.rows += a.values().map(|c| c.rows).sum::<i64>();
        let mut differ = moves::differing_chunks(&a, &b);
        out.differed_first += differ.len();
        for _ in 0..3 {
            if differ.is_empty() {
                break;
            }
            lg::catch_up(src, dst, names, catch_up).await?;
            let (a, b) = tokio::join!(
                lg::chunk_sums(src, u, Some(&differ)),
                lg::chunk_sums(dst, u, Some(&differ))
            );
            differ = moves::differing_chunks(&a?, &b?);
        }
        if differ.is_empty() {
            continue;
        }
        let mut keys: Option<Vec<String>> = None;
        let mut rows = Vec::new();
        for _ in 0..4 {
            lg::catch_up(src, dst, names, catch_up).await?;
            let (a, b) = tokio::join!(
                lg::row_hashes(src, u, &differ, keys.as_deref()),
                lg::row_hashes(dst, u, &differ, keys.as_deref())
            );
            rows = moves::differing_rows(&a?, &b?);
            out.rows_rechecked += rows.len();
            if rows.is_empty() {
                break;
            }
            keys = Some(rows.iter().map(|r| r.0.clone()).collect());
        }
        for (key, on_source, on_target) in rows {
            out.differences.push(RowDifference {
                table: u.table.clone(),
                key,
                on_source,
                on_target,
            });
        }
    }
    Ok(out)
}

fn difference_findings(v: &VerifyOutcome, to: &str) -> Vec<Finding> {
    v.differences
        .iter()
        .map(|d| {
            let what = match (d.on_source, d.on_target) {
                (true, false) => format!("missing on {to}"),
                (false, true) => format!("only on {to}"),
                _ => "different on the two nodes".into(),
            };
            let mut f = Finding::new(
                RuleId::ShardMoveRowDiffers,
                format!("{} row ({}) is {what}", d.table, d.key),
            );
            f.location.node = Some(d.table.clone());
            f.evidence = serde_json::json!({ "key": d.key, "on_source": d.on_source, "on_target": d.on_target });
            f
        })
        .collect()
}

async fn verify_step(m: &mut Mover<'_>, i: usize) -> Result<String, crate::Error> {
    m.sql(i, false, "-- per table: count(*) and sum of md5(row) per chunk of the shard key, on both nodes, after the target replayed the source's changes".into());
    if !m.req.execute {
        return Ok(
            "compare row counts and checksums per chunk on both nodes while writes continue".into(),
        );
    }
    let units = m.journal.units.clone();
    let names = m.journal.names.clone();
    let ds = m.dst_spec.clone();
    let limit = m.req.catch_up;
    let (s, d) = m.both();
    let r = verify_units(s, d, &units, &names, limit).await;
    // The checksum settings stay on these sessions only; reset them for the next steps.
    let (s, d) = m.both();
    let _ = exec(s, "RESET ALL").await;
    let _ = exec(d, "RESET ALL").await;
    let ss = m.src_spec.clone();
    lg::qualify_names(m.src()).await.map_err(db(&ss))?;
    let v = r.map_err(db(&ds))?;
    let summary = format!(
        "{} rows in {} chunk(s) per table: {} chunk(s) differed at first (writes in flight), {} row(s) re-checked, {} differ",
        v.rows,
        v.chunks,
        v.differed_first,
        v.rows_rechecked,
        v.differences.len()
    );
    m.report
        .findings
        .extend(difference_findings(&v, &m.journal.to));
    let bad = !v.differences.is_empty();
    m.report.verify = Some(v);
    if bad {
        m.report.notes.push(format!(
            "rows differ between {} and {} (the findings): the move stopped before the cutover; look at the target's server log, then rerun, or --abort",
            m.journal.from, m.journal.to
        ));
    }
    Ok(summary)
}

fn fence_message(m: &Mover<'_>, u: &Unit) -> String {
    format!(
        "dbkit: shard {} of {} moved from {} to {} in map version {}: reload the shard map",
        u.shard,
        u.table,
        m.journal.from,
        m.journal.to,
        m.journal.map_version + 1
    )
}

fn fence_filters(m: &Mover<'_>, u: &Unit) -> Option<(String, String)> {
    u.filter.as_ref()?;
    let s = m.map.shards.iter().find(|s| s.id == u.shard)?;
    Some((
        moves::slot_filter(&m.map, s, &u.key, "NEW.")?,
        moves::slot_filter(&m.map, s, &u.key, "OLD.")?,
    ))
}

async fn cutover(m: &mut Mover<'_>, i: usize) -> Result<String, crate::Error> {
    let units = m.journal.units.clone();
    let names = m.journal.names.clone();
    let rels: Vec<String> = {
        let mut r: Vec<String> = units.iter().map(Unit::qualified).collect();
        r.dedup();
        r
    };
    let lock_ms = (m.req.max_pause.as_millis() as u64 / 4).clamp(10, 2000);
    let mut stmts = vec![
        (false, "BEGIN".to_string()),
        (false, format!("SET LOCAL lock_timeout = {lock_ms}")),
        (
            false,
            format!("LOCK TABLE {} IN EXCLUSIVE MODE", rels.join(", ")),
        ),
        (
            false,
            format!(
                "UPDATE {} SET seq = seq + 1 WHERE id = 1 RETURNING seq   -- on a second session",
                names.marker()
            ),
        ),
        (
            true,
            format!(
                "SELECT seq FROM {} WHERE id = 1   -- until it shows the new value",
                names.marker()
            ),
        ),
    ];
    for u in &units {
        stmts.push((false, format!("SELECT count(*) FROM {}", u.rows_sql())));
        stmts.push((true, format!("SELECT count(*) FROM {}", u.rows_sql())));
    }
    let mut fences = Vec::new();
    for u in &units {
        fences.extend(lg::fence_sql(
            u,
            &names,
            &fence_message(m, u),
            fence_filters(m, u),
        ));
    }
    for f in &fences {
        stmts.push((false, f.clone()));
    }
    stmts.push((false, "COMMIT".into()));
    for (t, s) in &stmts {
        m.sql(i, *t, s.clone());
    }
    let new_map = moves::moved_map(&m.map, &m.journal.shards, &m.journal.to);
    let out = m.req.write_map.clone().unwrap_or_else(|| m.req.map.clone());
    if !m.req.execute {
        return Ok(format!(
            "pause writes to {} (at most {} ms, else release and retry), wait for the target, compare counts, fence the old copy, then write map version {} to {}",
            rels.join(", "),
            m.req.max_pause.as_millis(),
            new_map.version,
            out.display()
        ));
    }
    let ss = m.src_spec.clone();
    // Resumed after a crash: the fence says whether the cutover committed.
    let mut committed = true;
    for u in &units {
        committed &= lg::fenced(m.src(), u, &names).await.map_err(db(&ss))?;
    }
    if !committed {
        let mut bump = connect(&m.src_spec).await.map_err(db(&ss))?;
        let r = cutover_attempts(m, &mut bump, &rels, &fences, lock_ms).await;
        close(bump).await;
        let pause = r?;
        m.journal.pause_ms = Some(pause);
    }
    // The map is written after the commit: until then the old node takes the writes; after it,
    // a write routed there with the old map fails at the fence instead of being lost.
    // Read the map again under a lock: moves running at the same time (a rebalance) each
    // change their own shards of the one file.
    let new_map = {
        let _one_writer = MAP_WRITE.lock().await;
        let current = ShardMap::load(&m.req.map)?;
        let there = current
            .shards
            .iter()
            .filter(|s| m.journal.shards.contains(&s.id))
            .all(|s| s.node == m.journal.to);
        if there && m.req.write_map.is_none() {
            current
        } else {
            let next = moves::moved_map(&current, &m.journal.shards, &m.journal.to);
            super::shard::write_map(&out, &m.req.map, &next)?;
            next
        }
    };
    m.journal.new_version = Some(new_map.version);
    m.report.map_written = Some(out.display().to_string());
    Ok(format!(
        "writes paused {} ms; map version {} written to {}",
        m.journal
            .pause_ms
            .map_or("(earlier run)".into(), |p| p.to_string()),
        new_map.version,
        out.display()
    ))
}

async fn cutover_attempts(
    m: &mut Mover<'_>,
    bump: &mut PgConnection,
    rels: &[String],
    fences: &[String],
    lock_ms: u64,
) -> Result<u64, crate::Error> {
    let ss = m.src_spec.clone();
    let names = m.journal.names.clone();
    let units = m.journal.units.clone();
    // Catch up first, outside the pause, so the pause only covers the last changes.
    m.catch_up().await?;
    // Counting both copies inside the pause is exact but takes time with the shard's size: time
    // it now (it also warms the caches); when it would take half the pause, the cutover relies
    // on the exact catch-up and the verification before it, and on no apply error meanwhile.
    let ds = m.dst_spec.clone();
    let t = Instant::now();
    for u in &units {
        let (s, d) = m.both();
        let (a, b) = tokio::join!(lg::count(s, u), lg::count(d, u));
        a.map_err(db(&ss))?;
        b.map_err(db(&ds))?;
    }
    let count_ms = t.elapsed().as_millis() as u64;
    let count_in_pause = m
        .req
        .cutover_counts
        .unwrap_or(count_ms * 2 < m.req.max_pause.as_millis() as u64);
    let errors_before = lg::subscription_errors(m.dst(), names.name())
        .await
        .map_err(db(&ds))?;
    if !count_in_pause {
        m.report.notes.push(format!(
            "the cutover did not count the copies with writes paused (counting took {count_ms} ms; --max-pause {} ms; --cutover-counts {}): it relied on the exact catch-up (the marker), the verification before it and no replication error meanwhile",
            m.req.max_pause.as_millis(),
            if m.req.cutover_counts.is_some() { "never" } else { "auto" }
        ));
    }
    let mut last_reason = String::new();
    for attempt in 1..=m.req.attempts.max(1) {
        if attempt > 1 {
            m.report.cutover_retries += 1;
            tokio::time::sleep(Duration::from_millis(200 * u64::from(attempt.min(10)))).await;
            m.catch_up().await?;
        }
        let t0 = Instant::now();
        let deadline = t0 + m.req.max_pause;
        let src = &mut m.src;
        lg::run(src, "cutover", "BEGIN").await.map_err(db(&ss))?;
        let attempt_result: Result<Option<u64>, DbError> = async {
            lg::run(src, "cutover", &format!("SET LOCAL lock_timeout = {lock_ms}")).await?;
            match lg::run(src, "pausing writes", &format!("LOCK TABLE {} IN EXCLUSIVE MODE", rels.join(", "))).await {
                Err(e) if lg::is_lock_timeout(&e) => return Ok(None),
                r => r?,
            };
            let seq = lg::bump_marker(bump, &names).await?;
            let dst = &mut m.dst;
            if lg::wait_marker(dst, &names, seq, deadline).await?.is_none() {
                return Ok(None);
            }
            for u in units.iter().filter(|_| count_in_pause) {
                let (a, b) = tokio::join!(lg::count(src, u), lg::count(dst, u));
                let (a, b) = (a?, b?);
                if a != b {
                    return Err(DbError::Query {
                        context: "comparing counts at the cutover".into(),
                        message: format!("{} has {a} rows on the source and {b} on the target with writes paused", u.qualified()),
                    });
                }
            }
            let errors = lg::subscription_errors(dst, names.name()).await?;
            if errors > errors_before {
                return Err(DbError::Query {
                    context: "the cutover".into(),
                    message: format!("the subscription reported {} replication error(s) since the catch-up: see the target's server log", errors - errors_before),
                });
            }
            for f in fences {
                lg::run(src, "fencing the old copy", f).await?;
            }
            if Instant::now() > deadline {
                return Ok(None);
            }
            Ok(Some(0))
        }
        .await;
        match attempt_result {
            Ok(Some(_)) => {
                lg::run(src, "cutover", "COMMIT").await.map_err(db(&ss))?;
                let pause = t0.elapsed().as_millis() as u64;
                tracing::info!(pause_ms = pause, attempt, "cutover committed");
                return Ok(pause);
            }
            Ok(None) => {
                let _ = exec(src, "ROLLBACK").await;
                last_reason = format!(
                    "attempt {attempt} released after {} ms: the lock or the target's catch-up did not fit in --max-pause {} ms",
                    t0.elapsed().as_millis(),
                    m.req.max_pause.as_millis()
                );
                tracing::warn!("{last_reason}");
            }
            Err(e) => {
                let _ = exec(src, "ROLLBACK").await;
                return Err(db(&ss)(e));
            }
        }
    }
    Err(input(&m.req.map, format!(
        "the cutover did not fit in --max-pause after {} attempt(s) ({last_reason}); nothing was changed: rerun later (the move resumes at the cutover), or allow a longer pause",
        m.req.attempts.max(1)
    )))
}

/// Drop what carries the replication, in the order that leaves nothing behind: the
/// subscription on the target (detached from its slot first when the source cannot drop it),
/// then the publication, slot and marker on the source, then the target's marker. Whether the
/// subscription had to leave its slot (dropped on the source afterwards).
async fn teardown(m: &mut Mover<'_>, i: usize) -> Result<bool, crate::Error> {
    let ss = m.src_spec.clone();
    let ds = m.dst_spec.clone();
    let names = m.journal.names.clone();
    let marker = format!("DROP TABLE IF EXISTS {}", names.marker());
    m.sql(
        i,
        true,
        format!("DROP SUBSCRIPTION {}", quote_ident(names.name())),
    );
    m.sql(
        i,
        false,
        format!("DROP PUBLICATION IF EXISTS {}", quote_ident(names.name())),
    );
    m.sql(
        i,
        false,
        format!(
            "SELECT pg_drop_replication_slot({})   -- if it is still there",
            quote_literal(names.name())
        ),
    );
    m.sql(i, false, marker.clone());
    m.sql(i, true, marker.clone());
    if !m.req.execute {
        return Ok(false);
    }
    let slot_left = lg::drop_subscription(m.dst(), names.name())
        .await
        .map_err(db(&ds))?;
    lg::drop_source_objects(m.src(), &names)
        .await
        .map_err(db(&ss))?;
    lg::run(m.dst(), "dropping the marker table", &marker)
        .await
        .map_err(db(&ds))?;
    Ok(slot_left)
}

async fn cleanup(m: &mut Mover<'_>, i: usize) -> Result<String, crate::Error> {
    let ss = m.src_spec.clone();
    let names = m.journal.names.clone();
    teardown(m, i).await?;
    let mut kept = Vec::new();
    for u in m.journal.units.clone() {
        let rel = u.qualified();
        let moved = lg::moved_name(&u.relation, &names);
        let moved_q = quote_qualified(&[&u.schema, &moved]);
        let here = !m.req.execute
            || lg::exists(m.src(), &u.schema, &u.relation)
                .await
                .map_err(db(&ss))?;
        match (u.layout, m.req.drop_source) {
            (Layout::Filtered, false) => {
                kept.push(format!("{rel} keeps shard {}'s rows, fenced", u.shard))
            }
            (Layout::Filtered, true) => {
                m.sql(
                    i,
                    false,
                    format!(
                        "SET LOCAL dbkit.cleanup = 'on'; DELETE FROM {}",
                        u.rows_sql()
                    ),
                );
                if m.req.execute {
                    let n = lg::delete_rows(m.src(), &u).await.map_err(db(&ss))?;
                    kept.push(format!(
                        "{n} row(s) of shard {} deleted from {rel}",
                        u.shard
                    ));
                }
            }
            (_, false) => {
                if here {
                    m.run(
                        i,
                        false,
                        format!("ALTER TABLE {rel} RENAME TO {}", quote_ident(&moved)),
                        None,
                    )
                    .await?;
                }
                kept.push(format!("{moved_q} (fenced)"));
            }
            (layout, true) => {
                let victim = if here { rel.clone() } else { moved_q.clone() };
                if layout == Layout::Partition {
                    if let Some(p) = &u.parent {
                        let parent = quote_qualified(&[&u.schema, p]);
                        if !m.req.execute
                            || lg::exists(
                                m.src(),
                                &u.schema,
                                if here { &u.relation } else { &moved },
                            )
                            .await
                            .map_err(db(&ss))?
                        {
                            m.run(
                                i,
                                false,
                                format!("ALTER TABLE {parent} DETACH PARTITION {victim}"),
                                None,
                            )
                            .await?;
                        }
                    }
                }
                m.run(i, false, format!("DROP TABLE IF EXISTS {victim}"), None)
                    .await?;
                kept.push(format!("{victim} dropped"));
            }
        }
    }
    Ok(format!(
        "subscription, slot, publication and marker dropped; on {}: {}",
        m.journal.from,
        kept.join(", ")
    ))
}

async fn abort(m: &mut Mover<'_>) -> Result<(), crate::Error> {
    let ds = m.dst_spec.clone();
    m.report.steps.retain(|s| s.step == "cleanup");
    m.report.steps[0].step = "abort";
    let slot_left = teardown(m, 0).await?;
    let mut dropped = Vec::new();
    for u in m.journal.units.clone() {
        if u.layout == Layout::Filtered && !m.journal.created.contains(&u.qualified()) {
            m.sql(0, true, format!("DELETE FROM {}", u.rows_sql()));
            if m.req.execute
                && lg::exists(m.dst(), &u.schema, &u.relation)
                    .await
                    .map_err(db(&ds))?
            {
                let n = lg::delete_rows(m.dst(), &u).await.map_err(db(&ds))?;
                dropped.push(format!("{n} copied row(s) deleted from {}", u.qualified()));
            }
        }
    }
    for rel in m.journal.created.clone().iter().rev() {
        let sql = format!("DROP TABLE IF EXISTS {rel}");
        m.sql(0, true, sql.clone());
        if m.req.execute {
            // A parent created by the move is dropped only when no partition is left in it.
            let partitions: i64 = sqlx::query_scalar(
                "SELECT count(*)::int8 FROM pg_inherits WHERE inhparent = to_regclass($1)",
            )
            .bind(rel)
            .fetch_one(m.dst())
            .await
            .map_err(|e| db(&ds)(crate::db::query_error("counting partitions", &e)))?;
            if partitions == 0 {
                lg::run(m.dst(), "dropping a table the move created", &sql)
                    .await
                    .map_err(db(&ds))?;
                dropped.push(rel.clone());
            }
        }
    }
    if m.req.execute {
        m.journal.close(MoveState::Aborted, &now());
        m.save()?;
        m.report.steps[0].status = "done".into();
    } else {
        m.report.steps[0].status = "would run".into();
    }
    m.report.steps[0].summary = format!(
        "subscription{}, publication, slot and marker dropped; on {}: {}; {} untouched",
        if slot_left {
            " (its slot detached first)"
        } else {
            ""
        },
        m.journal.to,
        if dropped.is_empty() {
            "nothing else to drop".to_string()
        } else {
            dropped.join(", ")
        },
        m.journal.from
    );
    Ok(())
}

/// What `dbkit shard verify` asks for.
#[derive(Debug, Clone)]
pub struct VerifyRequest {
    /// The shard map.
    pub map: PathBuf,
    /// The shard whose move is verified.
    pub shard: u64,
    /// Connection URLs per node, over the map's.
    pub urls: BTreeMap<String, String>,
    /// How long to wait for the target to catch up.
    pub catch_up: Duration,
}

/// The report of `dbkit shard verify`.
#[derive(Debug, Clone, Serialize)]
pub struct VerifyReport {
    /// The map file.
    pub map: String,
    /// The shard.
    pub shard: u64,
    /// Source node.
    pub from: String,
    /// Target node.
    pub to: String,
    /// What was compared.
    pub verify: VerifyOutcome,
    /// Rows that differ.
    pub findings: Vec<Finding>,
}

/// `dbkit shard verify`: compare the rows of a shard whose move is streaming (after its copy,
/// before its cleanup), any time, while writes continue. Read-only, except for the move's own
/// marker row, which it bumps to know the target caught up.
pub async fn verify(req: &VerifyRequest) -> Result<VerifyReport, crate::Error> {
    let map = super::shard::load_valid(&req.map, 0.1)?;
    let jpath = journal_path(&req.map, req.shard);
    let j = read_journal(&jpath)?
        .filter(|j| j.state == MoveState::Running && j.done(Step::Copy) && !j.done(Step::Cleanup))
        .ok_or_else(|| input(&req.map, format!(
            "shard {} has no move whose copy is streaming ({}): verify compares a moving shard's two copies; start one with dbkit shard move --execute",
            req.shard,
            jpath.display()
        )))?;
    let ss = spec_of(&map, &req.urls, &j.from)?;
    let ds = spec_of(&map, &req.urls, &j.to)?;
    let mut src = connect(&ss).await.map_err(db(&ss))?;
    let mut dst = connect(&ds).await.map_err(db(&ds))?;
    let r = verify_units(&mut src, &mut dst, &j.units, &j.names, req.catch_up).await;
    close(src).await;
    close(dst).await;
    let v = r.map_err(db(&ds))?;
    Ok(VerifyReport {
        map: req.map.display().to_string(),
        shard: req.shard,
        from: j.from.clone(),
        to: j.to.clone(),
        findings: difference_findings(&v, &j.to),
        verify: v,
    })
}

impl Report for MoveReport {
    fn kind(&self) -> &'static str {
        "shard-move"
    }
    fn charts(&self) -> Vec<crate::view::Chart> {
        use crate::view::{Chart, ChartKind, ChartPoint, Tone};
        if !self.executed {
            return Vec::new();
        }
        let mut steps = Chart::of(
            "steps",
            format!(
                "Time per step of moving shard {} from {} to {}",
                self.shard, self.from, self.to
            ),
            ChartKind::Bars,
            "ms",
            Vec::new(),
        );
        steps.points = self
            .steps
            .iter()
            .map(|s| {
                let mut p = ChartPoint::new(s.step, s.ms as f64).tone(match s.status.as_str() {
                    "done" => Tone::Good,
                    "done before" | "not reached" => Tone::Dim,
                    _ => Tone::Warn,
                });
                p.text = Some(format!(
                    "{} ({})",
                    crate::view::fmt_ms(s.ms as f64),
                    s.status
                ));
                p
            })
            .collect();
        vec![steps]
    }

    fn summary(&self) -> String {
        let what = match self.action {
            "abort" => "Abort of the move of",
            "reverse" => "Move back of",
            _ => "Move of",
        };
        let mut s = format!(
            "{what} shard {} ({}) from {} to {}: {}",
            self.shard,
            self.shards
                .iter()
                .map(|s| s.to_string())
                .collect::<Vec<_>>()
                .join(", "),
            self.from,
            self.to,
            self.state
        );
        if let Some(p) = self.pause_ms {
            s.push_str(&format!("; writes paused {p} ms"));
        }
        if let Some(v) = self.new_version {
            s.push_str(&format!("; map version {v}"));
        }
        if !self.executed {
            s.push_str(" (nothing changed: pass --execute to run it)");
        }
        s
    }

    fn tables(&self) -> Vec<Table> {
        let mut steps = Table::new("Steps", &["step", "status", "what", "ms"]).tall();
        for st in &self.steps {
            steps.row(vec![
                Cell::from(st.step),
                Cell::from(st.status.as_str()),
                Cell::from(st.summary.as_str()),
                Cell::from(st.ms.to_string()),
            ]);
        }
        let mut out = vec![steps];
        if self.steps.iter().any(|s| !s.statements.is_empty()) && !self.executed {
            let mut sql =
                Table::new("SQL per step and node", &["step", "node", "statement"]).tall();
            for st in &self.steps {
                for n in &st.statements {
                    sql.row(vec![
                        Cell::from(st.step),
                        Cell::from(n.node.as_str()),
                        Cell::from(n.sql.as_str()),
                    ]);
                }
            }
            out.push(sql);
        }
        if !self.notes.is_empty() {
            let mut t = Table::new("Notes", &["note"]);
            for n in &self.notes {
                t.row(vec![Cell::from(n.as_str())]);
            }
            out.push(t);
        }
        out
    }

    fn findings(&self) -> &[Finding] {
        &self.findings
    }

    fn findings_mut(&mut self) -> Option<&mut Vec<Finding>> {
        Some(&mut self.findings)
    }
}

impl Report for VerifyReport {
    fn kind(&self) -> &'static str {
        "shard-verify"
    }

    fn summary(&self) -> String {
        format!(
            "Shard {} on {} and {}: {} rows compared in {} chunk(s) per table, {} row(s) differ",
            self.shard,
            self.from,
            self.to,
            self.verify.rows,
            self.verify.chunks,
            self.verify.differences.len()
        )
    }

    fn tables(&self) -> Vec<Table> {
        vec![Table::properties(
            "Verification",
            [
                ("rows compared", self.verify.rows.to_string()),
                (
                    "chunks differing at first",
                    self.verify.differed_first.to_string(),
                ),
                ("rows re-checked", self.verify.rows_rechecked.to_string()),
                ("rows differing", self.verify.differences.len().to_string()),
                ("target catch-up (ms)", self.verify.lag_ms.to_string()),
            ],
        )]
    }

    fn findings(&self) -> &[Finding] {
        &self.findings
    }

    fn findings_mut(&mut self) -> Option<&mut Vec<Finding>> {
        Some(&mut self.findings)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_definitions_compare_without_names() {
        let a = "CREATE INDEX orders_p1_amount_idx ON public.orders_p1 USING btree (amount)";
        let b = "CREATE INDEX orders_p1_amount_idx1 ON public.orders_p1 USING btree (amount)";
        let c = "CREATE UNIQUE INDEX x ON public.orders_p1 USING btree (amount)";
        assert_eq!(index_shape(a), index_shape(b));
        assert_ne!(index_shape(a), index_shape(c));
        assert_eq!(
            unnamed(c, true),
            "CREATE UNIQUE INDEX CONCURRENTLY ON public.orders_p1 USING btree (amount)"
        );
        assert_eq!(
            unnamed(
                "CREATE INDEX \"a \"\" ON b\" ON ONLY public.t USING btree (x)",
                false
            ),
            "CREATE INDEX ON ONLY public.t USING btree (x)"
        );
        assert_eq!(unnamed("CREATE INDEX \"open", true), "CREATE INDEX \"open");
        assert_eq!(
            index_shape("CREATE INDEX p ON ONLY public.orders USING btree (amount)"),
            index_shape("CREATE INDEX q ON public.orders USING btree (amount)")
        );
    }

    #[test]
    fn journal_lives_beside_the_map() {
        assert_eq!(
            journal_path(Path::new("maps/shop.toml"), 3),
            Path::new("maps/shop.toml.moves/shard-3.json")
        );
    }

    #[test]
    fn conninfo_hides_the_password_when_shown() {
        let spec = ConnSpec {
            host: Some("10.0.0.1".into()),
            port: Some(5432),
            user: Some("app".into()),
            password: Some(crate::db::Secret::new("s3cret")),
            dbname: Some("shop".into()),
            ..Default::default()
        };
        let (real, shown) = conninfo(&spec);
        assert!(real.contains("password='s3cret'"));
        assert!(!shown.contains("s3cret") && shown.contains("password='***'"));
    }
}
