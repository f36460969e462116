//! Partition maintenance planning (`dbkit partition maintain`), pure: from a partitioned table's
//! existing time-range partitions, infer the interval and naming, then plan the future
//! partitions to create (premake) and the expired ones to detach or drop (retention, never the
//! last one). Rows already in the DEFAULT partition that belong to a new partition are moved out
//! in the same transaction that attaches it (the caller says which ranges have such rows).

use super::partition::{partition_name, Civil, Interval};
use crate::sql::bound::{BoundValue, PartitionBound};
use crate::sql::ident::{quote_ident, quote_literal, quote_qualified};
use serde::Serialize;

/// An existing partition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExistingPartition {
    /// Name.
    pub name: String,
    /// The bound as `pg_get_expr` prints it (`FOR VALUES FROM (…) TO (…)`, `DEFAULT`).
    pub bound: String,
    /// Its size with indexes and TOAST, when read from a server.
    pub bytes: Option<i64>,
}

/// A partitioned table as the catalog shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PartitionedTable {
    /// Schema.
    pub schema: String,
    /// Name.
    pub name: String,
    /// `r` (range), `l` (list) or `h` (hash).
    pub strategy: String,
    /// The key column (single-column keys only).
    pub key: Option<String>,
    /// The key's type (`timestamp with time zone`, `date`, `bigint`…).
    pub key_type: Option<String>,
    /// Partitions.
    pub partitions: Vec<ExistingPartition>,
}

/// One maintenance step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Step {
    /// `create`, `create-moving-default-rows`, `detach`, `drop`.
    pub action: &'static str,
    /// The partition.
    pub partition: String,
    /// Why.
    pub reason: String,
    /// The SQL, in order (each statement runs on its own unless `transaction`).
    pub sql: Vec<String>,
    /// Run `sql` in one transaction.
    pub transaction: bool,
}

/// How to maintain.
#[derive(Debug, Clone)]
pub struct MaintainOptions {
    /// Future partitions to keep ahead of now.
    pub premake: u32,
    /// Drop or detach partitions whose whole range is older than this many days.
    pub retention_days: Option<f64>,
    /// `detach` (keep the table) or `drop`.
    pub drop: bool,
    /// DETACH … CONCURRENTLY is possible (PostgreSQL 14+ and no DEFAULT partition).
    pub concurrent_detach: bool,
    /// Time zone the bounds are read and written in (they are printed in the session's zone).
    pub timezone: String,
}

/// A parsed range partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Range {
    lo: Civil,
    hi: Civil,
}

/// `2024-01-01 00:00:00+00` → 2024-01-01 00h (the wall time; the offset is the session's zone).
fn civil(s: &str) -> Option<Civil> {
    s.get(..13)
        .and_then(|c| Civil::parse(c).ok())
        .or_else(|| Civil::parse(s.get(..10)?).ok())
}

/// Infer the interval from the first partition's width.
fn infer(ranges: &[Range]) -> Option<Interval> {
    let r = ranges.first()?;
    [
        Interval::Hour,
        Interval::Day,
        Interval::Week,
        Interval::Month,
        Interval::Quarter,
        Interval::Year,
    ]
    .into_iter()
    .find(|iv| r.lo.next(*iv) == r.hi)
}

fn is_tz(t: &str) -> bool {
    t.contains("with time zone") || t == "timestamptz"
}

/// Date styles a partition name may end with (`y`, `m`, `d`, `h` of its lower bound).
const STYLES: &[&str] = &[
    "{y}{m}{d}_{h}0000",
    "{y}_{m}_{d}_{h}",
    "{y}{m}{d}{h}",
    "{y}{m}{d}",
    "{y}_{m}_{d}",
    "y{y}m{m}d{d}",
    "{y}_{m}",
    "{y}{m}",
    "y{y}m{m}",
    "{y}",
];

