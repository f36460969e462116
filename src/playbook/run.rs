//! Running a playbook: the inputs resolved (given, else defaults; a missing one stops before
//! anything runs), then each step in order: resumed past when an earlier attempt finished it
//! and its done-condition still holds, skipped when its condition says so, approved when it
//! asks, run (a dry run runs only the steps that change nothing and shows the others), its
//! assertions checked, and its failure handled as the playbook says. An executed run journals
//! each step before and after it runs ([`super::journal`]).

use super::exec::{self, Args};
use super::expr::{self, Reference, Root, Scope};
use super::journal::{self, Entry, EntryStatus, Journal};
use super::report::{AssertOutcome, PlaybookReport, RunStatus, StepOutcome, StepStatus};
use super::{OnFailure, Playbook, Step};
use crate::finding::{Finding, Location, RuleId, Severity};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

/// What `dbkit playbook run|plan` asks for.
#[derive(Debug, Clone)]
pub struct RunRequest {
    /// The playbook.
    pub playbook: Playbook,
    /// Where its runs are kept (`.dbkit/runs/` under it).
    pub dir: PathBuf,
    /// Inputs given (`--var NAME=VALUE`).
    pub vars: Vec<(String, String)>,
    /// Change things (without it: a dry run).
    pub execute: bool,
    /// Only show the steps: connect nowhere, run nothing (`playbook plan`).
    pub plan_only: bool,
    /// Continue this run.
    pub resume: Option<String>,
    /// The user's dbkit.toml.
    pub config: crate::config::Config,
}

/// A person's answer to a step that needs approval.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Approval {
    /// Go on; how it was given (`--yes`, or the user who answered on a terminal), journaled.
    Yes(String),
    /// Stop.
    No,
    /// Nobody can be asked (no terminal, no `--yes`).
    NoTerminal,
}

/// What the caller hears while the run goes on.
pub trait Hooks: Sync {
    /// The run's id and journal, as soon as they exist.
    fn journal(&self, _run_id: &str, _path: &std::path::Path) {}
    /// Step `index` (0-based) of `total` starts.
    fn started(&self, _index: usize, _total: usize, _step: &Step) {}
    /// It ended.
    fn finished(&self, _index: usize, _total: usize, _outcome: &StepOutcome) {}
    /// Ask for approval of `step`, which would do `what`.
    fn approve(&self, step: &Step, what: &str) -> Approval;
}

/// Why a reference cannot be evaluated yet in a dry run.
struct RunScope {
    inputs: Map<String, Value>,
    results: BTreeMap<String, Value>,
    /// Steps a dry run did not execute: their results are unknown.
    unknown: Vec<String>,
}

/// A dry run's assertions after a step that did not run (its changes are not there to check).
const NOT_ENFORCED: &str =
    "not enforced: an earlier step that changes things did not run in this dry run";

impl Scope for RunScope {
    fn lookup(&self, r: &Reference) -> Result<Value, String> {
        match r.root {
            Root::Inputs => self
                .inputs
                .get(&r.name)
                .cloned()
                .ok_or_else(|| "no such input".to_string()),
            Root::Steps => match self.results.get(&r.name) {
                Some(v) => expr::walk(v, &r.path),
                None if self.unknown.contains(&r.name) => {
                    Err(format!("step {} did not run in this dry run", r.name))
                }
                None => Err(format!("step {} did not run (skipped or failed)", r.name)),
            },
        }
    }
}

impl RunScope {
    /// The first step named in `refs` whose result a dry run does not know.
    fn pending<'a>(&self, refs: impl IntoIterator<Item = &'a Reference>) -> Option<String> {
        refs.into_iter()
            .filter(|r| r.root == Root::Steps)
            .find(|r| self.unknown.contains(&r.name))
            .map(|r| r.name.clone())
    }
}

fn input_error(file: &str, message: String) -> crate::Error {
    crate::Error::Input {
        path: file.to_string(),
        message,
    }
}

/// A value with passwords masked (connection strings in text).
fn masked(v: &Value) -> Value {
    match v {
        Value::String(s) => Value::String(crate::secret::scrub(s)),
        Value::Array(a) => Value::Array(a.iter().map(masked).collect()),
        Value::Object(m) => Value::Object(m.iter().map(|(k, v)| (k.clone(), masked(v))).collect()),
        other => other.clone(),
    }
}

