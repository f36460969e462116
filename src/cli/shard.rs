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
        #[command(flatten)]
        plan: PlanArgs,
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
    /// Move a shard (and the shards colocated with it) to another node online, with
    /// PostgreSQL logical replication: preflight, schema, copy and stream, indexes, verify,
    /// cutover with a bounded write pause, cleanup. Dry run unless --execute; a rerun resumes
    /// from the journal (<map>.moves/shard-<id>.json).
    #[command(after_help = "Examples:
  dbkit shard move --map shop.toml --shard 3 --to shard-c    # steps and SQL
  dbkit shard move --map shop.toml --shard 3 --to shard-c --execute
  dbkit shard move --map shop.toml --shard 3 --abort --execute
  dbkit shard move --map shop.toml --shard 3 --reverse --execute

The first prints the steps and their SQL; --execute runs (or resumes) the move;
--abort undoes it before the cutover; --reverse moves the shard back.

The source keeps its copy renamed <relation>_moved_s<id>_v<version>, with a trigger that
refuses writes (a write routed with the old map fails instead of being lost); --drop-source
drops it. Exit codes: 0 moved (or the dry run), 1 rows differ, 2 an error.")]
    Move {
        /// The shard map (TOML or JSON); the new map is written over it at the cutover.
        #[arg(long, value_name = "FILE")]
        map: PathBuf,
        /// The shard to move.
        #[arg(long)]
        shard: u64,
        /// The node to move it to.
        #[arg(long, value_name = "NODE", required_unless_present_any = ["reverse", "abort"], conflicts_with_all = ["reverse", "abort"])]
        to: Option<String>,
        /// Move the shard back where its last finished move took it from.
        #[arg(long, conflicts_with = "abort")]
        reverse: bool,
        /// Undo the move in progress (it must not have cut over): drop the subscription, slot,
        /// publication and the target's copy; the source is left as it was.
        #[arg(long)]
        abort: bool,
        /// Change the servers and the map (without it: print the steps and their SQL).
        #[arg(long)]
        execute: bool,
        /// Write the new map here instead of over --map.
        #[arg(long, value_name = "FILE")]
        write_map: Option<PathBuf>,
        /// Connect to this node with this URL instead of the map's (repeatable).
        #[arg(long = "url-per-node", value_name = "NODE=URL")]
        urls: Vec<String>,
        /// The longest write pause of the cutover: 1s, 500ms. Longer attempts release and retry.
        #[arg(long, default_value = "1s", value_parser = super::explain::parse_duration)]
        max_pause: std::time::Duration,
        /// Cutover attempts before giving up (the move stays resumable).
        #[arg(long, default_value_t = 10)]
        attempts: u32,
        /// Drop the source's copy at the cleanup instead of keeping it renamed and fenced.
        #[arg(long)]
        drop_source: bool,
        /// Stop after this step; a rerun resumes from the next.
        #[arg(long, value_enum, value_name = "STEP")]
        stop_after: Option<StepArg>,
        /// How long to wait for the target to replay the source's changes (verify, cutover).
        #[arg(long, default_value = "2m", value_parser = super::explain::parse_duration)]
        catch_up_timeout: std::time::Duration,
        /// Count both copies with writes paused: auto (when counting takes under half of
        /// --max-pause), always, or never (large shards: the exact catch-up and the
        /// verification stand in).
        #[arg(long, value_enum, default_value_t = CountsArg::Auto)]
        cutover_counts: CountsArg,
    },
    /// Run the moves of `shard plan` with `shard move`'s steps, N at a time; a rerun resumes
    /// the same plan (kept in <map>.moves/rebalance.json). Dry run unless --execute.
    #[command(after_help = "Examples:
  dbkit shard rebalance --map fixtures/shardmaps/shop.toml --no-split \\
      --add name=shard-d,url=postgres://app@10.0.4.10/shop
  dbkit shard rebalance --map shop.toml --no-split --execute \\
      --max-concurrent-moves 2

