//! Mergeable summaries: a log split into parts, each summarized with `--save-state`, merged by
//! `workload merge` in any order and in any grouping, gives exactly the report of the whole log.

use std::path::{Path, PathBuf};
use std::process::Command;

fn dbkit_json(args: &[&str]) -> serde_json::Value {
    let out = Command::new(env!("CARGO_BIN_EXE_dbkit"))
        .args(args)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    // The inputs are the only thing that differs.
    v.as_object_mut().unwrap().remove("inputs");
    v
}

/// `log` cut into `n` files at entry boundaries (never before a continuation line).
fn split(log: &Path, n: usize, dir: &Path) -> Vec<PathBuf> {
    let text = std::fs::read_to_string(log).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let mut parts = Vec::new();
    let mut start = 0;
    for i in 1..=n {
        let mut end = if i == n {
            lines.len()
        } else {
            lines.len() * i / n
        };
        while end < lines.len() && lines[end].starts_with('\t') {
            end += 1;
        }
        let p = dir.join(format!("part{i}.log"));
        std::fs::write(&p, lines[start..end].join("\n") + "\n").unwrap();
        parts.push(p);
        start = end;
    }
    parts
}

#[test]
fn a_log_in_parts_merges_into_the_report_of_the_whole_in_any_order() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().unwrap();
    for log in ["fixtures/logs/app.log", "fixtures/logs/real/debian.log"] {
        let whole = root.join(log);
        let whole = whole.to_str().unwrap();
        let parts = split(Path::new(whole), 3, dir.path());
        let mut states = Vec::new();
        for (i, p) in parts.iter().enumerate() {
            let state = dir.path().join(format!("s{i}.state.gz"));
            dbkit_json(&[
                "workload",
                "summary",
                p.to_str().unwrap(),
                "--save-state",
                state.to_str().unwrap(),
                "--format",
                "json",
            ]);
            states.push(state.to_str().unwrap().to_string());
        }
        let want = dbkit_json(&["workload", "summary", whole, "--format", "json"]);
        assert!(want["total_queries"].as_u64().unwrap() > 0);
        for order in [[0, 1, 2], [2, 0, 1], [1, 2, 0], [2, 1, 0]] {
            let mut args = vec!["workload", "merge", "--format", "json"];
            args.extend(order.iter().map(|&i| states[i].as_str()));
            let got = dbkit_json(&args);
            assert_eq!(got, want, "{log}: merged in order {order:?}");
        }
        // Associative: (s0 + s1) + s2 == s0 + (s1 + s2).
        let ab = dir.path().join("ab.state.gz");
        let bc = dir.path().join("bc.state.gz");
        let ab_s = ab.to_str().unwrap();
        let bc_s = bc.to_str().unwrap();
        dbkit_json(&[
            "workload",
            "merge",
            &states[0],
            &states[1],
            "--save-state",
            ab_s,
            "--format",
            "json",
        ]);
        dbkit_json(&[
            "workload",
            "merge",
            &states[1],
            &states[2],
            "--save-state",
            bc_s,
            "--format",
            "json",
        ]);
        let left = dbkit_json(&["workload", "merge", ab_s, &states[2], "--format", "json"]);
        let right = dbkit_json(&["workload", "merge", &states[0], bc_s, "--format", "json"]);
        assert_eq!(left, want, "{log}: (a + b) + c");
        assert_eq!(right, want, "{log}: a + (b + c)");
        // The top report of the merged states is the top report of the whole log.
        let top_whole = dbkit_json(&[
            "workload", "top", whole, "--format", "json", "--limit", "50",
        ]);
        let mut args = vec![
            "workload", "merge", "--report", "top", "--limit", "50", "--format", "json",
        ];
        args.extend(states.iter().map(String::as_str));
        assert_eq!(dbkit_json(&args), top_whole, "{log}: top");
    }
}

#[test]
fn a_file_that_is_not_a_state_is_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("not-a-state.json");
    std::fs::write(&p, "{\"kind\": \"something else\"}").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_dbkit"))
        .args(["workload", "merge", p.to_str().unwrap()])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("not-a-state.json") && stderr.contains("--save-state"),
        "{stderr}"
    );
}