/// `style` with `c`'s fields.
fn style_stamp(style: &str, c: &Civil) -> String {
    style
        .replace("{y}", &format!("{:04}", c.y))
        .replace("{m}", &format!("{:02}", c.m))
        .replace("{d}", &format!("{:02}", c.d))
        .replace("{h}", &format!("{:02}", c.h))
}

/// How `name`, a partition whose lower bound is `lo`, is named: the text before the date (after
/// the parent's name and `_`, e.g. `p`) and the date's style, when it ends with `lo` in a style
/// fine enough for `iv` (a monthly style cannot name daily partitions).
fn naming_style(name: &str, lo: &Civil, iv: Interval) -> Option<(String, &'static str)> {
    STYLES.iter().find_map(|style| {
        let fine_enough = match iv {
            Interval::Hour => style.contains("{h}"),
            Interval::Day | Interval::Week => style.contains("{d}"),
            Interval::Month | Interval::Quarter => style.contains("{m}"),
            Interval::Year => true,
        };
        let stamp = style_stamp(style, lo);
        let head = name.strip_suffix(&stamp)?;
        // The date must stand on its own: not the end of a longer number.
        let ok = fine_enough && !head.ends_with(|c: char| c.is_ascii_digit());
        let prefix = head.rsplit_once('_').map_or("", |(_, p)| p);
        ok.then(|| (prefix.to_string(), *style))
    })
}

