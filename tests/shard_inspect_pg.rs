//! `dbkit shard inspect` against real nodes: three scratch servers holding one hash-sharded
//! table three ways (hash partitions with the shards' bounds; a plain table with two shards'
//! rows, some rows of a shard that lives elsewhere; one `orders_<id>` table per shard, behind a
//! password), plus a node that cannot be reached. Sizes and rows are checked against what
//! PostgreSQL itself reports; which rows belong to which shard is decided by PostgreSQL's
//! `satisfies_hash_partition`, not by dbkit.

use dbkit::db::{self, ScratchCluster, ScratchOptions};
use std::process::Command;

fn start(opts: ScratchOptions) -> ScratchCluster {
    ScratchCluster::start_with(opts)
        .unwrap_or_else(|e| panic!("scratch PostgreSQL is required: {e}"))
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

fn int(c: &ScratchCluster, sql: &str) -> u64 {
    rt().block_on(async {
        let mut conn = db::connect(&c.conn_spec("postgres")).await.unwrap();
        let v: i64 = sqlx::query_scalar(sql)
            .fetch_one(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
        db::close(conn).await;
        v as u64
    })
}

/// Keys 1..=n whose PostgreSQL hash (modulus 8) has one of `remainders`, via a hash-partitioned
/// helper table `h` (no partitions needed for `satisfies_hash_partition`).
fn keys_where(remainders: &[u64], n: u64) -> String {
    let any = remainders
        .iter()
        .map(|r| format!("satisfies_hash_partition('h'::regclass, 8, {r}, g::int8)"))
        .collect::<Vec<_>>()
        .join(" OR ");
    format!("SELECT g FROM generate_series(1, {n}) g WHERE {any}")
}

const HELPER: &str = "CREATE TABLE h (customer_id int8) PARTITION BY HASH (customer_id);";

#[test]
fn inspect_reads_partitions_plain_tables_and_shard_tables() {
    let secret = "Inspect-S3cret-pw";
    let a = start(ScratchOptions::default());
    let b = start(ScratchOptions::default());
    let c = start(ScratchOptions {
        password: Some(secret.into()),
        ..Default::default()
    });

    // Node a: shards 0 and 1 as hash partitions; a stale partition of shard 7 with rows.
    exec(
        &a,
        &format!(
            "{HELPER}
             CREATE TABLE orders (customer_id int8 NOT NULL, note text) PARTITION BY HASH (customer_id);
             CREATE TABLE orders_p0 PARTITION OF orders FOR VALUES WITH (MODULUS 8, REMAINDER 0);
             CREATE TABLE orders_p1 PARTITION OF orders FOR VALUES WITH (MODULUS 8, REMAINDER 1);
             CREATE TABLE orders_old7 PARTITION OF orders FOR VALUES WITH (MODULUS 8, REMAINDER 7);
             INSERT INTO orders SELECT g, repeat('x', 200) FROM ({}) k(g);
             INSERT INTO orders SELECT g, 'stale' FROM ({}) k(g);
             ANALYZE orders;",
            keys_where(&[0, 1], 20_000),
            keys_where(&[7], 400)
        ),
    );
    // Node b: one plain table with shards 2 and 3, and 25 rows of shard 0 (lives on a).
    exec(
        &b,
        &format!(
            "{HELPER}
             CREATE TABLE orders (customer_id int8 NOT NULL, note text);
             INSERT INTO orders SELECT g, repeat('y', 100) FROM ({}) k(g);
             INSERT INTO orders SELECT g, 'stray' FROM ({}) k(g) LIMIT 25;
             ANALYZE orders;",
            keys_where(&[2, 3], 16_000),
            keys_where(&[0], 2_000)
        ),
    );
    // Node c: one table per shard, orders_4 .. orders_7, no base table.
    let mut setup_c = HELPER.to_string();
    for r in 4..8 {
        setup_c.push_str(&format!(
            "CREATE TABLE orders_{r} (customer_id int8 NOT NULL, note text);
             INSERT INTO orders_{r} SELECT g, repeat('z', 50) FROM ({}) k(g);
             ANALYZE orders_{r};",
            keys_where(&[r], 8_000)
        ));
    }
    exec(&c, &setup_c);

    let dir = tempfile::tempdir().unwrap();
    let mut map = String::from(
        "# The test's map: this comment survives --write-map.\nversion = 3\n[tables]\norders = \"customer_id\"\n\
         [[nodes]]\nname = \"a\"\nurl = \"postgres://postgres@127.0.0.1:1/postgres\"\n\
         [[nodes]]\nname = \"b\"\n",
    );
    map.push_str(&format!("url = \"{}\"\n", b.url()));
    map.push_str("[[nodes]]\nname = \"c\"\nurl_env = \"INSPECT_TEST_C_URL\"\n");
    map.push_str("[[nodes]]\nname = \"d\"\nstate = \"new\"\nurl = \"postgres://postgres@127.0.0.1:9/postgres?connect_timeout=2\"\n");
    for (id, node) in [
        (0, "a"),
        (1, "a"),
        (2, "b"),
        (3, "b"),
        (4, "c"),
        (5, "c"),
        (6, "c"),
        (7, "c"),
    ] {
        map.push_str(&format!(
            "[[shards]]\nid = {id}\nnode = \"{node}\"\nhash = {{ modulus = 8, remainder = {id} }}\nbytes = 1000\n"
        ));
    }
    let map_path = dir.path().join("m.toml");
    std::fs::write(&map_path, &map).unwrap();
    let live_path = dir.path().join("live.toml");
    let c_url = format!(
        "postgres://postgres:{secret}@127.0.0.1:{}/postgres",
        c.port()
    );
    let run = |format: &str, extra: &[&str]| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_dbkit"));
        cmd.args(["shard", "inspect", "--map", map_path.to_str().unwrap()])
            .args(["--url-per-node", &format!("a={}", a.url())])
            .args(["--format", format])
            .args(extra)
            .env("INSPECT_TEST_C_URL", &c_url)
            .env_remove("PGPASSWORD");
        cmd.output().unwrap()
    };
    // Node d cannot be read: the map is not written from partial data unless asked.
    let out = run("json", &["--write-map", live_path.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("not written")
            && stderr.contains("(d)")
            && stderr.contains("--allow-partial"),
        "{stderr}"
    );
    assert!(!live_path.exists());
    let out = run(
        "json",
        &[
            "--write-map",
            live_path.to_str().unwrap(),
            "--allow-partial",
            "-vv",
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(!stdout.contains(secret) && !stderr.contains(secret));
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let shard = |id: u64| v["shards"][id as usize].clone();

    // Partitions: the partition's own size and rows.
    for (id, rel) in [(0, "orders_p0"), (1, "orders_p1")] {
        let s = shard(id);
        assert_eq!(
            s["bytes"].as_u64().unwrap(),
            int(&a, &format!("SELECT pg_total_relation_size('{rel}')")),
            "{s}"
        );
        assert_eq!(
            s["rows"].as_u64().unwrap(),
            int(&a, &format!("SELECT count(*) FROM {rel}"))
        );
        assert_eq!(s["found"][0], format!("orders: partition {rel}"));
    }
    // Shard tables on c (through the password in the url_env variable).
    for id in 4..8u64 {
        let s = shard(id);
        assert_eq!(
            s["bytes"].as_u64().unwrap(),
            int(&c, &format!("SELECT pg_total_relation_size('orders_{id}')"))
        );
        assert_eq!(s["found"][0], format!("orders: table orders_{id}"));
    }
    // The plain table on b: every key read (small table), so the shares are exact.
    let total_b = int(&b, "SELECT pg_total_relation_size('orders')");
    let count = |r: u64| {
        int(
            &b,
            &format!("SELECT count(*) FROM orders WHERE satisfies_hash_partition('h'::regclass, 8, {r}, customer_id)"),
        )
    };
    let all_b = int(&b, "SELECT count(*) FROM orders");
    for id in [2, 3] {
        let s = shard(id);
        assert_eq!(s["rows"].as_u64().unwrap(), count(id), "{s}");
        let expect = (total_b as f64 * count(id) as f64 / all_b as f64).round() as u64;
        assert_eq!(s["bytes"].as_u64().unwrap(), expect, "{s}");
        assert!(
            s["found"][0].as_str().unwrap().contains("sampled keys"),
            "{s}"
        );
    }
    let findings = v["findings"].as_array().unwrap();
    let has = |rule: &str, text: &str| {
        findings
            .iter()
            .any(|f| f["rule"] == rule && f["message"].as_str().unwrap_or_default().contains(text))
    };
    assert!(has("shard-data-misplaced", "orders_old7"), "{findings:?}");
    assert!(has("shard-data-misplaced", "25 of"), "{findings:?}");
    assert!(has("shard-node-unreachable", "\"d\""), "{findings:?}");
    assert!(!findings
        .iter()
        .any(|f| f["rule"] == "shard-node-unreachable" && f["location"]["node"] != "d"));
    // Sizes recorded as 1000 bytes drifted.
    assert!(has("shard-size-drift", "shard 0"), "{findings:?}");
    // d unreachable: no deviations claimed.
    assert!(v["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .all(|n| n.get("deviation").is_none()));
    assert_eq!(
        v["nodes"][0]["server_version"].as_str().unwrap()[..2],
        *"15"
    );

    // --write-map: version bumped, live sizes filled in, shard 0 found.
    let live = dbkit::shard::ShardMap::load(&live_path).unwrap();
    assert_eq!(live.version, 4);
    let live_text = std::fs::read_to_string(&live_path).unwrap();
    assert!(
        live_text
            .starts_with("# The test's map: this comment survives --write-map.\nversion = 4\n"),
        "{live_text}"
    );
    assert_eq!(live.shards[0].bytes, shard(0)["bytes"].as_u64());
    assert_eq!(live.shards[2].rows, Some(count(2)));
    // ... which `shard plan` takes as it is.
    let plan = Command::new(env!("CARGO_BIN_EXE_dbkit"))
        .args(["shard", "plan", "--map", live_path.to_str().unwrap()])
        .args(["--format", "json"])
        .output()
        .unwrap();
    let p: serde_json::Value = serde_json::from_slice(&plan.stdout)
        .unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&plan.stderr)));
    assert_eq!(p["version"], 4);
    assert_eq!(p["new_version"], 5);
    let before: f64 = p["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["before"].as_f64().unwrap())
        .sum();
    let live_total: u64 = live.shards.iter().filter_map(|s| s.bytes).sum();
    assert_eq!(before as u64, live_total);

    // Every format keeps the password out; table output names the unreachable node.
    for f in ["table", "markdown", "text", "github", "sarif"] {
        let out = run(f, &[]);
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!all.contains(secret), "{f}");
        assert!(all.contains("shard-node-unreachable"), "{f}: {all}");
    }
}

#[test]
fn a_missing_key_column_is_a_finding_not_a_failed_node() {
    let n = start(ScratchOptions::default());
    exec(
        &n,
        "CREATE TABLE orders (id int8, note text); INSERT INTO orders SELECT g, 'x' FROM generate_series(1, 100) g; ANALYZE orders;",
    );
    let dir = tempfile::tempdir().unwrap();
    let map_path = dir.path().join("m.toml");
    std::fs::write(
        &map_path,
        format!(
            "version = 1\n[tables]\norders = \"customer_id\"\n[[nodes]]\nname = \"n\"\nurl = \"{}\"\n\
             [[shards]]\nid = 0\nnode = \"n\"\nhash = {{ modulus = 2, remainder = 0 }}\n\
             [[shards]]\nid = 1\nnode = \"n\"\nhash = {{ modulus = 2, remainder = 1 }}\n",
            n.url()
        ),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_dbkit"))
        .args(["shard", "inspect", "--map", map_path.to_str().unwrap()])
        .args(["--format", "json"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let rules: Vec<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap())
        .collect();
    assert!(rules.contains(&"shard-key-column-missing"), "{rules:?}");
    assert!(!rules.contains(&"shard-node-unreachable"), "{rules:?}");
    assert_eq!(v["nodes"][0]["reachable"], true);
    // Without keys to sample, the two shards share the table evenly.
    let total = int(&n, "SELECT pg_total_relation_size('orders')");
    assert_eq!(v["shards"][0]["bytes"].as_u64(), Some(total / 2));
}
