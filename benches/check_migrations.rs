//! Checking a directory of 500 migrations statically (the `dbkit check` rules, no database).
//!
//! Run: `cargo bench --bench check_migrations` (target: under 1 s).

use std::time::Instant;

fn main() {
    let templates = [
        "CREATE TABLE t{i} (id bigint PRIMARY KEY, body json, at timestamp);\nCREATE INDEX t{i}_at ON t{i} (at);",
        "SET lock_timeout = '2s';\nCREATE INDEX CONCURRENTLY IF NOT EXISTS a{i}_idx ON accounts (c{i});",
        "ALTER TABLE accounts ADD COLUMN c{i} uuid DEFAULT gen_random_uuid();\nALTER TABLE accounts ALTER COLUMN c{i} SET NOT NULL;",
        "-- dbkit:no-transaction\nALTER TABLE accounts ADD CONSTRAINT fk{i} FOREIGN KEY (u{i}) REFERENCES users (id) NOT VALID;\nALTER TABLE accounts VALIDATE CONSTRAINT fk{i};",
        "ALTER TABLE orders RENAME COLUMN a{i} TO b{i};\nDROP INDEX old{i};\nUPDATE orders SET x = {i} WHERE id < 100;",
    ];
    let files: Vec<(String, String)> = (0..500)
        .map(|i| {
            (
                format!("{i:04}_migration.sql"),
                templates[i % templates.len()].replace("{i}", &i.to_string()),
            )
        })
        .collect();
    let mut best = f64::MAX;
    let mut n = 0;
    for _ in 0..5 {
        let t = Instant::now();
        n = dbkit::analyze::migration::check(&files, &Default::default())
            .findings
            .len();
        best = best.min(t.elapsed().as_secs_f64() * 1000.0);
    }
    println!("500 migrations, {n} findings: {best:.1} ms (target: under 1 s)");
}
