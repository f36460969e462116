//! Reading what a shard map's nodes hold (`dbkit shard inspect`): per sharded table, whether it
//! exists, its partitions with their bounds, `{table}_{n}` tables beside it, sizes
//! (`pg_total_relation_size` over the leaves) and row estimates, and a sample of shard keys
//! from a plain table that holds several shards. Read-only: every node is read in a
//! `READ ONLY` transaction with a statement timeout; nodes are read concurrently.

use super::{close, connect, sqlx_message, ConnSpec, DbError};
use crate::shard::inspect::{
    requests, InspectReport, LiveRelation, LiveTable, NodeLive, NodeRequest, TableRequest,
};
use crate::shard::ShardMap;
use crate::sql::ident::{quote_ident, quote_literal, quote_qualified};
use sqlx::{Connection, PgConnection, Row};
use std::collections::BTreeMap;
use std::time::Duration;

/// How to read the nodes.
#[derive(Debug, Clone)]
pub struct InspectOptions {
    /// Connection URL per node name, over the map's (`--url-per-node NODE=URL`).
    pub urls: BTreeMap<String, String>,
    /// Keys to sample from a plain table holding several shards.
    pub sample_rows: u64,
    /// Statement timeout on every node.
    pub timeout: Duration,
    /// Allowed deviation from a node's target.
    pub threshold: f64,
}

fn q(what: &'static str) -> impl Fn(sqlx::Error) -> DbError {
    move |e| super::query_error(&format!("reading {what}"), &e)
}

/// Sizes and rows of relation `c` summed over its leaf partitions (itself when it is a plain
/// table, for which `pg_partition_tree` returns nothing): reltuples, or the live tuple count
/// for a never-analyzed leaf.
const SIZE_OF: &str = "(SELECT coalesce(sum(pg_total_relation_size(t.relid)), 0)::int8 AS bytes,
        coalesce(sum(CASE WHEN l.reltuples >= 0 THEN l.reltuples ELSE pg_stat_get_live_tuples(l.oid) END), 0)::float8 AS rows
   FROM (SELECT relid FROM pg_partition_tree(c.oid) WHERE isleaf UNION SELECT c.oid WHERE c.relkind = 'r') t
   JOIN pg_class l ON l.oid = t.relid)";

async fn read_table(
    conn: &mut PgConnection,
    req: &TableRequest,
    sample_rows: u64,
) -> Result<LiveTable, DbError> {
    let (schema, name) = match req.table.rsplit_once('.') {
        Some((s, t)) => (Some(s.to_string()), t.to_string()),
        None => (None, req.table.clone()),
    };
    let qualified = match &schema {
        Some(s) => quote_qualified(&[s, &name]),
        None => quote_ident(&name),
    };
    let me = sqlx::query(&format!(
        "SELECT c.oid::int8, c.relkind = 'p', s.bytes, s.rows FROM pg_class c, LATERAL {SIZE_OF} s
          WHERE c.oid = to_regclass($1) AND c.relkind IN ('r', 'p')"
    ))
    .bind(&qualified)
    .fetch_optional(&mut *conn)
    .await
    .map_err(q("the sharded table"))?;
    let mut t = LiveTable {
        table: req.table.clone(),
        ..Default::default()
    };
    let oid: Option<i64> = match &me {
        Some(r) => {
            t.present = true;
            t.partitioned = r.try_get(1).map_err(q("the sharded table"))?;
            t.bytes = r
                .try_get::<i64, _>(2)
                .map_err(q("the sharded table"))?
                .max(0) as u64;
            t.rows = r
                .try_get::<f64, _>(3)
                .map_err(q("the sharded table"))?
                .max(0.0) as u64;
            Some(r.try_get(0).map_err(q("the sharded table"))?)
        }
        None => None,
    };
    let rels = sqlx::query(&format!(
        "SELECT c.relname::text, CASE WHEN c.relispartition THEN pg_get_expr(c.relpartbound, c.oid) END, s.bytes, s.rows
           FROM pg_class c, LATERAL {SIZE_OF} s
          WHERE c.relkind IN ('r', 'p')
            AND (c.oid IN (SELECT inhrelid FROM pg_inherits WHERE inhparent = $1::int8::oid)
                 OR (c.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = coalesce($2, current_schema()))
                     AND NOT c.relispartition
                     AND left(c.relname, length($3) + 1) = $3 || '_'
                     AND substr(c.relname, length($3) + 2) ~ '^[0-9]+$'))
          ORDER BY 1"
    ))
    .bind(oid)
    .bind(&schema)
    .bind(&name)
    .fetch_all(&mut *conn)
    .await
    .map_err(q("partitions and shard tables"))?;
    for r in rels {
        t.relations.push(LiveRelation {
            name: r.try_get(0).map_err(q("partitions"))?,
            bound: r.try_get(1).map_err(q("partitions"))?,
            bytes: r.try_get::<i64, _>(2).map_err(q("partitions"))?.max(0) as u64,
            rows: r.try_get::<f64, _>(3).map_err(q("partitions"))?.max(0.0) as u64,
        });
    }
    if t.present {
        let has_key: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass($1) AND attname = $2 AND attnum > 0 AND NOT attisdropped)",
        )
        .bind(&qualified)
        .bind(&req.key)
        .fetch_one(&mut *conn)
        .await
        .map_err(q("the shard key column"))?;
        t.key_missing = !has_key;
    }
    if t.present && !t.partitioned && !t.key_missing && sample_rows > 0 {
        // SYSTEM sampling reads whole pages: cheap on a big table; all of a small one.
        let pct = if t.rows <= sample_rows {
            100.0
        } else {
            (100.0 * sample_rows as f64 / t.rows as f64).clamp(0.0001, 100.0)
        };
        let key = quote_ident(&req.key);
        let sql = format!(
            "SELECT {key}::text FROM {qualified} TABLESAMPLE SYSTEM ({pct}) REPEATABLE (0) WHERE {key} IS NOT NULL LIMIT {}",
            sample_rows.saturating_mul(2)
        );
        t.sample = sqlx::query_scalar(&sql)
            .fetch_all(&mut *conn)
            .await
            .map_err(|e| DbError::Query {
                context: format!(
                    "sampling {} of {}",
                    quote_literal(&req.key),
                    quote_literal(&req.table)
                ),
                message: sqlx_message(&e),
            })?;
    }
    Ok(t)
}