/// The inputs: given values typed, defaults, the journal's on resume.
fn resolve_inputs(
    pb: &Playbook,
    vars: &[(String, String)],
    journal: Option<&Journal>,
) -> Result<Map<String, Value>, crate::Error> {
    let mut out = Map::new();
    let mut problems = Vec::new();
    for (k, _) in vars {
        if !pb.inputs.iter().any(|i| &i.name == k) {
            let names: Vec<&str> = pb.inputs.iter().map(|i| i.name.as_str()).collect();
            problems.push(format!(
                "--var {k}: the playbook has no input {k:?} (inputs: {})",
                names.join(", ")
            ));
        }
    }
    for i in &pb.inputs {
        let given = vars
            .iter()
            .rev()
            .find(|(k, _)| k == &i.name)
            .map(|(_, v)| v);
        let given = match given.map(|g| i.ty.from_text(g)) {
            Some(Ok(v)) => Some(v),
            Some(Err(e)) => {
                problems.push(format!(
                    "--var {}: {e} (the input is {})",
                    i.name,
                    i.ty.name()
                ));
                continue;
            }
            None => None,
        };
        let journaled = journal.and_then(|j| j.inputs.get(&i.name));
        let value = match (given, journaled) {
            (Some(g), Some(j)) if &masked(&g) != j => {
                problems.push(format!(
                    "--var {}: the run started with another value ({}); a resumed run keeps its inputs",
                    i.name,
                    value_line(j)
                ));
                continue;
            }
            (Some(g), _) => g,
            (None, Some(j)) => {
                if masked(j).to_string().contains("***") {
                    problems.push(format!(
                        "input {} held a password, which the journal does not keep: give --var {}=… again",
                        i.name, i.name
                    ));
                    continue;
                }
                j.clone()
            }
            (None, None) => match &i.default {
                Some(d) => d.clone(),
                None => {
                    problems.push(format!(
                        "input {} ({}{}) is required: --var {}=…",
                        i.name,
                        i.ty.name(),
                        if i.description.is_empty() {
                            String::new()
                        } else {
                            format!(": {}", i.description)
                        },
                        i.name
                    ));
                    continue;
                }
            },
        };
        out.insert(i.name.clone(), value);
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(input_error(&pb.file, problems.join("; ")))
    }
}

fn value_line(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn finding(pb: &Playbook, step: &Step, rule: RuleId, message: String) -> Finding {
    Finding {
        rule,
        severity: rule.severity(),
        message,
        location: Location {
            file: Some(pb.file.clone()),
            line: Some(step.line),
            node: Some(step.name.clone()),
            ..Default::default()
        },
        evidence: Value::Null,
        suggestion: None,
    }
}

fn outcome(step: &Step, status: StepStatus) -> StepOutcome {
    StepOutcome {
        name: step.name.clone(),
        kind: step.kind.name.to_string(),
        description: step.description.clone(),
        line: step.line,
        status,
        condition: None,
        approve: step.approve,
        args: Map::new(),
        sql: Vec::new(),
        summary: String::new(),
        error: None,
        asserts: Vec::new(),
        started: None,
        seconds: 0.0,
        lsn: None,
        rollback_of: None,
        approved: None,
        result: Value::Null,
    }
}

/// Resolve a step's arguments; with `lenient`, an argument that cannot be evaluated yet is
/// shown as written.
fn resolve_args(
    step: &Step,
    scope: &RunScope,
    lenient: bool,
) -> Result<Map<String, Value>, String> {
    let mut out = Map::new();
    for a in &step.args {
        match a.value.eval(scope) {
            Ok(v) => {
                let v = match (&v, a.ty) {
                    // A whole-number input passed where a number is taken, and text where a
                    // number is taken ("${inputs.shard}" of a string input).
                    (Value::String(s), t) if !t.accepts(&v) => t.from_text(s).unwrap_or(v),
                    _ => v,
                };
                if !a.ty.accepts(&v) && !v.is_null() {
                    return Err(format!(
                        "line {}: `{}` must be {}, got {}",
                        a.line,
                        a.name,
                        a.ty.name(),
                        expr::type_name(&v)
                    ));
                }
                out.insert(a.name.to_string(), v);
            }
            Err(e) if lenient => {
                let text = match &a.value {
                    super::ArgValue::Tpl(t) => t.text.clone(),
                    _ => e,
                };
                out.insert(a.name.to_string(), Value::String(text));
            }
            Err(e) => return Err(format!("line {}: `{}`: {e}", a.line, a.name)),
        }
    }
    Ok(out)
}

struct Runner<'a> {
    /// Held while this process drives the run.
    _lock: Option<journal::RunLock>,
    req: &'a RunRequest,
    hooks: &'a dyn Hooks,
    scope: RunScope,
    journal: Option<Journal>,
    report: PlaybookReport,
}

