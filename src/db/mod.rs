//! Talking to PostgreSQL: the only module that uses sqlx. Connection settings (`conn`),
//! throw-away clusters ([`scratch`]), running scripts, and server information.

pub mod build;
pub(crate) mod catalog;
pub(crate) mod conn;
pub mod explain;
pub(crate) mod hypo;
pub mod initial_copy;
pub mod logical;
pub mod partitions;
pub mod reaper;
pub mod replication;
pub mod scratch;
pub(crate) mod shards;
pub mod steps;
pub mod tx;

pub use conn::{ConnSpec, Secret};
pub use scratch::{ScratchCluster, ScratchOptions};

use crate::view::{Report, Table};
use serde::Serialize;
use sqlx::{Connection, PgConnection, Row};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Database errors. Messages name the host, port, database and user, never the password.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// The connection string could not be read.
    #[error("invalid connection string: {reason}")]
    BadUrl {
        /// What is wrong with it.
        reason: String,
    },
    /// The server could not be reached or refused us.
    #[error("could not connect to {endpoint} (database {database}, user {user}): {message}")]
    Connect {
        /// `host:port` or the socket path.
        endpoint: String,
        /// The database.
        database: String,
        /// The user.
        user: String,
        /// What went wrong.
        message: String,
    },
    /// A statement failed.
    #[error("{context}: {message}")]
    Query {
        /// Where (file:line, or what was being done).
        context: String,
        /// The server's message.
        message: String,
    },
    /// The connection broke (the server stopped, the backend was terminated, the network went):
    /// nothing more can run on it.
    #[error("{context}: lost the connection to the server: {message}")]
    Lost {
        /// What was being done.
        context: String,
        /// What the driver or the server said.
        message: String,
    },
    /// The transaction dbkit opened is no longer the session's transaction: something ended
    /// it, so what ran after that may have been committed. dbkit stops at once.
    #[error(
        "{context}: the session is no longer in the transaction dbkit opened ({message}); stopped"
    )]
    TransactionLost {
        /// After what it was noticed.
        context: String,
        /// What was seen.
        message: String,
    },
}

impl DbError {
    /// True when the connection cannot be used any more (lost, or its transaction is not ours).
    pub fn is_fatal(&self) -> bool {
        matches!(self, DbError::Lost { .. } | DbError::TransactionLost { .. })
    }
}

/// Whether `e` means the connection is gone: an I/O or protocol failure, or the server saying
/// it is shutting down or terminated this backend (SQLSTATE class 08, 57P01–57P05).
pub(crate) fn is_connection_loss(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::PoolClosed => true,
        sqlx::Error::Database(d) => d.code().is_some_and(|c| {
            c.starts_with("08") || matches!(&*c, "57P01" | "57P02" | "57P03" | "57P05")
        }),
        _ => false,
    }
}

/// The error for a failed statement: [`DbError::Lost`] when the connection is gone, else
/// [`DbError::Query`] with the server's message.
pub(crate) fn query_error(context: &str, e: &sqlx::Error) -> DbError {
    if is_connection_loss(e) {
        DbError::Lost {
            context: context.to_string(),
            message: sqlx_message(e),
        }
    } else {
        DbError::Query {
            context: context.to_string(),
            message: sqlx_message(e),
        }
    }
}

/// `map_err` helper: `.map_err(q("reading pg_class"))`.
pub(crate) fn q(context: &str) -> impl Fn(sqlx::Error) -> DbError + Copy + '_ {
    move |e| query_error(context, &e)
}

/// Run one statement through the extended protocol (Parse/Bind/Execute, unnamed and not
/// cached), which the server refuses to run as more than one statement: a text that hides a
/// second statement is an error, never executed. Every statement dbkit sends goes through here
/// or through `sqlx::query` (the same protocol); the simple protocol is never used.
pub async fn exec(conn: &mut PgConnection, sql: &str) -> Result<u64, sqlx::Error> {
    sqlx::query(sql)
        .persistent(false)
        .execute(&mut *conn)
        .await
        .map(|r| r.rows_affected())
}

/// Default time allowed for connecting.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

pub(crate) fn sqlx_message(e: &sqlx::Error) -> String {
    match e {
        sqlx::Error::Database(d) => {
            let mut m = d.message().to_string();
            if let Some(code) = d.code() {
                m.push_str(&format!(" (SQLSTATE {code})"));
            }
            m
        }
        sqlx::Error::Io(io) => readable(&io.to_string()),
        sqlx::Error::Tls(t) => readable(&format!("TLS: {t}")),
        sqlx::Error::PoolTimedOut => "timed out".to_string(),
        other => readable(&other.to_string()),
    }
}

