//! The report of a playbook run, dry run or plan: each step with its outcome, condition,
//! arguments (passwords masked), the SQL it ran or would run, its assertions and its time.

use crate::finding::Finding;
use crate::view::{Cell, Chart, ChartKind, ChartPoint, Report, Table, Tone};
use serde::Serialize;
use serde_json::Value;

/// What became of a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum StepStatus {
    /// It ran and its assertions held.
    Done,
    /// Finished in an earlier attempt of the run, re-checked.
    DoneBefore,
    /// Its `when`/`unless` said no.
    Skipped,
    /// A dry run ran it (it changes nothing).
    Ran,
    /// A dry run or plan shows what it would do.
    WouldRun,
    /// A dry run cannot tell: it depends on a step the dry run does not execute.
    Depends,
    /// It failed.
    Failed,
    /// An assertion did not hold.
    AssertFailed,
    /// It needs a person's approval that was not given here.
    Waiting,
    /// Approval was refused.
    Declined,
    /// The run stopped before it.
    NotReached,
    /// It ran as the rollback of a failed step.
    RolledBack,
}

impl StepStatus {
    /// As written in tables.
    pub fn label(self) -> &'static str {
        match self {
            StepStatus::Done => "done",
            StepStatus::DoneBefore => "done before",
            StepStatus::Skipped => "skipped",
            StepStatus::Ran => "ran (read-only)",
            StepStatus::WouldRun => "would run",
            StepStatus::Depends => "depends on earlier steps",
            StepStatus::Failed => "failed",
            StepStatus::AssertFailed => "assertion failed",
            StepStatus::Waiting => "waiting for approval",
            StepStatus::Declined => "declined",
            StepStatus::NotReached => "not reached",
            StepStatus::RolledBack => "ran as rollback",
        }
    }
    fn tone(self) -> Tone {
        match self {
            StepStatus::Done | StepStatus::DoneBefore | StepStatus::Ran => Tone::Good,
            StepStatus::Failed | StepStatus::AssertFailed | StepStatus::Declined => Tone::Bad,
            StepStatus::Waiting | StepStatus::RolledBack => Tone::Warn,
            _ => Tone::Dim,
        }
    }
}

/// An assertion and whether it held.
#[derive(Debug, Clone, Serialize)]
pub struct AssertOutcome {
    /// As written.
    pub text: String,
    /// Held, did not hold, or could not be evaluated (`None`, with `error`).
    pub held: Option<bool>,
    /// Why it could not be evaluated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// One step of the report.
#[derive(Debug, Clone, Serialize)]
pub struct StepOutcome {
    /// Its name.
    pub name: String,
    /// Its kind.
    pub kind: String,
    /// What it is for.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// Its line in the playbook.
    pub line: usize,
    /// What became of it.
    pub status: StepStatus,
    /// Its `when`/`unless` and what it evaluated to (`?` when unknown).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub condition: Option<String>,
    /// It needs approval.
    pub approve: bool,
    /// Its arguments with the run's values put in (passwords masked).
    pub args: serde_json::Map<String, Value>,
    /// The statements it ran or would run.
    pub sql: Vec<String>,
    /// One line of what it did.
    pub summary: String,
    /// Its error.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Its assertions.
    pub asserts: Vec<AssertOutcome>,
    /// Start (RFC 3339), when it ran.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub started: Option<String>,
    /// Seconds.
    pub seconds: f64,
    /// The WAL position of its server at its end.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lsn: Option<String>,
    /// The step it rolled back, for a rollback step.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rollback_of: Option<String>,
    /// How its approval was given (`--yes`, or who answered on the terminal).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub approved: Option<String>,
    /// Its result (what later steps reference).
    pub result: Value,
}

/// How the run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RunStatus {
    /// Every step done or skipped.
    Done,
    /// A dry run or plan finished.
    DryRun,
    /// An assertion did not hold and the run stopped (exit 1).
    AssertFailed,
    /// A step failed and the run stopped (exit 2); `--resume` continues it.
    Failed,
    /// A step waits for approval (exit 2); `--resume RUN_ID --yes` continues it.
    Waiting,
}

