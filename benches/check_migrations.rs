//! Checking a directory of 500 migrations statically (the `dbkit check` rules, no database),
//! in the library and as the `dbkit check` command, with squawk's time on the same files side by
//! side when squawk is installed (`pip install squawk-cli`; `SQUAWK=/path/to/squawk` to choose).
//!
//! Run: `cargo bench --bench check_migrations` (target: well under 1 s).

use std::process::Command;
use std::time::Instant;

/// Migrations of the kinds real projects have: new tables, concurrent and blocking indexes,
/// columns with defaults, constraints in two steps, renames, backfills, type changes, partitions.
const TEMPLATES: &[&str] = &[
    "CREATE TABLE t{i} (\n    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,\n    account_id bigint NOT NULL REFERENCES accounts (id),\n    body json,\n    at timestamp NOT NULL DEFAULT now()\n);\nCREATE INDEX t{i}_at ON t{i} (at);",
    "SET lock_timeout = '2s';\nCREATE INDEX CONCURRENTLY IF NOT EXISTS a{i}_idx ON accounts (c{i});",
    "ALTER TABLE accounts ADD COLUMN c{i} uuid DEFAULT gen_random_uuid();\nALTER TABLE accounts ALTER COLUMN c{i} SET NOT NULL;",
    "-- dbkit:no-transaction\nSET lock_timeout = '2s';\nALTER TABLE accounts ADD CONSTRAINT fk{i} FOREIGN KEY (u{i}) REFERENCES users (id) NOT VALID;\nALTER TABLE accounts VALIDATE CONSTRAINT fk{i};",
    "ALTER TABLE orders RENAME COLUMN a{i} TO b{i};\nDROP INDEX old{i};\nUPDATE orders SET x = {i} WHERE id < 100;",
    "SET lock_timeout = '2s';\nALTER TABLE orders ALTER COLUMN note{i} TYPE varchar(200);\nALTER TABLE orders ADD COLUMN flag{i} boolean NOT NULL DEFAULT false;",
    "UPDATE accounts SET plan{i} = 'free' WHERE plan{i} IS NULL;\nALTER TABLE accounts ADD CONSTRAINT p{i} CHECK (plan{i} IS NOT NULL) NOT VALID;",
    "CREATE TABLE ev{i} (id bigint, at timestamptz NOT NULL) PARTITION BY RANGE (at);\nCREATE TABLE ev{i}_2024 PARTITION OF ev{i} FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');\nCREATE INDEX ev{i}_at ON ev{i} (at);",
];

fn best_of(n: usize, mut f: impl FnMut()) -> f64 {
    let mut best = f64::MAX;
    for _ in 0..n {
        let t = Instant::now();
        f();
        best = best.min(t.elapsed().as_secs_f64() * 1000.0);
    }
    best
}

fn main() {
    let files: Vec<(String, String)> = (0..500)
        .map(|i| {
            (
                format!("{i:04}_migration.sql"),
                TEMPLATES[i % TEMPLATES.len()].replace("{i}", &i.to_string()),
            )
        })
        .collect();
    let dir = tempfile::tempdir().expect("a temporary directory");
    for (name, text) in &files {
        std::fs::write(dir.path().join(name), text).expect("writing a migration");
    }
    let mut n = 0;
    let lib = best_of(5, || {
        n = dbkit::analyze::migration::check(&files, &Default::default())
            .findings
            .len();
    });
    println!("500 migrations, {n} findings: library {lib:.1} ms (target: well under 1 s)");
    let cli = best_of(3, || {
        let out = Command::new(env!("CARGO_BIN_EXE_dbkit"))
            .args([
                "check",
                &dir.path().display().to_string(),
                "--format",
                "json",
            ])
            .output()
            .expect("running dbkit check");
        assert!(
            matches!(out.status.code(), Some(0 | 1)),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    });
    println!("dbkit check DIR (the command, 500 files):       {cli:7.1} ms");
    let squawk = std::env::var("SQUAWK").unwrap_or_else(|_| "squawk".to_string());
    let paths: Vec<String> = files
        .iter()
        .map(|(f, _)| dir.path().join(f).display().to_string())
        .collect();
    match Command::new(&squawk).arg("--version").output() {
        Ok(v) if v.status.success() => {
            let t = best_of(3, || {
                let _ = Command::new(&squawk).args(&paths).output().expect("running squawk");
            });
            println!(
                "{} FILES (the same 500 files):   {t:7.1} ms  ({:.1}x dbkit's time)",
                String::from_utf8_lossy(&v.stdout).trim(),
                t / cli
            );
        }
        _ => println!("squawk: not found (pip install squawk-cli, or SQUAWK=/path/to/squawk) for the side-by-side figure"),
    }
}
