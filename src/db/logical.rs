//! Shard moves on the servers, with PostgreSQL's logical replication: what a move reads from
//! the source (where the shard's rows are, the tables' definitions, whether it can replicate)
//! and every statement it runs on either node. The order of the steps, the journal and the
//! decisions are in `ops::shard_move`; the names and filters in `shard::moves`.
//!
//! Every statement is one statement on the extended protocol. Nothing here runs unless the
//! user passed `--execute`; the dry run prints the same statements instead.

use super::{exec, q, query_error, DbError};
use crate::shard::map::{Shard, ShardMap};
use crate::shard::moves::{self, Layout, MoveNames, Unit, DBKIT_SCHEMA, FENCE_FUNCTION};
use crate::sql::bound::PartitionBound;
use crate::sql::ident::{quote_ident, quote_literal, quote_qualified};
use sqlx::{PgConnection, Row};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// Session settings that make a row's text the same on both nodes (the checksums compare it).
const STABLE_TEXT: [&str; 5] = [
    "SET datestyle = 'ISO, YMD'",
    "SET intervalstyle = 'postgres'",
    "SET extra_float_digits = 3",
    "SET timezone = 'UTC'",
    "SET bytea_output = 'hex'",
];

/// Run `sql`, naming `what` in the error.
pub async fn run(conn: &mut PgConnection, what: &str, sql: &str) -> Result<u64, DbError> {
    tracing::debug!(sql, "shard move");
    exec(conn, sql).await.map_err(|e| query_error(what, &e))
}

/// Set the session so rows print the same way on every server.
pub async fn stable_text(conn: &mut PgConnection) -> Result<(), DbError> {
    for s in STABLE_TEXT {
        run(conn, "setting the session for checksums", s).await?;
    }
    Ok(())
}

/// What preflight reads on a node.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct NodeFacts {
    /// `server_version_num`.
    pub version_num: i32,
    /// `wal_level`.
    pub wal_level: String,
    /// Replication slots not in use (`max_replication_slots` − existing).
    pub free_slots: i64,
    /// WAL senders not in use.
    pub free_senders: i64,
    /// The connected user may create subscriptions (superuser on PostgreSQL 15).
    pub superuser: bool,
    /// The connected user may open replication connections.
    pub replication: bool,
}

/// Read a node's replication facts.
pub async fn node_facts(conn: &mut PgConnection) -> Result<NodeFacts, DbError> {
    let r = sqlx::query(
        "SELECT current_setting('server_version_num')::int4,
                current_setting('wal_level'),
                current_setting('max_replication_slots')::int8 - (SELECT count(*) FROM pg_replication_slots),
                current_setting('max_wal_senders')::int8 - (SELECT count(*) FROM pg_stat_replication),
                r.rolsuper, r.rolreplication OR r.rolsuper
           FROM pg_roles r WHERE r.rolname = current_user",
    )
    .fetch_one(&mut *conn)
    .await
    .map_err(q("reading the server's replication settings"))?;
    let g = q("reading the server's replication settings");
    Ok(NodeFacts {
        version_num: r.try_get(0).map_err(g)?,
        wal_level: r.try_get(1).map_err(g)?,
        free_slots: r.try_get(2).map_err(g)?,
        free_senders: r.try_get(3).map_err(g)?,
        superuser: r.try_get(4).map_err(g)?,
        replication: r.try_get(5).map_err(g)?,
    })
}

/// The search path used while reading definitions: every name outside `pg_catalog` comes back
/// schema-qualified, so the definitions run the same on the target.
pub async fn qualify_names(conn: &mut PgConnection) -> Result<(), DbError> {
    run(
        conn,
        "setting search_path",
        "SELECT pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', false)",
    )
    .await
    .map(|_| ())
}

/// The session's current schema (where an unqualified map table is), read before
/// [`qualify_names`] changes the search path.
pub async fn current_schema(conn: &mut PgConnection) -> Result<String, DbError> {
    let s: Option<String> = sqlx::query_scalar("SELECT current_schema()::text")
        .fetch_one(&mut *conn)
        .await
        .map_err(q("reading current_schema"))?;
    Ok(s.unwrap_or_else(|| "public".into()))
}

