//! `dbkit partition create`: partition DDL, checked before it runs.

use super::{read_text, Ctx, Outcome};
use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use dbkit::ddl::partition::{generate, Civil, Interval, PartitionOptions, Strategy};
use dbkit::report::Format;

/// Arguments of `dbkit partition`.
#[derive(Debug, Args)]
#[command(
    after_help = "Example:\n  dbkit partition create --schema fixtures/partition/events.sql --table events --key created_at --interval month --start 2024-01-01 --premake 12"
)]
pub struct PartitionArgs {
    #[command(subcommand)]
    command: PartitionCommand,
}

#[derive(Debug, Subcommand)]
enum PartitionCommand {
    /// Print the DDL that partitions a table (no database needed): RANGE by time or integer,
    /// LIST, HASH, or range/list then hash. The script is idempotent (IF NOT EXISTS).
    #[command(after_help = "Examples:
  dbkit partition create --schema fixtures/partition/events.sql --table events --key created_at \\
      --interval month --start 2024-01-01 --end 2025-01-01
  dbkit partition create --schema fixtures/partition/events.sql --table events --key created_at \\
      --interval day --start 2024-03-01 --premake 30 --timezone Europe/Berlin
  dbkit partition create --schema fixtures/partition/events.sql --table events --key tenant_id --modulus 8
  dbkit partition create --schema fixtures/partition/events.sql --table events --key kind \\
      --list 'clicks=click,tap' --list 'views=view' --format json
  dbkit partition create --schema fixtures/partition/events.sql --table events --key created_at \\
      --interval year --start 2024-01-01 --end 2026-01-01 --subpartition-hash tenant_id:4

The default output is the SQL script (--format sql); --format json lists every partition's bounds.")]
    Create(CreateOpts),
    /// Turn a live, populated table into a time-partitioned one with short locks: the old table
    /// becomes the first partition (no copy), behind a validated CHECK; the swap is one short
    /// transaction. Prints the plan; --execute runs it, and resumes a run that stopped.
    #[command(after_help = "Examples:
  dbkit partition convert --url postgres://app@db/shop --table readings --key at --interval month
  dbkit partition convert --url postgres://app@db/shop --table readings --key at --interval month --execute")]
    Convert {
        #[command(flatten)]
        db: super::DbArgs,
        /// The table (schema.table or table).
        #[arg(long)]
        table: String,
        /// The time column to partition by.
        #[arg(long)]
        key: String,
        /// hour, day, week, month, quarter, year.
        #[arg(long)]
        interval: String,
        /// Future partitions after the old table's range.
        #[arg(long, default_value_t = 3)]
        premake: u32,
        /// The zone of the bounds (timestamptz keys).
        #[arg(long, default_value = "UTC")]
        timezone: String,
        /// Run the steps (lock_timeout, retries, resume).
        #[arg(long)]
        execute: bool,
        /// lock_timeout of the locking steps.
        #[arg(long, default_value = "5s")]
        lock_timeout: String,
    },
    /// Keep time-partitioned tables in shape: create missing future partitions (premake),
    /// detach or drop expired ones (retention, never the last). Dry run by default.
    #[command(after_help = "Examples:
  dbkit partition maintain --url postgres://app@db/shop --premake 4
  dbkit partition maintain --url postgres://app@db/shop --table events --retention 90d --retention-mode drop --execute
  dbkit partition maintain --url postgres://app@db/shop --format sql      # the steps as a script

Rows already in the DEFAULT partition that belong to a new partition are moved into it in the
transaction that attaches it. Preflight warns about long transactions and missing ownership.")]
    Maintain {
        #[command(flatten)]
        db: super::DbArgs,
        /// Only this table.
        #[arg(long)]
        table: Option<String>,
        /// Future partitions to keep ahead of now.
        #[arg(long, default_value_t = 4)]
        premake: u32,
        /// Remove partitions older than this: 90d, 12w, 6m (30 days), 1y.
        #[arg(long)]
        retention: Option<String>,
        /// What to do with expired partitions.
        #[arg(long, default_value = "detach", value_parser = ["detach", "drop"])]
        retention_mode: String,
        /// The zone the tables' bounds are in (timestamptz keys).
        #[arg(long, default_value = "UTC")]
        timezone: String,
        /// Apply the steps (with lock_timeout and retries).
        #[arg(long)]
        execute: bool,
        /// lock_timeout for --execute.
        #[arg(long, default_value = "5s")]
        lock_timeout: String,
    },
}

