//! Building indexes for real (`--apply`): one at a time, `CREATE INDEX CONCURRENTLY` outside any
//! transaction, with `lock_timeout`; a failed concurrent build leaves an invalid index, which is
//! detected and dropped.

use super::{connect, exec, q, sqlx_message, ConnSpec, DbError};
use crate::ddl::index::{drop_sql, IndexSpec};
use serde::Serialize;

/// What happened to one index.
#[derive(Debug, Clone, Serialize)]
pub struct Applied {
    /// The statement.
    pub ddl: String,
    /// What happened.
    pub status: BuildStatus,
    /// Seconds it took.
    pub seconds: f64,
    /// The error, if any.
    pub error: Option<String>,
}

/// What happened to one index build.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum BuildStatus {
    /// Built and valid.
    Built,
    /// The build failed; its invalid leftover was dropped.
    Failed,
    /// The statement could not run at all.
    Error,
}

impl std::fmt::Display for BuildStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            BuildStatus::Built => "built",
            BuildStatus::Failed => "failed",
            BuildStatus::Error => "error",
        })
    }
}

/// Build `specs` in order, reporting each through `progress`.
pub async fn build_indexes(
    spec: &ConnSpec,
    specs: &[IndexSpec],
    lock_timeout: &str,
    progress: &dyn Fn(&Applied),
) -> Result<Vec<Applied>, DbError> {
    let mut conn = connect(spec).await?;
    exec(
        &mut conn,
        &format!(
            "SET lock_timeout = {}",
            crate::sql::ident::quote_literal(lock_timeout)
        ),
    )
    .await
    .map_err(q("SET lock_timeout"))?;
    let mut out = Vec::new();
    for s in specs {
        let ddl = s.create_sql();
        let t0 = std::time::Instant::now();
        let res = exec(&mut conn, &ddl).await;
        let invalid: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
                            JOIN pg_namespace n ON n.oid = c.relnamespace
                            WHERE NOT i.indisvalid AND c.relname = $1 AND n.nspname = $2)",
        )
        .bind(s.name())
        .bind(&s.schema)
        .fetch_one(&mut conn)
        .await
        .unwrap_or(false);
        let seconds = t0.elapsed().as_secs_f64();
        let a = match (res, invalid) {
            (Ok(_), false) => Applied {
                ddl,
                status: BuildStatus::Built,
                seconds,
                error: None,
            },
            (res, true) => {
                let drop = drop_sql(&s.schema, &s.name());
                // Dropping waits for old transactions too (under the same lock_timeout): say
                // so when the invalid index is still there.
                let dropped = match exec(&mut conn, &drop).await {
                    Ok(_) => "the invalid index was dropped".to_string(),
                    Err(e) => format!(
                        "the invalid index is still there ({}): drop it with {drop}",
                        sqlx_message(&e)
                    ),
                };
                let why = res.err().map_or_else(
                    || "the build left an invalid index".to_string(),
                    |e| sqlx_message(&e),
                );
                Applied {
                    ddl,
                    status: BuildStatus::Failed,
                    seconds,
                    error: Some(format!("{why}; {dropped}")),
                }
            }
            (Err(e), false) => Applied {
                ddl,
                status: BuildStatus::Error,
                seconds,
                error: Some(sqlx_message(&e)),
            },
        };
        progress(&a);
        out.push(a);
    }
    super::close(conn).await;
    Ok(out)
}
