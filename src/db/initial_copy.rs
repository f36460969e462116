//! The initial copy of a shard move: the shard's rows read at one snapshot of the source whose
//! place in the WAL is known exactly, piped into the target with `COPY` (binary where both
//! servers read it the same way), so the subscription then streams only what committed after it.
//!
//! How the snapshot and the WAL position line up: a transaction takes `SHARE` locks on the
//! shard's tables (waiting for every writer of them to finish; writes wait behind it), exports
//! its snapshot and reads the WAL insert position `L`. Every change to the tables that the
//! snapshot sees was committed before `L`; every change it does not see commits after the
//! lock is released, so after `L`. A second session imports the snapshot, the first commits
//! (the write pause is that short), and the subscription, created with `copy_data = false`,
//! starts at `L` (its replication origin advanced there): PostgreSQL skips exactly the
//! transactions that committed before it.

use super::{exec, query_error, DbError};
use crate::sql::ident::quote_literal;
use futures_util::StreamExt;
use sqlx::{PgConnection, Row};
use std::time::{Duration, Instant};

/// How much data goes to the target in one `CopyData` message.
const CHUNK: usize = 256 * 1024;

/// The columns `COPY` carries for a relation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyColumns {
    /// Quoted column names, in the table's order, without generated columns.
    pub names: Vec<String>,
    /// Every column has a built-in type: binary `COPY` reads the same on any server (arrays
    /// and records of user types carry the source's type OIDs, which the target refuses).
    pub builtin_types: bool,
}

/// The columns of `relation` (a quoted, qualified name) that `COPY` reads and writes.
pub async fn copy_columns(conn: &mut PgConnection, relation: &str) -> Result<CopyColumns, DbError> {
    let rows = sqlx::query(
        "SELECT quote_ident(attname), atttypid < 16384
           FROM pg_attribute
          WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped AND attgenerated = ''
          ORDER BY attnum",
    )
    .bind(relation)
    .fetch_all(&mut *conn)
    .await
    .map_err(|e| query_error("reading the columns to copy", &e))?;
    let mut names = Vec::with_capacity(rows.len());
    let mut builtin_types = true;
    for r in &rows {
        names.push(
            r.try_get::<String, _>(0)
                .map_err(|e| query_error("reading the columns to copy", &e))?,
        );
        builtin_types &= r
            .try_get::<bool, _>(1)
            .map_err(|e| query_error("reading the columns to copy", &e))?;
    }
    Ok(CopyColumns {
        names,
        builtin_types,
    })
}

fn format_option(binary: bool) -> &'static str {
    if binary {
        "FORMAT binary"
    } else {
        "FORMAT text"
    }
}

/// `COPY … TO STDOUT` reading `relation`'s rows (those matching `filter` when there is one).
pub fn copy_out_sql(relation: &str, filter: Option<&str>, cols: &[String], binary: bool) -> String {
    let list = cols.join(", ");
    match filter {
        Some(f) => format!(
            "COPY (SELECT {list} FROM {relation} WHERE {f}) TO STDOUT ({})",
            format_option(binary)
        ),
        None => format!(
            "COPY {relation} ({list}) TO STDOUT ({})",
            format_option(binary)
        ),
    }
}

/// `COPY … FROM STDIN` writing `relation`'s columns.
pub fn copy_in_sql(relation: &str, cols: &[String], binary: bool) -> String {
    format!(
        "COPY {relation} ({}) FROM STDIN ({})",
        cols.join(", "),
        format_option(binary)
    )
}

/// The logical replication slot on the source, created before the snapshot so that it holds
/// every change committed after it (`pgoutput`, as subscriptions use).
pub fn create_slot_sql(slot: &str) -> String {
    format!(
        "SELECT pg_create_logical_replication_slot({}, 'pgoutput')",
        quote_literal(slot)
    )
}

/// The statements [`export_snapshot`] runs, for the dry run.
pub fn export_snapshot_sql(relations: &[String], lock_timeout_ms: u64) -> Vec<String> {
    vec![
        "BEGIN ISOLATION LEVEL REPEATABLE READ".to_string(),
        format!("SET LOCAL lock_timeout = {lock_timeout_ms}"),
        format!("LOCK TABLE {} IN SHARE MODE", relations.join(", ")),
        "SELECT pg_export_snapshot(), pg_current_wal_insert_lsn()::text".to_string(),
    ]
}

