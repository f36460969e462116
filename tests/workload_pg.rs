//! A real server's real log: a scratch cluster logs every statement (log_min_duration_statement
//! = 0), an application-style loop runs through sqlx (extended protocol: parse/bind/execute with
//! DETAIL parameters), and `dbkit workload` finds the N+1 loop and the redundant burst in it.

use dbkit::db::{self, ScratchCluster, ScratchOptions};
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

/// A scratch cluster logging every statement with Debian's prefix, and a runtime to drive it.
fn logging_cluster() -> (ScratchCluster, tokio::runtime::Runtime) {
    let cluster = ScratchCluster::start_with(ScratchOptions {
        settings: vec![
            ("log_min_duration_statement".into(), "0".into()),
            ("log_line_prefix".into(), "'%m [%p] %q%u@%d '".into()),
        ],
        ..Default::default()
    })
    .unwrap_or_else(|e| panic!("scratch PostgreSQL is required for this test: {e}"));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    (cluster, rt)
}

#[test]
fn n_plus_one_and_redundant_bursts_in_a_real_log() {
    let (cluster, rt) = logging_cluster();
    rt.block_on(async {
        let mut conn = db::connect(&cluster.conn_spec("postgres")).await.unwrap();
        db::exec_script(
            &mut conn,
            "setup",
            "CREATE EXTENSION pg_stat_statements;
             CREATE TABLE orders (id int PRIMARY KEY, user_id int);
             CREATE TABLE order_items (order_id int, product_id int);
             CREATE TABLE products (id int PRIMARY KEY, category text);
             INSERT INTO orders SELECT g, g % 5 FROM generate_series(1, 50) g;
             INSERT INTO order_items SELECT g % 50 + 1, g FROM generate_series(1, 200) g;
             INSERT INTO products SELECT g, 'c' || g % 3 FROM generate_series(1, 30) g;",
        )
        .await
        .unwrap();
        // The application: load a user's orders, then each order's items one by one (N+1)…
        let ids: Vec<i32> =
            sqlx::query_scalar("SELECT id FROM orders WHERE user_id = $1 ORDER BY id")
                .bind(2)
                .fetch_all(&mut conn)
                .await
                .unwrap();
        assert_eq!(ids.len(), 10);
        for id in &ids {
            let _: Vec<(i32, i32)> =
                sqlx::query_as("SELECT order_id, product_id FROM order_items WHERE order_id = $1")
                    .bind(id)
                    .fetch_all(&mut conn)
                    .await
                    .unwrap();
        }
        // …then asks the same question eight times (redundant).
        sqlx::query("SELECT now()")
            .execute(&mut conn)
            .await
            .unwrap();
        for _ in 0..8 {
            let _: i64 = sqlx::query_scalar("SELECT count(*) FROM products WHERE category = $1")
                .bind("c1")
                .fetch_one(&mut conn)
                .await
                .unwrap();
        }
        sqlx::query("SELECT 1").execute(&mut conn).await.unwrap();
        db::close(conn).await;
    });
    // Let the server flush its log.
    std::thread::sleep(std::time::Duration::from_millis(300));
    let log = cluster.log_file();
    let log = log.to_str().unwrap();

    let np = dbkit_json(&["workload", "n-plus-one", log, "--format", "json"]);
    let patterns = np["patterns"].as_array().unwrap();
    let loop_ = patterns
        .iter()
        .find(|p| {
            p["rule"] == "n-plus-one" && p["query"].as_str().unwrap().contains("from order_items")
        })
        .unwrap_or_else(|| panic!("no N+1 found: {np:#}"));
    assert_eq!(loop_["repeats"], 10);
    assert_eq!(loop_["bursts"], 1);
    assert!(
        loop_["parent"]
            .as_str()
            .unwrap()
            .contains("from orders where user_id = $1"),
        "{loop_}"
    );
    let redundant = patterns
        .iter()
        .find(|p| {
            p["rule"] == "redundant-query" && p["query"].as_str().unwrap().contains("from products")
        })
        .unwrap_or_else(|| panic!("no redundant burst found: {np:#}"));
    assert_eq!(redundant["repeats"], 8);
    let f = np["findings"].as_array().unwrap();
    let nf = f.iter().find(|x| x["rule"] == "n-plus-one").unwrap();
    assert!(
        nf["suggestion"]
            .as_str()
            .unwrap()
            .contains("order_id = any($1)"),
        "{}",
        nf["suggestion"]
    );
    assert!(nf["suggestion"]
        .as_str()
        .unwrap()
        .contains("JOIN order_items ON order_items.order_id = orders.id"));
    assert!(
        nf["evidence"]["examples"][0]
            .as_str()
            .unwrap()
            .starts_with("$1 = '"),
        "parameters from DETAIL lines"
    );

    let top = dbkit_json(&["workload", "top", log, "--format", "json", "--limit", "100"]);
    let shapes = top["shapes"].as_array().unwrap();
    let items = shapes
        .iter()
        .find(|s| {
            s["normalized"]
                .as_str()
                .unwrap()
                .contains("from order_items")
        })
        .unwrap();
    assert_eq!(items["calls"], 10);
    assert!(items["example"]["params"]
        .as_str()
        .unwrap()
        .starts_with("$1 = '"));
    let products = shapes
        .iter()
        .find(|s| s["normalized"].as_str().unwrap().contains("from products"))
        .unwrap();
    assert_eq!(products["calls"], 8);
    assert_eq!(top["read"]["skipped_lines"], 0);

    // The same server's pg_stat_statements, live.
    let live = dbkit_json(&[
        "workload",
        "top",
        "--url",
        &cluster.url(),
        "--format",
        "json",
        "--limit",
        "100",
    ]);
    assert_eq!(live["format"], "pg_stat_statements");
    let shapes = live["shapes"].as_array().unwrap();
    let items = shapes
        .iter()
        .find(|s| {
            s["normalized"]
                .as_str()
                .unwrap()
                .contains("from order_items")
        })
        .unwrap();
    assert_eq!(items["calls"], 10);
    assert!(
        items["p95_ms"].is_null(),
        "pg_stat_statements has no percentiles"
    );
}