/// Find where `shard`'s rows of `table` are on the source: its partition, its `{table}_{id}`
/// table, or (hash, range and list maps) a slot of the plain table. `None` when the table is
/// not there. `current` is the schema of unqualified map tables.
pub async fn find_unit(
    conn: &mut PgConnection,
    map: &ShardMap,
    shard: &Shard,
    table: &str,
    key: &str,
    current: &str,
) -> Result<Option<Unit>, DbError> {
    let (schema, name) = moves::split_table(table, current);
    let (schema, name) = (schema.to_string(), name.to_string());
    let rel = sqlx::query(
        "SELECT c.oid::int8, c.relkind::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p')",
    )
    .bind(&schema)
    .bind(&name)
    .fetch_optional(&mut *conn)
    .await
    .map_err(q("finding the sharded table"))?;
    let Some(rel) = rel else { return Ok(None) };
    let oid: i64 = rel.try_get(0).map_err(q("finding the sharded table"))?;
    let kind: String = rel.try_get(1).map_err(q("finding the sharded table"))?;
    let mut unit = Unit {
        shard: shard.id,
        table: table.to_string(),
        key: key.to_string(),
        schema: schema.clone(),
        relation: name.clone(),
        parent: None,
        layout: Layout::Filtered,
        columns: Vec::new(),
        filter: None,
    };
    if kind == "p" {
        let parts = sqlx::query(
            "SELECT n.nspname::text, c.relname::text, pg_get_expr(c.relpartbound, c.oid)
               FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_namespace n ON n.oid = c.relnamespace
              WHERE i.inhparent = $1::int8::oid AND NOT EXISTS (
                    SELECT 1 FROM pg_trigger t WHERE t.tgrelid = c.oid AND t.tgname LIKE 'dbkit\\_move\\_%\\_fence')
              ORDER BY 2",
        )
        .bind(oid)
        .fetch_all(&mut *conn)
        .await
        .map_err(q("reading the table's partitions"))?;
        for p in parts {
            let bound: Option<String> = p.try_get(2).map_err(q("partitions"))?;
            let parsed = bound.as_deref().and_then(PartitionBound::parse);
            if parsed.is_some_and(|b| crate::shard::inspect::bound_is(map, shard, &b)) {
                unit.parent = Some(name.clone());
                unit.schema = p.try_get(0).map_err(q("partitions"))?;
                unit.relation = p.try_get(1).map_err(q("partitions"))?;
                unit.layout = Layout::Partition;
            }
        }
        if unit.layout != Layout::Partition {
            return Ok(None);
        }
    } else {
        let own = format!("{name}_{}", shard.id);
        let exists: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                             WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind = 'r')",
        )
        .bind(&schema)
        .bind(&own)
        .fetch_one(&mut *conn)
        .await
        .map_err(q("looking for the shard's own table"))?;
        if exists {
            unit.relation = own;
            unit.layout = Layout::ShardTable;
        } else {
            unit.filter = moves::slot_filter(map, shard, key, "");
            if unit.filter.is_none() {
                return Ok(None);
            }
        }
    }
    unit.columns = columns(conn, &unit.qualified())
        .await?
        .into_iter()
        .map(|c| c.name)
        .collect();
    Ok(Some(unit))
}

/// One column of a table as its definition needs it.
#[derive(Debug, Clone)]
pub struct Column {
    /// Name.
    pub name: String,
    /// The type, as `format_type` prints it.
    pub type_sql: String,
    /// NOT NULL.
    pub not_null: bool,
    /// The default expression (none for generated columns).
    pub default: Option<String>,
    /// The expression of a stored generated column.
    pub generated: Option<String>,
    /// `a` (ALWAYS) or `d` (BY DEFAULT) for identity columns.
    pub identity: String,
    /// A collation other than the type's.
    pub collation: Option<String>,
}

/// The columns of `relation` (quoted, qualified), in order.
pub async fn columns(conn: &mut PgConnection, relation: &str) -> Result<Vec<Column>, DbError> {
    let rows = sqlx::query(
        "SELECT a.attname::text, format_type(a.atttypid, a.atttypmod), a.attnotnull,
                CASE WHEN a.attgenerated = '' THEN pg_get_expr(d.adbin, d.adrelid) END,
                CASE WHEN a.attgenerated = 's' THEN pg_get_expr(d.adbin, d.adrelid) END,
                a.attidentity::text,
                CASE WHEN a.attcollation <> t.typcollation AND a.attcollation <> 0 THEN
                     (SELECT quote_ident(cn.nspname) || '.' || quote_ident(co.collname)
                        FROM pg_collation co JOIN pg_namespace cn ON cn.oid = co.collnamespace
                       WHERE co.oid = a.attcollation) END
           FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
           LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
          WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped
          ORDER BY a.attnum",
    )
    .bind(relation)
    .fetch_all(&mut *conn)
    .await
    .map_err(q("reading the table's columns"))?;
    let g = q("reading the table's columns");
    rows.iter()
        .map(|r| {
            Ok(Column {
                name: r.try_get(0).map_err(g)?,
                type_sql: r.try_get(1).map_err(g)?,
                not_null: r.try_get(2).map_err(g)?,
                default: r.try_get(3).map_err(g)?,
                generated: r.try_get(4).map_err(g)?,
                identity: r.try_get(5).map_err(g)?,
                collation: r.try_get(6).map_err(g)?,
            })
        })
        .collect()
}

/// A table's definition on the source, split into what the target needs before the copy and
/// after it.
#[derive(Debug, Clone, Default)]
pub struct TableDef {
    /// `CREATE TABLE …` with the columns, the primary key, unique, exclusion and check
    /// constraints (what replication and correctness need during the copy).
    pub create: String,
    /// Secondary indexes, built after the copy (`CREATE INDEX …` as the source prints them).
    pub indexes: Vec<String>,
    /// Foreign keys, added after the copy as `NOT VALID` (the rows were checked on the source).
    pub foreign_keys: Vec<String>,
    /// Column defaults left out: they call sequences that are not on the target.
    pub dropped_defaults: Vec<String>,
}

