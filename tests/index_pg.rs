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
