//! `dbkit ping`: connect and describe the server.

use super::{runtime, Ctx, DbArgs, Outcome};
use anyhow::Result;
use clap::Args;

/// Arguments of `dbkit ping`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  dbkit ping --url 'postgres://app@db.internal:5432/shop?sslmode=require'
  dbkit ping --url 'host=/var/run/postgresql dbname=shop'
  PGHOST=db.internal PGUSER=app dbkit ping --format json
  dbkit ping --scratch")]
pub struct PingArgs {
    #[command(flatten)]
    db: DbArgs,
}

/// Run `dbkit ping`.
pub fn run(args: &PingArgs, ctx: &Ctx) -> Result<Outcome> {
    let mut info = runtime()?.block_on(dbkit::ops::ping(&args.db.request()))?;
    ctx.emit(&mut info)
}
