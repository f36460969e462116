//! `dbkit scratch start`: a throw-away cluster until Ctrl-C.

use super::{runtime, Ctx, Outcome};
use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use dbkit::view::{Report, Table};
use serde::Serialize;
use std::io::Write;
use std::path::PathBuf;

/// Arguments of `dbkit scratch`.
#[derive(Debug, Args)]
#[command(
    after_help = "Example:\n  dbkit scratch start --schema fixtures/shop/schema.sql --seed fixtures/shop/seed.sql"
)]
pub struct ScratchArgs {
    #[command(subcommand)]
    command: ScratchCommand,
}

#[derive(Debug, Subcommand)]
enum ScratchCommand {
    /// Start a throw-away cluster, print its URL, and keep it until Ctrl-C.
    #[command(after_help = "Example:
  dbkit scratch start --schema fixtures/shop/schema.sql --seed fixtures/shop/seed.sql
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

/// What `dbkit scratch start` reports.
#[derive(Debug, Serialize)]
struct ScratchInfo {
    url: String,
    port: u16,
    version: String,
    data_dir: String,
    pid: Option<u32>,
    notes: Vec<String>,
}

impl Report for ScratchInfo {
    fn kind(&self) -> &'static str {
        "scratch"
    }
    fn summary(&self) -> String {
        format!(
            "scratch PostgreSQL {} at {} (Ctrl-C stops and deletes it)",
            self.version, self.url
        )
    }
    fn tables(&self) -> Vec<Table> {
        vec![Table::properties(
            "Scratch cluster",
            [
                ("url", self.url.clone()),
                ("version", self.version.clone()),
                ("data dir", self.data_dir.clone()),
                ("pid", self.pid.map(|p| p.to_string()).unwrap_or_default()),
            ],
        )]
    }
}

/// Run `dbkit scratch …`.
pub fn run(args: &ScratchArgs, ctx: &Ctx) -> Result<Outcome> {
    let ScratchCommand::Start { schema, seed } = &args.command;
    let rt = runtime()?;
    rt.block_on(async {
        let load = dbkit::db::ScratchLoad {
            schema: schema.clone(),
            seed: seed.clone(),
        };
        let target = dbkit::db::open_target(None, Some(&load)).await?;
        let cluster = target.scratch.as_ref().context("no scratch cluster")?;
        let mut info = ScratchInfo {
            url: cluster.url(),
            port: cluster.port(),
            version: cluster.version().to_string(),
            data_dir: cluster.data_dir().display().to_string(),
            pid: cluster.pid(),
            notes: cluster.notes().to_vec(),
        };
        ctx.emit(&mut info)?;
        std::io::stdout().flush().context("writing the report")?;
        // Ctrl-C or SIGTERM is the normal end: the interrupt cleanup stops the server, deletes
        // its directory and exits 0. Until then, watch the server.
        dbkit::db::reaper::set_interrupt_exit_code(0);
        let mut target = target;
        let cluster = target.scratch.as_mut().context("no scratch cluster")?;
        loop {
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            cluster.check_alive()?;
        }
    })
}
