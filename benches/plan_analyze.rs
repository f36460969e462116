//! Analyzing a 10,000-node plan: the shape of a query over a table with 2,000 partitions
//! (Append over per-partition Bitmap Heap Scan + Bitmap Index Scan, Seq Scans with filters,
//! index scans), as EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) writes it.
//!
//! The same plan is also written in the text, YAML and XML formats (the text one as psql prints
//! it, header, leading space and footer included) and each is read and analyzed.
//!
//! Run: `cargo bench --bench plan_analyze` (`DBKIT_BENCH_FORMAT=text` for one format,
//! `DBKIT_BENCH_RUNS=30` for the best of more runs). Prints parse and analyze times per format (target:
//! under 50 ms in every format).

use dbkit::config::Config;
use serde_json::Value;
use std::fmt::Write;
use std::hint::black_box;
use std::time::Instant;

/// CPU time of this process (all threads), ms: unlike wall time, not inflated when other work
/// shares the cores.
fn cpu_ms() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes into the timespec we own.
    unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    ts.tv_sec as f64 * 1000.0 + ts.tv_nsec as f64 / 1e6
}

/// EXPLAIN YAML as PostgreSQL writes it: keys bare, strings JSON-quoted, lists of maps as `- `.
fn yaml(v: &Value, indent: usize, out: &mut String) {
    let pad = " ".repeat(indent);
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                match x {
                    Value::Array(a) => {
                        let _ = writeln!(out, "{pad}{k}: ");
                        for item in a {
                            match item {
                                Value::Object(_) => {
                                    let mut inner = String::new();
                                    yaml(item, indent + 4, &mut inner);
                                    let replaced = format!("{pad}  - {}", &inner[indent + 4..]);
                                    out.push_str(&replaced);
                                }
                                other => {
                                    let _ = writeln!(out, "{pad}  - {other}");
                                }
                            }
                        }
                    }
                    Value::Object(_) => {
                        let _ = writeln!(out, "{pad}{k}: ");
                        yaml(x, indent + 2, out);
                    }
                    other => {
                        let _ = writeln!(out, "{pad}{k}: {other}");
                    }
                }
            }
        }
        _ => unreachable!("objects only"),
    }
}

/// EXPLAIN XML as PostgreSQL writes it: `-` for spaces in element names, lists as `<Plan>`s.
fn xml(v: &Value, out: &mut String) {
    if let Value::Object(m) = v {
        for (k, x) in m {
            let tag = k.replace(' ', "-");
            match x {
                Value::Array(a) => {
                    let _ = writeln!(out, "<{tag}>");
                    for item in a {
                        out.push_str("<Plan>\n");
                        xml(item, out);
                        out.push_str("</Plan>\n");
                    }
                    let _ = writeln!(out, "</{tag}>");
                }
                Value::Object(_) => {
                    let _ = writeln!(out, "<{tag}>");
                    xml(x, out);
                    let _ = writeln!(out, "</{tag}>");
                }
                Value::String(s) => {
                    let s = s
                        .replace('&', "&amp;")
                        .replace('<', "&lt;")
                        .replace('>', "&gt;");
                    let _ = writeln!(out, "<{tag}>{s}</{tag}>");
                }
                other => {
                    let _ = writeln!(out, "<{tag}>{other}</{tag}>");
                }
            }
        }
    }
}

