//! fixtures/plans/formats/ (captured by scripts/capture-plan-formats.sh from a real server and
//! real psql): the same plans in every form people paste them read the same.
//!
//! The text rows and the JSON document were each captured once and printed by psql in every
//! setting, so every psql variant of one must read exactly as the bare form (all figures, times
//! included). YAML, XML and auto_explain are runs of their own: their times differ, so they are
//! compared with the JSON by shape (node count, labels, estimates, actual rows and loops) and by
//! the rules that fire.

use dbkit::analyze::plan::analyze;
use dbkit::config::Config;
use dbkit::plan::{Node, Plan};
use std::path::PathBuf;

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/plans/formats")
}

/// (name, SQL) of every captured plan.
fn queries() -> Vec<(String, String)> {
    let tsv = std::fs::read_to_string(dir().join("queries.tsv")).unwrap();
    let q: Vec<(String, String)> = tsv
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            (f[0].to_string(), f[2].to_string())
        })
        .collect();
    assert_eq!(q.len(), 10, "queries.tsv");
    q
}

fn read(file: &str) -> Plan {
    let path = dir().join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{file}: {e}"));
    let mut plans = dbkit::plan::parse(&text).unwrap_or_else(|e| panic!("{file}: {e}"));
    assert_eq!(plans.len(), 1, "{file}: one plan");
    plans.remove(0)
}

/// What must match between two runs of the same statement.
fn shape(p: &Plan) -> Vec<String> {
    let mut out = Vec::new();
    p.root.walk(&mut |n: &Node, depth| {
        out.push(format!(
            "{depth} {} {:?} cost={:?}..{:?} rows={:?} actual_rows={:?} loops={:?} executed={} filter={:?} sort={:?} \
             sort_method={:?} sort_space={:?} {:?} group={:?} presorted={:?} run={:?} one_time={:?} \
             cache={:?} hits={:?} misses={:?} evictions={:?} overflows={:?} memory={:?} \
             partitions={:?} batches={:?} disk={:?} heap_fetches={:?}",
            n.label(),
            n.parent_relationship,
            n.startup_cost,
            n.total_cost,
            n.plan_rows,
            n.actual_rows,
            n.actual_loops,
            n.executed,
            n.filter,
            n.sort_key,
            n.sort_method,
            n.sort_space_used_kb,
            n.sort_space_type,
            n.group_key,
            n.presorted_key,
            n.run_condition,
            n.one_time_filter,
            n.cache_key,
            n.cache_hits,
            n.cache_misses,
            n.cache_evictions,
            n.cache_overflows,
            n.peak_memory_usage_kb,
            n.planned_partitions,
            n.hashagg_batches,
            n.disk_usage_kb,
            n.heap_fetches,
        ))
    });
    out
}

fn rules(p: &Plan) -> Vec<String> {
    let mut r: Vec<String> = analyze(p, &Config::default(), None)
        .into_iter()
        .map(|f| f.rule.to_string())
        .collect();
    r.sort();
    r.dedup();
    r
}

fn without_query(mut p: Plan) -> Plan {
    p.query_text = None;
    p
}

#[test]
fn every_psql_setting_and_gui_copy_of_the_text_format_reads_exactly_as_the_text() {
    for (name, sql) in queries() {
        let base = read(&format!("{name}.text.txt"));
        assert!(
            base.analyzed() && base.execution_time_ms.is_some(),
            "{name}"
        );
        for v in [
            "text-unicode.txt",
            "text-border0.txt",
            "text-border2.txt",
            "text-border2-unicode.txt",
            "text-unaligned.txt",
            "text-expanded.txt",
            "text-expanded-unicode.txt",
            "text-expanded-border0.txt",
            "text-expanded-border2.txt",
            "text-pgadmin.txt",
            "text-dbeaver.txt",
            "text-wrapped.txt",
            "text-psql-wrapped.txt",
            "text-psql-wrapped-border0.txt",
            "text-psql-wrapped-border2-unicode.txt",
            "text-psql-wrapped-expanded.txt",
            "text-transcript.txt",
        ] {
            let p = read(&format!("{name}.{v}"));
            if v == "text-transcript.txt" {
                assert_eq!(p.query_text.as_deref(), Some(sql.as_str()), "{name}.{v}");
            }
            let p = without_query(p);
            if p != base {
                let (got, want) = (format!("{p:#?}"), format!("{base:#?}"));
                for (i, (g, w)) in got.lines().zip(want.lines()).enumerate() {
                    assert_eq!(g, w, "{name}.{v}: line {i} of the debug form");
                }
                panic!("{name}.{v}: the plans differ");
            }
        }
    }
}

