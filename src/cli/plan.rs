//! `dbkit plan analyze|show`: read plans people already have.

use super::{read_text, Ctx, Outcome};
use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use dbkit::analyze::plan::report::{PlanAnalyzeReport, PlanShowReport};
use dbkit::analyze::plan_diff::PlanDiffReport;

/// Arguments of `dbkit plan`.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  dbkit plan analyze fixtures/plans/*.json\n  dbkit plan show fixtures/plans/seq-scan-filter.json"
)]
pub struct PlanArgs {
    #[command(subcommand)]
    command: PlanCommand,
}

#[derive(Debug, Subcommand)]
enum PlanCommand {
    /// Run the plan rules over EXPLAIN output (JSON, as psql prints it, or text format).
    #[command(
        after_help = "Examples:\n  dbkit plan analyze fixtures/plans/*.json --fail-on warning\n  psql -XAtc 'EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) SELECT …' | dbkit plan analyze -"
    )]
    Analyze {
        /// Plan files; `-` reads stdin.
        #[arg(required = true)]
        files: Vec<String>,
    },
    /// Show a plan as a tree: exclusive and inclusive time, share, rows estimated vs actual,
    /// buffers, and each node's findings.
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
    #[command(
        after_help = "Example:\n  dbkit plan diff fixtures/plans/diff-before.json fixtures/plans/diff-after.json\n\nExit 1 when the after plan regressed (see --fail-on)."
    )]
    Diff {
        /// The plan before the change.
        before: String,
        /// The plan after the change.
        after: String,
    },
}

fn read_plans(file: &str) -> Result<Vec<dbkit::plan::Plan>> {
    let text = read_text(file)?;
    dbkit::plan::parse(&text).with_context(|| file.to_string())
}

/// Run `dbkit plan …`.
pub fn run(args: &PlanArgs, ctx: &Ctx) -> Result<Outcome> {
    let cfg = ctx.config()?;
    match &args.command {
        PlanCommand::Analyze { files } => {
            let inputs = files
                .iter()
                .map(|f| Ok((f.clone(), read_plans(f)?)))
                .collect::<Result<Vec<_>>>()?;
            ctx.emit(&mut PlanAnalyzeReport::build(&inputs, &cfg))
        }
        PlanCommand::Diff { before, after } => {
            let b = read_plans(before)?;
            let a = read_plans(after)?;
            let (Some(bp), Some(ap)) = (b.first(), a.first()) else {
                anyhow::bail!("no plan in {before} or {after}");
            };
            ctx.emit(&mut PlanDiffReport::build(before, bp, after, ap, &cfg))
        }
        PlanCommand::Show { file, index } => {
            let plans = read_plans(file)?;
            let plan = plans.get(index.saturating_sub(1)).with_context(|| {
                format!(
                    "{file} holds {} plan(s); --index {index} is out of range",
                    plans.len()
                )
            })?;
            ctx.emit(&mut PlanShowReport::build(file, plan, &cfg))
        }
    }
}