/// Each step's outcome on stderr as it happens.
fn print_step(s: &dbkit::db::partitions::StepResult) {
    let err = s
        .error
        .as_deref()
        .map(|e| format!(": {e}"))
        .unwrap_or_default();
    eprintln!("dbkit: {} {}{err}", s.status, s.partition);
}

fn retention_days(s: &str) -> Result<f64> {
    let s = s.trim();
    let (num, unit) = s.split_at(
        s.find(|c: char| !c.is_ascii_digit() && c != '.')
            .unwrap_or(s.len()),
    );
    let n: f64 = num
        .parse()
        .with_context(|| format!("--retention '{s}' is not like 90d"))?;
    Ok(match unit {
        "d" | "" => n,
        "w" => n * 7.0,
        "m" => n * 30.0,
        "y" => n * 365.0,
        other => bail!("--retention unit '{other}': use d, w, m or y"),
    })
}

/// Options of `partition create`.
#[derive(Debug, Args)]
struct CreateOpts {
    /// A file with the table's CREATE TABLE (or read a live table with --url).
    #[arg(long, value_name = "FILE", required_unless_present = "url")]
    schema: Option<String>,
    /// Read the table's definition from this database instead.
    #[arg(long, value_name = "URL", conflicts_with = "schema")]
    url: Option<String>,
    /// The table.
    #[arg(long)]
    table: String,
    /// The partition key column.
    #[arg(long)]
    key: String,
    /// RANGE on a time column: hour, day, week, month, quarter, year.
    #[arg(long, conflicts_with_all = ["step", "modulus", "list"])]
    interval: Option<String>,
    /// RANGE on an integer column: the width of each partition.
    #[arg(long, conflicts_with_all = ["modulus", "list"], allow_hyphen_values = true)]
    step: Option<i64>,
    /// HASH: the number of partitions.
    #[arg(long, conflicts_with = "list")]
    modulus: Option<u32>,
    /// LIST: one partition's values, comma-separated, optionally named: `name=a,b`.
    #[arg(long)]
    list: Vec<String>,
    /// First partition's start (a date for time ranges, a number for integer ranges).
    #[arg(long, allow_hyphen_values = true)]
    start: Option<String>,
    /// End, exclusive (or use --premake).
    #[arg(long, allow_hyphen_values = true, conflicts_with = "premake")]
    end: Option<String>,
    /// Number of partitions from --start (default start: today).
    #[arg(long)]
    premake: Option<u32>,
    /// No DEFAULT partition.
    #[arg(long)]
    no_default: bool,
    /// Second level: HASH on COLUMN with N partitions under each partition (COLUMN:N).
    #[arg(long, value_name = "COLUMN:N")]
    subpartition_hash: Option<String>,
    /// Tablespace for the partitions.
    #[arg(long)]
    tablespace: Option<String>,
    /// Time zone of the boundaries for a timestamptz key (default UTC).
    #[arg(long)]
    timezone: Option<String>,
}

fn today() -> Civil {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let iso = dbkit::analyze::workload::top::iso(secs * 1000);
    Civil::parse(&iso[..10]).unwrap_or(Civil {
        y: 2024,
        m: 1,
        d: 1,
        h: 0,
    })
}

fn literal(v: &str) -> String {
    let t = v.trim();
    if t.parse::<f64>().is_ok() {
        t.to_string()
    } else {
        dbkit::sql::ident::quote_literal(t)
    }
}