#[test]
fn every_psql_setting_of_the_json_format_reads_exactly_as_the_json() {
    for (name, _) in queries() {
        let base = read(&format!("{name}.json"));
        for v in [
            "json-aligned.txt",
            "json-unicode.txt",
            "json-border2-unicode.txt",
            "json-unaligned.txt",
            "json-expanded.txt",
            "json-expanded-border0.txt",
            "json-psql-wrapped.txt",
            "json-psql-wrapped-expanded-border0.txt",
        ] {
            assert_eq!(read(&format!("{name}.{v}")), base, "{name}.{v}");
        }
    }
}

#[test]
fn text_yaml_xml_and_auto_explain_read_like_the_json() {
    for (name, sql) in queries() {
        let json = read(&format!("{name}.json"));
        let want = shape(&json);
        let want_rules = rules(&json);
        assert!(json.root.count() >= 2, "{name}");
        for v in [
            "text.txt",
            "yaml",
            "xml",
            "auto-explain-text.log",
            "auto-explain-json.log",
        ] {
            let p = read(&format!("{name}.{v}"));
            for (got, want) in shape(&p).iter().zip(&want) {
                assert_eq!(got, want, "{name}.{v}");
            }
            assert_eq!(shape(&p).len(), want.len(), "{name}.{v}");
            assert_eq!(rules(&p), want_rules, "{name}.{v}");
            assert!(
                p.execution_time_ms.is_some() || v.starts_with("auto"),
                "{name}.{v}"
            );
            assert_eq!(
                p.planning_time_ms.is_some(),
                json.planning_time_ms.is_some() && !v.starts_with("auto"),
                "{name}.{v}"
            );
            assert_eq!(
                p.trigger_time_ms.is_some(),
                json.trigger_time_ms.is_some(),
                "{name}.{v}: trigger time"
            );
            if v.starts_with("auto") {
                let q = p.query_text.as_deref().unwrap_or_default();
                assert!(q.starts_with(&sql), "{name}.{v}: query text {q:?}");
            }
        }
    }
}

#[test]
fn the_figures_of_each_plan_are_the_ones_postgresql_printed() {
    // One spot check per plan, read off the captured text by hand-picked lines.
    let p = read("parallel.text.txt");
    let gather = &p.root.children[0];
    assert_eq!(gather.node_type, "Gather Merge");
    assert_eq!(
        (gather.workers_planned, gather.workers_launched),
        (Some(2.0), Some(2.0))
    );
    let scan = &gather.children[0].children[0].children[0];
    assert_eq!(scan.label(), "Parallel Seq Scan on orders");
    assert_eq!(
        (scan.actual_rows, scan.actual_loops),
        (Some(20000.0), Some(3.0))
    );
    assert!(scan.in_parallel);
    let p = read("trigger.text.txt");
    assert_eq!(p.root.node_type, "ModifyTable");
    assert!(p.trigger_time_ms.unwrap() > 0.0);
    assert_eq!(p.triggers.len(), 1);
    assert_eq!(
        p.triggers[0].constraint.as_deref(),
        Some("orders_customer_id_fkey")
    );
    assert_eq!(p.triggers[0].calls, 9.0);
    // The foreign-key lookup without an index on orders.customer_id is most of the DELETE.
    assert!(
        rules(&p).contains(&"trigger-time".to_string()),
        "{:?}",
        rules(&p)
    );
    assert!(!rules(&read("join-sort.text.txt")).contains(&"trigger-time".to_string()));
    // auto_explain prints no Execution Time: its `duration:` is the statement's time, and the
    // trigger's share is measured against it (not against the plan tree alone).
    let p = read("trigger.auto-explain-text.log");
    assert!(p.execution_time_ms.is_some());
    for f in analyze(&p, &Config::default(), None) {
        if f.rule.as_str() == "trigger-time" {
            let share = f.evidence["share"].as_f64().unwrap();
            assert!(share > 0.2 && share <= 1.0, "{share}");
        }
    }
    let p = read("subplans.text.txt");
    let kinds: Vec<Option<String>> = p
        .root
        .children
        .iter()
        .map(|c| c.subplan_name.clone())
        .collect();
    assert!(
        kinds.iter().flatten().any(|k| k.starts_with("CTE recent")),
        "{kinds:?}"
    );
    assert!(
        kinds.iter().flatten().any(|k| k.starts_with("InitPlan")),
        "{kinds:?}"
    );
    assert!(
        kinds.iter().flatten().any(|k| k.starts_with("SubPlan")),
        "{kinds:?}"
    );
}

