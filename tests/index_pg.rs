//! Index hygiene and advice on a real PostgreSQL with HypoPG.

use dbkit::db::{self, ScratchCluster};
use std::process::Command;

fn dbkit_json(args: &[&str]) -> serde_json::Value {
    let out = Command::new(env!("CARGO_BIN_EXE_dbkit"))
        .args(args)
        .output()
        .unwrap();
    assert!(
        matches!(out.status.code(), Some(0) | Some(1)),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The DDL of each recommendation of an `index advise` JSON report.
fn ddl_of(v: &serde_json::Value) -> Vec<&str> {
    v["recommendations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["ddl"].as_str().unwrap())
        .collect()
}

fn start() -> ScratchCluster {
    ScratchCluster::start()
        .unwrap_or_else(|e| panic!("scratch PostgreSQL is required for this test: {e}"))
}

fn run_sql(c: &ScratchCluster, sql: &str) -> Result<(), String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut conn = db::connect(&c.conn_spec("postgres"))
            .await
            .map_err(|e| e.to_string())?;
        let r = db::exec_script(&mut conn, "test", sql)
            .await
            .map(|_| ())
            .map_err(|e| e.to_string());
        db::close(conn).await;
        r
    })
}

#[test]
fn check_finds_duplicate_redundant_unused_invalid_and_fk_cases() {
    let c = start();
    run_sql(
        &c,
        "CREATE TABLE customers (id int PRIMARY KEY, email text);
         CREATE TABLE \"Order Items\" (id int PRIMARY KEY, customer_id int REFERENCES customers (id), sku text, qty int);
         INSERT INTO customers SELECT g, 'c' || g FROM generate_series(1, 100) g;
         INSERT INTO \"Order Items\" SELECT g, g % 100 + 1, 'sku' || (g % 10), g FROM generate_series(1, 1000) g;
         CREATE INDEX items_sku ON \"Order Items\" (sku);
         CREATE INDEX items_sku_again ON \"Order Items\" (sku);
         CREATE INDEX items_sku_qty ON \"Order Items\" (sku, qty);
         CREATE INDEX customers_email ON customers (email);",
    )
    .unwrap();
    // A failed concurrent unique build leaves an invalid index behind.
    let err = run_sql(
        &c,
        "CREATE UNIQUE INDEX CONCURRENTLY items_qty_sku_unique ON \"Order Items\" (sku)",
    )
    .unwrap_err();
    assert!(err.contains("could not create unique index"), "{err}");
    let v = dbkit_json(&["index", "check", "--url", &c.url(), "--format", "json"]);
    let rules: Vec<(&str, &str)> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["rule"].as_str().unwrap(),
                f["location"]["node"].as_str().unwrap(),
            )
        })
        .collect();
    assert!(
        rules.contains(&("invalid-index", "public.items_qty_sku_unique")),
        "{rules:?}"
    );
    assert!(
        rules.contains(&("duplicate-index", "public.items_sku_again")),
        "{rules:?}"
    );
    assert!(
        rules.contains(&("redundant-index", "public.items_sku")),
        "{rules:?}"
    );
    assert!(
        rules.contains(&("unused-index", "public.customers_email")),
        "{rules:?}"
    );
    assert!(
        rules.contains(&("fk-missing-index", "public.\"Order Items\"")),
        "{rules:?}"
    );
    assert!(
        !rules
            .iter()
            .any(|(r, n)| *r == "unused-index" && n.ends_with("_pkey")),
        "primary keys are never unused"
    );
    // Every suggested statement runs on the real server.
    for f in v["findings"].as_array().unwrap() {
        let sql = f["suggestion"]
            .as_str()
            .unwrap()
            .split(" (check replicas")
            .next()
            .unwrap();
        let sql = sql.split(" then build it again: ").next().unwrap();
        run_sql(&c, sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
    let v = dbkit_json(&["index", "check", "--url", &c.url(), "--format", "json"]);
    let left: Vec<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap())
        .collect();
    assert!(
        !left.contains(&"invalid-index")
            && !left.contains(&"duplicate-index")
            && !left.contains(&"fk-missing-index"),
        "{left:?}"
    );
}