/// `dbkit playbook run|plan`.
#[derive(Debug, Clone, Serialize)]
pub struct PlaybookReport {
    /// The playbook's name.
    pub playbook: String,
    /// Its file.
    pub file: String,
    /// What it does.
    pub description: String,
    /// `plan`, `dry run` or `execute`.
    pub mode: &'static str,
    /// The run's id (executed runs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run_id: Option<String>,
    /// Its journal file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub journal: Option<String>,
    /// Whether it resumed an earlier attempt.
    pub resumed: bool,
    /// How it ended.
    pub status: RunStatus,
    /// The inputs (passwords masked).
    pub inputs: serde_json::Map<String, Value>,
    /// Every step, in order (rollback steps after the step they undo).
    pub steps: Vec<StepOutcome>,
    /// Assertions that did not hold, steps that failed, and the findings of every step.
    pub findings: Vec<Finding>,
    /// Seconds.
    pub seconds: f64,
}

impl PlaybookReport {
    /// The step that stopped the run, with why.
    pub fn stopped_at(&self) -> Option<&StepOutcome> {
        self.steps.iter().find(|s| {
            matches!(
                s.status,
                StepStatus::Failed
                    | StepStatus::AssertFailed
                    | StepStatus::Waiting
                    | StepStatus::Declined
            )
        })
    }
}

fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

impl Report for PlaybookReport {
    fn kind(&self) -> &'static str {
        "playbook"
    }
    fn summary(&self) -> String {
        let count =
            |f: &dyn Fn(StepStatus) -> bool| self.steps.iter().filter(|s| f(s.status)).count();
        let done = count(&|s| matches!(s, StepStatus::Done | StepStatus::DoneBefore));
        let head = format!(
            "playbook {} ({}{}): {}",
            self.playbook,
            self.mode,
            self.run_id
                .as_deref()
                .map(|r| format!(", run {r}"))
                .unwrap_or_default(),
            match self.status {
                RunStatus::Done => format!("{done} step(s) done, {} skipped", count(&|s| s == StepStatus::Skipped)),
                RunStatus::DryRun => format!(
                    "{} step(s) would run, {} ran read-only, {} depend on earlier steps, {} skipped — nothing was changed",
                    count(&|s| s == StepStatus::WouldRun),
                    count(&|s| s == StepStatus::Ran),
                    count(&|s| s == StepStatus::Depends),
                    count(&|s| s == StepStatus::Skipped)
                ),
                RunStatus::AssertFailed => "an assertion did not hold".to_string(),
                RunStatus::Failed => "stopped: a step failed".to_string(),
                RunStatus::Waiting => "stopped: a step waits for approval".to_string(),
            }
        );
        match (self.stopped_at(), &self.run_id) {
            (Some(s), Some(id)) if self.status != RunStatus::Done => format!(
                "{head} at step {} ({}); continue with --resume {id}",
                s.name,
                s.error.as_deref().unwrap_or(s.status.label())
            ),
            _ => head,
        }
    }
    fn tables(&self) -> Vec<Table> {
        let mut steps = Table::new(
            "Steps",
            &["#", "step", "kind", "status", "condition", "what", "time"],
        );
        for (i, s) in self.steps.iter().enumerate() {
            let mut what = s.summary.clone();
            if let Some(e) = &s.error {
                what = if what.is_empty() {
                    e.clone()
                } else {
                    format!("{what}; {e}")
                };
            }
            for a in &s.asserts {
                let mark = match (a.held, &a.error) {
                    (Some(_), Some(_)) => "– (not enforced in this dry run)",
                    (Some(true), None) => "✓",
                    (Some(false), None) => "✗",
                    (None, _) => "?",
                };
                what.push_str(&format!("\nassert {mark} {}", a.text));
            }
            match (&s.approved, s.approve) {
                (Some(how), _) => what.push_str(&format!("\n(approved: {how})")),
                (None, true) => what.push_str("\n(needs approval)"),
                _ => {}
            }
            steps.row(vec![
                Cell::num(i + 1),
                Cell::text(match &s.rollback_of {
                    Some(r) => format!("{} (rollback of {r})", s.name),
                    None => s.name.clone(),
                }),
                Cell::text(s.kind.clone()),
                Cell::toned(s.status.label(), s.status.tone()),
                Cell::text(s.condition.clone().unwrap_or_default()),
                Cell::text(what),
                Cell::num(if s.seconds > 0.0 {
                    crate::view::fmt_ms(s.seconds * 1000.0)
                } else {
                    String::new()
                }),
            ]);
        }
        let mut tables = vec![steps];
        let mut args = Table::new("Arguments", &["step", "argument", "value"]);
        for s in &self.steps {
            for (k, v) in &s.args {
                args.row(vec![
                    Cell::text(s.name.clone()),
                    Cell::text(k.clone()),
                    Cell::text(crate::secret::excerpt(&value_text(v), 400)),
                ]);
            }
        }
        if !args.rows.is_empty() {
            tables.push(args);
        }
        let mut sql = Table::new("SQL", &["step", "statement"]);
        for s in &self.steps {
            for q in &s.sql {
                sql.row(vec![Cell::text(s.name.clone()), Cell::text(q.clone())]);
            }
        }
        if !sql.rows.is_empty() {
            tables.push(sql);
        }
        tables
    }
    fn charts(&self) -> Vec<Chart> {
        let points: Vec<ChartPoint> = self
            .steps
            .iter()
            .filter(|s| s.seconds > 0.0)
            .map(|s| {
                let mut p =
                    ChartPoint::new(s.name.clone(), s.seconds * 1000.0).tone(s.status.tone());
                p.text = Some(format!(
                    "{} ({})",
                    crate::view::fmt_ms(s.seconds * 1000.0),
                    s.status.label()
                ));
                p
            })
            .collect();
        if points.is_empty() {
            return vec![];
        }
        vec![Chart {
            id: "step-times".into(),
            title: "Time per step".into(),
            kind: ChartKind::Bars,
            marks: String::new(),
            unit: "ms".into(),
            points,
        }]
    }
    fn findings(&self) -> &[Finding] {
        &self.findings
    }
    fn findings_mut(&mut self) -> Option<&mut Vec<Finding>> {
        Some(&mut self.findings)
    }
}