/// Read the definition of `relation` (quoted, qualified) to create it on the target as
/// `target_name`, a table of its own: a partition's inherited constraints are included (its
/// parent's primary key and checks, which attaching it later requires); a partitioned table
/// keeps its `PARTITION BY`.
pub async fn table_def(
    conn: &mut PgConnection,
    relation: &str,
    target_name: &str,
) -> Result<TableDef, DbError> {
    let mut def = TableDef::default();
    let mut items = Vec::new();
    {
        for c in columns(conn, relation).await? {
            let mut s = format!("{} {}", quote_ident(&c.name), c.type_sql);
            if let Some(coll) = &c.collation {
                s.push_str(&format!(" COLLATE {coll}"));
            }
            if let Some(g) = &c.generated {
                s.push_str(&format!(" GENERATED ALWAYS AS ({g}) STORED"));
            }
            match c.identity.as_str() {
                "a" => s.push_str(" GENERATED ALWAYS AS IDENTITY"),
                "d" => s.push_str(" GENERATED BY DEFAULT AS IDENTITY"),
                _ => {}
            }
            if let Some(d) = &c.default {
                if d.contains("nextval(") {
                    def.dropped_defaults.push(format!("{} DEFAULT {d}", c.name));
                } else {
                    s.push_str(&format!(" DEFAULT {d}"));
                }
            }
            if c.not_null {
                s.push_str(" NOT NULL");
            }
            items.push(s);
        }
    }
    let cons = sqlx::query(
        "SELECT conname::text, contype::text, pg_get_constraintdef(oid)
           FROM pg_constraint
          WHERE conrelid = $1::regclass
          ORDER BY CASE contype WHEN 'p' THEN 0 WHEN 'u' THEN 1 WHEN 'x' THEN 2 ELSE 3 END, conname",
    )
    .bind(relation)
    .fetch_all(&mut *conn)
    .await
    .map_err(q("reading the table's constraints"))?;
    let g = q("reading the table's constraints");
    for c in &cons {
        let name: String = c.try_get(0).map_err(g)?;
        let kind: String = c.try_get(1).map_err(g)?;
        let body: String = c.try_get(2).map_err(g)?;
        match kind.as_str() {
            "f" => def.foreign_keys.push(format!(
                "ALTER TABLE {target_name} ADD CONSTRAINT {} {body} NOT VALID",
                quote_ident(&name)
            )),
            // Constraints with an index go unnamed: index names are per schema, and the old
            // copy an earlier move left on this node may hold the source's names.
            "p" | "u" | "x" => items.push(body),
            "c" => items.push(format!("CONSTRAINT {} {body}", quote_ident(&name))),
            _ => {}
        }
    }
    let idx = sqlx::query(
        "SELECT pg_get_indexdef(i.indexrelid)
           FROM pg_index i
          WHERE i.indrelid = $1::regclass
            AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid AND c.contype IN ('p', 'u', 'x'))
          ORDER BY i.indexrelid",
    )
    .bind(relation)
    .fetch_all(&mut *conn)
    .await
    .map_err(q("reading the table's indexes"))?;
    for r in idx {
        def.indexes
            .push(r.try_get(0).map_err(q("reading indexes"))?);
    }
    let partkey: Option<String> = sqlx::query_scalar(
        "SELECT pg_get_partkeydef($1::regclass) WHERE (SELECT relkind FROM pg_class WHERE oid = $1::regclass) = 'p'",
    )
    .bind(relation)
    .fetch_optional(&mut *conn)
    .await
    .map_err(q("reading the partition key"))?
    .flatten();
    let mut create = format!("CREATE TABLE {target_name} ({})", items.join(", "));
    if let Some(k) = partkey {
        create.push_str(&format!(" PARTITION BY {k}"));
    }
    def.create = create;
    Ok(def)
}

/// Whether `relation` is attached as a partition.
pub async fn is_partition(conn: &mut PgConnection, relation: &str) -> Result<bool, DbError> {
    sqlx::query_scalar(
        "SELECT coalesce((SELECT relispartition FROM pg_class WHERE oid = to_regclass($1)), false)",
    )
    .bind(relation)
    .fetch_one(&mut *conn)
    .await
    .map_err(q("looking at the partition"))
}

/// The partition bound of `relation` as PostgreSQL prints it.
pub async fn partition_bound(conn: &mut PgConnection, relation: &str) -> Result<String, DbError> {
    sqlx::query_scalar(
        "SELECT pg_get_expr(relpartbound, oid) FROM pg_class WHERE oid = $1::regclass",
    )
    .bind(relation)
    .fetch_one(&mut *conn)
    .await
    .map_err(q("reading the partition bound"))
}

/// Whether a relation exists (`schema`, `name`).
pub async fn exists(conn: &mut PgConnection, schema: &str, name: &str) -> Result<bool, DbError> {
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                         WHERE n.nspname = $1 AND c.relname = $2)",
    )
    .bind(schema)
    .bind(name)
    .fetch_one(&mut *conn)
    .await
    .map_err(q("looking for a relation"))
}

/// Whether the query returns a row.
pub async fn any_row(conn: &mut PgConnection, what: &str, from: &str) -> Result<bool, DbError> {
    sqlx::query_scalar(&format!("SELECT EXISTS (SELECT 1 FROM {from})"))
        .fetch_one(&mut *conn)
        .await
        .map_err(|e| query_error(what, &e))
}