/// A driver message as a DBA reads it: no Rust source locations (`sqlx_postgres::x::y:95`),
/// and what to do for the common connection failures.
fn readable(message: &str) -> String {
    let words: Vec<&str> = message
        .split(' ')
        .filter(|w| !is_source_location(w.trim_matches(|c: char| "()[],;".contains(c))))
        .collect();
    let m = words
        .join(" ")
        .trim()
        .trim_end_matches(':')
        .trim()
        .to_string();
    let hint = if m.contains("does not support TLS") {
        Some("the server does not speak TLS: use sslmode=prefer, or sslmode=disable on a trusted network")
    } else if m.contains("Connection refused") {
        Some("nothing listens there: is the server running, and are host and port right?")
    } else if m.contains("failed to lookup address") || m.contains("Name or service not known") {
        Some("the host name does not resolve")
    } else if m.contains("certificate") && m.contains("TLS") {
        Some("the server's certificate is not trusted: give sslrootcert, or sslmode=require to skip verification")
    } else {
        None
    };
    match hint {
        Some(h) => format!("{h} ({m})"),
        None => m,
    }
}

/// `sqlx_postgres::connection::tls:95` or `src/foo.rs:12:5`: where in a library an error was
/// made, which means nothing to a user.
fn is_source_location(w: &str) -> bool {
    let Some((path, line)) = w.rsplit_once(':') else {
        return false;
    };
    let line_ok = !line.is_empty() && line.chars().all(|c| c.is_ascii_digit());
    let path = path.trim_end_matches(|c: char| c.is_ascii_digit() || c == ':');
    line_ok
        && ((path.contains("::")
            && path.split("::").all(|p| {
                !p.is_empty()
                    && p.chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            }))
            || path.ends_with(".rs"))
}

/// Connect, with the spec's timeout (or [`CONNECT_TIMEOUT`]).
pub async fn connect(spec: &ConnSpec) -> Result<PgConnection, DbError> {
    let opts = spec.to_options()?;
    let fail = |message: String| DbError::Connect {
        endpoint: spec.endpoint(),
        database: spec
            .dbname
            .clone()
            .or_else(|| spec.user.clone())
            .unwrap_or_else(|| "(default)".to_string()),
        user: spec.user.clone().unwrap_or_else(|| "(default)".to_string()),
        message: spec.scrub(&message),
    };
    let timeout = spec
        .connect_timeout
        .map_or(CONNECT_TIMEOUT, Duration::from_secs);
    tracing::debug!(target = %spec, "connecting");
    match tokio::time::timeout(timeout, PgConnection::connect_with(&opts)).await {
        Ok(Ok(c)) => Ok(c),
        Ok(Err(e)) => Err(fail(sqlx_message(&e))),
        Err(_) => Err(fail(format!("timed out after {} s", timeout.as_secs()))),
    }
}

/// Close a connection politely (errors ignored: the connection is going away anyway).
pub async fn close(conn: PgConnection) {
    let _ = conn.close().await;
}

/// Run every statement of a SQL script, one at a time (so `CREATE INDEX CONCURRENTLY` and
/// friends work), stopping at the first error, which names `file:line`. Returns the count.
pub async fn exec_script(conn: &mut PgConnection, file: &str, sql: &str) -> Result<usize, DbError> {
    let sp = crate::sql::split(sql);
    let total = sp.statements.len();
    let what = format!("running {file}, statement");
    for (i, s) in sp.statements.iter().enumerate() {
        crate::progress(&what, i, total);
        exec(conn, s.text)
            .await
            .map_err(|e| query_error(&format!("{file}:{}", s.span.start.line), &e))?;
    }
    crate::progress(&what, total, total);
    Ok(total)
}

/// What `dbkit ping` reports.
#[derive(Debug, Clone, Serialize)]
pub struct ServerInfo {
    /// Where we connected, without the password.
    pub target: String,
    /// `version()`.
    pub version: String,
    /// `server_version_num`.
    pub version_num: i32,
    /// `current_database()`.
    pub database: String,
    /// `current_user`.
    pub user: String,
    /// `pg_is_in_recovery()`: a replica.
    pub in_recovery: bool,
    /// Round trip of `SELECT 1`, milliseconds.
    pub latency_ms: f64,
    /// Time to connect, milliseconds.
    pub connect_ms: f64,
    /// Installed extensions (name and version).
    pub extensions: Vec<(String, String)>,
    /// With `--scratch`: milliseconds to start the cluster and load its scripts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scratch_start_ms: Option<f64>,
}

