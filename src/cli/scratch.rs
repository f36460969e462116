//! `dbkit scratch start|list|stop`: throw-away clusters, until Ctrl-C or kept between commands.

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
    /// Start a throw-away cluster, print its URL, and keep it until Ctrl-C (or, with --keep,
    /// until `dbkit scratch stop NAME`).
    #[command(after_help = "Examples:
  dbkit scratch start --schema fixtures/shop/schema.sql \\
      --seed fixtures/shop/seed.sql
  # in another terminal:
  psql postgres://postgres@127.0.0.1:PORT/postgres
  dbkit scratch start --keep --name shop \\
      --schema fixtures/shop/schema.sql --seed fixtures/shop/seed.sql
  dbkit scratch list
  dbkit scratch stop shop

The cluster lives in a temp dir and is deleted when it stops.")]
    Start {
        /// A schema script to load.
        #[arg(long, value_name = "FILE")]
        schema: Option<PathBuf>,
        /// A data script to load after the schema.
        #[arg(long, value_name = "FILE")]
        seed: Option<PathBuf>,
        /// Listen on this port (default: a free one).
        #[arg(long)]
        port: Option<u16>,
        /// A postgresql.conf setting, NAME=VALUE (repeatable), e.g. --set
        /// log_min_duration_statement=0 --set 'log_line_prefix=%m [%p] '.
        #[arg(long = "set", value_name = "NAME=VALUE", value_parser = dbkit::db::scratch_setting)]
        set: Vec<(String, String)>,
        /// A name for the cluster (`scratch list`, `scratch stop NAME`).
        #[arg(long, default_value = "scratch")]
        name: String,
        /// Return once the cluster is ready and keep it running in the background until
        /// `dbkit scratch stop NAME`.
        #[arg(long)]
        keep: bool,
        /// Internal: this process is the detached owner of a kept cluster.
        #[arg(long, hide = true)]
        owner: bool,
    },
    /// List the clusters started with --keep.
    List,
    /// Stop a cluster started with --keep, and delete it.
    Stop {
        /// Its name.
        name: String,
    },
}

/// Run `dbkit scratch …`.
pub fn run(args: &ScratchArgs, ctx: &Ctx) -> Result<Outcome> {
    use dbkit::ops::scratch;
    let (schema, seed, port, set, name, keep, owner) = match &args.command {
        ScratchCommand::List => return ctx.emit(&mut scratch::list()?),
        ScratchCommand::Stop { name } => return ctx.emit(&mut scratch::stop(name)?),
        ScratchCommand::Start {
            schema,
            seed,
            port,
            set,
            name,
            keep,
            owner,
        } => (schema, seed, port, set, name, *keep, *owner),
    };
    let load = dbkit::db::ScratchLoad {
        schema: schema.clone(),
        seed: seed.clone(),
        port: *port,
        settings: set.clone(),
    };
    if keep {
        let exe = std::env::current_exe().context("finding the dbkit binary")?;
        return ctx.emit(&mut scratch::list_of(scratch::keep(&exe, name, &load)?));
    }
    scratch::check_name(name)?;
    runtime()?.block_on(async {
        let started = scratch::start(&load).await?;
        if owner {
            scratch::register(name, &started)?;
        } else {
            ctx.emit(&mut started.info())?;
            std::io::stdout().flush().context("writing the report")?;
        }
        // Ctrl-C or SIGTERM is the normal end: the interrupt cleanup stops the server, deletes
        // its directory and exits 0. Until then, watch the server.
        dbkit::db::reaper::set_interrupt_exit_code(0);
        started.watch().await?;
        Ok(Outcome::Ok)
    })
}
