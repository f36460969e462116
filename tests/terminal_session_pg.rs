//! dbkit in a real terminal of 100 columns (tmux): `explain`, `check`, `workload top` and `index
//! advise` on the shipped fixtures fit the screen (no line wider than the terminal) and show each
//! finding once (as many table cells hold a rule id as the JSON report has findings of that
//! rule). Needs tmux, PostgreSQL and HypoPG; fails saying so without them.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

const COLUMNS: usize = 100;

/// Run `args` in a detached tmux session of COLUMNS columns and return the whole screen
/// history once the command has finished.
fn on_a_terminal(socket: &Path, name: &str, args: &[&str]) -> String {
    let bin = env!("CARGO_BIN_EXE_dbkit");
    let root = env!("CARGO_MANIFEST_DIR");
    let quoted: Vec<String> = args.iter().map(|a| format!("'{a}'")).collect();
    let script = format!(
        "cd '{root}' && env -u COLUMNS -u NO_COLOR TERM=xterm '{bin}' --color never {} ; echo; echo __DBKIT_DONE__; sleep 600",
        quoted.join(" ")
    );
    let tmux = |a: &[&str]| {
        Command::new("tmux")
            .arg("-S")
            .arg(socket)
            .args(a)
            .output()
            .unwrap_or_else(|e| panic!("tmux is required for this test: {e}"))
    };
    let width = COLUMNS.to_string();
    let out = tmux(&[
        "new-session",
        "-d",
        "-s",
        name,
        "-x",
        &width,
        "-y",
        "50",
        "sh",
        "-c",
        &script,
    ]);
    assert!(
        out.status.success(),
        "tmux: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    tmux(&["set-option", "-t", name, "history-limit", "100000"]);
    let start = Instant::now();
    loop {
        let out = tmux(&["capture-pane", "-p", "-J", "-t", name, "-S", "-", "-E", "-"]);
        let screen = String::from_utf8_lossy(&out.stdout).into_owned();
        if screen.contains("__DBKIT_DONE__") {
            tmux(&["kill-session", "-t", name]);
            return screen;
        }
        assert!(
            start.elapsed() < Duration::from_secs(300),
            "{args:?} did not finish:\n{screen}"
        );
        std::thread::sleep(Duration::from_millis(300));
    }
}

fn json(args: &[&str]) -> serde_json::Value {
    let out = Command::new(env!("CARGO_BIN_EXE_dbkit"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(args)
        .args(["--format", "json"])
        .output()
        .unwrap();
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|_| panic!("{args:?}: {}", String::from_utf8_lossy(&out.stderr)))
}

#[test]
fn reports_fit_a_100_column_terminal_and_show_each_finding_once() {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("tmux.sock");
    let shop = [
        "--scratch",
        "--schema",
        "fixtures/shop/schema.sql",
        "--seed",
        "fixtures/shop/seed.sql",
        "--workload",
        "fixtures/shop/workload.sql",
    ];
    let mut explain = vec!["explain"];
    explain.extend(shop);
    let mut advise = vec!["index", "advise"];
    advise.extend(shop);
    let cases: Vec<Vec<&str>> = vec![
        vec!["check", "fixtures/migrations/bad/"],
        vec!["workload", "top", "fixtures/logs/app.log", "--limit", "10"],
        explain,
        advise,
    ];
    let mut problems = Vec::new();
    for (i, args) in cases.iter().enumerate() {
        let screen = on_a_terminal(&socket, &format!("s{i}"), args);
        for line in screen.lines() {
            let w = line.trim_end().chars().count();
            if w > COLUMNS {
                problems.push(format!("{args:?}: a line of {w} columns: {line}"));
            }
        }
        let v = json(args);
        let mut want: BTreeMap<String, usize> = BTreeMap::new();
        for f in v["findings"].as_array().into_iter().flatten() {
            *want
                .entry(f["rule"].as_str().unwrap().to_string())
                .or_default() += 1;
        }
        for (rule, n) in &want {
            // Table cells holding exactly the id (a message may mention a rule: not counted).
            let seen = screen
                .lines()
                .flat_map(|l| l.split(['┆', '│']))
                .filter(|cell| cell.trim() == rule)
                .count();
            if seen != *n {
                problems.push(format!(
                    "{args:?}: {rule} is on the screen {seen} time(s) for {n} finding(s)"
                ));
            }
        }
        // The progress line (loading the seed, planning) is cleared once its step is done.
        assert!(
            !screen.contains(", statement "),
            "{args:?}: a progress line was left:\n{screen}"
        );
        assert!(
            screen.lines().any(|l| l.starts_with('┌')),
            "{args:?}: no table on the screen:\n{screen}"
        );
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