/// Reads one node; a connection or query failure becomes the node's `error` (secrets removed).
pub async fn observe(req: &NodeRequest, spec: &ConnSpec, opts: &InspectOptions) -> NodeLive {
    let mut live = NodeLive {
        node: req.node.clone(),
        ..Default::default()
    };
    let result: Result<(), DbError> = async {
        let mut conn = connect(spec).await?;
        let mut tx = conn.begin().await.map_err(q("(BEGIN)"))?;
        sqlx::query("SET TRANSACTION READ ONLY")
            .execute(&mut *tx)
            .await
            .map_err(q("(SET TRANSACTION)"))?;
        sqlx::query(&format!(
            "SET LOCAL statement_timeout = {}",
            opts.timeout.as_millis().max(1)
        ))
        .execute(&mut *tx)
        .await
        .map_err(q("(SET statement_timeout)"))?;
        live.server_version = sqlx::query_scalar("SELECT current_setting('server_version')")
            .fetch_one(&mut *tx)
            .await
            .map_err(q("the server version"))?;
        for t in &req.tables {
            live.tables
                .push(read_table(&mut tx, t, opts.sample_rows).await?);
        }
        tx.rollback().await.map_err(q("(ROLLBACK)"))?;
        close(conn).await;
        Ok(())
    }
    .await;
    if let Err(e) = result {
        live.error = Some(spec.scrub(&e.to_string()));
        live.tables.clear();
    }
    tracing::info!(node = %live.node, read = live.error.is_none(), "node inspected");
    live
}

/// Reads every node of `map` (concurrently) and matches what they hold to the map.
pub async fn inspect(map: &ShardMap, path: &str, opts: &InspectOptions) -> InspectReport {
    let mut tasks = tokio::task::JoinSet::new();
    for (i, req) in requests(map).into_iter().enumerate() {
        let node = map.nodes.iter().find(|n| n.name == req.node);
        let spec = match opts.urls.get(&req.node) {
            Some(u) => ConnSpec::resolve(Some(u)).map_err(|e| e.to_string()),
            None => ConnSpec::for_server(
                node.and_then(|n| n.url.as_deref()),
                node.and_then(|n| n.url_env.as_deref()),
            )
            .map_err(|e| e.to_string()),
        };
        let opts = opts.clone();
        tasks.spawn(async move {
            let live = match spec {
                Ok(spec) => observe(&req, &spec, &opts).await,
                Err(e) => NodeLive {
                    node: req.node.clone(),
                    error: Some(e),
                    ..Default::default()
                },
            };
            (i, live)
        });
    }
    let mut live = Vec::new();
    while let Some(done) = tasks.join_next().await {
        if let Ok(x) = done {
            live.push(x);
        }
    }
    live.sort_by_key(|(i, _)| *i);
    let mut live: Vec<NodeLive> = live.into_iter().map(|(_, l)| l).collect();
    for n in &map.nodes {
        if !live.iter().any(|l| l.node == n.name) {
            live.push(NodeLive {
                node: n.name.clone(),
                error: Some("the task reading it failed".into()),
                ..Default::default()
            });
        }
    }
    InspectReport::build(path, map, &live, opts.threshold)
}
