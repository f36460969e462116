//! What playbook steps ask a server directly: the WAL position at a step's end, whether an
//! index is valid or a table partitioned (a finished step's done-condition on resume), and a
//! `sql` step's one declared statement (read-only ones inside `BEGIN READ ONLY … ROLLBACK`).

use super::{close, connect, exec, q, ConnSpec, DbError};
use sqlx::Row;

/// `pg_current_wal_lsn()` (on a standby, the last replayed position).
pub async fn current_lsn(spec: &ConnSpec) -> Result<String, DbError> {
    let mut conn = connect(spec).await?;
    let lsn: Option<String> = sqlx::query_scalar(
        "SELECT CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END::text",
    )
    .persistent(false)
    .fetch_one(&mut conn)
    .await
    .map_err(q("reading the WAL position"))?;
    close(conn).await;
    Ok(lsn.unwrap_or_default())
}

/// The boolean answer of a catalog question with two text parameters.
async fn catalog_bool(
    spec: &ConnSpec,
    sql: &str,
    a: &str,
    b: &str,
    what: &str,
) -> Result<bool, DbError> {
    let mut conn = connect(spec).await?;
    let ok: Result<bool, _> = sqlx::query_scalar(sql)
        .bind(a)
        .bind(b)
        .persistent(false)
        .fetch_one(&mut conn)
        .await;
    close(conn).await;
    ok.map_err(q(what))
}

/// Whether index `schema.name` exists and is valid (a finished concurrent build).
pub async fn index_valid(spec: &ConnSpec, schema: &str, name: &str) -> Result<bool, DbError> {
    catalog_bool(
        spec,
        "SELECT EXISTS (SELECT 1 FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
                        JOIN pg_namespace n ON n.oid = c.relnamespace
                        WHERE i.indisvalid AND i.indisready AND c.relname = $1
                          AND n.nspname = coalesce(nullif($2, ''), current_schema()))",
        name,
        schema,
        "reading pg_index",
    )
    .await
}

/// Whether table `schema.name` is partitioned.
pub async fn is_partitioned(spec: &ConnSpec, schema: &str, name: &str) -> Result<bool, DbError> {
    catalog_bool(
        spec,
        "SELECT EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                        WHERE c.relkind = 'p' AND c.relname = $1 AND n.nspname = $2)",
        name,
        schema,
        "reading pg_class",
    )
    .await
}

/// What a declared statement did.
#[derive(Debug, Clone, Default)]
pub struct Ran {
    /// The rows it returned (a query), each an object of its columns, at most `max_rows`.
    pub rows: Vec<serde_json::Value>,
    /// Whether more rows were returned than kept.
    pub truncated: bool,
    /// Rows it changed (a write) or returned.
    pub affected: u64,
}

/// Run one statement. A query or a write with RETURNING (`returns_rows`) is read through
/// `to_jsonb` of each row, at most `max_rows` kept; `read_only` runs it inside `BEGIN READ ONLY` and rolls back; `timeout` is
/// the statement's `statement_timeout` (`None`: the server's).
pub async fn run_statement(
    spec: &ConnSpec,
    sql: &str,
    returns_rows: bool,
    read_only: bool,
    timeout: Option<&str>,
    max_rows: usize,
) -> Result<Ran, DbError> {
    let mut conn = connect(spec).await?;
    let res = run_on(&mut conn, sql, returns_rows, read_only, timeout, max_rows).await;
    if read_only {
        let _ = exec(&mut conn, "ROLLBACK").await;
    }
    close(conn).await;
    res
}

async fn run_on(
    conn: &mut sqlx::PgConnection,
    sql: &str,
    returns_rows: bool,
    read_only: bool,
    timeout: Option<&str>,
    max_rows: usize,
) -> Result<Ran, DbError> {
    if read_only {
        exec(conn, "BEGIN READ ONLY")
            .await
            .map_err(q("BEGIN READ ONLY"))?;
    }
    if let Some(t) = timeout {
        let set = format!(
            "SET {}statement_timeout = {}",
            if read_only { "LOCAL " } else { "" },
            crate::sql::ident::quote_literal(t)
        );
        exec(conn, &set).await.map_err(q("SET statement_timeout"))?;
    }
    if !returns_rows {
        let n = exec(conn, sql).await.map_err(q("the step's statement"))?;
        return Ok(Ran {
            affected: n,
            ..Default::default()
        });
    }
    // The statement as a CTE (a query, or a write with RETURNING, which runs to its end): each
    // row as JSON, one more than kept to know about the rest.
    let body = sql.trim().trim_end_matches(';');
    let wrapped = format!(
        "WITH q AS (\n{body}\n) SELECT to_jsonb(q)::text FROM q LIMIT {}",
        max_rows + 1
    );
    let rows = sqlx::query(&wrapped)
        .persistent(false)
        .fetch_all(&mut *conn)
        .await
        .map_err(q("the step's query"))?;
    let mut out = Vec::new();
    for r in rows.iter().take(max_rows) {
        let text: String = r.try_get(0).map_err(q("reading a row"))?;
        out.push(serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)));
    }
    Ok(Ran {
        affected: out.len() as u64,
        truncated: rows.len() > max_rows,
        rows: out,
    })
}

/// Evaluate a `done` query: the first column of its first row must be true or false (no row
/// counts as false); anything else is an error, never taken as an answer.
pub async fn query_true(spec: &ConnSpec, sql: &str) -> Result<bool, DbError> {
    let ran = run_statement(spec, sql, true, true, Some("30s"), 1).await?;
    let Some(first) = ran.rows.first() else {
        return Ok(false);
    };
    let value = first.as_object().and_then(|o| o.values().next());
    value
        .and_then(|v| v.as_bool())
        .ok_or_else(|| DbError::Query {
            context: "the step's `done` query".to_string(),
            message: format!(
                "it must return true or false, not {}",
                value.map_or_else(|| "no column".to_string(), |v| v.to_string())
            ),
        })
}
