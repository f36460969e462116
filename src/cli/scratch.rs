//! `dbkit scratch start`: a throw-away cluster until Ctrl-C.

use super::{runtime, Ctx, Outcome};
use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use std::io::Write;
use std::path::PathBuf;

/// Arguments of `dbkit scratch`.
#[derive(Debug, Args)]
#[command(after_help = "Example:
  dbkit scratch start --schema fixtures/shop/schema.sql \\
      --seed fixtures/shop/seed.sql")]
pub struct ScratchArgs {
    #[command(subcommand)]
    command: ScratchCommand,
}

#[derive(Debug, Subcommand)]
enum ScratchCommand {
    /// Start a throw-away cluster, print its URL, and keep it until Ctrl-C.
    #[command(after_help = "Example:
  dbkit scratch start --schema fixtures/shop/schema.sql \\
      --seed fixtures/shop/seed.sql
  # in another terminal:
  psql postgres://postgres@127.0.0.1:PORT/postgres

The cluster lives in a temp dir and is deleted when dbkit stops.")]
    Start {
        /// A schema script to load.
        #[arg(long, value_name = "FILE")]
        schema: Option<PathBuf>,
        /// A data script to load after the schema.
        #[arg(long, value_name = "FILE")]
        seed: Option<PathBuf>,
    },
}

/// Run `dbkit scratch …`.
pub fn run(args: &ScratchArgs, ctx: &Ctx) -> Result<Outcome> {
    let ScratchCommand::Start { schema, seed } = &args.command;
    runtime()?.block_on(async {
        let load = dbkit::db::ScratchLoad {
            schema: schema.clone(),
            seed: seed.clone(),
        };
        let started = dbkit::ops::scratch::start(&load).await?;
        ctx.emit(&mut started.info())?;
        std::io::stdout().flush().context("writing the report")?;
        // Ctrl-C or SIGTERM is the normal end: the interrupt cleanup stops the server, deletes
        // its directory and exits 0. Until then, watch the server.
        dbkit::db::reaper::set_interrupt_exit_code(0);
        started.watch().await?;
        Ok(Outcome::Ok)
    })
}