A split of a shard held in a shared plain table changes only the map; a plan that
splits a shard held as its own partition or table is refused (use --no-split).")]
    Rebalance {
        #[command(flatten)]
        plan: PlanArgs,
        /// Run the moves (without it: the plan's moves).
        #[arg(long)]
        execute: bool,
        /// Moves running at the same time.
        #[arg(long, default_value_t = 1)]
        max_concurrent_moves: usize,
        /// Connect to this node with this URL instead of the map's (repeatable).
        #[arg(long = "url-per-node", value_name = "NODE=URL")]
        urls: Vec<String>,
        /// The longest write pause of each cutover: 1s, 500ms.
        #[arg(long, default_value = "1s", value_parser = super::explain::parse_duration)]
        max_pause: std::time::Duration,
        /// Drop each source's copy at the cleanup.
        #[arg(long)]
        drop_source: bool,
    },
    /// Hand the map to an engine that routes and queries across nodes: a postgres_fdw
    /// coordinator (partitioned tables over foreign tables on the nodes; reads the nodes'
    /// tables, read-only), PL/Proxy's cluster configuration, or the SQL of a Citus cluster
    /// (untested). Prints SQL.
    #[command(after_help = "Examples:
  dbkit shard export --map shop.toml --to postgres_fdw > coordinator.sql
  dbkit shard export --map fixtures/shardmaps/shop.toml --to citus
  dbkit shard export --map shop.toml --to plproxy --cluster shop")]
    Export {
        /// The shard map (TOML or JSON).
        #[arg(long, value_name = "FILE")]
        map: PathBuf,
        /// The engine.
        #[arg(long = "to", value_enum)]
        engine: EngineArg,
        /// PL/Proxy's cluster name.
        #[arg(long, default_value = "dbkit")]
        cluster: String,
        /// Connect to this node with this URL instead of the map's (repeatable).
        #[arg(long = "url-per-node", value_name = "NODE=URL")]
        urls: Vec<String>,
    },
    /// Compare a moving shard's rows on its two nodes while writes continue: counts and
    /// checksums per chunk of the shard key, then differing chunks row by row.
    #[command(after_help = "Example:\n  dbkit shard verify --map shop.toml --shard 3")]
    Verify {
        /// The shard map (TOML or JSON).
        #[arg(long, value_name = "FILE")]
        map: PathBuf,
        /// The shard whose move to verify.
        #[arg(long)]
        shard: u64,
        /// Connect to this node with this URL instead of the map's (repeatable).
        #[arg(long = "url-per-node", value_name = "NODE=URL")]
        urls: Vec<String>,
        /// How long to wait for the target to replay the source's changes.
        #[arg(long, default_value = "2m", value_parser = super::explain::parse_duration)]
        catch_up_timeout: std::time::Duration,
    },
    /// Overlapping or missing key space, unknown nodes, broken colocation, secrets in URLs.
    #[command(after_help = "Example:\n  dbkit shard validate --map fixtures/shardmaps/shop.toml")]
    Validate {
        /// The shard map (TOML or JSON).
        #[arg(long, value_name = "FILE")]
        map: PathBuf,
    },
}

impl StrategyArg {
    fn strategy(self) -> Strategy {
        match self {
            StrategyArg::Size => Strategy::BySize,
            StrategyArg::Count => Strategy::ByCount,
            StrategyArg::Load => Strategy::ByLoad,
        }
    }
}

/// What `shard plan` and `shard rebalance` plan with.
#[derive(Debug, Args)]
struct PlanArgs {
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
    /// `name=NAME,url=URL,zone=ZONE,weight=W` (also `url_env=VAR`; a move needs its URL).
    #[arg(long, value_name = "NODE")]
    add: Vec<String>,
    /// Plan moves only, never shard splits.
    #[arg(long)]
    no_split: bool,
}

