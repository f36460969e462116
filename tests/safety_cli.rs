//! Safety without a server: no secret in any output, format or log level; a byte-order mark is
//! not text; hostile statements parse in linear time; errors are one clear line; closed pipes
//! are not errors. And a check on the source itself: no statement is ever sent with the simple
//! (multi-statement) protocol.

mod common;

use std::path::Path;

const FORMATS: &[&str] = &[
    "table", "json", "markdown", "text", "github", "sarif", "junit",
];
const PASSWORD: &str = "s3cretPW";

fn dbkit(args: &[&str]) -> (Option<i32>, String, String) {
    common::dbkit_in(args, &[], &["DATABASE_URL", "PGPASSWORD"])
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> String {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p.to_str().unwrap().to_string()
}

fn assert_no_secret(what: &str, out: &str, err: &str) {
    for part in [PASSWORD, "s3cret", "retPW", "ss3c"] {
        assert!(
            !out.contains(part),
            "{what}: stdout holds the password: {out}"
        );
        assert!(
            !err.contains(part),
            "{what}: stderr holds the password: {err}"
        );
    }
}

#[test]
fn passwords_never_appear_in_any_output() {
    let dir = tempfile::tempdir().unwrap();
    let shard_map = write(
        dir.path(),
        "shard.toml",
        format!("version = 1\n[[nodes]]\nname = \"a\"\nurll = \"postgres://u:{PASSWORD}@h/db\"\n")
            .as_bytes(),
    );
    let shard_json = write(
        dir.path(),
        "shard.json",
        format!("{{\"version\": 1, \"nodes\": [{{\"name\": \"a\", \"url\": \"postgres://u:{PASSWORD}@h/db\", \"password\": \"{PASSWORD}\"").as_bytes(),
    );
    let route_map = write(
        dir.path(),
        "route.toml",
        format!("cluster = \"c\"\n[primary]\nname = \"p\"\nurl = \"host=h password={PASSWORD} dbname=d\"\nbogus = 1\n").as_bytes(),
    );
    let sql = write(dir.path(), "q.sql", b"SELECT 1;");
    let urls = [
        format!("postgres://u:pa/s{PASSWORD}@host/db"),
        "postgres://u:s3c?retPW@host/db".to_string(),
        format!("postgres://u:{PASSWORD}@host:notaport/db"),
        format!("host=h password={PASSWORD} port=x"),
        format!("host=h password='{PASSWORD}"),
    ];
    for format in FORMATS {
        for verbose in [None, Some("-v"), Some("-vv")] {
            let mut runs: Vec<Vec<String>> = vec![
                vec![
                    "shard".into(),
                    "validate".into(),
                    "--map".into(),
                    shard_map.clone(),
                ],
                vec![
                    "shard".into(),
                    "plan".into(),
                    "--map".into(),
                    shard_json.clone(),
                ],
                vec![
                    "route".into(),
                    "classify".into(),
                    "--map".into(),
                    route_map.clone(),
                    sql.clone(),
                ],
                vec![
                    "route".into(),
                    "probe".into(),
                    "--map".into(),
                    route_map.clone(),
                ],
            ];
            for u in &urls {
                runs.push(vec!["ping".into(), "--url".into(), u.clone()]);
                runs.push(vec![
                    "explain".into(),
                    "SELECT 1".into(),
                    "--url".into(),
                    u.clone(),
                ]);
            }
            for mut args in runs {
                args.extend(["--format".to_string(), format.to_string()]);
                if let Some(v) = verbose {
                    args.push(v.to_string());
                }
                let a: Vec<&str> = args.iter().map(String::as_str).collect();
                let (code, out, err) = dbkit(&a);
                assert_eq!(code, Some(2), "{a:?}: {err}");
                assert_eq!(
                    err.lines()
                        .filter(|l| l.starts_with("dbkit: error"))
                        .count(),
                    1,
                    "{a:?}: {err}"
                );
                assert_no_secret(&format!("{a:?}"), &out, &err);
            }
        }
    }
    // A map with a 50 MB line gets a short error, not a 50 MB one.
    let mut huge = b"version = 1\nnodes = \"".to_vec();
    huge.extend(std::iter::repeat_n(b'x', 50 << 20));
    let f = write(dir.path(), "huge.toml", &huge);
    let (code, _, err) = dbkit(&["shard", "validate", "--map", &f]);
    assert_eq!(code, Some(2));
    assert!(err.len() < 4000, "{} bytes of error", err.len());
}

#[test]
fn a_byte_order_mark_is_not_text() {
    let dir = tempfile::tempdir().unwrap();
    let bom = |s: &str| [b"\xEF\xBB\xBF".as_slice(), s.as_bytes()].concat();
    // check: the first statement is checked, at line 1 column 1.
    let m = write(dir.path(), "m.sql", &bom("CREATE INDEX i ON t (a);\n"));
    let (code, out, err) = dbkit(&["check", &m, "--format", "json"]);
    assert_eq!(code, Some(1), "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let f = &v["findings"][0];
    assert_eq!(f["rule"], "index-not-concurrent", "{v:#}");
    assert_eq!(
        (
            f["location"]["line"].as_u64(),
            f["location"]["column"].as_u64()
        ),
        (Some(1), Some(1))
    );
    // sql parse: the statement parses.
    let s = write(dir.path(), "s.sql", &bom("SELECT 1;"));
    let (code, out, _) = dbkit(&["sql", "parse", &s, "--format", "json"]);
    assert_eq!(code, Some(0));
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["statements"][0]["parsed"], true, "{v:#}");
    assert_eq!(v["statements"][0]["text"], "SELECT 1", "{v:#}");
    // plan analyze: a JSON plan and a text plan.
    let plan = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/plans/seq-scan-filter.json"
    ))
    .unwrap();
    let p = write(dir.path(), "p.json", &bom(&plan));
    let (code, _, err) = dbkit(&["plan", "analyze", &p]);
    assert_ne!(code, Some(2), "{err}");
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/plans/text-sort-spill.txt"
    ))
    .unwrap();
    let p = write(dir.path(), "p.txt", &bom(&text));
    let (code, _, err) = dbkit(&["plan", "show", &p]);
    assert_eq!(code, Some(0), "{err}");
    // partition create: the schema's first statement is the table.
    let schema = write(
        dir.path(),
        "e.sql",
        &bom("CREATE TABLE events (id bigint, at timestamptz NOT NULL);"),
    );
    let (code, out, err) = dbkit(&[
        "partition",
        "create",
        "--schema",
        &schema,
        "--table",
        "events",
        "--key",
        "at",
        "--interval",
        "month",
        "--start",
        "2024-01-01",
        "--premake",
        "1",
    ]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("PARTITION BY RANGE"), "{out}");
    // shard map and config.
    let map = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/shardmaps/shop.toml"
    ))
    .unwrap();
    let mp = write(dir.path(), "map.toml", &bom(&map));
    let (code, _, err) = dbkit(&["shard", "validate", "--map", &mp]);
    assert_eq!(code, Some(0), "{err}");
    let cfg = write(
        dir.path(),
        "dbkit.toml",
        &bom("[rules]\ndisabled = [\"jit-overhead\"]\n"),
    );
    let (code, _, err) = dbkit(&["rules", "--config", &cfg]);
    assert_eq!(code, Some(0), "{err}");
}

