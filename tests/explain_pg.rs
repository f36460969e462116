//! `dbkit explain` against a real PostgreSQL: safety (rolled back, timeouts), parameters,
//! per-statement errors, saved plans, and data that provokes every plan rule.

use dbkit::db::{self, ScratchCluster};
use std::process::{Command, Output};

const SETUP: &str = "
CREATE TABLE big (id int PRIMARY KEY, a int, b int, c int, pad text) WITH (autovacuum_enabled = off);
INSERT INTO big SELECT g, g % 100, g % 100, g % 7, repeat('x', 50) FROM generate_series(1, 200000) g;
CREATE INDEX big_a ON big (a);
CREATE INDEX big_c ON big (c);
ANALYZE big;
CREATE TABLE small (id int PRIMARY KEY, big_id int);
INSERT INTO small SELECT g, g * 7 FROM generate_series(1, 20000) g;
ANALYZE small;
CREATE TABLE accounts (id int PRIMARY KEY, balance int NOT NULL);
INSERT INTO accounts SELECT g, 100 FROM generate_series(1, 1000) g;
";

struct Db {
    cluster: ScratchCluster,
}

fn setup() -> Db {
    let cluster = ScratchCluster::start()
        .unwrap_or_else(|e| panic!("scratch PostgreSQL is required for this test: {e}"));
    rt().block_on(async {
        let mut conn = db::connect(&cluster.conn_spec("postgres")).await.unwrap();
        db::exec_script(&mut conn, "setup", SETUP).await.unwrap();
    });
    Db { cluster }
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

impl Db {
    fn url(&self, settings: &[(&str, &str)]) -> String {
        let mut url = self.cluster.url();
        if !settings.is_empty() {
            let opts: Vec<String> = settings
                .iter()
                .map(|(k, v)| format!("-c%20{k}%3D{v}"))
                .collect();
            url.push_str(&format!("?options={}", opts.join("%20")));
        }
        url
    }

    fn explain(
        &self,
        sql: &str,
        settings: &[(&str, &str)],
        extra: &[&str],
    ) -> (Output, serde_json::Value) {
        let url = self.url(settings);
        let mut args = vec![
            "explain",
            sql,
            "--url",
            url.as_str(),
            "--format",
            "json",
            "--fail-on",
            "none",
        ];
        args.extend_from_slice(extra);
        let out = Command::new(env!("CARGO_BIN_EXE_dbkit"))
            .args(&args)
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{sql}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v = serde_json::from_slice(&out.stdout).unwrap();
        (out, v)
    }

    fn rules(&self, sql: &str, settings: &[(&str, &str)], extra: &[&str]) -> Vec<String> {
        let (_, v) = self.explain(sql, settings, extra);
        let s = &v["statements"][0];
        assert_eq!(s["status"], "ok", "{sql}: {s}");
        v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["rule"].as_str().unwrap().to_string())
            .collect()
    }

    fn scalar(&self, sql: &str) -> i64 {
        rt().block_on(async {
            let mut conn = db::connect(&self.cluster.conn_spec("postgres"))
                .await
                .unwrap();
            sqlx::query_scalar::<_, i64>(sql)
                .fetch_one(&mut conn)
                .await
                .unwrap()
        })
    }
}

#[test]
fn explain_is_safe_and_reports_per_statement() {
    let db = setup();
    let before = db.scalar("SELECT sum(balance)::bigint FROM accounts");
    let (_, v) = db.explain(
        "UPDATE accounts SET balance = balance + 1; DELETE FROM accounts WHERE id < 500; CREATE INDEX ON accounts (balance); SELECT count(*) FROM accounts",
        &[],
        &[],
    );
    assert_eq!(
        db.scalar("SELECT sum(balance)::bigint FROM accounts"),
        before,
        "data unchanged"
    );
    assert_eq!(db.scalar("SELECT count(*) FROM accounts"), 1000);
    assert_eq!(
        db.scalar("SELECT count(*) FROM pg_indexes WHERE tablename = 'accounts'"),
        1,
        "no index built"
    );
    let stmts = v["statements"].as_array().unwrap();
    assert_eq!(stmts.len(), 4);
    let ddl = stmts
        .iter()
        .find(|s| s["command"] == "CREATE INDEX")
        .unwrap();
    assert_eq!(ddl["status"], "skipped");
    assert!(ddl["error"]
        .as_str()
        .unwrap()
        .starts_with("EXPLAIN cannot take CREATE INDEX statements"));
    let upd = stmts.iter().find(|s| s["command"] == "UPDATE").unwrap();
    assert_eq!(upd["status"], "ok");
    assert_eq!(upd["mode"], "analyze");
    assert_eq!(upd["plan"][0]["Plan"]["Node Type"], "ModifyTable");
    assert!(upd["execution_ms"].as_f64().is_some());

    // A statement over its timeout fails alone, with the server's message.
    let (_, v) = db.explain("SELECT pg_sleep(5); SELECT 1", &[], &["--timeout", "200ms"]);
    let slow = v["statements"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["text"] == "SELECT pg_sleep(5)")
        .unwrap()
        .clone();
    assert_eq!(slow["status"], "error");
    assert!(
        slow["error"]
            .as_str()
            .unwrap()
            .contains("statement timeout"),
        "{slow}"
    );
    assert_eq!(v["statements"][0]["status"], "ok");

    // Parameters: given values run for real; none gives a generic plan (PREPARE on 15).
    let (_, v) = db.explain(
        "SELECT * FROM accounts WHERE id = $1",
        &[],
        &["--param", "7"],
    );
    assert_eq!(v["statements"][0]["mode"], "analyze");
    let (_, v) = db.explain("SELECT * FROM accounts WHERE id = $1", &[], &[]);
    assert_eq!(v["statements"][0]["mode"], "generic-plan");
    assert_eq!(v["statements"][0]["status"], "ok");
    // Prepared statements do not pile up in the session (each run is a new session anyway).
    let (_, v) = db.explain(
        "SELECT * FROM accounts WHERE id = $1 AND balance = $2",
        &[],
        &["--param", "1"],
    );
    assert!(v["statements"][0]["error"]
        .as_str()
        .unwrap()
        .contains("2 parameter(s) and 1 --param"));
}

