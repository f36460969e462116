//! `dbkit partition create` scripts applied to a real PostgreSQL: rows at the boundaries land in
//! the expected partition (month ends, Feb 29, DST changes in a time zone), hash partitions
//! cover every remainder, hostile names work, and scripts run twice change nothing.

use dbkit::db::{self, ScratchCluster};
use std::process::Command;

fn create(schema: &str, args: &[&str]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("schema.sql");
    std::fs::write(&f, schema).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_dbkit"))
        .args(["partition", "create", "--schema", f.to_str().unwrap()])
        .args(args)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

struct Pg {
    cluster: ScratchCluster,
    rt: tokio::runtime::Runtime,
}

impl Pg {
    fn new() -> Pg {
        Pg {
            cluster: ScratchCluster::start()
                .unwrap_or_else(|e| panic!("scratch PostgreSQL is required for this test: {e}")),
            rt: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap(),
        }
    }

    fn exec(&self, sql: &str) {
        self.rt.block_on(async {
            let mut c = db::connect(&self.cluster.conn_spec("postgres"))
                .await
                .unwrap();
            db::exec_script(&mut c, "test", sql)
                .await
                .unwrap_or_else(|e| panic!("{e}\n{sql}"));
            db::close(c).await;
        })
    }

    /// The one value `sql` returns.
    fn one<T>(&self, sql: &str) -> T
    where
        T: Send + Unpin + for<'r> sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres>,
    {
        self.rt.block_on(async {
            let mut c = db::connect(&self.cluster.conn_spec("postgres"))
                .await
                .unwrap();
            let v: T = sqlx::query_scalar(sql)
                .fetch_one(&mut c)
                .await
                .unwrap_or_else(|e| panic!("{sql}: {e}"));
            db::close(c).await;
            v
        })
    }

    fn where_is(&self, table: &str, column: &str, value: &str) -> String {
        self.rt.block_on(async {
            let mut c = db::connect(&self.cluster.conn_spec("postgres"))
                .await
                .unwrap();
            let sql =
                format!("SELECT tableoid::regclass::text FROM {table} WHERE {column} = {value}");
            let v: String = sqlx::query_scalar(&sql)
                .fetch_one(&mut c)
                .await
                .unwrap_or_else(|e| panic!("{sql}: {e}"));
            db::close(c).await;
            v
        })
    }
}

const EVENTS: &str = "CREATE TABLE events (id bigserial, created_at timestamptz NOT NULL, tenant_id int NOT NULL, kind text NOT NULL, PRIMARY KEY (id, created_at, tenant_id, kind));";

#[test]
fn time_ranges_put_boundary_rows_where_they_belong() {
    let pg = Pg::new();
    let script = create(
        EVENTS,
        &[
            "--table",
            "events",
            "--key",
            "created_at",
            "--interval",
            "month",
            "--start",
            "2024-01-01",
            "--end",
            "2025-01-01",
        ],
    );
    pg.exec(&script);
    pg.exec(&script); // idempotent
    pg.exec(
        "SET timezone = 'UTC';
         INSERT INTO events (created_at, tenant_id, kind) VALUES
           ('2024-01-31 23:59:59.999999+00', 1, 'a'), ('2024-02-01 00:00:00+00', 1, 'a'),
           ('2024-02-29 12:00:00+00', 1, 'a'), ('2030-01-01 00:00:00+00', 1, 'a');",
    );
    assert_eq!(
        pg.where_is("events", "created_at", "'2024-01-31 23:59:59.999999+00'"),
        "events_p20240101"
    );
    assert_eq!(
        pg.where_is("events", "created_at", "'2024-02-01 00:00:00+00'"),
        "events_p20240201"
    );
    assert_eq!(
        pg.where_is("events", "created_at", "'2024-02-29 12:00:00+00'"),
        "events_p20240201"
    );
    assert_eq!(
        pg.where_is("events", "created_at", "'2030-01-01 00:00:00+00'"),
        "events_default"
    );

    // Daily partitions in Europe/Berlin across both DST changes of 2024.
    let berlin = EVENTS.replace("events", "visits");
    let script = create(
        &berlin,
        &[
            "--table",
            "visits",
            "--key",
            "created_at",
            "--interval",
            "day",
            "--start",
            "2024-03-29",
            "--end",
            "2024-10-29",
            "--timezone",
            "Europe/Berlin",
        ],
    );
    pg.exec(&script);
    pg.exec(
        "INSERT INTO visits (created_at, tenant_id, kind) VALUES
           ('2024-03-30 23:30:00 Europe/Berlin', 1, 'a'), ('2024-03-31 00:30:00 Europe/Berlin', 1, 'a'),
           ('2024-03-31 23:59:59 Europe/Berlin', 1, 'a'), ('2024-10-27 23:59:59 Europe/Berlin', 1, 'a'),
           ('2024-10-28 00:00:00 Europe/Berlin', 1, 'a');",
    );
    assert_eq!(
        pg.where_is(
            "visits",
            "created_at",
            "'2024-03-30 23:30:00 Europe/Berlin'"
        ),
        "visits_p20240330"
    );
    assert_eq!(
        pg.where_is(
            "visits",
            "created_at",
            "'2024-03-31 00:30:00 Europe/Berlin'"
        ),
        "visits_p20240331"
    );
    assert_eq!(
        pg.where_is(
            "visits",
            "created_at",
            "'2024-03-31 23:59:59 Europe/Berlin'"
        ),
        "visits_p20240331",
        "the 23-hour day"
    );
    assert_eq!(
        pg.where_is(
            "visits",
            "created_at",
            "'2024-10-27 23:59:59 Europe/Berlin'"
        ),
        "visits_p20241027",
        "the 25-hour day"
    );
    assert_eq!(
        pg.where_is(
            "visits",
            "created_at",
            "'2024-10-28 00:00:00 Europe/Berlin'"
        ),
        "visits_p20241028"
    );

    // Hourly partitions are cut in UTC.
    let hourly = EVENTS.replace("events", "clicks");
    let script = create(
        &hourly,
        &[
            "--table",
            "clicks",
            "--key",
            "created_at",
            "--interval",
            "hour",
            "--start",
            "2024-03-31",
            "--premake",
            "48",
            "--timezone",
            "Europe/Berlin",
        ],
    );
    assert!(script.contains("hourly bounds are in UTC"));
    pg.exec(&script);
}

#[test]
fn hash_list_integer_two_level_and_hostile_names() {
    let pg = Pg::new();
    let script = create(
        EVENTS,
        &["--table", "events", "--key", "tenant_id", "--modulus", "4"],
    );
    pg.exec(&script);
    pg.exec("INSERT INTO events (created_at, tenant_id, kind) SELECT now(), g, 'k' FROM generate_series(1, 1000) g;");
    let parts: i64 = pg.rt.block_on(async {
        let mut c = db::connect(&pg.cluster.conn_spec("postgres"))
            .await
            .unwrap();
        let n: i64 = sqlx::query_scalar("SELECT count(DISTINCT tableoid) FROM events")
            .fetch_one(&mut c)
            .await
            .unwrap();
        let total: i64 = sqlx::query_scalar("SELECT count(*) FROM events")
            .fetch_one(&mut c)
            .await
            .unwrap();
        assert_eq!(total, 1000);
        n
    });
    assert_eq!(parts, 4, "every remainder gets rows");

    let lists = EVENTS.replace("events", "by_kind");
    let script = create(
        &lists,
        &[
            "--table",
            "by_kind",
            "--key",
            "kind",
            "--list",
            "clicks=click,tap",
            "--list",
            "view",
        ],
    );
    pg.exec(&script);
    pg.exec("INSERT INTO by_kind (created_at, tenant_id, kind) VALUES (now(), 1, 'tap'), (now(), 1, 'view'), (now(), 1, 'other');");
    assert_eq!(pg.where_is("by_kind", "kind", "'tap'"), "clicks");
    assert_eq!(pg.where_is("by_kind", "kind", "'view'"), "by_kind_pview");
    assert_eq!(pg.where_is("by_kind", "kind", "'other'"), "by_kind_default");

    let ints = "CREATE TABLE ledger (id bigint NOT NULL, amount int, PRIMARY KEY (id));";
    let script = create(
        ints,
        &[
            "--table", "ledger", "--key", "id", "--step", "1000", "--start", "-1000", "--end",
            "2000",
        ],
    );
    pg.exec(&script);
    pg.exec("INSERT INTO ledger VALUES (-1000, 1), (-1, 1), (0, 1), (1999, 1), (5000, 1);");
    assert_eq!(pg.where_is("ledger", "id", "-1"), "ledger_pm1000");
    assert_eq!(pg.where_is("ledger", "id", "0"), "ledger_p0");
    assert_eq!(pg.where_is("ledger", "id", "1999"), "ledger_p1000");
    assert_eq!(pg.where_is("ledger", "id", "5000"), "ledger_default");

    let two = EVENTS.replace("events", "metrics");
    let script = create(
        &two,
        &[
            "--table",
            "metrics",
            "--key",
            "created_at",
            "--interval",
            "year",
            "--start",
            "2024-01-01",
            "--end",
            "2026-01-01",
            "--subpartition-hash",
            "tenant_id:3",
        ],
    );
    pg.exec(&script);
    pg.exec("INSERT INTO metrics (created_at, tenant_id, kind) SELECT timestamptz '2025-06-01', g, 'k' FROM generate_series(1, 30) g;");
    let leaf = pg.where_is("metrics", "tenant_id", "7");
    assert!(leaf.starts_with("metrics_p20250101_p"), "{leaf}");

    let hostile = "CREATE TABLE \"Évents \"\"X\"\" select\" (\"Created At\" date NOT NULL, \"user\" text, PRIMARY KEY (\"Created At\", \"user\"));";
    let script = create(
        hostile,
        &[
            "--table",
            "Évents \"X\" select",
            "--key",
            "Created At",
            "--interval",
            "quarter",
            "--start",
            "2024-02-10",
            "--premake",
            "4",
        ],
    );
    pg.exec(&script);
    pg.exec(&script);
    pg.exec(
        "INSERT INTO \"Évents \"\"X\"\" select\" VALUES ('2024-03-31', 'a'), ('2024-04-01', 'b');",
    );
    assert_eq!(
        pg.where_is("\"Évents \"\"X\"\" select\"", "\"user\"", "'a'"),
        "\"Évents \"\"X\"\" select_p20240101\""
    );
    assert_eq!(
        pg.where_is("\"Évents \"\"X\"\" select\"", "\"user\"", "'b'"),
        "\"Évents \"\"X\"\" select_p20240401\""
    );
}

#[test]
fn bad_definitions_are_refused_with_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("s.sql");
    std::fs::write(
        &f,
        "CREATE TABLE t (id bigint PRIMARY KEY, at timestamptz NOT NULL);",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_dbkit"))
        .args([
            "partition",
            "create",
            "--schema",
            f.to_str().unwrap(),
            "--table",
            "t",
            "--key",
            "at",
            "--interval",
            "month",
            "--premake",
            "3",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("must contain the partition key") && err.contains("make it (id, at)"),
        "{err}"
    );
}

#[test]
fn maintain_premakes_moves_default_rows_retires_old_and_is_idempotent() {
    let pg = Pg::new();
    // Monthly partitions from 6 to 3 months ago, a DEFAULT holding a row from next month.
    pg.exec(
        "CREATE TABLE logs (id bigserial, at timestamptz NOT NULL, msg text, PRIMARY KEY (id, at)) PARTITION BY RANGE (at);
         SET timezone = 'UTC';
         DO $$
         DECLARE m timestamptz;
         BEGIN
           FOR i IN 3..6 LOOP
             m := date_trunc('month', now()) - make_interval(months => i);
             EXECUTE format('CREATE TABLE %I PARTITION OF logs FOR VALUES FROM (%L) TO (%L)',
                            'logs_p' || to_char(m, 'YYYYMMDD'), m, m + interval '1 month');
           END LOOP;
         END $$;
         CREATE TABLE logs_default PARTITION OF logs DEFAULT;
         INSERT INTO logs (at, msg) VALUES (date_trunc('month', now()) + interval '1 month' + interval '2 days', 'early');
         INSERT INTO logs (at, msg) VALUES (date_trunc('month', now()) - interval '6 months' + interval '1 day', 'old');",
    );
    let url = pg.cluster.url();
    let run = |extra: &[&str]| -> serde_json::Value {
        let out = Command::new(env!("CARGO_BIN_EXE_dbkit"))
            .args([
                "partition",
                "maintain",
                "--url",
                &url,
                "--premake",
                "2",
                "--retention",
                "120d",
                "--retention-mode",
                "drop",
                "--format",
                "json",
            ])
            .args(extra)
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let dry = run(&[]);
    let steps = dry["tables"][0]["steps"].as_array().unwrap();
    let actions: Vec<&str> = steps
        .iter()
        .map(|s| s["action"].as_str().unwrap())
        .collect();
    assert!(
        actions.contains(&"create-moving-default-rows"),
        "{actions:?}"
    );
    assert!(actions.contains(&"drop"), "{actions:?}");
    // The dry run changed nothing.
    assert_eq!(pg.where_is("logs", "msg", "'early'"), "logs_default");

    let done = run(&["--execute"]);
    assert!(
        done["tables"][0]["results"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["status"] == "done"),
        "{done:#}"
    );
    let early = pg.where_is("logs", "msg", "'early'");
    assert!(
        early.starts_with("logs_p") && early != "logs_default",
        "the DEFAULT row moved: {early}"
    );
    // The oldest partition (and its row) is gone; retention never takes the last one.
    let old: i64 = pg.rt.block_on(async {
        let mut c = db::connect(&pg.cluster.conn_spec("postgres"))
            .await
            .unwrap();
        sqlx::query_scalar("SELECT count(*) FROM logs WHERE msg = 'old'")
            .fetch_one(&mut c)
            .await
            .unwrap()
    });
    assert_eq!(old, 0);

    // A second run has nothing to do.
    let again = run(&["--execute"]);
    assert_eq!(
        again["tables"][0]["steps"].as_array().unwrap().len(),
        0,
        "{again:#}"
    );
}

#[test]
fn convert_keeps_every_row_while_another_connection_inserts() {
    let pg = Pg::new();
    pg.exec(
        "CREATE TABLE readings (id bigserial PRIMARY KEY, at timestamptz NOT NULL, value int);
         INSERT INTO readings (at, value) SELECT now() - (g % 1000) * interval '1 hour', g FROM generate_series(1, 1000000) g;
         CREATE VIEW recent_readings AS SELECT id, at FROM readings WHERE value > 10;
         CREATE INDEX readings_value_idx ON readings (value);
         ANALYZE readings;",
    );
    let checksum = "SELECT count(*)::int8, sum(hashtext(id::text || '/' || value::text))::int8 FROM readings WHERE id <= 1000000";
    let before: (i64, i64) = pg.rt.block_on(async {
        let mut c = db::connect(&pg.cluster.conn_spec("postgres"))
            .await
            .unwrap();
        sqlx::query_as(checksum).fetch_one(&mut c).await.unwrap()
    });
    assert_eq!(before.0, 1_000_000);
    // Another connection keeps inserting during the conversion.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let spec = pg.cluster.conn_spec("postgres");
    let inserter = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                let mut c = db::connect(&spec).await.unwrap();
                let mut n = 0i64;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    sqlx::query("INSERT INTO readings (at, value) VALUES (now(), -1)")
                        .execute(&mut c)
                        .await
                        .unwrap();
                    n += 1;
                }
                n
            })
        })
    };
    let url = pg.cluster.url();
    // `partition convert --execute` on readings, by month.
    let convert = || {
        Command::new(env!("CARGO_BIN_EXE_dbkit"))
            .args([
                "partition",
                "convert",
                "--url",
                &url,
                "--table",
                "readings",
                "--key",
                "at",
                "--interval",
                "month",
                "--execute",
                "--format",
                "json",
            ])
            .output()
            .unwrap()
    };
    let out = convert();
    std::thread::sleep(std::time::Duration::from_millis(200));
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let inserted = inserter.join().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        v["results"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["status"] == "done"),
        "{v:#}"
    );
    assert!(inserted > 0);
    let (after, total, kind, view_rows): ((i64, i64), i64, String, i64) = pg.rt.block_on(async {
        let mut c = db::connect(&pg.cluster.conn_spec("postgres"))
            .await
            .unwrap();
        let a = sqlx::query_as(checksum).fetch_one(&mut c).await.unwrap();
        let t: i64 = sqlx::query_scalar("SELECT count(*) FROM readings")
            .fetch_one(&mut c)
            .await
            .unwrap();
        let k: String = sqlx::query_scalar(
            "SELECT relkind::text FROM pg_class WHERE oid = 'readings'::regclass",
        )
        .fetch_one(&mut c)
        .await
        .unwrap();
        let v: i64 = sqlx::query_scalar("SELECT count(*) FROM recent_readings")
            .fetch_one(&mut c)
            .await
            .unwrap();
        (a, t, k, v)
    });
    assert_eq!(kind, "p", "readings is now partitioned");
    assert_eq!(after, before, "every original row kept, unchanged");
    assert_eq!(
        total,
        1_000_000 + inserted,
        "and every concurrent insert landed"
    );
    assert_eq!(view_rows, 999_990, "the view reads the partitioned table");
    // The old index now serves the parent's index on the first partition; new partitions get it too.
    let idx: i64 = pg.rt.block_on(async {
        let mut c = db::connect(&pg.cluster.conn_spec("postgres"))
            .await
            .unwrap();
        sqlx::query_scalar("SELECT count(*) FROM pg_indexes WHERE indexdef LIKE '%(value)%'")
            .fetch_one(&mut c)
            .await
            .unwrap()
    });
    assert!(idx >= 5, "parent + legacy + 3 future partitions: {idx}");
    // Running again resumes to "already done" everywhere.
    let out = convert();
    assert_eq!(
        out.status.code(),
        Some(2),
        "already partitioned: a clear refusal"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("already partitioned"));
}

