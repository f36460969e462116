//! `dbkit shard`: locate keys and validate shard maps.

use super::{Ctx, Outcome};
use anyhow::Result;
use clap::{Args, Subcommand};
use dbkit::shard::report::{LocateReport, ValidateReport};
use dbkit::shard::ShardMap;
use std::path::PathBuf;

/// Arguments of `dbkit shard`.
#[derive(Debug, Args)]
pub struct ShardArgs {
    #[command(subcommand)]
    command: ShardCommand,
}

#[derive(Debug, Subcommand)]
enum ShardCommand {
    /// Which shard and node each key lives on.
    #[command(
        after_help = "Example:\n  dbkit shard locate --map fixtures/shardmaps/shop.toml 42 1001"
    )]
    Locate {
        /// The shard map (TOML or JSON).
        #[arg(long, value_name = "FILE")]
        map: PathBuf,
        /// Keys, as text in the map's key type (negative numbers are keys, not options).
        #[arg(required = true, allow_negative_numbers = true)]
        keys: Vec<String>,
    },
    /// Overlapping or missing key space, unknown nodes, broken colocation, secrets in URLs.
    #[command(after_help = "Example:\n  dbkit shard validate --map fixtures/shardmaps/shop.toml")]
    Validate {
        /// The shard map (TOML or JSON).
        #[arg(long, value_name = "FILE")]
        map: PathBuf,
    },
}

/// Run `dbkit shard`.
pub fn run(args: &ShardArgs, ctx: &Ctx) -> Result<Outcome> {
    match &args.command {
        ShardCommand::Locate { map, keys } => {
            let m = ShardMap::load(map)?;
            let mut locations = Vec::new();
            for k in keys {
                locations.extend(m.locate(k)?);
            }
            ctx.emit(&LocateReport {
                map: map.display().to_string(),
                version: m.version,
                locations,
            })
        }
        ShardCommand::Validate { map } => {
            let m = ShardMap::load(map)?;
            ctx.emit(&ValidateReport::build(&map.display().to_string(), &m))
        }
    }
}
