//! `dbkit check` against a scratch database: observed locks and rewrites, and the plan gate —
//! a dropped index the workload needs is a `plan-regression` naming the query, a renamed column
//! is `query-broken`. The migration is rolled back.

use std::process::Command;

fn run(dir: &std::path::Path, migration: &str, extra: &[&str]) -> serde_json::Value {
    let m = dir.join("m.sql");
    std::fs::write(&m, migration).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_dbkit"))
        .args([
            "check",
            m.to_str().unwrap(),
            "--scratch",
            "--format",
            "json",
        ])
        .args([
            "--base",
            dir.join("base.sql").to_str().unwrap(),
            "--workload",
            dir.join("w.sql").to_str().unwrap(),
        ])
        .args(extra)
        .output()
        .unwrap();
    assert!(
        matches!(out.status.code(), Some(0) | Some(1)),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn dropped_index_regresses_renamed_column_breaks_rewrites_are_seen() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("base.sql"),
        "CREATE TABLE accounts (id int PRIMARY KEY, email text NOT NULL, score int);
         INSERT INTO accounts SELECT g, 'u' || g || '@x.org', g % 100 FROM generate_series(1, 50000) g;
         CREATE INDEX accounts_email_idx ON accounts (email);
         ANALYZE accounts;",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("w.sql"),
        "SELECT id, score FROM accounts WHERE email = 'u42@x.org';",
    )
    .unwrap();

    let v = run(
        dir.path(),
        "SET lock_timeout = '2s';\nDROP INDEX accounts_email_idx;",
        &[],
    );
    let f = v["findings"].as_array().unwrap();
    let reg = f
        .iter()
        .find(|x| x["rule"] == "plan-regression")
        .unwrap_or_else(|| panic!("{v:#}"));
    assert!(
        reg["message"]
            .as_str()
            .unwrap()
            .contains("WHERE email = 'u42@x.org'"),
        "{reg}"
    );
    assert!(f.iter().any(|x| x["rule"] == "lock-acquired" && x["evidence"]["mode"] == "AccessExclusiveLock"), "{v:#}");

    let v = run(
        dir.path(),
        "SET lock_timeout = '2s';\nALTER TABLE accounts RENAME COLUMN email TO mail;",
        &[],
    );
    let broken = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["rule"] == "query-broken")
        .unwrap_or_else(|| panic!("{v:#}"));
    assert!(
        broken["message"]
            .as_str()
            .unwrap()
            .contains("column \"email\" does not exist"),
        "{broken}"
    );

    let v = run(
        dir.path(),
        "SET lock_timeout = '2s';\nALTER TABLE accounts ALTER COLUMN id TYPE bigint;",
        &[],
    );
    let rw = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["rule"] == "table-rewrite")
        .unwrap_or_else(|| panic!("{v:#}"));
    assert!(rw["message"].as_str().unwrap().contains("accounts"));
    // The static rule said the same before anything ran.
    assert!(v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|x| x["rule"] == "alter-column-type-rewrite"));

    // New constraints are reported with their validity.
    let v = run(dir.path(), "SET lock_timeout = '2s';\nALTER TABLE accounts ADD CONSTRAINT score_ok CHECK (score >= 0) NOT VALID;", &[]);
    let c = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["rule"] == "constraint-added")
        .unwrap_or_else(|| panic!("{v:#}"));
    assert_eq!(c["evidence"]["validated"], false);

    // A goose file's Down section is not applied: its DROP INDEX would regress the workload.
    let v = run(
        dir.path(),
        "-- +goose Up\nSET lock_timeout = '2s';\nALTER TABLE accounts ADD COLUMN note2 text;\n-- +goose Down\nDROP INDEX accounts_email_idx;\n",
        &[],
    );
    let f = v["findings"].as_array().unwrap();
    assert!(
        !f.iter()
            .any(|x| x["rule"] == "plan-regression" || x["location"]["line"] == 5),
        "{v:#}"
    );
    assert!(
        f.iter()
            .any(|x| x["rule"] == "lock-acquired" && x["location"]["line"] == 3),
        "{v:#}"
    );

    // A harmless migration passes the gate.
    let v = run(
        dir.path(),
        "SET lock_timeout = '2s';\nALTER TABLE accounts ADD COLUMN note text;",
        &[],
    );
    assert!(
        !v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x["severity"] == "error"),
        "{v:#}"
    );
}

#[test]
fn the_users_plan_thresholds_reach_the_gate() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("base.sql"),
        "CREATE TABLE t (id int PRIMARY KEY, v int);
         INSERT INTO t SELECT g, g % 10 FROM generate_series(1, 20000) g;
         ANALYZE t;",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("w.sql"),
        "SELECT count(*) FROM t WHERE v = 3;",
    )
    .unwrap();
    // Same plan shape, a costlier plan: the per-row CPU cost goes up fivefold for the rest of
    // the migration's transaction.
    let migration = "SET cpu_tuple_cost = 0.05;";
    let regressions = |v: &serde_json::Value| {
        v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|x| x["rule"] == "plan-regression")
            .count()
    };
    let v = run(dir.path(), migration, &[]);
    assert_eq!(regressions(&v), 1, "default ratio 1.2: {v:#}");

    let lax = dir.path().join("lax.toml");
    std::fs::write(&lax, "[rules.plan]\ndiff_cost_ratio = 100.0\n").unwrap();
    let v = run(dir.path(), migration, &["--config", lax.to_str().unwrap()]);
    assert_eq!(regressions(&v), 0, "dbkit.toml ratio 100: {v:#}");

    // The command-line option still wins over the file.
    let v = run(
        dir.path(),
        migration,
        &[
            "--config",
            lax.to_str().unwrap(),
            "--max-cost-increase",
            "10",
        ],
    );
    assert_eq!(regressions(&v), 1, "--max-cost-increase 10%: {v:#}");

    // And a severity override from the same file reaches the observed findings.
    let sev = dir.path().join("sev.toml");
    std::fs::write(&sev, "[rules.severity]\nplan-regression = \"warning\"\n").unwrap();
    let v = run(dir.path(), migration, &["--config", sev.to_str().unwrap()]);
    let reg = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["rule"] == "plan-regression")
        .unwrap_or_else(|| panic!("{v:#}"));
    assert_eq!(reg["severity"], "warning");
}
