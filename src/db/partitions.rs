//! Partitioned tables on a live server: what exists, the preflight checks maintenance needs, and
//! running maintenance steps with `lock_timeout` and retries.

use super::{exec, q, sqlx_message, DbError};
use crate::ddl::maintenance::{ExistingPartition, PartitionedTable, Step};
use serde::Serialize;
use sqlx::{PgConnection, Row};

/// Set the session's time zone (bounds are printed in it), after checking the name is one the
/// server knows (`pg_timezone_names` or `pg_timezone_abbrevs`).
pub async fn set_timezone(conn: &mut PgConnection, tz: &str) -> Result<(), DbError> {
    let bad = |message: String| DbError::Query {
        context: "--timezone".into(),
        message,
    };
    crate::ddl::partition::check_zone_name(tz).map_err(|e| bad(e.to_string()))?;
    let known: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM pg_timezone_names WHERE name = $1) OR EXISTS (SELECT 1 FROM pg_timezone_abbrevs WHERE abbrev = $1)",
    )
    .bind(tz)
    .fetch_one(&mut *conn)
    .await
    .map_err(q("reading pg_timezone_names"))?;
    if !known {
        return Err(bad(format!(
            "the server knows no time zone named {tz:?} (see pg_timezone_names)"
        )));
    }
    exec(
        conn,
        &format!("SET TimeZone = {}", crate::sql::ident::quote_literal(tz)),
    )
    .await
    .map_err(q("SET TimeZone"))?;
    Ok(())
}

/// The top-level partitioned tables and their partitions.
pub async fn load(conn: &mut PgConnection) -> Result<Vec<PartitionedTable>, DbError> {
    let rows = sqlx::query(
        "SELECT c.oid::int8, n.nspname::text, c.relname::text, pt.partstrat::text, pt.partnatts::int4,
                (SELECT a.attname::text FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum = pt.partattrs[0]),
                (SELECT format_type(a.atttypid, a.atttypmod) FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum = pt.partattrs[0])
         FROM pg_partitioned_table pt JOIN pg_class c ON c.oid = pt.partrelid JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE NOT c.relispartition ORDER BY 2, 3",
    )
    .fetch_all(&mut *conn)
    .await
    .map_err(q("reading partitioned tables"))?;
    let mut out = Vec::new();
    for r in rows {
        let oid: i64 = r.try_get(0).map_err(q("reading partitioned tables"))?;
        let natts: i32 = r.try_get(4).map_err(q("reading partitioned tables"))?;
        let parts = sqlx::query(
            "SELECT c.relname::text, pg_get_expr(c.relpartbound, c.oid), pg_total_relation_size(c.oid)::int8 FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
             WHERE i.inhparent = $1::oid ORDER BY 1",
        )
        .bind(oid)
        .fetch_all(&mut *conn)
        .await
        .map_err(q("reading partitions"))?;
        out.push(PartitionedTable {
            schema: r.try_get(1).map_err(q("reading partitioned tables"))?,
            name: r.try_get(2).map_err(q("reading partitioned tables"))?,
            strategy: r.try_get(3).map_err(q("reading partitioned tables"))?,
            key: if natts == 1 {
                r.try_get(5).map_err(q("reading partitioned tables"))?
            } else {
                None
            },
            key_type: if natts == 1 {
                r.try_get(6).map_err(q("reading partitioned tables"))?
            } else {
                None
            },
            partitions: parts
                .iter()
                .map(|p| {
                    Ok(ExistingPartition {
                        name: p.try_get(0)?,
                        bound: p.try_get::<Option<String>, _>(1)?.unwrap_or_default(),
                        bytes: p.try_get(2)?,
                    })
                })
                .collect::<Result<_, sqlx::Error>>()
                .map_err(q("reading partitions"))?,
        });
    }
    Ok(out)
}

/// The server's wall time in the session's zone, `YYYY-MM-DD HH`.
pub async fn now(conn: &mut PgConnection) -> Result<String, DbError> {
    sqlx::query_scalar("SELECT to_char(now(), 'YYYY-MM-DD HH24')")
        .fetch_one(&mut *conn)
        .await
        .map_err(q("reading now()"))
}

