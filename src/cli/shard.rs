//! `dbkit shard`: locate keys, validate shard maps, inspect the live nodes, plan rebalances.

use super::{Ctx, Outcome};
use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use dbkit::db::shards::InspectOptions;
use dbkit::shard::plan::{plan, PlanOptions, Strategy};
use dbkit::shard::report::{LocateReport, PlanReport, ValidateReport};
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
    /// Plan a rebalance: ordered shard moves (and splits) within a threshold of each node's
    /// capacity-weighted target, colocation kept, as few bytes moved as possible.
    #[command(
        after_help = "Examples:\n  dbkit shard plan --map fixtures/shardmaps/shop.toml\n  dbkit shard plan --map fixtures/shardmaps/shop.toml --add shard-d --drain shard-a --write-map new.toml"
    )]
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
        /// Add a node, optionally with a weight: `NAME` or `NAME:2` (repeatable).
        #[arg(long, value_name = "NODE[:WEIGHT]")]
        add: Vec<String>,
        /// Write the map after the plan (version bumped) to this file.
        #[arg(long, value_name = "FILE")]
        write_map: Option<PathBuf>,
    },
    /// Read the live nodes: each shard's size and rows (its partition, its `{table}_{id}`
    /// table, or its sampled share of a plain table), the balance per node, and data the map
    /// does not expect. Read-only.
    #[command(
        after_help = "Examples:\n  dbkit shard inspect --map fixtures/shardmaps/shop.toml\n  dbkit shard inspect --map shop.toml --url-per-node shard-a=postgres://app@localhost:6432/shop --write-map live.toml"
    )]
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
        /// Write the map with live sizes and rows (version bumped) to this file.
        #[arg(long, value_name = "FILE")]
        write_map: Option<PathBuf>,
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
fn load_valid(map: &std::path::Path, threshold: f64) -> Result<ShardMap> {
    let m = ShardMap::load(map)?;
    if !(threshold.is_finite() && threshold >= 0.0) {
        anyhow::bail!("--threshold must be a non-negative number, got {threshold}");
    }
    if let Some(f) = m
        .validate()
        .iter()
        .find(|f| f.severity == dbkit::Severity::Error)
    {
        anyhow::bail!(
            "{}: the map is not valid ({}: {}); run dbkit shard validate",
            map.display(),
            f.rule,
            f.message
        );
    }
    Ok(m)
}

/// Run `dbkit shard`.
pub fn run(args: &ShardArgs, ctx: &Ctx) -> Result<Outcome> {
    match &args.command {
        ShardCommand::Locate { map, keys } => {
            let m = ShardMap::load(map)?;
            let locations = m.locate_all(keys)?;
            ctx.emit(&mut LocateReport {
                map: map.display().to_string(),
                version: m.version,
                locations,
            })
        }
        ShardCommand::Plan {
            map,
            strategy,
            threshold,
            drain,
            add,
            write_map,
        } => {
            let m = load_valid(map, *threshold)?;
            for d in drain {
                if !m.nodes.iter().any(|n| &n.name == d) {
                    anyhow::bail!("--drain {d}: the map has no such node");
                }
            }
            let mut added = Vec::new();
            for a in add {
                let (name, weight) = match a.rsplit_once(':') {
                    Some((n, w)) => (
                        n,
                        w.parse::<f64>()
                            .ok()
                            .filter(|w| w.is_finite() && *w > 0.0)
                            .ok_or_else(|| {
                                anyhow::anyhow!("--add {a}: the weight must be a positive number")
                            })?,
                    ),
                    None => (a.as_str(), 1.0),
                };
                added.push((name.to_string(), weight));
            }
            let opts = PlanOptions {
                strategy: match strategy {
                    StrategyArg::Size => Strategy::BySize,
                    StrategyArg::Count => Strategy::ByCount,
                    StrategyArg::Load => Strategy::ByLoad,
                },
                threshold: *threshold,
                drain: drain.clone(),
                add: added,
            };
            let p = plan(&m, &opts);
            if let Some(out) = write_map {
                std::fs::write(out, p.new_map.to_toml())
                    .with_context(|| format!("writing {}", out.display()))?;
            }
            ctx.emit(&mut PlanReport {
                map: map.display().to_string(),
                version: m.version,
                new_version: p.new_map.version,
                plan: p,
            })
        }
        ShardCommand::Inspect {
            map,
            urls,
            threshold,
            sample_rows,
            timeout,
            write_map,
        } => {
            let m = load_valid(map, *threshold)?;
            let mut by_node = std::collections::BTreeMap::new();
            for u in urls {
                let Some((node, url)) = u.split_once('=') else {
                    anyhow::bail!("--url-per-node expects NODE=URL");
                };
                if !m.nodes.iter().any(|n| n.name == node) {
                    anyhow::bail!("--url-per-node {node}=…: the map has no such node");
                }
                by_node.insert(node.to_string(), url.to_string());
            }
            let opts = InspectOptions {
                urls: by_node,
                sample_rows: *sample_rows,
                timeout: *timeout,
                threshold: *threshold,
            };
            let path = map.display().to_string();
            let mut report =
                super::runtime()?.block_on(dbkit::db::shards::inspect(&m, &path, &opts));
            if let Some(out) = write_map {
                std::fs::write(out, report.filled.to_toml())
                    .with_context(|| format!("writing {}", out.display()))?;
            }
            ctx.emit(&mut report)
        }
        ShardCommand::Validate { map } => {
            let m = ShardMap::load(map)?;
            ctx.emit(&mut ValidateReport::build(&map.display().to_string(), &m))
        }
    }
}