#[test]
fn node_types_since_postgresql_12_read_and_judge_right() {
    // Memoize: its cache figures are totals over its loops.
    let p = read("memoize.text.txt");
    let mut memo = None;
    p.root.walk(&mut |n, _| {
        if n.node_type == "Memoize" {
            memo = Some(n.clone());
        }
    });
    let memo = memo.expect("a Memoize node");
    assert_eq!(memo.cache_key.as_deref(), Some("o.customer_id"));
    let (hits, misses) = (memo.cache_hits.unwrap(), memo.cache_misses.unwrap());
    assert_eq!(
        hits + misses,
        memo.actual_loops.unwrap(),
        "one lookup per loop"
    );
    assert_eq!(
        memo.children[0].actual_loops,
        Some(misses),
        "a miss runs the scan"
    );
    assert!(memo.peak_memory_usage_kb.unwrap() > 0.0);
    // WindowAgg with a Run Condition and a Result whose One-Time Filter was false return far
    // fewer rows than estimated by design: no row-misestimate.
    for (name, node_type) in [("window-run", "WindowAgg"), ("one-time-filter", "Result")] {
        let p = read(&format!("{name}.text.txt"));
        assert_eq!(p.root.node_type, node_type);
        let (factor, under) = p.root.misestimate().unwrap();
        assert!(factor > 1000.0 && !under, "{name}: {factor}");
        assert!(
            p.root.run_condition.is_some() || p.root.one_time_filter.is_some(),
            "{name}"
        );
        assert!(
            !rules(&p).contains(&"row-misestimate".to_string()),
            "{name}"
        );
    }
    // HashAggregate spilled: batches, disk, planned partitions; hashagg-spill fires with a
    // work_mem for the query.
    let p = read("hashagg-spill.text.txt");
    assert_eq!(p.root.label(), "HashAggregate");
    assert_eq!(p.root.group_key, ["customer_id", "status"]);
    assert!(p.root.hashagg_batches.unwrap() > 1.0);
    assert!(p.root.disk_usage_kb.unwrap() > 0.0);
    assert!(p.root.planned_partitions.unwrap() > 0.0);
    let f: Vec<_> = analyze(&p, &Config::default(), None)
        .into_iter()
        .filter(|f| f.rule.as_str() == "hashagg-spill")
        .collect();
    assert_eq!(f.len(), 1);
    assert!(f[0]
        .suggestion
        .as_deref()
        .unwrap()
        .starts_with("SET LOCAL work_mem = '"));
    for quiet in ["parallel", "memoize", "join-sort"] {
        assert!(
            !rules(&read(&format!("{quiet}.text.txt"))).contains(&"hashagg-spill".to_string()),
            "{quiet}"
        );
    }
    // Incremental Sort: the presorted key and the sort method of its groups.
    let p = read("incremental-sort.text.txt");
    let sort = &p.root.children[0];
    assert_eq!(sort.node_type, "Incremental Sort");
    assert_eq!(sort.presorted_key, ["id"]);
    assert_eq!(sort.sort_method.as_deref(), Some("quicksort"));
    // A correlated subquery run once per row: subplan-per-row, and not on the plans whose
    // SubPlans are cheap.
    let p = read("subplan-per-row.text.txt");
    assert!(rules(&p).contains(&"subplan-per-row".to_string()));
    assert!(!rules(&read("subplans.text.txt")).contains(&"subplan-per-row".to_string()));
}

