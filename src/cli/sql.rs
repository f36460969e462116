//! `dbkit sql split|parse|fingerprint|classify [FILE|-]`.

use super::{Ctx, Outcome};
use anyhow::Result;
use clap::{Args, Subcommand};
use dbkit::ops::sql;

/// Arguments of `dbkit sql`.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  dbkit sql split fixtures/sql/mixed.sql\n  dbkit sql fingerprint fixtures/shop/workload.sql --format json"
)]
pub struct SqlArgs {
    #[command(subcommand)]
    command: SqlCommand,
}

#[derive(Debug, Subcommand)]
enum SqlCommand {
    /// Split a file into statements with exact line:column spans.
    #[command(after_help = "Example:
  dbkit sql split fixtures/sql/mixed.sql
  cat fixtures/sql/mixed.sql | dbkit sql split - --format json")]
    Split(FileArg),
    /// Parse each statement (PostgreSQL dialect); list tables, columns and predicates.
    #[command(after_help = "Example:
  dbkit sql parse fixtures/shop/workload.sql --format json \\
      | jq '.statements[0].references'

Findings: sql-parse-error (warning) per statement that does not parse, sql-lex-error (error) for unterminated quotes.")]
    Parse(FileArg),
    /// Fingerprint each statement and group the statements by shape.
    #[command(
        after_help = "Example:\n  dbkit sql fingerprint fixtures/shop/workload.sql\n  dbkit sql fingerprint fixtures/shop/workload.sql --format markdown"
    )]
    Fingerprint(FileArg),
    /// Classify each statement (read, write, ddl, transaction, utility) and say where it may run.
    #[command(after_help = "Example:\n  dbkit sql classify fixtures/shop/workload.sql")]
    Classify(FileArg),
}

#[derive(Debug, Args)]
struct FileArg {
    /// The SQL file; `-` reads stdin.
    #[arg(default_value = "-")]
    file: String,
}

/// Run `dbkit sql …`.
pub fn run(args: &SqlArgs, ctx: &Ctx) -> Result<Outcome> {
    match &args.command {
        SqlCommand::Split(f) => ctx.emit(&mut sql::split(&f.file)?),
        SqlCommand::Parse(f) => ctx.emit(&mut sql::parse(&f.file)?),
        SqlCommand::Fingerprint(f) => ctx.emit(&mut sql::fingerprint(&f.file)?),
        SqlCommand::Classify(f) => ctx.emit(&mut sql::classify(&f.file)?),
    }
}