/// Whether `table` holds rows with `key` in `[lo, hi)` (SQL literals).
pub async fn has_rows(
    conn: &mut PgConnection,
    table: &str,
    key: &str,
    lo: &str,
    hi: &str,
) -> Result<bool, DbError> {
    let sql = format!("SELECT EXISTS (SELECT 1 FROM {table} WHERE {key} >= {lo} AND {key} < {hi})");
    sqlx::query_scalar(&sql)
        .fetch_one(&mut *conn)
        .await
        .map_err(q("looking for rows in the DEFAULT partition"))
}

/// Transactions open longer than `minutes` (they would block ATTACH/DETACH): pid, age, query.
pub async fn long_transactions(
    conn: &mut PgConnection,
    minutes: i32,
) -> Result<Vec<(i32, f64, String)>, DbError> {
    let rows = sqlx::query(
        "SELECT pid, extract(epoch FROM now() - xact_start)::float8, left(coalesce(query, ''), 100)
         FROM pg_stat_activity WHERE xact_start < now() - make_interval(mins => $1) AND pid <> pg_backend_pid()",
    )
    .bind(minutes)
    .fetch_all(&mut *conn)
    .await
    .map_err(q("reading pg_stat_activity"))?;
    rows.iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)))
        .collect::<Result<_, sqlx::Error>>()
        .map_err(q("reading pg_stat_activity"))
}

/// Whether the current user may create and detach partitions of `schema.table` (owns it).
pub async fn may_maintain(
    conn: &mut PgConnection,
    schema: &str,
    table: &str,
) -> Result<bool, DbError> {
    sqlx::query_scalar(
        "SELECT pg_has_role(current_user, c.relowner, 'USAGE') FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = $1 AND c.relname = $2",
    )
    .bind(schema)
    .bind(table)
    .fetch_optional(&mut *conn)
    .await
    .map(|v| v.unwrap_or(false))
    .map_err(q("checking privileges"))
}

/// What running a step did.
#[derive(Debug, Clone, Serialize)]
pub struct StepResult {
    /// The partition.
    pub partition: String,
    /// What happened.
    pub status: StepStatus,
    /// Tries it took.
    pub tries: u32,
    /// The error, if it failed.
    pub error: Option<String>,
}

/// What happened to a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum StepStatus {
    /// It ran.
    Done,
    /// Its done-check said it had run before (a resumed run).
    AlreadyDone,
    /// It failed (the error says why); the run stopped there.
    Failed,
}

impl StepStatus {
    /// As shown to people.
    pub fn as_str(self) -> &'static str {
        match self {
            StepStatus::Done => "done",
            StepStatus::AlreadyDone => "already done",
            StepStatus::Failed => "failed",
        }
    }
}

impl std::fmt::Display for StepStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Run steps in order with `lock_timeout`, retrying a step up to 3 times when a lock is not
/// available; a failed step stops the run.
pub async fn run_steps(
    conn: &mut PgConnection,
    steps: &[Step],
    lock_timeout: &str,
    progress: &dyn Fn(&StepResult),
) -> Result<Vec<StepResult>, DbError> {
    exec(
        conn,
        &format!(
            "SET lock_timeout = {}",
            crate::sql::ident::quote_literal(lock_timeout)
        ),
    )
    .await
    .map_err(q("SET lock_timeout"))?;
    let mut out = Vec::new();
    for s in steps {
        let mut tries = 0;
        let result = loop {
            tries += 1;
            let r: Result<(), sqlx::Error> = async {
                if s.transaction {
                    exec(conn, "BEGIN").await?;
                    for sql in &s.sql {
                        if let Err(e) = exec(conn, sql).await {
                            let _ = exec(conn, "ROLLBACK").await;
                            return Err(e);
                        }
                    }
                    exec(conn, "COMMIT").await?;
                } else {
                    for sql in &s.sql {
                        exec(conn, sql).await?;
                    }
                }
                Ok(())
            }
            .await;
            match r {
                Err(sqlx::Error::Database(d))
                    if d.code().as_deref() == Some("55P03") && tries < 3 =>
                {
                    tokio::time::sleep(std::time::Duration::from_millis(500 * tries as u64)).await;
                }
                other => break other,
            }
        };
        let res = match result {
            Ok(()) => StepResult {
                partition: s.partition.clone(),
                status: StepStatus::Done,
                tries,
                error: None,
            },
            Err(e) => StepResult {
                partition: s.partition.clone(),
                status: StepStatus::Failed,
                tries,
                error: Some(sqlx_message(&e)),
            },
        };
        progress(&res);
        let failed = res.status == StepStatus::Failed;
        out.push(res);
        if failed {
            break;
        }
    }
    Ok(out)
}

