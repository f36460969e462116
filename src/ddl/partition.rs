//! Partition DDL (`dbkit partition create`): RANGE on a time column (hour … year, boundaries
//! aligned, a time zone for timestamptz), RANGE on an integer column (fixed step), LIST, HASH
//! (every remainder), and two levels (range, then hash). Idempotent script (`IF NOT EXISTS`),
//! pg_partman's naming (`<table>_pYYYYMMDD`, `<table>_p<lower>`, `<table>_p<remainder>`) cut to
//! 63 bytes, and the checks PostgreSQL would fail on, said before anything runs.

use super::table::TableDef;
use crate::calendar::{civil_from_days, days_from_civil, days_in_month};
use crate::sql::ident::{comment_text, quote_ident, quote_literal, quote_qualified};
use crate::view::{Cell, Report, Table};
use serde::Serialize;

/// Partition DDL errors, each with the rule and the fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PartitionError {
    /// A bad option value.
    #[error("{0}")]
    Invalid(String),
    /// The table's definition does not allow it.
    #[error("{problem} — {fix}")]
    Table {
        /// What is wrong.
        problem: String,
        /// How to fix it.
        fix: String,
    },
}

/// A time interval.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Interval {
    /// One hour.
    Hour,
    /// One day.
    Day,
    /// One ISO week (Monday).
    Week,
    /// One month.
    Month,
    /// Three months.
    Quarter,
    /// One year.
    Year,
}

impl std::str::FromStr for Interval {
    type Err = PartitionError;
    fn from_str(s: &str) -> Result<Self, PartitionError> {
        Ok(match s {
            "hour" | "hourly" => Interval::Hour,
            "day" | "daily" => Interval::Day,
            "week" | "weekly" => Interval::Week,
            "month" | "monthly" => Interval::Month,
            "quarter" | "quarterly" => Interval::Quarter,
            "year" | "yearly" => Interval::Year,
            other => {
                return Err(PartitionError::Invalid(format!(
                    "unknown interval '{other}' (hour, day, week, month, quarter, year)"
                )))
            }
        })
    }
}

/// A wall-clock instant (no zone), to the hour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Civil {
    /// Year.
    pub y: i64,
    /// Month 1-12.
    pub m: u32,
    /// Day 1-31.
    pub d: u32,
    /// Hour 0-23.
    pub h: u32,
}

impl Civil {
    /// `YYYY-MM-DD` or `YYYY-MM-DD HH[:MM[:SS]]`.
    pub fn parse(s: &str) -> Result<Civil, PartitionError> {
        let bad = || {
            PartitionError::Invalid(format!(
                "'{s}' is not a date (YYYY-MM-DD or YYYY-MM-DD HH:00)"
            ))
        };
        let (date, time) = match s.trim().split_once([' ', 'T']) {
            Some((d, t)) => (d, Some(t)),
            None => (s.trim(), None),
        };
        let mut it = date.split('-');
        let y: i64 = it.next().and_then(|v| v.parse().ok()).ok_or_else(bad)?;
        let m: u32 = it.next().and_then(|v| v.parse().ok()).ok_or_else(bad)?;
        let d: u32 = it.next().and_then(|v| v.parse().ok()).ok_or_else(bad)?;
        let h: u32 = match time {
            Some(t) => t
                .split(':')
                .next()
                .and_then(|v| v.parse().ok())
                .ok_or_else(bad)?,
            None => 0,
        };
        if !(1..=12).contains(&m) || d == 0 || d > days_in_month(y, m) || h > 23 {
            return Err(bad());
        }
        Ok(Civil { y, m, d, h })
    }

    fn days(&self) -> i64 {
        days_from_civil(self.y, self.m, self.d)
    }

    fn from_days(days: i64, h: u32) -> Civil {
        let (y, m, d) = civil_from_days(days);
        Civil { y, m, d, h }
    }

    /// Today (UTC), at hour 0.
    pub fn today() -> Civil {
        Civil::from_days(crate::calendar::today_days(), 0)
    }

