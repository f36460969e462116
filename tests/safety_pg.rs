//! dbkit's first promise, tried as an attacker would against a real PostgreSQL: nothing it runs
//! changes the database unless asked (data, schema, sequences, replication slots and statistics
//! are compared before and after every attack), transaction control in user SQL never ends
//! dbkit's transaction, generated scripts cannot be broken out of, and parameters cannot break
//! out of their quotes under either `standard_conforming_strings`.

mod common;

use dbkit::db::{self, ScratchCluster};
use std::path::Path;
use std::process::Command;

const SCHEMA: &str = "
CREATE TABLE users (id bigint PRIMARY KEY, email text NOT NULL);
INSERT INTO users SELECT g, 'u' || g || '@x.org' FROM generate_series(1, 500) g;
CREATE TABLE cart_items (cart_id bigint NOT NULL, product_id bigint NOT NULL, quantity int NOT NULL);
INSERT INTO cart_items SELECT g, g % 50, 1 FROM generate_series(1, 1000) g;
CREATE TABLE victim (id int PRIMARY KEY);
INSERT INTO victim VALUES (1), (2), (3);
CREATE TABLE sentinel (id int);
CREATE SEQUENCE victim_seq;
SELECT nextval('victim_seq');
CREATE FUNCTION bump(n bigint) RETURNS bigint LANGUAGE sql AS $$ SELECT setval('victim_seq', n) $$;
CREATE FUNCTION reads(n bigint) RETURNS bigint LANGUAGE sql AS $$ SELECT count(*) FROM users WHERE id < n $$;
ANALYZE;
";

struct Pg {
    cluster: ScratchCluster,
    rt: tokio::runtime::Runtime,
}

impl Pg {
    fn new() -> Pg {
        let pg = Pg {
            cluster: ScratchCluster::start()
                .unwrap_or_else(|e| panic!("scratch PostgreSQL is required for this test: {e}")),
            rt: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap(),
        };
        pg.exec(SCHEMA);
        pg
    }

    fn url(&self) -> String {
        self.cluster.url()
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

    fn text(&self, sql: &str) -> String {
        self.rt.block_on(async {
            let mut c = db::connect(&self.cluster.conn_spec("postgres"))
                .await
                .unwrap();
            let v: Option<String> = sqlx::query_scalar(sql).fetch_one(&mut c).await.unwrap();
            db::close(c).await;
            v.unwrap_or_default()
        })
    }

    /// Everything an attack could change: data, schema, sequences, slots, statistics resets.
    fn state(&self) -> Vec<(&'static str, String)> {
        [
            ("cart_items", "SELECT count(*)::text || '/' || sum(quantity)::text FROM cart_items"),
            ("users", "SELECT count(*)::text FROM users"),
            ("victim", "SELECT count(*)::text FROM victim"),
            ("sentinel", "SELECT count(*)::text FROM sentinel"),
            ("tables", "SELECT string_agg(relname, ',' ORDER BY relname) FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind IN ('r', 'p', 'S', 'v')"),
            ("columns", "SELECT string_agg(table_name || '.' || column_name, ',' ORDER BY table_name, column_name) FROM information_schema.columns WHERE table_schema = 'public'"),
            ("sequence", "SELECT last_value::text FROM victim_seq"),
            ("slots", "SELECT count(*)::text FROM pg_replication_slots"),
            ("stats_reset", "SELECT coalesce(stats_reset::text, 'never') FROM pg_stat_database WHERE datname = current_database()"),
            ("prepared_xacts", "SELECT count(*)::text FROM pg_prepared_xacts"),
        ]
        .into_iter()
        .map(|(k, q)| (k, self.text(q)))
        .collect()
    }
}

fn dbkit(args: &[&str]) -> (Option<i32>, String, String) {
    common::dbkit_in(args, &[], &["DATABASE_URL", "PGPASSWORD"])
}

/// `dbkit check FILE --url URL --format json --fail-on none`: exit code, report, stderr.
fn check(file: &str, url: &str) -> (Option<i32>, serde_json::Value, String) {
    let (code, out, err) = dbkit(&[
        "check",
        file,
        "--url",
        url,
        "--format",
        "json",
        "--fail-on",
        "none",
    ]);
    let v = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}\n{err}"));
    (code, v, err)
}

