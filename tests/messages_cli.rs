//! What dbkit says on stderr reads well where it lands: a dbkit.toml mistake keeps TOML's
//! caret diagram, a missing file's OS error is said once, and logs carry no colour codes when
//! stderr is not a terminal.

use std::process::Command;

fn run(dir: &std::path::Path, args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_dbkit"))
        .current_dir(dir)
        .args(args)
        .env_remove("NO_COLOR")
        .envs(env.iter().copied())
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn config_errors_keep_their_diagram() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("m.sql"), "DROP TABLE users;\n").unwrap();
    std::fs::write(
        dir.path().join("dbkit.toml"),
        "[rules]\ndisabled = [\"drop-tabel\"]\n",
    )
    .unwrap();
    let (code, err) = run(dir.path(), &["check", "m.sql"], &[]);
    assert_eq!(code, Some(2));
    let lines: Vec<&str> = err.lines().collect();
    assert!(
        lines[0].contains("dbkit.toml") && lines[0].contains("line 2"),
        "{err}"
    );
    assert!(lines.iter().any(|l| l.starts_with("2 | disabled")), "{err}");
    assert!(
        lines
            .iter()
            .any(|l| l.trim_start().starts_with("|") && l.contains('^')),
        "{err}"
    );
    assert!(err.contains("did you mean drop-table?"), "{err}");
}

#[test]
fn a_missing_file_is_said_once() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        &["sql", "split", "nope.sql"][..],
        &["check", "nope.sql"],
        &["plan", "show", "nope.json"],
        &["workload", "top", "nope.log"],
        &["shard", "validate", "--map", "nope.toml"],
    ] {
        let (code, err) = run(dir.path(), args, &[]);
        assert_eq!(code, Some(2), "{args:?}");
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert_eq!(err.matches("No such file").count(), 1, "{args:?}: {err}");
        assert_eq!(err.matches("nope.").count(), 1, "{args:?}: {err}");
    }
}

#[test]
fn logs_have_no_colour_codes_off_a_terminal() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let args = [
        "-vv",
        "plan",
        "analyze",
        "fixtures/plans/ok-seq-scan-filter.json",
    ];
    let (_, err) = run(root, &args, &[]);
    assert!(
        err.contains("INFO") && err.contains("ok-seq-scan-filter.json"),
        "{err}"
    );
    assert!(!err.contains('\u{1b}'), "{err:?}");
    let (_, err) = run(
        root,
        &["--color", "never", "-v", "sql", "split", "nope.sql"],
        &[],
    );
    assert!(!err.contains('\u{1b}'), "{err:?}");
    // Verbose errors list their causes, never a backtrace.
    let (_, err) = run(
        root,
        &["-v", "sql", "split", "nope.sql"],
        &[("RUST_BACKTRACE", "1")],
    );
    assert!(!err.contains("backtrace"), "{err}");
}
