//! Running EXPLAIN safely: always inside a transaction that is rolled back, with
//! `SET LOCAL statement_timeout`, one statement at a time through the extended protocol (which
//! refuses a second statement smuggled into the text).
//!
//! Parameterized statements (`$1`…) run as `PREPARE` + `EXPLAIN … EXECUTE` with the given values;
//! without values they get a generic plan: `EXPLAIN (GENERIC_PLAN)` on PostgreSQL 16+, else
//! `plan_cache_mode = force_generic_plan` with NULL arguments (planned, not executed).
//!
//! Note: rolled-back work still advances sequences (an explained INSERT consumes identity values).

use super::tx::Guarded;
use super::{exec, q, DbError};
use crate::sql::lexer::{Lexer, TokenKind};
use crate::sql::side_effects::{body_calls, called_functions, FunctionDef, MAX_BODY_DEPTH};
use sqlx::{PgConnection, Row};
use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// How to explain.
#[derive(Debug, Clone)]
pub struct ExplainOptions {
    /// Execute the statement (ANALYZE, BUFFERS); false plans only.
    pub analyze: bool,
    /// `statement_timeout` for the statement.
    pub timeout: Duration,
    /// Values for `$1`, `$2`…, sent as bound parameters (typed by the server from the
    /// statement, as psql's `\bind` does), never spliced into the SQL text.
    pub params: Vec<String>,
    /// Execute statements whose effects survive the rollback (`setval`, dblink…) under
    /// ANALYZE instead of planning them only.
    pub allow_side_effects: bool,
}