/// `dbkit explain ARGS… --url URL --format json`: exit code, report, stderr.
fn explain(url: &str, args: &[&str]) -> (Option<i32>, serde_json::Value, String) {
    let mut a = vec!["explain"];
    a.extend_from_slice(args);
    a.extend_from_slice(&["--url", url, "--format", "json"]);
    let (code, out, err) = dbkit(&a);
    let v = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}\n{err}"));
    (code, v, err)
}

/// The findings of `rule` in a report.
fn findings<'a>(v: &'a serde_json::Value, rule: &str) -> Vec<&'a serde_json::Value> {
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == rule)
        .collect()
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.to_str().unwrap().to_string()
}

#[test]
fn transaction_control_in_a_checked_migration_never_commits() {
    let pg = Pg::new();
    let url = pg.url();
    let dir = tempfile::tempdir().unwrap();
    let before = pg.state();
    for (name, migration) in [
        ("end", "BEGIN; ALTER TABLE users ADD COLUMN via_end text; DELETE FROM cart_items WHERE cart_id <= 100; END;"),
        ("commit-lower", "begin;\nalter table users add column c1 text;\ndelete from cart_items;\n/* done */ commit;"),
        ("commit-chain", "BEGIN; DELETE FROM cart_items; COMMIT AND CHAIN; DROP TABLE victim; COMMIT;"),
        ("abort", "BEGIN; DELETE FROM cart_items; ABORT; DELETE FROM victim;"),
        ("rollback", "BEGIN; DELETE FROM cart_items; ROLLBACK; INSERT INTO sentinel VALUES (1);"),
        ("start", "START TRANSACTION ISOLATION LEVEL SERIALIZABLE; DELETE FROM cart_items; -- x\n END TRANSACTION;"),
        ("savepoints", "BEGIN; SAVEPOINT a; DELETE FROM cart_items; ROLLBACK TO SAVEPOINT a; RELEASE a; SAVEPOINT \"B\"; DROP TABLE victim; RELEASE SAVEPOINT \"B\"; COMMIT;"),
        ("two-phase", "BEGIN; DELETE FROM cart_items; PREPARE TRANSACTION 'dbkit_attack'; COMMIT PREPARED 'dbkit_attack';"),
        ("set-transaction", "SET TRANSACTION READ WRITE; INSERT INTO sentinel VALUES (1); SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE;"),
        ("escape", "CREATE TABLE escape_probe AS SELECT begin atomic FROM (SELECT 1 AS begin) s; COMMIT; DROP TABLE cart_items; END;"),
        ("sentinel", "INSERT INTO sentinel VALUES (42); COMMIT; INSERT INTO sentinel VALUES (43);"),
    ] {
        let f = write(dir.path(), &format!("{name}.sql"), migration);
        let (code, v, err) = check(&f, &url);
        assert_eq!(code, Some(0), "{name}: {err}");
        assert!(!err.contains("can only be used in transaction blocks"), "{name}: {err}");
        // The statements after the transaction control were really applied (and observed).
        assert!(findings(&v, "migration-error").is_empty(), "{name}: {v:#}");
        assert_eq!(pg.state(), before, "{name} changed the database");
    }
    // The modelled ROLLBACK really rolled back: the statement after it saw the data.
    let f = write(dir.path(), "after-rollback.sql", "BEGIN; DELETE FROM cart_items; ROLLBACK; ALTER TABLE cart_items ALTER COLUMN quantity TYPE bigint;");
    let (_, v, _) = check(&f, &url);
    let rewrite = *findings(&v, "table-rewrite")
        .first()
        .unwrap_or_else(|| panic!("{v:#}"));
    assert_eq!(rewrite["evidence"]["rows"], 1000.0, "{rewrite}");
    // A savepoint that does not exist fails as the server would, and stops the check.
    let f = write(
        dir.path(),
        "no-savepoint.sql",
        "BEGIN; RELEASE SAVEPOINT nope; DELETE FROM cart_items; COMMIT;",
    );
    let (code, out, _) = dbkit(&["check", &f, "--url", &url, "--format", "json"]);
    assert_eq!(code, Some(1));
    assert!(
        out.contains("savepoint \\\"nope\\\" does not exist"),
        "{out}"
    );
    assert_eq!(pg.state(), before);
}