/// Plan the steps for one table at wall time `now` (in the options' zone).
/// `default_rows(lo, hi)` says whether the DEFAULT partition holds rows in a range.
pub fn plan(
    t: &PartitionedTable,
    now: Civil,
    o: &MaintainOptions,
    default_rows: &dyn Fn(&str, &str) -> bool,
) -> Result<Vec<Step>, String> {
    let key = t
        .key
        .clone()
        .ok_or("only single-column partition keys are maintained")?;
    let key_type = t.key_type.clone().unwrap_or_default();
    if t.strategy != "r" || !(key_type == "date" || key_type.starts_with("timestamp")) {
        return Err(format!(
            "{}.{} is not range-partitioned by time: nothing to maintain",
            t.schema, t.name
        ));
    }
    let mut ranges: Vec<(Range, &ExistingPartition)> = t
        .partitions
        .iter()
        .filter(|p| p.bound != "DEFAULT")
        .filter_map(|p| match PartitionBound::parse(&p.bound)? {
            PartitionBound::Range { from, to } => match (from.as_slice(), to.as_slice()) {
                ([BoundValue::Value(lo)], [BoundValue::Value(hi)]) => Some((
                    Range {
                        lo: civil(lo)?,
                        hi: civil(hi)?,
                    },
                    p,
                )),
                _ => None,
            },
            _ => None,
        })
        .collect();
    ranges.sort_by_key(|(r, _)| *r);
    let only: Vec<Range> = ranges.iter().map(|(r, _)| *r).collect();
    let iv = infer(&only).ok_or_else(|| {
        format!(
            "{}.{}: cannot infer the interval from its partitions (none, or irregular)",
            t.schema, t.name
        )
    })?;
    let default = t
        .partitions
        .iter()
        .find(|p| p.bound == "DEFAULT")
        .map(|p| p.name.clone());
    let parent = quote_qualified(&[&t.schema, &t.name]);
    let zone = if key_type == "date" {
        None
    } else if is_tz(&key_type) {
        Some(o.timezone.clone())
    } else {
        None
    };
    let lit = |c: &Civil| -> String {
        match (&zone, key_type.as_str()) {
            (_, "date") => quote_literal(&format!("{:04}-{:02}-{:02}", c.y, c.m, c.d)),
            (Some(z), _) => quote_literal(&format!(
                "{:04}-{:02}-{:02} {:02}:00:00 {z}",
                c.y, c.m, c.d, c.h
            )),
            (None, _) => quote_literal(&format!(
                "{:04}-{:02}-{:02} {:02}:00:00",
                c.y, c.m, c.d, c.h
            )),
        }
    };
    // New partitions are named like the newest existing one when its name is the parent's
    // name, a prefix and its lower bound in a known style (`events_p2026_06`, `events_202606`,
    // `events_y2026m06`); else pg_partman's `_pYYYYMMDD`.
    let styled = ranges
        .last()
        .and_then(|(r, p)| naming_style(&p.name, &r.lo, iv));
    let stamp = |c: &Civil| match (&styled, iv) {
        (Some((prefix, style)), _) => format!("{prefix}{}", style_stamp(style, c)),
        (None, Interval::Hour) => format!("p{:04}{:02}{:02}_{:02}0000", c.y, c.m, c.d, c.h),
        (None, _) => format!("p{:04}{:02}{:02}", c.y, c.m, c.d),
    };
    let mut steps = Vec::new();
    // Premake: partitions until `premake` intervals after the one holding `now`.
    let mut target = now.floor(iv);
    for _ in 0..=o.premake {
        target = target.next(iv);
    }
    let mut cur = only.last().map_or(now.floor(iv), |r| r.hi);
    // Ranges that retention would remove at once are not created at all (idempotent runs).
    let cutoff = o.retention_days.map(|d| now_days(&now) - d.ceil() as i64);
    while cur < target {
        let next = cur.next(iv);
        if cutoff.is_some_and(|c| now_days(&next) <= c) {
            cur = next;
            continue;
        }
        let name = partition_name(&t.name, &stamp(&cur));
        let qname = quote_qualified(&[&t.schema, &name]);
        let (lo, hi) = (lit(&cur), lit(&next));
        let bounds = format!("FOR VALUES FROM ({lo}) TO ({hi})");
        let moving = default.as_ref().is_some_and(|_| default_rows(&lo, &hi));
        if moving {
            let d = quote_qualified(&[&t.schema, default.as_deref().unwrap_or_default()]);
            let k = quote_ident(&key);
            steps.push(Step {
                action: "create-moving-default-rows",
                partition: name.clone(),
                reason: format!("premake: the DEFAULT partition holds rows in [{lo}, {hi}); they move into the new partition"),
                sql: vec![
                    format!("LOCK TABLE {parent} IN ACCESS EXCLUSIVE MODE"),
                    format!("CREATE TABLE {qname} (LIKE {parent} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)"),
                    format!("INSERT INTO {qname} SELECT * FROM {d} WHERE {k} >= {lo} AND {k} < {hi}"),
                    format!("DELETE FROM {d} WHERE {k} >= {lo} AND {k} < {hi}"),
                    format!("ALTER TABLE {parent} ATTACH PARTITION {qname} {bounds}"),
                ],
                transaction: true,
            });
        } else {
            steps.push(Step {
                action: "create",
                partition: name,
                reason: format!("premake: keep {} future partition(s)", o.premake),
                sql: vec![format!(
                    "CREATE TABLE IF NOT EXISTS {qname} PARTITION OF {parent} {bounds}"
                )],
                transaction: false,
            });
        }
        cur = next;
    }
    // Retention: whole ranges older than now - retention; never the last partition.
    if let Some(days) = o.retention_days {
        let cutoff_days = now_days(&now) - days.ceil() as i64;
        let remaining = ranges.len() + steps.len();
        let expired: Vec<&(Range, &ExistingPartition)> = ranges
            .iter()
            .filter(|(r, _)| now_days(&r.hi) <= cutoff_days)
            .collect();
        let allowed = expired.len().min(remaining.saturating_sub(1));
        for (r, p) in expired.into_iter().take(allowed) {
            let q = quote_qualified(&[&t.schema, &p.name]);
            let detach = if o.concurrent_detach && default.is_none() {
                format!("ALTER TABLE {parent} DETACH PARTITION {q} CONCURRENTLY")
            } else {
                format!("ALTER TABLE {parent} DETACH PARTITION {q}")
            };
            let mut sql = vec![detach];
            if o.drop {
                sql.push(format!("DROP TABLE IF EXISTS {q}"));
            }
            steps.push(Step {
                action: if o.drop { "drop" } else { "detach" },
                partition: p.name.clone(),
                reason: format!(
                    "retention: its range ends {}-{:02}-{:02}, more than {days} days ago",
                    r.hi.y, r.hi.m, r.hi.d
                ),
                sql,
                transaction: false,
            });
        }
    }
    Ok(steps)
}