#[test]
fn plan_show_gives_each_node_what_postgresql_printed_under_it() {
    use dbkit::analyze::plan::report::node_details;
    let details = |file: &str, verbose: bool| {
        let p = read(file);
        let mut out = Vec::new();
        p.root
            .walk(&mut |n, _| out.push((n.label(), node_details(n, verbose))));
        out
    };
    let all = details("memoize.json", false);
    let memo = &all.iter().find(|(l, _)| l == "Memoize").unwrap().1;
    assert_eq!(memo[0], "Cache Key: o.customer_id");
    assert!(
        memo[1].starts_with("Hits: ") && memo[1].contains("  Misses: "),
        "{memo:?}"
    );
    let spill = &details("hashagg-spill.text.txt", false)[0].1;
    assert_eq!(spill[0], "Group Key: customer_id, status");
    assert!(
        spill[1].starts_with("Planned Partitions: ") && spill[1].contains("Disk: "),
        "{spill:?}"
    );
    assert!(
        spill
            .iter()
            .any(|l| l.starts_with("Buffers: ") && l.contains("temp read=")),
        "{spill:?}"
    );
    let sort = &details("join-sort.text.txt", false);
    let lines: Vec<&String> = sort.iter().flat_map(|(_, d)| d).collect();
    assert!(
        lines.iter().any(|l| l.starts_with("Sort Key: ")),
        "{lines:?}"
    );
    assert!(
        lines.iter().any(|l| l.starts_with("Hash Cond: ")),
        "{lines:?}"
    );
    assert!(lines.iter().any(|l| l.starts_with("Filter: ")), "{lines:?}");
    // Output is VERBOSE's, shown on request only.
    let verbose_plan = std::fs::read_to_string(dir().join("../estimates-only.json")).unwrap();
    let p = dbkit::plan::parse(&verbose_plan).unwrap().remove(0);
    let outputs = |verbose: bool| {
        let mut n = 0;
        p.root.walk(&mut |node, _| {
            n += node_details(node, verbose)
                .iter()
                .filter(|l| l.starts_with("Output: "))
                .count()
        });
        n
    };
    assert_eq!(outputs(false), 0);
    assert!(outputs(true) > 0);
    let quiet = details("parallel.json", false);
    let gather = &quiet
        .iter()
        .find(|(l, _)| l.starts_with("Gather"))
        .unwrap()
        .1;
    assert!(
        gather
            .iter()
            .any(|l| l == "Workers Planned: 2  Launched: 2"),
        "{gather:?}"
    );
}

#[test]
fn plan_show_keeps_the_tree_indented_when_lines_wrap() {
    // At 100 columns the node column is narrow: its lines wrap, and the wrapping must not take
    // the indentation that shows the tree (the Hash's Seq Scan sits deeper than the Hash).
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_dbkit"))
        .args(["plan", "show", "--color", "never", "--width", "100"])
        .arg(dir().join("join-sort.text.txt"))
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    // The indentation of the last node-column line that starts with `start`.
    let column = |start: &str| {
        let cell = text
            .lines()
            .filter_map(|l| l.strip_suffix('│')?.rsplit('┆').next())
            .rfind(|c| c.trim_start().starts_with(start))
            .unwrap_or_else(|| panic!("no {start:?} in\n{text}"));
        cell.chars().take_while(|c| c.is_whitespace()).count()
    };
    let hash = text
        .lines()
        .filter_map(|l| l.strip_suffix('│')?.rsplit('┆').next())
        .find(|c| c.trim() == "→ Hash")
        .map(|c| c.chars().take_while(|c| c.is_whitespace()).count())
        .unwrap_or_else(|| panic!("no Hash node in\n{text}"));
    // The last Seq Scan is the Hash's child (on customers).
    assert!(column("→ Seq Scan on") > hash, "{text}");
    assert!(column("Sort Key:") > column("→ Sort"), "{text}");
}