/// A snapshot exported with writes to the shard's tables paused, and where it stands in the WAL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportedSnapshot {
    /// The snapshot's identifier, for `SET TRANSACTION SNAPSHOT`.
    pub id: String,
    /// The WAL insert position while the locks were held (`pg_lsn` text).
    pub lsn: String,
    /// When the lock was asked for: the write pause runs from here to [`release`].
    pub started: Instant,
}

/// Open a transaction on `conn`, lock `relations` in `SHARE` mode under `lock_timeout_ms`,
/// export the snapshot and read the WAL position. The transaction stays open (the locks held)
/// until [`release`]; `None` when the lock timed out (the transaction is rolled back).
pub async fn export_snapshot(
    conn: &mut PgConnection,
    relations: &[String],
    lock_timeout_ms: u64,
) -> Result<Option<ExportedSnapshot>, DbError> {
    let started = Instant::now();
    let sql = export_snapshot_sql(relations, lock_timeout_ms);
    let step = async {
        for s in &sql[..3] {
            exec(&mut *conn, s)
                .await
                .map_err(|e| query_error("pausing writes for the copy's snapshot", &e))?;
        }
        let r = sqlx::query(&sql[3])
            .fetch_one(&mut *conn)
            .await
            .map_err(|e| query_error("exporting the copy's snapshot", &e))?;
        let g = |e: sqlx::Error| query_error("exporting the copy's snapshot", &e);
        Ok::<_, DbError>(ExportedSnapshot {
            id: r.try_get(0).map_err(g)?,
            lsn: r.try_get(1).map_err(g)?,
            started,
        })
    }
    .await;
    match step {
        Ok(s) => Ok(Some(s)),
        Err(e) => {
            let _ = exec(&mut *conn, "ROLLBACK").await;
            if super::logical::is_lock_timeout(&e) {
                Ok(None)
            } else {
                Err(e)
            }
        }
    }
}

/// Start a read-only transaction on `reader` that sees `snapshot`.
pub async fn import_snapshot(reader: &mut PgConnection, snapshot: &str) -> Result<(), DbError> {
    for s in [
        "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY".to_string(),
        format!("SET TRANSACTION SNAPSHOT {}", quote_literal(snapshot)),
    ] {
        exec(&mut *reader, &s)
            .await
            .map_err(|e| query_error("importing the copy's snapshot", &e))?;
    }
    Ok(())
}

/// End the exporting transaction (writes resume); how long writes were paused.
pub async fn release(
    conn: &mut PgConnection,
    snap: &ExportedSnapshot,
) -> Result<Duration, DbError> {
    exec(&mut *conn, "COMMIT")
        .await
        .map_err(|e| query_error("resuming writes after the copy's snapshot", &e))?;
    Ok(snap.started.elapsed())
}

/// What one [`pipe`] moved.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Piped {
    /// Rows the target's `COPY` wrote.
    pub rows: u64,
    /// Bytes of `COPY` data carried.
    pub bytes: u64,
}

/// Run `out_sql` (`COPY … TO STDOUT`) on `from` and `in_sql` (`COPY … FROM STDIN`) on `to`,
/// carrying the data between them as it comes, reading and writing at once. `progress` gets
/// the `COPY` messages (about one per row) and bytes carried so far. On any error the target's
/// `COPY` is aborted.
pub async fn pipe(
    from: &mut PgConnection,
    to: &mut PgConnection,
    out_sql: &str,
    in_sql: &str,
    progress: &mut (dyn FnMut(u64, u64) + Send),
) -> Result<Piped, DbError> {
    tracing::debug!(out_sql, in_sql, "initial copy");
    let mut sink = to
        .copy_in_raw(in_sql)
        .await
        .map_err(|e| query_error("starting the COPY into the target", &e))?;
    let mut source = match from.copy_out_raw(out_sql).await {
        Ok(s) => s,
        Err(e) => {
            let _ = sink.abort("the source's COPY did not start").await;
            return Err(query_error("starting the COPY on the source", &e));
        }
    };
    let (tx, rx) = tokio::sync::mpsc::channel::<Vec<u8>>(4);
    let read = async move {
        let (mut messages, mut bytes) = (0u64, 0u64);
        let mut buf = Vec::with_capacity(CHUNK + 64 * 1024);
        while let Some(part) = source.next().await {
            let part = part?;
            messages += 1;
            bytes += part.len() as u64;
            buf.extend_from_slice(&part);
            if buf.len() >= CHUNK {
                let full = std::mem::replace(&mut buf, Vec::with_capacity(CHUNK + 64 * 1024));
                if tx.send(full).await.is_err() {
                    // The writer stopped: its error is the one to report.
                    return Ok(bytes);
                }
                progress(messages, bytes);
            }
        }
        if !buf.is_empty() {
            let _ = tx.send(buf).await;
        }
        progress(messages, bytes);
        Ok::<_, sqlx::Error>(bytes)
    };
    let write = async {
        let mut rx = rx;
        while let Some(chunk) = rx.recv().await {
            sink.send(chunk).await?;
        }
        Ok::<_, sqlx::Error>(())
    };
    let (r, w) = tokio::join!(read, write);
    if let Err(e) = w {
        return Err(query_error("writing the rows on the target", &e));
    }
    let bytes = match r {
        Ok(b) => b,
        Err(e) => {
            let _ = sink.abort("the source's COPY failed").await;
            return Err(query_error("reading the rows on the source", &e));
        }
    };
    let rows = sink
        .finish()
        .await
        .map_err(|e| query_error("finishing the COPY on the target", &e))?;
    Ok(Piped { rows, bytes })
}

