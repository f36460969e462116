//! `dbkit route`: replica routing maps.

use super::{read_text, Ctx, Outcome};
use anyhow::Result;
use clap::{Args, Subcommand};
use dbkit::routing::report::ClassifyReport;
use dbkit::routing::RoutingMap;
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
    #[command(
        after_help = "Example:\n  dbkit route classify --map fixtures/routing/shop.toml fixtures/routing/session.sql"
    )]
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
}

/// Run `dbkit route`.
pub fn run(args: &RouteArgs, ctx: &Ctx) -> Result<Outcome> {
    match &args.command {
        RouteCommand::Probe { map } => {
            let m = load(map)?;
            let report = super::runtime()?.block_on(dbkit::db::replication::probe(&m));
            ctx.emit(&report)
        }
        RouteCommand::Classify {
            map,
            file,
            one_session,
        } => {
            let m = load(map)?;
            let text = read_text(file)?;
            ctx.emit(&ClassifyReport::build(&m, file, &text, *one_session))
        }
    }
}

/// Loads a routing map and refuses an invalid one.
fn load(map: &std::path::Path) -> Result<RoutingMap> {
    let m = RoutingMap::load(map)?;
    if let Some(f) = m.validate().first() {
        anyhow::bail!("{}: {} ({})", map.display(), f.message, f.rule);
    }
    Ok(m)
}