fn now_days(c: &Civil) -> i64 {
    crate::calendar::days_from_civil(c.y, c.m, c.d)
}

/// A retention period as users write it (`90d`, `12w`, `6m` of 30 days, `1y` of 365 days; a
/// bare number is days), in days.
pub fn retention_days(s: &str) -> Result<f64, crate::ddl::partition::PartitionError> {
    use crate::ddl::partition::PartitionError;
    let t = s.trim();
    let (num, unit) = t.split_at(
        t.find(|c: char| !c.is_ascii_digit() && c != '.')
            .unwrap_or(t.len()),
    );
    let n: f64 = num
        .parse()
        .ok()
        .filter(|n: &f64| n.is_finite() && *n > 0.0)
        .ok_or_else(|| PartitionError::Invalid(format!("--retention '{t}' is not like 90d")))?;
    Ok(match unit {
        "d" | "" => n,
        "w" => n * 7.0,
        "m" => n * 30.0,
        "y" => n * 365.0,
        other => {
            return Err(PartitionError::Invalid(format!(
                "--retention unit '{other}': use d, w, m or y"
            )))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retention_periods() {
        assert_eq!(retention_days("90d").unwrap(), 90.0);
        assert_eq!(retention_days("12w").unwrap(), 84.0);
        assert_eq!(retention_days(" 6m").unwrap(), 180.0);
        assert_eq!(retention_days("1y").unwrap(), 365.0);
        assert_eq!(retention_days("30").unwrap(), 30.0);
        for bad in ["", "d", "0d", "90x", "-5d", "1e999d"] {
            assert!(retention_days(bad).is_err(), "{bad}");
        }
    }

    fn table(bounds: &[(&str, &str)]) -> PartitionedTable {
        PartitionedTable {
            schema: "public".into(),
            name: "events".into(),
            strategy: "r".into(),
            key: Some("created_at".into()),
            key_type: Some("timestamp with time zone".into()),
            partitions: bounds
                .iter()
                .map(|(n, b)| ExistingPartition {
                    name: n.to_string(),
                    bound: b.to_string(),
                    bytes: None,
                })
                .collect(),
        }
    }

    fn month(y: i64, m: u32) -> String {
        let (ny, nm) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
        format!("FOR VALUES FROM ('{y}-{m:02}-01 00:00:00+00') TO ('{ny}-{nm:02}-01 00:00:00+00')")
    }

    fn opts() -> MaintainOptions {
        MaintainOptions {
            premake: 2,
            retention_days: Some(90.0),
            drop: false,
            concurrent_detach: true,
            timezone: "UTC".into(),
        }
    }

    #[test]
    fn premake_and_retention_keep_the_last() {
        let t = table(&[
            ("events_p20240101", &month(2024, 1)),
            ("events_p20240201", &month(2024, 2)),
            ("events_p20240301", &month(2024, 3)),
        ]);
        let now = Civil::parse("2024-06-15 10:00").unwrap();
        let steps = plan(&t, now, &opts(), &|_, _| false).unwrap();
        let creates: Vec<&str> = steps
            .iter()
            .filter(|s| s.action == "create")
            .map(|s| s.partition.as_str())
            .collect();
        assert_eq!(
            creates,
            vec![
                "events_p20240401",
                "events_p20240501",
                "events_p20240601",
                "events_p20240701",
                "events_p20240801"
            ]
        );
        let detached: Vec<&str> = steps
            .iter()
            .filter(|s| s.action == "detach")
            .map(|s| s.partition.as_str())
            .collect();
        assert_eq!(
            detached,
            vec!["events_p20240101", "events_p20240201"],
            "March ended 76 days ago: kept"
        );
        assert!(steps[5].sql[0].ends_with("CONCURRENTLY"));
        // Run again on the result: nothing left to do but retention already done elsewhere.
        let after = table(&[
            ("events_p20240301", &month(2024, 3)),
            ("events_p20240401", &month(2024, 4)),
            ("events_p20240501", &month(2024, 5)),
            ("events_p20240601", &month(2024, 6)),
            ("events_p20240701", &month(2024, 7)),
            ("events_p20240801", &month(2024, 8)),
        ]);
        assert!(plan(&after, now, &opts(), &|_, _| false)
            .unwrap()
            .is_empty());
    }

    #[test]
    fn new_partitions_are_named_like_the_newest_existing_one() {
        let now = Civil::parse("2024-02-15 10:00").unwrap();
        let creates = |names: [&str; 2]| -> Vec<String> {
            let t = table(&[(names[0], &month(2024, 1)), (names[1], &month(2024, 2))]);
            plan(&t, now, &opts(), &|_, _| false)
                .unwrap()
                .into_iter()
                .filter(|s| s.action == "create")
                .map(|s| s.partition)
                .collect()
        };
        assert_eq!(
            creates(["events_p2024_01", "events_p2024_02"]),
            ["events_p2024_03", "events_p2024_04"]
        );
        assert_eq!(
            creates(["events_202401", "events_202402"]),
            ["events_202403", "events_202404"]
        );
        assert_eq!(
            creates(["events_y2024m01", "events_y2024m02"]),
            ["events_y2024m03", "events_y2024m04"]
        );
        assert_eq!(
            creates(["events_p20240101", "events_p20240201"]),
            ["events_p20240301", "events_p20240401"]
        );
        // A name that does not end with its bound: pg_partman's style.
        assert_eq!(
            creates(["events_jan", "events_feb"]),
            ["events_p20240301", "events_p20240401"]
        );
        // A monthly style cannot name daily partitions, and a date must not be cut from a number.
        assert_eq!(
            naming_style(
                "events_p2024_01",
                &Civil::parse("2024-01-01 00:00").unwrap(),
                Interval::Day
            ),
            None
        );
        assert_eq!(
            naming_style(
                "events_12024",
                &Civil::parse("2024-01-01 00:00").unwrap(),
                Interval::Year
            ),
            None
        );
    }

    #[test]
    fn never_the_last_and_default_rows_move() {
        let t = table(&[
            ("events_p20200101", &month(2020, 1)),
            ("events_default", "DEFAULT"),
        ]);
        let now = Civil::parse("2020-01-10").unwrap();
        let mut o = opts();
        o.premake = 1;
        let steps = plan(&t, now, &o, &|lo, _| lo.contains("2020-02-01")).unwrap();
        assert_eq!(steps[0].action, "create-moving-default-rows");
        assert!(steps[0].transaction);
        assert!(steps[0].sql[2].starts_with("INSERT INTO public.events_p20200201 SELECT * FROM public.events_default WHERE created_at >= "));
        // Retention never removes every partition.
        let t = table(&[
            ("events_p20200101", &month(2020, 1)),
            ("events_p20200201", &month(2020, 2)),
        ]);
        let now = Civil::parse("2020-02-10").unwrap();
        let mut o = opts();
        o.premake = 0;
        o.retention_days = Some(0.0);
        o.drop = true;
        let steps = plan(&t, now, &o, &|_, _| false).unwrap();
        let dropped: Vec<&str> = steps
            .iter()
            .filter(|s| s.action == "drop")
            .map(|s| s.partition.as_str())
            .collect();
        assert_eq!(dropped, vec!["events_p20200101"]);
        assert_eq!(
            steps.iter().find(|s| s.action == "drop").unwrap().sql[1],
            "DROP TABLE IF EXISTS public.events_p20200101"
        );
    }
}
