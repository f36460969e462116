//! `dbkit playbook run|plan|list|validate`: declarative multi-step operations.

use super::{runtime, Ctx, Outcome};
use anyhow::Result;
use clap::{Args, Subcommand};
use dbkit::playbook::report::RunStatus;
use dbkit::playbook::{Approval, Hooks, Step, StepOutcome};
use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;

/// Arguments of `dbkit playbook`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  dbkit playbook list
  dbkit playbook validate playbooks/add-index-safely.toml
  dbkit playbook plan add-index-safely --var workload=q.sql
  dbkit playbook run add-index-safely \\
      --var url=postgres://app@db/shop --var workload=q.sql
  dbkit playbook run add-index-safely \\
      --var url=postgres://app@db/shop --var workload=q.sql --execute

Without --execute a run is a dry run: the steps that change nothing run,
the others show what they would do. An executed run keeps a journal in
.dbkit/runs/ beside the playbook; after an interruption, --resume RUN_ID
continues it. Exit codes: 0 every step done, 1 an assertion did not hold,
2 an error (a step failed, or one waits for approval).")]
pub struct PlaybookArgs {
    #[command(subcommand)]
    command: PlaybookCommand,
}

#[derive(Debug, Subcommand)]
enum PlaybookCommand {
    /// Run a playbook: a dry run, or with --execute for real, journaled and resumable.
    Run {
        /// The playbook file, or the name of a shipped playbook.
        file: String,
        /// An input: NAME=VALUE (repeatable).
        #[arg(long = "var", value_name = "NAME=VALUE", value_parser = parse_var)]
        vars: Vec<(String, String)>,
        /// Change things; without it, a dry run.
        #[arg(long)]
        execute: bool,
        /// Approve every step that asks (for automation).
        #[arg(long)]
        yes: bool,
        /// Continue this run (its id is in the report and under .dbkit/runs/).
        #[arg(long, value_name = "RUN_ID", requires = "execute")]
        resume: Option<String>,
    },
    /// Show every step, its arguments and conditions, without connecting anywhere.
    Plan {
        /// The playbook file, or the name of a shipped playbook.
        file: String,
        /// An input: NAME=VALUE (repeatable).
        #[arg(long = "var", value_name = "NAME=VALUE", value_parser = parse_var)]
        vars: Vec<(String, String)>,
    },
    /// The shipped playbooks, the playbooks in DIR and the runs kept there.
    List {
        /// A directory of playbooks.
        dir: Option<PathBuf>,
    },
    /// Check playbooks: kinds, arguments, inputs, references, with the line of each problem.
    Validate {
        /// Playbook files.
        #[arg(required = true)]
        files: Vec<String>,
    },
}

fn parse_var(s: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .map(|(k, v)| (k.trim().to_string(), v.to_string()))
        .filter(|(k, _)| !k.is_empty())
        .ok_or_else(|| format!("{s:?} is not NAME=VALUE"))
}

/// Step lines on stderr; approval on the terminal.
struct CliHooks {
    yes: bool,
}

impl Hooks for CliHooks {
    fn journal(&self, run_id: &str, path: &std::path::Path) {
        eprintln!("dbkit: run {run_id} (journal {})", path.display());
    }
    fn started(&self, index: usize, total: usize, step: &Step) {
        eprintln!(
            "dbkit: [{}/{total}] {} ({})…",
            index + 1,
            step.name,
            step.kind.name
        );
    }
    fn finished(&self, index: usize, total: usize, o: &StepOutcome) {
        let what = o.error.as_deref().unwrap_or(&o.summary);
        eprintln!(
            "dbkit: [{}/{total}] {}: {}{}{}",
            index + 1,
            o.name,
            o.status.label(),
            if what.is_empty() { "" } else { " — " },
            dbkit::secret::safe_message(what).replace('\n', " ")
        );
    }
    fn approve(&self, step: &Step, what: &str) -> Approval {
        if self.yes {
            return Approval::Yes("--yes".into());
        }
        if !(std::io::stdin().is_terminal() && std::io::stderr().is_terminal()) {
            return Approval::NoTerminal;
        }
        let mut err = std::io::stderr();
        let _ = write!(
            err,
            "dbkit: step {} ({}) needs approval: {}\ndbkit: approve? [y/N] ",
            step.name,
            step.kind.name,
            dbkit::secret::safe_message(what)
        );
        let _ = err.flush();
        let mut line = String::new();
        match std::io::stdin().lock().read_line(&mut line) {
            Ok(_) if matches!(line.trim(), "y" | "Y" | "yes" | "YES" | "Yes") => {
                let who = std::env::var("USER").unwrap_or_else(|_| "unknown user".into());
                Approval::Yes(format!("on the terminal by {who}"))
            }
            _ => Approval::No,
        }
    }
}

/// Run `dbkit playbook …`.
pub fn run(args: &PlaybookArgs, ctx: &Ctx) -> Result<Outcome> {
    match &args.command {
        PlaybookCommand::List { dir } => {
            let dir = dir.clone().or_else(|| {
                let p = PathBuf::from("playbooks");
                p.is_dir().then_some(p)
            });
            ctx.emit(&mut dbkit::playbook::list(dir.as_deref())?)
        }
        PlaybookCommand::Validate { files } => ctx.emit(&mut dbkit::playbook::validate(files)?),
        PlaybookCommand::Plan { file, vars } => execute(ctx, file, vars, false, true, false, None),
        PlaybookCommand::Run {
            file,
            vars,
            execute: ex,
            yes,
            resume,
        } => execute(ctx, file, vars, *ex, false, *yes, resume.clone()),
    }
}

fn execute(
    ctx: &Ctx,
    file: &str,
    vars: &[(String, String)],
    execute: bool,
    plan_only: bool,
    yes: bool,
    resume: Option<String>,
) -> Result<Outcome> {
    let (playbook, dir) = dbkit::playbook::open(file)?;
    let req = dbkit::playbook::RunRequest {
        playbook,
        dir,
        vars: vars.to_vec(),
        execute,
        plan_only,
        resume,
        config: ctx.config()?,
    };
    let hooks = CliHooks { yes };
    let mut report = runtime()?.block_on(dbkit::playbook::run(&req, &hooks))?;
    let status = report.status;
    let outcome = ctx.emit(&mut report)?;
    match status {
        RunStatus::Failed | RunStatus::Waiting => {
            let at = report
                .stopped_at()
                .map(|s| {
                    format!(
                        "step {} ({}): {}",
                        s.name,
                        s.status.label(),
                        s.error.clone().unwrap_or_default()
                    )
                })
                .unwrap_or_default();
            let resume = report
                .run_id
                .as_deref()
                .filter(|_| status == RunStatus::Failed)
                .map(|id| format!("; continue with --execute --resume {id}"))
                .unwrap_or_default();
            anyhow::bail!("the run stopped at {at}{resume}")
        }
        RunStatus::AssertFailed => Ok(Outcome::Findings),
        _ if ctx.fail_on_given() => Ok(outcome),
        _ => Ok(Outcome::Ok),
    }
}