#[test]
fn saved_plans_can_be_analyzed_and_shown_later() {
    let db = setup();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let (_, v) = db.explain(
        "SELECT * FROM big WHERE b = 1000; SELECT 1",
        &[],
        &["--save", d, "--concurrency", "2"],
    );
    let saved = v["statements"][0]["saved"].as_str().unwrap().to_string();
    assert!(std::path::Path::new(&saved).exists());
    let out = Command::new(env!("CARGO_BIN_EXE_dbkit"))
        .args(["plan", "analyze", &saved, "--format", "json"])
        .output()
        .unwrap();
    let a: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(a["findings"][0]["rule"], "seq-scan-filter");
    let out = Command::new(env!("CARGO_BIN_EXE_dbkit"))
        .args(["plan", "show", &saved, "--format", "text"])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("[seq-scan-filter]"), "{text}");
}

/// (rule, SQL, session settings, extra CLI arguments).
type Case<'a> = (&'a str, &'a str, Vec<(&'a str, &'a str)>, Vec<&'a str>);

#[test]
fn each_plan_rule_fires_on_a_real_plan() {
    let db = setup();
    let cfg_dir = tempfile::tempdir().unwrap();
    let cfg = cfg_dir.path().join("dbkit.toml");
    std::fs::write(&cfg, "[rules.plan]\ntemp_io_min_mb = 1\n").unwrap();
    let cfg = cfg.to_str().unwrap();
    let small_mem = [("work_mem", "64kB")];
    let cases: Vec<Case> = vec![
        (
            "seq-scan-filter",
            "SELECT * FROM big WHERE b = 1000",
            vec![],
            vec![],
        ),
        (
            "row-misestimate",
            "SELECT * FROM big WHERE a = 1 AND b = 1",
            vec![],
            vec![],
        ),
        (
            "sort-spill",
            "SELECT * FROM big ORDER BY pad, id DESC",
            small_mem.to_vec(),
            vec![],
        ),
        (
            "temp-io",
            "SELECT * FROM big ORDER BY pad, id DESC",
            small_mem.to_vec(),
            vec!["--config", cfg],
        ),
        (
            "hash-batches",
            "SELECT count(*) FROM big b1 JOIN big b2 USING (id)",
            vec![
                ("work_mem", "64kB"),
                ("enable_mergejoin", "off"),
                ("enable_nestloop", "off"),
            ],
            vec![],
        ),
        (
            "nested-loop-many-loops",
            "SELECT count(*) FROM small s JOIN big b ON b.id = s.big_id",
            vec![("enable_hashjoin", "off"), ("enable_mergejoin", "off")],
            vec![],
        ),
        (
            "index-filter-inefficient",
            "SELECT * FROM big WHERE c = 3 AND b = 1000",
            vec![("enable_seqscan", "off"), ("enable_bitmapscan", "off")],
            vec![],
        ),
        (
            "heap-fetches",
            "SELECT id FROM big WHERE id < 50000",
            vec![("enable_seqscan", "off"), ("enable_bitmapscan", "off")],
            vec![],
        ),
        (
            "lossy-bitmap",
            "SELECT count(pad) FROM big WHERE a < 50",
            vec![
                ("work_mem", "64kB"),
                ("enable_seqscan", "off"),
                ("enable_indexscan", "off"),
            ],
            vec![],
        ),
        (
            "large-offset",
            "SELECT * FROM big ORDER BY id OFFSET 50000 LIMIT 10",
            vec![],
            vec![],
        ),
        (
            "workers-not-launched",
            "SELECT count(*) FROM big",
            vec![
                ("max_parallel_workers", "0"),
                ("max_parallel_workers_per_gather", "2"),
                ("parallel_setup_cost", "0"),
                ("parallel_tuple_cost", "0"),
            ],
            vec![],
        ),
        (
            "jit-overhead",
            "SELECT sum(id), sum(big_id), avg(big_id) FROM small",
            vec![
                ("jit", "on"),
                ("jit_above_cost", "0"),
                ("jit_inline_above_cost", "0"),
                ("jit_optimize_above_cost", "0"),
            ],
            vec![],
        ),
        (
            "estimates-only",
            "SELECT * FROM big WHERE b = 1000",
            vec![],
            vec!["--no-analyze"],
        ),
    ];
    for (rule, sql, settings, extra) in &cases {
        let got = db.rules(sql, settings, extra);
        assert!(
            got.iter().any(|r| r == rule),
            "{rule} did not fire on {sql} with {settings:?}: {got:?}"
        );
    }
    // And the same queries without the provoking settings stay quiet for the setting-driven rules.
    for (rule, sql) in [
        (
            "sort-spill",
            "SELECT * FROM big ORDER BY pad, id DESC LIMIT 10",
        ),
        (
            "hash-batches",
            "SELECT count(*) FROM small s JOIN big b ON b.id = s.big_id",
        ),
        ("large-offset", "SELECT * FROM big ORDER BY id LIMIT 10"),
        ("heap-fetches", "SELECT id FROM small WHERE id < 10"),
        ("seq-scan-filter", "SELECT * FROM big WHERE id = 5"),
    ] {
        let got = db.rules(sql, &[], &[]);
        assert!(
            !got.iter().any(|r| r == rule),
            "{rule} fired on {sql}: {got:?}"
        );
    }
}
