//! `dbkit shard export` applied for real: a postgres_fdw coordinator over two scratch nodes
//! holding a hash-sharded table three ways (partitions, a `{table}_{id}` table, a slot of a
//! shared plain table) returns every node's rows, finds each key, and touches only the key's
//! node; PL/Proxy's configuration routes `RUN ON dbkit.shard_partition(key)` to the node the
//! map names for every key. Which shard a key belongs to is PostgreSQL's
//! `satisfies_hash_partition`.

use dbkit::db::{self, ScratchCluster};
use dbkit::shard::ShardMap;

fn start() -> ScratchCluster {
    ScratchCluster::start().unwrap_or_else(|e| panic!("scratch PostgreSQL is required: {e}"))
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn exec(c: &ScratchCluster, sql: &str) {
    rt().block_on(async {
        let mut conn = db::connect(&c.conn_spec("postgres")).await.unwrap();
        db::exec_script(&mut conn, "setup", sql)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        db::close(conn).await;
    })
}

fn texts(c: &ScratchCluster, sql: &str) -> Vec<String> {
    rt().block_on(async {
        let mut conn = db::connect(&c.conn_spec("postgres")).await.unwrap();
        let v: Vec<String> = sqlx::query_scalar(sql)
            .fetch_all(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
        db::close(conn).await;
        v
    })
}

fn dbkit(args: &[&str]) -> (Option<i32>, String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_dbkit"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

const KEYS: &str = "generate_series(1, 4000) g";

fn of(r: u64) -> String {
    format!("satisfies_hash_partition('h'::regclass, 4, {r}, g::int8)")
}

#[test]
fn a_postgres_fdw_coordinator_and_plproxy_serve_the_map() {
    let a = start();
    let b = start();
    let c = start();
    // a: shards 0 and 1 as partitions; b: shard 2 as orders_2, shard 3 in its plain table.
    exec(&a, &format!("CREATE TABLE h (k int8) PARTITION BY HASH (k);
        CREATE TABLE orders (customer_id int8 NOT NULL, note text, PRIMARY KEY (customer_id)) PARTITION BY HASH (customer_id);
        CREATE TABLE orders_p0 PARTITION OF orders FOR VALUES WITH (MODULUS 4, REMAINDER 0);
        CREATE TABLE orders_p1 PARTITION OF orders FOR VALUES WITH (MODULUS 4, REMAINDER 1);
        INSERT INTO orders SELECT g, 'a' FROM {KEYS} WHERE {} OR {};
        CREATE FUNCTION node_of(k int8) RETURNS text LANGUAGE sql AS $$ SELECT 'a' $$;", of(0), of(1)));
    exec(
        &b,
        &format!(
            "CREATE TABLE h (k int8) PARTITION BY HASH (k);
        CREATE TABLE orders (customer_id int8 NOT NULL, note text, PRIMARY KEY (customer_id));
        CREATE TABLE orders_2 (LIKE orders INCLUDING ALL);
        INSERT INTO orders_2 SELECT g, 'b2' FROM {KEYS} WHERE {};
        INSERT INTO orders SELECT g, 'b3' FROM {KEYS} WHERE {};
        CREATE FUNCTION node_of(k int8) RETURNS text LANGUAGE sql AS $$ SELECT 'b' $$;",
            of(2),
            of(3)
        ),
    );
    let dir = tempfile::tempdir().unwrap();
    let map = dir.path().join("map.toml");
    let mut text = format!("version = 5\n[tables]\norders = \"customer_id\"\n[[nodes]]\nname = \"a\"\nurl = \"{}\"\n[[nodes]]\nname = \"b\"\nurl = \"{}\"\n", a.url(), b.url());
    for (id, node) in [(0, "a"), (1, "a"), (2, "b"), (3, "b")] {
        text.push_str(&format!("[[shards]]\nid = {id}\nnode = \"{node}\"\nhash = {{ modulus = 4, remainder = {id} }}\n"));
    }
    std::fs::write(&map, text).unwrap();
    let m = map.to_str().unwrap();

    // postgres_fdw: the node part (a view for the shared table's shard) on b, the rest on c.
    let (code, out, err) = dbkit(&[
        "shard",
        "export",
        "--map",
        m,
        "--to",
        "postgres_fdw",
        "--format",
        "json",
    ]);
    assert_eq!(code, Some(0), "{err}");
    let r: serde_json::Value = serde_json::from_str(&out).unwrap();
    exec(&b, r["nodes"]["b"].as_str().unwrap());
    exec(&c, r["coordinator"].as_str().unwrap());
    exec(&c, "CREATE TABLE h (k int8) PARTITION BY HASH (k)");
    let count = |sql: &str| {
        texts(&c, &format!("SELECT ({sql})::text"))[0]
            .parse::<i64>()
            .unwrap()
    };
    assert_eq!(count("SELECT count(*) FROM orders"), 4000);
    for r in 0..4u64 {
        assert_eq!(
            count(&format!(
                "SELECT count(*) FROM orders WHERE customer_id IN (SELECT g FROM {KEYS} WHERE {})",
                of(r)
            )),
            texts(
                &a,
                &format!("SELECT count(*)::text FROM {KEYS} WHERE {}", of(r))
            )[0]
            .parse::<i64>()
            .unwrap(),
            "shard {r}"
        );
    }
    let parsed = ShardMap::load(&map).unwrap();
    for key in [1i64, 2, 3, 17, 3999] {
        let note = texts(
            &c,
            &format!("SELECT note FROM orders WHERE customer_id = {key}"),
        );
        let shard = &parsed.locate(&key.to_string()).unwrap()[0];
        let expect = match shard.shard {
            0 | 1 => "a",
            2 => "b2",
            _ => "b3",
        };
        assert_eq!(note, [expect], "key {key}");
        let plan = texts(
            &c,
            &format!("EXPLAIN (COSTS OFF) SELECT * FROM orders WHERE customer_id = {key}"),
        )
        .join("\n");
        assert_eq!(
            plan.matches("Foreign Scan").count(),
            1,
            "key {key} touched more than its node:\n{plan}"
        );
    }
    // A row for shard 3 written through the coordinator lands in b's shared table; one of
    // another shard cannot go through shard 3's view.
    exec(&c, "INSERT INTO orders VALUES (4007, 'new')");
    assert_eq!(
        texts(&b, "SELECT note FROM orders WHERE customer_id = 4007").len()
            + texts(&b, "SELECT note FROM orders_2 WHERE customer_id = 4007").len()
            + texts(&a, "SELECT note FROM orders WHERE customer_id = 4007").len(),
        1
    );

    // PL/Proxy: every key goes to the node the map names.
    let (code, sql, err) = dbkit(&[
        "shard",
        "export",
        "--map",
        m,
        "--to",
        "plproxy",
        "--cluster",
        "shop",
    ]);
    assert_eq!(code, Some(0), "{err}");
    exec(
        &c,
        &format!(
            "CREATE EXTENSION plproxy;\n{sql}
        CREATE FUNCTION node_of(k int8) RETURNS text LANGUAGE plproxy AS $$
            CLUSTER 'shop'; RUN ON dbkit.shard_partition(k);
        $$;"
        ),
    );
    let got = texts(
        &c,
        "SELECT g::text || '=' || node_of(g) FROM generate_series(1, 300) g",
    );
    for g in got {
        let (k, node) = g.split_once('=').unwrap();
        assert_eq!(node, parsed.locate(k).unwrap()[0].node, "key {k}");
    }
}