/// Read what converting `schema.table` needs to know.
pub async fn convert_source(
    conn: &mut PgConnection,
    schema: &str,
    table: &str,
) -> Result<crate::ddl::convert::ConvertSource, DbError> {
    use crate::ddl::table::{ColumnDef, ForeignKeyRef, NamedDef, OwnedSequence, UniqueKey};
    let e = q("reading the table to convert");
    let reg = crate::sql::ident::quote_qualified(&[schema, table]);
    let oid: Option<i64> = sqlx::query_scalar("SELECT to_regclass($1)::oid::int8")
        .bind(&reg)
        .fetch_one(&mut *conn)
        .await
        .map_err(&e)?;
    let oid = oid.ok_or_else(|| DbError::Query {
        context: "partition convert".into(),
        message: format!("no table {reg}"),
    })?;
    let mut src = crate::ddl::convert::ConvertSource {
        schema: schema.to_string(),
        table: table.to_string(),
        ..Default::default()
    };
    let head = sqlx::query(
        "SELECT relkind = 'p', greatest(reltuples, 0)::float8 FROM pg_class WHERE oid = $1::oid",
    )
    .bind(oid)
    .fetch_one(&mut *conn)
    .await
    .map_err(&e)?;
    src.partitioned = head.try_get(0).map_err(&e)?;
    src.rows = head.try_get(1).map_err(&e)?;
    for r in sqlx::query(
        "SELECT a.attname::text, format_type(a.atttypid, a.atttypmod), a.attnotnull, pg_get_expr(d.adbin, d.adrelid), a.attidentity <> ''
         FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
         WHERE a.attrelid = $1::oid AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
    )
    .bind(oid)
    .fetch_all(&mut *conn)
    .await
    .map_err(&e)?
    {
        src.columns.push(ColumnDef {
            name: r.try_get(0).map_err(&e)?,
            type_name: r.try_get(1).map_err(&e)?,
            not_null: r.try_get(2).map_err(&e)?,
            default: r.try_get(3).map_err(&e)?,
            identity: r.try_get(4).map_err(&e)?,
        });
    }
    for r in sqlx::query(
        "SELECT con.contype::text, con.conname::text,
                ARRAY(SELECT a.attname::text FROM unnest(con.conkey) WITH ORDINALITY u(n, o) JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = u.n ORDER BY u.o)
         FROM pg_constraint con WHERE con.conrelid = $1::oid AND con.contype IN ('p', 'u')",
    )
    .bind(oid)
    .fetch_all(&mut *conn)
    .await
    .map_err(&e)?
    {
        let kind: String = r.try_get(0).map_err(&e)?;
        let cols: Vec<String> = r.try_get(2).map_err(&e)?;
        if kind == "p" {
            src.primary_key = cols;
            src.primary_key_name = Some(r.try_get(1).map_err(&e)?);
        } else {
            src.unique.push(UniqueKey {
                name: r.try_get(1).map_err(&e)?,
                columns: cols,
            });
        }
    }
    for r in sqlx::query("SELECT conname::text, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = $1::oid AND contype = 'c'")
        .bind(oid)
        .fetch_all(&mut *conn)
        .await
        .map_err(&e)?
    {
        src.checks.push(NamedDef {
            name: r.try_get(0).map_err(&e)?,
            definition: r.try_get(1).map_err(&e)?,
        });
    }
    for r in sqlx::query(
        "SELECT c.relname::text, pg_get_indexdef(i.indexrelid) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
         WHERE i.indrelid = $1::oid AND NOT EXISTS (SELECT 1 FROM pg_constraint con WHERE con.conindid = i.indexrelid)",
    )
    .bind(oid)
    .fetch_all(&mut *conn)
    .await
    .map_err(&e)?
    {
        src.indexes.push(NamedDef {
            name: r.try_get(0).map_err(&e)?,
            definition: r.try_get(1).map_err(&e)?,
        });
    }
    for r in sqlx::query(
        "SELECT s.oid::regclass::text, a.attname::text FROM pg_depend d JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S'
         JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
         WHERE d.refobjid = $1::oid AND d.deptype IN ('a', 'i')",
    )
    .bind(oid)
    .fetch_all(&mut *conn)
    .await
    .map_err(&e)?
    {
        src.sequences.push(OwnedSequence {
            sequence: r.try_get(0).map_err(&e)?,
            column: r.try_get(1).map_err(&e)?,
        });
    }
    for r in sqlx::query("SELECT conname::text, conrelid::regclass::text FROM pg_constraint WHERE confrelid = $1::oid AND contype = 'f'")
        .bind(oid)
        .fetch_all(&mut *conn)
        .await
        .map_err(&e)?
    {
        src.referenced_by.push(ForeignKeyRef {
            constraint: r.try_get(0).map_err(&e)?,
            table: r.try_get(1).map_err(&e)?,
        });
    }
    for r in sqlx::query(
        "SELECT DISTINCT v.oid::regclass::text, pg_get_viewdef(v.oid) FROM pg_depend d JOIN pg_rewrite rw ON rw.oid = d.objid
         JOIN pg_class v ON v.oid = rw.ev_class WHERE d.refobjid = $1::oid AND v.oid <> $1::oid AND v.relkind = 'v'",
    )
    .bind(oid)
    .fetch_all(&mut *conn)
    .await
    .map_err(&e)?
    {
        src.views.push(NamedDef {
            name: r.try_get(0).map_err(&e)?,
            definition: r.try_get(1).map_err(&e)?,
        });
    }
    for r in sqlx::query("SELECT tgname::text, pg_get_triggerdef(oid) FROM pg_trigger WHERE tgrelid = $1::oid AND NOT tgisinternal")
        .bind(oid)
        .fetch_all(&mut *conn)
        .await
        .map_err(&e)?
    {
        src.triggers.push(NamedDef {
            name: r.try_get(0).map_err(&e)?,
            definition: r.try_get(1).map_err(&e)?,
        });
    }
    Ok(src)
}

