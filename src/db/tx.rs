//! The transaction dbkit opens on a user's connection to run something it will roll back
//! (EXPLAIN ANALYZE, a checked migration, hypothetical indexes), and the proof that it is still
//! that transaction.
//!
//! [`Guarded::begin`] sends `BEGIN` and `SET LOCAL statement_timeout`, and records the
//! transaction's virtual id (`pg_locks`, `virtualxid`: every transaction holds its own, a new
//! one gets a new id, and it works on a standby, where no transaction id can be assigned).
//! [`Guarded::check`] compares it again: if anything ended dbkit's transaction, the check runs
//! in another one and fails with [`DbError::TransactionLost`]. [`Guarded::rollback`] checks,
//! then rolls back, then verifies that the session is idle.

use super::{exec, q, DbError};
use sqlx::PgConnection;
use std::time::Duration;

const VXID: &str = "SELECT virtualxid::text FROM pg_locks WHERE locktype = 'virtualxid' AND pid = pg_backend_pid() AND granted";

/// An open transaction of dbkit's on a connection.
#[derive(Debug)]
pub struct Guarded {
    vxid: String,
}

async fn vxid(conn: &mut PgConnection, context: &str) -> Result<Option<String>, DbError> {
    sqlx::query_scalar::<_, String>(VXID)
        .persistent(false)
        .fetch_optional(&mut *conn)
        .await
        .map_err(q(context))
}

impl Guarded {
    /// `BEGIN`, `SET LOCAL statement_timeout`, and remember which transaction this is.
    pub async fn begin(conn: &mut PgConnection, timeout: Duration) -> Result<Guarded, DbError> {
        exec(conn, "BEGIN").await.map_err(q("BEGIN"))?;
        let ms = timeout.as_millis().clamp(1, i32::MAX as u128);
        exec(conn, &format!("SET LOCAL statement_timeout = {ms}"))
            .await
            .map_err(q("SET LOCAL statement_timeout"))?;
        let id = vxid(conn, "reading the transaction's id").await?;
        let vxid = id.ok_or_else(|| DbError::TransactionLost {
            context: "BEGIN".into(),
            message: "no virtual transaction id".into(),
        })?;
        Ok(Guarded { vxid })
    }

    /// Fail with [`DbError::TransactionLost`] unless the session is still in this transaction.
    pub async fn check(&self, conn: &mut PgConnection, after: &str) -> Result<(), DbError> {
        let now = vxid(conn, after).await?;
        if now.as_deref() == Some(self.vxid.as_str()) {
            return Ok(());
        }
        Err(DbError::TransactionLost {
            context: after.to_string(),
            message: format!(
                "opened as {}, now {}",
                self.vxid,
                now.as_deref().unwrap_or("none")
            ),
        })
    }

    /// Check, roll back, and verify that nothing of the transaction is left open.
    pub async fn rollback(self, conn: &mut PgConnection) -> Result<(), DbError> {
        let checked = self.check(conn, "before ROLLBACK").await;
        exec(conn, "ROLLBACK").await.map_err(q("ROLLBACK"))?;
        checked
    }

    /// Check, then COMMIT (only for an explicit `--commit`/`--execute`).
    pub async fn commit(self, conn: &mut PgConnection) -> Result<(), DbError> {
        self.check(conn, "before COMMIT").await?;
        exec(conn, "COMMIT").await.map_err(q("COMMIT"))?;
        Ok(())
    }
}
