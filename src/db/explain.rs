//! Running EXPLAIN safely: always inside a transaction that is rolled back, with
//! `SET LOCAL statement_timeout`, one statement at a time through the extended protocol (which
//! refuses a second statement smuggled into the text).
//!
//! Parameterized statements (`$1`…) run as `PREPARE` + `EXPLAIN … EXECUTE` with the given values;
//! without values they get a generic plan: `EXPLAIN (GENERIC_PLAN)` on PostgreSQL 16+, else
//! `plan_cache_mode = force_generic_plan` with NULL arguments (planned, not executed).
//!
//! Note: rolled-back work still advances sequences (an explained INSERT consumes identity values).

use super::{sqlx_message, DbError};
use crate::sql::ident::quote_literal;
use crate::sql::lexer::{Lexer, TokenKind};
use sqlx::{Connection, Executor, PgConnection, Row};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// How to explain.
#[derive(Debug, Clone)]
pub struct ExplainOptions {
    /// Execute the statement (ANALYZE, BUFFERS); false plans only.
    pub analyze: bool,
    /// `statement_timeout` for the statement.
    pub timeout: Duration,
    /// Values for `$1`, `$2`…, as SQL literals' text (quoted by dbkit).
    pub params: Vec<String>,
}

impl Default for ExplainOptions {
    fn default() -> Self {
        ExplainOptions {
            analyze: true,
            timeout: Duration::from_secs(30),
            params: Vec::new(),
        }
    }
}

/// What EXPLAIN returned.
#[derive(Debug, Clone)]
pub struct Explained {
    /// The raw JSON text PostgreSQL returned.
    pub json: String,
    /// How it was run: `analyze`, `plan-only`, `generic-plan`.
    pub mode: &'static str,
}

/// The highest `$n` in a statement.
pub fn param_count(sql: &str) -> usize {
    Lexer::new(sql)
        .filter(|t| t.kind == TokenKind::Param)
        .filter_map(|t| t.text(sql)[1..].parse::<usize>().ok())
        .max()
        .unwrap_or(0)
}

static NEXT: AtomicU64 = AtomicU64::new(1);

fn q(context: &str) -> impl Fn(sqlx::Error) -> DbError + '_ {
    move |e| DbError::Query {
        context: context.to_string(),
        message: sqlx_message(&e),
    }
}

/// The server's version number (`150018`).
pub async fn server_version_num(conn: &mut PgConnection) -> Result<i32, DbError> {
    let v: String = sqlx::query_scalar("SELECT current_setting('server_version_num')")
        .fetch_one(&mut *conn)
        .await
        .map_err(q("reading server_version_num"))?;
    Ok(v.parse().unwrap_or(0))
}

/// EXPLAIN one statement inside a rolled-back transaction.
pub async fn explain(
    conn: &mut PgConnection,
    sql: &str,
    opts: &ExplainOptions,
) -> Result<Explained, DbError> {
    let version = server_version_num(conn).await?;
    let n_params = param_count(sql);
    if n_params > 0 && !opts.params.is_empty() && opts.params.len() != n_params {
        return Err(DbError::Query {
            context: "EXPLAIN".to_string(),
            message: format!(
                "the statement has {n_params} parameter(s) and {} --param value(s) were given",
                opts.params.len()
            ),
        });
    }
    let name = format!("dbkit_explain_{}", NEXT.fetch_add(1, Ordering::Relaxed));
    let mut tx = conn.begin().await.map_err(q("BEGIN"))?;
    let result = async {
        let ms = opts.timeout.as_millis().max(1);
        tx.execute(sqlx::raw_sql(&format!(
            "SET LOCAL statement_timeout = {ms}"
        )))
        .await
        .map_err(q("SET LOCAL statement_timeout"))?;
        let mut options = vec!["VERBOSE", "SETTINGS", "FORMAT JSON"];
        let (target, mode) = if n_params == 0 {
            if opts.analyze {
                options.splice(0..0, ["ANALYZE", "BUFFERS"]);
            }
            (
                sql.to_string(),
                if opts.analyze { "analyze" } else { "plan-only" },
            )
        } else if !opts.params.is_empty() {
            tx.execute(sqlx::query(&format!("PREPARE {name} AS {sql}")).persistent(false))
                .await
                .map_err(q("PREPARE"))?;
            if opts.analyze {
                options.splice(0..0, ["ANALYZE", "BUFFERS"]);
            }
            let args: Vec<String> = opts.params.iter().map(|p| quote_literal(p)).collect();
            (
                format!("EXECUTE {name}({})", args.join(", ")),
                if opts.analyze { "analyze" } else { "plan-only" },
            )
        } else if version >= 160000 {
            options.insert(0, "GENERIC_PLAN");
            (sql.to_string(), "generic-plan")
        } else {
            tx.execute(sqlx::raw_sql(
                "SET LOCAL plan_cache_mode = force_generic_plan",
            ))
            .await
            .map_err(q("SET LOCAL plan_cache_mode"))?;
            tx.execute(sqlx::query(&format!("PREPARE {name} AS {sql}")).persistent(false))
                .await
                .map_err(q("PREPARE"))?;
            let nulls = vec!["NULL"; n_params].join(", ");
            (format!("EXECUTE {name}({nulls})"), "generic-plan")
        };
        let text = format!("EXPLAIN ({}) {target}", options.join(", "));
        let row = sqlx::query(&text)
            .persistent(false)
            .fetch_one(&mut *tx)
            .await
            .map_err(q("EXPLAIN"))?;
        // The result column is `json`; its text form is what we want.
        let json: String = row
            .try_get_unchecked(0)
            .map_err(q("reading the EXPLAIN result"))?;
        Ok(Explained { json, mode })
    }
    .await;
    // Always roll back, whatever happened.
    let rb = tx.rollback().await.map_err(q("ROLLBACK"));
    // Prepared statements outlive transactions: drop ours (it may not exist).
    if n_params > 0 {
        let _ = conn
            .execute(sqlx::raw_sql(&format!("DEALLOCATE {name}")))
            .await;
    }
    let out = result?;
    rb?;
    Ok(out)
}
