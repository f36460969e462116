//! Partitioned tables on a live server: what exists, the preflight checks maintenance needs, and
//! running maintenance steps with `lock_timeout` and retries.

use super::{sqlx_message, DbError};
use crate::ddl::maintenance::{ExistingPartition, PartitionedTable, Step};
use serde::Serialize;
use sqlx::{Executor, PgConnection, Row};

fn q(context: &'static str) -> impl Fn(sqlx::Error) -> DbError {
    move |e| DbError::Query {
        context: context.to_string(),
        message: sqlx_message(&e),
    }
}

/// Set the session's time zone (bounds are printed in it).
pub async fn set_timezone(conn: &mut PgConnection, tz: &str) -> Result<(), DbError> {
    conn.execute(sqlx::raw_sql(&format!(
        "SET TimeZone = {}",
        crate::sql::ident::quote_literal(tz)
    )))
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
            "SELECT c.relname::text, pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
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
    /// `done` or `failed`.
    pub status: &'static str,
    /// Tries it took.
    pub tries: u32,
    /// The error, if it failed.
    pub error: Option<String>,
}

/// Run steps in order with `lock_timeout`, retrying a step up to 3 times when a lock is not
/// available; a failed step stops the run.
pub async fn run_steps(
    conn: &mut PgConnection,
    steps: &[Step],
    lock_timeout: &str,
    progress: &dyn Fn(&StepResult),
) -> Result<Vec<StepResult>, DbError> {
    conn.execute(sqlx::raw_sql(&format!(
        "SET lock_timeout = {}",
        crate::sql::ident::quote_literal(lock_timeout)
    )))
    .await
    .map_err(q("SET lock_timeout"))?;
    let mut out = Vec::new();
    for s in steps {
        let mut tries = 0;
        let result = loop {
            tries += 1;
            let r: Result<(), sqlx::Error> = async {
                if s.transaction {
                    conn.execute("BEGIN").await?;
                    for sql in &s.sql {
                        if let Err(e) = conn.execute(sqlx::raw_sql(sql)).await {
                            let _ = conn.execute("ROLLBACK").await;
                            return Err(e);
                        }
                    }
                    conn.execute("COMMIT").await?;
                } else {
                    for sql in &s.sql {
                        conn.execute(sqlx::raw_sql(sql)).await?;
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
                status: "done",
                tries,
                error: None,
            },
            Err(e) => StepResult {
                partition: s.partition.clone(),
                status: "failed",
                tries,
                error: Some(sqlx_message(&e)),
            },
        };
        progress(&res);
        let failed = res.status == "failed";
        out.push(res);
        if failed {
            break;
        }
    }
    Ok(out)
}
