//! `dbkit rules`: every rule of every family.

use super::{Ctx, Outcome};
use anyhow::Result;
use clap::Args;

/// Arguments of `dbkit rules`.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  dbkit rules\n  dbkit rules --format json | jq '.rules[] | select(.family == \"plan\") | .id'"
)]
pub struct RulesArgs {}

/// Run `dbkit rules`.
pub fn run(_args: &RulesArgs, ctx: &Ctx) -> Result<Outcome> {
    let cfg = ctx.config()?;
    ctx.emit(&dbkit::analyze::RulesReport {
        rules: dbkit::analyze::catalogue(&cfg),
    })
}
