//! `dbkit check` on the shipped migrations: nothing fires on fixtures/migrations/ok, and each
//! file of fixtures/migrations/bad triggers exactly the rules its `-- expect:` comment names.

use std::collections::BTreeSet;
use std::process::Command;

fn check(path: &str) -> (Option<i32>, serde_json::Value) {
    let out = Command::new(env!("CARGO_BIN_EXE_dbkit"))
        .args(["check", path, "--format", "json"])
        .output()
        .unwrap();
    let v = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|_| panic!("{path}: {}", String::from_utf8_lossy(&out.stderr)));
    (out.status.code(), v)
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