    /// The start of the interval that contains this instant.
    pub fn floor(self, iv: Interval) -> Civil {
        match iv {
            Interval::Hour => self,
            Interval::Day => Civil { h: 0, ..self },
            Interval::Week => {
                let days = self.days();
                let monday = days - (days + 3).rem_euclid(7);
                Civil::from_days(monday, 0)
            }
            Interval::Month => Civil { d: 1, h: 0, ..self },
            Interval::Quarter => Civil {
                m: (self.m - 1) / 3 * 3 + 1,
                d: 1,
                h: 0,
                ..self
            },
            Interval::Year => Civil {
                m: 1,
                d: 1,
                h: 0,
                ..self
            },
        }
    }

    /// This instant plus one interval (starts stay aligned).
    pub fn next(self, iv: Interval) -> Civil {
        let months = |c: Civil, n: u32| {
            let total = c.y * 12 + (c.m as i64 - 1) + n as i64;
            Civil {
                y: total.div_euclid(12),
                m: (total.rem_euclid(12) + 1) as u32,
                ..c
            }
        };
        match iv {
            Interval::Hour => {
                if self.h == 23 {
                    Civil::from_days(self.days() + 1, 0)
                } else {
                    Civil {
                        h: self.h + 1,
                        ..self
                    }
                }
            }
            Interval::Day => Civil::from_days(self.days() + 1, 0),
            Interval::Week => Civil::from_days(self.days() + 7, 0),
            Interval::Month => months(self, 1),
            Interval::Quarter => months(self, 3),
            Interval::Year => months(self, 12),
        }
    }

    fn stamp(&self, iv: Interval) -> String {
        match iv {
            Interval::Hour => format!("{:04}{:02}{:02}_{:02}0000", self.y, self.m, self.d, self.h),
            _ => format!("{:04}{:02}{:02}", self.y, self.m, self.d),
        }
    }
}

/// How to partition.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Strategy {
    /// RANGE on a date/timestamp column.
    TimeRange {
        /// The interval.
        interval: Interval,
        /// First partition's start.
        start: Civil,
        /// End (exclusive) of the last one.
        end: Civil,
    },
    /// RANGE on an integer column.
    IntRange {
        /// Width of each partition.
        step: i64,
        /// First lower bound.
        start: i64,
        /// End (exclusive).
        end: i64,
    },
    /// LIST: (name or None, values as SQL literal text).
    List {
        /// The partitions.
        partitions: Vec<(Option<String>, Vec<String>)>,
    },
    /// HASH with this modulus.
    Hash {
        /// Number of partitions.
        modulus: u32,
    },
}

/// What `partition create` is asked to do.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PartitionOptions {
    /// The partition key column.
    pub key: String,
    /// The strategy.
    pub strategy: Strategy,
    /// A DEFAULT partition (range and list).
    pub default: bool,
    /// A second level: HASH on this column with this modulus, under each range/list partition.
    pub sub_hash: Option<(String, u32)>,
    /// Tablespace for the partitions.
    pub tablespace: Option<String>,
    /// Time zone of the boundaries of a timestamptz key (default UTC).
    pub timezone: Option<String>,
}

/// One partition.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PartitionDef {
    /// Name.
    pub name: String,
    /// `FOR VALUES …` or `DEFAULT`.
    pub bounds: String,
    /// Sub-partitions (two levels).
    pub children: Vec<PartitionDef>,
}

/// The script and what is in it.
#[derive(Debug, Clone, Serialize)]
pub struct PartitionScript {
    /// The parent, schema-qualified.
    pub table: String,
    /// `RANGE (created_at)`.
    pub partition_by: String,
    /// The partitions.
    pub partitions: Vec<PartitionDef>,
    /// Notes (time zone used, …).
    pub notes: Vec<String>,
    /// The whole idempotent script.
    pub script: String,
}

