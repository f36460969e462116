//! Reading `EXPLAIN (FORMAT JSON)` output, raw or as psql prints it.

use super::{Buffers, Jit, Node, Plan, PlanError};
use serde_json::{Map, Value};

/// If `input` is JSON (raw, or wrapped the way psql prints a one-column result: a `QUERY PLAN`
/// header, a dashed line, ` +` continuation marks, a `(1 row)` footer), return the bare JSON.
pub fn unwrap_psql(input: &str) -> Option<String> {
    let t = input.trim_start();
    if t.starts_with('[') || t.starts_with('{') {
        return Some(input.to_string());
    }
    let mut lines = input.lines();
    // Find the dashed separator under the header.
    let mut found = false;
    for l in lines.by_ref() {
        let l = l.trim();
        if !l.is_empty() && l.chars().all(|c| c == '-' || c == '+') {
            found = true;
            break;
        }
    }
    if !found {
        return None;
    }
    let mut out = String::new();
    for l in lines {
        let trimmed = l.trim();
        if trimmed.starts_with('(') && (trimmed.ends_with(" row)") || trimmed.ends_with(" rows)")) {
            break;
        }
        let body = l.strip_prefix(' ').unwrap_or(l).trim_end();
        let body = match body.strip_suffix('+') {
            Some(b) => b.trim_end(),
            None => body,
        };
        out.push_str(body);
        out.push('\n');
    }
    let is_json = {
        let s = out.trim_start();
        s.starts_with('[') || s.starts_with('{')
    };
    is_json.then_some(out)
}

/// Parse EXPLAIN JSON: an array of `{ "Plan": … }` objects, or one such object.
pub fn parse(json: &str) -> Result<Vec<Plan>, PlanError> {
    let v: Value = serde_json::from_str(json).map_err(|e| PlanError::Json {
        line: e.line(),
        column: e.column(),
        message: match e.classify() {
            serde_json::error::Category::Eof => {
                "the JSON ends early (truncated input?)".to_string()
            }
            _ => e
                .to_string()
                .split(" at line")
                .next()
                .unwrap_or("")
                .to_string(),
        },
    })?;
    let items: Vec<(String, &Value)> = match &v {
        Value::Array(a) => a
            .iter()
            .enumerate()
            .map(|(i, x)| (format!("[{i}]"), x))
            .collect(),
        Value::Object(_) => vec![(String::new(), &v)],
        _ => {
            return Err(PlanError::Shape {
                path: "$".to_string(),
                message: "expected an array or an object".to_string(),
            })
        }
    };
    if items.is_empty() {
        return Err(PlanError::Empty("the JSON array is empty".to_string()));
    }
    items
        .into_iter()
        .map(|(path, item)| plan(item, &path))
        .collect()
}