/// Connect and describe the server.
pub async fn ping(spec: &ConnSpec) -> Result<ServerInfo, DbError> {
    let t0 = Instant::now();
    let mut conn = connect(spec).await?;
    let connect_ms = t0.elapsed().as_secs_f64() * 1000.0;
    let q = q("reading server information");
    let t1 = Instant::now();
    exec(&mut conn, "SELECT 1").await.map_err(q)?;
    let latency_ms = t1.elapsed().as_secs_f64() * 1000.0;
    let row = sqlx::query(
        "SELECT version(), current_setting('server_version_num')::int, current_database()::text, current_user::text, pg_is_in_recovery()",
    )
    .fetch_one(&mut conn)
    .await
    .map_err(q)?;
    let exts = sqlx::query("SELECT extname::text, extversion FROM pg_extension ORDER BY 1")
        .fetch_all(&mut conn)
        .await
        .map_err(q)?;
    let info = ServerInfo {
        target: spec.to_string(),
        version: row.try_get(0).map_err(q)?,
        version_num: row.try_get(1).map_err(q)?,
        database: row.try_get(2).map_err(q)?,
        user: row.try_get(3).map_err(q)?,
        in_recovery: row.try_get(4).map_err(q)?,
        latency_ms,
        connect_ms,
        extensions: exts
            .iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
            .collect::<Result<_, sqlx::Error>>()
            .map_err(q)?,
        scratch_start_ms: None,
    };
    let _ = conn.close().await;
    Ok(info)
}

impl Report for ServerInfo {
    fn kind(&self) -> &'static str {
        "ping"
    }
    fn summary(&self) -> String {
        let started = self
            .scratch_start_ms
            .map(|ms| format!(" (scratch cluster started in {})", crate::view::fmt_ms(ms)))
            .unwrap_or_default();
        format!(
            "connected to {}{started} in {}; SELECT 1 took {}",
            self.target,
            crate::view::fmt_ms(self.connect_ms),
            crate::view::fmt_ms(self.latency_ms)
        )
    }
    fn tables(&self) -> Vec<Table> {
        let ext = self
            .extensions
            .iter()
            .map(|(n, v)| format!("{n} {v}"))
            .collect::<Vec<_>>()
            .join(", ");
        vec![Table::properties(
            "Server",
            [
                ("target", self.target.clone()),
                ("version", self.version.clone()),
                ("database", self.database.clone()),
                ("user", self.user.clone()),
                (
                    "role",
                    if self.in_recovery {
                        "replica".into()
                    } else {
                        "primary".into()
                    },
                ),
                ("connect", crate::view::fmt_ms(self.connect_ms)),
                ("SELECT 1", crate::view::fmt_ms(self.latency_ms)),
                ("extensions", ext),
            ],
        )]
    }
}

