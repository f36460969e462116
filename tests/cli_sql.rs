//! End-to-end tests of `dbkit sql …` through the real binary: formats, exit codes, bad input.

use std::io::{Read, Write};
use std::process::{Command, Output, Stdio};

fn dbkit(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_dbkit"))
        .args(args)
        .env_remove("NO_COLOR")
        .output()
        .expect("run dbkit")
}

fn dbkit_stdin(args: &[&str], input: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_dbkit"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn dbkit");
    let mut stdin = child.stdin.take().unwrap();
    let data = input.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&data);
    });
    let out = child.wait_with_output().expect("wait");
    writer.join().unwrap();
    out
}

fn json(out: &Output) -> serde_json::Value {
    assert!(
        out.status.code() == Some(0) || out.status.code() == Some(1),
        "exit {:?}: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("stdout is JSON")
}

fn fixture(p: &str) -> String {
    format!("{}/fixtures/{p}", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn split_reports_exact_spans_and_skipped_meta_commands() {
    let out = dbkit(&[
        "sql",
        "split",
        &fixture("sql/mixed.sql"),
        "--format",
        "json",
    ]);
    let v = json(&out);
    let stmts = v["statements"].as_array().unwrap();
    assert_eq!(stmts.len(), 6);
    assert_eq!(stmts[0]["span"]["start"]["line"], 4);
    assert_eq!(stmts[2]["span"]["start"]["line"], 18);
    assert!(stmts[2]["text"].as_str().unwrap().ends_with("END"));
    assert_eq!(v["notes"].as_array().unwrap().len(), 2);
    assert_eq!(
        stmts[1]["leading_comments"][0],
        "/* a block comment /* nested; */ still comment; */"
    );
}

#[test]
fn fingerprint_groups_the_shop_workload() {
    let v = json(&dbkit(&[
        "sql",
        "fingerprint",
        &fixture("shop/workload.sql"),
        "--format",
        "json",
    ]));
    let groups = v["groups"].as_array().unwrap();
    let statements = v["statements"].as_array().unwrap();
    assert_eq!(statements.len(), 21);
    // Login (2), order history (2) and batch lookups (2) repeat with other literals.
    assert_eq!(groups.len(), 18, "{groups:#?}");
    let top: Vec<u64> = groups
        .iter()
        .take(3)
        .map(|g| g["count"].as_u64().unwrap())
        .collect();
    assert_eq!(top, vec![2, 2, 2]);
    assert_eq!(
        groups[2]["fingerprint"]["normalized"],
        "select id, status from orders where id in ($1 /*, ... */)"
    );
    assert_eq!(groups[0]["fingerprint"]["id"].as_str().unwrap().len(), 16);
}

#[test]
fn classify_says_where_statements_may_run() {
    let v = json(&dbkit(&[
        "sql",
        "classify",
        &fixture("shop/workload.sql"),
        "--format",
        "json",
    ]));
    let s = v["statements"].as_array().unwrap();
    assert_eq!(s[0]["kind"], "read");
    assert_eq!(s[0]["requires_primary"], false);
    let locking = s
        .iter()
        .find(|x| x["text"].as_str().unwrap().contains("SKIP LOCKED"))
        .unwrap();
    assert_eq!(locking["requires_primary"], true);
    assert_eq!(locking["reasons"][0], "FOR UPDATE locks rows");
    assert_eq!(v["primary_only"], 5);
}

#[test]
fn parse_lists_references_and_flags_unparsable_statements() {
    let v = json(&dbkit(&[
        "sql",
        "parse",
        &fixture("shop/workload.sql"),
        "--format",
        "json",
    ]));
    let s = &v["statements"][2];
    assert_eq!(s["parsed"], true);
    let preds = s["references"]["predicates"].as_array().unwrap();
    assert_eq!(preds[0]["table"], "orders");
    assert_eq!(preds[0]["column"], "user_id");
    assert_eq!(preds[0]["operand"]["kind"], "constant");
    assert!(v["findings"].as_array().unwrap().is_empty());

    // An unparsable statement is a warning: exit 0 by default, 1 with --fail-on warning.
    let out = dbkit_stdin(
        &["sql", "parse", "-", "--format", "json"],
        b"select 1; frobnicate the db;",
    );
    assert_eq!(out.status.code(), Some(0));
    let v = json(&out);
    assert_eq!(v["statements"][1]["parsed"], false);
    assert_eq!(v["statements"][1]["tokens"][0]["text"], "frobnicate");
    assert_eq!(v["findings"][0]["rule"], "sql-parse-error");
    let out = dbkit_stdin(
        &["sql", "parse", "-", "--fail-on", "warning"],
        b"frobnicate;",
    );
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn every_format_works() {
    for fmt in ["table", "json", "markdown", "text"] {
        let out = dbkit(&[
            "sql",
            "classify",
            &fixture("shop/workload.sql"),
            "--format",
            fmt,
        ]);
        assert_eq!(out.status.code(), Some(0), "{fmt}");
        let s = String::from_utf8(out.stdout).unwrap();
        let expected = if fmt == "json" {
            "\"primary_only\": 5"
        } else {
            "need the primary"
        };
        assert!(s.contains(expected), "{fmt}: {s}");
        assert!(!s.contains('\x1b'), "{fmt}: no colour when not a terminal");
    }
    let out = dbkit(&[
        "sql",
        "classify",
        &fixture("shop/workload.sql"),
        "--format",
        "text",
        "--color",
        "always",
    ]);
    assert!(String::from_utf8(out.stdout).unwrap().contains('\x1b'));
}

#[test]
fn template_override() {
    let dir = tempfile::tempdir().unwrap();
    let t = dir.path().join("count.tera");
    std::fs::write(&t, "{% for g in report.groups %}{{ g.count }} {% endfor %}").unwrap();
    let out = dbkit(&[
        "sql",
        "fingerprint",
        &fixture("shop/workload.sql"),
        "--format",
        "text",
        "--template",
        t.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8(out.stdout)
        .unwrap()
        .starts_with("2 2 2 1 "));
}

#[test]
fn bad_input_is_a_clear_error_never_a_panic() {
    // Empty input: no statements, success.
    let v = json(&dbkit_stdin(
        &["sql", "split", "-", "--format", "json"],
        b"",
    ));
    assert_eq!(v["statements"].as_array().unwrap().len(), 0);

    // Invalid UTF-8: exit 2 with the position.
    let out = dbkit_stdin(&["sql", "parse", "-"], b"select 1;\nselect '\xff\xfe';\n");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("not valid UTF-8 at line 2, column 9"), "{err}");

    // Binary garbage: a clear error.
    let garbage: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    let out = dbkit_stdin(&["sql", "fingerprint", "-"], &garbage);
    assert_eq!(out.status.code(), Some(2));
    assert!(!String::from_utf8_lossy(&out.stderr).contains("panicked"));

    // Unterminated dollar quote: an error finding with its position, exit 1.
    let out = dbkit_stdin(
        &["sql", "split", "-", "--format", "json"],
        b"select 1;\nselect $x$ open;\n",
    );
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["findings"][0]["rule"], "sql-lex-error");
    assert_eq!(v["findings"][0]["location"]["line"], 2);

    // Missing file: exit 2, one line naming it.
    let out = dbkit(&["sql", "split", "/nonexistent/q.sql"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8(out.stderr)
        .unwrap()
        .contains("/nonexistent/q.sql"));
}

#[test]
fn a_50_mb_statement_is_handled() {
    let mut big = Vec::with_capacity(52 << 20);
    big.extend_from_slice(b"INSERT INTO t (a, b) VALUES ");
    let mut i = 0u64;
    while big.len() < 50 << 20 {
        if i > 0 {
            big.push(b',');
        }
        big.extend_from_slice(format!("({i}, 'row {i}')").as_bytes());
        i += 1;
    }
    big.push(b';');
    let out = dbkit_stdin(&["sql", "parse", "-", "--format", "json"], &big);
    let v = json(&out);
    let s = &v["statements"][0];
    assert_eq!(
        s["fingerprint"]["normalized"],
        "insert into t(a, b) values ($1, $2) /*, ... */"
    );
    assert_eq!(s["parsed"], false);
    assert!(s["error"].as_str().unwrap().contains("byte limit"));
    assert_eq!(s["classification"]["kind"], "write");
    assert_eq!(
        s["text"].as_str().unwrap().len(),
        big.len() - 1,
        "nothing is lost"
    );
}

#[test]
fn broken_pipe_is_not_an_error() {
    let mut input = Vec::new();
    for i in 0..200_000 {
        input.extend_from_slice(format!("select {i} from t;\n").as_bytes());
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("many.sql");
    std::fs::write(&path, &input).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_dbkit"))
        .args(["sql", "split", path.to_str().unwrap(), "--format", "text"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut first = [0u8; 64];
    stdout.read_exact(&mut first).unwrap();
    drop(stdout); // like `| head`
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn usage_errors_exit_2_and_help_has_examples() {
    let out = dbkit(&["sql", "nonsense"]);
    assert_eq!(out.status.code(), Some(2));
    let out = dbkit(&["sql", "split", "x", "--format", "yaml"]);
    assert_eq!(out.status.code(), Some(2));
    for cmd in [
        vec!["--help"],
        vec!["sql", "split", "--help"],
        vec!["sql", "parse", "--help"],
        vec!["sql", "fingerprint", "--help"],
        vec!["sql", "classify", "--help"],
        vec!["scratch", "start", "--help"],
        vec!["sql", "--help"],
        vec!["scratch", "--help"],
        vec!["ping", "--help"],
        vec!["explain", "--help"],
        vec!["plan", "--help"],
        vec!["plan", "analyze", "--help"],
        vec!["plan", "show", "--help"],
        vec!["rules", "--help"],
        vec!["workload", "--help"],
        vec!["index", "--help"],
        vec!["partition", "--help"],
        vec!["partition", "create", "--help"],
        vec!["partition", "maintain", "--help"],
        vec!["partition", "convert", "--help"],
        vec!["check", "--help"],
        vec!["index", "check", "--help"],
        vec!["index", "advise", "--help"],
        vec!["workload", "top", "--help"],
        vec!["workload", "n-plus-one", "--help"],
    ] {
        let out = dbkit(&cmd);
        assert_eq!(out.status.code(), Some(0), "{cmd:?}");
        let help = String::from_utf8(out.stdout).unwrap();
        assert!(help.contains("Example"), "{cmd:?}: {help}");
    }
}
