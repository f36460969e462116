//! Tables fit: piped output is at most 120 columns (or `COLUMNS`, or `--width`), long cells wrap
//! instead of widening the table, and each finding of `check` is printed once.

use std::process::Command;

fn run(args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_dbkit"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(args)
        .env_remove("COLUMNS")
        .envs(env.iter().copied())
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

fn widest(text: &str) -> usize {
    text.lines().map(|l| l.chars().count()).max().unwrap_or(0)
}

#[test]
fn tables_fit_the_width_they_are_given() {
    let cases: &[&[&str]] = &[
        &["check", "fixtures/migrations/bad/"],
        &["workload", "top", "fixtures/logs/app.log", "--limit", "5"],
        &["plan", "analyze", "fixtures/plans/seq-scan-filter.json"],
        &["rules"],
        &["sql", "fingerprint", "fixtures/shop/workload.sql"],
    ];
    for args in cases {
        // The summary line is not a table: it may be longer; tables are what must fit.
        let tables = |s: &str| -> String {
            s.lines()
                .filter(|l| l.starts_with(['┌', '│', '╞', '├', '└']))
                .collect::<Vec<_>>()
                .join("\n")
        };
        let (_, out) = run(args, &[]);
        let w = widest(&tables(&out));
        assert!(w <= 120 && w > 40, "{args:?} piped: {w} columns\n{out}");
        let (_, out) = run(args, &[("COLUMNS", "90")]);
        assert!(widest(&tables(&out)) <= 90, "{args:?} COLUMNS=90\n{out}");
        let mut narrow = args.to_vec();
        narrow.extend(["--width", "70"]);
        let (_, out) = run(&narrow, &[("COLUMNS", "200")]);
        assert!(widest(&tables(&out)) <= 70, "{args:?} --width 70\n{out}");
    }
}

#[test]
fn check_prints_each_finding_once() {
    let (code, out) = run(
        &["check", "fixtures/migrations/bad/001_blocking_index.sql"],
        &[],
    );
    assert_eq!(code, Some(1));
    // The file is the title of its table; each rule appears in one row only.
    assert_eq!(out.matches("index-not-concurrent").count(), 1, "{out}");
    assert_eq!(out.matches("missing-lock-timeout").count(), 1, "{out}");
    assert!(out
        .lines()
        .any(|l| l == "fixtures/migrations/bad/001_blocking_index.sql"));
    // The summary comes last.
    assert!(out
        .trim_end()
        .lines()
        .last()
        .unwrap()
        .contains("checked for PostgreSQL"));
}
