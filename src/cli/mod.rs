//! The CLI: clap definitions (one file per subcommand), mapping arguments to library calls,
//! picking the renderer and setting the exit code. No SQL, rules or rendering logic lives here.
//!
//! Exit codes: 0 success (and no finding at or above `--fail-on`); 1 findings at or above
//! `--fail-on`; 2 usage or runtime error (one line on stderr). A closed pipe is success.

mod check;
mod explain;
mod index;
mod partition;
mod ping;
mod plan;
mod playbook;
mod route;
mod rules;
mod scratch;
mod shard;
mod sql;
mod status;
mod templates;
mod workload;

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand, ValueEnum};
use dbkit::report::{self, Format, RenderOptions};
use dbkit::secret::MAX_MESSAGE;
use dbkit::{Report, Severity};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

/// PostgreSQL operations: query tuning, workload analysis, migration checks, partitions, shards.
#[derive(Debug, Parser)]
#[command(name = "dbkit", version, about, propagate_version = true)]
#[command(after_help = "Examples:
  dbkit sql fingerprint fixtures/shop/workload.sql
  dbkit sql classify fixtures/shop/workload.sql --format json
  dbkit scratch start --schema fixtures/shop/schema.sql \\
      --seed fixtures/shop/seed.sql
  dbkit ping --url postgres://app@db.internal:5432/shop

Exit codes: 0 ok, 1 findings at or above --fail-on, 2 usage or runtime error.")]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
    #[command(flatten)]
    global: GlobalArgs,
}

