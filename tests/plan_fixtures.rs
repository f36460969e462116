//! The committed real plans in fixtures/plans/ (captured by scripts/capture-plans.sh): every
//! rule fires on its plan and stays quiet on its `ok-` counterpart; text and psql-wrapped input
//! read the same; the diff pair regresses; bad input is a clear error.

use dbkit::analyze::plan::analyze;
use dbkit::config::Config;
use std::path::PathBuf;
use std::process::Command;

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/plans")
}

fn plan(name: &str) -> dbkit::plan::Plan {
    let text = std::fs::read_to_string(dir().join(name)).unwrap();
    dbkit::plan::parse(&text)
        .unwrap_or_else(|e| panic!("{name}: {e}"))
        .remove(0)
}

fn rules(name: &str, cfg: &Config) -> Vec<String> {
    analyze(&plan(name), cfg, Some(name))
        .into_iter()
        .map(|f| f.rule.to_string())
        .collect()
}

#[test]
fn every_rule_fires_on_its_plan_and_not_on_the_ok_plan() {
    let cases = std::fs::read_to_string(dir().join("cases.tsv")).unwrap();
    let temp_cfg = Config::load(Some(&dir().join("temp-io.toml"))).unwrap();
    let mut seen = 0;
    for line in cases
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
    {
        let f: Vec<&str> = line.split('\t').collect();
        let (rule, fires, extra) = (f[0], f[1] == "fires", f[3]);
        let name = if fires {
            format!("{rule}.json")
        } else {
            format!("ok-{rule}.json")
        };
        let cfg = if extra.contains("temp-io.toml") {
            temp_cfg.clone()
        } else {
            Config::default()
        };
        let got = rules(&name, &cfg);
        assert_eq!(got.iter().any(|r| r == rule), fires, "{name}: {got:?}");
        seen += 1;
    }
    assert_eq!(seen, 26);
}

#[test]
fn text_and_psql_wrapped_plans_read_like_json() {
    let cfg = Config::default();
    assert!(rules("text-sort-spill.txt", &cfg).contains(&"sort-spill".to_string()));
    assert!(rules("text-nested-loop.txt", &cfg).contains(&"nested-loop-many-loops".to_string()));
    assert!(rules("psql-json-seq-scan.txt", &cfg).contains(&"seq-scan-filter".to_string()));
    let p = plan("text-nested-loop.txt");
    assert_eq!(p.root.node_type, "Aggregate");
    let nl = &p.root.children[0];
    assert_eq!(nl.node_type, "Nested Loop");
    assert_eq!(nl.children[1].actual_loops, Some(20000.0));
    assert!(p.execution_time_ms.is_some());
}

#[test]
fn the_diff_pair_regresses() {
    let d = dbkit::analyze::plan_diff::diff(
        &plan("diff-before.json"),
        &plan("diff-after.json"),
        &Config::default(),
    );
    let kinds: Vec<&str> = d.regressions().map(|c| c.kind.as_str()).collect();
    assert!(
        kinds.contains(&"scan-changed") && kinds.contains(&"index-unused"),
        "{kinds:?}"
    );
    let out = Command::new(env!("CARGO_BIN_EXE_dbkit"))
        .args(["plan", "diff"])
        .arg(dir().join("diff-before.json"))
        .arg(dir().join("diff-after.json"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "a regression fails the run");
}

#[test]
fn truncated_or_garbage_plans_are_one_clear_error() {
    let full = std::fs::read_to_string(dir().join("seq-scan-filter.json")).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    for (name, body) in [
        ("cut.json", full[..full.len() / 3].to_string()),
        ("garbage.txt", "\u{1}\u{2}binary\u{7f} nonsense".to_string()),
        ("empty.json", String::new()),
    ] {
        let p = tmp.path().join(name);
        std::fs::write(&p, body).unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_dbkit"))
            .args(["plan", "analyze"])
            .arg(&p)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{name}");
        let err = String::from_utf8(out.stderr).unwrap();
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains(name), "{err}");
        assert!(!err.contains("panicked"));
    }
    let out = Command::new(env!("CARGO_BIN_EXE_dbkit"))
        .args([
            "plan",
            "analyze",
            tmp.path().join("cut.json").to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("line"),
        "the position is named"
    );
}