impl Runner<'_> {
    fn save(&mut self) -> Result<(), crate::Error> {
        if let Some(j) = &self.journal {
            journal::write(&self.req.dir, j)?;
        }
        Ok(())
    }

    fn journal_entry(&mut self, o: &StepOutcome, status: EntryStatus) -> Result<(), crate::Error> {
        if let Some(j) = &mut self.journal {
            j.put(Entry {
                step: o.name.clone(),
                kind: o.kind.clone(),
                status,
                started: o.started.clone().unwrap_or_else(journal::now),
                ended: (status != EntryStatus::Running).then(journal::now),
                seconds: (status != EntryStatus::Running).then_some(o.seconds),
                summary: o.summary.clone(),
                result: o.result.clone(),
                lsn: o.lsn.clone(),
                error: o.error.clone(),
                approved: o.approved.clone(),
            });
        }
        self.save()
    }

    /// Run one step (main or rollback). Returns its outcome; `Err` only for failures of dbkit's
    /// own bookkeeping (the journal cannot be written).
    async fn step(
        &mut self,
        step: &Step,
        rollback_of: Option<&str>,
    ) -> Result<StepOutcome, crate::Error> {
        let req = self.req;
        let t0 = Instant::now();
        let mut o = outcome(step, StepStatus::Done);
        o.rollback_of = rollback_of.map(str::to_string);
        let dry = !req.execute;

        // Conditions.
        let mut conds = Vec::new();
        for (c, negate) in step
            .when
            .iter()
            .map(|c| (c, false))
            .chain(step.unless.iter().map(|c| (c, true)))
        {
            let word = if negate { "unless" } else { "when" };
            if req.plan_only {
                conds.push(format!("{word} {}", c.text));
                continue;
            }
            if let Some(p) = self.scope.pending(c.expr.references()) {
                conds.push(format!("{word} {} → ? (after {p} runs)", c.text));
                o.condition = Some(conds.join("; "));
                o.status = StepStatus::Depends;
                o.args = resolve_args(step, &self.scope, true).unwrap_or_default();
                self.scope.unknown.push(step.name.clone());
                return Ok(o);
            }
            match expr::eval_bool(&c.expr, &self.scope) {
                Ok(v) => {
                    conds.push(format!("{word} {} → {v}", c.text));
                    if v == negate {
                        o.condition = Some(conds.join("; "));
                        o.status = StepStatus::Skipped;
                        o.summary = format!("skipped: {word} {} is {v}", c.text);
                        return Ok(o);
                    }
                }
                Err(e) => {
                    o.condition = Some(format!("{word} {}", c.text));
                    o.status = StepStatus::Failed;
                    o.error = Some(format!("line {}: {word}: {e}", c.line));
                    return Ok(o);
                }
            }
        }
        if !conds.is_empty() {
            o.condition = Some(conds.join("; "));
        }

        // Arguments.
        let lenient = req.plan_only
            || (dry
                && self
                    .scope
                    .pending(step.args.iter().flat_map(|a| {
                        let mut v = Vec::new();
                        a.value.exprs(&mut v);
                        v.into_iter()
                            .flat_map(|(e, _)| e.references())
                            .collect::<Vec<_>>()
                    }))
                    .is_some());
        let args = match resolve_args(step, &self.scope, lenient) {
            Ok(a) => a,
            Err(e) => {
                o.status = StepStatus::Failed;
                o.error = Some(e);
                return Ok(o);
            }
        };
        o.args = args.iter().map(|(k, v)| (k.clone(), masked(v))).collect();
        if req.plan_only {
            o.status = StepStatus::WouldRun;
            self.scope.unknown.push(step.name.clone());
            return Ok(o);
        }
        if lenient {
            o.status = StepStatus::Depends;
            o.summary = "its arguments come from steps this dry run does not execute".into();
            self.scope.unknown.push(step.name.clone());
            return Ok(o);
        }
        let a = Args::new(&step.name, &args);

        // Resumed past?
        if let Some(e) = self
            .journal
            .as_ref()
            .and_then(|j| j.entry(&step.name))
            .cloned()
        {
            if e.status == EntryStatus::Done && rollback_of.is_none() {
                match exec::recheck(step.kind.name, &a, &e.result).await {
                    Ok(None) => {
                        o.status = StepStatus::DoneBefore;
                        o.summary = e.summary.clone();
                        o.result = e.result.clone();
                        o.lsn = e.lsn.clone();
                        o.started = Some(e.started.clone());
                        self.scope.results.insert(step.name.clone(), e.result);
                        return Ok(o);
                    }
                    Ok(Some(why)) => {
                        o.summary =
                            format!("finished in an earlier attempt, but {why}: ran again; ");
                    }
                    Err(err) => {
                        o.status = StepStatus::Failed;
                        o.error = Some(format!(
                            "re-checking that it is still done: {}",
                            crate::secret::safe_message(&err.to_string())
                        ));
                        return Ok(o);
                    }
                }
            }
        }

        // Approval.
        if step.approve && !dry {
            match self.hooks.approve(
                step,
                &o.args
                    .iter()
                    .map(|(k, v)| format!("{k} = {}", value_line(v)))
                    .collect::<Vec<_>>()
                    .join(", "),
            ) {
                Approval::Yes(how) => o.approved = Some(how),
                Approval::No => {
                    o.status = StepStatus::Declined;
                    o.error = Some("approval was refused".into());
                    self.journal_entry(&o, EntryStatus::Waiting)?;
                    return Ok(o);
                }
                Approval::NoTerminal => {
                    o.status = StepStatus::Waiting;
                    let resume = self
                        .journal
                        .as_ref()
                        .map(|j| format!(" --resume {}", j.run_id))
                        .unwrap_or_default();
                    o.error = Some(format!(
                        "step {} needs approval and there is no terminal to ask on: approve it with --yes (dbkit playbook run FILE --execute --yes{resume})",
                        step.name
                    ));
                    self.journal_entry(&o, EntryStatus::Waiting)?;
                    return Ok(o);
                }
            }
        }

        // Run.
        o.started = Some(journal::now());
        if req.execute {
            self.journal_entry(&o, EntryStatus::Running)?;
        }
        // A dry run runs the kinds that change nothing, and the others in their plan-only
        // mode (or not at all: they say what they would do).
        let res = exec::run_kind(step.kind.name, &a, req.execute, &req.config).await;
        o.seconds = t0.elapsed().as_secs_f64();
        match res {
            Ok(d) => {
                o.summary.push_str(&d.summary);
                o.sql = d.sql;
                o.result = d.result.clone();
                o.status = if !d.ran {
                    StepStatus::WouldRun
                } else if dry {
                    StepStatus::Ran
                } else {
                    StepStatus::Done
                };
                if let (Some(spec), true) = (&d.server, req.execute) {
                    o.lsn = crate::db::steps::current_lsn(spec).await.ok();
                }
                let infos = d
                    .findings
                    .iter()
                    .filter(|f| f.severity == Severity::Info)
                    .count();
                if infos > 0 {
                    o.summary.push_str(&format!(
                        " ({infos} informational finding(s) in its result)"
                    ));
                }
                self.report.findings.extend(
                    d.findings
                        .into_iter()
                        .filter(|f| f.severity > Severity::Info)
                        .map(|mut f| {
                            if f.location.node.is_none() {
                                f.location.node = Some(step.name.clone());
                            }
                            f
                        }),
                );
                if d.ran {
                    self.scope.results.insert(step.name.clone(), d.result);
                } else {
                    self.scope.unknown.push(step.name.clone());
                }
            }
            Err(e) => {
                o.status = StepStatus::Failed;
                o.error = Some(crate::secret::safe_message(&e.to_string()));
            }
        }

        // Assertions (on what ran). A dry run checks them only while nothing that would change
        // things was left out before: after that they describe a state the run would change.
        let enforce = req.execute || self.scope.unknown.is_empty();
        if matches!(o.status, StepStatus::Done | StepStatus::Ran) {
            let mut failed = Vec::new();
            for c in &step.asserts {
                let r = expr::eval_bool(&c.expr, &self.scope);
                o.asserts.push(AssertOutcome {
                    text: c.text.clone(),
                    held: r.as_ref().ok().copied(),
                    error: r.as_ref().err().cloned(),
                });
                if !enforce {
                    if let Some(last) = o.asserts.last_mut() {
                        last.error = Some(NOT_ENFORCED.to_string());
                    }
                    continue;
                }
                match r {
                    Ok(true) => {}
                    Ok(false) => {
                        failed.push(format!("assert {} did not hold (line {})", c.text, c.line))
                    }
                    Err(e) => failed.push(format!(
                        "assert {} could not be evaluated (line {}): {e}",
                        c.text, c.line
                    )),
                }
            }
            if !failed.is_empty() {
                o.status = StepStatus::AssertFailed;
                o.error = Some(failed.join("; "));
            }
        }
        if req.execute {
            let st = match o.status {
                StepStatus::Done => EntryStatus::Done,
                _ => EntryStatus::Failed,
            };
            self.journal_entry(&o, st)?;
        }
        Ok(o)
    }
}