/// A chain of `depth` Limit nodes over a Seq Scan, in the given format.
fn deep_plan(format: &str, depth: usize) -> String {
    let node = |i: usize| {
        if i == depth {
            (
                "Seq Scan",
                "0.00..10.00 rows=100 width=4",
                ", \"Relation Name\": \"t\", \"Alias\": \"t\"",
            )
        } else {
            ("Limit", "0.00..10.00 rows=100 width=4", "")
        }
    };
    let mut s = String::new();
    match format {
        "json" => {
            s.push('[');
            for i in 0..=depth {
                let (t, _, extra) = node(i);
                s.push_str(&format!(
                    "{{\"Node Type\": \"{t}\"{extra}, \"Startup Cost\": 0.0, \"Total Cost\": 10.0, \"Plan Rows\": 100, \"Plan Width\": 4, \"Actual Total Time\": 1.0, \"Actual Rows\": 100, \"Actual Loops\": 1"
                ));
                if i < depth {
                    s.push_str(", \"Plans\": [");
                }
            }
            for _ in 0..depth {
                s.push_str("}]");
            }
            s.push('}');
            s = format!("[{{\"Plan\": {}, \"Execution Time\": 1.5}}]", &s[1..]);
        }
        "text" => {
            for i in 0..=depth {
                let (t, cost, _) = node(i);
                let on = if i == depth { " on t" } else { "" };
                let pad = if i == 0 {
                    String::new()
                } else {
                    format!("{}->  ", " ".repeat(6 * i - 4))
                };
                s.push_str(&format!(
                    "{pad}{t}{on}  (cost={cost}) (actual time=0.010..1.000 rows=100 loops=1)\n"
                ));
            }
            s.push_str("Execution Time: 1.500 ms\n");
        }
        "yaml" => {
            s.push_str("- Plan: \n");
            let mut ind = 4;
            for i in 0..=depth {
                let (t, _, _) = node(i);
                let pad = " ".repeat(ind);
                if i > 0 {
                    s.push_str(&format!("{}- Node Type: \"{t}\"\n", " ".repeat(ind - 2)));
                } else {
                    s.push_str(&format!("{pad}Node Type: \"{t}\"\n"));
                }
                if i == depth {
                    s.push_str(&format!("{pad}Relation Name: \"t\"\n{pad}Alias: \"t\"\n"));
                }
                s.push_str(&format!("{pad}Total Cost: 10.00\n{pad}Plan Rows: 100\n{pad}Actual Total Time: 1.000\n{pad}Actual Rows: 100\n{pad}Actual Loops: 1\n"));
                if i < depth {
                    s.push_str(&format!("{pad}Plans: \n"));
                    ind += 4;
                }
            }
            s.push_str("  Execution Time: 1.500\n");
        }
        "xml" => {
            s.push_str(
                "<explain xmlns=\"http://www.postgresql.org/2009/explain\">\n<Query>\n<Plan>\n",
            );
            for i in 0..=depth {
                let (t, _, _) = node(i);
                s.push_str(&format!("<Node-Type>{t}</Node-Type>\n<Total-Cost>10.00</Total-Cost>\n<Plan-Rows>100</Plan-Rows>\n<Actual-Total-Time>1.000</Actual-Total-Time>\n<Actual-Rows>100</Actual-Rows>\n<Actual-Loops>1</Actual-Loops>\n"));
                if i == depth {
                    s.push_str("<Relation-Name>t</Relation-Name>\n<Alias>t</Alias>\n");
                } else {
                    s.push_str("<Plans>\n<Plan>\n");
                }
            }
            for _ in 0..depth {
                s.push_str("</Plan>\n</Plans>\n");
            }
            s.push_str("</Plan>\n<Execution-Time>1.500</Execution-Time>\n</Query>\n</explain>\n");
        }
        _ => unreachable!(),
    }
    s
}

#[test]
fn plans_1000_levels_deep_are_read_and_deeper_ones_refused() {
    // JSON at the 1,000 levels the issue asks for; the indented formats at 300 (past serde's
    // 128-level limit, and their indentation makes 1,000 levels megabytes of spaces).
    for (format, depth) in [("json", 1000), ("xml", 1000), ("text", 300), ("yaml", 300)] {
        let p = dbkit::plan::parse(&deep_plan(format, depth))
            .unwrap_or_else(|e| panic!("{format}: {e}"));
        assert_eq!(p[0].root.count(), depth + 1, "{format}");
        let mut leaf = 0;
        p[0].root.walk(&mut |n, d| {
            if n.node_type == "Seq Scan" {
                leaf = d;
            }
        });
        assert_eq!(leaf, depth, "{format}");
        assert_eq!(p[0].execution_time_ms, Some(1.5), "{format}");
    }
    // Past a megabyte the JSON reader tries its fast path first (on a large stack): a deep
    // plan still reads, and a shallow one with a footer after it too.
    let big = format!(
        "{}\n{}\n(1 row)\n",
        deep_plan("json", 1000),
        " ".repeat(2 << 20)
    );
    let p = dbkit::plan::parse(&big).unwrap_or_else(|e| panic!("large json: {e}"));
    assert_eq!(p[0].root.count(), 1001);
    let big = format!(
        "{}\n{}\n(1 row)\n",
        deep_plan("json", 10),
        " ".repeat(2 << 20)
    );
    assert_eq!(dbkit::plan::parse(&big).unwrap()[0].root.count(), 11);
    for format in ["json", "xml"] {
        let e = dbkit::plan::parse(&deep_plan(format, 1100))
            .unwrap_err()
            .to_string();
        assert!(e.contains("nested"), "{format}: {e}");
    }
}

