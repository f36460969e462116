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
