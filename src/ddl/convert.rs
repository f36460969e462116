//! Converting a live, populated table into a range-partitioned one with short locks (pure
//! planning; `db::partitions` reads the table and runs the steps).
//!
//! The old table becomes the first partition, covering everything before a boundary (the start
//! of the interval after next), without copying a row:
//! 1. the new partitioned parent, like the old table, its primary key extended with the key;
//! 2. on the old table, `CREATE UNIQUE INDEX CONCURRENTLY` matching that key (ATTACH reuses it);
//! 3. `CHECK (key IS NOT NULL AND key < boundary) NOT VALID`, then `VALIDATE CONSTRAINT`, which
//!    scans without blocking writes, so that ATTACH does not scan under a heavy lock;
//! 4. future partitions from the boundary on;
//! 5. the swap, in one short transaction with `lock_timeout` (retried): rename, rename, ATTACH,
//!    sequences re-owned, views re-pointed.
//!
//! Every step comes with a query that says whether it is already done, so a run that stopped
//! resumes where it was.

use super::partition::{partition_name, Civil, Interval, PartitionError};
use crate::sql::ident::{quote_ident, quote_literal, quote_qualified};
use serde::Serialize;

pub use super::table::ConvertSource;

/// One step of the conversion.
#[derive(Debug, Clone, Serialize)]
pub struct ConvertStep {
    /// Short name.
    pub name: String,
    /// What it does and what it locks.
    pub what: String,
    /// The statements.
    pub sql: Vec<String>,
    /// Run them in one transaction (with lock_timeout, retried).
    pub transaction: bool,
    /// A query returning true when the step is already done (resume).
    pub done_check: String,
}

/// The plan.
#[derive(Debug, Clone, Serialize)]
pub struct ConvertPlan {
    /// The table.
    pub table: String,
    /// The boundary: the old table holds everything before it.
    pub boundary: String,
    /// Steps in order.
    pub steps: Vec<ConvertStep>,
    /// What happens to foreign keys, views and triggers.
    pub notes: Vec<String>,
}