#[test]
fn the_cli_reads_and_analyzes_a_1000_level_plan() {
    // The text format is left out here: its indentation makes deep plans megabytes of spaces,
    // slow to read in a debug build; the library test above reads it.
    let dir = tempfile::tempdir().unwrap();
    for (format, depth) in [("json", 1000), ("xml", 1000), ("yaml", 300)] {
        let path = dir.path().join(format!("deep.{format}"));
        std::fs::write(&path, deep_plan(format, depth)).unwrap();
        for cmd in ["analyze", "show"] {
            let out = std::process::Command::new(env!("CARGO_BIN_EXE_dbkit"))
                .args(["plan", cmd, path.to_str().unwrap(), "--format", "json"])
                .output()
                .unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(
                out.status.code().is_some_and(|c| c <= 1),
                "{format} {cmd}: {:?} {stderr}",
                out.status
            );
            let v: serde_json::Value = serde_json::from_slice(&out.stdout)
                .unwrap_or_else(|e| panic!("{format} {cmd}: {e}: {stderr}"));
            assert!(!v.is_null());
        }
    }
}

/// Every plan fixture of the project, by path.
fn every_plan_fixture() -> Vec<PathBuf> {
    let mut out = Vec::new();
    for d in [dir().parent().unwrap().to_path_buf(), dir()] {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            let ext = p.extension().and_then(|x| x.to_str()).unwrap_or("");
            if matches!(ext, "json" | "txt" | "yaml" | "xml" | "log") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

#[test]
fn exclusive_times_add_up_to_the_root_time_in_every_fixture() {
    let mut checked = 0;
    for path in every_plan_fixture() {
        let text = std::fs::read_to_string(&path).unwrap();
        let Ok(plans) = dbkit::plan::parse(&text) else {
            panic!("{} does not read", path.display());
        };
        for p in plans.iter().filter(|p| p.analyzed()) {
            let (mut sum, mut loops) = (0.0, 0.0);
            p.root.walk(&mut |n, _| {
                sum += n.exclusive_ms();
                loops += n.loops();
            });
            let root = p.root.inclusive_ms();
            // Times are printed to the microsecond, per loop: each loop may be 0.5 µs off.
            let tolerance = 0.0005 * loops + 0.005 * root;
            assert!(
                (sum - root).abs() <= tolerance,
                "{}: exclusive times add up to {sum:.3} ms, the root took {root:.3} ms",
                path.display()
            );
            checked += 1;
        }
    }
    assert!(checked >= 80, "{checked} plans checked");
}

#[test]
fn totals_and_per_loop_figures_mean_what_postgresql_means_in_every_fixture() {
    // explain.c: Heap Fetches, Heap Blocks, buffers and Memoize's cache counts are totals over
    // all loops; rows and rows removed are per loop. A total never exceeds what all loops
    // together could do; a parent's buffers include its children's.
    let mut checked = 0;
    for path in every_plan_fixture() {
        let text = std::fs::read_to_string(&path).unwrap();
        let plans = dbkit::plan::parse(&text).unwrap();
        for p in plans.iter().filter(|p| p.analyzed()) {
            p.root.walk(&mut |n, _| {
                let at = format!("{}: {}", path.display(), n.label());
                if let Some(f) = n.heap_fetches {
                    let read = n.total_rows() + n.rows_removed_by_filter.unwrap_or(0.0) * n.loops();
                    assert!(
                        f <= read.max(1.0),
                        "{at}: {f} heap fetches for {read} rows in all"
                    );
                    checked += 1;
                }
                if let (Some(h), Some(m)) = (n.cache_hits, n.cache_misses) {
                    assert_eq!(h + m, n.loops(), "{at}: one lookup per loop");
                    checked += 1;
                }
                if let Some(b) = n.buffers {
                    for c in n.children.iter().filter(|c| !c.is_cte()) {
                        if let Some(cb) = c.buffers {
                            let (mine, theirs) =
                                (b.shared_hit + b.shared_read, cb.shared_hit + cb.shared_read);
                            assert!(mine >= theirs, "{at}: {mine} buffers, a child {theirs}");
                            checked += 1;
                        }
                    }
                }
            });
        }
    }
    assert!(checked >= 50, "{checked} figures checked");
}
