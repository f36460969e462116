//! `dbkit shard move` between real scratch nodes while a writer keeps inserting, updating and
//! deleting the moving shard's rows, routed by the map file: after the cutover the target
//! holds exactly the rows the writer's successful writes produced (count, checksum and row by
//! row), no write was lost or applied twice, the pause is reported, and nothing of the move is
//! left on either node. Which rows belong to a shard is decided by PostgreSQL's own
//! `satisfies_hash_partition`.

use dbkit::db::{self, ScratchCluster};
use dbkit::ops::shard_move::{run_move, Action, MoveRequest};
use dbkit::shard::ShardMap;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn start() -> ScratchCluster {
    ScratchCluster::start().unwrap_or_else(|e| panic!("scratch PostgreSQL is required: {e}"))
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(3)
        .enable_all()
        .build()
        .unwrap()
}

async fn exec(c: &ScratchCluster, sql: &str) {
    let mut conn = db::connect(&c.conn_spec("postgres")).await.unwrap();
    db::exec_script(&mut conn, "setup", sql)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    db::close(conn).await;
}

async fn rows(c: &ScratchCluster, sql: &str) -> Vec<(i64, i64, i64)> {
    let mut conn = db::connect(&c.conn_spec("postgres")).await.unwrap();
    let r: Vec<(i64, i64, i64)> = sqlx::query_as(sql)
        .fetch_all(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    db::close(conn).await;
    r
}

async fn int(c: &ScratchCluster, sql: &str) -> i64 {
    let mut conn = db::connect(&c.conn_spec("postgres")).await.unwrap();
    let v: i64 = sqlx::query_scalar(sql)
        .fetch_one(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    db::close(conn).await;
    v
}

fn write_map(path: &Path, a: &ScratchCluster, b: &ScratchCluster) {
    let text = format!(
        r#"version = 7
[sharding]
method = "hash"
key_type = "bigint"
[tables]
orders = "customer_id"
[[nodes]]
name = "a"
url = "{}"
[[nodes]]
name = "b"
url = "{}"
[[shards]]
id = 0
node = "a"
hash = {{ modulus = 4, remainder = 0 }}
[[shards]]
id = 1
node = "a"
hash = {{ modulus = 4, remainder = 1 }}
[[shards]]
id = 2
node = "b"
hash = {{ modulus = 4, remainder = 2 }}
[[shards]]
id = 3
node = "b"
hash = {{ modulus = 4, remainder = 3 }}
"#,
        a.url(),
        b.url()
    );
    std::fs::write(path, text).unwrap();
}

const SCHEMA: &str = "CREATE TABLE orders (customer_id int8 NOT NULL, id int8 NOT NULL, amount int8 NOT NULL CHECK (amount >= 0),
        note text, PRIMARY KEY (customer_id, id)) PARTITION BY HASH (customer_id);
     CREATE INDEX orders_amount ON orders (amount);";

/// Keys of shard `r` (PostgreSQL's own hash, modulus 4), from 1..=n.
fn keys_sql(r: u64, n: u64) -> String {
    format!("SELECT g FROM generate_series(1, {n}) g WHERE satisfies_hash_partition('orders'::regclass, 4, {r}, g::int8)")
}

/// The writer's view: every row its committed writes left, per (customer_id, id).
type Model = BTreeMap<(i64, i64), i64>;

/// A writer routed by the map file: inserts, updates and deletes rows of shard 1's customers
/// as fast as one connection allows. A write refused by the fence (or an update that finds no
/// row where the model says one is) re-reads the map and goes to the node it names now.
async fn writer(
    map: PathBuf,
    urls: BTreeMap<String, String>,
    customers: Vec<i64>,
    mut model: Model,
    stop: Arc<AtomicBool>,
    ops: Arc<AtomicU64>,
) -> (Model, u64) {
    let node_of = |map: &Path| {
        let m = ShardMap::load(map).unwrap();
        m.shards.iter().find(|s| s.id == 1).unwrap().node.clone()
    };
    let mut node = node_of(&map);
    let connect = |node: &str| {
        let spec = db::ConnSpec::resolve(Some(&urls[node])).unwrap();
        async move { db::connect(&spec).await.unwrap() }
    };
    let mut conn = connect(&node).await;
    let mut next_id = 1_000_000i64;
    let mut i = 0u64;
    let mut reroutes = 0u64;
    while !stop.load(Ordering::Relaxed) {
        i += 1;
        let c = customers[(i as usize * 7919) % customers.len()];
        let existing: Option<(i64, i64)> = model.range((c, 0)..(c + 1, 0)).next().map(|(k, _)| *k);
        let op = i % 3;
        loop {
            let r: Result<u64, sqlx::Error> = match (op, existing) {
                (1, Some(k)) => sqlx::query(
                    "UPDATE orders SET amount = amount + 1 WHERE customer_id = $1 AND id = $2",
                )
                .bind(k.0)
                .bind(k.1)
                .execute(&mut conn)
                .await
                .map(|r| r.rows_affected()),
                (2, Some(k)) => {
                    sqlx::query("DELETE FROM orders WHERE customer_id = $1 AND id = $2")
                        .bind(k.0)
                        .bind(k.1)
                        .execute(&mut conn)
                        .await
                        .map(|r| r.rows_affected())
                }
                _ => sqlx::query("INSERT INTO orders VALUES ($1, $2, 5, 'w')")
                    .bind(c)
                    .bind(next_id)
                    .execute(&mut conn)
                    .await
                    .map(|r| r.rows_affected()),
            };
            match r {
                Ok(1) => {
                    match (op, existing) {
                        (1, Some(k)) => *model.get_mut(&k).unwrap() += 1,
                        (2, Some(k)) => {
                            model.remove(&k);
                        }
                        _ => {
                            model.insert((c, next_id), 5);
                            next_id += 1;
                        }
                    }
                    break;
                }
                other => {
                    // Refused by the fence, or no row: the map must name another node now.
                    let why = format!("{other:?}");
                    assert!(
                        why.contains("reload the shard map") || why.contains("Ok(0)"),
                        "unexpected write failure: {why}"
                    );
                    // The map is written right after the cutover commits: wait for it.
                    let waited = Instant::now();
                    let mut now = node_of(&map);
                    while now == node && waited.elapsed() < Duration::from_secs(10) {
                        tokio::time::sleep(Duration::from_millis(5)).await;
                        now = node_of(&map);
                    }
                    assert_ne!(
                        now, node,
                        "a write failed but the map still names {node}: {why}"
                    );
                    node = now;
                    db::close(conn).await;
                    conn = connect(&node).await;
                    reroutes += 1;
                }
            }
        }
        ops.fetch_add(1, Ordering::Relaxed);
    }
    db::close(conn).await;
    (model, reroutes)
}

#[test]
fn a_partition_moves_while_a_writer_writes_and_nothing_is_lost() {
    let a = start();
    let b = start();
    let dir = tempfile::tempdir().unwrap();
    let map = dir.path().join("map.toml");
    write_map(&map, &a, &b);
    let rt = rt();
    rt.block_on(async {
        exec(&a, &format!("{SCHEMA}
            CREATE TABLE orders_p0 PARTITION OF orders FOR VALUES WITH (MODULUS 4, REMAINDER 0);
            CREATE TABLE orders_p1 PARTITION OF orders FOR VALUES WITH (MODULUS 4, REMAINDER 1);
            INSERT INTO orders SELECT g, n, g % 1000, repeat('x', 50) FROM ({}) k(g), generate_series(1, 4) n;
            INSERT INTO orders SELECT g, n, 1, 'other shard' FROM ({}) k(g), generate_series(1, 2) n;
            ANALYZE orders;", keys_sql(1, 20_000), keys_sql(0, 2_000))).await;
        exec(&b, &format!("{SCHEMA}
            CREATE TABLE orders_p2 PARTITION OF orders FOR VALUES WITH (MODULUS 4, REMAINDER 2);
            CREATE TABLE orders_p3 PARTITION OF orders FOR VALUES WITH (MODULUS 4, REMAINDER 3);
            INSERT INTO orders SELECT g, 1, 7, 'b' FROM ({}) k(g);", keys_sql(2, 2_000))).await;
        let initial = rows(&a, "SELECT customer_id, id, amount FROM orders_p1").await;
        let model: Model = initial.iter().map(|r| ((r.0, r.1), r.2)).collect();
        let customers: Vec<i64> = {
            let mut c: Vec<i64> = model.keys().map(|k| k.0).collect();
            c.dedup();
            c
        };
        let urls = BTreeMap::from([("a".to_string(), a.url()), ("b".to_string(), b.url())]);

        // The dry run changes nothing and shows the SQL per node.
        let dry = run_move(&MoveRequest::new(map.clone(), 1, Action::To("b".into()))).await.unwrap();
        assert_eq!(dry.state, "dry run");
        let sql: Vec<String> = dry.steps.iter().flat_map(|s| s.statements.iter().map(|n| n.sql.clone())).collect();
        assert!(sql.iter().any(|s| s.starts_with("CREATE PUBLICATION dbkit_move_s1_v7 FOR TABLE public.orders_p1")), "{sql:#?}");
        assert!(sql.iter().any(|s| s == "ALTER TABLE public.orders ATTACH PARTITION public.orders_p1 FOR VALUES WITH (modulus 4, remainder 1)"), "{sql:#?}");
        assert_eq!(int(&b, "SELECT count(*) FROM pg_class WHERE relname = 'orders_p1'").await, 0);
        assert_eq!(int(&a, "SELECT count(*) FROM pg_publication").await, 0);
        assert!(!dir.path().join("map.toml.moves").exists());

        let stop = Arc::new(AtomicBool::new(false));
        let ops = Arc::new(AtomicU64::new(0));
        let w = tokio::spawn(writer(map.clone(), urls, customers, model, stop.clone(), ops.clone()));
        tokio::time::sleep(Duration::from_millis(500)).await;

        let t = Instant::now();
        let mut req = MoveRequest::new(map.clone(), 1, Action::To("b".into()));
        req.execute = true;
        let report = run_move(&req).await.unwrap_or_else(|e| panic!("{e}"));
        let took = t.elapsed();
        let during = ops.load(Ordering::Relaxed);
        tokio::time::sleep(Duration::from_millis(500)).await;
        stop.store(true, Ordering::Relaxed);
        let (model, reroutes) = w.await.unwrap();
        let total_ops = ops.load(Ordering::Relaxed);
        eprintln!("move took {took:?}; writer: {during} writes by the end of the move, {total_ops} in all, {reroutes} rerouted; pause {:?} ms", report.pause_ms);

        assert_eq!(report.state, "done", "{report:#?}");
        assert!(report.pause_ms.is_some_and(|p| p < 1000), "{:?}", report.pause_ms);
        assert_eq!(report.new_version, Some(8));
        assert!(reroutes >= 1, "the writer never had to follow the move");
        assert!(total_ops > 500, "the writer wrote too little ({total_ops}) to test anything");
        let v = report.verify.as_ref().unwrap();
        assert!(v.differences.is_empty() && v.rows > 0, "{v:?}");
        // The HTML view charts the time of each step.
        let mut page = Vec::new();
        let opts = dbkit::report::RenderOptions {
            format: dbkit::report::Format::Html,
            ..Default::default()
        };
        dbkit::report::render(&report, &opts, &mut page).unwrap();
        let page = String::from_utf8(page).unwrap();
        assert!(page.contains("<title>Time per step of moving shard 1 from a to b</title>"), "{page}");
        assert!(page.contains("<title>cutover: "), "{page}");

        // The target holds exactly the writer's rows.
        let target = rows(&b, "SELECT customer_id, id, amount FROM orders_p1 ORDER BY 1, 2").await;
        let expected: Vec<(i64, i64, i64)> = model.iter().map(|(k, v)| (k.0, k.1, *v)).collect();
        assert_eq!(target.len(), expected.len());
        assert!(target == expected, "the target's rows differ from the writer's model");
        // Routed through the target's parent table, and its indexes built.
        assert_eq!(int(&b, "SELECT count(*) FROM orders WHERE satisfies_hash_partition('orders'::regclass, 4, 1, customer_id)").await, expected.len() as i64);
        assert!(int(&b, "SELECT count(*) FROM pg_indexes WHERE tablename = 'orders_p1' AND indexdef LIKE '%(amount)%'").await == 1);
        // The map moved; nothing of the move is left; the old copy refuses writes.
        let m = ShardMap::load(&map).unwrap();
        assert_eq!(m.version, 8);
        assert_eq!(m.shards[1].node, "b");
        assert_eq!(int(&a, "SELECT count(*) FROM pg_replication_slots").await, 0);
        assert_eq!(int(&a, "SELECT count(*) FROM pg_publication").await, 0);
        assert_eq!(int(&b, "SELECT count(*) FROM pg_subscription").await, 0);
        assert_eq!(int(&a, "SELECT count(*) FROM pg_class WHERE relname = 'orders_p1_moved_s1_v7'").await, 1);
        let mut conn = db::connect(&a.conn_spec("postgres")).await.unwrap();
        let k = expected[0];
        let e = sqlx::query("UPDATE orders SET amount = 0 WHERE customer_id = $1 AND id = $2")
            .bind(k.0)
            .bind(k.1)
            .execute(&mut conn)
            .await
            .unwrap_err()
            .to_string();
        assert!(e.contains("moved from a to b in map version 8"), "{e}");
        db::close(conn).await;
        // The other shard on a was not touched.
        assert_eq!(int(&a, "SELECT count(*) FROM orders_p0").await, rows(&a, "SELECT customer_id, id, amount FROM orders_p0").await.len() as i64);
        let journal: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.path().join("map.toml.moves/shard-1.json")).unwrap()).unwrap();
        assert_eq!(journal["state"], "done");
    });
}

/// Run the dbkit binary; `kill_after`: SIGKILL it as soon as it logs that this step is done.
fn dbkit(
    args: &[&str],
    env: &[(&str, &str)],
    kill_after: Option<&str>,
) -> (Option<i32>, String, String) {
    use std::io::{BufRead, Read};
    use std::process::{Command, Stdio};
    let mut child = Command::new(env!("CARGO_BIN_EXE_dbkit"))
        .args(args)
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // stdout drains on its own thread: a large report must not block dbkit while stderr is read.
    let mut stdout = child.stdout.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut out = String::new();
        stdout.read_to_string(&mut out).unwrap();
        out
    });
    let mut err = String::new();
    let stderr = child.stderr.take().unwrap();
    for line in std::io::BufReader::new(stderr).lines() {
        let line = line.unwrap();
        err.push_str(&line);
        err.push('\n');
        if let Some(step) = kill_after {
            if line.contains("move step done") && line.contains(&format!("step=\"{step}\"")) {
                child.kill().unwrap();
                break;
            }
        }
    }
    let status = child.wait().unwrap();
    (status.code(), out.join().unwrap(), err)
}

const PLAIN: &str = "CREATE TABLE h (k int8) PARTITION BY HASH (k);
     CREATE TABLE orders (customer_id int8 NOT NULL, id int8 NOT NULL, amount int8 NOT NULL, note text,
        PRIMARY KEY (customer_id, id));
     CREATE INDEX orders_amount ON orders (amount);";

fn shard_rows(r: u64) -> String {
    format!("SELECT customer_id, id, amount FROM orders WHERE satisfies_hash_partition('h'::regclass, 4, {r}, customer_id) ORDER BY 1, 2")
}

#[test]
fn a_shard_in_a_shared_table_survives_sigkill_after_every_step_then_reverses_and_aborts() {
    let secret = "Move-S3cret-pw";
    let opts = || db::ScratchOptions {
        password: Some(secret.into()),
        ..Default::default()
    };
    let a = ScratchCluster::start_with(opts())
        .unwrap_or_else(|e| panic!("scratch PostgreSQL is required: {e}"));
    let b = ScratchCluster::start_with(opts())
        .unwrap_or_else(|e| panic!("scratch PostgreSQL is required: {e}"));
    let dir = tempfile::tempdir().unwrap();
    let map = dir.path().join("map.toml");
    write_map(&map, &a, &b);
    let m = map.to_str().unwrap();
    let env = [("PGPASSWORD", secret)];
    let rt = rt();
    let (shard0, shard1) = rt.block_on(async {
        let keys = |r: u64| format!("SELECT g FROM generate_series(1, 20000) g WHERE satisfies_hash_partition('h'::regclass, 4, {r}, g::int8)");
        exec(&a, &format!("{PLAIN}
            INSERT INTO orders SELECT g, n, g % 97, 'a' FROM ({}) k(g), generate_series(1, 3) n;
            INSERT INTO orders SELECT g, n, g % 89, 'a0' FROM ({}) k(g), generate_series(1, 2) n;
            ANALYZE orders;", keys(1), keys(0))).await;
        exec(&b, &format!("{PLAIN}
            INSERT INTO orders SELECT g, 1, 1, 'b' FROM ({}) k(g);", keys(2))).await;
        (rows(&a, &shard_rows(0)).await, rows(&a, &shard_rows(1)).await)
    });
    let mv = |extra: &[&str], kill: Option<&str>| {
        let mut args = vec![
            "-v", "shard", "move", "--map", m, "--shard", "1", "--format", "json",
        ];
        args.extend_from_slice(extra);
        let r = dbkit(&args, &env, kill);
        assert!(
            !r.1.contains(secret) && !r.2.contains(secret),
            "the password was printed"
        );
        r
    };

    // The dry run shows the subscription without the password.
    let (code, out, err) = mv(&["--to", "b"], None);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("password=''***''"), "{out}");
    assert!(out.contains("FOR TABLE public.orders WHERE ((((hashint8extended(customer_id::int8, 8816678312871386365))::numeric"), "{out}");

    // SIGKILL after each step in turn, then a run to the end.
    for step in [
        "preflight",
        "schema",
        "copy",
        "indexes",
        "verify",
        "cutover",
    ] {
        let (_, _, err) = mv(&["--to", "b", "--execute"], Some(step));
        assert!(
            err.contains(&format!("step=\"{step}\"")),
            "{step} never finished: {err}"
        );
    }
    let (code, out, err) = mv(&["--to", "b", "--execute"], None);
    assert_eq!(code, Some(0), "{err}");
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["state"], "done", "{out}");
    rt.block_on(async {
        // Exactly the shard's rows on b, the other shard's rows untouched on a.
        assert_eq!(rows(&b, &shard_rows(1)).await, shard1);
        assert_eq!(rows(&a, &shard_rows(0)).await, shard0);
        assert_eq!(int(&b, "SELECT count(*) FROM orders WHERE NOT satisfies_hash_partition('h'::regclass, 4, 1, customer_id) AND NOT satisfies_hash_partition('h'::regclass, 4, 2, customer_id)").await, 0);
        assert!(int(&b, "SELECT count(*) FROM pg_indexes WHERE tablename = 'orders' AND indexdef LIKE '%(amount)%'").await == 1);
        for (node, sql) in [(&a, "SELECT count(*) FROM pg_replication_slots"), (&a, "SELECT count(*) FROM pg_publication"), (&b, "SELECT count(*) FROM pg_subscription")] {
            assert_eq!(int(node, sql).await, 0, "{sql}");
        }
        // The old copy on a is fenced; the other shard still takes writes there.
        let mut conn = db::connect(&a.conn_spec("postgres")).await.unwrap();
        let k = shard1[0];
        let e = sqlx::query("DELETE FROM orders WHERE customer_id = $1").bind(k.0).execute(&mut conn).await.unwrap_err().to_string();
        assert!(e.contains("reload the shard map"), "{e}");
        let k0 = shard0[0];
        sqlx::query("UPDATE orders SET amount = amount WHERE customer_id = $1").bind(k0.0).execute(&mut conn).await.unwrap();
        db::close(conn).await;
    });
    assert_eq!(ShardMap::load(&map).unwrap().shards[1].node, "b");

    // Reverse: back to a, the same rows, a's stale copy replaced.
    // (without counting the copies in the pause: the catch-up and the verification stand in)
    let (code, out, err) = mv(
        &["--reverse", "--execute", "--cutover-counts", "never"],
        None,
    );
    assert_eq!(code, Some(0), "{err}\n{out}");
    assert!(out.contains("did not count the copies"), "{out}");
    let back = ShardMap::load(&map).unwrap();
    assert_eq!((back.version, back.shards[1].node.as_str()), (9, "a"));
    rt.block_on(async {
        assert_eq!(rows(&a, &shard_rows(1)).await, shard1);
        assert_eq!(
            int(
                &a,
                "SELECT count(*) FROM pg_trigger WHERE tgname LIKE 'dbkit_move_s1_v7%'"
            )
            .await,
            0
        );
        assert_eq!(
            int(&a, "SELECT count(*) FROM pg_replication_slots").await
                + int(&b, "SELECT count(*) FROM pg_replication_slots").await,
            0
        );
    });

    // Abort: a move of shard 0 stopped after its copy is undone, a left as it was.
    let zero = |extra: &[&str]| {
        let mut args = vec![
            "shard", "move", "--map", m, "--shard", "0", "--format", "json",
        ];
        args.extend_from_slice(extra);
        dbkit(&args, &env, None)
    };
    let (code, _, err) = zero(&["--to", "b", "--execute", "--stop-after", "copy"]);
    assert_eq!(code, Some(0), "{err}");
    rt.block_on(async {
        assert_eq!(
            int(&a, "SELECT count(*) FROM pg_replication_slots").await,
            1
        );
        assert_eq!(rows(&b, &shard_rows(0)).await, shard0);
    });
    let (code, out, err) = zero(&["--abort", "--execute"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("\"aborted\""), "{out}");
    rt.block_on(async {
        assert_eq!(
            int(&a, "SELECT count(*) FROM pg_replication_slots").await,
            0
        );
        assert_eq!(int(&a, "SELECT count(*) FROM pg_publication").await, 0);
        assert_eq!(int(&b, "SELECT count(*) FROM pg_subscription").await, 0);
        assert!(rows(&b, &shard_rows(0)).await.is_empty());
        assert_eq!(rows(&a, &shard_rows(0)).await, shard0);
        assert_eq!(
            int(
                &a,
                "SELECT count(*) FROM pg_trigger WHERE tgname LIKE 'dbkit%'"
            )
            .await,
            0
        );
    });
    assert_eq!(ShardMap::load(&map).unwrap().shards[0].node, "a");
    let (code, _, err) = zero(&["--abort", "--execute"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("nothing to abort"), "{err}");
}

#[test]
fn verify_names_a_row_changed_on_the_target_and_the_move_stops_before_cutover() {
    let a = start();
    let b = start();
    let dir = tempfile::tempdir().unwrap();
    let map = dir.path().join("map.toml");
    write_map(&map, &a, &b);
    let m = map.to_str().unwrap();
    let rt = rt();
    rt.block_on(async {
        exec(
            &a,
            &format!(
                "{SCHEMA}
            CREATE TABLE orders_p1 PARTITION OF orders FOR VALUES WITH (MODULUS 4, REMAINDER 1);
            INSERT INTO orders SELECT g, 1, 10, 'x' FROM ({}) k(g);",
                keys_sql(1, 3_000)
            ),
        )
        .await;
    });
    let run = |args: &[&str]| dbkit(args, &[], None);
    let (code, _, err) = run(&[
        "shard",
        "move",
        "--map",
        m,
        "--shard",
        "1",
        "--to",
        "b",
        "--execute",
        "--stop-after",
        "indexes",
    ]);
    assert_eq!(code, Some(0), "{err}");
    let (code, out, err) = run(&[
        "shard", "verify", "--map", m, "--shard", "1", "--format", "json",
    ]);
    assert_eq!(code, Some(0), "{err}");
    let clean: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(clean["verify"]["rows"].as_i64().unwrap() > 500, "{out}");
    // A write on the target alone: the copies differ for good.
    let key = rt.block_on(async {
        let k = rows(
            &b,
            "SELECT customer_id, id, amount FROM orders_p1 ORDER BY 1 LIMIT 1",
        )
        .await[0];
        exec(
            &b,
            &format!(
                "UPDATE orders_p1 SET amount = 11 WHERE customer_id = {}",
                k.0
            ),
        )
        .await;
        k.0
    });
    let (code, out, _) = run(&[
        "shard", "verify", "--map", m, "--shard", "1", "--format", "json",
    ]);
    assert_eq!(code, Some(1), "{out}");
    let r: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(r["findings"][0]["rule"], "shard-move-row-differs");
    assert_eq!(
        r["findings"][0]["evidence"]["key"],
        format!("({key},1)"),
        "{out}"
    );
    // The move resumes, finds it, and stops before the cutover: the map is unchanged.
    let (code, out, _) = run(&[
        "shard",
        "move",
        "--map",
        m,
        "--shard",
        "1",
        "--to",
        "b",
        "--execute",
        "--format",
        "json",
    ]);
    assert_eq!(code, Some(1), "{out}");
    let r: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(r["state"], "running");
    assert_eq!(ShardMap::load(&map).unwrap().version, 7);
    let (code, _, err) = run(&[
        "shard",
        "move",
        "--map",
        m,
        "--shard",
        "1",
        "--abort",
        "--execute",
    ]);
    assert_eq!(code, Some(0), "{err}");
    rt.block_on(async {
        assert_eq!(
            int(
                &b,
                "SELECT count(*) FROM pg_class WHERE relname IN ('orders_p1', 'orders')"
            )
            .await,
            0
        );
        assert_eq!(
            int(&a, "SELECT count(*) FROM pg_replication_slots").await,
            0
        );
    });
}

#[test]
fn a_rebalance_onto_a_fourth_node_runs_every_planned_move_and_data_follows_the_map() {
    let nodes: Vec<ScratchCluster> = (0..4).map(|_| start()).collect();
    let names = ["a", "b", "c", "d"];
    let holds: [&[u64]; 4] = [&[0, 1, 2], &[3, 4, 5], &[6, 7], &[]];
    let dir = tempfile::tempdir().unwrap();
    let map = dir.path().join("map.toml");
    let mut text = String::from("version = 1\n[tables]\norders = \"customer_id\"\n");
    for (n, c) in names.iter().zip(&nodes).take(3) {
        text.push_str(&format!(
            "[[nodes]]\nname = \"{n}\"\nurl = \"{}\"\n",
            c.url()
        ));
    }
    for (i, h) in holds.iter().enumerate() {
        for r in *h {
            text.push_str(&format!(
                "[[shards]]\nid = {r}\nnode = \"{}\"\nhash = {{ modulus = 8, remainder = {r} }}\n",
                names[i]
            ));
        }
    }
    std::fs::write(&map, text).unwrap();
    let rt = rt();
    let mut counts = BTreeMap::new();
    rt.block_on(async {
        for (i, h) in holds.iter().enumerate().take(3) {
            let mut sql = "CREATE TABLE orders (customer_id int8 NOT NULL, id int8 NOT NULL, note text, PRIMARY KEY (customer_id, id)) PARTITION BY HASH (customer_id);".to_string();
            for r in *h {
                sql.push_str(&format!("CREATE TABLE orders_p{r} PARTITION OF orders FOR VALUES WITH (MODULUS 8, REMAINDER {r});"));
            }
            sql.push_str("INSERT INTO orders SELECT g, 1, 'x' FROM generate_series(1, 16000) g WHERE ");
            let any: Vec<String> = h.iter().map(|r| format!("satisfies_hash_partition('orders'::regclass, 8, {r}, g::int8)")).collect();
            sql.push_str(&any.join(" OR "));
            exec(&nodes[i], &sql).await;
            for r in *h {
                counts.insert(*r, int(&nodes[i], &format!("SELECT count(*) FROM orders_p{r}")).await);
            }
        }
    });
    let add = format!("name=d,url={}", nodes[3].url());
    let m = map.to_str().unwrap();
    let args = [
        "shard",
        "rebalance",
        "--map",
        m,
        "--strategy",
        "by-count",
        "--add",
        &add,
        "--format",
        "json",
    ];
    // The plan, as shard plan makes it.
    let planned = dbkit::ops::shard::plan(&dbkit::ops::shard::PlanRequest {
        map: map.clone(),
        strategy: dbkit::shard::plan::Strategy::ByCount,
        threshold: 0.1,
        drain: vec![],
        add: vec![dbkit::ops::shard::parse_added_node(&add).unwrap()],
        no_split: false,
        write_map: None,
    })
    .unwrap();
    assert!(planned.plan.moves.len() >= 2, "{:?}", planned.plan.moves);
    let (code, out, err) = dbkit(&args, &[], None);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("would run"), "{out}");
    let mut exec_args = args.to_vec();
    exec_args.extend(["--execute", "--max-concurrent-moves", "2"]);
    let (code, out, err) = dbkit(&exec_args, &[], None);
    assert_eq!(code, Some(0), "{err}\n{out}");
    let r: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(r["complete"], true, "{out}");
    assert_eq!(
        r["moves"].as_array().unwrap().len(),
        planned.plan.moves.len()
    );
    // The map is the plan's map, and every shard's rows are on the node it names.
    let now = ShardMap::load(&map).unwrap();
    for s in &planned.plan.new_map.shards {
        let here = now.shards.iter().find(|x| x.id == s.id).unwrap();
        assert_eq!(here.node, s.node, "shard {}", s.id);
        let node = &nodes[names.iter().position(|n| *n == s.node).unwrap()];
        let rows = rt.block_on(int(node, &format!("SELECT count(*) FROM orders_p{}", s.id)));
        assert_eq!(rows, counts[&s.id], "shard {} on {}", s.id, s.node);
    }
    assert_eq!(now.nodes.len(), 4);
    rt.block_on(async {
        for n in &nodes {
            assert_eq!(int(n, "SELECT count(*) FROM pg_replication_slots").await, 0);
            assert_eq!(int(n, "SELECT count(*) FROM pg_subscription").await, 0);
        }
        // d serves keys of its shards through its own parent table.
        assert!(int(&nodes[3], "SELECT count(*) FROM orders").await > 0);
    });
    // A rerun has nothing left to do.
    let (code, out, err) = dbkit(&exec_args, &[], None);
    assert_eq!(code, Some(0), "{err}");
    assert!(!out.contains("\"would run\""), "{out}");
}

/// Run the dbkit binary; when it logs that `step` is done, wait `delay` and call `then`
/// (while dbkit goes on); the exit code and stderr.
fn dbkit_with(
    args: &[&str],
    step: &str,
    delay: Duration,
    then: impl FnOnce(),
) -> (Option<i32>, String) {
    use std::io::BufRead;
    use std::process::{Command, Stdio};
    let mut child = Command::new(env!("CARGO_BIN_EXE_dbkit"))
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = String::new();
    let mut then = Some(then);
    for line in std::io::BufReader::new(child.stderr.take().unwrap()).lines() {
        let line = line.unwrap();
        err.push_str(&line);
        err.push('\n');
        if line.contains("move step done") && line.contains(&format!("step=\"{step}\"")) {
            if let Some(f) = then.take() {
                std::thread::sleep(delay);
                f();
            }
        }
    }
    (child.wait().unwrap().code(), err)
}

#[test]
fn a_server_restarted_mid_copy_leaves_a_move_that_resumes_or_aborts_cleanly() {
    let mut a = start();
    let mut b = start();
    let dir = tempfile::tempdir().unwrap();
    let map = dir.path().join("map.toml");
    write_map(&map, &a, &b);
    let m = map.to_str().unwrap();
    let rt = rt();
    let source_rows = rt.block_on(async {
        exec(&a, &format!("{SCHEMA}
            CREATE TABLE orders_p1 PARTITION OF orders FOR VALUES WITH (MODULUS 4, REMAINDER 1);
            INSERT INTO orders SELECT g, n, n, repeat('x', 100) FROM ({}) k(g), generate_series(1, 4) n;",
            keys_sql(1, 600_000))).await;
        rows(&a, "SELECT customer_id, id, amount FROM orders_p1 ORDER BY 1, 2").await
    });
    let mv = [
        "-v",
        "shard",
        "move",
        "--map",
        m,
        "--shard",
        "1",
        "--to",
        "b",
        "--execute",
    ];

    // The target crashes during the copy: dbkit stops with an error; a rerun finishes the move.
    let (code, err) = dbkit_with(&mv, "schema", Duration::from_millis(300), || {
        b.restart().unwrap()
    });
    assert_eq!(
        code,
        Some(2),
        "the move went on as if nothing happened: {err}"
    );
    let (code, err) = dbkit_with(&mv, "none", Duration::ZERO, || {});
    assert_eq!(code, Some(0), "{err}");
    rt.block_on(async {
        assert_eq!(
            rows(
                &b,
                "SELECT customer_id, id, amount FROM orders_p1 ORDER BY 1, 2"
            )
            .await,
            source_rows
        );
        assert_eq!(
            int(&a, "SELECT count(*) FROM pg_replication_slots").await,
            0
        );
        assert_eq!(int(&b, "SELECT count(*) FROM pg_subscription").await, 0);
    });

    // The (new) source crashes during the copy back: dbkit stops; --abort leaves nothing behind.
    let back = [
        "-v",
        "shard",
        "move",
        "--map",
        m,
        "--shard",
        "1",
        "--reverse",
        "--execute",
    ];
    let (code, err) = dbkit_with(&back, "schema", Duration::from_millis(300), || {
        b.restart().unwrap()
    });
    assert_eq!(code, Some(2), "{err}");
    let (code, err) = dbkit_with(
        &[
            "shard",
            "move",
            "--map",
            m,
            "--shard",
            "1",
            "--abort",
            "--execute",
        ],
        "none",
        Duration::ZERO,
        || {},
    );
    assert_eq!(code, Some(0), "{err}");
    rt.block_on(async {
        assert_eq!(
            int(&b, "SELECT count(*) FROM pg_replication_slots").await,
            0
        );
        assert_eq!(int(&b, "SELECT count(*) FROM pg_publication").await, 0);
        assert_eq!(int(&a, "SELECT count(*) FROM pg_subscription").await, 0);
        // b still holds the shard, untouched; a holds only its old fenced copy.
        assert_eq!(
            rows(
                &b,
                "SELECT customer_id, id, amount FROM orders_p1 ORDER BY 1, 2"
            )
            .await,
            source_rows
        );
        assert_eq!(
            int(
                &a,
                "SELECT count(*) FROM pg_class WHERE relname = 'orders_p1'"
            )
            .await,
            0
        );
    });
    assert_eq!(ShardMap::load(&map).unwrap().shards[1].node, "b");
    // And the move back, run again, goes through.
    let (code, err) = dbkit_with(&back, "none", Duration::ZERO, || {});
    assert_eq!(code, Some(0), "{err}");
    rt.block_on(async {
        assert_eq!(
            rows(
                &a,
                "SELECT customer_id, id, amount FROM orders_p1 ORDER BY 1, 2"
            )
            .await,
            source_rows
        );
        assert_eq!(
            int(&b, "SELECT count(*) FROM pg_replication_slots").await,
            0
        );
    });
    a.check_alive().unwrap();
}

#[test]
fn a_rebalance_splits_a_hot_shard_held_in_a_shared_table_and_moves_a_half() {
    let a = start();
    let b = start();
    let dir = tempfile::tempdir().unwrap();
    let map = dir.path().join("map.toml");
    std::fs::write(
        &map,
        format!(
            "version = 1\n[tables]\norders = \"customer_id\"\n[[nodes]]\nname = \"a\"\nurl = \"{}\"\n[[nodes]]\nname = \"b\"\nurl = \"{}\"\n\
             [[shards]]\nid = 0\nnode = \"a\"\nhash = {{ modulus = 2, remainder = 0 }}\nbytes = 10000000000\n\
             [[shards]]\nid = 1\nnode = \"b\"\nhash = {{ modulus = 2, remainder = 1 }}\nbytes = 1000000000\n",
            a.url(),
            b.url()
        ),
    )
    .unwrap();
    let rt = rt();
    let of =
        |m: u64, r: u64| format!("satisfies_hash_partition('h'::regclass, {m}, {r}, customer_id)");
    rt.block_on(async {
        for (node, r) in [(&a, 0), (&b, 1)] {
            exec(node, &format!("{PLAIN}
                INSERT INTO orders SELECT g, 1, 1, 'x' FROM generate_series(1, 8000) g WHERE satisfies_hash_partition('h'::regclass, 2, {r}, g::int8);")).await;
        }
    });
    let m = map.to_str().unwrap();
    let (code, out, err) = dbkit(
        &[
            "shard",
            "rebalance",
            "--map",
            m,
            "--execute",
            "--drop-source",
            "--format",
            "json",
        ],
        &[],
        None,
    );
    assert_eq!(code, Some(0), "{err}\n{out}");
    let r: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(r["complete"], true, "{out}");
    assert!(
        r["splits"][0][1]
            .as_str()
            .unwrap()
            .starts_with("done (map only"),
        "{out}"
    );
    let now = ShardMap::load(&map).unwrap();
    assert!(
        !now.shards.iter().any(|s| s.id == 0),
        "shard 0 was not split"
    );
    rt.block_on(async {
        // Every shard's rows are on its node and nowhere else.
        for s in &now.shards {
            let h = s.hash.unwrap();
            let cond = of(h.modulus, h.remainder);
            let (here, other) = if s.node == "a" { (&a, &b) } else { (&b, &a) };
            let expected = int(here, &format!("SELECT count(*) FROM generate_series(1, 8000) g, LATERAL (SELECT g::int8 AS customer_id) k WHERE {cond}")).await;
            assert_eq!(int(here, &format!("SELECT count(*) FROM orders WHERE {cond}")).await, expected, "shard {} on {}", s.id, s.node);
            assert_eq!(int(other, &format!("SELECT count(*) FROM orders WHERE {cond}")).await, 0, "shard {} left on the other node", s.id);
        }
        assert_eq!(int(&a, "SELECT count(*) FROM pg_replication_slots").await, 0);
    });
    assert!(
        now.shards.iter().filter(|s| s.node == "b").count() >= 2,
        "{:?}",
        now.shards
    );
}

async fn text(c: &ScratchCluster, sql: &str) -> String {
    let mut conn = db::connect(&c.conn_spec("postgres")).await.unwrap();
    let v: String = sqlx::query_scalar(sql)
        .fetch_one(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    db::close(conn).await;
    v
}

#[test]
fn columns_of_user_types_generated_columns_and_hostile_names_arrive_intact() {
    // An enum and an array of it carry the source's type OIDs in binary COPY: the copy must
    // fall back to text. The generated column is computed on the target, not copied.
    let a = start();
    let b = start();
    let dir = tempfile::tempdir().unwrap();
    let map = dir.path().join("map.toml");
    write_map(&map, &a, &b);
    let m = map.to_str().unwrap();
    let rt = rt();
    let types = "CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');";
    rt.block_on(async {
        // Servers that print and read dates differently: a text copy must not swap day and month.
        exec(&b, &format!("{types} ALTER DATABASE postgres SET datestyle = 'SQL, MDY';")).await;
        // ... and intervals: '-1 days -2 hours' printed in sql_standard style reads back as
        // -1 days +2 hours in postgres style.
        exec(
            &a,
            &format!(
                "{types}
            CREATE TABLE orders (customer_id int8 NOT NULL, id int8 NOT NULL, m mood NOT NULL,
                 moods mood[], \"we\"\"ird\nname\" text, at timestamptz, iv interval, total int8 GENERATED ALWAYS AS (id * 2) STORED,
                 PRIMARY KEY (customer_id, id)) PARTITION BY HASH (customer_id);
            CREATE TABLE orders_p1 PARTITION OF orders FOR VALUES WITH (MODULUS 4, REMAINDER 1);
            ALTER DATABASE postgres SET datestyle = 'SQL, DMY';
            ALTER DATABASE postgres SET intervalstyle = 'sql_standard';
            INSERT INTO orders (customer_id, id, m, moods, \"we\"\"ird\nname\", at, iv)
                 SELECT g, n, (ARRAY['sad','ok','happy']::mood[])[1 + g % 3], ARRAY['ok', 'happy']::mood[],
                        E'*/ <script>\\n' || g, '2026-03-04 05:06:07+02'::timestamptz + g * interval '1 minute',
                        interval '-1 days -2 hours'
                   FROM ({}) k(g), generate_series(1, 3) n;",
                keys_sql(1, 4_000)
            ),
        )
        .await;
    });
    let digest = "SELECT md5(string_agg((customer_id, id, m, moods, \"we\"\"ird\nname\", at, total, extract(epoch FROM iv))::text, '|' ORDER BY customer_id, id)) FROM orders_p1 t";
    let (source, count) = rt.block_on(async {
        (
            text(&a, digest).await,
            int(&a, "SELECT count(*) FROM orders_p1").await,
        )
    });
    assert!(count > 2_000);
    let (code, out, err) = dbkit(
        &[
            "shard",
            "move",
            "--map",
            m,
            "--shard",
            "1",
            "--to",
            "b",
            "--execute",
            "--format",
            "json",
        ],
        &[],
        None,
    );
    assert_eq!(code, Some(0), "{err}");
    assert!(
        out.contains("text) in"),
        "the copy should have been text: {out}"
    );
    rt.block_on(async {
        assert_eq!(text(&b, digest).await, source);
        assert_eq!(
            int(&b, "SELECT count(*) FROM orders_p1 WHERE total = id * 2").await,
            count
        );
        assert_eq!(
            int(
                &b,
                "SELECT count(*) FROM orders_p1 WHERE iv = interval '-1 days -2 hours'"
            )
            .await,
            count
        );
    });
}

#[test]
fn a_rerun_never_rewinds_a_subscription_that_already_streamed() {
    // The state of a crash between the copy's commit and the subscription's start, after the
    // subscription had in fact streamed: disabled, the journal's copy step not finished. A
    // rerun must start it where it was, not back at the snapshot (rows inserted since would be
    // applied twice: duplicate keys, a stuck move).
    let a = start();
    let b = start();
    let dir = tempfile::tempdir().unwrap();
    let map = dir.path().join("map.toml");
    write_map(&map, &a, &b);
    let m = map.to_str().unwrap();
    let rt = rt();
    rt.block_on(exec(
        &a,
        &format!(
            "{SCHEMA}
            CREATE TABLE orders_p1 PARTITION OF orders FOR VALUES WITH (MODULUS 4, REMAINDER 1);
            INSERT INTO orders SELECT g, 1, 10, 'x' FROM ({}) k(g);",
            keys_sql(1, 3_000)
        ),
    ));
    let mv = [
        "shard",
        "move",
        "--map",
        m,
        "--shard",
        "1",
        "--to",
        "b",
        "--execute",
    ];
    let mut first = mv.to_vec();
    first.extend(["--stop-after", "copy"]);
    let (code, _, err) = dbkit(&first, &[], None);
    assert_eq!(code, Some(0), "{err}");
    rt.block_on(async {
        exec(
            &a,
            &format!(
                "INSERT INTO orders SELECT g, 2, 20, 'late' FROM ({}) k(g);",
                keys_sql(1, 3_000)
            ),
        )
        .await;
        let want = int(&a, "SELECT count(*) FROM orders_p1").await;
        let deadline = Instant::now() + Duration::from_secs(30);
        while int(&b, "SELECT count(*) FROM orders_p1").await != want {
            assert!(Instant::now() < deadline, "the late rows never streamed");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        exec(&b, "ALTER SUBSCRIPTION dbkit_move_s1_v7 DISABLE").await;
    });
    let journal = dir.path().join("map.toml.moves/shard-1.json");
    let mut j: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&journal).unwrap()).unwrap();
    j["steps"]
        .as_array_mut()
        .unwrap()
        .retain(|s| s["step"] != "copy");
    std::fs::write(&journal, serde_json::to_string_pretty(&j).unwrap()).unwrap();

    let source = rt.block_on(rows(
        &a,
        "SELECT customer_id, id, amount FROM orders_p1 ORDER BY 1, 2",
    ));
    let (code, _, err) = dbkit(&mv, &[], None);
    assert_eq!(code, Some(0), "{err}");
    rt.block_on(async {
        assert_eq!(
            rows(
                &b,
                "SELECT customer_id, id, amount FROM orders_p1 ORDER BY 1, 2"
            )
            .await,
            source
        );
        assert_eq!(int(&b, "SELECT count(*) FROM pg_subscription").await, 0);
    });
}