#[test]
fn hostile_statements_parse_in_linear_time() {
    let dir = tempfile::tempdir().unwrap();
    for n in [36, 1000] {
        let sql = format!(
            "UPDATE t SET d = {}d{} WHERE id = 1;",
            "jsonb_set(".repeat(n),
            ", '{a}', '1')".repeat(n)
        );
        let f = write(dir.path(), "n.sql", sql.as_bytes());
        // Before the fix, 36 levels ran for over ten minutes: this test would not finish.
        let (code, out, _) = dbkit(&["sql", "parse", &f, "--format", "json"]);
        assert_eq!(code, Some(0), "{n}");
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["statements"].as_array().unwrap().len(), 1);
        let (code, _, _) = dbkit(&["sql", "fingerprint", &f]);
        assert_eq!(code, Some(0));
    }
}

#[test]
fn errors_are_one_line_and_say_what_is_wrong() {
    let dir = tempfile::tempdir().unwrap();
    // A schema that does not parse: its position and the parser's message.
    let schema = write(dir.path(), "s.sql", b"CREATE TABLE other (id int);\nCREATE TABLE events (id bigint, at timestamptz NOT NULL,, kind text);\n");
    let (code, _, err) = dbkit(&[
        "partition",
        "create",
        "--schema",
        &schema,
        "--table",
        "events",
        "--key",
        "at",
        "--interval",
        "month",
    ]);
    assert_eq!(code, Some(2));
    assert!(
        err.contains("line 2, column 1") && err.contains("does not parse"),
        "{err}"
    );
    // Nothing to check.
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let (code, _, err) = dbkit(&["check", empty.to_str().unwrap()]);
    assert_eq!(code, Some(2));
    assert!(err.contains("nothing to check"), "{err}");
    // An OS error, once.
    let missing = dir.path().join("missing.sql");
    let (code, _, err) = dbkit(&["check", missing.to_str().unwrap()]);
    assert_eq!(code, Some(2));
    assert_eq!(err.matches("No such file or directory").count(), 1, "{err}");
    let (_, _, err) = dbkit(&["sql", "split", missing.to_str().unwrap()]);
    assert_eq!(err.matches("No such file or directory").count(), 1, "{err}");
}

#[test]
fn a_closed_pipe_is_not_an_error_in_any_format() {
    let dir = tempfile::tempdir().unwrap();
    let sql: String = (0..20000)
        .map(|i| format!("select {i} from t where x = {i};\n"))
        .collect();
    let f = write(dir.path(), "big.sql", sql.as_bytes());
    for format in ["table", "json", "markdown", "text", "sarif"] {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_dbkit"))
            .args(["sql", "split", &f, "--format", format])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // Read a little, then close the pipe.
        let mut out = child.stdout.take().unwrap();
        let mut buf = [0u8; 64];
        std::io::Read::read_exact(&mut out, &mut buf).unwrap();
        drop(out);
        let o = child.wait_with_output().unwrap();
        assert_eq!(
            o.status.code(),
            Some(0),
            "{format}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
}

/// Every statement dbkit sends goes through the extended protocol, which refuses a second
/// statement hidden in a text: the simple-protocol entry points of sqlx are not used anywhere.
#[test]
fn no_statement_is_sent_with_the_simple_protocol() {
    fn walk(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    let mut files = Vec::new();
    walk(
        Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/src")),
        &mut files,
    );
    let mut offences = Vec::new();
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        for (i, line) in text.lines().enumerate() {
            let l = line.trim_start();
            if l.starts_with("//") {
                continue;
            }
            let bad = [
                "raw_sql",
                "sqlx::Executor",
                "Executor,",
                "Executor}",
                ".execute(\"",
            ];
            if bad.iter().any(|b| l.contains(b)) {
                offences.push(format!("{}:{}: {l}", f.display(), i + 1));
            }
        }
    }
    assert!(
        offences.is_empty(),
        "simple-protocol calls:\n{}",
        offences.join("\n")
    );
}
