//! `dbkit templates list` and `dbkit templates export DIR`: the built-in report templates.

use super::{Ctx, Outcome};
use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use std::path::PathBuf;

/// Arguments of `dbkit templates`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  dbkit templates list
  dbkit templates export my-templates --force")]
pub struct TemplatesArgs {
    #[command(subcommand)]
    command: TemplatesCommand,
}

#[derive(Debug, Subcommand)]
enum TemplatesCommand {
    /// List the built-in templates and what each renders.
    List,
    /// Write the built-in templates into DIR, to customise and pass back with --template.
    Export {
        /// The directory (created when missing).
        dir: PathBuf,
        /// Overwrite templates already in DIR.
        #[arg(long)]
        force: bool,
    },
}

/// Run `dbkit templates`.
pub fn run(args: &TemplatesArgs, ctx: &Ctx) -> Result<Outcome> {
    let mut report = match &args.command {
        TemplatesCommand::List => dbkit::report::templates::list(),
        TemplatesCommand::Export { dir, force } => dbkit::report::templates::export(dir, *force)
            .with_context(|| format!("exporting the templates to {}", dir.display()))?,
    };
    ctx.emit(&mut report)
}
