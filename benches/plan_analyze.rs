//! Analyzing a 10,000-node plan: the shape of a query over a table with 2,000 partitions
//! (Append over per-partition Bitmap Heap Scan + Bitmap Index Scan, Seq Scans with filters,
//! index scans), as EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) writes it.
//!
//! Run: `cargo bench --bench plan_analyze`. Prints parse and analyze times (target: < 50 ms).

use dbkit::config::Config;
use std::hint::black_box;
use std::time::Instant;

fn partition(i: usize, out: &mut Vec<String>) {
    let rel = format!("events_p{i:04}");
    match i % 4 {
        0 => out.push(format!(
            r#"{{"Node Type": "Bitmap Heap Scan", "Parent Relationship": "Member", "Relation Name": "{rel}", "Schema": "public", "Alias": "{rel}",
               "Startup Cost": 4.5, "Total Cost": 120.0, "Plan Rows": 40, "Plan Width": 64, "Actual Startup Time": 0.02, "Actual Total Time": 0.2,
               "Actual Rows": 38, "Actual Loops": 1, "Recheck Cond": "(user_id = 77)", "Rows Removed by Index Recheck": 0,
               "Exact Heap Blocks": 30, "Lossy Heap Blocks": 0, "Shared Hit Blocks": 33, "Shared Read Blocks": 0,
               "Plans": [{{"Node Type": "Bitmap Index Scan", "Parent Relationship": "Outer", "Index Name": "{rel}_user_id_idx",
                 "Startup Cost": 0.0, "Total Cost": 4.4, "Plan Rows": 40, "Plan Width": 0, "Actual Startup Time": 0.01, "Actual Total Time": 0.01,
                 "Actual Rows": 38, "Actual Loops": 1, "Index Cond": "(user_id = 77)", "Shared Hit Blocks": 3, "Shared Read Blocks": 0}}]}}"#
        )),
        1 => out.push(format!(
            r#"{{"Node Type": "Seq Scan", "Parent Relationship": "Member", "Relation Name": "{rel}", "Schema": "public", "Alias": "{rel}",
               "Startup Cost": 0.0, "Total Cost": 2041.0, "Plan Rows": 3, "Plan Width": 64, "Actual Startup Time": 0.01, "Actual Total Time": 4.1,
               "Actual Rows": 2, "Actual Loops": 1, "Filter": "((user_id = 77) AND (kind = 'checkout'::text))", "Rows Removed by Filter": 49998,
               "Shared Hit Blocks": 541, "Shared Read Blocks": 0}}"#
        )),
        2 => out.push(format!(
            r#"{{"Node Type": "Index Scan", "Parent Relationship": "Member", "Scan Direction": "Forward", "Index Name": "{rel}_pkey",
               "Relation Name": "{rel}", "Schema": "public", "Alias": "{rel}", "Startup Cost": 0.29, "Total Cost": 8.3, "Plan Rows": 1, "Plan Width": 64,
               "Actual Startup Time": 0.01, "Actual Total Time": 0.01, "Actual Rows": 1, "Actual Loops": 1, "Index Cond": "(id = 5)",
               "Rows Removed by Index Recheck": 0, "Shared Hit Blocks": 3, "Shared Read Blocks": 0}}"#
        )),
        _ => out.push(format!(
            r#"{{"Node Type": "Index Only Scan", "Parent Relationship": "Member", "Scan Direction": "Forward", "Index Name": "{rel}_created_idx",
               "Relation Name": "{rel}", "Schema": "public", "Alias": "{rel}", "Startup Cost": 0.29, "Total Cost": 80.0, "Plan Rows": 500, "Plan Width": 8,
               "Actual Startup Time": 0.01, "Actual Total Time": 0.3, "Actual Rows": 480, "Actual Loops": 1, "Index Cond": "(created_at >= '2024-06-01')",
               "Rows Removed by Index Recheck": 0, "Heap Fetches": 12, "Shared Hit Blocks": 9, "Shared Read Blocks": 0}}"#
        )),
    }
}

fn main() {
    let mut members = Vec::new();
    let mut nodes = 2; // Aggregate + Append
    let mut i = 0;
    while nodes < 10_000 {
        partition(i, &mut members);
        nodes += if i % 4 == 0 { 2 } else { 1 };
        i += 1;
    }
    let json = format!(
        r#"[{{"Plan": {{"Node Type": "Aggregate", "Strategy": "Plain", "Startup Cost": 1.0, "Total Cost": 2000000.0, "Plan Rows": 1, "Plan Width": 8,
            "Actual Startup Time": 2500.0, "Actual Total Time": 2500.0, "Actual Rows": 1, "Actual Loops": 1,
            "Plans": [{{"Node Type": "Append", "Parent Relationship": "Outer", "Startup Cost": 0.0, "Total Cost": 1990000.0, "Plan Rows": 100000,
            "Plan Width": 64, "Actual Startup Time": 0.02, "Actual Total Time": 2400.0, "Actual Rows": 98000, "Actual Loops": 1,
            "Plans": [{}]}}]}}, "Planning Time": 120.0, "Triggers": [], "Execution Time": 2510.0}}]"#,
        members.join(",")
    );
    let cfg = Config::default();
    let plans = dbkit::plan::parse(&json).expect("bench plan parses");
    let count = plans[0].root.count();
    println!(
        "plan: {count} nodes ({i} Append members), {:.1} MB of EXPLAIN JSON",
        json.len() as f64 / 1e6
    );
    let (mut best_parse, mut best_analyze, mut findings) = (f64::MAX, f64::MAX, 0);
    for _ in 0..10 {
        let t = Instant::now();
        let plans = dbkit::plan::parse(black_box(&json)).unwrap();
        best_parse = best_parse.min(t.elapsed().as_secs_f64() * 1000.0);
        let t = Instant::now();
        let f = dbkit::analyze::plan::analyze(black_box(&plans[0]), &cfg, None);
        best_analyze = best_analyze.min(t.elapsed().as_secs_f64() * 1000.0);
        findings = f.len();
    }
    println!("parse JSON:         {best_parse:>7.1} ms");
    println!("analyze (13 rules): {best_analyze:>7.1} ms  ({findings} findings)");
    println!(
        "parse + analyze:    {:>7.1} ms  (target: under 50 ms)",
        best_parse + best_analyze
    );
}