/// Why a relation cannot be replicated with UPDATE and DELETE (no primary key or replica
/// identity), or why its row filter cannot be published (the key is not in the replica
/// identity); `None` when it can.
pub async fn replica_identity_problem(
    conn: &mut PgConnection,
    unit: &Unit,
) -> Result<Option<String>, DbError> {
    let r = sqlx::query(
        "SELECT c.relreplident::text,
                (SELECT array_agg(a.attname::text) FROM pg_index i JOIN pg_attribute a
                   ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
                  WHERE i.indrelid = c.oid AND ((c.relreplident = 'd' AND i.indisprimary) OR (c.relreplident = 'i' AND i.indisreplident)))
           FROM pg_class c WHERE c.oid = $1::regclass",
    )
    .bind(unit.qualified())
    .fetch_one(&mut *conn)
    .await
    .map_err(q("reading the replica identity"))?;
    let ident: String = r.try_get(0).map_err(q("replica identity"))?;
    let cols: Option<Vec<String>> = r.try_get(1).map_err(q("replica identity"))?;
    let rel = unit.qualified();
    if ident == "f" {
        return Ok(None);
    }
    let Some(cols) = cols.filter(|c| !c.is_empty()) else {
        return Ok(Some(format!(
            "{rel} has no primary key or replica identity index, so logical replication cannot carry its UPDATEs and DELETEs: add a primary key, or run ALTER TABLE {rel} REPLICA IDENTITY FULL"
        )));
    };
    if unit.filter.is_some() && !cols.contains(&unit.key) {
        return Ok(Some(format!(
            "{rel} holds several shards and its replica identity ({}) does not include the shard key {}, so a publication row filter on the key cannot carry UPDATEs and DELETEs: make the key part of the primary key, or run ALTER TABLE {rel} REPLICA IDENTITY FULL",
            cols.join(", "),
            quote_ident(&unit.key)
        )));
    }
    Ok(None)
}

/// Size in bytes and estimated rows of the shard's part of `unit` (a filtered table: the
/// whole table's, scaled by the slot's share when it is a hash slot).
pub async fn unit_size(conn: &mut PgConnection, unit: &Unit) -> Result<(u64, u64), DbError> {
    let r = sqlx::query(
        "SELECT pg_total_relation_size(c.oid)::int8, greatest(c.reltuples, 0)::float8 FROM pg_class c WHERE c.oid = $1::regclass",
    )
    .bind(unit.qualified())
    .fetch_one(&mut *conn)
    .await
    .map_err(q("reading the table's size"))?;
    let bytes: i64 = r.try_get(0).map_err(q("size"))?;
    let rows: f64 = r.try_get(1).map_err(q("size"))?;
    Ok((bytes.max(0) as u64, rows as u64))
}

/// Create the dbkit schema, the move's marker table (one row) and, on the source, the fence
/// function.
pub async fn ensure_marker(
    conn: &mut PgConnection,
    names: &MoveNames,
    source: bool,
) -> Result<(), DbError> {
    for sql in marker_sql(names, source) {
        run(conn, "creating dbkit's marker table", &sql).await?;
    }
    Ok(())
}

/// The statements of [`ensure_marker`].
pub fn marker_sql(names: &MoveNames, source: bool) -> Vec<String> {
    let mut v = vec![
        format!("CREATE SCHEMA IF NOT EXISTS {}", quote_ident(DBKIT_SCHEMA)),
        format!(
            "CREATE TABLE IF NOT EXISTS {} (id int4 PRIMARY KEY, seq int8 NOT NULL)",
            names.marker()
        ),
    ];
    if source {
        v.push(format!(
            "INSERT INTO {} VALUES (1, 0) ON CONFLICT (id) DO NOTHING",
            names.marker()
        ));
        v.push(fence_function_sql());
    }
    v
}

/// The trigger function fencing a moved shard's old copy: every write raises, naming where
/// the shard went (its message is the trigger's argument). `SET dbkit.cleanup = on` lets
/// dbkit's own cleanup delete the rows.
pub fn fence_function_sql() -> String {
    format!(
        "CREATE OR REPLACE FUNCTION {}() RETURNS trigger LANGUAGE plpgsql AS $dbkit$
BEGIN
  IF current_setting('dbkit.cleanup', true) = 'on' THEN
    RETURN OLD;
  END IF;
  RAISE EXCEPTION USING ERRCODE = 'object_not_in_prerequisite_state', MESSAGE = TG_ARGV[0];
END
$dbkit$",
        quote_qualified(&[DBKIT_SCHEMA, FENCE_FUNCTION])
    )
}

/// The statements that fence `unit` on the source after the cutover: a trigger raising on
/// every write; for a plain table holding several shards, only on the shard's rows
/// (`filters`: the row filter on `NEW.` and on `OLD.`).
pub fn fence_sql(
    unit: &Unit,
    names: &MoveNames,
    message: &str,
    filters: Option<(String, String)>,
) -> Vec<String> {
    let func = quote_qualified(&[DBKIT_SCHEMA, FENCE_FUNCTION]);
    let rel = unit.qualified();
    let arg = quote_literal(message);
    match filters {
        None => vec![format!(
            "CREATE TRIGGER {} BEFORE INSERT OR UPDATE OR DELETE ON {rel} FOR EACH ROW EXECUTE FUNCTION {func}({arg})",
            quote_ident(&names.fence())
        )],
        Some((new, old)) => vec![
            format!(
                "CREATE TRIGGER {} BEFORE INSERT OR UPDATE ON {rel} FOR EACH ROW WHEN ({new}) EXECUTE FUNCTION {func}({arg})",
                quote_ident(&names.fence())
            ),
            format!(
                "CREATE TRIGGER {} BEFORE UPDATE OR DELETE ON {rel} FOR EACH ROW WHEN ({old}) EXECUTE FUNCTION {func}({arg})",
                quote_ident(&format!("{}_old", names.fence()))
            ),
        ],
    }
}

/// `CREATE PUBLICATION` for the units and the marker.
pub fn publication_sql(units: &[Unit], names: &MoveNames) -> String {
    let mut items: Vec<String> = units.iter().map(Unit::publication_item).collect();
    items.push(format!("TABLE {}", names.marker()));
    format!(
        "CREATE PUBLICATION {} FOR {} WITH (publish_via_partition_root = false)",
        quote_ident(names.name()),
        items.join(", ")
    )
}

