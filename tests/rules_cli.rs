//! The rule registry through the binary: every rule id any fixture or command names is
//! registered, `dbkit rules` lists them all, `rules explain` prints the long text, and
//! dbkit.toml's switches (disabled, severity, path ignores, the `[check] exclude` alias) act the
//! same in every command; unknown ids are errors that name the closest valid id.

mod common;
use common::rule_ids;

use std::path::Path;

fn dbkit(args: &[&str]) -> (Option<i32>, String, String) {
    common::dbkit_in(args, &[], &[])
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.display().to_string()
}

fn json(out: &str) -> serde_json::Value {
    serde_json::from_str(out).unwrap_or_else(|e| panic!("{e}: {out}"))
}

#[test]
fn every_rule_is_listed_with_its_family_and_texts() {
    let (code, out, err) = dbkit(&["rules", "--format", "json"]);
    assert_eq!(code, Some(0), "{err}");
    let v = json(&out);
    let listed: Vec<&str> = v["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(listed.len(), dbkit::RuleId::ALL.len());
    // The families and ids that used to be emitted without being registered.
    for id in [
        "shard-node-imbalanced",
        "shard-map-gap",
        "shard-data-misplaced",
        "shard-plan-unbalanced",
        "route-replica-lagging",
        "route-map-secret-in-url",
        "route-export-unsupported",
        "lock-acquired",
        "table-rewrite",
        "query-broken",
        "plan-regression",
        "missing-index",
        "n-plus-one",
        "side-effect",
    ] {
        assert!(listed.contains(&id), "{id} is not listed");
    }
    let (code, out, _) = dbkit(&["rules", "--family", "routing", "--format", "json"]);
    assert_eq!(code, Some(0));
    let v = json(&out);
    assert!(v["rules"]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["family"] == "routing"));

    let (code, out, err) = dbkit(&["rules", "explain", "fk-not-valid", "--format", "json"]);
    assert_eq!(code, Some(0), "{err}");
    let v = json(&out);
    assert!(v["explanation"]
        .as_str()
        .unwrap()
        .contains("VALIDATE CONSTRAINT"));
    let (code, _, err) = dbkit(&["rules", "explain", "fk-not-vaild"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("did you mean fk-not-valid"), "{err}");
    let (code, _, err) = dbkit(&["rules", "--family", "shards"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("did you mean shard"), "{err}");
}

#[test]
fn every_rule_id_the_fixtures_name_is_registered() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut named = Vec::new();
    for dir in ["fixtures/migrations/ok", "fixtures/migrations/bad"] {
        for e in std::fs::read_dir(root.join(dir)).unwrap().flatten() {
            let text = std::fs::read_to_string(e.path()).unwrap();
            for line in text.lines() {
                if let Some(rest) = line.trim().strip_prefix("-- expect:") {
                    named.extend(rest.split(',').map(|s| s.trim().to_string()));
                }
                if let Some(rest) = line.trim().strip_prefix("-- dbkit:ignore") {
                    named.extend(rest.split_whitespace().next().map(str::to_string));
                }
            }
        }
    }
    let cases = std::fs::read_to_string(root.join("fixtures/plans/cases.tsv")).unwrap();
    named.extend(
        cases
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .map(|l| l.split('\t').next().unwrap().to_string()),
    );
    named.retain(|n| !n.is_empty() && n != "none");
    assert!(named.len() > 40, "{named:?}");
    for n in named {
        assert!(
            n.parse::<dbkit::RuleId>().is_ok(),
            "a fixture names rule {n}, which is not registered"
        );
    }
}

#[test]
fn dbkit_toml_switches_act_the_same_in_every_command() {
    let dir = tempfile::tempdir().unwrap();
    let m = write(
        dir.path(),
        "m.sql",
        "SET lock_timeout = '2s';\nDROP TABLE users;\nALTER TABLE a RENAME TO b;\n",
    );
    let (code, out, err) = dbkit(&["check", &m, "--format", "json"]);
    assert_eq!(code, Some(0), "{err}");
    let ids = rule_ids(&json(&out));
    assert!(ids.contains(&"drop-table".to_string()), "{ids:?}");
    assert!(ids.contains(&"rename-table".to_string()), "{ids:?}");

    // [rules] disabled switches check's rules off (it used to read only [check] exclude).
    let cfg = write(
        dir.path(),
        "a.toml",
        "[rules]\ndisabled = [\"drop-table\"]\n",
    );
    let (code, out, err) = dbkit(&["check", &m, "--config", &cfg, "--format", "json"]);
    assert_eq!(code, Some(0), "{err}");
    let ids = rule_ids(&json(&out));
    assert!(!ids.contains(&"drop-table".to_string()), "{ids:?}");
    assert!(ids.contains(&"rename-table".to_string()), "{ids:?}");

    // The old spelling still works.
    let cfg = write(
        dir.path(),
        "b.toml",
        "[check]\nexclude = [\"drop-table\"]\n",
    );
    let (_, out, _) = dbkit(&["check", &m, "--config", &cfg, "--format", "json"]);
    assert!(!rule_ids(&json(&out)).contains(&"drop-table".to_string()));

    // A severity override makes a warning fail the run; a path ignore silences one file.
    let cfg = write(
        dir.path(),
        "c.toml",
        "[rules.severity]\ndrop-table = \"error\"\n\n[[rules.ignore]]\npaths = [\"**/legacy/*.sql\"]\nrules = [\"rename-table\"]\n",
    );
    let (code, out, err) = dbkit(&["check", &m, "--config", &cfg, "--format", "json"]);
    assert_eq!(code, Some(1), "{err}");
    let v = json(&out);
    let drop = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "drop-table")
        .unwrap();
    assert_eq!(drop["severity"], "error");
    std::fs::create_dir(dir.path().join("legacy")).unwrap();
    let legacy = write(
        &dir.path().join("legacy"),
        "old.sql",
        "ALTER TABLE a RENAME TO b;\n",
    );
    let (_, out, _) = dbkit(&["check", &legacy, "--config", &cfg, "--format", "json"]);
    assert!(!rule_ids(&json(&out)).contains(&"rename-table".to_string()));

    // The same [rules] disabled in another family: the plan rules.
    let plan = "fixtures/plans/seq-scan-filter.json";
    let (_, out, _) = dbkit(&["plan", "analyze", plan, "--format", "json"]);
    assert!(rule_ids(&json(&out)).contains(&"seq-scan-filter".to_string()));
    let cfg = write(
        dir.path(),
        "d.toml",
        "[rules]\ndisabled = [\"seq-scan-filter\"]\n",
    );
    let (_, out, _) = dbkit(&[
        "plan", "analyze", plan, "--config", &cfg, "--format", "json",
    ]);
    assert!(!rule_ids(&json(&out)).contains(&"seq-scan-filter".to_string()));

    // And in shard validate, which had no configuration before.
    let map = "fixtures/shardmaps/broken.toml";
    let (_, out, _) = dbkit(&["shard", "validate", "--map", map, "--format", "json"]);
    assert!(rule_ids(&json(&out)).contains(&"shard-map-gap".to_string()));
    let cfg = write(
        dir.path(),
        "e.toml",
        "[rules]\ndisabled = [\"shard-map-gap\"]\n",
    );
    let (_, out, _) = dbkit(&[
        "shard", "validate", "--map", map, "--config", &cfg, "--format", "json",
    ]);
    assert!(!rule_ids(&json(&out)).contains(&"shard-map-gap".to_string()));
}