/// The text format, as psql prints it: `->` arrows, six more columns per level.
fn text(v: &Value, depth: usize, out: &mut String) {
    let s = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or("");
    let f = |k: &str| v.get(k).and_then(Value::as_f64).unwrap_or(0.0);
    let mut label = s("Node Type").to_string();
    if !s("Index Name").is_empty() && label != "Bitmap Index Scan" {
        label.push_str(&format!(" using {}", s("Index Name")));
    }
    if label == "Bitmap Index Scan" {
        label.push_str(&format!(" on {}", s("Index Name")));
    }
    if !s("Relation Name").is_empty() {
        label.push_str(&format!(
            " on {}.{} {}",
            s("Schema"),
            s("Relation Name"),
            s("Alias")
        ));
    }
    let (pad, props) = if depth == 0 {
        (" ".to_string(), "   ".to_string())
    } else {
        let p = " ".repeat(6 * depth - 4 + 1);
        (format!("{p}->  "), format!("{p}      "))
    };
    let _ = writeln!(
        out,
        "{pad}{label}  (cost={:.2}..{:.2} rows={} width={}) (actual time={:.3}..{:.3} rows={} loops={})",
        f("Startup Cost"),
        f("Total Cost"),
        f("Plan Rows"),
        f("Plan Width"),
        f("Actual Startup Time"),
        f("Actual Total Time"),
        f("Actual Rows"),
        f("Actual Loops")
    );
    for k in ["Recheck Cond", "Index Cond", "Filter"] {
        if !s(k).is_empty() {
            let _ = writeln!(out, "{props}{k}: {}", s(k));
        }
    }
    for k in [
        "Rows Removed by Filter",
        "Rows Removed by Index Recheck",
        "Heap Fetches",
    ] {
        if v.get(k).is_some() {
            let _ = writeln!(out, "{props}{k}: {}", f(k));
        }
    }
    if v.get("Exact Heap Blocks").is_some() {
        let _ = writeln!(out, "{props}Heap Blocks: exact={}", f("Exact Heap Blocks"));
    }
    if v.get("Shared Hit Blocks").is_some() {
        let _ = writeln!(out, "{props}Buffers: shared hit={}", f("Shared Hit Blocks"));
    }
    for c in v
        .get("Plans")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        text(c, depth + 1, out);
    }
}

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
    let doc: Value = serde_json::from_str(&json).expect("bench plan is JSON");
    let mut as_text =
        String::from("                QUERY PLAN\n--------------------------------\n");
    text(&doc[0]["Plan"], 0, &mut as_text);
    as_text.push_str(" Planning Time: 120.000 ms\n Execution Time: 2510.000 ms\n(30000 rows)\n");
    let mut as_yaml = String::from("- Plan: \n");
    yaml(&doc[0]["Plan"], 4, &mut as_yaml);
    as_yaml.push_str("  Planning Time: 120.000\n  Triggers: \n  Execution Time: 2510.000\n");
    let mut as_xml = String::from(
        "<explain xmlns=\"http://www.postgresql.org/2009/explain\">\n<Query>\n<Plan>\n",
    );
    xml(&doc[0]["Plan"], &mut as_xml);
    as_xml.push_str("</Plan>\n<Execution-Time>2510.000</Execution-Time>\n</Query>\n</explain>\n");
    let plans = dbkit::plan::parse(&json).expect("bench plan parses");
    let count = plans[0].root.count();
    let i = plans[0].root.children[0].children.len();
    println!("plan: {count} nodes ({i} Append members)");
    // DBKIT_BENCH_RUNS=30 takes the best of more runs (a shared host's noise).
    let runs: usize = std::env::var("DBKIT_BENCH_RUNS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(10);
    println!("format  size     parse     analyze   total     (best of {runs}, CPU time; wall time in brackets; target: under 50 ms)");
    for (name, input) in [
        ("JSON", &json),
        ("text", &as_text),
        ("YAML", &as_yaml),
        ("XML", &as_xml),
    ] {
        // DBKIT_BENCH_FORMAT=XML measures one format (for a profiler).
        if std::env::var("DBKIT_BENCH_FORMAT").is_ok_and(|f| !f.eq_ignore_ascii_case(name)) {
            continue;
        }
        let plans = dbkit::plan::parse(input).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(plans[0].root.count(), count, "{name} reads the same nodes");
        let (mut parse, mut analyze, mut wall, mut findings) = (f64::MAX, f64::MAX, f64::MAX, 0);
        for _ in 0..runs {
            let (t, c) = (Instant::now(), cpu_ms());
            let plans = dbkit::plan::parse(black_box(input)).unwrap();
            let c1 = cpu_ms();
            let f = dbkit::analyze::plan::analyze(black_box(&plans[0]), &cfg, None);
            let c2 = cpu_ms();
            wall = wall.min(t.elapsed().as_secs_f64() * 1000.0);
            parse = parse.min(c1 - c);
            analyze = analyze.min(c2 - c1);
            findings = f.len();
        }
        println!(
            "{name:<6}  {:>4.1} MB  {parse:>5.1} ms  {analyze:>5.1} ms  {:>5.1} ms  [{wall:.1} ms]  ({findings} findings)",
            input.len() as f64 / 1e6,
            parse + analyze
        );
    }
}