/// Run `dbkit partition …`.
pub fn run(args: &PartitionArgs, ctx: &Ctx) -> Result<Outcome> {
    match &args.command {
        PartitionCommand::Create(o) => create(ctx, o),
        PartitionCommand::Convert {
            db,
            table,
            key,
            interval,
            premake,
            timezone,
            execute,
            lock_timeout,
        } => {
            let iv: Interval = interval.parse()?;
            let rt = super::runtime()?;
            let mut report = rt.block_on(async {
                let target = db.open().await?;
                let r = dbkit::ops::partition::convert(
                    &target.spec,
                    table,
                    key,
                    iv,
                    *premake,
                    timezone,
                    *execute,
                    lock_timeout,
                    &print_step,
                )
                .await?;
                drop(target);
                anyhow::Ok(r)
            })?;
            let failed = report.results.iter().any(|r| r.status == "failed");
            let outcome = ctx.emit(&mut report)?;
            if failed {
                bail!("a conversion step failed (see the report); run again to resume");
            }
            Ok(outcome)
        }
        PartitionCommand::Maintain {
            db,
            table,
            premake,
            retention,
            retention_mode,
            timezone,
            execute,
            lock_timeout,
        } => {
            let opts = dbkit::ddl::maintenance::MaintainOptions {
                premake: *premake,
                retention_days: retention.as_deref().map(retention_days).transpose()?,
                drop: retention_mode == "drop",
                concurrent_detach: true,
                timezone: timezone.clone(),
            };
            let rt = super::runtime()?;
            let mut report = rt.block_on(async {
                let target = db.open().await?;
                let r = dbkit::ops::partition::maintain(
                    &target.spec,
                    table.as_deref(),
                    &opts,
                    *execute,
                    lock_timeout,
                    &print_step,
                )
                .await?;
                drop(target);
                anyhow::Ok(r)
            })?;
            let failed = report
                .tables
                .iter()
                .flat_map(|t| &t.results)
                .any(|r| r.status == "failed");
            let outcome = ctx.emit(&mut report)?;
            if failed {
                bail!("a maintenance step failed (see the report)");
            }
            Ok(outcome)
        }
    }
}

fn create(ctx: &Ctx, o: &CreateOpts) -> Result<Outcome> {
    let CreateOpts {
        schema,
        url,
        table,
        key,
        interval,
        step,
        modulus,
        list,
        start,
        end,
        premake,
        no_default,
        subpartition_hash,
        tablespace,
        timezone,
    } = o;
    let def = match schema {
        Some(schema) => {
            let text = read_text(schema)?;
            dbkit::ddl::table::find(&text, table).with_context(|| schema.clone())?
        }
        None => {
            let rt = super::runtime()?;
            rt.block_on(async {
                let spec = dbkit::db::ConnSpec::resolve(url.as_deref())?;
                let mut conn = dbkit::db::connect(&spec).await?;
                let (s, t) = table.split_once('.').unwrap_or(("public", table.as_str()));
                let src = dbkit::db::partitions::convert_source(&mut conn, s, t).await?;
                dbkit::db::close(conn).await;
                anyhow::Ok(dbkit::ddl::table::TableDef::from_source(&src))
            })?
        }
    };
    let strategy = if let Some(iv) = interval {
        let iv: Interval = iv.parse()?;
        let start = match start {
            Some(s) => Civil::parse(s)?,
            None => today(),
        }
        .floor(iv);
        let end = match (end, premake) {
            (Some(e), _) => Civil::parse(e)?,
            (None, Some(n)) => (0..*n).fold(start, |c, _| c.next(iv)),
            (None, None) => bail!("give --end or --premake"),
        };
        Strategy::TimeRange {
            interval: iv,
            start,
            end,
        }
    } else if let Some(step) = step {
        let start: i64 = start
            .as_deref()
            .unwrap_or("0")
            .parse()
            .context("--start must be an integer")?;
        let end: i64 = match (end, premake) {
            (Some(e), _) => e.parse().context("--end must be an integer")?,
            (None, Some(n)) => start + step * *n as i64,
            (None, None) => bail!("give --end or --premake"),
        };
        Strategy::IntRange {
            step: *step,
            start,
            end,
        }
    } else if let Some(m) = modulus {
        Strategy::Hash { modulus: *m }
    } else if !list.is_empty() {
        Strategy::List {
            partitions: list
                .iter()
                .map(|l| match l.split_once('=') {
                    Some((name, vals)) => (
                        Some(name.trim().to_string()),
                        vals.split(',').map(literal).collect(),
                    ),
                    None => (None, l.split(',').map(literal).collect()),
                })
                .collect(),
        }
    } else {
        bail!("choose a strategy: --interval (time range), --step (integer range), --list or --modulus (hash)");
    };
    let sub_hash = match subpartition_hash {
        Some(s) => {
            let (col, n) = s
                .rsplit_once(':')
                .context("--subpartition-hash takes COLUMN:N")?;
            Some((
                col.to_string(),
                n.parse().context("--subpartition-hash takes COLUMN:N")?,
            ))
        }
        None => None,
    };
    let opts = PartitionOptions {
        key: key.clone(),
        strategy,
        default: !no_default,
        sub_hash,
        tablespace: tablespace.clone(),
        timezone: timezone.clone(),
    };
    let mut script = generate(&def, &opts)?;
    ctx.emit_as(&mut script, Format::Sql)
}
