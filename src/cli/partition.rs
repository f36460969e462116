//! `dbkit partition create`: partition DDL, checked before it runs.

use super::{Ctx, Outcome};
use anyhow::{bail, Result};
use clap::{Args, Subcommand};
use dbkit::ddl::maintenance::{retention_days, MaintainOptions};
use dbkit::ddl::partition::Interval;
use dbkit::ops::partition::{convert, maintain, ConvertRequest, MaintainRequest, TableSource};
use dbkit::report::Format;

/// Arguments of `dbkit partition`.
#[derive(Debug, Args)]
#[command(after_help = "Example:
  dbkit partition create --schema fixtures/partition/events.sql \\
      --table events --key created_at --interval month --start 2024-01-01 \\
      --premake 12")]
pub struct PartitionArgs {
    #[command(subcommand)]
    command: PartitionCommand,
}

#[derive(Debug, Subcommand)]
enum PartitionCommand {
    /// Print the DDL that partitions a table (no database needed): RANGE by time or integer,
    /// LIST, HASH, or range/list then hash. The script is idempotent (IF NOT EXISTS).
    #[command(after_help = "Examples:
  dbkit partition create --schema fixtures/partition/events.sql \\
      --table events --key created_at \\
      --interval month --start 2024-01-01 --end 2025-01-01
  dbkit partition create --schema fixtures/partition/events.sql \\
      --table events --key created_at \\
      --interval day --start 2024-03-01 --premake 30 --timezone Europe/Berlin
  dbkit partition create --schema fixtures/partition/events.sql \\
      --table events --key tenant_id --modulus 8
  dbkit partition create --schema fixtures/partition/events.sql \\
      --table events --key kind \\
      --list 'clicks=click,tap' --list 'views=view' --format json
  dbkit partition create --schema fixtures/partition/events.sql \\
      --table events --key created_at \\
      --interval year --start 2024-01-01 --end 2026-01-01 \\
      --subpartition-hash tenant_id:4

The default output is the SQL script (--format sql); --format json lists every partition's bounds.")]
    Create(CreateOpts),
    /// Turn a live, populated table into a time-partitioned one with short locks: the old table
    /// becomes the first partition (no copy), behind a validated CHECK; the swap is one short
    /// transaction. Prints the plan; --execute runs it, and resumes a run that stopped.
    #[command(after_help = "Examples:
  dbkit partition convert --url postgres://app@db/shop \\
      --table readings --key at --interval month
  dbkit partition convert --url postgres://app@db/shop \\
      --table readings --key at --interval month --execute")]
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
  dbkit partition maintain --url postgres://app@db/shop --table events \\
      --retention 90d --retention-mode drop --execute
  dbkit partition maintain --url postgres://app@db/shop --format sql

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
        #[arg(long, value_enum, default_value_t = RetentionMode::Detach)]
        retention_mode: RetentionMode,
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
/// What retention does with a partition past it.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum RetentionMode {
    /// Detach it and keep the table.
    Detach,
    /// Drop it.
    Drop,
}

fn print_step(s: &dbkit::db::partitions::StepResult) {
    let err = s
        .error
        .as_deref()
        .map(|e| format!(": {e}"))
        .unwrap_or_default();
    eprintln!("dbkit: {} {}{err}", s.status, s.partition);
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
            let req = ConvertRequest {
                target: db.request(),
                table: table.clone(),
                key: key.clone(),
                interval: interval.parse::<Interval>()?,
                premake: *premake,
                timezone: timezone.clone(),
                execute: *execute,
                lock_timeout: lock_timeout.clone(),
            };
            let mut report = super::runtime()?.block_on(convert(&req, &print_step))?;
            let outcome = ctx.emit(&mut report)?;
            if report.failed() {
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
            let req = MaintainRequest {
                target: db.request(),
                table: table.clone(),
                options: MaintainOptions {
                    premake: *premake,
                    retention_days: retention.as_deref().map(retention_days).transpose()?,
                    drop: matches!(retention_mode, RetentionMode::Drop),
                    concurrent_detach: true,
                    timezone: timezone.clone(),
                },
                execute: *execute,
                lock_timeout: lock_timeout.clone(),
            };
            let mut report = super::runtime()?.block_on(maintain(&req, &print_step))?;
            let outcome = ctx.emit(&mut report)?;
            if report.failed() {
                bail!("a maintenance step failed (see the report)");
            }
            Ok(outcome)
        }
    }
}

fn create(ctx: &Ctx, o: &CreateOpts) -> Result<Outcome> {
    let req = dbkit::ops::partition::CreateRequest {
        source: match &o.schema {
            Some(f) => TableSource::Schema(f.into()),
            None => TableSource::Live(o.url.clone()),
        },
        table: o.table.clone(),
        key: o.key.clone(),
        interval: o.interval.clone(),
        step: o.step,
        modulus: o.modulus,
        list: o.list.clone(),
        start: o.start.clone(),
        end: o.end.clone(),
        premake: o.premake,
        default_partition: !o.no_default,
        subpartition_hash: o.subpartition_hash.clone(),
        tablespace: o.tablespace.clone(),
        timezone: o.timezone.clone(),
    };
    let mut script = super::runtime()?.block_on(dbkit::ops::partition::create(&req))?;
    ctx.emit_as(&mut script, Format::Sql)
}