#[test]
fn explain_never_runs_what_its_statements_hide() {
    let pg = Pg::new();
    let url = pg.url();
    let dir = tempfile::tempdir().unwrap();
    let before = pg.state();
    let w = write(
        dir.path(),
        "w.sql",
        "CREATE TABLE escape_probe AS SELECT begin atomic FROM (SELECT 1 AS begin) s; COMMIT; DROP TABLE cart_items; END;\n\
         INSERT INTO sentinel VALUES (1);\nDELETE FROM victim;\nUPDATE cart_items SET quantity = 9;\nBEGIN; DELETE FROM cart_items; COMMIT;\n\
         ABORT; DELETE FROM users;",
    );
    let (code, v, err) = explain(&url, &["--workload", &w]);
    assert_eq!(code, Some(0), "{err}");
    let stmts = v["statements"].as_array().unwrap();
    // Transaction control is skipped, never sent; everything else was explained and rolled back.
    for s in stmts {
        let text = s["text"].as_str().unwrap();
        if ["COMMIT", "END", "BEGIN", "ABORT", "DROP TABLE cart_items"].contains(&text) {
            assert_eq!(s["status"], "skipped", "{s}");
        }
        if text.starts_with("DELETE") || text.starts_with("INSERT") || text.starts_with("UPDATE") {
            assert_eq!(s["status"], "ok", "{s}");
            assert_eq!(s["mode"], "analyze", "{s}");
        }
    }
    assert_eq!(pg.state(), before);
}

