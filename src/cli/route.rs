//! `dbkit route`: replica routing maps — probe the servers, classify statements, export the
//! map as a pooler's or proxy's configuration.

use super::{runtime, Ctx, Outcome};
use anyhow::Result;
use clap::{Args, Subcommand};
use dbkit::ops::route;
use dbkit::report::Format;
use dbkit::routing::export::Tool;
use std::path::PathBuf;

/// Arguments of `dbkit route`.
#[derive(Debug, Args)]
pub struct RouteArgs {
    #[command(subcommand)]
    command: RouteCommand,
}

#[derive(Debug, Subcommand)]
enum RouteCommand {
    /// Connect to every server: find the primary, measure each replica's lag, and print the
    /// routing table it would use now, with the reason for every excluded server.
    #[command(after_help = "Example:\n  dbkit route probe --map fixtures/routing/shop.toml")]
    Probe {
        /// The routing map (TOML or JSON).
        #[arg(long, value_name = "FILE")]
        map: PathBuf,
    },
    /// Route each statement of a file in order: primary or replica pool, and why.
    #[command(after_help = "Example:
  dbkit route classify --map fixtures/routing/shop.toml \\
      fixtures/routing/session.sql")]
    Classify {
        /// The routing map (TOML or JSON).
        #[arg(long, value_name = "FILE")]
        map: PathBuf,
        /// SQL file, or `-` for stdin.
        #[arg(default_value = "-")]
        file: String,
        /// Treat the file as one session: after a write, reads stay on the primary
        /// (read-your-writes, no LSN being known). Otherwise only transactions carry over.
        #[arg(long)]
        one_session: bool,
    },
    /// Write the map as a PgCat, PgDog, PgBouncer or HAProxy configuration, as far as each can
    /// express it; what it cannot is listed in the file and on stderr. No passwords are written.
    #[command(after_help = "Examples:
  SHOP_PG3_URL=postgres://app@10.0.3.20:5432/shop \\
      dbkit route export --map fixtures/routing/shop.toml --to pgdog \\
      > pgdog.toml
  SHOP_PG3_URL=postgres://app@10.0.3.20:5432/shop \\
      dbkit route export --map fixtures/routing/shop.toml --to haproxy \\
      --listen-port 5000 --output haproxy.cfg

A server whose URL comes from a variable (url_env) needs that variable set.")]
    Export {
        /// The routing map (TOML or JSON).
        #[arg(long, value_name = "FILE")]
        map: PathBuf,
        /// The tool to configure.
        #[arg(long, value_enum)]
        to: ToolArg,
        /// The port clients connect to (HAProxy: the primary's; the replicas' is the next one).
        /// Default: 6432 for the poolers, 5000 for HAProxy.
        #[arg(long, value_name = "PORT")]
        listen_port: Option<u16>,
    },
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum ToolArg {
    Pgcat,
    Pgdog,
    Pgbouncer,
    Haproxy,
}

/// Run `dbkit route`.
pub fn run(args: &RouteArgs, ctx: &Ctx) -> Result<Outcome> {
    match &args.command {
        RouteCommand::Probe { map } => ctx.emit(&mut runtime()?.block_on(route::probe(map))?),
        RouteCommand::Export {
            map,
            to,
            listen_port,
        } => {
            // --output: write the configuration there and print what maps to what instead.
            let output = ctx.artifact_output();
            let tool = match to {
                ToolArg::Pgcat => Tool::Pgcat,
                ToolArg::Pgdog => Tool::Pgdog,
                ToolArg::Pgbouncer => Tool::Pgbouncer,
                ToolArg::Haproxy => Tool::Haproxy,
            };
            let mut report = route::export(&route::ExportRequest {
                map: map.clone(),
                tool,
                listen_port: *listen_port,
                output: output.clone(),
            })?;
            if output.is_some() {
                return ctx.emit(&mut report);
            }
            for f in &report.findings {
                eprintln!("note: {}", f.message);
            }
            ctx.emit_as(&mut report, Format::Sql)
        }
        RouteCommand::Classify {
            map,
            file,
            one_session,
        } => ctx.emit(&mut route::classify(map, file, *one_session)?),
    }
}