fn plan(v: &Value, path: &str) -> Result<Plan, PlanError> {
    let o = v.as_object().ok_or_else(|| PlanError::Shape {
        path: path_or_root(path),
        message: "expected an object with a \"Plan\" key".to_string(),
    })?;
    let root_v = o.get("Plan").ok_or_else(|| PlanError::Shape {
        path: path_or_root(path),
        message: "no \"Plan\" key".to_string(),
    })?;
    let root = node(root_v, &format!("{path}.Plan"))?;
    let jit = o.get("JIT").and_then(Value::as_object).map(|j| Jit {
        functions: num(j, "Functions").unwrap_or(0.0),
        total_ms: j
            .get("Timing")
            .and_then(Value::as_object)
            .and_then(|t| num(t, "Total"))
            .unwrap_or(0.0),
    });
    let settings = o
        .get("Settings")
        .and_then(Value::as_object)
        .map(|s| {
            s.iter()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        v.as_str().map_or_else(|| v.to_string(), str::to_string),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let trigger_time_ms = o.get("Triggers").and_then(Value::as_array).and_then(|ts| {
        let times: Vec<f64> = ts
            .iter()
            .filter_map(|t| t.as_object().and_then(|t| num(t, "Time")))
            .collect();
        (!times.is_empty()).then(|| times.iter().sum())
    });
    Ok(Plan {
        root,
        planning_time_ms: num(o, "Planning Time"),
        execution_time_ms: num(o, "Execution Time").or_else(|| num(o, "Total Runtime")),
        jit,
        settings,
        trigger_time_ms,
    }
    .finish())
}

fn path_or_root(p: &str) -> String {
    if p.is_empty() {
        "$".to_string()
    } else {
        p.to_string()
    }
}

fn num(o: &Map<String, Value>, k: &str) -> Option<f64> {
    o.get(k).and_then(|v| {
        v.as_f64()
            .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
    })
}

fn text(o: &Map<String, Value>, k: &str) -> Option<String> {
    o.get(k).and_then(|v| v.as_str()).map(str::to_string)
}

fn strings(o: &Map<String, Value>, k: &str) -> Vec<String> {
    match o.get(k) {
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|x| x.as_str().map(str::to_string))
            .collect(),
        Some(Value::String(s)) => vec![s.clone()],
        _ => Vec::new(),
    }
}

/// Nesting deeper than this is refused (a hostile input must not overflow the stack).
const MAX_DEPTH: usize = 1000;

fn node(v: &Value, path: &str) -> Result<Node, PlanError> {
    node_at(v, path, 0)
}

fn node_at(v: &Value, path: &str, depth: usize) -> Result<Node, PlanError> {
    if depth > MAX_DEPTH {
        return Err(PlanError::Shape {
            path: path.to_string(),
            message: format!("plan nested deeper than {MAX_DEPTH} levels"),
        });
    }
    let o = v.as_object().ok_or_else(|| PlanError::Shape {
        path: path.to_string(),
        message: "expected a plan node object".to_string(),
    })?;
    let node_type = text(o, "Node Type").ok_or_else(|| PlanError::Shape {
        path: path.to_string(),
        message: "no \"Node Type\"".to_string(),
    })?;
    let has_buffers = [
        "Shared Hit Blocks",
        "Shared Read Blocks",
        "Temp Written Blocks",
    ]
    .iter()
    .any(|k| o.contains_key(*k));
    let b = |k: &str| num(o, k).unwrap_or(0.0) as u64;
    let buffers = has_buffers.then(|| Buffers {
        shared_hit: b("Shared Hit Blocks"),
        shared_read: b("Shared Read Blocks"),
        shared_dirtied: b("Shared Dirtied Blocks"),
        shared_written: b("Shared Written Blocks"),
        local_hit: b("Local Hit Blocks"),
        local_read: b("Local Read Blocks"),
        temp_read: b("Temp Read Blocks"),
        temp_written: b("Temp Written Blocks"),
    });
    let loops = num(o, "Actual Loops");
    let mut children = Vec::new();
    if let Some(plans) = o.get("Plans") {
        let arr = plans.as_array().ok_or_else(|| PlanError::Shape {
            path: format!("{path}.Plans"),
            message: "expected an array".to_string(),
        })?;
        for (i, c) in arr.iter().enumerate() {
            children.push(node_at(c, &format!("{path}.Plans[{i}]"), depth + 1)?);
        }
    }
    Ok(Node {
        node_type,
        parallel_aware: o
            .get("Parallel Aware")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        parent_relationship: text(o, "Parent Relationship"),
        subplan_name: text(o, "Subplan Name"),
        join_type: text(o, "Join Type"),
        strategy: text(o, "Strategy"),
        relation_name: text(o, "Relation Name")
            .or_else(|| text(o, "CTE Name"))
            .or_else(|| text(o, "Function Name")),
        schema: text(o, "Schema"),
        alias: text(o, "Alias"),
        index_name: text(o, "Index Name"),
        scan_direction: text(o, "Scan Direction"),
        startup_cost: num(o, "Startup Cost"),
        total_cost: num(o, "Total Cost"),
        plan_rows: num(o, "Plan Rows"),
        plan_width: num(o, "Plan Width").map(|w| w as u64),
        actual_startup_time: num(o, "Actual Startup Time"),
        actual_total_time: num(o, "Actual Total Time"),
        actual_rows: num(o, "Actual Rows"),
        actual_loops: loops,
        executed: loops != Some(0.0),
        filter: text(o, "Filter"),
        rows_removed_by_filter: num(o, "Rows Removed by Filter"),
        index_cond: text(o, "Index Cond"),
        recheck_cond: text(o, "Recheck Cond"),
        rows_removed_by_index_recheck: num(o, "Rows Removed by Index Recheck"),
        join_filter: text(o, "Join Filter"),
        rows_removed_by_join_filter: num(o, "Rows Removed by Join Filter"),
        hash_cond: text(o, "Hash Cond"),
        merge_cond: text(o, "Merge Cond"),
        heap_fetches: num(o, "Heap Fetches"),
        exact_heap_blocks: num(o, "Exact Heap Blocks"),
        lossy_heap_blocks: num(o, "Lossy Heap Blocks"),
        sort_key: strings(o, "Sort Key"),
        sort_method: text(o, "Sort Method"),
        sort_space_used_kb: num(o, "Sort Space Used"),
        sort_space_type: text(o, "Sort Space Type"),
        hash_buckets: num(o, "Hash Buckets"),
        hash_batches: num(o, "Hash Batches"),
        original_hash_batches: num(o, "Original Hash Batches"),
        peak_memory_usage_kb: num(o, "Peak Memory Usage"),
        workers_planned: num(o, "Workers Planned"),
        workers_launched: num(o, "Workers Launched"),
        buffers,
        output: strings(o, "Output"),
        in_parallel: false,
        children,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMALL: &str = r#"[
  {
    "Plan": {
      "Node Type": "Seq Scan", "Parallel Aware": false, "Relation Name": "orders", "Alias": "orders",
      "Startup Cost": 0.00, "Total Cost": 2041.00, "Plan Rows": 3000, "Plan Width": 40,
      "Actual Startup Time": 0.01, "Actual Total Time": 8.5, "Actual Rows": 3000, "Actual Loops": 1,
      "Filter": "(status = 'pending'::text)", "Rows Removed by Filter": 97000,
      "Shared Hit Blocks": 541, "Shared Read Blocks": 0, "Some Future Field": {"x": 1}
    },
    "Planning Time": 0.1, "Triggers": [], "Execution Time": 9.0,
    "JIT": {"Functions": 2, "Timing": {"Generation": 0.2, "Total": 3.5}}
  }
]"#;

    #[test]
    fn raw_json() {
        let plans = parse(SMALL).unwrap();
        let p = &plans[0];
        assert_eq!(p.root.node_type, "Seq Scan");
        assert_eq!(p.root.rows_removed_by_filter, Some(97000.0));
        assert_eq!(p.root.buffers.unwrap().shared_hit, 541);
        assert_eq!(p.execution_time_ms, Some(9.0));
        assert_eq!(p.jit.unwrap().total_ms, 3.5);
        assert_eq!(p.root.label(), "Seq Scan on orders");
        assert_eq!(p.root.rows_read(), 100000.0);
    }

    #[test]
    fn psql_wrapped_json() {
        let mut wrapped = String::from(
            "                 QUERY PLAN\n--------------------------------------------\n",
        );
        let lines: Vec<&str> = SMALL.lines().collect();
        for (i, l) in lines.iter().enumerate() {
            if i + 1 < lines.len() {
                wrapped.push_str(&format!(" {l:<60}+\n"));
            } else {
                wrapped.push_str(&format!(" {l}\n"));
            }
        }
        wrapped.push_str("(1 row)\n\n");
        let plans = super::super::parse(&wrapped).unwrap();
        assert_eq!(plans[0].root.actual_rows, Some(3000.0));
    }

    #[test]
    fn truncated_and_malformed_json_name_the_position() {
        let cut = &SMALL[..SMALL.len() / 2];
        let e = parse(cut).unwrap_err().to_string();
        assert!(e.contains("line") && e.contains("truncated"), "{e}");
        let e = parse("[{\"Plan\": {\"Total Cost\": 1}}]")
            .unwrap_err()
            .to_string();
        assert_eq!(e, "not an EXPLAIN plan at [0].Plan: no \"Node Type\"");
        let e = parse("[{\"Plan\": {\"Node Type\": \"Result\", \"Plans\": [7]}}]")
            .unwrap_err()
            .to_string();
        assert!(e.contains("[0].Plan.Plans[0]"), "{e}");
        assert!(parse("[]").is_err());
        assert!(parse("42").is_err());
    }

    #[test]
    fn hostile_nesting_is_refused() {
        let mut s = String::new();
        for _ in 0..5000 {
            s.push_str("{\"Node Type\": \"Result\", \"Plans\": [");
        }
        // serde_json's own recursion limit answers first; either way, an error and no crash.
        let deep = format!("[{{\"Plan\": {s}");
        assert!(parse(&deep).is_err());
    }
}
