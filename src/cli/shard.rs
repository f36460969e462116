//! `dbkit shard`: locate keys, validate shard maps, inspect the live nodes, plan rebalances.

use super::{Ctx, Outcome};
use anyhow::{bail, Result};
use clap::{Args, Subcommand};
use dbkit::ops::shard;
use dbkit::shard::plan::Strategy;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Arguments of `dbkit shard`.
#[derive(Debug, Args)]
pub struct ShardArgs {
    #[command(subcommand)]
    command: ShardCommand,
}

#[derive(Debug, Subcommand)]
enum ShardCommand {
    /// Write a first shard map: N shards dealt round-robin to the nodes, by hash (PostgreSQL's
    /// PARTITION BY HASH with modulus N) or by key range.
    #[command(after_help = "Examples:
  dbkit shard init --nodes a,b,c --shards 64 \\
      --tables customers=id,orders=customer_id --output shop-map.toml
  dbkit shard init --nodes a,b --shards 8 --method range \\
      --key-range 0..10000000 --tables accounts=id --output accounts-map.toml

Nodes get no URL: add url = \"postgres://…\" (no password) or url_env to each in the file.
The file must not exist yet.")]
    Init {
        /// Node names, comma-separated (or repeat the flag).
        #[arg(long, value_delimiter = ',', required = true)]
        nodes: Vec<String>,
        /// Number of shards.
        #[arg(long)]
        shards: u64,
        /// Hash or range.
        #[arg(long, value_enum, default_value_t = MethodArg::Hash)]
        method: MethodArg,
        /// The shard key's type: int, bigint, text or uuid.
        #[arg(long, default_value = "bigint")]
        key_type: String,
        /// Range maps of integers: the keys to split in equal slices, FROM..TO.
        #[arg(long, value_name = "FROM..TO", value_parser = parse_key_range)]
        key_range: Option<(i64, i64)>,
        /// Sharded tables and their key column: TABLE=COLUMN, comma-separated.
        #[arg(long, value_delimiter = ',', value_parser = parse_table_key)]
        tables: Vec<(String, String)>,
        /// The file to write (TOML; JSON when it ends in .json).
        #[arg(long, short)]
        output: PathBuf,
    },
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
    /// Plan a rebalance: ordered shard moves (and splits) within a threshold of each node's
    /// capacity-weighted target, colocation kept, as few bytes moved as possible.
    #[command(after_help = "Examples:
  dbkit shard plan --map fixtures/shardmaps/shop.toml
  dbkit shard plan --map fixtures/shardmaps/shop.toml \\
      --add shard-d --drain shard-a --write-map new.toml
  dbkit shard plan --map fixtures/shardmaps/shop.toml --no-split \\
      --add name=shard-d,url=postgres://app@10.0.4.10/shop,zone=eu-west-1d")]
    Plan {
        /// The shard map (TOML or JSON).
        #[arg(long, value_name = "FILE")]
        map: PathBuf,
        /// What to balance.
        #[arg(long, value_enum, default_value_t = StrategyArg::Size)]
        strategy: StrategyArg,
        /// Allowed deviation from each node's target (0.1 = 10%).
        #[arg(long, default_value_t = 0.1)]
        threshold: f64,
        /// Empty this node (repeatable).
        #[arg(long, value_name = "NODE")]
        drain: Vec<String>,
        /// Add a node (repeatable): `NAME`, `NAME:WEIGHT`, or
        /// `name=NAME,url=URL,zone=ZONE,weight=W` (also `url_env=VAR`).
        #[arg(long, value_name = "NODE")]
        add: Vec<String>,
        /// Plan moves only, never shard splits.
        #[arg(long)]
        no_split: bool,
        /// Write the map after the plan (version bumped) to this file, keeping its comments.
        #[arg(long, value_name = "FILE")]
        write_map: Option<PathBuf>,
    },
    /// Read the live nodes: each shard's size and rows (its partition, its `{table}_{id}`
    /// table, or its sampled share of a plain table), the balance per node, and data the map
    /// does not expect. Read-only.
    #[command(after_help = "Examples:
  dbkit shard inspect --map fixtures/shardmaps/shop.toml
  dbkit shard inspect --map fixtures/shardmaps/shop.toml \\
      --url-per-node shard-a=postgres://app@localhost:6432/shop \\
      --write-map live.toml")]
    Inspect {
        /// The shard map (TOML or JSON).
        #[arg(long, value_name = "FILE")]
        map: PathBuf,
        /// Connect to this node with this URL instead of the map's (repeatable).
        #[arg(long = "url-per-node", alias = "node-url", value_name = "NODE=URL")]
        urls: Vec<String>,
        /// Allowed deviation from each node's capacity-weighted target (0.1 = 10%).
        #[arg(long, default_value_t = 0.1)]
        threshold: f64,
        /// Keys sampled from a plain table holding several shards.
        #[arg(long, default_value_t = 10_000)]
        sample_rows: u64,
        /// statement_timeout on every node: 30s, 500ms, 2m.
        #[arg(long, default_value = "30s", value_parser = super::explain::parse_duration)]
        timeout: std::time::Duration,
        /// Write the map with live sizes and rows (version bumped) to this file, keeping its
        /// comments and layout; only when every node was read.
        #[arg(long, value_name = "FILE")]
        write_map: Option<PathBuf>,
        /// With --write-map: write it even when some nodes could not be read (their shards keep
        /// the map's sizes).
        #[arg(long, requires = "write_map")]
        allow_partial: bool,
    },
    /// Overlapping or missing key space, unknown nodes, broken colocation, secrets in URLs.
    #[command(after_help = "Example:\n  dbkit shard validate --map fixtures/shardmaps/shop.toml")]
    Validate {
        /// The shard map (TOML or JSON).
        #[arg(long, value_name = "FILE")]
        map: PathBuf,
    },
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum MethodArg {
    Hash,
    Range,
}

fn parse_key_range(s: &str) -> Result<(i64, i64), String> {
    let (a, b) = s
        .split_once("..")
        .ok_or_else(|| format!("{s:?}: expected FROM..TO"))?;
    let n = |v: &str| {
        v.trim()
            .parse::<i64>()
            .map_err(|_| format!("{v:?} is not an integer"))
    };
    Ok((n(a)?, n(b)?))
}

fn parse_table_key(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((t, c)) if !t.trim().is_empty() && !c.trim().is_empty() => {
            Ok((t.trim().to_string(), c.trim().to_string()))
        }
        _ => Err(format!("{s:?}: expected TABLE=COLUMN")),
    }
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum StrategyArg {
    #[value(name = "by-size")]
    Size,
    #[value(name = "by-count")]
    Count,
    #[value(name = "by-load")]
    Load,
}

/// Loads a map, refusing an invalid one (run `shard validate` for the findings) or a bad
/// threshold.
/// Run `dbkit shard …`.
pub fn run(args: &ShardArgs, ctx: &Ctx) -> Result<Outcome> {
    match &args.command {
        ShardCommand::Init {
            nodes,
            shards,
            method,
            key_type,
            key_range,
            tables,
            output,
        } => {
            let nodes = nodes
                .iter()
                .map(|n| {
                    shard::parse_added_node(n).map(|mut n| {
                        n.state = dbkit::shard::map::NodeState::Active;
                        n
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            let req = shard::InitRequest {
                options: dbkit::shard::init::InitOptions {
                    nodes,
                    shards: *shards,
                    method: match method {
                        MethodArg::Hash => dbkit::shard::map::Method::Hash,
                        MethodArg::Range => dbkit::shard::map::Method::Range,
                    },
                    key_type: key_type.clone(),
                    key_range: *key_range,
                    tables: tables.clone(),
                },
                output: output.clone(),
            };
            ctx.emit(&mut shard::init(&req)?)
        }
        ShardCommand::Locate { map, keys } => ctx.emit(&mut shard::locate(map, keys)?),
        ShardCommand::Plan {
            map,
            strategy,
            threshold,
            drain,
            add,
            no_split,
            write_map,
        } => {
            let req = shard::PlanRequest {
                map: map.clone(),
                strategy: match strategy {
                    StrategyArg::Size => Strategy::BySize,
                    StrategyArg::Count => Strategy::ByCount,
                    StrategyArg::Load => Strategy::ByLoad,
                },
                threshold: *threshold,
                drain: drain.clone(),
                add: add
                    .iter()
                    .map(|a| shard::parse_added_node(a))
                    .collect::<Result<_, _>>()?,
                no_split: *no_split,
                write_map: write_map.clone(),
            };
            ctx.emit(&mut shard::plan(&req)?)
        }
        ShardCommand::Inspect {
            map,
            urls,
            threshold,
            sample_rows,
            timeout,
            write_map,
            allow_partial,
        } => {
            let mut by_node = BTreeMap::new();
            for u in urls {
                let Some((node, url)) = u.split_once('=') else {
                    bail!("--url-per-node expects NODE=URL");
                };
                by_node.insert(node.to_string(), url.to_string());
            }
            let req = shard::InspectRequest {
                map: map.clone(),
                urls: by_node,
                threshold: *threshold,
                sample_rows: *sample_rows,
                timeout: *timeout,
                write_map: write_map.clone(),
                allow_partial: *allow_partial,
            };
            let mut report = super::runtime()?.block_on(shard::inspect(&req))?;
            let outcome = ctx.emit(&mut report)?;
            if let Some(why) = &report.write_refused {
                bail!("{why}");
            }
            Ok(outcome)
        }
        ShardCommand::Validate { map } => ctx.emit(&mut shard::validate(map)?),
    }
}
