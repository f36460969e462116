//! `dbkit rules [--family F]` and `dbkit rules explain ID`: the rule registry.

use super::{Ctx, Outcome};
use anyhow::Result;
use clap::{Args, Subcommand};
use dbkit::{Family, RuleId};

/// Arguments of `dbkit rules`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  dbkit rules
  dbkit rules --family migration
  dbkit rules explain set-not-null
  dbkit rules --format json | jq '.rules[] | select(.family == \"plan\") | .id'")]
pub struct RulesArgs {
    /// Only the rules of this family (sql, safety, plan, plan-diff, index, migration, workload,
    /// shard, routing).
    #[arg(long, value_name = "FAMILY", value_parser = parse_family)]
    family: Option<Family>,
    #[command(subcommand)]
    command: Option<RulesCommand>,
}

#[derive(Debug, Subcommand)]
enum RulesCommand {
    /// Why a rule matters and the safe alternative.
    #[command(after_help = "Example:\n  dbkit rules explain index-not-concurrent")]
    Explain {
        /// The rule id.
        #[arg(value_parser = parse_rule)]
        id: RuleId,
    },
}

fn parse_family(s: &str) -> Result<Family, String> {
    s.parse()
        .map_err(|e: dbkit::finding::UnknownName| e.to_string())
}

fn parse_rule(s: &str) -> Result<RuleId, String> {
    s.parse()
        .map_err(|e: dbkit::finding::UnknownName| e.to_string())
}

/// Run `dbkit rules`.
pub fn run(args: &RulesArgs, ctx: &Ctx) -> Result<Outcome> {
    let cfg = ctx.config()?;
    match &args.command {
        Some(RulesCommand::Explain { id }) => {
            ctx.emit(&mut dbkit::analyze::RuleExplainReport::new(*id, &cfg))
        }
        None => ctx.emit(&mut dbkit::analyze::RulesReport {
            rules: dbkit::analyze::catalogue(&cfg, args.family),
        }),
    }
}