/// Run (or dry-run, or plan) a playbook.
pub async fn run(req: &RunRequest, hooks: &dyn Hooks) -> Result<PlaybookReport, crate::Error> {
    let pb = &req.playbook;
    let t0 = Instant::now();
    let mut journal = None;
    if let Some(id) = &req.resume {
        if !req.execute {
            return Err(input_error(
                id,
                "--resume continues an executed run: add --execute".into(),
            ));
        }
        let j = journal::read(&req.dir, id)?;
        if j.finished {
            return Err(input_error(
                id,
                format!("run {id} finished (every step done or skipped); it does not run again: start a new run without --resume"),
            ));
        }
        if j.digest != pb.digest {
            return Err(input_error(
                &pb.file,
                format!("the playbook changed since run {id} started; a run resumes only the playbook it started (start a new run)"),
            ));
        }
        journal = Some(j);
    }
    let inputs = resolve_inputs(pb, &req.vars, journal.as_ref())?;
    let masked_inputs: Map<String, Value> =
        inputs.iter().map(|(k, v)| (k.clone(), masked(v))).collect();
    let resumed = journal.is_some();
    if req.execute && journal.is_none() {
        journal = Some(Journal {
            run_id: journal::new_run_id(&pb.name),
            playbook: pb.name.clone(),
            file: pb.file.clone(),
            digest: pb.digest.clone(),
            inputs: masked_inputs.clone(),
            started: journal::now(),
            steps: vec![],
            finished: false,
        });
    }
    let lock = match &journal {
        Some(j) => Some(journal::lock(&req.dir, &j.run_id)?),
        None => None,
    };
    // Read again under the lock: another process may have moved the run on meanwhile.
    if let (Some(id), Some(j)) = (&req.resume, &mut journal) {
        *j = journal::read(&req.dir, id)?;
        if j.finished {
            return Err(input_error(id, format!("run {id} finished meanwhile")));
        }
    }
    let mut runner = Runner {
        _lock: lock,
        req,
        hooks,
        scope: RunScope {
            inputs,
            results: BTreeMap::new(),
            unknown: Vec::new(),
        },
        report: PlaybookReport {
            playbook: pb.name.clone(),
            file: pb.file.clone(),
            description: pb.description.clone(),
            mode: if req.plan_only {
                "plan"
            } else if req.execute {
                "execute"
            } else {
                "dry run"
            },
            run_id: journal.as_ref().map(|j| j.run_id.clone()),
            journal: journal
                .as_ref()
                .map(|j| journal::path(&req.dir, &j.run_id).display().to_string()),
            resumed,
            status: if req.execute {
                RunStatus::Done
            } else {
                RunStatus::DryRun
            },
            inputs: masked_inputs,
            steps: Vec::new(),
            findings: Vec::new(),
            seconds: 0.0,
        },
        journal,
    };
    runner.save()?;
    if let Some(j) = &runner.journal {
        hooks.journal(&j.run_id, &journal::path(&req.dir, &j.run_id));
    }
    let total = pb.steps.len();
    let mut stopped = false;
    for (i, step) in pb.steps.iter().enumerate() {
        if stopped {
            runner
                .report
                .steps
                .push(outcome(step, StepStatus::NotReached));
            continue;
        }
        hooks.started(i, total, step);
        let o = runner.step(step, None).await?;
        hooks.finished(i, total, &o);
        let status = o.status;
        let error = o.error.clone();
        runner.report.steps.push(o);
        let failed = matches!(status, StepStatus::Failed | StepStatus::AssertFailed);
        if failed {
            let rule = if status == StepStatus::AssertFailed {
                RuleId::PlaybookAssertFailed
            } else {
                RuleId::PlaybookStepFailed
            };
            let mut f = finding(
                pb,
                step,
                rule,
                format!("step {}: {}", step.name, error.clone().unwrap_or_default()),
            );
            if step.on_failure == OnFailure::Continue && status == StepStatus::Failed {
                f.severity = Severity::Warning;
                f.message
                    .push_str(" (on_failure = \"continue\": the run went on)");
            }
            runner.report.findings.push(f);
        }
        match status {
            StepStatus::Waiting | StepStatus::Declined => {
                runner.report.status = RunStatus::Waiting;
                stopped = true;
            }
            StepStatus::Failed | StepStatus::AssertFailed => {
                let run_status = if status == StepStatus::AssertFailed {
                    RunStatus::AssertFailed
                } else {
                    RunStatus::Failed
                };
                match step.on_failure {
                    OnFailure::Continue => {
                        if status == StepStatus::AssertFailed {
                            runner.report.status = RunStatus::AssertFailed;
                        }
                    }
                    OnFailure::Stop => {
                        runner.report.status = run_status;
                        stopped = true;
                    }
                    OnFailure::Rollback => {
                        runner.report.status = run_status;
                        stopped = true;
                        let name = step.rollback.clone().unwrap_or_default();
                        if let Some(rb) = pb.rollbacks.iter().find(|r| r.name == name) {
                            hooks.started(i, total, rb);
                            let mut ro = runner.step(rb, Some(&step.name)).await?;
                            if ro.status == StepStatus::Done {
                                ro.status = StepStatus::RolledBack;
                            } else if ro.status == StepStatus::Failed {
                                runner.report.findings.push(finding(
                                    pb,
                                    rb,
                                    RuleId::PlaybookStepFailed,
                                    format!(
                                        "rollback step {}: {}",
                                        rb.name,
                                        ro.error.clone().unwrap_or_default()
                                    ),
                                ));
                            }
                            hooks.finished(i, total, &ro);
                            runner.report.steps.push(ro);
                        }
                    }
                }
            }
            _ => {}
        }
    }
    if !stopped && req.execute {
        if let Some(j) = &mut runner.journal {
            j.finished = runner.report.status == RunStatus::Done;
        }
        runner.save()?;
    }
    runner.report.seconds = t0.elapsed().as_secs_f64();
    Ok(runner.report)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pb() -> Playbook {
        super::super::load::load(
            "p.toml",
            br#"name = "p"
[inputs.url]
type = "url"
[inputs.n]
type = "int"
default = 3
[[steps]]
name = "s"
kind = "note"
text = "${inputs.n}"
"#,
        )
        .unwrap()
    }

    fn journal_with(url: &str) -> Journal {
        let mut inputs = Map::new();
        inputs.insert("url".into(), Value::String(url.into()));
        inputs.insert("n".into(), Value::from(3));
        Journal {
            run_id: "r".into(),
            playbook: "p".into(),
            file: "p.toml".into(),
            digest: String::new(),
            inputs,
            started: String::new(),
            steps: vec![],
            finished: false,
        }
    }

    #[test]
    fn inputs_are_typed_defaulted_and_kept_across_a_resume_without_their_passwords() {
        let vars = |v: &[(&str, &str)]| -> Vec<(String, String)> {
            v.iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect()
        };
        let got = resolve_inputs(&pb(), &vars(&[("url", "postgres://u:pw@h/db")]), None).unwrap();
        assert_eq!(got["n"], Value::from(3));
        assert_eq!(
            masked(&got["url"]),
            Value::String("postgres://u:***@h/db".into())
        );
        let e = resolve_inputs(&pb(), &vars(&[("url", "x"), ("n", "many")]), None).unwrap_err();
        assert!(e.to_string().contains("not a whole number"), "{e}");
        // Resumed: the journal keeps the URL masked; it must be given again, and the same.
        let j = journal_with("postgres://u:***@h/db");
        let e = resolve_inputs(&pb(), &[], Some(&j))
            .unwrap_err()
            .to_string();
        assert!(e.contains("held a password") && !e.contains("pw"), "{e}");
        let ok =
            resolve_inputs(&pb(), &vars(&[("url", "postgres://u:pw@h/db")]), Some(&j)).unwrap();
        assert_eq!(ok["url"], Value::String("postgres://u:pw@h/db".into()));
        let e = resolve_inputs(
            &pb(),
            &vars(&[("url", "postgres://u:pw@other/db")]),
            Some(&j),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("the run started with another value"), "{e}");
        // Without a password the journal's value is used as it is.
        let j = journal_with("postgres://u@h/db");
        let ok = resolve_inputs(&pb(), &[], Some(&j)).unwrap();
        assert_eq!(ok["url"], Value::String("postgres://u@h/db".into()));
    }
}