/// Check that `zone` can be a time zone name (`Europe/Berlin`, `UTC`, `Etc/GMT+5`,
/// `EST5EDT`): letters, digits and `_ + - / : .`, at most 64 characters. It ends up in SQL
/// literals and comments, so anything else is refused before any SQL is written; a connected
/// command also checks the server knows it ([`crate::db::partitions::set_timezone`]).
pub fn check_zone_name(zone: &str) -> Result<(), PartitionError> {
    let ok = !zone.is_empty()
        && zone.len() <= 64
        && zone
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_+-/:.".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(PartitionError::Invalid(format!(
            "--timezone {:?} is not a time zone name (such as UTC or Europe/Berlin; see pg_timezone_names)",
            crate::secret::excerpt(zone, 64)
        )))
    }
}

/// A partition name: the parent's name cut so that `<name>_<suffix>` fits 63 bytes.
pub fn partition_name(table: &str, suffix: &str) -> String {
    let tail = format!("_{suffix}");
    let room = crate::ddl::index::MAX_NAME_BYTES.saturating_sub(tail.len());
    let mut end = table.len().min(room);
    while !table.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}{tail}", &table[..end])
}

fn time_kind(t: &str) -> Option<&'static str> {
    let t = t.to_lowercase();
    if t == "date" {
        Some("date")
    } else if t.starts_with("timestamp") && (t.contains("with time zone") || t == "timestamptz") {
        Some("timestamptz")
    } else if t.starts_with("timestamp") {
        Some("timestamp")
    } else {
        None
    }
}

fn is_integer(t: &str) -> bool {
    matches!(
        t.to_lowercase().as_str(),
        "smallint"
            | "integer"
            | "int"
            | "int2"
            | "int4"
            | "int8"
            | "bigint"
            | "serial"
            | "bigserial"
            | "smallserial"
    )
}