/// `CREATE SUBSCRIPTION` on the target, with the source's connection string `conninfo`: on the
/// slot the move created, without a copy of its own (dbkit copies the rows at a snapshot that
/// matches a WAL position) and disabled until it is told where to start
/// (`db::initial_copy::start_subscription_sql`).
pub fn subscription_sql(names: &MoveNames, conninfo: &str, binary: bool) -> String {
    format!(
        "CREATE SUBSCRIPTION {n} CONNECTION {} PUBLICATION {n} WITH (slot_name = {}, create_slot = false, copy_data = false, enabled = false, streaming = on, binary = {binary})",
        quote_literal(conninfo),
        quote_literal(names.name()),
        n = quote_ident(names.name())
    )
}

/// Whether the publication exists.
pub async fn has_publication(conn: &mut PgConnection, name: &str) -> Result<bool, DbError> {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_publication WHERE pubname = $1)")
        .bind(name)
        .fetch_one(&mut *conn)
        .await
        .map_err(q("looking for the publication"))
}

/// Whether the subscription exists.
pub async fn has_subscription(conn: &mut PgConnection, name: &str) -> Result<bool, DbError> {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_subscription WHERE subname = $1)")
        .bind(name)
        .fetch_one(&mut *conn)
        .await
        .map_err(q("looking for the subscription"))
}

/// Whether the replication slot exists on the source, and whether it is in use.
pub async fn slot(conn: &mut PgConnection, name: &str) -> Result<Option<bool>, DbError> {
    sqlx::query_scalar("SELECT active FROM pg_replication_slots WHERE slot_name = $1")
        .bind(name)
        .fetch_optional(&mut *conn)
        .await
        .map_err(q("looking for the replication slot"))
}

/// The initial copy as the target sees it.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct CopyState {
    /// Tables of the subscription.
    pub tables: usize,
    /// Tables copied and streaming (`r`eady).
    pub ready: usize,
    /// Rows copied by the table copies running now.
    pub rows: u64,
    /// Bytes read by them.
    pub bytes: u64,
    /// After the copy: WAL bytes the slot had not confirmed.
    pub lag_bytes: u64,
    /// After the copy: milliseconds a change took to reach the target (the marker's trip).
    pub lag_ms: u64,
}

/// Where the subscription's initial copy is.
pub async fn copy_state(conn: &mut PgConnection, name: &str) -> Result<CopyState, DbError> {
    let r = sqlx::query(
        "SELECT (SELECT count(*) FROM pg_subscription_rel sr JOIN pg_subscription s ON s.oid = sr.srsubid WHERE s.subname = $1)::int8,
                (SELECT count(*) FROM pg_subscription_rel sr JOIN pg_subscription s ON s.oid = sr.srsubid WHERE s.subname = $1 AND sr.srsubstate = 'r')::int8,
                (SELECT coalesce(sum(p.tuples_processed), 0) FROM pg_stat_progress_copy p JOIN pg_stat_subscription ss ON ss.pid = p.pid JOIN pg_subscription s ON s.oid = ss.subid WHERE s.subname = $1)::int8,
                (SELECT coalesce(sum(p.bytes_processed), 0) FROM pg_stat_progress_copy p JOIN pg_stat_subscription ss ON ss.pid = p.pid JOIN pg_subscription s ON s.oid = ss.subid WHERE s.subname = $1)::int8",
    )
    .bind(name)
    .fetch_one(&mut *conn)
    .await
    .map_err(q("reading the subscription's copy state"))?;
    let g = q("reading the copy state");
    Ok(CopyState {
        tables: r.try_get::<i64, _>(0).map_err(g)? as usize,
        ready: r.try_get::<i64, _>(1).map_err(g)? as usize,
        rows: r.try_get::<i64, _>(2).map_err(g)?.max(0) as u64,
        bytes: r.try_get::<i64, _>(3).map_err(g)?.max(0) as u64,
        ..Default::default()
    })
}

/// An error the subscription's workers logged, if any is visible (`pg_stat_subscription_stats`
/// counts them; the message is in the target's server log).
pub async fn subscription_errors(conn: &mut PgConnection, name: &str) -> Result<i64, DbError> {
    sqlx::query_scalar(
        "SELECT coalesce((SELECT apply_error_count + sync_error_count FROM pg_stat_subscription_stats WHERE subname = $1), 0)::int8",
    )
    .bind(name)
    .fetch_one(&mut *conn)
    .await
    .map_err(q("reading the subscription's errors"))
}

/// Bump the marker on the source (committed at once); the new value.
pub async fn bump_marker(conn: &mut PgConnection, names: &MoveNames) -> Result<i64, DbError> {
    sqlx::query_scalar(&format!(
        "UPDATE {} SET seq = seq + 1 WHERE id = 1 RETURNING seq",
        names.marker()
    ))
    .fetch_one(&mut *conn)
    .await
    .map_err(q("bumping the move's marker on the source"))
}

/// The marker's value on the target.
pub async fn marker_seen(conn: &mut PgConnection, names: &MoveNames) -> Result<i64, DbError> {
    let v: Option<i64> =
        sqlx::query_scalar(&format!("SELECT seq FROM {} WHERE id = 1", names.marker()))
            .fetch_optional(&mut *conn)
            .await
            .map_err(q("reading the move's marker on the target"))?;
    Ok(v.unwrap_or(-1))
}