/// Options every command takes.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Output format (default: table; sql for commands that generate DDL).
    #[arg(long, global = true, value_enum)]
    format: Option<FormatArg>,
    /// A tera template file to render the report with (html, markdown or text); the report is
    /// `report`; it may extend the built-in ones (`dbkit templates export DIR` writes them).
    #[arg(long, global = true, value_name = "FILE")]
    template: Option<PathBuf>,
    /// Write the report to this file instead of stdout; for commands that generate a file
    /// (route export, shard export, shard init) the file they generate.
    #[arg(long, short = 'o', global = true, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Exit 1 when a finding is at or above this severity (default: error).
    #[arg(long, global = true, value_enum)]
    fail_on: Option<FailOn>,
    /// Colour: auto (a terminal, and NO_COLOR unset), always or never.
    #[arg(long, global = true, value_enum, default_value_t = ColorArg::Auto)]
    color: ColorArg,
    /// A dbkit.toml with rule thresholds (default: ./dbkit.toml when present).
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Width of tables in columns (default: the terminal's, else COLUMNS, else 120).
    #[arg(long, global = true, value_name = "COLUMNS", value_parser = clap::value_parser!(u16).range(20..))]
    width: Option<u16>,
    /// More logging on stderr (-v info, -vv debug, -vvv trace).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum FormatArg {
    Table,
    Json,
    Markdown,
    Text,
    Sql,
    Github,
    Sarif,
    Junit,
    Html,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
enum FailOn {
    Info,
    Warning,
    Error,
    None,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum ColorArg {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Split, parse, fingerprint and classify SQL files.
    Sql(sql::SqlArgs),
    /// Check migrations for dangerous locks, rewrites and breaking changes (static rules).
    Check(check::CheckArgs),
    /// EXPLAIN (ANALYZE, BUFFERS) statements safely and find what makes them slow.
    Explain(explain::ExplainArgs),
    /// Index hygiene (duplicate, redundant, unused, invalid, missing for foreign keys) and advice.
    Index(index::IndexArgs),
    /// Partitions: create the DDL, convert a live table, maintain (premake, retention).
    Partition(partition::PartitionArgs),
    /// Read EXPLAIN plans people already have: analyze them, show them as a tree.
    Plan(plan::PlanArgs),
    /// Playbooks: multi-step operations from a file, with dry run, journal, resume and approval.
    Playbook(playbook::PlaybookArgs),
    /// Replica routing: which statements go to the primary and which to the replicas, and why.
    Route(route::RouteArgs),
    /// List every rule (id, family, severity, thresholds, description), or explain one.
    Rules(rules::RulesArgs),
    /// Throw-away PostgreSQL clusters from the local server binaries.
    Scratch(scratch::ScratchArgs),
    /// Shard maps: locate keys (PostgreSQL-compatible hash), validate maps, plan rebalances.
    Shard(shard::ShardArgs),
    /// Analyze query logs and traces: the costliest query shapes, N+1 patterns.
    Workload(workload::WorkloadArgs),
    /// Connect to a database and show what it is.
    Ping(ping::PingArgs),
    /// The built-in report templates: list them, or export them to customise.
    Templates(templates::TemplatesArgs),
}

/// Where a command that needs a database connects.
#[derive(Debug, Args, Clone)]
pub struct DbArgs {
    /// Connection URI or libpq keywords; else DATABASE_URL, else PGHOST/PGPORT/PGUSER/…
    #[arg(long, value_name = "URL", conflicts_with = "scratch")]
    pub url: Option<String>,
    /// Use a throw-away local cluster instead of a database of yours.
    #[arg(long)]
    pub scratch: bool,
    /// With --scratch: a schema script to load first.
    #[arg(long, value_name = "FILE", requires = "scratch")]
    schema: Option<PathBuf>,
    /// With --scratch: a data script to load after the schema.
    #[arg(long, value_name = "FILE", requires = "scratch")]
    seed: Option<PathBuf>,
}

impl DbArgs {
    /// The library's description of the same target.
    pub fn request(&self) -> dbkit::db::TargetRequest {
        dbkit::db::TargetRequest {
            url: self.url.clone(),
            scratch: self.scratch.then(|| dbkit::db::ScratchLoad {
                schema: self.schema.clone(),
                seed: self.seed.clone(),
                port: None,
                settings: Vec::new(),
            }),
        }
    }
}

/// The global options a command renders its report with.
pub struct Ctx<'a> {
    global: &'a GlobalArgs,
    /// The threshold when `--fail-on` is not given (a command may change it, from dbkit.toml).
    default_fail_on: std::cell::Cell<Severity>,
    /// dbkit.toml, read once.
    config: std::cell::OnceCell<dbkit::config::Config>,
    /// `--output` names the file a generating command writes (`route export`, `shard export`,
    /// `shard init`): the report then goes to stdout.
    output_is_artifact: std::cell::Cell<bool>,
}

/// The outcome of a command: exit 0 or 1.
pub enum Outcome {
    /// Success, nothing at or above --fail-on.
    Ok,
    /// Findings at or above --fail-on.
    Findings,
}

impl Ctx<'_> {
    /// Whether `-v` was given (reports may show more).
    pub fn verbose(&self) -> bool {
        self.global.verbose > 0
    }

    fn color(&self) -> bool {
        match self.global.color {
            ColorArg::Always => true,
            ColorArg::Never => false,
            ColorArg::Auto => {
                std::io::stdout().is_terminal()
                    && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                    && std::env::var("TERM").map_or(true, |t| t != "dumb")
            }
        }
    }

    /// Whether `--fail-on` was given.
    pub fn fail_on_given(&self) -> bool {
        self.global.fail_on.is_some()
    }

    /// Use `s` as the `--fail-on` threshold when the flag is not given.
    pub fn set_default_fail_on(&self, s: Severity) {
        self.default_fail_on.set(s);
    }

    /// The configuration: `--config`, else ./dbkit.toml when present, else the defaults.
    pub fn config(&self) -> Result<dbkit::config::Config> {
        if let Some(c) = self.config.get() {
            return Ok(c.clone());
        }
        let c = dbkit::config::Config::load(self.global.config.as_deref())?;
        Ok(self.config.get_or_init(|| c).clone())
    }

    /// Apply dbkit.toml to the report's findings (disabled rules, severities, path ignores),
    /// render it to stdout and decide the outcome from its findings.
    pub fn emit<R: Report>(&self, report: &mut R) -> Result<Outcome> {
        self.emit_as(report, Format::Table)
    }

    /// `--output`, for a command whose product is a file of its own (a configuration, a
    /// script, a map): it is written there and the report goes to stdout.
    pub fn artifact_output(&self) -> Option<PathBuf> {
        self.output_is_artifact.set(true);
        self.global.output.clone()
    }

    /// [`Ctx::emit`] with another default format than a table.
    pub fn emit_as<R: Report>(&self, report: &mut R, default: Format) -> Result<Outcome> {
        self.config()?.apply_to(report);
        let format = match self.global.format {
            None => default,
            Some(FormatArg::Table) => Format::Table,
            Some(FormatArg::Json) => Format::Json,
            Some(FormatArg::Markdown) => Format::Markdown,
            Some(FormatArg::Text) => Format::Text,
            Some(FormatArg::Sql) => Format::Sql,
            Some(FormatArg::Github) => Format::Github,
            Some(FormatArg::Sarif) => Format::Sarif,
            Some(FormatArg::Junit) => Format::Junit,
            Some(FormatArg::Html) => Format::Html,
        };
        let opts = RenderOptions {
            format,
            color: self.color() && (self.global.output.is_none() || self.output_is_artifact.get()),
            template: self.global.template.clone(),
            terminal: (self.global.output.is_none() || self.output_is_artifact.get())
                && std::io::stdout().is_terminal(),
            width: self.global.width.or_else(|| {
                std::env::var("COLUMNS")
                    .ok()
                    .and_then(|c| c.trim().parse::<u16>().ok())
                    .filter(|&c| c >= 20)
            }),
        };
        for w in report.warnings() {
            eprintln!("dbkit: warning: {w}");
        }
        let file = if self.output_is_artifact.get() {
            None
        } else {
            self.global.output.as_ref()
        };
        match file {
            Some(path) => {
                let file = std::fs::File::create(path)
                    .with_context(|| format!("creating {}", path.display()))?;
                let mut out = std::io::BufWriter::new(file);
                report::render(report, &opts, &mut out)?;
                out.flush()
                    .with_context(|| format!("writing {}", path.display()))?;
            }
            None => {
                let stdout = std::io::stdout();
                let mut out = std::io::BufWriter::new(stdout.lock());
                report::render(report, &opts, &mut out)?;
                out.flush()?;
            }
        }
        let threshold = match self.global.fail_on {
            Some(FailOn::Info) => Some(Severity::Info),
            Some(FailOn::Warning) => Some(Severity::Warning),
            Some(FailOn::Error) => Some(Severity::Error),
            Some(FailOn::None) => None,
            None => Some(self.default_fail_on.get()),
        };
        let failed = threshold.is_some_and(|t| report.findings().iter().any(|f| f.severity >= t));
        Ok(if failed {
            Outcome::Findings
        } else {
            Outcome::Ok
        })
    }
}

