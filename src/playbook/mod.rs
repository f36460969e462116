//! Playbooks (L5): declarative multi-step operations in TOML files. A playbook names typed
//! inputs and steps; each step is one dbkit operation (the same request a CLI command builds,
//! run through `ops`), with conditions on earlier results (`when`, `unless`), checks on its own
//! (`assert`), a person's approval (`approve`) and what to do when it fails (`on_failure`,
//! `rollback`). Loading checks everything before anything runs ([`load`]); a run is a dry
//! run unless asked to execute, and an executed run keeps a journal beside the playbook
//! (`.dbkit/runs/RUN_ID.json`) so that it resumes after an interruption ([`run()`]).
//!
//! ```
//! let pb = dbkit::playbook::load::load("demo.toml", br#"
//! name = "demo"
//! [inputs.table]
//! type = "string"
//! [[steps]]
//! name = "count"
//! kind = "sql"
//! sql = "SELECT count(*) AS n FROM ${inputs.table | ident}"
//! [[steps]]
//! name = "hint"
//! kind = "note"
//! when = "steps.count.rows[0].n > 1000"
//! text = "big table"
//! "#)?;
//! assert_eq!(pb.steps.len(), 2);
//! # Ok::<(), dbkit::Error>(())
//! ```

pub mod exec;
pub mod expr;
pub mod journal;
pub mod kinds;
pub mod load;
pub mod report;
pub mod run;
pub mod shipped;

pub use load::LoadError;
pub use report::{PlaybookReport, StepOutcome, StepStatus};
pub use run::{run, Approval, Hooks, RunRequest};

use expr::{Expr, Filter, Template};
use kinds::{ArgType, KindSpec};
use serde_json::Value;

/// A loaded, checked playbook.
#[derive(Debug, Clone)]
pub struct Playbook {
    /// The file it was read from (as given).
    pub file: String,
    /// Its name.
    pub name: String,
    /// What it does.
    pub description: String,
    /// Its inputs.
    pub inputs: Vec<Input>,
    /// The steps, in order.
    pub steps: Vec<Step>,
    /// Steps that run only as another step's rollback.
    pub rollbacks: Vec<Step>,
    /// A hash of the file's text: a run resumes only the playbook it started.
    pub digest: String,
}

/// An input of a playbook.
#[derive(Debug, Clone)]
pub struct Input {
    /// Its name (`inputs.NAME`).
    pub name: String,
    /// Its type.
    pub ty: ArgType,
    /// Its default; without one the input must be given (`--var NAME=VALUE`).
    pub default: Option<Value>,
    /// What it is.
    pub description: String,
    /// Where it is defined.
    pub line: usize,
}

/// What to do when a step fails or its assertion does not hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum OnFailure {
    /// Stop the run (the default); it can be resumed.
    Stop,
    /// Go on with the next step.
    Continue,
    /// Run the named rollback step, then stop.
    Rollback,
}

/// A condition with its text and line.
#[derive(Debug, Clone)]
pub struct Cond {
    /// As written.
    pub text: String,
    /// Parsed.
    pub expr: Expr,
    /// Where.
    pub line: usize,
}

/// A step's argument, before the run's values are put in.
#[derive(Debug, Clone)]
pub enum ArgValue {
    /// A value without references.
    Lit(Value),
    /// Text with `${…}`.
    Tpl(Template),
    /// A list.
    List(Vec<ArgValue>),
    /// A table.
    Table(Vec<(String, ArgValue)>),
}

impl ArgValue {
    /// Collect the expressions in it.
    pub fn exprs<'a>(&'a self, out: &mut Vec<(&'a Expr, Filter)>) {
        match self {
            ArgValue::Lit(_) => {}
            ArgValue::Tpl(t) => out.extend(t.exprs()),
            ArgValue::List(l) => l.iter().for_each(|x| x.exprs(out)),
            ArgValue::Table(t) => t.iter().for_each(|(_, x)| x.exprs(out)),
        }
    }

    /// The value with the run's values put in.
    pub fn eval(&self, scope: &dyn expr::Scope) -> Result<Value, String> {
        Ok(match self {
            ArgValue::Lit(v) => v.clone(),
            ArgValue::Tpl(t) => t.eval(scope)?,
            ArgValue::List(l) => {
                Value::Array(l.iter().map(|x| x.eval(scope)).collect::<Result<_, _>>()?)
            }
            ArgValue::Table(t) => Value::Object(
                t.iter()
                    .map(|(k, x)| Ok((k.clone(), x.eval(scope)?)))
                    .collect::<Result<_, String>>()?,
            ),
        })
    }
}

