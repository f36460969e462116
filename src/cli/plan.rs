//! `dbkit plan analyze|show`: read plans people already have.

use super::{Ctx, Outcome};
use anyhow::Result;
use clap::{Args, Subcommand};
use dbkit::ops::plan;

/// Arguments of `dbkit plan`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  dbkit plan analyze fixtures/plans/*.json                # exit 1
  dbkit plan show fixtures/plans/seq-scan-filter.json")]
pub struct PlanArgs {
    #[command(subcommand)]
    command: PlanCommand,
}

#[derive(Debug, Subcommand)]
enum PlanCommand {
    /// Run the plan rules over EXPLAIN output (JSON, as psql prints it, or text format).
    #[command(after_help = "Examples:
  dbkit plan analyze fixtures/plans/*.json --fail-on warning       # exit 1
  dbkit plan analyze fixtures/plans/ok-seq-scan-filter.json
  psql -XAtc 'EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) SELECT …' \\
      | dbkit plan analyze -")]
    Analyze {
        /// Plan files; `-` reads stdin.
        #[arg(required = true)]
        files: Vec<String>,
    },
    /// Show a plan as a tree: exclusive and inclusive time, share, rows estimated vs actual,
    /// buffers, each node's conditions, keys and figures, and its findings (`-v` adds each
    /// node's Output columns).
    #[command(after_help = "Example:\n  dbkit plan show fixtures/plans/sort-spill.json")]
    Show {
        /// A plan file; `-` reads stdin.
        file: String,
        /// Which plan of a file that holds several (1-based).
        #[arg(long, default_value_t = 1)]
        index: usize,
    },
    /// Compare two plans of the same query: scan and join changes, indexes no longer used,
    /// cost and time deltas, new findings. Regressions are `plan-regression` errors.
    #[command(after_help = "Example:
  dbkit plan diff fixtures/plans/diff-before.json \\
      fixtures/plans/diff-after.json                    # exit 1: it regressed

Exit 1 when the after plan regressed (see --fail-on).")]
    Diff {
        /// The plan before the change.
        before: String,
        /// The plan after the change.
        after: String,
    },
}

/// Run `dbkit plan …`.
pub fn run(args: &PlanArgs, ctx: &Ctx) -> Result<Outcome> {
    let cfg = ctx.config()?;
    match &args.command {
        PlanCommand::Analyze { files } => ctx.emit(&mut plan::analyze(files, &cfg)?),
        PlanCommand::Diff { before, after } => ctx.emit(&mut plan::diff(before, after, &cfg)?),
        PlanCommand::Show { file, index } => {
            ctx.emit(&mut plan::show(file, *index, ctx.verbose(), &cfg)?)
        }
    }
}