#[test]
fn advise_verifies_with_hypopg_and_apply_builds_what_the_plan_then_uses() {
    let c = start();
    run_sql(
        &c,
        "CREATE TABLE t (id int PRIMARY KEY, a int, b int, c timestamptz, pad text);
         INSERT INTO t SELECT g, g % 1000, g % 50, timestamptz '2024-01-01' + g * interval '1 minute', repeat('x', 40)
         FROM generate_series(1, 200000) g;
         ANALYZE t;",
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let wl = dir.path().join("w.sql");
    std::fs::write(
        &wl,
        "SELECT * FROM t WHERE c > '2024-03-01' AND a = 5;
         SELECT * FROM t WHERE c > '2024-03-01' AND a = 7;
         SELECT id, pad FROM t WHERE b = 3 ORDER BY c DESC LIMIT 10;
         SELECT * FROM t WHERE id = 42;",
    )
    .unwrap();
    let v = dbkit_json(&[
        "index",
        "advise",
        "--url",
        &c.url(),
        "--workload",
        wl.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(v["hypopg"], true, "{v:#}");
    let recs = ddl_of(&v);
    assert!(
        recs.iter().any(|d| d.contains("USING btree (a, c)")),
        "equality first, then range: {recs:#?}"
    );
    assert!(
        recs.iter().any(|d| d.contains("USING btree (b, c DESC)")),
        "ORDER BY … DESC LIMIT: {recs:#?}"
    );
    for r in v["recommendations"].as_array().unwrap() {
        for q in r["queries"].as_array().unwrap() {
            assert!(
                !q["sql"].as_str().unwrap().contains("id = 42"),
                "a query the primary key serves gets nothing"
            );
            assert!(q["cost_after"].as_f64().unwrap() < q["cost_before"].as_f64().unwrap());
        }
        assert!(r["size_bytes"].as_i64().unwrap() > 0);
    }
    assert!(v["cost_after"].as_f64().unwrap() < v["cost_before"].as_f64().unwrap() / 2.0);
    // Advice changed nothing: no index and no hypopg extension left behind.
    let check = dbkit_json(&["index", "check", "--url", &c.url(), "--format", "json"]);
    assert_eq!(check["indexes"], 1, "{check:#}");
    let out = Command::new(env!("CARGO_BIN_EXE_dbkit"))
        .args(["ping", "--url", &c.url(), "--format", "json"])
        .output()
        .unwrap();
    let ping: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(!ping["extensions"].to_string().contains("hypopg"));

    // --apply builds them, concurrently, and the planner then uses them.
    let v = dbkit_json(&[
        "index",
        "advise",
        "--url",
        &c.url(),
        "--workload",
        wl.to_str().unwrap(),
        "--format",
        "json",
        "--apply",
    ]);
    let built: Vec<String> = v["recommendations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["index"]["table"].as_str().unwrap().to_string())
        .collect();
    assert!(!built.is_empty());
    let check = dbkit_json(&["index", "check", "--url", &c.url(), "--format", "json"]);
    assert!(check["indexes"].as_i64().unwrap() > 1);
    assert!(!check["findings"].to_string().contains("invalid-index"));
    let e = dbkit_json(&[
        "explain",
        "SELECT * FROM t WHERE c > '2024-03-01' AND a = 5",
        "--url",
        &c.url(),
        "--format",
        "json",
    ]);
    let plan = e["statements"][0]["plan"].to_string();
    assert!(plan.contains("t_a_c_idx"), "{plan}");
}

#[test]
fn advise_from_pg_stat_statements_skips_its_own_queries_and_reports_failures() {
    let c = start();
    run_sql(
        &c,
        "CREATE EXTENSION pg_stat_statements;
         CREATE TABLE t (id int PRIMARY KEY, a int, c timestamptz, pad text);
         INSERT INTO t SELECT g, g % 1000, timestamptz '2024-01-01' + g * interval '1 minute', repeat('x', 40)
         FROM generate_series(1, 100000) g;
         ANALYZE t;
         CREATE TABLE gone (x int);",
    )
    .unwrap();
    // The application's queries, one on a table dropped since (it no longer plans).
    run_sql(
        &c,
        "SELECT * FROM t WHERE a = 5 AND c > '2024-02-01';
         SELECT * FROM t WHERE a = 9 AND c > '2024-02-01';
         SELECT * FROM gone WHERE x = 1;
         DROP TABLE gone;",
    )
    .unwrap();
    let advise = |format: &str| {
        Command::new(env!("CARGO_BIN_EXE_dbkit"))
            .args([
                "index",
                "advise",
                "--url",
                &c.url(),
                "--from-pg-stat-statements",
                "--format",
                format,
            ])
            .output()
            .unwrap()
    };
    // A first run leaves dbkit's own catalog and planning queries in pg_stat_statements.
    let first = advise("json");
    assert_eq!(
        first.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let out = advise("json");
    assert_eq!(
        out.status.code(),
        Some(1),
        "the failed query is an error finding"
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(v["excluded"].as_u64().unwrap() > 0, "{v:#}");
    let ddl = ddl_of(&v);
    assert!(
        ddl.iter().any(|d| d.contains("USING btree (a, c)")),
        "{ddl:#?}"
    );
    assert!(
        !v["recommendations"].to_string().contains("pg_catalog"),
        "{ddl:#?}"
    );
    for q in v["recommendations"][0]["queries"].as_array().unwrap() {
        let sql = q["sql"].as_str().unwrap();
        assert!(!sql.contains("pg_") && !sql.contains("hypopg"), "{sql}");
    }
    let errors = v["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{v:#}");
    assert!(errors[0][0].as_str().unwrap().contains("gone"));
    assert!(errors[0][1].as_str().unwrap().contains("does not exist"));
    let failed: Vec<&serde_json::Value> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == "statement-failed")
        .collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0]["severity"], "error");
    // The table says so too: the query, the error, and the count in the summary.
    let out = advise("table");
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("Queries that could not be planned"), "{text}");
    assert!(text.contains("1 query could not be planned"), "{text}");
}