#[test]
fn create_reads_a_live_table_definition() {
    let a = Pg::new();
    a.exec("CREATE TABLE \"Sensor Data\" (id bigserial, at timestamptz NOT NULL DEFAULT now(), v numeric(10,2), PRIMARY KEY (id, at));");
    let out = Command::new(env!("CARGO_BIN_EXE_dbkit"))
        .args([
            "partition",
            "create",
            "--url",
            &a.cluster.url(),
            "--table",
            "Sensor Data",
            "--key",
            "at",
            "--interval",
            "week",
            "--start",
            "2024-02-28",
            "--premake",
            "3",
        ])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let script = String::from_utf8(out.stdout).unwrap();
    assert!(
        script.contains("\"Sensor Data_p20240226\""),
        "weeks start on Monday: {script}"
    );
    // The script builds the same table, partitioned, on another server.
    let b = Pg::new();
    b.exec(&script);
    b.exec("INSERT INTO \"Sensor Data\" (at, v) VALUES ('2024-03-04 00:00:00+00', 1.5);");
    assert_eq!(
        b.where_is("\"Sensor Data\"", "v", "1.5"),
        "\"Sensor Data_p20240304\""
    );
}

/// Identity columns are allowed on partitioned tables (PostgreSQL 10+): `create` keeps them with
/// a note, and `convert` carries one over so new rows continue after the old ids.
#[test]
fn identity_columns_are_kept_and_continue() {
    let pg = Pg::new();
    pg.exec(
        "CREATE TABLE tickets (id bigint GENERATED ALWAYS AS IDENTITY, at timestamptz NOT NULL, note text, PRIMARY KEY (id, at));
         INSERT INTO tickets (at, note) SELECT now() - (g % 90) * interval '1 day', 'n' || g FROM generate_series(1, 5000) g;",
    );
    let url = pg.cluster.url();
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_dbkit"))
            .args(args)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    // create from the live definition: accepted, the identity kept, the note given.
    let (code, out, err) = run(&[
        "partition",
        "create",
        "--url",
        &url,
        "--table",
        "tickets",
        "--key",
        "at",
        "--interval",
        "month",
        "--start",
        "2024-01-01",
        "--end",
        "2024-03-01",
        "--format",
        "json",
    ]);
    assert_eq!(code, Some(0), "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(v.to_string().contains("IDENTITY"), "{v:#}");
    assert!(v["notes"].to_string().contains("identity column"), "{v:#}");
    // convert --execute: every row kept, new ids after the old ones, all distinct.
    let (code, out, err) = run(&[
        "partition",
        "convert",
        "--url",
        &url,
        "--table",
        "tickets",
        "--key",
        "at",
        "--interval",
        "month",
        "--execute",
        "--format",
        "json",
    ]);
    assert_eq!(code, Some(0), "{err}\n{out}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(
        v["plan"]["notes"].to_string().contains("identity column"),
        "{v:#}"
    );
    let kind: String = pg.one("SELECT relkind::text FROM pg_class WHERE oid = 'tickets'::regclass");
    let new_id: i64 = pg.one("INSERT INTO tickets (at, note) VALUES (now(), 'after') RETURNING id");
    let (rows, distinct): (i64, i64) = (
        pg.one("SELECT count(*) FROM tickets"),
        pg.one("SELECT count(DISTINCT id) FROM tickets"),
    );
    assert_eq!(kind, "p");
    assert_eq!(rows, 5001);
    assert_eq!(distinct, rows, "no id was given twice");
    assert!(
        new_id > 5000,
        "new ids continue after the old ones: {new_id}"
    );
}