/// The statements that start a subscription created disabled at the WAL position `lsn`. The
/// origin only ever moves forward: a subscription that already streamed past `lsn` (and was
/// disabled since, by an operator or an error) resumes where it was, never replaying what it
/// applied.
pub fn start_subscription_sql(name: &str, lsn: &str) -> Vec<String> {
    vec![
        format!(
            "SELECT pg_replication_origin_advance('pg_' || oid, {l}::pg_lsn) FROM pg_subscription WHERE subname = {} AND coalesce(pg_replication_origin_progress('pg_' || oid, false), '0/0'::pg_lsn) < {l}::pg_lsn",
            quote_literal(name),
            l = quote_literal(lsn)
        ),
        format!(
            "ALTER SUBSCRIPTION {} ENABLE",
            crate::sql::ident::quote_ident(name)
        ),
    ]
}

/// Whether the subscription is enabled (`None`: there is none).
pub async fn subscription_enabled(
    conn: &mut PgConnection,
    name: &str,
) -> Result<Option<bool>, DbError> {
    sqlx::query_scalar("SELECT subenabled FROM pg_subscription WHERE subname = $1")
        .bind(name)
        .fetch_optional(&mut *conn)
        .await
        .map_err(|e| query_error("looking for the subscription", &e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_statements_name_the_columns_and_the_format() {
        let cols = vec!["id".to_string(), "\"Note\"".to_string()];
        assert_eq!(
            copy_out_sql("public.t", None, &cols, true),
            "COPY public.t (id, \"Note\") TO STDOUT (FORMAT binary)"
        );
        assert_eq!(
            copy_out_sql("public.t", Some("(k % 4) = 1"), &cols, false),
            "COPY (SELECT id, \"Note\" FROM public.t WHERE (k % 4) = 1) TO STDOUT (FORMAT text)"
        );
        assert_eq!(
            copy_in_sql("public.t", &cols, true),
            "COPY public.t (id, \"Note\") FROM STDIN (FORMAT binary)"
        );
    }

    #[test]
    fn the_subscription_starts_at_the_snapshot_position() {
        let s = start_subscription_sql("dbkit_move_s1_v'2", "0/16B3748");
        assert_eq!(
            s[0],
            "SELECT pg_replication_origin_advance('pg_' || oid, '0/16B3748'::pg_lsn) FROM pg_subscription WHERE subname = 'dbkit_move_s1_v''2' AND coalesce(pg_replication_origin_progress('pg_' || oid, false), '0/0'::pg_lsn) < '0/16B3748'::pg_lsn"
        );
        assert_eq!(s[1], "ALTER SUBSCRIPTION \"dbkit_move_s1_v'2\" ENABLE");
    }

    #[test]
    fn the_snapshot_is_taken_under_share_locks() {
        let s = export_snapshot_sql(&["public.a".into(), "dbkit.m".into()], 250);
        assert_eq!(s[2], "LOCK TABLE public.a, dbkit.m IN SHARE MODE");
        assert!(s[0].contains("REPEATABLE READ"));
        assert!(s[3].contains("pg_export_snapshot()"));
    }
}