/// A playbook as `dbkit playbook list` and `validate` show it.
#[derive(Debug, Clone, Serialize)]
pub struct PlaybookInfo {
    /// Its name.
    pub name: String,
    /// Its file, or `(shipped) NAME`.
    pub file: String,
    /// What it does.
    pub description: String,
    /// Its inputs: name, type, default (`required` when none).
    pub inputs: Vec<(String, String, String)>,
    /// Its steps: name, kind, line, and what is special (approve, conditions, rollback).
    pub steps: Vec<(String, String, usize, String)>,
}

impl PlaybookInfo {
    /// Describe a loaded playbook.
    pub fn of(pb: &super::Playbook) -> PlaybookInfo {
        PlaybookInfo {
            name: pb.name.clone(),
            file: pb.file.clone(),
            description: pb.description.clone(),
            inputs: pb
                .inputs
                .iter()
                .map(|i| {
                    (
                        i.name.clone(),
                        i.ty.name().to_string(),
                        i.default
                            .as_ref()
                            .map_or_else(|| "required".to_string(), value_text),
                    )
                })
                .collect(),
            steps: pb
                .steps
                .iter()
                .chain(&pb.rollbacks)
                .map(|s| {
                    let mut notes = Vec::new();
                    if let Some(c) = &s.when {
                        notes.push(format!("when {}", c.text));
                    }
                    if let Some(c) = &s.unless {
                        notes.push(format!("unless {}", c.text));
                    }
                    for a in &s.asserts {
                        notes.push(format!("assert {}", a.text));
                    }
                    if s.approve {
                        notes.push("approve".into());
                    }
                    if let Some(r) = &s.rollback {
                        notes.push(format!("rollback {r}"));
                    }
                    if pb.rollbacks.iter().any(|r| r.name == s.name) {
                        notes.push("(rollback step)".into());
                    }
                    (
                        s.name.clone(),
                        s.kind.name.to_string(),
                        s.line,
                        notes.join("; "),
                    )
                })
                .collect(),
        }
    }
}

/// A run found in a journal directory.
#[derive(Debug, Clone, Serialize)]
pub struct RunInfo {
    /// The run's id.
    pub run_id: String,
    /// The playbook.
    pub playbook: String,
    /// When it started.
    pub started: String,
    /// `finished`, or the step it stopped at and how.
    pub state: String,
}