/// Read pg_stat_statements from a live server (PostgreSQL 12's and 13+'s column names).
pub async fn pg_stat_statements(
    spec: &ConnSpec,
) -> Result<Vec<crate::workload::pgss::PgssRow>, DbError> {
    let mut conn = connect(spec).await?;
    let version = explain::server_version_num(&mut conn).await?;
    let q = q("reading pg_stat_statements");
    let installed: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_stat_statements')",
    )
    .fetch_one(&mut conn)
    .await
    .map_err(q)?;
    if !installed {
        return Err(DbError::Query {
            context: format!("{}", spec),
            message: "pg_stat_statements is not installed in this database: add it to shared_preload_libraries and run CREATE EXTENSION pg_stat_statements".to_string(),
        });
    }
    let (total, min, max) = if version >= 130000 {
        ("total_exec_time", "min_exec_time", "max_exec_time")
    } else {
        ("total_time", "min_time", "max_time")
    };
    let sql = format!(
        "SELECT s.query, s.calls::int8, s.{total}::float8, s.{min}::float8, s.{max}::float8, s.rows::int8, r.rolname::text, d.datname::text \
         FROM pg_stat_statements s LEFT JOIN pg_roles r ON r.oid = s.userid LEFT JOIN pg_database d ON d.oid = s.dbid"
    );
    let rows = sqlx::query(&sql).fetch_all(&mut conn).await.map_err(q)?;
    let out = rows
        .iter()
        .map(|r| {
            Ok(crate::workload::pgss::PgssRow {
                query: r.try_get(0)?,
                calls: r.try_get::<i64, _>(1)?.max(0) as u64,
                total_ms: r.try_get(2)?,
                min_ms: r.try_get(3)?,
                max_ms: r.try_get(4)?,
                rows: r.try_get::<Option<i64>, _>(5)?.map(|v| v.max(0) as u64),
                user: r.try_get(6)?,
                database: r.try_get(7)?,
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()
        .map_err(q)?;
    close(conn).await;
    Ok(out)
}

/// What to load into a scratch cluster before use.
#[derive(Debug, Clone, Default)]
pub struct ScratchLoad {
    /// A schema script, run first.
    pub schema: Option<PathBuf>,
    /// A data script, run second.
    pub seed: Option<PathBuf>,
    /// Listen on this port instead of a free one.
    pub port: Option<u16>,
    /// postgresql.conf settings (name, value as text; quoted when written).
    pub settings: Vec<(String, String)>,
}

/// A `NAME=VALUE` setting for a scratch cluster's postgresql.conf: the name checked, the value
/// free of control characters (it is written quoted as a configuration-file string, so any text
/// is one value, never another line).
pub fn scratch_setting(arg: &str) -> Result<(String, String), String> {
    let (name, value) = arg
        .split_once('=')
        .ok_or_else(|| format!("'{arg}' is not NAME=VALUE"))?;
    let name = name.trim();
    if name.is_empty()
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.')
    {
        return Err(format!("'{name}' is not a setting name"));
    }
    if value.chars().any(char::is_control) {
        return Err(format!("the value of {name} holds a control character"));
    }
    Ok((name.to_string(), value.to_string()))
}

/// A value as a postgresql.conf string: quoted, quotes doubled, backslashes escaped.
fn conf_string(value: &str) -> String {
    format!("'{}'", value.replace('\\', "\\\\").replace('\'', "''"))
}

/// Which database a command works on: a user's (`url`, else `DATABASE_URL` or the libpq
/// environment), or a scratch cluster started for the command and loaded with `scratch`.
#[derive(Debug, Clone, Default)]
pub struct TargetRequest {
    /// The connection string (`None`: the environment).
    pub url: Option<String>,
    /// Start a scratch cluster with these scripts instead.
    pub scratch: Option<ScratchLoad>,
}

impl TargetRequest {
    /// Connect (or start the scratch cluster).
    pub async fn open(&self) -> Result<Target, crate::Error> {
        open_target(self.url.as_deref(), self.scratch.as_ref()).await
    }
}

/// A database to work on: a user's, or a scratch cluster kept alive as long as this value.
#[derive(Debug)]
pub struct Target {
    /// How to connect.
    pub spec: ConnSpec,
    /// The scratch cluster, when one was started.
    pub scratch: Option<ScratchCluster>,
}

/// Resolve `--url`/environment, or start a scratch cluster and load its scripts.
pub async fn open_target(
    url: Option<&str>,
    scratch: Option<&ScratchLoad>,
) -> Result<Target, crate::Error> {
    let Some(load) = scratch else {
        return Ok(Target {
            spec: ConnSpec::resolve(url)?,
            scratch: None,
        });
    };
    let opts = scratch::ScratchOptions {
        port: load.port,
        settings: load
            .settings
            .iter()
            .map(|(k, v)| (k.clone(), conf_string(v)))
            .collect(),
        ..Default::default()
    };
    let t0 = Instant::now();
    let cluster = tokio::task::spawn_blocking(move || ScratchCluster::start_with(opts))
        .await
        .map_err(|e| scratch::ScratchError::Step {
            step: "starting".to_string(),
            message: e.to_string(),
        })??;
    let spec = cluster.conn_spec("postgres");
    let mut conn = connect(&spec).await?;
    if cluster.notes().is_empty() {
        // The library is preloaded; make the view available to `workload top --scratch`.
        exec_script(
            &mut conn,
            "scratch setup",
            "CREATE EXTENSION IF NOT EXISTS pg_stat_statements",
        )
        .await?;
    }
    for path in [&load.schema, &load.seed].into_iter().flatten() {
        let bytes = std::fs::read(path).map_err(|source| crate::Error::Io {
            path: path.display().to_string(),
            source,
        })?;
        let text = crate::sql::span::check_utf8(&bytes)?;
        let t = Instant::now();
        let n = exec_script(&mut conn, &path.display().to_string(), text).await?;
        tracing::info!(
            file = %path.display(),
            statements = n,
            ms = t.elapsed().as_millis() as u64,
            "loaded into the scratch cluster"
        );
    }
    tracing::info!(
        port = cluster.port(),
        ms = t0.elapsed().as_millis() as u64,
        "scratch cluster ready"
    );
    let _ = conn.close().await;
    Ok(Target {
        spec,
        scratch: Some(cluster),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn driver_messages_read_as_advice() {
        assert_eq!(
            readable("error occurred while attempting to establish a TLS connection: server does not support TLS sqlx_postgres::connection::tls:95"),
            "the server does not speak TLS: use sslmode=prefer, or sslmode=disable on a trusted network (error occurred while attempting to establish a TLS connection: server does not support TLS)"
        );
        assert!(readable("Connection refused (os error 111)").starts_with("nothing listens there"));
        assert_eq!(
            readable("role \"x\" does not exist"),
            "role \"x\" does not exist"
        );
        assert!(!readable("bad thing at src/db/mod.rs:12:5").contains(".rs"));
        assert!(is_source_location("sqlx_core::net::socket:3"));
        assert!(!is_source_location("127.0.0.1:5432"));
        assert!(!is_source_location("host:5432"));
    }
}