#[test]
fn unknown_rule_ids_in_dbkit_toml_are_errors_naming_the_closest() {
    let dir = tempfile::tempdir().unwrap();
    let m = write(dir.path(), "m.sql", "DROP TABLE users;\n");
    for (name, text, want) in [
        (
            "a.toml",
            "[rules]\ndisabled = [\"drop-tabel\"]\n",
            "did you mean drop-table",
        ),
        (
            "b.toml",
            "[rules.severity]\nset-not-nul = \"error\"\n",
            "did you mean set-not-null",
        ),
        (
            "c.toml",
            "[check]\nexclude = [\"drop-colum\"]\n",
            "did you mean drop-column",
        ),
        (
            "d.toml",
            "[rules.plan]\nseq_scan_min_rowz = 1\n",
            "seq_scan_min_rowz",
        ),
        (
            "e.toml",
            "[rules.severity]\ndrop-table = \"fatal\"\n",
            "fatal",
        ),
    ] {
        let cfg = write(dir.path(), name, text);
        let (code, out, err) = dbkit(&["check", &m, "--config", &cfg]);
        assert_eq!(code, Some(2), "{name}: {out}{err}");
        assert!(err.contains(want), "{name}: {err}");
        // One error: its first line names the file and place, then TOML's caret diagram.
        let lines: Vec<&str> = err.trim().lines().collect();
        assert!(
            lines[0].starts_with("dbkit: error: ") && lines[0].contains(name),
            "{name}: {err}"
        );
        assert_eq!(err.matches("dbkit: error").count(), 1, "{name}: {err}");
        assert!(lines.len() <= 6, "{name}: {err}");
    }
}