/// `dbkit playbook list` and `dbkit playbook validate`.
#[derive(Debug, Clone, Serialize)]
pub struct PlaybookListReport {
    /// `list` or `validate`.
    pub what: &'static str,
    /// The playbooks.
    pub playbooks: Vec<PlaybookInfo>,
    /// Runs kept in the journal directory.
    pub runs: Vec<RunInfo>,
    /// Journals that could not be read.
    pub unreadable: Vec<String>,
    /// `validate`: every problem of the playbooks that are not valid (`playbook-invalid`).
    pub findings: Vec<Finding>,
}

impl PlaybookListReport {
    /// The runs under `dir`.
    pub fn runs_in(&mut self, dir: &std::path::Path) {
        for j in super::journal::list(dir) {
            match j {
                Ok(j) => {
                    let state = if j.finished {
                        "finished".to_string()
                    } else {
                        j.steps
                            .iter()
                            .rev()
                            .find(|e| {
                                e.status != super::journal::EntryStatus::Done
                                    && e.status != super::journal::EntryStatus::Skipped
                            })
                            .map_or_else(
                                || "stopped between steps".to_string(),
                                |e| {
                                    format!("stopped at {} ({:?})", e.step, e.status).to_lowercase()
                                },
                            )
                    };
                    self.runs.push(RunInfo {
                        run_id: j.run_id,
                        playbook: j.playbook,
                        started: j.started,
                        state,
                    });
                }
                Err(e) => self.unreadable.push(e),
            }
        }
    }
}

impl Report for PlaybookListReport {
    fn kind(&self) -> &'static str {
        "playbook-list"
    }
    fn findings(&self) -> &[Finding] {
        &self.findings
    }
    fn findings_mut(&mut self) -> Option<&mut Vec<Finding>> {
        Some(&mut self.findings)
    }
    fn summary(&self) -> String {
        if self.what == "validate" {
            let steps: usize = self.playbooks.iter().map(|p| p.steps.len()).sum();
            let mut bad: Vec<&str> = self
                .findings
                .iter()
                .filter_map(|f| f.location.file.as_deref())
                .collect();
            bad.dedup();
            let mut s = format!(
                "{} playbook(s) valid, {steps} step(s): every kind, argument, input and reference checked",
                self.playbooks.len()
            );
            if !bad.is_empty() {
                s.push_str(&format!(
                    "; {} not valid ({}), {} problem(s)",
                    bad.len(),
                    bad.join(", "),
                    self.findings.len()
                ));
            }
            s
        } else {
            format!(
                "{} playbook(s), {} run(s) kept",
                self.playbooks.len(),
                self.runs.len()
            )
        }
    }
    fn warnings(&self) -> Vec<String> {
        self.unreadable
            .iter()
            .map(|u| format!("unreadable journal {u}"))
            .collect()
    }
    fn tables(&self) -> Vec<Table> {
        let mut t = Table::new("Playbooks", &["name", "file", "inputs", "what it does"]);
        for p in &self.playbooks {
            let inputs: Vec<String> = p
                .inputs
                .iter()
                .map(|(n, ty, d)| format!("{n}: {ty} ({d})"))
                .collect();
            t.row(vec![
                Cell::text(p.name.clone()),
                Cell::text(p.file.clone()),
                Cell::text(inputs.join("\n")),
                Cell::text(p.description.clone()),
            ]);
        }
        let mut tables = vec![t];
        if self.what == "validate" {
            let mut s = Table::new("Steps", &["playbook", "line", "step", "kind", "conditions"]);
            for p in &self.playbooks {
                for (name, kind, line, notes) in &p.steps {
                    s.row(vec![
                        Cell::text(p.name.clone()),
                        Cell::num(*line),
                        Cell::text(name.clone()),
                        Cell::text(kind.clone()),
                        Cell::text(notes.clone()),
                    ]);
                }
            }
            tables.push(s);
        }
        if !self.runs.is_empty() {
            let mut r = Table::new("Runs", &["run", "playbook", "started", "state"]);
            for x in &self.runs {
                r.row(vec![
                    Cell::text(x.run_id.clone()),
                    Cell::text(x.playbook.clone()),
                    Cell::text(x.started.clone()),
                    Cell::text(x.state.clone()),
                ]);
            }
            tables.push(r);
        }
        tables
    }
}
