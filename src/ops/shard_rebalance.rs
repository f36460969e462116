//! `dbkit shard rebalance`: run the moves of `shard plan`, N at a time, each with
//! `shard move`'s steps, resuming a stopped rebalance from its journal.
//!
//! The plan is made once and kept in `<map>.moves/rebalance.json`, so a rerun finishes the
//! same plan instead of planning again from a half-moved map. Nodes the plan adds are written
//! into the map first (they hold no shard, so no route changes), each move then writes the
//! map at its own cutover, and at the end every shard is where the plan put it (the version
//! counts one bump per move and one per split). A split of a shard held in a plain table with
//! other shards (application-level sharding) changes only the map — its rows stay where they
//! are, and the halves' row filters select them; a split of a shard held as its own partition or
//! table would need its rows repartitioned, which dbkit does not do: that plan is refused with
//! the way around (`--no-split`, or split by hand).

use super::shard::{plan as make_plan, write_map, PlanRequest};
use super::shard_move::{journal_path, read_journal, run_move, Action, MoveReport, MoveRequest};
use crate::shard::map::Shard;
use crate::shard::moves::MoveState;
use crate::shard::plan::Move;
use crate::shard::ShardMap;
use crate::view::{Cell, Report, Table};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// What `dbkit shard rebalance` asks for.
#[derive(Debug, Clone)]
pub struct RebalanceRequest {
    /// The plan's request (map, strategy, threshold, nodes to add and drain). `write_map` is
    /// not used: the map itself changes with each move.
    pub plan: PlanRequest,
    /// Run the moves; otherwise show the plan and each move's steps.
    pub execute: bool,
    /// Moves running at the same time.
    pub max_concurrent_moves: usize,
    /// Connection URLs per node, over the map's.
    pub urls: BTreeMap<String, String>,
    /// The longest write pause of each cutover.
    pub max_pause: Duration,
    /// Drop each source's copy at the cleanup.
    pub drop_source: bool,
}

/// The plan a rebalance runs, kept beside the map.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RebalanceJournal {
    /// The map version the plan was made from.
    pub from_version: u64,
    /// Splits, done before the moves.
    #[serde(default)]
    pub splits: Vec<PlannedSplit>,
    /// Each move: the shards (the first names the move), from, to.
    pub moves: Vec<PlannedMove>,
    /// Where every shard ends up.
    pub placement: BTreeMap<u64, String>,
    /// Finished.
    pub done: bool,
}

impl RebalanceJournal {
    /// Read a rebalance journal from its JSON bytes (a leading byte-order mark is skipped).
    pub fn from_bytes(bytes: &[u8]) -> Result<RebalanceJournal, String> {
        let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        serde_json::from_slice(bytes).map_err(|e| e.to_string())
    }
}

/// One split of the plan: shards replaced by their halves, on the same node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlannedSplit {
    /// The shards split.
    pub shards: Vec<u64>,
    /// The halves.
    pub into: Vec<Shard>,
    /// How, in words.
    pub how: String,
}

/// One move of the plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlannedMove {
    /// 1-based order.
    pub seq: usize,
    /// The shards moving together.
    pub shards: Vec<u64>,
    /// From node.
    pub from: String,
    /// To node.
    pub to: String,
}

/// One move as the rebalance ran it.
#[derive(Debug, Clone, Serialize)]
pub struct MoveOutcome {
    /// The planned move.
    #[serde(flatten)]
    pub planned: PlannedMove,
    /// `done`, `done before`, `would run`, `stopped` (rows differ), or the error.
    pub status: String,
    /// The cutover's write pause.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pause_ms: Option<u64>,
}

/// The report of `dbkit shard rebalance`.
#[derive(Debug, Clone, Serialize)]
pub struct RebalanceReport {
    /// The map file.
    pub map: String,
    /// Whether anything was changed.
    pub executed: bool,
    /// The splits: how, and `done`, `done before` or `would run`.
    pub splits: Vec<(String, String)>,
    /// The moves.
    pub moves: Vec<MoveOutcome>,
    /// Every shard where the plan puts it.
    pub complete: bool,
    /// The map's version at the end.
    pub version: u64,
    /// The journal file.
    pub journal: String,
    /// Findings of the moves (rows that differ).
    pub findings: Vec<crate::Finding>,
}