/// Check the table against the options and build the script.
pub fn generate(def: &TableDef, o: &PartitionOptions) -> Result<PartitionScript, PartitionError> {
    if let Some(z) = &o.timezone {
        check_zone_name(z)?;
    }
    let parent_name = def.name.clone();
    // Partitions live where the parent lives: qualified only when the parent is.
    let qualify = |name: &str| match &def.schema {
        Some(s) => quote_qualified(&[s, name]),
        None => quote_ident(name),
    };
    let qualified = qualify(&parent_name);
    let col = def.column(&o.key).ok_or_else(|| PartitionError::Table {
        problem: format!("{} has no column {}", qualified, quote_ident(&o.key)),
        fix: format!(
            "choose one of: {}",
            def.columns
                .iter()
                .map(|c| c.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    })?;
    let keys: Vec<&str> = std::iter::once(o.key.as_str())
        .chain(o.sub_hash.as_ref().map(|(k, _)| k.as_str()))
        .collect();
    for (what, cols) in std::iter::once(("primary key", &def.primary_key))
        .filter(|(_, c)| !c.is_empty())
        .chain(def.unique.iter().map(|u| ("unique constraint", u)))
    {
        for k in &keys {
            if !cols.iter().any(|c| c == k) {
                return Err(PartitionError::Table {
                    problem: format!(
                        "the {what} ({}) of {qualified} does not include the partition key {}: PostgreSQL enforces uniqueness per partition, so every unique constraint of a partitioned table must contain the partition key columns",
                        cols.join(", "),
                        quote_ident(k)
                    ),
                    fix: format!("make it ({}, {})", cols.join(", "), k),
                });
            }
        }
    }
    let mut notes: Vec<String> = Vec::new();
    for c in def.columns.iter().filter(|c| c.identity) {
        notes.push(format!(
            "column {} is an identity column: rows inserted through {qualified} get their values; PostgreSQL before 17 refuses an INSERT directly into a partition that leaves it out, so insert through the parent",
            quote_ident(&c.name)
        ));
    }
    let mut parts = Vec::new();
    let by;
    match &o.strategy {
        Strategy::TimeRange {
            interval,
            start,
            end,
        } => {
            let kind = time_kind(&col.type_name).ok_or_else(|| PartitionError::Table {
                problem: format!(
                    "{} is {}, not a date or timestamp: a time range needs one",
                    quote_ident(&o.key),
                    col.type_name
                ),
                fix: "use --strategy range with --step for integers, or list/hash".to_string(),
            })?;
            if kind == "date" && *interval == Interval::Hour {
                return Err(PartitionError::Invalid(
                    "hourly partitions need a timestamp column, not a date".to_string(),
                ));
            }
            let (from, to) = (start.floor(*interval), *end);
            if from >= to {
                return Err(PartitionError::Invalid(format!(
                    "the start ({start:?}) is not before the end ({end:?})"
                )));
            }
            // Hourly bounds are written in UTC: local hours repeat or vanish at DST changes.
            let zone = match (kind, &o.timezone, interval) {
                ("timestamptz", Some(z), Interval::Hour) => {
                    notes.push(format!("hourly bounds are in UTC (local hours repeat or vanish when {z} changes to or from DST)"));
                    Some("UTC".to_string())
                }
                ("timestamptz", Some(z), _) => {
                    notes.push(format!("bounds are midnights in {z}; PostgreSQL resolves them to instants, DST included"));
                    Some(z.clone())
                }
                ("timestamptz", None, _) => {
                    notes.push("bounds are in UTC (--timezone to use another zone)".to_string());
                    Some("UTC".to_string())
                }
                _ => None,
            };
            let lit = |c: &Civil| -> String {
                match (kind, &zone) {
                    ("date", _) => quote_literal(&format!("{:04}-{:02}-{:02}", c.y, c.m, c.d)),
                    (_, Some(z)) => quote_literal(&format!(
                        "{:04}-{:02}-{:02} {:02}:00:00 {z}",
                        c.y, c.m, c.d, c.h
                    )),
                    _ => quote_literal(&format!(
                        "{:04}-{:02}-{:02} {:02}:00:00",
                        c.y, c.m, c.d, c.h
                    )),
                }
            };
            let mut cur = from;
            while cur < to {
                let next = cur.next(*interval);
                parts.push(PartitionDef {
                    name: partition_name(&parent_name, &format!("p{}", cur.stamp(*interval))),
                    bounds: format!("FOR VALUES FROM ({}) TO ({})", lit(&cur), lit(&next)),
                    children: Vec::new(),
                });
                cur = next;
            }
            by = format!("RANGE ({})", quote_ident(&o.key));
        }
        Strategy::IntRange { step, start, end } => {
            if !is_integer(&col.type_name) {
                return Err(PartitionError::Table {
                    problem: format!(
                        "{} is {}, not an integer: an integer range needs one",
                        quote_ident(&o.key),
                        col.type_name
                    ),
                    fix: "use --interval for a date/timestamp column, or list/hash".to_string(),
                });
            }
            if *step <= 0 || start >= end {
                return Err(PartitionError::Invalid(
                    "an integer range needs --step > 0 and --start < --end".to_string(),
                ));
            }
            let mut lo = *start;
            while lo < *end {
                let hi = lo.saturating_add(*step);
                parts.push(PartitionDef {
                    name: partition_name(
                        &parent_name,
                        &format!("p{}", lo.to_string().replace('-', "m")),
                    ),
                    bounds: format!("FOR VALUES FROM ({lo}) TO ({hi})"),
                    children: Vec::new(),
                });
                lo = hi;
            }
            by = format!("RANGE ({})", quote_ident(&o.key));
        }
        Strategy::List { partitions } => {
            let mut seen = std::collections::HashSet::new();
            for (name, values) in partitions {
                if values.is_empty() {
                    return Err(PartitionError::Invalid(
                        "a list partition needs at least one value".to_string(),
                    ));
                }
                for v in values {
                    if !seen.insert(v.clone()) {
                        return Err(PartitionError::Invalid(format!(
                            "value {v} is in two list partitions: the ranges overlap"
                        )));
                    }
                }
                let suffix: String = values[0]
                    .trim_matches('\'')
                    .chars()
                    .map(|c| {
                        if c.is_alphanumeric() {
                            c.to_ascii_lowercase()
                        } else {
                            '_'
                        }
                    })
                    .collect();
                parts.push(PartitionDef {
                    name: name
                        .clone()
                        .unwrap_or_else(|| partition_name(&parent_name, &format!("p{suffix}"))),
                    bounds: format!("FOR VALUES IN ({})", values.join(", ")),
                    children: Vec::new(),
                });
            }
            by = format!("LIST ({})", quote_ident(&o.key));
        }
        Strategy::Hash { modulus } => {
            if *modulus == 0 {
                return Err(PartitionError::Invalid(
                    "--modulus must be at least 1".to_string(),
                ));
            }
            for r in 0..*modulus {
                parts.push(PartitionDef {
                    name: partition_name(&parent_name, &format!("p{r}")),
                    bounds: format!("FOR VALUES WITH (MODULUS {modulus}, REMAINDER {r})"),
                    children: Vec::new(),
                });
            }
            by = format!("HASH ({})", quote_ident(&o.key));
        }
    }
    if let Some((sub_key, modulus)) = &o.sub_hash {
        if def.column(sub_key).is_none() {
            return Err(PartitionError::Table {
                problem: format!("no column {} to sub-partition by", quote_ident(sub_key)),
                fix: "name an existing column".into(),
            });
        }
        if matches!(o.strategy, Strategy::Hash { .. }) {
            return Err(PartitionError::Invalid(
                "two levels are range or list, then hash".to_string(),
            ));
        }
        for p in &mut parts {
            p.children = (0..*modulus)
                .map(|r| PartitionDef {
                    name: partition_name(&p.name, &format!("p{r}")),
                    bounds: format!("FOR VALUES WITH (MODULUS {modulus}, REMAINDER {r})"),
                    children: Vec::new(),
                })
                .collect();
        }
    }
    let with_default = o.default && !matches!(o.strategy, Strategy::Hash { .. });
    if with_default {
        parts.push(PartitionDef {
            name: partition_name(&parent_name, "default"),
            bounds: "DEFAULT".to_string(),
            children: Vec::new(),
        });
    }
    // The script.
    let ts = o
        .tablespace
        .as_ref()
        .map(|t| format!(" TABLESPACE {}", quote_ident(t)))
        .unwrap_or_default();
    let mut head = def.sql[..def.columns_end].to_string();
    let lower = head.to_ascii_lowercase();
    if !lower.contains("if not exists") {
        if let Some(i) = lower.find("table") {
            head.insert_str(i + 5, " IF NOT EXISTS");
        }
    }
    // Comments hold identifiers and notes about them: never raw (a newline would end the
    // comment and run the rest as SQL).
    let mut script = format!(
        "-- dbkit partition create: {} PARTITION BY {}, {} partition(s)\n",
        comment_text(&qualified),
        comment_text(&by),
        parts.len() + parts.iter().map(|p| p.children.len()).sum::<usize>()
    );
    for n in &notes {
        script.push_str(&format!("-- {}\n", comment_text(n)));
    }
    for p in &def.preamble {
        script.push_str(p);
        script.push('\n');
    }
    let tail = def.sql[def.columns_end..]
        .trim()
        .trim_end_matches(';')
        .trim()
        .to_string();
    let tail = if tail.to_ascii_uppercase().starts_with("WITH") {
        notes.push("storage parameters (WITH …) belong to partitions, not to a partitioned table: left out of the parent".to_string());
        script.push_str(&format!(
            "-- {}\n",
            comment_text(&notes.last().cloned().unwrap_or_default())
        ));
        String::new()
    } else if tail.is_empty() {
        String::new()
    } else {
        format!(" {tail}")
    };
    script.push_str(&format!("{head} PARTITION BY {by}{tail}{ts};\n"));
    for p in &parts {
        let sub = if p.children.is_empty() || p.bounds == "DEFAULT" {
            String::new()
        } else {
            format!(
                " PARTITION BY HASH ({})",
                quote_ident(&o.sub_hash.as_ref().map(|s| s.0.clone()).unwrap_or_default())
            )
        };
        script.push_str(&format!(
            "CREATE TABLE IF NOT EXISTS {} PARTITION OF {qualified} {}{sub}{ts};\n",
            qualify(&p.name),
            p.bounds
        ));
        if p.bounds != "DEFAULT" {
            for c in &p.children {
                script.push_str(&format!(
                    "CREATE TABLE IF NOT EXISTS {} PARTITION OF {} {}{ts};\n",
                    qualify(&c.name),
                    qualify(&p.name),
                    c.bounds
                ));
            }
        }
    }
    // Indexes declared on the parent cascade to every partition (CONCURRENTLY is not allowed on
    // a partitioned table; the parent is new, so there is nothing to block).
    for ix in &def.indexes {
        let mut s = ix
            .replacen("CONCURRENTLY ", "", 1)
            .replacen("concurrently ", "", 1);
        let upper = s.to_ascii_uppercase();
        if !upper.contains("IF NOT EXISTS") {
            if let Some(i) = upper.find("INDEX ") {
                if !upper[i + 6..].trim_start().starts_with("ON ") {
                    s.insert_str(i + 6, "IF NOT EXISTS ");
                }
            }
        }
        script.push_str(s.trim_end().trim_end_matches(';'));
        script.push_str(";\n");
    }
    Ok(PartitionScript {
        table: qualified,
        partition_by: by,
        partitions: parts,
        notes,
        script,
    })
}

impl Report for PartitionScript {
    fn kind(&self) -> &'static str {
        "partition-create"
    }
    fn summary(&self) -> String {
        format!(
            "{} PARTITION BY {}: {} partition(s)",
            self.table,
            self.partition_by,
            self.partitions.len()
        )
    }
    fn tables(&self) -> Vec<Table> {
        let mut t = Table::new("Partitions", &["name", "bounds", "sub-partitions"]);
        for p in &self.partitions {
            t.row(vec![
                Cell::text(p.name.clone()),
                Cell::text(p.bounds.clone()),
                Cell::num(p.children.len()),
            ]);
        }
        vec![t]
    }
    fn script(&self) -> Option<String> {
        Some(self.script.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ddl::table::find;

    fn def(sql: &str) -> TableDef {
        find(sql, "events").unwrap()
    }

    const EVENTS: &str = "CREATE TABLE events (id bigserial, created_at timestamptz NOT NULL, tenant int NOT NULL, kind text, PRIMARY KEY (id, created_at));";

    fn opts(strategy: Strategy) -> PartitionOptions {
        PartitionOptions {
            key: "created_at".into(),
            strategy,
            default: true,
            sub_hash: None,
            tablespace: None,
            timezone: None,
        }
    }

    #[test]
    fn monthly_ranges_are_aligned_and_contiguous() {
        let s = generate(
            &def(EVENTS),
            &opts(Strategy::TimeRange {
                interval: Interval::Month,
                start: Civil::parse("2024-01-15").unwrap(),
                end: Civil::parse("2024-04-01").unwrap(),
            }),
        )
        .unwrap();
        let names: Vec<&str> = s.partitions.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(
            names,
            vec![
                "events_p20240101",
                "events_p20240201",
                "events_p20240301",
                "events_default"
            ]
        );
        assert_eq!(
            s.partitions[1].bounds,
            "FOR VALUES FROM ('2024-02-01 00:00:00 UTC') TO ('2024-03-01 00:00:00 UTC')"
        );
        assert!(
            s.script
                .contains("CREATE TABLE IF NOT EXISTS events (id bigserial"),
            "{}",
            s.script
        );
        assert!(
            s.script.contains(") PARTITION BY RANGE (created_at);"),
            "{}",
            s.script
        );
    }

    #[test]
    fn weeks_start_on_monday_and_hours_roll_over_days() {
        let c = Civil::parse("2024-02-29").unwrap();
        assert_eq!(c.floor(Interval::Week), Civil::parse("2024-02-26").unwrap());
        assert_eq!(
            Civil::parse("2024-12-31 23:00")
                .unwrap()
                .next(Interval::Hour),
            Civil::parse("2025-01-01").unwrap()
        );
        assert_eq!(
            Civil::parse("2024-11-15").unwrap().floor(Interval::Quarter),
            Civil::parse("2024-10-01").unwrap()
        );
        assert_eq!(
            Civil::parse("2024-10-01").unwrap().next(Interval::Quarter),
            Civil::parse("2025-01-01").unwrap()
        );
        assert!(Civil::parse("2023-02-29").is_err());
    }

    #[test]
    fn the_key_must_be_in_every_unique_constraint() {
        let bad = "CREATE TABLE events (id bigint PRIMARY KEY, created_at timestamptz NOT NULL);";
        let e = generate(&def(bad), &opts(Strategy::Hash { modulus: 4 }))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("must contain the partition key") && e.contains("make it (id, created_at)"),
            "{e}"
        );
        // Identity columns are allowed (PostgreSQL 10+), with a note on direct partition inserts.
        let ident =
            "CREATE TABLE events (id bigint GENERATED ALWAYS AS IDENTITY, created_at timestamptz);";
        let g = generate(&def(ident), &opts(Strategy::Hash { modulus: 4 })).unwrap();
        assert!(
            g.notes.iter().any(|n| n.contains("identity column")),
            "{:?}",
            g.notes
        );
        let mut o = opts(Strategy::IntRange {
            step: 10,
            start: 0,
            end: 100,
        });
        o.key = "kind".into();
        let no_pk = "CREATE TABLE events (id bigserial, kind text);";
        assert!(generate(&def(no_pk), &o)
            .unwrap_err()
            .to_string()
            .contains("not an integer"));
    }

    #[test]
    fn hash_list_int_and_two_levels() {
        let mut o = opts(Strategy::Hash { modulus: 3 });
        o.key = "tenant".into();
        let e2 = "CREATE TABLE events (id bigserial, created_at timestamptz NOT NULL, tenant int NOT NULL);";
        let s = generate(&def(e2), &o).unwrap();
        assert_eq!(s.partitions.len(), 3, "no default for hash");
        assert_eq!(
            s.partitions[2].bounds,
            "FOR VALUES WITH (MODULUS 3, REMAINDER 2)"
        );
        let mut o = opts(Strategy::IntRange {
            step: 1000,
            start: -1000,
            end: 1000,
        });
        o.key = "tenant".into();
        let s = generate(&def(e2), &o).unwrap();
        assert_eq!(s.partitions[0].name, "events_pm1000");
        let mut o = opts(Strategy::List {
            partitions: vec![
                (None, vec!["'a'".into(), "'b'".into()]),
                (Some("events_rest".into()), vec!["'c'".into()]),
            ],
        });
        o.key = "kind".into();
        let e3 = "CREATE TABLE events (id bigserial, kind text);";
        let s = generate(&def(e3), &o).unwrap();
        assert_eq!(s.partitions[0].bounds, "FOR VALUES IN ('a', 'b')");
        o.strategy = Strategy::List {
            partitions: vec![(None, vec!["'a'".into()]), (None, vec!["'a'".into()])],
        };
        assert!(generate(&def(e3), &o).is_err());
        let mut o = opts(Strategy::TimeRange {
            interval: Interval::Year,
            start: Civil::parse("2024-01-01").unwrap(),
            end: Civil::parse("2026-01-01").unwrap(),
        });
        o.sub_hash = Some(("tenant".into(), 2));
        let s = generate(&def(e2), &o).unwrap();
        assert_eq!(s.partitions[0].children.len(), 2);
        assert!(
            s.script.contains("PARTITION BY HASH (tenant);"),
            "{}",
            s.script
        );
    }

    #[test]
    fn schema_indexes_move_to_the_parent() {
        let sql = format!("{EVENTS}\nCREATE INDEX CONCURRENTLY events_kind_idx ON events (kind);\nCREATE INDEX ON other (x);");
        let s = generate(
            &def(&sql),
            &opts(Strategy::TimeRange {
                interval: Interval::Year,
                start: Civil::parse("2024-01-01").unwrap(),
                end: Civil::parse("2025-01-01").unwrap(),
            }),
        )
        .unwrap();
        assert!(
            s.script
                .ends_with("CREATE INDEX IF NOT EXISTS events_kind_idx ON events (kind);\n"),
            "{}",
            s.script
        );
        assert!(!s.script.contains("ON other"));
    }

    #[test]
    fn long_names_fit() {
        let n = partition_name(&"x".repeat(80), "p20240101");
        assert_eq!(n.len(), 63);
        assert!(n.ends_with("_p20240101"));
    }
}