/// Run conversion steps, skipping those already done (resume), each transactional one with
/// `lock_timeout` and up to three tries.
pub async fn run_convert(
    conn: &mut PgConnection,
    steps: &[crate::ddl::convert::ConvertStep],
    lock_timeout: &str,
    progress: &dyn Fn(&StepResult),
) -> Result<Vec<StepResult>, DbError> {
    let as_steps: Vec<Step> = steps
        .iter()
        .map(|s| Step {
            action: "convert",
            partition: s.name.clone(),
            reason: s.what.clone(),
            sql: s.sql.clone(),
            transaction: s.transaction,
        })
        .collect();
    let mut out = Vec::new();
    for (s, st) in steps.iter().zip(&as_steps) {
        let done: bool = sqlx::query_scalar(&s.done_check)
            .fetch_one(&mut *conn)
            .await
            .unwrap_or(false);
        if done {
            let r = StepResult {
                partition: s.name.clone(),
                status: StepStatus::AlreadyDone,
                tries: 0,
                error: None,
            };
            progress(&r);
            out.push(r);
            continue;
        }
        let r = run_steps(conn, std::slice::from_ref(st), lock_timeout, progress).await?;
        let failed = r.iter().any(|x| x.status == StepStatus::Failed);
        out.extend(r);
        if failed {
            break;
        }
    }
    Ok(out)
}
