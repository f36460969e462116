//! `dbkit check` on the shipped migrations: nothing fires on fixtures/migrations/ok, and each
//! file of fixtures/migrations/bad triggers exactly the rules its `-- expect:` comment names.

use std::collections::BTreeSet;
mod common;
use common::rule_ids as rules_of;
use std::process::Command;

fn check(path: &str) -> (Option<i32>, serde_json::Value) {
    let (code, v, err) = check_args(&[path], None);
    assert!(!v.is_null(), "{path}: {err}");
    (code, v)
}

fn dir(sub: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/migrations")
        .join(sub)
}

#[test]
fn ok_migrations_are_clean() {
    let (code, v) = check(dir("ok").to_str().unwrap());
    assert_eq!(v["findings"].as_array().unwrap().len(), 0, "{v:#}");
    assert_eq!(code, Some(0));
}

#[test]
fn each_bad_migration_triggers_what_it_names() {
    let mut seen_rules = BTreeSet::new();
    for entry in std::fs::read_dir(dir("bad")).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let expect: BTreeSet<String> = text
            .lines()
            .find_map(|l| l.strip_prefix("-- expect:"))
            .expect("an -- expect: line")
            .split(',')
            .map(|s| s.trim().to_string())
            .collect();
        let (code, v) = check(path.to_str().unwrap());
        let got: BTreeSet<String> = v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["rule"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(got, expect, "{}", path.display());
        let errors = v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["severity"] == "error");
        assert_eq!(code, Some(if errors { 1 } else { 0 }), "{}", path.display());
        for f in v["findings"].as_array().unwrap() {
            assert!(f["location"]["line"].as_u64().unwrap() > 1);
            assert!(!f["suggestion"].as_str().unwrap().is_empty());
        }
        seen_rules.extend(got);
    }
    assert!(
        seen_rules.len() >= 20,
        "every rule has a bad example: {seen_rules:?}"
    );
}

#[test]
fn ci_formats() {
    let bad = dir("bad").join("001_blocking_index.sql");
    let run = |fmt: &str| {
        let out = Command::new(env!("CARGO_BIN_EXE_dbkit"))
            .args(["check", bad.to_str().unwrap(), "--format", fmt])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{fmt}");
        String::from_utf8(out.stdout).unwrap()
    };
    assert!(run("github").starts_with("::error file="));
    let sarif: serde_json::Value = serde_json::from_str(&run("sarif")).unwrap();
    assert_eq!(
        sarif["runs"][0]["results"][0]["ruleId"],
        "index-not-concurrent"
    );
    assert!(run("junit").contains("<failure type=\"error\""));
    let md = run("markdown");
    assert!(md.starts_with("## ❌ dbkit check"), "{md}");
    assert!(md.contains("| `index-not-concurrent` |"), "{md}");
}