#[test]
fn side_effects_that_survive_the_rollback_are_refused() {
    let pg = Pg::new();
    let url = pg.url();
    let dir = tempfile::tempdir().unwrap();
    let before = pg.state();
    for sql in [
        "SELECT setval('victim_seq', 1000)",
        "SELECT pg_catalog.\"setval\"('victim_seq', 1000)",
        "SELECT bump(1000)",
        "SELECT pg_stat_reset()",
        "SELECT pg_create_physical_replication_slot('dbkit_attack')",
        "SELECT * FROM users WHERE id = (SELECT bump(7))",
    ] {
        let (code, v, err) = explain(&url, &[sql]);
        assert_eq!(code, Some(0), "{sql}: {err}");
        let s = &v["statements"][0];
        assert_eq!(s["mode"], "plan-only", "{sql}: {s}");
        let f = &v["findings"][0];
        assert_eq!(f["rule"], "side-effect", "{sql}: {v:#}");
        assert_eq!(pg.state(), before, "{sql} changed the database");
    }
    // A function dbkit can read and that does nothing outside the transaction runs; one it
    // cannot read runs with a warning naming it.
    let (_, v, _) = explain(&url, &["SELECT reads(10)"]);
    assert_eq!(v["statements"][0]["mode"], "analyze");
    assert_eq!(v["findings"].as_array().unwrap().len(), 0, "{v:#}");
    pg.exec("CREATE FUNCTION opaque(int) RETURNS int LANGUAGE plpgsql AS $$ BEGIN EXECUTE 'SELECT 1'; RETURN $1; END $$");
    let (_, v, _) = explain(&url, &["SELECT opaque(1)"]);
    assert_eq!(v["findings"][0]["rule"], "unknown-function", "{v:#}");
    assert!(v["findings"][0]["message"]
        .as_str()
        .unwrap()
        .contains("opaque"));
    // The same in a checked migration.
    let before = pg.state();
    let m = write(
        dir.path(),
        "m.sql",
        "SELECT setval('victim_seq', 5000);\nSELECT bump(5000);\nINSERT INTO sentinel VALUES (1);",
    );
    let (_, v, _) = check(&m, &url);
    let refused = findings(&v, "side-effect").len();
    assert_eq!(refused, 2, "{v:#}");
    assert_eq!(pg.state(), before);
    // The guard is what stops it: asked to, dbkit runs it (and the sequence moves).
    let (code, _, err) = dbkit(&[
        "explain",
        "SELECT setval('victim_seq', 777)",
        "--url",
        &url,
        "--allow-side-effects",
    ]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(pg.text("SELECT last_value::text FROM victim_seq"), "777");
}

#[test]
fn parameters_never_break_out_of_their_quotes() {
    let pg = Pg::new();
    for scs in ["on", "off"] {
        pg.exec(&format!(
            "ALTER ROLE postgres SET standard_conforming_strings = {scs}"
        ));
        let before = pg.state();
        for hostile in [
            "\\'); SELECT setval('victim_seq', 99); --",
            "'); SELECT setval('victim_seq', 99); --",
            "\\\\'; DROP TABLE victim; --",
            "x' OR 1=1 --",
        ] {
            let (code, v, err) = explain(
                &pg.url(),
                &["SELECT * FROM users WHERE email = $1", "--param", hostile],
            );
            assert_eq!(code, Some(0), "{scs} {hostile}: {err}");
            assert_eq!(v["statements"][0]["mode"], "analyze", "{v:#}");
            // The value reached the server whole, as one text value.
            let plan = v["statements"][0]["plan"].to_string();
            assert!(plan.contains("users.email ="), "{plan}");
            assert_eq!(
                pg.state(),
                before,
                "standard_conforming_strings={scs}: {hostile}"
            );
        }
        // The value is the value: a parameter matches the row it names.
        let (_, v, _) = explain(
            &pg.url(),
            &[
                "SELECT * FROM users WHERE email = $1",
                "--param",
                "u7@x.org",
            ],
        );
        assert_eq!(
            v["statements"][0]["plan"][0]["Plan"]["Actual Rows"], 1,
            "{v:#}"
        );
    }
    pg.exec("ALTER ROLE postgres RESET standard_conforming_strings");
}

#[test]
fn generated_scripts_cannot_be_broken_out_of() {
    let pg = Pg::new();
    let hostile = [
        "x\nDROP TABLE victim; --",
        "x\r\nDROP TABLE victim; --",
        "y */ DROP TABLE victim; /*",
        "q'uote\"d -- \\ back",
        "nl\u{2028}sep\u{85}x",
        "z\u{1}\u{1f}ctl",
    ];
    let dir = tempfile::tempdir().unwrap();
    let psql = |script: &str| {
        let f = write(dir.path(), "script.sql", script);
        let out = Command::new("psql")
            .args([
                "-X",
                "-q",
                "-v",
                "ON_ERROR_STOP=0",
                "-d",
                &pg.url(),
                "-f",
                &f,
            ])
            .output()
            .expect("psql (postgresql-client) is required for this test");
        String::from_utf8_lossy(&out.stderr).to_string()
    };
    for (i, name) in hostile.iter().enumerate() {
        let quoted = dbkit::sql::ident::quote_ident(name);
        // partition create, from a schema file.
        let schema = write(
            dir.path(),
            "schema.sql",
            &format!("CREATE TABLE {quoted} (id bigint, \"at\n-- x\" timestamptz NOT NULL);"),
        );
        let (code, script, err) = dbkit(&[
            "partition",
            "create",
            "--schema",
            &schema,
            "--table",
            name,
            "--key",
            "at\n-- x",
            "--interval",
            "month",
            "--start",
            "2024-01-01",
            "--premake",
            "2",
        ]);
        assert_eq!(code, Some(0), "{name:?}: {err}");
        for line in script.lines().filter(|l| l.starts_with("--")) {
            assert!(
                !line.contains("DROP TABLE victim;") || !line.contains('\n'),
                "{line}"
            );
        }
        let errors = psql(&script);
        assert_eq!(
            pg.text("SELECT count(*)::text FROM victim"),
            "3",
            "{name:?}: {errors}\n{script}"
        );
        // The script made the table: it ran as written, not as something else.
        assert_eq!(
            pg.text(&format!(
                "SELECT relkind::text FROM pg_class WHERE oid = to_regclass({})",
                dbkit::sql::ident::quote_literal(&quoted)
            )),
            "p",
            "{name:?}: {errors}\n{script}"
        );
        // partition maintain and convert, from the live table, as scripts.
        let (code, script, err) = dbkit(&[
            "partition",
            "maintain",
            "--url",
            &pg.url(),
            "--premake",
            "3",
            "--format",
            "sql",
        ]);
        assert_eq!(code, Some(0), "{err}");
        let errors = psql(&script);
        assert_eq!(
            pg.text("SELECT count(*)::text FROM victim"),
            "3",
            "{name:?}: {errors}\n{script}"
        );
        let plain = format!("plain{i}{name}");
        pg.exec(&format!(
            "CREATE TABLE {} (id bigint PRIMARY KEY, at timestamptz NOT NULL); INSERT INTO {} VALUES (1, '2024-01-05')",
            dbkit::sql::ident::quote_ident(&plain),
            dbkit::sql::ident::quote_ident(&plain)
        ));
        let table = format!("public.{plain}");
        let (code, script, err) = dbkit(&[
            "partition",
            "convert",
            "--url",
            &pg.url(),
            "--table",
            &table,
            "--key",
            "at",
            "--interval",
            "month",
            "--format",
            "sql",
        ]);
        if code == Some(0) {
            let errors = psql(&script);
            assert_eq!(
                pg.text("SELECT count(*)::text FROM victim"),
                "3",
                "{name:?}: {errors}\n{script}"
            );
        } else {
            // Refused with a reason is fine; a script that breaks out is not.
            assert!(!err.is_empty());
        }
    }
    // A time zone is a name the server knows, never SQL.
    for tz in [
        "UTC'; DROP TABLE victim; --",
        "Europe/Berlin\nDROP TABLE victim;",
        "Not/AZone",
    ] {
        let (code, _, err) = dbkit(&[
            "partition",
            "maintain",
            "--url",
            &pg.url(),
            "--timezone",
            tz,
            "--format",
            "sql",
        ]);
        assert_eq!(code, Some(2), "{tz:?}");
        assert!(err.contains("time zone"), "{err}");
    }
    assert_eq!(pg.text("SELECT count(*)::text FROM victim"), "3");
}

#[test]
fn a_lost_connection_stops_explain_with_one_clear_error() {
    let pg = Pg::new();
    let dir = tempfile::tempdir().unwrap();
    let w = write(
        dir.path(),
        "w.sql",
        &"SELECT pg_sleep(0.3), count(*) FROM users;\n".repeat(30),
    );
    let url = pg.url();
    let child = Command::new(env!("CARGO_BIN_EXE_dbkit"))
        .args([
            "explain",
            "--workload",
            &w,
            "--url",
            &url,
            "--format",
            "json",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    pg.text("SELECT count(pg_terminate_backend(pid))::text FROM pg_stat_activity WHERE application_name = 'dbkit' AND pid <> pg_backend_pid()");
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    assert!(err.contains("lost the connection"), "{err}");
    assert!(
        err.contains(&format!("127.0.0.1:{}", pg.cluster.port())),
        "names the server: {err}"
    );
    assert!(!err.contains("Broken pipe"), "{err}");
}

#[test]
fn the_guard_notices_a_transaction_that_is_not_dbkits() {
    let pg = Pg::new();
    pg.rt.block_on(async {
        let mut c = db::connect(&pg.cluster.conn_spec("postgres"))
            .await
            .unwrap();
        let g = db::tx::Guarded::begin(&mut c, std::time::Duration::from_secs(5))
            .await
            .unwrap();
        g.check(&mut c, "at once").await.unwrap();
        db::exec(&mut c, "INSERT INTO sentinel VALUES (7)")
            .await
            .unwrap();
        // Something ends dbkit's transaction behind its back…
        db::exec(&mut c, "COMMIT").await.unwrap();
        db::exec(&mut c, "BEGIN").await.unwrap();
        // …and the guard says so, loudly, instead of rolling back a transaction that is not its own.
        let e = g.rollback(&mut c).await.unwrap_err();
        assert!(matches!(e, db::DbError::TransactionLost { .. }), "{e}");
        assert!(e.is_fatal());
        db::close(c).await;
    });
    // And a second statement smuggled into one text never runs on the extended protocol.
    pg.rt.block_on(async {
        let mut c = db::connect(&pg.cluster.conn_spec("postgres"))
            .await
            .unwrap();
        let e = db::exec(&mut c, "SELECT 1; DROP TABLE victim")
            .await
            .unwrap_err();
        assert!(
            e.to_string().contains("cannot insert multiple commands"),
            "{e}"
        );
        db::close(c).await;
    });
    assert_eq!(pg.text("SELECT count(*)::text FROM victim"), "3");
}