/// Bump the marker on the source and wait until the target has applied it: everything
/// committed on the source before is then on the target. The wait (an error after `limit`).
pub async fn catch_up(
    source: &mut PgConnection,
    target: &mut PgConnection,
    names: &MoveNames,
    limit: Duration,
) -> Result<Duration, DbError> {
    let seq = bump_marker(source, names).await?;
    wait_marker(target, names, seq, Instant::now() + limit)
        .await
        .map(|d| d.unwrap_or(limit))
        .and_then(|d| {
            if d >= limit {
                Err(DbError::Query {
                    context: "waiting for the target to catch up".into(),
                    message: format!(
                        "the target had not replayed the source's changes after {} ms (is the subscription running? see the target's server log)",
                        limit.as_millis()
                    ),
                })
            } else {
                Ok(d)
            }
        })
}

/// Poll the target until the marker reaches `seq` or `deadline` passes; how long it took
/// (`None` on the deadline).
pub async fn wait_marker(
    target: &mut PgConnection,
    names: &MoveNames,
    seq: i64,
    deadline: Instant,
) -> Result<Option<Duration>, DbError> {
    let start = Instant::now();
    loop {
        if marker_seen(target, names).await? >= seq {
            return Ok(Some(start.elapsed()));
        }
        if Instant::now() >= deadline {
            return Ok(None);
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// The number of chunks a unit's rows are compared in.
pub const CHUNKS: i32 = 64;

fn row_expr(unit: &Unit) -> String {
    let cols: Vec<String> = unit.columns.iter().map(|c| quote_ident(c)).collect();
    format!("ROW({})::text", cols.join(", "))
}

fn chunk_expr(unit: &Unit) -> String {
    format!(
        "(abs(hashtext({}::text)) % {CHUNKS})::int4",
        quote_ident(&unit.key)
    )
}

/// Row count and checksum per chunk of `unit` on one side (`only`: these chunks alone).
pub async fn chunk_sums(
    conn: &mut PgConnection,
    unit: &Unit,
    only: Option<&[i32]>,
) -> Result<BTreeMap<i32, moves::Chunk>, DbError> {
    let mut where_ = unit.filter.clone().map(|f| vec![f]).unwrap_or_default();
    if let Some(c) = only {
        let list: Vec<String> = c.iter().map(|c| c.to_string()).collect();
        where_.push(format!("{} IN ({})", chunk_expr(unit), list.join(", ")));
    }
    let w = if where_.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", where_.join(" AND "))
    };
    let sql = format!(
        "SELECT {} AS chunk, count(*)::int8, (sum(hashtextextended({}, 0)::numeric) % 18446744073709551616)::text
           FROM {}{w} GROUP BY 1",
        chunk_expr(unit),
        row_expr(unit),
        unit.qualified()
    );
    let rows = sqlx::query(&sql)
        .fetch_all(&mut *conn)
        .await
        .map_err(q("computing chunk checksums"))?;
    let mut out = BTreeMap::new();
    for r in rows {
        let g = q("reading chunk checksums");
        let chunk: i32 = r.try_get(0).map_err(g)?;
        let rows: i64 = r.try_get(1).map_err(g)?;
        let sum: String = r.try_get(2).map_err(g)?;
        let sum = sum.parse::<i128>().map_err(|_| DbError::Query {
            context: "reading chunk checksums".into(),
            message: format!("the checksum {sum:?} is not a number"),
        })? as u64;
        out.insert(chunk, moves::Chunk { rows, sum });
    }
    Ok(out)
}

/// Per key (as text) of the given chunks, the row's hash.
pub async fn row_hashes(
    conn: &mut PgConnection,
    unit: &Unit,
    chunks: &[i32],
    keys: Option<&[String]>,
) -> Result<BTreeMap<String, String>, DbError> {
    let pk = pk_text(conn, unit).await?;
    let mut where_ = unit.filter.clone().map(|f| vec![f]).unwrap_or_default();
    let list: Vec<String> = chunks.iter().map(|c| c.to_string()).collect();
    where_.push(format!("{} IN ({})", chunk_expr(unit), list.join(", ")));
    if let Some(k) = keys {
        let ks: Vec<String> = k.iter().map(|k| quote_literal(k)).collect();
        where_.push(format!("{pk} IN ({})", ks.join(", ")));
    }
    let sql = format!(
        "SELECT {pk}, hashtextextended({}, 0)::text FROM {} WHERE {}",
        row_expr(unit),
        unit.qualified(),
        where_.join(" AND ")
    );
    let rows = sqlx::query(&sql)
        .fetch_all(&mut *conn)
        .await
        .map_err(q("reading rows to compare"))?;
    // Rows with the same key (a table without a unique key) are kept as a sorted list, so
    // a duplicate on one side is a difference.
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for r in rows {
        let g = q("reading rows to compare");
        let k: String = r.try_get(0).map_err(g)?;
        let h: String = r.try_get(1).map_err(g)?;
        out.entry(k).or_default().push(h);
    }
    Ok(out
        .into_iter()
        .map(|(k, mut v)| {
            v.sort();
            (k, v.join(","))
        })
        .collect())
}

/// The expression naming a row: its replica identity (or primary key) columns as a record's
/// text (`(42,7)`: values with commas or quotes are quoted, so two keys never print alike); the
/// whole row when there is none.
async fn pk_text(conn: &mut PgConnection, unit: &Unit) -> Result<String, DbError> {
    let cols: Option<Vec<String>> = sqlx::query_scalar(
        "SELECT array_agg(a.attname::text ORDER BY array_position(i.indkey::int2[], a.attnum))
           FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
          WHERE i.indexrelid = (SELECT x.indexrelid FROM pg_index x
                                 WHERE x.indrelid = $1::regclass AND (x.indisprimary OR x.indisreplident)
                                 ORDER BY x.indisreplident DESC LIMIT 1)",
    )
    .bind(unit.qualified())
    .fetch_one(&mut *conn)
    .await
    .map_err(q("reading the primary key"))?;
    Ok(match cols.filter(|c| !c.is_empty()) {
        Some(c) => {
            let parts: Vec<String> = c.iter().map(|x| quote_ident(x)).collect();
            format!("ROW({})::text", parts.join(", "))
        }
        None => row_expr(unit),
    })
}

/// Row count of the shard's part of `unit`.
pub async fn count(conn: &mut PgConnection, unit: &Unit) -> Result<i64, DbError> {
    sqlx::query_scalar(&format!("SELECT count(*)::int8 FROM {}", unit.rows_sql()))
        .fetch_one(&mut *conn)
        .await
        .map_err(q("counting the shard's rows"))
}

/// The source's current WAL position and the slot's confirmed position: the lag in bytes.
pub async fn slot_lag(conn: &mut PgConnection, name: &str) -> Result<Option<i64>, DbError> {
    sqlx::query_scalar(
        "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn)::int8 FROM pg_replication_slots WHERE slot_name = $1",
    )
    .bind(name)
    .fetch_optional(&mut *conn)
    .await
    .map_err(q("reading the slot's lag"))
    .map(Option::flatten)
}

/// Drop the subscription on the target; when the source cannot be reached to drop its slot,
/// detach the slot from the subscription first (the slot is then dropped on the source
/// separately). Returns whether the slot was left to drop on the source.
pub async fn drop_subscription(conn: &mut PgConnection, name: &str) -> Result<bool, DbError> {
    if !has_subscription(conn, name).await? {
        return Ok(false);
    }
    let n = quote_ident(name);
    match exec(conn, &format!("DROP SUBSCRIPTION {n}")).await {
        Ok(_) => Ok(false),
        Err(e) if !super::is_connection_loss(&e) => {
            tracing::warn!(error = %super::sqlx_message(&e), "dropping the subscription with its slot failed; detaching the slot");
            run(
                conn,
                "disabling the subscription",
                &format!("ALTER SUBSCRIPTION {n} DISABLE"),
            )
            .await?;
            run(
                conn,
                "detaching the subscription from its slot",
                &format!("ALTER SUBSCRIPTION {n} SET (slot_name = NONE)"),
            )
            .await?;
            run(
                conn,
                "dropping the subscription",
                &format!("DROP SUBSCRIPTION {n}"),
            )
            .await?;
            Ok(true)
        }
        Err(e) => Err(query_error("dropping the subscription", &e)),
    }
}

/// Drop what the move created on the source: the publication, the slot (waiting a little for
/// its walsender to go) and the marker table.
pub async fn drop_source_objects(
    conn: &mut PgConnection,
    names: &MoveNames,
) -> Result<(), DbError> {
    run(
        conn,
        "dropping the publication",
        &format!("DROP PUBLICATION IF EXISTS {}", quote_ident(names.name())),
    )
    .await?;
    let deadline = Instant::now() + Duration::from_secs(10);
    while let Some(active) = slot(conn, names.name()).await? {
        if !active {
            sqlx::query("SELECT pg_drop_replication_slot($1)")
                .bind(names.name())
                .execute(&mut *conn)
                .await
                .map_err(q("dropping the replication slot"))?;
            break;
        }
        if Instant::now() > deadline {
            return Err(DbError::Query {
                context: "dropping the replication slot".into(),
                message: format!(
                    "slot {} is still in use after 10 s; drop it when its subscriber is gone: SELECT pg_drop_replication_slot({})",
                    names.name(),
                    quote_literal(names.name())
                ),
            });
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    run(
        conn,
        "dropping the marker table",
        &format!("DROP TABLE IF EXISTS {}", names.marker()),
    )
    .await?;
    Ok(())
}

/// Whether `unit`'s relation on this node carries this move's fence (the cutover committed).
pub async fn fenced(
    conn: &mut PgConnection,
    unit: &Unit,
    names: &MoveNames,
) -> Result<bool, DbError> {
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
                         WHERE t.tgname = $1 AND n.nspname = $2 AND c.relname = ANY ($3))",
    )
    .bind(names.fence())
    .bind(&unit.schema)
    .bind(vec![unit.relation.clone(), moved_name(&unit.relation, names)])
    .fetch_one(&mut *conn)
    .await
    .map_err(q("looking for the fence"))
}

/// The name the source's old copy gets after the cutover.
pub fn moved_name(relation: &str, names: &MoveNames) -> String {
    let suffix = format!("_moved_{}", names.name().trim_start_matches("dbkit_move_"));
    let mut base = relation.to_string();
    while base.len() + suffix.len() > 63 {
        base.pop();
    }
    format!("{base}{suffix}")
}

/// Relations on a node attached at `unit`'s bound of its parent (partition layout) that carry
/// a dbkit fence: a stale copy left by an earlier move, detached before the new copy.
pub async fn fenced_partitions(
    conn: &mut PgConnection,
    unit: &Unit,
    bound: &str,
) -> Result<Vec<String>, DbError> {
    let Some(parent) = &unit.parent else {
        return Ok(Vec::new());
    };
    sqlx::query_scalar(
        "SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname)
           FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE i.inhparent = to_regclass($1) AND pg_get_expr(c.relpartbound, c.oid) = $2
            AND EXISTS (SELECT 1 FROM pg_trigger t WHERE t.tgrelid = c.oid AND t.tgname LIKE 'dbkit\\_move\\_%\\_fence')",
    )
    .bind(quote_qualified(&[&unit.schema, parent]))
    .bind(bound)
    .fetch_all(&mut *conn)
    .await
    .map_err(q("looking for an old fenced copy"))
}

/// Whether the node's relation at `unit` has dbkit fence triggers of an earlier move (a stale
/// copy in a plain table).
pub async fn has_old_fence(conn: &mut PgConnection, unit: &Unit) -> Result<bool, DbError> {
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM pg_trigger t WHERE t.tgrelid = to_regclass($1) AND t.tgname LIKE 'dbkit\\_move\\_%\\_fence%')",
    )
    .bind(unit.qualified())
    .fetch_one(&mut *conn)
    .await
    .map_err(q("looking for an old fence"))
}

