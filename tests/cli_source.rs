//! The CLI only maps arguments: `src/cli` uses the public library API and nothing else that
//! talks to a database or writes SQL. This test reads the source: no sqlx, no connection,
//! target or script handling, no input reading or output-file writing (the `ops` request does
//! both), and no SQL in string literals outside help texts (`after_help` examples and doc
//! comments, which users read).

use std::path::Path;

/// Code lines of a CLI file with comments and `after_help = "…"` texts removed.
fn code_lines(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut in_help = false;
    for (i, line) in text.lines().enumerate() {
        let t = line.trim_start();
        if in_help {
            if t.ends_with(")]") || t.ends_with("\")]") || t.ends_with("\",") {
                in_help = false;
            }
            continue;
        }
        if t.starts_with("//") {
            continue;
        }
        if t.contains("after_help") {
            // One-line help texts end on the same line.
            in_help = !(t.ends_with(")]") || t.ends_with("\"") || t.ends_with("\","));
            continue;
        }
        out.push((i + 1, line.to_string()));
    }
    out
}

/// The string literals of a line (plain `"…"` literals, escapes skipped).
fn literals(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur: Option<String> = None;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match (&mut cur, c) {
            (None, '"') => cur = Some(String::new()),
            (Some(s), '\\') => {
                if let Some(n) = chars.next() {
                    s.push(n);
                }
            }
            (Some(_), '"') => out.extend(cur.take()),
            (Some(s), c) => s.push(c),
            (None, _) => {}
        }
    }
    out
}

const SQL_WORDS: &[&str] = &[
    "SELECT",
    "INSERT",
    "UPDATE",
    "DELETE",
    "CREATE",
    "ALTER",
    "DROP",
    "TRUNCATE",
    "BEGIN",
    "COMMIT",
    "ROLLBACK",
    "EXPLAIN",
    "VACUUM",
    "ANALYZE",
    "GRANT",
    "SET LOCAL",
    "pg_catalog",
    "pg_class",
    "pg_index",
    "pg_locks",
    "pg_namespace",
    "pg_stat_activity",
    "pg_stat_user",
    "information_schema",
];

const FORBIDDEN: &[&str] = &[
    "sqlx",
    "db::connect",
    "db::close",
    "exec_script",
    "catalog::load",
    "PgConnection",
    "std::fs::read(",
    "std::fs::write",
    ".merge(",
    "open_target",
    ".open()",
    "check_alive",
    "db::ping",
    "db::shards",
    "db::replication",
    "plan::parse",
];

#[test]
fn the_cli_maps_arguments_and_nothing_else() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/cli");
    let mut problems = Vec::new();
    let mut files = 0;
    for e in std::fs::read_dir(&dir).unwrap().flatten() {
        let path = e.path();
        let text = std::fs::read_to_string(&path).unwrap();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        files += 1;
        for (n, line) in code_lines(&text) {
            // The log filter names sqlx's target to quiet it; that is not a use of sqlx.
            let line_wo_filter = line.replace("sqlx=warn", "");
            for f in FORBIDDEN {
                if line_wo_filter.contains(f) {
                    problems.push(format!("{name}:{n}: uses {f}: {}", line.trim()));
                }
            }
            for lit in literals(&line) {
                let words: Vec<&str> = lit
                    .split(|c: char| !c.is_ascii_alphanumeric() && c != '_')
                    .collect();
                for w in SQL_WORDS {
                    let hit = if w.contains(' ') || w.contains('_') {
                        lit.contains(w)
                    } else {
                        words.contains(w)
                    };
                    if hit {
                        problems.push(format!("{name}:{n}: SQL ({w}) in a string: {lit:?}"));
                    }
                }
            }
        }
    }
    assert!(files >= 10, "read only {files} files in {}", dir.display());
    assert!(
        problems.is_empty(),
        "src/cli does library work:\n{}",
        problems.join("\n")
    );
}

#[test]
fn the_checker_sees_what_it_must() {
    let src = "fn f() {\n    let q = \"SELECT 1\";\n    sqlx::query(q);\n}\n";
    let lines = code_lines(src);
    assert!(lines
        .iter()
        .any(|(_, l)| literals(l) == vec!["SELECT 1".to_string()]));
    assert!(lines.iter().any(|(_, l)| l.contains("sqlx")));
    let help =
        "#[command(after_help = \"Examples:\n  dbkit explain \\\"SELECT 1\\\"\")]\nstruct A;\n";
    assert!(code_lines(help).iter().all(|(_, l)| !l.contains("SELECT")));
}
