//! `dbkit index check|advise`: index hygiene and index advice.

use super::{runtime, Ctx, DbArgs, Outcome};
use anyhow::Result;
use clap::{Args, Subcommand};
use dbkit::analyze::index::report::IndexCheckReport;

/// Arguments of `dbkit index`.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  dbkit index check --url postgres://app@db/shop\n  dbkit index check --scratch --schema fixtures/shop/schema.sql --format json"
)]
pub struct IndexArgs {
    #[command(subcommand)]
    command: IndexCommand,
}

#[derive(Debug, Subcommand)]
enum IndexCommand {
    /// Findings on existing indexes: duplicate, redundant, unused, invalid, and foreign keys
    /// without an index.
    #[command(
        after_help = "Example:\n  dbkit index check --url postgres://app@db/shop --fail-on warning\n\nFindings: duplicate-index, redundant-index, unused-index, invalid-index, fk-missing-index."
    )]
    Check {
        #[command(flatten)]
        db: DbArgs,
    },
}

/// Run `dbkit index …`.
pub fn run(args: &IndexArgs, ctx: &Ctx) -> Result<Outcome> {
    let cfg = ctx.config()?;
    match &args.command {
        IndexCommand::Check { db } => {
            let rt = runtime()?;
            let cat = rt.block_on(async {
                let target = db.open().await?;
                let mut conn = dbkit::db::connect(&target.spec).await?;
                let cat = dbkit::db::catalog::load(&mut conn).await?;
                dbkit::db::close(conn).await;
                drop(target);
                anyhow::Ok(cat)
            })?;
            ctx.emit(&IndexCheckReport::build(&cat, &cfg))
        }
    }
}