/// Drop every dbkit fence trigger on `unit`'s relation.
pub async fn drop_old_fences(conn: &mut PgConnection, unit: &Unit) -> Result<(), DbError> {
    let names: Vec<String> = sqlx::query_scalar(
        "SELECT t.tgname::text FROM pg_trigger t WHERE t.tgrelid = to_regclass($1) AND t.tgname LIKE 'dbkit\\_move\\_%\\_fence%'",
    )
    .bind(unit.qualified())
    .fetch_all(&mut *conn)
    .await
    .map_err(q("listing old fences"))?;
    for n in names {
        run(
            conn,
            "dropping an old fence",
            &format!("DROP TRIGGER {} ON {}", quote_ident(&n), unit.qualified()),
        )
        .await?;
    }
    Ok(())
}

/// Delete the shard's rows of a plain table, past its fence.
pub async fn delete_rows(conn: &mut PgConnection, unit: &Unit) -> Result<u64, DbError> {
    run(conn, "BEGIN", "BEGIN").await?;
    let r = async {
        run(
            conn,
            "allowing dbkit's cleanup past the fence",
            "SET LOCAL dbkit.cleanup = 'on'",
        )
        .await?;
        run(
            conn,
            "deleting the shard's rows",
            &format!("DELETE FROM {}", unit.rows_sql()),
        )
        .await
    }
    .await;
    match r {
        Ok(n) => {
            run(conn, "COMMIT", "COMMIT").await?;
            Ok(n)
        }
        Err(e) => {
            let _ = exec(conn, "ROLLBACK").await;
            Err(e)
        }
    }
}

