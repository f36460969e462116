//! Generating 10 years of daily partitions (3,650 and a default), script included.
//!
//! Run: `cargo bench --bench partition_ddl` (target: well under a second).

use dbkit::ddl::partition::{generate, Civil, Interval, PartitionOptions, Strategy};
use std::time::Instant;

fn main() {
    let def = dbkit::ddl::table::find(
        "CREATE TABLE events (id bigserial, created_at timestamptz NOT NULL, kind text, PRIMARY KEY (id, created_at));",
        "events",
    )
    .expect("table");
    let opts = PartitionOptions {
        key: "created_at".into(),
        strategy: Strategy::TimeRange {
            interval: Interval::Day,
            start: Civil::parse("2020-01-01").expect("date"),
            end: Civil::parse("2029-12-29").expect("date"),
        },
        default: true,
        sub_hash: None,
        tablespace: None,
        timezone: Some("Europe/Berlin".into()),
    };
    let mut best = f64::MAX;
    let mut n = 0;
    let mut bytes = 0;
    for _ in 0..5 {
        let t = Instant::now();
        let s = generate(&def, &opts).expect("script");
        best = best.min(t.elapsed().as_secs_f64() * 1000.0);
        n = s.partitions.len();
        bytes = s.script.len();
    }
    println!("{n} partitions (10 years daily + default), {:.1} MB of DDL: {best:.1} ms (target: well under 1 s)", bytes as f64 / 1e6);
}
