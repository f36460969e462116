//! Planning with hypothetical indexes (HypoPG), inside one transaction that is always rolled
//! back: if HypoPG is installed on the server but not in the database, the extension is created
//! inside that transaction and vanishes with it, so the user's database is never changed.
//! Statements are only planned (`EXPLAIN` without ANALYZE), each behind a savepoint.

use super::tx::Guarded;
use super::{connect, exec, q, query_error, sqlx_message, ConnSpec, DbError};
use sqlx::{PgConnection, Row};
use std::time::Duration;

/// A planning session.
pub struct HypoSession {
    conn: PgConnection,
    guard: Option<Guarded>,
    /// Whether hypothetical indexes are available.
    pub hypopg: bool,
    /// Why not, when they are not.
    pub hypopg_note: Option<String>,
    next: u64,
}

impl HypoSession {
    /// Connect, BEGIN, and make HypoPG available if the server has it.
    pub async fn open(spec: &ConnSpec) -> Result<HypoSession, DbError> {
        let mut conn = connect(spec).await?;
        let guard = Guarded::begin(&mut conn, Duration::from_secs(30)).await?;
        let installed: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'hypopg')",
        )
        .fetch_one(&mut conn)
        .await
        .map_err(q("looking for hypopg"))?;
        let (hypopg, note) = if installed {
            (true, None)
        } else {
            exec(&mut conn, "SAVEPOINT dbkit_hypopg")
                .await
                .map_err(q("SAVEPOINT"))?;
            match exec(&mut conn, "CREATE EXTENSION hypopg").await {
                Ok(_) => (true, None),
                Err(e) => {
                    exec(&mut conn, "ROLLBACK TO SAVEPOINT dbkit_hypopg")
                        .await
                        .map_err(q("ROLLBACK TO SAVEPOINT"))?;
                    (false, Some(format!("HypoPG is not available on this server ({}); install it (Debian: postgresql-15-hypopg)", sqlx_message(&e))))
                }
            }
        };
        Ok(HypoSession {
            conn,
            guard: Some(guard),
            hypopg,
            hypopg_note: note,
            next: 1,
        })
    }

    /// Connect and BEGIN, without HypoPG (a planning and observing session for `dbkit check`).
    pub async fn open_plain(spec: &ConnSpec) -> Result<HypoSession, DbError> {
        let mut conn = connect(spec).await?;
        let guard = Guarded::begin(&mut conn, Duration::from_secs(60)).await?;
        Ok(HypoSession {
            conn,
            guard: Some(guard),
            hypopg: false,
            hypopg_note: None,
            next: 1,
        })
    }

    /// Run one statement of the user's behind a savepoint (one statement, extended protocol);
    /// its error leaves the transaction usable. Afterwards the session must still be in this
    /// session's transaction, or the error is [`DbError::TransactionLost`].
    pub async fn execute(&mut self, sql: &str) -> Result<(), DbError> {
        exec(&mut self.conn, "SAVEPOINT dbkit_stmt")
            .await
            .map_err(q("SAVEPOINT"))?;
        let result = exec(&mut self.conn, sql).await;
        match result {
            Ok(_) => {
                self.check("after the statement").await?;
                exec(&mut self.conn, "RELEASE SAVEPOINT dbkit_stmt")
                    .await
                    .map_err(q("RELEASE SAVEPOINT"))?;
                Ok(())
            }
            Err(e) => {
                let err = query_error("the migration", &e);
                if err.is_fatal() {
                    return Err(err);
                }
                exec(&mut self.conn, "ROLLBACK TO SAVEPOINT dbkit_stmt")
                    .await
                    .map_err(q("ROLLBACK TO SAVEPOINT"))?;
                self.check("after the failed statement").await?;
                Err(err)
            }
        }
    }

    /// Run a statement dbkit generated (a savepoint standing for the user's own transaction
    /// control), then check the transaction.
    pub async fn control(&mut self, sql: &str) -> Result<(), DbError> {
        exec(&mut self.conn, sql).await.map_err(q(sql))?;
        self.check(sql).await
    }

    /// Fail unless the session is still in the transaction this session opened.
    pub async fn check(&mut self, after: &str) -> Result<(), DbError> {
        match &self.guard {
            Some(g) => g.check(&mut self.conn, after).await,
            None => Err(DbError::TransactionLost {
                context: after.into(),
                message: "the session's transaction is already closed".into(),
            }),
        }
    }

    /// The definitions of the functions `sql` calls (see [`super::explain::function_catalog`]).
    pub async fn function_catalog(
        &mut self,
        sql: &str,
    ) -> Result<
        std::collections::HashMap<String, Vec<crate::sql::side_effects::FunctionDef>>,
        DbError,
    > {
        super::explain::function_catalog(&mut self.conn, sql).await
    }

    /// Relation locks this session holds on user tables and materialized views: (name, mode).
    pub async fn locks(&mut self) -> Result<Vec<(String, String)>, DbError> {
        let rows = sqlx::query(
            "SELECT c.oid::regclass::text, l.mode FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
             JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE l.pid = pg_backend_pid() AND l.locktype = 'relation' AND l.granted AND c.relkind IN ('r', 'p', 'm')
               AND n.nspname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1, 2",
        )
        .fetch_all(&mut self.conn)
        .await
        .map_err(q("reading pg_locks"))?;
        rows.iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
            .collect::<Result<_, sqlx::Error>>()
            .map_err(q("reading pg_locks"))
    }

    /// Each user table's storage file and estimated rows (a changed file is a rewrite).
    pub async fn relfilenodes(&mut self) -> Result<Vec<(String, i64, f64)>, DbError> {
        let rows = sqlx::query(
            "SELECT c.oid::regclass::text, c.relfilenode::int8, greatest(c.reltuples, 0)::float8 FROM pg_class c
             JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'",
        )
        .fetch_all(&mut self.conn)
        .await
        .map_err(q("reading pg_class"))?;
        rows.iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)))
            .collect::<Result<_, sqlx::Error>>()
            .map_err(q("reading pg_class"))
    }

    /// Constraints on user tables: (table, name, validated).
    pub async fn constraints(&mut self) -> Result<Vec<(String, String, bool)>, DbError> {
        let rows = sqlx::query(
            "SELECT con.conrelid::regclass::text, con.conname::text, con.convalidated FROM pg_constraint con
             JOIN pg_namespace n ON n.oid = con.connamespace
             WHERE con.conrelid <> 0 AND n.nspname NOT IN ('pg_catalog', 'information_schema')",
        )
        .fetch_all(&mut self.conn)
        .await
        .map_err(q("reading pg_constraint"))?;
        rows.iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)))
            .collect::<Result<_, sqlx::Error>>()
            .map_err(q("reading pg_constraint"))
    }

    /// COMMIT (instead of the rollback `close` does), after checking that the transaction is
    /// still this session's, and disconnect.
    pub async fn commit(mut self) -> Result<(), DbError> {
        if let Some(g) = self.guard.take() {
            g.commit(&mut self.conn).await?;
        }
        super::close(self.conn).await;
        Ok(())
    }

    /// Plan `sql` (generic plan when it has `$n` parameters) and return EXPLAIN's JSON.
    pub async fn plan(&mut self, sql: &str) -> Result<String, DbError> {
        let n = super::explain::param_count(sql);
        exec(&mut self.conn, "SAVEPOINT dbkit_plan")
            .await
            .map_err(q("SAVEPOINT"))?;
        let name = format!("dbkit_hypo_{}", self.next);
        self.next += 1;
        // PREPARE is not undone by ROLLBACK TO SAVEPOINT; DEALLOCATE runs once the transaction
        // is healthy again, and only when PREPARE succeeded (a DEALLOCATE of nothing would
        // abort the session's transaction and every query after it).
        let mut prepared = false;
        let result: Result<String, DbError> = async {
            if n == 0 {
                let row = sqlx::query(&format!("EXPLAIN (FORMAT JSON) {sql}"))
                    .persistent(false)
                    .fetch_one(&mut self.conn)
                    .await
                    .map_err(q("EXPLAIN"))?;
                row.try_get_unchecked::<String, _>(0).map_err(q("EXPLAIN"))
            } else {
                exec(
                    &mut self.conn,
                    "SET LOCAL plan_cache_mode = force_generic_plan",
                )
                .await
                .map_err(q("SET LOCAL plan_cache_mode"))?;
                exec(&mut self.conn, &format!("PREPARE {name} AS {sql}"))
                    .await
                    .map_err(q("PREPARE"))?;
                prepared = true;
                let nulls = vec!["NULL"; n].join(", ");
                let row = sqlx::query(&format!("EXPLAIN (FORMAT JSON) EXECUTE {name}({nulls})"))
                    .persistent(false)
                    .fetch_one(&mut self.conn)
                    .await
                    .map_err(q("EXPLAIN"));
                let row = row?;
                row.try_get_unchecked::<String, _>(0).map_err(q("EXPLAIN"))
            }
        }
        .await;
        match &result {
            Err(e) if e.is_fatal() => return result,
            Ok(_) => {
                exec(&mut self.conn, "RELEASE SAVEPOINT dbkit_plan")
                    .await
                    .map_err(q("RELEASE SAVEPOINT"))?;
            }
            Err(_) => {
                exec(&mut self.conn, "ROLLBACK TO SAVEPOINT dbkit_plan")
                    .await
                    .map_err(q("ROLLBACK TO SAVEPOINT"))?;
            }
        }
        if prepared {
            exec(&mut self.conn, &format!("DEALLOCATE {name}"))
                .await
                .map_err(q("DEALLOCATE"))?;
        }
        result
    }

    /// Create a hypothetical index from a plain `CREATE INDEX` statement: its oid and name.
    pub async fn create(&mut self, create_index: &str) -> Result<(i64, String), DbError> {
        let row =
            sqlx::query("SELECT indexrelid::int8, indexname::text FROM hypopg_create_index($1)")
                .bind(create_index)
                .fetch_one(&mut self.conn)
                .await
                .map_err(q("hypopg_create_index"))?;
        Ok((
            row.try_get(0).map_err(q("hypopg_create_index"))?,
            row.try_get(1).map_err(q("hypopg_create_index"))?,
        ))
    }

    /// The estimated size of a hypothetical index, bytes.
    pub async fn size(&mut self, oid: i64) -> Result<i64, DbError> {
        sqlx::query_scalar("SELECT hypopg_relation_size($1::oid)::int8")
            .bind(oid)
            .fetch_one(&mut self.conn)
            .await
            .map_err(q("hypopg_relation_size"))
    }

    /// Drop a hypothetical index.
    pub async fn drop_index(&mut self, oid: i64) -> Result<(), DbError> {
        sqlx::query("SELECT hypopg_drop_index($1::oid)")
            .bind(oid)
            .execute(&mut self.conn)
            .await
            .map_err(q("hypopg_drop_index"))?;
        Ok(())
    }

    /// Roll everything back (checking first that the transaction is still this session's)
    /// and disconnect.
    pub async fn close(mut self) -> Result<(), DbError> {
        let r = match self.guard.take() {
            Some(g) => g.rollback(&mut self.conn).await,
            None => Ok(()),
        };
        super::close(self.conn).await;
        r
    }
}
