//! dbkit's PostgreSQL-compatible shard hash against a real server: for thousands of keys of
//! each supported type, the remainder dbkit computes is the partition a `PARTITION BY HASH`
//! table with the same modulus puts the row in.

use dbkit::db::{self, ScratchCluster};
use dbkit::shard::hash::{self, KeyValue, HASH_PARTITION_SEED};

const MODULUS: u64 = 7;

/// Creates `t_<name>` partitioned by hash on `key` (one or more columns), fills it from
/// `fill`, and returns (key texts, remainder) per row as PostgreSQL routed them.
async fn routed(
    c: &mut sqlx::PgConnection,
    name: &str,
    columns: &str,
    key: &str,
    fill: &str,
) -> Vec<(Vec<Option<String>>, u64)> {
    let mut ddl = format!("CREATE TABLE t_{name} ({columns}) PARTITION BY HASH ({key});");
    for r in 0..MODULUS {
        ddl.push_str(&format!(
            "CREATE TABLE t_{name}_{r} PARTITION OF t_{name} FOR VALUES WITH (MODULUS {MODULUS}, REMAINDER {r});"
        ));
    }
    ddl.push_str(&format!("INSERT INTO t_{name} {fill};"));
    db::exec_script(c, name, &ddl).await.unwrap();
    let cols: Vec<&str> = key.split(',').map(str::trim).collect();
    let select = cols
        .iter()
        .map(|k| format!("{k}::text"))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!("SELECT tableoid::regclass::text, {select} FROM t_{name}");
    let rows = sqlx::query(&sql).fetch_all(&mut *c).await.unwrap();
    use sqlx::Row;
    rows.iter()
        .map(|row| {
            let part: String = row.get(0);
            let r: u64 = part.rsplit('_').next().unwrap().parse().unwrap();
            let keys = (1..=cols.len())
                .map(|i| row.get::<Option<String>, _>(i))
                .collect();
            (keys, r)
        })
        .collect()
}

fn check(rows: &[(Vec<Option<String>>, u64)], types: &[&str]) {
    assert!(rows.len() >= 2000, "only {} rows", rows.len());
    let mut per_remainder = [0usize; MODULUS as usize];
    for (keys, want) in rows {
        let key: Vec<KeyValue> = keys
            .iter()
            .zip(types)
            .map(|(k, t)| match k {
                Some(k) => KeyValue::parse(t, k).unwrap(),
                None => KeyValue::Null,
            })
            .collect();
        assert_eq!(
            hash::partition_remainder(&key, MODULUS),
            *want,
            "key {keys:?} ({types:?})"
        );
        per_remainder[*want as usize] += 1;
    }
    assert!(per_remainder.iter().all(|&n| n > 0), "{per_remainder:?}");
}

#[test]
fn dbkit_hash_matches_postgresql_hash_partitioning() {
    let cluster = ScratchCluster::start()
        .unwrap_or_else(|e| panic!("scratch PostgreSQL is required for this test: {e}"));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut c = db::connect(&cluster.conn_spec("postgres")).await.unwrap();

        // The raw extended hashes first, so a mismatch points at the function, not the fold.
        let seed = HASH_PARTITION_SEED as i64;
        for v in [0i64, 1, -1, 42, i64::MIN, i64::MAX, 4_294_967_296, -4_294_967_297] {
            let pg: i64 = sqlx::query_scalar("SELECT hashint8extended($1, $2)")
                .bind(v)
                .bind(seed)
                .fetch_one(&mut c)
                .await
                .unwrap();
            assert_eq!(KeyValue::Int8(v).hash_extended(HASH_PARTITION_SEED), Some(pg as u64), "int8 {v}");
        }
        for s in ["", "a", "abcd", "hello world!", "héllo wörld, ünïcode ✓ 日本語", "x'; DROP TABLE t; --"] {
            let pg: i64 = sqlx::query_scalar("SELECT hashtextextended($1, $2)")
                .bind(s)
                .bind(seed)
                .fetch_one(&mut c)
                .await
                .unwrap();
            assert_eq!(KeyValue::Text(s.into()).hash_extended(HASH_PARTITION_SEED), Some(pg as u64), "text {s:?}");
        }

        let int8 = routed(&mut c, "int8", "k bigint", "k",
            "SELECT g * 7919 - 10000000 FROM generate_series(1, 2500) g \
             UNION ALL SELECT v FROM unnest(ARRAY[0, -1, 9223372036854775807, -9223372036854775808, 4294967296]::bigint[]) v").await;
        check(&int8, &["bigint"]);

        let int4 = routed(&mut c, "int4", "k int", "k",
            "SELECT (g * 104729) % 2147483647 - 1000000000 FROM generate_series(1, 2500) g").await;
        check(&int4, &["int"]);

        // Lengths 0 to ~70 bytes cover every tail length of the 12-byte block hash; multibyte
        // characters and quotes included.
        let text = routed(&mut c, "text", "k text", "k",
            "SELECT repeat(md5(g::text), g % 3) || substr('äöü✓日本', 1, g % 7) || left(md5((g*3)::text), g % 13) || '''' FROM generate_series(1, 2500) g \
             UNION ALL SELECT ''").await;
        check(&text, &["text"]);

        let uuid = routed(&mut c, "uuid", "k uuid", "k",
            "SELECT md5(g::text)::uuid FROM generate_series(1, 2500) g").await;
        check(&uuid, &["uuid"]);

        // A two-column key with NULLs in either column.
        let multi = routed(&mut c, "multi", "a bigint, b text", "a, b",
            "SELECT CASE WHEN g % 11 = 0 THEN NULL ELSE g END, CASE WHEN g % 13 = 0 THEN NULL ELSE md5(g::text) END FROM generate_series(1, 2500) g").await;
        check(&multi, &["bigint", "text"]);

        db::close(c).await;
    });
}
