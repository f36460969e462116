//! Real-PostgreSQL tests: scratch clusters (start, several at once, cleanup after drop and after
//! a panic), connections (URIs, keyword strings, the libpq environment), password secrecy and
//! connection failures, and the shop fixture loaded and queried.
//!
//! These need the PostgreSQL server binaries; without them they fail with a message saying so.

use dbkit::db::{self, ConnSpec, ScratchCluster, ScratchOptions};
use sqlx::{Connection, Row};
use std::path::Path;
use std::process::{Command, Output};

fn start() -> ScratchCluster {
    ScratchCluster::start()
        .unwrap_or_else(|e| panic!("scratch PostgreSQL is required for this test: {e}"))
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn alive(pid: u32) -> bool {
    // A zombie is not alive: read the state from /proc.
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(s) => !s
            .rsplit(')')
            .next()
            .unwrap_or("")
            .trim_start()
            .starts_with('Z'),
        Err(_) => false,
    }
}

fn dbkit(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_dbkit"));
    cmd.args(args);
    for k in [
        "DATABASE_URL",
        "PGHOST",
        "PGPORT",
        "PGUSER",
        "PGPASSWORD",
        "PGDATABASE",
        "PGSSLMODE",
    ] {
        cmd.env_remove(k);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

#[test]
fn a_scratch_cluster_answers_queries() {
    let c = start();
    let v: i64 = rt().block_on(async {
        let mut conn = db::connect(&c.conn_spec("postgres")).await.unwrap();
        let row = sqlx::query("SELECT $1::bigint * 2")
            .bind(21i64)
            .fetch_one(&mut conn)
            .await
            .unwrap();
        row.get(0)
    });
    assert_eq!(v, 42);
    // Settings for later features are in place.
    let (wal, preload): (String, String) = rt().block_on(async {
        let mut conn = db::connect(&c.conn_spec("postgres")).await.unwrap();
        let r = sqlx::query(
            "SELECT current_setting('wal_level'), current_setting('shared_preload_libraries')",
        )
        .fetch_one(&mut conn)
        .await
        .unwrap();
        (r.get(0), r.get(1))
    });
    assert_eq!(wal, "logical");
    assert_eq!(preload, "pg_stat_statements");
    // The socket lives in the cluster's own directory.
    assert!(c.root_dir().join(format!(".s.PGSQL.{}", c.port())).exists());
}

#[test]
fn several_clusters_run_at_once_and_vanish_when_dropped() {
    let handles: Vec<_> = (0..3).map(|_| std::thread::spawn(start)).collect();
    let clusters: Vec<ScratchCluster> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let mut ports: Vec<u16> = clusters.iter().map(|c| c.port()).collect();
    ports.sort();
    ports.dedup();
    assert_eq!(ports.len(), 3);
    let seen: Vec<(u32, std::path::PathBuf)> = clusters
        .iter()
        .map(|c| (c.pid().unwrap(), c.root_dir().to_path_buf()))
        .collect();
    rt().block_on(async {
        for c in &clusters {
            let mut conn = db::connect(&c.conn_spec("postgres")).await.unwrap();
            let port: String = sqlx::query_scalar("SELECT current_setting('port')")
                .fetch_one(&mut conn)
                .await
                .unwrap();
            assert_eq!(port, c.port().to_string());
            conn.close().await.unwrap();
        }
    });
    drop(clusters);
    for (pid, dir) in seen {
        assert!(!alive(pid), "postmaster {pid} still running");
        assert!(!dir.exists(), "{} not deleted", dir.display());
    }
}

#[test]
fn a_panicking_test_leaves_nothing_behind() {
    let (tx, rx) = std::sync::mpsc::channel();
    let r = std::thread::spawn(move || {
        let c = start();
        tx.send((c.pid().unwrap(), c.root_dir().to_path_buf()))
            .unwrap();
        panic!("deliberate panic with a running cluster");
    })
    .join();
    assert!(r.is_err());
    let (pid, dir) = rx.recv().unwrap();
    assert!(!alive(pid), "postmaster {pid} survived the panic");
    assert!(!dir.exists(), "{} survived the panic", dir.display());
}

#[test]
fn connections_by_uri_keywords_and_libpq_environment() {
    let c = start();
    let port = c.port().to_string();
    let uri = c.url();
    let kw = format!("host=127.0.0.1 port={port} user=postgres dbname=postgres");
    let socket = format!(
        "host={} port={port} user=postgres dbname=postgres",
        c.root_dir().display()
    );
    for url in [uri.as_str(), kw.as_str(), socket.as_str()] {
        let out = dbkit(&["ping", "--url", url, "--format", "json"], &[]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{url}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["version_num"].as_i64().unwrap() / 10000, 15);
    }
    let out = dbkit(
        &["ping", "--format", "json"],
        &[("DATABASE_URL", uri.as_str())],
    );
    assert_eq!(out.status.code(), Some(0));
    let out = dbkit(
        &["ping", "--format", "json"],
        &[
            ("PGHOST", "127.0.0.1"),
            ("PGPORT", port.as_str()),
            ("PGUSER", "postgres"),
            ("PGDATABASE", "postgres"),
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn passwords_never_appear_in_output_logs_or_errors() {
    let secret = "S3cr3t-Pa55word-xyz";
    let c = ScratchCluster::start_with(ScratchOptions {
        password: Some(secret.to_string()),
        ..Default::default()
    })
    .unwrap_or_else(|e| panic!("scratch PostgreSQL is required for this test: {e}"));
    let port = c.port().to_string();
    let good = format!("postgres://postgres:{secret}@127.0.0.1:{port}/postgres");
    let out = dbkit(&["ping", "--url", &good, "-vv"], &[]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for (what, s) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
        assert!(
            !String::from_utf8_lossy(s).contains(secret),
            "password in {what}"
        );
    }
    for fmt in ["json", "markdown", "text"] {
        let out = dbkit(
            &["ping", "--format", fmt],
            &[("DATABASE_URL", good.as_str())],
        );
        assert!(
            !String::from_utf8_lossy(&out.stdout).contains(secret),
            "{fmt}"
        );
    }

    // Wrong password: exit 2, one line naming host and port, no password.
    let wrong = format!("postgres://postgres:{secret}-wrong@127.0.0.1:{port}/postgres");
    let out = dbkit(&["ping", "--url", &wrong, "-vv"], &[]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(!err.contains(secret), "{err}");
    assert!(err.contains(&format!("127.0.0.1:{port}")), "{err}");
    assert!(err.contains("password authentication failed"), "{err}");
    let out = dbkit(
        &["ping"],
        &[
            ("PGPASSWORD", "wrong-hunter2"),
            ("PGHOST", "127.0.0.1"),
            ("PGPORT", &port),
            ("PGUSER", "postgres"),
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(!err.contains("wrong-hunter2"), "{err}");
}

#[test]
fn connection_failures_are_one_clear_line() {
    // A port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let out = dbkit(
        &[
            "ping",
            "--url",
            &format!("postgres://u:pw1234567@127.0.0.1:{port}/d"),
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains(&format!(
            "could not connect to 127.0.0.1:{port} (database d, user u)"
        )),
        "{err}"
    );
    assert!(!err.contains("pw1234567"));
    let out = dbkit(&["ping", "--url", "mysql://x"], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8(out.stderr)
        .unwrap()
        .contains("scheme 'mysql'"));
}

#[test]
fn the_shop_fixture_loads_and_its_workload_runs() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/shop");
    let load = db::ScratchLoad {
        schema: Some(root.join("schema.sql")),
        seed: Some(root.join("seed.sql")),
        port: None,
        settings: Vec::new(),
    };
    rt().block_on(async {
        let target = db::open_target(None, Some(&load)).await.unwrap();
        let mut conn = db::connect(&target.spec).await.unwrap();
        let counts: (i64, i64, i64, i64) = sqlx::query_as(
            "SELECT (SELECT count(*) FROM orders), (SELECT count(*) FROM order_items), \
             (SELECT count(*) FROM events), (SELECT count(*) FROM orders WHERE status = 'pending')",
        )
        .fetch_one(&mut conn)
        .await
        .unwrap();
        assert_eq!(counts.0, 100_000);
        assert!(counts.1 > 200_000, "{counts:?}");
        assert_eq!(counts.2, 200_000);
        assert_eq!(counts.3, 3_000, "skewed statuses");
        // Every workload statement runs (inside a transaction that is rolled back).
        let workload = std::fs::read_to_string(root.join("workload.sql")).unwrap();
        let (stmts, _) = dbkit::sql::analyze(&workload);
        assert_eq!(stmts.len(), 21);
        for s in &stmts {
            assert!(
                s.ast.is_some(),
                "{} does not parse: {:?}",
                s.raw.text,
                s.parse_error
            );
            let mut tx = conn.begin().await.unwrap();
            sqlx::raw_sql(s.raw.text)
                .execute(&mut *tx)
                .await
                .unwrap_or_else(|e| panic!("{}: {e}", s.raw.text));
            tx.rollback().await.unwrap();
        }
        // A failing script names its file and line.
        let err = db::exec_script(
            &mut conn,
            "bad.sql",
            "select 1;\n\nselect nope_column from orders;",
        )
        .await
        .unwrap_err()
        .to_string();
        assert!(
            err.starts_with("bad.sql:3: column \"nope_column\" does not exist"),
            "{err}"
        );
    });
}

#[test]
fn missing_binaries_are_named() {
    let err = ScratchCluster::start_with(ScratchOptions {
        bin_dir: Some("/nonexistent/bin".into()),
        ..Default::default()
    })
    .unwrap_err()
    .to_string();
    assert!(err.contains("/nonexistent/bin/initdb"), "{err}");
    let _ = ConnSpec::default();
}