/// A tokio runtime for commands that talk to databases.
pub fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")
}

fn init_logging(verbose: u8, color: ColorArg) {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    use tracing_subscriber::Layer;
    let level = match verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    // Progress events are drawn, not logged (unless DBKIT_LOG asks for them).
    let filter = std::env::var("DBKIT_LOG")
        .unwrap_or_else(|_| format!("{level},sqlx=warn,dbkit::progress=off"));
    let logs = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_target(verbose >= 2)
        .with_ansi(stderr_color(color))
        .with_filter(tracing_subscriber::EnvFilter::new(filter));
    let progress = status::ProgressLayer::on_stderr();
    let _ = tracing_subscriber::registry()
        .with(logs)
        .with(
            progress.with_filter(tracing_subscriber::filter::filter_fn(|m| {
                m.target() == dbkit::PROGRESS_TARGET
            })),
        )
        .try_init();
}

/// Colour on stderr (logs): `--color always`, or `auto` with stderr a terminal and `NO_COLOR`
/// unset and `TERM` not `dumb`.
fn stderr_color(color: ColorArg) -> bool {
    match color {
        ColorArg::Always => true,
        ColorArg::Never => false,
        ColorArg::Auto => {
            std::io::stderr().is_terminal()
                && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                && std::env::var("TERM").map_or(true, |t| t != "dumb")
        }
    }
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            || c.downcast_ref::<dbkit::report::RenderError>().is_some_and(|r| {
                matches!(r, dbkit::report::RenderError::Io(io) if io.kind() == std::io::ErrorKind::BrokenPipe)
            })
    })
}