fn input(path: &Path, message: String) -> crate::Error {
    crate::Error::Input {
        path: path.display().to_string(),
        message,
    }
}

/// The rebalance journal of `map`.
pub fn rebalance_path(map: &Path) -> PathBuf {
    journal_path(map, 0).with_file_name("rebalance.json")
}

fn planned(m: &Move) -> PlannedMove {
    PlannedMove {
        seq: m.seq,
        shards: m.shards.clone(),
        from: m.from.clone(),
        to: m.to.clone(),
    }
}

/// Make the plan (or read the one a stopped rebalance was running).
fn the_plan(req: &RebalanceRequest, path: &Path) -> Result<RebalanceJournal, crate::Error> {
    match std::fs::read(path) {
        Ok(b) => {
            let j = RebalanceJournal::from_bytes(&b)
                .map_err(|e| input(path, format!("not a dbkit rebalance journal: {e}")))?;
            if !j.done {
                return Ok(j);
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(source) => {
            return Err(crate::Error::Io {
                path: path.display().to_string(),
                source,
            })
        }
    }
    let mut preq = req.plan.clone();
    preq.write_map = None;
    let report = make_plan(&preq)?;
    let splits = report
        .plan
        .splits
        .iter()
        .map(|sp| PlannedSplit {
            shards: sp.shards.clone(),
            into: sp.halves.clone(),
            how: sp.how.clone(),
        })
        .collect();
    Ok(RebalanceJournal {
        from_version: report.version,
        splits,
        moves: report.plan.moves.iter().map(planned).collect(),
        placement: report
            .plan
            .new_map
            .shards
            .iter()
            .map(|s| (s.id, s.node.clone()))
            .collect(),
        done: false,
    })
}

/// `dbkit shard rebalance`: plan (once), add the new nodes to the map, then run the moves N at
/// a time; a move that fails stops the rebalance after the moves running with it, and a rerun
/// resumes (each move from its own journal).
pub async fn rebalance(req: &RebalanceRequest) -> Result<RebalanceReport, crate::Error> {
    let map_path = req.plan.map.clone();
    let jpath = rebalance_path(&map_path);
    let mut journal = the_plan(req, &jpath)?;
    let mut report = RebalanceReport {
        map: map_path.display().to_string(),
        executed: req.execute,
        splits: Vec::new(),
        moves: Vec::new(),
        complete: false,
        version: 0,
        journal: jpath.display().to_string(),
        findings: Vec::new(),
    };
    if req.execute {
        if let Some(dir) = jpath.parent() {
            std::fs::create_dir_all(dir).map_err(|source| crate::Error::Io {
                path: dir.display().to_string(),
                source,
            })?;
        }
        let text = serde_json::to_vec_pretty(&journal)
            .map_err(|e| crate::Error::Internal(e.to_string()))?;
        super::shard::write_atomically(&jpath, &text)?;
        // The added nodes go into the map before any move needs them.
        let mut m = ShardMap::load(&map_path)?;
        let mut added = false;
        for n in &req.plan.add {
            if !m.nodes.iter().any(|x| x.name == n.name) {
                m.nodes.push(n.clone());
                added = true;
            }
        }
        if added {
            m.version += 1;
            write_map(&map_path, &map_path, &m)?;
        }
    }
    for sp in &journal.splits {
        let status = split(req, sp).await?;
        report.splits.push((sp.how.clone(), status));
    }
    let limit = req.max_concurrent_moves.max(1);
    let mut pending: Vec<PlannedMove> = journal.moves.clone();
    let mut failed: Option<crate::Error> = None;
    while !pending.is_empty() && failed.is_none() {
        let batch: Vec<PlannedMove> = pending.drain(..pending.len().min(limit)).collect();
        let mut tasks = tokio::task::JoinSet::new();
        for (i, pm) in batch.iter().enumerate() {
            let m = ShardMap::load(&map_path)?;
            let first = pm.shards.first().copied().unwrap_or_default();
            let here = m
                .shards
                .iter()
                .find(|s| s.id == first)
                .map(|s| s.node.clone());
            let running = read_journal(&journal_path(&map_path, first))?
                .is_some_and(|j| j.state == MoveState::Running);
            if here.as_deref() == Some(pm.to.as_str()) && !running {
                report.moves.push(MoveOutcome {
                    planned: pm.clone(),
                    status: "done before".into(),
                    pause_ms: None,
                });
                continue;
            }
            if !req.execute {
                report.moves.push(MoveOutcome {
                    planned: pm.clone(),
                    status: "would run".into(),
                    pause_ms: None,
                });
                continue;
            }
            let mut mreq = MoveRequest::new(map_path.clone(), first, Action::To(pm.to.clone()));
            mreq.execute = true;
            mreq.urls = req.urls.clone();
            mreq.max_pause = req.max_pause;
            mreq.drop_source = req.drop_source;
            tasks.spawn(async move { (i, run_move(&mreq).await) });
        }
        let mut results: Vec<(usize, Result<MoveReport, crate::Error>)> = Vec::new();
        while let Some(r) = tasks.join_next().await {
            match r {
                Ok(x) => results.push(x),
                Err(e) => failed = Some(crate::Error::Internal(format!("a move task failed: {e}"))),
            }
        }
        results.sort_by_key(|(i, _)| *i);
        for (i, r) in results {
            let pm = batch[i].clone();
            match r {
                Ok(mr) => {
                    let stopped = !mr.findings.is_empty();
                    report.findings.extend(mr.findings.clone());
                    report.moves.push(MoveOutcome {
                        planned: pm,
                        status: if stopped {
                            "stopped (rows differ)".into()
                        } else {
                            mr.state.clone()
                        },
                        pause_ms: mr.pause_ms,
                    });
                    if stopped && failed.is_none() {
                        failed = Some(input(&map_path, format!("move {i} stopped: rows differ (see the findings); rerun after fixing, or abort it")));
                    }
                }
                Err(e) => {
                    report.moves.push(MoveOutcome {
                        planned: pm,
                        status: format!("failed: {e}"),
                        pause_ms: None,
                    });
                    if failed.is_none() {
                        failed = Some(e);
                    }
                }
            }
        }
    }
    report.moves.sort_by_key(|m| m.planned.seq);
    let m = ShardMap::load(&map_path)?;
    report.version = m.version;
    report.complete = m
        .shards
        .iter()
        .all(|s| journal.placement.get(&s.id).is_none_or(|n| *n == s.node));
    if req.execute && report.complete {
        journal.done = true;
        let text = serde_json::to_vec_pretty(&journal)
            .map_err(|e| crate::Error::Internal(e.to_string()))?;
        super::shard::write_atomically(&jpath, &text)?;
    }
    match failed {
        Some(e) if report.findings.is_empty() => Err(e),
        None if req.execute && !report.complete => Err(input(
            &map_path,
            format!(
                "every move ran, but the map does not place every shard where the plan does (was it edited meanwhile?): compare it with {}, or remove that file to plan again",
                jpath.display()
            ),
        )),
        _ => Ok(report),
    }
}

/// Apply one split to the map when every part of the shards is held in a shared plain table
/// (the rows stay; the halves' filters select them); refuse otherwise. The status.
async fn split(req: &RebalanceRequest, sp: &PlannedSplit) -> Result<String, crate::Error> {
    let map_path = &req.plan.map;
    if !req.execute {
        return Ok("would run (map only, when the shards are in shared tables)".into());
    }
    let m = ShardMap::load(map_path)?;
    if !m.shards.iter().any(|s| sp.shards.contains(&s.id)) {
        return Ok("done before".into());
    }
    let (_, remotes) = crate::db::logical::read_layout(&m, &req.urls).await?;
    if let Some(r) = remotes
        .iter()
        .find(|r| sp.shards.contains(&r.shard) && r.filter.is_none())
    {
        return Err(input(
            map_path,
            format!(
                "the plan splits shard {} ({}), which {} holds as its own relation {}.{}: splitting it means repartitioning its rows, which dbkit does not do yet; run with --no-split, or split it by hand (two partitions or tables, then the map) and rebalance again",
                r.shard, sp.how, r.node, r.schema, r.relation
            ),
        ));
    }
    let mut next = m.clone();
    next.shards.retain(|s| !sp.shards.contains(&s.id));
    next.shards.extend(sp.into.iter().cloned());
    next.version += 1;
    write_map(map_path, map_path, &next)?;
    Ok("done (map only: the rows stay in their shared table)".into())
}

impl Report for RebalanceReport {
    fn kind(&self) -> &'static str {
        "shard-rebalance"
    }
    fn charts(&self) -> Vec<crate::view::Chart> {
        use crate::view::{Chart, ChartKind, ChartPoint, Tone};
        // The moves in order, node to node, with their cutover pause (0 when not run).
        let mut c = Chart::of(
            "moves",
            "The moves in order: node to node, with the write pause of each cutover",
            ChartKind::Bars,
            "ms",
            Vec::new(),
        );
        c.points = self
            .moves
            .iter()
            .map(|m| {
                let shards: Vec<String> = m.planned.shards.iter().map(u64::to_string).collect();
                let mut p = ChartPoint::new(
                    format!(
                        "{}. {} → {} (shard {})",
                        m.planned.seq,
                        m.planned.from,
                        m.planned.to,
                        shards.join(", ")
                    ),
                    m.pause_ms.unwrap_or(0) as f64,
                )
                .tone(match m.status.as_str() {
                    "done" => Tone::Good,
                    "done before" | "would run" => Tone::Dim,
                    _ => Tone::Bad,
                });
                p.text = Some(match m.pause_ms {
                    Some(ms) => format!("{}: paused writes {ms} ms", m.status),
                    None => m.status.clone(),
                });
                p
            })
            .collect();
        vec![c]
    }

    fn summary(&self) -> String {
        let done = self
            .moves
            .iter()
            .filter(|m| m.status.starts_with("done"))
            .count();
        if !self.executed {
            return format!(
                "Rebalance of {}: {} move(s) planned (nothing changed: pass --execute to run them)",
                self.map,
                self.moves.len()
            );
        }
        format!(
            "Rebalance of {}: {done} of {} move(s) done; {}; map version {}",
            self.map,
            self.moves.len(),
            if self.complete {
                "every shard is where the plan puts it"
            } else {
                "not finished: rerun to resume"
            },
            self.version
        )
    }

    fn tables(&self) -> Vec<Table> {
        let mut out = Vec::new();
        if !self.splits.is_empty() {
            let mut sp = Table::new("Splits", &["split", "status"]);
            for (how, status) in &self.splits {
                sp.row(vec![Cell::from(how.as_str()), Cell::from(status.as_str())]);
            }
            out.push(sp);
        }
        let mut t = Table::new(
            "Moves",
            &["#", "shards", "from", "to", "status", "pause ms"],
        );
        for m in &self.moves {
            t.row(vec![
                Cell::from(m.planned.seq.to_string()),
                Cell::from(
                    m.planned
                        .shards
                        .iter()
                        .map(|s| s.to_string())
                        .collect::<Vec<_>>()
                        .join(", "),
                ),
                Cell::from(m.planned.from.as_str()),
                Cell::from(m.planned.to.as_str()),
                Cell::from(m.status.as_str()),
                Cell::from(m.pause_ms.map(|p| p.to_string()).unwrap_or_default()),
            ]);
        }
        out.push(t);
        out
    }

    fn findings(&self) -> &[crate::Finding] {
        &self.findings
    }

    fn findings_mut(&mut self) -> Option<&mut Vec<crate::Finding>> {
        Some(&mut self.findings)
    }
}