impl Default for ExplainOptions {
    fn default() -> Self {
        ExplainOptions {
            analyze: true,
            timeout: Duration::from_secs(30),
            params: Vec::new(),
            allow_side_effects: false,
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

/// `sql` with each `$n` parameter written `($n::TYPE)`, `types[n-1]` being the type the server
/// inferred for it: the values can then be bound as text (the driver sends parameters in binary,
/// which only a text parameter reads as the user wrote it) and the server converts them, as it
/// would a quoted literal. Parameters are found by the lexer, never inside strings or comments.
pub fn cast_params(sql: &str, types: &[String]) -> String {
    let mut out = String::with_capacity(sql.len() + 16 * types.len());
    let mut last = 0;
    for t in Lexer::new(sql).filter(|t| t.kind == TokenKind::Param) {
        let text = t.text(sql);
        let Some(ty) = text[1..]
            .parse::<usize>()
            .ok()
            .and_then(|n| n.checked_sub(1))
            .and_then(|i| types.get(i))
        else {
            continue;
        };
        out.push_str(&sql[last..t.start]);
        out.push_str(&format!("({text}::{ty})"));
        last = t.end;
    }
    out.push_str(&sql[last..]);
    out
}

/// The server's version number (`150018`).
pub async fn server_version_num(conn: &mut PgConnection) -> Result<i32, DbError> {
    let v: String = sqlx::query_scalar("SELECT current_setting('server_version_num')")
        .fetch_one(&mut *conn)
        .await
        .map_err(q("reading server_version_num"))?;
    Ok(v.parse().unwrap_or(0))
}

/// The definitions of the functions `sql` calls and, through their SQL and PL/pgSQL bodies,
/// of the functions those call (up to [`MAX_BODY_DEPTH`] levels): what
/// [`crate::sql::side_effects::assess`] needs. A name the catalog does not have maps to no
/// definition.
pub async fn function_catalog(
    conn: &mut PgConnection,
    sql: &str,
) -> Result<HashMap<String, Vec<FunctionDef>>, DbError> {
    let mut out: HashMap<String, Vec<FunctionDef>> = HashMap::new();
    let mut ask: BTreeSet<String> = called_functions(sql);
    for _ in 0..=MAX_BODY_DEPTH {
        ask.retain(|n| !out.contains_key(n));
        if ask.is_empty() {
            break;
        }
        let names: Vec<String> = ask.iter().cloned().collect();
        let rows = sqlx::query(
            "SELECT p.proname::text, n.nspname::text, l.lanname::text, coalesce(p.prosrc, '') FROM pg_proc p \
             JOIN pg_namespace n ON n.oid = p.pronamespace JOIN pg_language l ON l.oid = p.prolang \
             WHERE p.proname = ANY($1)",
        )
        .bind(&names)
        .fetch_all(&mut *conn)
        .await
        .map_err(q("reading function definitions"))?;
        for n in &names {
            out.entry(n.clone()).or_default();
        }
        let mut next = BTreeSet::new();
        for r in &rows {
            let def = FunctionDef {
                schema: r.try_get(1).map_err(q("reading pg_proc"))?,
                language: r.try_get(2).map_err(q("reading pg_proc"))?,
                body: r.try_get(3).map_err(q("reading pg_proc"))?,
            };
            let name: String = r.try_get(0).map_err(q("reading pg_proc"))?;
            if matches!(def.language.as_str(), "sql" | "plpgsql") && def.schema != "pg_catalog" {
                next.extend(body_calls(&def.body));
            }
            out.entry(name).or_default().push(def);
        }
        ask = next;
    }
    Ok(out)
}

/// EXPLAIN one statement inside a rolled-back transaction.
///
/// The transaction is dbkit's own ([`Guarded`]): checked to still be the session's before the
/// rollback, so nothing in the statement can have ended it and committed work.
pub async fn explain(
    conn: &mut PgConnection,
    sql: &str,
    opts: &ExplainOptions,
) -> Result<Explained, DbError> {
    let version = server_version_num(conn).await?;
    let n_params = param_count(sql);
    if !opts.params.is_empty() && opts.params.len() != n_params {
        return Err(DbError::Query {
            context: "EXPLAIN".to_string(),
            message: format!(
                "the statement has {n_params} parameter(s) and {} --param value(s) were given",
                opts.params.len()
            ),
        });
    }
    let name = format!("dbkit_explain_{}", NEXT.fetch_add(1, Ordering::Relaxed));
    let guard = Guarded::begin(conn, opts.timeout).await?;
    // Behind a savepoint, so that after a failure the transaction can still prove it is ours.
    exec(conn, "SAVEPOINT dbkit_explain")
        .await
        .map_err(q("SAVEPOINT"))?;
    let mut prepared = false;
    let result = async {
        let mut options = vec!["VERBOSE", "SETTINGS", "FORMAT JSON"];
        let mode = if n_params > 0 && opts.params.is_empty() {
            "generic-plan"
        } else if opts.analyze {
            "analyze"
        } else {
            "plan-only"
        };
        if mode == "analyze" {
            options.splice(0..0, ["ANALYZE", "BUFFERS"]);
        }
        let target = if mode != "generic-plan" {
            if n_params == 0 {
                sql.to_string()
            } else {
                // The types the server infers for the parameters, from a PREPARE of the
                // statement (one statement, extended protocol), dropped at once.
                exec(conn, &format!("PREPARE {name} AS {sql}"))
                    .await
                    .map_err(q("PREPARE"))?;
                let types: Vec<String> = sqlx::query_scalar(
                    "SELECT t::text FROM pg_prepared_statements, unnest(parameter_types) WITH ORDINALITY AS u(t, i) WHERE name = $1 ORDER BY i",
                )
                .bind(&name)
                .fetch_all(&mut *conn)
                .await
                .map_err(q("reading the parameter types"))?;
                exec(conn, &format!("DEALLOCATE {name}"))
                    .await
                    .map_err(q("DEALLOCATE"))?;
                cast_params(sql, &types)
            }
        } else if version >= 160000 {
            options.insert(0, "GENERIC_PLAN");
            sql.to_string()
        } else {
            exec(conn, "SET LOCAL plan_cache_mode = force_generic_plan")
                .await
                .map_err(q("SET LOCAL plan_cache_mode"))?;
            exec(conn, &format!("PREPARE {name} AS {sql}"))
                .await
                .map_err(q("PREPARE"))?;
            prepared = true;
            let nulls = vec!["NULL"; n_params].join(", ");
            format!("EXECUTE {name}({nulls})")
        };
        let text = format!("EXPLAIN ({}) {target}", options.join(", "));
        let mut query = sqlx::query(&text).persistent(false);
        if mode != "generic-plan" {
            for p in &opts.params {
                query = query.bind(p.as_str());
            }
        }
        let row = query.fetch_one(&mut *conn).await.map_err(q("EXPLAIN"))?;
        // The result column is `json`; its text form is what we want.
        let json: String = row
            .try_get_unchecked(0)
            .map_err(q("reading the EXPLAIN result"))?;
        Ok(Explained { json, mode })
    }
    .await;
    // Always roll back, whatever happened; a lost connection has nothing to roll back.
    if matches!(result, Err(DbError::Lost { .. })) {
        return result;
    }
    if result.is_err() {
        exec(conn, "ROLLBACK TO SAVEPOINT dbkit_explain")
            .await
            .map_err(|e| match super::query_error("ROLLBACK TO SAVEPOINT", &e) {
                DbError::Query { context, message } => {
                    DbError::TransactionLost { context, message }
                }
                other => other,
            })?;
    }
    let rb = guard.rollback(conn).await;
    // Prepared statements outlive transactions: drop ours.
    if prepared {
        let _ = exec(conn, &format!("DEALLOCATE {name}")).await;
    }
    rb?;
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_are_cast_where_they_are_not_in_strings_or_comments() {
        let t = vec!["bigint".to_string(), "text".to_string()];
        assert_eq!(
            cast_params("SELECT '$1', $1 /* $2 */ FROM t WHERE a = $2 -- $1", &t),
            "SELECT '$1', ($1::bigint) /* $2 */ FROM t WHERE a = ($2::text) -- $1"
        );
        assert_eq!(cast_params("SELECT $3", &t), "SELECT $3");
    }
}