/// Plan the conversion of `src` to RANGE (`key`) partitions of `interval`, with `premake`
/// future partitions, at wall time `now` (bounds written in `timezone` for timestamptz keys).
pub fn plan(
    src: &ConvertSource,
    key: &str,
    interval: Interval,
    premake: u32,
    now: Civil,
    timezone: &str,
) -> Result<ConvertPlan, PartitionError> {
    if src.partitioned {
        return Err(PartitionError::Invalid(format!(
            "{}.{} is already partitioned",
            src.schema, src.table
        )));
    }
    let Some(col) = src.columns.iter().find(|c| c.name == key) else {
        return Err(PartitionError::Invalid(format!(
            "{}.{} has no column {}",
            src.schema,
            src.table,
            quote_ident(key)
        )));
    };
    let ty = col.type_name.to_lowercase();
    let tz = ty.contains("with time zone");
    if !(ty == "date" || ty.starts_with("timestamp")) {
        return Err(PartitionError::Invalid(format!(
            "the key {} is {}: convert partitions by time (date or timestamp)",
            quote_ident(key),
            col.type_name
        )));
    }
    for u in &src.unique {
        if !u.columns.iter().any(|c| c == key) {
            return Err(PartitionError::Invalid(format!(
                "unique constraint {} ({}) does not include {}: every unique constraint of a partitioned table must contain the partition key — add it to the constraint first",
                u.name,
                u.columns.join(", "),
                quote_ident(key)
            )));
        }
    }
    let t = quote_qualified(&[&src.schema, &src.table]);
    let new_name = partition_name(&src.table, "dbkit_new");
    let legacy_name = partition_name(&src.table, "legacy");
    let newt = quote_qualified(&[&src.schema, &new_name]);
    let legacy = quote_qualified(&[&src.schema, &legacy_name]);
    let check_name = partition_name(&src.table, "dbkit_bound");
    let lit = |c: &Civil| -> String {
        if ty == "date" {
            quote_literal(&format!("{:04}-{:02}-{:02}", c.y, c.m, c.d))
        } else if tz {
            quote_literal(&format!(
                "{:04}-{:02}-{:02} {:02}:00:00 {timezone}",
                c.y, c.m, c.d, c.h
            ))
        } else {
            quote_literal(&format!(
                "{:04}-{:02}-{:02} {:02}:00:00",
                c.y, c.m, c.d, c.h
            ))
        }
    };
    // The old table ends at the start of the interval after next: time to finish the swap.
    let boundary = now.floor(interval).next(interval).next(interval);
    let b = lit(&boundary);
    let k = quote_ident(key);
    let mut pk: Vec<String> = src.primary_key.clone();
    if !pk.is_empty() && !pk.iter().any(|c| c == key) {
        pk.push(key.to_string());
    }
    let pk_changes = pk != src.primary_key;
    if pk_changes && !src.referenced_by.is_empty() {
        return Err(PartitionError::Invalid(format!(
            "the primary key ({}) must become ({}) to include the partition key, but foreign keys reference it ({}): drop them first and re-create them against the new key after the conversion",
            src.primary_key.join(", "),
            pk.join(", "),
            src.referenced_by.iter().map(|f| format!("{} on {}", f.constraint, f.table)).collect::<Vec<_>>().join(", ")
        )));
    }
    let cols: Vec<String> = src
        .columns
        .iter()
        .map(|c| {
            let mut s = format!("{} {}", quote_ident(&c.name), c.type_name);
            if c.not_null {
                s.push_str(" NOT NULL");
            }
            if c.identity {
                // Identity on the parent (PostgreSQL 10+); its sequence continues from the old
                // table's in the swap.
                s.push_str(" GENERATED BY DEFAULT AS IDENTITY");
            } else if let Some(d) = &c.default {
                s.push_str(&format!(" DEFAULT {d}"));
            }
            s
        })
        .chain((!pk.is_empty()).then(|| {
            format!(
                "PRIMARY KEY ({})",
                pk.iter()
                    .map(|c| quote_ident(c))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        }))
        .chain(src.unique.iter().map(|u| {
            format!(
                "UNIQUE ({})",
                u.columns
                    .iter()
                    .map(|x| quote_ident(x))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        }))
        .chain(
            src.checks
                .iter()
                .map(|c| format!("CONSTRAINT {} {}", quote_ident(&c.name), c.definition)),
        )
        .collect();
    let mut steps = vec![ConvertStep {
        name: "create-parent".into(),
        what: format!("the new partitioned parent {newt} (empty: no lock on {t})"),
        sql: vec![format!("CREATE TABLE IF NOT EXISTS {newt} ({}) PARTITION BY RANGE ({k})", cols.join(", "))],
        transaction: false,
        done_check: format!("SELECT to_regclass({}) IS NOT NULL OR (SELECT relkind = 'p' FROM pg_class WHERE oid = {}::regclass)", quote_literal(&newt), quote_literal(&t)),
    }];
    // The old table's other indexes, declared on the (empty) parent: instant now; at ATTACH the
    // old table's existing indexes are attached to them instead of being built again.
    let on_old = format!(" ON {t} ");
    let parent_indexes: Vec<String> = src
        .indexes
        .iter()
        .filter_map(|ix| {
            let (name, def) = (&ix.name, &ix.definition);
            let at = def.find(&on_old)?;
            let new_idx = partition_name(name, "p");
            Some(format!(
                "CREATE INDEX IF NOT EXISTS {} ON {newt} {}",
                quote_ident(&new_idx),
                def[at + on_old.len()..].trim_start_matches("ONLY ")
            ))
        })
        .collect();
    if !parent_indexes.is_empty() {
        steps.push(ConvertStep {
            name: "parent-indexes".into(),
            what: format!(
                "{} index(es) of {t} declared on the empty parent (instant)",
                parent_indexes.len()
            ),
            sql: parent_indexes,
            transaction: false,
            done_check: format!(
                "SELECT (SELECT relkind = 'p' FROM pg_class WHERE oid = {}::regclass)",
                quote_literal(&t)
            ),
        });
    }
    if !pk.is_empty() && pk != src.primary_key {
        let idx = partition_name(&src.table, "dbkit_pk");
        steps.push(ConvertStep {
            name: "unique-index".into(),
            what: format!("CREATE UNIQUE INDEX CONCURRENTLY on {t} ({}) for the new primary key (writes go on)", pk.join(", ")),
            sql: vec![format!(
                "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS {} ON {t} ({})",
                quote_ident(&idx),
                pk.iter().map(|c| quote_ident(c)).collect::<Vec<_>>().join(", ")
            )],
            transaction: false,
            done_check: format!("SELECT EXISTS (SELECT 1 FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = {} AND c.relname = {} AND i.indisvalid)", quote_literal(&src.schema), quote_literal(&idx)),
        });
    }
    let con_check = format!(
        "SELECT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = {} AND conrelid IN (SELECT oid FROM pg_class WHERE relnamespace = {}::regnamespace))",
        quote_literal(&check_name),
        quote_literal(&src.schema)
    );
    steps.push(ConvertStep {
        name: "check-not-valid".into(),
        what: format!("CHECK ({k} < {b}) NOT VALID on {t}: a brief ACCESS EXCLUSIVE lock, no scan"),
        sql: vec![format!(
            "ALTER TABLE {t} ADD CONSTRAINT {} CHECK ({k} IS NOT NULL AND {k} < {b}) NOT VALID",
            quote_ident(&check_name)
        )],
        transaction: true,
        done_check: con_check.clone(),
    });
    steps.push(ConvertStep {
        name: "validate".into(),
        what: format!("VALIDATE CONSTRAINT on {t}: scans under SHARE UPDATE EXCLUSIVE, writes go on"),
        sql: vec![format!("ALTER TABLE {t} VALIDATE CONSTRAINT {}", quote_ident(&check_name))],
        transaction: false,
        done_check: format!("SELECT coalesce((SELECT convalidated FROM pg_constraint WHERE conname = {} LIMIT 1), false)", quote_literal(&check_name)),
    });
    let mut future = Vec::new();
    let mut cur = boundary;
    for _ in 0..premake.max(1) {
        let next = cur.next(interval);
        let stamp = match interval {
            Interval::Hour => format!("p{:04}{:02}{:02}_{:02}0000", cur.y, cur.m, cur.d, cur.h),
            _ => format!("p{:04}{:02}{:02}", cur.y, cur.m, cur.d),
        };
        future.push(format!(
            "CREATE TABLE IF NOT EXISTS {} PARTITION OF {newt} FOR VALUES FROM ({}) TO ({})",
            quote_qualified(&[&src.schema, &partition_name(&src.table, &stamp)]),
            lit(&cur),
            lit(&next)
        ));
        cur = next;
    }
    steps.push(ConvertStep {
        name: "future-partitions".into(),
        what: format!(
            "{} partition(s) from {b} on, under the new parent",
            future.len()
        ),
        sql: future,
        transaction: false,
        done_check: format!(
            "SELECT (SELECT relkind = 'p' FROM pg_class WHERE oid = {}::regclass)",
            quote_literal(&t)
        ),
    });
    let mut swap = vec![
        format!("LOCK TABLE {t} IN ACCESS EXCLUSIVE MODE"),
        format!("ALTER TABLE {t} RENAME TO {}", quote_ident(&legacy_name)),
        format!("ALTER TABLE {newt} RENAME TO {}", quote_ident(&src.table)),
    ];
    if let (true, Some(name)) = (pk_changes, &src.primary_key_name) {
        // A partition cannot have two primary keys: the old one goes, the unique index built
        // beforehand becomes the partition's part of the new one.
        swap.push(format!(
            "ALTER TABLE {legacy} DROP CONSTRAINT {}",
            quote_ident(name)
        ));
    }
    swap.push(format!(
        "ALTER TABLE {t} ATTACH PARTITION {legacy} FOR VALUES FROM (MINVALUE) TO ({b})"
    ));
    let identity = |column: &str| src.columns.iter().any(|c| c.identity && c.name == column);
    for c in src.columns.iter().filter(|c| c.identity) {
        // New rows get ids after the old table's: the parent's identity sequence continues
        // from the last value of the old one (which stays on the old table, now a partition).
        swap.push(format!(
            "SELECT setval(pg_get_serial_sequence({}, {}), coalesce(pg_sequence_last_value(pg_get_serial_sequence({}, {})::regclass), 0) + 1, false)",
            quote_literal(&t),
            quote_literal(&c.name),
            quote_literal(&legacy),
            quote_literal(&c.name)
        ));
    }
    for o in src.sequences.iter().filter(|o| !identity(&o.column)) {
        swap.push(format!(
            "ALTER SEQUENCE {} OWNED BY {t}.{}",
            o.sequence,
            quote_ident(&o.column)
        ));
    }
    let mut notes = Vec::new();
    for c in src.columns.iter().filter(|c| c.identity) {
        notes.push(format!(
            "column {} stays an identity column: GENERATED BY DEFAULT on the new parent, its sequence continuing after the old one's last value; PostgreSQL before 17 refuses an INSERT directly into a partition that leaves it out, so insert through {t}",
            quote_ident(&c.name)
        ));
    }
    for v in &src.views {
        let view = &v.name;
        swap.push(format!(
            "CREATE OR REPLACE VIEW {view} AS {}",
            v.definition.trim().trim_end_matches(';')
        ));
        notes.push(format!(
            "view {view} is re-created in the swap so that it reads the partitioned table"
        ));
    }
    steps.push(ConvertStep {
        name: "swap".into(),
        what: format!("rename {t} to {legacy}, the new parent to {t}, attach the old table as its first partition (short ACCESS EXCLUSIVE; lock_timeout, retried)"),
        sql: swap,
        transaction: true,
        done_check: format!("SELECT (SELECT relkind = 'p' FROM pg_class WHERE oid = {}::regclass)", quote_literal(&t)),
    });
    steps.push(ConvertStep {
        name: "drop-check".into(),
        what: format!("drop the helper CHECK on {legacy} (the partition bound replaces it)"),
        sql: vec![format!(
            "ALTER TABLE {legacy} DROP CONSTRAINT IF EXISTS {}",
            quote_ident(&check_name)
        )],
        transaction: false,
        done_check: format!("SELECT NOT ({})", con_check.trim_start_matches("SELECT ")),
    });
    for f in &src.referenced_by {
        let (fk, from) = (&f.constraint, &f.table);
        notes.push(format!(
            "foreign key {fk} on {from} keeps referencing the old table, now partition {legacy}: rows of newer partitions are not covered. Re-point it to {t} (which needs a unique key it can reference: ({}))",
            pk.join(", ")
        ));
    }
    for tr in &src.triggers {
        notes.push(format!(
            "row trigger {} stays on {legacy} only; create it on {t} too: {}",
            tr.name, tr.definition
        ));
    }
    notes.push(format!(
        "rows with {key} at or after {b} cannot be written to {t} between the CHECK step and the swap: run the swap before then"
    ));
    Ok(ConvertPlan {
        table: t,
        boundary: b,
        steps,
        notes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ddl::table::{ColumnDef, ForeignKeyRef, NamedDef, OwnedSequence, UniqueKey};

    fn col(name: &str, type_name: &str, not_null: bool, default: Option<&str>) -> ColumnDef {
        ColumnDef {
            name: name.into(),
            type_name: type_name.into(),
            not_null,
            default: default.map(str::to_string),
            identity: false,
        }
    }

    fn named(name: &str, definition: &str) -> NamedDef {
        NamedDef {
            name: name.into(),
            definition: definition.into(),
        }
    }

    fn src() -> ConvertSource {
        ConvertSource {
            schema: "public".into(),
            table: "readings".into(),
            columns: vec![
                col(
                    "id",
                    "bigint",
                    true,
                    Some("nextval('readings_id_seq'::regclass)"),
                ),
                col("at", "timestamp with time zone", true, None),
                col("value", "integer", false, None),
            ],
            primary_key: vec!["id".into()],
            primary_key_name: Some("readings_pkey".into()),
            sequences: vec![OwnedSequence {
                sequence: "public.readings_id_seq".into(),
                column: "id".into(),
            }],
            indexes: vec![named(
                "readings_value_idx",
                "CREATE INDEX readings_value_idx ON public.readings USING btree (value)",
            )],
            checks: vec![named("positive", "CHECK ((value > 0))")],
            referenced_by: vec![],
            triggers: vec![named(
                "audit",
                "CREATE TRIGGER audit AFTER INSERT ON readings FOR EACH ROW EXECUTE FUNCTION f()",
            )],
            views: vec![named("public.recent", "SELECT * FROM readings")],
            ..Default::default()
        }
    }

    #[test]
    fn steps_in_order_with_resume_checks() {
        let p = plan(
            &src(),
            "at",
            Interval::Month,
            2,
            Civil::parse("2024-11-23").unwrap(),
            "UTC",
        )
        .unwrap();
        let names: Vec<&str> = p.steps.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(
            names,
            vec![
                "create-parent",
                "parent-indexes",
                "unique-index",
                "check-not-valid",
                "validate",
                "future-partitions",
                "swap",
                "drop-check"
            ]
        );
        assert_eq!(p.boundary, "'2025-01-01 00:00:00 UTC'");
        assert!(
            p.steps[0].sql[0].contains("PRIMARY KEY (id, at), CONSTRAINT positive CHECK ((value > 0))) PARTITION BY RANGE (at)"),
            "{}",
            p.steps[0].sql[0]
        );
        assert_eq!(
            p.steps[1].sql[0],
            "CREATE INDEX IF NOT EXISTS readings_value_idx_p ON public.readings_dbkit_new USING btree (value)"
        );
        assert!(p.steps[6].sql.iter().any(|s| s == "ALTER TABLE public.readings ATTACH PARTITION public.readings_legacy FOR VALUES FROM (MINVALUE) TO ('2025-01-01 00:00:00 UTC')"));
        assert!(p.steps[6].sql.iter().any(
            |s| s.starts_with("CREATE OR REPLACE VIEW public.recent AS SELECT * FROM readings")
        ));
        assert!(p.steps[6]
            .sql
            .iter()
            .any(|s| s == "ALTER TABLE public.readings_legacy DROP CONSTRAINT readings_pkey"));
        assert!(p.notes.iter().any(|n| n.contains("row trigger audit")));
        assert!(p.steps.iter().all(|s| s.done_check.starts_with("SELECT")));
    }

    #[test]
    fn refusals() {
        let mut fk = src();
        fk.referenced_by = vec![ForeignKeyRef {
            constraint: "alerts_reading_fk".into(),
            table: "public.alerts".into(),
        }];
        assert!(plan(
            &fk,
            "at",
            Interval::Month,
            2,
            Civil::parse("2024-11-23").unwrap(),
            "UTC"
        )
        .unwrap_err()
        .to_string()
        .contains("alerts_reading_fk"));
        let mut s = src();
        s.unique = vec![UniqueKey {
            name: "readings_value_key".into(),
            columns: vec!["value".into()],
        }];
        assert!(plan(
            &s,
            "at",
            Interval::Month,
            2,
            Civil::parse("2024-11-23").unwrap(),
            "UTC"
        )
        .unwrap_err()
        .to_string()
        .contains("must contain the partition key"));
        assert!(plan(
            &src(),
            "value",
            Interval::Month,
            2,
            Civil::parse("2024-11-23").unwrap(),
            "UTC"
        )
        .unwrap_err()
        .to_string()
        .contains("by time"));
    }
}
