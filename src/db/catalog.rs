//! Loading the [`Catalog`] from a live server (PostgreSQL 12+).

use super::{query_error, DbError};
use crate::catalog::{Catalog, Column, ForeignKey, Index, IndexKey, Table};
use sqlx::{PgConnection, Row};

const USER_SCHEMAS: &str = "n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%' AND n.nspname NOT LIKE 'pg_temp%'";

fn q(what: &'static str) -> impl Fn(sqlx::Error) -> DbError {
    move |e| query_error(&format!("reading the catalog ({what})"), &e)
}

/// Read tables, columns (with pg_stats), indexes (with usage), foreign keys and extensions.
pub async fn load(conn: &mut PgConnection) -> Result<Catalog, DbError> {
    let head = sqlx::query(
        "SELECT current_database()::text, current_setting('server_version_num')::int,
                coalesce(d.stats_reset, pg_postmaster_start_time())::text,
                extract(epoch FROM now() - coalesce(d.stats_reset, pg_postmaster_start_time()))::float8 / 86400
         FROM pg_stat_database d WHERE d.datname = current_database()",
    )
    .fetch_one(&mut *conn)
    .await
    .map_err(q("database"))?;
    let mut cat = Catalog {
        database: head.try_get(0).map_err(q("database"))?,
        version_num: head.try_get(1).map_err(q("database"))?,
        stats_since: head.try_get(2).map_err(q("database"))?,
        stats_age_days: head.try_get(3).map_err(q("database"))?,
        ..Default::default()
    };
    cat.extensions = sqlx::query_scalar("SELECT extname::text FROM pg_extension ORDER BY 1")
        .fetch_all(&mut *conn)
        .await
        .map_err(q("extensions"))?;

    let rows = sqlx::query(&format!(
        "SELECT n.nspname::text, c.relname::text, greatest(c.reltuples, 0)::float8, pg_total_relation_size(c.oid)::int8,
                coalesce(s.seq_scan, 0)::int8, coalesce(s.idx_scan, 0)::int8, coalesce(s.n_tup_ins, 0)::int8,
                coalesce(s.n_tup_upd, 0)::int8, coalesce(s.n_tup_del, 0)::int8
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid
         WHERE c.relkind IN ('r', 'p') AND {USER_SCHEMAS} ORDER BY 1, 2"
    ))
    .fetch_all(&mut *conn)
    .await
    .map_err(q("tables"))?;
    for r in rows {
        cat.tables.push(Table {
            schema: r.try_get(0).map_err(q("tables"))?,
            name: r.try_get(1).map_err(q("tables"))?,
            rows: r.try_get(2).map_err(q("tables"))?,
            size_bytes: r.try_get(3).map_err(q("tables"))?,
            seq_scan: r.try_get(4).map_err(q("tables"))?,
            idx_scan: r.try_get(5).map_err(q("tables"))?,
            n_tup_ins: r.try_get(6).map_err(q("tables"))?,
            n_tup_upd: r.try_get(7).map_err(q("tables"))?,
            n_tup_del: r.try_get(8).map_err(q("tables"))?,
            columns: Vec::new(),
        });
    }

    let cols = sqlx::query(&format!(
        "SELECT n.nspname::text, c.relname::text, a.attname::text, format_type(a.atttypid, a.atttypmod), a.attnotnull,
                st.correlation::float8, st.n_distinct::float8, st.null_frac::float8
         FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
         LEFT JOIN pg_stats st ON st.schemaname = n.nspname AND st.tablename = c.relname AND st.attname = a.attname
         WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'p') AND {USER_SCHEMAS}
         ORDER BY 1, 2, a.attnum"
    ))
    .fetch_all(&mut *conn)
    .await
    .map_err(q("columns"))?;
    for r in cols {
        let (s, t): (String, String) = (
            r.try_get(0).map_err(q("columns"))?,
            r.try_get(1).map_err(q("columns"))?,
        );
        if let Some(table) = cat.tables.iter_mut().find(|x| x.schema == s && x.name == t) {
            table.columns.push(Column {
                name: r.try_get(2).map_err(q("columns"))?,
                type_name: r.try_get(3).map_err(q("columns"))?,
                not_null: r.try_get(4).map_err(q("columns"))?,
                correlation: r.try_get(5).map_err(q("columns"))?,
                n_distinct: r.try_get(6).map_err(q("columns"))?,
                null_frac: r.try_get(7).map_err(q("columns"))?,
            });
        }
    }

    let idx = sqlx::query(&format!(
        "SELECT n.nspname::text, ic.relname::text, tc.relname::text, am.amname::text, i.indisunique, i.indisprimary,
                i.indisvalid, i.indnkeyatts::int4, pg_get_indexdef(i.indexrelid),
                pg_get_expr(i.indpred, i.indrelid), con.conname::text, coalesce(s.idx_scan, 0)::int8,
                pg_relation_size(i.indexrelid)::int8,
                ARRAY(SELECT pg_get_indexdef(i.indexrelid, k, true) FROM generate_series(1, i.indnatts) k ORDER BY k),
                ARRAY(SELECT a.attname::text FROM unnest(i.indkey::int2[]) WITH ORDINALITY u(attnum, ord)
                      LEFT JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = u.attnum ORDER BY u.ord),
                ARRAY(SELECT unnest(i.indoption::int2[]))
         FROM pg_index i
         JOIN pg_class ic ON ic.oid = i.indexrelid JOIN pg_class tc ON tc.oid = i.indrelid
         JOIN pg_namespace n ON n.oid = tc.relnamespace JOIN pg_am am ON am.oid = ic.relam
         LEFT JOIN pg_constraint con ON con.conindid = i.indexrelid AND con.contype IN ('p', 'u', 'x')
         LEFT JOIN pg_stat_user_indexes s ON s.indexrelid = i.indexrelid
         WHERE {USER_SCHEMAS} ORDER BY 1, 3, 2"
    ))
    .fetch_all(&mut *conn)
    .await
    .map_err(q("indexes"))?;
    for r in idx {
        let nkey: i32 = r.try_get(7).map_err(q("indexes"))?;
        let defs: Vec<String> = r.try_get(13).map_err(q("indexes"))?;
        let names: Vec<Option<String>> = r.try_get(14).map_err(q("indexes"))?;
        let options: Vec<i16> = r.try_get(15).map_err(q("indexes"))?;
        let mut keys = Vec::new();
        let mut include = Vec::new();
        for (k, text) in defs.into_iter().enumerate() {
            if (k as i32) < nkey {
                let opt = options.get(k).copied().unwrap_or(0);
                keys.push(IndexKey {
                    column: names.get(k).cloned().flatten(),
                    text,
                    desc: opt & 1 != 0,
                    nulls_first: opt & 2 != 0,
                });
            } else {
                include.push(text);
            }
        }
        cat.indexes.push(Index {
            schema: r.try_get(0).map_err(q("indexes"))?,
            name: r.try_get(1).map_err(q("indexes"))?,
            table: r.try_get(2).map_err(q("indexes"))?,
            method: r.try_get(3).map_err(q("indexes"))?,
            unique: r.try_get(4).map_err(q("indexes"))?,
            primary: r.try_get(5).map_err(q("indexes"))?,
            valid: r.try_get(6).map_err(q("indexes"))?,
            definition: r.try_get(8).map_err(q("indexes"))?,
            predicate: r.try_get(9).map_err(q("indexes"))?,
            constraint: r.try_get(10).map_err(q("indexes"))?,
            scans: r.try_get(11).map_err(q("indexes"))?,
            size_bytes: r.try_get(12).map_err(q("indexes"))?,
            keys,
            include,
        });
    }

    let fks = sqlx::query(&format!(
        "SELECT n.nspname::text, c.relname::text, con.conname::text,
                ARRAY(SELECT a.attname::text FROM unnest(con.conkey) WITH ORDINALITY u(attnum, ord)
                      JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = u.attnum ORDER BY u.ord),
                rc.relname::text
         FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
         JOIN pg_class rc ON rc.oid = con.confrelid
         WHERE con.contype = 'f' AND {USER_SCHEMAS} ORDER BY 1, 2, 3"
    ))
    .fetch_all(&mut *conn)
    .await
    .map_err(q("foreign keys"))?;
    for r in fks {
        cat.foreign_keys.push(ForeignKey {
            schema: r.try_get(0).map_err(q("foreign keys"))?,
            table: r.try_get(1).map_err(q("foreign keys"))?,
            name: r.try_get(2).map_err(q("foreign keys"))?,
            columns: r.try_get(3).map_err(q("foreign keys"))?,
            references: r.try_get(4).map_err(q("foreign keys"))?,
        });
    }
    Ok(cat)
}