#[test]
fn unreadable_or_unterminated_files_exit_2() {
    let tmp = tempfile::tempdir().unwrap();
    let f = tmp.path().join("broken.sql");
    std::fs::write(
        &f,
        "ALTER TABLE t ADD COLUMN c text DEFAULT 'unterminated;\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_dbkit"))
        .args(["check", f.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot be checked"));
    let out = Command::new(env!("CARGO_BIN_EXE_dbkit"))
        .args(["check", "/nonexistent/dir"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

/// `dbkit check ARGS --format json` from the project root, in `dir` when given (for dbkit.toml).
fn check_args(
    args: &[&str],
    dir: Option<&std::path::Path>,
) -> (Option<i32>, serde_json::Value, String) {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = Command::new(env!("CARGO_BIN_EXE_dbkit"))
        .current_dir(dir.unwrap_or(root))
        .arg("check")
        .args(args)
        .args(["--format", "json"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let v = serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null);
    (out.status.code(), v, stderr)
}

#[test]
fn schema_from_a_pg_dump_or_the_history() {
    let c = "fixtures/migrations/corpus/";
    let dump = "fixtures/migrations/corpus/schema/pg_dump.sql";
    // The dump's validated CHECK (note IS NOT NULL) proves the column: no scan, no finding.
    let validated = format!("{c}121_set_not_null_history_validated_ok.sql");
    let (code, v, _) = check_args(&[&validated, "--schema", dump], None);
    assert_eq!((code, rules_of(&v)), (Some(0), vec![]), "{v:#}");
    // Without a schema the same file is a full scan.
    let (code, v, _) = check_args(&[&validated], None);
    assert_eq!(
        (code, rules_of(&v)),
        (Some(1), vec!["set-not-null".to_string()])
    );
    // The dump's CHECK (status IS NOT NULL) is still NOT VALID: said so.
    let (_, v, _) = check_args(
        &[
            &format!("{c}122_set_not_null_history_pending_bad.sql"),
            "--schema",
            dump,
        ],
        None,
    );
    let m = v["findings"][0]["message"].as_str().unwrap();
    assert!(
        m.contains("accounts_status_nn") && m.contains("NOT VALID"),
        "{m}"
    );
    // The type change: exact with the history, a warning that says what is unknown without.
    let change = format!("{c}089_type_bigint_to_numeric_bad.sql");
    let (code, v, _) = check_args(&[&change, "--history", &format!("{c}history/")], None);
    assert_eq!(code, Some(1));
    assert!(v["findings"][0]["message"]
        .as_str()
        .unwrap()
        .contains("from bigint to numeric(20,2)"));
    let (code, v, _) = check_args(&[&change], None);
    assert_eq!(
        (code, v["findings"][0]["severity"].as_str()),
        (Some(0), Some("warning")),
        "{v:#}"
    );
    let (code, _, _) = check_args(
        &[
            &format!("{c}090_type_varchar_longer_ok.sql"),
            "--schema",
            dump,
        ],
        None,
    );
    assert_eq!(code, Some(0));
}

#[test]
fn transaction_modes_runners_and_their_settings() {
    let cic = "fixtures/migrations/corpus/001_tx_auto_cic_alone.sql";
    let (code, v, _) = check_args(&[cic], None);
    assert_eq!(code, Some(0), "{v:#}");
    let t = &v["transactions"][0];
    assert_eq!(t["mode"], "no-transaction");
    assert!(
        t["why"]
            .as_str()
            .unwrap()
            .contains("CREATE INDEX CONCURRENTLY"),
        "{t}"
    );
    for args in [
        vec![cic, "--runner", "rails"],
        vec![cic, "--transaction", "always"],
    ] {
        let (code, v, _) = check_args(&args, None);
        assert_eq!(
            (code, rules_of(&v)),
            (Some(1), vec!["concurrent-in-transaction".to_string()]),
            "{args:?}"
        );
    }
    let (code, v, _) = check_args(&[cic, "--runner", "flyway"], None);
    assert_eq!(
        (code, v["transactions"][0]["runner"].as_str()),
        (Some(0), Some("flyway"))
    );
    // --no-transaction is --transaction never; both at once is a usage error.
    let (_, v, _) = check_args(
        &[
            "fixtures/migrations/bad/003_add_column.sql",
            "--no-transaction",
        ],
        None,
    );
    assert_eq!(v["transactions"][0]["mode"], "no-transaction");
    let (code, _, err) = check_args(&[cic, "--no-transaction", "--transaction", "always"], None);
    assert_eq!(code, Some(2), "{err}");
    let (code, _, err) = check_args(&[cic, "--runner", "maven"], None);
    assert_eq!(code, Some(2));
    assert!(err.contains("golang-migrate"), "{err}");
    // dbkit.toml [check] runner and transaction.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("dbkit.toml"),
        "[check]\nrunner = \"goose\"\n",
    )
    .unwrap();
    let abs = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(cic);
    let (code, v, _) = check_args(&[abs.to_str().unwrap()], Some(dir.path()));
    assert_eq!(
        (code, v["transactions"][0]["runner"].as_str()),
        (Some(1), Some("goose")),
        "{v:#}"
    );
    std::fs::write(
        dir.path().join("dbkit.toml"),
        "[check]\ntransaction = \"sometimes\"\n",
    )
    .unwrap();
    let (code, _, err) = check_args(&[abs.to_str().unwrap()], Some(dir.path()));
    assert_eq!(code, Some(2), "{err}");
}

#[test]
fn golang_migrate_down_files_beside_their_up_files_are_not_checked() {
    let dir = tempfile::tempdir().unwrap();
    let w = |name: &str, sql: &str| std::fs::write(dir.path().join(name), sql).unwrap();
    w(
        "000001_things.up.sql",
        "CREATE TABLE things (id bigint PRIMARY KEY);\n",
    );
    w("000001_things.down.sql", "DROP TABLE things;\n");
    // A lone .down.sql (no .up.sql beside it) is an ordinary file and is checked.
    w("000002_cleanup.down.sql", "DROP TABLE legacy;\n");
    let (code, v, _) = check_args(
        &[dir.path().to_str().unwrap(), "--runner", "golang-migrate"],
        None,
    );
    assert_eq!(code, Some(0), "{v:#}");
    assert_eq!(v["files"].as_array().unwrap().len(), 2, "{v:#}");
    assert_eq!(v["down_migrations"].as_array().unwrap().len(), 1);
    assert_eq!(rules_of(&v), ["drop-table", "missing-lock-timeout"]);
    // Named on the command line, a down file is checked.
    let down = dir.path().join("000001_things.down.sql");
    let (_, v, _) = check_args(&[down.to_str().unwrap()], None);
    assert_eq!(rules_of(&v), ["drop-table", "missing-lock-timeout"]);
}

#[test]
fn the_checked_file_is_not_its_own_history() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("0001_old.sql"),
        "CREATE TABLE accounts (id bigint PRIMARY KEY, plan text);\n",
    )
    .unwrap();
    let new = dir.path().join("0002_new.sql");
    std::fs::write(
        &new,
        "CREATE TABLE tags (id bigint, name text);\nCREATE INDEX tags_name ON tags (name);\n",
    )
    .unwrap();
    // tags is created by the checked file itself: new and empty, even though --history lists it.
    let (code, v, _) = check_args(
        &[
            new.to_str().unwrap(),
            "--history",
            dir.path().to_str().unwrap(),
        ],
        None,
    );
    assert_eq!((code, rules_of(&v)), (Some(0), vec![]), "{v:#}");
    // accounts comes from the history: an existing table.
    std::fs::write(&new, "CREATE INDEX accounts_plan ON accounts (plan);\n").unwrap();
    let (code, v, _) = check_args(
        &[
            new.to_str().unwrap(),
            "--history",
            dir.path().to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(code, Some(1));
    assert!(rules_of(&v).contains(&"index-not-concurrent".to_string()));
}

#[test]
fn an_off_by_default_rule_runs_only_when_enabled() {
    let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/migrations/corpus/047_statement_timeout_enabled_bad.sql");
    let dir = tempfile::tempdir().unwrap();
    let (_, v, _) = check_args(&[file.to_str().unwrap()], Some(dir.path()));
    assert_eq!(rules_of(&v), Vec::<String>::new(), "{v:#}");
    std::fs::write(
        dir.path().join("dbkit.toml"),
        "[rules]\nenabled = [\"missing-statement-timeout\"]\n",
    )
    .unwrap();
    let (_, v, _) = check_args(&[file.to_str().unwrap()], Some(dir.path()));
    assert_eq!(rules_of(&v), ["missing-statement-timeout"]);
    std::fs::write(
        dir.path().join("dbkit.toml"),
        "[rules]\nenabled = [\"missing-statment-timeout\"]\n",
    )
    .unwrap();
    let (code, _, err) = check_args(&[file.to_str().unwrap()], Some(dir.path()));
    assert_eq!(code, Some(2));
    assert!(
        err.contains("did you mean missing-statement-timeout"),
        "{err}"
    );
}

#[test]
fn a_schema_or_history_without_tables_is_an_error_not_unknown_types() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data.sql");
    std::fs::write(&data, "INSERT INTO accounts VALUES (1);\nSELECT 1;\n").unwrap();
    let change = "fixtures/migrations/corpus/089_type_bigint_to_numeric_bad.sql";
    let (code, _, err) = check_args(&[change, "--schema", data.to_str().unwrap()], None);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("pg_dump --schema-only"), "{err}");
    let (code, _, err) = check_args(&[change, "--history", data.to_str().unwrap()], None);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("--history"), "{err}");
}