impl PlanArgs {
    fn request(&self, write_map: Option<PathBuf>) -> Result<shard::PlanRequest> {
        Ok(shard::PlanRequest {
            map: self.map.clone(),
            strategy: self.strategy.strategy(),
            threshold: self.threshold,
            drain: self.drain.clone(),
            add: self
                .add
                .iter()
                .map(|a| shard::parse_added_node(a))
                .collect::<Result<_, _>>()?,
            no_split: self.no_split,
            write_map,
        })
    }
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum CountsArg {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum EngineArg {
    #[value(name = "postgres_fdw")]
    PostgresFdw,
    Plproxy,
    Citus,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum StepArg {
    Preflight,
    Schema,
    Copy,
    Indexes,
    Verify,
    Cutover,
}

impl StepArg {
    fn step(self) -> dbkit::shard::moves::Step {
        use dbkit::shard::moves::Step;
        match self {
            StepArg::Preflight => Step::Preflight,
            StepArg::Schema => Step::Schema,
            StepArg::Copy => Step::Copy,
            StepArg::Indexes => Step::Indexes,
            StepArg::Verify => Step::Verify,
            StepArg::Cutover => Step::Cutover,
        }
    }
}

fn node_urls(urls: &[String]) -> Result<BTreeMap<String, String>> {
    let mut by_node = BTreeMap::new();
    for u in urls {
        let Some((node, url)) = u.split_once('=') else {
            bail!("--url-per-node expects NODE=URL");
        };
        by_node.insert(node.to_string(), url.to_string());
    }
    Ok(by_node)
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
        } => {
            // --output: the map file to write (TOML; JSON when it ends in .json).
            let Some(output) = ctx.artifact_output() else {
                anyhow::bail!("dbkit shard init needs --output FILE: the map file to write (TOML; JSON when it ends in .json)");
            };
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
        ShardCommand::Plan { plan, write_map } => {
            ctx.emit(&mut shard::plan(&plan.request(write_map.clone())?)?)
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
            let req = shard::InspectRequest {
                map: map.clone(),
                urls: node_urls(urls)?,
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
        ShardCommand::Move {
            map,
            shard: id,
            to,
            reverse,
            abort,
            execute,
            write_map,
            urls,
            max_pause,
            attempts,
            drop_source,
            stop_after,
            catch_up_timeout,
            cutover_counts,
        } => {
            use dbkit::ops::shard_move::{run_move, Action, MoveRequest};
            let action = match (to, reverse, abort) {
                (Some(t), _, _) => Action::To(t.clone()),
                (None, true, _) => Action::Reverse,
                _ => Action::Abort,
            };
            let mut req = MoveRequest::new(map.clone(), *id, action);
            req.execute = *execute;
            req.write_map = write_map.clone();
            req.urls = node_urls(urls)?;
            req.max_pause = *max_pause;
            req.attempts = *attempts;
            req.drop_source = *drop_source;
            req.stop_after = stop_after.map(StepArg::step);
            req.catch_up = *catch_up_timeout;
            req.cutover_counts = match cutover_counts {
                CountsArg::Auto => None,
                CountsArg::Always => Some(true),
                CountsArg::Never => Some(false),
            };
            let mut report = super::runtime()?.block_on(run_move(&req))?;
            ctx.emit(&mut report)
        }
        ShardCommand::Rebalance {
            plan,
            execute,
            max_concurrent_moves,
            urls,
            max_pause,
            drop_source,
        } => {
            let req = dbkit::ops::shard_rebalance::RebalanceRequest {
                plan: plan.request(None)?,
                execute: *execute,
                max_concurrent_moves: *max_concurrent_moves,
                urls: node_urls(urls)?,
                max_pause: *max_pause,
                drop_source: *drop_source,
            };
            let mut report =
                super::runtime()?.block_on(dbkit::ops::shard_rebalance::rebalance(&req))?;
            ctx.emit(&mut report)
        }
        ShardCommand::Export {
            map,
            engine,
            cluster,
            urls,
        } => {
            // --output: also write the script there.
            let output = ctx.artifact_output();
            let req = shard::ExportRequest {
                map: map.clone(),
                engine: match engine {
                    EngineArg::PostgresFdw => shard::Engine::PostgresFdw,
                    EngineArg::Plproxy => shard::Engine::Plproxy,
                    EngineArg::Citus => shard::Engine::Citus,
                },
                urls: node_urls(urls)?,
                cluster: cluster.clone(),
                output: output.clone(),
            };
            let mut report = super::runtime()?.block_on(shard::export(&req))?;
            ctx.emit_as(&mut report, super::Format::Sql)
        }
        ShardCommand::Verify {
            map,
            shard: id,
            urls,
            catch_up_timeout,
        } => {
            let req = dbkit::ops::shard_move::VerifyRequest {
                map: map.clone(),
                shard: *id,
                urls: node_urls(urls)?,
                catch_up: *catch_up_timeout,
            };
            let mut report = super::runtime()?.block_on(dbkit::ops::shard_move::verify(&req))?;
            ctx.emit(&mut report)
        }
    }
}
