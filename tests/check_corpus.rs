//! The migration corpus (fixtures/migrations/corpus): dangerous and safe variants of every
//! migration rule, the transaction conventions of each runner, and what the schema history
//! changes. Each file says what it must produce on its `-- expect:` line (`nothing`, or rule ids,
//! a rule listed twice fires twice, `rule(warning)` also fixes the severity) and how to check it
//! on an `-- options:` line (`--runner R`, `--transaction M`, `--pg-version N`, `--enable RULE`,
//! `--no-history`). Every file is checked against the history in corpus/history unless it says
//! `--no-history`; the whole corpus must agree exactly.

use dbkit::analyze::migration::{check, Options};
use dbkit::config::{Config, Runner, TxSetting};
use dbkit::finding::RuleId;
use std::path::Path;

fn corpus() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/migrations/corpus")
}

fn sql_files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "sql"))
        .collect();
    v.sort();
    v
}

fn header<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    text.lines()
        .take_while(|l| l.starts_with("--"))
        .find_map(|l| l.strip_prefix(key))
        .map(str::trim)
}

#[test]
fn every_corpus_file_produces_what_it_expects() {
    let history: Vec<(String, String)> = sql_files(&corpus().join("history"))
        .into_iter()
        .map(|p| {
            (
                p.display().to_string(),
                std::fs::read_to_string(&p).unwrap(),
            )
        })
        .collect();
    let files = sql_files(&corpus());
    assert!(files.len() >= 150, "the corpus has {} files", files.len());
    let mut failures = Vec::new();
    let mut rules_seen = std::collections::BTreeSet::new();
    let (mut ok, mut bad) = (0, 0);
    for path in &files {
        let text = std::fs::read_to_string(path).unwrap();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let expect =
            header(&text, "-- expect:").unwrap_or_else(|| panic!("{name}: no -- expect: line"));
        let mut enabled = Vec::new();
        let mut o = Options {
            history: history.clone(),
            ..Options::default()
        };
        let opts: Vec<&str> = header(&text, "-- options:")
            .unwrap_or("")
            .split_whitespace()
            .collect();
        let mut i = 0;
        while i < opts.len() {
            let v = opts.get(i + 1).copied().unwrap_or("");
            match opts[i] {
                "--runner" => o.runner = Some(v.parse::<Runner>().unwrap()),
                "--transaction" => o.transaction = v.parse::<TxSetting>().unwrap(),
                "--pg-version" => o.pg_version = v.parse().unwrap(),
                "--enable" => enabled.push(v.parse::<RuleId>().unwrap()),
                "--no-history" => {
                    o.history.clear();
                    i += 1;
                    continue;
                }
                other => panic!("{name}: unknown option {other}"),
            }
            i += 2;
        }
        o.excluded = Config::default()
            .disabled_rules()
            .into_iter()
            .filter(|r| !enabled.contains(r))
            .collect();
        // What users see: a rule firing again for the same cause is one finding.
        let found =
            dbkit::finding::collapse_repeats(check(&[(name.clone(), text.clone())], &o).findings);
        let mut got: Vec<String> = found.iter().map(|f| f.rule.to_string()).collect();
        got.sort();
        let wanted: Vec<(String, Option<String>)> = if expect == "nothing" {
            Vec::new()
        } else {
            expect
                .split(',')
                .map(|e| {
                    let e = e.trim();
                    match e.split_once('(') {
                        Some((r, sev)) => {
                            (r.to_string(), Some(sev.trim_end_matches(')').to_string()))
                        }
                        None => (e.to_string(), None),
                    }
                })
                .collect()
        };
        let mut want: Vec<String> = wanted.iter().map(|(r, _)| r.clone()).collect();
        want.sort();
        if want.is_empty() {
            ok += 1;
        } else {
            bad += 1;
        }
        rules_seen.extend(want.iter().cloned());
        if got != want {
            let detail: Vec<String> = found
                .iter()
                .map(|f| format!("    {} line {:?}: {}", f.rule, f.location.line, f.message))
                .collect();
            failures.push(format!(
                "{name}: expected {want:?}, got {got:?}\n{}",
                detail.join("\n")
            ));
            continue;
        }
        for (r, sev) in wanted
            .iter()
            .filter_map(|(r, s)| s.as_ref().map(|s| (r, s)))
        {
            if !found
                .iter()
                .any(|f| f.rule.as_str() == r && f.severity.as_str() == sev)
            {
                failures.push(format!("{name}: {r} is not a {sev}"));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} corpus files disagree:\n{}",
        failures.len(),
        files.len(),
        failures.join("\n")
    );
    // Both kinds, and every migration rule has a dangerous example.
    assert!(ok >= 50 && bad >= 80, "{ok} safe and {bad} dangerous files");
    let missing: Vec<&str> = dbkit::analyze::migration::RULES
        .iter()
        .map(|r| r.id.as_str())
        .chain(["work-after-access-exclusive", "unused-ignore"])
        .filter(|r| !rules_seen.contains(*r))
        .collect();
    assert!(
        missing.is_empty(),
        "rules with no dangerous example in the corpus: {missing:?}"
    );
}
