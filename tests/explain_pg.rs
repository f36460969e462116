//! `dbkit explain` against a real PostgreSQL: safety (rolled back, timeouts), parameters,
//! per-statement errors, saved plans, and data that provokes every plan rule.

use dbkit::db::{self, ScratchCluster};
use std::process::{Command, Output};

const SETUP: &str = include_str!("../fixtures/plans/setup.sql");
const CASES: &str = include_str!("../fixtures/plans/cases.tsv");

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
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        // A statement that failed on the server makes the run exit 2, after the report.
        let failed = v["statements"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["status"] == "error");
        assert_eq!(
            out.status.code(),
            Some(if failed { 2 } else { 0 }),
            "{sql}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        if failed {
            assert!(String::from_utf8_lossy(&out.stderr).contains("statement(s) failed"));
        }
        // Each failed statement is an error finding with the server's message.
        let errors: Vec<&str> = v["statements"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| s["status"] == "error")
            .map(|s| s["error"].as_str().unwrap())
            .collect();
        let failures: Vec<&serde_json::Value> = v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["rule"] == "statement-failed")
            .collect();
        assert_eq!(failures.len(), errors.len(), "{v}");
        for (f, e) in failures.iter().zip(&errors) {
            assert_eq!(f["severity"], "error");
            assert!(f["message"].as_str().unwrap().ends_with(e), "{f}");
        }
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
    // The estimates-only advice says what to add, never "run dbkit explain".
    let advice = |v: &serde_json::Value| {
        v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["rule"] == "estimates-only")
            .map(|f| f["suggestion"].as_str().unwrap().to_string())
            .unwrap_or_else(|| panic!("no estimates-only finding: {v}"))
    };
    assert!(advice(&v).contains("--param"), "{}", advice(&v));
    let (_, plain) = db.explain(
        "SELECT * FROM accounts WHERE id = 7",
        &[],
        &["--no-analyze"],
    );
    assert!(
        advice(&plain).contains("without --no-analyze"),
        "{}",
        advice(&plain)
    );
    for a in [advice(&v), advice(&plain)] {
        assert!(!a.contains("dbkit explain"), "{a}");
    }
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
fn one_statement_prints_its_plan_tree_a_workload_its_ranking() {
    let db = setup();
    let url = db.url(&[]);
    let run = |sql: &str| {
        let out = Command::new(env!("CARGO_BIN_EXE_dbkit"))
            .args([
                "explain",
                sql,
                "--url",
                &url,
                "--width",
                "200",
                "--fail-on",
                "none",
            ])
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let one = run("SELECT * FROM big WHERE b = 1000");
    assert!(one.contains("SELECT * FROM big WHERE b = 1000"), "{one}");
    assert!(one.contains("Seq Scan on public.big"), "{one}");
    assert!(one.contains("Filter: (big.b = 1000)"), "{one}");
    assert!(one.contains("seq-scan-filter"), "{one}");
    assert!(!one.contains("Statements, slowest first"), "{one}");
    let two = run("SELECT * FROM big WHERE b = 1000; SELECT 1");
    assert!(two.contains("Statements, slowest first"), "{two}");
    assert!(!two.contains("Filter: (big.b = 1000)"), "{two}");
    // One fix for two statements is printed once, with the statement it also serves, and the
    // summary points to index advise for the whole workload.
    let dir = tempfile::tempdir().unwrap();
    let wl = dir.path().join("w.sql");
    std::fs::write(
        &wl,
        "SELECT * FROM big WHERE b = 1000;\nSELECT * FROM big WHERE b = 2000;\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_dbkit"))
        .args([
            "explain",
            "--workload",
            wl.to_str().unwrap(),
            "--url",
            &url,
            "--width",
            "250",
            "--fail-on",
            "none",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(text.matches("big_b_idx ON public.big").count(), 1, "{text}");
    assert!(
        text.contains(&format!("(it serves {}:", wl.display())),
        "{text}"
    );
    assert!(
        text.contains(&format!("dbkit index advise --workload {}", wl.display())),
        "{text}"
    );
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

/// One line of fixtures/plans/cases.tsv.
struct Case {
    rule: String,
    fires: bool,
    settings: Vec<(String, String)>,
    extra: Vec<String>,
    sql: String,
}

/// The cases shared with scripts/capture-plans.sh.
fn cases() -> Vec<Case> {
    let root = env!("CARGO_MANIFEST_DIR");
    CASES
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            assert_eq!(f.len(), 5, "bad case line: {l}");
            let settings = if f[2] == "-" {
                Vec::new()
            } else {
                f[2].split(',')
                    .map(|kv| {
                        let (k, v) = kv.split_once('=').unwrap();
                        (k.to_string(), v.to_string())
                    })
                    .collect()
            };
            let extra = if f[3] == "-" {
                Vec::new()
            } else {
                f[3].split_whitespace()
                    .map(|a| {
                        if a.starts_with("fixtures/") {
                            format!("{root}/{a}")
                        } else {
                            a.to_string()
                        }
                    })
                    .collect()
            };
            Case {
                rule: f[0].to_string(),
                fires: f[1] == "fires",
                settings,
                extra,
                sql: f[4].to_string(),
            }
        })
        .collect()
}

#[test]
fn each_plan_rule_fires_and_stays_quiet_on_real_plans() {
    let db = setup();
    let all = cases();
    let rules: std::collections::BTreeSet<&str> = all.iter().map(|c| c.rule.as_str()).collect();
    assert_eq!(rules.len(), 13, "every plan rule has cases");
    for c in &all {
        let settings: Vec<(&str, &str)> = c
            .settings
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let extra: Vec<&str> = c.extra.iter().map(String::as_str).collect();
        let got = db.rules(&c.sql, &settings, &extra);
        let fired = got.contains(&c.rule);
        assert_eq!(
            fired, c.fires,
            "{} on {} with {:?}: {got:?}",
            c.rule, c.sql, c.settings
        );
    }
}