/// An application serving R requests on a few connections, each request one parent query and
/// then N child queries (one per row of the parent): exactly one burst per request, however
/// the connections interleave and however close the requests follow each other.
#[test]
fn one_burst_per_request_of_a_real_application_loop() {
    const REQUESTS: usize = 12;
    const CHILDREN: usize = 7;
    let (cluster, rt) = logging_cluster();
    rt.block_on(async {
        let spec = cluster.conn_spec("postgres");
        let mut setup = db::connect(&spec).await.unwrap();
        db::exec_script(
            &mut setup,
            "setup",
            "CREATE TABLE orders (id int PRIMARY KEY, user_id int);
             CREATE TABLE order_items (order_id int, product_id int);
             INSERT INTO orders SELECT g, g % 12 FROM generate_series(1, 84) g;
             INSERT INTO order_items SELECT g % 84 + 1, g FROM generate_series(1, 300) g;",
        )
        .await
        .unwrap();
        db::close(setup).await;
        let mut conns = Vec::new();
        for _ in 0..3 {
            conns.push(db::connect(&spec).await.unwrap());
        }
        for r in 0..REQUESTS {
            let conn = &mut conns[r % 3];
            let ids: Vec<i32> = sqlx::query_scalar("SELECT id FROM orders WHERE user_id = $1")
                .bind(r as i32)
                .fetch_all(&mut *conn)
                .await
                .unwrap();
            assert_eq!(ids.len(), CHILDREN);
            for id in ids {
                let _: Vec<(i32, i32)> = sqlx::query_as(
                    "SELECT order_id, product_id FROM order_items WHERE order_id = $1",
                )
                .bind(id)
                .fetch_all(&mut *conn)
                .await
                .unwrap();
            }
        }
        for c in conns {
            db::close(c).await;
        }
    });
    std::thread::sleep(std::time::Duration::from_millis(300));
    let log = cluster.log_file();
    let np = dbkit_json(&[
        "workload",
        "n-plus-one",
        log.to_str().unwrap(),
        "--format",
        "json",
    ]);
    let loops: Vec<&serde_json::Value> = np["patterns"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["query"].as_str().unwrap().contains("from order_items"))
        .collect();
    assert_eq!(loops.len(), 1, "{np:#}");
    assert_eq!(loops[0]["rule"], "n-plus-one");
    assert_eq!(loops[0]["bursts"], REQUESTS, "{:#}", loops[0]);
    assert_eq!(loops[0]["repeats"], REQUESTS * CHILDREN);
    assert_eq!(loops[0]["max_burst"], CHILDREN);
    assert_eq!(loops[0]["sessions"], 3);
}
