//! Moving a 2,000,000-row hash partition (about 300 MB) between two local scratch clusters with
//! `dbkit shard move --execute` while a writer keeps writing to the shard, beside the baseline
//! of the same rows piped between the clusters with
//! `psql -c "\copy … to stdout (format binary)" | psql -c "\copy … from stdin (format binary)"`
//! into a table with the same primary key. Prints the copy phase's throughput against the
//! pipe's and the cutover's write pause.
//!
//! Run: `cargo bench --bench shard_move` (goal: copy ≥ 0.8x the pipe; pause < 1 s).
//! `DBKIT_BENCH_ROWS=N` changes the row count.

use dbkit::db::{self, ScratchCluster};
use dbkit::ops::shard_move::{run_move, Action, MoveRequest};
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const SCHEMA: &str =
    "CREATE TABLE orders (customer_id int8 NOT NULL, id int8 NOT NULL, amount int8 NOT NULL,
    created timestamptz NOT NULL DEFAULT '2026-01-01', note text, PRIMARY KEY (customer_id, id))
    PARTITION BY HASH (customer_id);
    CREATE INDEX orders_created ON orders (created);";

async fn exec(c: &ScratchCluster, sql: &str) {
    let mut conn = db::connect(&c.conn_spec("postgres")).await.unwrap();
    db::exec_script(&mut conn, "bench", sql)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    db::close(conn).await;
}

async fn scalar(c: &ScratchCluster, sql: &str) -> i64 {
    let mut conn = db::connect(&c.conn_spec("postgres")).await.unwrap();
    let v: i64 = sqlx::query_scalar(sql).fetch_one(&mut conn).await.unwrap();
    db::close(conn).await;
    v
}

fn psql(c: &ScratchCluster) -> String {
    format!(
        "{} -X -q -h 127.0.0.1 -p {} -U postgres -d postgres",
        c.bin_dir().join("psql").display(),
        c.port()
    )
}

fn main() {
    let rows: u64 = std::env::var("DBKIT_BENCH_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2_000_000);
    let a = ScratchCluster::start().expect("scratch PostgreSQL is required");
    let b = ScratchCluster::start().expect("scratch PostgreSQL is required");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let map = dir.path().join("map.toml");
    std::fs::write(
        &map,
        format!(
            "version = 1\n[tables]\norders = \"customer_id\"\n[[nodes]]\nname = \"a\"\nurl = \"{}\"\n[[nodes]]\nname = \"b\"\nurl = \"{}\"\n\
             [[shards]]\nid = 0\nnode = \"b\"\nhash = {{ modulus = 2, remainder = 0 }}\n\
             [[shards]]\nid = 1\nnode = \"a\"\nhash = {{ modulus = 2, remainder = 1 }}\n",
            a.url(),
            b.url()
        ),
    )
    .unwrap();
    rt.block_on(async {
        exec(&a, &format!("{SCHEMA}
            CREATE TABLE orders_p1 PARTITION OF orders FOR VALUES WITH (MODULUS 2, REMAINDER 1);
            CREATE TABLE keys AS SELECT g AS k FROM generate_series(1, {}) g WHERE satisfies_hash_partition('orders'::regclass, 2, 1, g::int8);
            INSERT INTO orders_p1 (customer_id, id, amount, note)
                 SELECT k, n, k % 1000, md5(k::text) || md5(n::text) || md5((k + n)::text) FROM keys, generate_series(1, 4) n
                 LIMIT {rows};
            VACUUM ANALYZE orders_p1;", rows / 2 + 1000)).await;
        exec(&b, &format!("{SCHEMA}
            CREATE TABLE orders_p0 PARTITION OF orders FOR VALUES WITH (MODULUS 2, REMAINDER 0);
            CREATE TABLE pipe (LIKE orders INCLUDING DEFAULTS INCLUDING CONSTRAINTS);
            ALTER TABLE pipe ADD PRIMARY KEY (customer_id, id);")).await;
    });
    let bytes = rt.block_on(scalar(&a, "SELECT pg_table_size('orders_p1')")) as f64;
    let n = rt.block_on(scalar(&a, "SELECT count(*) FROM orders_p1"));
    println!(
        "shard: {n} rows, {:.0} MB (table without indexes)",
        bytes / 1e6
    );

    // Baseline: the binary COPY pipe.
    let t = Instant::now();
    let st = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "{} -c '\\copy orders_p1 to stdout (format binary)' | {} -c '\\copy pipe from stdin (format binary)'",
            psql(&a),
            psql(&b)
        ))
        .status()
        .unwrap();
    assert!(st.success(), "the psql pipe failed");
    let pipe_s = t.elapsed().as_secs_f64();
    assert_eq!(rt.block_on(scalar(&b, "SELECT count(*) FROM pipe")), n);
    rt.block_on(exec(&b, "DROP TABLE pipe"));

    // The move, with a writer updating and inserting rows of the shard throughout.
    let stop = Arc::new(AtomicBool::new(false));
    let writes = Arc::new(AtomicU64::new(0));
    let writer = {
        let (stop, writes, spec) = (stop.clone(), writes.clone(), a.conn_spec("postgres"));
        rt.spawn(async move {
            let mut conn = db::connect(&spec).await.unwrap();
            let mut i = 0i64;
            while !stop.load(Ordering::Relaxed) {
                i += 1;
                let r = sqlx::query("UPDATE orders SET amount = amount + 1 WHERE customer_id = (SELECT k FROM keys OFFSET $1 LIMIT 1) AND id = 1")
                    .bind(i % 5000)
                    .execute(&mut conn)
                    .await;
                if r.is_err() {
                    break; // fenced at the cutover
                }
                writes.fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        })
    };
    let mut req = MoveRequest::new(map.clone(), 1, Action::To("b".into()));
    req.execute = true;
    let t = Instant::now();
    let report = rt
        .block_on(run_move(&req))
        .unwrap_or_else(|e| panic!("{e}"));
    let total_s = t.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    let _ = rt.block_on(writer);
    let copy_ms = report
        .steps
        .iter()
        .find(|s| s.step == "copy")
        .map(|s| s.ms)
        .unwrap_or(0);
    let copy_s = copy_ms as f64 / 1000.0;
    assert_eq!(rt.block_on(scalar(&b, "SELECT count(*) FROM orders_p1")), n);
    println!(
        "psql binary \\copy pipe:      {pipe_s:6.2} s  {:7.1} MB/s",
        bytes / 1e6 / pipe_s
    );
    println!(
        "dbkit shard move, copy step: {copy_s:6.2} s  {:7.1} MB/s  = {:.2}x the pipe ({} writes during the move)",
        bytes / 1e6 / copy_s,
        pipe_s / copy_s,
        writes.load(Ordering::Relaxed)
    );
    for s in &report.steps {
        println!("  {:10} {:>7} ms  {}", s.step, s.ms, s.summary);
    }
    println!(
        "whole move {total_s:.2} s; cutover write pause {} ms (goal < 1000)",
        report.pause_ms.unwrap_or(0)
    );
}