/// Whether an error is a lock timeout (SQLSTATE 55P03).
pub fn is_lock_timeout(e: &DbError) -> bool {
    matches!(e, DbError::Query { message, .. } if message.contains("55P03"))
}

/// What a postgres_fdw coordinator needs from the nodes: each sharded table's columns (from the
/// first node holding it) and where each shard's rows are on its node. Read-only.
pub async fn read_layout(
    map: &ShardMap,
    urls: &BTreeMap<String, String>,
) -> Result<
    (
        BTreeMap<String, Vec<crate::shard::export::Column>>,
        Vec<crate::shard::export::Remote>,
    ),
    crate::Error,
> {
    use crate::shard::export::{Column as Col, Remote};
    let mut columns_of: BTreeMap<String, Vec<Col>> = BTreeMap::new();
    let mut remotes = Vec::new();
    for node in &map.nodes {
        let shards: Vec<&Shard> = map.shards.iter().filter(|s| s.node == node.name).collect();
        if shards.is_empty() {
            continue;
        }
        let spec = match urls.get(&node.name) {
            Some(u) => super::ConnSpec::resolve(Some(u))?,
            None => super::ConnSpec::for_server(node.url.as_deref(), node.url_env.as_deref())?,
        };
        let fail = |e: DbError| {
            crate::Error::Db(DbError::Query {
                context: format!("node {}", node.name),
                message: spec.scrub(&e.to_string()),
            })
        };
        let mut conn = super::connect(&spec).await.map_err(fail)?;
        run(&mut conn, "BEGIN", "BEGIN READ ONLY")
            .await
            .map_err(fail)?;
        let schema = current_schema(&mut conn).await.map_err(fail)?;
        qualify_names(&mut conn).await.map_err(fail)?;
        for s in shards {
            for (table, key) in moves::tables_of(map, s) {
                let unit = find_unit(&mut conn, map, s, &table, &key, &schema)
                    .await
                    .map_err(fail)?
                    .ok_or_else(|| crate::Error::Input {
                        path: format!("node {}", node.name),
                        message: format!("shard {}'s rows of {table} are not there (no partition with its bound, no {table}_{} table, no table {table})", s.id, s.id),
                    })?;
                if !columns_of.contains_key(&table) {
                    let (sch, name) = moves::split_table(&table, &schema);
                    let cols = columns(&mut conn, &quote_qualified(&[sch, name]))
                        .await
                        .map_err(fail)?;
                    columns_of.insert(
                        table.clone(),
                        cols.into_iter()
                            .map(|c| Col {
                                name: c.name,
                                type_sql: c.type_sql,
                                not_null: c.not_null,
                            })
                            .collect(),
                    );
                }
                remotes.push(Remote {
                    shard: s.id,
                    table: table.clone(),
                    node: node.name.clone(),
                    schema: unit.schema.clone(),
                    relation: unit.relation.clone(),
                    filter: unit.filter.clone(),
                });
            }
        }
        let _ = exec(&mut conn, "ROLLBACK").await;
        super::close(conn).await;
    }
    Ok((columns_of, remotes))
}