/// An error chain on one line, each cause once: `reading x.sql: No such file or directory`,
/// not the OS message twice when a layer already quoted its source.
fn error_line(e: &anyhow::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for cause in e.chain() {
        let text = cause.to_string();
        // A diagram that points at the input (TOML's `|` and `^` lines) keeps its lines.
        let text = if text.contains("\n  |") || text.contains("\n   |") || text.contains("\n  - ") {
            text.trim_end().to_string()
        } else {
            text.replace('\n', " ")
        };
        if parts.last().is_some_and(|p| p.ends_with(&text)) {
            continue;
        }
        parts.push(text);
    }
    parts.join(": ")
}

/// Parse arguments, run, and map the result to an exit code.
pub fn main() -> ExitCode {
    // Before any thread starts: Ctrl-C and SIGTERM stop scratch clusters and delete them.
    if let Err(e) = dbkit::db::reaper::install_signal_cleanup() {
        eprintln!("dbkit: warning: cannot take interrupts for cleanup: {e}");
    }
    let cli = Cli::parse();
    init_logging(cli.global.verbose, cli.global.color);
    let ctx = Ctx {
        global: &cli.global,
        default_fail_on: std::cell::Cell::new(Severity::Error),
        config: std::cell::OnceCell::new(),
        output_is_artifact: std::cell::Cell::new(false),
    };
    let result = match &cli.command {
        Command::Sql(a) => sql::run(a, &ctx),
        Command::Check(a) => check::run(a, &ctx),
        Command::Explain(a) => explain::run(a, &ctx),
        Command::Index(a) => index::run(a, &ctx),
        Command::Partition(a) => partition::run(a, &ctx),
        Command::Plan(a) => plan::run(a, &ctx),
        Command::Playbook(a) => playbook::run(a, &ctx),
        Command::Route(a) => route::run(a, &ctx),
        Command::Rules(a) => rules::run(a, &ctx),
        Command::Scratch(a) => scratch::run(a, &ctx),
        Command::Shard(a) => shard::run(a, &ctx),
        Command::Ping(a) => ping::run(a, &ctx),
        Command::Templates(a) => templates::run(a, &ctx),
        Command::Workload(a) => workload::run(a, &ctx),
    };
    match result {
        Ok(Outcome::Ok) => ExitCode::SUCCESS,
        Ok(Outcome::Findings) => ExitCode::from(1),
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            // Errors may quote input: secrets are masked and long input cut, whatever the path.
            let mut stderr = std::io::stderr();
            if cli.global.verbose > 0 {
                // Every cause on its own line (no backtrace: that is for dbkit's developers).
                let mut text = String::new();
                for (i, cause) in e.chain().enumerate() {
                    if i > 0 {
                        text.push_str("\n  caused by: ");
                    }
                    text.push_str(cause.to_string().trim_end());
                }
                let text = dbkit::secret::safe_message_with(&text, MAX_MESSAGE);
                let _ = writeln!(stderr, "dbkit: error: {text}");
            } else {
                let line = dbkit::secret::safe_message_with(&error_line(&e), MAX_MESSAGE);
                let _ = writeln!(stderr, "dbkit: error: {line}");
            }
            ExitCode::from(2)
        }
    }
}