/// One argument of a step.
#[derive(Debug, Clone)]
pub struct Arg {
    /// Its name.
    pub name: &'static str,
    /// Its type.
    pub ty: ArgType,
    /// Its value.
    pub value: ArgValue,
    /// Where.
    pub line: usize,
}

/// A step.
#[derive(Debug, Clone)]
pub struct Step {
    /// Its name (`steps.NAME`).
    pub name: String,
    /// What it runs.
    pub kind: &'static KindSpec,
    /// What it is for.
    pub description: String,
    /// Where it starts.
    pub line: usize,
    /// Its arguments.
    pub args: Vec<Arg>,
    /// Run only when this holds.
    pub when: Option<Cond>,
    /// Skip when this holds.
    pub unless: Option<Cond>,
    /// Checks on the result.
    pub asserts: Vec<Cond>,
    /// Needs a person's yes.
    pub approve: bool,
    /// What a failure does.
    pub on_failure: OnFailure,
    /// The rollback step.
    pub rollback: Option<String>,
    /// The line of `on_failure` (or of the step).
    pub on_failure_line: usize,
}

/// Read and check a playbook file (a shipped playbook's name works too, see [`shipped`]).
pub fn open(path: &str) -> Result<(Playbook, std::path::PathBuf), crate::Error> {
    let p = std::path::Path::new(path);
    if !p.exists() {
        if let Some(text) = shipped::text(path) {
            let pb = load::load(&format!("(shipped) {path}"), text.as_bytes())?;
            return Ok((pb, std::path::PathBuf::from(".")));
        }
        let names: Vec<&str> = shipped::SHIPPED.iter().map(|(n, _)| *n).collect();
        return Err(crate::Error::Input {
            path: path.to_string(),
            message: format!(
                "no such file, and no shipped playbook of that name (shipped: {})",
                names.join(", ")
            ),
        });
    }
    let bytes = std::fs::read(p).map_err(|source| crate::Error::Io {
        path: path.to_string(),
        source,
    })?;
    let pb = load::load(path, &bytes)?;
    let dir = p
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .map_or_else(|| std::path::PathBuf::from("."), |d| d.to_path_buf());
    Ok((pb, dir))
}

/// `dbkit playbook list [DIR]`: the shipped playbooks, the `*.toml` playbooks in `dir`, and
/// the runs kept beside them (and under `./.dbkit/runs`).
pub fn list(dir: Option<&std::path::Path>) -> Result<report::PlaybookListReport, crate::Error> {
    let mut r = report::PlaybookListReport {
        what: "list",
        playbooks: Vec::new(),
        runs: Vec::new(),
        unreadable: Vec::new(),
        findings: Vec::new(),
    };
    for (name, text) in shipped::SHIPPED {
        let pb = load::load(&format!("(shipped) {name}"), text.as_bytes())?;
        r.playbooks.push(report::PlaybookInfo::of(&pb));
    }
    if let Some(dir) = dir {
        let rd = std::fs::read_dir(dir).map_err(|source| crate::Error::Io {
            path: dir.display().to_string(),
            source,
        })?;
        let mut files: Vec<std::path::PathBuf> = rd
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .collect();
        files.sort();
        for f in files {
            let (pb, _) = open(&f.display().to_string())?;
            r.playbooks.push(report::PlaybookInfo::of(&pb));
        }
        r.runs_in(dir);
    }
    if dir.is_none_or(|d| d != std::path::Path::new(".")) {
        r.runs_in(std::path::Path::new("."));
    }
    Ok(r)
}

/// `dbkit playbook validate FILE…`: load each; every problem of every file is a
/// `playbook-invalid` finding at its line (a file that cannot be read at all is an error).
pub fn validate(files: &[String]) -> Result<report::PlaybookListReport, crate::Error> {
    let mut r = report::PlaybookListReport {
        what: "validate",
        playbooks: Vec::new(),
        runs: Vec::new(),
        unreadable: Vec::new(),
        findings: Vec::new(),
    };
    for f in files {
        match open(f) {
            Ok((pb, _)) => r.playbooks.push(report::PlaybookInfo::of(&pb)),
            Err(crate::Error::Playbook(e)) => r.findings.extend(e.problems.into_iter().map(
                |(line, message)| crate::Finding {
                    rule: crate::RuleId::PlaybookInvalid,
                    severity: crate::RuleId::PlaybookInvalid.severity(),
                    message,
                    location: crate::Location {
                        file: Some(e.file.clone()),
                        line: Some(line),
                        ..Default::default()
                    },
                    evidence: serde_json::Value::Null,
                    suggestion: None,
                },
            )),
            Err(other) => return Err(other),
        }
    }
    Ok(r)
}
